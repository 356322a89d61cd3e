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

/* SRT ingest, on libsrt directly: one listening socket per address and port
 * shared by every live input of the process. The listen callback finds the
 * live input by the caller's stream id and sets that input's passphrase on
 * the connection, so a wrong passphrase or an unknown stream id fails the
 * SRT handshake and never reaches a pipeline.
 *
 * One thread waits on a libsrt epoll for every SRT socket. The MPEG-TS an
 * encoder sends is remuxed to FLV tag bodies by CfTsRemuxer and queued to
 * the live input exactly like RTMP tags.
 *
 * Locking: hub.lock guards the listeners (srt.listeners by socket id) and
 * the inputs registered on them; the connections belong to the SRT thread.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <srt/access_control.h>
#include <srt/logging_api.h>
#include <gst/cflive/cflive.h>

#include "cfingest-private.h"
#include "cfsrt.h"
#include "ts/tsremux.h"

GST_DEBUG_CATEGORY_STATIC (cf_srt_debug);
GST_DEBUG_CATEGORY_STATIC (cf_libsrt_debug);

/* Bytes of one SRT live message: 7 TS packets, with room to spare */
#define SRT_MSG_SIZE 1500
#define MAX_EVENTS 64
#define STREAM_ID_MAX 512

struct _SrtListener
{
  gchar *key;                   /* "host:port" */
  SRTSOCKET sock;
  guint port;
  GList *inputs;                /* CfIngestInput */
  guint64 refused;
};

typedef struct
{
  Publisher pub;
  gint refcount;                /* atomic */
  SRTSOCKET sock;
  CfTsRemuxer *remux;
  gint64 last_activity;
  gboolean closed;
  gboolean dropping;            /* queue full: drop until a keyframe */
} SrtConn;

typedef struct
{
  SrtConn *conn;
  CfIngestEndReason reason;
} SrtKick;

static struct
{
  GThread *thread;
  int eid;
  GHashTable *listeners;        /* hub.lock: SRTSOCKET -> SrtListener */
  GHashTable *conns;            /* SRT thread: SRTSOCKET -> SrtConn */
  GAsyncQueue *kicks;           /* SrtKick */
  gint stopping;                /* atomic: the process exits */
} srt;

static SrtConn *
srt_conn_ref (SrtConn * conn)
{
  g_atomic_int_inc (&conn->refcount);
  return conn;
}

static void
srt_conn_unref (SrtConn * conn)
{
  if (!g_atomic_int_dec_and_test (&conn->refcount))
    return;
  cf_ts_remuxer_free (conn->remux);
  g_free (conn->pub.remote);
  g_free (conn->pub.encoder);
  g_free (conn);
}

/* --- libsrt's log into GStreamer --- */

static void
libsrt_log (void *opaque, int level, const char *file, int line,
    const char *area, const char *message)
{
  GstDebugLevel gst_level;
  gsize len = strlen (message);

  switch (level) {
    case LOG_CRIT:
    case LOG_ERR:
      gst_level = GST_LEVEL_WARNING;
      break;
    case LOG_WARNING:
      gst_level = GST_LEVEL_INFO;
      break;
    case LOG_NOTICE:
      gst_level = GST_LEVEL_DEBUG;
      break;
    default:
      gst_level = GST_LEVEL_LOG;
      break;
  }
  while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
    len--;
  gst_debug_log (cf_libsrt_debug, gst_level, file, area ? area : "", line,
      NULL, "%.*s", (int) len, message);
}

/* --- stream ids --- */

/* "uid" or "#!::r=uid,m=publish,..." -> uid, mode. A missing m= is taken as
 * publish: playback is not served here. */
