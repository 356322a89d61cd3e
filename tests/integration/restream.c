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

/* cfrestreamsink against real destinations: nginx-rtmp (its recordings
 * read back with ffprobe), cfliveinputsrc (in process, over rtmp:// and
 * rtmps://) and sockets that refuse to play along. ffmpeg publishes the
 * small test media to a cfliveinputsrc whose FLV goes, through a tee, to
 * the decoders of the test and to the sink.
 *
 * Covered: many outputs at once, complete and decodable; a destination
 * down at the start, one killed and restarted, one that accepts and never
 * reads, none of them slowing the others or the ingest; outputs added,
 * removed, disabled and enabled while playing; an encoder reconnecting
 * upstream; the maximum of 50 outputs; rtmps:// with and without
 * certificate validation. SRT destinations are not covered here. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>

#include "cftest.h"

#define IN_KEY "restream-in-5e2a"

/* Frames the decoders may still hold when no EOS drained them */
#define DECODER_SLACK 3
/* Audio frames a destination may miss: those before the first keyframe */
#define AUDIO_SLACK 3
/* How much longer than the outage a timestamp gap may be */
#define GAP_TOLERANCE (250 * GST_MSECOND)

/* --- cflive-output messages and warnings --- */

typedef struct
{
  gchar *uid;
  gchar *url;
  gchar *state;
  gchar *error;
  gint64 wall;
} OutputEvent;

typedef struct
{
  GMutex lock;
  GPtrArray *events;            /* OutputEvent */
  GPtrArray *warnings;          /* gchar * */
  GString *malformed;
  /* parks the thread that posts the first reconnecting message of the
   * output at hold_url until released */
  GCond cond;
  gchar *hold_url;
  gboolean held;
  gboolean released;
} Recorder;

static void
output_event_free (OutputEvent * ev)
{
  g_free (ev->uid);
  g_free (ev->url);
  g_free (ev->state);
  g_free (ev->error);
  g_free (ev);
}

static Recorder *
recorder_new (void)
{
  Recorder *rec = g_new0 (Recorder, 1);

  g_mutex_init (&rec->lock);
  g_cond_init (&rec->cond);
  rec->events = g_ptr_array_new_with_free_func ((GDestroyNotify)
      output_event_free);
  rec->warnings = g_ptr_array_new_with_free_func (g_free);
  rec->malformed = g_string_new (NULL);
  return rec;
}

static void
recorder_free (Recorder * rec)
{
  g_ptr_array_unref (rec->events);
  g_ptr_array_unref (rec->warnings);
  g_string_free (rec->malformed, TRUE);
  g_free (rec->hold_url);
  g_cond_clear (&rec->cond);
  g_mutex_clear (&rec->lock);
  g_free (rec);
}

static gboolean
has_field (const GstStructure * s, const gchar * name, GType type)
{
  return gst_structure_has_field_typed (s, name, type);
}

/* Any thread */
static void
recorder_on_message (GstMessage * msg, gpointer user_data)
{
  Recorder *rec = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
    const GstStructure *s = gst_message_get_structure (msg);
    OutputEvent *ev;

    if (!s || !gst_structure_has_name (s, "cflive-output"))
      return;
    GST_INFO ("%s: %" GST_PTR_FORMAT, GST_MESSAGE_SRC_NAME (msg), s);
    if (!has_field (s, "uid", G_TYPE_STRING) ||
        !has_field (s, "url", G_TYPE_STRING) ||
        !has_field (s, "state", G_TYPE_STRING) ||
        !has_field (s, "error", G_TYPE_STRING) ||
        !has_field (s, "reconnects", G_TYPE_UINT) ||
        !has_field (s, "bytes-sent", G_TYPE_UINT64) ||
        !has_field (s, "frames-dropped", G_TYPE_UINT64)) {
      gchar *str = gst_structure_to_string (s);

      g_mutex_lock (&rec->lock);
      g_string_append_printf (rec->malformed, "%s; ", str);
      g_mutex_unlock (&rec->lock);
      g_free (str);
      return;
    }
    ev = g_new0 (OutputEvent, 1);
    ev->uid = g_strdup (gst_structure_get_string (s, "uid"));
    ev->url = g_strdup (gst_structure_get_string (s, "url"));
    ev->state = g_strdup (gst_structure_get_string (s, "state"));
    ev->error = g_strdup (gst_structure_get_string (s, "error"));
    ev->wall = g_get_monotonic_time ();
    g_mutex_lock (&rec->lock);
    g_ptr_array_add (rec->events, ev);
    if (rec->hold_url && g_str_has_prefix (ev->url, rec->hold_url) &&
        !strcmp (ev->state, "reconnecting")) {
      g_clear_pointer (&rec->hold_url, g_free);
      rec->held = TRUE;
      g_cond_broadcast (&rec->cond);
      while (!rec->released)
        g_cond_wait (&rec->cond, &rec->lock);
    }
    g_mutex_unlock (&rec->lock);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
    g_autoptr (GError) err = NULL;

    gst_message_parse_warning (msg, &err, NULL);
    GST_INFO ("warning from %s: %s", GST_MESSAGE_SRC_NAME (msg), err->message);
    g_mutex_lock (&rec->lock);
    g_ptr_array_add (rec->warnings, g_strdup (err->message));
    g_mutex_unlock (&rec->lock);
  }
}

/* The next reconnecting message of the output at @url_prefix will keep its
 * thread (the outputs' event loop) until recorder_release() */
static void
recorder_hold (Recorder * rec, const gchar * url_prefix)
{
  g_mutex_lock (&rec->lock);
  g_free (rec->hold_url);
  rec->hold_url = g_strdup (url_prefix);
  rec->held = rec->released = FALSE;
  g_mutex_unlock (&rec->lock);
}

static gboolean
recorder_wait_held (Recorder * rec, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gboolean held;

  g_mutex_lock (&rec->lock);
  while (!rec->held && g_cond_wait_until (&rec->cond, &rec->lock, end));
  held = rec->held;
  g_mutex_unlock (&rec->lock);
  return held;
}

static void
recorder_release (Recorder * rec)
{
  g_mutex_lock (&rec->lock);
  rec->released = TRUE;
  g_cond_broadcast (&rec->cond);
  g_mutex_unlock (&rec->lock);
}

static guint
recorder_n_events (Recorder * rec)
{
  guint n;

  g_mutex_lock (&rec->lock);
  n = rec->events->len;
  g_mutex_unlock (&rec->lock);
  return n;
}

/* The first event of @uid in @state from index @from on; events stay
 * valid as long as the recorder */
static const OutputEvent *
recorder_find (Recorder * rec, const gchar * uid, const gchar * state,
    guint from)
{
  const OutputEvent *found = NULL;
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = from; i < rec->events->len && !found; i++) {
    OutputEvent *ev = g_ptr_array_index (rec->events, i);

    if (!g_strcmp0 (ev->uid, uid) && !g_strcmp0 (ev->state, state))
      found = ev;
  }
  g_mutex_unlock (&rec->lock);
  return found;
}

static const OutputEvent *
recorder_wait (Recorder * rec, const gchar * uid, const gchar * state,
    guint from, gdouble timeout_s)
{
  const OutputEvent *ev = NULL;

  CFTEST_WAIT ((ev = recorder_find (rec, uid, state, from)) != NULL, timeout_s);
  return ev;
}

/* The states of @uid from index @from on, comma separated */
static gchar *
recorder_states (Recorder * rec, const gchar * uid, guint from)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = from; i < rec->events->len; i++) {
    OutputEvent *ev = g_ptr_array_index (rec->events, i);

    if (!g_strcmp0 (ev->uid, uid))
      g_string_append_printf (s, "%s%s", s->len ? "," : "", ev->state);
  }
  g_mutex_unlock (&rec->lock);
  return g_string_free (s, FALSE);
}

static gboolean
recorder_has_warning (Recorder * rec, const gchar * text)
{
  gboolean found = FALSE;
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = 0; i < rec->warnings->len && !found; i++)
    found = strstr (g_ptr_array_index (rec->warnings, i), text) != NULL;
  g_mutex_unlock (&rec->lock);
  return found;
}

