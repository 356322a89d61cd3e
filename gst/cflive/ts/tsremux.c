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

/* MPEG-TS (ISO/IEC 13818-1) to FLV tag bodies.
 *
 * The input goes through four stages: packet sync (188-byte packets, sync
 * searched for when lost), PSI (PAT and PMT sections, CRC checked) and PES
 * reassembly per elementary stream, then the codec layers: H.264 Annex B to
 * AVCC (ISO/IEC 14496-15) and AAC ADTS to raw frames. Tags are held back
 * until the onMetaData tag can be built, then go out through a timestamp
 * mapping that turns 33-bit 90 kHz timestamps into increasing milliseconds.
 *
 * Everything read from the input is bounds checked; every buffer has a
 * limit (see tsremux.h). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "tsremux.h"
#include "amf.h"

G_DEFINE_QUARK (cf-ts-error-quark, cf_ts_error);

#define TS_SYNC_BYTE 0x47
#define PID_PAT 0x0000
#define PID_NULL 0x1fff
/* PIDs an elementary stream or a PMT may use */
#define PID_MIN_ES 0x0010
#define PID_MAX_ES 0x1ffe

/* PSI sections are at most 1024 bytes (section_length <= 1021) */
#define MAX_SECTION_SIZE 1024

#define TS_MASK33 ((G_GUINT64_CONSTANT (1) << 33) - 1)
#define TS_HALF33 (G_GINT64_CONSTANT (1) << 32)
/* Largest PTS - DTS accepted (10 s); beyond it the DTS is ignored */
#define MAX_PTS_DTS_DIFF (10 * 90000)

/* ADTS frame_length is 13 bits */
#define MAX_ADTS_FRAME 8191

/* A PES buffer that grew past this is released once used */
#define PES_KEEP_SIZE (1024 * 1024)

/* At most this many stream descriptions in the unsupported codec error */
#define MAX_FOUND_NAMES 8

typedef enum
{
  KIND_OTHER,
  KIND_VIDEO,
  KIND_AUDIO,
} StreamKind;

typedef struct
{
  guint8 type;
  const gchar *codec;
  const gchar *name;
  StreamKind kind;
} StreamTypeInfo;

static const StreamTypeInfo stream_types[] = {
  {0x01, "mpeg1video", "MPEG-1", KIND_VIDEO},
  {0x02, "mpeg2video", "MPEG-2", KIND_VIDEO},
  {0x03, "mp3", "MP3", KIND_AUDIO},
  {0x04, "mp3", "MP3", KIND_AUDIO},
  {0x0f, "aac", "AAC", KIND_AUDIO},
  {0x10, "mpeg4", "MPEG-4 Part 2", KIND_VIDEO},
  {0x11, "aac-latm", "AAC LATM", KIND_AUDIO},
  {0x15, NULL, "ID3 metadata", KIND_OTHER},
  {0x1b, "h264", "H.264", KIND_VIDEO},
  {0x24, "hevc", "HEVC", KIND_VIDEO},
  {0x33, "vvc", "VVC", KIND_VIDEO},
  {0x42, "cavs", "AVS", KIND_VIDEO},
  {0x81, "ac3", "AC-3", KIND_AUDIO},
  {0x86, NULL, "SCTE-35", KIND_OTHER},
  {0x87, "eac3", "E-AC-3", KIND_AUDIO},
  {0xd1, "dirac", "Dirac", KIND_VIDEO},
  {0xea, "vc1", "VC-1", KIND_VIDEO},
};

#define STREAM_TYPE_H264 0x1b
#define STREAM_TYPE_AAC_ADTS 0x0f
#define STREAM_TYPE_PRIVATE 0x06

/* Describes one stream of the PMT */
typedef struct
{
  const gchar *codec;
  const gchar *name;
  StreamKind kind;
  guint8 type;
} StreamDesc;

/* A linear mapping from unwrapped 90 kHz timestamps to output ms */
typedef struct
{
  gint64 base_ts;
  gint64 base_out;
  guint epoch;
} Mapping;

typedef struct
{
  guint16 pid;                  /* 0: no such stream */
  gint last_cc;                 /* -1: none yet */

  /* PES being assembled */
  GByteArray *pes;
  gboolean in_pes;
  gsize pes_size;               /* 6 + PES_packet_length, 0 if unbounded */
  gboolean header_checked;
  gboolean discont;             /* discontinuity indicator since last PES */
  gboolean pes_discont;         /* the PES being assembled follows one */

  /* timeline */
  gboolean has_map;
  Mapping map;
  gboolean has_last;
  gint64 last_out;
  gint64 last_delta;
} Stream;

typedef struct
{
  guint16 pid;
  gint last_cc;
  gboolean active;
  guint len;
  guint8 data[MAX_SECTION_SIZE];
} Section;

typedef struct
{
  gint profile;
  gint compat;
  gint level;
  gint chroma_format;
  gint bit_depth_luma;
  gint bit_depth_chroma;
  gint width;
  gint height;
  gdouble framerate;            /* 0 when the VUI has no timing info */
} SpsInfo;

typedef struct
{
  guint id;
  GBytes *nal;
  SpsInfo info;                 /* SPS only */
} ParamSet;

typedef struct
{
  Stream *stream;
  guint8 type;
  gboolean discont;
  gint64 ts;
  GBytes *body;
} PendingTag;

typedef struct
{
  guint profile;
  guint sf_index;
  guint channels;
  guint header_size;
  guint frame_size;
  guint blocks;
} AdtsHeader;

struct _CfTsRemuxer
{
  CfTsTagFunc func;
  gpointer user_data;
  GError *error;                /* fatal: every later call fails with it */

  CfTsStats stats;

  /* packet sync */
  GByteArray *buf;              /* input not processed yet */
  gboolean locked;
  guint64 search_bytes;         /* skipped since the last good packet */

  /* PSI */
  Section pat;
  Section pmt;
  guint16 program_number;
  guint16 pcr_pid;
  gboolean have_pmt;
  guint8 last_pmt[MAX_SECTION_SIZE];
  guint last_pmt_len;
  const gchar *video_codec;
  const gchar *audio_codec;

  /* unwrapping of 33-bit timestamps */
  gboolean has_ts_ref;
  gint64 ts_ref;

  /* H.264 */
  Stream video;
  ParamSet sps[CF_TS_MAX_PARAM_SETS];
  guint n_sps;
  ParamSet pps[CF_TS_MAX_PARAM_SETS];
  guint n_pps;
  gboolean params_changed;
  gboolean video_started;
  gboolean video_header_sent;

  /* AAC */
  Stream audio;
  guint8 asc[2];
  gboolean has_asc;
  gboolean audio_header_sent;
  gint sample_rate;
  gint channels;
  gboolean audio_has_base;
  gint64 audio_base;            /* PTS of the last PES (90 kHz) */
  guint64 audio_n;              /* frames since it */
  guint audio_base_rate;
  guint8 carry[MAX_ADTS_FRAME];
  guint carry_len;

  /* output */
  gboolean metadata_sent;
  gboolean pending_video_frame;
  gboolean pending_audio_frame;
  GQueue pending;
  gsize pending_bytes;
  gint64 pending_first_ts;
  Mapping global;
  gboolean has_max_out;
  gint64 max_out;
};

static const guint aac_rates[13] = {
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000,
  11025, 8000, 7350
};

static void
set_error (CfTsRemuxer * self, gint code, const gchar * format, ...)
    G_GNUC_PRINTF (3, 4);

static void
set_error (CfTsRemuxer * self, gint code, const gchar * format, ...)
{
  va_list args;

  if (self->error != NULL)
    return;
  va_start (args, format);
  self->error = g_error_new_valist (CF_TS_ERROR, code, format, args);
  va_end (args);
}

/* --- Bit reader for parameter sets (RBSP, emulation prevention removed) */

typedef struct
{
  const guint8 *data;
  gsize size;
  gsize pos;                    /* in bits */
  gboolean error;
} BitReader;

