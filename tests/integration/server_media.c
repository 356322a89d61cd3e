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

/* cflive-server end to end with real clients on 127.0.0.1: the server
 * program (CFLIVE_SERVER) on free ports with a data directory of its own,
 * driven through its HTTP API; ffmpeg pushing to the RTMP and SRT
 * credentials it hands out; nginx-rtmp as the destination of an output,
 * read back with ffprobe; a SoupServer receiving the webhooks, whose
 * signatures are checked with openssl; the recordings played back over the
 * server's HLS URLs with ffprobe. The server is restarted, and killed with
 * SIGKILL mid-stream, and must come back with everything it had. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "cftest.h"

/* 320x180 30 fps H.264 with a keyframe every 4 s (the ingest rules' lower
 * bound) and AAC, 8 s, looped by the publishers */
#define MEDIA_GOP_FRAMES 120
#define MEDIA_SECONDS 8
/* how long a disconnected feed may stay away before its recording is
 * finalised */
#define RECORDING_TIMEOUT 2

/* The test media with a keyframe every @gop_frames, made once */
static gchar *
make_media (gint gop_frames)
{
  g_autofree gchar *name = g_strdup_printf ("gop%d.flv", gop_frames);
  g_autofree gchar *partial = NULL;
  g_autofree gchar *gop = g_strdup_printf ("%d", gop_frames);
  g_autofree gchar *dur = g_strdup_printf ("%d", MEDIA_SECONDS);
  g_autoptr (GError) err = NULL;
  gchar *path = g_build_filename (cftest_tmpdir (), name, NULL);
  gint status;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return path;
  partial = g_strdup_printf ("%s.%u.partial", path, (guint) getpid ());
  {
    const gchar *argv[] = { "ffmpeg", "-hide_banner", "-nostdin", "-loglevel",
      "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", dur,
      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
      "-bf", "0", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
      "-b:v", "300k", "-c:a", "aac", "-b:a", "64k", "-ar", "48000",
      "-f", "flv", partial, NULL
    };
    fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
            G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &err),
        "ffmpeg: %s", err ? err->message : "");
  }
  fail_unless (g_spawn_check_wait_status (status, NULL), "ffmpeg failed");
  fail_unless (g_rename (partial, path) == 0);
  return path;
}

static const gchar *
media_path (void)
{
  static gchar *path = NULL;

  if (!path)
    path = make_media (MEDIA_GOP_FRAMES);
  return path;
}

/* ------------------------------------------------------------ JSON */

/* The node at a dotted path ("status.current.state"), or NULL */
static JsonNode *
jget (JsonNode * node, const gchar * path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  guint i;

  for (i = 0; parts[i]; i++) {
    JsonObject *o;

    if (!node || !JSON_NODE_HOLDS_OBJECT (node))
      return NULL;
    o = json_node_get_object (node);
    if (!json_object_has_member (o, parts[i]))
      return NULL;
    node = json_object_get_member (o, parts[i]);
  }
  return node;
}

static const gchar *
jstr (JsonNode * node, const gchar * path)
{
  JsonNode *n = jget (node, path);

  if (!n || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gchar *
jdump (JsonNode * node)
{
  return node ? json_to_string (node, FALSE) : g_strdup ("(null)");
}

/* ------------------------------------------------------------ webhook receiver */

typedef struct
{
  gchar *body;
  gchar *signature;
} Hook;

typedef struct
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  gchar *url;
  GMutex lock;
  GCond cond;
  gboolean ready;
  GPtrArray *hooks;             /* Hook * */
} Receiver;

static void
hook_free (Hook * h)
{
  g_free (h->body);
  g_free (h->signature);
  g_free (h);
}

static void
receiver_handler (SoupServer * server, SoupServerMessage * msg,
    const char *path, GHashTable * query, gpointer user_data)
{
  Receiver *rc = user_data;
  GBytes *body = soup_message_body_flatten
      (soup_server_message_get_request_body (msg));
  Hook *h = g_new0 (Hook, 1);

  h->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  h->signature = g_strdup (soup_message_headers_get_one
      (soup_server_message_get_request_headers (msg), "Webhook-Signature"));
  g_bytes_unref (body);
  g_mutex_lock (&rc->lock);
  g_ptr_array_add (rc->hooks, h);
  g_mutex_unlock (&rc->lock);
  soup_server_message_set_status (msg, 200, NULL);
}

static gpointer
receiver_thread (gpointer user_data)
{
  Receiver *rc = user_data;
  g_autoptr (GError) err = NULL;
  GSList *uris;

  g_main_context_push_thread_default (rc->context);
  rc->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (rc->server, "/hook", receiver_handler, rc, NULL);
  if (!soup_server_listen_local (rc->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY,
          &err))
    g_error ("receiver cannot listen: %s", err->message);
  uris = soup_server_get_uris (rc->server);
  g_mutex_lock (&rc->lock);
  rc->url = g_strdup_printf ("http://127.0.0.1:%d/hook",
      g_uri_get_port (uris->data));
  rc->ready = TRUE;
  g_cond_signal (&rc->cond);
  g_mutex_unlock (&rc->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (rc->loop);
  soup_server_disconnect (rc->server);
  g_clear_object (&rc->server);
  g_main_context_pop_thread_default (rc->context);
  return NULL;
}

static Receiver *
receiver_new (void)
{
  Receiver *rc = g_new0 (Receiver, 1);

  g_mutex_init (&rc->lock);
  g_cond_init (&rc->cond);
  rc->hooks = g_ptr_array_new_with_free_func ((GDestroyNotify) hook_free);
  rc->context = g_main_context_new ();
  rc->loop = g_main_loop_new (rc->context, FALSE);
  rc->thread = g_thread_new ("receiver", receiver_thread, rc);
  g_mutex_lock (&rc->lock);
  while (!rc->ready)
    g_cond_wait (&rc->cond, &rc->lock);
  g_mutex_unlock (&rc->lock);
  return rc;
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
receiver_free (Receiver * rc)
{
  g_main_context_invoke (rc->context, quit_cb, rc->loop);
  g_thread_join (rc->thread);
  g_main_loop_unref (rc->loop);
  g_main_context_unref (rc->context);
  g_ptr_array_free (rc->hooks, TRUE);
  g_mutex_clear (&rc->lock);
  g_cond_clear (&rc->cond);
  g_free (rc->url);
  g_free (rc);
}

/* HMAC-SHA256 of @data with @key, by openssl, in hex */
static gchar *
openssl_hmac (const gchar * key, const gchar * data)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *path = g_strdup_printf ("%s/signed-%u", cftest_tmpdir (),
      (guint) getpid ());
  gchar *out = NULL, *space;
  gint status;
  const gchar *argv[] = { "openssl", "dgst", "-sha256", "-hmac", key, "-r",
    path, NULL
  };

  fail_unless (g_file_set_contents (path, data, -1, &err));
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
          NULL, &status, &err), "openssl: %s", err ? err->message : "");
  fail_unless (g_spawn_check_wait_status (status, NULL), "openssl failed");
  g_unlink (path);
  space = strchr (out, ' ');
  fail_unless (space != NULL, "openssl printed '%s'", out);
  *space = '\0';
  return out;
}

