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

/* Tests of the FLV to MPEG-TS muxer on the tags of an FLV file made by
 * ffmpeg (x264 with B-frames, aac). The TS is parsed here packet by packet
 * and checked against the tags, decoded by ffprobe and ffmpeg, and
 * remuxed back to FLV tags by the remuxer of tsremux.h. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsmux.h"
#include "tsremux.h"

#define N_VIDEO_FRAMES 120      /* 4 s at 30 fps */
#define N_KEYFRAMES 4           /* -g 30 */
/* 4 s at 48 kHz is 187.5 AAC frames, ffmpeg adds the encoder delay */
#define MIN_AUDIO_FRAMES 187
#define MAX_AUDIO_FRAMES 192

#define TS_PACKET 188
#define PMT_PID CF_TS_MUX_PMT_PID
#define VIDEO_PID CF_TS_MUX_VIDEO_PID
#define AUDIO_PID CF_TS_MUX_AUDIO_PID
#define MASK33 ((G_GUINT64_CONSTANT (1) << 33) - 1)

static gchar *tmp_dir;

typedef struct
{
  guint8 type;
  guint32 ts;
  GBytes *body;
} Tag;

/* --- Files and programs --- */

static void
setup_tmp_dir (void)
{
  GError *error = NULL;

  tmp_dir = g_dir_make_tmp ("cflive-tsmux-XXXXXX", &error);
  fail_unless (tmp_dir != NULL, "%s", error ? error->message : "");
}

static void
teardown_tmp_dir (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    gchar *path = g_build_filename (tmp_dir, name, NULL);

    g_unlink (path);
    g_free (path);
  }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}

static gboolean
run (const gchar * cmdline, gchar ** out, gchar ** err)
{
  GError *error = NULL;
  gint status = 0;

  if (!g_spawn_command_line_sync (cmdline, out, err, &status, &error))
    fail ("could not run '%s': %s", cmdline, error->message);
  return g_spawn_check_wait_status (status, NULL);
}

static void
require_program (const gchar * name)
{
  gchar *path = g_find_program_in_path (name);

  fail_unless (path != NULL, "%s is needed to make and check the test "
      "streams and is not installed: install ffmpeg (scripts/install-deps.sh "
      "does)", name);
  g_free (path);
}

static gchar *
write_file (const gchar * name, const guint8 * data, gsize size)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);

  fail_unless (g_file_set_contents (path, (const gchar *) data, size, NULL));
  return path;
}

/* --- FLV --- */

static void
tag_free (Tag * tag)
{
  g_bytes_unref (tag->body);
  g_free (tag);
}

static Tag *
tag_new (guint8 type, guint32 ts, const guint8 * body, gsize size)
{
  Tag *tag = g_new0 (Tag, 1);

  tag->type = type;
  tag->ts = ts;
  tag->body = g_bytes_new (body, size);
  return tag;
}

static const guint8 *
tag_data (const Tag * tag, gsize * size)
{
  return g_bytes_get_data (tag->body, size);
}

static guint32
be (const guint8 * p, guint n)
{
  guint32 v = 0;
  guint i;

  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* The tags of an FLV file: 9-byte header (at least), then previous tag
 * size, 11-byte tag header, body, ... */
static GPtrArray *
parse_flv (const guint8 * d, gsize size)
{
  GPtrArray *tags = g_ptr_array_new_with_free_func ((GDestroyNotify) tag_free);
  gsize pos;

  fail_unless (size >= 13 && memcmp (d, "FLV", 3) == 0);
  fail_unless_equals_int (d[3], 1);
  pos = be (d + 5, 4);
  fail_unless (pos >= 9 && pos + 4 <= size);
  fail_unless_equals_int (be (d + pos, 4), 0);
  pos += 4;
  while (pos < size) {
    guint32 n, ts;

    fail_unless (size - pos >= 11, "truncated tag header at %"
        G_GSIZE_FORMAT, pos);
    n = be (d + pos + 1, 3);
    ts = be (d + pos + 4, 3) | ((guint32) d[pos + 7] << 24);
    fail_unless_equals_int (be (d + pos + 8, 3), 0);    /* stream id */
    fail_unless (size - pos - 11 >= (gsize) n + 4);
    g_ptr_array_add (tags, tag_new (d[pos] & 0x1f, ts, d + pos + 11, n));
    fail_unless_equals_int (be (d + pos + 11 + n, 4), 11 + n);
    pos += 11 + n + 4;
  }
  return tags;
}

/* The tags of the FLV that ffmpeg makes, made once per test run */
static GPtrArray *
get_tags (void)
{
  gchar *path = g_build_filename (tmp_dir, "av.flv", NULL);
  gchar *contents = NULL;
  GPtrArray *tags;
  gsize size;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    gchar *part = g_strconcat (path, ".part.flv", NULL);
    gchar *cmd, *err = NULL;

    require_program ("ffmpeg");
    cmd = g_strdup_printf ("ffmpeg -hide_banner -nostdin -y -v error "
        "-f lavfi -i testsrc2=size=320x240:rate=30 "
        "-f lavfi -i sine=sample_rate=48000 -t 4 "
        "-c:v libx264 -g 30 -bf 2 -c:a aac -f flv %s", part);
    if (!run (cmd, NULL, &err))
      fail ("'%s' failed: %s", cmd, err);
    fail_unless (g_rename (part, path) == 0);
    g_free (err);
    g_free (cmd);
    g_free (part);
  }
  fail_unless (g_file_get_contents (path, &contents, &size, NULL));
  tags = parse_flv ((const guint8 *) contents, size);
  g_free (contents);
  g_free (path);
  return tags;
}

static gboolean
is_video_frame (const Tag * tag)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);

  return tag->type == 9 && size > 5 && d[1] == 1;
}

static gboolean
is_audio_frame (const Tag * tag)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);

  return tag->type == 8 && size > 2 && d[1] == 1;
}

static gboolean
is_keyframe (const Tag * tag)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);

  return is_video_frame (tag) && (d[0] >> 4) == 1;
}

static gint
tag_cts (const Tag * tag)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);
  gint32 cts = be (d + 2, 3);

  return cts >= 0x800000 ? cts - 0x1000000 : cts;
}

static guint
count_tags (GPtrArray * tags, gboolean (*pred) (const Tag *))
{
  guint i, n = 0;

  for (i = 0; i < tags->len; i++)
    n += pred (g_ptr_array_index (tags, i));
  return n;
}

/* The tags of one type, and the script tags */
static GPtrArray *
filter_tags (GPtrArray * tags, guint8 type)
{
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; i < tags->len; i++) {
    Tag *tag = g_ptr_array_index (tags, i);

    if (tag->type == type || tag->type == 18)
      g_ptr_array_add (out, tag);
  }
  return out;
}

/* AVCDecoderConfigurationRecord */
typedef struct
{
  guint8 profile, compat, level;
  guint length_size;
  GPtrArray *sps;
  GPtrArray *pps;
} AvcConfig;

static void
avc_config_clear (AvcConfig * c)
{
  g_clear_pointer (&c->sps, g_ptr_array_unref);
  g_clear_pointer (&c->pps, g_ptr_array_unref);
}

static void
parse_avc_config (const Tag * tag, AvcConfig * c)
{
  gsize size, pos;
  const guint8 *d = tag_data (tag, &size);
  guint i, n;

  fail_unless (tag->type == 9 && size > 5 + 7 && d[1] == 0);
  d += 5;
  size -= 5;
  fail_unless_equals_int (d[0], 1);
  c->profile = d[1];
  c->compat = d[2];
  c->level = d[3];
  c->length_size = (d[4] & 3) + 1;
  c->sps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  c->pps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  n = d[5] & 0x1f;
  pos = 6;
  for (i = 0; i < n; i++) {
    gsize len = be (d + pos, 2);

    fail_unless (pos + 2 + len <= size);
    g_ptr_array_add (c->sps, g_bytes_new (d + pos + 2, len));
    pos += 2 + len;
  }
  fail_unless (pos < size);
  n = d[pos++];
  for (i = 0; i < n; i++) {
    gsize len = be (d + pos, 2);

    fail_unless (pos + 2 + len <= size);
    g_ptr_array_add (c->pps, g_bytes_new (d + pos + 2, len));
    pos += 2 + len;
  }
}

static void
check_same_sets (GPtrArray * a, GPtrArray * b)
{
  guint i;

  fail_unless_equals_int (a->len, b->len);
  for (i = 0; i < a->len; i++)
    fail_unless (g_bytes_equal (g_ptr_array_index (a, i),
            g_ptr_array_index (b, i)));
}

/* AAC object type, sampling frequency index, channels */
static void
parse_aac_config (const Tag * tag, guint * type, guint * sf, guint * ch)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);

  fail_unless (tag->type == 8 && size >= 4 && d[0] == 0xaf && d[1] == 0);
  *type = d[2] >> 3;
  *sf = ((d[2] & 7) << 1) | (d[3] >> 7);
  *ch = (d[3] >> 3) & 0x0f;
}

