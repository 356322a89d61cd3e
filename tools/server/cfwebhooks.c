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

/* Webhook deliveries of cflive-server (see cfwebhooks.h for the contract).
 *
 * Callers (the API thread, bus handlers of the media pipelines) build the
 * body at once, so that its timestamps are those of the event, append it
 * to a bounded queue under a mutex held for a few instructions, and wake
 * the delivery thread with an idle source on its GMainContext. The
 * delivery thread owns the SoupSession (libsoup 3 sessions belong to the
 * thread that made them) and the event being delivered: one at a time, so
 * that a receiver sees the events in the order they happened, and a
 * receiver that is down is retried with a growing backoff instead of being
 * hammered by every event at once. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "cfwebhooks.h"

#include <string.h>
#include <time.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (cf_webhooks_debug);
#define GST_CAT_DEFAULT cf_webhooks_debug

#define NOTIFICATION_NAME "Stream Live Input"
#define CLOSE_GRACE_MS 2000
/* At most one "dropped" line per this many seconds */
#define DROP_LOG_INTERVAL 10

typedef struct
{
  GBytes *body;
  gchar *what;                  /* "live_input.connected <uid>", for logs */
  guint attempts;
  guint backoff_ms;
} Job;

/* Lock order: only self->lock; it is never held while calling into libsoup
 * or while logging. */
struct _CfWebhooks
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;

  GMutex lock;
  /* protected by lock */
  gchar *url;                   /* NULL: off */
  gchar *secret;
  guint config_gen;             /* bumped by each configure */
  GQueue queue;                 /* Job *, oldest first */
  gboolean busy;                /* a Job is being delivered or retried */
  gboolean wake_pending;
  gboolean closing;
  guint64 delivered;
  guint64 failed;
  guint64 dropped_unlogged;
  gint64 last_drop_log;         /* monotonic µs */

  /* delivery thread only */
  SoupSession *session;
  Job *current;
  guint current_gen;            /* config_gen of its last attempt */
  SoupMessage *msg;             /* attempt in flight */
  GCancellable *cancellable;
  GSource *retry_source;
  GSource *close_source;
  gboolean stopped;             /* the loop ended: start nothing new */
};

static void deliver_next (CfWebhooks * self);
static void send_current (CfWebhooks * self);

static void
job_free (Job * job)
{
  g_bytes_unref (job->body);
  g_free (job->what);
  g_free (job);
}

/* scheme://host:port/ only: a path or query may carry a token */
static gchar *
url_for_log (const gchar * url)
{
  GUri *uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  gchar *s;

  if (!uri)
    return g_strdup ("(invalid URL)");
  s = g_strdup_printf ("%s://%s:%d/...", g_uri_get_scheme (uri),
      g_uri_get_host (uri), g_uri_get_port (uri));
  g_uri_unref (uri);
  return s;
}

static gboolean
url_is_usable (const gchar * url)
{
  GUri *uri;
  gboolean ok;

  if (!url || !*url)
    return FALSE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (!uri)
    return FALSE;
  ok = (g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0 ||
      g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0) &&
      g_uri_get_host (uri) && *g_uri_get_host (uri);
  g_uri_unref (uri);
  return ok;
}

/* --- the delivery thread --- */

static gboolean
wake_cb (gpointer user_data)
{
  CfWebhooks *self = user_data;
  gboolean closing;
  guint gen;

  g_mutex_lock (&self->lock);
  self->wake_pending = FALSE;
  closing = self->closing;
  gen = self->config_gen;
  g_mutex_unlock (&self->lock);

  /* Reconfigured while an event waits for its retry: try the new
   * configuration (or give up, if deliveries were turned off) now */
  if (self->current && self->retry_source && (gen != self->current_gen
          || closing)) {
    g_source_destroy (self->retry_source);
    g_source_unref (self->retry_source);
    self->retry_source = NULL;
    self->current->attempts = 0;
    self->current->backoff_ms = CF_WEBHOOKS_FIRST_BACKOFF_MS;
    send_current (self);
  }
  /* An attempt in flight to the old URL finishes; a retry uses the new */
  deliver_next (self);
  return G_SOURCE_REMOVE;
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  CfWebhooks *self = user_data;

  GST_DEBUG ("grace period over, stopping");
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer user_data)
{
  CfWebhooks *self = user_data;

  g_source_unref (self->retry_source);
  self->retry_source = NULL;
  send_current (self);
  return G_SOURCE_REMOVE;
}