static void
check_signature (Hook * h, const gchar * secret)
{
  g_autoptr (GRegex) re =
      g_regex_new ("^time=([0-9]+),sig1=([0-9a-f]{64})$", 0, 0, NULL);
  g_autoptr (GMatchInfo) mi = NULL;
  g_autofree gchar *t = NULL;
  g_autofree gchar *sig = NULL;
  g_autofree gchar *data = NULL;
  g_autofree gchar *expected = NULL;

  fail_unless (h->signature != NULL, "no Webhook-Signature: %s", h->body);
  fail_unless (g_regex_match (re, h->signature, 0, &mi), "signature '%s'",
      h->signature);
  t = g_match_info_fetch (mi, 1);
  sig = g_match_info_fetch (mi, 2);
  data = g_strdup_printf ("%s.%s", t, h->body);
  expected = openssl_hmac (secret, data);
  fail_unless_equals_string (sig, expected);
}

/* The first webhook after @from with data.event_type @event for @uid (or,
 * with @event NULL, a body whose uid is @uid: a video), waited for; its
 * index in *from on return */
static Hook *
receiver_wait (Receiver * rc, const gchar * event, const gchar * uid,
    guint * from, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  guint i = *from;

  do {
    Hook *h = NULL;

    g_mutex_lock (&rc->lock);
    if (i < rc->hooks->len)
      h = g_ptr_array_index (rc->hooks, i);
    g_mutex_unlock (&rc->lock);
    if (!h) {
      g_usleep (20 * 1000);
      continue;
    }
    i++;
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonNode *root;

      fail_unless (json_parser_load_from_data (p, h->body, -1, NULL),
          "webhook body is not JSON: %s", h->body);
      root = json_parser_get_root (p);
      if (event && g_strcmp0 (jstr (root, "data.event_type"), event) == 0
          && g_strcmp0 (jstr (root, "data.input_id"), uid) == 0) {
        *from = i;
        return h;
      }
      if (!event && g_strcmp0 (jstr (root, "uid"), uid) == 0) {
        *from = i;
        return h;
      }
    }
  } while (g_get_monotonic_time () < end);
  return NULL;
}

static gchar *
receiver_events (Receiver * rc)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&rc->lock);
  for (i = 0; i < rc->hooks->len; i++)
    g_string_append_printf (s, "%s\n",
        ((Hook *) g_ptr_array_index (rc->hooks, i))->body);
  g_mutex_unlock (&rc->lock);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------ the server */

typedef struct
{
  gchar *dir;
  gchar *data_dir;
  gchar *token;
  gchar *token_file;
  gchar *secret;
  gchar *secret_file;
  gchar *account;
  gchar *webhook_url;
  guint api_port, rtmp_port, srt_port;
  gchar *base;                  /* http://127.0.0.1:PORT/client/v4/accounts/ID/stream */
  SoupSession *session;
  CfTestProc *proc;
} Server;

static gchar *
random_hex (guint n_bytes)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < n_bytes; i++)
    g_string_append_printf (s, "%02x", g_random_int_range (0, 256));
  return g_string_free (s, FALSE);
}