static const Tag *
find_header (GPtrArray * tags, guint8 type)
{
  guint i;

  for (i = 0; i < tags->len; i++) {
    const Tag *tag = g_ptr_array_index (tags, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);

    if (tag->type == type && size > 1 && d[1] == 0)
      return tag;
  }
  fail ("no sequence header in tags of type %u", type);
  return NULL;
}

/* The Annex B access unit the muxer must make of an AVCC frame */
static GByteArray *
expected_access_unit (const Tag * tag, const AvcConfig * c)
{
  static const guint8 aud[] = { 0, 0, 0, 1, 0x09, 0xf0 };
  static const guint8 sc[] = { 0, 0, 0, 1 };
  GByteArray *au = g_byte_array_new ();
  gsize size, pos = 5;
  const guint8 *d = tag_data (tag, &size);
  guint i;

  g_byte_array_append (au, aud, sizeof (aud));
  if (is_keyframe (tag)) {
    for (i = 0; i < c->sps->len; i++) {
      gsize n;
      const guint8 *s = g_bytes_get_data (g_ptr_array_index (c->sps, i), &n);

      g_byte_array_append (au, sc, 4);
      g_byte_array_append (au, s, n);
    }
    for (i = 0; i < c->pps->len; i++) {
      gsize n;
      const guint8 *s = g_bytes_get_data (g_ptr_array_index (c->pps, i), &n);

      g_byte_array_append (au, sc, 4);
      g_byte_array_append (au, s, n);
    }
  }
  while (pos < size) {
    gsize len = be (d + pos, c->length_size);

    pos += c->length_size;
    fail_unless (len <= size - pos);
    if (len > 0 && (d[pos] & 0x1f) != 9) {
      g_byte_array_append (au, sc, 4);
      g_byte_array_append (au, d + pos, len);
    }
    pos += len;
  }
  return au;
}

/* An AVCC frame with 4-byte lengths and without access unit delimiters and
 * parameter sets, as the remuxer makes them */
static GByteArray *
normalized_frame (const Tag * tag, guint length_size)
{
  GByteArray *out = g_byte_array_new ();
  gsize size, pos = 5;
  const guint8 *d = tag_data (tag, &size);

  while (pos < size) {
    gsize len = be (d + pos, length_size);
    guint type;

    pos += length_size;
    type = d[pos] & 0x1f;
    if (len > 0 && type != 7 && type != 8 && type != 9) {
      guint8 l[4] = { len >> 24, len >> 16, len >> 8, len };

      g_byte_array_append (out, l, 4);
      g_byte_array_append (out, d + pos, len);
    }
    pos += len;
  }
  return out;
}

/* --- Muxing --- */

typedef struct
{
  GByteArray *ts;
  guint n_keyframes;            /* pushes reported as keyframes */
  CfTsMuxStats stats;
} Muxed;

static void
muxed_free (Muxed * m)
{
  g_byte_array_unref (m->ts);
  g_free (m);
}

static guint16
packet_pid (const guint8 * p)
{
  return ((p[1] & 0x1f) << 8) | p[2];
}

/* Checks the packets a push reported as a keyframe: PAT, PMT, then the
 * start of a PES with the random_access_indicator */
static void
check_keyframe_start (const guint8 * p, gsize n, guint16 pid)
{
  fail_unless (n >= 3 * TS_PACKET);
  fail_unless_equals_int (packet_pid (p), 0);
  fail_unless_equals_int (packet_pid (p + TS_PACKET), PMT_PID);
  p += 2 * TS_PACKET;
  fail_unless_equals_int (packet_pid (p), pid);
  fail_unless (p[1] & 0x40);
  if (pid == VIDEO_PID) {
    fail_unless ((p[3] & 0x30) == 0x30 && p[4] > 0);
    fail_unless (p[5] & 0x40, "no random_access_indicator");
  }
}

/* Muxes @tags, with @shift added to every timestamp */
static Muxed *
mux_tags (GPtrArray * tags, guint32 shift)
{
  Muxed *m = g_new0 (Muxed, 1);
  CfTsMuxer *mux = cf_ts_muxer_new ();
  gboolean have_video = FALSE;
  guint i;

  m->ts = g_byte_array_new ();
  for (i = 0; i < tags->len; i++) {
    const Tag *tag = g_ptr_array_index (tags, i);
    GError *error = NULL;
    gsize size, before = m->ts->len;
    const guint8 *d = tag_data (tag, &size);

    fail_unless (cf_ts_muxer_push_tag (mux, tag->type, tag->ts + shift, d,
            size, m->ts, &error), "tag %u: %s", i, error ? error->message : "");
    fail_unless ((m->ts->len - before) % TS_PACKET == 0);
    if (tag->type == 18 || (size > 1 && d[1] == 0))
      fail_unless_equals_int (m->ts->len, before);
    if (tag->type == 9)
      have_video = TRUE;
    if (cf_ts_muxer_last_was_keyframe (mux)) {
      fail_unless (have_video ? is_keyframe (tag) : is_audio_frame (tag));
      check_keyframe_start (m->ts->data + before, m->ts->len - before,
          have_video ? VIDEO_PID : AUDIO_PID);
      m->n_keyframes++;
    } else {
      fail_if (is_keyframe (tag), "keyframe tag %u not reported", i);
    }
  }
  cf_ts_muxer_get_stats (mux, &m->stats);
  fail_unless_equals_uint64 (m->stats.packets, m->ts->len / TS_PACKET);
  cf_ts_muxer_free (mux);
  return m;
}

/* --- Parsing the TS --- */

typedef struct
{
  guint16 pid;
  guint8 stream_id;
  guint pes_length;
  guint64 pts, dts;
  gboolean has_dts;
  gboolean random_access;
  gboolean has_pcr;
  gboolean discont;
  guint64 pcr;
  gboolean after_psi;           /* right after a PAT and a PMT */
  GByteArray *raw;              /* the whole PES */
  const guint8 *es;             /* its payload */
  gsize es_size;
} Pes;

typedef struct
{
  GPtrArray *pes;               /* in order, both streams */
  guint n_video, n_audio;
  guint n_pat, n_pmt;
  gint pmt_version;
  guint pmt_versions;           /* distinct PMTs seen */
  guint16 pcr_pid;
  gboolean has_h264, has_aac;
  guint n_discont;
} TsInfo;

static void
pes_free (Pes * pes)
{
  g_byte_array_unref (pes->raw);
  g_free (pes);
}

