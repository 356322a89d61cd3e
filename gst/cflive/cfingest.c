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

/* Lock order: hub.lock, then CfIngestInput.lock. Connections and the
 * sources of the listening sockets belong to the I/O thread and are only
 * touched there; listeners and the inputs registered on them are guarded
 * by hub.lock; an input's queue and flags by its own lock. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gst/cflive/cflive.h>

#include "cfgio.h"
#include "cfingest.h"
#include "cfingest-private.h"
#include "rtmp/rtmpsession.h"

GST_DEBUG_CATEGORY (cf_ingest_debug);
#define GST_CAT_DEFAULT cf_ingest_debug

/* A connection must complete the handshake, connect and publish in this */
#define SETUP_TIMEOUT_US (10 * G_USEC_PER_SEC)
/* A listener whose last live input left stays open this long for an
 * element of the same process started again on its port (a pipeline
 * restarted, the keys of an input rotated): closing and binding the port
 * again would leave a moment in which another socket can take it */
#define LINGER_MS 2000
/* Connections the kernel queues on a listener before they are accepted */
#define LISTEN_BACKLOG 1024
/* Connections accepted on one listener at once */
#define MAX_CONNECTIONS 4096
/* An input's queue pauses reading from its encoder above this */
/* Replies a peer leaves unread before we give up on it */
#define MAX_OUTPUT_BYTES (1024 * 1024)
#define READ_SIZE (64 * 1024)
/* Once the stream has video, the consumer is woken for video frames, and
 * the audio queued before a frame goes with it; this is the longest audio
 * waits when no frame comes */
#define AUDIO_RIDE_US (50 * G_TIME_SPAN_MILLISECOND)

typedef struct _Listener Listener;
typedef struct _Conn Conn;

struct _Listener
{
  gchar *key;                   /* "host:port" */
  gboolean tls;
  GTlsCertificate *cert;
  GSocket *socket;
  GSource *accept_source;
  guint port;
  GList *inputs;                /* CfIngestInput, hub.lock */
  gboolean ephemeral;           /* bound to port 0: never looked up */
  gint64 empty_since;           /* hub.lock: monotonic µs, 0 with inputs */
  gboolean lingering;           /* hub.lock: its linger timer runs */
  GList *conns;                 /* I/O thread */
  guint n_conns;                /* I/O thread */
  guint64 refused;              /* hub.lock */
};

struct _Conn
{
  Publisher pub;
  gint refcount;                /* atomic: the listener's list, async ops */
  Listener *listener;
  GSocketConnection *sockconn;
  GIOStream *stream;
  GCancellable *cancellable;
  GSource *read_source;
  GSource *write_source;
  CfRtmpServerSession *session;
  gint64 created;
  gint64 last_activity;
  gboolean ready;               /* TLS handshake done (or plain) */
  gboolean paused;
  gboolean close_when_flushed;
  gboolean closed;
};

CfIngestHub hub;

static void conn_close (Conn * conn, CfIngestEndReason reason,
    const gchar * detail);
static void conn_flush (Conn * conn);
static void conn_start_reading (Conn * conn);

const gchar *
cf_ingest_end_reason_to_string (CfIngestEndReason reason)
{
  switch (reason) {
    case CF_INGEST_END_UNPUBLISHED:
      return "unpublished";
    case CF_INGEST_END_CLOSED:
      return "connection-closed";
    case CF_INGEST_END_TIMEOUT:
      return "timeout";
    case CF_INGEST_END_ERROR:
      return "protocol-error";
    case CF_INGEST_END_REPLACED:
      return "replaced";
    case CF_INGEST_END_DISABLED:
      return "disabled";
    case CF_INGEST_END_SHUTDOWN:
      return "shutdown";
  }
  return "unknown";
}

void
cf_ingest_item_free (CfIngestItem * item)
{
  if (!item)
    return;
  g_clear_pointer (&item->body, g_bytes_unref);
  g_free (item->protocol);
  g_free (item->remote);
  g_free (item->encoder);
  g_free (item->detail);
  g_free (item);
}

/* --- URL --- */

gboolean
cf_ingest_url_parse (const gchar * url, CfIngestUrl * out, GError ** error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) err = NULL;
  const gchar *scheme, *path;

  memset (out, 0, sizeof (*out));
  if (!url || !*url) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "no URL given");
    return FALSE;
  }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &err);
  if (!uri) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not a valid URL: %s", url, err->message);
    return FALSE;
  }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "rtmp") == 0) {
    out->tls = FALSE;
  } else if (g_ascii_strcasecmp (scheme, "rtmps") == 0) {
    out->tls = TRUE;
  } else {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s': scheme must be rtmp:// or rtmps://", url);
    return FALSE;
  }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' has no host to listen on", url);
    return FALSE;
  }
  out->host = g_strdup (g_uri_get_host (uri));
  /* g_uri_get_port() is -1 without a port; 0 asks for any free port */
  out->port = g_uri_get_port (uri) >= 0 ? (guint) g_uri_get_port (uri) :
      (out->tls ? 443 : 1935);
  path = g_uri_get_path (uri);
  while (*path == '/')
    path++;
  out->app = g_strdup (path);
  while (*out->app && out->app[strlen (out->app) - 1] == '/')
    out->app[strlen (out->app) - 1] = '\0';
  if (!*out->app) {
    cf_ingest_url_clear (out);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' names no application (as in rtmp://0.0.0.0:1935/live)", url);
    return FALSE;
  }
  return TRUE;
}