static guint32
br_bits (BitReader * br, guint n)
{
  guint32 v = 0;

  if (br->error || n > br->size * 8 - br->pos) {
    br->error = TRUE;
    return 0;
  }
  while (n-- > 0) {
    v = (v << 1) | ((br->data[br->pos >> 3] >> (7 - (br->pos & 7))) & 1);
    br->pos++;
  }
  return v;
}

static guint32
br_ue (BitReader * br)
{
  guint zeros = 0;

  while (br_bits (br, 1) == 0) {
    if (br->error || ++zeros > 31) {
      br->error = TRUE;
      return 0;
    }
  }
  if (zeros == 0)
    return 0;
  return ((1u << zeros) - 1) + br_bits (br, zeros);
}

static gint64
br_se (BitReader * br)
{
  guint32 k = br_ue (br);

  if (k & 1)
    return (gint64) (k / 2) + 1;
  return -(gint64) (k / 2);
}

/* Copies @nal without its emulation prevention bytes into @out (at least
 * @size bytes) and returns the RBSP size */
static gsize
nal_to_rbsp (const guint8 * nal, gsize size, guint8 * out)
{
  gsize i, o = 0;
  guint zeros = 0;

  for (i = 0; i < size; i++) {
    if (zeros >= 2 && nal[i] == 0x03) {
      zeros = 0;
      continue;
    }
    zeros = nal[i] == 0 ? zeros + 1 : 0;
    out[o++] = nal[i];
  }
  return o;
}

static gboolean
skip_scaling_list (BitReader * br, guint size)
{
  guint j, last = 8, next = 8;
  gint64 delta;

  for (j = 0; j < size; j++) {
    if (next != 0) {
      delta = br_se (br);
      if (br->error || delta < -128 || delta > 127)
        return FALSE;
      next = (guint) ((last + delta + 256) % 256);
    }
    if (next != 0)
      last = next;
  }
  return TRUE;
}

/* H.264 7.3.2.1.1 seq_parameter_set_data(), up to the VUI timing info */
static gboolean
parse_sps (const guint8 * nal, gsize size, guint * sps_id, SpsInfo * info)
{
  guint8 rbsp[CF_TS_MAX_PARAM_SET_SIZE];
  BitReader br = { rbsp, 0, 0, FALSE };
  guint i, poc_type, frame_mbs_only, crop_unit_x, crop_unit_y;
  guint32 v;
  guint sub_width = 2, sub_height = 2;
  gboolean separate_planes = FALSE;
  gint64 width_mbs, height_units, width, height;
  gint64 crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;

  if (size < 4 || size > sizeof (rbsp))
    return FALSE;
  /* skip the NAL header byte */
  br.size = nal_to_rbsp (nal + 1, size - 1, rbsp);

  memset (info, 0, sizeof (*info));
  info->profile = br_bits (&br, 8);
  info->compat = br_bits (&br, 8);
  info->level = br_bits (&br, 8);
  *sps_id = br_ue (&br);
  if (br.error || *sps_id > 31)
    return FALSE;

  info->chroma_format = 1;
  info->bit_depth_luma = 8;
  info->bit_depth_chroma = 8;
  switch (info->profile) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      v = br_ue (&br);
      if (v > 3)
        return FALSE;
      info->chroma_format = v;
      if (info->chroma_format == 3)
        separate_planes = br_bits (&br, 1);
      v = br_ue (&br);
      if (v > 6)
        return FALSE;
      info->bit_depth_luma = v + 8;
      v = br_ue (&br);
      if (v > 6)
        return FALSE;
      info->bit_depth_chroma = v + 8;
      br_bits (&br, 1);         /* qpprime_y_zero_transform_bypass_flag */
      if (br_bits (&br, 1)) {   /* seq_scaling_matrix_present_flag */
        for (i = 0; i < (info->chroma_format != 3 ? 8u : 12u); i++) {
          if (br_bits (&br, 1) && !skip_scaling_list (&br, i < 6 ? 16 : 64))
            return FALSE;
        }
      }
      break;
    default:
      break;
  }

  if (br_ue (&br) > 12)         /* log2_max_frame_num_minus4 */
    return FALSE;
  poc_type = br_ue (&br);
  if (poc_type == 0) {
    if (br_ue (&br) > 12)       /* log2_max_pic_order_cnt_lsb_minus4 */
      return FALSE;
  } else if (poc_type == 1) {
    guint n_cycle;

    br_bits (&br, 1);           /* delta_pic_order_always_zero_flag */
    br_se (&br);                /* offset_for_non_ref_pic */
    br_se (&br);                /* offset_for_top_to_bottom_field */
    n_cycle = br_ue (&br);
    if (n_cycle > 255)
      return FALSE;
    for (i = 0; i < n_cycle && !br.error; i++)
      br_se (&br);
  } else if (poc_type != 2) {
    return FALSE;
  }
  br_ue (&br);                  /* max_num_ref_frames */
  br_bits (&br, 1);             /* gaps_in_frame_num_value_allowed_flag */
  width_mbs = (gint64) br_ue (&br) + 1;
  height_units = (gint64) br_ue (&br) + 1;
  frame_mbs_only = br_bits (&br, 1);
  if (!frame_mbs_only)
    br_bits (&br, 1);           /* mb_adaptive_frame_field_flag */
  br_bits (&br, 1);             /* direct_8x8_inference_flag */
  if (br_bits (&br, 1)) {       /* frame_cropping_flag */
    crop_left = br_ue (&br);
    crop_right = br_ue (&br);
    crop_top = br_ue (&br);
    crop_bottom = br_ue (&br);
  }
  if (br.error || width_mbs > 1024 || height_units > 1024)
    return FALSE;

  if (info->chroma_format == 0 || separate_planes) {
    crop_unit_x = 1;
    crop_unit_y = 2 - frame_mbs_only;
  } else {
    if (info->chroma_format == 3)
      sub_width = 1;
    if (info->chroma_format != 1)
      sub_height = 1;
    crop_unit_x = sub_width;
    crop_unit_y = sub_height * (2 - frame_mbs_only);
  }
  width = width_mbs * 16 - crop_unit_x * (crop_left + crop_right);
  height = (2 - frame_mbs_only) * height_units * 16 -
      crop_unit_y * (crop_top + crop_bottom);
  if (width <= 0 || height <= 0)
    return FALSE;
  info->width = width;
  info->height = height;

  /* E.1.1 vui_parameters(), up to the timing info; optional */
  if (br_bits (&br, 1)) {       /* vui_parameters_present_flag */
    if (br_bits (&br, 1)) {     /* aspect_ratio_info_present_flag */
      if (br_bits (&br, 8) == 255)      /* Extended_SAR */
        br_bits (&br, 32);
    }
    if (br_bits (&br, 1))       /* overscan_info_present_flag */
      br_bits (&br, 1);
    if (br_bits (&br, 1)) {     /* video_signal_type_present_flag */
      br_bits (&br, 4);
      if (br_bits (&br, 1))
        br_bits (&br, 24);
    }
    if (br_bits (&br, 1)) {     /* chroma_loc_info_present_flag */
      br_ue (&br);
      br_ue (&br);
    }
    if (br_bits (&br, 1)) {     /* timing_info_present_flag */
      guint32 units = br_bits (&br, 32);
      guint32 scale = br_bits (&br, 32);

      if (!br.error && units > 0 && scale > 0) {
        gdouble fps = (gdouble) scale / (2.0 * units);

        if (fps >= 1.0 && fps <= 1000.0)
          info->framerate = fps;
      }
    }
  }
  return TRUE;
}

static gboolean
parse_pps (const guint8 * nal, gsize size, guint * pps_id)
{
  guint8 rbsp[CF_TS_MAX_PARAM_SET_SIZE];
  BitReader br = { rbsp, 0, 0, FALSE };
  guint sps_id;

  if (size < 2 || size > sizeof (rbsp))
    return FALSE;
  br.size = nal_to_rbsp (nal + 1, size - 1, rbsp);
  *pps_id = br_ue (&br);
  sps_id = br_ue (&br);
  return !br.error && *pps_id <= 255 && sps_id <= 31;
}

