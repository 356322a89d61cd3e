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

#include <stdlib.h>
#include <string.h>

#include "cfmetrics.h"

struct _CfMetrics
{
  GHashTable *errors;           /* code -> guint64* */
  GHashTable *requests;         /* "method status" -> guint64* */
  GHashTable *events;           /* event -> guint64* */
  gint64 started;
};

CfMetrics *
cf_metrics_new (void)
{
  CfMetrics *m = g_new0 (CfMetrics, 1);

  m->errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->events = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->started = g_get_real_time ();
  return m;
}

void
cf_metrics_free (CfMetrics * m)
{
  if (!m)
    return;
  g_hash_table_unref (m->errors);
  g_hash_table_unref (m->requests);
  g_hash_table_unref (m->events);
  g_free (m);
}

static void
bump (GHashTable * t, const gchar * key)
{
  guint64 *v = g_hash_table_lookup (t, key);

  if (!v) {
    v = g_new0 (guint64, 1);
    g_hash_table_insert (t, g_strdup (key), v);
  }
  (*v)++;
}

void
cf_metrics_count_error (CfMetrics * m, const gchar * code)
{
  bump (m->errors, code && *code ? code : "unknown");
}

void
cf_metrics_count_request (CfMetrics * m, const gchar * method, guint status)
{
  g_autofree gchar *key = g_strdup_printf ("%s %u", method, status);

  bump (m->requests, key);
}

void
cf_metrics_count_event (CfMetrics * m, const gchar * event)
{
  bump (m->events, event);
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar **) a, *(const gchar **) b);
}

/* label values here are codes, methods and states: no escaping needed, but
 * keep to the safe characters anyway */
static gchar *
label (const gchar * s)
{
  gchar *r = g_strdup (s);

  g_strcanon (r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
      "0123456789_.-:/ ", '_');
  return r;
}

static void
render_table (GString * out, GHashTable * t, const gchar * name,
    const gchar * help, const gchar * lbl)
{
  g_autofree gpointer *keys = NULL;
  guint n, i;

  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s counter\n", name,
      help, name);
  keys = g_hash_table_get_keys_as_array (t, &n);
  qsort (keys, n, sizeof (gpointer), cmp_str);
  for (i = 0; i < n; i++) {
    g_autofree gchar *l = label (keys[i]);
    guint64 *v = g_hash_table_lookup (t, keys[i]);

    if (g_str_equal (lbl, "method,code")) {
      gchar *sp = strchr (l, ' ');

      *sp = '\0';
      g_string_append_printf (out, "%s{method=\"%s\",code=\"%s\"} %"
          G_GUINT64_FORMAT "\n", name, l, sp + 1, *v);
    } else {
      g_string_append_printf (out, "%s{%s=\"%s\"} %" G_GUINT64_FORMAT "\n",
          name, lbl, l, *v);
    }
  }
}

gchar *
cf_metrics_render (CfMetrics * m, const CfMetricsSnapshot * s)
{
  GString *out = g_string_new (NULL);
  static const gchar *states[] = { "idle", "connecting", "connected",
    "reconnecting", "disabled", "failed", NULL
  };
  guint i;

  g_string_append_printf (out,
      "# HELP cflive_live_inputs Live inputs configured.\n"
      "# TYPE cflive_live_inputs gauge\ncflive_live_inputs %u\n"
      "# HELP cflive_live_inputs_enabled Live inputs enabled.\n"
      "# TYPE cflive_live_inputs_enabled gauge\n"
      "cflive_live_inputs_enabled %u\n"
      "# HELP cflive_live_inputs_connected Live inputs with an encoder "
      "connected.\n# TYPE cflive_live_inputs_connected gauge\n"
      "cflive_live_inputs_connected %u\n"
      "# HELP cflive_videos Recordings known.\n"
      "# TYPE cflive_videos gauge\ncflive_videos %u\n",
      s->inputs, s->enabled_inputs, s->live_inputs, s->videos);

  g_string_append (out, "# HELP cflive_outputs Outputs by state.\n"
      "# TYPE cflive_outputs gauge\n");
  for (i = 0; states[i]; i++)
    g_string_append_printf (out, "cflive_outputs{state=\"%s\"} %u\n",
        states[i], s->outputs_by_state ?
        GPOINTER_TO_UINT (g_hash_table_lookup (s->outputs_by_state,
                states[i])) : 0);

  g_string_append_printf (out,
      "# HELP cflive_received_bytes_total Bytes received from encoders "
      "(live inputs running now).\n"
      "# TYPE cflive_received_bytes_total counter\n"
      "cflive_received_bytes_total %" G_GUINT64_FORMAT "\n"
      "# HELP cflive_sent_bytes_total Bytes sent to outputs (live inputs "
      "running now).\n# TYPE cflive_sent_bytes_total counter\n"
      "cflive_sent_bytes_total %" G_GUINT64_FORMAT "\n",
      s->bytes_in, s->bytes_out);

  render_table (out, m->errors, "cflive_errors_total",
      "Errors of live inputs by code.", "code");
  render_table (out, m->events, "cflive_events_total",
      "Live input events.", "event");
  render_table (out, m->requests, "cflive_api_requests_total",
      "API requests by method and HTTP status.", "method,code");

  g_string_append_printf (out,
      "# HELP cflive_webhooks_delivered_total Webhooks answered with 2xx.\n"
      "# TYPE cflive_webhooks_delivered_total counter\n"
      "cflive_webhooks_delivered_total %" G_GUINT64_FORMAT "\n"
      "# HELP cflive_webhooks_failed_total Webhooks given up or dropped.\n"
      "# TYPE cflive_webhooks_failed_total counter\n"
      "cflive_webhooks_failed_total %" G_GUINT64_FORMAT "\n"
      "# HELP cflive_webhooks_queued Webhooks waiting.\n"
      "# TYPE cflive_webhooks_queued gauge\ncflive_webhooks_queued %u\n"
      "# HELP cflive_start_time_seconds When the server started.\n"
      "# TYPE cflive_start_time_seconds gauge\n"
      "cflive_start_time_seconds %" G_GINT64_FORMAT "\n",
      s->webhooks_delivered, s->webhooks_failed, s->webhooks_queued,
      m->started / G_USEC_PER_SEC);
  return g_string_free (out, FALSE);
}