void
cf_ingest_url_clear (CfIngestUrl * url)
{
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->app, g_free);
}

/* --- the I/O thread --- */

static gboolean
check_timeouts (gpointer data)
{
  GHashTableIter it;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  GList *expired = NULL, *l;

  g_mutex_lock (&hub.lock);
  g_hash_table_iter_init (&it, hub.listeners);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Listener *listener = value;

    for (l = listener->conns; l; l = l->next) {
      Conn *conn = l->data;

      if (conn->closed || conn->paused)
        continue;
      if (conn->pub.input) {
        gint64 limit = (gint64) conn->pub.input->idle_timeout * G_USEC_PER_SEC;

        if (limit > 0 && now - conn->last_activity > limit)
          expired = g_list_prepend (expired, conn);
      } else if (now - conn->created > SETUP_TIMEOUT_US) {
        expired = g_list_prepend (expired, conn);
      }
    }
  }
  g_mutex_unlock (&hub.lock);

  for (l = expired; l; l = l->next) {
    Conn *conn = l->data;

    if (conn->pub.input) {
      conn_close (conn, CF_INGEST_END_TIMEOUT,
          "nothing received from the encoder for too long");
    } else {
      GST_WARNING ("closing connection from %s: no %s within %d s",
          conn->pub.remote, conn->ready ? "RTMP handshake and publish" :
          "TLS handshake", (gint) (SETUP_TIMEOUT_US / G_USEC_PER_SEC));
      conn_close (conn, CF_INGEST_END_TIMEOUT, NULL);
    }
  }
  g_list_free (expired);
  return G_SOURCE_CONTINUE;
}

static gpointer
hub_thread (gpointer data)
{
  GMainLoop *loop;
  GSource *timer;

  g_main_context_push_thread_default (hub.context);
  loop = g_main_loop_new (hub.context, FALSE);
  timer = g_timeout_source_new (250);
  g_source_set_callback (timer, check_timeouts, NULL, NULL);
  g_source_attach (timer, hub.context);
  g_source_unref (timer);
  g_main_loop_run (loop);
  return NULL;
}

static void
hub_init (void)
{
  static gsize init = 0;

  if (g_once_init_enter (&init)) {
    cf_gio_ensure_types ();
    GST_DEBUG_CATEGORY_INIT (cf_ingest_debug, "cfingest", 0,
        "cflive ingest hub (listening sockets and RTMP connections)");
    g_mutex_init (&hub.lock);
    hub.listeners = g_hash_table_new (g_str_hash, g_str_equal);
    hub.srt_listeners = g_hash_table_new (g_str_hash, g_str_equal);
    hub.context = g_main_context_new ();
    hub.thread = g_thread_new ("cflive-ingest", hub_thread, NULL);
    g_once_init_leave (&init, 1);
  }
}

/* Runs @func on the I/O thread later, never right here: callers may hold
 * hub.lock, which the function may take. */
static void
hub_defer (GSourceFunc func, gpointer data, GDestroyNotify notify)
{
  GSource *idle = g_idle_source_new ();

  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, func, data, notify);
  g_source_attach (idle, hub.context);
  g_source_unref (idle);
}

/* --- input queue --- */

static void
input_push (CfIngestInput * input, CfIngestItem * item)
{
  gboolean wake;

  g_mutex_lock (&input->lock);
  if (item->body)
    input->queued_bytes += g_bytes_get_size (item->body);
  g_queue_push_tail (&input->queue, item);
  input->video_seen = FALSE;
  wake = input->waiting;
  g_mutex_unlock (&input->lock);
  /* signalled after the unlock: the woken thread does not block on it */
  if (wake)
    g_cond_signal (&input->cond);
}

static void
push_start (CfIngestInput * input, Publisher * pub)
{
  CfIngestItem *item = g_new0 (CfIngestItem, 1);

  item->type = CF_INGEST_ITEM_START;
  item->session = pub->session_no;
  item->arrival = g_get_monotonic_time ();
  item->protocol = g_strdup (pub->protocol);
  item->remote = g_strdup (pub->remote);
  item->encoder = g_strdup (pub->encoder);
  input_push (input, item);
}

static void
push_end (CfIngestInput * input, guint session, CfIngestEndReason reason,
    const gchar * detail)
{
  CfIngestItem *item = g_new0 (CfIngestItem, 1);

  item->type = CF_INGEST_ITEM_END;
  item->session = session;
  item->arrival = g_get_monotonic_time ();
  item->reason = reason;
  item->detail = g_strdup (detail);
  input_push (input, item);
}

/* hub.lock held: the publisher stops feeding its input */
void
_cf_ingest_publisher_detach_locked (Publisher * pub,
    CfIngestEndReason reason, const gchar * detail)
{
  CfIngestInput *input = pub->input;

  if (!input)
    return;
  pub->input = NULL;
  if (input->active == pub) {
    input->active = NULL;
    push_end (input, pub->session_no, reason, detail);
  }
  cf_ingest_input_unref (input);
}

/* hub.lock held: @pub becomes the publisher of @input, replacing (and
 * closing) the one before */
void
_cf_ingest_publisher_attach_locked (Publisher * pub, CfIngestInput * input)
{
  Publisher *old = input->active;

  if (old) {
    GST_INFO_OBJECT (input->owner, "a new publish from %s replaces the "
        "session from %s", pub->remote, old->remote);
    _cf_ingest_publisher_detach_locked (old, CF_INGEST_END_REPLACED,
        "a new publish with the same stream key replaced this session");
    old->kick (old, CF_INGEST_END_REPLACED);
  }
  pub->input = cf_ingest_input_ref (input);
  pub->session_no = ++input->sessions;
  input->active = pub;
  push_start (input, pub);
}

