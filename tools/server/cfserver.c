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
#include <errno.h>
#include <time.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <gst/cflive/cflive.h>

#include "cfserver.h"
#include "cfstore.h"
#include "cfbody.h"
#include "cfmedia.h"
#include "cfmetrics.h"
#include "cfwebhooks.h"

/* Error codes of the API (errors[].code); see docs/cflive-server.md */
#define ERR_NO_ROUTE 7003
#define ERR_METHOD 7001
#define ERR_AUTH_MISSING 10000
#define ERR_AUTH_FAILED 10001
#define ERR_ACCOUNT 10002
#define ERR_INPUT_NOT_FOUND 10003
#define ERR_OUTPUT_NOT_FOUND 10004
#define ERR_VIDEO_NOT_FOUND 10005
#define ERR_BAD_JSON 10006
#define ERR_BAD_FIELD 10007
#define ERR_INPUT_LIMIT 10008
#define ERR_OUTPUT_LIMIT 10009
#define ERR_TOO_LARGE 10010
#define ERR_BAD_QUERY 10011
#define ERR_WEBHOOK_NOT_FOUND 10012
#define ERR_CONFLICT 10013
#define ERR_STORAGE 10014
#define ERR_MEDIA 10015

#define MAX_BODY (1024 * 1024)
#define MAX_HISTORY 50
#define RETENTION_INTERVAL 60
/* the same ERR_* is sent as live_input.errored at most once in this time */
#define ERRORED_REPEAT_US (60 * G_USEC_PER_SEC)

struct _CfServer
{
  CfServerConfig cfg;
  gchar *recordings_dir;
  gchar *public_url;
  CfStore *store;
  CfMetrics *metrics;
  CfWebhooks *webhooks;
  SoupServer *soup;
  CfMediaConfig media_cfg;
  GstElement *ports;            /* holds the RTMP and SRT listeners */

  GHashTable *inputs;           /* uid -> CfInput */
  GQueue order;                 /* CfInput, by creation */
  GHashTable *videos;           /* uid -> CfVideo */

  gchar *account_id;
  gchar *token_hash;
  gchar *key_hash;
  gchar *auth_email;
  gchar *generated_token;
  gchar *generated_key;
  gchar *webhook_url;
  gchar *webhook_secret;
  gint64 webhook_modified;

  guint retention_id;
};

/* --- small helpers --- */

static gchar *
format_time (gint64 us)
{
  time_t secs = us / G_USEC_PER_SEC;
  struct tm tm;

  gmtime_r (&secs, &tm);
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
      tm.tm_sec, (gint) (us % G_USEC_PER_SEC));
}

static gint64
parse_time (const gchar * s)
{
  g_autoptr (GDateTime) dt = NULL;

  if (!s)
    return -1;
  dt = g_date_time_new_from_iso8601 (s, NULL);
  if (!dt)
    return -1;
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC +
      g_date_time_get_microsecond (dt);
}

static gchar *
new_uid (void)
{
  return gst_cflive_secret_new_hex (16);
}

static gchar *
new_secret (const gchar * uid)
{
  g_autofree gchar *hex = gst_cflive_secret_new_hex (16);

  return g_strdup_printf ("%sk%s", hex, uid);
}

static gchar *
sha256 (const gchar * s)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
}

static gboolean
is_uid (const gchar * s)
{
  gsize n = 0;

  for (; *s; s++, n++)
    if (!g_ascii_isxdigit (*s) || g_ascii_isupper (*s))
      return FALSE;
  return n == 32;
}

static JsonNode *
node_new_object (JsonObject * o)
{
  JsonNode *n = json_node_alloc ();

  json_node_init_object (n, o);
  json_object_unref (o);
  return n;
}

static JsonNode *
node_new_array (JsonArray * a)
{
  JsonNode *n = json_node_alloc ();

  json_node_init_array (n, a);
  json_array_unref (a);
  return n;
}

static JsonNode *
parse_json (const gchar * text)
{
  g_autoptr (JsonParser) p = json_parser_new ();

  if (!text || !json_parser_load_from_data (p, text, -1, NULL))
    return NULL;
  return json_node_copy (json_parser_get_root (p));
}

static gchar *
node_to_string (JsonNode * n)
{
  return json_to_string (n, FALSE);
}

static void
set_time_member (JsonObject * o, const gchar * name, gint64 us)
{
  g_autofree gchar *t = format_time (us);

  json_object_set_string_member (o, name, t);
}

/* --- replies --- */

static void
reply_json (SoupServerMessage * msg, guint status, JsonNode * root)
{
  gchar *body = node_to_string (root);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, body, strlen (body));
}

static JsonObject *
envelope (gboolean success)
{
  JsonObject *o = json_object_new ();

  json_object_set_boolean_member (o, "success", success);
  json_object_set_array_member (o, "errors", json_array_new ());
  json_object_set_array_member (o, "messages", json_array_new ());
  return o;
}

static void
reply_error (SoupServerMessage * msg, guint status, gint code,
    const gchar * format, ...)
G_GNUC_PRINTF (4, 5);

     static void
         reply_error (SoupServerMessage * msg, guint status, gint code,
    const gchar * format, ...)
{
  JsonObject *o = envelope (FALSE);
  JsonObject *e = json_object_new ();
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) root = NULL;
  va_list ap;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  json_object_set_int_member (e, "code", code);
  json_object_set_string_member (e, "message", text);
  json_array_add_object_element (json_object_get_array_member (o, "errors"), e);
  json_object_set_null_member (o, "result");
  root = node_new_object (o);
  reply_json (msg, status, root);
}

/* takes @result (NULL: null); @extra members are added to the envelope */
static void
reply_result (SoupServerMessage * msg, JsonNode * result, JsonObject * extra)
{
  JsonObject *o = envelope (TRUE);
  g_autoptr (JsonNode) root = NULL;

  if (result)
    json_object_set_member (o, "result", result);
  else
    json_object_set_null_member (o, "result");
  if (extra) {
    JsonObjectIter it;
    const gchar *name;
    JsonNode *n;

    json_object_iter_init (&it, extra);
    while (json_object_iter_next (&it, &name, &n))
      json_object_set_member (o, name, json_node_copy (n));
    json_object_unref (extra);
  }
  root = node_new_object (o);
  reply_json (msg, SOUP_STATUS_OK, root);
}

/* Cloudflare answers its DELETEs with 200 and no body */
static void
reply_empty (SoupServerMessage * msg)
{
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

static void
reply_storage_error (SoupServerMessage * msg, GError * err)
{
  g_printerr ("database: %s\n", err ? err->message : "failed");
  reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, ERR_STORAGE,
      "The change could not be stored; nothing was changed: %s",
      err ? err->message : "database error");
}

/* --- objects --- */

static const gchar *
public_host (CfServer * s)
{
  return s->cfg.public_host;
}

static JsonNode *
status_to_json (CfInput * in)
{
  JsonObject *o, *c;
  JsonArray *h;
  guint i;

  if (!in->current)
    return json_node_new (JSON_NODE_NULL);

  o = json_object_new ();
  c = json_object_new ();
  json_object_set_string_member (c, "state", in->current->state);
  json_object_set_string_member (c, "reason", in->current->reason);
  set_time_member (c, "statusEnteredAt", in->current->entered);
  set_time_member (c, "statusLastSeen", in->connected ?
      g_get_real_time () : in->current->last_seen);
  json_object_set_object_member (o, "current", c);
  h = json_array_new ();
  for (i = 0; i < in->history->len; i++) {
    CfStatusEntry *e = g_ptr_array_index (in->history, i);
    JsonObject *eo = json_object_new ();

    json_object_set_string_member (eo, "state", e->state);
    json_object_set_string_member (eo, "reason", e->reason);
    set_time_member (eo, "statusEnteredAt", e->entered);
    set_time_member (eo, "statusLastSeen", e->last_seen);
    json_array_add_object_element (h, eo);
  }
  json_object_set_array_member (o, "history", h);
  return node_new_object (o);
}

static void
set_json_text_member (JsonObject * o, const gchar * name, const gchar * text)
{
  JsonNode *n = text ? parse_json (text) : NULL;

  if (n)
    json_object_set_member (o, name, n);
  else
    json_object_set_null_member (o, name);
}

static JsonObject *
recording_to_json (CfInput * in)
{
  JsonObject *r = json_object_new ();

  json_object_set_string_member (r, "mode",
      in->rec_automatic ? "automatic" : "off");
  json_object_set_int_member (r, "timeoutSeconds", in->rec_timeout);
  json_object_set_boolean_member (r, "requireSignedURLs",
      in->rec_require_signed);
  set_json_text_member (r, "allowedOrigins", in->rec_allowed_origins_json);
  json_object_set_boolean_member (r, "hideLiveViewerCount",
      in->rec_hide_viewers);
  return r;
}

static void
set_delete_after (JsonObject * o, CfInput * in)
{
  if (!in->has_delete_after)
    json_object_set_null_member (o, "deleteRecordingAfterDays");
  else if (in->delete_after_days == (gint64) in->delete_after_days)
    json_object_set_int_member (o, "deleteRecordingAfterDays",
        (gint64) in->delete_after_days);
  else
    json_object_set_double_member (o, "deleteRecordingAfterDays",
        in->delete_after_days);
}