static gchar *
parse_stream_id (const gchar * streamid, gboolean * publish)
{
  gchar **fields, **f;
  gchar *resource = NULL;

  *publish = TRUE;
  if (!streamid)
    return NULL;
  if (!g_str_has_prefix (streamid, "#!::"))
    return g_strdup (streamid);

  fields = g_strsplit (streamid + 4, ",", 32);
  for (f = fields; *f; f++) {
    if (g_str_has_prefix (*f, "r=")) {
      g_free (resource);
      resource = g_strdup (*f + 2);
    } else if (g_str_has_prefix (*f, "m=")) {
      *publish = g_str_equal (*f + 2, "publish");
    }
  }
  g_strfreev (fields);
  return resource;
}

/* hub.lock held */
static CfIngestInput *
find_input_locked (SrtListener * listener, const gchar * id)
{
  GList *l;

  if (!id)
    return NULL;
  for (l = listener->inputs; l; l = l->next) {
    CfIngestInput *input = l->data;

    if (g_strcmp0 (input->srt_stream_id, id) == 0)
      return input;
  }
  return NULL;
}

static gchar *
address_to_string (const struct sockaddr *addr)
{
  gchar ip[INET6_ADDRSTRLEN] = "";
  guint port = 0;

  if (!addr)
    return g_strdup ("unknown");
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *) addr;

    inet_ntop (AF_INET, &in->sin_addr, ip, sizeof (ip));
    port = ntohs (in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) addr;

    inet_ntop (AF_INET6, &in6->sin6_addr, ip, sizeof (ip));
    port = ntohs (in6->sin6_port);
  }
  return g_strdup_printf ("%s:%u", ip, port);
}

/* libsrt's thread, during the handshake: decide, and set the passphrase
 * the caller must have. */
static int
listen_cb (void *opaque, SRTSOCKET ns, int hsversion,
    const struct sockaddr *peeraddr, const char *streamid)
{
  SRTSOCKET lsock = GPOINTER_TO_INT (opaque);
  g_autofree gchar *remote = address_to_string (peeraddr);
  g_autofree gchar *id = NULL;
  SrtListener *listener;
  CfIngestInput *input;
  gboolean publish;
  int reject = 0;
  const gchar *why = NULL;

  id = parse_stream_id (streamid, &publish);

  g_mutex_lock (&hub.lock);
  listener = g_hash_table_lookup (srt.listeners, GINT_TO_POINTER (lsock));
  input = listener ? find_input_locked (listener, id) : NULL;

  if (!listener) {
    reject = SRT_REJX_DOWN;
    why = "the listener is closing";
  } else if (!publish) {
    reject = SRT_REJX_BAD_MODE;
    why = "playback (m=request) is not available";
  } else if (!input) {
    reject = SRT_REJX_NOTFOUND;
    why = "unknown stream id";
  } else if (!input->enabled || input->ended) {
    reject = SRT_REJX_FORBIDDEN;
    why = input->ended ? "the live input has ended" :
        "the live input is disabled";
  } else {
    gint latency = input->srt_latency;

    if (input->srt_passphrase && *input->srt_passphrase &&
        srt_setsockflag (ns, SRTO_PASSPHRASE, input->srt_passphrase,
            strlen (input->srt_passphrase)) == SRT_ERROR) {
      reject = SRT_REJX_ISE;
      why = srt_getlasterror_str ();
    }
    srt_setsockflag (ns, SRTO_RCVLATENCY, &latency, sizeof (latency));
  }
  if (reject && listener)
    listener->refused++;
  g_mutex_unlock (&hub.lock);

  if (reject) {
    /* the stream id is not secret, but it may be garbage: bound it */
    GST_CAT_WARNING (cf_srt_debug, "refused SRT caller %s (stream id "
        "'%.64s'): %s", remote, streamid ? streamid : "", why);
    srt_setrejectreason (ns, reject);
    return -1;
  }
  GST_CAT_DEBUG (cf_srt_debug, "SRT caller %s for '%s' passes to the "
      "handshake", remote, id);
  return 0;
}

/* --- connections (SRT thread) --- */

