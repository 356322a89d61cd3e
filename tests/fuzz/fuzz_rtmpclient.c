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

/* Fuzzes the RTMP client session (chunk stream, control messages, AMF
 * replies and statuses) with what a hostile server could send after a
 * valid handshake.
 *
 * First input byte: 0 feeds the rest in one piece; otherwise the rest is
 * fed in pieces whose sizes come from that byte, so that headers and
 * payloads split at every place get exercised. Each piece is copied to a
 * buffer of its exact size so that the sanitizers catch reads past it.
 * Once publishing, media messages are written after each piece; the
 * session is unpublished at the end. The seeds are server replies as
 * recorded from nginx-rtmp and from our own server session, plus scripted
 * odd servers. */

#include <string.h>
#include <glib.h>

#include "rtmpclient.h"
#include "rtmpsession.h"

int LLVMFuzzerTestOneInput (const guint8 * data, size_t size);

/* "onMetaData" and an empty ECMA array */
static const guint8 metadata[] = {
  0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a',
  0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09
};
static const guint8 video[] = { 0x17, 0x01, 0x00, 0x00, 0x00, 0x65 };
static const guint8 audio[] = { 0xaf, 0x01, 0x21 };

static void
check_result (CfRtmpClientSession * c, gboolean ok, GError * err)
{
  if (ok) {
    g_assert (err == NULL);
    g_assert (cf_rtmp_client_session_get_state (c) !=
        CF_RTMP_CLIENT_STATE_FAILED);
  } else {
    g_assert (err != NULL);
    g_assert (err->domain == CF_RTMP_ERROR);
    g_assert (err->message != NULL && err->message[0] != '\0');
    g_assert (cf_rtmp_client_session_get_state (c) ==
        CF_RTMP_CLIENT_STATE_FAILED);
  }
}

int
LLVMFuzzerTestOneInput (const guint8 * data, size_t size)
{
  static guint8 s012[1 + 2 * CF_RTMP_HANDSHAKE_SIZE];
  static gboolean initialized;
  CfRtmpClientSession *c;
  GByteArray *out;
  gsize step, off = 0;
  guint64 queued = 0;
  guint8 mode;
  gboolean ok;

  if (!initialized) {
    /* a g_return_if_fail() hit is a bug here */
    g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    s012[0] = 3;
    initialized = TRUE;
  }

  if (size < 1)
    return 0;
  mode = data[0];
  data++;
  size--;

  c = cf_rtmp_client_session_new ("rtmp://fuzz.example/live", "live", "key",
      NULL);
  out = cf_rtmp_client_session_get_output (c);
  cf_rtmp_client_session_start (c);
  ok = cf_rtmp_client_session_feed (c, s012, sizeof (s012), NULL);
  g_assert (ok);
  g_assert (cf_rtmp_client_session_get_state (c) ==
      CF_RTMP_CLIENT_STATE_CONNECTING);
  /* C0 C1 C2 Set Chunk Size connect */
  g_assert (out->len > 1 + 2 * CF_RTMP_HANDSHAKE_SIZE);
  queued = out->len;
  g_byte_array_set_size (out, 0);

  step = mode ? mode : MAX (size, 1);
  while (ok && off < size) {
    gsize n = MIN (step, size - off);
    guint8 *piece = g_memdup2 (data + off, n);
    GError *err = NULL;

    ok = cf_rtmp_client_session_feed (c, piece, n, &err);
    check_result (c, ok, err);
    g_clear_error (&err);
    g_free (piece);
    off += n;

    if (cf_rtmp_client_session_get_state (c) ==
        CF_RTMP_CLIENT_STATE_PUBLISHING) {
      cf_rtmp_client_session_write_media (c, 18, 0, metadata,
          sizeof (metadata));
      cf_rtmp_client_session_write_media (c, 9, (guint32) off * 1000, video,
          sizeof (video));
      cf_rtmp_client_session_write_media (c, 8, 0xffffff + (guint32) off,
          audio, sizeof (audio));
    }
    queued += out->len;
    g_byte_array_set_size (out, 0);
    /* the server cannot have acknowledged more than it was sent */
    g_assert (cf_rtmp_client_session_get_acked_bytes (c) <= queued);
    if (mode)
      step = step * 7 % 4093 + 1;
  }

  cf_rtmp_client_session_unpublish (c);
  cf_rtmp_client_session_free (c);
  return 0;
}