static void
finish_current (CfWebhooks * self, gboolean delivered)
{
  g_mutex_lock (&self->lock);
  if (delivered)
    self->delivered++;
  else
    self->failed++;
  self->busy = FALSE;
  g_mutex_unlock (&self->lock);

  job_free (self->current);
  self->current = NULL;
}

static void
sent_cb (GObject * source, GAsyncResult * res, gpointer user_data)
{
  CfWebhooks *self = user_data;
  g_autoptr (GError) err = NULL;
  g_autoptr (GBytes) reply = NULL;
  SoupMessage *msg = self->msg;
  Job *job = self->current;
  guint status;
  gboolean retry, closing, off;

  reply = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &err);
  status = soup_message_get_status (msg);
  self->msg = NULL;
  g_clear_object (&self->cancellable);

  if (reply && SOUP_STATUS_IS_SUCCESSFUL (status)) {
    GST_DEBUG ("%s delivered (HTTP %u, attempt %u)", job->what, status,
        job->attempts);
    g_object_unref (msg);
    finish_current (self, TRUE);
    deliver_next (self);
    return;
  }

  if (!reply)
    retry = !g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  else
    retry = SOUP_STATUS_IS_SERVER_ERROR (status) || status == 408
        || status == 429;

  g_mutex_lock (&self->lock);
  closing = self->closing;
  off = self->url == NULL;
  g_mutex_unlock (&self->lock);

  if (retry && !closing && !off && job->attempts < CF_WEBHOOKS_MAX_ATTEMPTS) {
    GST_DEBUG ("%s: attempt %u failed (%s), again in %u ms", job->what,
        job->attempts, reply ? soup_status_get_phrase (status) : err->message,
        job->backoff_ms);
    self->retry_source = g_timeout_source_new (job->backoff_ms);
    g_source_set_callback (self->retry_source, retry_cb, self, NULL);
    g_source_attach (self->retry_source, self->context);
    job->backoff_ms = MIN (job->backoff_ms * 2, CF_WEBHOOKS_MAX_BACKOFF_MS);
  } else {
    if (reply)
      g_message ("Webhook %s not delivered: the receiver answered %u %s%s",
          job->what, status, soup_status_get_phrase (status),
          retry ? ", no more attempts" : "");
    else
      g_message ("Webhook %s not delivered after %u attempt(s): %s",
          job->what, job->attempts, err->message);
    finish_current (self, FALSE);
    deliver_next (self);
  }
  g_object_unref (msg);
}

