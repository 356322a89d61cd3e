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

#ifndef __CF_STORE_H__
#define __CF_STORE_H__

#include <glib.h>

G_BEGIN_DECLS

/* The state of cflive-server in one SQLite database (WAL journal,
 * synchronous=FULL): live inputs with their secrets, outputs, recordings,
 * API credentials and settings. Every change the API makes runs inside one
 * cf_store_begin () ... cf_store_commit () transaction (BEGIN IMMEDIATE), so
 * a request is applied whole or not at all, and what was committed survives
 * a crash or SIGKILL. Used from the main thread only. */

typedef struct _CfStore CfStore;

typedef struct
{
  gchar *uid;
  gchar *url;
  gchar *stream_key;
  gboolean enabled;
  gint64 created;               /* µs since the epoch */
  /* runtime, not stored */
  gchar *sink_uid;              /* the uid cfrestreamsink gave it */
  gchar *state;                 /* last state cfrestreamsink reported */
} CfLiveOutput;

typedef struct
{
  gchar *state;
  gchar *reason;
  gint64 entered;               /* µs since the epoch */
  gint64 last_seen;
} CfStatusEntry;

typedef struct
{
  gchar *uid;
  gint64 created;
  gint64 modified;
  gchar *meta_json;             /* a JSON object */
  gchar *default_creator;       /* NULL: none */
  gboolean has_delete_after;
  gdouble delete_after_days;
  gboolean rec_automatic;
  gint64 rec_timeout;
  gboolean rec_require_signed;
  gchar *rec_allowed_origins_json;      /* JSON array, NULL: null */
  gboolean rec_hide_viewers;
  gboolean enabled;
  gboolean prefer_low_latency;
  gchar *rtmps_key;
  gchar *rtmps_playback_key;
  gchar *srt_passphrase;
  gchar *srt_playback_passphrase;
  gchar *webrtc_secret;
  gint64 keys_rotated_at;       /* 0: never */
  /* status: NULL before the first connection */
  CfStatusEntry *current;
  GPtrArray *history;           /* CfStatusEntry, oldest first */
  GPtrArray *outputs;           /* CfLiveOutput, in creation order */
  /* runtime, not stored */
  gpointer media;               /* CfMedia */
  gboolean connected;
  gboolean announced;           /* live_input.connected was sent */
  guint restart_id;             /* a new pipeline is due */
  gchar *last_error;            /* last ERR_* sent as live_input.errored */
  gint64 last_error_at;
  gchar *summary_json;          /* its item in the list, NULL: to be made */
} CfInput;

typedef struct
{
  gchar *uid;
  gchar *input_uid;             /* NULL when unknown */
  gint64 created;
  gchar *state;                 /* status.state of the Video object */
  gint64 delete_at;             /* µs since the epoch, 0: kept */
  gchar *json;                  /* the Video object as cfrecordsink wrote it */
  gchar *overrides;             /* JSON object: members set over @json (creator,
                                 * meta, requireSignedURLs, allowedOrigins) or
                                 * NULL */
} CfVideo;

CfStore *cf_store_open (const gchar * path, GError ** error);
void cf_store_close (CfStore * store);

gboolean cf_store_begin (CfStore * store, GError ** error);
gboolean cf_store_commit (CfStore * store, GError ** error);
void cf_store_rollback (CfStore * store);

gboolean cf_store_put_input (CfStore * store, const CfInput * input,
    GError ** error);
gboolean cf_store_delete_input (CfStore * store, const gchar * uid,
    GError ** error);
gboolean cf_store_put_output (CfStore * store, const gchar * input_uid,
    const CfLiveOutput * output, GError ** error);
gboolean cf_store_delete_output (CfStore * store, const gchar * uid,
    GError ** error);
/* every live input, with its outputs; in creation order */
GPtrArray *cf_store_load_inputs (CfStore * store, GError ** error);

gboolean cf_store_put_video (CfStore * store, const CfVideo * video,
    GError ** error);
gboolean cf_store_delete_video (CfStore * store, const gchar * uid,
    GError ** error);
GPtrArray *cf_store_load_videos (CfStore * store, GError ** error);

/* settings and credentials (name -> text) */
gchar *cf_store_get_setting (CfStore * store, const gchar * name);
gboolean cf_store_set_setting (CfStore * store, const gchar * name,
    const gchar * value, GError ** error);

CfInput *cf_input_new (void);
void cf_input_free (CfInput * input);
CfLiveOutput *cf_live_output_new (void);
void cf_live_output_free (CfLiveOutput * output);
CfStatusEntry *cf_status_entry_new (const gchar * state, const gchar * reason,
    gint64 at);
void cf_status_entry_free (CfStatusEntry * e);
CfVideo *cf_video_new (void);
void cf_video_free (CfVideo * video);

/* status <-> JSON text ({"current":..,"history":[..]}) */
gchar *cf_input_status_to_json (const CfInput * input);
void cf_input_status_from_json (CfInput * input, const gchar * json);

G_END_DECLS

#endif /* __CF_STORE_H__ */
