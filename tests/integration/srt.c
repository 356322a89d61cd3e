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

/* SRT ingest with real callers over loopback: ffmpeg, srt-live-transmit
 * and GStreamer's srtsink sending MPEG-TS, several live inputs on one SRT
 * port, callers refused in the handshake, reconnections over SRT and
 * between RTMP and SRT, and hostile peers on the port. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "cftest.h"

#define ID_A "srt-input-a"
#define ID_B "srt-input-b"
#define ID_C "srt-input-c"
#define ID_D "srt-input-d"
#define PASS_A "srt-pass-a-5e1c07"
#define PASS_B "srt-pass-b-92d4fa"
#define PASS_C "srt-pass-c-0b37e6"
#define PASS_D "srt-pass-d-c4a851"
#define RTMP_KEY "srt-rtmp-key-7d20"

/* Audio frames of the media files, with the encoder's priming and
 * padding */
#define MEDIA_AUDIO_MIN CFTEST_MEDIA_AUDIO_FRAMES
#define MEDIA_AUDIO_MAX (CFTEST_MEDIA_AUDIO_FRAMES + 3)
#define SMALL_AUDIO_FRAMES (CFTEST_SMALL_SECONDS * 48000 / 1024)
#define SMALL_AUDIO_MIN SMALL_AUDIO_FRAMES
#define SMALL_AUDIO_MAX (SMALL_AUDIO_FRAMES + 3)

/* Null packets written after a file to srt-live-transmit */
#define PUSH_BYTES (50 * 1316)

/* How much longer than the outage the timestamp gap may be */
#define GAP_TOLERANCE (250 * GST_MSECOND)

/* --- callers --- */

static guint
srt_port (CfTestInput * in)
{
  guint port = 0;

  g_object_get (in->src, "srt-bound-port", &port, NULL);
  return port;
}

/* The caller URL, for ffmpeg and srt-live-transmit. ffmpeg 5.1 takes the
 * stream id as written, so the access-control form goes in without
 * percent-encoding. */
static gchar *
caller_url (guint port, const gchar * streamid, const gchar * passphrase)
{
  GString *url = g_string_new (NULL);

  g_string_append_printf (url, "srt://127.0.0.1:%u?pkt_size=1316", port);
  if (streamid)
    g_string_append_printf (url, "&streamid=%s", streamid);
  if (passphrase)
    g_string_append_printf (url, "&passphrase=%s", passphrase);
  return g_string_free (url, FALSE);
}

/* A pipeline with one SRT-only input listening on @port (0: any free
 * one); more properties can be set on in->src before playing */
static CfTestPipeline *
srt_pipeline (CfTestInput ** in, const gchar * name, guint port,
    const gchar * id, const gchar * passphrase)
{
  g_autofree gchar *url = g_strdup_printf ("srt://127.0.0.1:%u", port);
  CfTestPipeline *p = cftest_pipeline_new ();

  *in = cftest_pipeline_add_input (p, name, "srt-url", url, "srt-stream-id",
      id, "srt-passphrase", passphrase, NULL);
  return p;
}

/* ffmpeg -re [-stream_loop -1] -i @media -c copy -f mpegts @url.
 *
 * ffmpeg closes its SRT socket as soon as it has written the end, and in
 * live mode libsrt does not linger by default: the last hundred
 * milliseconds or so of the stream would not reach the listener. */
static CfTestProc *
ffmpeg_call (const gchar * media, const gchar * url, gboolean loop)
{
  g_autofree gchar *lingering = g_strdup_printf ("%s&linger=2", url);
  GPtrArray *argv = g_ptr_array_new ();
  CfTestProc *proc;

  g_ptr_array_add (argv, (gpointer) "ffmpeg");
  g_ptr_array_add (argv, (gpointer) "-hide_banner");
  g_ptr_array_add (argv, (gpointer) "-nostdin");
  g_ptr_array_add (argv, (gpointer) "-loglevel");
  g_ptr_array_add (argv, (gpointer) "warning");
  if (loop) {
    g_ptr_array_add (argv, (gpointer) "-stream_loop");
    g_ptr_array_add (argv, (gpointer) "-1");
  }
  g_ptr_array_add (argv, (gpointer) "-re");
  g_ptr_array_add (argv, (gpointer) "-i");
  g_ptr_array_add (argv, (gpointer) media);
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) "copy");
  g_ptr_array_add (argv, (gpointer) "-f");
  g_ptr_array_add (argv, (gpointer) "mpegts");
  g_ptr_array_add (argv, lingering);
  g_ptr_array_add (argv, NULL);
  proc = cftest_spawn ("ffmpeg-srt", (gchar **) argv->pdata);
  g_ptr_array_unref (argv);
  return proc;
}

/* srt-live-transmit sending what it reads on @stdin_fd to @url; it polls
 * its input: a pipe, not a file */
static CfTestProc *
slt_call (const gchar * url, gint stdin_fd)
{
  gchar *argv[] = {
    (gchar *) "srt-live-transmit", (gchar *) "-q", (gchar *) "-a:no",
    (gchar *) "-chunk:1316", (gchar *) "file://con", (gchar *) url, NULL
  };

  return cftest_spawn_with_fds ("srt-live-transmit", argv, stdin_fd, -1);
}

/* Runs a tool to its end; fails the test if it does not succeed */
static void
run_to_end (const gchar * name, gchar ** argv)
{
  CfTestProc *proc = cftest_spawn (name, argv);
  g_autofree gchar *log = NULL;

  fail_unless (cftest_proc_wait (proc, 30), "%s does not end", name);
  log = cftest_proc_get_log (proc);
  fail_unless (cftest_proc_exit_code (proc) == 0, "%s: %s", name, log);
}

/* @media as MPEG-TS in the temporary directory */
static gchar *
make_ts (const gchar * media, const gchar * name)
{
  gchar *path = g_build_filename (cftest_tmpdir (), name, NULL);
  gchar *argv[] = {
    (gchar *) "ffmpeg", (gchar *) "-hide_banner", (gchar *) "-nostdin",
    (gchar *) "-loglevel", (gchar *) "error", (gchar *) "-y",
    (gchar *) "-i", (gchar *) media, (gchar *) "-c", (gchar *) "copy",
    (gchar *) "-f", (gchar *) "mpegts", path, NULL
  };

  run_to_end ("ffmpeg-ts", argv);
  return path;
}

