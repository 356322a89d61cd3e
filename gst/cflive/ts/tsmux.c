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

/* FLV tag bodies to MPEG-TS (ISO/IEC 13818-1).
 *
 * Each media tag becomes one PES packet: the codec layer turns it into an
 * elementary stream access unit (AVCC to Annex B, ISO/IEC 14496-15 and
 * H.264 Annex B; raw AAC to ADTS, ISO/IEC 14496-3 1.A.2), the PES header
 * is put in front, then the PES is cut into transport packets, preceded by
 * the PAT and PMT when they are due.
 *
 * Everything read from a tag is bounds checked before it is used, and a
 * tag is either muxed whole or not at all. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "tsmux.h"

G_DEFINE_QUARK (cf-ts-mux-error-quark, cf_ts_mux_error);

#define TS_PACKET_SIZE 188
#define TS_SYNC_BYTE 0x47
#define PID_PAT 0x0000

#define TS_MASK33 ((G_GUINT64_CONSTANT (1) << 33) - 1)
#define TS_HALF33 (G_GUINT64_CONSTANT (1) << 32)

#define STREAM_TYPE_H264 0x1b
#define STREAM_TYPE_AAC_ADTS 0x0f
#define STREAM_ID_VIDEO 0xe0
#define STREAM_ID_AUDIO 0xc0

/* FLV tag types, codec ids and packet types */
#define TAG_AUDIO 8
#define TAG_VIDEO 9
#define TAG_SCRIPT 18
#define FLV_CODEC_AVC 7
#define FLV_CODEC_AAC 10
#define FLV_FRAME_KEY 1
#define FLV_FRAME_COMMAND 5
#define FLV_AUDIO_EX_HEADER 9

/* ADTS frame_length is 13 bits and counts the 7-byte header */
#define MAX_ADTS_FRAME 8191
#define ADTS_HEADER_SIZE 7

/* PES header: start code, stream id, length, flags, header data length */
#define PES_HEADER_SIZE 9
/* A PES packet length field is 16 bits */
#define MAX_PES_PACKET_LENGTH 65535

/* The work buffer is released when a PES made it grow past this */
#define PES_KEEP_SIZE (1024 * 1024)

static const guint8 aud_nal[] = { 0x00, 0x00, 0x00, 0x01, 0x09, 0xf0 };
static const guint8 start_code[] = { 0x00, 0x00, 0x00, 0x01 };

typedef struct
{
  gsize size;
  guint8 data[CF_TS_MUX_MAX_PARAM_SET_SIZE];
} ParamSet;

struct _CfTsMuxer
{
  CfTsMuxStats stats;

  /* H.264, from the AVC sequence header */
  gboolean have_avc;
  guint nal_length_size;
  ParamSet sps[CF_TS_MUX_MAX_PARAM_SETS];
  guint n_sps;
  ParamSet pps[CF_TS_MUX_MAX_PARAM_SETS];
  guint n_pps;
  gboolean video_started;

  /* AAC, from the AudioSpecificConfig */
  gboolean have_aac;
  guint aac_profile;            /* ADTS profile: object type - 1 */
  guint aac_sf_index;
  guint aac_channels;

  /* PSI */
  gboolean psi_sent;
  gboolean pmt_video;           /* the streams of the PMT last sent */
  gboolean pmt_audio;
  guint pmt_version;
  guint32 psi_time;             /* stream time at the last PAT and PMT */
  guint32 clock;                /* stream time (ms) */

  /* continuity counters */
  guint8 cc_pat;
  guint8 cc_pmt;
  guint8 cc_video;
  guint8 cc_audio;

  gboolean has_pcr;
  guint64 last_pcr;

  gboolean last_keyframe;

  GByteArray *pes;              /* work buffer: the PES being written */
};

/* Where the PES packets of a stream go */
typedef struct
{
  guint16 pid;
  guint8 *cc;
  gboolean pcr;
  gboolean random_access;
} PesTarget;

/* --- Helpers --- */

