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

/* Tests of the MPEG-TS to FLV remuxer on streams made by ffmpeg (x264,
 * x265, aac, lame), fed in odd-sized pieces. The FLV tags are also written
 * out as an FLV file that ffprobe must decode without an error. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsremux.h"
#include "amf.h"

#define N_VIDEO_FRAMES 90       /* 3 s at 30 fps */
/* 3 s at 48 kHz is 140.6 AAC frames, ffmpeg adds the encoder delay */
#define MIN_AUDIO_FRAMES 138
#define MAX_AUDIO_FRAMES 143
/* 1024 samples at 48 kHz in 90 kHz ticks */
#define AAC_FRAME_TICKS 1920

#define FFMPEG_IN_AV "-f lavfi -i testsrc2=size=320x240:rate=30 " \
    "-f lavfi -i sine=sample_rate=48000"
#define FFMPEG_X264 "-c:v libx264 -g 30 -bf 2"

#define STREAM_TYPE_H264 0x1b

static gchar *tmp_dir;

/* Piece sizes the streams are fed in, in turn */
static const gsize pieces[] = { 1, 187, 1316, 7, 4096, 189, 13, 1500, 376,
  65536, 3, 188, 2
};

typedef struct
{
  guint8 type;
  guint32 ts;
  GBytes *body;
} Tag;

typedef struct
{
  GPtrArray *tags;
  GError *error;
  CfTsStats stats;
  gchar *video_codec;
  gchar *audio_codec;
  gint width, height, profile, level;
  gint rate, channels;
} Result;

static void
tag_free (Tag * tag)
{
  g_bytes_unref (tag->body);
  g_free (tag);
}

static void
result_free (Result * r)
{
  g_ptr_array_unref (r->tags);
  g_clear_error (&r->error);
  g_free (r->video_codec);
  g_free (r->audio_codec);
  g_free (r);
}

static gboolean
collect_tag (guint8 type, guint32 ts, GBytes * body, gpointer user_data,
    GError ** error)
{
  Result *r = user_data;
  Tag *tag = g_new0 (Tag, 1);

  fail_unless (type == 8 || type == 9 || type == 18, "tag type %u", type);
  fail_unless (g_bytes_get_size (body) > 0);
  tag->type = type;
  tag->ts = ts;
  tag->body = g_bytes_ref (body);
  g_ptr_array_add (r->tags, tag);
  return TRUE;
}

/* Feeds @data in the pieces above (scaled by @scale) and drains */
static Result *
remux (const guint8 * data, gsize size, guint scale)
{
  Result *r = g_new0 (Result, 1);
  CfTsRemuxer *remuxer;
  gsize pos = 0;
  guint i = 0;
  gboolean ok = TRUE;

  r->tags = g_ptr_array_new_with_free_func ((GDestroyNotify) tag_free);
  remuxer = cf_ts_remuxer_new (collect_tag, r);
  while (pos < size && ok) {
    gsize n = pieces[i++ % G_N_ELEMENTS (pieces)] * scale;

    n = MIN (n, size - pos);

    ok = cf_ts_remuxer_feed (remuxer, data + pos, n, &r->error);
    fail_unless (ok == (r->error == NULL));
    pos += n;
  }
  if (ok)
    ok = cf_ts_remuxer_drain (remuxer, &r->error);
  fail_unless (ok == (r->error == NULL));
  if (!ok) {
    /* a failed remuxer stays failed */
    GError *again = NULL;

    fail_if (cf_ts_remuxer_feed (remuxer, data, MIN (size, 188), &again));
    fail_unless (g_error_matches (again, r->error->domain, r->error->code));
    g_error_free (again);
  }

  cf_ts_remuxer_get_full_stats (remuxer, &r->stats);
  fail_unless_equals_uint64 (r->stats.bytes, ok ? size : r->stats.bytes);
  r->video_codec = g_strdup (cf_ts_remuxer_get_video_codec (remuxer));
  r->audio_codec = g_strdup (cf_ts_remuxer_get_audio_codec (remuxer));
  cf_ts_remuxer_get_video_info (remuxer, &r->width, &r->height, &r->profile,
      &r->level);
  cf_ts_remuxer_get_audio_info (remuxer, &r->rate, &r->channels);
  cf_ts_remuxer_free (remuxer);
  return r;
}

/* --- Test streams --- */

static void
setup_tmp_dir (void)
{
  GError *error = NULL;

  tmp_dir = g_dir_make_tmp ("cflive-tsremux-XXXXXX", &error);
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

  fail_unless (path != NULL, "%s is needed to make the test streams and is "
      "not installed: install ffmpeg (scripts/install-deps.sh does)", name);
  g_free (path);
}

/* The MPEG-TS that ffmpeg makes with @args (inputs and codecs), made once
 * per test run */
static GBytes *
get_stream (const gchar * name, const gchar * args)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  gchar *contents = NULL;
  gsize size;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    gchar *part = g_strconcat (path, ".part.ts", NULL);
    gchar *cmd, *err = NULL;

    require_program ("ffmpeg");
    cmd = g_strdup_printf ("ffmpeg -hide_banner -loglevel error -nostdin -y "
        "%s -f mpegts %s", args, part);
    if (!run (cmd, NULL, &err))
      fail ("'%s' failed: %s", cmd, err);
    fail_unless (g_rename (part, path) == 0);
    g_free (err);
    g_free (cmd);
    g_free (part);
  }
  fail_unless (g_file_get_contents (path, &contents, &size, NULL));
  g_free (path);
  return g_bytes_new_take (contents, size);
}

static GBytes *
get_av_stream (void)
{
  return get_stream ("av.ts", FFMPEG_IN_AV " -t 3 " FFMPEG_X264 " -c:a aac");
}

/* --- Checking the tags --- */

static const guint8 *
tag_data (const Tag * tag, gsize * size)
{
  return g_bytes_get_data (tag->body, size);
}

static Tag *
get_tag (const Result * r, guint i)
{
  return g_ptr_array_index (r->tags, i);
}

static CfAmfNode *
parse_metadata (const Tag * tag)
{
  GError *error = NULL;
  gsize size;
  const guint8 *d = tag_data (tag, &size);
  GPtrArray *values = cf_amf_parse_all (d, size, &error);
  CfAmfNode *meta;

  fail_unless (values != NULL, "%s", error ? error->message : "");
  fail_unless_equals_int (values->len, 2);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index
          (values, 0), NULL), "onMetaData");
  meta = cf_amf_node_copy (g_ptr_array_index (values, 1));
  fail_unless_equals_int (cf_amf_node_get_type (meta), CF_AMF_TYPE_ECMA_ARRAY);
  g_ptr_array_unref (values);
  return meta;
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