/* srt-live-transmit reading what the test writes to *@write_fd */
static CfTestProc *
slt_call_pipe (const gchar * url, gint * write_fd)
{
  CfTestProc *slt;
  gint fds[2];

  fail_unless (g_unix_open_pipe (fds, FD_CLOEXEC, NULL));
  slt = slt_call (url, fds[0]);
  close (fds[0]);
  *write_fd = fds[1];
  return slt;
}

/* Writes @size bytes to @fd */
static void
write_all (gint fd, const gchar * data, gsize size)
{
  gsize done = 0;

  while (done < size) {
    gssize n = write (fd, data + done, size - done);

    fail_unless (n > 0 || errno == EINTR, "cannot write to the pipe: %s",
        g_strerror (errno));
    if (n > 0)
      done += n;
  }
}

/* Writes the TS file @path to @fd at once, for srt-live-transmit. It reads
 * its input through a buffer and only when the pipe is readable, and it
 * sends chunks of 7 packets, never a partial one: null packets complete
 * the last chunk, and more of them follow a moment later to push what it
 * holds. What it reads before it is connected is lost: call this once the
 * input has seen the caller. */
static void
write_file (gint fd, const gchar * path)
{
  static const guint8 null_header[] = { 0x47, 0x1f, 0xff, 0x10 };
  g_autoptr (GError) err = NULL;
  gchar *data = NULL, *nulls;
  gsize size = 0, padded, i;

  fail_unless (g_file_get_contents (path, &data, &size, &err), "%s",
      err ? err->message : "");
  fail_unless (size % 188 == 0, "%s is not made of TS packets", path);
  padded = (size + 1315) / 1316 * 1316;
  nulls = g_malloc (PUSH_BYTES);
  for (i = 0; i < PUSH_BYTES; i += 188) {
    memcpy (nulls + i, null_header, sizeof (null_header));
    memset (nulls + i + 4, 0xff, 184);
  }
  write_all (fd, data, size);
  write_all (fd, nulls, padded - size);
  g_usleep (200 * 1000);
  write_all (fd, nulls, PUSH_BYTES);
  g_free (nulls);
  g_free (data);
}

/* Waits until @proc exited with an error, as a refused caller does, with
 * @reason (libsrt's words) in its log */
static void
assert_refused (CfTestProc * proc, const gchar * what, const gchar * reason)
{
  g_autofree gchar *log = NULL;

  fail_unless (cftest_proc_wait (proc, 10), "%s: the caller still runs", what);
  log = cftest_proc_get_log (proc);
  fail_unless (cftest_proc_exit_code (proc) != 0, "%s: the caller was not "
      "refused: %s", what, log);
  fail_unless (strstr (log, reason) != NULL, "%s: refused, but not for "
      "'%s': %s", what, reason, log);
  GST_INFO ("%s: refused: %s", what, log);
}

/* --- checks --- */

static guint
status_session (const GstStructure * s)
{
  guint session = 0;

  fail_unless (gst_structure_get_uint (s, "session", &session));
  return session;
}

static void
assert_status (const GstStructure * s, const gchar * state,
    const gchar * reason, guint session, const gchar * protocol)
{
  const gchar *remote;

  fail_unless (s != NULL, "no status with reason %s", reason);
  fail_unless_equals_string (gst_structure_get_string (s, "state"), state);
  fail_unless_equals_string (gst_structure_get_string (s, "reason"), reason);
  fail_unless_equals_int (status_session (s), session);
  fail_unless_equals_string (gst_structure_get_string (s, "protocol"),
      protocol);
  remote = gst_structure_get_string (s, "remote-address");
  fail_unless (remote && g_str_has_prefix (remote, "127.0.0.1:"),
      "remote-address %s", GST_STR_NULL (remote));
  fail_unless (gst_structure_has_field_typed (s, "timestamp", G_TYPE_UINT64));
}

/* The streamheader of the caps: the FLV header announcing audio and video,
 * the metadata and the sequence header of the stream whose frames came
 * first; @strict, of both streams, as with RTMP (see assert_timeline()
 * for why it is not so) */
static void
assert_streamheader (CfTestInput * in, gboolean strict)
{
  GstCaps *caps = cftest_input_caps (in);
  const GValue *sh;
  guint n, i;
  gboolean have_avc = FALSE, have_aac = FALSE;

  fail_unless (caps != NULL);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-flv"));
  sh = gst_structure_get_value (gst_caps_get_structure (caps, 0),
      "streamheader");
  fail_unless (sh != NULL && GST_VALUE_HOLDS_ARRAY (sh), "caps %s",
      gst_caps_to_string (caps));
  n = gst_value_array_get_size (sh);
  for (i = 0; i < n; i++) {
    GstBuffer *b = gst_value_get_buffer (gst_value_array_get_value (sh, i));
    GstMapInfo map;

    fail_unless (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_HEADER));
    fail_unless (gst_buffer_map (b, &map, GST_MAP_READ));
    if (i == 0) {
      fail_unless (map.size >= 9 && memcmp (map.data, "FLV", 3) == 0);
      /* audio and video present */
      fail_unless_equals_int (map.data[4], 0x05);
    } else if (i == 1) {
      fail_unless (map.size > 11 && map.data[0] == 18, "%s: no metadata "
          "after the FLV header", in->name);
    } else if (map.size > 12 && map.data[0] == 9 && map.data[11] == 0x17 &&
        map.data[12] == 0) {
      have_avc = TRUE;
    } else if (map.size > 12 && map.data[0] == 8 &&
        (map.data[11] >> 4) == 10 && map.data[12] == 0) {
      have_aac = TRUE;
    }
    gst_buffer_unmap (b, &map);
  }
  fail_unless (have_avc || have_aac, "%s: no sequence header in the "
      "streamheader", in->name);
  if (strict)
    fail_unless (have_avc && have_aac, "%s: the streamheader has %u buffers "
        "and no %s sequence header, although the caller sent it before its "
        "first frames", in->name, n, have_avc ? "AAC" : "AVC");
  gst_caps_unref (caps);
}

/* cftest_input_check_tags(), strict or not.
 *
 * The remuxer holds the tags back until it has the sequence header of each
 * stream, then releases them in arrival order: the frames of the stream
 * that came first (video, from ffmpeg: MPEG-TS muxers bundle audio frames
 * in PES packets sent later) go out before the sequence header and the
 * first frames of the other, whose timestamps are lower. So the
 * streamheader, collected up to the first frame, lacks the other sequence
 * header (see assert_streamheader()), and flvdemux, which starts its
 * segment at the first buffer it pushes, has the AAC decoder clip the
 * first audio frame. Not strict, the first decoded audio frame with the
 * timestamp of the second is let through; test_ffmpeg_callers() is
 * strict. */
