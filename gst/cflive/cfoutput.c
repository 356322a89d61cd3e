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

/* Restream outputs.
 *
 * Threads: the streaming thread of cfrestreamsink calls cf_output_push()
 * (queue a reference, never wait); one event loop thread, shared by every
 * output of the process, connects, speaks RTMP and writes. An output's
 * lock guards its queue, its enabled flag and its statistics; everything
 * about the connection belongs to the loop thread.
 *
 * A joining or reconnecting output starts at the newest keyframe it has,
 * after the metadata and codec headers that were current at that keyframe
 * (every tag carries references to them). A queue that overflows (in bytes
 * or in stream time) is emptied and the output waits for the next
 * keyframe: only that destination loses frames. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gst/cflive/cflive.h>

#include "cfgio.h"
#include "cfoutput.h"
#include "rtmp/rtmpchunk.h"
#include "rtmp/rtmpclient.h"
#include "cfsrt.h"

#include <srt/srt.h>

GST_DEBUG_CATEGORY_STATIC (cf_output_debug);
#define GST_CAT_DEFAULT cf_output_debug

#define CHUNK_SIZE CF_RTMP_CLIENT_CHUNK_SIZE
#define SHARED_STREAM_ID 1
#define CONNECT_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define STALL_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define BACKOFF_INITIAL_MS 1000
#define BACKOFF_MAX_MS 30000
/* RTMP: buffers written in one system call, and the bytes they may hold */
#define MAX_IOV 32
#define MAX_BATCH_BYTES (256 * 1024)
#define READ_SIZE 16384
/* TS bytes per SRT message: 7 packets */
#define SRT_PAYLOAD 1316
#define SRT_RETRY_MS 10

/* --- tags --- */

enum
{
  HDR_META,
  HDR_VIDEO,
  HDR_AUDIO,
  N_HDR
};

struct _CfOutputTag
{
  gint ref;
  GstBuffer *buf;
  guint8 type;
  guint32 ts;
  gsize body_size;
  gboolean header;
  gboolean keyframe;
  gint hdr_kind;                /* HDR_* when header, else -1 */
  CfOutputTag *hdr[N_HDR];      /* current headers at this tag */

  GMutex lock;
  GBytes *shared;               /* chunks for CHUNK_SIZE, SHARED_STREAM_ID */
  GBytes *mpegts;               /* MPEG-TS for SRT outputs, set before push */
};

static struct
{
  GMainContext *context;
  GThread *thread;

  /* one wake-up for every output with new data: the streaming thread
   * pushes a tag to all outputs and wakes the loop once, at once or, with
   * a flush interval, at the end of it; while data keeps coming the loop
   * wakes once per interval by itself, and nobody has to wake it */
  GSource *kick;
  GMutex kick_lock;
  GQueue dirty;                 /* CfOutput, reffed */
  gint64 deadline;              /* when the kick fires, -1: not armed */
  gint64 period;                /* µs between flushes while data flows */
} loop;

static gboolean on_kick (gpointer data);

static gboolean
kick_dispatch (GSource * source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs kick_funcs = { NULL, NULL, kick_dispatch, NULL, };

static gpointer
loop_thread (gpointer data)
{
  GMainLoop *ml;

  g_main_context_push_thread_default (loop.context);
  ml = g_main_loop_new (loop.context, FALSE);
  g_main_loop_run (ml);
  return NULL;
}

static void
loop_init (void)
{
  static gsize init = 0;

  if (g_once_init_enter (&init)) {
    cf_gio_ensure_types ();
    GST_DEBUG_CATEGORY_INIT (cf_output_debug, "cfoutput", 0,
        "cflive restream outputs");
    loop.context = g_main_context_new ();
    g_mutex_init (&loop.kick_lock);
    g_queue_init (&loop.dirty);
    loop.deadline = -1;
    loop.kick = g_source_new (&kick_funcs, sizeof (GSource));
    g_source_set_ready_time (loop.kick, -1);
    g_source_set_callback (loop.kick, on_kick, NULL, NULL);
    g_source_attach (loop.kick, loop.context);
    loop.thread = g_thread_new ("cflive-restream", loop_thread, NULL);
    g_once_init_leave (&init, 1);
  }
}

CfOutputTag *
cf_output_tag_new (GstBuffer * buf)
{
  guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 8];
  gsize n = gst_buffer_extract (buf, 0, h, sizeof (h));
  gsize size = gst_buffer_get_size (buf);
  GstCfliveFlvTagInfo info;
  CfOutputTag *tag;
  guint32 body_size;

  if (n < GST_CFLIVE_FLV_TAG_HEADER_SIZE + 1 || (h[0] == 'F' && h[1] == 'L'
          && h[2] == 'V'))
    return NULL;
  body_size = GST_READ_UINT24_BE (h + 1);
  if (body_size == 0 || body_size > size - GST_CFLIVE_FLV_TAG_HEADER_SIZE)
    return NULL;
  if (!gst_cflive_flv_parse_tag_body (h[0] & 0x1f,
          h + GST_CFLIVE_FLV_TAG_HEADER_SIZE,
          MIN (body_size, n - GST_CFLIVE_FLV_TAG_HEADER_SIZE), &info))
    return NULL;

  tag = g_new0 (CfOutputTag, 1);
  tag->ref = 1;
  tag->buf = gst_buffer_ref (buf);
  tag->type = h[0] & 0x1f;
  tag->ts = GST_READ_UINT24_BE (h + 4) | (h[7] << 24);
  tag->body_size = body_size;
  tag->hdr_kind = -1;
  if (tag->type == GST_CFLIVE_FLV_TAG_SCRIPT)
    tag->hdr_kind = HDR_META;
  else if (info.sequence_header)
    tag->hdr_kind = tag->type == GST_CFLIVE_FLV_TAG_VIDEO ? HDR_VIDEO :
        HDR_AUDIO;
  tag->header = tag->hdr_kind >= 0;
  tag->keyframe = tag->type == GST_CFLIVE_FLV_TAG_VIDEO && info.keyframe;
  g_mutex_init (&tag->lock);
  return tag;
}

CfOutputTag *
cf_output_tag_ref (CfOutputTag * tag)
{
  g_atomic_int_inc (&tag->ref);
  return tag;
}

void
cf_output_tag_unref (CfOutputTag * tag)
{
  guint i;

  if (!tag || !g_atomic_int_dec_and_test (&tag->ref))
    return;
  for (i = 0; i < N_HDR; i++)
    if (tag->hdr[i])
      cf_output_tag_unref (tag->hdr[i]);
  gst_buffer_unref (tag->buf);
  g_clear_pointer (&tag->shared, g_bytes_unref);
  g_clear_pointer (&tag->mpegts, g_bytes_unref);
  g_mutex_clear (&tag->lock);
  g_free (tag);
}

