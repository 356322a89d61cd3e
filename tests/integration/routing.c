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

/* Live inputs sharing a port: each key reaches its own input, a wrong key
 * reaches none, and a disabled input refuses its encoder. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <string.h>

#include "cftest.h"

#define KEY_A "routing-key-a-5e02"
#define KEY_B "routing-key-b-c7d1"
#define KEY_WRONG "routing-key-a-5e03"

/* Frames the decoders may still hold when no EOS drained them */
#define DECODER_SLACK 3

static void
assert_input_got (CfTestInput * in, guint video_frames, gint width)
{
  g_autofree gchar *problems = NULL;
  g_autofree gchar *reasons = NULL;
  GstStructure *stats = cftest_input_stats (in);
  guint64 decoded, audio;

  GST_INFO ("%s: %" GST_PTR_FORMAT, in->name, stats);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "video-frames"),
      video_frames);
  audio = cftest_stats_get_uint64 (stats, "audio-frames");
  fail_unless (audio >= video_frames * 48000 / 1024 / CFTEST_MEDIA_FPS &&
      audio <= video_frames * 48000 / 1024 / CFTEST_MEDIA_FPS + 3,
      "%s: %" G_GUINT64_FORMAT " audio frames for %u video frames",
      in->name, audio, video_frames);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats,
          "refused-publishes"), 1);
  gst_structure_free (stats);

  decoded = cftest_input_video_frames (in);
  fail_unless (decoded + DECODER_SLACK >= video_frames &&
      decoded <= video_frames, "%s decoded %" G_GUINT64_FORMAT " of %u "
      "frames", in->name, decoded, video_frames);
  fail_unless (cftest_input_audio_frames (in) + DECODER_SLACK >= audio);
  fail_unless_equals_int (cftest_input_video_width (in), width);
  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting");
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s: %s", in->name, problems);
}

static void
run_routing (gboolean two_pipelines)
{
  CfTestPipeline *pa, *pb;
  CfTestInput *a, *b;
  CfTestProc *ffa, *ffb, *bad;
  g_autofree gchar *listen = NULL;
  g_autofree gchar *url_a = NULL;
  g_autofree gchar *url_b = NULL;
  g_autofree gchar *url_bad = NULL;
  g_autofree gchar *log = NULL;
  guint64 fa, fb;
  guint port;

  if (two_pipelines) {
    pa = cftest_pipeline_new ();
    a = cftest_pipeline_add_input (pa, "a", "rtmp-url",
        "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY_A,
        "reconnect-window", -1, NULL);
    cftest_pipeline_play (pa);
    port = cftest_input_port (a);
    listen = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", port, CFTEST_APP);
    pb = cftest_pipeline_new ();
    b = cftest_pipeline_add_input (pb, "b", "rtmp-url", listen,
        "stream-key", KEY_B, "reconnect-window", -1, NULL);
    cftest_pipeline_play (pb);
  } else {
    port = cftest_free_port ();
    listen = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", port, CFTEST_APP);
    pa = pb = cftest_pipeline_new ();
    a = cftest_pipeline_add_input (pa, "a", "rtmp-url", listen,
        "stream-key", KEY_A, "reconnect-window", -1, NULL);
    b = cftest_pipeline_add_input (pa, "b", "rtmp-url", listen,
        "stream-key", KEY_B, "reconnect-window", -1, NULL);
    cftest_pipeline_play (pa);
  }
  fail_unless_equals_int (cftest_input_port (a), port);
  fail_unless_equals_int (cftest_input_port (b), port);

  /* A gets the big picture, B the small one */
  url_a = cftest_input_publish_url (a, KEY_A);
  url_b = cftest_input_publish_url (b, KEY_B);
  url_bad = cftest_input_publish_url (a, KEY_WRONG);
  ffa = cftest_ffmpeg_publish (cftest_media_path (), url_a, FALSE);
  ffb = cftest_ffmpeg_publish (cftest_small_media_path (), url_b, FALSE);
  fail_unless (cftest_input_wait_video_above (a, 30, 10));
  fail_unless (cftest_input_wait_video_above (b, 30, 10));

  /* a key one character off */
  fa = cftest_input_video_frames (a);
  fb = cftest_input_video_frames (b);
  bad = cftest_ffmpeg_publish (cftest_media_path (), url_bad, FALSE);
  fail_unless (cftest_proc_wait (bad, 10), "the wrong key was not refused");
  log = cftest_proc_get_log (bad);
  fail_unless (cftest_proc_exit_code (bad) != 0, "ffmpeg: %s", log);
  fail_unless (strstr (log, "Unknown stream key") != NULL, "ffmpeg: %s", log);
  /* both kept flowing while it was refused, and after */
  fail_unless (cftest_input_wait_video_above (a, fa, 1));
  fail_unless (cftest_input_wait_video_above (b, fb, 1));
  fa = cftest_input_video_frames (a);
  fb = cftest_input_video_frames (b);
  fail_unless (cftest_input_wait_video_above (a, fa + 15, 2));
  fail_unless (cftest_input_wait_video_above (b, fb + 15, 2));
  fail_unless_equals_int (cftest_input_n_statuses (a), 1);
  fail_unless_equals_int (cftest_input_n_statuses (b), 1);

  fail_unless (cftest_proc_wait (ffa, CFTEST_MEDIA_SECONDS + 10));
  fail_unless (cftest_proc_wait (ffb, CFTEST_SMALL_SECONDS + 10));
  fail_unless_equals_int (cftest_proc_exit_code (ffa), 0);
  fail_unless_equals_int (cftest_proc_exit_code (ffb), 0);
  fail_unless (cftest_input_wait_status (a, "reconnecting", 5) != NULL);
  fail_unless (cftest_input_wait_status (b, "reconnecting", 5) != NULL);

  /* each input got its own stream, whole */
  assert_input_got (a, CFTEST_MEDIA_VIDEO_FRAMES, CFTEST_MEDIA_WIDTH);
  assert_input_got (b, CFTEST_SMALL_VIDEO_FRAMES, CFTEST_SMALL_WIDTH);
  fail_unless_equals_int (cftest_pipeline_n_errors (pa), 0);
  fail_unless_equals_int (cftest_pipeline_n_errors (pb), 0);
  fail_if (cftest_pipeline_got_eos (pa));
  fail_if (cftest_pipeline_got_eos (pb));

  if (pb != pa)
    cftest_pipeline_free (pb);
  cftest_pipeline_free (pa);
}

