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

/* cflive-server: runs a live input and tells the user how to push to it.
 *
 *   cflive-server [--rtmp-url rtmp://127.0.0.1:1935/live] [--stream-key KEY]
 *                 [--data-dir DIR] [--reconnect-window SECONDS]
 *                 [--tls-certificate PEM --tls-key PEM]
 *
 * Without --stream-key, a key in Cloudflare's form (<32 hex>k<uid>) is
 * made once from the system's random source and kept in the data
 * directory, so that an encoder configured once keeps working.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/cflive/cflive.h>

static gchar *opt_rtmp_url = NULL;
static gchar *opt_stream_key = NULL;
static gchar *opt_data_dir = NULL;
static gchar *opt_tls_certificate = NULL;
static gchar *opt_tls_key = NULL;
static gint opt_reconnect_window = -1;
static gint opt_stats_interval = 5;

static GOptionEntry entries[] = {
  {"rtmp-url", 0, 0, G_OPTION_ARG_STRING, &opt_rtmp_url,
      "Where to listen (default rtmp://127.0.0.1:1935/live; rtmps:// for TLS)",
      "URL"},
  {"stream-key", 0, 0, G_OPTION_ARG_STRING, &opt_stream_key,
      "The stream key (default: made once and kept in the data directory)",
      "KEY"},
  {"data-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_data_dir,
      "Where to keep state (default ./cflive-data)", "DIR"},
  {"tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_certificate,
      "PEM certificate for rtmps://", "FILE"},
  {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_key,
      "PEM private key for rtmps://", "FILE"},
  {"reconnect-window", 0, 0, G_OPTION_ARG_INT, &opt_reconnect_window,
      "Seconds to wait for a dropped encoder (-1: for ever, the default)",
      "SECONDS"},
  {"stats-interval", 0, 0, G_OPTION_ARG_INT, &opt_stats_interval,
      "Seconds between statistics lines while live (0: none)", "SECONDS"},
  {NULL}
};

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *src;
  gint exit_code;
} App;

static gchar *
load_or_make_key (const gchar * dir, GError ** error)
{
  g_autofree gchar *path = g_build_filename (dir, "stream-key", NULL);
  gchar *key = NULL;

  if (g_file_get_contents (path, &key, NULL, NULL)) {
    g_strstrip (key);
    if (*key)
      return key;
    g_free (key);
  }

  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot create %s: %s", dir, g_strerror (errno));
    return NULL;
  }
  {
    g_autofree gchar *uid = gst_cflive_secret_new_hex (16);
    g_autofree gchar *secret = gst_cflive_secret_new_hex (16);

    key = g_strdup_printf ("%sk%s", secret, uid);
  }
  if (!g_file_set_contents_full (path, key, -1,
          G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
    g_free (key);
    return NULL;
  }
  return key;
}

static gchar *
now_str (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "%H:%M:%S");
}

static void
print_status (const GstStructure * s)
{
  g_autofree gchar *t = now_str ();
  const gchar *reason = gst_structure_get_string (s, "reason");
  const gchar *remote = gst_structure_get_string (s, "remote-address");
  const gchar *encoder = gst_structure_get_string (s, "encoder");
  const gchar *protocol = gst_structure_get_string (s, "protocol");
  const gchar *why = gst_structure_get_string (s, "disconnect-reason");
  const gchar *detail = gst_structure_get_string (s, "detail");
  guint session = 0;

  gst_structure_get_uint (s, "session", &session);

  if (g_strcmp0 (reason, "connected") == 0 ||
      g_strcmp0 (reason, "reconnected") == 0) {
    g_print ("[%s] %-13s session %u, %s from %s%s%s%s\n", t, reason, session,
        protocol, remote, encoder && *encoder ? " (" : "",
        encoder ? encoder : "", encoder && *encoder ? ")" : "");
  } else {
    g_print ("[%s] %-13s %s%s%s\n", t, reason, why ? why : "",
        detail ? ": " : "", detail ? detail : "");
  }
}

static gboolean
print_stats (gpointer data)
{
  App *app = data;
  GstStructure *s = NULL;
  const gchar *status;
  guint bitrate = 0;
  guint64 vf = 0, af = 0;

  g_object_get (app->src, "stats", &s, NULL);
  status = gst_structure_get_string (s, "status");
  if (g_strcmp0 (status, "connected") == 0) {
    g_autofree gchar *t = now_str ();

    gst_structure_get_uint (s, "bitrate", &bitrate);
    gst_structure_get_uint64 (s, "video-frames", &vf);
    gst_structure_get_uint64 (s, "audio-frames", &af);
    g_print ("[%s] live          %s + %s, %.0f kbps, %" G_GUINT64_FORMAT
        " video frames, %" G_GUINT64_FORMAT " audio frames\n", t,
        gst_structure_get_string (s, "video-codec"),
        gst_structure_get_string (s, "audio-codec"), bitrate / 1000.0, vf, af);
  }
  gst_structure_free (s);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, GST_CFLIVE_STATUS_MESSAGE_NAME))
        print_status (s);
      break;
    }
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) err = NULL;
      g_autofree gchar *dbg = NULL;

      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("ERROR: %s\n%s\n", err->message, dbg ? dbg : "");
      app->exit_code = 1;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_print ("The live input ended.\n");
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer data)
{
  App *app = data;

  g_print ("\nStopping.\n");
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static void
print_instructions (const gchar * url, const gchar * host, guint port,
    const gchar * app_name, gboolean tls, const gchar * key)
{
  const gchar *scheme = tls ? "rtmps" : "rtmp";
  g_autofree gchar *server = g_strdup_printf ("%s://%s:%u/%s", scheme, host,
      port, app_name);

  g_print ("gst-cflive live input listening on %s\n\n", server);
  g_print ("Push with ffmpeg:\n"
      "  ffmpeg -re -i input.mp4 -c:v libx264 -preset veryfast -g 120 "
      "-c:a aac -f flv %s/%s\n\n", server, key);
  g_print ("Push from OBS (Settings > Stream):\n"
      "  Service:    Custom...\n"
      "  Server:     %s\n"
      "  Stream Key: %s\n"
      "  (Settings > Output: keyframe interval 4 s, H.264 + AAC)\n\n",
      server, key);
  g_print ("Waiting for an encoder. Ctrl+C stops.\n");
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) err = NULL;
  g_autofree gchar *key = NULL;
  App app = { 0 };
  GstElement *sink;
  GstBus *bus;
  guint port = 0;
  gchar *url;
  g_autoptr (GUri) uri = NULL;

  ctx = g_option_context_new ("- a live input that encoders push to");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }

  url = opt_rtmp_url ? opt_rtmp_url : "rtmp://127.0.0.1:1935/live";
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (!uri || !g_uri_get_host (uri)) {
    g_printerr ("Invalid --rtmp-url '%s'\n", url);
    return 2;
  }

  if (opt_stream_key) {
    key = g_strdup (opt_stream_key);
  } else {
    key = load_or_make_key (opt_data_dir ? opt_data_dir : "cflive-data",
        &err);
    if (!key) {
      g_printerr ("Cannot keep the stream key: %s\n", err->message);
      return 1;
    }
  }

  /* run from the build tree without GST_PLUGIN_PATH */
  if (!gst_registry_find_feature (gst_registry_get (), "cfliveinputsrc",
          GST_TYPE_ELEMENT_FACTORY))
    gst_registry_scan_path (gst_registry_get (), CFLIVE_PLUGIN_DIR);

  app.pipeline = gst_pipeline_new ("cflive-server");
  app.src = gst_element_factory_make ("cfliveinputsrc", "input");
  if (!app.src) {
    g_printerr ("The cfliveinputsrc element is missing: set GST_PLUGIN_PATH "
        "to the build directory\n");
    return 1;
  }
  g_object_set (app.src, "rtmp-url", url, "stream-key", key,
      "reconnect-window", opt_reconnect_window, NULL);
  if (opt_tls_certificate)
    g_object_set (app.src, "tls-certificate", opt_tls_certificate, NULL);
  if (opt_tls_key)
    g_object_set (app.src, "tls-key", opt_tls_key, NULL);
  sink = gst_element_factory_make ("fakesink", "sink");
  g_object_set (sink, "sync", FALSE, NULL);
  gst_bin_add_many (GST_BIN (app.pipeline), app.src, sink, NULL);
  gst_element_link (app.src, sink);

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_pipeline_get_bus (GST_PIPELINE (app.pipeline));
  gst_bus_add_watch (bus, on_bus, &app);
  gst_object_unref (bus);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);

  if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* the error message on the bus says why */
    GstMessage *m = gst_bus_poll (GST_ELEMENT_BUS (app.pipeline),
        GST_MESSAGE_ERROR, 0);
    if (m) {
      on_bus (NULL, m, &app);
      gst_message_unref (m);
    }
    gst_element_set_state (app.pipeline, GST_STATE_NULL);
    return 1;
  }

  g_object_get (app.src, "bound-port", &port, NULL);
  print_instructions (url, g_uri_get_host (uri), port,
      g_uri_get_path (uri)[0] == '/' ? g_uri_get_path (uri) + 1 :
      g_uri_get_path (uri), g_str_has_prefix (url, "rtmps"), key);

  if (opt_stats_interval > 0)
    g_timeout_add_seconds (opt_stats_interval, print_stats, &app);

  g_main_loop_run (app.loop);

  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  return app.exit_code;
}