static void
send_current (CfWebhooks * self)
{
  Job *job = self->current;
  g_autofree gchar *url = NULL;
  g_autofree gchar *secret = NULL;
  g_autofree gchar *sig = NULL;
  gchar *header;
  GString *signed_data;
  gsize size;
  const gchar *body;
  gint64 now;

  g_mutex_lock (&self->lock);
  url = g_strdup (self->url);
  secret = g_strdup (self->secret);
  self->current_gen = self->config_gen;
  g_mutex_unlock (&self->lock);

  if (!url) {
    GST_DEBUG ("%s discarded: deliveries are off", job->what);
    finish_current (self, FALSE);
    return;
  }

  job->attempts++;
  /* Signed at each attempt, so that the time is that of the attempt */
  now = g_get_real_time () / G_USEC_PER_SEC;
  body = g_bytes_get_data (job->body, &size);
  signed_data = g_string_sized_new (size + 24);
  g_string_append_printf (signed_data, "%" G_GINT64_FORMAT ".", now);
  g_string_append_len (signed_data, body, size);
  sig = g_compute_hmac_for_data (G_CHECKSUM_SHA256,
      (const guchar *) (secret ? secret : ""), secret ? strlen (secret) : 0,
      (const guchar *) signed_data->str, signed_data->len);
  g_string_free (signed_data, TRUE);
  header = g_strdup_printf ("time=%" G_GINT64_FORMAT ",sig1=%s", now, sig);

  self->msg = soup_message_new (SOUP_METHOD_POST, url);
  if (!self->msg) {
    /* configure checked it; only a URL libsoup cannot take gets here */
    g_message ("Webhook %s not delivered: unusable URL", job->what);
    g_free (header);
    finish_current (self, FALSE);
    return;
  }
  soup_message_add_flags (self->msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_replace (soup_message_get_request_headers (self->msg),
      "Webhook-Signature", header);
  g_free (header);
  soup_message_set_request_body_from_bytes (self->msg, "application/json",
      job->body);
  self->cancellable = g_cancellable_new ();
  soup_session_send_and_read_async (self->session, self->msg,
      G_PRIORITY_DEFAULT, self->cancellable, sent_cb, self);
}

/* Takes the oldest waiting event if none is being delivered */
static void
deliver_next (CfWebhooks * self)
{
  gboolean closing;

  while (!self->current && !self->stopped) {
    g_mutex_lock (&self->lock);
    self->current = g_queue_pop_head (&self->queue);
    self->busy = self->current != NULL;
    closing = self->closing;
    g_mutex_unlock (&self->lock);

    if (!self->current) {
      if (closing)
        g_main_loop_quit (self->loop);
      return;
    }
    self->current->backoff_ms = CF_WEBHOOKS_FIRST_BACKOFF_MS;
    send_current (self);
  }
}

static gpointer
thread_func (gpointer user_data)
{
  CfWebhooks *self = user_data;

  g_main_context_push_thread_default (self->context);
  self->session = soup_session_new_with_options ("timeout", CF_WEBHOOKS_TIMEOUT,
      "idle-timeout", 60, "user-agent", "cflive-server-webhooks",
      "max-conns-per-host", 2, NULL);

  g_main_loop_run (self->loop);
  self->stopped = TRUE;

  if (self->retry_source) {
    g_source_destroy (self->retry_source);
    g_source_unref (self->retry_source);
    self->retry_source = NULL;
  }
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  /* let a cancelled attempt complete */
  while (self->msg)
    g_main_context_iteration (self->context, TRUE);
  if (self->current)
    finish_current (self, FALSE);
  soup_session_abort (self->session);
  g_clear_object (&self->session);
  while (g_main_context_iteration (self->context, FALSE));
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/* --- the callers' side --- */

static void
wake_locked (CfWebhooks * self)
{
  GSource *source;

  if (self->wake_pending)
    return;
  self->wake_pending = TRUE;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, wake_cb, self, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
enqueue (CfWebhooks * self, GBytes * body, gchar * what)
{
  Job *job, *dropped = NULL;
  guint64 n_unlogged = 0;
  gint64 now = g_get_monotonic_time ();

  job = g_new0 (Job, 1);
  job->body = body;
  job->what = what;

  g_mutex_lock (&self->lock);
  if (!self->url || self->closing) {
    g_mutex_unlock (&self->lock);
    GST_LOG ("%s ignored: deliveries are off", what);
    job_free (job);
    return;
  }
  if (self->queue.length >= CF_WEBHOOKS_MAX_QUEUED) {
    dropped = g_queue_pop_head (&self->queue);
    self->failed++;
    self->dropped_unlogged++;
    if (now - self->last_drop_log >= DROP_LOG_INTERVAL * G_USEC_PER_SEC) {
      n_unlogged = self->dropped_unlogged;
      self->dropped_unlogged = 0;
      self->last_drop_log = now;
    }
  }
  g_queue_push_tail (&self->queue, job);
  wake_locked (self);
  g_mutex_unlock (&self->lock);

  if (dropped) {
    if (n_unlogged)
      g_message ("Webhook queue full (%u events): dropped the oldest, %s "
          "(%" G_GUINT64_FORMAT " dropped since the last report)",
          CF_WEBHOOKS_MAX_QUEUED, dropped->what, n_unlogged);
    else
      GST_DEBUG ("queue full: dropped %s", dropped->what);
    job_free (dropped);
  }
}

/* RFC 3339 with nanoseconds, as Cloudflare's updated_at */
static gchar *
format_time (struct timespec *ts)
{
  struct tm tm;
  gchar buf[32];

  gmtime_r (&ts->tv_sec, &tm);
  strftime (buf, sizeof (buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return g_strdup_printf ("%s.%09ldZ", buf, (long) ts->tv_nsec);
}

static GBytes *
serialize (JsonNode * root)
{
  JsonGenerator *gen = json_generator_new ();
  gsize len;
  gchar *data;

  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, &len);
  g_object_unref (gen);
  return g_bytes_new_take (data, len);
}

CfWebhooks *
cf_webhooks_new (void)
{
  static gsize once = 0;
  CfWebhooks *self;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (cf_webhooks_debug, "cfwebhooks", 0,
        "cflive-server webhook deliveries");
    g_once_init_leave (&once, 1);
  }

  self = g_new0 (CfWebhooks, 1);
  g_mutex_init (&self->lock);
  g_queue_init (&self->queue);
  self->last_drop_log = G_MININT64 / 2;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("cfwebhooks", thread_func, self);
  return self;
}

void
cf_webhooks_configure (CfWebhooks * self, const gchar * url,
    const gchar * secret)
{
  gboolean usable = url_is_usable (url);
  GQueue discarded = G_QUEUE_INIT;
  g_autofree gchar *log_url = NULL;

  g_return_if_fail (self != NULL);

  if (url && *url && !usable)
    g_message ("Webhooks off: '%s' is not an http:// or https:// URL",
        (log_url = url_for_log (url)));
  else if (usable)
    GST_INFO ("webhooks to %s", (log_url = url_for_log (url)));

  g_mutex_lock (&self->lock);
  g_free (self->url);
  self->url = usable ? g_strdup (url) : NULL;
  g_free (self->secret);
  self->secret = g_strdup (secret);
  self->config_gen++;
  if (!usable) {
    discarded = self->queue;
    g_queue_init (&self->queue);
    self->failed += discarded.length;
  }
  wake_locked (self);
  g_mutex_unlock (&self->lock);

  if (discarded.length)
    g_message ("Webhooks turned off: %u waiting event(s) discarded",
        discarded.length);
  g_queue_clear_full (&discarded, (GDestroyNotify) job_free);
}

void
cf_webhooks_live_input_event (CfWebhooks * self, const gchar * event_type,
    const gchar * input_uid, const gchar * error_code,
    const gchar * error_message, const gchar * video_codec,
    const gchar * audio_codec)
{
  JsonBuilder *b;
  JsonNode *root;
  struct timespec ts;
  gchar *updated_at;
  GString *text;
  gboolean errored;

  g_return_if_fail (self != NULL);
  g_return_if_fail (event_type != NULL && input_uid != NULL);

  g_mutex_lock (&self->lock);
  if (!self->url) {
    g_mutex_unlock (&self->lock);
    return;
  }
  g_mutex_unlock (&self->lock);

  errored = g_str_equal (event_type, "live_input.errored");
  clock_gettime (CLOCK_REALTIME, &ts);
  updated_at = format_time (&ts);

  text = g_string_new (NULL);
  g_string_append_printf (text, "Notification type: %s\nInput ID: %s\n"
      "Event type: %s\nUpdated at: %s", NOTIFICATION_NAME, input_uid,
      event_type, updated_at);
  if (errored)
    g_string_append_printf (text, "\nError code: %s\nError message: %s",
        error_code ? error_code : "", error_message ? error_message : "");

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, NOTIFICATION_NAME);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text->str);
  json_builder_set_member_name (b, "data");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "notification_name");
  json_builder_add_string_value (b, NOTIFICATION_NAME);
  json_builder_set_member_name (b, "input_id");
  json_builder_add_string_value (b, input_uid);
  json_builder_set_member_name (b, "event_type");
  json_builder_add_string_value (b, event_type);
  json_builder_set_member_name (b, "updated_at");
  json_builder_add_string_value (b, updated_at);
  if (errored) {
    json_builder_set_member_name (b, "live_input_errored");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "error");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "code");
    json_builder_add_string_value (b, error_code ? error_code : "");
    json_builder_set_member_name (b, "message");
    json_builder_add_string_value (b, error_message ? error_message : "");
    json_builder_end_object (b);
    json_builder_set_member_name (b, "video_codec");
    json_builder_add_string_value (b, video_codec ? video_codec : "");
    json_builder_set_member_name (b, "audio_codec");
    json_builder_add_string_value (b, audio_codec ? audio_codec : "");
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "ts");
  json_builder_add_int_value (b, ts.tv_sec);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  enqueue (self, serialize (root), g_strdup_printf ("%s %s", event_type,
          input_uid));
  json_node_unref (root);
  g_object_unref (b);
  g_string_free (text, TRUE);
  g_free (updated_at);
}