static gint
tag_cts (const Tag * tag)
{
  gsize size;
  const guint8 *d = tag_data (tag, &size);
  gint32 cts = (d[2] << 16) | (d[3] << 8) | d[4];

  return cts >= 0x800000 ? cts - 0x1000000 : cts;
}

/* Checks the AVC sequence header and returns the profile and level */
static void
check_avc_header (const Tag * tag, gint * profile, gint * level)
{
  gsize size, pos, sps_len, pps_len;
  const guint8 *d = tag_data (tag, &size);
  const guint8 *rec = d + 5, *sps;

  fail_unless_equals_int (tag->type, 9);
  fail_unless (size > 5 + 11);
  fail_unless_equals_int (d[0], 0x17);
  fail_unless_equals_int (d[1], 0x00);
  fail_unless (d[2] == 0 && d[3] == 0 && d[4] == 0);
  fail_unless_equals_int (rec[0], 1);   /* configurationVersion */
  fail_unless_equals_int (rec[4], 0xff);        /* lengthSizeMinusOne 3 */
  fail_unless_equals_int (rec[5], 0xe1);        /* one SPS */
  sps_len = (rec[6] << 8) | rec[7];
  sps = rec + 8;
  fail_unless (8 + sps_len + 3 <= size - 5);
  fail_unless_equals_int (sps[0] & 0x1f, 7);
  /* profile, compatibility and level come from the SPS */
  fail_unless_equals_int (rec[1], sps[1]);
  fail_unless_equals_int (rec[2], sps[2]);
  fail_unless_equals_int (rec[3], sps[3]);
  pos = 8 + sps_len;
  fail_unless_equals_int (rec[pos], 1); /* one PPS */
  pps_len = (rec[pos + 1] << 8) | rec[pos + 2];
  fail_unless (pos + 3 + pps_len <= size - 5);
  fail_unless_equals_int (rec[pos + 3] & 0x1f, 8);
  pos += 3 + pps_len;
  if (rec[1] == 100) {
    /* High profile: chroma format and bit depths, 4:2:0 8-bit */
    fail_unless_equals_int (size - 5, pos + 4);
    fail_unless_equals_int (rec[pos], 0xfd);
    fail_unless_equals_int (rec[pos + 1], 0xf8);
    fail_unless_equals_int (rec[pos + 2], 0xf8);
    fail_unless_equals_int (rec[pos + 3], 0);
  } else {
    fail_unless_equals_int (size - 5, pos);
  }
  *profile = rec[1];
  *level = rec[3];
}

/* Checks that every NAL unit of an AVCC frame is whole and allowed */
static void
check_avcc_frame (const Tag * tag)
{
  gsize size, pos = 5;
  const guint8 *d = tag_data (tag, &size);
  gboolean has_slice = FALSE;

  while (pos < size) {
    guint32 len;
    guint type;

    fail_unless (pos + 4 < size);
    len = ((guint32) d[pos] << 24) | (d[pos + 1] << 16) | (d[pos + 2] << 8) |
        d[pos + 3];
    fail_unless (len > 0 && len <= size - pos - 4, "NAL of %u bytes", len);
    type = d[pos + 4] & 0x1f;
    fail_if (type == 7 || type == 8 || type == 9, "NAL type %u", type);
    if (type >= 1 && type <= 5)
      has_slice = TRUE;
    if (type == 5)
      fail_unless_equals_int (d[0], 0x17);
    pos += 4 + len;
  }
  fail_unless_equals_int (pos, size);
  fail_unless (has_slice);
}

/* Timestamps never decrease per tag type; returns the last one */
static void
check_monotonic (const Result * r)
{
  gint64 last[3] = { -1, -1, -1 };
  guint i;

  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);
    guint k = tag->type == 8 ? 0 : tag->type == 9 ? 1 : 2;

    fail_unless (tag->ts >= last[k], "tag %u (type %u) at %u after %"
        G_GINT64_FORMAT, i, tag->type, tag->ts, last[k]);
    last[k] = tag->ts;
  }
}

/* --- FLV file and ffprobe --- */

static void
put_be24 (guint8 * p, guint32 v)
{
  p[0] = v >> 16;
  p[1] = v >> 8;
  p[2] = v;
}

static void
put_be32 (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  put_be24 (p + 1, v);
}

static gchar *
write_flv (const Result * r, const gchar * name)
{
  GByteArray *flv = g_byte_array_new ();
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  guint8 header[13] = { 'F', 'L', 'V', 1, 0, 0, 0, 0, 9, 0, 0, 0, 0 };
  guint i;

  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);

    header[4] |= tag->type == 8 ? 0x04 : tag->type == 9 ? 0x01 : 0;
  }
  g_byte_array_append (flv, header, sizeof (header));
  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);
    guint8 th[11] = { 0 }, prev[4];

    th[0] = tag->type;
    put_be24 (th + 1, size);
    put_be24 (th + 4, tag->ts & 0xffffff);
    th[7] = tag->ts >> 24;
    g_byte_array_append (flv, th, sizeof (th));
    g_byte_array_append (flv, d, size);
    put_be32 (prev, size + sizeof (th));
    g_byte_array_append (flv, prev, 4);
  }
  fail_unless (g_file_set_contents (path, (const gchar *) flv->data, flv->len,
          NULL));
  g_byte_array_unref (flv);
  return path;
}

typedef struct
{
  gchar *codec;
  gint width, height, rate, channels;
  gint frames;
} ProbedStream;

/* Runs ffprobe on @path, decoding every frame: it must report no error */
static guint
probe (const gchar * path, ProbedStream * streams, guint max)
{
  gchar *cmd, *out = NULL, *err = NULL;
  gchar **lines;
  guint i, n = 0;

  require_program ("ffprobe");
  cmd = g_strdup_printf ("ffprobe -v error -count_frames -show_entries "
      "stream=codec_name,width,height,sample_rate,channels,nb_read_frames "
      "-of compact=p=0 %s", path);
  fail_unless (run (cmd, &out, &err), "'%s' failed: %s", cmd, err);
  fail_unless_equals_string (err, "");

  lines = g_strsplit (out, "\n", -1);
  for (i = 0; lines[i] != NULL && n < max; i++) {
    gchar **fields = g_strsplit (lines[i], "|", -1);
    ProbedStream *s = &streams[n];
    guint k;

    if (fields[0] == NULL || fields[0][0] == '\0') {
      g_strfreev (fields);
      continue;
    }
    memset (s, 0, sizeof (*s));
    for (k = 0; fields[k] != NULL; k++) {
      gchar *v = strchr (fields[k], '=');

      if (v == NULL)
        continue;
      *v++ = '\0';
      if (strcmp (fields[k], "codec_name") == 0)
        s->codec = g_strdup (v);
      else if (strcmp (fields[k], "width") == 0)
        s->width = atoi (v);
      else if (strcmp (fields[k], "height") == 0)
        s->height = atoi (v);
      else if (strcmp (fields[k], "sample_rate") == 0)
        s->rate = atoi (v);
      else if (strcmp (fields[k], "channels") == 0)
        s->channels = atoi (v);
      else if (strcmp (fields[k], "nb_read_frames") == 0)
        s->frames = atoi (v);
    }
    g_strfreev (fields);
    n++;
  }
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_free (cmd);
  return n;
}

