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

/* cfrecordsink with real encoders through cfliveinputsrc: the finalised
 * recording plays (ffprobe of the MP4 and of the HLS playlist), encoder
 * reconnects inside and outside the timeout, a recording process killed
 * with SIGKILL and recovered, max-duration, retention, the mode switched
 * while playing, and a full or unwritable disk next to a restream branch
 * that goes on. The test cases (tcases) run as separate meson tests, in
 * parallel (CK_RUN_CASE). */

/* unshare() and CLONE_NEWNS */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <gst/cflive/cflive.h>

#include "cftest.h"

#define KEY "record-key-5d1e"
#define LIVE_INPUT "4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a"
/* How far the duration of a recording may be from what was sent */
#define DURATION_TOLERANCE 0.5

/* --- the messages of the record sink --- */

typedef struct
{
  GMutex lock;
  GPtrArray *msgs;              /* GstStructure, cflive-recording */
  GPtrArray *warnings;          /* gchar *, warnings of the record sink */
} RecLog;

static RecLog *
reclog_new (void)
{
  RecLog *log = g_new0 (RecLog, 1);

  g_mutex_init (&log->lock);
  log->msgs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  log->warnings = g_ptr_array_new_with_free_func (g_free);
  return log;
}

static void
reclog_free (RecLog * log)
{
  g_ptr_array_unref (log->msgs);
  g_ptr_array_unref (log->warnings);
  g_mutex_clear (&log->lock);
  g_free (log);
}

static void
reclog_on_message (GstMessage * msg, gpointer user_data)
{
  RecLog *log = user_data;
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s &&
      gst_structure_has_name (s, GST_CFLIVE_RECORDING_MESSAGE_NAME)) {
    GST_INFO ("recording message %" GST_PTR_FORMAT, s);
    g_mutex_lock (&log->lock);
    g_ptr_array_add (log->msgs, gst_structure_copy (s));
    g_mutex_unlock (&log->lock);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING &&
      g_str_has_prefix (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "rec")) {
    GError *err = NULL;

    gst_message_parse_warning (msg, &err, NULL);
    g_mutex_lock (&log->lock);
    g_ptr_array_add (log->warnings, g_strdup (err->message));
    g_mutex_unlock (&log->lock);
    g_error_free (err);
  }
}

static guint
reclog_count (RecLog * log, const gchar * event)
{
  guint i, n = 0;

  g_mutex_lock (&log->lock);
  for (i = 0; i < log->msgs->len; i++)
    if (!event || g_strcmp0 (gst_structure_get_string (log->msgs->pdata[i],
                "event"), event) == 0)
      n++;
  g_mutex_unlock (&log->lock);
  return n;
}

/* A copy of the @nth (from 0) message of @event, or NULL */
static GstStructure *
reclog_get (RecLog * log, const gchar * event, guint nth)
{
  GstStructure *s = NULL;
  guint i, n = 0;

  g_mutex_lock (&log->lock);
  for (i = 0; i < log->msgs->len && !s; i++) {
    if (g_strcmp0 (gst_structure_get_string (log->msgs->pdata[i], "event"),
            event) == 0 && n++ == nth)
      s = gst_structure_copy (log->msgs->pdata[i]);
  }
  g_mutex_unlock (&log->lock);
  return s;
}

static GstStructure *
reclog_wait (RecLog * log, const gchar * event, guint nth, gdouble timeout_s)
{
  GstStructure *s = NULL;

  CFTEST_WAIT ((s = reclog_get (log, event, nth)) != NULL, timeout_s);
  return s;
}

/* "started,finalised,..." */
static gchar *
reclog_events (RecLog * log)
{
  GString *str = g_string_new (NULL);
  guint i;

  g_mutex_lock (&log->lock);
  for (i = 0; i < log->msgs->len; i++)
    g_string_append_printf (str, "%s%s", i ? "," : "",
        gst_structure_get_string (log->msgs->pdata[i], "event"));
  g_mutex_unlock (&log->lock);
  return g_string_free (str, FALSE);
}

static guint
reclog_n_warnings (RecLog * log)
{
  guint n;

  g_mutex_lock (&log->lock);
  n = log->warnings->len;
  g_mutex_unlock (&log->lock);
  return n;
}

/* --- recordings on disk --- */

static gchar *
make_location (const gchar * name)
{
  gchar *dir = g_build_filename (cftest_tmpdir (), name, NULL);

  g_mkdir_with_parents (dir, 0755);
  return dir;
}

static JsonObject *
parse_video (const gchar * json)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *o;
  GError *err = NULL;

  fail_unless (json_parser_load_from_data (parser, json, -1, &err),
      "invalid Video JSON: %s", err ? err->message : "");
  fail_unless (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  o = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  g_object_unref (parser);
  return o;
}