/* Status of an API call; its body parsed into *reply (may be NULL) */
static guint
api_call (Server * s, const gchar * method, const gchar * path,
    const gchar * body, JsonNode ** reply)
{
  g_autofree gchar *url = g_strconcat (s->base, path, NULL);
  g_autofree gchar *auth = g_strdup_printf ("Bearer %s", s->token);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) err = NULL;

  fail_unless (msg != NULL, "bad URL %s", url);
  soup_message_headers_replace (soup_message_get_request_headers (msg),
      "Authorization", auth);
  if (body) {
    g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (msg, "application/json", b);
  }
  bytes = soup_session_send_and_read (s->session, msg, NULL, &err);
  if (!bytes)
    return 0;
  if (reply) {
    g_autoptr (JsonParser) p = json_parser_new ();

    *reply = NULL;
    if (g_bytes_get_size (bytes) > 0 && json_parser_load_from_data (p,
            g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL))
      *reply = json_node_copy (json_parser_get_root (p));
  }
  return soup_message_get_status (msg);
}

/* The "result" of a successful call (NULL when the reply had none) */
static JsonNode *
api (Server * s, const gchar * method, const gchar * path, const gchar * body)
{
  JsonNode *reply = NULL, *result;
  guint status = api_call (s, method, path, body, &reply);
  g_autofree gchar *dump = jdump (reply);

  fail_unless (status >= 200 && status < 300, "%s %s: HTTP %u %s", method,
      path, status, dump);
  if (!reply)
    return NULL;
  fail_unless (jget (reply, "success")
      && json_node_get_boolean (jget (reply, "success")), "%s %s: %s", method,
      path, dump);
  result = jget (reply, "result");
  result = result ? json_node_copy (result) : NULL;
  json_node_unref (reply);
  return result;
}

static Server *
server_new (const gchar * webhook_url)
{
  Server *s = g_new0 (Server, 1);
  g_autoptr (GError) err = NULL;
  g_autofree gchar *tmpl = g_build_filename (cftest_tmpdir (),
      "server-XXXXXX", NULL);

  s->dir = g_mkdtemp (g_steal_pointer (&tmpl));
  fail_unless (s->dir != NULL);
  s->data_dir = g_build_filename (s->dir, "data", NULL);
  s->token = random_hex (20);
  s->secret = random_hex (16);
  s->account = random_hex (16);
  s->token_file = g_build_filename (s->dir, "token", NULL);
  s->secret_file = g_build_filename (s->dir, "webhook-secret", NULL);
  fail_unless (g_file_set_contents (s->token_file, s->token, -1, &err));
  fail_unless (g_file_set_contents (s->secret_file, s->secret, -1, &err));
  s->webhook_url = g_strdup (webhook_url);
  s->api_port = cftest_free_port ();
  do {
    s->rtmp_port = cftest_free_port ();
  } while (s->rtmp_port == s->api_port);
  do {
    s->srt_port = cftest_free_port ();
  } while (s->srt_port == s->api_port || s->srt_port == s->rtmp_port);
  s->base = g_strdup_printf ("http://127.0.0.1:%u/client/v4/accounts/%s/"
      "stream", s->api_port, s->account);
  s->session = soup_session_new_with_options ("timeout", 20, NULL);
  return s;
}

static void
server_start (Server * s)
{
  const gchar *bin = g_getenv ("CFLIVE_SERVER");
  g_autofree gchar *api_port = g_strdup_printf ("%u", s->api_port);
  g_autofree gchar *rtmp_port = g_strdup_printf ("%u", s->rtmp_port);
  g_autofree gchar *srt_port = g_strdup_printf ("%u", s->srt_port);
  GPtrArray *argv = g_ptr_array_new ();
  guint status = 0;

  fail_unless (bin != NULL, "CFLIVE_SERVER is not set");
  g_ptr_array_add (argv, (gpointer) bin);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, s->data_dir);
  g_ptr_array_add (argv, (gpointer) "--api-port");
  g_ptr_array_add (argv, api_port);
  g_ptr_array_add (argv, (gpointer) "--media-address");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1");
  g_ptr_array_add (argv, (gpointer) "--rtmp-port");
  g_ptr_array_add (argv, rtmp_port);
  g_ptr_array_add (argv, (gpointer) "--srt-port");
  g_ptr_array_add (argv, srt_port);
  g_ptr_array_add (argv, (gpointer) "--public-host");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1");
  g_ptr_array_add (argv, (gpointer) "--account-id");
  g_ptr_array_add (argv, s->account);
  g_ptr_array_add (argv, (gpointer) "--api-token-file");
  g_ptr_array_add (argv, s->token_file);
  g_ptr_array_add (argv, (gpointer) "--webhook-secret-file");
  g_ptr_array_add (argv, s->secret_file);
  if (s->webhook_url) {
    g_ptr_array_add (argv, (gpointer) "--webhook-url");
    g_ptr_array_add (argv, s->webhook_url);
  }
  g_ptr_array_add (argv, NULL);
  s->proc = cftest_spawn ("cflive-server", (gchar **) argv->pdata);
  g_ptr_array_unref (argv);

  fail_unless (CFTEST_WAIT (cftest_proc_exited (s->proc) ||
          (status = api_call (s, "GET", "/live_inputs", NULL, NULL)) == 200,
          20), "cflive-server does not answer (last status %u)", status);
  if (status != 200) {
    g_autofree gchar *log = cftest_proc_get_log (s->proc);
    fail ("cflive-server did not start (status %u): %s", status, log);
  }
}

