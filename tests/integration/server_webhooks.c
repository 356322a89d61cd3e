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

/* The webhook deliveries of cflive-server (tools/server/cfwebhooks.c)
 * against real HTTP receivers on 127.0.0.1: a SoupServer in a thread of
 * its own per receiver, answering as each test tells it (200, 500, 400,
 * or not at all). Signatures are checked with openssl, not with the HMAC
 * the module uses. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include "cftest.h"
#include "cfwebhooks.h"

#define SECRET "85011ed3a913c6ad5f9cf6c5573cc0a7"
#define INPUT_UID "66be4bf738797e01e1fca35a7bdecdcd"

static gchar *tmpdir;

/* --- a receiver --- */

typedef enum
{
  ANSWER_OK,
  ANSWER_500,                   /* the first fail_first requests, then 200 */
  ANSWER_400,
  ANSWER_STALL,                 /* keeps every request waiting */
} Answer;

typedef struct
{
  gchar *body;
  gchar *signature;             /* Webhook-Signature */
  gchar *content_type;
  gint64 wall;                  /* monotonic µs */
} Request;

typedef struct
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  guint port;
  gchar *url;

  GMutex lock;
  GCond cond;
  gboolean ready;
  Answer answer;
  guint fail_first;
  GPtrArray *requests;          /* Request * */
  GPtrArray *stalled;           /* SoupServerMessage * */
} Receiver;

static void
request_free (Request * r)
{
  g_free (r->body);
  g_free (r->signature);
  g_free (r->content_type);
  g_free (r);
}

static void
handler (SoupServer * server, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer user_data)
{
  Receiver *rc = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  GBytes *body;
  Request *r;
  guint status = 200;
  gboolean stall = FALSE;

  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  r = g_new0 (Request, 1);
  r->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_bytes_unref (body);
  r->signature = g_strdup (soup_message_headers_get_one (h,
          "Webhook-Signature"));
  r->content_type = g_strdup (soup_message_headers_get_content_type (h, NULL));
  r->wall = g_get_monotonic_time ();

  g_mutex_lock (&rc->lock);
  g_ptr_array_add (rc->requests, r);
  if (!g_str_equal (soup_server_message_get_method (msg), "POST"))
    status = 405;
  else if (rc->answer == ANSWER_500 && rc->requests->len <= rc->fail_first)
    status = 500;
  else if (rc->answer == ANSWER_400)
    status = 400;
  else if (rc->answer == ANSWER_STALL)
    stall = TRUE;
  if (stall) {
    g_ptr_array_add (rc->stalled, g_object_ref (msg));
    soup_server_message_pause (msg);
  }
  g_mutex_unlock (&rc->lock);

  if (!stall)
    soup_server_message_set_status (msg, status, NULL);
}

static gpointer
receiver_thread (gpointer user_data)
{
  Receiver *rc = user_data;
  g_autoptr (GError) err = NULL;
  GSList *uris;

  g_main_context_push_thread_default (rc->context);
  rc->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (rc->server, "/hook", handler, rc, NULL);
  if (!soup_server_listen_local (rc->server, rc->port,
          SOUP_SERVER_LISTEN_IPV4_ONLY, &err))
    g_error ("receiver cannot listen on %u: %s", rc->port, err->message);
  uris = soup_server_get_uris (rc->server);
  rc->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&rc->lock);
  rc->ready = TRUE;
  g_cond_signal (&rc->cond);
  g_mutex_unlock (&rc->lock);

  g_main_loop_run (rc->loop);

  soup_server_disconnect (rc->server);
  g_clear_object (&rc->server);
  while (g_main_context_iteration (rc->context, FALSE));
  g_main_context_pop_thread_default (rc->context);
  return NULL;
}

/* On @port (0: any free one) */
static Receiver *
receiver_new (guint port, Answer answer)
{
  Receiver *rc = g_new0 (Receiver, 1);

  g_mutex_init (&rc->lock);
  g_cond_init (&rc->cond);
  rc->answer = answer;
  rc->port = port;
  rc->requests = g_ptr_array_new_with_free_func ((GDestroyNotify)
      request_free);
  rc->stalled = g_ptr_array_new ();
  rc->context = g_main_context_new ();
  rc->loop = g_main_loop_new (rc->context, FALSE);
  rc->thread = g_thread_new ("receiver", receiver_thread, rc);
  g_mutex_lock (&rc->lock);
  while (!rc->ready)
    g_cond_wait (&rc->cond, &rc->lock);
  g_mutex_unlock (&rc->lock);
  rc->url = g_strdup_printf ("http://127.0.0.1:%u/hook", rc->port);
  return rc;
}