static gchar *
recorder_warnings (Recorder * rec)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = 0; i < rec->warnings->len; i++)
    g_string_append_printf (s, "%s%s", i ? "; " : "",
        (gchar *) g_ptr_array_index (rec->warnings, i));
  g_mutex_unlock (&rec->lock);
  return g_string_free (s, FALSE);
}

/* Every message well formed, and no stream key in any URL */
static void
recorder_check (Recorder * rec, const gchar * const *keys)
{
  guint i, k;

  g_mutex_lock (&rec->lock);
  fail_unless (rec->malformed->len == 0, "malformed cflive-output "
      "messages: %s", rec->malformed->str);
  for (i = 0; i < rec->events->len; i++) {
    OutputEvent *ev = g_ptr_array_index (rec->events, i);

    fail_unless (strlen (ev->uid) == 32, "uid %s", ev->uid);
    for (k = 0; keys[k]; k++)
      fail_unless (strstr (ev->url, keys[k]) == NULL,
          "the stream key shows in %s", ev->url);
  }
  g_mutex_unlock (&rec->lock);
}

/* --- the sink --- */

static gchar *
add_output (GstElement * sink, const gchar * url, const gchar * key,
    gboolean enabled)
{
  gchar *uid = NULL;

  g_signal_emit_by_name (sink, "add-output", url, key, enabled, &uid);
  return uid;
}

static gboolean
remove_output (GstElement * sink, const gchar * uid)
{
  gboolean ret = FALSE;

  g_signal_emit_by_name (sink, "remove-output", uid, &ret);
  return ret;
}

static gboolean
set_output_enabled (GstElement * sink, const gchar * uid, gboolean enabled)
{
  gboolean ret = FALSE;

  g_signal_emit_by_name (sink, "set-output-enabled", uid, enabled, &ret);
  return ret;
}

static GstStructure *
sink_stats (GstElement * sink)
{
  GstStructure *s = NULL;
  const GValue *v;

  g_object_get (sink, "stats", &s, NULL);
  fail_unless (s != NULL);
  fail_unless (gst_structure_has_name (s,
          "application/x-cflive-restream-stats"));
  v = gst_structure_get_value (s, "output");
  fail_unless (v != NULL && GST_VALUE_HOLDS_ARRAY (v));
  return s;
}

static guint
sink_n_outputs (GstElement * sink)
{
  GstStructure *s = sink_stats (sink);
  guint n = cftest_stats_get_uint (s, "outputs");

  fail_unless_equals_int (gst_value_array_get_size (gst_structure_get_value
          (s, "output")), n);
  gst_structure_free (s);
  return n;
}

/* The stats of the output @uid (a copy), or NULL */
static GstStructure *
output_stats (GstElement * sink, const gchar * uid)
{
  GstStructure *s = sink_stats (sink);
  const GValue *outputs = gst_structure_get_value (s, "output");
  GstStructure *found = NULL;
  guint i;

  for (i = 0; i < gst_value_array_get_size (outputs) && !found; i++) {
    const GstStructure *o =
        gst_value_get_structure (gst_value_array_get_value (outputs, i));

    fail_unless (gst_structure_has_name (o, "output"));
    if (!g_strcmp0 (gst_structure_get_string (o, "uid"), uid))
      found = gst_structure_copy (o);
  }
  gst_structure_free (s);
  if (found) {
    gboolean enabled;

    /* every field, typed */
    cftest_stats_get_string (found, "url");
    cftest_stats_get_string (found, "state");
    cftest_stats_get_string (found, "last-error");
    fail_unless (gst_structure_get_boolean (found, "enabled", &enabled));
    cftest_stats_get_uint64 (found, "bytes-sent");
    cftest_stats_get_uint64 (found, "frames-sent");
    cftest_stats_get_uint64 (found, "frames-dropped");
    cftest_stats_get_uint (found, "reconnects");
    cftest_stats_get_uint64 (found, "queued-bytes");
  }
  return found;
}

static gchar *
output_state (GstElement * sink, const gchar * uid)
{
  GstStructure *s = output_stats (sink, uid);
  gchar *state;

  fail_unless (s != NULL, "no output %s", uid);
  state = g_strdup (cftest_stats_get_string (s, "state"));
  gst_structure_free (s);
  return state;
}

static guint64
output_uint64 (GstElement * sink, const gchar * uid, const gchar * field)
{
  GstStructure *s = output_stats (sink, uid);
  guint64 v;

  fail_unless (s != NULL, "no output %s", uid);
  v = cftest_stats_get_uint64 (s, field);
  gst_structure_free (s);
  return v;
}

/* The uid of the output whose (safe) URL starts with @prefix */
static gchar *
find_uid_by_url (GstElement * sink, const gchar * prefix)
{
  GstStructure *s = sink_stats (sink);
  const GValue *outputs = gst_structure_get_value (s, "output");
  gchar *uid = NULL;
  guint i;

  for (i = 0; i < gst_value_array_get_size (outputs); i++) {
    const GstStructure *o =
        gst_value_get_structure (gst_value_array_get_value (outputs, i));

    if (g_str_has_prefix (gst_structure_get_string (o, "url"), prefix)) {
      fail_unless (uid == NULL, "two outputs at %s", prefix);
      uid = g_strdup (gst_structure_get_string (o, "uid"));
    }
  }
  gst_structure_free (s);
  fail_unless (uid != NULL, "no output at %s", prefix);
  return uid;
}

static GstElement *
get_element (CfTestInput * in, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (in->bin), name);

  fail_unless (e != NULL, "no element %s", name);
  return e;
}

/* --- publishing --- */

/* ffmpeg -stream_loop @loops -re -i @media -c copy -f flv @url: @loops
 * more plays after the first, then a clean unpublish */
static CfTestProc *
publish_loops (const gchar * media, const gchar * url, gint loops)
{
  g_autofree gchar *n = g_strdup_printf ("%d", loops);
  gchar *argv[] = {
    (gchar *) "ffmpeg", (gchar *) "-hide_banner", (gchar *) "-nostdin",
    (gchar *) "-loglevel", (gchar *) "warning", (gchar *) "-stream_loop", n,
    (gchar *) "-re", (gchar *) "-i", (gchar *) media, (gchar *) "-c",
    (gchar *) "copy", (gchar *) "-f", (gchar *) "flv", (gchar *) url, NULL
  };

  return cftest_spawn ("ffmpeg", argv);
}

/* The source of the stream to restream: cfliveinputsrc on a free port,
 * decoded by the test and teed to @branch */
static CfTestInput *
add_source (CfTestPipeline * p, const gchar * branch, gint reconnect_window)
{
  return cftest_pipeline_add_input_with_branch (p, "in", branch, "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", IN_KEY,
      "reconnect-window", reconnect_window, NULL);
}

static gchar *
source_url (CfTestInput * in)
{
  return cftest_input_publish_url (in, IN_KEY);
}

/* --- what cfliveinputsrc inputs saw --- */

/* Frames (no headers, no end of sequence) of @session (0: all) */
static guint
count_frames (CfTestInput * in, CfTestTagType type, guint session)
{
  guint i, n = 0;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->tags[type]->len; i++) {
    CfTestTag *t = &g_array_index (in->tags[type], CfTestTag, i);

    if (t->flags & GST_BUFFER_FLAG_HEADER || t->end_of_sequence)
      continue;
    if (session && t->session != session)
      continue;
    n++;
  }
  g_mutex_unlock (&in->lock);
  return n;
}

/* A session at a destination starts like a fresh stream: its first video
 * frame is a keyframe, and follows the session's first tag (the headers)
 * closely, in DTS */