static void
assert_timeline (CfTestInput * in, gboolean strict)
{
  g_autofree gchar *problems = cftest_input_check_tags (in);
  gboolean start_clipped = FALSE;

  if (problems && !strict) {
    g_mutex_lock (&in->lock);
    start_clipped = in->video_nonmono == 0 && in->audio_nonmono == 1 &&
        in->audio->len >= 2 &&
        g_array_index (in->audio, CfTestFrame, 0).pts ==
        g_array_index (in->audio, CfTestFrame, 1).pts;
    g_mutex_unlock (&in->lock);
    /* tag problems come first in the description, decoded ones last */
    if (start_clipped && g_str_has_prefix (problems, "decoded timestamps")) {
      GST_INFO ("%s: the first audio frame was clipped: %s", in->name,
          problems);
      return;
    }
  }
  fail_unless (problems == NULL, "%s: %s", in->name, problems);
}

/* The decoded video spans what was sent: (n - 1) frame durations */
static void
assert_video_span (CfTestInput * in, guint frames)
{
  CfTestFrame first, last;
  GstClockTimeDiff span, expected;

  g_mutex_lock (&in->lock);
  fail_unless (in->video->len >= 2);
  first = g_array_index (in->video, CfTestFrame, 0);
  last = g_array_index (in->video, CfTestFrame, in->video->len - 1);
  g_mutex_unlock (&in->lock);
  span = GST_CLOCK_DIFF (first.pts, last.pts);
  expected = gst_util_uint64_scale (frames - 1, GST_SECOND, CFTEST_MEDIA_FPS);
  fail_unless (ABS (span - expected) <= 60 * GST_MSECOND,
      "%s: video spans %" GST_STIME_FORMAT ", expected %" GST_STIME_FORMAT,
      in->name, GST_STIME_ARGS (span), GST_STIME_ARGS (expected));
}

/* What a caller sent, start to end, came out of @in and was decoded: one
 * session that ended for @end_reason and then the reconnect window, the
 * video within @video_min and @video_max frames, the audio within
 * @audio_min and @audio_max */
static void
assert_whole_stream (CfTestPipeline * p, CfTestInput * in,
    const gchar * end_reason, guint video_min, guint video_max,
    guint keyframes, guint audio_min, guint audio_max, gint width)
{
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *errors = NULL;
  const GstStructure *st;
  GstStructure *stats;
  guint64 audio, video;

  if (!CFTEST_WAIT (cftest_pipeline_got_eos (p), 10)) {
    g_autofree gchar *r = cftest_input_reasons (in);

    fail ("%s: no EOS; statuses %s, %" G_GUINT64_FORMAT " video frames",
        in->name, r, cftest_input_video_frames (in));
  }
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "%s: errors: %s", in->name,
      errors);

  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,ttl_exceeded");
  assert_status (cftest_input_get_status (in, 0, NULL), "connected",
      "connected", 1, "srt");
  st = cftest_input_get_status (in, 1, NULL);
  assert_status (st, "disconnected", "reconnecting", 1, "srt");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), end_reason);
  assert_status (cftest_input_get_status (in, 2, NULL), "disconnected",
      "ttl_exceeded", 1, "srt");
  events = cftest_input_events (in);
  fail_unless_equals_string (events, "connected:1,disconnected:1");
  assert_streamheader (in, FALSE);

  stats = cftest_input_stats (in);
  GST_INFO ("%s: stats %" GST_PTR_FORMAT, in->name, stats);
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      "srt");
  fail_unless_equals_string (cftest_stats_get_string (stats, "video-codec"),
      "h264");
  fail_unless_equals_string (cftest_stats_get_string (stats, "audio-codec"),
      "aac");
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "reconnects"), 0);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "ended");
  fail_unless (g_str_has_prefix (cftest_stats_get_string (stats,
              "remote-address"), "127.0.0.1:"));
  video = cftest_stats_get_uint64 (stats, "video-frames");
  fail_unless (video >= video_min && video <= video_max, "%s: %"
      G_GUINT64_FORMAT " video frames, expected %u to %u", in->name, video,
      video_min, video_max);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "keyframes"),
      keyframes);
  audio = cftest_stats_get_uint64 (stats, "audio-frames");
  fail_unless (audio >= audio_min && audio <= audio_max, "%s: %"
      G_GUINT64_FORMAT " audio frames, expected %u to %u (%s)", in->name, audio,
      audio_min, audio_max, gst_structure_to_string (stats));
  fail_unless (cftest_stats_get_uint64 (stats, "bytes-received") >
      cftest_stats_get_uint64 (stats, "bytes"));
  gst_structure_free (stats);

  /* the decoders were drained by the EOS */
  fail_unless_equals_uint64 (cftest_input_video_frames (in), video);
  fail_unless_equals_uint64 (cftest_input_audio_frames (in), audio);
  fail_unless_equals_int (cftest_input_video_width (in), width);
  assert_video_span (in, video);
  assert_timeline (in, FALSE);
}

/* Per media type, the first tag of session @after follows the last of
 * session @before by no more than the outage */
static void
assert_gap_within_outage (CfTestInput * in, CfTestTagType type,
    guint before, guint after)
{
  CfTestTag last, first;
  GstClockTimeDiff gap, outage;

  fail_unless (cftest_input_session_boundary (in, type, before, after,
          &last, &first), "%s: no tags of type %d in sessions %u and %u",
      in->name, type, before, after);
  gap = GST_CLOCK_DIFF (last.dts, first.dts);
  outage = (first.wall - last.wall) * GST_USECOND;
  GST_INFO ("%s: type %d: gap %" GST_STIME_FORMAT ", outage %"
      GST_STIME_FORMAT, in->name, type, GST_STIME_ARGS (gap),
      GST_STIME_ARGS (outage));
  fail_unless (gap > 0, "%s: timestamps went back by %" GST_STIME_FORMAT,
      in->name, GST_STIME_ARGS (-gap));
  fail_unless (gap <= outage + GAP_TOLERANCE, "%s: gap %" GST_STIME_FORMAT
      " for an outage of %" GST_STIME_FORMAT, in->name, GST_STIME_ARGS (gap),
      GST_STIME_ARGS (outage));
}

/* Video frame tags of @session that left the source */
static guint
session_video_tags (CfTestInput * in, guint session)
{
  guint i, n = 0;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->tags[CFTEST_TAG_VIDEO]->len; i++) {
    CfTestTag *t = &g_array_index (in->tags[CFTEST_TAG_VIDEO], CfTestTag, i);

    if (t->session == session && !(t->flags & GST_BUFFER_FLAG_HEADER) &&
        !t->end_of_sequence)
      n++;
  }
  g_mutex_unlock (&in->lock);
  return n;
}