/* Sets the headers current at @tag (from the element's cache) */
void _cf_output_tag_set_headers (CfOutputTag * tag, CfOutputTag ** hdr);
void
_cf_output_tag_set_headers (CfOutputTag * tag, CfOutputTag ** hdr)
{
  guint i;

  for (i = 0; i < N_HDR; i++)
    tag->hdr[i] = hdr[i] && hdr[i] != tag ? cf_output_tag_ref (hdr[i]) : NULL;
}

void _cf_output_tag_set_ts (CfOutputTag * tag, GBytes * ts);
void
_cf_output_tag_set_ts (CfOutputTag * tag, GBytes * ts)
{
  tag->mpegts = ts;
}

GstBuffer *_cf_output_tag_get_buffer (CfOutputTag * tag);
GstBuffer *
_cf_output_tag_get_buffer (CfOutputTag * tag)
{
  return tag->buf;
}

gint _cf_output_tag_get_header_kind (CfOutputTag * tag);
gint
_cf_output_tag_get_header_kind (CfOutputTag * tag)
{
  return tag->hdr_kind;
}

/* The RTMP chunks of a tag at @ts, as the client session would write
 * them */
static GBytes *
tag_serialize (CfOutputTag * tag, guint32 chunk_size, guint32 stream_id,
    guint32 ts)
{
  guint8 *body = g_malloc (tag->body_size);
  GByteArray *out = g_byte_array_sized_new (tag->body_size +
      (tag->body_size / chunk_size + 1) * 8 + 32);

  gst_buffer_extract (tag->buf, GST_CFLIVE_FLV_TAG_HEADER_SIZE, body,
      tag->body_size);
  cf_rtmp_client_write_media_chunks (out, chunk_size, stream_id, tag->type,
      ts, body, tag->body_size);
  g_free (body);
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
tag_get_chunks (CfOutputTag * tag, guint32 chunk_size, guint32 stream_id,
    guint32 ts)
{
  GBytes *ret;

  if (chunk_size != CHUNK_SIZE || stream_id != SHARED_STREAM_ID ||
      ts != tag->ts)
    return tag_serialize (tag, chunk_size, stream_id, ts);

  /* serialised once, by the first output that sends the tag */
  g_mutex_lock (&tag->lock);
  if (!tag->shared)
    tag->shared = tag_serialize (tag, chunk_size, stream_id, ts);
  ret = g_bytes_ref (tag->shared);
  g_mutex_unlock (&tag->lock);
  return ret;
}

/* --- URLs --- */

gboolean
cf_output_url_parse (const gchar * url, const gchar * stream_key,
    CfOutputUrl * out, GError ** error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) err = NULL;
  const gchar *scheme, *path;
  gchar *p, *slash;

  memset (out, 0, sizeof (*out));
  uri = g_uri_parse (url ? url : "", G_URI_FLAGS_NONE, &err);
  if (!uri) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not a valid URL: %s", url ? url : "", err->message);
    return FALSE;
  }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "rtmp") && g_ascii_strcasecmp (scheme,
          "rtmps") && g_ascii_strcasecmp (scheme, "srt")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s': destinations are rtmp://, rtmps:// or srt://", url);
    return FALSE;
  }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' has no host", url);
    return FALSE;
  }
  out->scheme = g_ascii_strdown (scheme, -1);
  out->host = g_strdup (g_uri_get_host (uri));
  if (g_uri_get_port (uri) > 0)
    out->port = g_uri_get_port (uri);
  else
    out->port = g_str_equal (out->scheme, "rtmps") ? 443 : 1935;

  if (g_str_equal (out->scheme, "srt")) {
    const gchar *query = g_uri_get_query (uri);
    g_autoptr (GHashTable) params = query ?
        g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL) : NULL;
    const gchar *v;

    if (g_uri_get_port (uri) <= 0) {
      cf_output_url_clear (out);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "'%s' needs a port (srt://host:port?streamid=...)", url);
      return FALSE;
    }
    out->latency = 120;
    if (params) {
      out->srt_stream_id = g_strdup (g_hash_table_lookup (params,
              "streamid"));
      out->srt_passphrase = g_strdup (g_hash_table_lookup (params,
              "passphrase"));
      if ((v = g_hash_table_lookup (params, "latency")))
        out->latency = (guint) g_ascii_strtoull (v, NULL, 10);
    }
    if (stream_key && *stream_key && !out->srt_stream_id)
      out->srt_stream_id = g_strdup (stream_key);
    if (out->srt_passphrase && (strlen (out->srt_passphrase) < 10 ||
            strlen (out->srt_passphrase) > 79)) {
      cf_output_url_clear (out);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "the SRT passphrase of '%s' must have 10 to 79 characters", url);
      return FALSE;
    }
    return TRUE;
  }

  path = g_uri_get_path (uri);
  while (*path == '/')
    path++;
  p = g_strdup (path);
  while (*p && p[strlen (p) - 1] == '/')
    p[strlen (p) - 1] = '\0';

  if (stream_key && *stream_key) {
    out->app = p;
    out->stream_key = g_strdup (stream_key);
  } else {
    /* the key is the last path segment */
    slash = strrchr (p, '/');
    if (!slash) {
      g_free (p);
      cf_output_url_clear (out);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "'%s' has no stream key (rtmp://host/app/KEY)", url);
      return FALSE;
    }
    *slash = '\0';
    out->app = p;
    out->stream_key = g_strdup (slash + 1);
  }
  if (!*out->app || !*out->stream_key) {
    cf_output_url_clear (out);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' needs an application and a stream key", url);
    return FALSE;
  }
  out->tc_url = g_strdup_printf ("%s://%s:%u/%s", out->scheme, out->host,
      out->port, out->app);
  return TRUE;
}

void
cf_output_url_clear (CfOutputUrl * url)
{
  g_clear_pointer (&url->scheme, g_free);
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->app, g_free);
  if (url->stream_key)
    memset (url->stream_key, 0, strlen (url->stream_key));
  g_clear_pointer (&url->stream_key, g_free);
  g_clear_pointer (&url->tc_url, g_free);
  g_clear_pointer (&url->srt_stream_id, g_free);
  if (url->srt_passphrase)
    memset (url->srt_passphrase, 0, strlen (url->srt_passphrase));
  g_clear_pointer (&url->srt_passphrase, g_free);
}