static guint
receiver_n_requests (Receiver * rc)
{
  guint n;

  g_mutex_lock (&rc->lock);
  n = rc->requests->len;
  g_mutex_unlock (&rc->lock);
  return n;
}

/* Valid until the receiver is freed */
static Request *
receiver_get (Receiver * rc, guint i)
{
  Request *r;

  g_mutex_lock (&rc->lock);
  fail_unless (i < rc->requests->len);
  r = g_ptr_array_index (rc->requests, i);
  g_mutex_unlock (&rc->lock);
  return r;
}

static gboolean
release_cb (gpointer user_data)
{
  Receiver *rc = user_data;
  GPtrArray *stalled;
  guint i;

  g_mutex_lock (&rc->lock);
  rc->answer = ANSWER_OK;
  stalled = rc->stalled;
  rc->stalled = g_ptr_array_new ();
  g_mutex_unlock (&rc->lock);

  for (i = 0; i < stalled->len; i++) {
    SoupServerMessage *msg = g_ptr_array_index (stalled, i);

    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_unpause (msg);
    g_object_unref (msg);
  }
  g_ptr_array_free (stalled, TRUE);
  return G_SOURCE_REMOVE;
}

/* Answers the stalled requests with 200, and the next ones too */
static void
receiver_release (Receiver * rc)
{
  g_main_context_invoke (rc->context, release_cb, rc);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
receiver_free (Receiver * rc)
{
  g_main_context_invoke (rc->context, release_cb, rc);
  g_main_context_invoke (rc->context, quit_cb, rc->loop);
  g_thread_join (rc->thread);
  g_main_loop_unref (rc->loop);
  g_main_context_unref (rc->context);
  g_ptr_array_free (rc->requests, TRUE);
  g_ptr_array_free (rc->stalled, TRUE);
  g_mutex_clear (&rc->lock);
  g_cond_clear (&rc->cond);
  g_free (rc->url);
  g_free (rc);
}

/* --- checks --- */

/* HMAC-SHA256 of @data with @key, by openssl, in hex */
static gchar *
openssl_hmac (const gchar * key, const gchar * data)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *path = g_build_filename (tmpdir, "signed", NULL);
  gchar *out = NULL, *space;
  gint status;
  const gchar *argv[] = { "openssl", "dgst", "-sha256", "-hmac", key, "-r",
    path, NULL
  };

  fail_unless (g_file_set_contents (path, data, -1, &err), "%s",
      err ? err->message : "");
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
          NULL, &status, &err), "openssl: %s", err ? err->message : "");
  fail_unless (g_spawn_check_wait_status (status, NULL), "openssl failed");
  space = strchr (out, ' ');
  fail_unless (space != NULL, "openssl printed '%s'", out);
  *space = '\0';
  return out;
}

/* Checks the Webhook-Signature of @r against @key; returns its time */
static gint64
check_signature (Request * r, const gchar * key)
{
  g_autoptr (GRegex) re = NULL;
  g_autoptr (GMatchInfo) mi = NULL;
  g_autofree gchar *time_s = NULL;
  g_autofree gchar *sig = NULL;
  g_autofree gchar *signed_data = NULL;
  g_autofree gchar *expected = NULL;
  g_autofree gchar *other = NULL;

  fail_unless (r->signature != NULL, "no Webhook-Signature header");
  re = g_regex_new ("^time=([0-9]+),sig1=([0-9a-f]{64})$", 0, 0, NULL);
  fail_unless (g_regex_match (re, r->signature, 0, &mi),
      "Webhook-Signature: '%s'", r->signature);
  time_s = g_match_info_fetch (mi, 1);
  sig = g_match_info_fetch (mi, 2);
  signed_data = g_strdup_printf ("%s.%s", time_s, r->body);
  expected = openssl_hmac (key, signed_data);
  fail_unless_equals_string (sig, expected);
  /* and another key gives another signature */
  other = openssl_hmac ("not the secret", signed_data);
  fail_if (g_str_equal (sig, other));
  return g_ascii_strtoll (time_s, NULL, 10);
}