static JsonObject *
load_video (const gchar * dir)
{
  g_autofree gchar *path = g_build_filename (dir, "video.json", NULL);
  g_autofree gchar *json = NULL;

  fail_unless (g_file_get_contents (path, &json, NULL, NULL), "no %s", path);
  return parse_video (json);
}

static const gchar *
video_state (JsonObject * o)
{
  return json_object_get_string_member (json_object_get_object_member (o,
          "status"), "state");
}

/* The recording directories under @location */
static guint
count_recordings (const gchar * location)
{
  GDir *d = g_dir_open (location, 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  if (d)
    g_dir_close (d);
  return n;
}

static gchar *
read_file (const gchar * dir, const gchar * name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  gchar *data = NULL;

  g_file_get_contents (path, &data, NULL, NULL);
  return data;
}

/* ffprobe's duration of the container, -1 if it cannot tell */
static gdouble
probe_duration (const gchar * path)
{
  gchar *argv[] = { (gchar *) "ffprobe", (gchar *) "-v", (gchar *) "error",
    (gchar *) "-show_entries", (gchar *) "format=duration", (gchar *) "-of",
    (gchar *) "default=nw=1:nk=1", (gchar *) path, NULL
  };
  g_autofree gchar *out = NULL, *err = NULL;
  gint status = 0;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
          &err, &status, NULL) || status != 0) {
    GST_WARNING ("ffprobe %s failed: %s", path, err);
    return -1;
  }
  return g_ascii_strtod (out, NULL);
}

/* The packets of the first @stream ("v" or "a") of @path have strictly
 * increasing DTS, never more than @max_step apart: one timeline, no
 * duplicate, no hole */
static void
check_timeline (const gchar * path, const gchar * stream, gdouble max_step)
{
  g_autofree gchar *sel = g_strdup_printf ("%s:0", stream);
  gchar *argv[] = { (gchar *) "ffprobe", (gchar *) "-v", (gchar *) "error",
    (gchar *) "-select_streams", sel, (gchar *) "-show_entries",
    (gchar *) "packet=dts_time", (gchar *) "-of", (gchar *) "csv=p=0",
    (gchar *) path, NULL
  };
  g_autofree gchar *out = NULL, *err = NULL;
  gchar **lines;
  gdouble prev = -1;
  guint i, n = 0;
  gint status = 0;

  fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
          NULL, &out, &err, &status, NULL) && status == 0, "ffprobe %s: %s",
      path, err);
  lines = g_strsplit (out, "\n", -1);
  for (i = 0; lines[i]; i++) {
    gchar *end = NULL;
    gdouble t = g_ascii_strtod (lines[i], &end);

    if (end == lines[i])
      continue;                 /* empty, or N/A */
    if (n > 0) {
      fail_unless (t > prev, "%s %s: DTS %.3f after %.3f", path, stream, t,
          prev);
      fail_unless (t - prev <= max_step, "%s %s: a hole of %.3f s at %.3f",
          path, stream, t - prev, prev);
    }
    prev = t;
    n++;
  }
  g_strfreev (lines);
  fail_unless (n > 10, "%s: %u %s packets", path, n, stream);
}

/* Checks a finalised recording: its Video object, the VOD playlist and
 * its segments, the MP4, and that both play for @sent seconds. Returns
 * the duration in video.json. */