static void
server_stop (Server * s, gint sig)
{
  cftest_proc_kill (s->proc, sig);
  if (sig == SIGTERM) {
    g_autofree gchar *log = cftest_proc_get_log (s->proc);
    fail_unless_equals_int (cftest_proc_exit_code (s->proc), 0);
    (void) log;
  }
  s->proc = NULL;
}

static void
server_free (Server * s)
{
  if (s->proc)
    cftest_proc_kill (s->proc, SIGKILL);
  g_object_unref (s->session);
  g_free (s->dir);
  g_free (s->data_dir);
  g_free (s->token);
  g_free (s->token_file);
  g_free (s->secret);
  g_free (s->secret_file);
  g_free (s->account);
  g_free (s->webhook_url);
  g_free (s->base);
  g_free (s);
}

static gchar *
input_state (Server * s, const gchar * uid)
{
  g_autofree gchar *path = g_strdup_printf ("/live_inputs/%s", uid);
  JsonNode *in = api (s, "GET", path, NULL);
  gchar *state = g_strdup (jstr (in, "status.current.state"));

  json_node_unref (in);
  return state;
}

static gboolean
input_state_is (Server * s, const gchar * uid, const gchar * state)
{
  g_autofree gchar *now = input_state (s, uid);

  return g_strcmp0 (now, state) == 0;
}

/* rtmp://host:port/live/ + key */
static gchar *
rtmp_publish_url (JsonNode * input)
{
  const gchar *url = jstr (input, "rtmps.url");
  const gchar *key = jstr (input, "rtmps.streamKey");

  fail_unless (url && key);
  fail_unless (g_str_has_prefix (url, "rtmp://127.0.0.1:"), "%s", url);
  return g_strdup_printf ("%s%s%s", url, g_str_has_suffix (url, "/") ? "" :
      "/", key);
}

/* ffmpeg -re -stream_loop -1 (or 0) -i media -c copy -f mpegts srt://... */
static CfTestProc *
srt_publish (JsonNode * input, gboolean loop)
{
  const gchar *url = jstr (input, "srt.url");
  g_autofree gchar *target = NULL;
  const gchar *argv[] = { "ffmpeg", "-hide_banner", "-nostdin", "-loglevel",
    "warning", "-stream_loop", "-1", "-re", "-i", media_path (), "-c", "copy",
    "-f", "mpegts", NULL, NULL
  };

  fail_unless (url && g_str_has_prefix (url, "srt://127.0.0.1:"), "%s", url);
  target = g_strdup_printf ("%s?streamid=%s&passphrase=%s&pkt_size=1316",
      url, jstr (input, "srt.streamId"), jstr (input, "srt.passphrase"));
  argv[14] = target;
  if (!loop)
    argv[6] = "0";
  return cftest_spawn ("ffmpeg-srt", (gchar **) argv);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar **) a, *(const gchar **) b);
}

/* The codec names of the streams ffprobe finds at @url ("aac,h264"), or
 * NULL when it finds nothing */
static gchar *
ffprobe_codecs (const gchar * url)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *errs = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *codecs;
  gint status;
  guint i;
  gchar *joined;
  const gchar *argv[] = { "ffprobe", "-v", "error", "-rw_timeout", "5000000",
    "-show_entries", "stream=codec_name", "-of", "csv=p=0", url, NULL
  };

  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errs, &status, &err),
      "ffprobe: %s", err ? err->message : "");
  if (!g_spawn_check_wait_status (status, NULL))
    return NULL;
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  codecs = g_ptr_array_new ();
  /* a stream may be listed more than once (under its program too) */
  for (i = 0; lines[i]; i++)
    if (*g_strstrip (lines[i]) && !g_ptr_array_find_with_equal_func (codecs,
            lines[i], g_str_equal, NULL))
      g_ptr_array_add (codecs, lines[i]);
  if (codecs->len == 0) {
    g_ptr_array_unref (codecs);
    return NULL;
  }
  g_ptr_array_sort (codecs, compare_strings);
  g_ptr_array_add (codecs, NULL);
  joined = g_strjoinv (",", (gchar **) codecs->pdata);
  g_ptr_array_unref (codecs);
  return joined;
}

/* ffprobe of a live RTMP stream of nginx: retried while the publisher
 * comes up */
static gboolean
nginx_stream_probes (CfTestNginx * n, const gchar * key)
{
  g_autofree gchar *url = cftest_nginx_url (n, CFTEST_APP, key);
  g_autofree gchar *codecs = ffprobe_codecs (url);

  return g_strcmp0 (codecs, "aac,h264") == 0;
}