gchar *
cf_output_url_to_safe_string (const CfOutputUrl * url)
{
  g_autofree gchar *key = gst_cflive_secret_redact (url->stream_key);

  if (g_str_equal (url->scheme, "srt"))
    return g_strdup_printf ("srt://%s:%u?streamid=%s%s", url->host,
        url->port, url->srt_stream_id ? url->srt_stream_id : "",
        url->srt_passphrase ? "&passphrase=****" : "");
  return g_strdup_printf ("%s/%s", url->tc_url, key);
}

/* --- outputs --- */

/* An output's queue: a ring of tag references. Pushing a tag to every
 * output must not allocate a list node per output. */
typedef struct
{
  CfOutputTag **v;
  guint cap;                    /* a power of two, or 0 */
  guint head;
  guint len;
} TagRing;

#define RING_AT(r, i) ((r)->v[((r)->head + (i)) & ((r)->cap - 1)])

static void
ring_push (TagRing * r, CfOutputTag * tag)
{
  if (r->len == r->cap) {
    guint cap = r->cap ? r->cap * 2 : 64;
    CfOutputTag **v = g_new (CfOutputTag *, cap);
    guint i;

    for (i = 0; i < r->len; i++)
      v[i] = RING_AT (r, i);
    g_free (r->v);
    r->v = v;
    r->cap = cap;
    r->head = 0;
  }
  r->v[(r->head + r->len) & (r->cap - 1)] = tag;
  r->len++;
}

static CfOutputTag *
ring_pop (TagRing * r)
{
  CfOutputTag *t;

  if (r->len == 0)
    return NULL;
  t = r->v[r->head];
  r->head = (r->head + 1) & (r->cap - 1);
  r->len--;
  return t;
}

static void
ring_clear (TagRing * r)
{
  CfOutputTag *t;

  while ((t = ring_pop (r)))
    cf_output_tag_unref (t);
}

static void
ring_free (TagRing * r)
{
  ring_clear (r);
  g_clear_pointer (&r->v, g_free);
  r->cap = 0;
}

struct _CfOutput
{
  gint ref;
  gchar *uid;
  CfOutputUrl url;
  gchar *safe_url;
  CfOutputConfig config;
  CfOutputStateFunc func;
  gpointer user_data;
  GDestroyNotify notify;

  /* held around state callbacks and by destroy: no callback after
   * cf_output_destroy() returns (recursive: a callback may destroy) */
  GRecMutex cb_lock;

  /* lock */
  GMutex lock;
  TagRing queue;
  gsize queued_bytes;
  gboolean enabled;
  gboolean destroyed;
  gboolean suspended;
  gboolean kick_pending;
  gboolean restart_gop;
  CfOutputState state;
  gchar *last_error;
  guint64 bytes_sent;
  guint64 frames_sent;
  guint64 frames_dropped;
  guint reconnects;
  gsize in_flight;              /* pending bytes not yet written */
  gsize srt_unacked;            /* bytes in libsrt's send buffer */
  gint64 srt_last_send;         /* monotonic µs of the last SRT send */
  gint srt_latency;             /* negotiated receiver latency, ms */
  gboolean announced;           /* a state was posted */

  /* loop thread */
  GSource *timer;
  GSource *backoff;
  GSocketClient *client;
  GCancellable *cancellable;
  GIOStream *stream;
  GSource *read_source;
  GSource *write_source;
  CfRtmpClientSession *session;
  gboolean srt;                 /* an SRT destination */
  SRTSOCKET srt_sock;
  GSource *srt_retry;
  gboolean publishing;
  gboolean need_keyframe;
  gboolean has_video;
  GQueue inject;                /* tags to send before the next one */
  guint32 inject_ts;            /* the time they go out with */
  GBytes *pending;
  gsize pending_off;
  GBytes *more[MAX_IOV - 1];    /* RTMP: taken after pending, same write */
  guint n_more;
  guint attempts;
  gint64 phase_start;
  gint64 last_progress;
};

static void output_connect (CfOutput * o);
static void output_pump (CfOutput * o);
static void output_close (CfOutput * o);
static gboolean output_read (CfOutput * o);

const gchar *
cf_output_state_to_string (CfOutputState state)
{
  static const gchar *names[] = { "connecting", "connected", "reconnecting",
    "disabled", "failed"
  };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

static CfOutput *
output_ref (CfOutput * o)
{
  g_atomic_int_inc (&o->ref);
  return o;
}

static void
output_unref (CfOutput * o)
{
  if (!g_atomic_int_dec_and_test (&o->ref))
    return;
  ring_free (&o->queue);
  g_queue_clear_full (&o->inject, (GDestroyNotify) cf_output_tag_unref);
  cf_output_url_clear (&o->url);
  g_free (o->safe_url);
  g_free (o->uid);
  g_free (o->last_error);
  g_mutex_clear (&o->lock);
  g_rec_mutex_clear (&o->cb_lock);
  if (o->notify)
    o->notify (o->user_data);
  g_free (o);
}

/* loop thread */
static void
set_state (CfOutput * o, CfOutputState state, const gchar * error)
{
  gboolean changed;

  g_mutex_lock (&o->lock);
  changed = o->state != state || !o->announced ||
      (error && g_strcmp0 (error, o->last_error));
  o->announced = TRUE;
  o->state = state;
  if (error) {
    g_free (o->last_error);
    o->last_error = g_strdup (error);
  }
  g_mutex_unlock (&o->lock);

  if (!changed)
    return;
  GST_INFO ("output %s (%s): %s%s%s", o->uid, o->safe_url,
      cf_output_state_to_string (state), error ? ": " : "", error ? error : "");
  g_rec_mutex_lock (&o->cb_lock);
  if (o->func && !o->destroyed)
    o->func (o, state, error, o->user_data);
  g_rec_mutex_unlock (&o->cb_lock);
}

static void
remove_source (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_source_unref (*source);
    *source = NULL;
  }
}

/* loop thread: the connection goes, the output stays */
static void
output_close (CfOutput * o)
{
  remove_source (&o->read_source);
  remove_source (&o->write_source);
  remove_source (&o->timer);
  if (o->cancellable) {
    g_cancellable_cancel (o->cancellable);
    g_clear_object (&o->cancellable);
  }
  if (o->stream) {
    GIOStream *base = o->stream;

    /* no graceful TLS close: a destination that stopped reading must not
     * hold us */
    if (G_IS_TLS_CONNECTION (base))
      g_object_get (base, "base-io-stream", &base, NULL);
    else
      g_object_ref (base);
    if (G_IS_SOCKET_CONNECTION (base))
      g_socket_close (g_socket_connection_get_socket (G_SOCKET_CONNECTION
              (base)), NULL);
    g_object_unref (base);
    g_clear_object (&o->stream);
  }
  g_clear_object (&o->client);
  g_clear_pointer (&o->session, cf_rtmp_client_session_free);
  remove_source (&o->srt_retry);
  if (o->srt_sock != SRT_INVALID_SOCK) {
    srt_close (o->srt_sock);
    o->srt_sock = SRT_INVALID_SOCK;
  }
  g_clear_pointer (&o->pending, g_bytes_unref);
  while (o->n_more)
    g_bytes_unref (o->more[--o->n_more]);
  g_queue_clear_full (&o->inject, (GDestroyNotify) cf_output_tag_unref);
  o->publishing = FALSE;
  g_mutex_lock (&o->lock);
  o->in_flight = 0;
  o->srt_unacked = 0;
  g_mutex_unlock (&o->lock);
}