static gdouble
check_finalised (const GstStructure * msg, gdouble sent)
{
  const gchar *dir = gst_structure_get_string (msg, "location");
  const gchar *uid = gst_structure_get_string (msg, "uid");
  g_autofree gchar *playlist = NULL;
  g_autofree gchar *mp4 = NULL, *m3u8 = NULL;
  JsonObject *o, *from_msg, *input;
  gdouble duration, d;
  gchar **lines;
  guint i, segments = 0;

  fail_unless (dir != NULL && uid != NULL);
  fail_unless_equals_int (strlen (uid), 32);
  fail_unless_equals_string (gst_structure_get_string (msg, "live-input"),
      LIVE_INPUT);
  o = load_video (dir);
  from_msg = parse_video (gst_structure_get_string (msg, "video"));
  fail_unless_equals_string (json_object_get_string_member (o, "uid"), uid);
  fail_unless_equals_string (json_object_get_string_member (from_msg, "uid"),
      uid);
  fail_unless_equals_string (video_state (from_msg), "ready");
  fail_unless_equals_string (json_object_get_string_member (o, "liveInput"),
      LIVE_INPUT);
  fail_unless_equals_string (video_state (o), "ready");
  fail_unless (json_object_get_boolean_member (o, "readyToStream"));
  fail_unless (json_object_get_string_member (o, "readyToStreamAt") != NULL);
  fail_unless (json_object_get_string_member (o, "created") != NULL);
  fail_unless (json_object_get_string_member (o, "modified") != NULL);
  fail_unless (json_object_get_int_member (o, "size") > 0);
  fail_unless (json_object_has_member (o, "scheduledDeletion"));
  fail_unless (json_object_has_member (o, "meta"));
  fail_unless_equals_string (json_object_get_string_member
      (json_object_get_object_member (o, "playback"), "hls"), "video.m3u8");
  input = json_object_get_object_member (o, "input");
  fail_unless (json_object_get_int_member (input, "width") > 0);
  fail_unless (json_object_get_int_member (input, "height") > 0);
  duration = json_object_get_double_member (o, "duration");
  GST_INFO ("recording %s: %.3f s, %.3f s sent", uid, duration, sent);
  fail_unless (ABS (duration - sent) <= DURATION_TOLERANCE, "recorded %.3f s "
      "of %.3f s", duration, sent);

  /* a VOD playlist whose segments are all there */
  playlist = read_file (dir, "video.m3u8");
  fail_unless (playlist != NULL);
  fail_unless (strstr (playlist, "#EXT-X-PLAYLIST-TYPE:VOD\n") != NULL);
  fail_unless (g_str_has_suffix (playlist, "#EXT-X-ENDLIST\n"));
  lines = g_strsplit (playlist, "\n", -1);
  for (i = 0; lines[i]; i++) {
    if (g_str_has_prefix (lines[i], "seg-")) {
      g_autofree gchar *seg = g_build_filename (dir, lines[i], NULL);
      guint j;

      fail_unless (g_file_test (seg, G_FILE_TEST_EXISTS), "no %s", seg);
      for (j = 0; j < i; j++)
        fail_if (g_str_equal (lines[i], lines[j]), "%s twice", lines[i]);
      segments++;
    }
  }
  g_strfreev (lines);
  fail_unless (segments >= 1);

  /* both play for as long as was sent */
  m3u8 = g_build_filename (dir, "video.m3u8", NULL);
  d = probe_duration (m3u8);
  fail_unless (ABS (d - sent) <= DURATION_TOLERANCE, "the HLS plays %.3f s "
      "of %.3f s", d, sent);
  mp4 = g_build_filename (dir, "video.mp4", NULL);
  d = probe_duration (mp4);
  fail_unless (ABS (d - sent) <= DURATION_TOLERANCE, "the MP4 plays %.3f s "
      "of %.3f s", d, sent);
  check_timeline (mp4, "v", 0.1);
  check_timeline (mp4, "a", 0.1);
  check_timeline (m3u8, "v", 0.1);

  json_object_unref (o);
  json_object_unref (from_msg);
  return duration;
}

static CfTestInput *
add_recording_input (CfTestPipeline * p, const gchar * location,
    const gchar * extra, gint reconnect_window)
{
  g_autofree gchar *branch = g_strdup_printf ("cfrecordsink name=rec "
      "location=%s live-input=" LIVE_INPUT " %s", location, extra ? extra : "");

  return cftest_pipeline_add_input_with_branch (p, "in", branch, "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", reconnect_window, NULL);
}

static GstElement *
get_recorder (CfTestInput * in)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (in->bin), "rec");

  fail_unless (e != NULL);
  return e;
}

static gchar *
get_string (GstElement * e, const gchar * name)
{
  gchar *s = NULL;

  g_object_get (e, name, &s, NULL);
  return s;
}

/* --- playback --- */

