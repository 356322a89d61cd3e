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

/* cflive-server: the Cloudflare-compatible live-input API of gst-cflive,
 * with one pipeline of the cflive elements per live input. See
 * docs/cflive-server.md.
 *
 *   cflive-server [--data-dir DIR] [--api-port 8787] [--rtmp-port 1935]
 *                 [--srt-port 8890] [--public-host HOST] ...
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include "cfserver.h"

#define DEFAULT_API_PORT 8787
#define DEFAULT_RTMP_PORT 1935
#define DEFAULT_SRT_PORT 8890
#define DEFAULT_MAX_LIVE_INPUTS 1000
#define DEFAULT_MAX_OUTPUTS 50

static gchar *opt_data_dir = NULL;
static gchar *opt_api_address = NULL;
static gint opt_api_port = DEFAULT_API_PORT;
static gchar *opt_media_address = NULL;
static gint opt_rtmp_port = DEFAULT_RTMP_PORT;
static gint opt_srt_port = DEFAULT_SRT_PORT;
static gchar *opt_public_host = NULL;
static gchar *opt_public_url = NULL;
static gchar *opt_account_id = NULL;
static gchar *opt_api_token_file = NULL;
static gchar *opt_api_key_file = NULL;
static gchar *opt_auth_email = NULL;
static gchar *opt_tls_certificate = NULL;
static gchar *opt_tls_key = NULL;
static gint opt_max_live_inputs = DEFAULT_MAX_LIVE_INPUTS;
static gint opt_max_outputs = DEFAULT_MAX_OUTPUTS;
static gint opt_reconnect_window = -1;
static gchar *opt_webhook_url = NULL;
static gchar *opt_webhook_secret_file = NULL;

static GOptionEntry entries[] = {
  {"data-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_data_dir,
      "Where the database and recordings live (default ./cflive-data)", "DIR"},
  {"api-address", 0, 0, G_OPTION_ARG_STRING, &opt_api_address,
      "Address the API listens on (default 127.0.0.1)", "ADDR"},
  {"api-port", 0, 0, G_OPTION_ARG_INT, &opt_api_port,
      "Port of the API and playback (default 8787; 0 picks one)", "PORT"},
  {"media-address", 0, 0, G_OPTION_ARG_STRING, &opt_media_address,
      "Address RTMP(S) and SRT listen on (default 0.0.0.0)", "ADDR"},
  {"rtmp-port", 0, 0, G_OPTION_ARG_INT, &opt_rtmp_port,
      "RTMP (or RTMPS with a certificate) port shared by every live input "
        "(default 1935)", "PORT"},
  {"srt-port", 0, 0, G_OPTION_ARG_INT, &opt_srt_port,
        "SRT port shared by every live input (default 8890; 0: no SRT)",
      "PORT"},
  {"public-host", 0, 0, G_OPTION_ARG_STRING, &opt_public_host,
      "Host name put in the credential and playback URLs (default "
        "127.0.0.1)", "HOST"},
  {"public-url", 0, 0, G_OPTION_ARG_STRING, &opt_public_url,
      "Base of playback URLs (default http://PUBLIC-HOST:API-PORT)", "URL"},
  {"account-id", 0, 0, G_OPTION_ARG_STRING, &opt_account_id,
      "Account id of the API paths (default: made once and stored)", "ID"},
  {"api-token-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_api_token_file,
      "File holding the API token (default: $CFLIVE_API_TOKEN, or one made "
        "once, stored and printed)", "FILE"},
  {"api-key-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_api_key_file,
      "File holding the key of X-Auth-Key (default: $CFLIVE_API_KEY, or one "
        "made once, stored and printed)", "FILE"},
  {"auth-email", 0, 0, G_OPTION_ARG_STRING, &opt_auth_email,
      "The X-Auth-Email that goes with the key (default: stored, or "
        "admin@localhost)", "EMAIL"},
  {"tls-certificate", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_certificate,
      "PEM certificate: ingest over RTMPS instead of RTMP", "FILE"},
  {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_tls_key,
      "PEM private key of the certificate", "FILE"},
  {"max-live-inputs", 0, 0, G_OPTION_ARG_INT, &opt_max_live_inputs,
      "Live inputs per account (default 1000)", "N"},
  {"max-outputs", 0, 0, G_OPTION_ARG_INT, &opt_max_outputs,
      "Outputs per live input (default 50)", "N"},
  {"reconnect-window", 0, 0, G_OPTION_ARG_INT, &opt_reconnect_window,
      "Seconds a live input waits for its encoder to come back before its "
        "status is ttl_exceeded (default -1: for ever)", "SECONDS"},
  {"webhook-url", 0, 0, G_OPTION_ARG_STRING, &opt_webhook_url,
      "Where live-input and recording notifications are POSTed (also set "
        "through PUT /stream/webhook)", "URL"},
  {"webhook-secret-file", 0, 0, G_OPTION_ARG_FILENAME,
        &opt_webhook_secret_file,
      "File holding the webhook signing secret (default: made once and "
        "stored)", "FILE"},
  {NULL}
};

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gchar *
read_secret (const gchar * file, const gchar * env, const gchar * what,
    gboolean * failed)
{
  gchar *text = NULL;
  g_autoptr (GError) err = NULL;

  if (file) {
    if (!g_file_get_contents (file, &text, NULL, &err)) {
      g_printerr ("Cannot read the %s: %s\n", what, err->message);
      *failed = TRUE;
      return NULL;
    }
    g_strstrip (text);
    if (!*text) {
      g_printerr ("The %s file %s is empty\n", what, file);
      g_free (text);
      *failed = TRUE;
      return NULL;
    }
    return text;
  }
  if (env && g_getenv (env) && *g_getenv (env))
    return g_strdup (g_getenv (env));
  return NULL;
}

static gboolean
check_port (const gchar * name, gint port, gboolean zero_ok)
{
  if (port < (zero_ok ? 0 : 1) || port > 65535) {
    g_printerr ("--%s must be a port number from %d to 65535\n", name,
        zero_ok ? 0 : 1);
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) err = NULL;
  CfServerConfig cfg = { 0 };
  CfServer *server;
  GMainLoop *loop;
  gboolean failed = FALSE;
  g_autofree gchar *base = NULL;
  const gchar *token;

  ctx = g_option_context_new ("- the Cloudflare-compatible live-input API");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  if (!check_port ("api-port", opt_api_port, TRUE) ||
      !check_port ("rtmp-port", opt_rtmp_port, FALSE) ||
      !check_port ("srt-port", opt_srt_port, TRUE))
    return 2;
  if (opt_max_live_inputs < 1 || opt_max_outputs < 1) {
    g_printerr ("--max-live-inputs and --max-outputs must be at least 1\n");
    return 2;
  }
  if (!opt_tls_certificate != !opt_tls_key && !opt_tls_certificate) {
    g_printerr ("--tls-key needs --tls-certificate\n");
    return 2;
  }
  if (opt_account_id && (strlen (opt_account_id) == 0 ||
          strlen (opt_account_id) > 32 || strchr (opt_account_id, '/'))) {
    g_printerr ("--account-id must be 1 to 32 characters, no '/'\n");
    return 2;
  }

  cfg.data_dir = opt_data_dir ? opt_data_dir : "cflive-data";
  cfg.api_address = opt_api_address ? opt_api_address : "127.0.0.1";
  cfg.api_port = opt_api_port;
  cfg.media_address = opt_media_address ? opt_media_address : "0.0.0.0";
  cfg.rtmp_port = opt_rtmp_port;
  cfg.srt_port = opt_srt_port;
  cfg.public_host = opt_public_host ? opt_public_host : "127.0.0.1";
  cfg.public_url = opt_public_url;
  cfg.account_id = opt_account_id;
  cfg.api_token = read_secret (opt_api_token_file, "CFLIVE_API_TOKEN",
      "API token", &failed);
  cfg.api_key = read_secret (opt_api_key_file, "CFLIVE_API_KEY", "API key",
      &failed);
  cfg.webhook_secret = read_secret (opt_webhook_secret_file, NULL,
      "webhook secret", &failed);
  if (failed)
    return 2;
  cfg.auth_email = opt_auth_email;
  cfg.tls_certificate = opt_tls_certificate;
  cfg.tls_key = opt_tls_key;
  cfg.max_live_inputs = opt_max_live_inputs;
  cfg.max_outputs = opt_max_outputs;
  cfg.reconnect_window = opt_reconnect_window;
  cfg.webhook_url = opt_webhook_url;

  gst_init (&argc, &argv);

  server = cf_server_new (&cfg, &err);
  if (!server) {
    g_printerr ("cflive-server cannot start: %s\n", err->message);
    return 1;
  }

  base = g_strdup_printf ("http://%s:%u/client/v4/accounts/%s/stream",
      cfg.api_address, cf_server_get_api_port (server),
      cf_server_get_account_id (server));
  g_print ("cflive-server: %u live inputs; API on %s\n",
      cf_server_get_n_inputs (server), base);
  if (!cfg.tls_certificate)
    g_print ("NOTICE: no --tls-certificate: encoders connect with plain "
        "rtmp:// on port %u (the 'rtmps' credentials give rtmp:// URLs)\n",
        cfg.rtmp_port);
  else
    g_print ("RTMPS ingest on port %u\n", cfg.rtmp_port);
  if (cfg.srt_port)
    g_print ("SRT ingest on port %u\n", cfg.srt_port);

  token = cf_server_get_generated_token (server);
  if (token) {
    g_print ("\nA new API token was made (shown this once; kept in %s/"
        "api-token):\n  %s\n", cfg.data_dir, token);
  } else {
    g_print ("\nAPI token: %s\n", cfg.api_token ? "as given" :
        "as made at the first start (see the api-token file in the data "
        "directory)");
  }
  if (cf_server_get_generated_key (server))
    g_print ("X-Auth-Email: %s  X-Auth-Key (shown this once; kept in %s/"
        "api-key): %s\n", cf_server_get_auth_email (server), cfg.data_dir,
        cf_server_get_generated_key (server));
  g_print ("\nCreate a live input:\n"
      "  curl -X POST -H \"Authorization: Bearer %s\" \\\n"
      "    %s/live_inputs \\\n"
      "    --data '{\"meta\": {\"name\":\"test stream 1\"}, "
      "\"recording\": {\"mode\": \"automatic\"}}'\n\n",
      token ? token : (cfg.api_token ? "$TOKEN" : "$TOKEN"), base);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_main_loop_run (loop);
  g_print ("Stopping.\n");
  cf_server_free (server);
  g_main_loop_unref (loop);
  g_free (cfg.api_token);
  g_free (cfg.api_key);
  g_free (cfg.webhook_secret);
  return 0;
}
