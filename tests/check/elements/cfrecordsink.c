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

/* Tests of cfrecordsink in a GstHarness, on an FLV stream encoded in the
 * test (videotestsrc, x264enc, audiotestsrc, avenc_aac, flvmux): the
 * publisher events drive the recordings (a reconnect inside the timeout
 * continues the recording without the outage, one after it starts a new
 * recording), mode off records nothing, a recording left live with its
 * playlist gone is rebuilt from its segments at the next start, and a
 * writer thread held up never holds up the streaming thread, and an idle
 * element has no thread of its own. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/cflive/cflive.h>
#include <glib/gstdio.h>
#include <string.h>

#define SECONDS 2
#define FPS 30
/* The second session's timestamps, as a source continues them after an
 * outage of this many ms */
#define OUTAGE_MS 5000

typedef struct
{
  GstCaps *caps;                /* with the streamheader */
  GList *tags;                  /* GstBuffer, one FLV tag each, in order */
} Stream;

static Stream stream;

/* Encodes SECONDS of H.264 + AAC into FLV tags, once */
static void
encode_stream (void)
{
  GstElement *p, *sink;
  GstSample *sample;
  gchar *desc;

  if (stream.tags)
    return;
  desc = g_strdup_printf ("videotestsrc num-buffers=%d ! video/x-raw,"
      "width=160,height=120,framerate=%d/1 ! x264enc key-int-max=%d "
      "bframes=0 tune=zerolatency speed-preset=ultrafast ! h264parse ! "
      "flvmux name=m streamable=true ! appsink name=s sync=false "
      "audiotestsrc num-buffers=%d samplesperbuffer=1024 ! "
      "audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse ! m.",
      SECONDS * FPS, FPS, FPS, SECONDS * 48000 / 1024);
  p = gst_parse_launch (desc, NULL);
  g_free (desc);
  fail_unless (p != NULL);
  sink = gst_bin_get_by_name (GST_BIN (p), "s");
  gst_element_set_state (p, GST_STATE_PLAYING);
  while (TRUE) {
    sample = NULL;
    g_signal_emit_by_name (sink, "pull-sample", &sample);
    if (!sample)
      break;
    if (!stream.caps)
      stream.caps = gst_caps_copy (gst_sample_get_caps (sample));
    stream.tags = g_list_append (stream.tags,
        gst_buffer_ref (gst_sample_get_buffer (sample)));
    gst_sample_unref (sample);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  fail_unless (g_list_length (stream.tags) > SECONDS * FPS);
}

/* A copy of @buf with its FLV timestamp (and buffer timestamps) moved by
 * @shift_ms */
static GstBuffer *
shifted (GstBuffer * buf, guint32 shift_ms)
{
  GstBuffer *copy = gst_buffer_copy_deep (buf);
  GstMapInfo map;
  guint32 ts;

  fail_unless (gst_buffer_map (copy, &map, GST_MAP_READWRITE));
  if (map.size > GST_CFLIVE_FLV_TAG_HEADER_SIZE && map.data[0] != 'F') {
    ts = (GST_READ_UINT24_BE (map.data + 4) | (map.data[7] << 24)) + shift_ms;
    GST_WRITE_UINT24_BE (map.data + 4, ts & 0xffffff);
    map.data[7] = ts >> 24;
  }
  gst_buffer_unmap (copy, &map);
  if (GST_BUFFER_DTS_IS_VALID (copy))
    GST_BUFFER_DTS (copy) += shift_ms * GST_MSECOND;
  if (GST_BUFFER_PTS_IS_VALID (copy))
    GST_BUFFER_PTS (copy) += shift_ms * GST_MSECOND;
  return copy;
}

static void
push_session (GstHarness * h, guint32 shift_ms)
{
  GList *l;

  for (l = stream.tags; l; l = l->next)
    fail_unless_equals_int (gst_harness_push (h, shifted (l->data,
                shift_ms)), GST_FLOW_OK);
}

static void
push_publisher (GstHarness * h, GstCflivePublisherAction action, guint session)
{
  fail_unless (gst_harness_push_event (h,
          gst_cflive_publisher_event_new (action, session, "test", "rtmp")));
}

/* The harness starts the element at once: its properties are set before,
 * from @first_property */
static GstHarness *
new_harness (const gchar * location, GstBus ** bus,
    const gchar * first_property, ...)
{
  GstElement *e = gst_element_factory_make ("cfrecordsink", NULL);
  GstHarness *h;
  va_list args;

  fail_unless (e != NULL);
  g_object_set (e, "location", location, "live-input", "li", NULL);
  if (first_property) {
    va_start (args, first_property);
    g_object_set_valist (G_OBJECT (e), first_property, args);
    va_end (args);
  }
  *bus = gst_bus_new ();
  gst_element_set_bus (e, *bus);
  h = gst_harness_new_with_element (e, "sink", NULL);
  gst_object_unref (e);
  return h;
}

/* The messages left on the bus refer to the element: dropped first */
static void
free_harness (GstHarness * h, GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static void
start_harness (GstHarness * h)
{
  gst_harness_play (h);
  gst_harness_set_src_caps (h, gst_caps_ref (stream.caps));
}

/* The next cflive-recording message within @timeout_s, or NULL */
static GstStructure *
next_recording (GstBus * bus, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND,
        GST_MESSAGE_ELEMENT);
    const GstStructure *s;
    GstStructure *copy;

    if (!msg)
      continue;
    s = gst_message_get_structure (msg);
    if (!gst_structure_has_name (s, GST_CFLIVE_RECORDING_MESSAGE_NAME)) {
      gst_message_unref (msg);
      continue;
    }
    copy = gst_structure_copy (s);
    gst_message_unref (msg);
    return copy;
  }
  return NULL;
}