static void
srt_conn_close (SrtConn * conn, CfIngestEndReason reason,
    const gchar * detail)
{
  if (conn->closed)
    return;
  conn->closed = TRUE;

  /* the last video frame only ends with the stream */
  if (reason != CF_INGEST_END_ERROR && conn->pub.input &&
      !cf_ts_remuxer_drain (conn->remux, NULL))
    GST_CAT_DEBUG (cf_srt_debug, "nothing usable at the end of the stream "
        "from %s", conn->pub.remote);

  g_mutex_lock (&hub.lock);
  _cf_ingest_publisher_detach_locked (&conn->pub, reason, detail);
  g_mutex_unlock (&hub.lock);

  srt_epoll_remove_usock (srt.eid, conn->sock);
  srt_close (conn->sock);
  g_hash_table_remove (srt.conns, GINT_TO_POINTER (conn->sock));
  srt_conn_unref (conn);
}

/* any thread, hub.lock held */
static void
srt_conn_kick (Publisher * pub, CfIngestEndReason reason)
{
  SrtKick *k = g_new0 (SrtKick, 1);

  k->conn = srt_conn_ref ((SrtConn *) pub);
  k->reason = reason;
  g_async_queue_push (srt.kicks, k);
}

static gboolean
on_tag (guint8 tag_type, guint32 timestamp, GBytes * body, gpointer user_data,
    GError ** error)
{
  SrtConn *conn = user_data;
  CfIngestInput *input = conn->pub.input;
  GstCfliveFlvTagInfo info;
  gsize size;
  const guint8 *data = g_bytes_get_data (body, &size);

  if (!input)
    return TRUE;

  /* SRT cannot be paused: when downstream does not keep up, frames are
   * dropped up to the next keyframe, headers never */
  if (conn->dropping) {
    gboolean resume;

    gst_cflive_flv_parse_tag_body (tag_type, data, size, &info);
    g_mutex_lock (&input->lock);
    resume = input->queued_bytes < CF_INGEST_QUEUE_LOW_BYTES;
    if (!(info.sequence_header || tag_type == 18) && !(resume &&
            tag_type == 9 && info.keyframe)) {
      input->dropped++;
      g_mutex_unlock (&input->lock);
      return TRUE;
    }
    g_mutex_unlock (&input->lock);
    if (resume && tag_type == 9 && info.keyframe) {
      GST_CAT_INFO_OBJECT (cf_srt_debug, input->owner, "downstream caught "
          "up, forwarding again from a keyframe");
      conn->dropping = FALSE;
    }
  }

  if (_cf_ingest_input_push_tag (input, conn->pub.session_no, tag_type,
          timestamp, body) && !conn->dropping) {
    GST_CAT_WARNING_OBJECT (cf_srt_debug, input->owner, "downstream is not "
        "keeping up with %s: dropping frames", conn->pub.remote);
    conn->dropping = TRUE;
  }
  return TRUE;
}

static void
srt_conn_read (SrtConn * conn)
{
  static guint8 buf[SRT_MSG_SIZE];
  guint i;

  for (i = 0; i < 256 && !conn->closed; i++) {
    g_autoptr (GError) err = NULL;
    int n = srt_recvmsg (conn->sock, (char *) buf, sizeof (buf));

    if (n == SRT_ERROR) {
      if (srt_getlasterror (NULL) == SRT_EASYNCRCV)
        return;
      GST_CAT_INFO (cf_srt_debug, "SRT connection from %s ended: %s",
          conn->pub.remote, srt_getlasterror_str ());
      srt_conn_close (conn, CF_INGEST_END_CLOSED,
          "the SRT connection closed or broke");
      return;
    }
    if (n == 0)
      continue;

    conn->last_activity = g_get_monotonic_time ();
    if (conn->pub.input)
      _cf_ingest_input_count_bytes (conn->pub.input, n);
    if (!cf_ts_remuxer_feed (conn->remux, buf, n, &err)) {
      GST_CAT_WARNING (cf_srt_debug, "closing SRT connection from %s: %s",
          conn->pub.remote, err->message);
      srt_conn_close (conn, CF_INGEST_END_ERROR, err->message);
      return;
    }
  }
}