static JsonObject *
parse_object (JsonParser * parser, const gchar * body)
{
  g_autoptr (GError) err = NULL;

  fail_unless (json_parser_load_from_data (parser, body, -1, &err),
      "not JSON: %s: %s", err ? err->message : "", body);
  fail_unless (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* The member names of @obj, sorted, comma separated */
static gchar *
member_names (JsonObject * obj)
{
  GList *names = json_object_get_members (obj), *l;
  GString *s = g_string_new (NULL);

  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (l = names; l; l = l->next)
    g_string_append_printf (s, "%s%s", s->len ? "," : "",
        (const gchar *) l->data);
  g_list_free (names);
  return g_string_free (s, FALSE);
}

/* Checks Cloudflare's live-input notification shape */
static void
check_live_payload (Request * r, const gchar * event_type, gint64 t0, gint64 t1)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GRegex) re = NULL;
  g_autofree gchar *names = NULL;
  g_autofree gchar *data_names = NULL;
  g_autofree gchar *text = NULL;
  JsonObject *obj, *data;
  const gchar *updated_at;
  gint64 ts;

  fail_unless_equals_string (r->content_type, "application/json");
  obj = parse_object (parser, r->body);
  names = member_names (obj);
  fail_unless_equals_string (names, "data,name,text,ts");
  fail_unless_equals_string (json_object_get_string_member (obj, "name"),
      "Stream Live Input");
  ts = json_object_get_int_member (obj, "ts");
  fail_unless (ts >= t0 && ts <= t1, "ts %" G_GINT64_FORMAT, ts);

  data = json_object_get_object_member (obj, "data");
  data_names = member_names (data);
  if (g_str_equal (event_type, "live_input.errored")) {
    fail_unless_equals_string (data_names, "event_type,input_id,"
        "live_input_errored,notification_name,updated_at");
  } else {
    fail_unless_equals_string (data_names,
        "event_type,input_id,notification_name,updated_at");
  }
  fail_unless_equals_string (json_object_get_string_member (data,
          "notification_name"), "Stream Live Input");
  fail_unless_equals_string (json_object_get_string_member (data,
          "input_id"), INPUT_UID);
  fail_unless_equals_string (json_object_get_string_member (data,
          "event_type"), event_type);
  updated_at = json_object_get_string_member (data, "updated_at");
  re = g_regex_new ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z$",
      0, 0, NULL);
  fail_unless (g_regex_match (re, updated_at, 0, NULL), "updated_at %s",
      updated_at);

  text = g_strdup_printf ("Notification type: Stream Live Input\n"
      "Input ID: %s\nEvent type: %s\nUpdated at: %s", INPUT_UID, event_type,
      updated_at);
  fail_unless (g_str_has_prefix (json_object_get_string_member (obj, "text"),
          text), "text: %s", json_object_get_string_member (obj, "text"));
}

static CfWebhooks *
webhooks_new (const gchar * url)
{
  CfWebhooks *wh = cf_webhooks_new ();

  cf_webhooks_configure (wh, url, SECRET);
  return wh;
}

static void
check_stats (CfWebhooks * wh, guint64 delivered, guint64 failed, guint queued)
{
  guint64 d, f;
  guint q;

  cf_webhooks_get_stats (wh, &d, &f, &q);
  fail_unless_equals_uint64 (d, delivered);
  fail_unless_equals_uint64 (f, failed);
  fail_unless_equals_int (q, queued);
}

static gboolean
delivered_is (CfWebhooks * wh, guint64 n)
{
  guint64 d;

  cf_webhooks_get_stats (wh, &d, NULL, NULL);
  return d == n;
}

/* --- tests --- */

#define VIDEO_JSON "{\"uid\":\"ea95132c15732412d22c1476fa83f27a\"," \
  "\"liveInput\":\"" INPUT_UID "\",\"readyToStream\":true," \
  "\"status\":{\"state\":\"ready\",\"errorReasonCode\":\"\"}," \
  "\"duration\":12.5,\"meta\":{\"name\":\"caf\\u00e9 \\\"live\\\"\"}}"

