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

/* A whole publish, start to end: ffmpeg over rtmp:// and rtmps://, and
 * GStreamer's rtmp2sink. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "cftest.h"

#define KEY "ingest-key-4f1d"

/* Frames the decoders may still hold when no EOS drained them */
#define DECODER_SLACK 3

static void
assert_status (const GstStructure * s, const gchar * state,
    const gchar * reason, guint session, const gchar * protocol)
{
  guint v = 0;
  const gchar *remote;

  fail_unless (s != NULL, "no status with reason %s", reason);
  fail_unless_equals_string (gst_structure_get_string (s, "state"), state);
  fail_unless_equals_string (gst_structure_get_string (s, "reason"), reason);
  fail_unless (gst_structure_get_uint (s, "session", &v));
  fail_unless_equals_int (v, session);
  fail_unless_equals_string (gst_structure_get_string (s, "protocol"),
      protocol);
  remote = gst_structure_get_string (s, "remote-address");
  fail_unless (remote && g_str_has_prefix (remote, "127.0.0.1:"),
      "remote-address %s", GST_STR_NULL (remote));
  fail_unless (gst_structure_has_field_typed (s, "timestamp", G_TYPE_UINT64));
}

/* Checks the caps hold the FLV header, the metadata and both codec
 * headers */
static void
assert_streamheader (CfTestInput * in)
{
  GstCaps *caps = cftest_input_caps (in);
  const GValue *sh;
  GstBuffer *first;
  GstMapInfo map;
  guint i;

  fail_unless (caps != NULL);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-flv"));
  sh = gst_structure_get_value (gst_caps_get_structure (caps, 0),
      "streamheader");
  fail_unless (sh != NULL && GST_VALUE_HOLDS_ARRAY (sh), "caps %s",
      gst_caps_to_string (caps));
  fail_unless_equals_int (gst_value_array_get_size (sh), 4);
  for (i = 0; i < 4; i++) {
    GstBuffer *b = gst_value_get_buffer (gst_value_array_get_value (sh, i));

    fail_unless (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_HEADER));
  }
  first = gst_value_get_buffer (gst_value_array_get_value (sh, 0));
  fail_unless (gst_buffer_map (first, &map, GST_MAP_READ));
  fail_unless (map.size >= 9 && memcmp (map.data, "FLV", 3) == 0);
  /* audio and video present */
  fail_unless_equals_int (map.data[4], 0x05);
  gst_buffer_unmap (first, &map);
  gst_caps_unref (caps);
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
      "video spans %" GST_STIME_FORMAT ", expected %" GST_STIME_FORMAT,
      GST_STIME_ARGS (span), GST_STIME_ARGS (expected));
}

