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

/**
 * SECTION:element-cfrestreamsink
 * @title: cfrestreamsink
 *
 * Restreams (simulcasts) a live FLV stream to up to
 * #GstCfRestreamSink:max-outputs RTMP and RTMPS destinations at once.
 * Outputs can be added, removed, enabled and disabled at any time.
 *
 * Every output has its own bounded queue and its own connection: the
 * streaming thread only queues references to the tags and never waits on
 * a destination. An output whose queue overflows drops frames up to the
 * next keyframe and keeps its codec headers; the others do not notice. A
 * failed, refused, reset or stalled connection is retried with capped
 * exponential backoff (1 s doubling to 30 s), for ever by default.
 *
 * When the encoder reconnects upstream (the `cflive-publisher` event of
 * cfliveinputsrc), the destinations stay connected and continue with the
 * new session's keyframe.
 *
 * Each state change of an output posts an element message named
 * `cflive-output` with the fields `uid`, `url` (stream key hidden),
 * `state` (connecting, connected, reconnecting, disabled, failed),
 * `error`, `reconnects`, `bytes-sent` and `frames-dropped`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 cfliveinputsrc stream-key=secret ! cfrestreamsink \
 *     outputs="rtmp://a.rtmp.youtube.com/live2/KEY1,rtmps://live.twitch.tv:443/app/KEY2"
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/cflive/cflive.h>

#include "gstcfrestreamsink.h"
#include "cfoutput.h"
#include "ts/tsmux.h"

GST_DEBUG_CATEGORY_STATIC (gst_cf_restream_sink_debug);
#define GST_CAT_DEFAULT gst_cf_restream_sink_debug

#define DEFAULT_OUTPUTS NULL
#define DEFAULT_MAX_OUTPUTS 50
#define DEFAULT_MAX_QUEUE_BYTES (16 * 1024 * 1024)
#define DEFAULT_MAX_QUEUE_TIME (10 * GST_SECOND)
#define DEFAULT_MAX_RECONNECTS -1
#define DEFAULT_TLS_VALIDATE TRUE
#define DEFAULT_FLUSH_INTERVAL (50 * GST_MSECOND)
/* How long EOS waits for the outputs to send what they hold */
#define EOS_DRAIN_TIMEOUT (5 * G_USEC_PER_SEC)

enum
{
  PROP_0,
  PROP_OUTPUTS,
  PROP_MAX_OUTPUTS,
  PROP_MAX_QUEUE_BYTES,
  PROP_MAX_QUEUE_TIME,
  PROP_MAX_RECONNECTS,
  PROP_TLS_VALIDATE,
  PROP_FLUSH_INTERVAL,
  PROP_STATS,
};

enum
{
  SIGNAL_ADD_OUTPUT,
  SIGNAL_REMOVE_OUTPUT,
  SIGNAL_SET_OUTPUT_ENABLED,
  LAST_SIGNAL
};

static guint signals[LAST_SIGNAL];

/* internal API of cfoutput.c */
void _cf_output_tag_set_headers (CfOutputTag * tag, CfOutputTag ** hdr);
void _cf_output_tag_set_ts (CfOutputTag * tag, GBytes * ts);
gint _cf_output_tag_get_header_kind (CfOutputTag * tag);
GstBuffer *_cf_output_tag_get_buffer (CfOutputTag * tag);

/* Lock order: the object lock, then an output's own lock (inside
 * cf_output_*). The object lock guards the properties and the output
 * list; the header cache belongs to the streaming thread. */
struct _GstCfRestreamSink
{
  GstBaseSink parent;

  gchar *outputs_str;
  GSList *property_uids;        /* outputs made from the property */
  guint max_outputs;
  guint64 max_queue_bytes;
  guint64 max_queue_time;
  gint max_reconnects;
  gboolean tls_validate;
  guint64 flush_interval;

  GHashTable *outputs;          /* uid -> CfOutput */
  GList *order;                 /* CfOutput, in the order added */
  gboolean started;

  CfOutputTag *headers[3];
  guint64 tags;
  guint n_srt;                  /* SRT outputs: the stream is muxed to TS */
  CfTsMuxer *muxer;             /* streaming thread */
  gboolean mux_failed;
};