static void
assert_session_starts_clean (CfTestInput * in, guint session)
{
  CfTestTag first_any = { 0, }, first_video = { 0, };
  gboolean have_any = FALSE, have_video = FALSE;
  guint type, i;

  g_mutex_lock (&in->lock);
  for (type = 0; type < CFTEST_N_TAG_TYPES; type++) {
    for (i = 0; i < in->tags[type]->len; i++) {
      CfTestTag *t = &g_array_index (in->tags[type], CfTestTag, i);

      if (t->session != session)
        continue;
      if (!have_any || t->wall < first_any.wall ||
          (t->wall == first_any.wall && t->dts < first_any.dts)) {
        first_any = *t;
        have_any = TRUE;
      }
      if (type == CFTEST_TAG_VIDEO && !have_video &&
          !(t->flags & GST_BUFFER_FLAG_HEADER) && !t->end_of_sequence) {
        first_video = *t;
        have_video = TRUE;
      }
    }
  }
  g_mutex_unlock (&in->lock);

  fail_unless (have_video, "%s: no video frame in session %u", in->name,
      session);
  fail_if (first_video.flags & GST_BUFFER_FLAG_DELTA_UNIT,
      "%s: session %u starts with a delta frame", in->name, session);
  fail_unless (GST_CLOCK_DIFF (first_any.dts, first_video.dts) <
      500 * GST_MSECOND, "%s: in session %u the first video frame is %"
      GST_STIME_FORMAT " after the session's first tag (DTS %" GST_TIME_FORMAT
      " then %" GST_TIME_FORMAT ")", in->name, session,
      GST_STIME_ARGS (GST_CLOCK_DIFF (first_any.dts, first_video.dts)),
      GST_TIME_ARGS (first_any.dts), GST_TIME_ARGS (first_video.dts));
}

/* The first frame of session @after follows the last of @before by no
 * more than the time between them */
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
  GST_INFO ("%s type %d: gap %" GST_STIME_FORMAT ", outage %"
      GST_STIME_FORMAT, in->name, type, GST_STIME_ARGS (gap),
      GST_STIME_ARGS (outage));
  fail_unless (gap > 0, "%s: timestamps went back by %" GST_STIME_FORMAT,
      in->name, GST_STIME_ARGS (-gap));
  fail_unless (gap <= outage + GAP_TOLERANCE, "%s: a timestamp gap of %"
      GST_STIME_FORMAT " for an outage of %" GST_STIME_FORMAT, in->name,
      GST_STIME_ARGS (gap), GST_STIME_ARGS (outage));
}

/* The longest time between two video frames leaving the source */
static gdouble
max_video_wall_gap (CfTestInput * in)
{
  gint64 prev = 0, max = 0;
  guint i;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->tags[CFTEST_TAG_VIDEO]->len; i++) {
    CfTestTag *t = &g_array_index (in->tags[CFTEST_TAG_VIDEO], CfTestTag, i);

    if (t->flags & GST_BUFFER_FLAG_HEADER)
      continue;
    if (prev)
      max = MAX (max, t->wall - prev);
    prev = t->wall;
  }
  g_mutex_unlock (&in->lock);
  return max / (gdouble) G_USEC_PER_SEC;
}

/* The DTS gap between the last video frame of session 1 and the first of
 * session 2 */
static GstClockTimeDiff
session_video_gap (CfTestInput * in)
{
  CfTestTag last, first;

  fail_unless (cftest_input_session_boundary (in, CFTEST_TAG_VIDEO, 1, 2,
          &last, &first));
  return GST_CLOCK_DIFF (last.dts, first.dts);
}

/* --- recordings --- */

typedef struct
{
  gchar *path;
  guint video_frames;           /* decoded */
  guint audio_frames;
  GArray *video_pts;            /* gint64 ms, in file order */
  GArray *audio_pts;
  gboolean first_video_key;
  gchar *errors;                /* what ffprobe complained about */
} Probe;

static void
probe_free (Probe * pr)
{
  g_free (pr->path);
  g_array_unref (pr->video_pts);
  g_array_unref (pr->audio_pts);
  g_free (pr->errors);
  g_free (pr);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Probe, probe_free);

static gchar *
run_ffprobe (const gchar * path, const gchar * entries, gboolean count,
    GString * errors)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *err_out = NULL;
  gchar *out = NULL;
  gint status = 0;
  gchar *argv[] = {
    (gchar *) "ffprobe", (gchar *) "-v", (gchar *) "error",
    (gchar *) "-show_entries", (gchar *) entries, (gchar *) "-of",
    (gchar *) "csv=p=0", (gchar *) path, NULL, NULL
  };

  if (count) {
    argv[7] = (gchar *) "-count_frames";
    argv[8] = (gchar *) path;
  }
  fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
          NULL, &out, &err_out, &status, &err), "ffprobe: %s",
      err ? err->message : "");
  fail_unless (g_spawn_check_wait_status (status, NULL), "ffprobe %s "
      "failed: %s", path, err_out);
  g_string_append (errors, err_out);
  return out;
}

/* Reads a recording back: frames decoded and packet timestamps */
static Probe *
probe_recording (const gchar * path)
{
  Probe *pr = g_new0 (Probe, 1);
  GString *errors = g_string_new (NULL);
  g_autofree gchar *streams = NULL;
  g_autofree gchar *packets = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean seen_video = FALSE;
  guint i;

  pr->path = g_strdup (path);
  pr->video_pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  pr->audio_pts = g_array_new (FALSE, FALSE, sizeof (gint64));

  streams = run_ffprobe (path, "stream=codec_type,nb_read_frames", TRUE,
      errors);
  lines = g_strsplit (streams, "\n", -1);
  for (i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (g_strstrip (lines[i]), ",", -1);

    if (g_strv_length (f) < 2)
      continue;
    if (!strcmp (f[0], "video"))
      pr->video_frames = atoi (f[1]);
    else if (!strcmp (f[0], "audio"))
      pr->audio_frames = atoi (f[1]);
  }
  g_clear_pointer (&lines, g_strfreev);

  packets = run_ffprobe (path, "packet=codec_type,pts,flags", FALSE, errors);
  lines = g_strsplit (packets, "\n", -1);
  for (i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (g_strstrip (lines[i]), ",", -1);
    gint64 pts;

    if (g_strv_length (f) < 3 || !g_ascii_isdigit (f[1][0]))
      continue;
    pts = g_ascii_strtoll (f[1], NULL, 10);
    if (!strcmp (f[0], "video")) {
      if (!seen_video)
        pr->first_video_key = f[2][0] == 'K';
      seen_video = TRUE;
      g_array_append_val (pr->video_pts, pts);
    } else if (!strcmp (f[0], "audio")) {
      g_array_append_val (pr->audio_pts, pts);
    }
  }
  pr->errors = g_string_free (errors, FALSE);
  GST_INFO ("%s: %u video frames (%u packets), %u audio frames (%u "
      "packets), first video %s, errors '%s'", path, pr->video_frames,
      pr->video_pts->len, pr->audio_frames, pr->audio_pts->len,
      pr->first_video_key ? "key" : "delta", pr->errors);
  return pr;
}

static gint64
probe_pts (GArray * pts, guint n)
{
  return g_array_index (pts, gint64, n);
}

/* The largest step between two video packets */
static gint64
probe_max_video_gap (Probe * pr)
{
  gint64 max = 0;
  guint i;

  for (i = 1; i < pr->video_pts->len; i++)
    max = MAX (max, probe_pts (pr->video_pts, i) -
        probe_pts (pr->video_pts, i - 1));
  return max;
}

/* Decodable without a complaint, timestamps increasing in each stream,
 * starting on a keyframe at (about) zero */
static void
assert_recording_sane (Probe * pr)
{
  GArray *arrays[] = { pr->video_pts, pr->audio_pts };
  guint a, i;

  fail_unless (pr->video_pts->len > 0 && pr->audio_pts->len > 0,
      "%s: %u video and %u audio packets", pr->path, pr->video_pts->len,
      pr->audio_pts->len);
  fail_unless (pr->first_video_key, "%s starts with a delta frame", pr->path);
  for (a = 0; a < G_N_ELEMENTS (arrays); a++) {
    for (i = 1; i < arrays[a]->len; i++)
      fail_unless (probe_pts (arrays[a], i) > probe_pts (arrays[a], i - 1),
          "%s: %s packet %u at %" G_GINT64_FORMAT " ms after %"
          G_GINT64_FORMAT " ms", pr->path, a ? "audio" : "video", i,
          probe_pts (arrays[a], i), probe_pts (arrays[a], i - 1));
  }
  /* nginx counts from the first message it records: frames long after
   * it mean headers stamped with older timestamps than the keyframe */
  fail_unless (probe_pts (pr->video_pts, 0) <= 500, "%s: the first video "
      "frame is at %" G_GINT64_FORMAT " ms, the recording starts with a gap",
      pr->path, probe_pts (pr->video_pts, 0));
  fail_unless (pr->errors[0] == '\0', "%s: ffprobe: %s", pr->path, pr->errors);
  fail_unless_equals_int (pr->video_frames, pr->video_pts->len);
}