static GstStructure *
expect_event (GstBus * bus, const gchar * event)
{
  GstStructure *s = next_recording (bus, 20);

  fail_unless (s != NULL, "no %s message", event);
  fail_unless_equals_string (gst_structure_get_string (s, "event"), event);
  return s;
}

/* Sum of the EXTINF of the playlist of @dir; checks it is a VOD one */
static gdouble
playlist_duration (const gchar * dir)
{
  gchar *path = g_build_filename (dir, "video.m3u8", NULL);
  gchar *data = NULL, *p;
  gdouble total = 0;

  fail_unless (g_file_get_contents (path, &data, NULL, NULL));
  fail_unless (strstr (data, "#EXT-X-PLAYLIST-TYPE:VOD") != NULL);
  fail_unless (strstr (data, "#EXT-X-ENDLIST") != NULL);
  for (p = strstr (data, "#EXTINF:"); p; p = strstr (p + 1, "#EXTINF:"))
    total += g_ascii_strtod (p + 8, NULL);
  g_free (data);
  g_free (path);
  return total;
}

static gdouble
json_duration (const GstStructure * s)
{
  const gchar *json = gst_structure_get_string (s, "video");
  const gchar *p = json ? strstr (json, "\"duration\"") : NULL;

  fail_unless (p != NULL);
  p = strchr (p, ':');
  return g_ascii_strtod (p + 1, NULL);
}

static gchar *
make_location (void)
{
  GError *err = NULL;
  gchar *dir = g_dir_make_tmp ("cfrecordsink-XXXXXX", &err);

  fail_unless (dir != NULL);
  return dir;
}

static void
remove_location (gchar * dir)
{
  gchar *cmd = g_strdup_printf ("rm -rf '%s'", dir);

  fail_unless (system (cmd) == 0);
  g_free (cmd);
  g_free (dir);
}

