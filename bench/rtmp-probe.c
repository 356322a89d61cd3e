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

/* rtmp-probe: a tiny RTMP server for the benchmarks. It accepts every
 * publish, keeps nothing, and writes one line per received video message
 * (and per publish and disconnection) so that a script can tell when each
 * frame arrived on each stream.
 *
 * It can also sit between a publisher and a server under test as a TCP
 * proxy that forwards every byte the moment it arrives and reads the
 * publisher's RTMP on the side: the time a video message reached the
 * server under test is then known, and the server's own RTMP (handshake,
 * replies) is untouched, so any server works behind it.
 *
 *   rtmp-probe [-a ADDRESS] -p PORT [-p PORT ...]
 *              [-x PORT=NAME@HOST:PORT ...] [-o FILE]
 *
 *   -a  IPv4 address to listen on (default 127.0.0.1)
 *   -p  port to accept publishers on
 *   -x  proxy: accept on PORT, connect each connection to HOST:PORT (an
 *       IPv4 address), forward both ways (TCP_NODELAY, no queueing while
 *       the other side takes the bytes), and log the video messages of the
 *       publisher's side under the stream name NAME
 *   -o  write the lines to FILE instead of stdout
 *
 * Output lines, space-separated:
 *
 *   V name rtmp_ts mono_us real_us size key hash
 *     a video message of stream @name (the published name without its
 *     query string, or the proxy's NAME): its RTMP timestamp (ms), its
 *     arrival time (the read that completed it) on CLOCK_MONOTONIC and on
 *     the real-time clock in microseconds, its body size, 1 for a keyframe
 *     (0 otherwise, 2 for a codec header), and a 64-bit FNV-1a hash of the
 *     body in hex, without the composition time of an H.264 or H.265 body
 *     (bytes 2 to 4, which a remuxer recomputes from its rounded
 *     timestamps): the same frame has the same hash on every path,
 *     whatever the timestamps
 *   P name mono_us real_us port remote encoder     a publish started
 *                                                  (encoder "-" on a proxy)
 *   U name mono_us real_us                         the publisher unpublished
 *   C name mono_us real_us reason                  a connection closed
 *   L port                                         listening (once a port)
 *   # text                                         a protocol error
 *
 * The lines are flushed one by one: the file can be read while the probe
 * runs, and nothing is lost when it is killed. SIGINT and SIGTERM end it
 * cleanly. It is single-threaded (poll), without any media processing: it
 * costs next to nothing next to what it measures. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* accept4 */
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <glib.h>

#include "amf.h"
#include "rtmpsession.h"

#define MAX_LISTENERS 64
#define MAX_CONNS 256
#define READ_SIZE 65536
/* a peer that does not read our replies is dropped past this */
#define MAX_OUTPUT (1024 * 1024)

/* A listening port: publishers to the probe, or a proxy */
typedef struct
{
  gint fd;
  guint16 port;
  gchar *proxy_name;            /* NULL: publishers to the probe */
  struct sockaddr_in proxy_to;
} Listener;

/* A publisher of the probe, or a proxied connection */
typedef struct
{
  gint fd;                      /* the publisher */
  guint16 port;                 /* local port it came in on */
  gchar remote[64];
  gchar *name;                  /* published stream name, or proxy name */
  CfRtmpServerSession *session; /* publishers to the probe */
  const gchar *dead;            /* why it is to be closed, or NULL */
  gint64 now_mono;              /* arrival time of the current read */
  gint64 now_real;

  /* proxies */
  gint sfd;                     /* to the server under test, or -1 */
  gboolean connected;
  GByteArray *to_server;        /* not sent yet */
  GByteArray *to_client;
  gsize handshake_left;         /* C0 C1 C2 bytes before the chunks */
  CfRtmpChunkReader *reader;    /* the publisher's side */
  gboolean published;
} Conn;

static FILE *out;
static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  stop = 1;
}

static gint64
mono_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static gint64
real_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static guint64
fnv1a64 (guint64 h, const guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++) {
    h ^= data[i];
    h *= G_GUINT64_CONSTANT (0x100000001b3);
  }
  return h;
}