GST_START_TEST (test_playback)
{
  g_autofree gchar *location = make_location ("rec-playback");
  g_autofree gchar *url = NULL, *events = NULL, *uid = NULL;
  g_autofree gchar *live_playlist = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstElement *rec;
  GstStructure *started, *fin, *stats;
  JsonObject *o;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, NULL, 1);
  rec = get_recorder (in);
  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);

  started = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_STARTED, 0, 10);
  fail_unless (started != NULL, "no started message");
  o = parse_video (gst_structure_get_string (started, "video"));
  fail_unless_equals_string (video_state (o), "live-inprogress");
  fail_if (json_object_get_boolean_member (o, "readyToStream"));
  json_object_unref (o);
  uid = get_string (rec, "recording-uid");
  fail_unless_equals_string (uid, gst_structure_get_string (started, "uid"));

  /* live: an EVENT playlist once the first segment is complete */
  fail_unless (CFTEST_WAIT ((g_free (live_playlist), live_playlist =
              read_file (gst_structure_get_string (started, "location"),
                  "video.m3u8")) && strstr (live_playlist, "seg-00000.ts"),
          8), "no segment in the live playlist");
  fail_unless (strstr (live_playlist, "#EXT-X-PLAYLIST-TYPE:EVENT\n"));
  fail_if (strstr (live_playlist, "#EXT-X-ENDLIST") != NULL);
  {
    g_autofree gchar *path =
        g_build_filename (gst_structure_get_string (started, "location"),
        "video.m3u8", NULL);
    gchar *argv[] = { (gchar *) "ffprobe", (gchar *) "-v",
      (gchar *) "error", (gchar *) "-show_entries",
      (gchar *) "stream=codec_name", (gchar *) "-of", (gchar *) "csv=p=0",
      path, NULL
    };
    g_autofree gchar *out = NULL;
    gint status = 1;

    /* the live playlist plays: its streams are found */
    fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
            NULL, &out, NULL, &status, NULL) && status == 0);
    fail_unless (strstr (out, "h264") && strstr (out, "aac"), "%s", out);
  }
  o = load_video (gst_structure_get_string (started, "location"));
  fail_unless_equals_string (video_state (o), "live-inprogress");
  json_object_unref (o);

  /* the encoder is done; the source ends after its window and EOS
   * finalises the recording */
  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 15);
  fail_unless (fin != NULL, "no finalised message");
  fail_unless_equals_string (gst_structure_get_string (fin, "uid"), uid);
  check_finalised (fin, CFTEST_MEDIA_SECONDS);
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 5));
  g_free (uid);
  uid = get_string (rec, "recording-uid");
  fail_unless (uid == NULL);

  events = reclog_events (log);
  fail_unless_equals_string (events, "started,finalised");
  g_object_get (rec, "stats", &stats, NULL);
  fail_unless_equals_int (cftest_stats_get_uint64 (stats, "recordings"), 1);
  fail_unless_equals_int (cftest_stats_get_uint64 (stats, "finalised"), 1);
  fail_unless (cftest_stats_get_uint64 (stats, "bytes-written") > 0);
  fail_unless (cftest_stats_get_uint64 (stats, "segments") >= 2);
  fail_unless_equals_int (cftest_stats_get_uint64 (stats, "errors"), 0);
  fail_unless_equals_string (cftest_stats_get_string (stats, "state"), "idle");
  gst_structure_free (stats);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  fail_unless_equals_int (reclog_n_warnings (log), 0);
  fail_unless_equals_int (count_recordings (location), 1);

  gst_structure_free (started);
  gst_structure_free (fin);
  gst_object_unref (rec);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* A recording reaching max-duration ends there; the rest of the broadcast
 * is not recorded */
GST_START_TEST (test_max_duration)
{
  g_autofree gchar *location = make_location ("rec-max");
  g_autofree gchar *url = NULL, *events = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstStructure *fin;
  CfTestProc *ff;
  guint64 frames;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, "max-duration=3", 1);
  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);

  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 15);
  fail_unless (fin != NULL, "no finalised message");
  check_finalised (fin, 3.0);

  /* the broadcast goes on, unrecorded */
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 90, 10));
  events = reclog_events (log);
  fail_unless_equals_string (events, "started,finalised");
  fail_unless_equals_int (count_recordings (location), 1);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);

  cftest_proc_kill (ff, SIGKILL);
  gst_structure_free (fin);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* A ready recording whose scheduledDeletion passed an hour ago */
static gchar *
write_expired (const gchar * location, const gchar * uid,
    const gchar * live_input)
{
  gchar *dir = g_build_filename (location, uid, NULL);
  g_autofree gchar *path = g_build_filename (dir, "video.json", NULL);
  g_autofree gchar *json = NULL;
  GDateTime *now = g_date_time_new_now_utc ();
  GDateTime *then = g_date_time_add_hours (now, -1);
  g_autofree gchar *when = g_date_time_format_iso8601 (then);

  json = g_strdup_printf ("{\"uid\":\"%s\",\"liveInput\":\"%s\",\"status\":"
      "{\"state\":\"ready\"},\"readyToStream\":true,\"scheduledDeletion\":"
      "\"%s\"}", uid, live_input, when);
  fail_unless (g_mkdir_with_parents (dir, 0755) == 0);
  fail_unless (g_file_set_contents (path, json, -1, NULL));
  g_date_time_unref (then);
  g_date_time_unref (now);
  return dir;
}

/* Retention: delete-after seconds after it became ready, the recording is
 * gone, with a message */