/* --- Output: metadata, pending tags and the timestamp mapping --- */

static gint64
floor_div90 (gint64 v)
{
  return v >= 0 ? v / 90 : -((-v + 89) / 90);
}

static gint64
map_apply (const Mapping * m, gint64 ts)
{
  return m->base_out + floor_div90 (ts - m->base_ts);
}

static gboolean
is_jump (gint64 out, gint64 ref, gboolean discont)
{
  if (discont)
    return out < ref || out > ref + CF_TS_DISCONT_JUMP_MS;
  return out < ref - CF_TS_MAX_BACKWARD_JUMP_MS ||
      out > ref + CF_TS_MAX_FORWARD_JUMP_MS;
}

/* Turns the unwrapped 90 kHz timestamp @ts of @s into output ms: never
 * decreasing for the stream, never negative, rebased on jumps */
static gint64
map_timestamp (CfTsRemuxer * self, Stream * s, gint64 ts, gboolean discont)
{
  gint64 out, ref;
  gboolean has_ref;

  if (!s->has_map) {
    s->map = self->global;
    s->has_map = TRUE;
  }
  out = map_apply (&s->map, ts);

  /* a stream's first timestamp is checked against the others' */
  has_ref = s->has_last || self->has_max_out;
  ref = s->has_last ? s->last_out : self->max_out;
  discont = discont && s->has_last;
  if (has_ref && is_jump (out, ref, discont)) {
    gint64 other = map_apply (&self->global, ts);

    if (s->map.epoch != self->global.epoch && !is_jump (other, ref, discont)) {
      /* the other stream jumped the same way: follow it */
      s->map = self->global;
      out = other;
    } else {
      self->global.epoch++;
      self->global.base_ts = ts;
      self->global.base_out = (self->has_max_out ? self->max_out : 0) +
          (s->last_delta > 0 ? s->last_delta : 1);
      s->map = self->global;
      out = self->global.base_out;
      self->stats.rebases++;
    }
  }

  if (s->has_last && out < s->last_out)
    out = s->last_out;
  if (out < 0)
    out = 0;
  if (s->has_last && out > s->last_out && out - s->last_out <= 1000)
    s->last_delta = out - s->last_out;
  s->last_out = out;
  s->has_last = TRUE;
  if (!self->has_max_out || out > self->max_out) {
    self->max_out = out;
    self->has_max_out = TRUE;
  }
  return out;
}

/* Calls the tag function; takes @body */
static gboolean
call_func (CfTsRemuxer * self, guint8 type, gint64 out, GBytes * body)
{
  GError *err = NULL;
  gboolean ret;

  if (self->error != NULL) {
    g_bytes_unref (body);
    return FALSE;
  }
  ret = self->func (type, (guint32) (out & G_MAXUINT32), body,
      self->user_data, &err);
  g_bytes_unref (body);
  if (!ret) {
    if (err != NULL)
      self->error = err;
    else
      set_error (self, CF_TS_ERROR_CALLBACK, "the FLV tag function failed");
    return FALSE;
  }
  g_clear_error (&err);
  return TRUE;
}

static gboolean
deliver (CfTsRemuxer * self, PendingTag * tag)
{
  gsize size;
  const guint8 *body = g_bytes_get_data (tag->body, &size);
  gint64 out = map_timestamp (self, tag->stream, tag->ts, tag->discont);

  if (size > 1 && body[1] == 1) {
    if (tag->type == CF_TS_TAG_VIDEO)
      self->stats.video_frames++;
    else
      self->stats.audio_frames++;
  }
  return call_func (self, tag->type, out, tag->body);
}

static GBytes *
build_metadata (CfTsRemuxer * self)
{
  CfAmfNode *name = cf_amf_node_new_string ("onMetaData", -1);
  CfAmfNode *meta = cf_amf_node_new_ecma_array ();
  GBytes *bytes;

  cf_amf_node_append_field_number (meta, "duration", 0);
  if (self->video.pid != 0) {
    if (self->n_sps > 0) {
      cf_amf_node_append_field_number (meta, "width", self->sps[0].info.width);
      cf_amf_node_append_field_number (meta, "height",
          self->sps[0].info.height);
      if (self->sps[0].info.framerate > 0)
        cf_amf_node_append_field_number (meta, "framerate",
            self->sps[0].info.framerate);
    }
    cf_amf_node_append_field_number (meta, "videocodecid", 7);
  }
  if (self->audio.pid != 0) {
    if (self->sample_rate > 0) {
      cf_amf_node_append_field_number (meta, "audiosamplerate",
          self->sample_rate);
      cf_amf_node_append_field_number (meta, "audiosamplesize", 16);
      cf_amf_node_append_field_number (meta, "audiochannels", self->channels);
      cf_amf_node_append_field_boolean (meta, "stereo", self->channels == 2);
    }
    cf_amf_node_append_field_number (meta, "audiocodecid", 10);
  }
  cf_amf_node_append_field_string (meta, "encoder", "gst-cflive srt");

  bytes = cf_amf_serialize_values (name, meta, NULL);
  cf_amf_node_free (meta);
  cf_amf_node_free (name);
  return bytes;
}

static void
pending_tag_free (PendingTag * tag)
{
  g_bytes_unref (tag->body);
  g_free (tag);
}

static void
clear_pending (CfTsRemuxer * self)
{
  PendingTag *tag;

  while ((tag = g_queue_pop_head (&self->pending)) != NULL)
    pending_tag_free (tag);
  self->pending_bytes = 0;
  self->pending_video_frame = self->pending_audio_frame = FALSE;
}

/* An AVC or AAC sequence header */
static gboolean
pending_is_header (const PendingTag * tag)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (tag->body, &size);

  return tag->type != CF_TS_TAG_SCRIPT && size >= 2 && data[1] == 0;
}

/* Headers first, then the frames by timestamp (stable) */
static gint
pending_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const PendingTag *ta = a, *tb = b;
  gboolean ha = pending_is_header (ta), hb = pending_is_header (tb);

  if (ha != hb)
    return ha ? -1 : 1;
  if (ha)
    return 0;
  return ta->ts < tb->ts ? -1 : (ta->ts > tb->ts ? 1 : 0);
}

/* Sends onMetaData then the tags held back. The timeline starts at the
 * earliest first timestamp of the streams. */
static gboolean
send_metadata (CfTsRemuxer * self)
{
  gboolean have_video = FALSE, have_audio = FALSE;
  gint64 origin = 0;
  PendingTag *tag;
  GList *l;

  for (l = self->pending.head; l != NULL; l = l->next) {
    tag = l->data;
    if (tag->stream == &self->video && !have_video) {
      origin = have_audio ? MIN (origin, tag->ts) : tag->ts;
      have_video = TRUE;
    } else if (tag->stream == &self->audio && !have_audio) {
      origin = have_video ? MIN (origin, tag->ts) : tag->ts;
      have_audio = TRUE;
    }
  }
  self->global.base_ts = origin;
  self->global.base_out = 0;
  self->global.epoch = 1;
  self->metadata_sent = TRUE;

  if (!call_func (self, CF_TS_TAG_SCRIPT, 0, build_metadata (self))) {
    clear_pending (self);
    return FALSE;
  }
  /* the codec headers before any frame, the frames of both streams in
   * timestamp order: a receiver building its stream headers from what
   * comes before the first frame finds both */
  g_queue_sort (&self->pending, pending_compare, NULL);
  self->pending_video_frame = self->pending_audio_frame = FALSE;
  while ((tag = g_queue_pop_head (&self->pending)) != NULL) {
    self->pending_bytes -= g_bytes_get_size (tag->body);
    if (!deliver (self, tag)) {
      g_free (tag);
      clear_pending (self);
      return FALSE;
    }
    g_free (tag);
  }
  return TRUE;
}