/* The hash of a video tag body that identifies the frame: for H.264 (codec
 * id 7) and H.265 (12), the frame type and packet type bytes and the data,
 * without the composition time in between. */
static guint64
frame_hash (const guint8 * data, gsize size)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  guint codec = data[0] & 0x0f;

  if ((codec == 7 || codec == 12) && size >= 5)
    return fnv1a64 (fnv1a64 (h, data, 2), data + 5, size - 5);
  return fnv1a64 (h, data, size);
}

/* Stream names go on a space-separated line */
static gchar *
sanitize (const gchar * s)
{
  gchar *r = g_strdup (s && *s ? s : "-");
  gchar *p;

  for (p = r; *p; p++)
    if (g_ascii_isspace (*p) || !g_ascii_isprint (*p))
      *p = '_';
  return r;
}

static void
log_publish (Conn * c, const gchar * encoder)
{
  fprintf (out, "P %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %u %s %s\n",
      c->name, c->now_mono, c->now_real, c->port, c->remote, encoder);
  fflush (out);
}

static void
log_video (Conn * c, guint32 timestamp, GBytes * body)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (body, &size);
  gint key;

  if (!data || size == 0)
    return;
  /* FLV video tag body: frame type in the high nibble (1 = keyframe);
   * AVC packet type 0 (the byte after) is the codec header */
  key = (data[0] >> 4) == 1 ? 1 : 0;
  if ((data[0] & 0x0f) == 7 && size > 1 && data[1] == 0)
    key = 2;
  fprintf (out, "V %s %u %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %"
      G_GSIZE_FORMAT " %d %016" G_GINT64_MODIFIER "x\n", c->name ? c->name :
      "-", timestamp, c->now_mono, c->now_real, size, key, frame_hash (data,
          size));
  fflush (out);
}

/* --- publishers to the probe --- */

static gboolean
on_publish (CfRtmpServerSession * session, const gchar * app,
    const gchar * name, const gchar ** code, gchar ** description,
    gpointer user_data)
{
  Conn *c = user_data;
  g_autofree gchar *enc =
      sanitize (cf_rtmp_server_session_get_encoder (session));

  g_free (c->name);
  c->name = sanitize (name);
  log_publish (c, enc);
  return TRUE;
}

static gboolean
on_media (CfRtmpServerSession * session, guint8 type, guint32 timestamp,
    GBytes * body, gpointer user_data, GError ** error)
{
  if (type == CF_RTMP_MSG_VIDEO)
    log_video (user_data, timestamp, body);
  return TRUE;
}

static void
on_unpublish (CfRtmpServerSession * session, gpointer user_data)
{
  Conn *c = user_data;

  fprintf (out, "U %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
      c->name ? c->name : "-", mono_us (), real_us ());
  fflush (out);
}

static const CfRtmpServerCallbacks callbacks = {
  on_publish, on_media, on_unpublish
};

/* --- proxies: the publisher's messages, read on the side --- */

static gboolean
on_proxied_message (const CfRtmpMessage * msg, gpointer user_data,
    GError ** error)
{
  Conn *c = user_data;

  if (msg->type == CF_RTMP_MSG_VIDEO) {
    log_video (c, msg->timestamp, msg->payload);
  } else if (msg->type == CF_RTMP_MSG_COMMAND_AMF0 && !c->published) {
    gsize size;
    const guint8 *data = g_bytes_get_data (msg->payload, &size);
    g_autoptr (CfAmfNode) name = data ? cf_amf_parse_value (data, size, NULL,
        NULL) : NULL;
    const gchar *s = name ? cf_amf_node_get_string (name, NULL) : NULL;

    if (s && g_str_equal (s, "publish")) {
      c->published = TRUE;
      log_publish (c, "-");
    }
  }
  return TRUE;
}

/* --- sockets --- */