static gboolean
backoff_done (gpointer data)
{
  CfOutput *o = data;

  g_source_unref (o->backoff);
  o->backoff = NULL;
  output_connect (o);
  return G_SOURCE_REMOVE;
}

/* loop thread: something went wrong with the connection */
static void
output_fail (CfOutput * o, const gchar * error)
{
  guint delay;
  gboolean enabled;

  output_close (o);

  g_mutex_lock (&o->lock);
  enabled = o->enabled && !o->destroyed && !o->suspended;
  g_mutex_unlock (&o->lock);
  if (!enabled)
    return;

  o->attempts++;
  if (o->config.max_reconnects >= 0 &&
      o->attempts > (guint) o->config.max_reconnects) {
    set_state (o, CF_OUTPUT_STATE_FAILED, error);
    return;
  }

  delay = BACKOFF_INITIAL_MS << MIN (o->attempts - 1, 5);
  delay = MIN (delay, BACKOFF_MAX_MS);
  g_mutex_lock (&o->lock);
  o->reconnects++;
  g_mutex_unlock (&o->lock);
  set_state (o, CF_OUTPUT_STATE_RECONNECTING, error);
  GST_DEBUG ("output %s: retrying in %u ms", o->uid, delay);
  o->backoff = g_timeout_source_new (delay);
  g_source_set_callback (o->backoff, backoff_done, o, NULL);
  g_source_attach (o->backoff, loop.context);
}

static gboolean
on_timer (gpointer data)
{
  CfOutput *o = data;
  gint64 now = g_get_monotonic_time ();

  if (!o->publishing && now - o->phase_start > CONNECT_TIMEOUT_US) {
    output_fail (o, "timed out connecting and publishing");
    return G_SOURCE_REMOVE;
  }
  if (o->publishing && o->pending && now - o->last_progress >
      STALL_TIMEOUT_US) {
    output_fail (o, "the destination stopped reading");
    return G_SOURCE_REMOVE;
  }
  if (o->publishing && o->stream && !o->read_source) {
    if (!output_read (o))
      return G_SOURCE_REMOVE;
    output_pump (o);
  }
  return G_SOURCE_CONTINUE;
}

/* Drops the queue up to its newest keyframe: a (re)connected output starts
 * there, not at stale data. Lock held. */
static void
trim_to_last_keyframe_locked (CfOutput * o)
{
  guint i, last = 0;
  gboolean found = FALSE;

  for (i = o->queue.len; i > 0 && !found; i--) {
    CfOutputTag *t = RING_AT (&o->queue, i - 1);

    if (t->keyframe || (!o->has_video && !t->hdr[HDR_VIDEO] &&
            t->type == GST_CFLIVE_FLV_TAG_AUDIO && !t->header)) {
      last = i - 1;
      found = TRUE;
    }
  }
  if (!found)
    return;
  while (last-- > 0) {
    CfOutputTag *t = ring_pop (&o->queue);

    o->queued_bytes -= t->body_size;
    cf_output_tag_unref (t);
  }
}

/* Next tag to send, with the keyframe gating, and its timestamp; loop
 * thread */
static CfOutputTag *
next_tag (CfOutput * o, guint32 * ts)
{
  CfOutputTag *t;

  if ((t = g_queue_pop_head (&o->inject))) {
    *ts = o->inject_ts;
    return t;
  }

  g_mutex_lock (&o->lock);
  if (o->restart_gop) {
    o->restart_gop = FALSE;
    o->need_keyframe = TRUE;
  }
  while ((t = ring_pop (&o->queue))) {
    gboolean key;

    o->queued_bytes -= t->body_size;
    /* a video header seen before this output started counts too */
    if (t->hdr_kind == HDR_VIDEO || t->type == GST_CFLIVE_FLV_TAG_VIDEO ||
        t->hdr[HDR_VIDEO])
      o->has_video = TRUE;
    key = t->keyframe || (!o->has_video && !t->header &&
        t->type == GST_CFLIVE_FLV_TAG_AUDIO);
    *ts = t->ts;

    if (!o->need_keyframe)
      break;
    if (key) {
      guint i;

      /* the headers current at this keyframe, then the keyframe, all at
       * its time: the destination's timeline starts there, not at the
       * (older) time the headers first went by */
      o->need_keyframe = FALSE;
      o->inject_ts = t->ts;
      for (i = 0; i < N_HDR; i++)
        if (t->hdr[i])
          g_queue_push_tail (&o->inject, cf_output_tag_ref (t->hdr[i]));
      g_queue_push_tail (&o->inject, t);
      t = g_queue_pop_head (&o->inject);
      break;
    }
    cf_output_tag_unref (t);
  }
  g_mutex_unlock (&o->lock);
  return t;
}

/* @n more bytes of the pending data went out */
static void
advance (CfOutput * o, gsize n)
{
  o->last_progress = g_get_monotonic_time ();
  g_mutex_lock (&o->lock);
  o->bytes_sent += n;
  o->in_flight -= MIN (o->in_flight, n);
  if (o->srt)
    o->srt_last_send = o->last_progress;
  g_mutex_unlock (&o->lock);

  while (o->pending) {
    gsize left = g_bytes_get_size (o->pending) - o->pending_off;

    if (n < left) {
      o->pending_off += n;
      return;
    }
    n -= left;
    g_bytes_unref (o->pending);
    o->pending = NULL;
    o->pending_off = 0;
    if (o->n_more) {
      o->pending = o->more[0];
      o->n_more--;
      memmove (o->more, o->more + 1, o->n_more * sizeof (GBytes *));
    }
  }
}

/* @bytes are written after what is pending */
static void
add_pending (CfOutput * o, GBytes * bytes)
{
  if (!o->pending) {
    o->pending = bytes;
    o->pending_off = 0;
  } else {
    g_assert (o->n_more < G_N_ELEMENTS (o->more));
    o->more[o->n_more++] = bytes;
  }
  g_mutex_lock (&o->lock);
  o->in_flight += g_bytes_get_size (bytes);
  g_mutex_unlock (&o->lock);
}