static void
ts_info_free (TsInfo * info)
{
  g_ptr_array_unref (info->pes);
  g_free (info);
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
read_timestamp (const guint8 * p, guint prefix)
{
  fail_unless_equals_int (p[0] >> 4, prefix);
  fail_unless ((p[0] & 1) && (p[2] & 1) && (p[4] & 1), "marker bits");
  return ((guint64) ((p[0] >> 1) & 7) << 30) | ((guint64) p[1] << 22) |
      ((guint64) (p[2] >> 1) << 15) | ((guint64) p[3] << 7) | (p[4] >> 1);
}

/* One PSI section filling a packet payload after its pointer field;
 * returns the section and its size */
static const guint8 *
check_section (const guint8 * payload, gsize n, guint8 table_id, gsize * size)
{
  const guint8 *s;
  gsize len, i;

  fail_unless (n > 1);
  fail_unless_equals_int (payload[0], 0);       /* pointer_field */
  s = payload + 1;
  fail_unless_equals_int (s[0], table_id);
  fail_unless ((s[1] & 0xc0) == 0x80, "section_syntax_indicator");
  len = 3 + (((s[1] & 0x0f) << 8) | s[2]);
  fail_unless (len <= n - 1);
  fail_unless_equals_int (crc32_mpeg (s, len), 0);
  fail_unless ((s[5] & 0x01) && s[6] == 0 && s[7] == 0);
  for (i = 1 + len; i < n; i++)
    fail_unless_equals_int (payload[i], 0xff);
  *size = len;
  return s;
}

static void
handle_pmt (TsInfo * info, const guint8 * s, gsize len, guint8 * last,
    gsize * last_len)
{
  gsize pos;
  guint version = (s[5] >> 1) & 0x1f;

  fail_unless_equals_int (be (s + 3, 2), CF_TS_MUX_PROGRAM);
  info->pcr_pid = be (s + 8, 2) & 0x1fff;
  fail_unless_equals_int (be (s + 10, 2) & 0x0fff, 0);
  info->has_h264 = info->has_aac = FALSE;
  for (pos = 12; pos + 4 < len; pos += 5) {
    guint16 pid = be (s + pos + 1, 2) & 0x1fff;

    fail_unless_equals_int (be (s + pos + 3, 2) & 0x0fff, 0);
    if (s[pos] == 0x1b) {
      fail_unless_equals_int (pid, VIDEO_PID);
      info->has_h264 = TRUE;
    } else {
      fail_unless_equals_int (s[pos], 0x0f);
      fail_unless_equals_int (pid, AUDIO_PID);
      info->has_aac = TRUE;
    }
  }
  fail_unless_equals_int (pos + 4, len);
  fail_unless_equals_int (info->pcr_pid, info->has_h264 ? VIDEO_PID :
      AUDIO_PID);
  /* a different PMT has a new version */
  if (*last_len != len || memcmp (last, s, len) != 0) {
    fail_unless ((gint) version != info->pmt_version);
    info->pmt_versions++;
    memcpy (last, s, len);
    *last_len = len;
  } else {
    fail_unless_equals_int (version, info->pmt_version);
  }
  info->pmt_version = version;
}

/* The PES is complete: checks its header */
static void
finish_pes (TsInfo * info, Pes * pes)
{
  const guint8 *d = pes->raw->data;
  gsize n = pes->raw->len;
  guint flags;

  fail_unless (n >= 14);
  fail_unless (d[0] == 0 && d[1] == 0 && d[2] == 1);
  pes->stream_id = d[3];
  pes->pes_length = be (d + 4, 2);
  if (pes->pid == VIDEO_PID) {
    fail_unless_equals_int (pes->stream_id, 0xe0);
    fail_unless_equals_int (pes->pes_length, 0);
    info->n_video++;
  } else {
    fail_unless_equals_int (pes->stream_id, 0xc0);
    /* bounded, and no padding after it */
    fail_unless_equals_int (pes->pes_length + 6, n);
    info->n_audio++;
  }
  fail_unless_equals_int (d[6], 0x84);
  flags = d[7] >> 6;
  fail_unless (flags == 2 || flags == 3);
  fail_unless_equals_int (d[7] & 0x3f, 0);
  pes->has_dts = flags == 3;
  fail_unless_equals_int (d[8], pes->has_dts ? 10 : 5);
  pes->pts = read_timestamp (d + 9, pes->has_dts ? 3 : 2);
  pes->dts = pes->has_dts ? read_timestamp (d + 14, 1) : pes->pts;
  if (pes->has_dts)
    fail_unless (pes->dts != pes->pts);
  pes->es = d + 9 + d[8];
  pes->es_size = n - 9 - d[8];
  if (pes->discont)
    info->n_discont++;
}

/* Parses the whole TS, checking every packet: sync, continuity counters,
 * adaptation fields, PSI sections and PES headers */
static TsInfo *
parse_ts (const guint8 * d, gsize size)
{
  TsInfo *info = g_new0 (TsInfo, 1);
  gint cc[0x2000];
  Pes *current[2] = { NULL, NULL };
  guint16 prev_pid[2] = { 0xffff, 0xffff };
  guint8 last_pmt[TS_PACKET];
  gsize last_pmt_len = 0, i;

  info->pes = g_ptr_array_new_with_free_func ((GDestroyNotify) pes_free);
  info->pmt_version = -1;
  for (i = 0; i < G_N_ELEMENTS (cc); i++)
    cc[i] = -1;

  fail_unless_equals_int (size % TS_PACKET, 0);
  for (i = 0; i < size; i += TS_PACKET) {
    const guint8 *p = d + i;
    guint16 pid = packet_pid (p);
    gboolean pusi = (p[1] & 0x40) != 0;
    guint afc = (p[3] >> 4) & 3;
    gboolean rai = FALSE, discont = FALSE, has_pcr = FALSE;
    guint64 pcr = 0;
    gsize off = 4;

    fail_unless_equals_int (p[0], 0x47);
    fail_if (p[1] & 0x80, "transport_error_indicator");
    fail_if (p[3] & 0xc0, "scrambled");
    /* there is always a payload */
    fail_unless (afc == 1 || afc == 3, "adaptation_field_control %u", afc);
    if (cc[pid] >= 0)
      fail_unless_equals_int (p[3] & 0x0f, (cc[pid] + 1) & 0x0f);
    cc[pid] = p[3] & 0x0f;

    if (afc == 3) {
      guint len = p[4], k = 6;

      fail_unless (len <= 182);
      if (len > 0) {
        guint flags = p[5];

        fail_unless_equals_int (flags & 0x2f, 0);
        discont = (flags & 0x80) != 0;
        rai = (flags & 0x40) != 0;
        has_pcr = (flags & 0x10) != 0;
        if (has_pcr) {
          fail_unless (len >= 7);
          pcr = ((guint64) be (p + 6, 4) << 1) | (p[10] >> 7);
          fail_unless_equals_int (p[10] & 0x7f, 0x7e);
          fail_unless_equals_int (p[11], 0);
          k = 12;
        }
        /* the rest is stuffing */
        for (; k < 5 + len; k++)
          fail_unless_equals_int (p[k], 0xff);
      }
      off = 5 + len;
    }
    fail_unless (off < TS_PACKET);

    if (pid == 0) {
      gsize len;
      const guint8 *s = check_section (p + off, TS_PACKET - off, 0x00, &len);

      fail_unless (pusi && afc == 1);
      fail_unless_equals_int (len, 16);
      fail_unless_equals_int (be (s + 8, 2), CF_TS_MUX_PROGRAM);
      fail_unless_equals_int (be (s + 10, 2), 0xe000 | PMT_PID);
      info->n_pat++;
    } else if (pid == PMT_PID) {
      gsize len;
      const guint8 *s = check_section (p + off, TS_PACKET - off, 0x02, &len);

      fail_unless (pusi && afc == 1);
      fail_unless_equals_int (prev_pid[1], 0);
      handle_pmt (info, s, len, last_pmt, &last_pmt_len);
      info->n_pmt++;
    } else {
      guint k = pid == VIDEO_PID ? 0 : 1;

      fail_unless (pid == VIDEO_PID || pid == AUDIO_PID, "PID 0x%x", pid);
      fail_unless (info->n_pmt > 0, "PES before the PMT");
      fail_unless (pid == VIDEO_PID ? info->has_h264 : info->has_aac);
      if (has_pcr)
        fail_unless_equals_int (pid, info->pcr_pid);
      if (pusi) {
        if (current[k] != NULL)
          finish_pes (info, current[k]);
        current[k] = g_new0 (Pes, 1);
        current[k]->pid = pid;
        current[k]->raw = g_byte_array_new ();
        current[k]->random_access = rai;
        current[k]->has_pcr = has_pcr;
        current[k]->pcr = pcr;
        current[k]->discont = discont;
        current[k]->after_psi = prev_pid[0] == 0 && prev_pid[1] == PMT_PID;
        g_ptr_array_add (info->pes, current[k]);
      } else {
        fail_unless (current[k] != NULL, "PES data without its start");
        fail_if (rai || has_pcr || discont, "flags after the PES start");
      }
      g_byte_array_append (current[k]->raw, p + off, TS_PACKET - off);
    }
    prev_pid[0] = prev_pid[1];
    prev_pid[1] = pid;
  }
  for (i = 0; i < 2; i++) {
    if (current[i] != NULL)
      finish_pes (info, current[i]);
  }
  return info;
}

static guint64
ms_to_ticks (guint32 ms)
{
  return ((guint64) ms * 90 + CF_TS_MUX_TS_OFFSET) & MASK33;
}

/* A 33-bit difference */
static gint64
diff33 (guint64 a, guint64 b)
{
  gint64 d = (gint64) ((a - b) & MASK33);

  return d >= (G_GINT64_CONSTANT (1) << 32) ? d - (G_GINT64_CONSTANT (1) <<
      33) : d;
}

/* The PAT and PMT come before every keyframe, and at least every 500 ms of
 * stream time: the DTS of the latest video PES, or of the latest audio PES
 * before there is video. A step back makes them due too. */
static void
check_psi_interval (const TsInfo * info)
{
  guint64 clock = 0, psi_clock = 0;
  gboolean have_video = FALSE;
  guint i;

  for (i = 0; i < info->pes->len; i++) {
    const Pes *pes = g_ptr_array_index (info->pes, i);

    if (i == 0)
      fail_unless (pes->after_psi);
    have_video = have_video || pes->pid == VIDEO_PID;
    if (pes->pid == VIDEO_PID || !have_video)
      clock = pes->dts;
    if (pes->random_access)
      fail_unless (pes->after_psi, "keyframe %u without PAT and PMT", i);
    if (pes->after_psi)
      psi_clock = clock;
    else
      fail_unless (diff33 (clock, psi_clock) >= 0 &&
          diff33 (clock, psi_clock) < 500 * 90,
          "PES %u: %" G_GINT64_FORMAT " ms after the PAT", i,
          diff33 (clock, psi_clock) / 90);
  }
}

/* The PES packets match the tags they were made of */
static void
check_pes_against_tags (const TsInfo * info, GPtrArray * tags, guint32 shift)
{
  AvcConfig config = { 0 };
  guint i, v = 0, a = 0, n_key = 0;
  gboolean have_config = FALSE;
  guint64 last_pcr = 0;
  gboolean has_last_pcr = FALSE;

  for (i = 0; i < tags->len; i++) {
    const Tag *tag = g_ptr_array_index (tags, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);
    guint64 ts = ms_to_ticks (tag->ts + shift);

    if (tag->type == 9 && size > 1 && d[1] == 0) {
      avc_config_clear (&config);
      parse_avc_config (tag, &config);
      have_config = TRUE;
    } else if (is_video_frame (tag)) {
      const Pes *pes;
      GByteArray *au;

      fail_unless (v + a < info->pes->len, "video frame %u not muxed", v);
      pes = g_ptr_array_index (info->pes, v + a);
      v++;
      fail_unless (have_config);
      fail_unless_equals_int (pes->pid, VIDEO_PID);
      fail_unless_equals_uint64 (pes->dts, ts);
      fail_unless_equals_uint64 (pes->pts, (ts + MAX (tag_cts (tag), 0) * 90)
          & MASK33);
      fail_unless_equals_int (pes->random_access, is_keyframe (tag));
      n_key += pes->random_access;
      /* the PCR is 100 ms before the DTS */
      fail_unless (pes->has_pcr);
      fail_unless_equals_uint64 (pes->pcr, (ts + MASK33 + 1 -
              CF_TS_MUX_PCR_DELAY) & MASK33);
      if (has_last_pcr)
        fail_unless (diff33 (pes->pcr, last_pcr) >= 0);
      last_pcr = pes->pcr;
      has_last_pcr = TRUE;
      au = expected_access_unit (tag, &config);
      fail_unless_equals_int (pes->es_size, au->len);
      fail_unless (memcmp (pes->es, au->data, au->len) == 0,
          "video frame %u differs", v - 1);
      g_byte_array_unref (au);
    } else if (is_audio_frame (tag)) {
      const Pes *pes;
      gsize n = size - 2;

      fail_unless (v + a < info->pes->len, "audio frame %u not muxed", a);
      pes = g_ptr_array_index (info->pes, v + a);
      a++;
      fail_unless_equals_int (pes->pid, AUDIO_PID);
      fail_if (pes->has_dts);
      fail_unless_equals_uint64 (pes->pts, ts);
      fail_if (pes->random_access);
      fail_unless_equals_int (pes->has_pcr, !have_config);
      if (pes->has_pcr)
        fail_unless_equals_uint64 (pes->pcr, (ts + MASK33 + 1 -
                CF_TS_MUX_PCR_DELAY) & MASK33);
      /* ADTS: MPEG-4, no CRC, AAC LC, 48 kHz, mono */
      fail_unless_equals_int (pes->es_size, 7 + n);
      fail_unless_equals_int (pes->es[0], 0xff);
      fail_unless_equals_int (pes->es[1], 0xf1);
      fail_unless_equals_int (pes->es[2], (1 << 6) | (3 << 2));
      fail_unless_equals_int (pes->es[3] >> 6, 1);
      fail_unless_equals_int (((pes->es[3] & 3) << 11) | (pes->es[4] << 3) |
          (pes->es[5] >> 5), 7 + n);
      fail_unless_equals_int (pes->es[6] & 3, 0);
      fail_unless (memcmp (pes->es + 7, d + 2, n) == 0, "audio frame %u "
          "differs", a - 1);
    }
  }
  fail_unless_equals_int (v + a, info->pes->len);
  fail_unless_equals_int (v, info->n_video);
  fail_unless_equals_int (a, info->n_audio);
  fail_unless_equals_int (n_key, count_tags (tags, is_keyframe));
  avc_config_clear (&config);
}

/* --- ffprobe and ffmpeg --- */

typedef struct
{
  gchar *codec;
  gint width, height, rate;
  gint frames;
} ProbedStream;

/* ffprobe -count_frames -show_streams: it must report no error */
static guint
probe (const gchar * path, ProbedStream * streams, guint max)
{
  gchar *cmd, *out = NULL, *err = NULL;
  gchar **lines;
  guint i, n = 0;
  ProbedStream *s = NULL;

  require_program ("ffprobe");
  cmd = g_strdup_printf ("ffprobe -v error -count_frames -show_streams %s",
      path);
  fail_unless (run (cmd, &out, &err), "'%s' failed: %s", cmd, err);
  fail_unless_equals_string (err, "");

  lines = g_strsplit (out, "\n", -1);
  for (i = 0; lines[i] != NULL; i++) {
    gchar *v = strchr (lines[i], '=');

    if (strcmp (lines[i], "[STREAM]") == 0) {
      fail_unless (n < max);
      s = &streams[n++];
      memset (s, 0, sizeof (*s));
      continue;
    }
    if (strcmp (lines[i], "[/STREAM]") == 0) {
      s = NULL;
      continue;
    }
    if (s == NULL || v == NULL)
      continue;
    *v++ = '\0';
    if (strcmp (lines[i], "codec_name") == 0)
      s->codec = g_strdup (v);
    else if (strcmp (lines[i], "width") == 0)
      s->width = atoi (v);
    else if (strcmp (lines[i], "height") == 0)
      s->height = atoi (v);
    else if (strcmp (lines[i], "sample_rate") == 0)
      s->rate = atoi (v);
    else if (strcmp (lines[i], "nb_read_frames") == 0)
      s->frames = atoi (v);
  }
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_free (cmd);
  return n;
}

static void
check_probe (const gchar * path, gint video_frames, gint audio_frames)
{
  ProbedStream streams[4];
  guint i, n = probe (path, streams, G_N_ELEMENTS (streams));
  gboolean seen_video = FALSE, seen_audio = FALSE;

  fail_unless_equals_int (n, (video_frames > 0) + (audio_frames > 0));
  for (i = 0; i < n; i++) {
    if (g_strcmp0 (streams[i].codec, "h264") == 0) {
      fail_unless_equals_int (streams[i].width, 320);
      fail_unless_equals_int (streams[i].height, 240);
      fail_unless_equals_int (streams[i].frames, video_frames);
      seen_video = TRUE;
    } else if (g_strcmp0 (streams[i].codec, "aac") == 0) {
      fail_unless_equals_int (streams[i].rate, 48000);
      fail_unless_equals_int (streams[i].frames, audio_frames);
      seen_audio = TRUE;
    } else {
      fail ("unexpected stream %s", streams[i].codec);
    }
    g_free (streams[i].codec);
  }
  fail_unless (seen_video == (video_frames > 0));
  fail_unless (seen_audio == (audio_frames > 0));
}

/* ffmpeg decodes the whole file without a message */
static void
check_decode (const gchar * path)
{
  gchar *cmd, *err = NULL;

  require_program ("ffmpeg");
  cmd = g_strdup_printf ("ffmpeg -hide_banner -nostdin -v error -i %s "
      "-f null -", path);
  fail_unless (run (cmd, NULL, &err), "'%s' failed: %s", cmd, err);
  fail_unless_equals_string (err, "");
  g_free (err);
  g_free (cmd);
}

/* --- Back to FLV with the remuxer --- */

typedef struct
{
  GPtrArray *tags;
  CfTsStats stats;
} Remuxed;

static gboolean
collect_tag (guint8 type, guint32 ts, GBytes * body, gpointer user_data,
    GError ** error G_GNUC_UNUSED)
{
  Remuxed *r = user_data;
  gsize size;
  const guint8 *d = g_bytes_get_data (body, &size);

  if (type != 18)
    g_ptr_array_add (r->tags, tag_new (type, ts, d, size));
  return TRUE;
}

static Remuxed *
remux (const GByteArray * ts)
{
  Remuxed *r = g_new0 (Remuxed, 1);
  CfTsRemuxer *remuxer;
  GError *error = NULL;

  r->tags = g_ptr_array_new_with_free_func ((GDestroyNotify) tag_free);
  remuxer = cf_ts_remuxer_new (collect_tag, r);
  fail_unless (cf_ts_remuxer_feed (remuxer, ts->data, ts->len, &error),
      "%s", error ? error->message : "");
  fail_unless (cf_ts_remuxer_drain (remuxer, &error), "%s",
      error ? error->message : "");
  cf_ts_remuxer_get_full_stats (remuxer, &r->stats);
  cf_ts_remuxer_free (remuxer);

  /* a clean stream for the remuxer */
  fail_unless_equals_uint64 (r->stats.discontinuities, 0);
  fail_unless_equals_uint64 (r->stats.skipped_bytes, 0);
  fail_unless_equals_uint64 (r->stats.sync_losses, 0);
  fail_unless_equals_uint64 (r->stats.bad_packets, 0);
  fail_unless_equals_uint64 (r->stats.bad_sections, 0);
  fail_unless_equals_uint64 (r->stats.dropped_pes, 0);
  fail_unless_equals_uint64 (r->stats.dropped_frames, 0);
  fail_unless_equals_uint64 (r->stats.adts_skipped_bytes, 0);
  return r;
}

static void
remuxed_free (Remuxed * r)
{
  g_ptr_array_unref (r->tags);
  g_free (r);
}

/* The frames, in order per type, with their timestamps relative to the
 * first frame of either stream */
static GPtrArray *
frames_of (GPtrArray * tags, guint8 type)
{
  GPtrArray *out = g_ptr_array_new ();
  guint i;

  for (i = 0; i < tags->len; i++) {
    Tag *tag = g_ptr_array_index (tags, i);

    if (type == 9 ? is_video_frame (tag) : is_audio_frame (tag))
      g_ptr_array_add (out, tag);
  }
  return out;
}

static guint32
first_frame_ts (GPtrArray * tags)
{
  guint32 first = G_MAXUINT32;
  guint i;

  for (i = 0; i < tags->len; i++) {
    Tag *tag = g_ptr_array_index (tags, i);

    if (is_video_frame (tag) || is_audio_frame (tag))
      first = MIN (first, tag->ts);
  }
  return first;
}

/* The remuxed tags say the same as the original ones: sequence headers,
 * frame bodies, composition times and timestamps */
static void
check_round_trip (GPtrArray * orig, GPtrArray * back)
{
  guint32 origin = first_frame_ts (orig), back_origin = first_frame_ts (back);
  GPtrArray *ov = frames_of (orig, 9), *bv = frames_of (back, 9);
  GPtrArray *oa = frames_of (orig, 8), *ba = frames_of (back, 8);
  AvcConfig oc = { 0 }, bc = { 0 };
  guint i;

  fail_unless_equals_int (bv->len, ov->len);
  fail_unless_equals_int (ba->len, oa->len);

  if (ov->len > 0) {
    parse_avc_config (find_header (orig, 9), &oc);
    parse_avc_config (find_header (back, 9), &bc);
    fail_unless_equals_int (bc.profile, oc.profile);
    fail_unless_equals_int (bc.compat, oc.compat);
    fail_unless_equals_int (bc.level, oc.level);
    check_same_sets (bc.sps, oc.sps);
    check_same_sets (bc.pps, oc.pps);
  }
  if (oa->len > 0) {
    guint ot, osf, och, bt, bsf, bch;

    parse_aac_config (find_header (orig, 8), &ot, &osf, &och);
    parse_aac_config (find_header (back, 8), &bt, &bsf, &bch);
    fail_unless_equals_int (bt, ot);
    fail_unless_equals_int (bsf, osf);
    fail_unless_equals_int (bch, och);
  }

  for (i = 0; i < ov->len; i++) {
    const Tag *o = g_ptr_array_index (ov, i), *b = g_ptr_array_index (bv, i);
    GByteArray *on = normalized_frame (o, oc.length_size);
    gsize osize, bsize;
    const guint8 *od = tag_data (o, &osize), *bd = tag_data (b, &bsize);

    fail_unless_equals_int (bd[0], od[0]);
    fail_unless_equals_int (tag_cts (b), tag_cts (o));
    fail_unless_equals_int (b->ts - back_origin, o->ts - origin);
    fail_unless_equals_int (bsize - 5, on->len);
    fail_unless (memcmp (bd + 5, on->data, on->len) == 0,
        "video frame %u differs", i);
    g_byte_array_unref (on);
  }
  for (i = 0; i < oa->len; i++) {
    const Tag *o = g_ptr_array_index (oa, i), *b = g_ptr_array_index (ba, i);

    fail_unless_equals_int (b->ts - back_origin, o->ts - origin);
    fail_unless (g_bytes_equal (b->body, o->body), "audio frame %u differs", i);
  }

  avc_config_clear (&oc);
  avc_config_clear (&bc);
  g_ptr_array_unref (ov);
  g_ptr_array_unref (bv);
  g_ptr_array_unref (oa);
  g_ptr_array_unref (ba);
}

/* --- Tests --- */

GST_START_TEST (test_audio_video)
{
  GPtrArray *tags = get_tags ();
  guint n_video = count_tags (tags, is_video_frame);
  guint n_audio = count_tags (tags, is_audio_frame);
  Muxed *m;
  TsInfo *info;
  Remuxed *r;
  gchar *path;

  fail_unless_equals_int (n_video, N_VIDEO_FRAMES);
  fail_unless (n_audio >= MIN_AUDIO_FRAMES && n_audio <= MAX_AUDIO_FRAMES,
      "%u audio frames", n_audio);
  fail_unless_equals_int (count_tags (tags, is_keyframe), N_KEYFRAMES);

  m = mux_tags (tags, 0);
  fail_unless_equals_int (m->n_keyframes, N_KEYFRAMES);
  fail_unless_equals_uint64 (m->stats.video_frames, n_video);
  fail_unless_equals_uint64 (m->stats.audio_frames, n_audio);
  fail_unless_equals_uint64 (m->stats.keyframes, N_KEYFRAMES);
  fail_unless_equals_uint64 (m->stats.dropped_frames, 0);

  /* (d) the packets, against the tags */
  info = parse_ts (m->ts->data, m->ts->len);
  fail_unless_equals_int (info->n_video, n_video);
  fail_unless_equals_int (info->n_audio, n_audio);
  fail_unless (info->has_h264 && info->has_aac);
  fail_unless_equals_int (info->pcr_pid, VIDEO_PID);
  fail_unless_equals_int (info->pmt_versions, 1);
  fail_unless_equals_int (info->n_pat, info->n_pmt);
  fail_unless_equals_uint64 (m->stats.psi, info->n_pat);
  /* 4 s: at least every 500 ms, and at the keyframes */
  fail_unless (info->n_pat >= 8 && info->n_pat <= 12, "%u PAT", info->n_pat);
  fail_unless_equals_int (info->n_discont, 0);
  check_psi_interval (info);
  check_pes_against_tags (info, tags, 0);

  /* (a) and (c) */
  path = write_file ("av.ts", m->ts->data, m->ts->len);
  check_probe (path, n_video, n_audio);
  check_decode (path);

  /* (b) */
  r = remux (m->ts);
  fail_unless_equals_uint64 (r->stats.video_frames, n_video);
  fail_unless_equals_uint64 (r->stats.audio_frames, n_audio);
  fail_unless_equals_uint64 (r->stats.rebases, 0);
  check_round_trip (tags, r->tags);

  g_unlink (path);
  g_free (path);
  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (tags);
}

GST_END_TEST;

GST_START_TEST (test_video_only)
{
  GPtrArray *all = get_tags ();
  GPtrArray *tags = filter_tags (all, 9);
  Muxed *m = mux_tags (tags, 0);
  TsInfo *info = parse_ts (m->ts->data, m->ts->len);
  Remuxed *r;
  gchar *path;

  fail_unless_equals_int (m->n_keyframes, N_KEYFRAMES);
  fail_unless (info->has_h264 && !info->has_aac);
  fail_unless_equals_int (info->n_video, N_VIDEO_FRAMES);
  fail_unless_equals_int (info->n_audio, 0);
  check_psi_interval (info);
  check_pes_against_tags (info, tags, 0);

  path = write_file ("video.ts", m->ts->data, m->ts->len);
  check_probe (path, N_VIDEO_FRAMES, 0);
  check_decode (path);

  r = remux (m->ts);
  check_round_trip (tags, r->tags);

  g_unlink (path);
  g_free (path);
  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (tags);
  g_ptr_array_unref (all);
}

GST_END_TEST;

/* Without video the PCR is on the audio PID and every PAT and PMT starts
 * a point where a receiver can join */
GST_START_TEST (test_audio_only)
{
  GPtrArray *all = get_tags ();
  GPtrArray *tags = filter_tags (all, 8);
  guint n_audio = count_tags (tags, is_audio_frame);
  Muxed *m = mux_tags (tags, 0);
  TsInfo *info = parse_ts (m->ts->data, m->ts->len);
  Remuxed *r;
  gchar *path;
  guint i;

  fail_unless (!info->has_h264 && info->has_aac);
  fail_unless_equals_int (info->pcr_pid, AUDIO_PID);
  fail_unless_equals_int (info->n_audio, n_audio);
  fail_unless_equals_int (m->n_keyframes, info->n_pat);
  /* 4 s: every 500 ms */
  fail_unless (info->n_pat >= 8 && info->n_pat <= 9, "%u PAT", info->n_pat);
  for (i = 0; i < info->pes->len; i++)
    fail_unless (((Pes *) g_ptr_array_index (info->pes, i))->has_pcr);
  check_psi_interval (info);
  check_pes_against_tags (info, tags, 0);

  path = write_file ("audio.ts", m->ts->data, m->ts->len);
  check_probe (path, 0, n_audio);
  check_decode (path);

  r = remux (m->ts);
  check_round_trip (tags, r->tags);

  g_unlink (path);
  g_free (path);
  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (tags);
  g_ptr_array_unref (all);
}

GST_END_TEST;

/* FLV timestamps wrap at 2^32 ms, which is the 33-bit wrap of 90 kHz
 * ones: the remuxer sees a continuous stream */
GST_START_TEST (test_timestamp_wrap)
{
  GPtrArray *tags = get_tags ();
  guint32 shift = G_MAXUINT32 - 1500;
  Muxed *m = mux_tags (tags, shift);
  TsInfo *info = parse_ts (m->ts->data, m->ts->len);
  Remuxed *r;
  gchar *path;

  fail_unless_equals_int (info->n_discont, 0);
  check_psi_interval (info);
  check_pes_against_tags (info, tags, shift);

  r = remux (m->ts);
  fail_unless_equals_uint64 (r->stats.rebases, 0);
  check_round_trip (tags, r->tags);

  path = write_file ("wrap.ts", m->ts->data, m->ts->len);
  check_decode (path);

  g_unlink (path);
  g_free (path);
  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (tags);
}

GST_END_TEST;

/* A publisher that starts again from timestamp 0: the PCR gets the
 * discontinuity_indicator and the PAT and PMT are sent again */
GST_START_TEST (test_restart)
{
  GPtrArray *tags = get_tags ();
  GPtrArray *twice = g_ptr_array_new ();
  guint i, n_video = count_tags (tags, is_video_frame);
  guint n_audio = count_tags (tags, is_audio_frame);
  Muxed *m;
  TsInfo *info;
  Remuxed *r;

  for (i = 0; i < 2 * tags->len; i++)
    g_ptr_array_add (twice, g_ptr_array_index (tags, i % tags->len));
  m = mux_tags (twice, 0);
  info = parse_ts (m->ts->data, m->ts->len);
  fail_unless_equals_int (m->n_keyframes, 2 * N_KEYFRAMES);
  fail_unless_equals_int (info->n_video, 2 * n_video);
  fail_unless_equals_int (info->n_audio, 2 * n_audio);
  fail_unless_equals_int (info->n_discont, 1);
  fail_unless_equals_int (info->pmt_versions, 1);

  r = remux (m->ts);
  fail_unless_equals_uint64 (r->stats.video_frames, 2 * n_video);
  fail_unless_equals_uint64 (r->stats.audio_frames, 2 * n_audio);

  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (twice);
  g_ptr_array_unref (tags);
}

GST_END_TEST;

/* The audio sequence header comes after video frames were muxed: the PMT
 * gets a new version with both streams */
GST_START_TEST (test_late_audio)
{
  GPtrArray *tags = get_tags ();
  GPtrArray *late = g_ptr_array_new ();
  Tag *header = NULL;
  guint i;
  Muxed *m;
  TsInfo *info;
  Remuxed *r;

  /* the audio from 1 s on, its header first */
  for (i = 0; i < tags->len; i++) {
    Tag *tag = g_ptr_array_index (tags, i);

    if (tag->type != 8) {
      g_ptr_array_add (late, tag);
    } else if (!is_audio_frame (tag)) {
      header = tag;
    } else if (tag->ts >= 1000) {
      if (header != NULL)
        g_ptr_array_add (late, header);
      header = NULL;
      g_ptr_array_add (late, tag);
    }
  }
  m = mux_tags (late, 0);
  info = parse_ts (m->ts->data, m->ts->len);
  fail_unless_equals_int (info->pmt_versions, 2);
  fail_unless (info->has_h264 && info->has_aac);
  fail_unless_equals_int (info->pcr_pid, VIDEO_PID);
  fail_unless_equals_uint64 (m->stats.dropped_frames, 0);
  fail_unless_equals_int (info->n_video, N_VIDEO_FRAMES);
  fail_unless_equals_int (info->n_audio, count_tags (late, is_audio_frame));
  check_psi_interval (info);
  check_pes_against_tags (info, late, 0);

  r = remux (m->ts);
  fail_unless_equals_uint64 (r->stats.video_frames, N_VIDEO_FRAMES);
  fail_unless_equals_uint64 (r->stats.audio_frames, m->stats.audio_frames);

  remuxed_free (r);
  ts_info_free (info);
  muxed_free (m);
  g_ptr_array_unref (late);
  g_ptr_array_unref (tags);
}

GST_END_TEST;

/* Frames of every size: the adaptation field stuffing of the last packet
 * takes every length, the payload is never padded */
GST_START_TEST (test_stuffing)
{
  static const guint8 asc[] = { 0xaf, 0x00, 0x11, 0x88 };
  static const guint8 avcc[] = { 0x17, 0x00, 0, 0, 0, 1, 0x64, 0x00, 0x0d,
    0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x0d, 0x01, 0x00, 0x02, 0x68,
    0xee
  };
  CfTsMuxer *mux = cf_ts_muxer_new ();
  GByteArray *out = g_byte_array_new ();
  GPtrArray *tags = g_ptr_array_new_with_free_func ((GDestroyNotify)
      tag_free);
  guint8 body[600];
  TsInfo *info;
  guint i;

  for (i = 0; i < sizeof (body); i++)
    body[i] = i * 7 + 3;
  g_ptr_array_add (tags, tag_new (9, 0, avcc, sizeof (avcc)));
  g_ptr_array_add (tags, tag_new (8, 0, asc, sizeof (asc)));
  for (i = 1; i <= 400; i++) {
    /* a video frame with one NAL unit of i bytes */
    body[0] = i % 50 == 1 ? 0x17 : 0x27;
    body[1] = 1;
    body[2] = body[3] = body[4] = 0;
    body[5] = 0;
    body[6] = 0;
    body[7] = i >> 8;
    body[8] = i & 0xff;
    body[9] = i % 50 == 1 ? 0x65 : 0x41;
    g_ptr_array_add (tags, tag_new (9, i * 10, body, 9 + i));
    body[0] = 0xaf;
    body[1] = 1;
    g_ptr_array_add (tags, tag_new (8, i * 10 + 5, body, 2 + i));
  }
  for (i = 0; i < tags->len; i++) {
    const Tag *tag = g_ptr_array_index (tags, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);

    fail_unless (cf_ts_muxer_push_tag (mux, tag->type, tag->ts, d, size, out,
            NULL));
  }
  info = parse_ts (out->data, out->len);
  fail_unless_equals_int (info->n_video, 400);
  fail_unless_equals_int (info->n_audio, 400);
  check_pes_against_tags (info, tags, 0);
  check_psi_interval (info);

  ts_info_free (info);
  g_ptr_array_unref (tags);
  g_byte_array_unref (out);
  cf_ts_muxer_free (mux);
}

GST_END_TEST;

/* Pushes a tag that must fail with @code and a message containing @name;
 * nothing is appended */
static void
expect_error (CfTsMuxer * mux, guint8 type, const guint8 * body, gsize size,
    gint code, const gchar * name)
{
  GByteArray *out = g_byte_array_new ();
  GError *error = NULL;

  g_byte_array_append (out, (const guint8 *) "x", 1);
  fail_if (cf_ts_muxer_push_tag (mux, type, 1000, body, size, out, &error));
  fail_unless (error != NULL);
  fail_unless (g_error_matches (error, CF_TS_MUX_ERROR, code), "%s: %s",
      name, error->message);
  fail_unless (strstr (error->message, name) != NULL, "'%s' not in '%s'",
      name, error->message);
  fail_unless_equals_int (out->len, 1);
  fail_if (cf_ts_muxer_last_was_keyframe (mux));
  /* and without a GError */
  fail_if (cf_ts_muxer_push_tag (mux, type, 1000, body, size, out, NULL));
  fail_unless_equals_int (out->len, 1);
  GST_INFO ("%s", error->message);
  g_error_free (error);
  g_byte_array_unref (out);
}

GST_START_TEST (test_unsupported)
{
  static const guint8 hevc[] = { 0x1c, 0x00, 0, 0, 0, 1, 2, 3, 4 };
  static const guint8 hevc_ex[] = { 0x90, 'h', 'v', 'c', '1', 1, 2, 3 };
  static const guint8 av1_ex[] = { 0x90, 'a', 'v', '0', '1', 1, 2, 3 };
  static const guint8 odd_ex[] = { 0x91, 'x', 0x01, 'y', 'z' };
  static const guint8 vp6[] = { 0x14, 0x00, 0x00 };
  static const guint8 h263[] = { 0x22, 0x00 };
  static const guint8 mp3[] = { 0x2f, 0xff, 0xfb, 0x90, 0x64 };
  static const guint8 speex[] = { 0xb6, 0x00 };
  static const guint8 opus_ex[] = { 0x90, 'O', 'p', 'u', 's', 0 };
  static const guint8 pcm[] = { 0x3e, 1, 2, 3, 4 };
  static const guint8 avc[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0, 0x0d,
    0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x0d, 0x01, 0x00, 0x02, 0x68,
    0xce
  };
  static const guint8 aac[] = { 0xaf, 0x00, 0x12, 0x10 };
  CfTsMuxer *mux = cf_ts_muxer_new ();
  GByteArray *out = g_byte_array_new ();

  expect_error (mux, 9, hevc, sizeof (hevc), CF_TS_MUX_ERROR_UNSUPPORTED,
      "HEVC");
  expect_error (mux, 9, hevc, 1, CF_TS_MUX_ERROR_UNSUPPORTED, "HEVC");
  expect_error (mux, 9, hevc_ex, sizeof (hevc_ex),
      CF_TS_MUX_ERROR_UNSUPPORTED, "HEVC");
  expect_error (mux, 9, av1_ex, sizeof (av1_ex), CF_TS_MUX_ERROR_UNSUPPORTED,
      "AV1");
  expect_error (mux, 9, odd_ex, sizeof (odd_ex), CF_TS_MUX_ERROR_UNSUPPORTED,
      "'x?yz'");
  expect_error (mux, 9, odd_ex, 3, CF_TS_MUX_ERROR_UNSUPPORTED, "truncated");
  expect_error (mux, 9, vp6, sizeof (vp6), CF_TS_MUX_ERROR_UNSUPPORTED, "VP6");
  expect_error (mux, 9, h263, sizeof (h263), CF_TS_MUX_ERROR_UNSUPPORTED,
      "H.263");
  expect_error (mux, 8, mp3, sizeof (mp3), CF_TS_MUX_ERROR_UNSUPPORTED, "MP3");
  expect_error (mux, 8, speex, sizeof (speex), CF_TS_MUX_ERROR_UNSUPPORTED,
      "Speex");
  expect_error (mux, 8, opus_ex, sizeof (opus_ex),
      CF_TS_MUX_ERROR_UNSUPPORTED, "Opus");
  expect_error (mux, 8, pcm, sizeof (pcm), CF_TS_MUX_ERROR_UNSUPPORTED, "PCM");
  expect_error (mux, 7, aac, sizeof (aac), CF_TS_MUX_ERROR_UNSUPPORTED,
      "tag type 7");

  /* the muxer goes on after errors; script tags and empty tags give
   * nothing */
  fail_unless (cf_ts_muxer_push_tag (mux, 18, 0, (const guint8 *) "\x02", 1,
          out, NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 0, NULL, 0, out, NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 8, 0, NULL, 0, out, NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 0, avc, sizeof (avc), out, NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 8, 0, aac, sizeof (aac), out, NULL));
  fail_unless_equals_int (out->len, 0);
  expect_error (mux, 9, hevc, sizeof (hevc), CF_TS_MUX_ERROR_UNSUPPORTED,
      "HEVC");
  expect_error (mux, 8, mp3, sizeof (mp3), CF_TS_MUX_ERROR_UNSUPPORTED, "MP3");

  g_byte_array_unref (out);
  cf_ts_muxer_free (mux);
}

GST_END_TEST;

/* Pushes an AVC keyframe with one IDR slice and returns the TS */
static GByteArray *
push_keyframe (CfTsMuxer * mux, guint32 ts)
{
  static const guint8 frame[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 3, 0x65,
    0x88, 0x84
  };
  GByteArray *out = g_byte_array_new ();
  GError *error = NULL;

  fail_unless (cf_ts_muxer_push_tag (mux, 9, ts, frame, sizeof (frame), out,
          &error), "%s", error ? error->message : "");
  return out;
}

/* The Annex B access unit of the single video PES of @ts */
static GByteArray *
video_access_unit (const GByteArray * ts)
{
  TsInfo *info = parse_ts (ts->data, ts->len);
  GByteArray *au = g_byte_array_new ();
  Pes *pes;

  fail_unless_equals_int (info->n_video, 1);
  pes = g_ptr_array_index (info->pes, 0);
  g_byte_array_append (au, pes->es, pes->es_size);
  ts_info_free (info);
  return au;
}

GST_START_TEST (test_malformed_headers)
{
  /* SPS 67 42 c0 0d, PPS 68 ce, 4-byte lengths */
  static const guint8 avc[] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0, 0x0d,
    0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x0d, 0x01, 0x00, 0x02, 0x68,
    0xce
  };
  static const guint8 expected_au[] = { 0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1,
    0x67, 0x42, 0xc0, 0x0d, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88,
    0x84
  };
  static const struct
  {
    const gchar *name;
    const guint8 *body;
    gsize size;
    const gchar *message;
  } bad_avc[] = {
    {"short tag", (const guint8 *) "\x17\x00\x00\x00", 4, "4 bytes"},
    {"short record", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0", 8,
        "3 bytes"},
    {"version", (const guint8 *) "\x17\x00\x00\x00\x00\x02\x42\xc0\x0d\xff"
          "\xe1\x00\x01\x67\x01\x00\x01\x68", 18, "version 2"},
    {"no SPS", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0\x0d\xff"
          "\xe0\x01\x00\x01\x68", 15, "no SPS"},
    {"no PPS", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0\x0d\xff"
          "\xe1\x00\x01\x67\x00", 15, "no PPS"},
    {"no PPS count", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0\x0d"
          "\xff\xe1\x00\x01\x67", 14, "no PPS"},
    {"SPS past the end", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0"
          "\x0d\xff\xe1\x00\x09\x67\x00", 15, "SPS 0 of 9 bytes"},
    {"empty SPS", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42\xc0\x0d\xff"
          "\xe1\x00\x00\x01\x00\x01\x68", 17, "SPS 0 of 0 bytes"},
    {"PPS in the SPS list", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42"
          "\xc0\x0d\xff\xe1\x00\x01\x68\x01\x00\x01\x68", 18, "type 8"},
    {"truncated PPS length", (const guint8 *) "\x17\x00\x00\x00\x00\x01\x42"
          "\xc0\x0d\xff\xe1\x00\x01\x67\x01\x00", 16, "truncated in PPS 0"},
  };
  static const struct
  {
    guint8 asc[3];
    gsize size;
    gint code;
    const gchar *message;
  } bad_aac[] = {
    {{0x11}, 1, CF_TS_MUX_ERROR_MALFORMED, "1 bytes"},
    {{0}, 0, CF_TS_MUX_ERROR_MALFORMED, "0 bytes"},
    /* object type 0, 6 (AAC scalable), 42 (USAC) */
    {{0x01, 0x88}, 2, CF_TS_MUX_ERROR_UNSUPPORTED, "object type 0"},
    {{0x31, 0x88}, 2, CF_TS_MUX_ERROR_UNSUPPORTED, "object type 6"},
    {{0xf9, 0x46, 0x20}, 3, CF_TS_MUX_ERROR_UNSUPPORTED, "object type 42"},
    /* explicit frequency, reserved index 13, channel configurations 0, 8 */
    {{0x17, 0x80}, 2, CF_TS_MUX_ERROR_MALFORMED, "2 bytes"},
    {{0x16, 0x88}, 2, CF_TS_MUX_ERROR_MALFORMED, "index 13"},
    {{0x11, 0x80}, 2, CF_TS_MUX_ERROR_UNSUPPORTED, "configuration 0"},
    {{0x11, 0xc0}, 2, CF_TS_MUX_ERROR_UNSUPPORTED, "configuration 8"},
  };
  CfTsMuxer *mux = cf_ts_muxer_new ();
  guint8 big[16 + 1100] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff,
    0xe1, 1100 >> 8, 1100 & 0xff, 0x67
  };
  guint8 many[11 + 9 * 3] = { 0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff,
    0xe9
  };
  /* a whole AudioSpecificConfig with an explicit frequency */
  guint8 explicit_rate[8] = { 0xaf, 0x00, 0x17, 0x80, 0x00, 0x00, 0x00, 0x00 };
  GByteArray *ts, *au;
  guint i;

  /* a good header, then bad ones that must not replace it */
  ts = g_byte_array_new ();
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 0, avc, sizeof (avc), ts, NULL));
  fail_unless_equals_int (ts->len, 0);
  g_byte_array_unref (ts);
  for (i = 0; i < G_N_ELEMENTS (bad_avc); i++) {
    GST_INFO ("%s", bad_avc[i].name);
    expect_error (mux, 9, bad_avc[i].body, bad_avc[i].size,
        CF_TS_MUX_ERROR_MALFORMED, bad_avc[i].message);
  }
  /* a 1100-byte SPS, and 9 of them */
  big[16 + 1100 - 3] = 0x01;
  big[16 + 1100 - 2] = 0x00;
  big[16 + 1100 - 1] = 0x00;
  expect_error (mux, 9, big, sizeof (big), CF_TS_MUX_ERROR_MALFORMED,
      "1100 bytes");
  for (i = 0; i < 9; i++) {
    many[11 + 3 * i] = 0;
    many[11 + 3 * i + 1] = 1;
    many[11 + 3 * i + 2] = 0x67;
  }
  expect_error (mux, 9, many, sizeof (many), CF_TS_MUX_ERROR_MALFORMED,
      "9 SPS");

  ts = push_keyframe (mux, 0);
  au = video_access_unit (ts);
  fail_unless_equals_int (au->len, sizeof (expected_au));
  fail_unless (memcmp (au->data, expected_au, au->len) == 0);
  g_byte_array_unref (au);
  g_byte_array_unref (ts);

  for (i = 0; i < G_N_ELEMENTS (bad_aac); i++) {
    guint8 body[5] = { 0xaf, 0x00 };

    memcpy (body + 2, bad_aac[i].asc, bad_aac[i].size);
    expect_error (mux, 8, body, 2 + bad_aac[i].size, bad_aac[i].code,
        bad_aac[i].message);
  }
  expect_error (mux, 8, explicit_rate, sizeof (explicit_rate),
      CF_TS_MUX_ERROR_UNSUPPORTED, "explicitly");

  cf_ts_muxer_free (mux);
}