static gint
listen_on (const gchar * addr, guint16 port)
{
  struct sockaddr_in sa;
  gint fd, one = 1;

  memset (&sa, 0, sizeof (sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons (port);
  if (inet_pton (AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf (stderr, "rtmp-probe: bad IPv4 address '%s'\n", addr);
    return -1;
  }
  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  if (bind (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0 ||
      listen (fd, 64) < 0) {
    fprintf (stderr, "rtmp-probe: cannot listen on %s:%u: %s\n", addr, port,
        g_strerror (errno));
    close (fd);
    return -1;
  }
  return fd;
}

/* PORT=NAME@IPV4:PORT */
static gboolean
proxy_parse (const gchar * arg, Listener * l)
{
  g_auto (GStrv) a = g_strsplit_set (arg, "=@", 3);
  gchar *colon, *end;
  gulong lport, dport;

  if (g_strv_length (a) != 3 || !*a[1])
    return FALSE;
  lport = strtoul (a[0], &end, 10);
  if (*end || lport == 0 || lport > 65535)
    return FALSE;
  colon = strrchr (a[2], ':');
  if (!colon)
    return FALSE;
  *colon = '\0';
  dport = strtoul (colon + 1, &end, 10);
  if (*end || dport == 0 || dport > 65535)
    return FALSE;
  memset (&l->proxy_to, 0, sizeof (l->proxy_to));
  l->proxy_to.sin_family = AF_INET;
  l->proxy_to.sin_port = htons (dport);
  if (inet_pton (AF_INET, a[2], &l->proxy_to.sin_addr) != 1)
    return FALSE;
  l->port = lport;
  l->proxy_name = sanitize (a[1]);
  return TRUE;
}

static void
conn_close (Conn * c, const gchar * reason)
{
  fprintf (out, "C %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %s\n",
      c->name ? c->name : "-", mono_us (), real_us (), reason);
  fflush (out);
  close (c->fd);
  if (c->sfd >= 0)
    close (c->sfd);
  cf_rtmp_server_session_free (c->session);
  if (c->reader)
    cf_rtmp_chunk_reader_free (c->reader);
  if (c->to_server)
    g_byte_array_unref (c->to_server);
  if (c->to_client)
    g_byte_array_unref (c->to_client);
  g_free (c->name);
  g_free (c);
}

/* Sends what @o holds on @fd. FALSE: the connection must go. */
static gboolean
send_pending (gint fd, GByteArray * o, gsize limit)
{
  while (o->len > 0) {
    ssize_t n = send (fd, o->data, o->len, MSG_NOSIGNAL);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return o->len <= limit;
      return FALSE;
    }
    g_byte_array_remove_range (o, 0, n);
  }
  return TRUE;
}

/* Bytes for the other side of a proxy: sent at once, what the socket does
 * not take yet waits (and stops the reads from this side meanwhile). */
static gboolean
forward (gint fd, gboolean ready, GByteArray * pending, const guint8 * data,
    gsize size)
{
  g_byte_array_append (pending, data, size);
  return !ready || send_pending (fd, pending, G_MAXSIZE);
}

/* The publisher's socket is ready. FALSE (with @reason): close it. */
static gboolean
conn_io (Conn * c, gshort rev, const gchar ** reason)
{
  static guint8 buf[READ_SIZE];

  if (rev & (POLLIN | POLLHUP | POLLERR)) {
    g_autoptr (GError) err = NULL;
    ssize_t got = recv (c->fd, buf, sizeof (buf), 0);

    if (got == 0) {
      *reason = "closed-by-peer";
      return FALSE;
    }
    if (got < 0 && errno != EAGAIN && errno != EINTR) {
      *reason = "read-error";
      return FALSE;
    }
    if (got > 0) {
      c->now_mono = mono_us ();
      c->now_real = real_us ();
      if (c->session) {
        if (!cf_rtmp_server_session_feed (c->session, buf, got, &err)) {
          fprintf (out, "# %s: %s\n", c->remote, err->message);
          *reason = "protocol-error";
          return FALSE;
        }
      } else {
        gsize skip = MIN ((gsize) got, c->handshake_left);

        /* on to the server first, then read on the side */
        if (!forward (c->sfd, c->connected, c->to_server, buf, got)) {
          *reason = "server-write-error";
          return FALSE;
        }
        c->handshake_left -= skip;
        if (c->reader && (gsize) got > skip &&
            !cf_rtmp_chunk_reader_feed (c->reader, buf + skip, got - skip,
                &err)) {
          /* the stream still goes through: only the timing stops */
          fprintf (out, "# proxy %s: %s\n", c->name, err->message);
          fflush (out);
          cf_rtmp_chunk_reader_free (c->reader);
          c->reader = NULL;
        }
      }
    }
  }
  if (c->session && !send_pending (c->fd,
          cf_rtmp_server_session_get_output (c->session), MAX_OUTPUT)) {
    *reason = "write-error";
    return FALSE;
  }
  if (!c->session && !send_pending (c->fd, c->to_client, G_MAXSIZE)) {
    *reason = "client-write-error";
    return FALSE;
  }
  return TRUE;
}

/* The server side of a proxy is ready. FALSE (with @reason): close. */
static gboolean
server_io (Conn * c, gshort rev, const gchar ** reason)
{
  static guint8 buf[READ_SIZE];

  if (!c->connected) {
    gint err = 0;
    socklen_t len = sizeof (err);

    if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
      return TRUE;
    if (getsockopt (c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
      *reason = "server-connect-failed";
      return FALSE;
    }
    c->connected = TRUE;
  } else if (rev & (POLLIN | POLLHUP | POLLERR)) {
    ssize_t got = recv (c->sfd, buf, sizeof (buf), 0);

    if (got == 0) {
      *reason = "closed-by-server";
      return FALSE;
    }
    if (got < 0 && errno != EAGAIN && errno != EINTR) {
      *reason = "server-read-error";
      return FALSE;
    }
    if (got > 0 && !forward (c->fd, TRUE, c->to_client, buf, got)) {
      *reason = "client-write-error";
      return FALSE;
    }
  }
  if (!send_pending (c->sfd, c->to_server, G_MAXSIZE)) {
    *reason = "server-write-error";
    return FALSE;
  }
  return TRUE;
}

static Conn *
conn_accept (Listener * l)
{
  struct sockaddr_in peer;
  socklen_t len = sizeof (peer);
  gint fd, one = 1;
  Conn *c;

  fd = accept4 (l->fd, (struct sockaddr *) &peer, &len,
      SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return NULL;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  c = g_new0 (Conn, 1);
  c->fd = fd;
  c->sfd = -1;
  c->port = l->port;
  inet_ntop (AF_INET, &peer.sin_addr, c->remote, sizeof (c->remote));
  g_snprintf (c->remote + strlen (c->remote),
      sizeof (c->remote) - strlen (c->remote), ":%u", ntohs (peer.sin_port));

  if (!l->proxy_name) {
    c->session = cf_rtmp_server_session_new (&callbacks, c);
    return c;
  }

  c->name = g_strdup (l->proxy_name);
  c->to_server = g_byte_array_new ();
  c->to_client = g_byte_array_new ();
  c->handshake_left = 1 + 2 * CF_RTMP_HANDSHAKE_SIZE;
  c->reader = cf_rtmp_chunk_reader_new (on_proxied_message, c);
  c->sfd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->sfd >= 0)
    setsockopt (c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
  if (c->sfd < 0 || (connect (c->sfd, (const struct sockaddr *) &l->proxy_to,
              sizeof (l->proxy_to)) < 0 && errno != EINPROGRESS))
    c->dead = "server-connect-failed";
  return c;
}

static gint
usage (void)
{
  fprintf (stderr, "usage: rtmp-probe [-a ADDRESS] -p PORT [-p PORT ...] "
      "[-x PORT=NAME@IPV4:PORT ...] [-o FILE]\n");
  return 2;
}

int
main (int argc, char **argv)
{
  const gchar *addr = "127.0.0.1";
  const gchar *path = NULL;
  Listener ls[MAX_LISTENERS];
  guint n_ls = 0, i;
  Conn *conns[MAX_CONNS];
  guint n_conns = 0;
  /* per poll entry: its connection, and whether it is the server side */
  struct pollfd pfd[MAX_LISTENERS + 2 * MAX_CONNS];
  Conn *owner[MAX_LISTENERS + 2 * MAX_CONNS];
  gboolean server_side[MAX_LISTENERS + 2 * MAX_CONNS];
  struct sigaction sa;
  gint opt;

  memset (ls, 0, sizeof (ls));
  while ((opt = getopt (argc, argv, "a:p:x:o:h")) != -1) {
    switch (opt) {
      case 'a':
        addr = optarg;
        break;
      case 'p':{
        gchar *end;
        gulong p = strtoul (optarg, &end, 10);

        if (*end || p == 0 || p > 65535 || n_ls == MAX_LISTENERS)
          return usage ();
        ls[n_ls++].port = p;
        break;
      }
      case 'x':
        if (n_ls == MAX_LISTENERS || !proxy_parse (optarg, &ls[n_ls])) {
          fprintf (stderr, "rtmp-probe: bad proxy '%s'\n", optarg);
          return usage ();
        }
        n_ls++;
        break;
      case 'o':
        path = optarg;
        break;
      default:
        return usage ();
    }
  }
  if (n_ls == 0 || optind != argc)
    return usage ();

  out = path ? fopen (path, "w") : stdout;
  if (!out) {
    fprintf (stderr, "rtmp-probe: cannot open %s: %s\n", path,
        g_strerror (errno));
    return 1;
  }

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = on_signal;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  for (i = 0; i < n_ls; i++) {
    ls[i].fd = listen_on (addr, ls[i].port);
    if (ls[i].fd < 0)
      return 1;
    fprintf (out, "L %u\n", ls[i].port);
  }
  fflush (out);

  while (!stop) {
    guint n = 0, j, k;
    gint r;

    for (i = 0; i < n_ls; i++) {
      pfd[n].fd = ls[i].fd;
      pfd[n].events = n_conns < MAX_CONNS ? POLLIN : 0;
      pfd[n].revents = 0;
      owner[n] = NULL;
      server_side[n++] = FALSE;
    }
    for (j = 0; j < n_conns; j++) {
      Conn *c = conns[j];

      pfd[n].fd = c->fd;
      pfd[n].revents = 0;
      owner[n] = c;
      server_side[n] = FALSE;
      if (c->session) {
        pfd[n].events = POLLIN;
        if (cf_rtmp_server_session_get_output (c->session)->len > 0)
          pfd[n].events |= POLLOUT;
        n++;
        continue;
      }
      /* a proxy reads a side only when the other has taken everything */
      pfd[n].events = (c->to_server->len == 0 ? POLLIN : 0) |
          (c->to_client->len > 0 ? POLLOUT : 0);
      n++;
      pfd[n].fd = c->sfd;
      pfd[n].revents = 0;
      owner[n] = c;
      server_side[n] = TRUE;
      if (!c->connected)
        pfd[n].events = POLLOUT;
      else
        pfd[n].events = (c->to_client->len == 0 ? POLLIN : 0) |
            (c->to_server->len > 0 ? POLLOUT : 0);
      n++;
    }

    r = poll (pfd, n, 500);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      perror ("rtmp-probe: poll");
      break;
    }

    for (k = n_ls; k < n; k++) {
      const gchar *reason = NULL;
      Conn *c = owner[k];

      if (!pfd[k].revents || c->dead)
        continue;
      if (server_side[k] ? !server_io (c, pfd[k].revents, &reason) :
          !conn_io (c, pfd[k].revents, &reason))
        c->dead = reason;
    }
    for (j = 0; j < n_conns;) {
      if (conns[j]->dead) {
        conn_close (conns[j], conns[j]->dead);
        conns[j] = conns[--n_conns];
      } else {
        j++;
      }
    }

    for (i = 0; i < n_ls; i++) {
      Conn *c;

      if (!(pfd[i].revents & POLLIN))
        continue;
      c = conn_accept (&ls[i]);
      if (!c)
        continue;
      if (n_conns == MAX_CONNS || c->dead) {
        conn_close (c, c->dead ? c->dead : "too-many-connections");
        continue;
      }
      conns[n_conns++] = c;
    }
  }

  while (n_conns > 0)
    conn_close (conns[--n_conns], "probe-stopped");
  for (i = 0; i < n_ls; i++) {
    close (ls[i].fd);
    g_free (ls[i].proxy_name);
  }
  if (out != stdout)
    fclose (out);
  return 0;
}