GST_START_TEST (test_retention)
{
  g_autofree gchar *location = make_location ("rec-retention");
  g_autofree gchar *url = NULL, *events = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  g_autofree gchar *expired = NULL, *kept = NULL;
  GstStructure *fin, *del;
  JsonObject *o;
  const gchar *dir;
  gint64 ready_at;

  /* left from before: expired, of this live input and of another one */
  expired = write_expired (location, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      LIVE_INPUT);
  kept = write_expired (location, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      "another");

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, "delete-after=2", 1);
  cftest_pipeline_play (p);
  del = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_DELETED, 0, 5);
  fail_unless (del != NULL, "the expired recording was not deleted at "
      "start");
  fail_unless_equals_string (gst_structure_get_string (del, "uid"),
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  fail_if (g_file_test (expired, G_FILE_TEST_EXISTS));
  fail_unless (g_file_test (kept, G_FILE_TEST_IS_DIR));
  gst_structure_free (del);

  url = cftest_input_publish_url (in, KEY);
  cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);

  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 15);
  fail_unless (fin != NULL, "no finalised message");
  ready_at = g_get_monotonic_time ();
  dir = gst_structure_get_string (fin, "location");
  o = parse_video (gst_structure_get_string (fin, "video"));
  fail_unless (json_object_get_string_member (o, "scheduledDeletion") != NULL);
  json_object_unref (o);
  fail_unless (g_file_test (dir, G_FILE_TEST_IS_DIR));

  del = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_DELETED, 1, 8);
  fail_unless (del != NULL, "no deleted message");
  fail_unless (cftest_seconds_since (ready_at) >= 1.5, "deleted after %.2f "
      "s", cftest_seconds_since (ready_at));
  fail_unless_equals_string (gst_structure_get_string (del, "uid"),
      gst_structure_get_string (fin, "uid"));
  fail_unless_equals_string (gst_structure_get_string (del, "live-input"),
      LIVE_INPUT);
  fail_unless (!gst_structure_has_field (del, "video"));
  fail_if (g_file_test (dir, G_FILE_TEST_EXISTS), "%s is still there", dir);
  fail_unless_equals_int (count_recordings (location), 1);
  fail_unless (g_file_test (kept, G_FILE_TEST_IS_DIR));
  events = reclog_events (log);
  fail_unless_equals_string (events, "deleted,started,finalised,deleted");

  gst_structure_free (fin);
  gst_structure_free (del);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* mode off finalises the recording in progress; automatic starts a new one
 * at the next keyframe */
GST_START_TEST (test_mode_switch)
{
  g_autofree gchar *location = make_location ("rec-mode");
  g_autofree gchar *url = NULL, *events = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstElement *rec;
  GstStructure *s1, *s2, *fin;
  CfTestProc *ff;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, NULL, 1);
  rec = get_recorder (in);
  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);

  s1 = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_STARTED, 0, 10);
  fail_unless (s1 != NULL);
  fail_unless (cftest_input_wait_video_above (in, 75, 10));
  gst_util_set_object_arg (G_OBJECT (rec), "mode", "off");
  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 10);
  fail_unless (fin != NULL, "mode off did not finalise");
  fail_unless_equals_string (gst_structure_get_string (fin, "uid"),
      gst_structure_get_string (s1, "uid"));
  g_usleep (G_USEC_PER_SEC);
  fail_unless_equals_int (reclog_count (log,
          GST_CFLIVE_RECORDING_EVENT_STARTED), 1);

  gst_util_set_object_arg (G_OBJECT (rec), "mode", "automatic");
  s2 = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_STARTED, 1, 10);
  fail_unless (s2 != NULL, "mode automatic did not start a recording");
  fail_if (g_str_equal (gst_structure_get_string (s1, "uid"),
          gst_structure_get_string (s2, "uid")));

  /* stopping the pipeline finalises the second one */
  cftest_proc_kill (ff, SIGKILL);
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  fail_unless_equals_int (reclog_count (log,
          GST_CFLIVE_RECORDING_EVENT_FINALISED), 2);
  events = reclog_events (log);
  fail_unless_equals_string (events, "started,finalised,started,finalised");
  fail_unless_equals_int (count_recordings (location), 2);

  gst_structure_free (s1);
  gst_structure_free (s2);
  gst_structure_free (fin);
  gst_object_unref (rec);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* --- encoder reconnects --- */

/* Publishes the small media twice, @pause seconds apart */
static void
publish_twice (CfTestInput * in, gdouble pause)
{
  g_autofree gchar *url = cftest_input_publish_url (in, KEY);
  CfTestProc *ff;
  gint64 done;

  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 15));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);
  done = g_get_monotonic_time ();
  while (cftest_seconds_since (done) < pause)
    g_usleep (10 * 1000);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 15));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);
}

GST_START_TEST (test_reconnect_inside_timeout)
{
  g_autofree gchar *location = make_location ("rec-inside");
  g_autofree gchar *events = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstStructure *started, *cont, *fin;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, "timeout-seconds=4", 10);
  cftest_pipeline_play (p);
  publish_twice (in, 1.0);

  /* finalised once the encoder stayed away for the timeout */
  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 15);
  fail_unless (fin != NULL, "no finalised message");
  started = reclog_get (log, GST_CFLIVE_RECORDING_EVENT_STARTED, 0);
  cont = reclog_get (log, GST_CFLIVE_RECORDING_EVENT_CONTINUED, 0);
  fail_unless (cont != NULL, "no continued message");
  fail_unless_equals_string (gst_structure_get_string (cont, "uid"),
      gst_structure_get_string (started, "uid"));
  fail_unless_equals_string (gst_structure_get_string (fin, "uid"),
      gst_structure_get_string (started, "uid"));
  /* one video: both sessions, without the outage */
  check_finalised (fin, 2 * CFTEST_SMALL_SECONDS);
  fail_if (cftest_pipeline_got_eos (p), "finalised by EOS, not the timeout");
  events = reclog_events (log);
  fail_unless_equals_string (events, "started,continued,finalised");
  fail_unless_equals_int (count_recordings (location), 1);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);

  gst_structure_free (started);
  gst_structure_free (cont);
  gst_structure_free (fin);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

