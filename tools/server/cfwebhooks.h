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

#ifndef __CF_WEBHOOKS_H__
#define __CF_WEBHOOKS_H__

#include <glib.h>

G_BEGIN_DECLS

/* Webhook deliveries of cflive-server: Cloudflare's live-input
 * notifications (live_input.connected / disconnected / errored) and its
 * video notification (the Video object of a recording that became ready),
 * POSTed to one URL and signed with
 *
 *   Webhook-Signature: time=<unix>,sig1=<hex HMAC-SHA256(secret, "<time>.<body>")>
 *
 * Every call is thread-safe and returns at once: events go into a bounded
 * queue that a thread of the module (own GMainContext and SoupSession)
 * delivers in order, one at a time. A delivery answered with 5xx, 408 or
 * 429, or that fails in transport (connection refused, timeout), is tried
 * again after 1 s, 2 s, 4 s, ... (at most 60 s apart, 12 attempts in all);
 * any other answer than 2xx is final. When the queue is full, the oldest
 * waiting event is dropped, counted as failed and logged. */

typedef struct _CfWebhooks CfWebhooks;

/* Events waiting at most, besides the one being delivered */
#define CF_WEBHOOKS_MAX_QUEUED 1024
/* Attempts per event, and the backoff between them */
#define CF_WEBHOOKS_MAX_ATTEMPTS 12
#define CF_WEBHOOKS_FIRST_BACKOFF_MS 1000
#define CF_WEBHOOKS_MAX_BACKOFF_MS 60000
/* Seconds an attempt may take */
#define CF_WEBHOOKS_TIMEOUT 10

/* Starts the delivery thread; deliveries are off until configured */
CfWebhooks *cf_webhooks_new (void);

/* @url: http:// or https:// (NULL, "" or anything else: off; events are
 * then ignored and those waiting are dropped). @secret: the HMAC key (its
 * bytes as given). Applies to the next attempt, including retries. */
void cf_webhooks_configure (CfWebhooks * self, const gchar * url,
    const gchar * secret);

/* @event_type: "live_input.connected" | "live_input.disconnected" |
 * "live_input.errored"; @error_code, @error_message, @video_codec and
 * @audio_codec are only used for live_input.errored (NULL = "") */
void cf_webhooks_live_input_event (CfWebhooks * self,
    const gchar * event_type, const gchar * input_uid,
    const gchar * error_code, const gchar * error_message,
    const gchar * video_codec, const gchar * audio_codec);

/* A recording became ready: @video_json (a Cloudflare Video object) is the
 * body as is; anything but a JSON object is refused and counted as failed */
void cf_webhooks_video_event (CfWebhooks * self, const gchar * video_json);

/* @delivered: answered with 2xx; @failed: given up, refused, dropped from a
 * full queue or discarded when deliveries were turned off; @queued: waiting
 * or being delivered. Each may be NULL. */
void cf_webhooks_get_stats (CfWebhooks * self, guint64 * delivered,
    guint64 * failed, guint * queued);

/* Gives deliveries in progress up to 2 s to finish (no more retries), then
 * stops the thread; what is left is discarded */
void cf_webhooks_free (CfWebhooks * self);

G_END_DECLS

#endif /* __CF_WEBHOOKS_H__ */
