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

#ifndef __CF_RTMP_CHUNK_H__
#define __CF_RTMP_CHUNK_H__

#include <glib.h>

G_BEGIN_DECLS

/* RTMP message types */
typedef enum
{
  CF_RTMP_MSG_SET_CHUNK_SIZE = 1,
  CF_RTMP_MSG_ABORT = 2,
  CF_RTMP_MSG_ACKNOWLEDGEMENT = 3,
  CF_RTMP_MSG_USER_CONTROL = 4,
  CF_RTMP_MSG_WINDOW_ACK_SIZE = 5,
  CF_RTMP_MSG_SET_PEER_BANDWIDTH = 6,
  CF_RTMP_MSG_AUDIO = 8,
  CF_RTMP_MSG_VIDEO = 9,
  CF_RTMP_MSG_DATA_AMF3 = 15,
  CF_RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
  CF_RTMP_MSG_COMMAND_AMF3 = 17,
  CF_RTMP_MSG_DATA_AMF0 = 18,
  CF_RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
  CF_RTMP_MSG_COMMAND_AMF0 = 20,
  CF_RTMP_MSG_AGGREGATE = 22,
} CfRtmpMessageType;

/* The chunk size every peer starts with */
#define CF_RTMP_DEFAULT_CHUNK_SIZE 128
/* The largest chunk size a peer may set: one full message (24-bit length) */
#define CF_RTMP_MAX_CHUNK_SIZE 0xffffff
/* How many chunk streams may have a message in flight at once */
#define CF_RTMP_MAX_PARTIAL_STREAMS 64
/* Default bound of the bytes held in unfinished messages */
#define CF_RTMP_DEFAULT_MAX_PENDING (32 * 1024 * 1024)

typedef struct
{
  guint32 csid;                 /* chunk stream id */
  guint8 type;                  /* CfRtmpMessageType */
  guint32 stream_id;            /* message stream id */
  guint32 timestamp;            /* milliseconds, wraps at 2^32 */
  GBytes *payload;
} CfRtmpMessage;

void cf_rtmp_message_clear (CfRtmpMessage * msg);
const gchar *cf_rtmp_message_type_get_name (guint8 type);

#define CF_RTMP_ERROR (cf_rtmp_error_quark ())
GQuark cf_rtmp_error_quark (void);

typedef enum
{
  CF_RTMP_ERROR_PROTOCOL,       /* malformed or out-of-bounds data */
  CF_RTMP_ERROR_LIMIT,          /* a resource bound was hit */
  CF_RTMP_ERROR_REFUSED,        /* the peer asked for something refused */
  CF_RTMP_ERROR_TIMEOUT,
  CF_RTMP_ERROR_CLOSED,
} CfRtmpError;

/* Receives each complete message. Takes ownership of nothing: the callee
 * refs msg->payload if it keeps it. Returning FALSE (with @error set) stops
 * the reader. */
typedef gboolean (*CfRtmpMessageFunc) (const CfRtmpMessage * msg,
    gpointer user_data, GError ** error);

typedef struct _CfRtmpChunkReader CfRtmpChunkReader;

CfRtmpChunkReader *cf_rtmp_chunk_reader_new (CfRtmpMessageFunc func,
    gpointer user_data);
void cf_rtmp_chunk_reader_free (CfRtmpChunkReader * reader);
void cf_rtmp_chunk_reader_set_max_pending (CfRtmpChunkReader * reader,
    gsize max_pending);
guint32 cf_rtmp_chunk_reader_get_chunk_size (CfRtmpChunkReader * reader);
/* Bytes consumed so far, for acknowledgements */
guint64 cf_rtmp_chunk_reader_get_bytes (CfRtmpChunkReader * reader);

/* Parses @data, calling the message function for each complete message.
 * Set Chunk Size and Abort are applied by the reader (and passed on).
 * Returns FALSE with @error set on malformed input or when the message
 * function fails; the reader must not be fed again after that. */
gboolean cf_rtmp_chunk_reader_feed (CfRtmpChunkReader * reader,
    const guint8 * data, gsize size, GError ** error);

/* Appends @msg to @out as chunks of @chunk_size, a type 0 chunk followed by
 * type 3 chunks. */
void cf_rtmp_chunk_write (GByteArray * out, guint32 chunk_size,
    const CfRtmpMessage * msg);
/* Same with the payload given as a pointer and size */
void cf_rtmp_chunk_write_data (GByteArray * out, guint32 chunk_size,
    guint32 csid, guint8 type, guint32 stream_id, guint32 timestamp,
    const guint8 * payload, gsize size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtmpChunkReader, cf_rtmp_chunk_reader_free)

G_END_DECLS

#endif /* __CF_RTMP_CHUNK_H__ */