/* Some recording of @key is being written by nginx now */
static gboolean
nginx_receiving (CfTestNginx * n, const gchar * key)
{
  GPtrArray *recs = cftest_nginx_recordings (n, key);
  gboolean r = recs->len > 0 && cftest_nginx_is_recording (n,
      g_ptr_array_index (recs, recs->len - 1));

  g_ptr_array_unref (recs);
  return r;
}

/* The videos of @uid with status.state @state, as a new array */
static GPtrArray *
videos_in_state (Server * s, const gchar * uid, const gchar * state)
{
  g_autofree gchar *path = g_strdup_printf ("/live_inputs/%s/videos", uid);
  JsonNode *list = api (s, "GET", path, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)
      json_node_unref);
  JsonArray *a;
  guint i;

  fail_unless (list && JSON_NODE_HOLDS_ARRAY (list));
  a = json_node_get_array (list);
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonNode *v = json_array_get_element (a, i);

    fail_unless_equals_string (jstr (v, "liveInput"), uid);
    if (!state || g_strcmp0 (jstr (v, "status.state"), state) == 0)
      g_ptr_array_add (out, json_node_copy (v));
  }
  json_node_unref (list);
  return out;
}

static gboolean
has_videos (Server * s, const gchar * uid, const gchar * state, guint n)
{
  GPtrArray *v = videos_in_state (s, uid, state);
  gboolean r = v->len >= n;

  g_ptr_array_unref (v);
  return r;
}

/* Plays a ready video back: its HLS URL probes as H.264 + AAC, and the
 * playlist is a finished VOD one */
static void
check_playable (Server * s, JsonNode * video)
{
  const gchar *hls = jstr (video, "playback.hls");
  g_autofree gchar *codecs = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *dump = jdump (video);

  fail_unless (hls != NULL, "no playback.hls: %s", dump);
  fail_unless (g_str_has_prefix (hls, "http://127.0.0.1:"), "%s", hls);
  fail_unless_equals_string (jstr (video, "status.state"), "ready");
  fail_unless (jget (video, "readyToStream")
      && json_node_get_boolean (jget (video, "readyToStream")), "%s", dump);
  fail_unless (json_node_get_double (jget (video, "duration")) > 0, "%s", dump);

  msg = soup_message_new ("GET", hls);
  body = soup_session_send_and_read (s->session, msg, NULL, NULL);
  fail_unless_equals_int (soup_message_get_status (msg), 200);
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  fail_unless (g_str_has_prefix (text, "#EXTM3U"), "%s", text);
  fail_unless (strstr (text, "#EXT-X-ENDLIST") != NULL, "%s", text);

  codecs = ffprobe_codecs (hls);
  fail_unless_equals_string (codecs, "aac,h264");
}

/* ------------------------------------------------------------ tests */

/* RTMP push, an output to nginx-rtmp turned off, on and deleted while
 * live, the webhooks, and the recording found and played back */