/* SRT thread, hub.lock held */
static void
accept_all_locked (SrtListener * listener)
{
  while (TRUE) {
    struct sockaddr_storage addr;
    int addrlen = sizeof (addr);
    char sid[STREAM_ID_MAX + 1];
    int sidlen = STREAM_ID_MAX;
    g_autofree gchar *id = NULL;
    gboolean publish;
    CfIngestInput *input;
    SrtConn *conn;
    SRTSOCKET ns;
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    gboolean no = FALSE;

    ns = srt_accept (listener->sock, (struct sockaddr *) &addr, &addrlen);
    if (ns == SRT_INVALID_SOCK)
      return;

    memset (sid, 0, sizeof (sid));
    srt_getsockflag (ns, SRTO_STREAMID, sid, &sidlen);
    id = parse_stream_id (sid, &publish);
    input = find_input_locked (listener, id);
    if (!input || !input->enabled || input->ended) {
      /* changed since the listen callback */
      srt_close (ns);
      continue;
    }

    srt_setsockflag (ns, SRTO_RCVSYN, &no, sizeof (no));
    conn = g_new0 (SrtConn, 1);
    conn->refcount = 1;
    conn->sock = ns;
    conn->pub.kick = srt_conn_kick;
    conn->pub.protocol = "srt";
    conn->pub.remote = address_to_string ((struct sockaddr *) &addr);
    conn->pub.encoder = g_strdup ("SRT caller");
    conn->remux = cf_ts_remuxer_new (on_tag, conn);
    conn->last_activity = g_get_monotonic_time ();

    g_hash_table_insert (srt.conns, GINT_TO_POINTER (ns), conn);
    srt_epoll_add_usock (srt.eid, ns, &events);
    _cf_ingest_publisher_attach_locked (&conn->pub, input);
    GST_CAT_INFO_OBJECT (cf_srt_debug, input->owner, "session %u: srt "
        "publishing from %s", conn->pub.session_no, conn->pub.remote);
  }
}

static void
check_timeouts (void)
{
  GHashTableIter it;
  gpointer value;
  GList *expired = NULL, *l;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&hub.lock);
  g_hash_table_iter_init (&it, srt.conns);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    SrtConn *conn = value;
    guint timeout = conn->pub.input ? conn->pub.input->idle_timeout : 10;

    if (timeout > 0 && now - conn->last_activity >
        (gint64) timeout * G_USEC_PER_SEC)
      expired = g_list_prepend (expired, conn);
  }
  g_mutex_unlock (&hub.lock);

  for (l = expired; l; l = l->next) {
    SrtConn *conn = l->data;

    GST_CAT_WARNING (cf_srt_debug, "closing SRT connection from %s: no "
        "data for too long", conn->pub.remote);
    srt_conn_close (conn, CF_INGEST_END_TIMEOUT,
        "nothing received from the encoder for too long");
  }
  g_list_free (expired);
}

static gpointer
srt_thread (gpointer data)
{
  SRT_EPOLL_EVENT events[MAX_EVENTS];
  gint64 last_check = 0;

  while (!g_atomic_int_get (&srt.stopping)) {
    SrtKick *k;
    int n, i;
    gint64 now;

    n = srt_epoll_uwait (srt.eid, events, MAX_EVENTS, 200);

    while ((k = g_async_queue_try_pop (srt.kicks))) {
      if (!k->conn->closed)
        srt_conn_close (k->conn, k->reason, NULL);
      srt_conn_unref (k->conn);
      g_free (k);
    }

    for (i = 0; i < n; i++) {
      SrtListener *listener;
      SrtConn *conn;

      g_mutex_lock (&hub.lock);
      listener = g_hash_table_lookup (srt.listeners,
          GINT_TO_POINTER (events[i].fd));
      if (listener)
        accept_all_locked (listener);
      g_mutex_unlock (&hub.lock);
      if (listener)
        continue;

      conn = g_hash_table_lookup (srt.conns, GINT_TO_POINTER (events[i].fd));
      if (!conn)
        continue;
      srt_conn_ref (conn);
      if (events[i].events & SRT_EPOLL_IN)
        srt_conn_read (conn);
      if (!conn->closed && (events[i].events & SRT_EPOLL_ERR)) {
        GST_CAT_INFO (cf_srt_debug, "SRT connection from %s broke",
            conn->pub.remote);
        srt_conn_close (conn, CF_INGEST_END_CLOSED,
            "the SRT connection closed or broke");
      }
      srt_conn_unref (conn);
    }

    now = g_get_monotonic_time ();
    if (now - last_check > 250 * 1000) {
      check_timeouts ();
      last_check = now;
    }
  }
  return NULL;
}