static void output_pump_srt (CfOutput * o);

static gboolean
srt_retry_cb (gpointer data)
{
  CfOutput *o = data;

  g_source_unref (o->srt_retry);
  o->srt_retry = NULL;
  output_pump_srt (o);
  return G_SOURCE_REMOVE;
}

/* The connection is polled: libsrt's sockets do not live in a main
 * context. Every 50 ms while connecting, for breakage and stalls after. */
static gboolean
srt_poll (gpointer data)
{
  CfOutput *o = data;
  gint64 now = g_get_monotonic_time ();
  SRT_SOCKSTATUS st = srt_getsockstate (o->srt_sock);

  switch (st) {
    case SRTS_CONNECTED:
      if (!o->publishing) {
        o->publishing = TRUE;
        o->attempts = 0;
        g_mutex_lock (&o->lock);
        o->need_keyframe = TRUE;
        trim_to_last_keyframe_locked (o);
        g_mutex_unlock (&o->lock);
        set_state (o, CF_OUTPUT_STATE_CONNECTED, NULL);
        output_pump_srt (o);
      } else if (o->pending && now - o->last_progress > STALL_TIMEOUT_US) {
        output_fail (o, "the destination stopped reading");
        return G_SOURCE_REMOVE;
      }
      {
        size_t blocks = 0, bytes = 0;
        gint latency = 0;
        int len = sizeof (latency);

        /* what the destination has not acknowledged yet, for EOS */
        srt_getsndbuffer (o->srt_sock, &blocks, &bytes);
        srt_getsockflag (o->srt_sock, SRTO_PEERLATENCY, &latency, &len);
        g_mutex_lock (&o->lock);
        o->srt_unacked = bytes;
        o->srt_latency = latency;
        g_mutex_unlock (&o->lock);
      }
      return G_SOURCE_CONTINUE;
    case SRTS_INIT:
    case SRTS_OPENED:
    case SRTS_CONNECTING:
      if (now - o->phase_start > CONNECT_TIMEOUT_US) {
        output_fail (o, "timed out connecting");
        return G_SOURCE_REMOVE;
      }
      return G_SOURCE_CONTINUE;
    default:{
      int reason = srt_getrejectreason (o->srt_sock);
      g_autofree gchar *msg = g_strdup_printf ("SRT connection %s: %s",
          o->publishing ? "broken" : "refused",
          reason ? srt_rejectreason_str (reason) : "closed by the peer");

      output_fail (o, msg);
      return G_SOURCE_REMOVE;
    }
  }
}

static void
srt_start (CfOutput * o, GInetAddress * addr)
{
  g_autoptr (GSocketAddress) saddr = g_inet_socket_address_new (addr,
      o->url.port);
  struct sockaddr_storage native;
  gboolean no = FALSE;
  gint live = SRTT_LIVE, latency = o->url.latency;

  if (!g_socket_address_to_native (saddr, &native, sizeof (native), NULL)) {
    output_fail (o, "cannot use the destination address");
    return;
  }
  o->srt_sock = srt_create_socket ();
  srt_setsockflag (o->srt_sock, SRTO_TRANSTYPE, &live, sizeof (live));
  srt_setsockflag (o->srt_sock, SRTO_SNDSYN, &no, sizeof (no));
  srt_setsockflag (o->srt_sock, SRTO_RCVSYN, &no, sizeof (no));
  srt_setsockflag (o->srt_sock, SRTO_LATENCY, &latency, sizeof (latency));
  if (o->url.srt_stream_id)
    srt_setsockflag (o->srt_sock, SRTO_STREAMID, o->url.srt_stream_id,
        strlen (o->url.srt_stream_id));
  if (o->url.srt_passphrase)
    srt_setsockflag (o->srt_sock, SRTO_PASSPHRASE, o->url.srt_passphrase,
        strlen (o->url.srt_passphrase));

  if (srt_connect (o->srt_sock, (struct sockaddr *) &native,
          g_socket_address_get_native_size (saddr)) == SRT_ERROR) {
    output_fail (o, srt_getlasterror_str ());
    return;
  }
  remove_source (&o->timer);
  o->timer = g_timeout_source_new (50);
  g_source_set_callback (o->timer, srt_poll, o, NULL);
  g_source_attach (o->timer, loop.context);
}

static void
on_srt_resolved (GObject * source, GAsyncResult * res, gpointer data)
{
  CfOutput *o = data;
  g_autoptr (GError) err = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res,
      &err);

  if (!addrs) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      output_fail (o, err->message);
  } else {
    if (o->cancellable && !g_cancellable_is_cancelled (o->cancellable))
      srt_start (o, addrs->data);
    g_resolver_free_addresses (addrs);
  }
  output_unref (o);
}

static void
output_connect_srt (CfOutput * o)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string
      (o->url.host);

  cf_srt_library_init ();
  if (addr) {
    srt_start (o, addr);
  } else {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();

    g_resolver_lookup_by_name_async (resolver, o->url.host, o->cancellable,
        on_srt_resolved, output_ref (o));
  }
}

/* Next tag with MPEG-TS to send, from a keyframe on */
static CfOutputTag *
next_tag_srt (CfOutput * o)
{
  CfOutputTag *t;

  g_mutex_lock (&o->lock);
  if (o->restart_gop) {
    o->restart_gop = FALSE;
    o->need_keyframe = TRUE;
  }
  while ((t = ring_pop (&o->queue))) {
    o->queued_bytes -= t->body_size;
    /* a video header current at this tag counts: an output that starts
     * on an audio frame of a stream with video would send delta frames */
    if (t->hdr_kind == HDR_VIDEO || t->type == GST_CFLIVE_FLV_TAG_VIDEO ||
        t->hdr[HDR_VIDEO])
      o->has_video = TRUE;
    if (t->mpegts && (!o->need_keyframe || t->keyframe || (!o->has_video &&
                t->type == GST_CFLIVE_FLV_TAG_AUDIO))) {
      o->need_keyframe = FALSE;
      break;
    }
    cf_output_tag_unref (t);
  }
  g_mutex_unlock (&o->lock);
  return t;
}