/* Waits for @expected recordings of @key and for nginx to close them;
 * returns the newest */
static gchar *
wait_recordings (CfTestNginx * n, const gchar * key, guint expected)
{
  GPtrArray *recs = NULL;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gchar *last;
  guint i;

  while (TRUE) {
    recs = cftest_nginx_recordings (n, key);
    if (recs->len >= expected || g_get_monotonic_time () > end)
      break;
    g_ptr_array_unref (recs);
    g_usleep (20 * 1000);
  }
  fail_unless_equals_int (recs->len, expected);
  for (i = 0; i < recs->len; i++)
    fail_unless (CFTEST_WAIT (!cftest_nginx_is_recording (n,
                g_ptr_array_index (recs, i)), 5), "nginx still records %s",
        (gchar *) g_ptr_array_index (recs, i));
  last = g_strdup (g_ptr_array_index (recs, recs->len - 1));
  g_ptr_array_unref (recs);
  return last;
}

static gint64
file_size (const gchar * path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

/* --- sockets that accept and then do nothing useful --- */

typedef struct
{
  GSocketListener *listener;
  guint port;
  gboolean close_at_once;
  GCancellable *cancellable;
  GThread *thread;
  GMutex lock;
  GPtrArray *conns;             /* kept open, never read */
  GArray *accepted;             /* gint64 monotonic µs */
} Listener;

static gpointer
listener_thread (gpointer data)
{
  Listener *l = data;

  while (TRUE) {
    GSocketConnection *conn = g_socket_listener_accept (l->listener, NULL,
        l->cancellable, NULL);
    gint64 now = g_get_monotonic_time ();

    if (!conn)
      break;
    g_mutex_lock (&l->lock);
    g_array_append_val (l->accepted, now);
    if (l->close_at_once) {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      g_object_unref (conn);
    } else {
      g_ptr_array_add (l->conns, conn);
    }
    g_mutex_unlock (&l->lock);
  }
  return NULL;
}

/* Accepts on 127.0.0.1 and never reads, or closes each connection at
 * once */
static Listener *
listener_new (gboolean close_at_once)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) err = NULL;
  Listener *l = g_new0 (Listener, 1);

  l->listener = g_socket_listener_new ();
  fail_unless (g_socket_listener_add_address (l->listener, addr,
          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound, &err),
      "listen: %s", err ? err->message : "");
  l->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  l->close_at_once = close_at_once;
  l->cancellable = g_cancellable_new ();
  g_mutex_init (&l->lock);
  l->conns = g_ptr_array_new_with_free_func (g_object_unref);
  l->accepted = g_array_new (FALSE, FALSE, sizeof (gint64));
  l->thread = g_thread_new ("listener", listener_thread, l);
  return l;
}

/* Connections accepted after @since (monotonic µs) */
static guint
listener_accepted (Listener * l, gint64 since)
{
  guint i, n = 0;

  g_mutex_lock (&l->lock);
  for (i = 0; i < l->accepted->len; i++)
    if (g_array_index (l->accepted, gint64, i) > since)
      n++;
  g_mutex_unlock (&l->lock);
  return n;
}

static void
listener_free (Listener * l)
{
  g_cancellable_cancel (l->cancellable);
  g_thread_join (l->thread);
  g_socket_listener_close (l->listener);
  g_object_unref (l->listener);
  g_object_unref (l->cancellable);
  g_ptr_array_unref (l->conns);
  g_array_unref (l->accepted);
  g_mutex_clear (&l->lock);
  g_free (l);
}

static void
sleep_until (gint64 monotonic_us)
{
  gint64 now = g_get_monotonic_time ();

  if (now < monotonic_us)
    g_usleep (monotonic_us - now);
}

/* --- the tests --- */

/* Seven outputs of one sink at once: three to one nginx (two keys of one
 * application and another application), a cfliveinputsrc, an nginx that
 * comes up 3 s after the start, an nginx killed and restarted mid-stream
 * and a socket that accepts and never reads. */