static void
check_probe (const Result * r, const gchar * name, gint video_frames,
    gint audio_frames)
{
  ProbedStream streams[4];
  gchar *path = write_flv (r, name);
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
      fail_unless_equals_int (streams[i].channels, 1);
      fail_unless_equals_int (streams[i].frames, audio_frames);
      seen_audio = TRUE;
    } else {
      fail ("unexpected stream %s", streams[i].codec);
    }
    g_free (streams[i].codec);
  }
  fail_unless (seen_video == (video_frames > 0));
  fail_unless (seen_audio == (audio_frames > 0));
  g_unlink (path);
  g_free (path);
}

/* Checks the video tags; returns the number of frames */
static guint
check_video (const Result * r)
{
  gint profile = 0, level = 0;
  guint i, n_frames = 0, n_headers = 0, n_b = 0;
  gint64 last_dts = -1;

  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);

    if (tag->type != 9)
      continue;
    if (!is_video_frame (tag)) {
      /* the first video tag is the only sequence header */
      fail_unless_equals_int (n_frames, 0);
      check_avc_header (tag, &profile, &level);
      n_headers++;
      continue;
    }
    fail_unless (n_headers > 0);
    check_avcc_frame (tag);
    /* a key frame every 30 frames (-g 30), only then */
    fail_unless_equals_int (d[0], n_frames % 30 == 0 ? 0x17 : 0x27);
    fail_unless ((gint64) tag->ts > last_dts, "DTS %u after %" G_GINT64_FORMAT,
        tag->ts, last_dts);
    fail_unless (tag_cts (tag) >= 0);
    if (tag_cts (tag) > 0)
      n_b++;
    if (n_frames == 0)
      fail_unless (tag->ts < 100, "first video DTS %u", tag->ts);
    else
      fail_unless (tag->ts - last_dts >= 33 && tag->ts - last_dts <= 34,
          "frame %u: DTS %u after %" G_GINT64_FORMAT, n_frames, tag->ts,
          last_dts);
    last_dts = tag->ts;
    n_frames++;
  }
  fail_unless_equals_int (n_headers, 1);
  /* x264's defaults for 320x240 at 30 fps: High profile, level 1.3 */
  fail_unless_equals_int (profile, 100);
  fail_unless_equals_int (level, 13);
  fail_unless_equals_int (r->profile, 100);
  fail_unless_equals_int (r->level, 13);
  fail_unless_equals_int (r->width, 320);
  fail_unless_equals_int (r->height, 240);
  /* -bf 2: most frames are reordered */
  fail_unless (n_b > n_frames / 2, "%u frames with a CTS", n_b);
  return n_frames;
}

/* Checks the audio tags; returns the number of frames */
static guint
check_audio (const Result * r)
{
  guint i, n_frames = 0, n_headers = 0;
  gint64 last = -1;

  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);
    gsize size;
    const guint8 *d = tag_data (tag, &size);

    if (tag->type != 8)
      continue;
    fail_unless_equals_int (d[0], 0xaf);
    if (!is_audio_frame (tag)) {
      fail_unless_equals_int (n_frames, 0);
      /* AAC LC, 48 kHz, mono */
      fail_unless_equals_int (size, 4);
      fail_unless_equals_int (d[1], 0);
      fail_unless_equals_int (d[2], 0x11);
      fail_unless_equals_int (d[3], 0x88);
      n_headers++;
      continue;
    }
    fail_unless (n_headers > 0);
    /* 1024 samples at 48 kHz: 21.33 ms */
    if (n_frames == 0)
      fail_unless (tag->ts < 100, "first audio timestamp %u", tag->ts);
    else
      fail_unless (tag->ts - last == 21 || tag->ts - last == 22,
          "audio frame %u at %u after %" G_GINT64_FORMAT, n_frames, tag->ts,
          last);
    last = tag->ts;
    n_frames++;
  }
  fail_unless_equals_int (n_headers, 1);
  fail_unless_equals_int (r->rate, 48000);
  fail_unless_equals_int (r->channels, 1);
  return n_frames;
}

/* The metadata tag comes first and only once */
static CfAmfNode *
check_metadata (const Result * r)
{
  guint i;

  fail_unless (r->tags->len > 0);
  fail_unless_equals_int (get_tag (r, 0)->type, 18);
  for (i = 1; i < r->tags->len; i++)
    fail_if (get_tag (r, i)->type == 18);
  return parse_metadata (get_tag (r, 0));
}

GST_START_TEST (test_audio_video)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *r = remux (data, size, 1);
  CfAmfNode *meta;
  guint n_video, n_audio;

  fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
  fail_unless_equals_string (r->video_codec, "h264");
  fail_unless_equals_string (r->audio_codec, "aac");

  meta = check_metadata (r);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "width", 0), 320);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "height", 0),
      240);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "framerate",
          0), 30);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "videocodecid",
          0), 7);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "audiocodecid",
          0), 10);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta,
          "audiosamplerate", 0), 48000);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta,
          "audiochannels", 0), 1);
  fail_unless_equals_string (cf_amf_node_get_field_string (meta, "encoder"),
      "gst-cflive srt");
  cf_amf_node_free (meta);

  /* the first media tags are the sequence headers */
  fail_unless (r->tags->len > 3);
  fail_if (is_video_frame (get_tag (r, 1)) || is_audio_frame (get_tag (r, 1)));

  n_video = check_video (r);
  n_audio = check_audio (r);
  fail_unless_equals_int (n_video, N_VIDEO_FRAMES);
  fail_unless (n_audio >= MIN_AUDIO_FRAMES && n_audio <= MAX_AUDIO_FRAMES,
      "%u audio frames", n_audio);
  fail_unless_equals_uint64 (r->stats.video_frames, n_video);
  fail_unless_equals_uint64 (r->stats.audio_frames, n_audio);
  fail_unless_equals_uint64 (r->stats.packets, size / 188);
  fail_unless_equals_uint64 (r->stats.discontinuities, 0);
  fail_unless_equals_uint64 (r->stats.skipped_bytes, 0);
  fail_unless_equals_uint64 (r->stats.dropped_pes, 0);
  fail_unless_equals_uint64 (r->stats.dropped_frames, 0);
  fail_unless_equals_uint64 (r->stats.rebases, 0);
  check_monotonic (r);

  check_probe (r, "av.flv", n_video, n_audio);

  result_free (r);
  g_bytes_unref (ts);
}

