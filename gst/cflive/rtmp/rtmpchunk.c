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

/* RTMP chunk stream (Adobe RTMP specification 1.0, section 5.3).
 *
 * The reader is a byte-at-a-time-safe state machine: it can be fed any
 * split of the input. It copies each payload byte once, straight into the
 * message it belongs to, and bounds what a peer can make it hold: the
 * number of chunk streams, of unfinished messages, and of bytes pending in
 * them. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmpchunk.h"
#include "rtmpbytes.h"

/* How many chunk stream ids a peer may use in one connection */
#define MAX_CHUNK_STREAMS 1024

G_DEFINE_QUARK (cf-rtmp-error-quark, cf_rtmp_error);

typedef struct
{
  guint32 csid;
  gboolean have_header;
  gboolean extended;            /* the last header had an extended timestamp */
  guint32 length;
  guint8 type;
  guint32 stream_id;
  guint32 timestamp;
  guint32 delta;

  /* message in progress */
  guint8 *data;
  gsize received;
} ChunkStream;

typedef enum
{
  STATE_HEADER,
  STATE_PAYLOAD,
} ReaderState;

struct _CfRtmpChunkReader
{
  CfRtmpMessageFunc func;
  gpointer user_data;

  ReaderState state;
  guint8 hdr[18];
  guint hdr_have;

  guint32 chunk_size;
  ChunkStream *cur;
  guint32 chunk_remaining;

  GHashTable *streams;
  guint n_partial;
  gsize pending;
  gsize max_pending;
  guint64 bytes;
};

static const guint msg_header_sizes[4] = { 11, 7, 3, 0 };

void
cf_rtmp_message_clear (CfRtmpMessage * msg)
{
  g_clear_pointer (&msg->payload, g_bytes_unref);
}

const gchar *
cf_rtmp_message_type_get_name (guint8 type)
{
  switch (type) {
    case CF_RTMP_MSG_SET_CHUNK_SIZE:
      return "set-chunk-size";
    case CF_RTMP_MSG_ABORT:
      return "abort";
    case CF_RTMP_MSG_ACKNOWLEDGEMENT:
      return "acknowledgement";
    case CF_RTMP_MSG_USER_CONTROL:
      return "user-control";
    case CF_RTMP_MSG_WINDOW_ACK_SIZE:
      return "window-ack-size";
    case CF_RTMP_MSG_SET_PEER_BANDWIDTH:
      return "set-peer-bandwidth";
    case CF_RTMP_MSG_AUDIO:
      return "audio";
    case CF_RTMP_MSG_VIDEO:
      return "video";
    case CF_RTMP_MSG_DATA_AMF3:
      return "data-amf3";
    case CF_RTMP_MSG_SHARED_OBJECT_AMF3:
      return "shared-object-amf3";
    case CF_RTMP_MSG_COMMAND_AMF3:
      return "command-amf3";
    case CF_RTMP_MSG_DATA_AMF0:
      return "data-amf0";
    case CF_RTMP_MSG_SHARED_OBJECT_AMF0:
      return "shared-object-amf0";
    case CF_RTMP_MSG_COMMAND_AMF0:
      return "command-amf0";
    case CF_RTMP_MSG_AGGREGATE:
      return "aggregate";
    default:
      return "unknown";
  }
}

static void
chunk_stream_free (gpointer data)
{
  ChunkStream *cs = data;

  g_free (cs->data);
  g_free (cs);
}

CfRtmpChunkReader *
cf_rtmp_chunk_reader_new (CfRtmpMessageFunc func, gpointer user_data)
{
  CfRtmpChunkReader *reader = g_new0 (CfRtmpChunkReader, 1);

  reader->func = func;
  reader->user_data = user_data;
  reader->chunk_size = CF_RTMP_DEFAULT_CHUNK_SIZE;
  reader->max_pending = CF_RTMP_DEFAULT_MAX_PENDING;
  reader->streams = g_hash_table_new_full (NULL, NULL, NULL,
      chunk_stream_free);
  return reader;
}

void
cf_rtmp_chunk_reader_free (CfRtmpChunkReader * reader)
{
  if (!reader)
    return;
  g_hash_table_unref (reader->streams);
  g_free (reader);
}

void
cf_rtmp_chunk_reader_set_max_pending (CfRtmpChunkReader * reader,
    gsize max_pending)
{
  reader->max_pending = max_pending;
}

guint32
cf_rtmp_chunk_reader_get_chunk_size (CfRtmpChunkReader * reader)
{
  return reader->chunk_size;
}

guint64
cf_rtmp_chunk_reader_get_bytes (CfRtmpChunkReader * reader)
{
  return reader->bytes;
}

static void
drop_partial (CfRtmpChunkReader * reader, ChunkStream * cs)
{
  if (cs->data) {
    g_free (cs->data);
    cs->data = NULL;
    reader->pending -= cs->length;
    reader->n_partial--;
  }
  cs->received = 0;
}

