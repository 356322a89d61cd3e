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

#ifndef __CF_SERVER_H__
#define __CF_SERVER_H__

#include <glib.h>

G_BEGIN_DECLS

/* The Cloudflare-compatible live-input API of cflive-server: routing,
 * envelope, authentication and handlers (libsoup 3 + json-glib), the state
 * in memory mirrored in SQLite (cfstore), one pipeline per live input
 * (cfmedia), metrics and webhooks. Everything runs in the main context. */

typedef struct
{
  gchar *data_dir;
  gchar *api_address;
  guint api_port;
  gchar *media_address;
  guint rtmp_port;
  guint srt_port;
  gchar *public_host;
  gchar *public_url;            /* base of playback URLs; NULL: derived */
  gchar *account_id;            /* NULL: stored or generated */
  gchar *api_token;             /* NULL: stored or generated */
  gchar *api_key;               /* NULL: stored or generated */
  gchar *auth_email;            /* NULL: stored or default */
  gchar *tls_certificate;
  gchar *tls_key;
  guint max_live_inputs;
  guint max_outputs;
  gint reconnect_window;
  gchar *webhook_url;           /* NULL: as stored */
  gchar *webhook_secret;        /* NULL: stored or generated */
} CfServerConfig;

typedef struct _CfServer CfServer;

CfServer *cf_server_new (const CfServerConfig * config, GError ** error);
void cf_server_free (CfServer * server);

const gchar *cf_server_get_account_id (CfServer * server);
guint cf_server_get_api_port (CfServer * server);
/* credentials made at this start (NULL when they were already stored) */
const gchar *cf_server_get_generated_token (CfServer * server);
const gchar *cf_server_get_generated_key (CfServer * server);
const gchar *cf_server_get_auth_email (CfServer * server);
guint cf_server_get_n_inputs (CfServer * server);

G_END_DECLS

#endif /* __CF_SERVER_H__ */
