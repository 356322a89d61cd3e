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

#ifndef __CF_INGEST_PRIVATE_H__
#define __CF_INGEST_PRIVATE_H__

/* Shared between the parts of the ingest hub (RTMP in cfingest.c, SRT in
 * cfingestsrt.c); not used by the elements. */

#include "cfingest.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (cf_ingest_debug);

/* An input's queue stops its publisher above this, resumes below the other */
#define CF_INGEST_QUEUE_HIGH_BYTES (32 * 1024 * 1024)
#define CF_INGEST_QUEUE_LOW_BYTES (16 * 1024 * 1024)

typedef struct _Publisher Publisher;
typedef struct _SrtListener SrtListener;

/* One encoder connection of any protocol, as the inputs see it. Embedded
 * first in the protocol's connection structure. */
struct _Publisher
{
  /* Called with hub.lock held, from any thread: closes the connection on
   * the thread that owns it, without blocking. */
  void (*kick) (Publisher * pub, CfIngestEndReason reason);
  /* Optional, same rules: the input's queue drained, read again. */
  void (*resume) (Publisher * pub);
  const gchar *protocol;
  gchar *remote;
  gchar *encoder;
  CfIngestInput *input;         /* hub.lock: while publishing */
  guint session_no;
};

typedef struct
{
  GMutex lock;
  GHashTable *listeners;        /* RTMP, "host:port" -> Listener */
  GHashTable *srt_listeners;    /* SRT, "host:port" -> SrtListener */
  GMainContext *context;
  GThread *thread;
} CfIngestHub;

extern CfIngestHub hub;

struct _CfIngestInput
{
  gint refcount;
  GstObject *owner;             /* for logging only, not reffed */

  /* hub.lock */
  struct _Listener *listener;
  gchar *app;
  gchar *key;
  SrtListener *srt_listener;
  gchar *srt_stream_id;
  gchar *srt_passphrase;
  guint srt_latency;
  guint idle_timeout;
  gboolean enabled;
  gboolean ended;
  Publisher *active;
  guint sessions;

  /* lock */
  GMutex lock;
  GCond cond;
  GQueue queue;
  gsize queued_bytes;
  gboolean flushing;
  gboolean waiting;             /* the consumer sleeps on cond */
  gboolean video_seen;          /* the session has video: audio rides */
  gboolean wake;
  gboolean reading_paused;
  guint64 bytes;
  guint64 dropped;
};

void _cf_ingest_publisher_attach_locked (Publisher * pub,
    CfIngestInput * input);
void _cf_ingest_publisher_detach_locked (Publisher * pub,
    CfIngestEndReason reason, const gchar * detail);
gboolean _cf_ingest_input_push_tag (CfIngestInput * input, guint session,
    guint8 type, guint32 timestamp, GBytes * body);
void _cf_ingest_input_count_bytes (CfIngestInput * input, gsize n);

/* SRT (cfingestsrt.c), hub.lock held */
gboolean _cf_ingest_srt_add_input_locked (CfIngestInput * input,
    const gchar * host, guint port, GError ** error);
void _cf_ingest_srt_remove_input_locked (CfIngestInput * input);
guint _cf_ingest_srt_get_port_locked (CfIngestInput * input);

G_END_DECLS

#endif /* __CF_INGEST_PRIVATE_H__ */