/* Sends a tag, or holds it until the metadata is complete. Takes @body. */
static gboolean
output_tag (CfTsRemuxer * self, Stream * s, guint8 type, gint64 ts,
    gboolean discont, GBytes * body)
{
  PendingTag *tag;
  gint64 span;

  tag = g_new (PendingTag, 1);
  tag->stream = s;
  tag->type = type;
  tag->ts = ts;
  tag->discont = discont;
  tag->body = body;

  if (self->metadata_sent) {
    gboolean ret = deliver (self, tag);

    g_free (tag);
    return ret;
  }

  if (g_queue_is_empty (&self->pending))
    self->pending_first_ts = ts;
  g_queue_push_tail (&self->pending, tag);
  self->pending_bytes += g_bytes_get_size (body);
  if (!pending_is_header (tag)) {
    if (s == &self->video)
      self->pending_video_frame = TRUE;
    else if (s == &self->audio)
      self->pending_audio_frame = TRUE;
  }

  span = ts - self->pending_first_ts;
  if (span < 0)
    span = -span;
  /* complete: every stream has its header and a first frame, so that the
   * first frames can go out in timestamp order */
  if ((self->video.pid == 0 || (self->video_header_sent &&
              self->pending_video_frame)) &&
      (self->audio.pid == 0 || (self->audio_header_sent &&
              self->pending_audio_frame)))
    return send_metadata (self);
  if (span >= CF_TS_METADATA_WAIT_MS * 90 ||
      self->pending_bytes >= CF_TS_MAX_PENDING_BYTES ||
      self->pending.length >= CF_TS_MAX_PENDING_TAGS)
    return send_metadata (self);
  return TRUE;
}

/* --- Timestamps --- */

/* Undoes the 33-bit wrap: the result is the value nearest to the last one,
 * whichever stream it came from */
static gint64
unwrap_ts (CfTsRemuxer * self, guint64 v)
{
  gint64 diff;

  if (!self->has_ts_ref) {
    self->ts_ref = v;
    self->has_ts_ref = TRUE;
    return self->ts_ref;
  }
  diff = (gint64) ((v - (guint64) self->ts_ref) & TS_MASK33);
  if (diff >= TS_HALF33)
    diff -= 2 * TS_HALF33;
  self->ts_ref += diff;
  return self->ts_ref;
}

static gboolean
read_pes_ts (const guint8 * p, guint64 * v)
{
  /* the three marker bits must be set */
  if (!(p[0] & 1) || !(p[2] & 1) || !(p[4] & 1))
    return FALSE;
  *v = ((guint64) ((p[0] >> 1) & 0x07) << 30) | ((guint64) p[1] << 22) |
      ((guint64) (p[2] >> 1) << 15) | ((guint64) p[3] << 7) | (p[4] >> 1);
  return TRUE;
}

/* --- H.264 --- */

static void
clear_param_sets (ParamSet * sets, guint * n)
{
  guint i;

  for (i = 0; i < *n; i++)
    g_clear_pointer (&sets[i].nal, g_bytes_unref);
  *n = 0;
}

/* Remembers a parameter set; the latest comes first. Returns TRUE if it is
 * new or different. */
static gboolean
store_param_set (ParamSet * sets, guint * n, guint id, const guint8 * nal,
    gsize size, const SpsInfo * info)
{
  ParamSet set;
  guint i;

  for (i = 0; i < *n; i++) {
    if (sets[i].id == id)
      break;
  }
  if (i < *n) {
    gsize old_size;
    const guint8 *old = g_bytes_get_data (sets[i].nal, &old_size);

    if (old_size == size && memcmp (old, nal, size) == 0)
      return FALSE;
    g_bytes_unref (sets[i].nal);
  } else if (*n == CF_TS_MAX_PARAM_SETS) {
    /* forget the oldest */
    i = *n - 1;
    g_bytes_unref (sets[i].nal);
  } else {
    i = (*n)++;
  }
  memmove (&sets[1], &sets[0], i * sizeof (ParamSet));
  memset (&set, 0, sizeof (set));
  set.id = id;
  set.nal = g_bytes_new (nal, size);
  if (info != NULL)
    set.info = *info;
  sets[0] = set;
  return TRUE;
}

static void
handle_param_set (CfTsRemuxer * self, guint type, const guint8 * nal,
    gsize size)
{
  SpsInfo info;
  guint id;

  if (type == 7) {
    if (!parse_sps (nal, size, &id, &info)) {
      self->stats.dropped_frames++;
      return;
    }
    if (store_param_set (self->sps, &self->n_sps, id, nal, size, &info))
      self->params_changed = TRUE;
  } else {
    if (!parse_pps (nal, size, &id)) {
      self->stats.dropped_frames++;
      return;
    }
    if (store_param_set (self->pps, &self->n_pps, id, nal, size, NULL))
      self->params_changed = TRUE;
  }
}

/* ISO/IEC 14496-15 5.2.4.1 AVCDecoderConfigurationRecord */
static GBytes *
build_avc_header (CfTsRemuxer * self)
{
  const SpsInfo *info = &self->sps[0].info;
  GByteArray *b = g_byte_array_new ();
  guint8 hdr[11] = { 0x17, 0x00, 0, 0, 0, 1 };
  guint i;

  hdr[6] = info->profile;
  hdr[7] = info->compat;
  hdr[8] = info->level;
  hdr[9] = 0xfc | 3;            /* lengthSizeMinusOne */
  hdr[10] = 0xe0 | self->n_sps;
  g_byte_array_append (b, hdr, sizeof (hdr));
  for (i = 0; i < self->n_sps; i++) {
    gsize size;
    const guint8 *d = g_bytes_get_data (self->sps[i].nal, &size);
    guint8 len[2] = { size >> 8, size & 0xff };

    g_byte_array_append (b, len, 2);
    g_byte_array_append (b, d, size);
  }
  hdr[0] = self->n_pps;
  g_byte_array_append (b, hdr, 1);
  for (i = 0; i < self->n_pps; i++) {
    gsize size;
    const guint8 *d = g_bytes_get_data (self->pps[i].nal, &size);
    guint8 len[2] = { size >> 8, size & 0xff };

    g_byte_array_append (b, len, 2);
    g_byte_array_append (b, d, size);
  }
  /* 144 in ISO/IEC 14496-15, which H.264 replaced with 244 */
  if (info->profile == 100 || info->profile == 110 || info->profile == 122
      || info->profile == 144 || info->profile == 244) {
    guint8 ext[4];

    ext[0] = 0xfc | info->chroma_format;
    ext[1] = 0xf8 | (info->bit_depth_luma - 8);
    ext[2] = 0xf8 | (info->bit_depth_chroma - 8);
    ext[3] = 0;                 /* numOfSequenceParameterSetExt */
    g_byte_array_append (b, ext, sizeof (ext));
  }
  return g_byte_array_free_to_bytes (b);
}

/* Position of the next 00 00 01 at or after @i, or @n */
static gsize
find_start_code (const guint8 * d, gsize i, gsize n)
{
  while (i + 3 <= n) {
    if (d[i + 2] > 1) {
      i += 3;
    } else if (d[i + 2] == 1) {
      if (d[i] == 0 && d[i + 1] == 0)
        return i;
      i += 3;
    } else {
      i++;
    }
  }
  return n;
}

/* The next NAL unit from *@pos on, without the zero bytes that may
 * follow it; FALSE at the end */
static gboolean
next_nal (const guint8 * d, gsize n, gsize * pos, gsize * start, gsize * size)
{
  while (*pos < n) {
    gsize s = *pos + 3, next = find_start_code (d, s, n), end = next;

    *pos = next;
    while (end > s && d[end - 1] == 0)
      end--;
    /* skip empty units and ones with the forbidden bit */
    if (end > s && !(d[s] & 0x80)) {
      *start = s;
      *size = end - s;
      return TRUE;
    }
  }
  return FALSE;
}

/* Access unit delimiters and parameter sets are not sent in frames */
static gboolean
nal_is_kept (guint type)
{
  return type != 7 && type != 8 && type != 9;
}

/* One access unit: two passes over its NAL units, the first to learn the
 * parameter sets and the size, the second to write the AVCC frame */