/* A reconnect inside the timeout: one recording, the outage not in it */
GST_START_TEST (test_reconnect_continues)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h = new_harness (location, &bus, "timeout-seconds", 5, NULL);
  GstStructure *s1, *s2, *s3;
  gdouble d;

  encode_stream ();
  start_harness (h);
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  s1 = expect_event (bus, "started");
  push_publisher (h, GST_CFLIVE_PUBLISHER_DISCONNECTED, 1);
  push_publisher (h, GST_CFLIVE_PUBLISHER_RECONNECTED, 2);
  s2 = expect_event (bus, "continued");
  push_session (h, OUTAGE_MS);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  s3 = expect_event (bus, "finalised");

  fail_unless_equals_string (gst_structure_get_string (s1, "uid"),
      gst_structure_get_string (s3, "uid"));
  fail_unless_equals_string (gst_structure_get_string (s2, "uid"),
      gst_structure_get_string (s3, "uid"));
  fail_unless_equals_string (gst_structure_get_string (s3, "live-input"), "li");
  d = json_duration (s3);
  GST_INFO ("recorded %.3f s of 2 x %d s", d, SECONDS);
  fail_unless (ABS (d - 2 * SECONDS) < 0.1, "recorded %.3f s", d);
  d = playlist_duration (gst_structure_get_string (s3, "location"));
  fail_unless (ABS (d - 2 * SECONDS) < 0.1, "the playlist has %.3f s", d);
  fail_unless (next_recording (bus, 0.3) == NULL);

  gst_structure_free (s1);
  gst_structure_free (s2);
  gst_structure_free (s3);
  free_harness (h, bus);
  remove_location (location);
}

GST_END_TEST;

/* The encoder away longer than the timeout: finalised then, and the next
 * publish is a new recording */
GST_START_TEST (test_timeout_finalises)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h = new_harness (location, &bus, "timeout-seconds", 1, NULL);
  GstStructure *s1, *f1, *s2, *f2;
  gint64 disconnected;
  gchar *uid = NULL;

  encode_stream ();
  start_harness (h);
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  s1 = expect_event (bus, "started");
  g_object_get (h->element, "recording-uid", &uid, NULL);
  fail_unless_equals_string (uid, gst_structure_get_string (s1, "uid"));
  g_free (uid);
  push_publisher (h, GST_CFLIVE_PUBLISHER_DISCONNECTED, 1);
  disconnected = g_get_monotonic_time ();
  f1 = expect_event (bus, "finalised");
  fail_unless (g_get_monotonic_time () - disconnected >= 900 * 1000,
      "finalised before the timeout");
  g_object_get (h->element, "recording-uid", &uid, NULL);
  fail_unless (uid == NULL);

  push_publisher (h, GST_CFLIVE_PUBLISHER_RECONNECTED, 2);
  push_session (h, OUTAGE_MS);
  s2 = expect_event (bus, "started");
  fail_if (g_str_equal (gst_structure_get_string (s1, "uid"),
          gst_structure_get_string (s2, "uid")));
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  f2 = expect_event (bus, "finalised");
  fail_unless (ABS (json_duration (f1) - SECONDS) < 0.1);
  fail_unless (ABS (json_duration (f2) - SECONDS) < 0.1);

  gst_structure_free (s1);
  gst_structure_free (f1);
  gst_structure_free (s2);
  gst_structure_free (f2);
  free_harness (h, bus);
  remove_location (location);
}

GST_END_TEST;

GST_START_TEST (test_mode_off)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h = new_harness (location, &bus, "mode", 0, NULL);
  GstStructure *stats;
  GDir *d;

  encode_stream ();
  start_harness (h);
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (next_recording (bus, 0.5) == NULL);
  g_object_get (h->element, "stats", &stats, NULL);
  fail_unless (gst_structure_has_name (stats,
          "application/x-cflive-record-stats"));
  fail_unless_equals_string (gst_structure_get_string (stats, "state"), "idle");
  gst_structure_free (stats);
  d = g_dir_open (location, 0, NULL);
  fail_unless (d != NULL);
  fail_unless (g_dir_read_name (d) == NULL, "something was recorded");
  g_dir_close (d);

  free_harness (h, bus);
  remove_location (location);
}

GST_END_TEST;

/* A recording left live-inprogress without its playlist is rebuilt from
 * its segments at the next start */
