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

/* Hostile and broken peers on the port of a live input that is receiving
 * a good stream: each is closed, the good stream goes on. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "cftest.h"
#include "amf.h"
#include "rtmpmessage.h"
#include "rtmpsession.h"

#define KEY_A "badinput-key-a-0b7e"
#define KEY_B "badinput-key-b-91f4"

/* How long the server may take to close a bad connection */
#define CLOSE_BOUND 3.0

typedef struct
{
  CfTestPipeline *p;
  CfTestInput *a;
  CfTestInput *b;
  CfTestProc *ff;
  guint port;
  guint64 frames_before;
} Fixture;

/* A and B on one port; a good encoder publishes to A throughout */
static void
fixture_start (Fixture * f)
{
  g_autofree gchar *listen = NULL;
  g_autofree gchar *url = NULL;

  f->port = cftest_free_port ();
  listen = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", f->port, CFTEST_APP);
  f->p = cftest_pipeline_new ();
  f->a = cftest_pipeline_add_input (f->p, "a", "rtmp-url", listen,
      "stream-key", KEY_A, NULL);
  f->b = cftest_pipeline_add_input (f->p, "b", "rtmp-url", listen,
      "stream-key", KEY_B, "idle-timeout", 2, NULL);
  cftest_pipeline_play (f->p);
  fail_unless_equals_int (cftest_input_port (f->a), f->port);

  url = cftest_input_publish_url (f->a, KEY_A);
  f->ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (f->a, 15, 10),
      "the good stream does not flow");
}

/* Nothing of the bad connections reached the inputs, and A never
 * stopped */
static void
fixture_finish (Fixture * f, guint b_statuses)
{
  g_autofree gchar *reasons = NULL;
  g_autofree gchar *problems = NULL;
  g_autofree gchar *errors = NULL;
  GstStructure *stats;

  fail_if (cftest_proc_exited (f->ff), "the good encoder stopped");
  reasons = cftest_input_reasons (f->a);
  fail_unless_equals_string (reasons, "connected");
  fail_unless_equals_int (cftest_input_n_statuses (f->b), b_statuses);
  stats = cftest_input_stats (f->a);
  fail_unless_equals_int (cftest_stats_get_uint (stats, "sessions"), 1);
  fail_unless_equals_string (cftest_stats_get_string (stats, "status"),
      "connected");
  gst_structure_free (stats);
  problems = cftest_input_check_tags (f->a);
  fail_unless (problems == NULL, "%s", problems);
  errors = cftest_pipeline_errors (f->p);
  fail_unless (cftest_pipeline_n_errors (f->p) == 0, "errors: %s", errors);
  fail_if (cftest_pipeline_got_eos (f->p));
  cftest_pipeline_free (f->p);
}

static void
case_begin (Fixture * f, const gchar * what)
{
  GST_INFO ("case: %s", what);
  f->frames_before = cftest_input_video_frames (f->a);
}

/* The server closes @c, and A keeps decoding */
static void
case_end (Fixture * f, CfTestRtmpClient * c, const gchar * what)
{
  gint64 start = g_get_monotonic_time ();

  fail_unless (cftest_rtmp_wait_closed (c, CLOSE_BOUND),
      "%s: the connection is still open after %.1f s", what, CLOSE_BOUND);
  GST_INFO ("%s: closed after %.3f s", what, cftest_seconds_since (start));
  cftest_rtmp_free (c);
  fail_unless (cftest_input_wait_video_above (f->a, f->frames_before, 3),
      "%s: input A stopped at %" G_GUINT64_FORMAT " frames", what,
      f->frames_before);
}

static CfTestRtmpClient *
connect_handshaken (Fixture * f, const gchar * what)
{
  CfTestRtmpClient *c = cftest_rtmp_connect (f->port);

  fail_unless (cftest_rtmp_handshake (c), "%s: handshake failed", what);
  return c;
}

static gboolean
send_array (CfTestRtmpClient * c, GByteArray * out)
{
  return cftest_rtmp_send (c, out->data, out->len);
}

/* connect whose command object holds @depth nested objects */
static void
write_nested_connect (GByteArray * out, guint depth)
{
  CfAmfNode *obj = cf_amf_node_new_object ();
  CfAmfNode *inner = cf_amf_node_new_object ();
  guint i;

  cf_amf_node_append_field_string (inner, "leaf", "x");
  for (i = 1; i < depth; i++) {
    CfAmfNode *outer = cf_amf_node_new_object ();

    cf_amf_node_append_field (outer, "nested", inner);
    inner = outer;
  }
  cf_amf_node_append_field_string (obj, "app", CFTEST_APP);
  cf_amf_node_append_field_string (obj, "flashVer", "cftest/1.0");
  cf_amf_node_append_field (obj, "nested", inner);
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "connect", 1, obj, NULL);
  cf_amf_node_free (obj);
}