static void
run_ffmpeg_ingest (gboolean tls)
{
  const gchar *protocol = tls ? "rtmps" : "rtmp";
  g_autofree gchar *listen = g_strdup_printf ("%s://127.0.0.1:0/%s",
      protocol, CFTEST_APP);
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *problems = NULL;
  g_autofree gchar *errors = NULL;
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  CfTestProc *ff;
  GstStructure *stats;
  const GstStructure *st;
  guint64 video, audio, bytes, bitrate;
  gint64 t_disconnected = 0, t_ended = 0;

  if (tls)
    in = cftest_pipeline_add_input (p, "in", "rtmp-url", listen,
        "stream-key", KEY, "tls-certificate", cftest_cert_path (),
        "tls-key", cftest_key_path (), "reconnect-window", 1, NULL);
  else
    in = cftest_pipeline_add_input (p, "in", "rtmp-url", listen,
        "stream-key", KEY, "reconnect-window", 1, NULL);
  cftest_pipeline_play (p);
  fail_unless (cftest_input_port (in) > 0);
  url = cftest_input_publish_url (in, KEY);
  fail_unless (g_str_has_prefix (url, protocol));

  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);

  /* while it flows */
  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  fail_unless (cftest_input_wait_video_above (in, 3 * CFTEST_MEDIA_FPS, 10),
      "only %" G_GUINT64_FORMAT " video frames decoded",
      cftest_input_video_frames (in));
  stats = cftest_input_stats (in);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  fail_unless_equals_string (cftest_stats_get_string (stats, "protocol"),
      protocol);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  bitrate = cftest_stats_get_uint (stats, "bitrate");
  /* tag bodies over the last three seconds against the file's average */
  fail_unless (bitrate > cftest_media_bitrate () / 3 &&
      bitrate < cftest_media_bitrate () * 3,
      "bitrate %" G_GUINT64_FORMAT " while the media has %" G_GUINT64_FORMAT,
      bitrate, cftest_media_bitrate ());
  fail_unless (g_str_has_prefix (cftest_stats_get_string (stats,
              "remote-address"), "127.0.0.1:"));
  fail_unless (strstr (cftest_stats_get_string (stats, "encoder"), "Lavf"),
      "encoder '%s'", cftest_stats_get_string (stats, "encoder"));
  gst_structure_free (stats);

  /* ffmpeg sends it all and ends cleanly */
  fail_unless (cftest_proc_wait (ff, CFTEST_MEDIA_SECONDS + 10));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);

  /* the reconnect window of 1 s passes: ttl_exceeded, then EOS */
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 5));
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  fail_unless (cftest_input_got_eos (in));

  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,ttl_exceeded");
  assert_status (cftest_input_get_status (in, 0, NULL), "connected",
      "connected", 1, protocol);
  st = cftest_input_get_status (in, 1, &t_disconnected);
  assert_status (st, "disconnected", "reconnecting", 1, protocol);
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "unpublished");
  st = cftest_input_get_status (in, 2, &t_ended);
  assert_status (st, "disconnected", "ttl_exceeded", 1, protocol);
  fail_unless (t_ended - t_disconnected >= 900 * 1000 &&
      t_ended - t_disconnected < 2500 * 1000,
      "ttl_exceeded %.2f s after the disconnection",
      (t_ended - t_disconnected) / 1e6);
  fail_unless (p->eos_wall >= t_ended);

  events = cftest_input_events (in);
  fail_unless_equals_string (events, "connected:1,disconnected:1");
  assert_streamheader (in);

  /* every frame went through, in order */
  stats = cftest_input_stats (in);
  GST_INFO ("stats %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "video-frames"),
      CFTEST_MEDIA_VIDEO_FRAMES);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "keyframes"),
      CFTEST_MEDIA_KEYFRAMES);
  audio = cftest_stats_get_uint64 (stats, "audio-frames");
  fail_unless (audio >= CFTEST_MEDIA_AUDIO_FRAMES &&
      audio <= CFTEST_MEDIA_AUDIO_FRAMES + 3, "%" G_GUINT64_FORMAT
      " audio frames", audio);
  fail_unless_equals_string (cftest_stats_get_string (stats, "video-codec"),
      "h264");
  fail_unless_equals_string (cftest_stats_get_string (stats, "audio-codec"),
      "aac");
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "reconnects"), 0);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats,
          "refused-publishes"), 0);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "ended");
  bytes = cftest_stats_get_uint64 (stats, "bytes");
  fail_unless (bytes > cftest_media_bitrate () * CFTEST_MEDIA_SECONDS / 8 / 2
      && bytes < cftest_media_bitrate () * CFTEST_MEDIA_SECONDS / 8,
      "%" G_GUINT64_FORMAT " bytes of tags", bytes);
  fail_unless (cftest_stats_get_uint64 (stats, "bytes-received") > bytes);
  gst_structure_free (stats);

  /* the decoders were drained by the EOS */
  video = cftest_input_video_frames (in);
  fail_unless_equals_uint64 (video, CFTEST_MEDIA_VIDEO_FRAMES);
  fail_unless_equals_uint64 (cftest_input_audio_frames (in), audio);
  fail_unless_equals_int (cftest_input_video_width (in), CFTEST_MEDIA_WIDTH);
  assert_video_span (in, CFTEST_MEDIA_VIDEO_FRAMES);
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);

  cftest_pipeline_free (p);
}

GST_START_TEST (test_ffmpeg_rtmp)
{
  run_ffmpeg_ingest (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_ffmpeg_rtmps)
{
  run_ffmpeg_ingest (TRUE);
}

GST_END_TEST;

/* A plain rtmp:// client on an rtmps:// port is closed and changes
 * nothing */
GST_START_TEST (test_rtmps_refuses_plain)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmps://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "tls-certificate", cftest_cert_path (), "tls-key", cftest_key_path (),
      NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *log = NULL;
  CfTestProc *ff;

  cftest_pipeline_play (p);
  url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s/%s", cftest_input_port (in),
      CFTEST_APP, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 15));
  log = cftest_proc_get_log (ff);
  fail_unless (cftest_proc_exit_code (ff) != 0, "ffmpeg: %s", log);
  fail_unless_equals_int (cftest_input_n_statuses (in), 0);
  fail_unless_equals_uint64 (cftest_input_video_frames (in), 0);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  cftest_pipeline_free (p);
}

GST_END_TEST;