GST_END_TEST;

/* Feeding all at once, packet by packet or byte by byte gives the same */
GST_START_TEST (test_piece_sizes)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *a = remux (data, size, 1);
  Result *b = remux (data, size, 1 << 20);
  Result *c;
  CfTsRemuxer *remuxer;
  GError *error = NULL;
  gsize pos;
  guint i;

  /* byte by byte, with an empty piece first */
  c = g_new0 (Result, 1);
  c->tags = g_ptr_array_new_with_free_func ((GDestroyNotify) tag_free);
  remuxer = cf_ts_remuxer_new (collect_tag, c);
  fail_unless (cf_ts_remuxer_feed (remuxer, data, 0, &error));
  for (pos = 0; pos < size; pos++)
    fail_unless (cf_ts_remuxer_feed (remuxer, data + pos, 1, &error));
  fail_unless (cf_ts_remuxer_drain (remuxer, &error));
  cf_ts_remuxer_free (remuxer);

  fail_unless_equals_int (a->tags->len, b->tags->len);
  fail_unless_equals_int (a->tags->len, c->tags->len);
  for (i = 0; i < a->tags->len; i++) {
    Tag *ta = get_tag (a, i), *tb = get_tag (b, i), *tc = get_tag (c, i);

    fail_unless_equals_int (ta->type, tb->type);
    fail_unless_equals_int (ta->ts, tb->ts);
    fail_unless (g_bytes_equal (ta->body, tb->body));
    fail_unless_equals_int (ta->type, tc->type);
    fail_unless_equals_int (ta->ts, tc->ts);
    fail_unless (g_bytes_equal (ta->body, tc->body));
  }
  result_free (a);
  result_free (b);
  result_free (c);
  g_bytes_unref (ts);
}

GST_END_TEST;

GST_START_TEST (test_video_only)
{
  GBytes *ts = get_stream ("video.ts", "-f lavfi "
      "-i testsrc2=size=320x240:rate=30 -t 3 " FFMPEG_X264);
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *r = remux (data, size, 1);
  CfAmfNode *meta;
  guint i;

  fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
  fail_unless_equals_string (r->video_codec, "h264");
  fail_unless (r->audio_codec == NULL);
  meta = check_metadata (r);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "width", 0), 320);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "videocodecid",
          0), 7);
  fail_unless (cf_amf_node_get_field (meta, "audiocodecid") == NULL);
  fail_unless (cf_amf_node_get_field (meta, "audiosamplerate") == NULL);
  cf_amf_node_free (meta);
  for (i = 1; i < r->tags->len; i++)
    fail_unless_equals_int (get_tag (r, i)->type, 9);
  fail_unless_equals_int (check_video (r), N_VIDEO_FRAMES);
  check_probe (r, "video.flv", N_VIDEO_FRAMES, 0);
  result_free (r);
  g_bytes_unref (ts);
}

GST_END_TEST;

GST_START_TEST (test_audio_only)
{
  GBytes *ts = get_stream ("audio.ts", "-f lavfi -i sine=sample_rate=48000 "
      "-t 3 -c:a aac");
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *r = remux (data, size, 1);
  CfAmfNode *meta;
  guint i, n_audio;

  fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
  fail_unless (r->video_codec == NULL);
  fail_unless_equals_string (r->audio_codec, "aac");
  meta = check_metadata (r);
  fail_unless (cf_amf_node_get_field (meta, "width") == NULL);
  fail_unless (cf_amf_node_get_field (meta, "videocodecid") == NULL);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta, "audiocodecid",
          0), 10);
  fail_unless_equals_int (cf_amf_node_get_field_number (meta,
          "audiosamplerate", 0), 48000);
  cf_amf_node_free (meta);
  for (i = 1; i < r->tags->len; i++)
    fail_unless_equals_int (get_tag (r, i)->type, 8);
  n_audio = check_audio (r);
  fail_unless (n_audio >= MIN_AUDIO_FRAMES && n_audio <= MAX_AUDIO_FRAMES,
      "%u audio frames", n_audio);
  check_probe (r, "audio.flv", 0, n_audio);
  result_free (r);
  g_bytes_unref (ts);
}

GST_END_TEST;

GST_START_TEST (test_unsupported_codecs)
{
  GBytes *ts = get_stream ("hevc-mp3.ts", FFMPEG_IN_AV " -t 1 "
      "-c:v libx265 -x265-params log-level=error -c:a libmp3lame");
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *r = remux (data, size, 1);

  fail_unless (r->error != NULL);
  fail_unless (g_error_matches (r->error, CF_TS_ERROR,
          CF_TS_ERROR_UNSUPPORTED), "%s", r->error->message);
  fail_unless (strstr (r->error->message, "HEVC video") != NULL, "%s",
      r->error->message);
  fail_unless (strstr (r->error->message, "MP3 audio") != NULL, "%s",
      r->error->message);
  GST_INFO ("error: %s", r->error->message);
  fail_unless_equals_string (r->video_codec, "hevc");
  fail_unless_equals_string (r->audio_codec, "mp3");
  fail_unless_equals_int (r->tags->len, 0);
  /* it failed at the first PMT, early in the stream */
  fail_unless (r->stats.bytes < 64 * 1024);
  result_free (r);
  g_bytes_unref (ts);
}

GST_END_TEST;

GST_START_TEST (test_garbage)
{
  GRand *rand = g_rand_new_with_seed (42);
  gsize size = 3 * 1024 * 1024, i;
  guint8 *data = g_malloc (size);
  Result *r;

  for (i = 0; i < size; i++)
    data[i] = g_rand_int (rand);
  r = remux (data, size, 1);
  fail_unless_equals_int (r->tags->len, 0);
  /* not MPEG-TS: the connection is dropped */
  fail_unless (g_error_matches (r->error, CF_TS_ERROR, CF_TS_ERROR_NO_SYNC),
      "%s", r->error ? r->error->message : "no error");
  fail_unless (r->stats.skipped_bytes > CF_TS_MAX_SEARCH_BYTES);
  result_free (r);

  /* packets with a sync byte and garbage in them */
  for (i = 0; i < size; i += 188)
    data[i] = 0x47;
  r = remux (data, size, 1);
  fail_unless_equals_int (r->tags->len, 0);
  fail_unless (g_error_matches (r->error, CF_TS_ERROR,
          CF_TS_ERROR_NO_PROGRAM), "%s",
      r->error ? r->error->message : "no error");
  result_free (r);

  /* a valid stream start followed by garbage only drops frames */
  {
    GBytes *ts = get_av_stream ();
    gsize ts_size;
    const guint8 *ts_data = g_bytes_get_data (ts, &ts_size);
    gsize head = 16 * 188;

    memcpy (data, ts_data, head);
    for (i = head; i < size; i++)
      data[i] = g_rand_int (rand);
    r = remux (data, MIN (size, CF_TS_MAX_SEARCH_BYTES), 1);
    fail_unless (r->error == NULL, "%s", r->error->message);
    check_monotonic (r);
    result_free (r);
    g_bytes_unref (ts);
  }

  g_free (data);
  g_rand_free (rand);
}