GST_START_TEST (test_reconnect_outside_timeout)
{
  g_autofree gchar *location = make_location ("rec-outside");
  g_autofree gchar *events = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstStructure *fin1, *fin2;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, "timeout-seconds=1", 10);
  cftest_pipeline_play (p);
  publish_twice (in, 2.5);

  fin2 = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 1, 10);
  fail_unless (fin2 != NULL, "no second finalised message");
  fin1 = reclog_get (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0);
  fail_if (g_str_equal (gst_structure_get_string (fin1, "uid"),
          gst_structure_get_string (fin2, "uid")));
  check_finalised (fin1, CFTEST_SMALL_SECONDS);
  check_finalised (fin2, CFTEST_SMALL_SECONDS);
  events = reclog_events (log);
  fail_unless_equals_string (events, "started,finalised,started,finalised");
  fail_unless_equals_int (count_recordings (location), 2);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);

  gst_structure_free (fin1);
  gst_structure_free (fin2);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* The encoder comes back inside the timeout with another resolution: the
 * same recording, a discontinuity in the playlist where it changed */
GST_START_TEST (test_reconnect_new_settings)
{
  g_autofree gchar *location = make_location ("rec-settings");
  g_autofree gchar *url = NULL, *events = NULL, *playlist = NULL;
  RecLog *log = reclog_new ();
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstStructure *fin;
  g_auto (GStrv) parts = NULL;
  CfTestProc *ff;

  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = add_recording_input (p, location, "timeout-seconds=4", 10);
  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 15));
  g_usleep (G_USEC_PER_SEC / 2);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);
  fail_unless (cftest_proc_wait (ff, 15));

  fin = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_FINALISED, 0, 15);
  fail_unless (fin != NULL, "no finalised message");
  check_finalised (fin, CFTEST_SMALL_SECONDS + CFTEST_MEDIA_SECONDS);
  events = reclog_events (log);
  fail_unless_equals_string (events, "started,continued,finalised");
  playlist = read_file (gst_structure_get_string (fin, "location"),
      "video.m3u8");
  /* one discontinuity */
  parts = g_strsplit (playlist, "#EXT-X-DISCONTINUITY\n", -1);
  fail_unless_equals_int (g_strv_length (parts), 2);
  fail_unless_equals_int (count_recordings (location), 1);

  gst_structure_free (fin);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* --- a crash --- */

static gboolean
port_accepts (guint port)
{
  GSocketClient *client = g_socket_client_new ();
  GSocketConnection *conn;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
      NULL);
  g_object_unref (client);
  if (!conn)
    return FALSE;
  g_object_unref (conn);
  return TRUE;
}

static gboolean
file_exists_under (const gchar * location, const gchar * name)
{
  GDir *d = g_dir_open (location, 0, NULL);
  const gchar *sub;
  gboolean found = FALSE;

  while (d && !found && (sub = g_dir_read_name (d))) {
    g_autofree gchar *path = g_build_filename (location, sub, name, NULL);

    found = g_file_test (path, G_FILE_TEST_EXISTS);
  }
  if (d)
    g_dir_close (d);
  return found;
}

static guint64
file_size (const gchar * path)
{
  GStatBuf st;

  if (g_stat (path, &st) < 0)
    return 0;
  return st.st_size;
}

/* The path of the segment with the highest number under @location */
static gchar *
last_segment (const gchar * location)
{
  GDir *d = g_dir_open (location, 0, NULL);
  const gchar *sub;
  gchar *last = NULL;

  while (d && (sub = g_dir_read_name (d))) {
    g_autofree gchar *dir = g_build_filename (location, sub, NULL);
    GDir *d2 = g_dir_open (dir, 0, NULL);
    const gchar *name;

    while (d2 && (name = g_dir_read_name (d2))) {
      gchar *path;

      if (!g_str_has_prefix (name, "seg-"))
        continue;
      path = g_build_filename (dir, name, NULL);
      if (!last || strcmp (path, last) > 0) {
        g_free (last);
        last = path;
      } else {
        g_free (path);
      }
    }
    if (d2)
      g_dir_close (d2);
  }
  if (d)
    g_dir_close (d);
  return last;
}

/* The recording process is killed with SIGKILL mid-stream; the next start
 * of the element on the same location finalises what it wrote */