/* Exactly one buffer is DISCONT: the first of session 2 */
static void
assert_discont_on_reconnection (CfTestInput * in)
{
  const CfTestTag *found = NULL, *first2 = NULL;
  guint type, i, n = 0;

  g_mutex_lock (&in->lock);
  for (type = 0; type < CFTEST_N_TAG_TYPES; type++) {
    for (i = 0; i < in->tags[type]->len; i++) {
      const CfTestTag *t = &g_array_index (in->tags[type], CfTestTag, i);

      if (t->flags & GST_BUFFER_FLAG_DISCONT) {
        found = t;
        n++;
      }
      if (t->session == 2 && (!first2 || t->wall < first2->wall))
        first2 = t;
    }
  }
  g_mutex_unlock (&in->lock);
  fail_unless_equals_int (n, 1);
  /* tags can leave within the same microsecond */
  fail_unless (found->session == 2 && found->wall <= first2->wall,
      "the DISCONT buffer is not the first of the new session");
}

static void
assert_no_errors (CfTestPipeline * p)
{
  g_autofree gchar *errors = cftest_pipeline_errors (p);

  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  fail_if (cftest_pipeline_got_eos (p));
}

/* --- tests --- */

/* ffmpeg calls two live inputs on one SRT port at once, with different
 * stream ids (one in the access-control form) and passphrases: each gets
 * its own stream, whole, and the output is what an RTMP encoder gives */
GST_START_TEST (test_ffmpeg_callers)
{
  CfTestInput *a, *b;
  CfTestPipeline *pa = srt_pipeline (&a, "a", 0, ID_A, PASS_A);
  CfTestPipeline *pb;
  g_autofree gchar *url_a = NULL;
  g_autofree gchar *url_b = NULL;
  CfTestProc *ff_a, *ff_b;
  GstStructure *stats;
  guint port;

  g_object_set (a->src, "reconnect-window", 1, NULL);
  fail_unless_equals_int (srt_port (a), 0);
  cftest_pipeline_play (pa);
  port = srt_port (a);
  fail_unless (port >= 1024, "srt-bound-port %u", port);
  /* SRT only: no RTMP listener */
  fail_unless_equals_int (cftest_input_port (a), 0);

  pb = srt_pipeline (&b, "b", port, ID_B, PASS_B);
  g_object_set (b->src, "reconnect-window", 1, NULL);
  cftest_pipeline_play (pb);
  fail_unless_equals_int (srt_port (b), port);

  url_a = caller_url (port, "#!::r=" ID_A ",m=publish", PASS_A);
  url_b = caller_url (port, ID_B, PASS_B);
  ff_a = ffmpeg_call (cftest_media_path (), url_a, FALSE);
  ff_b = ffmpeg_call (cftest_small_media_path (), url_b, FALSE);

  /* while it flows */
  fail_unless (cftest_input_wait_status (a, "connected", 10) != NULL);
  fail_unless (cftest_input_wait_status (b, "connected", 10) != NULL);
  fail_unless (cftest_input_wait_video_above (a, 2 * CFTEST_MEDIA_FPS, 10),
      "only %" G_GUINT64_FORMAT " video frames decoded",
      cftest_input_video_frames (a));
  stats = cftest_input_stats (a);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      "srt");
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless (cftest_stats_get_uint (stats, "bitrate") > 0);
  gst_structure_free (stats);

  /* ffmpeg sends it all and ends cleanly */
  fail_unless (cftest_proc_wait (ff_a, CFTEST_MEDIA_SECONDS + 10));
  fail_unless_equals_int (cftest_proc_exit_code (ff_a), 0);
  fail_unless (cftest_proc_wait (ff_b, 5));
  fail_unless_equals_int (cftest_proc_exit_code (ff_b), 0);

  /* each input got its own stream, told apart by size and length */
  assert_whole_stream (pa, a, "connection-closed", CFTEST_MEDIA_VIDEO_FRAMES,
      CFTEST_MEDIA_VIDEO_FRAMES, CFTEST_MEDIA_KEYFRAMES, MEDIA_AUDIO_MIN,
      MEDIA_AUDIO_MAX, CFTEST_MEDIA_WIDTH);
  assert_whole_stream (pb, b, "connection-closed", CFTEST_SMALL_VIDEO_FRAMES,
      CFTEST_SMALL_VIDEO_FRAMES, CFTEST_SMALL_VIDEO_FRAMES / 60,
      SMALL_AUDIO_MIN, SMALL_AUDIO_MAX, CFTEST_SMALL_WIDTH);

  /* as RTMP gives it: both codec headers in the caps, and the first audio
   * frame not behind the video (see assert_timeline()) */
  assert_streamheader (a, TRUE);
  assert_streamheader (b, TRUE);
  assert_timeline (a, TRUE);
  assert_timeline (b, TRUE);

  cftest_pipeline_free (pb);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

/* srt-live-transmit sends a TS file as fast as it reads it. At the end of
 * its input it keeps the connection open: idle-timeout ends it. */
GST_START_TEST (test_srt_live_transmit)
{
  CfTestInput *in;
  CfTestPipeline *p = srt_pipeline (&in, "in", 0, ID_C, PASS_C);
  g_autofree gchar *ts = make_ts (cftest_small_media_path (), "small.ts");
  g_autofree gchar *url = NULL;
  g_autofree gchar *log = NULL;
  CfTestProc *slt;
  gint fd;

  g_object_set (in->src, "reconnect-window", 1, "idle-timeout", 2, NULL);
  cftest_pipeline_play (p);
  url = caller_url (srt_port (in), ID_C, PASS_C);
  slt = slt_call_pipe (url, &fd);
  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  write_file (fd, ts);

  fail_unless (cftest_input_wait_status (in, "reconnecting", 10) != NULL);
  close (fd);
  /* it leaves once disconnected */
  fail_unless (cftest_proc_wait (slt, 5), "srt-live-transmit still runs");
  log = cftest_proc_get_log (slt);
  GST_INFO ("srt-live-transmit exited with %d: %s",
      cftest_proc_exit_code (slt), log);

  assert_whole_stream (p, in, "timeout", CFTEST_SMALL_VIDEO_FRAMES,
      CFTEST_SMALL_VIDEO_FRAMES, CFTEST_SMALL_VIDEO_FRAMES / 60,
      SMALL_AUDIO_MIN, SMALL_AUDIO_MAX, CFTEST_SMALL_WIDTH);
  cftest_pipeline_free (p);
}

