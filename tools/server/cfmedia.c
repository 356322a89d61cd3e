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

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/cflive/cflive.h>

#include "cfmedia.h"

GST_DEBUG_CATEGORY_STATIC (cf_media_debug);
#define GST_CAT_DEFAULT cf_media_debug

struct _CfMedia
{
  gint refcount;                /* the server's, and one per queued message */
  gboolean freed;               /* main thread: only its recording
                                 * messages are still delivered */
  gchar *uid;
  GstElement *pipeline;
  GstElement *src;
  GstElement *restream;
  GstElement *record;           /* NULL without cfrecordsink */
  CfMediaCallbacks callbacks;
  gpointer user_data;
  gboolean ended;
  GstMessage *start_error;      /* under dispatch.lock */
};

static gboolean have_recorder = FALSE;

/* The messages of every pipeline reach the main thread through one queue
 * and one GSource: a bus watch per pipeline would put the poll descriptor
 * of each of a thousand live inputs into every iteration of the main loop
 * that serves the API. */
typedef struct
{
  CfMedia *media;
  GstMessage *msg;
} Pending;

static struct
{
  GMutex lock;
  GQueue queue;
  GSource *source;
} dispatch;

/* Pipelines are stopped in these threads: cfrecordsink finalises the
 * recording in progress when it stops (its MP4 can take a while for a long
 * broadcast), and the API must not wait for that. */
static GThreadPool *teardown = NULL;
#define TEARDOWN_THREADS 4

static void on_message (CfMedia * m, GstMessage * msg);
static void teardown_func (gpointer data, gpointer user_data);

static CfMedia *
media_ref (CfMedia * m)
{
  g_atomic_int_inc (&m->refcount);
  return m;
}

static void
media_unref (CfMedia * m)
{
  if (!g_atomic_int_dec_and_test (&m->refcount))
    return;
  if (m->start_error)
    gst_message_unref (m->start_error);
  if (m->pipeline)
    gst_object_unref (m->pipeline);
  g_free (m->uid);
  g_free (m);
}

static gboolean
dispatch_cb (gpointer data)
{
  GQueue batch = G_QUEUE_INIT;
  Pending *p;

  g_mutex_lock (&dispatch.lock);
  g_source_set_ready_time (dispatch.source, -1);
  batch = dispatch.queue;
  g_queue_init (&dispatch.queue);
  g_mutex_unlock (&dispatch.lock);

  while ((p = g_queue_pop_head (&batch))) {
    /* a pipeline being stopped still says how its recording ended */
    if (!p->media->freed || (GST_MESSAGE_TYPE (p->msg) == GST_MESSAGE_ELEMENT
            && gst_message_has_name (p->msg,
                GST_CFLIVE_RECORDING_MESSAGE_NAME)))
      on_message (p->media, p->msg);
    gst_message_unref (p->msg);
    media_unref (p->media);
    g_free (p);
  }
  return G_SOURCE_CONTINUE;
}

/* a source that runs when its ready time is set */
static gboolean
dispatch_source (GSource * source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs dispatch_funcs = { NULL, NULL, dispatch_source, NULL };

/* any streaming thread: never blocks on the main thread */
static GstBusSyncReply
bus_sync (GstBus * bus, GstMessage * msg, gpointer data)
{
  CfMedia *m = data;
  Pending *p;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_EOS:
      break;
    default:
      return GST_BUS_DROP;
  }
  p = g_new (Pending, 1);
  p->media = media_ref (m);
  p->msg = gst_message_ref (msg);
  g_mutex_lock (&dispatch.lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && !m->start_error)
    m->start_error = gst_message_ref (msg);
  g_queue_push_tail (&dispatch.queue, p);
  g_source_set_ready_time (dispatch.source, 0);
  g_mutex_unlock (&dispatch.lock);
  return GST_BUS_DROP;
}

