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

/* Encoders that go away: killed and back within the reconnect window,
 * killed for good, and replaced by a second publish with the same key. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <string.h>

#include "cftest.h"

#define KEY "reconnect-key-93ac"

/* How much longer than the outage the timestamp gap may be: the outage is
 * measured where the tags leave the source, a little after they arrived */
#define GAP_TOLERANCE (250 * GST_MSECOND)

static guint
status_session (const GstStructure * s)
{
  guint session = 0;

  fail_unless (gst_structure_get_uint (s, "session", &session));
  return session;
}

/* Per media type, the first tag of session 2 follows the last of session 1
 * by no more than the outage */
static void
assert_gap_within_outage (CfTestInput * in, CfTestTagType type)
{
  CfTestTag last, first;
  GstClockTimeDiff gap, outage;

  fail_unless (cftest_input_session_boundary (in, type, 1, 2, &last, &first),
      "no tags of type %d on both sides of the reconnection", type);
  gap = GST_CLOCK_DIFF (last.dts, first.dts);
  outage = (first.wall - last.wall) * GST_USECOND;
  GST_INFO ("type %d: gap %" GST_STIME_FORMAT ", outage %" GST_STIME_FORMAT,
      type, GST_STIME_ARGS (gap), GST_STIME_ARGS (outage));
  fail_unless (gap > 0, "timestamps went back by %" GST_STIME_FORMAT,
      GST_STIME_ARGS (-gap));
  fail_unless (gap <= outage + GAP_TOLERANCE, "gap %" GST_STIME_FORMAT
      " for an outage of %" GST_STIME_FORMAT, GST_STIME_ARGS (gap),
      GST_STIME_ARGS (outage));
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
  fail_unless (found == first2, "the DISCONT buffer is not the first of the "
      "new session");
}

GST_START_TEST (test_kill_and_come_back)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", 10, NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *problems = NULL;
  g_autofree gchar *errors = NULL;
  const GstStructure *st;
  GstStructure *stats;
  CfTestProc *ff;
  guint64 frames;
  gint64 killed;

  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);
  fail_unless (cftest_input_wait_video_above (in, 45, 10));

  /* the encoder dies without a word */
  cftest_proc_kill (ff, SIGKILL);
  killed = g_get_monotonic_time ();
  st = cftest_input_wait_status (in, "reconnecting", 3);
  fail_unless (st != NULL, "no reconnecting status after the kill");
  fail_unless_equals_string (gst_structure_get_string (st, "state"),
      "disconnected");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "connection-closed");
  fail_unless_equals_int (status_session (st), 1);
  fail_unless_equals_string (cftest_status_get_nick (st), "reconnecting");
  fail_unless_equals_string (cftest_input_status_nick (in), "reconnecting");

  /* an outage of about a second, then it comes back */
  while (cftest_seconds_since (killed) < 1.0)
    g_usleep (10 * 1000);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  st = cftest_input_wait_status (in, "reconnected", 10);
  fail_unless (st != NULL, "no reconnected status");
  fail_unless_equals_string (gst_structure_get_string (st, "state"),
      "connected");
  fail_unless_equals_int (status_session (st), 2);
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 60, 10),
      "the stream did not continue: %" G_GUINT64_FORMAT " frames",
      cftest_input_video_frames (in));

  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  fail_if (cftest_pipeline_got_eos (p));
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
  fail_unless (cftest_stats_get_uint64 (stats, "video-frames") >= 45 + 60);
  gst_structure_free (stats);

  /* one timeline across the outage */
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);
  assert_gap_within_outage (in, CFTEST_TAG_VIDEO);
  assert_gap_within_outage (in, CFTEST_TAG_AUDIO);
  assert_discont_on_reconnection (in);

  cftest_proc_kill (ff, SIGKILL);
  cftest_pipeline_free (p);
}

GST_END_TEST;