GST_START_TEST (test_fanout_and_faults)
{
  const gchar *keys[] = { IN_KEY, "fan-one-7f3a", "fan-two-1c9e",
    "fan-three-52d0", "fan-dest-8b41", "fan-late-3e77", "fan-killed-a90c",
    "fan-stuck-64f2", NULL
  };
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dest = cftest_pipeline_add_input (dp, "dest", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[4], NULL);
  CfTestNginx *a = cftest_nginx_new (CFTEST_APP, "backup", NULL);
  CfTestNginx *late = cftest_nginx_new (CFTEST_APP, NULL);
  CfTestNginx *killed = cftest_nginx_new (CFTEST_APP, NULL);
  Listener *stuck = listener_new (FALSE);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url1 = NULL, *url3 = NULL, *outputs = NULL;
  g_autofree gchar *prefix = NULL, *a_url = NULL, *dest_url = NULL;
  g_autofree gchar *late_url = NULL, *killed_url = NULL, *stuck_url = NULL;
  gchar *uid[8] = { NULL, };
  g_autofree gchar *in_url = NULL;
  g_autofree gchar *problems = NULL, *errors = NULL, *events = NULL;
  g_autofree gchar *states = NULL, *state = NULL;
  g_autofree gchar *rec_late = NULL, *rec_killed = NULL;
  const OutputEvent *ev;
  CfTestProc *ff;
  gint64 t_play, t_kill, t_eos, t_first;
  guint n_video, n_audio, mark, i;

  cftest_pipeline_play (dp);
  cftest_nginx_start (a);
  cftest_nginx_start (killed);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, "cfrestreamsink name=rs", 0);
  sink = get_element (in, "rs");

  /* two from the property, the others from the signal */
  url1 = cftest_nginx_url (a, CFTEST_APP, keys[1]);
  url3 = cftest_nginx_url (a, "backup", keys[3]);
  outputs = g_strdup_printf ("%s, %s", url1, url3);
  g_object_set (sink, "outputs", outputs, NULL);
  g_object_get (sink, "outputs", &state, NULL);
  fail_unless_equals_string (state, outputs);
  g_clear_pointer (&state, g_free);
  prefix = g_strdup_printf ("rtmp://127.0.0.1:%u/%s/", a->port, CFTEST_APP);
  uid[1] = find_uid_by_url (sink, prefix);
  g_free (prefix);
  prefix = g_strdup_printf ("rtmp://127.0.0.1:%u/backup/", a->port);
  uid[3] = find_uid_by_url (sink, prefix);
  a_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", a->port, CFTEST_APP);
  uid[2] = add_output (sink, a_url, keys[2], TRUE);
  dest_url = cftest_input_publish_url (dest, keys[4]);
  uid[4] = add_output (sink, dest_url, NULL, TRUE);
  late_url = cftest_nginx_url (late, CFTEST_APP, keys[5]);
  uid[5] = add_output (sink, late_url, NULL, TRUE);
  killed_url = cftest_nginx_url (killed, CFTEST_APP, keys[6]);
  uid[6] = add_output (sink, killed_url, NULL, TRUE);
  stuck_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s/%s", stuck->port,
      CFTEST_APP, keys[7]);
  uid[7] = add_output (sink, stuck_url, NULL, TRUE);
  for (i = 1; i <= 7; i++) {
    fail_unless (uid[i] != NULL && strlen (uid[i]) == 32, "output %u", i);
    state = output_state (sink, uid[i]);
    fail_unless_equals_string (state, "connecting");
    g_clear_pointer (&state, g_free);
  }
  fail_unless_equals_int (sink_n_outputs (sink), 7);

  cftest_pipeline_play (p);
  t_play = g_get_monotonic_time ();
  for (i = 1; i <= 6; i++) {
    if (i == 5)
      continue;
    fail_unless (recorder_wait (rec, uid[i], "connected", 0, 5) != NULL,
        "output %u did not connect: %s", i, recorder_states (rec, uid[i], 0));
  }
  /* nobody listens there yet */
  ev = recorder_wait (rec, uid[5], "reconnecting", 0, 3);
  fail_unless (ev != NULL, "the output to a closed port: %s",
      recorder_states (rec, uid[5], 0));
  fail_unless (*ev->error != '\0');

  in_url = source_url (in);
  ff = publish_loops (cftest_small_media_path (), in_url, 4);
  fail_unless (cftest_input_wait_status (in, "connected", 10) != NULL);

  /* the late destination comes up */
  sleep_until (t_play + 3 * G_USEC_PER_SEC);
  cftest_nginx_start (late);

  /* one destination dies and comes back */
  fail_unless (cftest_input_wait_video_above (in, 150, 10));
  mark = recorder_n_events (rec);
  cftest_nginx_kill (killed, SIGKILL);
  t_kill = g_get_monotonic_time ();
  ev = recorder_wait (rec, uid[6], "reconnecting", mark, 3);
  fail_unless (ev != NULL, "no reconnecting after the kill: %s",
      recorder_states (rec, uid[6], mark));
  fail_unless (*ev->error != '\0');
  sleep_until (t_kill + 1500 * G_USEC_PER_SEC / 1000);
  cftest_nginx_start (killed);
  ev = recorder_wait (rec, uid[6], "connected", mark, 8);
  fail_unless (ev != NULL, "not connected again: %s",
      recorder_states (rec, uid[6], mark));
  GST_INFO ("reconnected %.2f s after the kill", (ev->wall - t_kill) / 1e6);

  ev = recorder_wait (rec, uid[5], "connected", 0, 10);
  fail_unless (ev != NULL, "the late destination: %s",
      recorder_states (rec, uid[5], 0));
  GST_INFO ("late destination connected %.2f s after the start",
      (ev->wall - t_play) / 1e6);

  /* the socket that never reads: given up on after the connect timeout */
  ev = recorder_wait (rec, uid[7], "reconnecting", 0, 22 -
      cftest_seconds_since (t_play));
  fail_unless (ev != NULL, "the stuck output: %s",
      recorder_states (rec, uid[7], 0));
  fail_unless (*ev->error != '\0');
  fail_unless ((ev->wall - t_play) / 1e6 >= 10.0, "the stuck output gave up "
      "after %.2f s", (ev->wall - t_play) / 1e6);
  GST_INFO ("stuck output reconnecting after %.2f s (%s)",
      (ev->wall - t_play) / 1e6, ev->error);

  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 30), "no EOS");
  t_eos = g_get_monotonic_time ();
  fail_unless (cftest_proc_wait (ff, 5));
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);

  /* the ingest never waited for a destination */
  n_video = count_frames (in, CFTEST_TAG_VIDEO, 0);
  n_audio = count_frames (in, CFTEST_TAG_AUDIO, 0);
  fail_unless_equals_int (n_video, 5 * CFTEST_SMALL_VIDEO_FRAMES);
  fail_unless_equals_int (cftest_input_video_frames (in), n_video);
  fail_unless (max_video_wall_gap (in) < 1.0, "the source stalled for "
      "%.2f s", max_video_wall_gap (in));
  t_first = cftest_input_get_tag (in, CFTEST_TAG_VIDEO, 0).wall;
  fail_unless ((t_eos - t_first) / 1e6 < 5 * CFTEST_SMALL_SECONDS + 4.0,
      "the stream took %.2f s", (t_eos - t_first) / 1e6);
  problems = cftest_input_check_tags (in);
  fail_unless (problems == NULL, "%s", problems);

  /* stats: the healthy ones sent everything, only the stuck one lost */
  for (i = 1; i <= 4; i++) {
    GstStructure *s = output_stats (sink, uid[i]);

    fail_unless_equals_string (cftest_stats_get_string (s, "state"),
        "connected");
    fail_unless_equals_uint64 (cftest_stats_get_uint64 (s,
            "frames-dropped"), 0);
    fail_unless_equals_int (cftest_stats_get_uint (s, "reconnects"), 0);
    fail_unless (cftest_stats_get_uint64 (s, "frames-sent") >= n_video +
        n_audio - AUDIO_SLACK, "output %u sent %" G_GUINT64_FORMAT
        " frames of %u", i, cftest_stats_get_uint64 (s, "frames-sent"),
        n_video + n_audio);
    fail_unless (strstr (cftest_stats_get_string (s, "url"), keys[i]) == NULL);
    states = recorder_states (rec, uid[i], 0);
    fail_unless_equals_string (states, "connecting,connected");
    g_clear_pointer (&states, g_free);
    gst_structure_free (s);
  }
  fail_unless (output_uint64 (sink, uid[7], "frames-dropped") > 0);
  fail_unless_equals_uint64 (output_uint64 (sink, uid[7], "frames-sent"), 0);
  fail_unless (listener_accepted (stuck, 0) >= 2, "the stuck output did "
      "not try again (%u connections)", listener_accepted (stuck, 0));
  states = recorder_states (rec, uid[5], 0);
  fail_unless (g_str_has_prefix (states, "connecting,reconnecting") &&
      g_str_has_suffix (states, ",connected"), "late: %s", states);
  g_clear_pointer (&states, g_free);
  states = recorder_states (rec, uid[6], 0);
  fail_unless (g_str_has_prefix (states, "connecting,connected,reconnecting")
      && g_str_has_suffix (states, ",connected"), "killed: %s", states);
  fail_unless (output_uint64 (sink, uid[6], "frames-sent") > 0);

  cftest_pipeline_free (p);
  recorder_check (rec, keys);
  gst_object_unref (sink);

  /* the cfliveinputsrc destination got every video frame, in one session */
  fail_unless (CFTEST_WAIT (count_frames (dest, CFTEST_TAG_VIDEO, 0) >=
          n_video, 5));
  fail_unless_equals_int (count_frames (dest, CFTEST_TAG_VIDEO, 0), n_video);
  fail_unless (count_frames (dest, CFTEST_TAG_AUDIO, 0) >= n_audio -
      AUDIO_SLACK);
  fail_unless (cftest_input_wait_video_above (dest, n_video - DECODER_SLACK -
          1, 5), "%s decoded %" G_GUINT64_FORMAT " of %u video frames",
      dest->name, cftest_input_video_frames (dest), n_video);
  assert_session_starts_clean (dest, 1);
  g_clear_pointer (&problems, g_free);
  problems = cftest_input_check_tags (dest);
  fail_unless (problems == NULL, "%s", problems);
  events = cftest_input_events (dest);
  fail_unless (g_str_has_prefix (events, "connected:1"), "%s", events);
  fail_unless (strstr (events, "reconnected") == NULL, "%s", events);
  cftest_pipeline_free (dp);

  /* nginx: all three complete */
  for (i = 1; i <= 3; i++) {
    g_autofree gchar *path = wait_recordings (a, keys[i], 1);
    g_autoptr (Probe) pr = probe_recording (path);

    assert_recording_sane (pr);
    fail_unless_equals_int (pr->video_frames, n_video);
    fail_unless (pr->audio_frames >= n_audio - AUDIO_SLACK &&
        pr->audio_frames <= n_audio, "%s: %u audio frames of %u", path,
        pr->audio_frames, n_audio);
  }

  /* the late one from when it came up to the end */
  rec_late = wait_recordings (late, keys[5], 1);
  {
    g_autoptr (Probe) pr = probe_recording (rec_late);

    assert_recording_sane (pr);
    fail_unless (pr->video_frames >= 8 * CFTEST_MEDIA_FPS, "%s: %u frames",
        rec_late, pr->video_frames);
  }

  /* the killed one: a second recording after the restart */
  rec_killed = wait_recordings (killed, keys[6], 2);
  {
    g_autoptr (Probe) pr = probe_recording (rec_killed);

    assert_recording_sane (pr);
    fail_unless (pr->video_frames >= 5 * CFTEST_MEDIA_FPS, "%s: %u frames",
        rec_killed, pr->video_frames);
  }

  for (i = 1; i <= 7; i++)
    g_free (uid[i]);
  cftest_nginx_free (a);
  cftest_nginx_free (late);
  cftest_nginx_free (killed);
  listener_free (stuck);
  recorder_free (rec);
}

GST_END_TEST;