gboolean
cf_media_init (GError ** error)
{
  GstRegistry *reg = gst_registry_get ();
  GstPluginFeature *f;

  GST_DEBUG_CATEGORY_INIT (cf_media_debug, "cfserver-media", 0,
      "cflive-server pipelines");

  /* run from the build tree without GST_PLUGIN_PATH, or installed under a
   * prefix GStreamer does not search */
  if (!(f = gst_registry_find_feature (reg, "cfliveinputsrc",
              GST_TYPE_ELEMENT_FACTORY))) {
    gst_registry_scan_path (reg, CFLIVE_PLUGIN_DIR);
    if (!(f = gst_registry_find_feature (reg, "cfliveinputsrc",
                GST_TYPE_ELEMENT_FACTORY)))
      gst_registry_scan_path (reg, CFLIVE_PLUGIN_INSTALL_DIR);
  }
  if (f)
    gst_object_unref (f);
  if (!(f = gst_registry_find_feature (reg, "cfliveinputsrc",
              GST_TYPE_ELEMENT_FACTORY))) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "the cflive plugin (cfliveinputsrc) is not installed and not in %s; "
        "set GST_PLUGIN_PATH to the build directory", CFLIVE_PLUGIN_DIR);
    return FALSE;
  }
  gst_object_unref (f);
  f = gst_registry_find_feature (reg, "cfrecordsink", GST_TYPE_ELEMENT_FACTORY);
  have_recorder = f != NULL;
  if (f)
    gst_object_unref (f);

  if (!teardown)
    teardown = g_thread_pool_new (teardown_func, NULL, TEARDOWN_THREADS,
        FALSE, NULL);
  if (!dispatch.source) {
    g_mutex_init (&dispatch.lock);
    g_queue_init (&dispatch.queue);
    dispatch.source = g_source_new (&dispatch_funcs, sizeof (GSource));
    g_source_set_callback (dispatch.source, dispatch_cb, NULL, NULL);
    g_source_set_name (dispatch.source, "cflive pipeline messages");
    g_source_attach (dispatch.source, g_main_context_get_thread_default ());
  }
  return TRUE;
}

gboolean
cf_media_have_recorder (void)
{
  return have_recorder;
}

static void
on_message (CfMedia * m, GstMessage * msg)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, GST_CFLIVE_STATUS_MESSAGE_NAME)) {
        guint64 ts = 0;

        if (!gst_structure_get_uint64 (s, "timestamp", &ts))
          ts = g_get_real_time ();
        if (m->callbacks.status)
          m->callbacks.status (m->user_data, m->uid,
              gst_structure_get_string (s, "state"),
              gst_structure_get_string (s, "reason"), (gint64) ts);
      } else if (gst_structure_has_name (s, GST_CFLIVE_VIOLATION_MESSAGE_NAME)) {
        if (m->callbacks.violation)
          m->callbacks.violation (m->user_data, m->uid,
              gst_structure_get_string (s, "code"),
              gst_structure_get_string (s, "message"),
              gst_structure_get_string (s, "video_codec"),
              gst_structure_get_string (s, "audio_codec"));
      } else if (gst_structure_has_name (s, "cflive-output")) {
        if (m->callbacks.output)
          m->callbacks.output (m->user_data, m->uid,
              gst_structure_get_string (s, "uid"),
              gst_structure_get_string (s, "state"),
              gst_structure_get_string (s, "error"));
      } else if (gst_structure_has_name (s,
              GST_CFLIVE_RECORDING_MESSAGE_NAME)) {
        if (m->callbacks.recording)
          m->callbacks.recording (m->user_data, m->uid, s);
      }
      break;
    }
    case GST_MESSAGE_WARNING:{
      g_autoptr (GError) err = NULL;
      g_autofree gchar *dbg = NULL;

      gst_message_parse_warning (msg, &err, &dbg);
      GST_WARNING ("live input %s: %s: %s (%s)", m->uid,
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
          dbg ? dbg : "");
      break;
    }
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) err = NULL;
      g_autofree gchar *dbg = NULL;
      g_autofree gchar *text = NULL;

      if (m->ended)
        break;
      gst_message_parse_error (msg, &err, &dbg);
      text = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC
              (msg)), err->message);
      g_printerr ("live input %s: %s (%s)\n", m->uid, text, dbg ? dbg : "");
      m->ended = TRUE;
      if (m->callbacks.ended)
        m->callbacks.ended (m->user_data, m->uid, text);
      break;
    }
    case GST_MESSAGE_EOS:
      if (m->ended)
        break;
      m->ended = TRUE;
      if (m->callbacks.ended)
        m->callbacks.ended (m->user_data, m->uid, NULL);
      break;
    default:
      break;
  }
}