static void
output_pump_srt (CfOutput * o)
{
  if (o->srt_retry || o->srt_sock == SRT_INVALID_SOCK)
    return;

  while (o->publishing) {
    gconstpointer data;
    gsize size, n;

    if (!o->pending) {
      CfOutputTag *t = next_tag_srt (o);

      if (!t)
        return;
      add_pending (o, g_bytes_ref (t->mpegts));
      g_mutex_lock (&o->lock);
      o->frames_sent++;
      g_mutex_unlock (&o->lock);
      cf_output_tag_unref (t);
    }

    data = g_bytes_get_data (o->pending, &size);
    n = MIN (SRT_PAYLOAD, size - o->pending_off);
    if (srt_sendmsg2 (o->srt_sock, (const char *) data + o->pending_off, n,
            NULL) == SRT_ERROR) {
      if (srt_getlasterror (NULL) == SRT_EASYNCSND) {
        /* the send buffer is full: try again shortly */
        o->srt_retry = g_timeout_source_new (SRT_RETRY_MS);
        g_source_set_callback (o->srt_retry, srt_retry_cb, o, NULL);
        g_source_attach (o->srt_retry, loop.context);
        return;
      }
      output_fail (o, srt_getlasterror_str ());
      return;
    }
    advance (o, n);
  }
}

static gboolean
on_writable (GObject * stream, gpointer data)
{
  CfOutput *o = data;

  g_source_unref (o->write_source);
  o->write_source = NULL;
  output_pump (o);
  return G_SOURCE_REMOVE;
}

/* loop thread: the next data to write (control messages first, then the
 * next tag once publishing), NULL when there is none */
static GBytes *
take_next (CfOutput * o)
{
  GByteArray *ctl = cf_rtmp_client_session_get_output (o->session);
  CfOutputTag *t;
  GBytes *ret;
  guint32 ts = 0;

  if (ctl->len > 0) {
    ret = g_bytes_new (ctl->data, ctl->len);
    g_byte_array_set_size (ctl, 0);
    return ret;
  }
  if (!o->publishing || !(t = next_tag (o, &ts)))
    return NULL;
  ret = tag_get_chunks (t, cf_rtmp_client_session_get_chunk_size (o->session),
      cf_rtmp_client_session_get_stream_id (o->session), ts);
  if (!t->header) {
    g_mutex_lock (&o->lock);
    o->frames_sent++;
    g_mutex_unlock (&o->lock);
  }
  cf_output_tag_unref (t);
  return ret;
}

/* loop thread: writes as much as the socket takes, everything that is
 * ready in one system call */
static void
output_pump (CfOutput * o)
{
  GPollableOutputStream *os;

  if (o->srt) {
    output_pump_srt (o);
    return;
  }
  if (!o->stream || o->write_source)
    return;
  os = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (o->stream));

  while (TRUE) {
    g_autoptr (GError) err = NULL;
    GOutputVector vec[MAX_IOV];
    GPollableReturn ret;
    gsize queued = 0, written = 0;
    guint i, n_vec = 0;
    gboolean was_idle = !o->pending;

    if (o->pending)
      queued = g_bytes_get_size (o->pending) - o->pending_off;
    for (i = 0; i < o->n_more; i++)
      queued += g_bytes_get_size (o->more[i]);
    while (o->n_more < G_N_ELEMENTS (o->more) && queued < MAX_BATCH_BYTES) {
      GBytes *b = take_next (o);

      if (!b)
        break;
      queued += g_bytes_get_size (b);
      add_pending (o, b);
    }
    if (!o->pending)
      return;
    if (was_idle)
      o->last_progress = g_get_monotonic_time ();

    vec[n_vec].buffer = (const guint8 *) g_bytes_get_data (o->pending, NULL) +
        o->pending_off;
    vec[n_vec++].size = g_bytes_get_size (o->pending) - o->pending_off;
    for (i = 0; i < o->n_more; i++) {
      vec[n_vec].buffer = g_bytes_get_data (o->more[i], NULL);
      vec[n_vec++].size = g_bytes_get_size (o->more[i]);
    }

    ret = g_pollable_output_stream_writev_nonblocking (os, vec, n_vec,
        &written, NULL, &err);
    if (ret == G_POLLABLE_RETURN_WOULD_BLOCK) {
      o->write_source = g_pollable_output_stream_create_source (os, NULL);
      g_source_set_callback (o->write_source, G_SOURCE_FUNC (on_writable),
          o, NULL);
      /* not blocked while dispatched: GLib 2.74 would take the socket
       * out of the poll set and put it back, waking the loop twice */
      g_source_set_can_recurse (o->write_source, TRUE);
      g_source_attach (o->write_source, loop.context);
      return;
    }
    if (ret != G_POLLABLE_RETURN_OK) {
      output_fail (o, err ? err->message : "writing failed");
      return;
    }
    advance (o, written);
  }
}

/* Reads what the destination sent; FALSE when that failed the output */
static gboolean
output_read (CfOutput * o)
{
  GPollableInputStream *is =
      G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (o->stream));
  guint8 buf[READ_SIZE];
  guint i;

  for (i = 0; i < 8; i++) {
    g_autoptr (GError) err = NULL;
    gssize n = g_pollable_input_stream_read_nonblocking (is, buf,
        sizeof (buf), NULL, &err);

    if (n < 0) {
      if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      output_fail (o, err->message);
      return FALSE;
    }
    if (n == 0) {
      output_fail (o, "the destination closed the connection");
      return FALSE;
    }
    if (!cf_rtmp_client_session_feed (o->session, buf, n, &err)) {
      output_fail (o, err->message);
      return FALSE;
    }
    if (!o->publishing && cf_rtmp_client_session_get_state (o->session) ==
        CF_RTMP_CLIENT_STATE_PUBLISHING) {
      o->publishing = TRUE;
      o->attempts = 0;
      g_mutex_lock (&o->lock);
      o->need_keyframe = TRUE;
      trim_to_last_keyframe_locked (o);
      g_mutex_unlock (&o->lock);
      set_state (o, CF_OUTPUT_STATE_CONNECTED, NULL);
    }
  }
  return TRUE;
}

static gboolean
on_readable (GObject * stream, gpointer data)
{
  CfOutput *o = data;

  if (!output_read (o))
    return G_SOURCE_REMOVE;
  if (o->publishing) {
    /* publishing, a destination only sends acknowledgements and pings:
     * the output's timer reads them, and the loop polls one socket less
     * for every output */
    g_source_unref (o->read_source);
    o->read_source = NULL;
    output_pump (o);
    return G_SOURCE_REMOVE;
  }
  output_pump (o);
  return G_SOURCE_CONTINUE;
}

static gboolean
accept_any_certificate (GTlsConnection * conn, GTlsCertificate * cert,
    GTlsCertificateFlags errors, gpointer data)
{
  return TRUE;
}

static void
on_client_event (GSocketClient * client, GSocketClientEvent event,
    GSocketConnectable * connectable, GIOStream * connection, gpointer data)
{
  CfOutput *o = data;

  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && !o->config.tls_validate)
    g_signal_connect (connection, "accept-certificate",
        G_CALLBACK (accept_any_certificate), NULL);
}