static void
set_error (GError ** error, gint code, const gchar * format, ...)
    G_GNUC_PRINTF (3, 4);

static void
set_error (GError ** error, gint code, const gchar * format, ...)
{
  va_list args;

  if (error == NULL)
    return;
  va_start (args, format);
  *error = g_error_new_valist (CF_TS_MUX_ERROR, code, format, args);
  va_end (args);
}

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

static guint64
ms_to_ticks (guint32 ms)
{
  return ((guint64) ms * 90 + CF_TS_MUX_TS_OFFSET) & TS_MASK33;
}

/* Writes a PTS or DTS with its 4-bit @prefix and marker bits */
static void
put_timestamp (guint8 * p, guint prefix, guint64 ts)
{
  p[0] = (prefix << 4) | (((ts >> 30) & 0x07) << 1) | 1;
  p[1] = (ts >> 22) & 0xff;
  p[2] = (((ts >> 15) & 0x7f) << 1) | 1;
  p[3] = (ts >> 7) & 0xff;
  p[4] = ((ts & 0x7f) << 1) | 1;
}

/* Makes room for @n bytes at the end of @arr and returns them */
static guint8 *
grow (GByteArray * arr, gsize n)
{
  gsize len = arr->len;

  g_byte_array_set_size (arr, len + n);
  return arr->data + len;
}

static void
release_pes (CfTsMuxer * self)
{
  if (self->pes->len > PES_KEEP_SIZE) {
    g_byte_array_unref (self->pes);
    self->pes = g_byte_array_new ();
  }
  g_byte_array_set_size (self->pes, 0);
}

/* --- Transport packets --- */

/* Cuts the PES in the work buffer into packets appended to @out. The first
 * packet has payload_unit_start_indicator and the adaptation field with the
 * PCR and the flags; the last one is filled up with adaptation field
 * stuffing. */
static void
write_pes_packets (CfTsMuxer * self, const PesTarget * t, guint64 pcr,
    gboolean discont, GByteArray * out)
{
  const guint8 *pes = self->pes->data;
  gsize size = self->pes->len, pos = 0;

  while (pos < size) {
    gboolean first = pos == 0;
    guint8 flags = 0;
    gsize af_fields = 0;        /* adaptation field bytes after the length */
    gsize af_size = 0;          /* whole adaptation field */
    gsize payload, pad;
    guint8 *p, *a;

    if (first) {
      if (discont)
        flags |= 0x80;          /* discontinuity_indicator */
      if (t->random_access)
        flags |= 0x40;          /* random_access_indicator */
      if (t->pcr)
        flags |= 0x10;          /* PCR_flag */
    }
    if (flags != 0) {
      af_fields = 1 + (t->pcr ? 6 : 0);
      af_size = 1 + af_fields;
    }
    payload = MIN (size - pos, TS_PACKET_SIZE - 4 - af_size);
    pad = TS_PACKET_SIZE - 4 - af_size - payload;
    if (pad > 0) {
      if (af_size == 0) {
        /* a length byte alone, or with the flags byte and stuffing */
        af_size = pad;
        af_fields = pad - 1;
      } else {
        af_size += pad;
        af_fields += pad;
      }
    }

    p = grow (out, TS_PACKET_SIZE);
    p[0] = TS_SYNC_BYTE;
    p[1] = (first ? 0x40 : 0x00) | ((t->pid >> 8) & 0x1f);
    p[2] = t->pid & 0xff;
    p[3] = (af_size > 0 ? 0x30 : 0x10) | *t->cc;
    *t->cc = (*t->cc + 1) & 0x0f;
    a = p + 4;
    if (af_size > 0) {
      guint8 *end = a + af_size;

      *a++ = af_fields;
      if (af_fields > 0) {
        *a++ = flags;
        if (flags & 0x10) {
          /* program_clock_reference_base, 6 reserved bits, extension 0 */
          *a++ = (pcr >> 25) & 0xff;
          *a++ = (pcr >> 17) & 0xff;
          *a++ = (pcr >> 9) & 0xff;
          *a++ = (pcr >> 1) & 0xff;
          *a++ = ((pcr & 1) << 7) | 0x7e;
          *a++ = 0x00;
        }
        memset (a, 0xff, end - a);
      }
      a = end;
    }
    memcpy (a, pes + pos, payload);
    pos += payload;
    self->stats.packets++;
  }
}

