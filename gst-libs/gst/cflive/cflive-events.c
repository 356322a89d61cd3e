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
 * SECTION:cflive-events
 * @title: Publisher events
 * @short_description: tells downstream elements about the encoder
 *
 * cfliveinputsrc sends a sticky, serialized custom downstream event each
 * time the encoder connects, goes away or reconnects. cfrecordsink uses it
 * to apply the recording timeout, cfrestreamsink to keep its destinations
 * connected through an encoder reconnect, cfgopvalidator to judge the first
 * GOP of a new session on its own.
 *
 * The event structure is named "cflive-publisher" and has the fields
 * "action" (string: connected, disconnected or reconnected), "session"
 * (guint, 1 for the first encoder session of the live input), "reason"
 * (string, a Cloudflare status reason) and "protocol" (string: rtmp, rtmps
 * or srt).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "cflive-events.h"

static const gchar *action_names[] = {
  "connected", "disconnected", "reconnected"
};

const gchar *
gst_cflive_publisher_action_to_string (GstCflivePublisherAction action)
{
  if ((guint) action >= G_N_ELEMENTS (action_names))
    return "unknown";
  return action_names[action];
}

/**
 * gst_cflive_publisher_event_new:
 * @action: what happened to the encoder
 * @session: the encoder session number, counting from 1
 * @reason: (nullable): the status reason
 * @protocol: (nullable): the ingest protocol of the session
 *
 * Returns: (transfer full): a new sticky custom downstream event
 */
GstEvent *
gst_cflive_publisher_event_new (GstCflivePublisherAction action,
    guint session, const gchar * reason, const gchar * protocol)
{
  GstStructure *s;

  s = gst_structure_new (GST_CFLIVE_PUBLISHER_EVENT_NAME,
      "action", G_TYPE_STRING, gst_cflive_publisher_action_to_string (action),
      "session", G_TYPE_UINT, session,
      "reason", G_TYPE_STRING, reason ? reason : "",
      "protocol", G_TYPE_STRING, protocol ? protocol : "", NULL);

  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, s);
}

/**
 * gst_cflive_publisher_event_parse:
 * @event: an event
 * @action: (out) (optional): the action
 * @session: (out) (optional): the session number
 * @reason: (out) (optional) (transfer none): the reason
 * @protocol: (out) (optional) (transfer none): the protocol
 *
 * Returns: %TRUE if @event is a publisher event
 */
gboolean
gst_cflive_publisher_event_parse (GstEvent * event,
    GstCflivePublisherAction * action, guint * session,
    const gchar ** reason, const gchar ** protocol)
{
  const GstStructure *s;
  const gchar *str;
  guint i;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY)
    return FALSE;
  s = gst_event_get_structure (event);
  if (!s || !gst_structure_has_name (s, GST_CFLIVE_PUBLISHER_EVENT_NAME))
    return FALSE;

  str = gst_structure_get_string (s, "action");
  if (!str)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (action_names); i++) {
    if (g_str_equal (str, action_names[i]))
      break;
  }
  if (i == G_N_ELEMENTS (action_names))
    return FALSE;

  if (action)
    *action = (GstCflivePublisherAction) i;
  if (session && !gst_structure_get_uint (s, "session", session))
    *session = 0;
  if (reason)
    *reason = gst_structure_get_string (s, "reason");
  if (protocol)
    *protocol = gst_structure_get_string (s, "protocol");
  return TRUE;
}
