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

#ifndef __GST_CFLIVE_EVENTS_H__
#define __GST_CFLIVE_EVENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstCflivePublisherAction:
 * @GST_CFLIVE_PUBLISHER_CONNECTED: the first encoder session of the live
 *   input started
 * @GST_CFLIVE_PUBLISHER_DISCONNECTED: the encoder went away; the source waits
 *   for it to come back within its reconnect window
 * @GST_CFLIVE_PUBLISHER_RECONNECTED: an encoder published again after a
 *   disconnection and the stream continues
 *
 * What happened to the encoder feeding a live input. Carried downstream by
 * the publisher event, see gst_cflive_publisher_event_new().
 */
typedef enum
{
  GST_CFLIVE_PUBLISHER_CONNECTED,
  GST_CFLIVE_PUBLISHER_DISCONNECTED,
  GST_CFLIVE_PUBLISHER_RECONNECTED,
} GstCflivePublisherAction;

/* Name of the structure of the publisher event. */
#define GST_CFLIVE_PUBLISHER_EVENT_NAME "cflive-publisher"

const gchar *gst_cflive_publisher_action_to_string (GstCflivePublisherAction
    action);

GstEvent *gst_cflive_publisher_event_new (GstCflivePublisherAction action,
    guint session, const gchar * reason, const gchar * protocol);

gboolean gst_cflive_publisher_event_parse (GstEvent * event,
    GstCflivePublisherAction * action, guint * session,
    const gchar ** reason, const gchar ** protocol);

/* Name of the structure of the element messages carrying the live input
 * status, posted by cfliveinputsrc. */
#define GST_CFLIVE_STATUS_MESSAGE_NAME "cflive-status"

/* Cloudflare's status reason vocabulary */
#define GST_CFLIVE_REASON_CONNECTED "connected"
#define GST_CFLIVE_REASON_RECONNECTED "reconnected"
#define GST_CFLIVE_REASON_RECONNECTING "reconnecting"
#define GST_CFLIVE_REASON_CLIENT_DISCONNECT "client_disconnect"
#define GST_CFLIVE_REASON_TTL_EXCEEDED "ttl_exceeded"
#define GST_CFLIVE_REASON_FAILED_TO_CONNECT "failed_to_connect"
#define GST_CFLIVE_REASON_FAILED_TO_RECONNECT "failed_to_reconnect"
#define GST_CFLIVE_REASON_NEW_CONFIGURATION_ACCEPTED "new_configuration_accepted"
/* gst-cflive's own addition: the live input was disabled */
#define GST_CFLIVE_REASON_DISABLED "disabled"

/* Name of the structure of the element messages of cfgopvalidator: one per
 * violation of the ingest rules, with the fields of Cloudflare's
 * live_input.errored payload (code, message, video_codec, audio_codec). */
#define GST_CFLIVE_VIOLATION_MESSAGE_NAME "cflive-violation"

/* Cloudflare's error codes */
#define GST_CFLIVE_ERR_GOP_OUT_OF_RANGE "ERR_GOP_OUT_OF_RANGE"
#define GST_CFLIVE_ERR_UNSUPPORTED_VIDEO_CODEC "ERR_UNSUPPORTED_VIDEO_CODEC"
#define GST_CFLIVE_ERR_UNSUPPORTED_AUDIO_CODEC "ERR_UNSUPPORTED_AUDIO_CODEC"
#define GST_CFLIVE_ERR_STORAGE_QUOTA_EXHAUSTED "ERR_STORAGE_QUOTA_EXHAUSTED"
/* gst-cflive's own: a GOP that is not closed (leading pictures, or a
 * keyframe that is not an IDR) */
#define GST_CFLIVE_ERR_OPEN_GOP "ERR_OPEN_GOP"
/* gst-cflive's own: above the recommended maximum bitrate (a warning) */
#define GST_CFLIVE_ERR_BITRATE_TOO_HIGH "ERR_BITRATE_TOO_HIGH"
/* gst-cflive's own: the directory of the recordings cannot be written
 * (permissions, a read-only file system, a path that is not a directory) */
#define GST_CFLIVE_ERR_STORAGE_UNWRITABLE "ERR_STORAGE_UNWRITABLE"

/* Name of the structure of the element messages of cfrecordsink: one per
 * event of a recording, with the fields event, uid, live-input, location
 * (the recording's directory), video (the Video JSON, except for
 * deleted) and, for errors, code (an ERR_* above) and message. */
#define GST_CFLIVE_RECORDING_MESSAGE_NAME "cflive-recording"

/* The events of a recording */
#define GST_CFLIVE_RECORDING_EVENT_STARTED "started"
/* the encoder reconnected within the timeout: same recording */
#define GST_CFLIVE_RECORDING_EVENT_CONTINUED "continued"
#define GST_CFLIVE_RECORDING_EVENT_FINALISED "finalised"
/* finalised at start, after a crash left it live */
#define GST_CFLIVE_RECORDING_EVENT_RECOVERED "recovered"
/* its scheduledDeletion passed */
#define GST_CFLIVE_RECORDING_EVENT_DELETED "deleted"
#define GST_CFLIVE_RECORDING_EVENT_ERROR "error"

G_END_DECLS

#endif /* __GST_CFLIVE_EVENTS_H__ */