/* Outputs added, removed, disabled and enabled while the stream flows */
GST_START_TEST (test_control_while_playing)
{
  const gchar *keys[] = { IN_KEY, "ctl-removed-0d6b", "ctl-toggled-95e1",
    "ctl-dest-4c28", "ctl-added-e713", "ctl-refused-2fa9", NULL
  };
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dest = cftest_pipeline_add_input (dp, "dest", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[3], NULL);
  CfTestInput *added = cftest_pipeline_add_input (dp, "added", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[4], NULL);
  CfTestNginx *n = cftest_nginx_new (CFTEST_APP, NULL);
  Listener *refusing = listener_new (TRUE);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url = NULL, *refusing_url = NULL, *states = NULL;
  g_autofree gchar *uid_rm = NULL, *uid_tg = NULL, *uid_dest = NULL;
  g_autofree gchar *uid_add = NULL, *uid_ref = NULL;
  g_autofree gchar *rec_rm = NULL, *rec_tg = NULL, *reasons = NULL;
  g_autofree gchar *problems = NULL;
  const GstStructure *st;
  const OutputEvent *ev;
  GPtrArray *recs;
  GstStructure *s;
  gint64 t_off, t_on, t_toggle, size;
  guint mark, n_tries;
  guint64 frames;

  cftest_pipeline_play (dp);
  cftest_nginx_start (n);
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, "cfrestreamsink name=rs", 60);
  sink = get_element (in, "rs");

  url = cftest_nginx_url (n, CFTEST_APP, keys[1]);
  uid_rm = add_output (sink, url, NULL, TRUE);
  g_free (url);
  url = cftest_nginx_url (n, CFTEST_APP, keys[2]);
  uid_tg = add_output (sink, url, NULL, TRUE);
  g_free (url);
  url = cftest_input_publish_url (dest, keys[3]);
  uid_dest = add_output (sink, url, NULL, TRUE);
  g_free (url);
  fail_unless (uid_rm && uid_tg && uid_dest);

  cftest_pipeline_play (p);
  fail_unless (recorder_wait (rec, uid_rm, "connected", 0, 5) != NULL);
  fail_unless (recorder_wait (rec, uid_tg, "connected", 0, 5) != NULL);
  fail_unless (recorder_wait (rec, uid_dest, "connected", 0, 5) != NULL);
  url = source_url (in);
  cftest_ffmpeg_publish (cftest_small_media_path (), url, TRUE);
  g_clear_pointer (&url, g_free);
  /* past a keyframe or two */
  fail_unless (cftest_input_wait_video_above (in, 80, 10));
  fail_unless (cftest_input_wait_status (dest, "connected", 5) != NULL);
  recs = cftest_nginx_recordings (n, keys[1]);
  fail_unless_equals_int (recs->len, 1);
  rec_rm = g_strdup (g_ptr_array_index (recs, 0));
  g_ptr_array_unref (recs);
  recs = cftest_nginx_recordings (n, keys[2]);
  fail_unless_equals_int (recs->len, 1);
  g_ptr_array_unref (recs);
  fail_unless (cftest_nginx_is_recording (n, rec_rm));

  /* one removed, two disabled, one added */
  mark = recorder_n_events (rec);
  fail_unless (remove_output (sink, uid_rm));
  fail_unless (set_output_enabled (sink, uid_tg, FALSE));
  fail_unless (set_output_enabled (sink, uid_dest, FALSE));
  t_off = g_get_monotonic_time ();
  url = cftest_input_publish_url (added, keys[4]);
  uid_add = add_output (sink, url, NULL, TRUE);
  g_clear_pointer (&url, g_free);
  fail_unless (uid_add != NULL);

  /* the destinations see the publisher leave within a second */
  fail_unless (CFTEST_WAIT (!cftest_nginx_is_recording (n, rec_rm), 1.0),
      "nginx still records the removed output");
  recs = cftest_nginx_recordings (n, keys[2]);
  fail_unless (CFTEST_WAIT (!cftest_nginx_is_recording (n,
              g_ptr_array_index (recs, 0)), 1.0 - cftest_seconds_since
          (t_off)), "nginx still records the disabled output");
  rec_tg = g_strdup (g_ptr_array_index (recs, 0));
  g_ptr_array_unref (recs);
  st = cftest_input_wait_status (dest, "reconnecting",
      1.0 - cftest_seconds_since (t_off));
  fail_unless (st != NULL, "the disabled destination did not see the "
      "publisher leave within 1 s: %s", cftest_input_reasons (dest));
  GST_INFO ("destinations left after %.3f s", cftest_seconds_since (t_off));
  ev = recorder_wait (rec, uid_tg, "disabled", mark, 1);
  fail_unless (ev != NULL);
  fail_unless (recorder_wait (rec, uid_dest, "disabled", mark, 1) != NULL);

  /* the recordings stopped growing */
  size = file_size (rec_rm);
  fail_unless (size > 0);
  g_usleep (300 * 1000);
  fail_unless_equals_int64 (file_size (rec_rm), size);
  size = file_size (rec_tg);
  g_usleep (300 * 1000);
  fail_unless_equals_int64 (file_size (rec_tg), size);

  /* what the sink says about them */
  fail_unless (output_stats (sink, uid_rm) == NULL);
  fail_if (remove_output (sink, uid_rm));
  fail_if (set_output_enabled (sink, uid_rm, TRUE));
  fail_if (set_output_enabled (sink, "0123456789abcdef0123456789abcdef", TRUE));
  s = output_stats (sink, uid_tg);
  fail_unless_equals_string (cftest_stats_get_string (s, "state"), "disabled");
  {
    gboolean enabled = TRUE;

    fail_unless (gst_structure_get_boolean (s, "enabled", &enabled));
    fail_if (enabled);
  }
  frames = cftest_stats_get_uint64 (s, "frames-sent");
  gst_structure_free (s);
  states = recorder_states (rec, uid_rm, 0);
  fail_unless_equals_string (states, "connecting,connected");
  g_clear_pointer (&states, g_free);
  fail_unless_equals_int (sink_n_outputs (sink), 3);

  /* the added one joins at a keyframe */
  fail_unless (recorder_wait (rec, uid_add, "connected", 0, 5) != NULL);
  fail_unless (cftest_input_wait_status (added, "connected", 5) != NULL);

  /* back on, in another second (nginx names recordings by the second) */
  sleep_until (t_off + 1200 * 1000);
  mark = recorder_n_events (rec);
  fail_unless (set_output_enabled (sink, uid_tg, TRUE));
  fail_unless (set_output_enabled (sink, uid_dest, TRUE));
  t_on = g_get_monotonic_time ();
  fail_unless (recorder_wait (rec, uid_tg, "connected", mark, 5) != NULL,
      "%s", recorder_states (rec, uid_tg, mark));
  fail_unless (recorder_wait (rec, uid_dest, "connected", mark, 5) != NULL);
  st = cftest_input_wait_status (dest, "reconnected", 5);
  fail_unless (st != NULL, "%s", cftest_input_reasons (dest));
  GST_INFO ("reconnected after %.3f s", cftest_seconds_since (t_on));
  states = recorder_states (rec, uid_tg, 0);
  fail_unless_equals_string (states, "connecting,connected,disabled,connecting,"
      "connected");
  g_clear_pointer (&states, g_free);
  fail_unless (CFTEST_WAIT (output_uint64 (sink, uid_tg, "frames-sent") >
          frames + 60, 5));
  fail_unless (cftest_input_wait_video_above (dest,
          count_frames (dest, CFTEST_TAG_VIDEO, 1) + 45, 5));
  fail_unless (cftest_input_wait_video_above (added, 45, 5));

  /* the re-enabled destination: a fresh start at a keyframe, in time */
  assert_session_starts_clean (dest, 1);
  assert_session_starts_clean (dest, 2);
  assert_gap_within_outage (dest, CFTEST_TAG_VIDEO, 1, 2);
  problems = cftest_input_check_tags (dest);
  fail_unless (problems == NULL, "%s", problems);
  /* the one added while playing */
  assert_session_starts_clean (added, 1);
  g_clear_pointer (&problems, g_free);
  problems = cftest_input_check_tags (added);
  fail_unless (problems == NULL, "%s", problems);
  reasons = cftest_input_reasons (added);
  fail_unless (g_str_has_prefix (reasons, "connected"), "%s", reasons);

  /* an output that keeps failing, switched off and on before the
   * outputs' thread got to it (held in its first reconnecting message):
   * one retry schedule, and none once it is removed */
  refusing_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s/", refusing->port,
      CFTEST_APP);
  recorder_hold (rec, refusing_url);
  g_free (refusing_url);
  refusing_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s/%s",
      refusing->port, CFTEST_APP, keys[5]);
  uid_ref = add_output (sink, refusing_url, NULL, TRUE);
  fail_unless (uid_ref != NULL);
  fail_unless (recorder_wait_held (rec, 3));
  fail_unless (set_output_enabled (sink, uid_ref, FALSE));
  fail_unless (set_output_enabled (sink, uid_ref, TRUE));
  t_toggle = g_get_monotonic_time ();
  recorder_release (rec);
  ev = recorder_wait (rec, uid_ref, "reconnecting", 0, 3);
  fail_unless (ev != NULL);
  fail_unless (*ev->error != '\0');
  /* from here: attempts at once, after 1 s, 3 s, 7 s */
  g_usleep (5500 * 1000);
  n_tries = listener_accepted (refusing, t_toggle + G_USEC_PER_SEC / 2);
  fail_unless (n_tries <= 2, "%u connection attempts from 0.5 to 5.5 s "
      "after switching the output off and on", n_tries);
  fail_unless (remove_output (sink, uid_ref));
  t_toggle = g_get_monotonic_time ();
  g_usleep (2500 * 1000);
  fail_unless_equals_int (listener_accepted (refusing, t_toggle), 0);

  cftest_pipeline_free (p);
  recorder_check (rec, keys);
  gst_object_unref (sink);
  cftest_pipeline_free (dp);

  /* nginx: the removed output's recording, and two of the toggled one */
  g_free (rec_rm);
  rec_rm = wait_recordings (n, keys[1], 1);
  {
    g_autoptr (Probe) pr = probe_recording (rec_rm);

    assert_recording_sane (pr);
  }
  g_free (rec_tg);
  rec_tg = wait_recordings (n, keys[2], 2);
  {
    g_autoptr (Probe) pr = probe_recording (rec_tg);

    assert_recording_sane (pr);
    fail_unless (pr->video_frames >= 60, "%s: %u frames", rec_tg,
        pr->video_frames);
  }
  cftest_nginx_free (n);
  listener_free (refusing);
  recorder_free (rec);
}