GST_START_TEST (test_rtmp_output_recording)
{
  Receiver *rc = receiver_new ();
  Server *s = server_new (rc->url);
  CfTestNginx *n = cftest_nginx_new (CFTEST_APP, NULL);
  g_autofree gchar *out_key = g_strdup_printf ("out%u", (guint) getpid ());
  g_autofree gchar *out_url = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *opath = NULL;
  g_autofree gchar *publish = NULL;
  g_autofree gchar *events = NULL;
  const gchar *uid, *ouid, *vuid;
  JsonNode *input, *output, *r;
  CfTestProc *ff;
  GPtrArray *videos;
  Hook *h;
  guint from = 0;

  cftest_nginx_start (n);
  server_start (s);

  input = api (s, "POST", "/live_inputs", "{\"meta\":{\"name\":\"media\"},"
      "\"recording\":{\"mode\":\"automatic\",\"timeoutSeconds\":"
      G_STRINGIFY (RECORDING_TIMEOUT) "}}");
  uid = jstr (input, "uid");
  fail_unless (uid != NULL);
  path = g_strdup_printf ("/live_inputs/%s", uid);

  out_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", n->port, CFTEST_APP);
  body = g_strdup_printf ("{\"url\":\"%s\",\"streamKey\":\"%s\"}", out_url,
      out_key);
  opath = g_strdup_printf ("/live_inputs/%s/outputs", uid);
  output = api (s, "POST", opath, body);
  ouid = jstr (output, "uid");
  fail_unless (ouid != NULL);
  fail_unless (json_node_get_boolean (jget (output, "enabled")));

  /* push: connected, announced by a signed webhook */
  publish = rtmp_publish_url (input);
  ff = cftest_ffmpeg_publish (media_path (), publish, TRUE);
  h = receiver_wait (rc, "live_input.connected", uid, &from, 15);
  fail_unless (h != NULL, "no connected webhook: %s",
      (events = receiver_events (rc)));
  check_signature (h, s->secret);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "connected"), 5));

  /* the output reaches nginx-rtmp */
  fail_unless (CFTEST_WAIT (nginx_receiving (n, out_key), 15));
  fail_unless (CFTEST_WAIT (nginx_stream_probes (n, out_key), 15),
      "ffprobe finds no H.264 + AAC at nginx");

  /* off while live: nginx loses its publisher */
  g_free (body);
  body = g_strdup_printf ("%s/%s", opath, ouid);
  r = api (s, "PUT", body, "{\"enabled\":false}");
  fail_if (json_node_get_boolean (jget (r, "enabled")));
  json_node_unref (r);
  fail_unless (CFTEST_WAIT (!nginx_receiving (n, out_key), 5));
  fail_if (nginx_stream_probes (n, out_key));

  /* on again: it comes back */
  r = api (s, "PUT", body, "{\"enabled\":true}");
  fail_unless (json_node_get_boolean (jget (r, "enabled")));
  json_node_unref (r);
  fail_unless (CFTEST_WAIT (nginx_receiving (n, out_key), 15));
  fail_unless (CFTEST_WAIT (nginx_stream_probes (n, out_key), 15));

  /* deleted while live: gone, and the ingest never noticed */
  r = api (s, "DELETE", body, NULL);
  if (r)
    json_node_unref (r);
  fail_unless (CFTEST_WAIT (!nginx_receiving (n, out_key), 5));
  r = api (s, "GET", opath, NULL);
  fail_unless_equals_int (json_array_get_length (json_node_get_array (r)), 0);
  json_node_unref (r);
  fail_if (cftest_proc_exited (ff));
  fail_unless (input_state_is (s, uid, "connected"));
  fail_unless (receiver_wait (rc, "live_input.disconnected", uid, &from,
          0.1) == NULL);

  /* a few seconds more of recording, then the encoder stops */
  g_usleep (3 * G_USEC_PER_SEC);
  cftest_proc_kill (ff, SIGKILL);
  h = receiver_wait (rc, "live_input.disconnected", uid, &from, 15);
  fail_unless (h != NULL, "no disconnected webhook: %s",
      (events = receiver_events (rc)));
  check_signature (h, s->secret);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "disconnected"), 5));

  /* after timeoutSeconds the recording is a ready video */
  fail_unless (CFTEST_WAIT (has_videos (s, uid, "ready", 1), 30),
      "no ready video");
  videos = videos_in_state (s, uid, NULL);
  fail_unless_equals_int (videos->len, 1);
  vuid = jstr (g_ptr_array_index (videos, 0), "uid");
  check_playable (s, g_ptr_array_index (videos, 0));
  {
    g_autofree gchar *vpath = g_strdup_printf ("/%s", vuid);
    JsonNode *v = api (s, "GET", vpath, NULL);

    g_autofree gchar *lpath = g_strdup_printf ("?live_input_id=%s", uid);
    JsonNode *all;

    fail_unless_equals_string (jstr (v, "uid"), vuid);
    fail_unless_equals_string (jstr (v, "liveInput"), uid);
    json_node_unref (v);
    /* in the account's list of videos, filtered by live input */
    all = api (s, "GET", lpath, NULL);
    fail_unless (all && JSON_NODE_HOLDS_ARRAY (all));
    fail_unless_equals_int (json_array_get_length (json_node_get_array (all)),
        1);
    fail_unless_equals_string (jstr (json_array_get_element
            (json_node_get_array (all), 0), "uid"), vuid);
    json_node_unref (all);
  }
  /* and its video webhook, signed */
  from = 0;
  h = receiver_wait (rc, NULL, vuid, &from, 10);
  fail_unless (h != NULL, "no video webhook: %s",
      (events = receiver_events (rc)));
  check_signature (h, s->secret);
  g_ptr_array_unref (videos);

  /* a feed breaking the ingest rules (a keyframe every 2 s): errored */
  {
    g_autofree gchar *bad = make_media (60);
    g_autoptr (JsonParser) p = json_parser_new ();
    JsonNode *root;

    ff = cftest_ffmpeg_publish (bad, publish, TRUE);
    h = receiver_wait (rc, "live_input.errored", uid, &from, 20);
    fail_unless (h != NULL, "no errored webhook: %s",
        (events = receiver_events (rc)));
    check_signature (h, s->secret);
    fail_unless (json_parser_load_from_data (p, h->body, -1, NULL));
    root = json_parser_get_root (p);
    fail_unless_equals_string (jstr (root,
            "data.live_input_errored.error.code"), "ERR_GOP_OUT_OF_RANGE");
    fail_unless (jstr (root, "data.live_input_errored.error.message") != NULL);
    fail_unless (jstr (root, "data.live_input_errored.video_codec") != NULL);
    fail_unless (jstr (root, "data.live_input_errored.audio_codec") != NULL);
    cftest_proc_kill (ff, SIGKILL);
  }

  json_node_unref (output);
  json_node_unref (input);
  server_stop (s, SIGTERM);
  server_free (s);
  cftest_nginx_free (n);
  receiver_free (rc);
}

GST_END_TEST;

/* The ids, keys and settings of an input, its outputs and its videos, as
 * the API shows them: what must survive a restart */
