/* gst-cflive
 * Copyright (C) 2026 gst-cflive developers
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 *
 * You should have received a copy of the GNU Library General Public
 * License along with this library; if not, write to the
 * Free Software Foundation, Inc., 51 Franklin St, Fifth Floor,
 * Boston, MA 02110-1301, USA.
 */

/**
 * SECTION:cflive-flv
 * @title: FLV tags
 * @short_description: the FLV tags that flow between the cflive elements
 *
 * The elements exchange one FLV tag per buffer: 11 bytes of tag header, the
 * tag body and the 4-byte PreviousTagSize. Tag bodies are shared by
 * reference; only the 15 bytes around them are allocated per tag.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "cflive-flv.h"

const gchar *
gst_cflive_flv_video_codec_name (guint codec_id)
{
  switch (codec_id) {
    case 2:
      return "sorenson_h263";
    case 3:
      return "screen_video";
    case 4:
      return "vp6";
    case 5:
      return "vp6_alpha";
    case 6:
      return "screen_video_v2";
    case 7:
      return "h264";
    case 12:
      return "hevc";
    case 13:
      return "av1";
    default:
      return "unknown";
  }
}

const gchar *
gst_cflive_flv_audio_codec_name (guint codec_id)
{
  switch (codec_id) {
    case 0:
    case 3:
      return "pcm";
    case 1:
      return "adpcm";
    case 2:
    case 14:
      return "mp3";
    case 4:
    case 5:
    case 6:
      return "nellymoser";
    case 7:
      return "pcm_alaw";
    case 8:
      return "pcm_mulaw";
    case 10:
      return "aac";
    case 11:
      return "speex";
    case 13:
      return "opus";
    default:
      return "unknown";
  }
}

static const gchar *
fourcc_codec_name (const guint8 * fourcc)
{
  if (!memcmp (fourcc, "avc1", 4))
    return "h264";
  if (!memcmp (fourcc, "hvc1", 4))
    return "hevc";
  if (!memcmp (fourcc, "av01", 4))
    return "av1";
  if (!memcmp (fourcc, "vp09", 4))
    return "vp9";
  return "unknown";
}

/**
 * gst_cflive_flv_parse_tag_body:
 * @tag_type: 8 (audio), 9 (video) or 18 (script data)
 * @data: the tag body
 * @size: its size
 * @info: (out): what the body's first bytes say
 *
 * Understands the legacy FLV headers and the enhanced RTMP video header
 * (FourCC codecs such as HEVC or AV1 from OBS 29+).
 *
 * Returns: %FALSE if the body is too short to tell
 */
gboolean
gst_cflive_flv_parse_tag_body (guint8 tag_type, const guint8 * data,
    gsize size, GstCfliveFlvTagInfo * info)
{
  memset (info, 0, sizeof (*info));
  info->tag_type = tag_type;
  info->codec = "";

  switch (tag_type) {
    case GST_CFLIVE_FLV_TAG_VIDEO:{
      guint frame_type, codec_id;

      if (size < 1)
        return FALSE;
      frame_type = (data[0] >> 4) & 0x07;

      if (data[0] & 0x80) {
        /* enhanced RTMP: IsExHeader | FrameType(3) | PacketType(4) | FourCC */
        guint packet_type = data[0] & 0x0f;

        if (size < 5)
          return FALSE;
        info->codec = fourcc_codec_name (data + 1);
        info->sequence_header = (packet_type == 0);
        info->end_of_sequence = (packet_type == 2);
        info->keyframe = (frame_type == 1 && packet_type != 0
            && packet_type != 2);
        if (packet_type == 1 && size >= 8) {
          gint32 cts = (data[5] << 16) | (data[6] << 8) | data[7];
          info->composition_time = (cts << 8) >> 8;
        }
        return TRUE;
      }

      codec_id = data[0] & 0x0f;
      info->codec = gst_cflive_flv_video_codec_name (codec_id);
      if (codec_id == GST_CFLIVE_FLV_VIDEO_H264
          || codec_id == GST_CFLIVE_FLV_VIDEO_HEVC || codec_id == 13) {
        if (size < 5)
          return FALSE;
        info->sequence_header = (data[1] == 0);
        info->end_of_sequence = (data[1] == 2);
        if (data[1] == 1) {
          gint32 cts = (data[2] << 16) | (data[3] << 8) | data[4];
          info->composition_time = (cts << 8) >> 8;
        }
        info->keyframe = (frame_type == 1 && data[1] == 1);
      } else {
        info->keyframe = (frame_type == 1);
      }
      return TRUE;
    }
    case GST_CFLIVE_FLV_TAG_AUDIO:{
      guint codec_id;

      if (size < 1)
        return FALSE;
      codec_id = (data[0] >> 4) & 0x0f;
      info->codec = gst_cflive_flv_audio_codec_name (codec_id);
      if (codec_id == GST_CFLIVE_FLV_AUDIO_AAC) {
        if (size < 2)
          return FALSE;
        info->sequence_header = (data[1] == 0);
      }
      return TRUE;
    }
    case GST_CFLIVE_FLV_TAG_SCRIPT:
      return TRUE;
    default:
      return FALSE;
  }
}

