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

#ifndef __CF_INGEST_H__
#define __CF_INGEST_H__

#include <gst/gst.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* The ingest hub: listening sockets shared by every live input of the
 * process, one per address and port, with the connections they accept.
 * All network I/O runs on one thread with its own main context; it hands
 * each live input a queue of items (session start, FLV tag, session end)
 * that the element's streaming thread pops. */

typedef enum
{
  CF_INGEST_ITEM_START,
  CF_INGEST_ITEM_TAG,
  CF_INGEST_ITEM_END,
} CfIngestItemType;

typedef enum
{
  CF_INGEST_END_UNPUBLISHED,    /* the encoder stopped publishing cleanly */
  CF_INGEST_END_CLOSED,         /* the connection closed or broke */
  CF_INGEST_END_TIMEOUT,        /* nothing received for idle-timeout */
  CF_INGEST_END_ERROR,          /* malformed data from the encoder */
  CF_INGEST_END_REPLACED,       /* a new publish with the same key */
  CF_INGEST_END_DISABLED,       /* the live input was disabled */
  CF_INGEST_END_SHUTDOWN,       /* the live input stopped */
} CfIngestEndReason;

const gchar *cf_ingest_end_reason_to_string (CfIngestEndReason reason);

typedef struct
{
  CfIngestItemType type;
  guint session;
  gint64 arrival;               /* g_get_monotonic_time() at reception */

  /* TAG */
  guint8 tag_type;
  guint32 timestamp;            /* encoder timestamp, ms */
  GBytes *body;

  /* START */
  gchar *protocol;
  gchar *remote;
  gchar *encoder;

  /* END */
  CfIngestEndReason reason;
  gchar *detail;
} CfIngestItem;

void cf_ingest_item_free (CfIngestItem * item);

typedef struct _CfIngestInput CfIngestInput;

typedef struct
{
  gboolean tls;
  gchar *host;
  guint port;
  gchar *app;
} CfIngestUrl;

gboolean cf_ingest_url_parse (const gchar * url, CfIngestUrl * out,
    GError ** error);
void cf_ingest_url_clear (CfIngestUrl * url);

CfIngestInput *cf_ingest_input_new (GstObject * owner);
CfIngestInput *cf_ingest_input_ref (CfIngestInput * input);
void cf_ingest_input_unref (CfIngestInput * input);

typedef struct
{
  /* RTMP(S): rtmp.host NULL for none */
  CfIngestUrl rtmp;
  const gchar *stream_key;
  const gchar *tls_certificate;
  const gchar *tls_key;
  /* SRT: srt_host NULL for none */
  const gchar *srt_host;
  guint srt_port;
  const gchar *srt_stream_id;
  const gchar *srt_passphrase;  /* NULL or empty: no encryption */
  guint srt_latency;            /* ms */

  guint idle_timeout;           /* s */
  gboolean enabled;
} CfIngestConfig;

/* Binds (or shares) the listening sockets and starts routing publishes with
 * the stream key (RTMP) or stream id (SRT) to this input. */
gboolean cf_ingest_input_start (CfIngestInput * input,
    const CfIngestConfig * config, GError ** error);

/* srt://host:port (query ignored) */
gboolean cf_ingest_srt_url_parse (const gchar * url, gchar ** host,
    guint * port, GError ** error);
/* Stops routing, closes the current connection, drops queued items. */
void cf_ingest_input_stop (CfIngestInput * input);

guint cf_ingest_input_get_port (CfIngestInput * input);
guint cf_ingest_input_get_srt_port (CfIngestInput * input);
void cf_ingest_input_set_enabled (CfIngestInput * input, gboolean enabled);
/* Publishes are refused from now on (the stream ended) */
void cf_ingest_input_set_ended (CfIngestInput * input);
void cf_ingest_input_set_flushing (CfIngestInput * input, gboolean flushing);

typedef enum
{
  CF_INGEST_POP_ITEM,
  CF_INGEST_POP_TIMEOUT,
  CF_INGEST_POP_FLUSHING,
  CF_INGEST_POP_WAKE,           /* cf_ingest_input_wake() was called */
} CfIngestPopResult;

/* Waits for the next item until @deadline (monotonic µs, -1 for ever). */
CfIngestPopResult cf_ingest_input_pop (CfIngestInput * input,
    gint64 deadline, CfIngestItem ** item);
/* Makes a waiting cf_ingest_input_pop() return CF_INGEST_POP_WAKE */
void cf_ingest_input_wake (CfIngestInput * input);

/* Counters of the hub for this input's listener */
void cf_ingest_input_get_counters (CfIngestInput * input, guint64 * refused,
    guint64 * bytes);

G_END_DECLS

#endif /* __CF_INGEST_H__ */