static JsonNode *
input_to_json (CfServer * s, CfInput * in, gboolean full)
{
  JsonObject *o = json_object_new ();
  JsonObject *c;
  g_autofree gchar *rtmp_url = NULL;
  g_autofree gchar *srt_url = NULL;

  json_object_set_string_member (o, "uid", in->uid);
  set_time_member (o, "created", in->created);
  set_time_member (o, "modified", in->modified);
  set_json_text_member (o, "meta", in->meta_json);
  set_delete_after (o, in);
  if (!full)
    return node_new_object (o);

  rtmp_url = g_strdup_printf ("%s://%s:%u/live/",
      s->cfg.tls_certificate ? "rtmps" : "rtmp", public_host (s),
      s->cfg.rtmp_port);
  srt_url = g_strdup_printf ("srt://%s:%u", public_host (s), s->cfg.srt_port);

  c = json_object_new ();
  json_object_set_string_member (c, "url", rtmp_url);
  json_object_set_string_member (c, "streamKey", in->rtmps_key);
  json_object_set_object_member (o, "rtmps", c);
  c = json_object_new ();
  json_object_set_string_member (c, "url", rtmp_url);
  json_object_set_string_member (c, "streamKey", in->rtmps_playback_key);
  json_object_set_object_member (o, "rtmpsPlayback", c);
  c = json_object_new ();
  json_object_set_string_member (c, "url", srt_url);
  json_object_set_string_member (c, "streamId", in->uid);
  json_object_set_string_member (c, "passphrase", in->srt_passphrase);
  json_object_set_object_member (o, "srt", c);
  c = json_object_new ();
  {
    g_autofree gchar *pid = g_strdup_printf ("play%s", in->uid);

    json_object_set_string_member (c, "url", srt_url);
    json_object_set_string_member (c, "streamId", pid);
  }
  json_object_set_string_member (c, "passphrase", in->srt_playback_passphrase);
  json_object_set_object_member (o, "srtPlayback", c);
  c = json_object_new ();
  {
    g_autofree gchar *u = g_strdup_printf ("%s/%s/webRTC/publish",
        s->public_url, in->webrtc_secret);

    json_object_set_string_member (c, "url", u);
  }
  json_object_set_object_member (o, "webRTC", c);
  c = json_object_new ();
  {
    g_autofree gchar *u = g_strdup_printf ("%s/%s/webRTC/play",
        s->public_url, in->uid);

    json_object_set_string_member (c, "url", u);
  }
  json_object_set_object_member (o, "webRTCPlayback", c);
  json_object_set_member (o, "status", status_to_json (in));
  json_object_set_object_member (o, "recording", recording_to_json (in));
  json_object_set_boolean_member (o, "enabled", in->enabled);
  json_object_set_boolean_member (o, "preferLowLatency",
      in->prefer_low_latency);
  if (in->default_creator)
    json_object_set_string_member (o, "defaultCreator", in->default_creator);
  if (in->keys_rotated_at)
    set_time_member (o, "keysRotatedAt", in->keys_rotated_at);
  else
    json_object_set_null_member (o, "keysRotatedAt");
  return node_new_object (o);
}

static JsonNode *
output_to_json (CfLiveOutput * out)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "uid", out->uid);
  json_object_set_string_member (o, "url", out->url);
  json_object_set_string_member (o, "streamKey", out->stream_key);
  json_object_set_boolean_member (o, "enabled", out->enabled);
  return node_new_object (o);
}

static JsonNode *
video_to_json (CfServer * s, CfVideo * v)
{
  JsonNode *n = parse_json (v->json);
  JsonObject *o, *pb;
  g_autofree gchar *hls = NULL;
  g_autofree gchar *mp4 = NULL;

  if (!n || !JSON_NODE_HOLDS_OBJECT (n)) {
    if (n)
      json_node_unref (n);
    n = node_new_object (json_object_new ());
  }
  o = json_node_get_object (n);
  if (v->overrides) {
    g_autoptr (JsonNode) ov = parse_json (v->overrides);

    if (ov && JSON_NODE_HOLDS_OBJECT (ov)) {
      JsonObjectIter it;
      const gchar *name;
      JsonNode *m;

      json_object_iter_init (&it, json_node_get_object (ov));
      while (json_object_iter_next (&it, &name, &m))
        json_object_set_member (o, name, json_node_copy (m));
    }
  }
  json_object_set_string_member (o, "uid", v->uid);
  if (v->input_uid)
    json_object_set_string_member (o, "liveInput", v->input_uid);
  hls = g_strdup_printf ("%s/%s/manifest/video.m3u8", s->public_url, v->uid);
  pb = json_object_new ();
  json_object_set_string_member (pb, "hls", hls);
  json_object_set_object_member (o, "playback", pb);
  if (v->delete_at > 0)
    set_time_member (o, "scheduledDeletion", v->delete_at);
  {
    g_autofree gchar *path = g_build_filename (s->recordings_dir, v->uid,
        "video.mp4", NULL);

    if (g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      JsonObject *d = json_object_new ();

      mp4 = g_strdup_printf ("%s/%s/downloads/default.mp4", s->public_url,
          v->uid);
      json_object_set_string_member (d, "url", mp4);
      json_object_set_string_member (d, "status", "ready");
      json_object_set_object_member (o, "download", d);
    }
  }
  /* cfrecordsink names the file relative to its directory */
  if (json_object_has_member (o, "downloads") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "downloads"))) {
    JsonObject *dl = json_object_get_object_member (o, "downloads");

    if (json_object_has_member (dl, "default") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (dl, "default"))) {
      g_autofree gchar *url = g_strdup_printf ("%s/%s/downloads/default.mp4",
          s->public_url, v->uid);

      json_object_set_string_member (json_object_get_object_member (dl,
              "default"), "url", url);
    }
  }
  return n;
}

/* parses the request body: a JSON object, or empty when @allow_empty;
 * replies with the error itself and returns NULL otherwise */
static JsonNode *
read_body (SoupServerMessage * msg, gboolean allow_empty)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (GError) err = NULL;
  gsize len;
  const gchar *data = g_bytes_get_data (bytes, &len);
  JsonNode *root = cf_body_parse (data, len, allow_empty, &err);

  if (!root)
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_JSON, "%s",
        err->message);
  return root;
}

/* --- live inputs: copies for transactional updates --- */

static CfInput *
input_clone (CfInput * in)
{
  CfInput *c = cf_input_new ();
  guint i;

  c->uid = g_strdup (in->uid);
  c->created = in->created;
  c->modified = in->modified;
  g_free (c->meta_json);
  c->meta_json = g_strdup (in->meta_json);
  c->default_creator = g_strdup (in->default_creator);
  c->has_delete_after = in->has_delete_after;
  c->delete_after_days = in->delete_after_days;
  c->rec_automatic = in->rec_automatic;
  c->rec_timeout = in->rec_timeout;
  c->rec_require_signed = in->rec_require_signed;
  c->rec_allowed_origins_json = g_strdup (in->rec_allowed_origins_json);
  c->rec_hide_viewers = in->rec_hide_viewers;
  c->enabled = in->enabled;
  c->prefer_low_latency = in->prefer_low_latency;
  c->rtmps_key = g_strdup (in->rtmps_key);
  c->rtmps_playback_key = g_strdup (in->rtmps_playback_key);
  c->srt_passphrase = g_strdup (in->srt_passphrase);
  c->srt_playback_passphrase = g_strdup (in->srt_playback_passphrase);
  c->webrtc_secret = g_strdup (in->webrtc_secret);
  c->keys_rotated_at = in->keys_rotated_at;
  if (in->current) {
    c->current = cf_status_entry_new (in->current->state,
        in->current->reason, in->current->entered);
    c->current->last_seen = in->current->last_seen;
  }
  for (i = 0; i < in->history->len; i++) {
    CfStatusEntry *e = g_ptr_array_index (in->history, i);
    CfStatusEntry *ce = cf_status_entry_new (e->state, e->reason, e->entered);

    ce->last_seen = e->last_seen;
    g_ptr_array_add (c->history, ce);
  }
  return c;
}

#define SWAP(field) G_STMT_START { \
    __typeof__ (a->field) tmp = a->field; a->field = b->field; b->field = tmp; \
  } G_STMT_END

/* the stored settings of @b go to @a (and back) */
static void
input_swap_settings (CfInput * a, CfInput * b)
{
  g_clear_pointer (&a->summary_json, g_free);
  g_clear_pointer (&b->summary_json, g_free);
  SWAP (modified);
  SWAP (meta_json);
  SWAP (default_creator);
  SWAP (has_delete_after);
  SWAP (delete_after_days);
  SWAP (rec_automatic);
  SWAP (rec_timeout);
  SWAP (rec_require_signed);
  SWAP (rec_allowed_origins_json);
  SWAP (rec_hide_viewers);
  SWAP (enabled);
  SWAP (prefer_low_latency);
  SWAP (rtmps_key);
  SWAP (rtmps_playback_key);
  SWAP (srt_passphrase);
  SWAP (srt_playback_passphrase);
  SWAP (webrtc_secret);
  SWAP (keys_rotated_at);
}

#undef SWAP

static void
input_new_secrets (CfInput * in)
{
  g_free (in->rtmps_key);
  g_free (in->rtmps_playback_key);
  g_free (in->srt_passphrase);
  g_free (in->srt_playback_passphrase);
  g_free (in->webrtc_secret);
  in->rtmps_key = new_secret (in->uid);
  in->rtmps_playback_key = new_secret (in->uid);
  in->srt_passphrase = new_secret (in->uid);
  in->srt_playback_passphrase = new_secret (in->uid);
  in->webrtc_secret = new_secret (in->uid);
}

static gint64
delete_after_seconds (CfInput * in)
{
  return in->has_delete_after ? (gint64) (in->delete_after_days * 86400) : -1;
}

/* --- pipelines --- */

static void media_start (CfServer * s, CfInput * in);

static gboolean
store_input (CfServer * s, CfInput * in)
{
  g_autoptr (GError) err = NULL;

  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_input (s->store, in, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    g_printerr ("live input %s: cannot store its status: %s\n", in->uid,
        err ? err->message : "database error");
    return FALSE;
  }
  return TRUE;
}

static void
on_status (gpointer data, const gchar * uid, const gchar * state,
    const gchar * reason, gint64 ts)
{
  CfServer *s = data;
  CfInput *in = g_hash_table_lookup (s->inputs, uid);
  gboolean connected;

  if (!in || !state || !reason)
    return;
  connected = g_str_equal (state, "connected");
  in->connected = connected;

  if (in->current && g_str_equal (in->current->state, state) &&
      g_str_equal (in->current->reason, reason)) {
    in->current->last_seen = ts;
  } else {
    if (in->current) {
      in->current->last_seen = ts;
      g_ptr_array_add (in->history, in->current);
      while (in->history->len > MAX_HISTORY)
        g_ptr_array_remove_index (in->history, 0);
    }
    in->current = cf_status_entry_new (state, reason, ts);
    store_input (s, in);
  }
  cf_metrics_count_event (s->metrics, reason);
  g_print ("live input %s: %s (%s)\n", uid, state, reason);

  if (connected && !in->announced) {
    in->announced = TRUE;
    cf_webhooks_live_input_event (s->webhooks, "live_input.connected", uid,
        NULL, NULL, NULL, NULL);
  } else if (!connected && in->announced) {
    in->announced = FALSE;
    cf_webhooks_live_input_event (s->webhooks, "live_input.disconnected",
        uid, NULL, NULL, NULL, NULL);
  }
}

