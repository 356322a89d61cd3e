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

/* Fuzzes the RTMP server session (handshake, chunk stream, AMF commands,
 * media and aggregate messages) the way a network peer would.
 *
 * First input byte: 0 feeds the rest as is, from the handshake on;
 * otherwise a valid handshake is made first and the rest is fed after it,
 * in pieces whose sizes come from that byte, so that headers and payloads
 * split at every place get exercised. Publishing is accepted for the
 * stream name "key" and refused otherwise. */

#include <string.h>
#include <glib.h>

#include "rtmpsession.h"

int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

static gboolean
on_publish (CfRtmpServerSession * session, const gchar * app,
    const gchar * name, const gchar ** code, gchar ** description,
    gpointer user_data)
{
  g_assert (app != NULL);
  if (g_str_equal (name, "key"))
    return TRUE;
  *code = "NetStream.Publish.BadName";
  *description = g_strdup ("Unknown stream key.");
  return FALSE;
}

static gboolean
on_media (CfRtmpServerSession * session, guint8 type, guint32 timestamp,
    GBytes * body, gpointer user_data, GError ** error)
{
  gsize *total = user_data;
  gsize n;
  const guint8 *d = g_bytes_get_data (body, &n);

  g_assert (type == 8 || type == 9 || type == 18);
  g_assert (n > 0);
  /* touch every byte so that the sanitizers check the bounds */
  *total += d[0] + d[n - 1] + n;
  return TRUE;
}

static void
on_unpublish (CfRtmpServerSession * session, gpointer user_data)
{
}

static const CfRtmpServerCallbacks callbacks = {
  on_publish, on_media, on_unpublish
};

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  CfRtmpServerSession *s;
  gsize total = 0;
  guint8 mode;
  gboolean ok = TRUE;

  if (size < 1)
    return 0;
  mode = data[0];
  data++;
  size--;

  s = cf_rtmp_server_session_new (&callbacks, &total);

  if (mode == 0) {
    ok = cf_rtmp_server_session_feed (s, data, size, NULL);
  } else {
    static guint8 hs[1 + 2 * CF_RTMP_HANDSHAKE_SIZE];
    gsize step = mode, off = 0;

    hs[0] = 3;
    ok = cf_rtmp_server_session_feed (s, hs, sizeof (hs), NULL);
    g_assert (ok);
    g_assert (cf_rtmp_server_session_get_state (s) ==
        CF_RTMP_SERVER_STATE_CONNECT);
    /* S0 S1 S2 */
    g_assert (cf_rtmp_server_session_get_output (s)->len ==
        1 + 2 * CF_RTMP_HANDSHAKE_SIZE);

    while (ok && off < size) {
      gsize n = MIN (step, size - off);

      ok = cf_rtmp_server_session_feed (s, data + off, n, NULL);
      off += n;
      /* what the peer would read */
      g_byte_array_set_size (cf_rtmp_server_session_get_output (s), 0);
      step = step * 7 % 4093 + 1;
    }
  }

  (void) ok;
  cf_rtmp_server_session_free (s);
  return 0;
}