void
cf_webhooks_video_event (CfWebhooks * self, const gchar * video_json)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) err = NULL;
  JsonNode *root;
  JsonObject *obj;
  const gchar *uid = NULL;

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  if (!self->url) {
    g_mutex_unlock (&self->lock);
    return;
  }
  g_mutex_unlock (&self->lock);

  parser = json_parser_new_immutable ();
  if (!video_json || !json_parser_load_from_data (parser, video_json, -1, &err)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_message ("Webhook of a video not sent: its JSON is not an object%s%s",
        err ? ": " : "", err ? err->message : "");
    g_mutex_lock (&self->lock);
    self->failed++;
    g_mutex_unlock (&self->lock);
    return;
  }
  root = json_parser_get_root (parser);
  obj = json_node_get_object (root);
  if (json_object_has_member (obj, "uid")
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (obj, "uid")))
    uid = json_object_get_string_member (obj, "uid");

  /* The body is the object as given */
  enqueue (self, g_bytes_new (video_json, strlen (video_json)),
      g_strdup_printf ("video %s", uid ? uid : "(no uid)"));
}

void
cf_webhooks_get_stats (CfWebhooks * self, guint64 * delivered,
    guint64 * failed, guint * queued)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  if (delivered)
    *delivered = self->delivered;
  if (failed)
    *failed = self->failed;
  if (queued)
    *queued = self->queue.length + (self->busy ? 1 : 0);
  g_mutex_unlock (&self->lock);
}

static gboolean
close_cb (gpointer user_data)
{
  CfWebhooks *self = user_data;

  /* No more retries: an event waiting for one is given up now */
  if (self->retry_source) {
    g_source_destroy (self->retry_source);
    g_source_unref (self->retry_source);
    self->retry_source = NULL;
    finish_current (self, FALSE);
  }
  self->close_source = g_timeout_source_new (CLOSE_GRACE_MS);
  g_source_set_callback (self->close_source, close_timeout_cb, self, NULL);
  g_source_attach (self->close_source, self->context);
  deliver_next (self);
  return G_SOURCE_REMOVE;
}

void
cf_webhooks_free (CfWebhooks * self)
{
  GSource *source;

  if (!self)
    return;

  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  g_mutex_unlock (&self->lock);

  source = g_idle_source_new ();
  g_source_set_callback (source, close_cb, self, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);
  g_thread_join (self->thread);

  if (self->close_source) {
    g_source_destroy (self->close_source);
    g_source_unref (self->close_source);
  }
  g_queue_clear_full (&self->queue, (GDestroyNotify) job_free);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_free (self->url);
  g_free (self->secret);
  g_mutex_clear (&self->lock);
  g_free (self);
}