/* One PSI section in one packet, padded with 0xff */
static void
write_section (CfTsMuxer * self, guint16 pid, guint8 * cc,
    const guint8 * section, gsize size, GByteArray * out)
{
  guint8 *p = grow (out, TS_PACKET_SIZE);

  p[0] = TS_SYNC_BYTE;
  p[1] = 0x40 | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  p[3] = 0x10 | *cc;
  *cc = (*cc + 1) & 0x0f;
  p[4] = 0;                     /* pointer_field */
  memcpy (p + 5, section, size);
  memset (p + 5 + size, 0xff, TS_PACKET_SIZE - 5 - size);
  self->stats.packets++;
}

static void
finish_section (guint8 * s, gsize size)
{
  guint32 crc = crc32_mpeg (s, size - 4);

  s[size - 4] = crc >> 24;
  s[size - 3] = (crc >> 16) & 0xff;
  s[size - 2] = (crc >> 8) & 0xff;
  s[size - 1] = crc & 0xff;
}

static void
write_psi (CfTsMuxer * self, GByteArray * out)
{
  guint8 pat[16] = {
    0x00, 0xb0, 13,             /* table_id, section_length */
    0x00, 0x01,                 /* transport_stream_id */
    0xc1, 0x00, 0x00,           /* version 0, current, section 0 of 0 */
    (CF_TS_MUX_PROGRAM >> 8) & 0xff, CF_TS_MUX_PROGRAM & 0xff,
    0xe0 | ((CF_TS_MUX_PMT_PID >> 8) & 0x1f), CF_TS_MUX_PMT_PID & 0xff,
  };
  guint8 pmt[12 + 2 * 5 + 4];
  guint16 pcr_pid;
  gsize n = 12;

  finish_section (pat, sizeof (pat));
  write_section (self, PID_PAT, &self->cc_pat, pat, sizeof (pat), out);

  if (self->pmt_video != self->have_avc || self->pmt_audio != self->have_aac) {
    if (self->psi_sent)
      self->pmt_version = (self->pmt_version + 1) & 0x1f;
    self->pmt_video = self->have_avc;
    self->pmt_audio = self->have_aac;
  }
  pcr_pid = self->pmt_video ? CF_TS_MUX_VIDEO_PID : CF_TS_MUX_AUDIO_PID;
  pmt[0] = 0x02;
  pmt[3] = (CF_TS_MUX_PROGRAM >> 8) & 0xff;
  pmt[4] = CF_TS_MUX_PROGRAM & 0xff;
  pmt[5] = 0xc1 | (self->pmt_version << 1);
  pmt[6] = 0x00;
  pmt[7] = 0x00;
  pmt[8] = 0xe0 | (pcr_pid >> 8);
  pmt[9] = pcr_pid & 0xff;
  pmt[10] = 0xf0;               /* program_info_length 0 */
  pmt[11] = 0x00;
  if (self->pmt_video) {
    pmt[n++] = STREAM_TYPE_H264;
    pmt[n++] = 0xe0 | (CF_TS_MUX_VIDEO_PID >> 8);
    pmt[n++] = CF_TS_MUX_VIDEO_PID & 0xff;
    pmt[n++] = 0xf0;
    pmt[n++] = 0x00;
  }
  if (self->pmt_audio) {
    pmt[n++] = STREAM_TYPE_AAC_ADTS;
    pmt[n++] = 0xe0 | (CF_TS_MUX_AUDIO_PID >> 8);
    pmt[n++] = CF_TS_MUX_AUDIO_PID & 0xff;
    pmt[n++] = 0xf0;
    pmt[n++] = 0x00;
  }
  n += 4;
  pmt[1] = 0xb0 | (((n - 3) >> 8) & 0x0f);
  pmt[2] = (n - 3) & 0xff;
  finish_section (pmt, n);
  write_section (self, CF_TS_MUX_PMT_PID, &self->cc_pmt, pmt, n, out);

  self->psi_sent = TRUE;
  self->psi_time = self->clock;
  self->stats.psi++;
}