GST_END_TEST;

/* The encoder drops and comes back within the reconnect window upstream:
 * the destinations never notice but for the gap */
GST_START_TEST (test_encoder_reconnect)
{
  const gchar *keys[] = { IN_KEY, "enc-nginx-61f0", "enc-dest-b25c", NULL };
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dest = cftest_pipeline_add_input (dp, "dest", "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[2], NULL);
  CfTestNginx *n = cftest_nginx_new (CFTEST_APP, NULL);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url = NULL, *uid_n = NULL, *uid_d = NULL;
  g_autofree gchar *states = NULL, *events = NULL, *problems = NULL;
  g_autofree gchar *path = NULL, *reasons = NULL;
  g_autoptr (Probe) pr = NULL;
  GstClockTimeDiff in_gap, dest_gap;
  CfTestProc *ff;
  gint64 t_kill;
  guint n_video, n_audio;

  cftest_pipeline_play (dp);
  cftest_nginx_start (n);
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, "cfrestreamsink name=rs", 10);
  sink = get_element (in, "rs");
  url = cftest_nginx_url (n, CFTEST_APP, keys[1]);
  uid_n = add_output (sink, url, NULL, TRUE);
  g_free (url);
  url = cftest_input_publish_url (dest, keys[2]);
  uid_d = add_output (sink, url, NULL, TRUE);
  g_free (url);

  cftest_pipeline_play (p);
  fail_unless (recorder_wait (rec, uid_n, "connected", 0, 5) != NULL);
  fail_unless (recorder_wait (rec, uid_d, "connected", 0, 5) != NULL);
  url = source_url (in);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);
  fail_unless (cftest_input_wait_video_above (in, 70, 10));

  /* the encoder dies without a word and is back a second later */
  cftest_proc_kill (ff, SIGKILL);
  t_kill = g_get_monotonic_time ();
  fail_unless (cftest_input_wait_status (in, "reconnecting", 3) != NULL);
  sleep_until (t_kill + G_USEC_PER_SEC);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), url, FALSE);
  fail_unless (cftest_input_wait_status (in, "reconnected", 10) != NULL);
  fail_unless (cftest_proc_wait (ff, 10));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);
  /* the clean unpublish of the second session is the source's last word */
  fail_unless (CFTEST_WAIT (cftest_input_n_statuses (in) >= 4, 5));
  fail_unless (CFTEST_WAIT (output_uint64 (sink, uid_n, "queued-bytes") == 0
          && output_uint64 (sink, uid_d, "queued-bytes") == 0, 5));
  g_usleep (500 * 1000);

  reasons = cftest_input_reasons (in);
  fail_unless_equals_string (reasons, "connected,reconnecting,reconnected,"
      "reconnecting");
  n_video = count_frames (in, CFTEST_TAG_VIDEO, 0);
  n_audio = count_frames (in, CFTEST_TAG_AUDIO, 0);
  fail_unless (count_frames (in, CFTEST_TAG_VIDEO, 2) ==
      CFTEST_SMALL_VIDEO_FRAMES);
  in_gap = session_video_gap (in);
  GST_INFO ("source: %u video frames, gap %" GST_STIME_FORMAT, n_video,
      GST_STIME_ARGS (in_gap));
  fail_unless (in_gap >= 900 * GST_MSECOND, "gap %" GST_STIME_FORMAT,
      GST_STIME_ARGS (in_gap));

  /* no state change after connecting: the outputs stayed connected */
  states = recorder_states (rec, uid_n, 0);
  fail_unless_equals_string (states, "connecting,connected");
  g_free (states);
  states = recorder_states (rec, uid_d, 0);
  fail_unless_equals_string (states, "connecting,connected");
  fail_unless_equals_int (output_uint64 (sink, uid_n, "frames-dropped"), 0);
  fail_unless_equals_int (output_uint64 (sink, uid_d, "frames-dropped"), 0);
  recorder_check (rec, keys);

  /* the cfliveinputsrc destination saw one publish, with the gap */
  events = cftest_input_events (dest);
  fail_unless_equals_string (events, "connected:1");
  fail_unless_equals_int (count_frames (dest, CFTEST_TAG_VIDEO, 0), n_video);
  problems = cftest_input_check_tags (dest);
  fail_unless (problems == NULL, "%s", problems);
  {
    CfTestTag prev = { 0, }, t;
    guint i;

    dest_gap = 0;
    for (i = 0; i < cftest_input_n_tags (dest, CFTEST_TAG_VIDEO); i++) {
      t = cftest_input_get_tag (dest, CFTEST_TAG_VIDEO, i);
      if (t.flags & GST_BUFFER_FLAG_HEADER || t.end_of_sequence)
        continue;
      if (prev.wall)
        dest_gap = MAX (dest_gap, GST_CLOCK_DIFF (prev.dts, t.dts));
      prev = t;
    }
  }
  fail_unless (ABS (dest_gap - in_gap) <= 2 * GST_MSECOND, "gap %"
      GST_STIME_FORMAT " at the destination, %" GST_STIME_FORMAT
      " at the source", GST_STIME_ARGS (dest_gap), GST_STIME_ARGS (in_gap));

  cftest_pipeline_free (p);
  gst_object_unref (sink);
  cftest_pipeline_free (dp);

  /* nginx: one recording with both sessions and the gap between them */
  path = wait_recordings (n, keys[1], 1);
  pr = probe_recording (path);
  assert_recording_sane (pr);
  fail_unless_equals_int (pr->video_frames, n_video);
  fail_unless (pr->audio_frames >= n_audio - 2 * AUDIO_SLACK, "%u of %u "
      "audio frames", pr->audio_frames, n_audio);
  fail_unless (ABS (probe_max_video_gap (pr) * GST_MSECOND - in_gap) <=
      2 * GST_MSECOND, "gap of %" G_GINT64_FORMAT " ms in the recording, %"
      GST_STIME_FORMAT " at the source", probe_max_video_gap (pr),
      GST_STIME_ARGS (in_gap));

  cftest_nginx_free (n);
  recorder_free (rec);
}