static GstElement *
make (const gchar * factory, const gchar * name, GError ** error)
{
  GstElement *e = gst_element_factory_make (factory, name);

  if (!e)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "no element %s", factory);
  return e;
}

static void
apply_recording (CfMedia * m, gboolean record, guint64 timeout,
    gint64 delete_after)
{
  if (!m->record)
    return;
  gst_util_set_object_arg (G_OBJECT (m->record), "mode",
      record ? "automatic" : "off");
  g_object_set (m->record, "timeout-seconds", (guint) MIN (timeout,
          G_MAXUINT), "delete-after", delete_after, NULL);
}

CfMedia *
cf_media_new (const CfMediaConfig * cfg, const CfMediaInputSettings * set,
    const CfMediaCallbacks * callbacks, gpointer user_data, GError ** error)
{
  CfMedia *m = g_new0 (CfMedia, 1);
  GstElement *validator, *tee, *record;
  g_autofree gchar *rtmp_url = NULL;
  GstBus *bus;

  m->refcount = 1;
  m->uid = g_strdup (set->uid);
  m->callbacks = *callbacks;
  m->user_data = user_data;
  m->pipeline = gst_pipeline_new (set->uid);

  if (!(m->src = make ("cfliveinputsrc", "input", error)) ||
      !(validator = make ("cfgopvalidator", "validator", error)) ||
      !(tee = make ("tee", "t", error)) ||
      !(m->restream = make ("cfrestreamsink", "outputs", error))) {
    if (m->src)
      gst_object_unref (m->src);
    m->src = NULL;
    goto fail;
  }
  if (have_recorder) {
    record = m->record = make ("cfrecordsink", "recording", error);
    if (!record)
      goto fail;
    g_object_set (record, "location", cfg->recordings_dir,
        "live-input", set->uid, NULL);
    apply_recording (m, set->record, set->record_timeout, set->delete_after);
  } else {
    record = make ("fakesink", "recording", error);
    g_object_set (record, "sync", FALSE, "async", FALSE, NULL);
  }

  rtmp_url = g_strdup_printf ("%s://%s:%u/live",
      cfg->tls_certificate ? "rtmps" : "rtmp", cfg->media_address,
      cfg->rtmp_port);
  g_object_set (m->src, "rtmp-url", rtmp_url, "stream-key", set->stream_key,
      "enabled", set->enabled, "reconnect-window", cfg->reconnect_window, NULL);
  if (cfg->tls_certificate)
    g_object_set (m->src, "tls-certificate", cfg->tls_certificate, NULL);
  if (cfg->tls_key)
    g_object_set (m->src, "tls-key", cfg->tls_key, NULL);
  if (cfg->srt_port) {
    g_autofree gchar *srt_url = g_strdup_printf ("srt://%s:%u",
        cfg->media_address, cfg->srt_port);

    g_object_set (m->src, "srt-url", srt_url, "srt-stream-id", set->uid,
        "srt-passphrase", set->srt_passphrase, NULL);
  }
  g_object_set (m->restream, "max-outputs", cfg->max_outputs, NULL);

  gst_bin_add_many (GST_BIN (m->pipeline), m->src, validator, tee,
      m->restream, record, NULL);
  if (!gst_element_link_many (m->src, validator, tee, m->restream, NULL) ||
      !gst_element_link (tee, record)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the pipeline of live input %s", set->uid);
    goto fail;
  }

  bus = gst_pipeline_get_bus (GST_PIPELINE (m->pipeline));
  gst_bus_set_sync_handler (bus, bus_sync, m, NULL);
  gst_object_unref (bus);

  if (gst_element_set_state (m->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    GstMessage *msg;
    g_autoptr (GError) err = NULL;
    g_autofree gchar *dbg = NULL;

    g_mutex_lock (&dispatch.lock);
    msg = m->start_error ? gst_message_ref (m->start_error) : NULL;
    g_mutex_unlock (&dispatch.lock);
    if (msg) {
      gst_message_parse_error (msg, &err, &dbg);
      g_set_error (error, err->domain, err->code, "%s (%s)", err->message,
          dbg ? dbg : "");
      gst_message_unref (msg);
    } else {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
          "the pipeline of live input %s did not start", set->uid);
    }
    goto fail;
  }
  GST_DEBUG ("live input %s started", set->uid);
  return m;

fail:
  cf_media_free (m);
  return NULL;
}