/* Whether the PAT and PMT must go before the next PES: after
 * CF_TS_MUX_PSI_INTERVAL_MS of stream time, or when it went back */
static gboolean
psi_due (CfTsMuxer * self, gboolean keyframe)
{
  gint32 since = (gint32) (self->clock - self->psi_time);

  return !self->psi_sent || keyframe || self->pmt_video != self->have_avc ||
      self->pmt_audio != self->have_aac || since < 0 ||
      since >= CF_TS_MUX_PSI_INTERVAL_MS;
}

/* Writes the PES of the work buffer, after the PAT and PMT if due, with a
 * PCR at @pcr_ts (90 kHz) if @t wants one */
static void
write_pes (CfTsMuxer * self, const PesTarget * t, guint32 ts,
    guint64 pcr_ts, gboolean keyframe, GByteArray * out)
{
  gboolean discont = FALSE;
  gboolean psi;

  /* the stream time is the DTS of the video, or of the audio before there
   * is video: the other stream may be a little behind */
  if (t->pid == CF_TS_MUX_VIDEO_PID || !self->video_started)
    self->clock = ts;
  psi = psi_due (self, keyframe);
  if (psi)
    write_psi (self, out);

  if (t->pcr) {
    guint64 pcr = (pcr_ts + (TS_MASK33 + 1) - CF_TS_MUX_PCR_DELAY) & TS_MASK33;

    if (self->has_pcr) {
      guint64 step = (pcr - self->last_pcr) & TS_MASK33;

      /* backwards (a step of over half the range), or far ahead */
      discont = step >= TS_HALF33 || step > CF_TS_MUX_MAX_PCR_JUMP;
    }
    self->has_pcr = TRUE;
    self->last_pcr = pcr;
    write_pes_packets (self, t, pcr, discont, out);
  } else {
    write_pes_packets (self, t, 0, FALSE, out);
  }
  self->last_keyframe = psi && (keyframe || !self->have_avc);
}

/* Starts the PES in the work buffer; @dts is ignored if equal to @pts */
static void
begin_pes (CfTsMuxer * self, guint8 stream_id, guint64 pts, guint64 dts)
{
  gboolean with_dts = dts != pts;
  guint8 *h;

  g_byte_array_set_size (self->pes, 0);
  h = grow (self->pes, PES_HEADER_SIZE + (with_dts ? 10 : 5));
  h[0] = 0x00;
  h[1] = 0x00;
  h[2] = 0x01;
  h[3] = stream_id;
  h[4] = 0x00;                  /* PES_packet_length, set by end_pes */
  h[5] = 0x00;
  h[6] = 0x84;                  /* '10', data_alignment_indicator */
  h[7] = with_dts ? 0xc0 : 0x80;        /* PTS_DTS_flags */
  h[8] = with_dts ? 10 : 5;
  put_timestamp (h + 9, with_dts ? 0x3 : 0x2, pts);
  if (with_dts)
    put_timestamp (h + 14, 0x1, dts);
}

/* --- H.264 --- */

static const gchar *
video_codec_name (guint id)
{
  switch (id) {
    case 1:
      return "JPEG";
    case 2:
      return "Sorenson H.263";
    case 3:
      return "Screen video";
    case 4:
      return "On2 VP6";
    case 5:
      return "On2 VP6 with alpha";
    case 6:
      return "Screen video version 2";
    case 12:
      return "HEVC";
    case 13:
      return "AV1";
    default:
      return NULL;
  }
}