GST_START_TEST (test_payloads_and_signature)
{
  Receiver *rc = receiver_new (0, ANSWER_OK);
  CfWebhooks *wh = webhooks_new (rc->url);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj, *errored, *error;
  gint64 t0 = g_get_real_time () / G_USEC_PER_SEC, t1, sig_time;
  guint i;

  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_live_input_event (wh, "live_input.errored", INPUT_UID,
      "ERR_GOP_OUT_OF_RANGE",
      "Input GOP size or keyframe interval is out of range.", "h264", "");
  cf_webhooks_live_input_event (wh, "live_input.disconnected", INPUT_UID,
      NULL, NULL, NULL, NULL);
  cf_webhooks_video_event (wh, VIDEO_JSON);
  fail_unless (CFTEST_WAIT (delivered_is (wh, 4), 10));
  t1 = g_get_real_time () / G_USEC_PER_SEC;
  check_stats (wh, 4, 0, 0);
  fail_unless_equals_int (receiver_n_requests (rc), 4);

  /* in the order of the calls, each signed */
  for (i = 0; i < 4; i++) {
    sig_time = check_signature (receiver_get (rc, i), SECRET);
    fail_unless (sig_time >= t0 && sig_time <= t1);
  }
  check_live_payload (receiver_get (rc, 0), "live_input.connected", t0, t1);
  check_live_payload (receiver_get (rc, 1), "live_input.errored", t0, t1);
  check_live_payload (receiver_get (rc, 2), "live_input.disconnected", t0, t1);

  obj = parse_object (parser, receiver_get (rc, 1)->body);
  errored = json_object_get_object_member (json_object_get_object_member (obj,
          "data"), "live_input_errored");
  error = json_object_get_object_member (errored, "error");
  fail_unless_equals_string (json_object_get_string_member (error, "code"),
      "ERR_GOP_OUT_OF_RANGE");
  fail_unless_equals_string (json_object_get_string_member (error, "message"),
      "Input GOP size or keyframe interval is out of range.");
  fail_unless_equals_string (json_object_get_string_member (errored,
          "video_codec"), "h264");
  fail_unless_equals_string (json_object_get_string_member (errored,
          "audio_codec"), "");

  /* the video notification is the Video object as it was given */
  fail_unless_equals_string (receiver_get (rc, 3)->body, VIDEO_JSON);
  fail_unless_equals_string (receiver_get (rc, 3)->content_type,
      "application/json");

  /* not an object: refused, nothing sent */
  cf_webhooks_video_event (wh, "[1,2]");
  cf_webhooks_video_event (wh, "{\"uid\":");
  check_stats (wh, 4, 2, 0);

  cf_webhooks_free (wh);
  fail_unless_equals_int (receiver_n_requests (rc), 4);
  receiver_free (rc);
}

GST_END_TEST;

GST_START_TEST (test_retry_on_server_error)
{
  Receiver *rc = receiver_new (0, ANSWER_500);
  CfWebhooks *wh = webhooks_new (rc->url);
  Request *a, *b, *c;
  gdouble gap1, gap2;
  guint i;

  rc->fail_first = 2;
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (delivered_is (wh, 1), 15));
  check_stats (wh, 1, 0, 0);
  fail_unless_equals_int (receiver_n_requests (rc), 3);

  /* the same body each time, signed again at each attempt */
  a = receiver_get (rc, 0);
  b = receiver_get (rc, 1);
  c = receiver_get (rc, 2);
  for (i = 0; i < 3; i++)
    check_signature (receiver_get (rc, i), SECRET);
  fail_unless_equals_string (a->body, b->body);
  fail_unless_equals_string (a->body, c->body);
  /* a backoff that grows: 1 s, then 2 s */
  gap1 = (b->wall - a->wall) / 1e6;
  gap2 = (c->wall - b->wall) / 1e6;
  fail_unless (gap1 >= 0.9, "first retry after %.2f s", gap1);
  fail_unless (gap2 >= 1.8, "second retry after %.2f s", gap2);

  /* a 4xx is final: one attempt, failed */
  g_mutex_lock (&rc->lock);
  rc->answer = ANSWER_400;
  g_mutex_unlock (&rc->lock);
  cf_webhooks_live_input_event (wh, "live_input.disconnected", INPUT_UID,
      NULL, NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (receiver_n_requests (rc) == 4, 10));
  {
    guint64 failed = 0;
    fail_unless (CFTEST_WAIT ((cf_webhooks_get_stats (wh, NULL, &failed,
                    NULL), failed == 1), 10));
  }
  g_usleep (1500 * 1000);
  fail_unless_equals_int (receiver_n_requests (rc), 4);
  check_stats (wh, 1, 1, 0);

  cf_webhooks_free (wh);
  receiver_free (rc);
}

GST_END_TEST;

