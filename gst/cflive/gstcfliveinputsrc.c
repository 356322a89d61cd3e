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
 * SECTION:element-cfliveinputsrc
 * @title: cfliveinputsrc
 *
 * A live input: an RTMP and RTMPS server that receives the stream of an
 * encoder (OBS, ffmpeg, a hardware encoder) and outputs it as FLV, one tag
 * per buffer, with the FLV header, the metadata and the codec headers in
 * the caps' streamheader.
 *
 * Every cfliveinputsrc of a process that listens on the same address and
 * port shares one socket: publishes are routed by application and stream
 * key, compared in constant time. A wrong key is refused with an RTMP
 * error status and never reaches any pipeline.
 *
 * When the encoder drops, the element neither errors nor ends the stream:
 * it waits #GstCfLiveInputSrc:reconnect-window seconds for the same key to
 * publish again and continues with timestamps that keep increasing.
 *
 * ## Messages
 *
 * Each status change posts an element message named `cflive-status` with
 * the fields `state` (string: connected or disconnected), `reason` (string,
 * Cloudflare's vocabulary: connected, reconnecting, reconnected,
 * client_disconnect, ttl_exceeded, disabled), `status`
 * (#GstCfLiveInputStatus), `session` (guint), `protocol` (rtmp or rtmps),
 * `remote-address`, `encoder` (what the encoder calls itself),
 * `disconnect-reason` (on disconnection: unpublished, connection-closed,
 * timeout, protocol-error, replaced, disabled), `detail` and `timestamp`
 * (guint64, microseconds since the Unix epoch).
 *
 * Downstream, a sticky custom event named `cflive-publisher` tells the
 * other cflive elements when the encoder connects, disconnects and
 * reconnects (see gst_cflive_publisher_event_parse()).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 cfliveinputsrc rtmp-url=rtmp://0.0.0.0:1935/live \
 *     stream-key=secret ! flvdemux name=d d.video ! queue ! h264parse ! \
 *     avdec_h264 ! autovideosink
 * ]| and push to it with
 * |[
 * ffmpeg -re -i input.mp4 -c copy -f flv rtmp://127.0.0.1:1935/live/secret
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/cflive/cflive.h>

#include "gstcfliveinputsrc.h"
#include "rtmp/amf.h"

GST_DEBUG_CATEGORY_STATIC (gst_cf_live_input_src_debug);
#define GST_CAT_DEFAULT gst_cf_live_input_src_debug

#define DEFAULT_RTMP_URL "rtmp://0.0.0.0:1935/live"
#define DEFAULT_STREAM_KEY NULL
#define DEFAULT_TLS_CERTIFICATE NULL
#define DEFAULT_TLS_KEY NULL
#define DEFAULT_RECONNECT_WINDOW 60
#define DEFAULT_IDLE_TIMEOUT 10
#define DEFAULT_ENABLED TRUE
#define DEFAULT_SRT_URL NULL
#define DEFAULT_SRT_STREAM_ID NULL
#define DEFAULT_SRT_PASSPHRASE NULL
#define DEFAULT_SRT_LATENCY 120

/* Tags looked at for codec headers before the first frame */
#define MAX_HEADER_TAGS 64
#define BITRATE_BUCKETS 8

enum
{
  PROP_0,
  PROP_RTMP_URL,
  PROP_STREAM_KEY,
  PROP_TLS_CERTIFICATE,
  PROP_TLS_KEY,
  PROP_RECONNECT_WINDOW,
  PROP_IDLE_TIMEOUT,
  PROP_ENABLED,
  PROP_STATUS,
  PROP_STATS,
  PROP_BOUND_PORT,
  PROP_SRT_URL,
  PROP_SRT_STREAM_ID,
  PROP_SRT_PASSPHRASE,
  PROP_SRT_LATENCY,
  PROP_SRT_BOUND_PORT,
};

/* Lock order: object lock, then nothing. The streaming thread state below
 * "streaming thread" is only touched from create() and start()/stop(). */
struct _GstCfLiveInputSrc
{
  GstPushSrc parent;

  /* properties, object lock */
  gchar *rtmp_url;
  gchar *stream_key;
  gchar *tls_certificate;
  gchar *tls_key;
  gint reconnect_window;
  guint idle_timeout;
  gboolean enabled;
  gchar *srt_url;
  gchar *srt_stream_id;
  gchar *srt_passphrase;
  guint srt_latency;
  GstCfLiveInputStatus status;

  CfIngestInput *input;

  /* statistics, object lock */
  guint64 video_frames;
  guint64 audio_frames;
  guint64 keyframes;
  guint64 tag_bytes;
  guint sessions;
  guint reconnects;
  gchar *video_codec;
  gchar *audio_codec;
  gchar *protocol;
  gchar *remote;
  gchar *encoder;
  guint64 buckets[BITRATE_BUCKETS];
  gint64 bucket_second;

  /* streaming thread */
  guint session;
  gboolean collecting;
  GBytes *metadata;
  GBytes *video_header;
  GBytes *audio_header;
  GstBuffer *headers[3];        /* as last put in the caps */
  gboolean has_audio;
  gboolean has_video;
  gboolean caps_sent;
  gboolean session_announced;
  GQueue collected;             /* CfIngestItem */
  GQueue pending;               /* GstBuffer / GstEvent to output */
  gint64 offset_ms;
  gboolean have_offset;
  gint64 last_out_ms;
  gboolean have_out;
  guint32 last_raw_ts;
  gint64 raw_base;
  gint64 disconnected_at;       /* monotonic µs */
  gint64 last_arrival;
  gboolean discont;
};

#define gst_cf_live_input_src_parent_class parent_class
G_DEFINE_TYPE (GstCfLiveInputSrc, gst_cf_live_input_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (cfliveinputsrc, "cfliveinputsrc",
    GST_RANK_NONE, GST_TYPE_CF_LIVE_INPUT_SRC,
    GST_DEBUG_CATEGORY_INIT (gst_cf_live_input_src_debug, "cfliveinputsrc",
        0, "cflive live input source"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-flv"));

GType
gst_cf_live_input_status_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_CF_LIVE_INPUT_STATUS_IDLE, "Waiting for the first encoder", "idle"},
    {GST_CF_LIVE_INPUT_STATUS_CONNECTED, "An encoder is publishing",
        "connected"},
    {GST_CF_LIVE_INPUT_STATUS_RECONNECTING,
        "Waiting for the encoder to come back", "reconnecting"},
    {GST_CF_LIVE_INPUT_STATUS_DISABLED, "Disabled", "disabled"},
    {GST_CF_LIVE_INPUT_STATUS_ENDED, "The reconnect window passed",
        "ended"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstCfLiveInputStatus", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_cf_live_input_src_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_cf_live_input_src_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_cf_live_input_src_finalize (GObject * object);
static gboolean gst_cf_live_input_src_start (GstBaseSrc * bsrc);
static gboolean gst_cf_live_input_src_stop (GstBaseSrc * bsrc);
static gboolean gst_cf_live_input_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_cf_live_input_src_unlock_stop (GstBaseSrc * bsrc);
static gboolean gst_cf_live_input_src_negotiate (GstBaseSrc * bsrc);
static GstFlowReturn gst_cf_live_input_src_create (GstPushSrc * psrc,
    GstBuffer ** outbuf);

static void
gst_cf_live_input_src_class_init (GstCfLiveInputSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->set_property = gst_cf_live_input_src_set_property;
  gobject_class->get_property = gst_cf_live_input_src_get_property;
  gobject_class->finalize = gst_cf_live_input_src_finalize;

  /**
   * GstCfLiveInputSrc:rtmp-url:
   *
   * Where to listen and which application to accept, as
   * rtmp://address:port/application; rtmps:// listens with TLS (and then
   * needs #GstCfLiveInputSrc:tls-certificate). Port 0 picks a free port,
   * see #GstCfLiveInputSrc:bound-port.
   */
  g_object_class_install_property (gobject_class, PROP_RTMP_URL,
      g_param_spec_string ("rtmp-url", "RTMP URL",
          "Where to listen and which application to accept "
          "(rtmp://address:port/app; rtmps:// for TLS; empty: no RTMP)",
          DEFAULT_RTMP_URL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_STREAM_KEY,
      g_param_spec_string ("stream-key", "Stream key",
          "The secret stream key an encoder must publish with (the last "
          "path segment of its URL); required", DEFAULT_STREAM_KEY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_TLS_CERTIFICATE,
      g_param_spec_string ("tls-certificate", "TLS certificate",
          "PEM file with the server certificate (and chain) for rtmps://",
          DEFAULT_TLS_CERTIFICATE, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_TLS_KEY,
      g_param_spec_string ("tls-key", "TLS key",
          "PEM file with the private key for rtmps:// (unset: the key is in "
          "the tls-certificate file)", DEFAULT_TLS_KEY, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_RECONNECT_WINDOW,
      g_param_spec_int ("reconnect-window", "Reconnect window",
          "Seconds to wait for the encoder to come back before ending the "
          "stream with EOS (-1: wait for ever)", -1, G_MAXINT,
          DEFAULT_RECONNECT_WINDOW, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_IDLE_TIMEOUT,
      g_param_spec_uint ("idle-timeout", "Idle timeout",
          "Seconds without data after which a publishing encoder is "
          "considered gone (0: never)", 0, 3600, DEFAULT_IDLE_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_ENABLED,
      g_param_spec_boolean ("enabled", "Enabled",
          "Accept publishes; setting FALSE refuses new ones and drops the "
          "current one", DEFAULT_ENABLED, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STATUS,
      g_param_spec_enum ("status", "Status", "Status of the live input",
          GST_TYPE_CF_LIVE_INPUT_STATUS, GST_CF_LIVE_INPUT_STATUS_IDLE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstCfLiveInputSrc:stats:
   *
   * A structure named `application/x-cflive-input-stats` with the fields
   * `status` (string), `bytes-received` (guint64, on the wire),
   * `bytes` (guint64, FLV tag bodies), `bitrate` (guint, bits per second
   * over the last 3 seconds), `video-frames`, `audio-frames`, `keyframes`
   * (guint64), `sessions`, `reconnects` (guint), `refused-publishes`
   * (guint64, on this element's port), `video-codec`, `audio-codec`,
   * `protocol`, `remote-address`, `encoder` (strings, empty when unknown).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Statistics of the live input", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_uint ("bound-port", "Bound port",
          "The port listened on while running (useful with port 0)",
          0, 65535, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstCfLiveInputSrc:srt-url:
   *
   * Where to listen for SRT callers, as srt://address:port; unset: no SRT.
   * Callers send MPEG-TS (H.264 and/or AAC), which the element remuxes to
   * the same FLV output as RTMP.
   */
  g_object_class_install_property (gobject_class, PROP_SRT_URL,
      g_param_spec_string ("srt-url", "SRT URL",
          "Where to listen for SRT callers (srt://address:port); unset: no "
          "SRT", DEFAULT_SRT_URL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_SRT_STREAM_ID,
      g_param_spec_string ("srt-stream-id", "SRT stream id",
          "The stream id SRT callers send (plain, or #!::r=<id>,m=publish); "
          "required with srt-url", DEFAULT_SRT_STREAM_ID, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_SRT_PASSPHRASE,
      g_param_spec_string ("srt-passphrase", "SRT passphrase",
          "The passphrase SRT callers must use (10 to 79 characters; unset "
          "or empty: no encryption)", DEFAULT_SRT_PASSPHRASE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_SRT_LATENCY,
      g_param_spec_uint ("srt-latency", "SRT latency",
          "SRT receive latency in milliseconds", 0, 60000,
          DEFAULT_SRT_LATENCY, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_SRT_BOUND_PORT,
      g_param_spec_uint ("srt-bound-port", "SRT bound port",
          "The UDP port listened on for SRT while running", 0, 65535, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Live input source", "Source/Network",
      "Receives a live stream from an encoder over RTMP, RTMPS or SRT, shares "
      "its port with the other live inputs of the process, survives encoder "
      "reconnects, and outputs FLV. Posts 'cflive-status' element messages "
      "(state, reason, status, session, protocol, remote-address, encoder, "
      "disconnect-reason, detail, timestamp) and sends 'cflive-publisher' "
      "sticky events downstream",
      "gst-cflive developers <gst-cflive@example.org>");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_cf_live_input_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_cf_live_input_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_cf_live_input_src_unlock);
  basesrc_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_cf_live_input_src_unlock_stop);
  basesrc_class->negotiate =
      GST_DEBUG_FUNCPTR (gst_cf_live_input_src_negotiate);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_cf_live_input_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_CF_LIVE_INPUT_STATUS, 0);
}

static void
gst_cf_live_input_src_init (GstCfLiveInputSrc * self)
{
  self->rtmp_url = g_strdup (DEFAULT_RTMP_URL);
  self->reconnect_window = DEFAULT_RECONNECT_WINDOW;
  self->idle_timeout = DEFAULT_IDLE_TIMEOUT;
  self->enabled = DEFAULT_ENABLED;
  self->srt_latency = DEFAULT_SRT_LATENCY;
  self->status = GST_CF_LIVE_INPUT_STATUS_IDLE;
  self->input = cf_ingest_input_new (GST_OBJECT (self));
  g_queue_init (&self->collected);
  g_queue_init (&self->pending);

  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp (GST_BASE_SRC (self), FALSE);
}

static void
clear_secret (gchar ** secret)
{
  if (*secret) {
    memset (*secret, 0, strlen (*secret));
    g_free (*secret);
    *secret = NULL;
  }
}

static void
gst_cf_live_input_src_finalize (GObject * object)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (object);

  g_free (self->rtmp_url);
  clear_secret (&self->stream_key);
  g_free (self->tls_certificate);
  g_free (self->tls_key);
  g_free (self->srt_url);
  g_free (self->srt_stream_id);
  clear_secret (&self->srt_passphrase);
  g_free (self->video_codec);
  g_free (self->audio_codec);
  g_free (self->protocol);
  g_free (self->remote);
  g_free (self->encoder);
  cf_ingest_input_unref (self->input);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
set_enabled (GstCfLiveInputSrc * self, gboolean enabled)
{
  gboolean changed;

  GST_OBJECT_LOCK (self);
  changed = self->enabled != enabled;
  self->enabled = enabled;
  GST_OBJECT_UNLOCK (self);

  if (!changed)
    return;
  GST_INFO_OBJECT (self, "%s", enabled ? "enabled" : "disabled");
  cf_ingest_input_set_enabled (self->input, enabled);
  /* let create() reconsider the reconnect window */
  cf_ingest_input_wake (self->input);
}

static void
gst_cf_live_input_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (object);

  switch (prop_id) {
    case PROP_RTMP_URL:
      GST_OBJECT_LOCK (self);
      g_free (self->rtmp_url);
      self->rtmp_url = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STREAM_KEY:
      GST_OBJECT_LOCK (self);
      clear_secret (&self->stream_key);
      self->stream_key = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_CERTIFICATE:
      GST_OBJECT_LOCK (self);
      g_free (self->tls_certificate);
      self->tls_certificate = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_KEY:
      GST_OBJECT_LOCK (self);
      g_free (self->tls_key);
      self->tls_key = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT_WINDOW:
      GST_OBJECT_LOCK (self);
      self->reconnect_window = g_value_get_int (value);
      GST_OBJECT_UNLOCK (self);
      cf_ingest_input_wake (self->input);
      break;
    case PROP_IDLE_TIMEOUT:
      GST_OBJECT_LOCK (self);
      self->idle_timeout = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ENABLED:
      set_enabled (self, g_value_get_boolean (value));
      break;
    case PROP_SRT_URL:
      GST_OBJECT_LOCK (self);
      g_free (self->srt_url);
      self->srt_url = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_STREAM_ID:
      GST_OBJECT_LOCK (self);
      g_free (self->srt_stream_id);
      self->srt_stream_id = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_PASSPHRASE:
      GST_OBJECT_LOCK (self);
      clear_secret (&self->srt_passphrase);
      self->srt_passphrase = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_LATENCY:
      GST_OBJECT_LOCK (self);
      self->srt_latency = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static guint
current_bitrate_locked (GstCfLiveInputSrc * self)
{
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;
  guint64 sum = 0;
  gint64 s;

  /* the three complete seconds before this one */
  for (s = now - 3; s < now; s++) {
    if (s >= 0 && s > self->bucket_second - BITRATE_BUCKETS
        && s <= self->bucket_second)
      sum += self->buckets[s % BITRATE_BUCKETS];
  }
  return (guint) (sum * 8 / 3);
}

static GstStructure *
make_stats (GstCfLiveInputSrc * self)
{
  GstStructure *s;
  guint64 refused = 0, bytes = 0;

  cf_ingest_input_get_counters (self->input, &refused, &bytes);

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-cflive-input-stats",
      "status", G_TYPE_STRING,
      g_enum_get_value (g_type_class_peek (GST_TYPE_CF_LIVE_INPUT_STATUS),
          self->status)->value_nick,
      "bytes-received", G_TYPE_UINT64, bytes,
      "bytes", G_TYPE_UINT64, self->tag_bytes,
      "bitrate", G_TYPE_UINT, current_bitrate_locked (self),
      "video-frames", G_TYPE_UINT64, self->video_frames,
      "audio-frames", G_TYPE_UINT64, self->audio_frames,
      "keyframes", G_TYPE_UINT64, self->keyframes,
      "sessions", G_TYPE_UINT, self->sessions,
      "reconnects", G_TYPE_UINT, self->reconnects,
      "refused-publishes", G_TYPE_UINT64, refused,
      "video-codec", G_TYPE_STRING, self->video_codec ? self->video_codec : "",
      "audio-codec", G_TYPE_STRING, self->audio_codec ? self->audio_codec : "",
      "protocol", G_TYPE_STRING, self->protocol ? self->protocol : "",
      "remote-address", G_TYPE_STRING, self->remote ? self->remote : "",
      "encoder", G_TYPE_STRING, self->encoder ? self->encoder : "", NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_cf_live_input_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (object);

  switch (prop_id) {
    case PROP_RTMP_URL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->rtmp_url);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STREAM_KEY:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->stream_key);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_CERTIFICATE:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->tls_certificate);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_KEY:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->tls_key);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT_WINDOW:
      GST_OBJECT_LOCK (self);
      g_value_set_int (value, self->reconnect_window);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_IDLE_TIMEOUT:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->idle_timeout);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ENABLED:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->enabled);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATUS:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->status);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    case PROP_BOUND_PORT:
      g_value_set_uint (value, cf_ingest_input_get_port (self->input));
      break;
    case PROP_SRT_URL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->srt_url);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_STREAM_ID:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->srt_stream_id);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_PASSPHRASE:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->srt_passphrase);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_LATENCY:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->srt_latency);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SRT_BOUND_PORT:
      g_value_set_uint (value, cf_ingest_input_get_srt_port (self->input));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* --- status --- */

static void
post_status (GstCfLiveInputSrc * self, GstCfLiveInputStatus status,
    const gchar * reason, const gchar * disconnect_reason,
    const gchar * detail)
{
  GstStructure *s;
  gboolean connected = (status == GST_CF_LIVE_INPUT_STATUS_CONNECTED);

  GST_OBJECT_LOCK (self);
  self->status = status;
  s = gst_structure_new (GST_CFLIVE_STATUS_MESSAGE_NAME,
      "state", G_TYPE_STRING, connected ? "connected" : "disconnected",
      "reason", G_TYPE_STRING, reason,
      "status", GST_TYPE_CF_LIVE_INPUT_STATUS, status,
      "session", G_TYPE_UINT, self->session,
      "protocol", G_TYPE_STRING, self->protocol ? self->protocol : "",
      "remote-address", G_TYPE_STRING, self->remote ? self->remote : "",
      "encoder", G_TYPE_STRING, self->encoder ? self->encoder : "",
      "timestamp", G_TYPE_UINT64, (guint64) g_get_real_time (), NULL);
  GST_OBJECT_UNLOCK (self);

  if (disconnect_reason)
    gst_structure_set (s, "disconnect-reason", G_TYPE_STRING,
        disconnect_reason, NULL);
  if (detail)
    gst_structure_set (s, "detail", G_TYPE_STRING, detail, NULL);

  GST_INFO_OBJECT (self, "status %" GST_PTR_FORMAT, s);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
  g_object_notify (G_OBJECT (self), "status");
}

/* --- start / stop --- */

static void
reset_stream_state (GstCfLiveInputSrc * self)
{
  guint i;

  self->session = 0;
  self->collecting = FALSE;
  g_clear_pointer (&self->metadata, g_bytes_unref);
  g_clear_pointer (&self->video_header, g_bytes_unref);
  g_clear_pointer (&self->audio_header, g_bytes_unref);
  for (i = 0; i < G_N_ELEMENTS (self->headers); i++)
    gst_clear_buffer (&self->headers[i]);
  self->has_audio = self->has_video = FALSE;
  self->caps_sent = FALSE;
  self->session_announced = FALSE;
  g_queue_clear_full (&self->collected, (GDestroyNotify) cf_ingest_item_free);
  g_queue_clear_full (&self->pending, (GDestroyNotify) gst_mini_object_unref);
  self->have_offset = FALSE;
  self->have_out = FALSE;
  self->last_out_ms = 0;
  self->raw_base = 0;
  self->last_raw_ts = 0;
  self->disconnected_at = 0;
  self->discont = FALSE;

  GST_OBJECT_LOCK (self);
  self->video_frames = self->audio_frames = self->keyframes = 0;
  self->tag_bytes = 0;
  self->sessions = self->reconnects = 0;
  g_clear_pointer (&self->video_codec, g_free);
  g_clear_pointer (&self->audio_codec, g_free);
  g_clear_pointer (&self->protocol, g_free);
  g_clear_pointer (&self->remote, g_free);
  g_clear_pointer (&self->encoder, g_free);
  memset (self->buckets, 0, sizeof (self->buckets));
  self->bucket_second = 0;
  self->status = self->enabled ? GST_CF_LIVE_INPUT_STATUS_IDLE :
      GST_CF_LIVE_INPUT_STATUS_DISABLED;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_cf_live_input_src_start (GstBaseSrc * bsrc)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (bsrc);
  g_autoptr (GError) err = NULL;
  CfIngestConfig config = { {0,}, };
  gchar *rtmp_url, *key, *cert, *tls_key, *srt_url, *srt_id, *srt_pass;
  gchar *srt_host = NULL;
  gboolean ok = FALSE;

  reset_stream_state (self);

  GST_OBJECT_LOCK (self);
  rtmp_url = g_strdup (self->rtmp_url);
  key = g_strdup (self->stream_key);
  cert = g_strdup (self->tls_certificate);
  tls_key = g_strdup (self->tls_key);
  srt_url = g_strdup (self->srt_url);
  srt_id = g_strdup (self->srt_stream_id);
  srt_pass = g_strdup (self->srt_passphrase);
  config.srt_latency = self->srt_latency;
  config.idle_timeout = self->idle_timeout;
  config.enabled = self->enabled;
  GST_OBJECT_UNLOCK (self);

  if ((!rtmp_url || !*rtmp_url) && (!srt_url || !*srt_url)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Neither rtmp-url nor srt-url is set."), (NULL));
    goto done;
  }

  /* an SRT-only live input needs no stream key */
  if (srt_url && *srt_url && (!key || !*key) && rtmp_url && *rtmp_url) {
    GST_INFO_OBJECT (self, "no stream-key: RTMP is off, SRT only");
    g_clear_pointer (&rtmp_url, g_free);
  }

  if (rtmp_url && *rtmp_url) {
    if (!key || !*key) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("No stream key set."),
          ("Set the stream-key property: the secret an encoder publishes "
              "with, as in rtmp://host/live/<stream-key>"));
      goto done;
    }
    if (!cf_ingest_url_parse (rtmp_url, &config.rtmp, &err)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid rtmp-url."), ("%s", err->message));
      goto done;
    }
    config.stream_key = key;
    config.tls_certificate = cert;
    config.tls_key = tls_key;
  }

  if (srt_url && *srt_url) {
    if (!cf_ingest_srt_url_parse (srt_url, &srt_host, &config.srt_port,
            &err)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid srt-url."), ("%s", err->message));
      goto done;
    }
    config.srt_host = srt_host;
    config.srt_stream_id = srt_id;
    config.srt_passphrase = srt_pass;
  }

  ok = cf_ingest_input_start (self->input, &config, &err);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not start the live input."), ("%s", err->message));
  } else {
    if (config.rtmp.host) {
      g_autofree gchar *redacted = gst_cflive_secret_redact (key);

      GST_INFO_OBJECT (self, "live input %s listening on %s://%s:%u/%s",
          redacted, config.rtmp.tls ? "rtmps" : "rtmp", config.rtmp.host,
          cf_ingest_input_get_port (self->input), config.rtmp.app);
      g_object_notify (G_OBJECT (self), "bound-port");
    }
    if (config.srt_host) {
      GST_INFO_OBJECT (self, "live input '%s' listening on srt://%s:%u%s",
          srt_id, srt_host, cf_ingest_input_get_srt_port (self->input),
          srt_pass && *srt_pass ? " (encrypted)" : "");
      g_object_notify (G_OBJECT (self), "srt-bound-port");
    }
  }

done:
  cf_ingest_url_clear (&config.rtmp);
  g_free (rtmp_url);
  clear_secret (&key);
  g_free (cert);
  g_free (tls_key);
  g_free (srt_url);
  g_free (srt_id);
  clear_secret (&srt_pass);
  g_free (srt_host);
  return ok;
}

static gboolean
gst_cf_live_input_src_stop (GstBaseSrc * bsrc)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (bsrc);

  cf_ingest_input_stop (self->input);
  reset_stream_state (self);
  return TRUE;
}

static gboolean
gst_cf_live_input_src_unlock (GstBaseSrc * bsrc)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (bsrc);

  cf_ingest_input_set_flushing (self->input, TRUE);
  return TRUE;
}

static gboolean
gst_cf_live_input_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (bsrc);

  cf_ingest_input_set_flushing (self->input, FALSE);
  return TRUE;
}

/* The caps, with their streamheader, are set in create() once the codec
 * headers of the stream are known: neither the first negotiation nor a
 * reconfigure from downstream may set or replace them with bare template
 * caps. */
static gboolean
gst_cf_live_input_src_negotiate (GstBaseSrc * bsrc)
{
  return TRUE;
}

/* --- streaming --- */

/* The running time at which @arrival (monotonic µs) happened, in ms */
static gint64
arrival_running_ms (GstCfLiveInputSrc * self, gint64 arrival)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));
  gint64 ret = 0;

  if (clock) {
    GstClockTime now = gst_clock_get_time (clock);
    gint64 ago = (g_get_monotonic_time () - arrival) * GST_USECOND;
    gint64 rt = (gint64) now - (gint64) base - ago;

    ret = MAX (rt, 0) / GST_MSECOND;
    gst_object_unref (clock);
  }
  return ret;
}