static gchar *
snapshot (Server * s, const gchar * uid)
{
  g_autofree gchar *path = g_strdup_printf ("/live_inputs/%s", uid);
  g_autofree gchar *opath = g_strdup_printf ("/live_inputs/%s/outputs", uid);
  JsonNode *in = api (s, "GET", path, NULL);
  JsonNode *outs = api (s, "GET", opath, NULL);
  GPtrArray *videos = videos_in_state (s, uid, NULL);
  GString *str = g_string_new (NULL);
  JsonArray *a = json_node_get_array (outs);
  guint i;

  g_string_append_printf (str, "input %s %s %s %s %s rec=%s/%" G_GINT64_FORMAT
      " created=%s\n", jstr (in, "uid"), jstr (in, "meta.name"),
      jstr (in, "rtmps.streamKey"), jstr (in, "srt.passphrase"),
      jstr (in, "rtmpsPlayback.streamKey"), jstr (in, "recording.mode"),
      json_node_get_int (jget (in, "recording.timeoutSeconds")),
      jstr (in, "created"));
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonNode *o = json_array_get_element (a, i);

    g_string_append_printf (str, "output %s %s %s %d\n", jstr (o, "uid"),
        jstr (o, "url"), jstr (o, "streamKey"),
        json_node_get_boolean (jget (o, "enabled")));
  }
  for (i = 0; i < videos->len; i++)
    g_string_append_printf (str, "video %s\n",
        jstr (g_ptr_array_index (videos, i), "uid"));
  g_ptr_array_unref (videos);
  json_node_unref (in);
  json_node_unref (outs);
  return g_string_free (str, FALSE);
}

static gboolean
has_video_not_in (Server * s, const gchar * uid, const gchar * state,
    const gchar * before, gchar ** found)
{
  GPtrArray *v = videos_in_state (s, uid, state);
  guint i;

  for (i = 0; i < v->len; i++) {
    const gchar *vuid = jstr (g_ptr_array_index (v, i), "uid");

    if (!strstr (before, vuid)) {
      *found = g_strdup (vuid);
      g_ptr_array_unref (v);
      return TRUE;
    }
  }
  g_ptr_array_unref (v);
  return FALSE;
}

static JsonNode *
find_video (Server * s, const gchar * uid, const gchar * vuid)
{
  GPtrArray *v = videos_in_state (s, uid, NULL);
  JsonNode *r = NULL;
  guint i;

  for (i = 0; i < v->len && !r; i++)
    if (g_strcmp0 (jstr (g_ptr_array_index (v, i), "uid"), vuid) == 0)
      r = json_node_copy (g_ptr_array_index (v, i));
  g_ptr_array_unref (v);
  return r;
}

static gboolean
video_is (Server * s, const gchar * uid, const gchar * vuid,
    const gchar * state)
{
  JsonNode *v = find_video (s, uid, vuid);
  gboolean r = v && g_strcmp0 (jstr (v, "status.state"), state) == 0;

  if (v)
    json_node_unref (v);
  return r;
}

/* SRT push, keys rotated (the old refused, the new accepted), a restart and
 * a SIGKILL mid-stream after which everything is still there */