/* connect padded with a string of @pad bytes */
static void
write_padded_connect (GByteArray * out, gsize pad)
{
  g_autoptr (CfAmfNode) obj = cf_amf_node_new_object ();
  g_autofree gchar *padding = g_malloc (pad + 1);

  memset (padding, 'x', pad);
  padding[pad] = '\0';
  cf_amf_node_append_field_string (obj, "app", CFTEST_APP);
  cf_amf_node_append_field_string (obj, "flashVer", "cftest/1.0");
  cf_amf_node_append_field_string (obj, "padding", padding);
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "connect", 1, obj, NULL);
}

GST_START_TEST (test_bad_connections)
{
  Fixture f = { 0, };
  CfTestRtmpClient *idle, *c;
  gint64 idle_since;
  gdouble idle_closed_after;

  fixture_start (&f);

  /* a connection that says nothing, left open while the others run */
  idle = cftest_rtmp_connect (f.port);
  idle_since = g_get_monotonic_time ();

  /* random bytes (not starting with the RTMP version 3) */
  {
    GRand *rand = g_rand_new_with_seed (0xcf11fe);
    guint8 junk[4096];
    guint i;

    case_begin (&f, "random bytes");
    for (i = 0; i < sizeof (junk); i++)
      junk[i] = g_rand_int_range (rand, 0, 256);
    junk[0] = 0xd7;
    g_rand_free (rand);
    c = cftest_rtmp_connect (f.port);
    cftest_rtmp_send (c, junk, sizeof (junk));
    case_end (&f, c, "random bytes");
  }

  /* a Set Chunk Size of 0x7fffffff */
  {
    g_autoptr (GByteArray) out = g_byte_array_new ();

    case_begin (&f, "huge chunk size");
    c = connect_handshaken (&f, "huge chunk size");
    cf_rtmp_write_control (out, CF_RTMP_MSG_SET_CHUNK_SIZE, 0x7fffffff);
    send_array (c, out);
    case_end (&f, c, "huge chunk size");
  }

  /* three messages of 16 MiB announced on three chunk streams: the first
   * two hold 32 MiB - 2 bytes, the third goes over the bound */
  {
    gsize big = 0xffffff;
    guint8 *zeros = g_malloc0 (big);
    guint csid;

    case_begin (&f, "pending bytes");
    c = connect_handshaken (&f, "pending bytes");
    for (csid = 4; csid < 7; csid++) {
      g_autoptr (GByteArray) out = g_byte_array_new ();

      /* the first chunk only: the header and 128 bytes */
      cf_rtmp_chunk_write_data (out, CF_RTMP_DEFAULT_CHUNK_SIZE, csid,
          CF_RTMP_MSG_VIDEO, 1, 0, zeros, big);
      g_byte_array_set_size (out, 12 + CF_RTMP_DEFAULT_CHUNK_SIZE);
      send_array (c, out);
      if (csid < 6)
        fail_if (cftest_rtmp_wait_closed (c, 0.3),
            "closed with %u messages pending, within the bound", csid - 3);
    }
    g_free (zeros);
    case_end (&f, c, "pending bytes");
  }

  /* a connect nested deeper than the AMF parser allows; 16 levels pass */
  {
    g_autoptr (GByteArray) ok = g_byte_array_new ();
    g_autoptr (GByteArray) out = g_byte_array_new ();

    c = connect_handshaken (&f, "nested connect");
    write_nested_connect (ok, 16);
    send_array (c, ok);
    fail_unless (cftest_rtmp_wait_command (c,
            "NetConnection.Connect.Success", CLOSE_BOUND),
        "a connect nested 16 deep was not accepted");
    cftest_rtmp_free (c);

    case_begin (&f, "deep connect");
    c = connect_handshaken (&f, "deep connect");
    write_nested_connect (out, 100);
    send_array (c, out);
    case_end (&f, c, "deep connect");
  }

  /* a connect over 64 KiB; 60000 bytes pass */
  {
    g_autoptr (GByteArray) ok = g_byte_array_new ();
    g_autoptr (GByteArray) out = g_byte_array_new ();

    c = connect_handshaken (&f, "padded connect");
    write_padded_connect (ok, 60000);
    send_array (c, ok);
    fail_unless (cftest_rtmp_wait_command (c,
            "NetConnection.Connect.Success", CLOSE_BOUND),
        "a connect of 60000 bytes was not accepted");
    cftest_rtmp_free (c);

    case_begin (&f, "large connect");
    c = connect_handshaken (&f, "large connect");
    write_padded_connect (out, 70000);
    fail_unless (out->len > CF_RTMP_MAX_COMMAND_SIZE);
    send_array (c, out);
    case_end (&f, c, "large connect");
  }

  /* publish with the right key, before connect */
  {
    g_autoptr (GByteArray) out = g_byte_array_new ();
    g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
    g_autoptr (CfAmfNode) name = cf_amf_node_new_string (KEY_B, -1);

    case_begin (&f, "publish before connect");
    c = connect_handshaken (&f, "publish before connect");
    cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
        CF_RTMP_CSID_COMMAND, 1, "publish", 5, null, name, NULL);
    send_array (c, out);
    case_end (&f, c, "publish before connect");
  }

  /* the silent one is closed after the 10 s setup timeout */
  case_begin (&f, "silent connection");
  fail_unless (cftest_rtmp_wait_closed (idle, 15),
      "the silent connection is still open after %.1f s",
      cftest_seconds_since (idle_since));
  idle_closed_after = cftest_seconds_since (idle_since);
  fail_unless (idle_closed_after >= 9.5 && idle_closed_after <= 12,
      "the silent connection was closed after %.2f s", idle_closed_after);
  cftest_rtmp_free (idle);
  fail_unless (cftest_input_wait_video_above (f.a, f.frames_before, 3));

  fixture_finish (&f, 0);
}