GST_START_TEST (test_retry_on_connection_refused)
{
  guint port = cftest_free_port ();
  g_autofree gchar *url = g_strdup_printf ("http://127.0.0.1:%u/hook", port);
  CfWebhooks *wh = webhooks_new (url);
  Receiver *rc;

  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  /* the first attempt and the retry after 1 s find nobody */
  g_usleep (1500 * 1000);
  check_stats (wh, 0, 0, 1);

  rc = receiver_new (port, ANSWER_OK);
  fail_unless (CFTEST_WAIT (delivered_is (wh, 1), 10));
  check_stats (wh, 1, 0, 0);
  fail_unless_equals_int (receiver_n_requests (rc), 1);
  check_signature (receiver_get (rc, 0), SECRET);
  check_live_payload (receiver_get (rc, 0), "live_input.connected", 0,
      G_MAXINT64);

  cf_webhooks_free (wh);
  receiver_free (rc);
}

GST_END_TEST;

/* A receiver that never answers: the callers are not held up, the queue
 * stays bounded, the oldest waiting events go first */
GST_START_TEST (test_queue_bound)
{
  Receiver *rc = receiver_new (0, ANSWER_STALL);
  CfWebhooks *wh = webhooks_new (rc->url);
  g_autoptr (JsonParser) parser = json_parser_new ();
  const guint extra = 10, n = CF_WEBHOOKS_MAX_QUEUED + extra;
  gchar uid[33];
  guint i;

  cf_webhooks_live_input_event (wh, "live_input.connected", "first", NULL,
      NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (receiver_n_requests (rc) == 1, 10));

  for (i = 0; i < n; i++) {
    g_snprintf (uid, sizeof (uid), "%032u", i);
    cf_webhooks_live_input_event (wh, "live_input.disconnected", uid, NULL,
        NULL, NULL, NULL);
  }
  check_stats (wh, 0, extra, CF_WEBHOOKS_MAX_QUEUED + 1);
  fail_unless_equals_int (receiver_n_requests (rc), 1);

  receiver_release (rc);
  fail_unless (CFTEST_WAIT (delivered_is (wh, CF_WEBHOOKS_MAX_QUEUED + 1), 30));
  check_stats (wh, CF_WEBHOOKS_MAX_QUEUED + 1, extra, 0);
  fail_unless_equals_int (receiver_n_requests (rc), CF_WEBHOOKS_MAX_QUEUED + 1);

  /* the first, then the newest ones in order */
  for (i = 0; i <= CF_WEBHOOKS_MAX_QUEUED; i++) {
    JsonObject *data = json_object_get_object_member (parse_object (parser,
            receiver_get (rc, i)->body), "data");
    const gchar *got = json_object_get_string_member (data, "input_id");

    if (i == 0) {
      fail_unless_equals_string (got, "first");
      continue;
    }
    g_snprintf (uid, sizeof (uid), "%032u", extra + i - 1);
    fail_unless_equals_string (got, uid);
  }

  cf_webhooks_free (wh);
  receiver_free (rc);
}

GST_END_TEST;

GST_START_TEST (test_configure)
{
  Receiver *a = receiver_new (0, ANSWER_500);
  Receiver *b = receiver_new (0, ANSWER_OK);
  CfWebhooks *wh = cf_webhooks_new ();
  g_autofree gchar *ftp = g_strdup_printf ("ftp://127.0.0.1:%u/hook",
      a->port);

  /* not configured, turned off, or not an http(s) URL: nothing is sent */
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_configure (wh, "", SECRET);
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_configure (wh, ftp, SECRET);
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_video_event (wh, VIDEO_JSON);
  check_stats (wh, 0, 0, 0);

  /* an event retrying against a failing receiver goes to the new URL, with
   * the new secret, as soon as it is configured */
  a->fail_first = 1000;
  cf_webhooks_configure (wh, a->url, "old secret");
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (receiver_n_requests (a) == 1, 10));
  check_signature (receiver_get (a, 0), "old secret");
  cf_webhooks_configure (wh, b->url, SECRET);
  fail_unless (CFTEST_WAIT (delivered_is (wh, 1), 5));
  fail_unless_equals_int (receiver_n_requests (b), 1);
  check_signature (receiver_get (b, 0), SECRET);
  fail_unless_equals_int (receiver_n_requests (a), 1);

  /* off while events wait: they are discarded, counted as failed */
  g_mutex_lock (&b->lock);
  b->answer = ANSWER_STALL;
  g_mutex_unlock (&b->lock);
  cf_webhooks_live_input_event (wh, "live_input.disconnected", INPUT_UID,
      NULL, NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (receiver_n_requests (b) == 2, 10));
  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_live_input_event (wh, "live_input.disconnected", INPUT_UID,
      NULL, NULL, NULL, NULL);
  check_stats (wh, 1, 0, 3);
  cf_webhooks_configure (wh, NULL, NULL);
  check_stats (wh, 1, 2, 1);
  receiver_release (b);
  fail_unless (CFTEST_WAIT (delivered_is (wh, 2), 10));
  check_stats (wh, 2, 2, 0);
  fail_unless_equals_int (receiver_n_requests (b), 2);

  cf_webhooks_free (wh);
  receiver_free (a);
  receiver_free (b);
}