static void
on_violation (gpointer data, const gchar * uid, const gchar * code,
    const gchar * message, const gchar * video_codec, const gchar * audio_codec)
{
  CfServer *s = data;
  CfInput *in = g_hash_table_lookup (s->inputs, uid);
  gint64 now = g_get_real_time ();

  if (!in || !code)
    return;
  cf_metrics_count_error (s->metrics, code);
  if (g_strcmp0 (in->last_error, code) == 0 &&
      now - in->last_error_at < ERRORED_REPEAT_US)
    return;
  g_free (in->last_error);
  in->last_error = g_strdup (code);
  in->last_error_at = now;
  g_print ("live input %s: %s: %s\n", uid, code, message ? message : "");
  cf_webhooks_live_input_event (s->webhooks, "live_input.errored", uid,
      code, message, video_codec, audio_codec);
}

static void
on_output (gpointer data, const gchar * uid, const gchar * sink_uid,
    const gchar * state, const gchar * error)
{
  CfServer *s = data;
  CfInput *in = g_hash_table_lookup (s->inputs, uid);
  guint i;

  if (!in || !sink_uid)
    return;
  for (i = 0; i < in->outputs->len; i++) {
    CfLiveOutput *out = g_ptr_array_index (in->outputs, i);

    if (g_strcmp0 (out->sink_uid, sink_uid) == 0) {
      g_free (out->state);
      out->state = g_strdup (state);
      if (g_strcmp0 (state, "failed") == 0 ||
          g_strcmp0 (state, "reconnecting") == 0)
        g_print ("live input %s: output %s %s%s%s\n", uid, out->uid, state,
            error && *error ? ": " : "", error ? error : "");
      if (g_strcmp0 (state, "failed") == 0)
        cf_metrics_count_error (s->metrics, "output_failed");
      break;
    }
  }
}

static gchar *
video_dir (CfServer * s, const gchar * uid)
{
  return g_build_filename (s->recordings_dir, uid, NULL);
}

static void
remove_dir (const gchar * path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (!d)
    return;
  while ((name = g_dir_read_name (d))) {
    g_autofree gchar *p = g_build_filename (path, name, NULL);

    if (g_file_test (p, G_FILE_TEST_IS_DIR) &&
        !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      remove_dir (p);
    else
      g_unlink (p);
  }
  g_dir_close (d);
  g_rmdir (path);
}

/* fills @v from the Video object @json; FALSE when it is not one */
static gboolean
video_from_json (CfServer * s, CfVideo * v, const gchar * json)
{
  g_autoptr (JsonNode) n = parse_json (json);
  JsonObject *o, *st;
  gint64 t;

  if (!n || !JSON_NODE_HOLDS_OBJECT (n))
    return FALSE;
  o = json_node_get_object (n);
  if (!v->uid) {
    const gchar *uid = json_object_get_string_member_with_default (o, "uid",
        NULL);

    if (!uid || !is_uid (uid))
      return FALSE;
    v->uid = g_strdup (uid);
  }
  if (!v->input_uid) {
    const gchar *li = json_object_get_string_member_with_default (o,
        "liveInput", NULL);

    v->input_uid = li && *li ? g_strdup (li) : NULL;
  }
  t = parse_time (json_object_get_string_member_with_default (o, "created",
          NULL));
  if (!v->created)
    v->created = t > 0 ? t : g_get_real_time ();
  g_free (v->state);
  v->state = NULL;
  if (json_object_has_member (o, "status") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "status"))) {
    st = json_object_get_object_member (o, "status");
    v->state = g_strdup (json_object_get_string_member_with_default (st,
            "state", NULL));
  }
  if (!v->state)
    v->state = g_strdup ("inprogress");
  t = parse_time (json_object_get_string_member_with_default (o,
          "scheduledDeletion", NULL));
  if (t > 0)
    v->delete_at = t;
  if (v->delete_at == 0 && g_str_equal (v->state, "ready") && v->input_uid) {
    CfInput *in = g_hash_table_lookup (s->inputs, v->input_uid);
    gint64 ready = parse_time (json_object_get_string_member_with_default (o,
            "readyToStreamAt", NULL));

    if (in && in->has_delete_after)
      v->delete_at = (ready > 0 ? ready : g_get_real_time ()) +
          (gint64) (in->delete_after_days * 86400) * G_USEC_PER_SEC;
  }
  g_free (v->json);
  v->json = g_strdup (json);
  return TRUE;
}

/* a recording takes its creator and access settings from its live input
 * (defaultCreator, recording.requireSignedURLs and allowedOrigins) */
static gchar *
video_settings_from_input (CfInput * in)
{
  JsonObject *o = json_object_new ();
  g_autoptr (JsonNode) n = NULL;

  if (in->default_creator)
    json_object_set_string_member (o, "creator", in->default_creator);
  json_object_set_boolean_member (o, "requireSignedURLs",
      in->rec_require_signed);
  if (in->rec_allowed_origins_json)
    set_json_text_member (o, "allowedOrigins", in->rec_allowed_origins_json);
  n = node_new_object (o);
  return node_to_string (n);
}

static gboolean
index_video (CfServer * s, const gchar * json, const gchar * uid,
    const gchar * input_uid)
{
  CfVideo *old = uid ? g_hash_table_lookup (s->videos, uid) : NULL;
  CfVideo *v = cf_video_new ();
  CfInput *in;
  g_autoptr (GError) err = NULL;

  v->uid = g_strdup (uid);
  v->input_uid = g_strdup (input_uid);
  if (old) {
    v->created = old->created;
    v->delete_at = old->delete_at;
    v->overrides = g_strdup (old->overrides);
  }
  if (!video_from_json (s, v, json)) {
    cf_video_free (v);
    return FALSE;
  }
  if (!old && v->input_uid && (in = g_hash_table_lookup (s->inputs,
              v->input_uid)))
    v->overrides = video_settings_from_input (in);
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_video (s->store, v, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    g_printerr ("recording %s: cannot index it: %s\n", v->uid,
        err ? err->message : "database error");
    cf_video_free (v);
    return FALSE;
  }
  g_hash_table_replace (s->videos, v->uid, v);
  return TRUE;
}

static gboolean
forget_video (CfServer * s, const gchar * uid, gboolean remove_files)
{
  g_autoptr (GError) err = NULL;

  if (!cf_store_begin (s->store, &err) ||
      !cf_store_delete_video (s->store, uid, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    g_printerr ("recording %s: cannot delete it: %s\n", uid,
        err ? err->message : "database error");
    return FALSE;
  }
  if (remove_files) {
    g_autofree gchar *dir = video_dir (s, uid);

    remove_dir (dir);
  }
  g_hash_table_remove (s->videos, uid);
  return TRUE;
}

static void
on_recording (gpointer data, const gchar * input_uid, const GstStructure * st)
{
  CfServer *s = data;
  const gchar *event = gst_structure_get_string (st, "event");
  const gchar *uid = gst_structure_get_string (st, "uid");
  const gchar *video = gst_structure_get_string (st, "video");

  if (!event)
    return;
  cf_metrics_count_event (s->metrics, event);
  if (g_str_equal (event, "error")) {
    const gchar *code = gst_structure_get_string (st, "code");

    g_printerr ("live input %s: recording %s: %s\n", input_uid,
        uid ? uid : "", gst_structure_get_string (st, "message"));
    cf_metrics_count_error (s->metrics, code ? code : "recording_error");
    return;
  }
  if (!uid || !is_uid (uid))
    return;
  if (g_str_equal (event, "deleted")) {
    if (g_hash_table_contains (s->videos, uid))
      forget_video (s, uid, FALSE);
    return;
  }
  if (!video)
    return;
  if (index_video (s, video, uid, input_uid)) {
    CfVideo *v = g_hash_table_lookup (s->videos, uid);

    g_print ("live input %s: recording %s %s\n", input_uid, uid, event);
    if (g_str_equal (event, "finalised") && v &&
        g_str_equal (v->state, "ready")) {
      g_autoptr (JsonNode) n = video_to_json (s, v);
      g_autofree gchar *text = node_to_string (n);

      cf_webhooks_video_event (s->webhooks, text);
    }
  }
}

static gboolean
restart_cb (gpointer data)
{
  CfServer *s = g_object_get_data (G_OBJECT (data), "server");
  const gchar *uid = g_object_get_data (G_OBJECT (data), "uid");
  CfInput *in = g_hash_table_lookup (s->inputs, uid);

  if (in) {
    in->restart_id = 0;
    media_start (s, in);
  }
  return G_SOURCE_REMOVE;
}

static void
schedule_restart (CfServer * s, CfInput * in, guint seconds)
{
  GObject *holder;

  if (in->restart_id)
    return;
  holder = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_set_data (holder, "server", s);
  g_object_set_data_full (holder, "uid", g_strdup (in->uid), g_free);
  in->restart_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, seconds,
      restart_cb, holder, g_object_unref);
}

static void
on_ended (gpointer data, const gchar * uid, const gchar * message)
{
  CfServer *s = data;
  CfInput *in = g_hash_table_lookup (s->inputs, uid);

  if (!in)
    return;
  if (message)
    cf_metrics_count_error (s->metrics, "pipeline_error");
  /* a new pipeline takes encoders again; after an error, not at once */
  schedule_restart (s, in, message ? 5 : 0);
}

static const CfMediaCallbacks media_callbacks = {
  on_status, on_violation, on_output, on_recording, on_ended
};