/* Port 0 picks a free port for each input, not the default port */
GST_START_TEST (test_port_zero)
{
  CfTestPipeline *pa = cftest_pipeline_new ();
  CfTestPipeline *pb = cftest_pipeline_new ();
  CfTestInput *a = cftest_pipeline_add_input (pa, "a", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY, NULL);
  CfTestInput *b = cftest_pipeline_add_input (pb, "b", "rtmp-url",
      "rtmps://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "tls-certificate", cftest_cert_path (), "tls-key", cftest_key_path (),
      NULL);

  fail_unless_equals_int (cftest_input_port (a), 0);
  cftest_pipeline_play (pa);
  cftest_pipeline_play (pb);
  fail_unless (cftest_input_port (a) >= 1024 && cftest_input_port (a) != 1935,
      "rtmp:// port 0 listens on %u", cftest_input_port (a));
  fail_unless (cftest_input_port (b) >= 1024 && cftest_input_port (b) != 443
      && cftest_input_port (b) != cftest_input_port (a),
      "rtmps:// port 0 listens on %u", cftest_input_port (b));
  cftest_pipeline_free (pb);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

#define RTMP2SINK_VIDEO_FRAMES 90

GST_START_TEST (test_rtmp2sink)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", 1, NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *desc = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *problems = NULL;
  g_autofree gchar *log = NULL;
  CfTestProc *launch;
  GstStructure *stats;
  const GstStructure *st;
  guint64 audio;

  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  /* the audio source is not live: flvmux paces it, and a live one can
   * get two audio frames the same millisecond timestamp from flvmux when
   * the machine is busy, which would fail the timestamp checks for a
   * reason that is not ours */
  desc = g_strdup_printf ("videotestsrc is-live=true num-buffers=%u ! "
      "video/x-raw,width=320,height=180,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
      "h264parse ! flvmux name=m streamable=true ! rtmp2sink location=%s "
      "audiotestsrc num-buffers=130 ! audio/x-raw,rate=48000 ! "
      "audioconvert ! avenc_aac ! aacparse ! m.", RTMP2SINK_VIDEO_FRAMES, url);
  launch = cftest_gst_launch (desc);

  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  fail_unless (cftest_proc_wait (launch, 20));
  log = cftest_proc_get_log (launch);
  fail_unless (cftest_proc_exit_code (launch) == 0, "gst-launch-1.0: %s", log);
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 5));
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);

  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,ttl_exceeded");
  st = cftest_input_get_status (in, 0, NULL);
  assert_status (st, "connected", "connected", 1, "rtmp");
  /* rtmp2sink calls itself by a Flash Player version */
  fail_unless (strlen (gst_structure_get_string (st, "encoder")) > 0);
  assert_status (cftest_input_get_status (in, 1, NULL), "disconnected",
      "reconnecting", 1, "rtmp");

  stats = cftest_input_stats (in);
  GST_INFO ("stats %" GST_PTR_FORMAT, stats);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "video-frames"),
      RTMP2SINK_VIDEO_FRAMES);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "keyframes"),
      RTMP2SINK_VIDEO_FRAMES / 30);
  audio = cftest_stats_get_uint64 (stats, "audio-frames");
  /* 130 buffers of 1024 samples and the encoder's delay */
  fail_unless (audio >= 130 && audio <= 132, "%" G_GUINT64_FORMAT
      " audio frames", audio);
  fail_unless_equals_string (cftest_stats_get_string (stats, "video-codec"),
      "h264");
  fail_unless_equals_string (cftest_stats_get_string (stats, "audio-codec"),
      "aac");
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  gst_structure_free (stats);

  fail_unless_equals_uint64 (cftest_input_video_frames (in),
      RTMP2SINK_VIDEO_FRAMES);
  fail_unless (cftest_input_audio_frames (in) + DECODER_SLACK >= audio);
  fail_unless_equals_int (cftest_input_video_width (in), 320);
  assert_video_span (in, RTMP2SINK_VIDEO_FRAMES);
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);

  cftest_pipeline_free (p);
}

GST_END_TEST;

static Suite *
ingest_suite (void)
{
  Suite *s = suite_create ("integration-ingest");
  TCase *tc = tcase_create ("ingest");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_port_zero);
  tcase_add_test (tc, test_ffmpeg_rtmp);
  tcase_add_test (tc, test_ffmpeg_rtmps);
  tcase_add_test (tc, test_rtmps_refuses_plain);
  if (cftest_have_elements ("videotestsrc", "x264enc", "flvmux",
          "rtmp2sink", "audiotestsrc", "audioconvert", "avenc_aac", NULL))
    tcase_add_test (tc, test_rtmp2sink);
  else
    g_printerr ("skipping test_rtmp2sink\n");
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, CFTEST_NEED_CERTIFICATE, ingest_suite,
      "integration-ingest", __FILE__);
}