/* Queues a tag of the active publisher. Returns TRUE when the queue is over
 * its high mark (the caller should stop reading, or drop). */
gboolean
_cf_ingest_input_push_tag (CfIngestInput * input, guint session,
    guint8 type, guint32 timestamp, GBytes * body)
{
  CfIngestItem *item = g_new0 (CfIngestItem, 1);
  gboolean full, wake;

  item->type = CF_INGEST_ITEM_TAG;
  item->session = session;
  item->arrival = g_get_monotonic_time ();
  item->tag_type = type;
  item->timestamp = timestamp;
  item->body = g_bytes_ref (body);

  g_mutex_lock (&input->lock);
  input->queued_bytes += g_bytes_get_size (body);
  g_queue_push_tail (&input->queue, item);
  /* a wake-up is a system call: only when someone sleeps, not for audio
   * that can go with the next video frame, and after the unlock, so that
   * the woken thread does not block on the lock */
  if (type == GST_CFLIVE_FLV_TAG_VIDEO)
    input->video_seen = TRUE;
  wake = input->waiting && (type != GST_CFLIVE_FLV_TAG_AUDIO ||
      !input->video_seen);
  full = input->queued_bytes > CF_INGEST_QUEUE_HIGH_BYTES && !input->flushing;
  if (full)
    input->reading_paused = TRUE;
  g_mutex_unlock (&input->lock);
  if (wake)
    g_cond_signal (&input->cond);
  return full;
}

void
_cf_ingest_input_count_bytes (CfIngestInput * input, gsize n)
{
  g_mutex_lock (&input->lock);
  input->bytes += n;
  g_mutex_unlock (&input->lock);
}

/* --- RTMP session callbacks (I/O thread) --- */

static gboolean
on_publish (CfRtmpServerSession * session, const gchar * app,
    const gchar * name, const gchar ** code, gchar ** description,
    gpointer user_data)
{
  Conn *conn = user_data;
  CfIngestInput *found = NULL;
  GList *l;

  g_mutex_lock (&hub.lock);
  /* every registered key is compared, in constant time, so that the time
   * taken says nothing about which key came close */
  for (l = conn->listener->inputs; l; l = l->next) {
    CfIngestInput *input = l->data;
    gboolean match = gst_cflive_secret_equal (input->key, name);

    if (match && g_str_equal (input->app, app))
      found = input;
  }

  if (!found) {
    conn->listener->refused++;
    g_mutex_unlock (&hub.lock);
    GST_WARNING ("refused publish from %s on application '%s': unknown "
        "stream key (%" G_GSIZE_FORMAT " characters)", conn->pub.remote, app,
        strlen (name));
    *code = "NetStream.Publish.BadName";
    *description = g_strdup ("Unknown stream key.");
    return FALSE;
  }
  if (!found->enabled || found->ended) {
    g_autofree gchar *redacted = gst_cflive_secret_redact (found->key);

    conn->listener->refused++;
    g_mutex_unlock (&hub.lock);
    GST_WARNING_OBJECT (found->owner, "refused publish from %s for %s: the "
        "live input is %s", conn->pub.remote, redacted,
        found->ended ? "ended" : "disabled");
    *code = "NetStream.Publish.Denied";
    *description = g_strdup (found->ended ? "The live input has ended." :
        "The live input is disabled.");
    return FALSE;
  }

  g_free (conn->pub.encoder);
  conn->pub.encoder = g_strdup (cf_rtmp_server_session_get_encoder (session));
  _cf_ingest_publisher_attach_locked (&conn->pub, found);
  g_mutex_unlock (&hub.lock);

  GST_INFO_OBJECT (found->owner, "session %u: %s publishing from %s (%s)",
      conn->pub.session_no, conn->pub.protocol, conn->pub.remote,
      GST_STR_NULL (conn->pub.encoder));
  return TRUE;
}

static gboolean
on_media (CfRtmpServerSession * session, guint8 type, guint32 timestamp,
    GBytes * body, gpointer user_data, GError ** error)
{
  Conn *conn = user_data;
  CfIngestInput *input = conn->pub.input;
  gboolean pause;

  if (!input)
    return TRUE;

  pause = _cf_ingest_input_push_tag (input, conn->pub.session_no, type,
      timestamp, body);
  if (pause && !conn->paused) {
    GST_WARNING_OBJECT (input->owner, "downstream is not keeping up: "
        "pausing reads from %s", conn->pub.remote);
    conn->paused = TRUE;
    if (conn->read_source) {
      g_source_destroy (conn->read_source);
      g_source_unref (conn->read_source);
      conn->read_source = NULL;
    }
  }
  return TRUE;
}

static void
on_unpublish (CfRtmpServerSession * session, gpointer user_data)
{
  Conn *conn = user_data;

  g_mutex_lock (&hub.lock);
  if (conn->pub.input)
    GST_INFO_OBJECT (conn->pub.input->owner, "session %u: %s stopped publishing",
        conn->pub.session_no, conn->pub.remote);
  _cf_ingest_publisher_detach_locked (&conn->pub, CF_INGEST_END_UNPUBLISHED,
      "the encoder stopped publishing");
  g_mutex_unlock (&hub.lock);
}

static const CfRtmpServerCallbacks rtmp_callbacks = {
  on_publish, on_media, on_unpublish
};

/* --- connections (I/O thread) --- */