GST_END_TEST;

/* An encoder that publishes to B, sends half a video message and stalls:
 * B's idle-timeout of 2 s drops it, A goes on */
GST_START_TEST (test_stalled_publisher)
{
  Fixture f = { 0, };
  g_autoptr (GByteArray) out = g_byte_array_new ();
  CfTestRtmpClient *c;
  const GstStructure *st;
  guint8 video[1000];
  gint64 stalled, w_timeout = 0;
  gdouble after;
  guint session = 0;

  fixture_start (&f);

  c = connect_handshaken (&f, "stalled publisher");
  fail_unless (cftest_rtmp_send_connect (c, f.port));
  fail_unless (cftest_rtmp_wait_command (c, "NetConnection.Connect.Success",
          CLOSE_BOUND));
  fail_unless (cftest_rtmp_send_publish (c, KEY_B));
  fail_unless (cftest_rtmp_wait_command (c, "NetStream.Publish.Start",
          CLOSE_BOUND), "the publish to B was not accepted");
  st = cftest_input_wait_status (f.b, "connected", 5);
  fail_unless (st != NULL);
  fail_unless_equals_string (gst_structure_get_string (st, "encoder"),
      "cftest/1.0");

  /* an AVC keyframe NAL unit, half of it */
  memset (video, 0, sizeof (video));
  video[0] = 0x17;
  video[1] = 0x01;
  cf_rtmp_chunk_write_data (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_VIDEO, CF_RTMP_MSG_VIDEO, 1, 0, video, sizeof (video));
  case_begin (&f, "stalled publisher");
  fail_unless (cftest_rtmp_send (c, out->data, out->len / 2));
  stalled = g_get_monotonic_time ();

  st = cftest_input_wait_status (f.b, "reconnecting", 6);
  fail_unless (st != NULL, "B did not drop the stalled encoder");
  cftest_input_get_status (f.b, 1, &w_timeout);
  after = (w_timeout - stalled) / (gdouble) G_USEC_PER_SEC;
  fail_unless (after >= 1.9 && after <= 3.5,
      "the stalled encoder was dropped after %.2f s", after);
  fail_unless_equals_string (gst_structure_get_string (st, "state"),
      "disconnected");
  fail_unless_equals_string (gst_structure_get_string (st,
          "disconnect-reason"), "timeout");
  fail_unless (gst_structure_get_uint (st, "session", &session));
  fail_unless_equals_int (session, 1);
  case_end (&f, c, "stalled publisher");
  fail_unless_equals_uint64 (cftest_input_video_frames (f.b), 0);

  fixture_finish (&f, 2);
}

GST_END_TEST;

static Suite *
badinput_suite (void)
{
  Suite *s = suite_create ("integration-badinput");
  TCase *tc = tcase_create ("badinput");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_bad_connections);
  tcase_add_test (tc, test_stalled_publisher);
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, 0, badinput_suite, "integration-badinput",
      __FILE__);
}