GST_END_TEST;

GST_START_TEST (test_corrupted)
{
  GBytes *ts = get_av_stream ();
  gsize size, i, j, offsets[] = { 0, 500, 187, 4 };
  guint8 *data = g_bytes_unref_to_data (ts, &size);

  for (j = 0; j < G_N_ELEMENTS (offsets); j++) {
    guint8 *copy = g_memdup2 (data, size);
    Result *r;
    guint n_video = 0, n_audio = 0;

    for (i = offsets[j]; i < size; i += 1000)
      copy[i] ^= 0xff;
    r = remux (copy, size, 1);
    fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
    check_monotonic (r);
    for (i = 0; i < r->tags->len; i++) {
      n_video += is_video_frame (get_tag (r, i));
      n_audio += is_audio_frame (get_tag (r, i));
    }
    GST_INFO ("offset %" G_GSIZE_FORMAT ": %u video, %u audio frames; "
        "%" G_GUINT64_FORMAT " discontinuities, %" G_GUINT64_FORMAT
        " bytes skipped, %" G_GUINT64_FORMAT " PES dropped", offsets[j],
        n_video, n_audio, r->stats.discontinuities, r->stats.skipped_bytes,
        r->stats.dropped_pes);
    fail_unless (n_video > N_VIDEO_FRAMES / 2, "%u video frames", n_video);
    fail_unless (n_audio > MIN_AUDIO_FRAMES / 2, "%u audio frames", n_audio);
    fail_unless_equals_int (get_tag (r, 0)->type, 18);
    result_free (r);
    g_free (copy);
  }
  g_free (data);
}

GST_END_TEST;

/* --- Rewriting streams: timestamps and PES packetisation --- */

static guint64
read_pes_ts (const guint8 * p)
{
  return ((guint64) ((p[0] >> 1) & 0x07) << 30) | ((guint64) p[1] << 22) |
      ((guint64) (p[2] >> 1) << 15) | ((guint64) p[3] << 7) | (p[4] >> 1);
}

static void
write_pes_ts (guint8 * p, guint prefix, guint64 v)
{
  p[0] = (prefix << 4) | (((v >> 30) & 0x07) << 1) | 1;
  p[1] = v >> 22;
  p[2] = (((v >> 15) & 0x7f) << 1) | 1;
  p[3] = v >> 7;
  p[4] = ((v & 0x7f) << 1) | 1;
}

/* The PES header in a packet starting a PES, or NULL */
static guint8 *
packet_pes (guint8 * p)
{
  guint off = 4;

  if (!(p[1] & 0x40) || !(p[3] & 0x10))
    return NULL;
  if (p[3] & 0x20)
    off += 1 + p[4];
  if (off + 19 > 188 || p[off] != 0 || p[off + 1] != 0 || p[off + 2] != 1)
    return NULL;
  if (p[off + 3] < 0xc0 || p[off + 3] > 0xef)
    return NULL;
  return p + off;
}

/* Adds @offset to every PTS and DTS, modulo 2^33 */
static void
shift_timestamps (guint8 * data, gsize size, gint64 offset)
{
  gsize i;

  for (i = 0; i + 188 <= size; i += 188) {
    guint8 *pes = packet_pes (data + i);
    guint64 mask = (G_GUINT64_CONSTANT (1) << 33) - 1;

    if (pes == NULL || !(pes[7] & 0x80))
      continue;
    write_pes_ts (pes + 9, (pes[7] & 0x40) ? 3 : 2,
        (read_pes_ts (pes + 9) + offset) & mask);
    if (pes[7] & 0x40)
      write_pes_ts (pes + 14, 1, (read_pes_ts (pes + 14) + offset) & mask);
  }
}

static guint64
first_pts (const guint8 * data, gsize size)
{
  guint8 p[188];
  gsize i;

  for (i = 0; i + 188 <= size; i += 188) {
    guint8 *pes;

    memcpy (p, data + i, 188);
    pes = packet_pes (p);
    if (pes != NULL && (pes[7] & 0x80))
      return read_pes_ts (pes + 9);
  }
  fail ("no PTS");
  return 0;
}

static void
assert_same_tags (const Result * a, const Result * b)
{
  guint i;

  fail_unless_equals_int (a->tags->len, b->tags->len);
  for (i = 0; i < a->tags->len; i++) {
    Tag *ta = get_tag (a, i), *tb = get_tag (b, i);

    fail_unless_equals_int (ta->type, tb->type);
    fail_unless (ta->ts == tb->ts, "tag %u: %u != %u", i, ta->ts, tb->ts);
    fail_unless (g_bytes_equal (ta->body, tb->body), "tag %u", i);
  }
}

/* The 33-bit timestamps wrapping around in the middle of the stream */
GST_START_TEST (test_timestamp_wrap)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  guint8 *data = g_bytes_unref_to_data (ts, &size);
  guint8 *shifted = g_memdup2 (data, size);
  gint64 wrap = G_GINT64_CONSTANT (1) << 33;
  Result *a, *b;

  /* wrap 1.5 s after the first PTS */
  shift_timestamps (shifted, size, wrap - first_pts (data, size) - 135000);
  a = remux (data, size, 1);
  b = remux (shifted, size, 1);
  fail_unless (b->error == NULL, "%s", b->error ? b->error->message : "");
  assert_same_tags (a, b);
  fail_unless_equals_uint64 (b->stats.rebases, 0);
  result_free (a);
  result_free (b);
  g_free (shifted);
  g_free (data);
}

GST_END_TEST;

/* Timestamps of the frames of one type */
static GArray *
frame_times (const Result * r, guint8 type)
{
  GArray *times = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint i;

  for (i = 0; i < r->tags->len; i++) {
    const Tag *tag = get_tag (r, i);
    gint64 ts = tag->ts;

    if (type == 9 ? is_video_frame (tag) : is_audio_frame (tag))
      g_array_append_val (times, ts);
  }
  return times;
}