/**
 * gst_cflive_flv_header_new:
 * @has_audio: the stream carries audio
 * @has_video: the stream carries video
 *
 * Returns: (transfer full): the 9-byte FLV file header followed by the
 * PreviousTagSize0 field, flagged %GST_BUFFER_FLAG_HEADER
 */
GstBuffer *
gst_cflive_flv_header_new (gboolean has_audio, gboolean has_video)
{
  static const guint8 tmpl[GST_CFLIVE_FLV_HEADER_SIZE] = {
    'F', 'L', 'V', 0x01, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00
  };
  guint8 *data = g_memdup2 (tmpl, sizeof (tmpl));
  GstBuffer *buf;

  data[4] = (has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0);
  buf = gst_buffer_new_wrapped (data, sizeof (tmpl));
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  return buf;
}

static void
bytes_unref (gpointer data)
{
  g_bytes_unref (data);
}

/**
 * gst_cflive_flv_tag_new:
 * @tag_type: the FLV tag type
 * @timestamp_ms: the tag timestamp (DTS for video) in milliseconds
 * @body: the tag body, shared by reference
 *
 * Wraps @body into a complete FLV tag without copying it: the buffer has
 * three memories, the tag header, the body and the PreviousTagSize.
 * Timestamps and flags of the buffer are left to the caller.
 *
 * Returns: (transfer full): the tag
 */
GstBuffer *
gst_cflive_flv_tag_new (guint8 tag_type, guint32 timestamp_ms, GBytes * body)
{
  GstBuffer *buf = gst_buffer_new ();
  GstMemory *frame;
  GstMapInfo map;
  gsize size;
  gconstpointer data;
  guint8 *h;
  guint32 prev;

  data = g_bytes_get_data (body, &size);
  g_return_val_if_fail (size <= 0xffffff, buf);

  frame = gst_allocator_alloc (NULL, GST_CFLIVE_FLV_TAG_HEADER_SIZE + 4,
      NULL);
  gst_memory_map (frame, &map, GST_MAP_WRITE);
  h = map.data;
  h[0] = tag_type;
  GST_WRITE_UINT24_BE (h + 1, size);
  GST_WRITE_UINT24_BE (h + 4, timestamp_ms & 0xffffff);
  h[7] = (timestamp_ms >> 24) & 0xff;
  GST_WRITE_UINT24_BE (h + 8, 0);
  prev = GST_CFLIVE_FLV_TAG_HEADER_SIZE + size;
  GST_WRITE_UINT32_BE (h + GST_CFLIVE_FLV_TAG_HEADER_SIZE, prev);
  gst_memory_unmap (frame, &map);

  gst_buffer_append_memory (buf, gst_memory_share (frame, 0,
          GST_CFLIVE_FLV_TAG_HEADER_SIZE));
  if (size > 0) {
    gst_buffer_append_memory (buf,
        gst_memory_new_wrapped (GST_MEMORY_FLAG_READONLY, (gpointer) data,
            size, 0, size, g_bytes_ref (body), bytes_unref));
  }
  gst_buffer_append_memory (buf, gst_memory_share (frame,
          GST_CFLIVE_FLV_TAG_HEADER_SIZE, 4));
  gst_memory_unref (frame);

  return buf;
}
