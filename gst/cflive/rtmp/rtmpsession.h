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

#ifndef __CF_RTMP_SESSION_H__
#define __CF_RTMP_SESSION_H__

#include <glib.h>
#include "rtmpchunk.h"

G_BEGIN_DECLS

/* The largest command or data message a publisher may send */
#define CF_RTMP_MAX_COMMAND_SIZE (64 * 1024)
/* The handshake: C0 + C1, then C2 */
#define CF_RTMP_HANDSHAKE_SIZE 1536

typedef enum
{
  CF_RTMP_SERVER_STATE_HANDSHAKE,       /* waiting for C0 C1 */
  CF_RTMP_SERVER_STATE_HANDSHAKE_ACK,   /* waiting for C2 */
  CF_RTMP_SERVER_STATE_CONNECT,         /* waiting for connect */
  CF_RTMP_SERVER_STATE_CONNECTED,       /* connected, not publishing */
  CF_RTMP_SERVER_STATE_PUBLISHING,
  CF_RTMP_SERVER_STATE_CLOSING,         /* refused: flush the output, close */
} CfRtmpServerState;

typedef struct _CfRtmpServerSession CfRtmpServerSession;

typedef struct
{
  /* The peer asks to publish @name on application @app (both stripped of
   * any query string). Return TRUE to accept, or FALSE with a description
   * for the peer in @description (g_malloc'ed) and a status code such as
   * "NetStream.Publish.BadName" in @code (static). */
  gboolean (*publish) (CfRtmpServerSession * session, const gchar * app,
      const gchar * name, const gchar ** code, gchar ** description,
      gpointer user_data);
  /* One audio (8), video (9) or script data (18) FLV tag body of the
   * published stream, with its RTMP timestamp. */
  gboolean (*media) (CfRtmpServerSession * session, guint8 type,
      guint32 timestamp, GBytes * body, gpointer user_data, GError ** error);
  /* The publisher stopped publishing cleanly (FCUnpublish, deleteStream) */
  void (*unpublish) (CfRtmpServerSession * session, gpointer user_data);
} CfRtmpServerCallbacks;

CfRtmpServerSession *cf_rtmp_server_session_new (const CfRtmpServerCallbacks *
    callbacks, gpointer user_data);
void cf_rtmp_server_session_free (CfRtmpServerSession * session);

/* Feeds received bytes. Returns FALSE with @error set when the connection
 * must be closed: malformed input, a limit hit, a refused request (after
 * which the output still holds the refusal for the peer). */
gboolean cf_rtmp_server_session_feed (CfRtmpServerSession * session,
    const guint8 * data, gsize size, GError ** error);

/* Bytes to send to the peer. The caller removes what it sent. */
GByteArray *cf_rtmp_server_session_get_output (CfRtmpServerSession *
    session);

CfRtmpServerState cf_rtmp_server_session_get_state (CfRtmpServerSession *
    session);
const gchar *cf_rtmp_server_session_get_app (CfRtmpServerSession * session);
/* What the encoder calls itself in connect (flashVer) */
const gchar *cf_rtmp_server_session_get_encoder (CfRtmpServerSession *
    session);

/* Refuses the current publish (e.g. the live input was disabled): queues
 * an onStatus error for the peer and moves to the closing state. */
void cf_rtmp_server_session_refuse (CfRtmpServerSession * session,
    const gchar * code, const gchar * description);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtmpServerSession,
    cf_rtmp_server_session_free)

G_END_DECLS

#endif /* __CF_RTMP_SESSION_H__ */