/* libsrt itself, once per process, for the ingest and the outputs */
void
cf_srt_library_init (void)
{
  static gsize init = 0;

  if (g_once_init_enter (&init)) {
    GST_DEBUG_CATEGORY_INIT (cf_libsrt_debug, "libsrt", 0,
        "libsrt's own log");
    srt_startup ();
    srt_setloghandler (NULL, libsrt_log);
    srt_setlogflags (SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_THREADNAME |
        SRT_LOGF_DISABLE_SEVERITY | SRT_LOGF_DISABLE_EOL);
    srt_setloglevel (gst_debug_category_get_threshold (cf_libsrt_debug) >=
        GST_LEVEL_LOG ? LOG_DEBUG : LOG_NOTICE);
    g_once_init_leave (&init, 1);
  }
}

/* At exit, before libsrt's static objects are destroyed (this handler was
 * registered after libsrt was loaded, so it runs first): the SRT thread
 * must not be in libsrt then */
static void
srt_stop_at_exit (void)
{
  g_atomic_int_set (&srt.stopping, 1);
  if (g_thread_self () != srt.thread)
    g_thread_join (srt.thread);
}

static void
srt_init (void)
{
  static gsize init = 0;

  if (g_once_init_enter (&init)) {
    GST_DEBUG_CATEGORY_INIT (cf_srt_debug, "cfsrt", 0,
        "cflive SRT ingest");
    cf_srt_library_init ();
    srt.eid = srt_epoll_create ();
    srt_epoll_set (srt.eid, SRT_EPOLL_ENABLE_EMPTY);
    srt.listeners = g_hash_table_new (NULL, NULL);
    srt.conns = g_hash_table_new (NULL, NULL);
    srt.kicks = g_async_queue_new ();
    srt.thread = g_thread_new ("cflive-srt", srt_thread, NULL);
    atexit (srt_stop_at_exit);
    g_once_init_leave (&init, 1);
  }
}

/* --- listeners (hub.lock held) --- */

static SrtListener *
srt_listener_new (const gchar * host, guint port, GError ** error)
{
  g_autoptr (GInetAddress) iaddr = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) saddr = NULL;
  struct sockaddr_storage native;
  struct sockaddr_storage bound;
  int boundlen = sizeof (bound);
  SrtListener *listener;
  SRTSOCKET sock;
  gboolean no = FALSE;
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

  if (!iaddr) {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();
    GList *addrs = g_resolver_lookup_by_name (resolver, host, NULL, error);

    if (!addrs)
      return NULL;
    iaddr = g_object_ref (addrs->data);
    g_resolver_free_addresses (addrs);
  }
  saddr = g_inet_socket_address_new (iaddr, port);
  if (!g_socket_address_to_native (saddr, &native, sizeof (native), error))
    return NULL;

  sock = srt_create_socket ();
  if (sock == SRT_INVALID_SOCK) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "cannot create an SRT socket: %s", srt_getlasterror_str ());
    return NULL;
  }
  srt_setsockflag (sock, SRTO_RCVSYN, &no, sizeof (no));
  if (srt_bind (sock, (struct sockaddr *) &native,
          g_socket_address_get_native_size (saddr)) == SRT_ERROR ||
      srt_listen_callback (sock, listen_cb, GINT_TO_POINTER (sock))
      == SRT_ERROR || srt_listen (sock, 64) == SRT_ERROR) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
        srt_getlasterror_str ());
    srt_close (sock);
    return NULL;
  }

  listener = g_new0 (SrtListener, 1);
  listener->sock = sock;
  listener->port = port;
  if (srt_getsockname (sock, (struct sockaddr *) &bound, &boundlen) == 0) {
    if (bound.ss_family == AF_INET)
      listener->port = ntohs (((struct sockaddr_in *) &bound)->sin_port);
    else if (bound.ss_family == AF_INET6)
      listener->port = ntohs (((struct sockaddr_in6 *) &bound)->sin6_port);
  }
  listener->key = g_strdup_printf ("%s:%u", host, listener->port);
  g_hash_table_insert (srt.listeners, GINT_TO_POINTER (sock), listener);
  srt_epoll_add_usock (srt.eid, sock, &events);
  return listener;
}