GST_END_TEST;

#define SRTSINK_VIDEO_FRAMES 90
#define SRTSINK_AUDIO_BUFFERS 130

/* GStreamer's srtsink as the caller, with mpegtsmux. srtsink sends each
 * buffer as one SRT message: mpegtsmux must make them 7 packets, larger
 * ones do not arrive whole. Like ffmpeg, srtsink closes without
 * lingering at the end, and it has no setting for it: the last frames may
 * not reach the listener. */
GST_START_TEST (test_srtsink)
{
  CfTestInput *in;
  CfTestPipeline *p = srt_pipeline (&in, "in", 0, ID_D, PASS_D);
  g_autofree gchar *desc = NULL;
  g_autofree gchar *log = NULL;
  CfTestProc *launch;

  g_object_set (in->src, "reconnect-window", 1, NULL);
  cftest_pipeline_play (p);
  /* the audio source is not live, mpegtsmux paces it */
  desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=%u ! "
      "video/x-raw,width=480,height=270,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
      "h264parse ! mpegtsmux name=m alignment=7 ! "
      "srtsink uri=srt://127.0.0.1:%u?mode=caller streamid=%s passphrase=%s "
      "audiotestsrc num-buffers=%u ! audio/x-raw,rate=48000 ! "
      "audioconvert ! avenc_aac ! aacparse ! m.", SRTSINK_VIDEO_FRAMES,
      srt_port (in), ID_D, PASS_D, SRTSINK_AUDIO_BUFFERS);
  launch = cftest_gst_launch (desc);

  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  fail_unless (cftest_proc_wait (launch, 20));
  log = cftest_proc_get_log (launch);
  fail_unless (cftest_proc_exit_code (launch) == 0, "gst-launch-1.0: %s", log);

  /* 1024 samples per buffer, and the encoder's delay; the audio ends
   * first */
  assert_whole_stream (p, in, "connection-closed", SRTSINK_VIDEO_FRAMES - 5,
      SRTSINK_VIDEO_FRAMES, SRTSINK_VIDEO_FRAMES / 30,
      SRTSINK_AUDIO_BUFFERS - 2, SRTSINK_AUDIO_BUFFERS + 2, 480);
  cftest_pipeline_free (p);
}

GST_END_TEST;

/* Callers refused in the SRT handshake, all at once, while another input
 * of the port receives a stream: the wrong passphrase, none to an
 * encrypted input, one to an unencrypted input, an unknown stream id and
 * playback (m=request). Then the right ones get in. */
GST_START_TEST (test_refused_callers)
{
  CfTestInput *a, *b, *c;
  CfTestPipeline *pa = srt_pipeline (&a, "a", 0, ID_A, PASS_A);
  CfTestPipeline *pbc = cftest_pipeline_new ();
  g_autofree gchar *listen = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  /* the listen callback refuses the last two itself, libsrt the others */
  struct
  {
    const gchar *what;
    const gchar *streamid;
    const gchar *passphrase;
    const gchar *reason;
    CfTestProc *proc;
  } refused[] = {
    {"wrong passphrase", ID_B, "not-the-passphrase-of-b",
        "Incorrect passphrase"},
    {"no passphrase", ID_B, NULL, "Password required or unexpected"},
    {"passphrase to an unencrypted input", ID_C, PASS_C,
        "Password required or unexpected"},
    {"unknown stream id", "srt-input-unknown", PASS_B,
        "Application-defined rejection reason"},
    {"playback", "#!::r=" ID_B ",m=request", PASS_B,
        "Application-defined rejection reason"},
  };
  CfTestProc *ff_a, *ff_b, *ff_c;
  GstStructure *stats;
  guint64 frames;
  guint port, i;

  cftest_pipeline_play (pa);
  port = srt_port (a);
  listen = g_strdup_printf ("srt://127.0.0.1:%u", port);
  b = cftest_pipeline_add_input (pbc, "b", "srt-url", listen,
      "srt-stream-id", ID_B, "srt-passphrase", PASS_B, NULL);
  c = cftest_pipeline_add_input (pbc, "c", "srt-url", listen,
      "srt-stream-id", ID_C, NULL);
  cftest_pipeline_play (pbc);

  url = caller_url (port, ID_A, PASS_A);
  ff_a = ffmpeg_call (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (a, 15, 10),
      "the good stream does not flow");

  frames = cftest_input_video_frames (a);
  for (i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_autofree gchar *u = caller_url (port, refused[i].streamid,
        refused[i].passphrase);

    refused[i].proc = ffmpeg_call (cftest_small_media_path (), u, FALSE);
  }
  for (i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_refused (refused[i].proc, refused[i].what, refused[i].reason);
  fail_unless (cftest_input_video_frames (a) > frames,
      "input A stopped while the callers were refused");
  fail_unless_equals_int (cftest_input_n_statuses (b), 0);
  fail_unless_equals_int (cftest_input_n_statuses (c), 0);
  fail_unless_equals_uint64 (cftest_input_video_frames (b), 0);
  fail_unless_equals_uint64 (cftest_input_video_frames (c), 0);
  fail_unless_equals_string (cftest_input_status_nick (b), "idle");

  /* with the right credentials (none for C) both get in */
  g_free (url);
  url = caller_url (port, "#!::r=" ID_B ",m=publish", PASS_B);
  ff_b = ffmpeg_call (cftest_small_media_path (), url, TRUE);
  g_free (url);
  url = caller_url (port, ID_C, NULL);
  ff_c = ffmpeg_call (cftest_small_media_path (), url, TRUE);
  frames = cftest_input_video_frames (a);
  fail_unless (cftest_input_wait_video_above (b, 15, 10),
      "B does not get the stream with the right passphrase");
  fail_unless (cftest_input_wait_video_above (c, 15, 10),
      "C does not get the unencrypted stream");
  fail_unless_equals_int (cftest_input_video_width (b), CFTEST_SMALL_WIDTH);
  fail_unless (cftest_input_wait_video_above (a, frames + 15, 5),
      "input A stopped after the refused callers");

  fail_if (cftest_proc_exited (ff_a), "the good caller stopped");
  reasons = cftest_input_reasons (a);
  fail_unless_equals_string (reasons, "connected");
  stats = cftest_input_stats (a);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  gst_structure_free (stats);
  assert_status (cftest_input_get_status (b, 0, NULL), "connected",
      "connected", 1, "srt");
  assert_timeline (a, FALSE);
  assert_no_errors (pa);
  assert_no_errors (pbc);

  cftest_proc_kill (ff_a, SIGKILL);
  cftest_proc_kill (ff_b, SIGKILL);
  cftest_proc_kill (ff_c, SIGKILL);
  cftest_pipeline_free (pbc);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

/* The caller is killed and comes back within the window. A dead SRT peer
 * only shows as silence: idle-timeout ends the session. */
GST_START_TEST (test_caller_comes_back)
{
  CfTestInput *in;
  CfTestPipeline *p = srt_pipeline (&in, "in", 0, ID_A, PASS_A);
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  const GstStructure *st;
  GstStructure *stats;
  CfTestProc *ff;
  guint64 frames;
  gint64 killed, w_timeout = 0;
  gdouble after;

  g_object_set (in->src, "reconnect-window", 10, "idle-timeout", 2, NULL);
  cftest_pipeline_play (p);
  url = caller_url (srt_port (in), ID_A, PASS_A);
  ff = ffmpeg_call (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  fail_unless (cftest_input_wait_video_above (in, 45, 10));

  cftest_proc_kill (ff, SIGKILL);
  killed = g_get_monotonic_time ();
  st = cftest_input_wait_status (in, "reconnecting", 5);
  fail_unless (st != NULL, "no reconnecting status after the kill");
  cftest_input_get_status (in, 1, &w_timeout);
  after = (w_timeout - killed) / (gdouble) G_USEC_PER_SEC;
  fail_unless (after >= 1.5 && after <= 3.5,
      "the dead caller was dropped after %.2f s", after);
  assert_status (st, "disconnected", "reconnecting", 1, "srt");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "timeout");
  fail_unless_equals_string (cftest_status_get_nick (st), "reconnecting");
  fail_unless_equals_string (cftest_input_status_nick (in), "reconnecting");

  ff = ffmpeg_call (cftest_media_path (), url, TRUE);
  st = cftest_input_wait_status (in, "reconnected", 10);
  fail_unless (st != NULL, "no reconnected status");
  assert_status (st, "connected", "reconnected", 2, "srt");
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 45, 10),
      "the stream did not continue: %" G_GUINT64_FORMAT " frames",
      cftest_input_video_frames (in));

  assert_no_errors (p);
  fail_if (cftest_input_got_eos (in));
  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,reconnected");
  events = cftest_input_events (in);
  fail_unless_equals_string (events,
      "connected:1,disconnected:1,reconnected:2");
  stats = cftest_input_stats (in);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 2);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "reconnects"), 1);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      "srt");
  gst_structure_free (stats);

  /* one timeline across the outage */
  assert_timeline (in, FALSE);
  assert_gap_within_outage (in, CFTEST_TAG_VIDEO, 1, 2);
  assert_gap_within_outage (in, CFTEST_TAG_AUDIO, 1, 2);
  assert_discont_on_reconnection (in);

  cftest_proc_kill (ff, SIGKILL);
  cftest_pipeline_free (p);
}