/* Timestamps strictly increase by about @step ms, except at most once, by
 * at most 250 ms; returns the index after that gap, or 0 */
static guint
check_steps (GArray * times, gint64 step)
{
  guint i, gap = 0;

  for (i = 1; i < times->len; i++) {
    gint64 d = g_array_index (times, gint64, i) -
        g_array_index (times, gint64, i - 1);

    fail_unless (d > 0, "frame %u: %" G_GINT64_FORMAT " ms", i, d);
    if (d > step + 1) {
      fail_unless (gap == 0, "frames %u and %u after gaps", gap, i);
      fail_unless (d <= 250, "frame %u after %" G_GINT64_FORMAT " ms", i, d);
      gap = i;
    }
  }
  return gap;
}

/* An encoder restarting within the connection: timestamps jump */
static void
check_restart (gint64 offset)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  guint8 *twice = g_malloc (2 * size);
  Result *r;
  GArray *video, *audio;
  guint video_gap, audio_gap;
  gint64 av_one, av_two;

  memcpy (twice, data, size);
  memcpy (twice + size, data, size);
  shift_timestamps (twice + size, size, offset);
  r = remux (twice, 2 * size, 1);
  fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
  check_monotonic (r);
  fail_unless_equals_uint64 (r->stats.rebases, 1);

  /* the second copy goes on right after the first: the new timeline
   * starts after the last tag of either stream, so the gap at the restart
   * is at most the distance between audio and video in the mux plus the
   * frame cut by the continuity error */
  video = frame_times (r, 9);
  audio = frame_times (r, 8);
  video_gap = check_steps (video, 34);
  audio_gap = check_steps (audio, 22);
  /* only the frame cut by the continuity error is lost */
  fail_unless (video->len >= 2 * N_VIDEO_FRAMES - 1, "%u frames", video->len);
  fail_unless (video_gap >= N_VIDEO_FRAMES - 1 &&
      video_gap <= N_VIDEO_FRAMES, "gap before video frame %u", video_gap);
  fail_unless (audio_gap >= MIN_AUDIO_FRAMES - 1 &&
      audio_gap <= MAX_AUDIO_FRAMES, "gap before audio frame %u", audio_gap);

  /* audio and video stay in sync after the restart: the distance between
   * their first timestamps is the same in both copies */
  av_one = g_array_index (audio, gint64, 0) - g_array_index (video, gint64, 0);
  av_two = g_array_index (audio, gint64, audio_gap) -
      g_array_index (video, gint64, video_gap);
  GST_INFO ("A/V offset %" G_GINT64_FORMAT " ms, after the restart %"
      G_GINT64_FORMAT " ms", av_one, av_two);
  fail_unless (ABS (av_two - av_one) <= 2, "A/V offset %" G_GINT64_FORMAT
      " then %" G_GINT64_FORMAT, av_one, av_two);

  g_array_unref (video);
  g_array_unref (audio);
  result_free (r);
  g_free (twice);
  g_bytes_unref (ts);
}

GST_START_TEST (test_restart_same_timestamps)
{
  /* the same timestamps again: 3 s back */
  check_restart (0);
}

GST_END_TEST;

GST_START_TEST (test_restart_far_back)
{
  /* an hour back */
  check_restart (-G_GINT64_CONSTANT (3600) * 90000);
}

GST_END_TEST;

GST_START_TEST (test_restart_far_ahead)
{
  /* ten hours ahead */
  check_restart (G_GINT64_CONSTANT (36000) * 90000);
}

GST_END_TEST;

/* Writes @pes (a whole PES packet) as TS packets of @pid */
static void
mux_pes (GByteArray * out, guint pid, guint * cc, const guint8 * pes,
    gsize size)
{
  gsize pos = 0;

  while (pos < size) {
    guint8 p[188];
    gsize n = MIN (size - pos, 184);

    p[0] = 0x47;
    p[1] = (pos == 0 ? 0x40 : 0) | (pid >> 8);
    p[2] = pid & 0xff;
    p[3] = 0x10 | (*cc & 0x0f);
    (*cc)++;
    if (n < 184) {
      /* adaptation field stuffing */
      guint af = 183 - n;

      p[3] |= 0x20;
      p[4] = af;
      if (af > 0) {
        p[5] = 0;
        memset (p + 6, 0xff, af - 1);
      }
    }
    memcpy (p + 188 - n, pes + pos, n);
    g_byte_array_append (out, p, 188);
    pos += n;
  }
}

/* Re-muxes the audio of @data in PES packets of @chunk bytes of ADTS,
 * cutting frames in two: a PES has the PTS of the first frame starting in
 * it, or none if no frame does */
static GByteArray *
split_audio (const guint8 * data, gsize size, gsize chunk)
{
  GByteArray *out = g_byte_array_new ();
  GByteArray *es = g_byte_array_new ();
  GArray *frame_pts = g_array_new (FALSE, FALSE, sizeof (guint64));
  GArray *frame_pos = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize i, sent = 0, next_frame = 0, scanned = 0;
  guint audio_pid = 0, cc = 0, f = 0;
  guint64 pes_pts = 0;

  for (i = 0; i + 188 <= size; i += 188) {
    guint8 p[188];
    guint pid, off = 4;
    guint8 *pes;
    gboolean last;

    memcpy (p, data + i, 188);
    pid = ((p[1] & 0x1f) << 8) | p[2];
    pes = packet_pes (p);
    if (pes != NULL && pes[3] >= 0xc0 && pes[3] <= 0xdf)
      audio_pid = pid;
    last = i + 376 > size;
    if (pid != audio_pid || audio_pid == 0) {
      g_byte_array_append (out, p, 188);
      if (!last)
        continue;
    } else {
      /* collect the ADTS stream and the timestamp of each frame */
      if (p[3] & 0x20)
        off += 1 + p[4];
      if (pes != NULL) {
        pes_pts = read_pes_ts (pes + 9);
        off += 9 + pes[8];
        f = 0;
      }
      g_byte_array_append (es, p + off, 188 - off);
      while (scanned + 7 <= es->len) {
        guint len = ((es->data[scanned + 3] & 3) << 11) |
            (es->data[scanned + 4] << 3) | (es->data[scanned + 5] >> 5);
        guint64 pts = pes_pts + f++ * AAC_FRAME_TICKS;

        fail_unless (es->data[scanned] == 0xff && len > 7);
        g_array_append_val (frame_pts, pts);
        g_array_append_val (frame_pos, scanned);
        scanned += len;
      }
    }

    /* new PES of @chunk bytes as soon as the original sent them */
    while (es->len - sent >= chunk || (last && es->len > sent)) {
      gsize n = MIN (chunk, es->len - sent);
      guint8 *pkt = g_malloc (14 + n);
      gsize hdr = 9;

      pkt[0] = pkt[1] = 0;
      pkt[2] = 1;
      pkt[3] = 0xc0;
      pkt[6] = 0x80;
      pkt[7] = 0;
      pkt[8] = 0;
      while (next_frame < frame_pos->len &&
          g_array_index (frame_pos, gsize, next_frame) < sent)
        next_frame++;
      if (next_frame < frame_pos->len &&
          g_array_index (frame_pos, gsize, next_frame) < sent + n) {
        pkt[7] = 0x80;
        pkt[8] = 5;
        write_pes_ts (pkt + 9, 2, g_array_index (frame_pts, guint64,
                next_frame));
        hdr = 14;
      }
      pkt[4] = (hdr - 6 + n) >> 8;
      pkt[5] = (hdr - 6 + n) & 0xff;
      memcpy (pkt + hdr, es->data + sent, n);
      mux_pes (out, audio_pid, &cc, pkt, hdr + n);
      g_free (pkt);
      sent += n;
    }
  }
  g_array_unref (frame_pts);
  g_array_unref (frame_pos);
  g_byte_array_unref (es);
  return out;
}