GstElement *
cf_media_hold_ports (const CfMediaConfig * cfg, GError ** error)
{
  GstElement *pipeline = gst_pipeline_new ("ports");
  GstElement *src, *sink;
  g_autofree gchar *rtmp_url = NULL;
  g_autofree gchar *key = gst_cflive_secret_new_hex (32);
  g_autofree gchar *srt_id = gst_cflive_secret_new_hex (16);
  g_autofree gchar *srt_pass = gst_cflive_secret_new_hex (16);
  GstBus *bus;
  GstMessage *msg;

  if (!(src = make ("cfliveinputsrc", "ports", error)) ||
      !(sink = make ("fakesink", NULL, error))) {
    if (src)
      gst_object_unref (src);
    gst_object_unref (pipeline);
    return NULL;
  }
  /* a live input nobody can publish to: its key is random and unknown and
   * it is disabled */
  rtmp_url = g_strdup_printf ("%s://%s:%u/live",
      cfg->tls_certificate ? "rtmps" : "rtmp", cfg->media_address,
      cfg->rtmp_port);
  g_object_set (src, "rtmp-url", rtmp_url, "stream-key", key,
      "enabled", FALSE, NULL);
  if (cfg->tls_certificate)
    g_object_set (src, "tls-certificate", cfg->tls_certificate, NULL);
  if (cfg->tls_key)
    g_object_set (src, "tls-key", cfg->tls_key, NULL);
  if (cfg->srt_port) {
    g_autofree gchar *srt_url = g_strdup_printf ("srt://%s:%u",
        cfg->media_address, cfg->srt_port);

    g_object_set (src, "srt-url", srt_url, "srt-stream-id", srt_id,
        "srt-passphrase", srt_pass, NULL);
  }
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, sink, NULL);
  gst_element_link (src, sink);

  bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE) {
    /* nobody reads its messages: none is kept */
    gst_bus_set_flushing (bus, TRUE);
    gst_object_unref (bus);
    return pipeline;
  }

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg) {
    g_autoptr (GError) err = NULL;
    g_autofree gchar *dbg = NULL;
    const gchar *why;

    gst_message_parse_error (msg, &err, &dbg);
    /* the debug text has the reason: "cannot listen on ...: ..." */
    why = dbg ? strstr (dbg, "cannot ") : NULL;
    g_set_error (error, err->domain, err->code, "%s", why ? why :
        err->message);
    gst_message_unref (msg);
  } else {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
        "cannot listen on the RTMP and SRT ports");
  }
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return NULL;
}

void
cf_media_release_ports (GstElement * holder)
{
  if (!holder)
    return;
  gst_element_set_state (holder, GST_STATE_NULL);
  gst_object_unref (holder);
}