static void
media_stop (CfServer * s, CfInput * in)
{
  guint i;

  if (in->restart_id) {
    g_source_remove (in->restart_id);
    in->restart_id = 0;
  }
  g_clear_pointer (&in->media, cf_media_free);
  for (i = 0; i < in->outputs->len; i++) {
    CfLiveOutput *out = g_ptr_array_index (in->outputs, i);

    g_clear_pointer (&out->sink_uid, g_free);
    g_clear_pointer (&out->state, g_free);
  }
  if (in->connected) {
    in->connected = FALSE;
    if (in->announced) {
      in->announced = FALSE;
      cf_webhooks_live_input_event (s->webhooks, "live_input.disconnected",
          in->uid, NULL, NULL, NULL, NULL);
    }
  }
}

static void
media_start (CfServer * s, CfInput * in)
{
  CfMediaInputSettings set = { 0 };
  g_autoptr (GError) err = NULL;
  guint i;

  media_stop (s, in);
  set.uid = in->uid;
  set.stream_key = in->rtmps_key;
  set.srt_passphrase = in->srt_passphrase;
  set.enabled = in->enabled;
  set.record = in->rec_automatic;
  set.record_timeout = in->rec_timeout;
  set.delete_after = delete_after_seconds (in);
  in->media = cf_media_new (&s->media_cfg, &set, &media_callbacks, s, &err);
  if (!in->media) {
    g_printerr ("live input %s: cannot start: %s (trying again in 5 s)\n",
        in->uid, err->message);
    cf_metrics_count_error (s->metrics, "pipeline_error");
    schedule_restart (s, in, 5);
    return;
  }
  for (i = 0; i < in->outputs->len; i++) {
    CfLiveOutput *out = g_ptr_array_index (in->outputs, i);

    out->sink_uid = cf_media_add_output (in->media, out->url,
        out->stream_key, out->enabled);
    if (!out->sink_uid)
      g_printerr ("live input %s: output %s refused by cfrestreamsink\n",
          in->uid, out->uid);
  }
}

/* --- retention and the index of recordings --- */

static gboolean
retention_cb (gpointer data)
{
  CfServer *s = data;
  gint64 now = g_get_real_time ();
  GHashTableIter it;
  gpointer k, val;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  guint i;

  g_hash_table_iter_init (&it, s->videos);
  while (g_hash_table_iter_next (&it, &k, &val)) {
    CfVideo *v = val;

    if (v->delete_at > 0 && v->delete_at <= now)
      g_ptr_array_add (due, g_strdup (v->uid));
  }
  for (i = 0; i < due->len; i++) {
    g_print ("recording %s: deleted (scheduled deletion reached)\n",
        (gchar *) g_ptr_array_index (due, i));
    forget_video (s, g_ptr_array_index (due, i), TRUE);
  }
  return G_SOURCE_CONTINUE;
}

/* what cfrecordsink wrote while the server was not running (or before a
 * crash) is found from the video.json files; rows whose files are gone
 * are dropped */
static void
scan_recordings (CfServer * s)
{
  GDir *d = g_dir_open (s->recordings_dir, 0, NULL);
  const gchar *name;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash,
      g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer k, val;
  guint i;

  while (d && (name = g_dir_read_name (d))) {
    g_autofree gchar *path = NULL;
    g_autofree gchar *json = NULL;
    CfVideo *v;

    if (!is_uid (name))
      continue;
    path = g_build_filename (s->recordings_dir, name, "video.json", NULL);
    if (!g_file_get_contents (path, &json, NULL, NULL))
      continue;
    g_hash_table_add (seen, g_strdup (name));
    v = g_hash_table_lookup (s->videos, name);
    if (v && g_strcmp0 (v->json, json) == 0)
      continue;
    index_video (s, json, name, v ? v->input_uid : NULL);
  }
  if (d)
    g_dir_close (d);

  g_hash_table_iter_init (&it, s->videos);
  while (g_hash_table_iter_next (&it, &k, &val))
    if (!g_hash_table_contains (seen, k))
      g_ptr_array_add (gone, g_strdup (k));
  for (i = 0; i < gone->len; i++)
    forget_video (s, g_ptr_array_index (gone, i), FALSE);
}

/* --- API handlers --- */

static CfInput *
find_input (CfServer * s, SoupServerMessage * msg, const gchar * uid)
{
  CfInput *in = g_hash_table_lookup (s->inputs, uid);

  if (!in)
    reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_INPUT_NOT_FOUND,
        "No live input with the uid '%.64s'", uid);
  return in;
}

static gboolean
query_bool (GHashTable * query, const gchar * name, gboolean * value,
    SoupServerMessage * msg)
{
  const gchar *v = query ? g_hash_table_lookup (query, name) : NULL;

  if (!v)
    return TRUE;
  if (g_ascii_strcasecmp (v, "true") == 0 || g_str_equal (v, "1"))
    *value = TRUE;
  else if (g_ascii_strcasecmp (v, "false") == 0 || g_str_equal (v, "0"))
    *value = FALSE;
  else {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
        "The query parameter %s must be true or false (got '%.64s')", name, v);
    return FALSE;
  }
  return TRUE;
}

static void
list_inputs (CfServer * s, SoupServerMessage * msg, GHashTable * query)
{
  gboolean counts = FALSE;
  GString *body;
  GList *l;

  if (!query_bool (query, "include_counts", &counts, msg))
    return;
  /* the items are kept serialised: a list of a thousand inputs is then
   * mostly a copy, not a thousand JSON trees built and written */
  body = g_string_sized_new (128 + 200 * s->order.length);
  g_string_append (body, "{\"success\":true,\"errors\":[],\"messages\":[],"
      "\"result\":{\"liveInputs\":[");
  for (l = s->order.head; l; l = l->next) {
    CfInput *in = l->data;

    if (!in->summary_json) {
      g_autoptr (JsonNode) item = input_to_json (s, in, FALSE);

      in->summary_json = node_to_string (item);
    }
    if (l != s->order.head)
      g_string_append_c (body, ',');
    g_string_append (body, in->summary_json);
  }
  g_string_append_c (body, ']');
  if (counts)
    g_string_append_printf (body, ",\"range\":%u,\"total\":%u",
        s->order.length, s->order.length);
  g_string_append (body, "}}");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json",
      SOUP_MEMORY_TAKE, body->str, body->len);
  g_string_free (body, FALSE);
}

static void
create_input (CfServer * s, SoupServerMessage * msg)
{
  g_autoptr (JsonNode) body = read_body (msg, TRUE);
  g_autoptr (GError) err = NULL;
  CfInput *in;

  if (!body)
    return;
  if (g_hash_table_size (s->inputs) >= s->cfg.max_live_inputs) {
    reply_error (msg, SOUP_STATUS_CONFLICT, ERR_INPUT_LIMIT,
        "The account has reached its limit of %u live inputs; delete one "
        "first", s->cfg.max_live_inputs);
    return;
  }
  in = cf_input_new ();
  in->uid = new_uid ();
  in->created = in->modified = g_get_real_time ();
  input_new_secrets (in);
  if (!cf_body_apply_input (in, json_node_get_object (body), &err)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD, "%s",
        err->message);
    cf_input_free (in);
    return;
  }
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_input (s->store, in, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    cf_input_free (in);
    return;
  }
  g_hash_table_insert (s->inputs, in->uid, in);
  g_queue_push_tail (&s->order, in);
  media_start (s, in);
  g_print ("live input %s: created\n", in->uid);
  reply_result (msg, input_to_json (s, in, TRUE), NULL);
}

static void
update_input (CfServer * s, SoupServerMessage * msg, CfInput * in)
{
  g_autoptr (JsonNode) body = read_body (msg, TRUE);
  g_autoptr (GError) err = NULL;
  CfInput *c;
  gboolean was_enabled = in->enabled;

  if (!body)
    return;
  c = input_clone (in);
  if (!cf_body_apply_input (c, json_node_get_object (body), &err)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD, "%s",
        err->message);
    cf_input_free (c);
    return;
  }
  c->modified = g_get_real_time ();
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_input (s->store, c, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    cf_input_free (c);
    return;
  }
  input_swap_settings (in, c);
  cf_input_free (c);
  if (in->media) {
    if (was_enabled != in->enabled)
      cf_media_set_enabled (in->media, in->enabled);
    cf_media_set_recording (in->media, in->rec_automatic, in->rec_timeout,
        delete_after_seconds (in));
  }
  reply_result (msg, input_to_json (s, in, TRUE), NULL);
}