GST_START_TEST (test_two_inputs_one_pipeline)
{
  run_routing (FALSE);
}

GST_END_TEST;

GST_START_TEST (test_two_inputs_two_pipelines)
{
  run_routing (TRUE);
}

GST_END_TEST;

/* The same key twice on one port is a configuration error */
GST_START_TEST (test_same_key_twice)
{
  CfTestPipeline *pa = cftest_pipeline_new ();
  CfTestPipeline *pb = cftest_pipeline_new ();
  CfTestInput *a = cftest_pipeline_add_input (pa, "a", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY_A, NULL);
  g_autofree gchar *listen = NULL;
  g_autofree gchar *errors = NULL;

  cftest_pipeline_play (pa);
  listen = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", cftest_input_port (a),
      CFTEST_APP);
  cftest_pipeline_add_input (pb, "b", "rtmp-url", listen, "stream-key",
      KEY_A, NULL);
  fail_unless_equals_int (gst_element_set_state (pb->pipeline,
          GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  errors = cftest_pipeline_errors (pb);
  fail_unless (strstr (errors, "already uses this stream key") != NULL,
      "errors: %s", errors);
  fail_unless_equals_int (cftest_pipeline_n_errors (pa), 0);
  cftest_pipeline_free (pb);
  cftest_pipeline_free (pa);
}

GST_END_TEST;

/* TRUE while something listens on 127.0.0.1:@port */
static gboolean
port_listens (guint port)
{
  g_autofree gchar *tcp = NULL;
  g_autofree gchar *needle = g_strdup_printf ("0100007F:%04X 00000000:0000 0A",
      port);

  fail_unless (g_file_get_contents ("/proc/net/tcp", &tcp, NULL, NULL));
  return strstr (tcp, needle) != NULL;
}

/* The last element on a port stops: the listener stays open for a while,
 * an element started again on the port takes it over and gets encoders,
 * and it closes once nobody took it; a port given as 0 closes at once */
GST_START_TEST (test_listener_linger)
{
  guint port = cftest_free_port ();
  g_autofree gchar *listen = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", port,
      CFTEST_APP);
  g_autofree gchar *url = NULL;
  CfTestPipeline *pa = cftest_pipeline_new ();
  CfTestPipeline *pb, *pc;
  CfTestInput *b, *c;
  CfTestProc *ff;
  guint ephemeral;

  cftest_pipeline_add_input (pa, "a", "rtmp-url", listen, "stream-key",
      KEY_A, NULL);
  cftest_pipeline_play (pa);
  fail_unless (port_listens (port));
  cftest_pipeline_free (pa);
  fail_unless (port_listens (port), "closed as its last element stopped");

  pb = cftest_pipeline_new ();
  b = cftest_pipeline_add_input (pb, "b", "rtmp-url", listen, "stream-key",
      KEY_B, NULL);
  cftest_pipeline_play (pb);
  url = cftest_input_publish_url (b, KEY_B);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (b, 10, 20),
      "the element started again gets no stream");
  cftest_proc_kill (ff, SIGTERM);
  cftest_pipeline_free (pb);

  /* nobody takes it: closed after the linger */
  fail_unless (port_listens (port));
  fail_unless (CFTEST_WAIT (!port_listens (port), 5),
      "still listening long after its last element stopped");

  pc = cftest_pipeline_new ();
  c = cftest_pipeline_add_input (pc, "c", "rtmp-url", "rtmp://127.0.0.1:0/"
      CFTEST_APP, "stream-key", KEY_A, NULL);
  cftest_pipeline_play (pc);
  ephemeral = cftest_input_port (c);
  fail_unless (port_listens (ephemeral));
  cftest_pipeline_free (pc);
  /* closed at once; the kernel lets the socket go when the I/O thread's
   * poll() that still watches it returns, a moment later */
  fail_unless (CFTEST_WAIT (!port_listens (ephemeral), 0.5),
      "a port 0 listener lingers");
}