GST_START_TEST (test_sigkill_recovery)
{
  g_autofree gchar *location = make_location ("rec-crash");
  g_autofree gchar *desc = NULL, *url = NULL, *events = NULL;
  g_autofree gchar *other = NULL;
  guint port = cftest_free_port ();
  RecLog *log = reclog_new ();
  CfTestPipeline *p;
  CfTestProc *child, *ff;
  GstStructure *rec;
  JsonObject *o;
  g_autofree gchar *last_seg = NULL;
  gint64 t_publish, t_start, t_kill;
  gdouble elapsed, elapsed_max, duration;

  desc = g_strdup_printf ("cfliveinputsrc rtmp-url=rtmp://127.0.0.1:%u/"
      CFTEST_APP " stream-key=" KEY " ! cfrecordsink location=%s "
      "live-input=" LIVE_INPUT, port, location);
  child = cftest_gst_launch (desc);
  fail_unless (CFTEST_WAIT (port_accepts (port), 10), "the recording "
      "process does not listen");
  url = g_strdup_printf ("rtmp://127.0.0.1:%u/" CFTEST_APP "/" KEY, port);
  t_publish = g_get_monotonic_time ();
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (CFTEST_WAIT (file_exists_under (location, "seg-00000.ts"),
          10), "the recording did not start");
  t_start = g_get_monotonic_time ();

  /* a recording of another live input, left live as well: not touched */
  other = g_build_filename (location, "0123456789abcdef0123456789abcdef", NULL);
  g_mkdir (other, 0755);
  {
    g_autofree gchar *path = g_build_filename (other, "video.json", NULL);

    fail_unless (g_file_set_contents (path, "{\"uid\":\"0123456789abcdef"
            "0123456789abcdef\",\"liveInput\":\"another\",\"status\":"
            "{\"state\":\"live-inprogress\"}}", -1, NULL));
  }

  /* well into the second segment */
  while (cftest_seconds_since (t_start) < 6.5)
    g_usleep (10 * 1000);
  cftest_proc_kill (child, SIGKILL);
  t_kill = g_get_monotonic_time ();
  /* sent: at least since the first segment appeared, at most since the
   * encoder started */
  elapsed = (t_kill - t_start) / (gdouble) G_USEC_PER_SEC;
  elapsed_max = (t_kill - t_publish) / (gdouble) G_USEC_PER_SEC;
  cftest_proc_kill (ff, SIGKILL);

  /* and a torn write at the end of the last segment, as a power loss
   * leaves: the partial packet is cut */
  last_seg = last_segment (location);
  fail_unless (last_seg != NULL);
  fail_unless (truncate (last_seg, file_size (last_seg) - 100) == 0);

  /* started again on the same location */
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  add_recording_input (p, location, NULL, 1);
  cftest_pipeline_play (p);
  rec = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_RECOVERED, 0, 20);
  fail_unless (rec != NULL, "no recovered message");
  o = parse_video (gst_structure_get_string (rec, "video"));
  duration = json_object_get_double_member (o, "duration");
  GST_INFO ("recovered %.3f s of %.3f s", duration, elapsed);
  json_object_unref (o);
  /* at most the last second is lost */
  fail_unless (duration >= elapsed - 1.0 - 0.25, "recovered %.3f s of "
      "%.3f s", duration, elapsed);
  fail_unless (duration <= elapsed_max + DURATION_TOLERANCE, "recovered "
      "%.3f s of at most %.3f s", duration, elapsed_max);
  check_finalised (rec, duration);
  fail_unless_equals_int (file_size (last_seg) % 188, 0);

  g_usleep (500 * 1000);
  events = reclog_events (log);
  fail_unless_equals_string (events, "recovered");
  o = load_video (other);
  fail_unless_equals_string (video_state (o), "live-inprogress");
  json_object_unref (o);

  gst_structure_free (rec);
  cftest_pipeline_free (p);
  reclog_free (log);
}

GST_END_TEST;

/* --- storage failures --- */

/* A tmpfs of @size in a mount namespace of this test process: it goes
 * away with the process, however the test ends */