static gboolean
handle_video_pes (CfTsRemuxer * self, const guint8 * d, gsize n,
    gboolean has_pts, gint64 dts, gint64 pts, gboolean discont)
{
  gboolean keyframe = FALSE, has_vcl = FALSE;
  gsize pos, start, size, out_size = 5;
  gint64 cts;
  guint8 *out, *o;
  guint type;

  pos = find_start_code (d, 0, n);
  while (next_nal (d, n, &pos, &start, &size)) {
    type = d[start] & 0x1f;
    if (type == 7 || type == 8)
      handle_param_set (self, type, d + start, size);
    if (!nal_is_kept (type))
      continue;
    if (type == 5)
      keyframe = TRUE;
    if (type >= 1 && type <= 5)
      has_vcl = TRUE;
    out_size += 4 + size;
  }

  if (!has_vcl)
    return TRUE;
  if (!has_pts) {
    self->stats.dropped_frames++;
    return TRUE;
  }
  if (!self->video_started) {
    if (!keyframe || self->n_sps == 0 || self->n_pps == 0) {
      self->stats.dropped_frames++;
      return TRUE;
    }
    self->video_started = TRUE;
  }

  if (self->params_changed && self->n_sps > 0 && self->n_pps > 0) {
    self->params_changed = FALSE;
    self->video_header_sent = TRUE;
    if (!output_tag (self, &self->video, CF_TS_TAG_VIDEO, dts, discont,
            build_avc_header (self)))
      return FALSE;
    discont = FALSE;
  }

  /* PTS - DTS was checked to be within [0, 10 s] */
  cts = (pts - dts + 45) / 90;
  out = g_malloc (out_size);
  out[0] = keyframe ? 0x17 : 0x27;
  out[1] = 0x01;
  out[2] = (cts >> 16) & 0xff;
  out[3] = (cts >> 8) & 0xff;
  out[4] = cts & 0xff;
  o = out + 5;
  pos = find_start_code (d, 0, n);
  while (next_nal (d, n, &pos, &start, &size)) {
    if (!nal_is_kept (d[start] & 0x1f))
      continue;
    o[0] = size >> 24;
    o[1] = (size >> 16) & 0xff;
    o[2] = (size >> 8) & 0xff;
    o[3] = size & 0xff;
    memcpy (o + 4, d + start, size);
    o += 4 + size;
  }
  g_assert (o == out + out_size);
  return output_tag (self, &self->video, CF_TS_TAG_VIDEO, dts, discont,
      g_bytes_new_take (out, out_size));
}

/* --- AAC --- */

static gboolean
parse_adts (const guint8 * d, AdtsHeader * h)
{
  /* syncword, layer 0 */
  if (d[0] != 0xff || (d[1] & 0xf6) != 0xf0)
    return FALSE;
  h->header_size = (d[1] & 1) ? 7 : 9;
  h->profile = d[2] >> 6;
  h->sf_index = (d[2] >> 2) & 0x0f;
  h->channels = ((d[2] & 1) << 2) | (d[3] >> 6);
  h->frame_size = ((d[3] & 0x03) << 11) | (d[4] << 3) | (d[5] >> 5);
  h->blocks = d[6] & 0x03;
  return h->sf_index < G_N_ELEMENTS (aac_rates) &&
      h->frame_size > h->header_size;
}

static void
reset_audio_base (CfTsRemuxer * self)
{
  self->audio_has_base = FALSE;
  self->audio_n = 0;
  self->carry_len = 0;
}

/* Timestamp of the next frame, at @rate */
static gint64
next_audio_ts (CfTsRemuxer * self, guint rate)
{
  if (rate != self->audio_base_rate) {
    if (self->audio_base_rate != 0)
      self->audio_base += (gint64) (self->audio_n * 1024 * 90000 /
          self->audio_base_rate);
    self->audio_n = 0;
    self->audio_base_rate = rate;
  }
  return self->audio_base + (gint64) (self->audio_n * 1024 * 90000 / rate);
}

/* One whole ADTS frame at @d */
static gboolean
handle_adts_frame (CfTsRemuxer * self, const guint8 * d,
    const AdtsHeader * h, gboolean discont)
{
  guint rate = aac_rates[h->sf_index];
  guint8 asc[2];
  guint8 *out;
  gsize size;
  gint64 ts;

  ts = next_audio_ts (self, rate);
  self->audio_n += 1 + h->blocks;
  if (h->blocks != 0) {
    /* several raw blocks in one frame: FLV takes one per tag */
    self->stats.dropped_frames++;
    return TRUE;
  }

  /* AudioSpecificConfig: object type, sampling index, channels */
  asc[0] = ((h->profile + 1) << 3) | (h->sf_index >> 1);
  asc[1] = ((h->sf_index & 1) << 7) | (h->channels << 3);
  if (!self->has_asc || memcmp (asc, self->asc, 2) != 0) {
    memcpy (self->asc, asc, 2);
    self->has_asc = TRUE;
    self->sample_rate = rate;
    self->channels = h->channels;
    self->audio_header_sent = TRUE;
    out = g_malloc (4);
    out[0] = 0xaf;
    out[1] = 0x00;
    memcpy (out + 2, asc, 2);
    if (!output_tag (self, &self->audio, CF_TS_TAG_AUDIO, ts, discont,
            g_bytes_new_take (out, 4)))
      return FALSE;
    discont = FALSE;
  }

  size = h->frame_size - h->header_size;
  out = g_malloc (2 + size);
  out[0] = 0xaf;
  out[1] = 0x01;
  memcpy (out + 2, d + h->header_size, size);
  return output_tag (self, &self->audio, CF_TS_TAG_AUDIO, ts, discont,
      g_bytes_new_take (out, 2 + size));
}

/* Completes the ADTS frame the last PES ended in with the start of @d;
 * returns the bytes of @d used */
static gsize
complete_carry (CfTsRemuxer * self, const guint8 * d, gsize n,
    gboolean * discont)
{
  AdtsHeader h;
  gsize take = 0, more;

  if (self->carry_len < 7) {
    take = MIN (7 - self->carry_len, n);
    memcpy (self->carry + self->carry_len, d, take);
    self->carry_len += take;
    if (self->carry_len < 7)
      return take;
  }
  if (!parse_adts (self->carry, &h)) {
    /* not a frame after all: look at this PES from its start */
    self->stats.adts_skipped_bytes += self->carry_len - take;
    self->carry_len = 0;
    return 0;
  }
  more = MIN (h.frame_size - self->carry_len, n - take);
  memcpy (self->carry + self->carry_len, d + take, more);
  self->carry_len += more;
  take += more;
  if (self->carry_len == h.frame_size) {
    self->carry_len = 0;
    handle_adts_frame (self, self->carry, &h, *discont);
    *discont = FALSE;
  }
  return take;
}

static gboolean
handle_audio_pes (CfTsRemuxer * self, const guint8 * d, gsize n,
    gboolean has_pts, gint64 pts, gboolean discont)
{
  gsize i = 0;

  if (self->carry_len > 0 && self->audio_has_base) {
    i = complete_carry (self, d, n, &discont);
    if (self->error != NULL)
      return FALSE;
  }
  if (has_pts) {
    self->audio_has_base = TRUE;
    self->audio_base = pts;
    self->audio_n = 0;
  } else if (!self->audio_has_base) {
    self->stats.dropped_frames++;
    return TRUE;
  }

  while (i < n) {
    AdtsHeader h;
    const guint8 *sync;

    if (n - i < 7 || !parse_adts (d + i, &h)) {
      if (n - i < 7 && d[i] == 0xff) {
        /* maybe a header cut by the end of the PES */
        memcpy (self->carry, d + i, n - i);
        self->carry_len = n - i;
        break;
      }
      /* search the next syncword */
      sync = memchr (d + i + 1, 0xff, n - i - 1);
      self->stats.adts_skipped_bytes += (sync ? (gsize) (sync - d) : n) - i;
      i = sync ? (gsize) (sync - d) : n;
      continue;
    }
    if (h.frame_size > n - i) {
      memcpy (self->carry, d + i, n - i);
      self->carry_len = n - i;
      break;
    }
    if (!handle_adts_frame (self, d + i, &h, discont))
      return FALSE;
    discont = FALSE;
    i += h.frame_size;
  }
  return TRUE;
}

