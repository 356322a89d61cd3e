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

#ifndef __CF_OUTPUT_H__
#define __CF_OUTPUT_H__

#include <gst/gst.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* One restream destination: its own bounded queue, its own connection and
 * reconnect loop. Every output of the process runs on one event loop
 * thread; the streaming thread only queues references and never waits. */

typedef enum
{
  CF_OUTPUT_STATE_CONNECTING,
  CF_OUTPUT_STATE_CONNECTED,
  CF_OUTPUT_STATE_RECONNECTING,
  CF_OUTPUT_STATE_DISABLED,
  CF_OUTPUT_STATE_FAILED,
} CfOutputState;

const gchar *cf_output_state_to_string (CfOutputState state);

/* An FLV tag shared by reference between the queues of every output, with
 * its RTMP chunks serialised once for all outputs that use the common
 * chunk size and stream id. */
typedef struct _CfOutputTag CfOutputTag;

CfOutputTag *cf_output_tag_new (GstBuffer * buf);
CfOutputTag *cf_output_tag_ref (CfOutputTag * tag);
void cf_output_tag_unref (CfOutputTag * tag);

typedef struct
{
  gchar *scheme;                /* rtmp, rtmps, srt */
  gchar *host;
  guint port;
  gchar *app;                   /* RTMP application (path without the key) */
  gchar *stream_key;            /* RTMP stream name */
  gchar *tc_url;
  /* SRT: from the query (streamid, passphrase, latency) */
  gchar *srt_stream_id;
  gchar *srt_passphrase;
  guint latency;
} CfOutputUrl;

gboolean cf_output_url_parse (const gchar * url, const gchar * stream_key,
    CfOutputUrl * out, GError ** error);
void cf_output_url_clear (CfOutputUrl * url);
/* The URL with the stream key hidden */
gchar *cf_output_url_to_safe_string (const CfOutputUrl * url);

typedef struct
{
  gsize max_queue_bytes;
  GstClockTime max_queue_time;
  gint max_reconnects;          /* -1: for ever */
  gboolean tls_validate;
  /* how long a tag may wait so that an output writes all the tags of that
   * time in one system call; 0: each tag at once */
  GstClockTime flush_interval;
} CfOutputConfig;

typedef struct _CfOutput CfOutput;

/* Called on the event loop thread at every state change */
typedef void (*CfOutputStateFunc) (CfOutput * output, CfOutputState state,
    const gchar * error, gpointer user_data);

CfOutput *cf_output_new (const gchar * uid, CfOutputUrl * url,
    const CfOutputConfig * config, gboolean enabled,
    CfOutputStateFunc func, gpointer user_data, GDestroyNotify notify);
const gchar *cf_output_get_uid (CfOutput * output);
/* Starts (connects if enabled) */
void cf_output_start (CfOutput * output);
/* Disconnects until the next cf_output_start() */
void cf_output_suspend (CfOutput * output);
/* Disconnects (cleanly if possible) and releases the output; no callback
 * after this returns. */
void cf_output_destroy (CfOutput * output);

/* Any thread, never blocks */
void cf_output_push (CfOutput * output, CfOutputTag * tag);
/* After @tag was pushed to every output: wakes the loop for it, now or
 * within @flush_interval */
void cf_output_push_done (CfOutputTag * tag, GstClockTime flush_interval);
void cf_output_set_enabled (CfOutput * output, gboolean enabled);
gboolean cf_output_get_enabled (CfOutput * output);
/* The encoder came back upstream: wait for its keyframe */
void cf_output_restart_gop (CfOutput * output);
/* Data still queued or being written */
gboolean cf_output_is_drained (CfOutput * output);

/* Whether the output is an SRT destination (it sends MPEG-TS) */
gboolean cf_output_is_srt (CfOutput * output);

/* Appends a structure named "output" with uid, url, state, enabled,
 * last-error, bytes-sent, frames-sent, frames-dropped, reconnects,
 * queued-bytes to @list */
GstStructure *cf_output_get_stats (CfOutput * output);

G_END_DECLS

#endif /* __CF_OUTPUT_H__ */
