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

#ifndef __CF_GIO_H__
#define __CF_GIO_H__

#include <gio/gio.h>

G_BEGIN_DECLS

/* GLib 2.74 can deadlock when two threads initialise related GIO types
 * for the first time at once: the application thread registering
 * GInetSocketAddress for a listener while the restream thread initialises
 * the GSocketClient class, each waiting for the other's lock. The ingest
 * and restream threads call this before they start, from the thread that
 * starts them. */
static inline void
cf_gio_ensure_types (void)
{
  GType all[] = {
    G_TYPE_SOCKET_ADDRESS, G_TYPE_INET_SOCKET_ADDRESS, G_TYPE_INET_ADDRESS,
    G_TYPE_NETWORK_ADDRESS, G_TYPE_PROXY_ADDRESS, G_TYPE_SOCKET_CONNECTABLE,
    G_TYPE_SOCKET, G_TYPE_SOCKET_CONNECTION, G_TYPE_TCP_CONNECTION,
    G_TYPE_SOCKET_CLIENT, G_TYPE_SOCKET_LISTENER, G_TYPE_CANCELLABLE,
    G_TYPE_RESOLVER, G_TYPE_PROXY_RESOLVER, G_TYPE_TLS_CERTIFICATE,
    G_TYPE_TLS_CONNECTION, G_TYPE_TLS_CLIENT_CONNECTION,
    G_TYPE_TLS_SERVER_CONNECTION, G_TYPE_POLLABLE_INPUT_STREAM,
    G_TYPE_POLLABLE_OUTPUT_STREAM,
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (all); i++) {
    if (G_TYPE_IS_CLASSED (all[i]))
      g_type_class_unref (g_type_class_ref (all[i]));
    else
      g_type_ensure (all[i]);
  }
}

G_END_DECLS

#endif /* __CF_GIO_H__ */