/* --- PES --- */

/* Empties the PES buffer, releasing it if a large PES made it grow */
static void
release_pes (Stream * s)
{
  if (s->pes->len > PES_KEEP_SIZE) {
    g_byte_array_unref (s->pes);
    s->pes = g_byte_array_new ();
  }
  g_byte_array_set_size (s->pes, 0);
}

static void
stream_reset (Stream * s, guint16 pid)
{
  s->pid = pid;
  s->last_cc = -1;
  s->in_pes = FALSE;
  s->discont = FALSE;
  release_pes (s);
}

static void
drop_pes (CfTsRemuxer * self, Stream * s)
{
  s->in_pes = FALSE;
  release_pes (s);
  self->stats.dropped_pes++;
  if (s == &self->audio)
    self->carry_len = 0;
}

static gboolean
process_pes (CfTsRemuxer * self, Stream * s, const guint8 * d, gsize n)
{
  gboolean has_pts = FALSE, has_dts = FALSE;
  guint64 pts33 = 0, dts33 = 0;
  gint64 pts = 0, dts = 0;
  gsize off;
  guint8 sid = d[3];

  if (sid == 0xbc || sid == 0xbe || sid == 0xbf || sid == 0xf0 ||
      sid == 0xf1 || sid == 0xf2 || sid == 0xf8 || sid == 0xff) {
    /* no optional header: not audio or video */
    return TRUE;
  }
  if (n < 9 || (d[6] & 0xc0) != 0x80 || 9 + (gsize) d[8] > n) {
    self->stats.dropped_pes++;
    return TRUE;
  }
  off = 9 + d[8];
  if ((d[7] & 0x80) && d[8] >= 5)
    has_pts = read_pes_ts (d + 9, &pts33);
  if (has_pts && (d[7] & 0x40) && d[8] >= 10)
    has_dts = read_pes_ts (d + 14, &dts33);

  if (has_pts) {
    if (has_dts) {
      guint64 diff = (pts33 - dts33) & TS_MASK33;

      dts = unwrap_ts (self, dts33);
      pts = diff <= MAX_PTS_DTS_DIFF ? dts + (gint64) diff : dts;
    } else {
      pts = dts = unwrap_ts (self, pts33);
    }
  }

  if (s == &self->video)
    return handle_video_pes (self, d + off, n - off, has_pts, dts, pts,
        s->pes_discont);
  return handle_audio_pes (self, d + off, n - off, has_pts, pts,
      s->pes_discont);
}

/* The PES in progress ends: at the start of the next one, or at the size it
 * announced */
static gboolean
finish_pes (CfTsRemuxer * self, Stream * s)
{
  gboolean ret;
  gsize n = s->pes->len;

  if (!s->header_checked || n < s->pes_size) {
    drop_pes (self, s);
    return TRUE;
  }
  s->in_pes = FALSE;
  if (s->pes_size > 0)
    n = s->pes_size;
  ret = process_pes (self, s, s->pes->data, n);
  release_pes (s);
  return ret;
}

static gboolean
handle_pes_payload (CfTsRemuxer * self, Stream * s, const guint8 * p,
    gsize n, gboolean pusi)
{
  if (pusi) {
    if (s->in_pes && !finish_pes (self, s))
      return FALSE;
    g_byte_array_set_size (s->pes, 0);
    s->in_pes = TRUE;
    s->header_checked = FALSE;
    s->pes_size = 0;
    s->pes_discont = s->discont;
    s->discont = FALSE;
  } else if (!s->in_pes) {
    /* waiting for the start of a PES */
    return TRUE;
  }

  if (n > CF_TS_MAX_PES_SIZE - s->pes->len) {
    drop_pes (self, s);
    return TRUE;
  }
  g_byte_array_append (s->pes, p, n);

  if (!s->header_checked && s->pes->len >= 6) {
    const guint8 *d = s->pes->data;
    guint len = (d[4] << 8) | d[5];

    if (d[0] != 0 || d[1] != 0 || d[2] != 1) {
      drop_pes (self, s);
      return TRUE;
    }
    s->header_checked = TRUE;
    s->pes_size = len ? 6 + len : 0;
  }
  if (s->header_checked && s->pes_size > 0 && s->pes->len >= s->pes_size)
    return finish_pes (self, s);
  return TRUE;
}

/* --- PSI --- */

static guint32
crc32_mpeg (const guint8 * d, gsize n)
{
  guint32 crc = 0xffffffff;
  gsize i;
  guint b;

  for (i = 0; i < n; i++) {
    crc ^= (guint32) d[i] << 24;
    for (b = 0; b < 8; b++)
      crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc;
}

static const StreamTypeInfo *
lookup_stream_type (guint8 type)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (stream_types); i++) {
    if (stream_types[i].type == type)
      return &stream_types[i];
  }
  return NULL;
}

/* What a stream is, from its type and, for private data, descriptors */
static void
describe_stream (guint8 type, const guint8 * desc, gsize n, StreamDesc * out)
{
  const StreamTypeInfo *info = lookup_stream_type (type);
  gsize i = 0;

  out->type = type;
  out->codec = info ? info->codec : NULL;
  out->name = info ? info->name : NULL;
  out->kind = info ? info->kind : KIND_OTHER;
  if (type != STREAM_TYPE_PRIVATE)
    return;

  out->name = "private data";
  while (i + 2 <= n && i + 2 + desc[i + 1] <= n) {
    guint8 tag = desc[i], len = desc[i + 1];
    const guint8 *v = desc + i + 2;

    if (tag == 0x05 && len >= 4) {
      /* registration descriptor */
      if (memcmp (v, "Opus", 4) == 0) {
        out->codec = "opus";
        out->name = "Opus";
        out->kind = KIND_AUDIO;
      } else if (memcmp (v, "AC-3", 4) == 0) {
        out->codec = "ac3";
        out->name = "AC-3";
        out->kind = KIND_AUDIO;
      } else if (memcmp (v, "EAC3", 4) == 0) {
        out->codec = "eac3";
        out->name = "E-AC-3";
        out->kind = KIND_AUDIO;
      }
    } else if (tag == 0x6a) {
      out->codec = "ac3";
      out->name = "AC-3";
      out->kind = KIND_AUDIO;
    } else if (tag == 0x7a) {
      out->codec = "eac3";
      out->name = "E-AC-3";
      out->kind = KIND_AUDIO;
    } else if (tag == 0x7b) {
      out->codec = "dts";
      out->name = "DTS";
      out->kind = KIND_AUDIO;
    } else if (tag == 0x7f && len >= 1 && v[0] == 0x80) {
      out->codec = "opus";
      out->name = "Opus";
      out->kind = KIND_AUDIO;
    } else if (tag == 0x56) {
      out->name = "teletext";
    } else if (tag == 0x59) {
      out->name = "DVB subtitles";
    }
    i += 2 + len;
  }
}

static void
append_found (gchar ** names, guint * n_names, const StreamDesc * desc)
{
  gchar *name;
  guint i;

  if (desc->kind == KIND_VIDEO)
    name = g_strdup_printf ("%s video", desc->name);
  else if (desc->kind == KIND_AUDIO)
    name = g_strdup_printf ("%s audio", desc->name);
  else if (desc->name != NULL)
    name = g_strdup (desc->name);
  else
    name = g_strdup_printf ("stream type 0x%02x", desc->type);

  for (i = 0; i < *n_names; i++) {
    if (strcmp (names[i], name) == 0) {
      g_free (name);
      return;
    }
  }
  names[(*n_names)++] = name;
}

static void
reset_video (CfTsRemuxer * self, guint16 pid)
{
  stream_reset (&self->video, pid);
  clear_param_sets (self->sps, &self->n_sps);
  clear_param_sets (self->pps, &self->n_pps);
  self->params_changed = FALSE;
  self->video_started = FALSE;
}