GST_END_TEST;

/* One live input reachable over both: the RTMP encoder dies and the
 * stream comes back over SRT; then an RTMP publish takes over from the SRT
 * caller. One stream throughout. */
GST_START_TEST (test_rtmp_srt_switch)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", RTMP_KEY,
      "srt-url", "srt://127.0.0.1:0", "srt-stream-id", ID_A,
      "srt-passphrase", PASS_A, "reconnect-window", 10, NULL);
  g_autofree gchar *rtmp_url = NULL;
  g_autofree gchar *srt_url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *log = NULL;
  const GstStructure *st;
  GstStructure *stats;
  CfTestProc *rtmp, *srt;
  guint64 frames;

  cftest_pipeline_play (p);
  fail_unless (cftest_input_port (in) > 0 && srt_port (in) > 0);
  rtmp_url = cftest_input_publish_url (in, RTMP_KEY);
  srt_url = caller_url (srt_port (in), ID_A, PASS_A);

  rtmp = cftest_ffmpeg_publish (cftest_media_path (), rtmp_url, TRUE);
  st = cftest_input_wait_status (in, "connected", 10);
  assert_status (st, "connected", "connected", 1, "rtmp");
  fail_unless (cftest_input_wait_video_above (in, 45, 10));

  /* RTMP to SRT */
  cftest_proc_kill (rtmp, SIGKILL);
  st = cftest_input_wait_status (in, "reconnecting", 3);
  assert_status (st, "disconnected", "reconnecting", 1, "rtmp");
  srt = ffmpeg_call (cftest_media_path (), srt_url, TRUE);
  st = cftest_input_wait_status (in, "reconnected", 10);
  assert_status (st, "connected", "reconnected", 2, "srt");
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 45, 10),
      "the stream did not continue over SRT");
  stats = cftest_input_stats (in);
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      "srt");
  gst_structure_free (stats);

  /* SRT to RTMP: the new publish replaces the SRT caller */
  rtmp = cftest_ffmpeg_publish (cftest_media_path (), rtmp_url, TRUE);
  fail_unless (CFTEST_WAIT (cftest_input_n_statuses (in) >= 5, 10),
      "no switch back to RTMP");
  st = cftest_input_get_status (in, 3, NULL);
  assert_status (st, "disconnected", "reconnecting", 2, "srt");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "replaced");
  assert_status (cftest_input_get_status (in, 4, NULL), "connected",
      "reconnected", 3, "rtmp");
  /* the SRT caller was disconnected */
  fail_unless (cftest_proc_wait (srt, 10), "the replaced SRT caller still "
      "runs");
  log = cftest_proc_get_log (srt);
  fail_unless (cftest_proc_exit_code (srt) != 0, "ffmpeg: %s", log);
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 30, 10),
      "the stream did not continue over RTMP");

  assert_no_errors (p);
  fail_if (cftest_input_got_eos (in));
  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons,
      "connected,reconnecting,reconnected,reconnecting,reconnected");
  events = cftest_input_events (in);
  fail_unless_equals_string (events, "connected:1,disconnected:1,"
      "reconnected:2,disconnected:2,reconnected:3");
  stats = cftest_input_stats (in);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 3);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "reconnects"), 2);
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      "rtmp");
  gst_structure_free (stats);

  /* every session decoded, on one timeline */
  fail_unless (session_video_tags (in, 1) >= 45);
  fail_unless (session_video_tags (in, 2) >= 45);
  fail_unless (session_video_tags (in, 3) > 0);
  assert_timeline (in, TRUE);
  assert_gap_within_outage (in, CFTEST_TAG_VIDEO, 1, 2);
  assert_gap_within_outage (in, CFTEST_TAG_AUDIO, 1, 2);
  assert_gap_within_outage (in, CFTEST_TAG_VIDEO, 2, 3);

  cftest_proc_kill (rtmp, SIGKILL);
  cftest_pipeline_free (p);
}