GST_END_TEST;

/* Parameter sets of other sizes; HE-AAC and its ADTS header */
GST_START_TEST (test_headers)
{
  /* 2-byte NAL lengths, two SPS and two PPS */
  static const guint8 avc2[] = { 0x17, 0x00, 0, 0, 0, 1, 0x4d, 0x40, 0x1e,
    0xfd, 0xe2, 0x00, 0x03, 0x67, 0x4d, 0x01, 0x00, 0x02, 0x67, 0x02, 0x02,
    0x00, 0x01, 0x68, 0x00, 0x02, 0x68, 0x05
  };
  static const guint8 frame2[] = { 0x27, 0x01, 0x00, 0x00, 0x21, 0x00, 0x02,
    0x09, 0x10, 0x00, 0x00, 0x00, 0x03, 0x41, 0x9a, 0x02
  };
  static const guint8 key2[] = { 0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x65, 0x88, 0x80
  };
  static const guint8 expected_key[] = { 0, 0, 0, 1, 0x09, 0xf0,
    0, 0, 0, 1, 0x67, 0x4d, 0x01, 0, 0, 0, 1, 0x67, 0x02,
    0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x68, 0x05, 0, 0, 0, 1, 0x65, 0x88, 0x80
  };
  static const guint8 expected_p[] = { 0, 0, 0, 1, 0x09, 0xf0,
    0, 0, 0, 1, 0x41, 0x9a, 0x02
  };
  /* HE-AAC v1: SBR, 24 kHz core, 2 channels, 48 kHz, core AAC LC */
  static const guint8 he_aac[] = { 0xaf, 0x00, 0x2b, 0x11, 0x88, 0x00 };
  static const guint8 frame[] = { 0xaf, 0x01, 0x21, 0x10, 0x05 };
  CfTsMuxer *mux = cf_ts_muxer_new ();
  GByteArray *out = g_byte_array_new (), *au;
  TsInfo *info;
  Pes *pes;

  /* a P frame first is dropped */
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 0, avc2, sizeof (avc2), out,
          NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 0, frame2, sizeof (frame2), out,
          NULL));
  fail_unless_equals_int (out->len, 0);
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 33, key2, sizeof (key2), out,
          NULL));
  fail_unless (cf_ts_muxer_last_was_keyframe (mux));
  au = video_access_unit (out);
  fail_unless_equals_int (au->len, sizeof (expected_key));
  fail_unless (memcmp (au->data, expected_key, au->len) == 0);
  g_byte_array_unref (au);

  /* a P frame: no parameter sets, the access unit delimiter of the frame
   * replaced, CTS 33 ms */
  fail_unless (cf_ts_muxer_push_tag (mux, 9, 66, frame2, sizeof (frame2), out,
          NULL));
  fail_if (cf_ts_muxer_last_was_keyframe (mux));
  info = parse_ts (out->data, out->len);
  fail_unless_equals_int (info->pes->len, 2);
  pes = g_ptr_array_index (info->pes, 1);
  fail_unless_equals_int (pes->es_size, sizeof (expected_p));
  fail_unless (memcmp (pes->es, expected_p, pes->es_size) == 0);
  fail_unless_equals_uint64 (pes->dts, 90000 + 66 * 90);
  fail_unless_equals_uint64 (pes->pts, 90000 + 99 * 90);
  fail_if (pes->random_access);
  fail_if (pes->after_psi);
  ts_info_free (info);

  fail_unless (cf_ts_muxer_push_tag (mux, 8, 70, he_aac, sizeof (he_aac),
          out, NULL));
  fail_unless (cf_ts_muxer_push_tag (mux, 8, 70, frame, sizeof (frame), out,
          NULL));
  /* the PMT changed: not a keyframe all the same */
  fail_if (cf_ts_muxer_last_was_keyframe (mux));
  info = parse_ts (out->data, out->len);
  fail_unless_equals_int (info->pmt_versions, 2);
  fail_unless_equals_int (info->n_audio, 1);
  pes = g_ptr_array_index (info->pes, 2);
  fail_unless (pes->after_psi);
  fail_if (pes->has_pcr);
  fail_unless_equals_int (pes->es_size, 7 + 3);
  /* AAC LC, 24 kHz (index 6), 2 channels */
  fail_unless_equals_int (pes->es[2], (1 << 6) | (6 << 2));
  fail_unless_equals_int (pes->es[3] >> 6, 2);
  fail_unless (memcmp (pes->es + 7, frame + 2, 3) == 0);
  ts_info_free (info);

  g_byte_array_unref (out);
  cf_ts_muxer_free (mux);
}