static void
reset_audio (CfTsRemuxer * self, guint16 pid)
{
  stream_reset (&self->audio, pid);
  reset_audio_base (self);
  self->has_asc = FALSE;
}

static void
handle_pmt (CfTsRemuxer * self, const guint8 * d, guint n)
{
  StreamDesc first_video = { 0 }, first_audio = { 0 };
  gchar *found[MAX_FOUND_NAMES + 1];
  guint16 video_pid = 0, audio_pid = 0;
  guint i, n_found = 0, more = 0;
  guint pos, end, info_len;

  /* n includes the 4-byte CRC; the fixed part is 12 bytes */
  if (n < 16 || d[0] != 0x02 || ((d[3] << 8) | d[4]) != self->program_number
      || !(d[5] & 0x01) || d[6] != 0 || d[7] != 0) {
    if (n < 16)
      self->stats.bad_sections++;
    return;
  }
  if (self->have_pmt && n == self->last_pmt_len &&
      memcmp (d, self->last_pmt, n) == 0)
    return;

  info_len = ((d[10] & 0x0f) << 8) | d[11];
  end = n - 4;
  pos = 12 + info_len;
  while (pos + 5 <= end) {
    guint8 type = d[pos];
    guint16 pid = ((d[pos + 1] & 0x1f) << 8) | d[pos + 2];
    guint es_len = ((d[pos + 3] & 0x0f) << 8) | d[pos + 4];
    StreamDesc desc;

    if (pos + 5 + es_len > end)
      break;
    describe_stream (type, d + pos + 5, es_len, &desc);
    pos += 5 + es_len;
    if (pid < PID_MIN_ES || pid > PID_MAX_ES || pid == self->pmt.pid)
      continue;

    if (type == STREAM_TYPE_H264 && video_pid == 0 && pid != audio_pid)
      video_pid = pid;
    else if (type == STREAM_TYPE_AAC_ADTS && audio_pid == 0 && pid != video_pid)
      audio_pid = pid;
    if (desc.kind == KIND_VIDEO && first_video.name == NULL)
      first_video = desc;
    if (desc.kind == KIND_AUDIO && first_audio.name == NULL)
      first_audio = desc;
    if (n_found < MAX_FOUND_NAMES)
      append_found (found, &n_found, &desc);
    else
      more++;
  }

  if (video_pid == 0 && audio_pid == 0) {
    GString *s = g_string_new (NULL);

    for (i = 0; i < n_found; i++) {
      g_string_append_printf (s, "%s%s", i ? ", " : "", found[i]);
      g_free (found[i]);
    }
    if (more > 0)
      g_string_append_printf (s, " and %u more", more);
    self->video_codec = first_video.codec;
    self->audio_codec = first_audio.codec;
    set_error (self, CF_TS_ERROR_UNSUPPORTED,
        "the stream carries no H.264 video or AAC audio (found: %s)",
        n_found ? s->str : "no elementary streams");
    g_string_free (s, TRUE);
    return;
  }
  for (i = 0; i < n_found; i++)
    g_free (found[i]);

  memcpy (self->last_pmt, d, n);
  self->last_pmt_len = n;
  self->have_pmt = TRUE;
  self->pcr_pid = ((d[8] & 0x1f) << 8) | d[9];
  self->video_codec = video_pid ? "h264" : first_video.codec;
  self->audio_codec = audio_pid ? "aac" : first_audio.codec;
  if (video_pid != self->video.pid)
    reset_video (self, video_pid);
  if (audio_pid != self->audio.pid)
    reset_audio (self, audio_pid);
}

static void
handle_pat (CfTsRemuxer * self, const guint8 * d, guint n)
{
  guint pos;

  if (d[0] != 0x00 || !(d[5] & 0x01))
    return;
  for (pos = 8; pos + 4 <= n - 4; pos += 4) {
    guint16 program = (d[pos] << 8) | d[pos + 1];
    guint16 pid = ((d[pos + 2] & 0x1f) << 8) | d[pos + 3];

    if (program == 0)           /* network PID */
      continue;
    if (pid < PID_MIN_ES || pid > PID_MAX_ES)
      return;
    if (pid != self->pmt.pid || program != self->program_number) {
      self->pmt.pid = pid;
      self->pmt.last_cc = -1;
      self->pmt.active = FALSE;
      self->program_number = program;
      self->last_pmt_len = 0;
    }
    return;
  }
}

static void
handle_section (CfTsRemuxer * self, Section * sec)
{
  const guint8 *d = sec->data;
  guint n = sec->len;

  /* section_syntax_indicator, then at least the CRC */
  if (!(d[1] & 0x80) || n < 12) {
    self->stats.bad_sections++;
    return;
  }
  if (crc32_mpeg (d, n) != 0) {
    self->stats.bad_sections++;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    return;
#endif
  }
  if (sec == &self->pat)
    handle_pat (self, d, n);
  else
    handle_pmt (self, d, n);
}

/* Appends to the section in progress; returns the bytes used */
static gsize
section_append (CfTsRemuxer * self, Section * sec, const guint8 * p, gsize n)
{
  gsize used = 0;

  while (sec->active && used < n) {
    guint want, take;

    if (sec->len < 3) {
      want = 3;
    } else {
      want = 3 + (((sec->data[1] & 0x0f) << 8) | sec->data[2]);
      /* a long-form section has at least 9 bytes after the length */
      if (want < 12 || want > MAX_SECTION_SIZE) {
        self->stats.bad_sections++;
        sec->active = FALSE;
        return n;
      }
    }
    take = MIN (want - sec->len, n - used);
    memcpy (sec->data + sec->len, p + used, take);
    sec->len += take;
    used += take;
    if (sec->len == want && want > 3) {
      sec->active = FALSE;
      handle_section (self, sec);
    }
  }
  return used;
}

static void
handle_psi_payload (CfTsRemuxer * self, Section * sec, const guint8 * p,
    gsize n, gboolean pusi)
{
  guint pointer;

  if (!pusi) {
    section_append (self, sec, p, n);
    return;
  }
  if (n == 0)
    return;
  pointer = p[0];
  p++;
  n--;
  if (pointer > n) {
    self->stats.bad_sections++;
    sec->active = FALSE;
    return;
  }
  if (sec->active) {
    section_append (self, sec, p, pointer);
    if (sec->active) {
      self->stats.bad_sections++;
      sec->active = FALSE;
    }
  }
  p += pointer;
  n -= pointer;
  /* sections until stuffing */
  while (n > 0 && p[0] != 0xff && self->error == NULL) {
    gsize used;

    sec->active = TRUE;
    sec->len = 0;
    used = section_append (self, sec, p, n);
    if (sec->active)
      break;
    p += used;
    n -= used;
  }
}

/* --- Packets --- */

/* Checks the continuity counter; FALSE to skip the packet */
static gboolean
check_cc (CfTsRemuxer * self, gint * last_cc, guint cc, gboolean discont,
    gboolean * lost)
{
  *lost = FALSE;
  if (*last_cc >= 0 && !discont) {
    if ((guint) * last_cc == cc)        /* duplicate packet */
      return FALSE;
    if (cc != ((guint) (*last_cc + 1) & 0x0f)) {
      self->stats.discontinuities++;
      *lost = TRUE;
    }
  }
  *last_cc = cc;
  return TRUE;
}