static void
delete_input (CfServer * s, SoupServerMessage * msg, CfInput * in)
{
  g_autoptr (GError) err = NULL;

  if (!cf_store_begin (s->store, &err) ||
      !cf_store_delete_input (s->store, in->uid, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    return;
  }
  media_stop (s, in);
  g_print ("live input %s: deleted\n", in->uid);
  g_queue_remove (&s->order, in);
  g_hash_table_remove (s->inputs, in->uid);
  reply_empty (msg);
}

static void
rotate_keys (CfServer * s, SoupServerMessage * msg, CfInput * in)
{
  g_autoptr (GError) err = NULL;
  CfInput *c = input_clone (in);

  input_new_secrets (c);
  c->keys_rotated_at = c->modified = g_get_real_time ();
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_input (s->store, c, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    cf_input_free (c);
    return;
  }
  input_swap_settings (in, c);
  cf_input_free (c);
  /* a new pipeline with the new secrets: the old session is cut */
  media_start (s, in);
  g_print ("live input %s: keys rotated\n", in->uid);
  reply_result (msg, input_to_json (s, in, TRUE), NULL);
}

static void
list_outputs (CfServer * s, SoupServerMessage * msg, CfInput * in)
{
  JsonArray *a = json_array_new ();
  guint i;

  for (i = 0; i < in->outputs->len; i++)
    json_array_add_element (a, output_to_json (g_ptr_array_index (in->outputs,
                i)));
  reply_result (msg, node_new_array (a), NULL);
}

static void
create_output (CfServer * s, SoupServerMessage * msg, CfInput * in)
{
  g_autoptr (JsonNode) body = read_body (msg, FALSE);
  g_autoptr (GError) err = NULL;
  JsonObject *o;
  JsonNode *n;
  CfLiveOutput *out;

  if (!body)
    return;
  o = json_node_get_object (body);
  n = json_object_get_member (o, "url");
  if (!n || !cf_body_is_string (n)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
        n ? "url must be a string, not %s" : "url is required",
        n ? cf_body_type_name (n) : "");
    return;
  }
  if (!cf_body_valid_output_url (json_node_get_string (n), &err)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD, "%s",
        err->message);
    return;
  }
  n = json_object_get_member (o, "streamKey");
  if (!n || !cf_body_is_string (n)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
        n ? "streamKey must be a string, not %s" :
        "streamKey is required (it may be \"\" for srt:// URLs)",
        n ? cf_body_type_name (n) : "");
    return;
  }
  n = json_object_get_member (o, "enabled");
  if (n && !cf_body_is_bool (n)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
        "enabled must be a boolean, not %s", cf_body_type_name (n));
    return;
  }
  if (in->outputs->len >= s->cfg.max_outputs) {
    reply_error (msg, SOUP_STATUS_CONFLICT, ERR_OUTPUT_LIMIT,
        "The live input has reached its limit of %u outputs; delete one "
        "first", s->cfg.max_outputs);
    return;
  }

  out = cf_live_output_new ();
  out->uid = new_uid ();
  out->url = g_strdup (json_object_get_string_member (o, "url"));
  out->stream_key = g_strdup (json_object_get_string_member (o, "streamKey"));
  out->enabled = n ? json_node_get_boolean (n) : TRUE;
  out->created = g_get_real_time ();

  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_output (s->store, in->uid, out, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    cf_live_output_free (out);
    return;
  }
  if (in->media) {
    out->sink_uid = cf_media_add_output (in->media, out->url,
        out->stream_key, out->enabled);
    if (!out->sink_uid) {
      cf_store_rollback (s->store);
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
          "The output was refused: cfrestreamsink cannot send to '%.200s'",
          out->url);
      cf_live_output_free (out);
      return;
    }
  }
  if (!cf_store_commit (s->store, &err)) {
    if (in->media)
      cf_media_remove_output (in->media, out->sink_uid);
    reply_storage_error (msg, err);
    cf_live_output_free (out);
    return;
  }
  g_ptr_array_add (in->outputs, out);
  g_print ("live input %s: output %s added\n", in->uid, out->uid);
  reply_result (msg, output_to_json (out), NULL);
}

static CfLiveOutput *
find_output (SoupServerMessage * msg, CfInput * in, const gchar * uid,
    guint * index)
{
  guint i;

  for (i = 0; i < in->outputs->len; i++) {
    CfLiveOutput *out = g_ptr_array_index (in->outputs, i);

    if (g_str_equal (out->uid, uid)) {
      if (index)
        *index = i;
      return out;
    }
  }
  reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_OUTPUT_NOT_FOUND,
      "No output with the uid '%.64s' on live input %s", uid, in->uid);
  return NULL;
}

static void
update_output (CfServer * s, SoupServerMessage * msg, CfInput * in,
    CfLiveOutput * out)
{
  g_autoptr (JsonNode) body = read_body (msg, FALSE);
  g_autoptr (GError) err = NULL;
  JsonNode *n;
  gboolean old;

  if (!body)
    return;
  n = json_object_get_member (json_node_get_object (body), "enabled");
  if (!n || !cf_body_is_bool (n)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
        n ? "enabled must be a boolean, not %s" :
        "enabled is required (the only field of an output that changes)",
        n ? cf_body_type_name (n) : "");
    return;
  }
  old = out->enabled;
  out->enabled = json_node_get_boolean (n);
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_output (s->store, in->uid, out, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    out->enabled = old;
    reply_storage_error (msg, err);
    return;
  }
  if (in->media && old != out->enabled)
    cf_media_set_output_enabled (in->media, out->sink_uid, out->enabled);
  reply_result (msg, output_to_json (out), NULL);
}

static void
delete_output (CfServer * s, SoupServerMessage * msg, CfInput * in,
    CfLiveOutput * out, guint index)
{
  g_autoptr (GError) err = NULL;

  if (!cf_store_begin (s->store, &err) ||
      !cf_store_delete_output (s->store, out->uid, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    reply_storage_error (msg, err);
    return;
  }
  if (in->media)
    cf_media_remove_output (in->media, out->sink_uid);
  g_print ("live input %s: output %s deleted\n", in->uid, out->uid);
  g_ptr_array_remove_index (in->outputs, index);
  reply_empty (msg);
}

static gint
cmp_video_asc (gconstpointer a, gconstpointer b)
{
  const CfVideo *va = *(CfVideo **) a, *vb = *(CfVideo **) b;

  if (va->created != vb->created)
    return va->created < vb->created ? -1 : 1;
  return strcmp (va->uid, vb->uid);
}

static gint
cmp_video_desc (gconstpointer a, gconstpointer b)
{
  return cmp_video_asc (b, a);
}

static const gchar *const video_states[] = {
  "pendingupload", "downloading", "queued", "inprogress", "ready", "error",
  "live-inprogress", NULL
};

/* the search (over meta.name, @search_folded casefolded) and creator
 * filters of GET /stream */
static gboolean
video_matches (CfServer * s, CfVideo * vid, const gchar * search_folded,
    const gchar * creator)
{
  g_autoptr (JsonNode) n = video_to_json (s, vid);
  JsonObject *o = json_node_get_object (n);

  if (creator && g_strcmp0 (json_object_get_string_member_with_default (o,
              "creator", NULL), creator) != 0)
    return FALSE;
  if (search_folded) {
    JsonNode *meta = json_object_get_member (o, "meta");
    const gchar *name = NULL;
    g_autofree gchar *folded = NULL;

    if (meta && JSON_NODE_HOLDS_OBJECT (meta))
      name = json_object_get_string_member_with_default
          (json_node_get_object (meta), "name", NULL);
    if (!name)
      return FALSE;
    folded = g_utf8_casefold (name, -1);
    if (!strstr (folded, search_folded))
      return FALSE;
  }
  return TRUE;
}

static void
list_videos (CfServer * s, SoupServerMessage * msg, GHashTable * query,
    const gchar * input_uid)
{
  const gchar *live_input = input_uid;
  const gchar *state = NULL, *type = NULL, *search = NULL, *creator = NULL;
  const gchar *v;
  g_autofree gchar *search_folded = NULL;
  gboolean asc = FALSE, counts = FALSE;
  gint64 after = -1, before = -1, limit = 1000;
  g_autoptr (GPtrArray) sel = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k, val;
  JsonArray *a;
  JsonObject *extra;
  guint i, total;

  if (query && !input_uid) {
    live_input = g_hash_table_lookup (query, "live_input_id");
    if (!live_input)
      live_input = g_hash_table_lookup (query, "liveInput");
    state = g_hash_table_lookup (query, "status");
    if (state && !g_strv_contains (video_states, state)) {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
          "The query parameter status must be one of pendingupload, "
          "downloading, queued, inprogress, ready, error, live-inprogress "
          "(got '%.64s')", state);
      return;
    }
    search = g_hash_table_lookup (query, "search");
    creator = g_hash_table_lookup (query, "creator");
    if (creator && strlen (creator) > 64) {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
          "The query parameter creator must be at most 64 characters");
      return;
    }
    type = g_hash_table_lookup (query, "type");
    if (type && !g_str_equal (type, "live") && !g_str_equal (type, "vod")) {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
          "The query parameter type must be live or vod (got '%.64s')", type);
      return;
    }
    if (!query_bool (query, "asc", &asc, msg) ||
        !query_bool (query, "include_counts", &counts, msg))
      return;
    if ((v = g_hash_table_lookup (query, "limit"))) {
      gchar *end = NULL;

      limit = g_ascii_strtoll (v, &end, 10);
      if (!*v || *end || limit < 1 || limit > 1000) {
        reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
            "The query parameter limit must be an integer from 1 to 1000 "
            "(got '%.64s')", v);
        return;
      }
    }
    if ((v = g_hash_table_lookup (query, "after")) ||
        (v = g_hash_table_lookup (query, "start"))) {
      if ((after = parse_time (v)) < 0) {
        reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
            "The query parameters after/start take an RFC 3339 time "
            "(got '%.64s')", v);
        return;
      }
    }
    if ((v = g_hash_table_lookup (query, "before")) ||
        (v = g_hash_table_lookup (query, "end"))) {
      if ((before = parse_time (v)) < 0) {
        reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_QUERY,
            "The query parameters before/end take an RFC 3339 time "
            "(got '%.64s')", v);
        return;
      }
    }
  } else if (input_uid) {
    asc = TRUE;
  }

  if (search)
    search_folded = g_utf8_casefold (search, -1);
  g_hash_table_iter_init (&it, s->videos);
  while (g_hash_table_iter_next (&it, &k, &val)) {
    CfVideo *vid = val;
    gboolean is_live = g_strcmp0 (vid->state, "live-inprogress") == 0;

    if (live_input && g_strcmp0 (vid->input_uid, live_input) != 0)
      continue;
    if (state && g_strcmp0 (vid->state, state) != 0)
      continue;
    if (type && (g_str_equal (type, "live") != is_live))
      continue;
    if (after >= 0 && vid->created <= after)
      continue;
    if (before >= 0 && vid->created >= before)
      continue;
    if ((search || creator) && !video_matches (s, vid, search_folded, creator))
      continue;
    g_ptr_array_add (sel, vid);
  }
  g_ptr_array_sort (sel, asc ? cmp_video_asc : cmp_video_desc);
  total = sel->len;
  a = json_array_new ();
  for (i = 0; i < sel->len && i < limit; i++)
    json_array_add_element (a, video_to_json (s, g_ptr_array_index (sel, i)));
  extra = NULL;
  if (!input_uid) {
    extra = json_object_new ();
    json_object_set_int_member (extra, "total", total);
    json_object_set_int_member (extra, "range", MIN (total, limit));
  }
  reply_result (msg, node_new_array (a), extra);
}