/* Unwraps the encoder's 32-bit millisecond timestamps */
static gint64
unwrap_ts (GstCfLiveInputSrc * self, guint32 ts)
{
  if (ts < self->last_raw_ts && self->last_raw_ts - ts > G_MAXINT32)
    self->raw_base += G_GINT64_CONSTANT (1) << 32;
  else if (ts > self->last_raw_ts && ts - self->last_raw_ts > G_MAXINT32
      && self->raw_base > 0)
    self->raw_base -= G_GINT64_CONSTANT (1) << 32;
  self->last_raw_ts = ts;
  return self->raw_base + ts;
}

/* Maps the first tag of a session onto the output timeline: at its running
 * time of arrival, but never before what was already output and never
 * leaving a gap longer than the outage. */
static void
anchor_session (GstCfLiveInputSrc * self, CfIngestItem * item)
{
  gint64 first = arrival_running_ms (self, item->arrival);

  self->raw_base = 0;
  self->last_raw_ts = item->timestamp;

  if (self->have_out) {
    gint64 outage = MAX (0, (item->arrival - self->last_arrival) / 1000);

    first = MIN (first, self->last_out_ms + outage);
    first = MAX (first, self->last_out_ms + 1);
  }
  self->offset_ms = first - (gint64) item->timestamp;
  self->have_offset = TRUE;
  GST_DEBUG_OBJECT (self, "session %u starts at %" G_GINT64_FORMAT " ms",
      self->session, first);
}