GST_END_TEST;

#define N_THREADS 4
#define N_PER_THREAD 200

static gpointer
sender_thread (gpointer data)
{
  CfWebhooks *wh = data;
  gchar uid[33];
  guint i;

  for (i = 0; i < N_PER_THREAD; i++) {
    g_snprintf (uid, sizeof (uid), "%p-%u", (gpointer) g_thread_self (), i);
    cf_webhooks_live_input_event (wh, "live_input.connected", uid, NULL, NULL,
        NULL, NULL);
  }
  return NULL;
}

/* Callers on several threads at once: every event delivered once */
GST_START_TEST (test_many_threads)
{
  Receiver *rc = receiver_new (0, ANSWER_OK);
  CfWebhooks *wh = webhooks_new (rc->url);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash,
      g_str_equal, g_free, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  GThread *threads[N_THREADS];
  guint i;

  for (i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("sender", sender_thread, wh);
  for (i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  fail_unless (CFTEST_WAIT (delivered_is (wh, N_THREADS * N_PER_THREAD), 30));
  check_stats (wh, N_THREADS * N_PER_THREAD, 0, 0);
  fail_unless_equals_int (receiver_n_requests (rc), N_THREADS * N_PER_THREAD);
  for (i = 0; i < N_THREADS * N_PER_THREAD; i++) {
    JsonObject *data = json_object_get_object_member (parse_object (parser,
            receiver_get (rc, i)->body), "data");

    fail_unless (g_hash_table_add (seen,
            g_strdup (json_object_get_string_member (data, "input_id"))));
  }

  cf_webhooks_free (wh);
  receiver_free (rc);
}

GST_END_TEST;

/* Freeing does not wait for a receiver that does not answer */
GST_START_TEST (test_free_while_stalled)
{
  Receiver *rc = receiver_new (0, ANSWER_STALL);
  CfWebhooks *wh = webhooks_new (rc->url);

  cf_webhooks_live_input_event (wh, "live_input.connected", INPUT_UID, NULL,
      NULL, NULL, NULL);
  cf_webhooks_live_input_event (wh, "live_input.disconnected", INPUT_UID,
      NULL, NULL, NULL, NULL);
  fail_unless (CFTEST_WAIT (receiver_n_requests (rc) == 1, 10));
  cf_webhooks_free (wh);
  fail_unless_equals_int (receiver_n_requests (rc), 1);
  receiver_free (rc);
}

GST_END_TEST;

static Suite *
webhooks_suite (void)
{
  Suite *s = suite_create ("integration-server-webhooks");
  TCase *tc = tcase_create ("webhooks");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_payloads_and_signature);
  tcase_add_test (tc, test_retry_on_server_error);
  tcase_add_test (tc, test_retry_on_connection_refused);
  tcase_add_test (tc, test_queue_bound);
  tcase_add_test (tc, test_configure);
  tcase_add_test (tc, test_many_threads);
  tcase_add_test (tc, test_free_while_stalled);
  return s;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *openssl = g_find_program_in_path ("openssl");
  Suite *s;
  gint ret;

  gst_check_init (&argc, &argv);
  if (!openssl) {
    g_printerr ("openssl is missing\n");
    return 77;
  }
  tmpdir = g_dir_make_tmp ("cflive-webhooks-XXXXXX", &err);
  if (!tmpdir) {
    g_printerr ("cannot make a temporary directory: %s\n", err->message);
    return 1;
  }
  s = webhooks_suite ();
  ret = gst_check_run_suite (s, "integration-server-webhooks", __FILE__);
  {
    g_autofree gchar *signed_path = g_build_filename (tmpdir, "signed", NULL);
    g_unlink (signed_path);
    g_rmdir (tmpdir);
  }
  return ret;
}
