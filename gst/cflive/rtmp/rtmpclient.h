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

#ifndef __CF_RTMP_CLIENT_H__
#define __CF_RTMP_CLIENT_H__

#include <glib.h>
#include "rtmpchunk.h"

G_BEGIN_DECLS

/* The chunk size a client session announces right after the handshake and
 * uses for everything it sends after that */
#define CF_RTMP_CLIENT_CHUNK_SIZE 4096
/* What the client calls itself in connect unless told otherwise */
#define CF_RTMP_CLIENT_DEFAULT_FLASH_VER "FMLE/3.0 (compatible; gst-cflive)"

typedef enum
{
  CF_RTMP_CLIENT_STATE_HANDSHAKE,       /* C0 C1 sent, waiting for S0 S1 S2 */
  CF_RTMP_CLIENT_STATE_CONNECTING,      /* connect sent, waiting for _result */
  CF_RTMP_CLIENT_STATE_CREATING_STREAM, /* createStream sent */
  CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED,    /* publish sent */
  CF_RTMP_CLIENT_STATE_PUBLISHING,      /* NetStream.Publish.Start received */
  CF_RTMP_CLIENT_STATE_FAILED,          /* feed() failed: drop the connection */
  CF_RTMP_CLIENT_STATE_UNPUBLISHED,     /* unpublish() queued its commands:
                                         * flush the output, then close */
} CfRtmpClientState;

typedef struct _CfRtmpClientSession CfRtmpClientSession;

/* The client side of an RTMP connection publishing one live stream, without
 * any I/O: bytes from the server go in through feed(), what to send
 * accumulates in the output array. @tc_url is the URL without the stream
 * name ("rtmp://host/app"), @app the application ("app", with any query
 * string the server wants), @stream_name the stream key. @flash_ver may be
 * NULL for CF_RTMP_CLIENT_DEFAULT_FLASH_VER. */
CfRtmpClientSession *cf_rtmp_client_session_new (const gchar * tc_url,
    const gchar * app, const gchar * stream_name, const gchar * flash_ver);
void cf_rtmp_client_session_free (CfRtmpClientSession * session);

/* Queues C0 and C1 in the output: call once after the TCP (or TLS)
 * connection is up. */
void cf_rtmp_client_session_start (CfRtmpClientSession * session);

/* Feeds bytes received from the server, queueing the replies. Returns FALSE
 * with @error set (CF_RTMP_ERROR domain) when the connection must be
 * dropped: malformed input, a limit hit, or the server refused, in which
 * case the message quotes the server's status code and description
 * ("publish refused: NetStream.Publish.BadName: ..."). The state is then
 * CF_RTMP_CLIENT_STATE_FAILED and further feeding fails. */
gboolean cf_rtmp_client_session_feed (CfRtmpClientSession * session,
    const guint8 * data, gsize size, GError ** error);

/* Bytes to send to the server. The caller removes what it sent. */
GByteArray *cf_rtmp_client_session_get_output (CfRtmpClientSession *
    session);

CfRtmpClientState cf_rtmp_client_session_get_state (CfRtmpClientSession *
    session);
const gchar *cf_rtmp_client_state_get_name (CfRtmpClientState state);

/* The message stream id from createStream's _result (0 until then) */
guint32 cf_rtmp_client_session_get_stream_id (CfRtmpClientSession *
    session);
/* The chunk size announced to the server and used for media */
guint32 cf_rtmp_client_session_get_chunk_size (CfRtmpClientSession *
    session);

/* Once PUBLISHING (it does nothing in any other state): appends one media
 * message to the output. @type is the FLV tag type, 8 (audio), 9 (video)
 * or 18 (script data) and @body the FLV tag body; a script data body
 * ("onMetaData" and its array) is sent wrapped as "@setDataFrame", as
 * servers expect from a publisher. */
void cf_rtmp_client_session_write_media (CfRtmpClientSession * session,
    guint8 type, guint32 timestamp, const guint8 * body, gsize size);

/* The same serialization without a session: appends the chunks of one
 * media message to @out, so that the bytes can be made once and shared by
 * every connection that uses the same chunk size and message stream id
 * (cf_rtmp_client_session_get_chunk_size() and _get_stream_id()). */
void cf_rtmp_client_write_media_chunks (GByteArray * out, guint32 chunk_size,
    guint32 stream_id, guint8 type, guint32 timestamp, const guint8 * body,
    gsize size);

/* Ends publishing cleanly: queues FCUnpublish and deleteStream (for what
 * was sent of them so far) and moves to CF_RTMP_CLIENT_STATE_UNPUBLISHED.
 * The caller flushes the output and closes the connection. */
void cf_rtmp_client_session_unpublish (CfRtmpClientSession * session);

/* The bytes the server acknowledged having received (its Acknowledgement
 * messages, extended to 64 bits). Servers count from the end of the
 * handshake and acknowledge once per window (announced in reply to their
 * Set Peer Bandwidth), so this trails what was sent by up to a window plus
 * the 3073 handshake bytes while the server keeps reading. */
guint64 cf_rtmp_client_session_get_acked_bytes (CfRtmpClientSession *
    session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtmpClientSession,
    cf_rtmp_client_session_free)

G_END_DECLS

#endif /* __CF_RTMP_CLIENT_H__ */