#define gst_cf_restream_sink_parent_class parent_class
G_DEFINE_TYPE (GstCfRestreamSink, gst_cf_restream_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (cfrestreamsink, "cfrestreamsink",
    GST_RANK_NONE, GST_TYPE_CF_RESTREAM_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_cf_restream_sink_debug, "cfrestreamsink", 0,
        "cflive restream sink"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

static void gst_cf_restream_sink_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_cf_restream_sink_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_cf_restream_sink_finalize (GObject * object);
static gboolean gst_cf_restream_sink_start (GstBaseSink * bsink);
static gboolean gst_cf_restream_sink_stop (GstBaseSink * bsink);
static gboolean gst_cf_restream_sink_event (GstBaseSink * bsink,
    GstEvent * event);
static GstFlowReturn gst_cf_restream_sink_render (GstBaseSink * bsink,
    GstBuffer * buf);
static gchar *gst_cf_restream_sink_add_output (GstCfRestreamSink * self,
    const gchar * url, const gchar * stream_key, gboolean enabled);
static gboolean gst_cf_restream_sink_remove_output (GstCfRestreamSink * self,
    const gchar * uid);
static gboolean gst_cf_restream_sink_set_output_enabled (GstCfRestreamSink *
    self, const gchar * uid, gboolean enabled);

static void
gst_cf_restream_sink_class_init (GstCfRestreamSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_cf_restream_sink_set_property;
  gobject_class->get_property = gst_cf_restream_sink_get_property;
  gobject_class->finalize = gst_cf_restream_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_OUTPUTS,
      g_param_spec_string ("outputs", "Outputs",
          "Comma-separated destination URLs; for RTMP the stream key is the "
          "last path segment (rtmp://host/app/KEY). Setting it replaces the "
          "outputs it made before", DEFAULT_OUTPUTS, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MAX_OUTPUTS,
      g_param_spec_uint ("max-outputs", "Maximum outputs",
          "How many outputs may exist at once", 1, 10000, DEFAULT_MAX_OUTPUTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_BYTES,
      g_param_spec_uint64 ("max-queue-bytes", "Maximum queue bytes",
          "Bytes an output may hold before it drops to the next keyframe",
          64 * 1024, G_MAXUINT64, DEFAULT_MAX_QUEUE_BYTES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_TIME,
      g_param_spec_uint64 ("max-queue-time", "Maximum queue time",
          "Stream time (ns) an output may hold before it drops to the next "
          "keyframe", GST_SECOND / 10, G_MAXUINT64, DEFAULT_MAX_QUEUE_TIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_MAX_RECONNECTS,
      g_param_spec_int ("max-reconnects", "Maximum reconnects",
          "Failed attempts in a row after which an output gives up (state "
          "failed); -1 retries for ever", -1, G_MAXINT, DEFAULT_MAX_RECONNECTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_TLS_VALIDATE,
      g_param_spec_boolean ("tls-validate", "Validate TLS",
          "Check the certificates of rtmps:// destinations", 
          DEFAULT_TLS_VALIDATE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstCfRestreamSink:flush-interval:
   *
   * Every video frame is written at once, to every output, together with
   * the audio and metadata tags that came since the frame before: one
   * write per frame and output, and one wake-up of the sending thread per
   * frame, instead of one per tag. Audio and metadata wait for the next
   * video frame at most this long (an audio-only stream is written this
   * often). 0 writes every tag as soon as it arrives.
   */
  g_object_class_install_property (gobject_class, PROP_FLUSH_INTERVAL,
      g_param_spec_uint64 ("flush-interval", "Flush interval",
          "Longest time (ns) an audio or metadata tag waits to be written "
          "with the next video frame (0: write each tag as it comes)", 0,
          GST_SECOND, DEFAULT_FLUSH_INTERVAL, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstCfRestreamSink:stats:
   *
   * A structure named `application/x-cflive-restream-stats` with `outputs`
   * (guint, how many), `tags` (guint64, FLV tags received) and `output`, a
   * #GstValueArray of structures named `output` with `uid`, `url`,
   * `state`, `enabled`, `last-error`, `bytes-sent`, `frames-sent`,
   * `frames-dropped`, `reconnects` and `queued-bytes`.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "State and counters of every output", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstCfRestreamSink::add-output:
   * @sink: the sink
   * @url: rtmp://, rtmps:// or srt:// destination
   * @stream_key: (nullable): the stream key; NULL or empty when it is the
   *   last path segment of @url
   * @enabled: whether to connect now
   *
   * Returns: (transfer full) (nullable): the new output's uid (32 hex), or
   * NULL when the URL is invalid or #GstCfRestreamSink:max-outputs is
   * reached (a warning message says why)
   */
  signals[SIGNAL_ADD_OUTPUT] = g_signal_new_class_handler ("add-output",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_cf_restream_sink_add_output), NULL, NULL, NULL,
      G_TYPE_STRING, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);

  /**
   * GstCfRestreamSink::remove-output:
   * @sink: the sink
   * @uid: the output's uid
   *
   * Disconnects and removes the output.
   *
   * Returns: %FALSE if there is no such output
   */
  signals[SIGNAL_REMOVE_OUTPUT] = g_signal_new_class_handler ("remove-output",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_cf_restream_sink_remove_output), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

  /**
   * GstCfRestreamSink::set-output-enabled:
   * @sink: the sink
   * @uid: the output's uid
   * @enabled: connect (TRUE) or disconnect (FALSE)
   *
   * Returns: %FALSE if there is no such output
   */
  signals[SIGNAL_SET_OUTPUT_ENABLED] =
      g_signal_new_class_handler ("set-output-enabled",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_cf_restream_sink_set_output_enabled), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Live restream sink", "Sink/Network",
      "Restreams an FLV live stream to many RTMP and RTMPS destinations, "
      "each with its own queue, connection and reconnect loop. Posts "
      "'cflive-output' element messages (uid, url, state, error, "
      "reconnects, bytes-sent, frames-dropped)",
      "gst-cflive developers <gst-cflive@example.org>");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_cf_restream_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_cf_restream_sink_stop);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_cf_restream_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_cf_restream_sink_render);
}

static void
gst_cf_restream_sink_init (GstCfRestreamSink * self)
{
  self->max_outputs = DEFAULT_MAX_OUTPUTS;
  self->max_queue_bytes = DEFAULT_MAX_QUEUE_BYTES;
  self->max_queue_time = DEFAULT_MAX_QUEUE_TIME;
  self->max_reconnects = DEFAULT_MAX_RECONNECTS;
  self->tls_validate = DEFAULT_TLS_VALIDATE;
  self->flush_interval = DEFAULT_FLUSH_INTERVAL;
  self->outputs = g_hash_table_new (g_str_hash, g_str_equal);

  /* a relay: as fast as the stream comes, never waiting for a clock */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
}

static void
remove_all_outputs (GstCfRestreamSink * self)
{
  GList *order;

  GST_OBJECT_LOCK (self);
  order = self->order;
  self->order = NULL;
  g_hash_table_remove_all (self->outputs);
  self->n_srt = 0;
  g_slist_free_full (self->property_uids, g_free);
  self->property_uids = NULL;
  GST_OBJECT_UNLOCK (self);

  g_list_free_full (order, (GDestroyNotify) cf_output_destroy);
}

static void
gst_cf_restream_sink_finalize (GObject * object)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (object);
  guint i;

  remove_all_outputs (self);
  g_hash_table_unref (self->outputs);
  g_free (self->outputs_str);
  for (i = 0; i < G_N_ELEMENTS (self->headers); i++)
    g_clear_pointer (&self->headers[i], cf_output_tag_unref);
  g_clear_pointer (&self->muxer, cf_ts_muxer_free);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* --- outputs --- */

/* the loop thread, at each state change of an output */
static void
on_output_state (CfOutput * output, CfOutputState state, const gchar * error,
    gpointer user_data)
{
  GstCfRestreamSink *self = user_data;
  GstStructure *stats = cf_output_get_stats (output);
  GstStructure *s;

  s = gst_structure_new ("cflive-output",
      "uid", G_TYPE_STRING, cf_output_get_uid (output),
      "url", G_TYPE_STRING, gst_structure_get_string (stats, "url"),
      "state", G_TYPE_STRING, cf_output_state_to_string (state),
      "error", G_TYPE_STRING, error ? error : "", NULL);
  gst_structure_set_value (s, "reconnects",
      gst_structure_get_value (stats, "reconnects"));
  gst_structure_set_value (s, "bytes-sent",
      gst_structure_get_value (stats, "bytes-sent"));
  gst_structure_set_value (s, "frames-dropped",
      gst_structure_get_value (stats, "frames-dropped"));
  gst_structure_free (stats);

  if (state == CF_OUTPUT_STATE_FAILED || state ==
      CF_OUTPUT_STATE_RECONNECTING)
    GST_INFO_OBJECT (self, "output %s: %s (%s)", cf_output_get_uid (output),
        cf_output_state_to_string (state), error ? error : "");
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static gchar *
add_output (GstCfRestreamSink * self, const gchar * url,
    const gchar * stream_key, gboolean enabled, GError ** error)
{
  CfOutputUrl parsed;
  CfOutputConfig config;
  CfOutput *output;
  gchar *uid;
  gboolean started;

  if (!cf_output_url_parse (url, stream_key, &parsed, error))
    return NULL;

  GST_OBJECT_LOCK (self);
  if (g_hash_table_size (self->outputs) >= self->max_outputs) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
        "the maximum of %u outputs is reached", self->max_outputs);
    GST_OBJECT_UNLOCK (self);
    cf_output_url_clear (&parsed);
    return NULL;
  }
  config.max_queue_bytes = self->max_queue_bytes;
  config.max_queue_time = self->max_queue_time;
  config.max_reconnects = self->max_reconnects;
  config.tls_validate = self->tls_validate;
  config.flush_interval = self->flush_interval;

  uid = gst_cflive_secret_new_hex (16);
  /* the element outlives its outputs: cf_output_destroy() stops callbacks */
  output = cf_output_new (uid, &parsed, &config, enabled, on_output_state,
      self, NULL);
  g_hash_table_insert (self->outputs, (gpointer) cf_output_get_uid (output),
      output);
  self->order = g_list_append (self->order, output);
  if (cf_output_is_srt (output))
    self->n_srt++;
  started = self->started;
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "output %s added%s", uid,
      enabled ? "" : " (disabled)");
  if (started)
    cf_output_start (output);
  return uid;
}

static gchar *
gst_cf_restream_sink_add_output (GstCfRestreamSink * self, const gchar * url,
    const gchar * stream_key, gboolean enabled)
{
  g_autoptr (GError) err = NULL;
  gchar *uid = add_output (self, url, stream_key, enabled, &err);

  if (!uid) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Cannot add the output: %s.", err->message), (NULL));
  }
  return uid;
}

static gboolean
gst_cf_restream_sink_remove_output (GstCfRestreamSink * self,
    const gchar * uid)
{
  CfOutput *output;

  GST_OBJECT_LOCK (self);
  output = uid ? g_hash_table_lookup (self->outputs, uid) : NULL;
  if (output) {
    g_hash_table_remove (self->outputs, uid);
    self->order = g_list_remove (self->order, output);
    if (cf_output_is_srt (output))
      self->n_srt--;
  }
  GST_OBJECT_UNLOCK (self);

  if (!output) {
    GST_WARNING_OBJECT (self, "no output %s to remove", GST_STR_NULL (uid));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "output %s removed", uid);
  cf_output_destroy (output);
  return TRUE;
}

static gboolean
gst_cf_restream_sink_set_output_enabled (GstCfRestreamSink * self,
    const gchar * uid, gboolean enabled)
{
  CfOutput *output;

  GST_OBJECT_LOCK (self);
  output = uid ? g_hash_table_lookup (self->outputs, uid) : NULL;
  if (output)
    cf_output_set_enabled (output, enabled);
  GST_OBJECT_UNLOCK (self);

  if (!output)
    GST_WARNING_OBJECT (self, "no output %s", GST_STR_NULL (uid));
  return output != NULL;
}

static void
set_outputs_string (GstCfRestreamSink * self, const gchar * str)
{
  GSList *old, *l;
  gchar **urls;
  guint i;

  GST_OBJECT_LOCK (self);
  g_free (self->outputs_str);
  self->outputs_str = g_strdup (str);
  old = self->property_uids;
  self->property_uids = NULL;
  GST_OBJECT_UNLOCK (self);

  for (l = old; l; l = l->next)
    gst_cf_restream_sink_remove_output (self, l->data);
  g_slist_free_full (old, g_free);

  if (!str)
    return;
  urls = g_strsplit (str, ",", -1);
  for (i = 0; urls[i]; i++) {
    gchar *url = g_strstrip (urls[i]);
    gchar *uid;

    if (!*url)
      continue;
    uid = gst_cf_restream_sink_add_output (self, url, NULL, TRUE);
    if (uid) {
      GST_OBJECT_LOCK (self);
      self->property_uids = g_slist_append (self->property_uids, uid);
      GST_OBJECT_UNLOCK (self);
    }
  }
  g_strfreev (urls);
}

static void
gst_cf_restream_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (object);

  switch (prop_id) {
    case PROP_OUTPUTS:
      set_outputs_string (self, g_value_get_string (value));
      break;
    case PROP_MAX_OUTPUTS:
      GST_OBJECT_LOCK (self);
      self->max_outputs = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_QUEUE_BYTES:
      GST_OBJECT_LOCK (self);
      self->max_queue_bytes = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_QUEUE_TIME:
      GST_OBJECT_LOCK (self);
      self->max_queue_time = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_RECONNECTS:
      GST_OBJECT_LOCK (self);
      self->max_reconnects = g_value_get_int (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_VALIDATE:
      GST_OBJECT_LOCK (self);
      self->tls_validate = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_FLUSH_INTERVAL:
      GST_OBJECT_LOCK (self);
      self->flush_interval = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static GstStructure *
make_stats (GstCfRestreamSink * self)
{
  GValue array = G_VALUE_INIT;
  GstStructure *s;
  GList *l;

  g_value_init (&array, GST_TYPE_ARRAY);
  GST_OBJECT_LOCK (self);
  for (l = self->order; l; l = l->next) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, cf_output_get_stats (l->data));
    gst_value_array_append_and_take_value (&array, &v);
  }
  s = gst_structure_new ("application/x-cflive-restream-stats",
      "outputs", G_TYPE_UINT, g_hash_table_size (self->outputs),
      "tags", G_TYPE_UINT64, self->tags, NULL);
  GST_OBJECT_UNLOCK (self);
  gst_structure_take_value (s, "output", &array);
  return s;
}

static void
gst_cf_restream_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (object);

  switch (prop_id) {
    case PROP_OUTPUTS:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->outputs_str);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_OUTPUTS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->max_outputs);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_QUEUE_BYTES:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->max_queue_bytes);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_QUEUE_TIME:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->max_queue_time);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_RECONNECTS:
      GST_OBJECT_LOCK (self);
      g_value_set_int (value, self->max_reconnects);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_VALIDATE:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->tls_validate);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_FLUSH_INTERVAL:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->flush_interval);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static gboolean