static void
count_bytes (GstCfLiveInputSrc * self, gsize size)
{
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;

  /* object lock held */
  while (self->bucket_second < now) {
    self->bucket_second++;
    self->buckets[self->bucket_second % BITRATE_BUCKETS] = 0;
    if (now - self->bucket_second > BITRATE_BUCKETS)
      self->bucket_second = now - BITRATE_BUCKETS;
  }
  self->buckets[now % BITRATE_BUCKETS] += size;
  self->tag_bytes += size;
}

static GstBuffer *
make_tag_buffer (GstCfLiveInputSrc * self, CfIngestItem * item)
{
  GstCfliveFlvTagInfo info;
  gsize size;
  const guint8 *data = g_bytes_get_data (item->body, &size);
  gint64 ts;
  GstBuffer *buf;

  if (!self->have_offset)
    anchor_session (self, item);
  ts = unwrap_ts (self, item->timestamp) + self->offset_ms;
  if (ts < 0)
    ts = 0;

  gst_cflive_flv_parse_tag_body (item->tag_type, data, size, &info);
  buf = gst_cflive_flv_tag_new (item->tag_type, (guint32) ts, item->body);
  GST_BUFFER_DTS (buf) = ts * GST_MSECOND;
  GST_BUFFER_PTS (buf) = MAX (0, ts + info.composition_time) * GST_MSECOND;

  if (info.sequence_header || item->tag_type == GST_CFLIVE_FLV_TAG_SCRIPT)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_HEADER);
  if (item->tag_type == GST_CFLIVE_FLV_TAG_VIDEO && !info.keyframe
      && !info.sequence_header)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);

  if (ts > self->last_out_ms || !self->have_out)
    self->last_out_ms = ts;
  self->have_out = TRUE;
  self->last_arrival = item->arrival;

  GST_OBJECT_LOCK (self);
  count_bytes (self, size);
  if (item->tag_type == GST_CFLIVE_FLV_TAG_VIDEO && !info.sequence_header
      && !info.end_of_sequence) {
    self->video_frames++;
    if (info.keyframe)
      self->keyframes++;
  } else if (item->tag_type == GST_CFLIVE_FLV_TAG_AUDIO &&
      !info.sequence_header) {
    self->audio_frames++;
  }
  if (item->tag_type == GST_CFLIVE_FLV_TAG_VIDEO && *info.codec &&
      g_strcmp0 (self->video_codec, info.codec)) {
    g_free (self->video_codec);
    self->video_codec = g_strdup (info.codec);
  } else if (item->tag_type == GST_CFLIVE_FLV_TAG_AUDIO && *info.codec &&
      g_strcmp0 (self->audio_codec, info.codec)) {
    g_free (self->audio_codec);
    self->audio_codec = g_strdup (info.codec);
  }
  GST_OBJECT_UNLOCK (self);

  return buf;
}