/* How many header bytes are needed given what we have so far, or 0 if the
 * header is complete. */
static guint
header_needed (CfRtmpChunkReader * reader, ChunkStream ** cs_out)
{
  guint fmt, basic, need;
  guint32 csid;
  gboolean ext;

  if (reader->hdr_have < 1)
    return 1;

  fmt = reader->hdr[0] >> 6;
  csid = reader->hdr[0] & 0x3f;
  basic = csid == 0 ? 2 : (csid == 1 ? 3 : 1);
  need = basic + msg_header_sizes[fmt];
  if (reader->hdr_have < need)
    return need;

  if (fmt < 3) {
    ext = CF_READ_UINT24_BE (reader->hdr + basic) == 0xffffff;
  } else {
    ChunkStream *cs;

    if (csid == 0)
      csid = 64 + reader->hdr[1];
    else if (csid == 1)
      csid = 64 + reader->hdr[1] + (reader->hdr[2] << 8);
    cs = g_hash_table_lookup (reader->streams, GUINT_TO_POINTER (csid));
    ext = cs && cs->extended;
  }
  if (ext)
    need += 4;

  return reader->hdr_have < need ? need : 0;
}

static gboolean
emit (CfRtmpChunkReader * reader, ChunkStream * cs, guint8 * data,
    GError ** error)
{
  CfRtmpMessage msg;
  gboolean ret = TRUE;

  msg.csid = cs->csid;
  msg.type = cs->type;
  msg.stream_id = cs->stream_id;
  msg.timestamp = cs->timestamp;
  msg.payload = g_bytes_new_take (data, cs->length);

  if (msg.type == CF_RTMP_MSG_SET_CHUNK_SIZE) {
    guint32 size;

    if (cs->length < 4) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "Set Chunk Size message of %u bytes, needs 4", cs->length);
      ret = FALSE;
      goto done;
    }
    size = CF_READ_UINT32_BE (data);
    if (size == 0 || size > CF_RTMP_MAX_CHUNK_SIZE) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
          "peer set chunk size %u, allowed 1 to %u", size,
          CF_RTMP_MAX_CHUNK_SIZE);
      ret = FALSE;
      goto done;
    }
    reader->chunk_size = size;
  } else if (msg.type == CF_RTMP_MSG_ABORT && cs->length >= 4) {
    guint32 csid = CF_READ_UINT32_BE (data);
    ChunkStream *other = g_hash_table_lookup (reader->streams,
        GUINT_TO_POINTER (csid));

    if (other && other != cs)
      drop_partial (reader, other);
  }

  ret = reader->func (&msg, reader->user_data, error);

done:
  g_bytes_unref (msg.payload);
  return ret;
}

static gboolean
process_header (CfRtmpChunkReader * reader, GError ** error)
{
  const guint8 *h = reader->hdr;
  guint fmt = h[0] >> 6;
  guint32 csid = h[0] & 0x3f;
  guint basic = 1;
  guint32 field = 0;
  ChunkStream *cs;
  gboolean continuation;

  if (csid == 0) {
    csid = 64 + h[1];
    basic = 2;
  } else if (csid == 1) {
    csid = 64 + h[1] + (h[2] << 8);
    basic = 3;
  }
  h += basic;

  cs = g_hash_table_lookup (reader->streams, GUINT_TO_POINTER (csid));
  if (!cs) {
    if (fmt >= 2) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "type %u chunk on new chunk stream %u", fmt, csid);
      return FALSE;
    }
    if (g_hash_table_size (reader->streams) >= MAX_CHUNK_STREAMS) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
          "more than %u chunk streams", MAX_CHUNK_STREAMS);
      return FALSE;
    }
    cs = g_new0 (ChunkStream, 1);
    cs->csid = csid;
    g_hash_table_insert (reader->streams, GUINT_TO_POINTER (csid), cs);
  }

  continuation = (cs->data != NULL);
  if (fmt < 3 && continuation) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "type %u chunk on chunk stream %u while a message of %u bytes is "
        "incomplete (%" G_GSIZE_FORMAT " received)", fmt, csid, cs->length,
        cs->received);
    return FALSE;
  }
  if (fmt == 3 && !cs->have_header) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "type 3 chunk on chunk stream %u without a previous header", csid);
    return FALSE;
  }

  if (fmt < 3) {
    field = CF_READ_UINT24_BE (h);
    cs->extended = (field == 0xffffff);
    if (cs->extended)
      field = CF_READ_UINT32_BE (h + msg_header_sizes[fmt]);
    if (fmt <= 1) {
      cs->length = CF_READ_UINT24_BE (h + 3);
      cs->type = h[6];
    }
    if (fmt == 0) {
      cs->stream_id = CF_READ_UINT32_LE (h + 7);
      cs->timestamp = field;
    } else {
      cs->delta = field;
      cs->timestamp += field;
    }
    cs->have_header = TRUE;
  } else if (!continuation) {
    /* a new message with the same header as the previous one */
    cs->timestamp += cs->delta;
  }

  reader->state = STATE_PAYLOAD;
  reader->cur = cs;

  if (!continuation) {
    if (cs->length == 0) {
      reader->state = STATE_HEADER;
      return emit (reader, cs, NULL, error);
    }
    if (reader->n_partial >= CF_RTMP_MAX_PARTIAL_STREAMS) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
          "more than %u messages in progress at once",
          CF_RTMP_MAX_PARTIAL_STREAMS);
      return FALSE;
    }
    if (reader->pending + cs->length > reader->max_pending) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
          "message of %u bytes on chunk stream %u would hold %"
          G_GSIZE_FORMAT " bytes in unfinished messages, limit %"
          G_GSIZE_FORMAT, cs->length, csid, reader->pending + cs->length,
          reader->max_pending);
      return FALSE;
    }
    cs->data = g_malloc (cs->length);
    cs->received = 0;
    reader->n_partial++;
    reader->pending += cs->length;
  }

  reader->chunk_remaining = MIN (reader->chunk_size,
      cs->length - cs->received);
  return TRUE;
}