GST_END_TEST;

/* Damaged and random tag bodies: errors or dropped frames, never a crash
 * nor a broken TS */
GST_START_TEST (test_garbage)
{
  GPtrArray *tags = get_tags ();
  GRand *rand = g_rand_new_with_seed (42);
  CfTsMuxer *mux = cf_ts_muxer_new ();
  GByteArray *out = g_byte_array_new ();
  gsize body_size = 256 * 1024;
  guint8 *body = g_malloc (body_size);
  guint i, n_ok = 0, n_failed = 0;
  TsInfo *info;
  CfTsMuxStats stats;

  for (i = 0; i < 20000; i++) {
    const Tag *tag = g_ptr_array_index (tags, i % tags->len);
    gsize size;
    const guint8 *d = tag_data (tag, &size);
    GError *error = NULL;
    gsize before = out->len, k;
    guint8 type = tag->type;
    gboolean ok;

    fail_unless (size <= body_size);
    memcpy (body, d, size);
    switch (g_rand_int_range (rand, 0, 6)) {
      case 0:
        /* the tag as it is */
        break;
      case 1:
        /* truncated */
        size = g_rand_int_range (rand, 0, size + 1);
        break;
      case 2:
        /* a few flipped bytes after the codec byte */
        for (k = 0; k < 4 && size > 1; k++)
          body[g_rand_int_range (rand, 1, size)] = g_rand_int (rand);
        break;
      case 3:
        /* random after the first two bytes */
        for (k = 2; k < size; k++)
          body[k] = g_rand_int (rand);
        break;
      case 4:
        /* all random */
        size = g_rand_int_range (rand, 0, 64);
        for (k = 0; k < size; k++)
          body[k] = g_rand_int (rand);
        type = g_rand_boolean (rand) ? 8 : 9;
        break;
      default:
        /* random with a valid first byte */
        size = g_rand_int_range (rand, 1, 4096);
        for (k = 0; k < size; k++)
          body[k] = g_rand_int (rand);
        body[0] = tag->type == 9 ? 0x17 : 0xaf;
        body[1] = g_rand_int_range (rand, 0, 3);
        break;
    }
    ok = cf_ts_muxer_push_tag (mux, type, tag->ts + (i / tags->len) * 5000,
        body, size, out, &error);
    fail_unless (ok == (error == NULL));
    if (ok) {
      n_ok++;
    } else {
      fail_unless_equals_int (out->len, before);
      n_failed++;
      g_error_free (error);
    }
    fail_unless_equals_int (out->len % TS_PACKET, 0);
  }
  fail_unless (n_ok > 1000 && n_failed > 100, "%u ok, %u failed", n_ok,
      n_failed);
  cf_ts_muxer_get_stats (mux, &stats);
  fail_unless (stats.dropped_frames > 0);
  fail_unless (stats.video_frames > 0 && stats.audio_frames > 0,
      "%" G_GUINT64_FORMAT " video, %" G_GUINT64_FORMAT " audio frames",
      stats.video_frames, stats.audio_frames);

  /* whatever went in, the TS is well formed */
  info = parse_ts (out->data, out->len);
  check_psi_interval (info);
  fail_unless_equals_int (info->n_video, stats.video_frames);
  fail_unless_equals_int (info->n_audio, stats.audio_frames);
  ts_info_free (info);

  g_free (body);
  g_byte_array_unref (out);
  cf_ts_muxer_free (mux);
  g_rand_free (rand);
  g_ptr_array_unref (tags);
}

GST_END_TEST;

static Suite *
tsmux_suite (void)
{
  Suite *s = suite_create ("tsmux");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, setup_tmp_dir, teardown_tmp_dir);
  tcase_add_test (tc, test_audio_video);
  tcase_add_test (tc, test_video_only);
  tcase_add_test (tc, test_audio_only);
  tcase_add_test (tc, test_timestamp_wrap);
  tcase_add_test (tc, test_restart);
  tcase_add_test (tc, test_late_audio);
  tcase_add_test (tc, test_stuffing);
  tcase_add_test (tc, test_unsupported);
  tcase_add_test (tc, test_malformed_headers);
  tcase_add_test (tc, test_headers);
  tcase_add_test (tc, test_garbage);

  return s;
}

GST_CHECK_MAIN (tsmux);