static gboolean
bytes_equal0 (GBytes * a, GBytes * b)
{
  if (!a || !b)
    return a == b;
  return g_bytes_equal (a, b);
}

static void
read_metadata_flags (GstCfLiveInputSrc * self, GBytes * metadata)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (metadata, &size);
  g_autoptr (GPtrArray) values = cf_amf_parse_all (data, size, NULL);
  const CfAmfNode *obj;

  if (!values || values->len < 2)
    return;
  obj = g_ptr_array_index (values, 1);
  if (cf_amf_node_get_field (obj, "videocodecid"))
    self->has_video = TRUE;
  if (cf_amf_node_get_field (obj, "audiocodecid"))
    self->has_audio = TRUE;
}

static GstBuffer *
header_copy (GstBuffer * buf)
{
  GstBuffer *copy = gst_buffer_copy (buf);

  GST_BUFFER_FLAG_SET (copy, GST_BUFFER_FLAG_HEADER);
  return copy;
}

/* Sets caps whose streamheader holds the FLV header, the metadata and the
 * codec headers, as far as they are known. */
static void
update_caps (GstCfLiveInputSrc * self, GstBuffer * flv_header,
    GstBuffer * meta, GstBuffer * vhdr, GstBuffer * ahdr)
{
  GValue array = G_VALUE_INIT;
  GstBuffer *bufs[4] = { flv_header, meta, vhdr, ahdr };
  GstCaps *caps;
  guint i;

  g_value_init (&array, GST_TYPE_ARRAY);
  for (i = 0; i < G_N_ELEMENTS (bufs); i++) {
    GValue v = G_VALUE_INIT;

    if (!bufs[i])
      continue;
    g_value_init (&v, GST_TYPE_BUFFER);
    g_value_take_boxed (&v, header_copy (bufs[i]));
    gst_value_array_append_and_take_value (&array, &v);
  }
  caps = gst_caps_new_empty_simple ("video/x-flv");
  gst_caps_set_value (caps, "streamheader", &array);
  g_value_unset (&array);

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  gst_base_src_set_caps (GST_BASE_SRC (self), caps);
  gst_caps_unref (caps);
}