GST_END_TEST;

GST_START_TEST (test_enabled)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY_A, NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *log1 = NULL;
  g_autofree gchar *log2 = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *problems = NULL;
  const GstStructure *st;
  GstStructure *stats;
  CfTestProc *ff;
  guint64 frames;
  guint session = 0;

  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY_A);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (in, 30, 10));

  /* disabling drops the encoder */
  g_object_set (in->src, "enabled", FALSE, NULL);
  st = cftest_input_wait_status (in, "disabled", 5);
  fail_unless (st != NULL, "no disabled status");
  fail_unless_equals_string (gst_structure_get_string (st, "state"),
      "disconnected");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "disabled");
  fail_unless_equals_string (cftest_status_get_nick (st), "disabled");
  fail_unless (gst_structure_get_uint (st, "session", &session));
  fail_unless_equals_int (session, 1);
  fail_unless (cftest_proc_wait (ff, 5), "the encoder was not dropped");
  log1 = cftest_proc_get_log (ff);
  fail_unless (cftest_proc_exit_code (ff) != 0, "ffmpeg: %s", log1);

  /* nothing flows any more */
  stats = cftest_input_stats (in);
  frames = cftest_stats_get_uint64 (stats, "video-frames");
  gst_structure_free (stats);
  g_usleep (G_USEC_PER_SEC / 2);
  stats = cftest_input_stats (in);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "video-frames"),
      frames);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "disabled");
  gst_structure_free (stats);

  /* and a new publish is refused */
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 10), "the publish was not refused");
  log2 = cftest_proc_get_log (ff);
  fail_unless (cftest_proc_exit_code (ff) != 0, "ffmpeg: %s", log2);
  fail_unless (strstr (log2, "The live input is disabled.") != NULL,
      "ffmpeg: %s", log2);
  stats = cftest_input_stats (in);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats,
          "refused-publishes"), 1);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  gst_structure_free (stats);

  /* enabled again: the next publish is a reconnection */
  g_object_set (in->src, "enabled", TRUE, NULL);
  st = cftest_input_wait_status (in, "new_configuration_accepted", 5);
  fail_unless (st != NULL);
  fail_unless_equals_string (cftest_status_get_nick (st), "reconnecting");
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  st = cftest_input_wait_status (in, "reconnected", 10);
  fail_unless (st != NULL, "no reconnected status");
  fail_unless (gst_structure_get_uint (st, "session", &session));
  fail_unless_equals_int (session, 2);
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 30, 10));

  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons,
      "connected,disabled,new_configuration_accepted,reconnected");
  stats = cftest_input_stats (in);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 2);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  gst_structure_free (stats);
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  fail_if (cftest_pipeline_got_eos (p));

  cftest_proc_kill (ff, SIGKILL);
  cftest_pipeline_free (p);
}

GST_END_TEST;

static Suite *
routing_suite (void)
{
  Suite *s = suite_create ("integration-routing");
  TCase *tc = tcase_create ("routing");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_two_inputs_one_pipeline);
  tcase_add_test (tc, test_two_inputs_two_pipelines);
  tcase_add_test (tc, test_same_key_twice);
  tcase_add_test (tc, test_enabled);
  tcase_add_test (tc, test_listener_linger);
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, CFTEST_NEED_SMALL_MEDIA, routing_suite,
      "integration-routing", __FILE__);
}