gst_cf_restream_sink_start (GstBaseSink * bsink)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (bsink);
  GList *l, *order;

  GST_OBJECT_LOCK (self);
  self->started = TRUE;
  self->tags = 0;
  order = g_list_copy (self->order);
  GST_OBJECT_UNLOCK (self);

  for (l = order; l; l = l->next)
    cf_output_start (l->data);
  g_list_free (order);
  return TRUE;
}

static gboolean
gst_cf_restream_sink_stop (GstBaseSink * bsink)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (bsink);
  GList *l;
  guint i;

  /* the outputs stay (they are configuration) but disconnect; starting
   * again connects them afresh */
  GST_OBJECT_LOCK (self);
  self->started = FALSE;
  for (l = self->order; l; l = l->next)
    cf_output_suspend (l->data);
  GST_OBJECT_UNLOCK (self);

  for (i = 0; i < G_N_ELEMENTS (self->headers); i++)
    g_clear_pointer (&self->headers[i], cf_output_tag_unref);
  g_clear_pointer (&self->muxer, cf_ts_muxer_free);
  self->mux_failed = FALSE;
  return TRUE;
}

static gboolean
gst_cf_restream_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (bsink);
  GstCflivePublisherAction action;
  guint session;

  if (gst_cflive_publisher_event_parse (event, &action, &session, NULL,
          NULL)) {
    if (action == GST_CFLIVE_PUBLISHER_RECONNECTED) {
      GList *l;

      /* the destinations stay connected and go on from the new session's
       * keyframe */
      GST_INFO_OBJECT (self, "encoder session %u: outputs continue with "
          "its first keyframe", session);
      GST_OBJECT_LOCK (self);
      for (l = self->order; l; l = l->next)
        cf_output_restart_gop (l->data);
      GST_OBJECT_UNLOCK (self);
    } else if (action == GST_CFLIVE_PUBLISHER_DISCONNECTED) {
      GST_INFO_OBJECT (self, "encoder session %u ended: outputs stay "
          "connected", session);
    }
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gint64 deadline = g_get_monotonic_time () + EOS_DRAIN_TIMEOUT;

    /* let the outputs send what they hold */
    while (g_get_monotonic_time () < deadline) {
      gboolean drained = TRUE;
      GList *l;

      GST_OBJECT_LOCK (self);
      for (l = self->order; l && drained; l = l->next)
        drained = cf_output_is_drained (l->data);
      GST_OBJECT_UNLOCK (self);
      if (drained)
        break;
      g_usleep (20 * 1000);
    }
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* Feeds one FLV tag to the MPEG-TS muxer; returns its packets, or NULL */
static GBytes *
mux_tag (GstCfRestreamSink * self, GstBuffer * buf)
{
  g_autoptr (GError) err = NULL;
  guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE];
  GByteArray *out;
  GstMapInfo map;
  gboolean ok;
  guint32 body_size, ts;

  if (gst_buffer_extract (buf, 0, h, sizeof (h)) != sizeof (h))
    return NULL;
  body_size = GST_READ_UINT24_BE (h + 1);
  ts = GST_READ_UINT24_BE (h + 4) | (h[7] << 24);
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return NULL;
  if (map.size < GST_CFLIVE_FLV_TAG_HEADER_SIZE + body_size) {
    gst_buffer_unmap (buf, &map);
    return NULL;
  }
  out = g_byte_array_new ();
  ok = cf_ts_muxer_push_tag (self->muxer, h[0] & 0x1f, ts,
      map.data + GST_CFLIVE_FLV_TAG_HEADER_SIZE, body_size, out, &err);
  gst_buffer_unmap (buf, &map);

  if (!ok) {
    if (!self->mux_failed)
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("Cannot send this stream to SRT destinations: %s.", err->message),
          (NULL));
    self->mux_failed = TRUE;
    g_byte_array_unref (out);
    return NULL;
  }
  if (out->len == 0) {
    g_byte_array_unref (out);
    return NULL;
  }
  return g_byte_array_free_to_bytes (out);
}