/* ADTS frames cut across PES packets come out whole, with the same
 * timestamps */
GST_START_TEST (test_split_adts)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  Result *a = remux (data, size, 1);
  gsize chunks[] = { 100, 333, 1000, 5 };
  guint c;

  for (c = 0; c < G_N_ELEMENTS (chunks); c++) {
    GByteArray *split = split_audio (data, size, chunks[c]);
    Result *b = remux (split->data, split->len, 1);
    guint i, j = 0, n = 0;

    fail_unless (b->error == NULL, "%s", b->error ? b->error->message : "");
    fail_unless_equals_uint64 (b->stats.adts_skipped_bytes, 0);
    fail_unless_equals_uint64 (b->stats.dropped_pes, 0);
    /* the same audio tags */
    for (i = 0; i < a->tags->len; i++) {
      const Tag *ta = get_tag (a, i), *tb;

      if (ta->type != 8)
        continue;
      while (j < b->tags->len && get_tag (b, j)->type != 8)
        j++;
      fail_unless (j < b->tags->len, "audio tag %u missing", n);
      tb = get_tag (b, j++);
      fail_unless (g_bytes_equal (ta->body, tb->body), "audio tag %u", n);
      fail_unless (ABS ((gint64) ta->ts - (gint64) tb->ts) <= 1,
          "audio tag %u at %u, not %u", n, tb->ts, ta->ts);
      n++;
    }
    for (; j < b->tags->len; j++)
      fail_if (get_tag (b, j)->type == 8);
    fail_unless (n > MIN_AUDIO_FRAMES);
    fail_unless_equals_int (check_video (b), N_VIDEO_FRAMES);
    result_free (b);
    g_byte_array_unref (split);
  }
  result_free (a);
  g_bytes_unref (ts);
}

GST_END_TEST;

/* --- Synthetic streams --- */

#define PMT_PID 0x1000
#define VIDEO_PID 0x100
#define AUDIO_PID 0x101

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

/* Writes a PSI section (without its CRC, which is added) in one packet */
static void
mux_section (GByteArray * out, guint pid, guint8 * sec, gsize n)
{
  guint8 p[188];
  guint32 crc;

  sec[1] = 0xb0 | (((n + 4 - 3) >> 8) & 0x0f);
  sec[2] = (n + 4 - 3) & 0xff;
  crc = crc32_mpeg (sec, n);
  memset (p, 0xff, sizeof (p));
  p[0] = 0x47;
  p[1] = 0x40 | (pid >> 8);
  p[2] = pid & 0xff;
  p[3] = 0x10;
  p[4] = 0;                     /* pointer_field */
  memcpy (p + 5, sec, n);
  put_be32 (p + 5 + n, crc);
  g_byte_array_append (out, p, 188);
}

/* PAT and PMT of a program with the given streams (type 0: none) */
static void
mux_psi (GByteArray * out, guint8 video_type, guint8 audio_type)
{
  guint8 pat[] = { 0x00, 0, 0, 0x00, 0x01, 0xc1, 0, 0,
    0x00, 0x01, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff
  };
  guint8 pmt[64] = { 0x02, 0, 0, 0x00, 0x01, 0xc1, 0, 0,
    0xe0 | (VIDEO_PID >> 8), VIDEO_PID & 0xff, 0xf0, 0
  };
  gsize n = 12;

  if (video_type) {
    guint8 es[] = { video_type, 0xe0 | (VIDEO_PID >> 8), VIDEO_PID & 0xff,
      0xf0, 0
    };
    memcpy (pmt + n, es, sizeof (es));
    n += sizeof (es);
  }
  if (audio_type) {
    guint8 es[] = { audio_type, 0xe0 | (AUDIO_PID >> 8), AUDIO_PID & 0xff,
      0xf0, 0
    };
    memcpy (pmt + n, es, sizeof (es));
    n += sizeof (es);
  }
  mux_section (out, 0, pat, sizeof (pat));
  mux_section (out, PMT_PID, pmt, n);
}

/* A PES packet header with a PTS; @size is the payload size, 0 for an
 * unbounded video PES */
static gsize
pes_header (guint8 * h, guint8 stream_id, gsize size, guint64 pts)
{
  gsize len = size ? size + 8 : 0;

  h[0] = h[1] = 0;
  h[2] = 1;
  h[3] = stream_id;
  h[4] = len >> 8;
  h[5] = len & 0xff;
  h[6] = 0x80;
  h[7] = 0x80;
  h[8] = 5;
  write_pes_ts (h + 9, 2, pts);
  return 14;
}

static guint
count_tags (const Result * r, guint8 type)
{
  guint i, n = 0;

  for (i = 0; i < r->tags->len; i++)
    n += get_tag (r, i)->type == type;
  return n;
}

/* Many tiny ADTS frames while the video sequence header never comes: the
 * tags held for the metadata are bounded in number */