static void
delete_video (CfServer * s, SoupServerMessage * msg, CfVideo * v)
{
  if (g_strcmp0 (v->state, "live-inprogress") == 0) {
    reply_error (msg, SOUP_STATUS_CONFLICT, ERR_CONFLICT,
        "Recording %s is being recorded; disconnect the encoder or set the "
        "live input's recording.mode to off first", v->uid);
    return;
  }
  if (!forget_video (s, v->uid, TRUE)) {
    reply_storage_error (msg, NULL);
    return;
  }
  reply_empty (msg);
}

static void
update_video (CfServer * s, SoupServerMessage * msg, CfVideo * v)
{
  g_autoptr (JsonNode) body = read_body (msg, TRUE);
  g_autoptr (JsonNode) ov = NULL;
  g_autoptr (GError) err = NULL;
  g_autofree gchar *old = NULL;

  if (!body)
    return;
  ov = v->overrides ? parse_json (v->overrides) : NULL;
  if (!ov || !JSON_NODE_HOLDS_OBJECT (ov)) {
    g_clear_pointer (&ov, json_node_unref);
    ov = node_new_object (json_object_new ());
  }
  if (!cf_body_apply_video (json_node_get_object (ov),
          json_node_get_object (body), &err)) {
    reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD, "%s",
        err->message);
    return;
  }
  old = v->overrides;
  v->overrides = node_to_string (ov);
  if (!cf_store_begin (s->store, &err) ||
      !cf_store_put_video (s->store, v, &err) ||
      !cf_store_commit (s->store, &err)) {
    cf_store_rollback (s->store);
    g_free (v->overrides);
    v->overrides = g_steal_pointer (&old);
    reply_storage_error (msg, err);
    return;
  }
  reply_result (msg, video_to_json (s, v), NULL);
}

/* --- webhook settings --- */

static void
webhook_reply (CfServer * s, SoupServerMessage * msg)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "notificationUrl", s->webhook_url);
  set_time_member (o, "modified", s->webhook_modified);
  json_object_set_string_member (o, "secret", s->webhook_secret);
  reply_result (msg, node_new_object (o), NULL);
}

static gboolean
store_webhook (CfServer * s, const gchar * url, gint64 modified,
    GError ** error)
{
  g_autofree gchar *mod = g_strdup_printf ("%" G_GINT64_FORMAT, modified);

  if (!cf_store_begin (s->store, error) ||
      !cf_store_set_setting (s->store, "webhook_url", url, error) ||
      !cf_store_set_setting (s->store, "webhook_modified", mod, error) ||
      !cf_store_commit (s->store, error)) {
    cf_store_rollback (s->store);
    return FALSE;
  }
  g_free (s->webhook_url);
  s->webhook_url = g_strdup (url);
  s->webhook_modified = modified;
  cf_webhooks_configure (s->webhooks, url, s->webhook_secret);
  return TRUE;
}

static gboolean
valid_webhook_url (const gchar * url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  return uri && g_uri_get_host (uri) && *g_uri_get_host (uri) &&
      (g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0 ||
      g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0);
}

static void
handle_webhook (CfServer * s, SoupServerMessage * msg, const gchar * method)
{
  g_autoptr (GError) err = NULL;

  if (g_str_equal (method, "GET")) {
    if (!s->webhook_url) {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_WEBHOOK_NOT_FOUND,
          "No webhook is configured");
      return;
    }
    webhook_reply (s, msg);
  } else if (g_str_equal (method, "PUT")) {
    g_autoptr (JsonNode) body = read_body (msg, FALSE);
    JsonNode *n;

    if (!body)
      return;
    n = json_object_get_member (json_node_get_object (body), "notificationUrl");
    if (!n || !cf_body_is_string (n)) {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
          n ? "notificationUrl must be a string, not %s" :
          "notificationUrl is required", n ? cf_body_type_name (n) : "");
      return;
    }
    if (!valid_webhook_url (json_node_get_string (n))) {
      reply_error (msg, SOUP_STATUS_BAD_REQUEST, ERR_BAD_FIELD,
          "notificationUrl must be an http:// or https:// URL (got '%.200s')",
          json_node_get_string (n));
      return;
    }
    if (!store_webhook (s, json_node_get_string (n), g_get_real_time (), &err)) {
      reply_storage_error (msg, err);
      return;
    }
    webhook_reply (s, msg);
  } else if (g_str_equal (method, "DELETE")) {
    if (!s->webhook_url) {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_WEBHOOK_NOT_FOUND,
          "No webhook is configured");
      return;
    }
    if (!store_webhook (s, NULL, g_get_real_time (), &err)) {
      reply_storage_error (msg, err);
      return;
    }
    reply_empty (msg);
  } else {
    reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, ERR_METHOD,
        "Method %s not allowed for this endpoint", method);
  }
}

/* --- authentication --- */

static gboolean
authenticate (CfServer * s, SoupServerMessage * msg)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const gchar *auth = soup_message_headers_get_one (h, "Authorization");
  const gchar *email = soup_message_headers_get_one (h, "X-Auth-Email");
  const gchar *key = soup_message_headers_get_one (h, "X-Auth-Key");

  if (auth) {
    g_autofree gchar *hash = NULL;

    if (g_ascii_strncasecmp (auth, "Bearer ", 7) != 0) {
      reply_error (msg, SOUP_STATUS_UNAUTHORIZED, ERR_AUTH_MISSING,
          "Authentication error: the Authorization header must be "
          "'Bearer <API token>'");
      return FALSE;
    }
    auth += 7;
    while (*auth == ' ')
      auth++;
    hash = sha256 (auth);
    if (!gst_cflive_secret_equal (s->token_hash, hash)) {
      reply_error (msg, SOUP_STATUS_FORBIDDEN, ERR_AUTH_FAILED,
          "Authentication error: invalid API token");
      return FALSE;
    }
    return TRUE;
  }
  if (email || key) {
    g_autofree gchar *hash = NULL;
    gboolean ok;

    if (!email || !key) {
      reply_error (msg, SOUP_STATUS_UNAUTHORIZED, ERR_AUTH_MISSING,
          "Authentication error: X-Auth-Email and X-Auth-Key go together");
      return FALSE;
    }
    hash = sha256 (key);
    /* both compared, always */
    ok = gst_cflive_secret_equal (s->key_hash, hash);
    ok &= g_ascii_strcasecmp (email, s->auth_email) == 0;
    if (!ok) {
      reply_error (msg, SOUP_STATUS_FORBIDDEN, ERR_AUTH_FAILED,
          "Authentication error: invalid X-Auth-Email or X-Auth-Key");
      return FALSE;
    }
    return TRUE;
  }
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "WWW-Authenticate", "Bearer realm=\"cflive\"");
  reply_error (msg, SOUP_STATUS_UNAUTHORIZED, ERR_AUTH_MISSING,
      "Authentication error: send 'Authorization: Bearer <API token>' or "
      "X-Auth-Email and X-Auth-Key");
  return FALSE;
}

/* --- routing --- */

#define METHOD_IS(m) g_str_equal (method, m)

static void
method_not_allowed (SoupServerMessage * msg, const gchar * method,
    const gchar * allowed)
{
  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Allow", allowed);
  reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, ERR_METHOD,
      "Method %s not allowed for this endpoint (allowed: %s)", method, allowed);
}

static void
no_route (SoupServerMessage * msg)
{
  reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_NO_ROUTE,
      "No route for the URI");
}

static void
handle_api (CfServer * s, SoupServerMessage * msg, const gchar * method,
    gchar ** seg, guint n, GHashTable * query)
{
  CfInput *in;

  /* seg: accounts, {id}, stream, ... */
  if (n < 3 || !g_str_equal (seg[0], "accounts") ||
      !g_str_equal (seg[2], "stream")) {
    no_route (msg);
    return;
  }
  if (!authenticate (s, msg))
    return;
  if (!g_str_equal (seg[1], s->account_id)) {
    reply_error (msg, SOUP_STATUS_FORBIDDEN, ERR_ACCOUNT,
        "Unknown account '%.64s': this server serves account %s", seg[1],
        s->account_id);
    return;
  }
  seg += 3;
  n -= 3;

  if (n == 0) {
    if (METHOD_IS ("GET"))
      list_videos (s, msg, query, NULL);
    else
      method_not_allowed (msg, method, "GET");
    return;
  }
  if (g_str_equal (seg[0], "webhook") && n == 1) {
    handle_webhook (s, msg, method);
    return;
  }
  if (!g_str_equal (seg[0], "live_inputs")) {
    CfVideo *v;

    if (n != 1) {
      no_route (msg);
      return;
    }
    if (!METHOD_IS ("GET") && !METHOD_IS ("POST") && !METHOD_IS ("DELETE")) {
      method_not_allowed (msg, method, "GET, POST, DELETE");
      return;
    }
    v = g_hash_table_lookup (s->videos, seg[0]);
    if (!v) {
      reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_VIDEO_NOT_FOUND,
          "No video with the uid '%.64s'", seg[0]);
      return;
    }
    if (METHOD_IS ("GET"))
      reply_result (msg, video_to_json (s, v), NULL);
    else if (METHOD_IS ("POST"))
      update_video (s, msg, v);
    else
      delete_video (s, msg, v);
    return;
  }

  if (n == 1) {
    if (METHOD_IS ("GET"))
      list_inputs (s, msg, query);
    else if (METHOD_IS ("POST"))
      create_input (s, msg);
    else
      method_not_allowed (msg, method, "GET, POST");
    return;
  }
  if (n > 5) {
    no_route (msg);
    return;
  }
  /* a known route shape first, then the input */
  if (n == 3 && !g_str_equal (seg[2], "rotate_keys") &&
      !g_str_equal (seg[2], "outputs") && !g_str_equal (seg[2], "videos")) {
    no_route (msg);
    return;
  }
  if ((n == 4 && !g_str_equal (seg[2], "outputs")) || n == 5) {
    no_route (msg);
    return;
  }
  if (n == 2) {
    if (!METHOD_IS ("GET") && !METHOD_IS ("PUT") && !METHOD_IS ("DELETE")) {
      method_not_allowed (msg, method, "GET, PUT, DELETE");
      return;
    }
    if (!(in = find_input (s, msg, seg[1])))
      return;
    if (METHOD_IS ("GET"))
      reply_result (msg, input_to_json (s, in, TRUE), NULL);
    else if (METHOD_IS ("PUT"))
      update_input (s, msg, in);
    else
      delete_input (s, msg, in);
    return;
  }
  if (n == 3 && g_str_equal (seg[2], "rotate_keys")) {
    if (!METHOD_IS ("POST")) {
      method_not_allowed (msg, method, "POST");
      return;
    }
    if ((in = find_input (s, msg, seg[1])))
      rotate_keys (s, msg, in);
    return;
  }
  if (n == 3 && g_str_equal (seg[2], "videos")) {
    if (!METHOD_IS ("GET")) {
      method_not_allowed (msg, method, "GET");
      return;
    }
    if ((in = find_input (s, msg, seg[1])))
      list_videos (s, msg, NULL, in->uid);
    return;
  }
  if (n == 3) {
    if (!METHOD_IS ("GET") && !METHOD_IS ("POST")) {
      method_not_allowed (msg, method, "GET, POST");
      return;
    }
    if (!(in = find_input (s, msg, seg[1])))
      return;
    if (METHOD_IS ("GET"))
      list_outputs (s, msg, in);
    else
      create_output (s, msg, in);
    return;
  }
  /* n == 4: outputs/{uid} */
  {
    CfLiveOutput *out;
    guint index = 0;

    if (!METHOD_IS ("PUT") && !METHOD_IS ("DELETE")) {
      method_not_allowed (msg, method, "PUT, DELETE");
      return;
    }
    if (!(in = find_input (s, msg, seg[1])))
      return;
    if (!(out = find_output (msg, in, seg[3], &index)))
      return;
    if (METHOD_IS ("PUT"))
      update_output (s, msg, in, out);
    else
      delete_output (s, msg, in, out, index);
  }
}