static void
on_connected (GObject * source, GAsyncResult * res, gpointer data)
{
  CfOutput *o = data;
  g_autoptr (GError) err = NULL;
  GSocketConnection *conn;
  GPollableInputStream *is;

  conn = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
      res, &err);
  if (!conn) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      output_fail (o, err->message);
    output_unref (o);
    return;
  }
  if (!o->cancellable || g_cancellable_is_cancelled (o->cancellable)) {
    g_object_unref (conn);
    output_unref (o);
    return;
  }

  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP,
      TCP_NODELAY, 1, NULL);
  /* the connect timeout must not end an idle, healthy connection (the
   * encoder may be away): stalls are found by the output's own timer */
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 0);
  o->stream = G_IO_STREAM (conn);
  o->session = cf_rtmp_client_session_new (o->url.tc_url, o->url.app,
      o->url.stream_key, NULL);
  cf_rtmp_client_session_start (o->session);

  is = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (o->stream));
  o->read_source = g_pollable_input_stream_create_source (is, NULL);
  g_source_set_callback (o->read_source, G_SOURCE_FUNC (on_readable), o,
      NULL);
  g_source_attach (o->read_source, loop.context);
  output_pump (o);
  output_unref (o);
}

/* loop thread */
static void
output_connect (CfOutput * o)
{
  gboolean enabled;

  g_mutex_lock (&o->lock);
  enabled = o->enabled && !o->destroyed && !o->suspended;
  g_mutex_unlock (&o->lock);
  if (!enabled || o->client || o->srt_sock != SRT_INVALID_SOCK)
    return;

  set_state (o, o->attempts ? CF_OUTPUT_STATE_RECONNECTING :
      CF_OUTPUT_STATE_CONNECTING, NULL);
  o->phase_start = g_get_monotonic_time ();

  if (o->srt) {
    o->cancellable = g_cancellable_new ();
    output_connect_srt (o);
    return;
  }

  o->client = g_socket_client_new ();
  g_socket_client_set_timeout (o->client, 10);
  if (g_str_equal (o->url.scheme, "rtmps")) {
    g_socket_client_set_tls (o->client, TRUE);
    g_signal_connect (o->client, "event", G_CALLBACK (on_client_event), o);
  }
  o->cancellable = g_cancellable_new ();
  /* whole seconds: GLib fires the timers of every output together */
  o->timer = g_timeout_source_new_seconds (1);
  g_source_set_callback (o->timer, on_timer, o, NULL);
  g_source_attach (o->timer, loop.context);
  g_socket_client_connect_to_host_async (o->client, o->url.host, o->url.port,
      o->cancellable, on_connected, output_ref (o));
}

/* loop thread: every output that got data since the last wake-up */
static gboolean
on_kick (gpointer data)
{
  GQueue dirty;
  CfOutput *o;

  g_mutex_lock (&loop.kick_lock);
  dirty = loop.dirty;
  g_queue_init (&loop.dirty);
  if (g_queue_is_empty (&dirty) || loop.period == 0) {
    loop.deadline = -1;
  } else {
    /* data is flowing: the loop sees again one period on by itself, for
     * the tags that wait for a video frame that does not come; the
     * streaming threads need not wake it for them */
    loop.deadline = g_get_monotonic_time () + loop.period;
  }
  g_source_set_ready_time (loop.kick, loop.deadline);
  g_mutex_unlock (&loop.kick_lock);

  while ((o = g_queue_pop_head (&dirty))) {
    gboolean live;

    g_mutex_lock (&o->lock);
    o->kick_pending = FALSE;
    live = !o->destroyed && !o->suspended;
    g_mutex_unlock (&o->lock);
    if (live)
      output_pump (o);
    output_unref (o);
  }
  return G_SOURCE_CONTINUE;
}

CfOutput *
cf_output_new (const gchar * uid, CfOutputUrl * url,
    const CfOutputConfig * config, gboolean enabled, CfOutputStateFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  CfOutput *o = g_new0 (CfOutput, 1);

  loop_init ();
  o->ref = 1;
  o->uid = g_strdup (uid);
  o->url = *url;
  memset (url, 0, sizeof (*url));
  o->safe_url = cf_output_url_to_safe_string (&o->url);
  o->srt = g_str_equal (o->url.scheme, "srt");
  o->srt_sock = SRT_INVALID_SOCK;
  o->config = *config;
  o->func = func;
  o->user_data = user_data;
  o->notify = notify;
  o->enabled = enabled;
  o->need_keyframe = TRUE;
  o->state = enabled ? CF_OUTPUT_STATE_CONNECTING : CF_OUTPUT_STATE_DISABLED;
  g_mutex_init (&o->lock);
  g_rec_mutex_init (&o->cb_lock);
  g_queue_init (&o->inject);

  return o;
}

const gchar *
cf_output_get_uid (CfOutput * o)
{
  return o->uid;
}

gboolean
cf_output_is_srt (CfOutput * o)
{
  return o->srt;
}

static gboolean
start_cb (gpointer data)
{
  CfOutput *o = data;
  gboolean destroyed;

  g_mutex_lock (&o->lock);
  destroyed = o->destroyed;
  g_mutex_unlock (&o->lock);
  if (destroyed)
    return G_SOURCE_REMOVE;
  o->attempts = 0;
  output_connect (o);
  return G_SOURCE_REMOVE;
}

static gboolean
suspend_cb (gpointer data)
{
  CfOutput *o = data;

  output_close (o);
  remove_source (&o->backoff);
  return G_SOURCE_REMOVE;
}

static void
defer (GSourceFunc func, CfOutput * o)
{
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, func, output_ref (o),
      (GDestroyNotify) output_unref);
  g_source_attach (idle, loop.context);
  g_source_unref (idle);
}

void
cf_output_start (CfOutput * o)
{
  g_mutex_lock (&o->lock);
  o->suspended = FALSE;
  g_mutex_unlock (&o->lock);
  defer (start_cb, o);
}

void
cf_output_suspend (CfOutput * o)
{
  g_mutex_lock (&o->lock);
  o->suspended = TRUE;
  ring_clear (&o->queue);
  o->queued_bytes = 0;
  o->need_keyframe = TRUE;
  g_mutex_unlock (&o->lock);
  defer (suspend_cb, o);
}

static gboolean
destroy_cb (gpointer data)
{
  CfOutput *o = data;

  /* a clean end for the destination, as far as the socket takes it now */
  if (o->publishing && o->session && !o->pending) {
    GPollableOutputStream *os =
        G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (o->stream));
    GByteArray *ctl;

    cf_rtmp_client_session_unpublish (o->session);
    ctl = cf_rtmp_client_session_get_output (o->session);
    g_pollable_output_stream_write_nonblocking (os, ctl->data, ctl->len, NULL,
        NULL);
  }
  output_close (o);
  remove_source (&o->backoff);
  return G_SOURCE_REMOVE;
}