static void
mount_small_tmpfs (const gchar * dir, const gchar * size)
{
  g_autofree gchar *opts = g_strdup_printf ("size=%s", size);

  fail_unless (unshare (CLONE_NEWNS) == 0, "unshare: %s (the storage tests "
      "need CAP_SYS_ADMIN to mount a small tmpfs)", g_strerror (errno));
  fail_unless (mount ("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
      "mount: %s", g_strerror (errno));
  fail_unless (mount ("tmpfs", dir, "tmpfs", 0, opts) == 0,
      "mount tmpfs on %s: %s", dir, g_strerror (errno));
}

static gchar *
nginx_first_recording (CfTestNginx * n)
{
  GPtrArray *recs = cftest_nginx_recordings (n, "relay");
  gchar *path = NULL;

  if (recs && recs->len > 0)
    path = g_strdup (g_ptr_array_index (recs, 0));
  if (recs)
    g_ptr_array_unref (recs);
  return path;
}

/* The recording fails with @code while a restream branch to nginx-rtmp
 * and the decoding branch go on */
static void
check_storage_failure (const gchar * location, const gchar * code)
{
  g_autofree gchar *branch = NULL, *url = NULL, *nurl = NULL;
  g_autofree gchar *nginx_rec = NULL;
  RecLog *log = reclog_new ();
  CfTestNginx *n = cftest_nginx_new (CFTEST_APP, NULL);
  CfTestPipeline *p = cftest_pipeline_new ();
  CfTestInput *in;
  GstStructure *err, *stats;
  GstElement *rec;
  CfTestProc *ff;
  guint64 frames, size;

  cftest_nginx_start (n);
  nurl = cftest_nginx_url (n, CFTEST_APP, "relay");
  branch = g_strdup_printf ("cfrecordsink name=rec location=%s live-input="
      LIVE_INPUT " t. ! queue ! cfrestreamsink outputs=%s", location, nurl);
  cftest_pipeline_set_message_func (p, reclog_on_message, log);
  in = cftest_pipeline_add_input_with_branch (p, "in", branch, "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", KEY,
      "reconnect-window", 1, NULL);
  rec = get_recorder (in);
  cftest_pipeline_play (p);
  url = cftest_input_publish_url (in, KEY);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);

  err = reclog_wait (log, GST_CFLIVE_RECORDING_EVENT_ERROR, 0, 20);
  fail_unless (err != NULL, "no error message");
  fail_unless_equals_string (gst_structure_get_string (err, "code"), code);
  fail_unless (gst_structure_get_string (err, "message") != NULL);
  GST_INFO ("storage error: %s", gst_structure_get_string (err, "message"));

  /* ingest and restream go on */
  fail_unless (CFTEST_WAIT ((nginx_rec = nginx_first_recording (n)) != NULL,
          5), "nginx records nothing");
  size = file_size (nginx_rec);
  frames = cftest_input_video_frames (in);
  fail_unless (cftest_input_wait_video_above (in, frames + 120, 10),
      "ingest stalled after the storage error");
  fail_unless (CFTEST_WAIT (file_size (nginx_rec) > size + 10000, 5),
      "the restream stalled after the storage error");

  /* once, and a warning, never an error */
  fail_unless_equals_int (reclog_count (log,
          GST_CFLIVE_RECORDING_EVENT_ERROR), 1);
  fail_unless (reclog_n_warnings (log) >= 1);
  fail_unless_equals_int (cftest_pipeline_n_errors (p), 0);
  g_object_get (rec, "stats", &stats, NULL);
  fail_unless_equals_string (cftest_stats_get_string (stats, "state"),
      "failed");
  fail_unless (cftest_stats_get_string (stats, "last-error") != NULL);
  fail_unless_equals_int (cftest_stats_get_uint64 (stats, "errors"), 1);
  gst_structure_free (stats);

  cftest_proc_kill (ff, SIGKILL);
  gst_structure_free (err);
  gst_object_unref (rec);
  cftest_pipeline_free (p);
  cftest_nginx_free (n);
  reclog_free (log);
}

GST_START_TEST (test_disk_full)
{
  g_autofree gchar *location = make_location ("rec-full");

  mount_small_tmpfs (location, "128k");
  check_storage_failure (location, GST_CFLIVE_ERR_STORAGE_QUOTA_EXHAUSTED);
}

GST_END_TEST;

GST_START_TEST (test_unwritable)
{
  g_autofree gchar *file = g_build_filename (cftest_tmpdir (), "not-a-dir",
      NULL);
  g_autofree gchar *location = g_build_filename (file, "recordings", NULL);

  /* even root cannot make a directory under a regular file */
  fail_unless (g_file_set_contents (file, "", 0, NULL));
  check_storage_failure (location, GST_CFLIVE_ERR_STORAGE_UNWRITABLE);
}

GST_END_TEST;

static Suite *
record_suite (void)
{
  Suite *s = suite_create ("integration-record");
  TCase *tc;

  tc = tcase_create ("playback");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_playback);
  tcase_add_test (tc, test_max_duration);

  tc = tcase_create ("lifecycle");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_retention);
  tcase_add_test (tc, test_mode_switch);

  tc = tcase_create ("reconnect");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_reconnect_inside_timeout);
  tcase_add_test (tc, test_reconnect_outside_timeout);

  tc = tcase_create ("settings");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_reconnect_new_settings);

  tc = tcase_create ("crash");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_sigkill_recovery);

  tc = tcase_create ("storage");
  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_disk_full);
  tcase_add_test (tc, test_unwritable);
  return s;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *ffprobe = g_find_program_in_path ("ffprobe");

  if (!ffprobe) {
    g_printerr ("ffprobe is missing\n");
    return 77;
  }
  if (!cftest_have_nginx ())
    return 77;
  return cftest_main (argc, argv, CFTEST_NEED_SMALL_MEDIA, record_suite,
      "integration-record", __FILE__);
}