static void
handle_packet (CfTsRemuxer * self, const guint8 * p)
{
  guint16 pid = ((p[1] & 0x1f) << 8) | p[2];
  gboolean pusi = (p[1] & 0x40) != 0;
  guint afc = (p[3] >> 4) & 0x03;
  guint cc = p[3] & 0x0f;
  gboolean discont = FALSE, lost;
  gsize off = 4;
  Stream *s = NULL;

  self->stats.packets++;
  if ((p[1] & 0x80) || afc == 0) {
    /* transport_error_indicator, reserved adaptation_field_control */
    self->stats.bad_packets++;
    return;
  }
  if (afc & 0x02) {
    guint len = p[4];

    if (len > (afc == 0x03 ? 182u : 183u)) {
      self->stats.bad_packets++;
      return;
    }
    if (len > 0)
      discont = (p[5] & 0x80) != 0;
    off = 5 + len;
  }

  if (pid == self->video.pid && pid != 0)
    s = &self->video;
  else if (pid == self->audio.pid && pid != 0)
    s = &self->audio;

  if (discont && self->pcr_pid != 0 && pid == self->pcr_pid) {
    /* a time base discontinuity: for both streams */
    self->video.discont = TRUE;
    self->audio.discont = TRUE;
  } else if (discont && s != NULL) {
    s->discont = TRUE;
  }

  if (!(afc & 0x01) || pid == PID_NULL)
    return;

  if (pid == PID_PAT || (pid == self->pmt.pid && pid != 0)) {
    Section *sec = pid == PID_PAT ? &self->pat : &self->pmt;

    if (!check_cc (self, &sec->last_cc, cc, discont, &lost))
      return;
    if (lost && sec->active) {
      sec->active = FALSE;
      self->stats.bad_sections++;
    }
    handle_psi_payload (self, sec, p + off, CF_TS_PACKET_SIZE - off, pusi);
    return;
  }
  if (s == NULL)
    return;

  if (p[3] & 0xc0) {            /* scrambled */
    self->stats.bad_packets++;
    return;
  }
  if (!check_cc (self, &s->last_cc, cc, discont, &lost))
    return;
  if (lost && s->in_pes)
    drop_pes (self, s);
  handle_pes_payload (self, s, p + off, CF_TS_PACKET_SIZE - off, pusi);
}

/* Processes whole packets; returns the bytes used. What is left is shorter
 * than three packets. */
static gsize
process (CfTsRemuxer * self, const guint8 * p, gsize n)
{
  gsize i = 0;

  while (i < n && self->error == NULL) {
    gsize j;
    gboolean found = FALSE;

    if (self->locked) {
      if (n - i < CF_TS_PACKET_SIZE)
        break;
      if (p[i] == TS_SYNC_BYTE) {
        self->search_bytes = 0;
        handle_packet (self, p + i);
        i += CF_TS_PACKET_SIZE;
        continue;
      }
      self->locked = FALSE;
      self->stats.sync_losses++;
    }

    /* three sync bytes one packet apart */
    j = i;
    while (j < n) {
      const guint8 *q = memchr (p + j, TS_SYNC_BYTE, n - j);

      if (q == NULL) {
        j = n;
        break;
      }
      j = q - p;
      if (n - j <= 2 * CF_TS_PACKET_SIZE)
        break;
      if (p[j + CF_TS_PACKET_SIZE] == TS_SYNC_BYTE &&
          p[j + 2 * CF_TS_PACKET_SIZE] == TS_SYNC_BYTE) {
        found = TRUE;
        break;
      }
      j++;
    }
    self->stats.skipped_bytes += j - i;
    self->search_bytes += j - i;
    i = j;
    if (self->search_bytes > CF_TS_MAX_SEARCH_BYTES) {
      set_error (self, CF_TS_ERROR_NO_SYNC, "no MPEG-TS packets in the "
          "last %u bytes: the data is not MPEG-TS", CF_TS_MAX_SEARCH_BYTES);
      break;
    }
    if (!found)
      break;
    self->locked = TRUE;
  }
  return i;
}

/* --- API --- */

CfTsRemuxer *
cf_ts_remuxer_new (CfTsTagFunc func, gpointer user_data)
{
  CfTsRemuxer *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (CfTsRemuxer, 1);
  self->func = func;
  self->user_data = user_data;
  self->buf = g_byte_array_new ();
  self->pat.pid = PID_PAT;
  self->pat.last_cc = -1;
  self->pmt.last_cc = -1;
  self->video.pes = g_byte_array_new ();
  self->audio.pes = g_byte_array_new ();
  stream_reset (&self->video, 0);
  stream_reset (&self->audio, 0);
  g_queue_init (&self->pending);
  return self;
}

void
cf_ts_remuxer_free (CfTsRemuxer * self)
{
  if (self == NULL)
    return;
  clear_pending (self);
  clear_param_sets (self->sps, &self->n_sps);
  clear_param_sets (self->pps, &self->n_pps);
  g_byte_array_unref (self->video.pes);
  g_byte_array_unref (self->audio.pes);
  g_byte_array_unref (self->buf);
  g_clear_error (&self->error);
  g_free (self);
}

static gboolean
fail (CfTsRemuxer * self, GError ** error)
{
  clear_pending (self);
  if (error != NULL)
    *error = g_error_copy (self->error);
  return FALSE;
}

gboolean
cf_ts_remuxer_feed (CfTsRemuxer * self, const guint8 * data, gsize size,
    GError ** error)
{
  gsize used;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  if (self->error != NULL)
    return fail (self, error);

  self->stats.bytes += size;
  if (self->buf->len == 0) {
    used = process (self, data, size);
    if (self->error == NULL && used < size)
      g_byte_array_append (self->buf, data + used, size - used);
  } else {
    g_byte_array_append (self->buf, data, size);
    used = process (self, self->buf->data, self->buf->len);
    if (self->error == NULL)
      g_byte_array_remove_range (self->buf, 0, used);
  }

  if (self->error == NULL && !self->have_pmt &&
      self->stats.bytes > CF_TS_MAX_SEARCH_BYTES)
    set_error (self, CF_TS_ERROR_NO_PROGRAM, "no PAT and PMT in the first "
        "%u bytes of MPEG-TS", CF_TS_MAX_SEARCH_BYTES);

  if (self->error != NULL) {
    g_byte_array_set_size (self->buf, 0);
    return fail (self, error);
  }
  return TRUE;
}

gboolean
cf_ts_remuxer_drain (CfTsRemuxer * self, GError ** error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->error != NULL)
    return fail (self, error);

  if (self->video.in_pes && self->video.pes_size == 0)
    finish_pes (self, &self->video);
  if (self->error == NULL && self->audio.in_pes && self->audio.pes_size == 0)
    finish_pes (self, &self->audio);
  if (self->error == NULL && !self->metadata_sent &&
      !g_queue_is_empty (&self->pending))
    send_metadata (self);

  if (self->error != NULL)
    return fail (self, error);
  return TRUE;
}

void
cf_ts_remuxer_get_stats (CfTsRemuxer * self, guint64 * packets,
    guint64 * discontinuities, guint64 * skipped_bytes)
{
  g_return_if_fail (self != NULL);

  if (packets)
    *packets = self->stats.packets;
  if (discontinuities)
    *discontinuities = self->stats.discontinuities;
  if (skipped_bytes)
    *skipped_bytes = self->stats.skipped_bytes;
}

void
cf_ts_remuxer_get_full_stats (CfTsRemuxer * self, CfTsStats * stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (stats != NULL);

  *stats = self->stats;
}

const gchar *
cf_ts_remuxer_get_video_codec (CfTsRemuxer * self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->video_codec;
}

const gchar *
cf_ts_remuxer_get_audio_codec (CfTsRemuxer * self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->audio_codec;
}

void
cf_ts_remuxer_get_video_info (CfTsRemuxer * self, gint * width,
    gint * height, gint * profile, gint * level)
{
  const SpsInfo *info;

  g_return_if_fail (self != NULL);

  info = self->n_sps > 0 ? &self->sps[0].info : NULL;
  if (width)
    *width = info ? info->width : 0;
  if (height)
    *height = info ? info->height : 0;
  if (profile)
    *profile = info ? info->profile : -1;
  if (level)
    *level = info ? info->level : -1;
}

void
cf_ts_remuxer_get_audio_info (CfTsRemuxer * self, gint * rate, gint * channels)
{
  g_return_if_fail (self != NULL);

  if (rate)
    *rate = self->has_asc ? self->sample_rate : 0;
  if (channels)
    *channels = self->has_asc ? self->channels : -1;
}