static const gchar *
fourcc_name (const guint8 * f)
{
  static const struct
  {
    const gchar fourcc[5];
    const gchar *name;
  } names[] = {
    {"avc1", "H.264 (enhanced RTMP)"},
    {"hvc1", "HEVC"},
    {"av01", "AV1"},
    {"vp08", "VP8"},
    {"vp09", "VP9"},
    {"Opus", "Opus"},
    {"fLaC", "FLAC"},
    {"ac-3", "AC-3"},
    {"ec-3", "E-AC-3"},
    {".mp3", "MP3"},
    {"mp4a", "AAC (enhanced RTMP)"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    if (memcmp (f, names[i].fourcc, 4) == 0)
      return names[i].name;
  }
  return NULL;
}

/* The error for an enhanced RTMP header (FourCC after the first byte) */
static void
set_fourcc_error (GError ** error, const gchar * kind, const guint8 * body,
    gsize size)
{
  const gchar *name = size >= 5 ? fourcc_name (body + 1) : NULL;
  gchar printable[5];
  guint i;

  if (name != NULL) {
    set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "%s %s cannot be muxed "
        "into MPEG-TS: only H.264 video and AAC audio are supported", name,
        kind);
    return;
  }
  if (size < 5) {
    set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "%s with a truncated "
        "enhanced RTMP header cannot be muxed into MPEG-TS", kind);
    return;
  }
  for (i = 0; i < 4; i++)
    printable[i] = g_ascii_isprint (body[1 + i]) ? body[1 + i] : '?';
  printable[4] = '\0';
  set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "%s codec '%s' cannot be "
      "muxed into MPEG-TS: only H.264 video and AAC audio are supported",
      kind, printable);
}

static guint32
read_be (const guint8 * p, guint n)
{
  guint32 v = 0;
  guint i;

  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* Reads the @count parameter sets of type @nal_type at *@pos of @d into
 * @sets (when not NULL) */
static gboolean
read_param_sets (const guint8 * d, gsize n, gsize * pos, guint count,
    guint nal_type, ParamSet * sets, GError ** error)
{
  const gchar *what = nal_type == 7 ? "SPS" : "PPS";
  guint i;

  if (count == 0) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
        "header: no %s", what);
    return FALSE;
  }
  if (count > CF_TS_MUX_MAX_PARAM_SETS) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
        "header: %u %s, at most %u are supported", count, what,
        CF_TS_MUX_MAX_PARAM_SETS);
    return FALSE;
  }
  for (i = 0; i < count; i++) {
    gsize len;

    if (n - *pos < 2) {
      set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
          "header: truncated in %s %u", what, i);
      return FALSE;
    }
    len = read_be (d + *pos, 2);
    *pos += 2;
    if (len == 0 || len > n - *pos) {
      set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
          "header: %s %u of %" G_GSIZE_FORMAT " bytes in %" G_GSIZE_FORMAT,
          what, i, len, n - *pos);
      return FALSE;
    }
    if (len > CF_TS_MUX_MAX_PARAM_SET_SIZE) {
      set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
          "header: %s of %" G_GSIZE_FORMAT " bytes, at most %u are supported",
          what, len, CF_TS_MUX_MAX_PARAM_SET_SIZE);
      return FALSE;
    }
    if ((d[*pos] & 0x1f) != nal_type) {
      set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
          "header: NAL unit type %u in the %s list", d[*pos] & 0x1f, what);
      return FALSE;
    }
    if (sets != NULL) {
      sets[i].size = len;
      memcpy (sets[i].data, d + *pos, len);
    }
    *pos += len;
  }
  return TRUE;
}

/* ISO/IEC 14496-15 5.3.3.1 AVCDecoderConfigurationRecord: checked whole
 * first, then stored */