void
cf_output_destroy (CfOutput * o)
{
  g_rec_mutex_lock (&o->cb_lock);
  g_mutex_lock (&o->lock);
  o->destroyed = TRUE;
  g_mutex_unlock (&o->lock);
  g_rec_mutex_unlock (&o->cb_lock);
  defer (destroy_cb, o);
  output_unref (o);
}

void
cf_output_push (CfOutput * o, CfOutputTag * tag)
{
  gboolean kick = FALSE;
  guint64 dropped = 0;
  gint64 span;

  g_mutex_lock (&o->lock);
  if (!o->enabled || o->destroyed || o->suspended ||
      o->state == CF_OUTPUT_STATE_FAILED) {
    g_mutex_unlock (&o->lock);
    return;
  }
  ring_push (&o->queue, cf_output_tag_ref (tag));
  o->queued_bytes += tag->body_size;

  /* tags of different types may come a little out of order (an AVC end of
   * sequence after the last audio): a tag older than the head is no span */
  span = (gint32) (tag->ts - RING_AT (&o->queue, 0)->ts);

  /* over the bounds: only this output loses frames, up to a keyframe */
  if (o->queued_bytes > o->config.max_queue_bytes ||
      (span > 0 && (guint64) span * GST_MSECOND > o->config.max_queue_time)) {
    CfOutputTag *t;

    while ((t = ring_pop (&o->queue))) {
      if (!t->header)
        dropped++;
      cf_output_tag_unref (t);
    }
    o->queued_bytes = 0;
    o->frames_dropped += dropped;
    o->restart_gop = TRUE;
  }
  if (!o->kick_pending) {
    o->kick_pending = TRUE;
    kick = TRUE;
  }
  g_mutex_unlock (&o->lock);

  if (dropped)
    GST_INFO ("output %s is behind: dropped %" G_GUINT64_FORMAT " frames, "
        "waiting for a keyframe", o->uid, dropped);
  /* the loop learns of it in cf_output_push_done() */
  if (kick) {
    g_mutex_lock (&loop.kick_lock);
    g_queue_push_tail (&loop.dirty, output_ref (o));
    g_mutex_unlock (&loop.kick_lock);
  }
}

/* A video frame is written at once, with the audio and metadata that came
 * since the frame before: one write per frame and output, and one wake-up
 * of the loop per frame, after the tag went to every output (a loop woken
 * earlier would contend for the locks of the outputs not yet done). Other
 * tags wait for the next frame, at most @flush_interval: the loop, once
 * woken, looks again after that long by itself. */
void
cf_output_push_done (CfOutputTag * tag, GstClockTime flush_interval)
{
  gint64 delay = flush_interval / GST_USECOND;
  gboolean now = delay == 0 || tag->type == GST_CFLIVE_FLV_TAG_VIDEO;

  g_mutex_lock (&loop.kick_lock);
  if (delay)
    loop.period = delay;
  if (!g_queue_is_empty (&loop.dirty) &&
      (now ? loop.deadline != 0 : loop.deadline < 0)) {
    loop.deadline = now ? 0 : g_get_monotonic_time () + delay;
    g_source_set_ready_time (loop.kick, loop.deadline);
  }
  g_mutex_unlock (&loop.kick_lock);
}

static gboolean
enable_cb (gpointer data)
{
  CfOutput *o = data;
  gboolean enabled;

  g_mutex_lock (&o->lock);
  enabled = o->enabled;
  g_mutex_unlock (&o->lock);

  if (enabled) {
    /* disabled and enabled again before we got here: a retry may still be
     * scheduled, this attempt replaces it */
    remove_source (&o->backoff);
    o->attempts = 0;
    output_connect (o);
  } else {
    output_close (o);
    remove_source (&o->backoff);
    set_state (o, CF_OUTPUT_STATE_DISABLED, NULL);
  }
  return G_SOURCE_REMOVE;
}

void
cf_output_set_enabled (CfOutput * o, gboolean enabled)
{
  g_mutex_lock (&o->lock);
  if (o->enabled == enabled) {
    g_mutex_unlock (&o->lock);
    return;
  }
  o->enabled = enabled;
  ring_clear (&o->queue);
  o->queued_bytes = 0;
  o->need_keyframe = TRUE;
  g_mutex_unlock (&o->lock);
  defer (enable_cb, o);
}

gboolean
cf_output_get_enabled (CfOutput * o)
{
  gboolean ret;

  g_mutex_lock (&o->lock);
  ret = o->enabled;
  g_mutex_unlock (&o->lock);
  return ret;
}

void
cf_output_restart_gop (CfOutput * o)
{
  g_mutex_lock (&o->lock);
  o->restart_gop = TRUE;
  g_mutex_unlock (&o->lock);
}

gboolean
cf_output_is_drained (CfOutput * o)
{
  gboolean ret;

  g_mutex_lock (&o->lock);
  if (o->state != CF_OUTPUT_STATE_CONNECTED) {
    ret = TRUE;
  } else {
    ret = o->queue.len == 0 && o->in_flight == 0;
    /* SRT: acknowledged by the destination, and played out there: it
     * delivers after its latency, and a closed caller loses the rest */
    if (ret && o->srt)
      ret = o->srt_unacked == 0 && g_get_monotonic_time () -
          o->srt_last_send > (gint64) (o->srt_latency + 100) * 1000;
  }
  g_mutex_unlock (&o->lock);
  return ret;
}

GstStructure *
cf_output_get_stats (CfOutput * o)
{
  GstStructure *s;

  g_mutex_lock (&o->lock);
  s = gst_structure_new ("output",
      "uid", G_TYPE_STRING, o->uid,
      "url", G_TYPE_STRING, o->safe_url,
      "state", G_TYPE_STRING, cf_output_state_to_string (o->state),
      "enabled", G_TYPE_BOOLEAN, o->enabled,
      "last-error", G_TYPE_STRING, o->last_error ? o->last_error : "",
      "bytes-sent", G_TYPE_UINT64, o->bytes_sent,
      "frames-sent", G_TYPE_UINT64, o->frames_sent,
      "frames-dropped", G_TYPE_UINT64, o->frames_dropped,
      "reconnects", G_TYPE_UINT, o->reconnects,
      "queued-bytes", G_TYPE_UINT64, (guint64) o->queued_bytes, NULL);
  g_mutex_unlock (&o->lock);
  return s;
}