GST_END_TEST;

/* Random datagrams to the SRT port, a quarter of them SRT handshakes */
static void
send_garbage (guint port, guint count)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) lo = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GError) err = NULL;
  GRand *rand = g_rand_new_with_seed (0x5e7a11);
  guint8 buf[1500];
  guint i, j, sent = 0;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, &err);
  fail_unless (sock != NULL, "socket: %s", err ? err->message : "");
  lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  addr = g_inet_socket_address_new (lo, port);
  for (i = 0; i < count; i++) {
    gsize size = g_rand_int_range (rand, 1, sizeof (buf) + 1);

    for (j = 0; j < size; j++)
      buf[j] = g_rand_int_range (rand, 0, 256);
    if (i % 4 == 0 && size >= 16) {
      /* control packet, type 0 (handshake), to the listener (id 0) */
      buf[0] = 0x80;
      buf[1] = 0x00;
      memset (buf + 12, 0, 4);
    }
    if (g_socket_send_to (sock, addr, (const gchar *) buf, size, NULL,
            NULL) > 0)
      sent++;
    /* a little air for the real packets now and then */
    if (i % 200 == 199)
      g_usleep (2000);
  }
  g_rand_free (rand);
  GST_INFO ("sent %u of %u garbage datagrams", sent, count);
}

/* A TS file with a byte flipped every 400 to 600 bytes */
static gchar *
make_broken_ts (const gchar * ts)
{
  g_autoptr (GError) err = NULL;
  gchar *path = g_build_filename (cftest_tmpdir (), "broken.ts", NULL);
  GRand *rand = g_rand_new_with_seed (0xb0c3);
  gchar *data = NULL;
  gsize size = 0, pos;

  fail_unless (g_file_get_contents (ts, &data, &size, &err), "%s",
      err ? err->message : "");
  for (pos = 400; pos < size; pos += g_rand_int_range (rand, 400, 601))
    data[pos] ^= 1 << g_rand_int_range (rand, 0, 8);
  fail_unless (g_file_set_contents (path, data, size, &err), "%s",
      err ? err->message : "");
  g_free (data);
  g_rand_free (rand);
  return path;
}

/* Hostile and broken callers on the port of an input receiving a good
 * stream, all at once: garbage datagrams, a caller that sends nothing, one
 * sending MPEG-2 video and MP2 audio, one sending a damaged TS file, which
 * the same input then gets whole from a good caller. */
GST_START_TEST (test_bad_input)
{
  CfTestInput *a, *b, *c, *d;
  CfTestPipeline *pa = srt_pipeline (&a, "a", 0, ID_A, PASS_A);
  CfTestPipeline *pbc = cftest_pipeline_new ();
  CfTestPipeline *pd;
  g_autofree gchar *listen = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *ts = make_ts (cftest_small_media_path (), "small.ts");
  g_autofree gchar *broken = make_broken_ts (ts);
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  const GstStructure *st;
  const gchar *detail;
  CfTestProc *ff_a, *silent, *mpeg2, *damaged, *good;
  gint silent_pipe[2], damaged_fd;
  gint64 since, w_closed = 0;
  gdouble after;
  guint64 frames;
  guint port;

  cftest_pipeline_play (pa);
  port = srt_port (a);
  listen = g_strdup_printf ("srt://127.0.0.1:%u", port);
  b = cftest_pipeline_add_input (pbc, "b", "srt-url", listen,
      "srt-stream-id", ID_B, "srt-passphrase", PASS_B, "idle-timeout", 2, NULL);
  c = cftest_pipeline_add_input (pbc, "c", "srt-url", listen,
      "srt-stream-id", ID_C, "srt-passphrase", PASS_C, NULL);
  cftest_pipeline_play (pbc);
  /* D in a pipeline of its own: its decoders may complain */
  pd = srt_pipeline (&d, "d", port, ID_D, PASS_D);
  g_object_set (d->src, "idle-timeout", 2, NULL);
  cftest_pipeline_play (pd);

  url = caller_url (port, ID_A, PASS_A);
  ff_a = ffmpeg_call (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (a, 15, 10),
      "the good stream does not flow");
  frames = cftest_input_video_frames (a);

  /* a caller that connects and sends nothing: its stdin never gets
   * anything */
  fail_unless (g_unix_open_pipe (silent_pipe, FD_CLOEXEC, NULL));
  g_free (url);
  url = caller_url (port, ID_B, PASS_B);
  silent = slt_call (url, silent_pipe[0]);
  close (silent_pipe[0]);
  since = g_get_monotonic_time ();

  /* MPEG-2 video and MP2 audio */
  {
    g_autofree gchar *u = caller_url (port, ID_C, PASS_C);
    gchar *argv[] = {
      (gchar *) "ffmpeg", (gchar *) "-hide_banner", (gchar *) "-nostdin",
      (gchar *) "-loglevel", (gchar *) "warning", (gchar *) "-re",
      (gchar *) "-f", (gchar *) "lavfi", (gchar *) "-i",
      (gchar *) "testsrc2=size=320x180:rate=30",
      (gchar *) "-f", (gchar *) "lavfi", (gchar *) "-i",
      (gchar *) "sine=frequency=440:sample_rate=48000", (gchar *) "-t",
      (gchar *) "5", (gchar *) "-c:v", (gchar *) "mpeg2video",
      (gchar *) "-c:a", (gchar *) "mp2", (gchar *) "-f", (gchar *) "mpegts",
      u, NULL
    };

    mpeg2 = cftest_spawn ("ffmpeg-mpeg2", argv);
  }

  /* the damaged file, at once */
  g_free (url);
  url = caller_url (port, ID_D, PASS_D);
  damaged = slt_call_pipe (url, &damaged_fd);
  fail_unless (cftest_input_wait_status (d, "connected", 10) != NULL);
  write_file (damaged_fd, broken);

  send_garbage (port, 3000);
  fail_unless (cftest_input_wait_video_above (a, frames, 2),
      "input A stopped during the garbage");

  /* the MPEG-2 caller is dropped, with the reason */
  st = cftest_input_wait_status (c, "reconnecting", 5);
  fail_unless (st != NULL, "the MPEG-2 caller was not dropped");
  assert_status (st, "disconnected", "reconnecting", 1, "srt");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "protocol-error");
  detail = gst_structure_get_string (st, "detail");
  fail_unless (detail && strstr (detail, "MPEG-2 video"), "detail: %s",
      GST_STR_NULL (detail));
  fail_unless_equals_uint64 (cftest_input_video_frames (c), 0);
  /* closed, not only detached: the caller notices before its 5 s */
  fail_unless (cftest_proc_wait (mpeg2, 3), "the MPEG-2 caller still runs");
  fail_unless (cftest_proc_exit_code (mpeg2) != 0);

  /* the silent caller is dropped after idle-timeout */
  st = cftest_input_wait_status (b, "reconnecting", 5);
  fail_unless (st != NULL, "the silent caller is still connected after "
      "%.1f s", cftest_seconds_since (since));
  cftest_input_get_status (b, 1, &w_closed);
  after = (w_closed - since) / (gdouble) G_USEC_PER_SEC;
  fail_unless (after >= 1.9 && after <= 3.5,
      "the silent caller was dropped after %.2f s", after);
  assert_status (st, "disconnected", "reconnecting", 1, "srt");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "timeout");
  fail_unless_equals_uint64 (cftest_input_video_frames (b), 0);
  fail_unless (cftest_proc_wait (silent, 3), "the silent caller was not "
      "disconnected");

  /* the damaged file went in, and the connection ended: by idle-timeout,
   * or before if the remuxer gave up; the same input then takes a good
   * stream */
  st = cftest_input_wait_status (d, "reconnecting", 5);
  fail_unless (st != NULL, "the damaged stream did not end");
  GST_INFO ("damaged stream: %" G_GUINT64_FORMAT " video frames decoded, "
      "ended by %s (%s)", cftest_input_video_frames (d),
      gst_structure_get_string (st, "disconnect-reason"),
      GST_STR_NULL (gst_structure_get_string (st, "detail")));
  close (damaged_fd);
  cftest_proc_kill (damaged, SIGKILL);
  fail_unless (cftest_input_wait_video_above (a, frames + 30, 3),
      "input A stopped during the bad callers");
  g_free (url);
  url = caller_url (port, ID_D, PASS_D);
  good = ffmpeg_call (cftest_small_media_path (), url, TRUE);
  st = cftest_input_wait_status (d, "reconnected", 10);
  fail_unless (st != NULL, "the good caller did not reach D");
  frames = cftest_input_video_frames (d);
  fail_unless (cftest_input_wait_video_above (d, frames + 30, 10),
      "D decodes nothing after the damaged stream");
  if (cftest_pipeline_n_errors (pd) > 0) {
    g_autofree gchar *errors = cftest_pipeline_errors (pd);

    GST_INFO ("D's decoders: %s", errors);
  }

  /* A went on during all of it, and after */
  frames = cftest_input_video_frames (a);
  fail_unless (cftest_input_wait_video_above (a, frames + 15, 5),
      "input A stopped");
  fail_if (cftest_proc_exited (ff_a), "the good caller stopped");
  reasons = cftest_input_reasons (a);
  fail_unless_equals_string (reasons, "connected");
  events = cftest_input_events (a);
  fail_unless_equals_string (events, "connected:1");
  assert_timeline (a, FALSE);
  assert_no_errors (pa);
  assert_no_errors (pbc);

  close (silent_pipe[1]);
  cftest_proc_kill (good, SIGKILL);
  cftest_proc_kill (ff_a, SIGKILL);
  cftest_pipeline_free (pd);
  cftest_pipeline_free (pbc);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