/* a teardown thread */
static void
teardown_func (gpointer data, gpointer user_data)
{
  CfMedia *m = data;
  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (m->pipeline));

  gst_element_set_state (m->pipeline, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  GST_DEBUG ("live input %s stopped", m->uid);
  media_unref (m);
}

void
cf_media_free (CfMedia * m)
{
  if (!m)
    return;
  m->freed = TRUE;
  if (m->pipeline) {
    /* the encoder is cut and the stream key and SRT stream id are free
     * again at once, for a new pipeline of the same live input, and the
     * outputs disconnect; the rest stops in a teardown thread */
    if (m->src)
      gst_element_set_state (m->src, GST_STATE_NULL);
    if (m->restream && GST_OBJECT_PARENT (m->restream))
      gst_element_set_state (m->restream, GST_STATE_NULL);
    g_thread_pool_push (teardown, media_ref (m), NULL);
  }
  media_unref (m);
}

void
cf_media_flush (void)
{
  if (teardown) {
    g_thread_pool_free (teardown, FALSE, TRUE);
    teardown = g_thread_pool_new (teardown_func, NULL, TEARDOWN_THREADS,
        FALSE, NULL);
  }
  if (dispatch.source)
    dispatch_cb (NULL);
}

void
cf_media_set_enabled (CfMedia * m, gboolean enabled)
{
  g_object_set (m->src, "enabled", enabled, NULL);
}

void
cf_media_set_recording (CfMedia * m, gboolean record, guint64 timeout,
    gint64 delete_after)
{
  apply_recording (m, record, timeout, delete_after);
}

gchar *
cf_media_add_output (CfMedia * m, const gchar * url, const gchar * key,
    gboolean enabled)
{
  gchar *uid = NULL;

  g_signal_emit_by_name (m->restream, "add-output", url,
      key && *key ? key : NULL, enabled, &uid);
  return uid;
}

void
cf_media_remove_output (CfMedia * m, const gchar * sink_uid)
{
  gboolean ok = FALSE;

  if (sink_uid)
    g_signal_emit_by_name (m->restream, "remove-output", sink_uid, &ok);
}

void
cf_media_set_output_enabled (CfMedia * m, const gchar * sink_uid,
    gboolean enabled)
{
  gboolean ok = FALSE;

  if (sink_uid)
    g_signal_emit_by_name (m->restream, "set-output-enabled", sink_uid,
        enabled, &ok);
}

gchar *
cf_media_get_recording_uid (CfMedia * m)
{
  gchar *uid = NULL;

  if (!m->record)
    return NULL;
  g_object_get (m->record, "recording-uid", &uid, NULL);
  if (uid && !*uid) {
    g_free (uid);
    uid = NULL;
  }
  return uid;
}

void
cf_media_get_bytes (CfMedia * m, guint64 * bytes_in, guint64 * bytes_out)
{
  GstStructure *s = NULL;
  const GValue *arr;
  guint64 v = 0;
  guint i;

  *bytes_in = *bytes_out = 0;
  g_object_get (m->src, "stats", &s, NULL);
  if (s) {
    if (gst_structure_get_uint64 (s, "bytes-received", &v))
      *bytes_in = v;
    gst_structure_free (s);
    s = NULL;
  }
  g_object_get (m->restream, "stats", &s, NULL);
  if (!s)
    return;
  arr = gst_structure_get_value (s, "output");
  if (arr && GST_VALUE_HOLDS_ARRAY (arr)) {
    for (i = 0; i < gst_value_array_get_size (arr); i++) {
      const GValue *ov = gst_value_array_get_value (arr, i);
      const GstStructure *os = gst_value_get_structure (ov);

      if (os && gst_structure_get_uint64 (os, "bytes-sent", &v))
        *bytes_out += v;
    }
  }
  gst_structure_free (s);
}