static gboolean
parse_avc_config (CfTsMuxer * self, const guint8 * d, gsize n, GError ** error)
{
  guint n_sps, n_pps;
  gsize pos = 6, pps_pos;

  if (n < 7) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
        "header: %" G_GSIZE_FORMAT " bytes", n);
    return FALSE;
  }
  if (d[0] != 1) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
        "header: configuration version %u", d[0]);
    return FALSE;
  }
  n_sps = d[5] & 0x1f;
  if (!read_param_sets (d, n, &pos, n_sps, 7, NULL, error))
    return FALSE;
  if (pos >= n) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
        "header: no PPS");
    return FALSE;
  }
  n_pps = d[pos++];
  pps_pos = pos;
  if (!read_param_sets (d, n, &pos, n_pps, 8, NULL, error))
    return FALSE;

  /* valid: store it (what follows, such as the chroma format of the High
   * profiles, is in the SPS too) */
  pos = 6;
  read_param_sets (d, n, &pos, n_sps, 7, self->sps, NULL);
  read_param_sets (d, n, &pps_pos, n_pps, 8, self->pps, NULL);
  self->n_sps = n_sps;
  self->n_pps = n_pps;
  self->nal_length_size = (d[4] & 0x03) + 1;
  self->have_avc = TRUE;
  return TRUE;
}

static void
append_param_sets (GByteArray * pes, const ParamSet * sets, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    g_byte_array_append (pes, start_code, sizeof (start_code));
    g_byte_array_append (pes, sets[i].data, sets[i].size);
  }
}

/* Checks the NAL units of an AVCC frame; FALSE if a length goes past the
 * end. @n_units gets the NAL units that will be written. */
static gboolean
scan_avcc (const guint8 * d, gsize n, guint length_size, gboolean * idr,
    guint * n_units)
{
  gsize pos = 0;

  *idr = FALSE;
  *n_units = 0;
  while (pos < n) {
    gsize len;
    guint type;

    if (n - pos < length_size)
      return FALSE;
    len = read_be (d + pos, length_size);
    pos += length_size;
    if (len > n - pos)
      return FALSE;
    if (len == 0)
      continue;
    type = d[pos] & 0x1f;
    if (type == 5)
      *idr = TRUE;
    if (type != 9)
      (*n_units)++;
    pos += len;
  }
  return TRUE;
}

static gboolean
push_video (CfTsMuxer * self, guint32 ts, const guint8 * body, gsize size,
    GByteArray * out, GError ** error)
{
  PesTarget target = { CF_TS_MUX_VIDEO_PID, &self->cc_video, TRUE, FALSE };
  guint frame_type = body[0] >> 4, codec = body[0] & 0x0f;
  const guint8 *d;
  gsize n, pos;
  gboolean keyframe, idr;
  guint n_units;
  gint32 cts;
  guint64 dts, pts;

  if (body[0] & 0x80) {
    /* enhanced RTMP: a FourCC instead of the codec id */
    set_fourcc_error (error, "video", body, size);
    return FALSE;
  }
  if (codec != FLV_CODEC_AVC) {
    const gchar *name = video_codec_name (codec);

    if (name != NULL)
      set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "%s video (FLV codec "
          "id %u) cannot be muxed into MPEG-TS: only H.264 is supported",
          name, codec);
    else
      set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "video with FLV codec "
          "id %u cannot be muxed into MPEG-TS: only H.264 is supported", codec);
    return FALSE;
  }
  if (frame_type == FLV_FRAME_COMMAND)
    return TRUE;
  if (size < 5) {
    if (size >= 2 && body[1] == 0) {
      set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AVC sequence "
          "header: %" G_GSIZE_FORMAT " bytes", size);
      return FALSE;
    }
    self->stats.dropped_frames++;
    return TRUE;
  }

  d = body + 5;
  n = size - 5;
  if (body[1] == 0)
    return parse_avc_config (self, d, n, error);
  if (body[1] != 1)             /* end of sequence, or unknown */
    return TRUE;

  if (!self->have_avc || !scan_avcc (d, n, self->nal_length_size, &idr,
          &n_units) || n_units == 0) {
    self->stats.dropped_frames++;
    return TRUE;
  }
  keyframe = frame_type == FLV_FRAME_KEY || idr;
  if (!self->video_started) {
    if (!keyframe) {
      self->stats.dropped_frames++;
      return TRUE;
    }
    self->video_started = TRUE;
  }

  /* SI24 composition time; a negative one would put the PTS first */
  cts = (gint32) read_be (body + 2, 3);
  if (cts >= 0x800000)
    cts -= 0x1000000;
  dts = ms_to_ticks (ts);
  pts = (dts + (guint64) MAX (cts, 0) * 90) & TS_MASK33;

  begin_pes (self, STREAM_ID_VIDEO, pts, dts);
  g_byte_array_append (self->pes, aud_nal, sizeof (aud_nal));
  if (keyframe) {
    append_param_sets (self->pes, self->sps, self->n_sps);
    append_param_sets (self->pes, self->pps, self->n_pps);
  }
  for (pos = 0; pos < n;) {
    gsize len = read_be (d + pos, self->nal_length_size);

    pos += self->nal_length_size;
    if (len > 0 && (d[pos] & 0x1f) != 9) {
      g_byte_array_append (self->pes, start_code, sizeof (start_code));
      g_byte_array_append (self->pes, d + pos, len);
    }
    pos += len;
  }

  target.random_access = keyframe;
  write_pes (self, &target, ts, dts, keyframe, out);
  release_pes (self);
  self->stats.video_frames++;
  if (keyframe)
    self->stats.keyframes++;
  return TRUE;
}