GST_START_TEST (test_pending_limit)
{
  GByteArray *ts = g_byte_array_new ();
  guint8 pes[14 + 20 * 8];
  /* AAC LC, 48 kHz, mono, 8-byte frames */
  const guint8 frame[8] = { 0xff, 0xf1, 0x4c, 0x40, 0x01, 0x1f, 0xfc, 0x21 };
  Result *r = g_new0 (Result, 1);
  CfTsRemuxer *remuxer;
  GError *error = NULL;
  guint i, j, cc = 0, first_seen = 0;

  r->tags = g_ptr_array_new_with_free_func ((GDestroyNotify) tag_free);
  remuxer = cf_ts_remuxer_new (collect_tag, r);
  mux_psi (ts, STREAM_TYPE_H264, 0x0f);
  fail_unless (cf_ts_remuxer_feed (remuxer, ts->data, ts->len, &error));
  for (i = 0; i < 400; i++) {
    gsize n = pes_header (pes, 0xc0, 20 * 8, 900000);

    for (j = 0; j < 20; j++)
      memcpy (pes + n + j * 8, frame, 8);
    g_byte_array_set_size (ts, 0);
    mux_pes (ts, AUDIO_PID, &cc, pes, sizeof (pes));
    fail_unless (cf_ts_remuxer_feed (remuxer, ts->data, ts->len, &error));
    if (r->tags->len > 0 && first_seen == 0)
      first_seen = (i + 1) * 20;
  }
  fail_unless (cf_ts_remuxer_drain (remuxer, &error));
  GST_INFO ("first tags after %u frames", first_seen);
  fail_unless (first_seen > 0 && first_seen <= CF_TS_MAX_PENDING_TAGS + 20);
  fail_unless_equals_int (get_tag (r, 0)->type, 18);
  fail_unless_equals_int (count_tags (r, 8), 400 * 20 + 1);
  check_monotonic (r);
  cf_ts_remuxer_free (remuxer);
  result_free (r);
  g_byte_array_unref (ts);
}

GST_END_TEST;

/* A PES larger than the limit is dropped, and the stream goes on */
GST_START_TEST (test_oversized_pes)
{
  GBytes *av = get_av_stream ();
  gsize av_size, big = CF_TS_MAX_PES_SIZE + 1000;
  const guint8 *av_data = g_bytes_get_data (av, &av_size);
  GByteArray *ts = g_byte_array_new ();
  guint8 *pes = g_malloc0 (14 + big);
  guint cc = 0;
  Result *r;

  /* a huge unbounded video PES, then the real stream */
  mux_psi (ts, STREAM_TYPE_H264, 0x0f);
  pes_header (pes, 0xe0, 0, 900000);
  memcpy (pes + 14, "\x00\x00\x00\x01\x09\xf0", 6);
  mux_pes (ts, VIDEO_PID, &cc, pes, 14 + big);
  g_byte_array_append (ts, av_data, av_size);
  r = remux (ts->data, ts->len, 64);
  fail_unless (r->error == NULL, "%s", r->error ? r->error->message : "");
  fail_unless_equals_uint64 (r->stats.dropped_pes, 1);
  /* the real stream has a continuity error at its start: its first
   * video packet is not the start of a PES, nothing else is lost */
  fail_unless_equals_int (check_video (r), N_VIDEO_FRAMES);
  result_free (r);
  g_free (pes);
  g_byte_array_unref (ts);
  g_bytes_unref (av);
}

GST_END_TEST;

/* A PMT without H.264 or AAC fails, naming what it has */
GST_START_TEST (test_unsupported_names)
{
  struct
  {
    guint8 video, audio;
    const gchar *found;
  } cases[] = {
    {0x02, 0x81, "(found: MPEG-2 video, AC-3 audio)"},
    {0x24, 0x11, "(found: HEVC video, AAC LATM audio)"},
    {0x00, 0x04, "(found: MP3 audio)"},
    {0x00, 0x06, "(found: private data)"},
    {0x00, 0x00, "(found: no elementary streams)"},
    {0x42, 0x99, "(found: AVS video, stream type 0x99)"},
  };
  guint8 null_packet[188] = { 0x47, 0x1f, 0xff, 0x10 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    GByteArray *ts = g_byte_array_new ();
    Result *r;

    mux_psi (ts, cases[i].video, cases[i].audio);
    /* two null packets: sync needs three packets */
    g_byte_array_append (ts, null_packet, sizeof (null_packet));
    g_byte_array_append (ts, null_packet, sizeof (null_packet));
    r = remux (ts->data, ts->len, 1);
    fail_unless (g_error_matches (r->error, CF_TS_ERROR,
            CF_TS_ERROR_UNSUPPORTED));
    fail_unless (g_str_has_suffix (r->error->message, cases[i].found),
        "%s", r->error->message);
    result_free (r);
    g_byte_array_unref (ts);
  }
}

GST_END_TEST;

/* The tag function failing stops the remuxer with its error */
static gboolean
refuse_video (guint8 type, guint32 ts, GBytes * body, gpointer user_data,
    GError ** error)
{
  guint *n = user_data;

  if (type == 9 && ++(*n) == 3) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PIPE, "gone");
    return FALSE;
  }
  return TRUE;
}

GST_START_TEST (test_callback_error)
{
  GBytes *ts = get_av_stream ();
  gsize size;
  const guint8 *data = g_bytes_get_data (ts, &size);
  guint n = 0;
  CfTsRemuxer *remuxer = cf_ts_remuxer_new (refuse_video, &n);
  GError *error = NULL;
  gsize pos;

  for (pos = 0; pos < size; pos += 1316) {
    if (!cf_ts_remuxer_feed (remuxer, data + pos, MIN (1316, size - pos),
            &error))
      break;
  }
  fail_unless (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_PIPE));
  fail_unless_equals_int (n, 3);
  g_clear_error (&error);
  fail_if (cf_ts_remuxer_feed (remuxer, data, 188, &error));
  fail_unless (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_PIPE));
  g_clear_error (&error);
  fail_if (cf_ts_remuxer_drain (remuxer, NULL));
  fail_unless_equals_int (n, 3);
  cf_ts_remuxer_free (remuxer);
  g_bytes_unref (ts);
}

GST_END_TEST;

static Suite *
tsremux_suite (void)
{
  Suite *s = suite_create ("tsremux");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, setup_tmp_dir, teardown_tmp_dir);
  tcase_add_test (tc, test_audio_video);
  tcase_add_test (tc, test_piece_sizes);
  tcase_add_test (tc, test_video_only);
  tcase_add_test (tc, test_audio_only);
  tcase_add_test (tc, test_unsupported_codecs);
  tcase_add_test (tc, test_garbage);
  tcase_add_test (tc, test_corrupted);
  tcase_add_test (tc, test_timestamp_wrap);
  tcase_add_test (tc, test_restart_same_timestamps);
  tcase_add_test (tc, test_restart_far_back);
  tcase_add_test (tc, test_restart_far_ahead);
  tcase_add_test (tc, test_split_adts);
  tcase_add_test (tc, test_pending_limit);
  tcase_add_test (tc, test_oversized_pes);
  tcase_add_test (tc, test_unsupported_names);
  tcase_add_test (tc, test_callback_error);

  return s;
}

GST_CHECK_MAIN (tsremux);
