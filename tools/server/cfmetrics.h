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

#ifndef __CF_METRICS_H__
#define __CF_METRICS_H__

#include <glib.h>

G_BEGIN_DECLS

/* Prometheus metrics of cflive-server (text exposition format 0.0.4).
 * Counters are kept here; gauges come from a snapshot of the server taken
 * at each scrape. Main thread only. */

typedef struct _CfMetrics CfMetrics;

typedef struct
{
  guint inputs;
  guint live_inputs;
  guint enabled_inputs;
  guint videos;
  GHashTable *outputs_by_state; /* state -> GUINT_TO_POINTER (count) */
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 webhooks_delivered;
  guint64 webhooks_failed;
  guint webhooks_queued;
} CfMetricsSnapshot;

CfMetrics *cf_metrics_new (void);
void cf_metrics_free (CfMetrics * metrics);

/* an ERR_* of a live input, or a pipeline / recording error */
void cf_metrics_count_error (CfMetrics * metrics, const gchar * code);
void cf_metrics_count_request (CfMetrics * metrics, const gchar * method,
    guint status);
void cf_metrics_count_event (CfMetrics * metrics, const gchar * event);

gchar *cf_metrics_render (CfMetrics * metrics,
    const CfMetricsSnapshot * snapshot);

G_END_DECLS

#endif /* __CF_METRICS_H__ */