static void
conn_free (Conn * conn)
{
  cf_rtmp_server_session_free (conn->session);
  g_clear_object (&conn->cancellable);
  g_clear_object (&conn->stream);
  g_clear_object (&conn->sockconn);
  g_free (conn->pub.remote);
  g_free (conn->pub.encoder);
  g_free (conn);
}

static Conn *
conn_ref (Conn * conn)
{
  g_atomic_int_inc (&conn->refcount);
  return conn;
}

static void
conn_unref (Conn * conn)
{
  if (g_atomic_int_dec_and_test (&conn->refcount))
    conn_free (conn);
}

static void
conn_close (Conn * conn, CfIngestEndReason reason, const gchar * detail)
{
  Listener *listener = conn->listener;

  if (conn->closed)
    return;
  conn->closed = TRUE;

  g_mutex_lock (&hub.lock);
  _cf_ingest_publisher_detach_locked (&conn->pub, reason, detail);
  listener->conns = g_list_remove (listener->conns, conn);
  listener->n_conns--;
  g_mutex_unlock (&hub.lock);

  g_cancellable_cancel (conn->cancellable);
  if (conn->read_source) {
    g_source_destroy (conn->read_source);
    g_source_unref (conn->read_source);
    conn->read_source = NULL;
  }
  if (conn->write_source) {
    g_source_destroy (conn->write_source);
    g_source_unref (conn->write_source);
    conn->write_source = NULL;
  }
  /* no graceful TLS close: a peer that stopped reading must not hold us */
  g_socket_close (g_socket_connection_get_socket (conn->sockconn), NULL);
  conn_unref (conn);
}

static void
conn_fail (Conn * conn, GError * error)
{
  CfIngestEndReason reason = CF_INGEST_END_ERROR;

  if (error->domain == CF_RTMP_ERROR && error->code == CF_RTMP_ERROR_REFUSED)
    GST_INFO ("connection from %s: %s", conn->pub.remote, error->message);
  else
    GST_WARNING ("closing connection from %s: %s", conn->pub.remote,
        error->message);

  if (error->domain != CF_RTMP_ERROR)
    reason = CF_INGEST_END_CLOSED;

  /* let a refusal reach the peer before closing */
  if (cf_rtmp_server_session_get_output (conn->session)->len > 0 &&
      cf_rtmp_server_session_get_state (conn->session) ==
      CF_RTMP_SERVER_STATE_CLOSING) {
    g_mutex_lock (&hub.lock);
    _cf_ingest_publisher_detach_locked (&conn->pub, reason, error->message);
    g_mutex_unlock (&hub.lock);
    conn->close_when_flushed = TRUE;
    if (conn->read_source) {
      g_source_destroy (conn->read_source);
      g_source_unref (conn->read_source);
      conn->read_source = NULL;
    }
    conn_flush (conn);
    return;
  }
  conn_close (conn, reason, error->message);
}

static gboolean
on_writable (GObject * stream, gpointer user_data)
{
  Conn *conn = user_data;

  g_source_unref (conn->write_source);
  conn->write_source = NULL;
  conn_flush (conn);
  return G_SOURCE_REMOVE;
}

static void
conn_flush (Conn * conn)
{
  GByteArray *out = cf_rtmp_server_session_get_output (conn->session);
  GPollableOutputStream *os =
      G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (conn->stream));

  while (out->len > 0) {
    g_autoptr (GError) err = NULL;
    gssize n = g_pollable_output_stream_write_nonblocking (os, out->data,
        out->len, NULL, &err);

    if (n < 0) {
      if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        if (out->len > MAX_OUTPUT_BYTES) {
          GST_WARNING ("closing connection from %s: it does not read what we "
              "send", conn->pub.remote);
          conn_close (conn, CF_INGEST_END_CLOSED,
              "the encoder stopped reading");
          return;
        }
        if (!conn->write_source) {
          conn->write_source = g_pollable_output_stream_create_source (os,
              conn->cancellable);
          g_source_set_callback (conn->write_source,
              G_SOURCE_FUNC (on_writable), conn, NULL);
          g_source_attach (conn->write_source, hub.context);
        }
        return;
      }
      GST_INFO ("write to %s failed: %s", conn->pub.remote, err->message);
      conn_close (conn, CF_INGEST_END_CLOSED, err->message);
      return;
    }
    g_byte_array_remove_range (out, 0, n);
  }

  if (conn->close_when_flushed)
    conn_close (conn, CF_INGEST_END_CLOSED, NULL);
}

static gboolean
on_readable (GObject * stream, gpointer user_data)
{
  static guint8 buf[READ_SIZE];
  Conn *conn = user_data;
  GPollableInputStream *is = G_POLLABLE_INPUT_STREAM (stream);
  gboolean ret = G_SOURCE_CONTINUE;
  guint i;

  conn_ref (conn);
  for (i = 0; i < 16 && !conn->paused && !conn->closed; i++) {
    g_autoptr (GError) err = NULL;
    gssize n = g_pollable_input_stream_read_nonblocking (is, buf, READ_SIZE,
        NULL, &err);

    if (n < 0) {
      if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      GST_INFO ("connection from %s broke: %s", conn->pub.remote, err->message);
      conn_close (conn, CF_INGEST_END_CLOSED, err->message);
      break;
    }
    if (n == 0) {
      GST_INFO ("connection from %s closed by the peer", conn->pub.remote);
      conn_close (conn, CF_INGEST_END_CLOSED,
          "the encoder closed the connection");
      break;
    }

    conn->last_activity = g_get_monotonic_time ();
    if (conn->pub.input) {
      _cf_ingest_input_count_bytes (conn->pub.input, n);
    }
    if (!cf_rtmp_server_session_feed (conn->session, buf, n, &err)) {
      conn_fail (conn, err);
      break;
    }
    conn_flush (conn);
    /* a short read emptied the socket: the next poll says when there is
     * more (a TLS stream may hold decrypted data back: read on) */
    if (n < READ_SIZE && G_IS_SOCKET_CONNECTION (conn->stream))
      break;
  }

  /* closed, refused, or paused by on_media: our source is gone */
  if (conn->closed || conn->paused || conn->close_when_flushed)
    ret = G_SOURCE_REMOVE;
  conn_unref (conn);
  return ret;
}