GST_START_TEST (test_recover_without_playlist)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h = new_harness (location, &bus, NULL);
  GstStructure *s, *r;
  gchar *dir, *path, *json, *live, **parts;
  gdouble d;

  encode_stream ();
  start_harness (h);
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  s = expect_event (bus, "started");
  gst_structure_free (s);
  s = expect_event (bus, "finalised");
  free_harness (h, bus);

  /* as a crash leaves it: live JSON, no playlist, no MP4 */
  dir = g_strdup (gst_structure_get_string (s, "location"));
  path = g_build_filename (dir, "video.json", NULL);
  fail_unless (g_file_get_contents (path, &json, NULL, NULL));
  parts = g_strsplit (json, "\"ready\"", -1);
  live = g_strjoinv ("\"live-inprogress\"", parts);
  g_strfreev (parts);
  fail_unless (g_file_set_contents (path, live, -1, NULL));
  g_free (path);
  path = g_build_filename (dir, "video.m3u8", NULL);
  g_unlink (path);
  g_free (path);
  path = g_build_filename (dir, "video.mp4", NULL);
  g_unlink (path);

  h = new_harness (location, &bus, NULL);
  start_harness (h);
  r = expect_event (bus, "recovered");
  fail_unless_equals_string (gst_structure_get_string (r, "uid"),
      gst_structure_get_string (s, "uid"));
  d = json_duration (r);
  fail_unless (ABS (d - json_duration (s)) < 0.05, "recovered %.3f of %.3f",
      d, json_duration (s));
  fail_unless (ABS (playlist_duration (dir) - d) < 0.01);
  fail_unless (g_file_test (path, G_FILE_TEST_EXISTS), "no MP4");
  fail_unless (strstr (gst_structure_get_string (r, "video"),
          "\"ready\"") != NULL);

  free_harness (h, bus);
  gst_structure_free (s);
  gst_structure_free (r);
  g_free (path);
  g_free (json);
  g_free (live);
  g_free (dir);
  remove_location (location);
}

GST_END_TEST;

/* The writer thread held up (as by a disk that stalls): the streaming
 * thread goes on, frames are dropped once 64 MiB wait, and the recording
 * goes on at a keyframe once the writer is back */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean stall;
  gboolean stalled;
} Stall;

/* Runs on the thread that posts: holds up the writer at "started" */
static GstBusSyncReply
stall_handler (GstBus * bus, GstMessage * msg, gpointer data)
{
  Stall *st = data;
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s &&
      gst_structure_has_name (s, GST_CFLIVE_RECORDING_MESSAGE_NAME) &&
      g_strcmp0 (gst_structure_get_string (s, "event"), "started") == 0) {
    g_mutex_lock (&st->lock);
    st->stalled = TRUE;
    g_cond_broadcast (&st->cond);
    while (st->stall)
      g_cond_wait (&st->cond, &st->lock);
    g_mutex_unlock (&st->lock);
  }
  return GST_BUS_PASS;
}

static guint64
stats_uint64 (GstElement * e, const gchar * field)
{
  GstStructure *stats;
  guint64 v = 0;

  g_object_get (e, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &v));
  gst_structure_free (stats);
  return v;
}

GST_START_TEST (test_stalled_writer)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h = new_harness (location, &bus, NULL);
  Stall st;
  GstStructure *s;
  GstMessage *warning;
  guint64 session_bytes = 0, pushed = 0;
  guint32 shift = 0;
  GList *l;

  g_mutex_init (&st.lock);
  g_cond_init (&st.cond);
  st.stall = TRUE;
  st.stalled = FALSE;
  gst_bus_set_sync_handler (bus, stall_handler, &st, NULL);

  encode_stream ();
  for (l = stream.tags; l; l = l->next)
    session_bytes += gst_buffer_get_size (l->data);
  start_harness (h);
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  g_mutex_lock (&st.lock);
  while (!st.stalled)
    g_cond_wait (&st.cond, &st.lock);
  g_mutex_unlock (&st.lock);

  /* 64 MiB and more while the writer does not move */
  while (pushed < 72 * 1024 * 1024) {
    shift += SECONDS * 1000 + 100;
    push_session (h, shift);
    pushed += session_bytes;
  }
  g_mutex_lock (&st.lock);
  fail_unless (st.stall && st.stalled);
  g_mutex_unlock (&st.lock);
  fail_unless (stats_uint64 (h->element, "dropped-bytes") > 0);
  /* the codec headers (a few dozen bytes each) are always kept */
  fail_unless (stats_uint64 (h->element, "queued-bytes") <= 65 * 1024 * 1024);
  warning = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning about the dropped frames");
  gst_message_unref (warning);

  /* the writer is back: the recording goes on from a keyframe */
  g_mutex_lock (&st.lock);
  st.stall = FALSE;
  g_cond_broadcast (&st.cond);
  g_mutex_unlock (&st.lock);
  shift += SECONDS * 1000 + 100;
  push_session (h, shift);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  s = expect_event (bus, "started");
  gst_structure_free (s);
  s = expect_event (bus, "finalised");
  fail_unless (json_duration (s) > SECONDS);
  fail_unless_equals_int (stats_uint64 (h->element, "errors"), 0);
  gst_structure_free (s);

  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  free_harness (h, bus);
  g_mutex_clear (&st.lock);
  g_cond_clear (&st.cond);
  remove_location (location);
}