/* Starts a pipeline whose input must fail to start, with @message in the
 * error */
static void
assert_start_fails (CfTestPipeline * p, const gchar * message)
{
  g_autofree gchar *errors = NULL;

  fail_unless_equals_int (gst_element_set_state (p->pipeline,
          GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  errors = cftest_pipeline_errors (p);
  fail_unless (strstr (errors, message) != NULL, "errors: %s", errors);
  cftest_pipeline_free (p);
}

/* Settings an SRT input refuses to start with; they leave the running
 * input of the port alone */
GST_START_TEST (test_bad_settings)
{
  CfTestInput *a, *in;
  CfTestPipeline *pa = srt_pipeline (&a, "a", 0, ID_A, PASS_A);
  CfTestPipeline *p;
  g_autofree gchar *listen = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *long_passphrase = g_strnfill (80, 'p');
  CfTestProc *ff;

  cftest_pipeline_play (pa);
  listen = g_strdup_printf ("srt://127.0.0.1:%u", srt_port (a));

  p = srt_pipeline (&in, "short", 0, ID_B, "123456789");
  assert_start_fails (p, "needs 10 to 79");
  p = srt_pipeline (&in, "long", 0, ID_B, long_passphrase);
  assert_start_fails (p, "needs 10 to 79");
  p = cftest_pipeline_new ();
  cftest_pipeline_add_input (p, "no-id", "srt-url", listen, NULL);
  assert_start_fails (p, "SRT needs a stream id");
  p = srt_pipeline (&in, "same-id", srt_port (a), ID_A, PASS_B);
  assert_start_fails (p, "already uses the stream id");
  p = srt_pipeline (&in, "bad-url", 0, ID_B, PASS_B);
  g_object_set (in->src, "srt-url", "srt://127.0.0.1", NULL);
  assert_start_fails (p, "needs a host and a port");

  /* the input of the port still takes its caller */
  url = caller_url (srt_port (a), ID_A, PASS_A);
  ff = ffmpeg_call (cftest_small_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (a, 15, 10),
      "the input of the port does not get its stream any more");
  assert_no_errors (pa);
  cftest_proc_kill (ff, SIGKILL);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

static Suite *
srt_suite (void)
{
  Suite *s = suite_create ("integration-srt");
  TCase *tc = tcase_create ("srt");
  g_autofree gchar *slt = g_find_program_in_path ("srt-live-transmit");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_ffmpeg_callers);
  if (slt)
    tcase_add_test (tc, test_srt_live_transmit);
  else
    g_printerr ("srt-live-transmit is missing: skipping its tests\n");
  if (cftest_have_elements ("videotestsrc", "x264enc", "mpegtsmux",
          "srtsink", "audiotestsrc", "audioconvert", "avenc_aac", NULL))
    tcase_add_test (tc, test_srtsink);
  else
    g_printerr ("skipping test_srtsink\n");
  tcase_add_test (tc, test_refused_callers);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_caller_comes_back);
  tcase_add_test (tc, test_rtmp_srt_switch);
  if (slt)
    tcase_add_test (tc, test_bad_input);
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, CFTEST_NEED_SMALL_MEDIA, srt_suite,
      "integration-srt", __FILE__);
}