static gboolean
on_socket_readable (GSocket * socket, GIOCondition cond, gpointer user_data)
{
  Conn *conn = user_data;

  return on_readable (G_OBJECT (g_io_stream_get_input_stream (conn->stream)),
      conn);
}

static void
conn_start_reading (Conn * conn)
{
  GPollableInputStream *is =
      G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (conn->stream));

  if (conn->read_source || conn->closed)
    return;
  if (G_IS_SOCKET_CONNECTION (conn->stream)) {
    /* plain TCP: the socket's own source. A pollable stream's source
     * dispatches a child source for the socket, and GLib 2.74 takes a
     * dispatched source's descriptor out of the poll set and puts it back,
     * waking its loop twice per read */
    conn->read_source =
        g_socket_create_source (g_socket_connection_get_socket
        (G_SOCKET_CONNECTION (conn->stream)), G_IO_IN | G_IO_HUP | G_IO_ERR,
        NULL);
    g_source_set_callback (conn->read_source,
        G_SOURCE_FUNC (on_socket_readable), conn, NULL);
  } else {
    conn->read_source = g_pollable_input_stream_create_source (is,
        conn->cancellable);
    g_source_set_callback (conn->read_source, G_SOURCE_FUNC (on_readable),
        conn, NULL);
  }
  /* the callbacks never recurse: no blocking (see above) */
  g_source_set_can_recurse (conn->read_source, TRUE);
  g_source_attach (conn->read_source, hub.context);
}

static void
on_tls_handshake (GObject * source, GAsyncResult * res, gpointer user_data)
{
  Conn *conn = user_data;
  g_autoptr (GError) err = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), res,
          &err)) {
    if (!conn->closed) {
      GST_WARNING ("closing connection from %s: TLS handshake failed: %s",
          conn->pub.remote, err->message);
      conn_close (conn, CF_INGEST_END_CLOSED, NULL);
    }
  } else if (!conn->closed) {
    conn->ready = TRUE;
    conn_start_reading (conn);
  }
  conn_unref (conn);
}

typedef struct
{
  Conn *conn;
  CfIngestEndReason reason;
} KickData;

static gboolean
kick_cb (gpointer data)
{
  KickData *kd = data;
  Conn *conn = kd->conn;

  if (conn->closed)
    return G_SOURCE_REMOVE;
  if (kd->reason == CF_INGEST_END_DISABLED) {
    cf_rtmp_server_session_refuse (conn->session,
        "NetStream.Publish.Denied", "The live input was disabled.");
    conn_flush (conn);
  }
  if (!conn->closed)
    conn_close (conn, kd->reason, NULL);
  return G_SOURCE_REMOVE;
}

static void
kick_free (gpointer data)
{
  KickData *kd = data;

  conn_unref (kd->conn);
  g_free (kd);
}

/* Any thread, hub.lock held: close the connection on the I/O thread */
static void
conn_kick (Publisher * pub, CfIngestEndReason reason)
{
  KickData *kd = g_new0 (KickData, 1);

  kd->conn = conn_ref ((Conn *) pub);
  kd->reason = reason;
  hub_defer (kick_cb, kd, kick_free);
}

static gboolean
resume_cb (gpointer data)
{
  Conn *conn = data;

  if (conn->paused && !conn->closed) {
    GST_INFO ("resuming reads from %s", conn->pub.remote);
    conn->paused = FALSE;
    conn->last_activity = g_get_monotonic_time ();
    conn_start_reading (conn);
  }
  return G_SOURCE_REMOVE;
}

/* Any thread, hub.lock held: the input's queue drained, read again */
static void
conn_resume (Publisher * pub)
{
  hub_defer (resume_cb, conn_ref ((Conn *) pub),
      (GDestroyNotify) conn_unref);
}