gboolean
_cf_ingest_srt_add_input_locked (CfIngestInput * input, const gchar * host,
    guint port, GError ** error)
{
  g_autofree gchar *key = g_strdup_printf ("%s:%u", host, port);
  SrtListener *listener;
  gsize plen = input->srt_passphrase ? strlen (input->srt_passphrase) : 0;

  srt_init ();

  if (!input->srt_stream_id || !*input->srt_stream_id) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "SRT needs a stream id (srt-stream-id)");
    return FALSE;
  }
  if (plen != 0 && (plen < 10 || plen > 79)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "the SRT passphrase has %" G_GSIZE_FORMAT " characters; it needs 10 "
        "to 79 (or none for no encryption)", plen);
    return FALSE;
  }

  listener = port ? g_hash_table_lookup (hub.srt_listeners, key) : NULL;
  if (listener) {
    if (find_input_locked (listener, input->srt_stream_id)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
          "another live input on srt://%s already uses the stream id '%s'",
          key, input->srt_stream_id);
      return FALSE;
    }
  } else {
    listener = srt_listener_new (host, port, error);
    if (!listener) {
      g_prefix_error (error, "cannot listen for SRT on %s: ", key);
      return FALSE;
    }
    g_hash_table_insert (hub.srt_listeners, listener->key, listener);
  }
  listener->inputs = g_list_prepend (listener->inputs,
      cf_ingest_input_ref (input));
  input->srt_listener = listener;
  return TRUE;
}

void
_cf_ingest_srt_remove_input_locked (CfIngestInput * input)
{
  SrtListener *listener = input->srt_listener;

  if (!listener)
    return;
  input->srt_listener = NULL;
  listener->inputs = g_list_remove (listener->inputs, input);
  if (!listener->inputs) {
    g_hash_table_remove (hub.srt_listeners, listener->key);
    g_hash_table_remove (srt.listeners, GINT_TO_POINTER (listener->sock));
    srt_epoll_remove_usock (srt.eid, listener->sock);
    srt_close (listener->sock);
    g_free (listener->key);
    g_free (listener);
  }
  cf_ingest_input_unref (input);
}

guint
_cf_ingest_srt_get_port_locked (CfIngestInput * input)
{
  return input->srt_listener ? input->srt_listener->port : 0;
}

gboolean
cf_ingest_srt_url_parse (const gchar * url, gchar ** host, guint * port,
    GError ** error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) err = NULL;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &err);
  if (!uri) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not a valid URL: %s", url, err->message);
    return FALSE;
  }
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "srt") != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s': scheme must be srt://", url);
    return FALSE;
  }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri)
      || g_uri_get_port (uri) < 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' needs a host and a port to listen on (srt://0.0.0.0:7000)",
        url);
    return FALSE;
  }
  *host = g_strdup (g_uri_get_host (uri));
  *port = g_uri_get_port (uri);
  return TRUE;
}