GST_START_TEST (test_srt_keys_restart_kill)
{
  Server *s = server_new (NULL);
  g_autofree gchar *path = NULL;
  g_autofree gchar *opath = NULL;
  g_autofree gchar *old_publish = NULL;
  g_autofree gchar *new_publish = NULL;
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autofree gchar *killed_vuid = NULL;
  g_autofree gchar *live_vuid = NULL;
  g_autofree gchar *uid = NULL;
  JsonNode *input, *rotated, *r, *v;
  CfTestProc *ff;

  server_start (s);
  input = api (s, "POST", "/live_inputs", "{\"meta\":{\"name\":\"keys\"},"
      "\"recording\":{\"mode\":\"automatic\",\"timeoutSeconds\":"
      G_STRINGIFY (RECORDING_TIMEOUT) "}}");
  uid = g_strdup (jstr (input, "uid"));
  path = g_strdup_printf ("/live_inputs/%s", uid);
  opath = g_strdup_printf ("/live_inputs/%s/outputs", uid);
  r = api (s, "POST", opath, "{\"url\":\"srt://127.0.0.1:9\","
      "\"streamKey\":\"kept\",\"enabled\":false}");
  json_node_unref (r);
  fail_unless_equals_string (jstr (input, "srt.streamId"), uid);

  /* SRT: connected, then disconnected; the broadcast becomes a video */
  ff = srt_publish (input, TRUE);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "connected"), 15),
      "SRT push not connected");
  g_usleep (2 * G_USEC_PER_SEC);
  cftest_proc_kill (ff, SIGKILL);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "disconnected"), 10));
  fail_unless (CFTEST_WAIT (has_videos (s, uid, "ready", 1), 30));

  /* rotate: the old key is refused, the new one accepted */
  old_publish = rtmp_publish_url (input);
  g_free (opath);
  opath = g_strdup_printf ("%s/rotate_keys", path);
  rotated = api (s, "POST", opath, NULL);
  fail_unless_equals_string (jstr (rotated, "uid"), uid);
  fail_if (g_str_equal (jstr (rotated, "rtmps.streamKey"),
          jstr (input, "rtmps.streamKey")));
  fail_if (g_str_equal (jstr (rotated, "srt.passphrase"),
          jstr (input, "srt.passphrase")));
  fail_unless (jstr (rotated, "keysRotatedAt") != NULL);
  new_publish = rtmp_publish_url (rotated);

  ff = cftest_ffmpeg_publish (media_path (), old_publish, FALSE);
  fail_unless (cftest_proc_wait (ff, 15), "ffmpeg with the old key runs on");
  fail_if (cftest_proc_exit_code (ff) == 0);
  fail_if (input_state_is (s, uid, "connected"));

  ff = srt_publish (input, FALSE);
  fail_unless (cftest_proc_wait (ff, 20),
      "ffmpeg with the old SRT passphrase runs on");
  fail_if (cftest_proc_exit_code (ff) == 0);
  fail_if (input_state_is (s, uid, "connected"));

  ff = cftest_ffmpeg_publish (media_path (), new_publish, TRUE);
  if (!CFTEST_WAIT (input_state_is (s, uid, "connected"), 15)) {
    g_autofree gchar *log = cftest_proc_get_log (s->proc);

    fail ("new key refused; the server said:\n%s", log);
  }

  /* rotated again while recording: the recording cut is finalised by the
   * old pipeline in the background and the API has it ready, without a
   * restart */
  before = snapshot (s, uid);
  fail_unless (CFTEST_WAIT (has_video_not_in (s, uid, "live-inprogress",
              before, &live_vuid), 10), "no recording in progress");
  g_usleep (2 * G_USEC_PER_SEC);
  json_node_unref (rotated);
  rotated = api (s, "POST", opath, NULL);
  fail_unless (cftest_proc_wait (ff, 15), "the rotation did not cut ffmpeg");
  fail_unless (CFTEST_WAIT (video_is (s, uid, live_vuid, "ready"), 20),
      "the recording cut by the rotation is not ready");
  g_free (new_publish);
  new_publish = rtmp_publish_url (rotated);
  ff = cftest_ffmpeg_publish (media_path (), new_publish, TRUE);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "connected"), 15),
      "the key of the second rotation refused");
  g_usleep (2 * G_USEC_PER_SEC);
  g_clear_pointer (&before, g_free);

  /* restart (SIGTERM) while live: everything is there afterwards */
  before = snapshot (s, uid);
  server_stop (s, SIGTERM);
  cftest_proc_kill (ff, SIGKILL);
  server_start (s);
  after = snapshot (s, uid);
  {
    /* the broadcast cut by the stop may have become a video since */
    g_auto (GStrv) lines = g_strsplit (before, "\n", -1);
    guint i;

    for (i = 0; lines[i]; i++)
      fail_unless (strstr (after, lines[i]) != NULL,
          "lost over a restart: %s\nbefore:\n%s\nafter:\n%s", lines[i],
          before, after);
  }

  /* SIGKILL mid-stream: the same, and the cut recording is recovered into
   * a playable video */
  ff = cftest_ffmpeg_publish (media_path (), new_publish, TRUE);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "connected"), 15));
  fail_unless (CFTEST_WAIT (has_video_not_in (s, uid, "live-inprogress",
              before, &killed_vuid), 10), "no recording in progress");
  g_usleep (4 * G_USEC_PER_SEC);
  g_free (before);
  before = snapshot (s, uid);
  server_stop (s, SIGKILL);
  cftest_proc_kill (ff, SIGKILL);
  server_start (s);
  g_free (after);
  after = snapshot (s, uid);
  {
    g_auto (GStrv) lines = g_strsplit (before, "\n", -1);
    guint i;

    for (i = 0; lines[i]; i++)
      fail_unless (strstr (after, lines[i]) != NULL,
          "lost over a SIGKILL: %s\nbefore:\n%s\nafter:\n%s", lines[i],
          before, after);
  }
  fail_unless (CFTEST_WAIT (video_is (s, uid, killed_vuid, "ready"), 30),
      "the recording cut by SIGKILL is not ready");
  v = find_video (s, uid, killed_vuid);
  check_playable (s, v);
  json_node_unref (v);

  /* and the input still takes a push */
  ff = cftest_ffmpeg_publish (media_path (), new_publish, TRUE);
  fail_unless (CFTEST_WAIT (input_state_is (s, uid, "connected"), 15));
  cftest_proc_kill (ff, SIGKILL);

  json_node_unref (rotated);
  json_node_unref (input);
  server_stop (s, SIGTERM);
  server_free (s);
}

GST_END_TEST;

static Suite *
server_media_suite (void)
{
  Suite *s = suite_create ("integration-server-media");
  TCase *tc = tcase_create ("server-media");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 150);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_rtmp_output_recording);
  tcase_add_test (tc, test_srt_keys_restart_kill);
  return s;
}

int
main (int argc, char **argv)
{
  const gchar *tools[] = { "ffprobe", "openssl", NULL };
  guint i;

  for (i = 0; tools[i]; i++) {
    g_autofree gchar *p = g_find_program_in_path (tools[i]);
    if (!p) {
      g_printerr ("%s is missing\n", tools[i]);
      return 77;
    }
  }
  if (!g_getenv ("CFLIVE_SERVER")) {
    g_printerr ("CFLIVE_SERVER (the cflive-server program) is not set\n");
    return 1;
  }
  if (!cftest_have_nginx ())
    return 77;
  return cftest_main (argc, argv, 0, server_media_suite,
      "integration-server-media", __FILE__);
}