static gboolean
on_incoming (GSocket * socket, GIOCondition cond, gpointer user_data)
{
  Listener *listener = user_data;
  g_autoptr (GError) err = NULL;
  GSocket *client;
  Conn *conn;
  GSocketAddress *addr;

  client = g_socket_accept (socket, NULL, &err);
  if (!client) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      GST_WARNING ("accept on %s failed: %s", listener->key, err->message);
    return G_SOURCE_CONTINUE;
  }
  g_socket_set_blocking (client, FALSE);
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  conn = g_new0 (Conn, 1);
  conn->pub.kick = conn_kick;
  conn->pub.resume = conn_resume;
  conn->refcount = 1;
  conn->listener = listener;
  conn->sockconn = g_socket_connection_factory_create_connection (client);
  g_object_unref (client);
  conn->cancellable = g_cancellable_new ();
  conn->created = conn->last_activity = g_get_monotonic_time ();
  conn->session = cf_rtmp_server_session_new (&rtmp_callbacks, conn);
  conn->pub.protocol = listener->tls ? "rtmps" : "rtmp";

  addr = g_socket_connection_get_remote_address (conn->sockconn, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (addr)) {
    g_autofree gchar *ip =
        g_inet_address_to_string (g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (addr)));
    conn->pub.remote = g_strdup_printf ("%s:%u", ip,
        g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)));
  } else {
    conn->pub.remote = g_strdup ("unknown");
  }
  g_clear_object (&addr);

  g_mutex_lock (&hub.lock);
  if (listener->n_conns >= MAX_CONNECTIONS) {
    g_mutex_unlock (&hub.lock);
    GST_WARNING ("refusing connection from %s: %u connections already open "
        "on %s", conn->pub.remote, MAX_CONNECTIONS, listener->key);
    g_socket_close (g_socket_connection_get_socket (conn->sockconn), NULL);
    conn_free (conn);
    return G_SOURCE_CONTINUE;
  }
  listener->conns = g_list_prepend (listener->conns, conn);
  listener->n_conns++;
  g_mutex_unlock (&hub.lock);

  GST_DEBUG ("connection from %s on %s", conn->pub.remote, listener->key);

  if (listener->tls) {
    GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM
        (conn->sockconn), listener->cert, &err);

    if (!tls) {
      GST_WARNING ("TLS for %s failed: %s", conn->pub.remote, err->message);
      conn_close (conn, CF_INGEST_END_CLOSED, NULL);
      return G_SOURCE_CONTINUE;
    }
    conn->stream = tls;
    g_tls_connection_handshake_async (G_TLS_CONNECTION (tls),
        G_PRIORITY_DEFAULT, conn->cancellable, on_tls_handshake,
        conn_ref (conn));
  } else {
    conn->stream = G_IO_STREAM (g_object_ref (conn->sockconn));
    conn->ready = TRUE;
    conn_start_reading (conn);
  }
  return G_SOURCE_CONTINUE;
}

/* --- listeners --- */

static gboolean
attach_listener (gpointer data)
{
  Listener *listener = data;

  if (!g_source_is_destroyed (listener->accept_source))
    g_source_attach (listener->accept_source, hub.context);
  return G_SOURCE_REMOVE;
}

static gboolean
destroy_listener (gpointer data)
{
  Listener *listener = data;

  /* connections still open were routed to nobody or to inputs that left */
  while (listener->conns)
    conn_close (listener->conns->data, CF_INGEST_END_SHUTDOWN, NULL);
  g_source_unref (listener->accept_source);
  g_object_unref (listener->socket);
  g_clear_object (&listener->cert);
  g_free (listener->key);
  g_free (listener);
  return G_SOURCE_REMOVE;
}

static Listener *
listener_new (const CfIngestUrl * url, GTlsCertificate * cert,
    GError ** error)
{
  g_autoptr (GInetAddress) iaddr = NULL;
  g_autoptr (GSocketAddress) saddr = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  Listener *listener;

  iaddr = g_inet_address_new_from_string (url->host);
  if (!iaddr) {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();
    GList *addrs = g_resolver_lookup_by_name (resolver, url->host, NULL,
        error);

    if (!addrs)
      return NULL;
    iaddr = g_object_ref (addrs->data);
    g_resolver_free_addresses (addrs);
  }
  saddr = g_inet_socket_address_new (iaddr, url->port);
  socket = g_socket_new (g_inet_address_get_family (iaddr),
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (!socket)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  /* GIO's default backlog is 10: encoders reconnecting together after a
   * network blip would see their connections dropped and retried */
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, saddr, TRUE, error) ||
      !g_socket_listen (socket, error))
    return NULL;

  listener = g_new0 (Listener, 1);
  listener->tls = url->tls;
  listener->cert = cert ? g_object_ref (cert) : NULL;
  bound = g_socket_get_local_address (socket, NULL);
  listener->port = bound ?
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) :
      url->port;
  listener->key = g_strdup_printf ("%s:%u", url->host, listener->port);
  listener->ephemeral = url->port == 0;
  listener->socket = g_steal_pointer (&socket);
  listener->accept_source = g_socket_create_source (listener->socket,
      G_IO_IN, NULL);
  g_source_set_callback (listener->accept_source, G_SOURCE_FUNC (on_incoming),
      listener, NULL);
  hub_defer (attach_listener, listener, NULL);
  return listener;
}

/* --- inputs --- */

CfIngestInput *
cf_ingest_input_new (GstObject * owner)
{
  CfIngestInput *input = g_new0 (CfIngestInput, 1);

  hub_init ();
  input->refcount = 1;
  input->owner = owner;
  input->enabled = TRUE;
  g_mutex_init (&input->lock);
  g_cond_init (&input->cond);
  g_queue_init (&input->queue);
  return input;
}

CfIngestInput *
cf_ingest_input_ref (CfIngestInput * input)
{
  g_atomic_int_inc (&input->refcount);
  return input;
}

static void
input_clear_queue (CfIngestInput * input)
{
  g_queue_clear_full (&input->queue, (GDestroyNotify) cf_ingest_item_free);
  input->queued_bytes = 0;
}

void
cf_ingest_input_unref (CfIngestInput * input)
{
  if (!g_atomic_int_dec_and_test (&input->refcount))
    return;
  input_clear_queue (input);
  g_mutex_clear (&input->lock);
  g_cond_clear (&input->cond);
  g_free (input->app);
  if (input->key)
    memset (input->key, 0, strlen (input->key));
  g_free (input->key);
  g_free (input->srt_stream_id);
  if (input->srt_passphrase)
    memset (input->srt_passphrase, 0, strlen (input->srt_passphrase));
  g_free (input->srt_passphrase);
  g_free (input);
}