GST_END_TEST;

/* The writer threads of the process (named after the element) */
static guint
count_writers (void)
{
  GDir *d = g_dir_open ("/proc/self/task", 0, NULL);
  const gchar *name;
  guint n = 0;

  fail_unless (d != NULL);
  while ((name = g_dir_read_name (d))) {
    gchar *path = g_build_filename ("/proc/self/task", name, "comm", NULL);
    gchar *comm = NULL;

    /* a thread may end while listed */
    if (g_file_get_contents (path, &comm, NULL, NULL) &&
        g_strcmp0 (g_strchomp (comm), "cfrecordsink") == 0)
      n++;
    g_free (comm);
    g_free (path);
  }
  g_dir_close (d);
  return n;
}

/* Waits up to @timeout_s for @n writer threads */
static gboolean
wait_writers (guint n, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (count_writers () != n) {
    if (g_get_monotonic_time () >= end)
      return FALSE;
    g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  }
  return TRUE;
}

/* A server has a cfrecordsink per live input, most of them idle: an idle
 * element has no thread of its own, a broadcast starts its writer, which
 * leaves a few seconds after the broadcast, the recordings due are deleted
 * all the same, and EOS comes through with no writer running */
GST_START_TEST (test_idle_no_thread)
{
  gchar *location = make_location ();
  GstBus *bus;
  GstHarness *h;
  GstStructure *s;
  gchar *dir;

  encode_stream ();
  fail_unless_equals_int (count_writers (), 0);
  h = new_harness (location, &bus, "timeout-seconds", 1, "delete-after",
      (gint64) 5, NULL);
  gst_harness_play (h);
  /* started, with its recovery and retention done */
  g_usleep (500 * G_TIME_SPAN_MILLISECOND);
  fail_unless_equals_int (count_writers (), 0);

  /* the codec headers in the caps are the first items */
  gst_harness_set_src_caps (h, gst_caps_ref (stream.caps));
  /* a new thread names itself */
  fail_unless (wait_writers (1, 2), "no writer for a broadcast");
  push_publisher (h, GST_CFLIVE_PUBLISHER_CONNECTED, 1);
  push_session (h, 0);
  s = expect_event (bus, "started");
  gst_structure_free (s);
  push_publisher (h, GST_CFLIVE_PUBLISHER_DISCONNECTED, 1);
  s = expect_event (bus, "finalised");
  dir = g_strdup (gst_structure_get_string (s, "location"));
  gst_structure_free (s);

  /* idle again: the writer leaves, the recording stays until it is due */
  fail_unless (wait_writers (0, 5), "the writer of an idle element stays");
  fail_unless (g_file_test (dir, G_FILE_TEST_IS_DIR));
  s = expect_event (bus, "deleted");
  fail_unless_equals_string (gst_structure_get_string (s, "location"), dir);
  gst_structure_free (s);
  fail_unless (!g_file_test (dir, G_FILE_TEST_EXISTS));
  fail_unless_equals_int (count_writers (), 0);

  /* EOS starts a writer and comes through once it is done */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (wait_writers (1, 2), "no writer for EOS");

  free_harness (h, bus);
  fail_unless_equals_int (count_writers (), 0);
  g_free (dir);
  remove_location (location);
}

GST_END_TEST;

static Suite *
cfrecordsink_suite (void)
{
  Suite *s = suite_create ("cfrecordsink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_reconnect_continues);
  tcase_add_test (tc, test_timeout_finalises);
  tcase_add_test (tc, test_mode_off);
  tcase_add_test (tc, test_recover_without_playlist);
  tcase_add_test (tc, test_stalled_writer);
  tcase_add_test (tc, test_idle_no_thread);
  return s;
}

GST_CHECK_MAIN (cfrecordsink);