gboolean
cf_rtmp_chunk_reader_feed (CfRtmpChunkReader * reader, const guint8 * data,
    gsize size, GError ** error)
{
  reader->bytes += size;

  while (size > 0) {
    if (reader->state == STATE_HEADER) {
      guint need;

      while ((need = header_needed (reader, NULL)) != 0 && size > 0) {
        guint n = MIN (need - reader->hdr_have, size);

        memcpy (reader->hdr + reader->hdr_have, data, n);
        reader->hdr_have += n;
        data += n;
        size -= n;
      }
      if (need != 0)
        return TRUE;

      if (!process_header (reader, error))
        return FALSE;
      reader->hdr_have = 0;
    } else {
      ChunkStream *cs = reader->cur;
      gsize n = MIN (reader->chunk_remaining, size);

      memcpy (cs->data + cs->received, data, n);
      cs->received += n;
      reader->chunk_remaining -= n;
      data += n;
      size -= n;

      if (reader->chunk_remaining == 0) {
        reader->state = STATE_HEADER;
        if (cs->received == cs->length) {
          guint8 *msg_data = cs->data;

          cs->data = NULL;
          cs->received = 0;
          reader->n_partial--;
          reader->pending -= cs->length;
          if (!emit (reader, cs, msg_data, error))
            return FALSE;
        }
      }
    }
  }

  return TRUE;
}

static void
write_basic_header (GByteArray * out, guint fmt, guint32 csid)
{
  guint8 b[3];

  if (csid < 64) {
    b[0] = (fmt << 6) | csid;
    g_byte_array_append (out, b, 1);
  } else if (csid < 320) {
    b[0] = fmt << 6;
    b[1] = csid - 64;
    g_byte_array_append (out, b, 2);
  } else {
    b[0] = (fmt << 6) | 1;
    b[1] = (csid - 64) & 0xff;
    b[2] = (csid - 64) >> 8;
    g_byte_array_append (out, b, 3);
  }
}

void
cf_rtmp_chunk_write_data (GByteArray * out, guint32 chunk_size,
    guint32 csid, guint8 type, guint32 stream_id, guint32 timestamp,
    const guint8 * payload, gsize size)
{
  guint8 h[15];
  gboolean ext = timestamp >= 0xffffff;
  gsize off = 0;

  g_return_if_fail (size <= 0xffffff);
  g_return_if_fail (chunk_size > 0);

  write_basic_header (out, 0, csid);
  CF_WRITE_UINT24_BE (h, ext ? 0xffffff : timestamp);
  CF_WRITE_UINT24_BE (h + 3, size);
  h[6] = type;
  CF_WRITE_UINT32_LE (h + 7, stream_id);
  if (ext)
    CF_WRITE_UINT32_BE (h + 11, timestamp);
  g_byte_array_append (out, h, ext ? 15 : 11);

  do {
    gsize n = MIN (chunk_size, size - off);

    if (off > 0) {
      write_basic_header (out, 3, csid);
      if (ext)
        g_byte_array_append (out, h + 11, 4);
    }
    g_byte_array_append (out, payload + off, n);
    off += n;
  } while (off < size);
}

void
cf_rtmp_chunk_write (GByteArray * out, guint32 chunk_size,
    const CfRtmpMessage * msg)
{
  gsize size = 0;
  const guint8 *data = NULL;

  if (msg->payload)
    data = g_bytes_get_data (msg->payload, &size);
  cf_rtmp_chunk_write_data (out, chunk_size, msg->csid, msg->type,
      msg->stream_id, msg->timestamp, data, size);
}
