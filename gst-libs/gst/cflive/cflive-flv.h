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

#ifndef __GST_CFLIVE_FLV_H__
#define __GST_CFLIVE_FLV_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_CFLIVE_FLV_TAG_AUDIO 8
#define GST_CFLIVE_FLV_TAG_VIDEO 9
#define GST_CFLIVE_FLV_TAG_SCRIPT 18

#define GST_CFLIVE_FLV_HEADER_SIZE 13   /* header + PreviousTagSize0 */
#define GST_CFLIVE_FLV_TAG_HEADER_SIZE 11

/* Video codec ids of the FLV VIDEODATA header */
#define GST_CFLIVE_FLV_VIDEO_H264 7
#define GST_CFLIVE_FLV_VIDEO_HEVC 12    /* the common unofficial id */
/* Audio codec ids of the FLV AUDIODATA header */
#define GST_CFLIVE_FLV_AUDIO_MP3 2
#define GST_CFLIVE_FLV_AUDIO_AAC 10

/**
 * GstCfliveFlvTagInfo:
 *
 * What the first bytes of an FLV tag body say about it.
 */
typedef struct
{
  guint8 tag_type;
  gboolean keyframe;            /* video: a key frame (not a sequence header) */
  gboolean sequence_header;     /* AVC/HEVC decoder configuration, AAC ASC */
  gboolean end_of_sequence;
  gint32 composition_time;      /* video: PTS - DTS in ms */
  const gchar *codec;           /* "h264", "aac", "hevc", "mp3", ... */
} GstCfliveFlvTagInfo;

gboolean gst_cflive_flv_parse_tag_body (guint8 tag_type, const guint8 * data,
    gsize size, GstCfliveFlvTagInfo * info);

const gchar *gst_cflive_flv_video_codec_name (guint codec_id);
const gchar *gst_cflive_flv_audio_codec_name (guint codec_id);

GstBuffer *gst_cflive_flv_header_new (gboolean has_audio, gboolean has_video);

GstBuffer *gst_cflive_flv_tag_new (guint8 tag_type, guint32 timestamp_ms,
    GBytes * body);

G_END_DECLS

#endif /* __GST_CFLIVE_FLV_H__ */