/* hub.lock held */
static gboolean
rtmp_add_input_locked (CfIngestInput * input, const CfIngestUrl * url,
    const gchar * stream_key, GTlsCertificate * cert, GError ** error)
{
  g_autofree gchar *lkey = g_strdup_printf ("%s:%u", url->host, url->port);
  Listener *listener;
  GList *l;

  listener = url->port ? g_hash_table_lookup (hub.listeners, lkey) : NULL;
  if (listener) {
    if (listener->tls != url->tls) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
          "%s already listens for %s, not %s", lkey,
          listener->tls ? "rtmps://" : "rtmp://",
          url->tls ? "rtmps://" : "rtmp://");
      return FALSE;
    }
    for (l = listener->inputs; l; l = l->next) {
      CfIngestInput *other = l->data;

      if (g_str_equal (other->app, url->app) &&
          gst_cflive_secret_equal (other->key, stream_key)) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
            "another live input on %s already uses this stream key", lkey);
        return FALSE;
      }
    }
    if (url->tls)
      GST_DEBUG ("sharing %s: the certificate of the first live input is "
          "used", lkey);
  } else {
    listener = listener_new (url, cert, error);
    if (!listener) {
      g_prefix_error (error, "cannot listen on %s: ", lkey);
      return FALSE;
    }
    g_hash_table_insert (hub.listeners, listener->key, listener);
  }

  input->listener = listener;
  g_free (input->app);
  input->app = g_strdup (url->app);
  g_free (input->key);
  input->key = g_strdup (stream_key);
  listener->inputs = g_list_prepend (listener->inputs,
      cf_ingest_input_ref (input));
  return TRUE;
}

/* the hub thread: closes a listener left without live input for
 * LINGER_MS */
static gboolean
linger_done (gpointer data)
{
  Listener *listener = data;
  gint64 left;

  g_mutex_lock (&hub.lock);
  if (listener->inputs) {
    listener->lingering = FALSE;
    g_mutex_unlock (&hub.lock);
    return G_SOURCE_REMOVE;
  }
  /* emptied again after it was taken over */
  left = listener->empty_since + LINGER_MS * G_TIME_SPAN_MILLISECOND -
      g_get_monotonic_time ();
  if (left > 0) {
    g_mutex_unlock (&hub.lock);
    return G_SOURCE_CONTINUE;
  }
  listener->lingering = FALSE;
  g_hash_table_remove (hub.listeners, listener->key);
  g_mutex_unlock (&hub.lock);

  GST_DEBUG ("closing %s: no live input on it", listener->key);
  g_source_destroy (listener->accept_source);
  g_socket_close (listener->socket, NULL);
  destroy_listener (listener);
  return G_SOURCE_REMOVE;
}

/* hub.lock held */
static void
rtmp_remove_input_locked (CfIngestInput * input)
{
  Listener *listener = input->listener;

  if (!listener)
    return;
  input->listener = NULL;
  listener->inputs = g_list_remove (listener->inputs, input);
  if (!listener->inputs && listener->ephemeral) {
    g_hash_table_remove (hub.listeners, listener->key);
    /* nobody asks for it again: the port is freed now */
    g_source_destroy (listener->accept_source);
    g_socket_close (listener->socket, NULL);
    hub_defer (destroy_listener, listener, NULL);
  } else if (!listener->inputs) {
    listener->empty_since = g_get_monotonic_time ();
    if (!listener->lingering) {
      GSource *timer = g_timeout_source_new (LINGER_MS);

      listener->lingering = TRUE;
      g_source_set_callback (timer, linger_done, listener, NULL);
      g_source_attach (timer, hub.context);
      g_source_unref (timer);
    }
  }
  cf_ingest_input_unref (input);        /* the listener's reference */
}

gboolean
cf_ingest_input_start (CfIngestInput * input, const CfIngestConfig * config,
    GError ** error)
{
  g_autoptr (GTlsCertificate) cert = NULL;
  const CfIngestUrl *url = &config->rtmp;

  g_return_val_if_fail (input->listener == NULL, FALSE);
  g_return_val_if_fail (input->srt_listener == NULL, FALSE);

  if (url->host && url->tls) {
    if (!g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
          "rtmps:// needs TLS support in GIO (install glib-networking)");
      return FALSE;
    }
    if (!config->tls_certificate) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "rtmps:// needs the tls-certificate property (a PEM file)");
      return FALSE;
    }
    cert = config->tls_key ?
        g_tls_certificate_new_from_files (config->tls_certificate,
        config->tls_key, error) :
        g_tls_certificate_new_from_file (config->tls_certificate, error);
    if (!cert) {
      g_prefix_error (error, "cannot load the TLS certificate '%s': ",
          config->tls_certificate);
      return FALSE;
    }
  }

  g_mutex_lock (&hub.lock);
  input->idle_timeout = config->idle_timeout;
  input->enabled = config->enabled;
  input->ended = FALSE;
  input->sessions = 0;
  g_free (input->srt_stream_id);
  input->srt_stream_id = g_strdup (config->srt_stream_id);
  if (input->srt_passphrase)
    memset (input->srt_passphrase, 0, strlen (input->srt_passphrase));
  g_free (input->srt_passphrase);
  input->srt_passphrase = g_strdup (config->srt_passphrase);
  input->srt_latency = config->srt_latency;

  if (url->host && !rtmp_add_input_locked (input, url, config->stream_key,
          cert, error))
    goto fail;
  if (config->srt_host && !_cf_ingest_srt_add_input_locked (input,
          config->srt_host, config->srt_port, error)) {
    rtmp_remove_input_locked (input);
    goto fail;
  }
  g_mutex_unlock (&hub.lock);

  g_mutex_lock (&input->lock);
  input->flushing = FALSE;
  input_clear_queue (input);
  g_mutex_unlock (&input->lock);
  return TRUE;