GST_START_TEST (test_window_passes)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", 2, NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *log = NULL;
  const GstStructure *reconnecting, *ended;
  guint64 t_reconnecting = 0, t_ended = 0;
  gint64 w_ended;
  GstStructure *stats;
  CfTestProc *ff;

  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (in, 30, 10));
  cftest_proc_kill (ff, SIGKILL);

  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 8), "no EOS");
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,ttl_exceeded");

  reconnecting = cftest_input_get_status (in, 1, NULL);
  ended = cftest_input_get_status (in, 2, &w_ended);
  fail_unless_equals_string (gst_structure_get_string (ended, "state"),
      "disconnected");
  fail_unless_equals_string (cftest_status_get_nick (ended), "ended");
  fail_unless_equals_int (status_session (ended), 1);
  fail_unless (gst_structure_get_uint64 (reconnecting, "timestamp",
          &t_reconnecting));
  fail_unless (gst_structure_get_uint64 (ended, "timestamp", &t_ended));
  fail_unless (t_ended - t_reconnecting >= 1900 * 1000 &&
      t_ended - t_reconnecting <= 3000 * 1000,
      "ttl_exceeded %.2f s after the disconnection",
      (t_ended - t_reconnecting) / 1e6);
  fail_unless (p->eos_wall >= w_ended, "EOS before ttl_exceeded");
  fail_unless_equals_string (cftest_input_status_nick (in), "ended");
  events = cftest_input_events (in);
  fail_unless_equals_string (events, "connected:1,disconnected:1");

  /* the stream is over: a new publish is refused */
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 10));
  log = cftest_proc_get_log (ff);
  fail_unless (cftest_proc_exit_code (ff) != 0, "ffmpeg: %s", log);
  fail_unless (strstr (log, "The live input has ended.") != NULL,
      "ffmpeg: %s", log);
  fail_unless_equals_int (cftest_input_n_statuses (in), 3);

  stats = cftest_input_stats (in);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats,
          "refused-publishes"), 1);
  gst_structure_free (stats);

  cftest_pipeline_free (p);
}

GST_END_TEST;

GST_START_TEST (test_same_key_replaces)
{
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in = cftest_pipeline_add_input (p, "in", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", 10, NULL);
  g_autofree gchar *url = NULL;
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *problems = NULL;
  g_autofree gchar *log = NULL;
  const GstStructure *st;
  GstStructure *stats;
  CfTestProc *first, *second;
  guint64 frames;

  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  first = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (in, 30, 10));

  second = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  st = cftest_input_wait_status (in, "reconnected", 10);
  fail_unless (st != NULL, "no reconnected status");
  fail_unless_equals_int (status_session (st), 2);
  fail_unless (g_strcmp0 (gst_structure_get_string (st, "remote-address"),
          gst_structure_get_string (cftest_input_get_status (in, 0, NULL),
              "remote-address")) != 0);

  /* the first encoder lost its connection */
  fail_unless (cftest_proc_wait (first, 5), "the first ffmpeg still runs");
  log = cftest_proc_get_log (first);
  fail_unless (cftest_proc_exit_code (first) != 0, "ffmpeg: %s", log);

  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 45, 10));
  fail_if (cftest_proc_exited (second));

  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  fail_if (cftest_pipeline_got_eos (p));
  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,reconnected");
  st = cftest_input_get_status (in, 1, NULL);
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "replaced");
  fail_unless_equals_int (status_session (st), 1);
  events = cftest_input_events (in);
  fail_unless_equals_string (events,
      "connected:1,disconnected:1,reconnected:2");

  stats = cftest_input_stats (in);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 2);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "reconnects"), 1);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  gst_structure_free (stats);

  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);
  assert_gap_within_outage (in, CFTEST_TAG_VIDEO);

  cftest_proc_kill (second, SIGKILL);
  cftest_pipeline_free (p);
}

GST_END_TEST;

static Suite *
reconnect_suite (void)
{
  Suite *s = suite_create ("integration-reconnect");
  TCase *tc = tcase_create ("reconnect");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_kill_and_come_back);
  tcase_add_test (tc, test_window_passes);
  tcase_add_test (tc, test_same_key_replaces);
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, 0, reconnect_suite,
      "integration-reconnect", __FILE__);
}