/* --- playback (no token, like Cloudflare's customer subdomain) --- */

static gboolean
safe_name (const gchar * name)
{
  const gchar *p;

  if (!*name || name[0] == '.')
    return FALSE;
  for (p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static const gchar *
content_type (const gchar * name)
{
  if (g_str_has_suffix (name, ".m3u8"))
    return "application/vnd.apple.mpegurl";
  if (g_str_has_suffix (name, ".ts"))
    return "video/mp2t";
  if (g_str_has_suffix (name, ".mp4"))
    return "video/mp4";
  if (g_str_has_suffix (name, ".m4s"))
    return "video/iso.segment";
  if (g_str_has_suffix (name, ".json"))
    return "application/json";
  return "application/octet-stream";
}

static void
serve_file (SoupServerMessage * msg, const gchar * path, gboolean head)
{
  g_autoptr (GMappedFile) f = NULL;
  g_autoptr (GBytes) bytes = NULL;
  SoupMessageHeaders *rh = soup_server_message_get_response_headers (msg);

  f = g_mapped_file_new (path, FALSE, NULL);
  if (!f) {
    reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_VIDEO_NOT_FOUND, "Not found");
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (rh, "Content-Type", content_type (path));
  if (g_str_has_suffix (path, ".m3u8"))
    soup_message_headers_replace (rh, "Cache-Control", "no-cache");
  if (head) {
    soup_message_headers_set_content_length (rh, g_mapped_file_get_length (f));
    return;
  }
  bytes = g_mapped_file_get_bytes (f);
  soup_message_body_append_bytes (soup_server_message_get_response_body
      (msg), bytes);
}

/* the directory of recordings that /{uid}/... serves: a video, or the
 * recording a live input is making now (NULL: nothing live) */
static gchar *
playback_video (CfServer * s, const gchar * uid, gboolean * is_input,
    gboolean * found)
{
  CfInput *in = g_hash_table_lookup (s->inputs, uid);

  *is_input = in != NULL;
  *found = TRUE;
  if (in) {
    if (in->connected && in->media)
      return cf_media_get_recording_uid (in->media);
    return NULL;
  }
  if (g_hash_table_contains (s->videos, uid))
    return g_strdup (uid);
  *found = FALSE;
  return NULL;
}

static void
handle_playback (CfServer * s, SoupServerMessage * msg, const gchar * method,
    gchar ** seg, guint n)
{
  g_autofree gchar *vuid = NULL;
  gboolean is_input, found, head = METHOD_IS ("HEAD");

  soup_message_headers_replace (soup_server_message_get_response_headers
      (msg), "Access-Control-Allow-Origin", "*");
  if (n < 2 || !is_uid (seg[0])) {
    no_route (msg);
    return;
  }
  if (!METHOD_IS ("GET") && !head) {
    method_not_allowed (msg, method, "GET, HEAD");
    return;
  }
  vuid = playback_video (s, seg[0], &is_input, &found);
  if (!found) {
    reply_error (msg, SOUP_STATUS_NOT_FOUND, ERR_VIDEO_NOT_FOUND,
        "No live input or video with the uid %s", seg[0]);
    return;
  }

  if (n == 2 && g_str_equal (seg[1], "lifecycle")) {
    JsonObject *o = json_object_new ();
    g_autoptr (JsonNode) root = NULL;
    CfVideo *v = vuid ? g_hash_table_lookup (s->videos, vuid) : NULL;

    json_object_set_boolean_member (o, "isInput", is_input);
    if (vuid)
      json_object_set_string_member (o, "videoUID", vuid);
    else
      json_object_set_null_member (o, "videoUID");
    if (is_input) {
      CfInput *in = g_hash_table_lookup (s->inputs, seg[0]);

      json_object_set_boolean_member (o, "live", in->connected);
    } else {
      json_object_set_boolean_member (o, "live", v &&
          g_strcmp0 (v->state, "live-inprogress") == 0);
    }
    root = node_new_object (o);
    reply_json (msg, SOUP_STATUS_OK, root);
    return;
  }
  if (n == 3 && g_str_equal (seg[1], "manifest") && safe_name (seg[2])) {
    g_autofree gchar *path = NULL;

    if (!vuid) {
      /* a live input with nothing live: Cloudflare's 204 */
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
      return;
    }
    path = g_build_filename (s->recordings_dir, vuid, seg[2], NULL);
    serve_file (msg, path, head);
    return;
  }
  if (n == 3 && g_str_equal (seg[1], "downloads") &&
      g_str_equal (seg[2], "default.mp4") && !is_input) {
    g_autofree gchar *path = g_build_filename (s->recordings_dir, vuid,
        "video.mp4", NULL);

    serve_file (msg, path, head);
    return;
  }
  no_route (msg);
}

static void
handle_metrics (CfServer * s, SoupServerMessage * msg)
{
  CfMetricsSnapshot snap = { 0 };
  g_autoptr (GHashTable) states = g_hash_table_new (g_str_hash, g_str_equal);
  gchar *text;
  GList *l;
  guint i;

  for (l = s->order.head; l; l = l->next) {
    CfInput *in = l->data;

    snap.inputs++;
    if (in->connected)
      snap.live_inputs++;
    if (in->enabled)
      snap.enabled_inputs++;
    if (in->media) {
      guint64 bi, bo;

      cf_media_get_bytes (in->media, &bi, &bo);
      snap.bytes_in += bi;
      snap.bytes_out += bo;
    }
    for (i = 0; i < in->outputs->len; i++) {
      CfLiveOutput *out = g_ptr_array_index (in->outputs, i);
      const gchar *st = out->state ? out->state :
          (out->enabled ? "idle" : "disabled");

      g_hash_table_insert (states, (gpointer) st,
          GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (states,
                      st)) + 1));
    }
  }
  snap.videos = g_hash_table_size (s->videos);
  snap.outputs_by_state = states;
  cf_webhooks_get_stats (s->webhooks, &snap.webhooks_delivered,
      &snap.webhooks_failed, &snap.webhooks_queued);
  text = cf_metrics_render (s->metrics, &snap);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg,
      "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_TAKE, text,
      strlen (text));
}

static void
early_handler (SoupServer * server, SoupServerMessage * msg,
    const char *path, GHashTable * query, gpointer data)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (h) > MAX_BODY) {
    CfServer *s = data;

    reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, ERR_TOO_LARGE,
        "The request body is larger than %d bytes", MAX_BODY);
    soup_message_headers_replace (soup_server_message_get_response_headers
        (msg), "Connection", "close");
    cf_metrics_count_request (s->metrics,
        soup_server_message_get_method (msg), 413);
  }
}

static void
handler (SoupServer * server, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer data)
{
  CfServer *s = data;
  const gchar *method = soup_server_message_get_method (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) seg = g_ptr_array_new ();
  guint i;

  if (body && body->length > MAX_BODY) {
    reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, ERR_TOO_LARGE,
        "The request body is larger than %d bytes", MAX_BODY);
    goto done;
  }

  parts = g_strsplit (path, "/", -1);
  for (i = 0; parts[i]; i++)
    if (*parts[i])
      g_ptr_array_add (seg, parts[i]);
  g_ptr_array_add (seg, NULL);

  if (seg->len == 2 && g_str_equal (g_ptr_array_index (seg, 0), "metrics")) {
    if (METHOD_IS ("GET"))
      handle_metrics (s, msg);
    else
      method_not_allowed (msg, method, "GET");
  } else if (seg->len >= 3 &&
      g_str_equal (g_ptr_array_index (seg, 0), "client") &&
      g_str_equal (g_ptr_array_index (seg, 1), "v4")) {
    handle_api (s, msg, method, (gchar **) seg->pdata + 2, seg->len - 3, query);
  } else {
    handle_playback (s, msg, method, (gchar **) seg->pdata, seg->len - 1);
  }

done:
  cf_metrics_count_request (s->metrics, method,
      soup_server_message_get_status (msg));
}

#undef METHOD_IS

/* --- start and stop --- */