/* --- AAC --- */

static const gchar *
audio_codec_name (guint id)
{
  static const gchar *const names[16] = {
    "Linear PCM", "ADPCM", "MP3", "Linear PCM (little endian)",
    "Nellymoser 16 kHz", "Nellymoser 8 kHz", "Nellymoser", "G.711 A-law",
    "G.711 mu-law", NULL, "AAC", "Speex", NULL, NULL, "MP3 8 kHz",
    "device-specific sound"
  };

  return id < G_N_ELEMENTS (names) ? names[id] : NULL;
}

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

static guint
read_object_type (BitReader * br)
{
  guint type = br_bits (br, 5);

  if (type == 31)
    type = 32 + br_bits (br, 6);
  return type;
}

/* ISO/IEC 14496-3 1.6.2.1 AudioSpecificConfig, as far as ADTS needs it */
static gboolean
parse_aac_config (CfTsMuxer * self, const guint8 * d, gsize n, GError ** error)
{
  BitReader br = { d, n, 0, FALSE };
  guint type, sf_index, channels;

  type = read_object_type (&br);
  sf_index = br_bits (&br, 4);
  if (sf_index == 0x0f)
    br_bits (&br, 24);          /* samplingFrequency */
  channels = br_bits (&br, 4);
  if (type == 5 || type == 29) {
    /* SBR or PS: ADTS carries the core, the decoder finds the rest */
    if (br_bits (&br, 4) == 0x0f)       /* extensionSamplingFrequencyIndex */
      br_bits (&br, 24);
    type = read_object_type (&br);
  }
  if (br.error) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AAC sequence "
        "header: AudioSpecificConfig of %" G_GSIZE_FORMAT " bytes", n);
    return FALSE;
  }
  if (type < 1 || type > 4) {
    set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "AAC audio object type "
        "%u cannot be carried in ADTS: only Main, LC, SSR and LTP, with SBR "
        "or PS, can", type);
    return FALSE;
  }
  if (sf_index == 0x0f) {
    set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "an AAC sampling "
        "frequency given explicitly cannot be carried in ADTS");
    return FALSE;
  }
  if (sf_index > 12) {
    set_error (error, CF_TS_MUX_ERROR_MALFORMED, "malformed AAC sequence "
        "header: reserved sampling frequency index %u", sf_index);
    return FALSE;
  }
  if (channels == 0 || channels > 7) {
    set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "AAC channel "
        "configuration %u cannot be carried in ADTS: only 1 to 7 can",
        channels);
    return FALSE;
  }
  self->aac_profile = type - 1;
  self->aac_sf_index = sf_index;
  self->aac_channels = channels;
  self->have_aac = TRUE;
  return TRUE;
}