/* The first frame of a session arrived: output its headers, then the
 * frames collected so far. */
static void
finish_collecting (GstCfLiveInputSrc * self)
{
  CfIngestItem *item;
  GstBuffer *meta = NULL, *vhdr = NULL, *ahdr = NULL;
  GBytes *v_body = NULL, *a_body = NULL;
  GQueue tags = G_QUEUE_INIT;
  GQueue done = G_QUEUE_INIT;
  GstBuffer *buf;
  gboolean first_downstream = !self->caps_sent;

  self->collecting = FALSE;

  /* anchor on the first item of the session */
  while ((item = g_queue_pop_head (&self->collected))) {
    GstCfliveFlvTagInfo info;
    gsize size;
    const guint8 *data = g_bytes_get_data (item->body, &size);

    gst_cflive_flv_parse_tag_body (item->tag_type, data, size, &info);
    buf = make_tag_buffer (self, item);

    if (item->tag_type == GST_CFLIVE_FLV_TAG_SCRIPT && !meta) {
      meta = gst_buffer_ref (buf);
      read_metadata_flags (self, item->body);
    } else if (info.sequence_header &&
        item->tag_type == GST_CFLIVE_FLV_TAG_VIDEO) {
      gst_clear_buffer (&vhdr);
      vhdr = gst_buffer_ref (buf);
      v_body = item->body;
      self->has_video = TRUE;
    } else if (info.sequence_header &&
        item->tag_type == GST_CFLIVE_FLV_TAG_AUDIO) {
      gst_clear_buffer (&ahdr);
      ahdr = gst_buffer_ref (buf);
      a_body = item->body;
      self->has_audio = TRUE;
    } else if (item->tag_type == GST_CFLIVE_FLV_TAG_VIDEO) {
      self->has_video = TRUE;
    } else if (item->tag_type == GST_CFLIVE_FLV_TAG_AUDIO) {
      self->has_audio = TRUE;
    }
    g_queue_push_tail (&tags, buf);
    g_queue_push_tail (&done, item);
  }

  if (!self->caps_sent) {
    GstBuffer *flv = gst_cflive_flv_header_new (self->has_audio,
        self->has_video);
    GstBuffer *first = g_queue_peek_head (&tags);

    if (first)
      GST_BUFFER_PTS (flv) = GST_BUFFER_DTS (flv) = GST_BUFFER_DTS (first);
    update_caps (self, flv, meta, vhdr, ahdr);
    g_queue_push_tail (&self->pending, flv);
    self->caps_sent = TRUE;
  } else if ((v_body && !bytes_equal0 (v_body, self->video_header)) ||
      (a_body && !bytes_equal0 (a_body, self->audio_header))) {
    GstBuffer *flv = gst_cflive_flv_header_new (self->has_audio,
        self->has_video);

    /* downstream gets the new headers in the stream too */
    GST_INFO_OBJECT (self, "the new session has new codec headers");
    update_caps (self, flv, meta ? meta : self->headers[0],
        vhdr ? vhdr : self->headers[1], ahdr ? ahdr : self->headers[2]);
    gst_buffer_unref (flv);
  }

  /* remember what the caps hold */
  if (meta)
    gst_buffer_replace (&self->headers[0], meta);
  if (vhdr) {
    gst_buffer_replace (&self->headers[1], vhdr);
    g_clear_pointer (&self->video_header, g_bytes_unref);
    self->video_header = g_bytes_ref (v_body);
  }
  if (ahdr) {
    gst_buffer_replace (&self->headers[2], ahdr);
    g_clear_pointer (&self->audio_header, g_bytes_unref);
    self->audio_header = g_bytes_ref (a_body);
  }

  gst_clear_buffer (&meta);
  gst_clear_buffer (&vhdr);
  gst_clear_buffer (&ahdr);
  g_queue_clear_full (&done, (GDestroyNotify) cf_ingest_item_free);

  /* the publisher event goes after the FLV header (the first buffer, which
   * also carries caps and segment) and before the session's tags */
  if (!self->session_announced) {
    GstCflivePublisherAction action = first_downstream ?
        GST_CFLIVE_PUBLISHER_CONNECTED : GST_CFLIVE_PUBLISHER_RECONNECTED;

    g_queue_push_tail (&self->pending,
        gst_cflive_publisher_event_new (action, self->session,
            action == GST_CFLIVE_PUBLISHER_CONNECTED ?
            GST_CFLIVE_REASON_CONNECTED : GST_CFLIVE_REASON_RECONNECTED,
            self->protocol));
    self->session_announced = TRUE;
  }

  if (self->discont && !g_queue_is_empty (&tags)) {
    GST_BUFFER_FLAG_SET (g_queue_peek_head (&tags), GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  while ((buf = g_queue_pop_head (&tags)))
    g_queue_push_tail (&self->pending, buf);
}

static void
handle_start (GstCfLiveInputSrc * self, CfIngestItem * item)
{
  gboolean first;

  GST_OBJECT_LOCK (self);
  first = (self->sessions == 0);
  self->sessions++;
  if (!first)
    self->reconnects++;
  g_free (self->protocol);
  self->protocol = g_strdup (item->protocol);
  g_free (self->remote);
  self->remote = g_strdup (item->remote);
  g_free (self->encoder);
  self->encoder = g_strdup (item->encoder);
  GST_OBJECT_UNLOCK (self);

  self->session = item->session;
  self->collecting = TRUE;
  self->have_offset = FALSE;
  self->session_announced = FALSE;
  g_queue_clear_full (&self->collected, (GDestroyNotify) cf_ingest_item_free);
  if (!first)
    self->discont = TRUE;

  post_status (self, GST_CF_LIVE_INPUT_STATUS_CONNECTED,
      first ? GST_CFLIVE_REASON_CONNECTED : GST_CFLIVE_REASON_RECONNECTED,
      NULL, NULL);
}

static const gchar *
disconnect_reason_name (CfIngestEndReason reason)
{
  return cf_ingest_end_reason_to_string (reason);
}

static void
handle_end (GstCfLiveInputSrc * self, CfIngestItem * item, gint window)
{
  GstCfLiveInputStatus status;
  const gchar *reason;

  if (item->session != self->session)
    return;

  /* frames of a session that never got to its first frame are lost */
  g_queue_clear_full (&self->collected, (GDestroyNotify) cf_ingest_item_free);
  self->collecting = FALSE;
  self->disconnected_at = item->arrival;

  if (self->session_announced) {
    g_queue_push_tail (&self->pending,
        gst_cflive_publisher_event_new (GST_CFLIVE_PUBLISHER_DISCONNECTED,
            self->session, item->reason == CF_INGEST_END_UNPUBLISHED ?
            GST_CFLIVE_REASON_CLIENT_DISCONNECT :
            GST_CFLIVE_REASON_RECONNECTING, self->protocol));
  }
  self->session_announced = FALSE;

  if (item->reason == CF_INGEST_END_SHUTDOWN)
    return;

  if (item->reason == CF_INGEST_END_DISABLED) {
    status = GST_CF_LIVE_INPUT_STATUS_DISABLED;
    reason = GST_CFLIVE_REASON_DISABLED;
  } else if (window == 0) {
    status = GST_CF_LIVE_INPUT_STATUS_ENDED;
    reason = GST_CFLIVE_REASON_CLIENT_DISCONNECT;
  } else {
    status = GST_CF_LIVE_INPUT_STATUS_RECONNECTING;
    reason = GST_CFLIVE_REASON_RECONNECTING;
  }
  GST_INFO_OBJECT (self, "session %u ended (%s: %s)", self->session,
      disconnect_reason_name (item->reason), GST_STR_NULL (item->detail));
  post_status (self, status, reason, disconnect_reason_name (item->reason),
      item->detail);
}

static void
handle_tag (GstCfLiveInputSrc * self, CfIngestItem * item)
{
  if (item->session != self->session || self->status !=
      GST_CF_LIVE_INPUT_STATUS_CONNECTED) {
    cf_ingest_item_free (item);
    return;
  }

  if (self->collecting) {
    GstCfliveFlvTagInfo info;
    gsize size;
    const guint8 *data = g_bytes_get_data (item->body, &size);
    gboolean is_header;

    gst_cflive_flv_parse_tag_body (item->tag_type, data, size, &info);
    is_header = info.sequence_header ||
        item->tag_type == GST_CFLIVE_FLV_TAG_SCRIPT;
    g_queue_push_tail (&self->collected, item);
    if (!is_header || g_queue_get_length (&self->collected) >= MAX_HEADER_TAGS)
      finish_collecting (self);
    return;
  }

  g_queue_push_tail (&self->pending, make_tag_buffer (self, item));
  cf_ingest_item_free (item);
}

static GstFlowReturn
gst_cf_live_input_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstCfLiveInputSrc *self = GST_CF_LIVE_INPUT_SRC (psrc);

  while (TRUE) {
    GstMiniObject *obj;
    CfIngestItem *item = NULL;
    CfIngestPopResult res;
    GstCfLiveInputStatus status;
    gint window;
    gboolean enabled, had_sessions;
    gint64 deadline = -1;

    while ((obj = g_queue_pop_head (&self->pending))) {
      if (GST_IS_BUFFER (obj)) {
        *outbuf = GST_BUFFER_CAST (obj);
        return GST_FLOW_OK;
      }
      gst_pad_push_event (GST_BASE_SRC_PAD (self), GST_EVENT_CAST (obj));
    }

    GST_OBJECT_LOCK (self);
    status = self->status;
    window = self->reconnect_window;
    enabled = self->enabled;
    had_sessions = self->sessions > 0;
    GST_OBJECT_UNLOCK (self);

    /* enabled changed while no encoder was connected */
    if (!enabled && (status == GST_CF_LIVE_INPUT_STATUS_IDLE ||
            status == GST_CF_LIVE_INPUT_STATUS_RECONNECTING)) {
      post_status (self, GST_CF_LIVE_INPUT_STATUS_DISABLED,
          GST_CFLIVE_REASON_DISABLED, NULL, "the live input was disabled");
      continue;
    } else if (enabled && status == GST_CF_LIVE_INPUT_STATUS_DISABLED) {
      /* the reconnect window starts again */
      self->disconnected_at = g_get_monotonic_time ();
      post_status (self, had_sessions ?
          GST_CF_LIVE_INPUT_STATUS_RECONNECTING :
          GST_CF_LIVE_INPUT_STATUS_IDLE,
          GST_CFLIVE_REASON_NEW_CONFIGURATION_ACCEPTED, NULL,
          "the live input was enabled");
      continue;
    }

    if (status == GST_CF_LIVE_INPUT_STATUS_ENDED)
      goto ended;
    if (status == GST_CF_LIVE_INPUT_STATUS_RECONNECTING && window >= 0)
      deadline = self->disconnected_at + (gint64) window * G_USEC_PER_SEC;

    res = cf_ingest_input_pop (self->input, deadline, &item);
    switch (res) {
      case CF_INGEST_POP_FLUSHING:
        return GST_FLOW_FLUSHING;
      case CF_INGEST_POP_WAKE:
        continue;
      case CF_INGEST_POP_TIMEOUT:
        post_status (self, GST_CF_LIVE_INPUT_STATUS_ENDED,
            GST_CFLIVE_REASON_TTL_EXCEEDED, NULL,
            "the encoder did not come back within the reconnect window");
        goto ended;
      case CF_INGEST_POP_ITEM:
        break;
    }

    switch (item->type) {
      case CF_INGEST_ITEM_START:
        handle_start (self, item);
        cf_ingest_item_free (item);
        break;
      case CF_INGEST_ITEM_END:
        handle_end (self, item, window);
        cf_ingest_item_free (item);
        break;
      case CF_INGEST_ITEM_TAG:
        handle_tag (self, item);
        break;
    }
  }

ended:
  cf_ingest_input_set_ended (self->input);
  GST_INFO_OBJECT (self, "the live input ended");
  /* events still pending (the disconnection) go out before EOS */
  {
    GstMiniObject *obj;

    while ((obj = g_queue_pop_head (&self->pending))) {
      if (GST_IS_EVENT (obj))
        gst_pad_push_event (GST_BASE_SRC_PAD (self), GST_EVENT_CAST (obj));
      else
        gst_mini_object_unref (obj);
    }
  }
  return GST_FLOW_EOS;
}