static gboolean
write_secret_file (const gchar * path, const gchar * value, GError ** error)
{
  g_autofree gchar *text = g_strdup_printf ("%s\n", value);

  return g_file_set_contents_full (path, text, -1,
      G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* an API credential: the given one, or the stored one, or a new one kept
 * in the database (as its SHA-256) and in @file for the operator */
static gboolean
setup_credential (CfServer * s, const gchar * setting, const gchar * given,
    const gchar * file, gchar ** hash_out, gchar ** generated, GError ** error)
{
  g_autofree gchar *stored = cf_store_get_setting (s->store, setting);

  if (given) {
    g_autofree gchar *h = sha256 (given);

    if (g_strcmp0 (stored, h) != 0 &&
        !cf_store_set_setting (s->store, setting, h, error))
      return FALSE;
    *hash_out = g_steal_pointer (&h);
    return TRUE;
  }
  if (stored) {
    *hash_out = g_steal_pointer (&stored);
    return TRUE;
  }
  *generated = gst_cflive_secret_new_hex (20);
  *hash_out = sha256 (*generated);
  if (!cf_store_set_setting (s->store, setting, *hash_out, error))
    return FALSE;
  {
    g_autofree gchar *path = g_build_filename (s->cfg.data_dir, file, NULL);

    return write_secret_file (path, *generated, error);
  }
}

static gboolean
setup_settings (CfServer * s, GError ** error)
{
  g_autofree gchar *stored = NULL;

  if (!cf_store_begin (s->store, error))
    return FALSE;

  stored = cf_store_get_setting (s->store, "account_id");
  if (s->cfg.account_id) {
    s->account_id = g_strdup (s->cfg.account_id);
  } else if (stored) {
    s->account_id = g_steal_pointer (&stored);
  } else {
    s->account_id = new_uid ();
  }
  if (!cf_store_set_setting (s->store, "account_id", s->account_id, error))
    goto fail;

  if (!setup_credential (s, "api_token_sha256", s->cfg.api_token,
          "api-token", &s->token_hash, &s->generated_token, error) ||
      !setup_credential (s, "api_key_sha256", s->cfg.api_key, "api-key",
          &s->key_hash, &s->generated_key, error))
    goto fail;

  g_free (stored);
  stored = cf_store_get_setting (s->store, "auth_email");
  s->auth_email = g_strdup (s->cfg.auth_email ? s->cfg.auth_email :
      stored ? stored : "admin@localhost");
  if (!cf_store_set_setting (s->store, "auth_email", s->auth_email, error))
    goto fail;

  g_free (stored);
  stored = cf_store_get_setting (s->store, "webhook_secret");
  s->webhook_secret = g_strdup (s->cfg.webhook_secret ? s->cfg.webhook_secret
      : stored ? stored : NULL);
  if (!s->webhook_secret)
    s->webhook_secret = gst_cflive_secret_new_hex (32);
  if (!cf_store_set_setting (s->store, "webhook_secret", s->webhook_secret,
          error))
    goto fail;

  g_free (stored);
  stored = cf_store_get_setting (s->store, "webhook_modified");
  s->webhook_modified = stored ? g_ascii_strtoll (stored, NULL, 10) : 0;
  g_free (stored);
  stored = cf_store_get_setting (s->store, "webhook_url");
  if (s->cfg.webhook_url) {
    g_autofree gchar *mod = NULL;

    if (!valid_webhook_url (s->cfg.webhook_url)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "--webhook-url must be an http:// or https:// URL");
      goto fail;
    }
    s->webhook_url = g_strdup (s->cfg.webhook_url);
    if (g_strcmp0 (stored, s->webhook_url) != 0)
      s->webhook_modified = g_get_real_time ();
    mod = g_strdup_printf ("%" G_GINT64_FORMAT, s->webhook_modified);
    if (!cf_store_set_setting (s->store, "webhook_url", s->webhook_url,
            error) ||
        !cf_store_set_setting (s->store, "webhook_modified", mod, error))
      goto fail;
  } else {
    s->webhook_url = g_steal_pointer (&stored);
  }
  return cf_store_commit (s->store, error);

fail:
  cf_store_rollback (s->store);
  return FALSE;
}

static gboolean
load_state (CfServer * s, GError ** error)
{
  g_autoptr (GPtrArray) inputs = NULL;
  g_autoptr (GPtrArray) videos = NULL;
  guint i;

  inputs = cf_store_load_inputs (s->store, error);
  if (!inputs)
    return FALSE;
  videos = cf_store_load_videos (s->store, error);
  if (!videos)
    return FALSE;
  g_ptr_array_set_free_func (inputs, NULL);
  for (i = 0; i < inputs->len; i++) {
    CfInput *in = g_ptr_array_index (inputs, i);

    /* an encoder connected when the server stopped is gone */
    if (in->current && g_str_equal (in->current->state, "connected")) {
      g_ptr_array_add (in->history, in->current);
      in->current = cf_status_entry_new ("disconnected",
          GST_CFLIVE_REASON_RECONNECTING, g_get_real_time ());
    }
    g_hash_table_insert (s->inputs, in->uid, in);
    g_queue_push_tail (&s->order, in);
  }
  g_ptr_array_set_free_func (videos, NULL);
  for (i = 0; i < videos->len; i++) {
    CfVideo *v = g_ptr_array_index (videos, i);

    g_hash_table_insert (s->videos, v->uid, v);
  }
  return TRUE;
}

CfServer *
cf_server_new (const CfServerConfig * cfg, GError ** error)
{
  CfServer *s = g_new0 (CfServer, 1);
  g_autofree gchar *db_path = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  GList *l;

  s->cfg = *cfg;
  s->inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) cf_input_free);
  s->videos = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) cf_video_free);
  g_queue_init (&s->order);
  s->metrics = cf_metrics_new ();
  s->webhooks = cf_webhooks_new ();

  if (g_mkdir_with_parents (cfg->data_dir, 0700) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot create %s: %s", cfg->data_dir, g_strerror (errno));
    goto fail;
  }
  s->recordings_dir = g_build_filename (cfg->data_dir, "recordings", NULL);
  if (g_mkdir_with_parents (s->recordings_dir, 0700) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot create %s: %s", s->recordings_dir, g_strerror (errno));
    goto fail;
  }
  s->public_url = cfg->public_url ? g_strdup (cfg->public_url) :
      g_strdup_printf ("http://%s:%u", cfg->public_host, cfg->api_port);
  if (g_str_has_suffix (s->public_url, "/"))
    s->public_url[strlen (s->public_url) - 1] = '\0';

  db_path = g_build_filename (cfg->data_dir, "cflive.db", NULL);
  s->store = cf_store_open (db_path, error);
  if (!s->store)
    goto fail;
  if (!setup_settings (s, error) || !load_state (s, error))
    goto fail;
  cf_webhooks_configure (s->webhooks, s->webhook_url, s->webhook_secret);

  s->media_cfg.media_address = cfg->media_address;
  s->media_cfg.rtmp_port = cfg->rtmp_port;
  s->media_cfg.srt_port = cfg->srt_port;
  s->media_cfg.tls_certificate = cfg->tls_certificate;
  s->media_cfg.tls_key = cfg->tls_key;
  s->media_cfg.recordings_dir = s->recordings_dir;
  s->media_cfg.reconnect_window = cfg->reconnect_window;
  s->media_cfg.max_outputs = cfg->max_outputs;
  if (!cf_media_init (error))
    goto fail;
  if (cfg->rtmp_port && !(s->ports = cf_media_hold_ports (&s->media_cfg,
              error)))
    goto fail;
  if (!cf_media_have_recorder ())
    g_printerr ("NOTICE: the cfrecordsink element is missing: live inputs "
        "are not recorded\n");

  scan_recordings (s);
  retention_cb (s);
  s->retention_id = g_timeout_add_seconds (RETENTION_INTERVAL, retention_cb, s);

  s->soup = soup_server_new ("server-header", "cflive-server ", NULL);
  soup_server_add_early_handler (s->soup, NULL, early_handler, s, NULL);
  soup_server_add_handler (s->soup, NULL, handler, s, NULL);
  addr = g_inet_socket_address_new_from_string (cfg->api_address,
      cfg->api_port);
  if (!addr) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "invalid API address '%s'", cfg->api_address);
    goto fail;
  }
  if (!soup_server_listen (s->soup, addr, 0, error))
    goto fail;

  for (l = s->order.head; l; l = l->next)
    media_start (s, l->data);
  return s;

fail:
  cf_server_free (s);
  return NULL;
}

void
cf_server_free (CfServer * s)
{
  GList *l;

  if (!s)
    return;
  if (s->soup) {
    soup_server_disconnect (s->soup);
    g_object_unref (s->soup);
  }
  for (l = s->order.head; l; l = l->next)
    media_stop (s, l->data);
  /* the recordings in progress are finalised and indexed */
  cf_media_flush ();
  g_clear_pointer (&s->ports, cf_media_release_ports);
  if (s->retention_id)
    g_source_remove (s->retention_id);
  g_queue_clear (&s->order);
  g_hash_table_unref (s->inputs);
  g_hash_table_unref (s->videos);
  cf_webhooks_free (s->webhooks);
  cf_metrics_free (s->metrics);
  cf_store_close (s->store);
  g_free (s->recordings_dir);
  g_free (s->public_url);
  g_free (s->account_id);
  g_free (s->token_hash);
  g_free (s->key_hash);
  g_free (s->auth_email);
  g_free (s->generated_token);
  g_free (s->generated_key);
  g_free (s->webhook_url);
  g_free (s->webhook_secret);
  g_free (s);
}

const gchar *
cf_server_get_account_id (CfServer * s)
{
  return s->account_id;
}

guint
cf_server_get_api_port (CfServer * s)
{
  GSList *uris = soup_server_get_uris (s->soup);
  guint port = s->cfg.api_port;

  if (uris)
    port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return port;
}

const gchar *
cf_server_get_generated_token (CfServer * s)
{
  return s->generated_token;
}

const gchar *
cf_server_get_generated_key (CfServer * s)
{
  return s->generated_key;
}

const gchar *
cf_server_get_auth_email (CfServer * s)
{
  return s->auth_email;
}

guint
cf_server_get_n_inputs (CfServer * s)
{
  return g_hash_table_size (s->inputs);
}