static GstFlowReturn
gst_cf_restream_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstCfRestreamSink *self = GST_CF_RESTREAM_SINK (bsink);
  CfOutputTag *tag = cf_output_tag_new (buf);
  gint kind;
  guint n_srt;
  guint64 flush_interval;
  GList *l;

  if (!tag)
    return GST_FLOW_OK;         /* the FLV file header, or not a tag */

  kind = _cf_output_tag_get_header_kind (tag);
  if (kind >= 0) {
    g_clear_pointer (&self->headers[kind], cf_output_tag_unref);
    self->headers[kind] = cf_output_tag_ref (tag);
  }
  _cf_output_tag_set_headers (tag, self->headers);

  /* muxed once for every SRT destination */
  GST_OBJECT_LOCK (self);
  n_srt = self->n_srt;
  GST_OBJECT_UNLOCK (self);
  if (n_srt > 0) {
    if (!self->muxer) {
      guint i;

      /* a late start: the codec headers first */
      self->muxer = cf_ts_muxer_new ();
      for (i = 0; i < G_N_ELEMENTS (self->headers); i++) {
        if (self->headers[i] && kind != (gint) i) {
          GBytes *b = mux_tag (self, _cf_output_tag_get_buffer
              (self->headers[i]));
          if (b)
            g_bytes_unref (b);
        }
      }
    }
    _cf_output_tag_set_ts (tag, mux_tag (self, buf));
  } else if (self->muxer) {
    /* without SRT outputs the muxer misses the codec headers: the next
     * SRT output starts a new one from the header cache */
    g_clear_pointer (&self->muxer, cf_ts_muxer_free);
  }

  GST_OBJECT_LOCK (self);
  self->tags++;
  for (l = self->order; l; l = l->next)
    cf_output_push (l->data, tag);
  flush_interval = self->flush_interval;
  GST_OBJECT_UNLOCK (self);
  cf_output_push_done (tag, flush_interval);

  cf_output_tag_unref (tag);
  return GST_FLOW_OK;
}