fail:
  g_mutex_unlock (&hub.lock);
  return FALSE;
}

guint
cf_ingest_input_get_port (CfIngestInput * input)
{
  guint port = 0;

  g_mutex_lock (&hub.lock);
  if (input->listener)
    port = input->listener->port;
  g_mutex_unlock (&hub.lock);
  return port;
}

guint
cf_ingest_input_get_srt_port (CfIngestInput * input)
{
  guint port;

  g_mutex_lock (&hub.lock);
  port = _cf_ingest_srt_get_port_locked (input);
  g_mutex_unlock (&hub.lock);
  return port;
}

void
cf_ingest_input_stop (CfIngestInput * input)
{
  Publisher *active;

  g_mutex_lock (&hub.lock);
  active = input->active;
  if (active) {
    _cf_ingest_publisher_detach_locked (active, CF_INGEST_END_SHUTDOWN, NULL);
    active->kick (active, CF_INGEST_END_SHUTDOWN);
  }
  rtmp_remove_input_locked (input);
  _cf_ingest_srt_remove_input_locked (input);
  g_mutex_unlock (&hub.lock);

  g_mutex_lock (&input->lock);
  input_clear_queue (input);
  input->reading_paused = FALSE;
  g_mutex_unlock (&input->lock);
}

void
cf_ingest_input_set_enabled (CfIngestInput * input, gboolean enabled)
{
  g_mutex_lock (&hub.lock);
  if (input->enabled && !enabled && input->active) {
    Publisher *active = input->active;

    _cf_ingest_publisher_detach_locked (active, CF_INGEST_END_DISABLED,
        "the live input was disabled");
    active->kick (active, CF_INGEST_END_DISABLED);
  }
  input->enabled = enabled;
  g_mutex_unlock (&hub.lock);
}

void
cf_ingest_input_set_ended (CfIngestInput * input)
{
  g_mutex_lock (&hub.lock);
  input->ended = TRUE;
  g_mutex_unlock (&hub.lock);
}

void
cf_ingest_input_set_flushing (CfIngestInput * input, gboolean flushing)
{
  g_mutex_lock (&input->lock);
  input->flushing = flushing;
  g_cond_broadcast (&input->cond);
  g_mutex_unlock (&input->lock);
}

CfIngestPopResult
cf_ingest_input_pop (CfIngestInput * input, gint64 deadline,
    CfIngestItem ** item_out)
{
  CfIngestPopResult res = CF_INGEST_POP_ITEM;
  CfIngestItem *item = NULL;
  gboolean resume = FALSE;
  gint64 wait_until;

  g_mutex_lock (&input->lock);
  while (TRUE) {
    if (input->flushing) {
      res = CF_INGEST_POP_FLUSHING;
      break;
    }
    if (!g_queue_is_empty (&input->queue))
      break;
    if (input->wake) {
      res = CF_INGEST_POP_WAKE;
      break;
    }
    input->waiting = TRUE;
    wait_until = deadline;
    if (input->video_seen) {
      /* audio comes without a wake-up: look at least this often */
      gint64 ride = g_get_monotonic_time () + AUDIO_RIDE_US;

      if (wait_until < 0 || ride < wait_until)
        wait_until = ride;
    }
    if (wait_until < 0) {
      g_cond_wait (&input->cond, &input->lock);
    } else if (!g_cond_wait_until (&input->cond, &input->lock, wait_until)) {
      if (wait_until == deadline && g_queue_is_empty (&input->queue)
          && !input->flushing && !input->wake) {
        input->waiting = FALSE;
        res = CF_INGEST_POP_TIMEOUT;
        break;
      }
    }
    input->waiting = FALSE;
  }
  input->wake = FALSE;
  if (res == CF_INGEST_POP_ITEM) {
    item = g_queue_pop_head (&input->queue);
    if (item->body)
      input->queued_bytes -= g_bytes_get_size (item->body);
    if (input->reading_paused && input->queued_bytes < CF_INGEST_QUEUE_LOW_BYTES) {
      input->reading_paused = FALSE;
      resume = TRUE;
    }
  }
  g_mutex_unlock (&input->lock);

  if (resume) {
    g_mutex_lock (&hub.lock);
    if (input->active && input->active->resume)
      input->active->resume (input->active);
    g_mutex_unlock (&hub.lock);
  }
  *item_out = item;
  return res;
}

void
cf_ingest_input_wake (CfIngestInput * input)
{
  g_mutex_lock (&input->lock);
  input->wake = TRUE;
  g_cond_broadcast (&input->cond);
  g_mutex_unlock (&input->lock);
}

void
cf_ingest_input_get_counters (CfIngestInput * input, guint64 * refused,
    guint64 * bytes)
{
  g_mutex_lock (&hub.lock);
  *refused = input->listener ? input->listener->refused : 0;
  g_mutex_unlock (&hub.lock);
  g_mutex_lock (&input->lock);
  *bytes = input->bytes;
  g_mutex_unlock (&input->lock);
}