static gboolean
push_audio (CfTsMuxer * self, guint32 ts, const guint8 * body, gsize size,
    GByteArray * out, GError ** error)
{
  PesTarget target = { CF_TS_MUX_AUDIO_PID, &self->cc_audio, FALSE, FALSE };
  guint format = body[0] >> 4;
  gsize n, frame_size, pes_length;
  guint64 pts;
  guint8 *h;

  if (format == FLV_AUDIO_EX_HEADER) {
    set_fourcc_error (error, "audio", body, size);
    return FALSE;
  }
  if (format != FLV_CODEC_AAC) {
    const gchar *name = audio_codec_name (format);

    if (name != NULL)
      set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "%s audio (FLV sound "
          "format %u) cannot be muxed into MPEG-TS: only AAC is supported",
          name, format);
    else
      set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "audio with FLV sound "
          "format %u cannot be muxed into MPEG-TS: only AAC is supported",
          format);
    return FALSE;
  }
  if (size < 2) {
    self->stats.dropped_frames++;
    return TRUE;
  }
  if (body[1] == 0)
    return parse_aac_config (self, body + 2, size - 2, error);
  if (body[1] != 1)
    return TRUE;

  n = size - 2;
  if (!self->have_aac || n == 0 || n > MAX_ADTS_FRAME - ADTS_HEADER_SIZE) {
    self->stats.dropped_frames++;
    return TRUE;
  }

  frame_size = ADTS_HEADER_SIZE + n;
  pts = ms_to_ticks (ts);
  begin_pes (self, STREAM_ID_AUDIO, pts, pts);
  pes_length = self->pes->len - 6 + frame_size;
  g_assert (pes_length <= MAX_PES_PACKET_LENGTH);
  self->pes->data[4] = pes_length >> 8;
  self->pes->data[5] = pes_length & 0xff;

  /* ADTS fixed and variable header: MPEG-4, no CRC, buffer fullness 0x7ff
   * (variable rate), one raw data block */
  h = grow (self->pes, ADTS_HEADER_SIZE);
  h[0] = 0xff;
  h[1] = 0xf1;
  h[2] = (self->aac_profile << 6) | (self->aac_sf_index << 2) |
      (self->aac_channels >> 2);
  h[3] = ((self->aac_channels & 0x03) << 6) | (frame_size >> 11);
  h[4] = (frame_size >> 3) & 0xff;
  h[5] = ((frame_size & 0x07) << 5) | 0x1f;
  h[6] = 0xfc;
  g_byte_array_append (self->pes, body + 2, n);

  /* the audio carries the PCR while there is no video */
  target.pcr = !self->have_avc;
  write_pes (self, &target, ts, pts, FALSE, out);
  release_pes (self);
  self->stats.audio_frames++;
  return TRUE;
}

/* --- API --- */

CfTsMuxer *
cf_ts_muxer_new (void)
{
  CfTsMuxer *self = g_new0 (CfTsMuxer, 1);

  self->pes = g_byte_array_new ();
  return self;
}

void
cf_ts_muxer_free (CfTsMuxer * self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->pes);
  g_free (self);
}

gboolean
cf_ts_muxer_push_tag (CfTsMuxer * self, guint8 tag_type, guint32 timestamp,
    const guint8 * body, gsize size, GByteArray * out, GError ** error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (body != NULL || size == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->last_keyframe = FALSE;
  switch (tag_type) {
    case TAG_AUDIO:
      return size == 0 || push_audio (self, timestamp, body, size, out, error);
    case TAG_VIDEO:
      return size == 0 || push_video (self, timestamp, body, size, out, error);
    case TAG_SCRIPT:
      return TRUE;
    default:
      set_error (error, CF_TS_MUX_ERROR_UNSUPPORTED, "FLV tag type %u "
          "cannot be muxed into MPEG-TS", tag_type);
      return FALSE;
  }
}

gboolean
cf_ts_muxer_last_was_keyframe (CfTsMuxer * self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->last_keyframe;
}

void
cf_ts_muxer_get_stats (CfTsMuxer * self, CfTsMuxStats * stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (stats != NULL);

  *stats = self->stats;
}