GST_END_TEST;

/* 50 outputs, the default maximum, and a refused 51st */
GST_START_TEST (test_max_outputs)
{
  const gchar *keys[] = { IN_KEY, NULL };
  Recorder *rec = recorder_new ();
  CfTestNginx *n = cftest_nginx_new (CFTEST_APP, NULL);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url = NULL, *url_51 = NULL, *extra = NULL;
  gchar *uids[50];
  guint max = 0, i;

  cftest_nginx_start (n);
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, "cfrestreamsink name=rs", 60);
  sink = get_element (in, "rs");
  g_object_get (sink, "max-outputs", &max, NULL);
  fail_unless_equals_int (max, 50);

  for (i = 0; i < 50; i++) {
    g_autofree gchar *key = g_strdup_printf ("many-%02u", i);

    url = cftest_nginx_url (n, CFTEST_APP, key);
    uids[i] = add_output (sink, url, NULL, TRUE);
    g_clear_pointer (&url, g_free);
    fail_unless (uids[i] != NULL, "output %u refused: %s", i,
        recorder_warnings (rec));
  }
  url_51 = cftest_nginx_url (n, CFTEST_APP, "many-50");
  fail_unless (add_output (sink, url_51, NULL, TRUE) == NULL);
  fail_unless (recorder_has_warning (rec, "maximum of 50"), "warnings: %s",
      recorder_warnings (rec));
  fail_unless_equals_int (sink_n_outputs (sink), 50);
  /* and a bad URL, while at it */
  fail_unless (add_output (sink, "http://127.0.0.1/live/key", NULL,
          TRUE) == NULL);
  fail_unless (recorder_has_warning (rec, "rtmp://"), "warnings: %s",
      recorder_warnings (rec));

  cftest_pipeline_play (p);
  for (i = 0; i < 50; i++)
    fail_unless (recorder_wait (rec, uids[i], "connected", 0, 10) != NULL,
        "output %u: %s", i, recorder_states (rec, uids[i], 0));
  url = source_url (in);
  cftest_ffmpeg_publish (cftest_small_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (in, 75, 10));
  g_usleep (500 * 1000);
  for (i = 0; i < 50; i++) {
    GstStructure *s = output_stats (sink, uids[i]);
    g_autofree gchar *key = g_strdup_printf ("many-%02u", i);
    GPtrArray *recs = cftest_nginx_recordings (n, key);

    fail_unless_equals_string (cftest_stats_get_string (s, "state"),
        "connected");
    fail_unless (cftest_stats_get_uint64 (s, "frames-sent") >= 60,
        "output %u sent %" G_GUINT64_FORMAT " frames", i,
        cftest_stats_get_uint64 (s, "frames-sent"));
    fail_unless_equals_uint64 (cftest_stats_get_uint64 (s,
            "frames-dropped"), 0);
    fail_unless_equals_int (recs->len, 1);
    fail_unless (cftest_nginx_is_recording (n, g_ptr_array_index (recs, 0)));
    g_ptr_array_unref (recs);
    gst_structure_free (s);
  }

  /* room for one again once one goes */
  fail_unless (remove_output (sink, uids[7]));
  extra = add_output (sink, url_51, NULL, TRUE);
  fail_unless (extra != NULL);
  fail_unless (recorder_wait (rec, extra, "connected", 0, 5) != NULL);

  cftest_pipeline_free (p);
  recorder_check (rec, keys);
  gst_object_unref (sink);
  for (i = 0; i < 50; i++)
    g_free (uids[i]);
  cftest_nginx_free (n);
  recorder_free (rec);
}

GST_END_TEST;

/* rtmps:// to a cfliveinputsrc with a self-signed certificate: accepted
 * without validation, refused with it */
GST_START_TEST (test_rtmps)
{
  const gchar *keys[] = { IN_KEY, "tls-open-0e93", "tls-strict-d5a7", NULL };
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *lax = cftest_pipeline_add_input (dp, "lax", "rtmp-url",
      "rtmps://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[1],
      "tls-certificate", cftest_cert_path (), "tls-key", cftest_key_path (),
      NULL);
  CfTestInput *strict = cftest_pipeline_add_input (dp, "strict", "rtmp-url",
      "rtmps://127.0.0.1:0/" CFTEST_APP, "stream-key", keys[2],
      "tls-certificate", cftest_cert_path (), "tls-key", cftest_key_path (),
      NULL);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink_lax, *sink_strict;
  g_autofree gchar *url = NULL, *uid_lax = NULL, *uid_strict = NULL;
  g_autofree gchar *states = NULL, *error = NULL, *problems = NULL;
  const GstStructure *st;
  const OutputEvent *ev;
  GstStructure *s;
  gboolean validate = FALSE;

  cftest_pipeline_play (dp);
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, "cfrestreamsink name=lax tls-validate=false "
      "t. ! queue ! cfrestreamsink name=strict max-reconnects=1", 60);
  sink_lax = get_element (in, "lax");
  sink_strict = get_element (in, "strict");
  g_object_get (sink_strict, "tls-validate", &validate, NULL);
  fail_unless (validate, "tls-validate is on by default");

  url = cftest_input_publish_url (lax, keys[1]);
  fail_unless (g_str_has_prefix (url, "rtmps://"));
  uid_lax = add_output (sink_lax, url, NULL, TRUE);
  g_free (url);
  url = cftest_input_publish_url (strict, keys[2]);
  uid_strict = add_output (sink_strict, url, NULL, TRUE);
  g_free (url);

  cftest_pipeline_play (p);
  fail_unless (recorder_wait (rec, uid_lax, "connected", 0, 5) != NULL,
      "%s", recorder_states (rec, uid_lax, 0));
  url = source_url (in);
  cftest_ffmpeg_publish (cftest_small_media_path (), url, TRUE);
  fail_unless (cftest_input_wait_video_above (lax, 60, 10),
      "%" G_GUINT64_FORMAT " frames over rtmps",
      cftest_input_video_frames (lax));
  st = cftest_input_find_status (lax, "connected");
  fail_unless (st != NULL);
  fail_unless_equals_string (gst_structure_get_string (st, "protocol"),
      "rtmps");
  assert_session_starts_clean (lax, 1);

  /* the validating sink refuses the certificate, tries once more, gives
   * up */
  ev = recorder_wait (rec, uid_strict, "reconnecting", 0, 5);
  fail_unless (ev != NULL, "%s", recorder_states (rec, uid_strict, 0));
  error = g_ascii_strdown (ev->error, -1);
  fail_unless (strstr (error, "certificate") != NULL, "error: %s", ev->error);
  ev = recorder_wait (rec, uid_strict, "failed", 0, 5);
  fail_unless (ev != NULL, "%s", recorder_states (rec, uid_strict, 0));
  g_free (error);
  error = g_ascii_strdown (ev->error, -1);
  fail_unless (strstr (error, "certificate") != NULL, "error: %s", ev->error);
  states = recorder_states (rec, uid_strict, 0);
  fail_unless_equals_string (states, "connecting,reconnecting,failed");
  s = output_stats (sink_strict, uid_strict);
  fail_unless_equals_string (cftest_stats_get_string (s, "state"), "failed");
  fail_unless (strstr (cftest_stats_get_string (s, "last-error"),
          "certificate") != NULL);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (s, "frames-sent"), 0);
  gst_structure_free (s);
  fail_unless_equals_int (cftest_input_n_statuses (strict), 0);

  cftest_pipeline_free (p);
  recorder_check (rec, keys);
  gst_object_unref (sink_lax);
  gst_object_unref (sink_strict);
  problems = cftest_input_check_tags (lax);
  fail_unless (problems == NULL, "%s", problems);
  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

static Suite *
restream_suite (void)
{
  Suite *s = suite_create ("integration-restream");
  TCase *tc = tcase_create ("restream");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_fanout_and_faults);
  tcase_add_test (tc, test_control_while_playing);
  tcase_add_test (tc, test_encoder_reconnect);
  tcase_add_test (tc, test_max_outputs);
  tcase_add_test (tc, test_rtmps);
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
  return cftest_main (argc, argv, CFTEST_NEED_SMALL_MEDIA |
      CFTEST_NEED_CERTIFICATE, restream_suite, "integration-restream",
      __FILE__);
}
