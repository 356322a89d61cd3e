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

/* The server side of an RTMP connection, without any I/O: bytes go in
 * through cf_rtmp_server_session_feed(), replies accumulate in the output
 * array, and the publish decision and the media are handed to callbacks.
 *
 * What a publisher (OBS, ffmpeg, rtmp2sink, hardware encoders) does:
 *   C0 C1 -> S0 S1 S2, C2
 *   connect            -> Window Ack Size, Set Peer Bandwidth, Set Chunk Size,
 *                         _result NetConnection.Connect.Success
 *   releaseStream, FCPublish -> _result
 *   createStream       -> _result (stream id)
 *   publish            -> Stream Begin, onStatus NetStream.Publish.Start
 *   @setDataFrame onMetaData, audio, video ...
 *   FCUnpublish, deleteStream -> onStatus NetStream.Unpublish.Success
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rtmpsession.h"
#include "rtmpmessage.h"
#include "rtmpbytes.h"

/* What an empty payload points at, instead of NULL */
static const guint8 empty_payload[1];

/* What we announce and use */
#define SERVER_WINDOW_ACK_SIZE 2500000
#define SERVER_CHUNK_SIZE 4096
#define MAX_STREAMS 8

struct _CfRtmpServerSession
{
  CfRtmpServerCallbacks callbacks;
  gpointer user_data;

  CfRtmpServerState state;
  GByteArray *hs;               /* handshake bytes gathered so far */
  CfRtmpChunkReader *reader;
  GByteArray *out;

  gchar *app;
  gchar *encoder;
  gdouble object_encoding;

  guint32 next_stream_id;
  guint32 publish_stream_id;

  guint32 peer_window;          /* acknowledge after this many bytes */
  guint64 last_ack;
};

static gboolean on_message (const CfRtmpMessage * msg, gpointer user_data,
    GError ** error);

CfRtmpServerSession *
cf_rtmp_server_session_new (const CfRtmpServerCallbacks * callbacks,
    gpointer user_data)
{
  CfRtmpServerSession *s = g_new0 (CfRtmpServerSession, 1);

  s->callbacks = *callbacks;
  s->user_data = user_data;
  s->state = CF_RTMP_SERVER_STATE_HANDSHAKE;
  s->hs = g_byte_array_sized_new (1 + CF_RTMP_HANDSHAKE_SIZE);
  s->reader = cf_rtmp_chunk_reader_new (on_message, s);
  s->out = g_byte_array_sized_new (4096);
  s->next_stream_id = 1;
  s->peer_window = SERVER_WINDOW_ACK_SIZE;
  return s;
}

void
cf_rtmp_server_session_free (CfRtmpServerSession * s)
{
  if (!s)
    return;
  g_byte_array_unref (s->hs);
  cf_rtmp_chunk_reader_free (s->reader);
  g_byte_array_unref (s->out);
  g_free (s->app);
  g_free (s->encoder);
  g_free (s);
}

GByteArray *
cf_rtmp_server_session_get_output (CfRtmpServerSession * s)
{
  return s->out;
}

CfRtmpServerState
cf_rtmp_server_session_get_state (CfRtmpServerSession * s)
{
  return s->state;
}

const gchar *
cf_rtmp_server_session_get_app (CfRtmpServerSession * s)
{
  return s->app;
}

const gchar *
cf_rtmp_server_session_get_encoder (CfRtmpServerSession * s)
{
  return s->encoder;
}

static void
send_handshake (CfRtmpServerSession * s, const guint8 * c1)
{
  guint8 *p;
  guint i;
  guint32 now = (guint32) (g_get_monotonic_time () / 1000);

  g_byte_array_set_size (s->out, s->out->len + 1 + 2 * CF_RTMP_HANDSHAKE_SIZE);
  p = s->out->data + s->out->len - (1 + 2 * CF_RTMP_HANDSHAKE_SIZE);

  /* S0 */
  p[0] = 3;
  p++;
  /* S1: our time, zero, random bytes */
  CF_WRITE_UINT32_BE (p, now);
  CF_WRITE_UINT32_BE (p + 4, 0);
  for (i = 8; i < CF_RTMP_HANDSHAKE_SIZE; i += 4) {
    guint32 r = g_random_int ();
    memcpy (p + i, &r, 4);
  }
  p += CF_RTMP_HANDSHAKE_SIZE;
  /* S2: echo of C1 with the time we read it */
  memcpy (p, c1, CF_RTMP_HANDSHAKE_SIZE);
  CF_WRITE_UINT32_BE (p + 4, now);
}

static gboolean
feed_handshake (CfRtmpServerSession * s, const guint8 ** data, gsize * size,
    GError ** error)
{
  guint need;
  gsize n;

  if (s->state == CF_RTMP_SERVER_STATE_HANDSHAKE && s->hs->len == 0
      && *size > 0 && (*data)[0] != 3) {
    guint8 v = (*data)[0];

    if (v == 0x16)
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "TLS handshake on a plain RTMP port (use rtmp://, not rtmps://)");
    else if (v == 6 || v == 8 || v == 9)
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "encrypted RTMP (RTMPE, version %u) is not supported", v);
    else if (g_ascii_isalpha (v))
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "not RTMP: the peer sent text (an HTTP request?)");
    else
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "not RTMP: handshake version byte 0x%02x, expected 0x03", v);
    return FALSE;
  }

  need = (s->state == CF_RTMP_SERVER_STATE_HANDSHAKE) ?
      1 + CF_RTMP_HANDSHAKE_SIZE : CF_RTMP_HANDSHAKE_SIZE;
  n = MIN (need - s->hs->len, *size);
  g_byte_array_append (s->hs, *data, n);
  *data += n;
  *size -= n;

  if (s->hs->len < need)
    return TRUE;

  if (s->state == CF_RTMP_SERVER_STATE_HANDSHAKE) {
    send_handshake (s, s->hs->data + 1);
    s->state = CF_RTMP_SERVER_STATE_HANDSHAKE_ACK;
  } else {
    /* C2 echoes S1; peers differ in what they put there, so it is not
     * checked */
    s->state = CF_RTMP_SERVER_STATE_CONNECT;
  }
  g_byte_array_set_size (s->hs, 0);
  return TRUE;
}

gboolean
cf_rtmp_server_session_feed (CfRtmpServerSession * s, const guint8 * data,
    gsize size, GError ** error)
{
  guint64 bytes;

  if (s->state == CF_RTMP_SERVER_STATE_CLOSING) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_CLOSED,
        "data after the connection was refused");
    return FALSE;
  }

  while (size > 0 && (s->state == CF_RTMP_SERVER_STATE_HANDSHAKE ||
          s->state == CF_RTMP_SERVER_STATE_HANDSHAKE_ACK)) {
    if (!feed_handshake (s, &data, &size, error))
      return FALSE;
  }
  if (size == 0)
    return TRUE;

  if (!cf_rtmp_chunk_reader_feed (s->reader, data, size, error))
    return FALSE;

  bytes = cf_rtmp_chunk_reader_get_bytes (s->reader);
  if (bytes - s->last_ack >= s->peer_window) {
    cf_rtmp_write_control (s->out, CF_RTMP_MSG_ACKNOWLEDGEMENT,
        (guint32) bytes);
    s->last_ack = bytes;
  }

  return s->state != CF_RTMP_SERVER_STATE_CLOSING;
}

static void
send_result (CfRtmpServerSession * s, gdouble txn, const CfAmfNode * a,
    const CfAmfNode * b)
{
  cf_rtmp_write_command (s->out, SERVER_CHUNK_SIZE, CF_RTMP_CSID_COMMAND, 0,
      "_result", txn, a, b, NULL);
}

static void
send_status (CfRtmpServerSession * s, guint32 stream_id, const gchar * level,
    const gchar * code, const gchar * description)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new (level, code, description);

  cf_rtmp_write_command (s->out, SERVER_CHUNK_SIZE, CF_RTMP_CSID_STATUS,
      stream_id, "onStatus", 0, null, info, NULL);
}

void
cf_rtmp_server_session_refuse (CfRtmpServerSession * s, const gchar * code,
    const gchar * description)
{
  if (s->state == CF_RTMP_SERVER_STATE_CLOSING)
    return;
  if (s->state == CF_RTMP_SERVER_STATE_PUBLISHING)
    send_status (s, s->publish_stream_id, "error", code, description);
  s->state = CF_RTMP_SERVER_STATE_CLOSING;
}

/* "live?token=x/" -> "live" */
static gchar *
strip_name (const gchar * name)
{
  gchar *ret = g_strdup (name);
  gchar *q = strchr (ret, '?');
  gsize len;

  if (q)
    *q = '\0';
  len = strlen (ret);
  while (len > 0 && ret[len - 1] == '/')
    ret[--len] = '\0';
  return ret;
}

static gboolean
require_connected (CfRtmpServerSession * s, const gchar * cmd,
    GError ** error)
{
  if (s->state == CF_RTMP_SERVER_STATE_CONNECT) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "'%s' before 'connect'", cmd);
    return FALSE;
  }
  return TRUE;
}

static gboolean
handle_connect (CfRtmpServerSession * s, GPtrArray * args, gdouble txn,
    GError ** error)
{
  const CfAmfNode *obj = args->len > 2 ? g_ptr_array_index (args, 2) : NULL;
  const gchar *app;
  g_autoptr (CfAmfNode) props = NULL;
  g_autoptr (CfAmfNode) info = NULL;

  if (s->state != CF_RTMP_SERVER_STATE_CONNECT) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "second 'connect' on one connection");
    return FALSE;
  }
  app = cf_amf_node_get_field_string (obj, "app");
  if (!app) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "'connect' without an application name");
    return FALSE;
  }
  s->app = strip_name (app);
  s->encoder = g_strdup (cf_amf_node_get_field_string (obj, "flashVer"));
  s->object_encoding = cf_amf_node_get_field_number (obj, "objectEncoding",
      0);

  cf_rtmp_write_control (s->out, CF_RTMP_MSG_WINDOW_ACK_SIZE,
      SERVER_WINDOW_ACK_SIZE);
  cf_rtmp_write_set_peer_bandwidth (s->out, SERVER_WINDOW_ACK_SIZE, 2);
  cf_rtmp_write_control (s->out, CF_RTMP_MSG_SET_CHUNK_SIZE,
      SERVER_CHUNK_SIZE);

  props = cf_amf_node_new_object ();
  cf_amf_node_append_field_string (props, "fmsVer", "FMS/3,5,7,7009");
  cf_amf_node_append_field_number (props, "capabilities", 31);
  cf_amf_node_append_field_number (props, "mode", 1);
  info = cf_rtmp_status_new ("status", "NetConnection.Connect.Success",
      "Connection succeeded.");
  cf_amf_node_append_field_number (info, "objectEncoding",
      s->object_encoding);
  send_result (s, txn, props, info);

  s->state = CF_RTMP_SERVER_STATE_CONNECTED;
  return TRUE;
}

static gboolean
handle_publish (CfRtmpServerSession * s, const CfRtmpMessage * msg,
    GPtrArray * args, gdouble txn, GError ** error)
{
  const gchar *name = NULL;
  g_autofree gchar *stripped = NULL;
  g_autofree gchar *description = NULL;
  const gchar *code = "NetStream.Publish.BadName";
  guint8 sid[4];

  if (args->len > 3)
    name = cf_amf_node_get_string (g_ptr_array_index (args, 3), NULL);
  if (!name) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "'publish' without a stream name");
    return FALSE;
  }
  if (msg->stream_id == 0 || msg->stream_id >= s->next_stream_id) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "'publish' on stream %u, which was not created", msg->stream_id);
    return FALSE;
  }
  if (s->state == CF_RTMP_SERVER_STATE_PUBLISHING) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "second 'publish' while publishing");
    return FALSE;
  }

  stripped = strip_name (name);
  if (!s->callbacks.publish (s, s->app, stripped, &code, &description,
          s->user_data)) {
    send_status (s, msg->stream_id, "error", code,
        description ? description : "Publishing refused.");
    s->state = CF_RTMP_SERVER_STATE_CLOSING;
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_REFUSED,
        "publish refused: %s", description ? description : code);
    return FALSE;
  }

  s->publish_stream_id = msg->stream_id;
  s->state = CF_RTMP_SERVER_STATE_PUBLISHING;

  CF_WRITE_UINT32_BE (sid, msg->stream_id);
  cf_rtmp_write_user_control (s->out, CF_RTMP_UC_STREAM_BEGIN, sid, 4);
  send_status (s, msg->stream_id, "status", "NetStream.Publish.Start",
      "Publishing started.");
  return TRUE;
}

static void
do_unpublish (CfRtmpServerSession * s)
{
  if (s->state != CF_RTMP_SERVER_STATE_PUBLISHING)
    return;
  send_status (s, s->publish_stream_id, "status",
      "NetStream.Unpublish.Success", "Stopped publishing.");
  s->state = CF_RTMP_SERVER_STATE_CONNECTED;
  s->callbacks.unpublish (s, s->user_data);
}

static gboolean
handle_command (CfRtmpServerSession * s, const CfRtmpMessage * msg,
    const guint8 * data, gsize size, GError ** error)
{
  g_autoptr (GPtrArray) args = NULL;
  g_autoptr (GError) err = NULL;
  const gchar *name;
  gdouble txn;
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();

  args = cf_amf_parse_all (data, size, &err);
  if (!args) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "malformed command: %s", err->message);
    return FALSE;
  }
  if (args->len < 2 || !(name = cf_amf_node_get_string (g_ptr_array_index
              (args, 0), NULL))) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "command without a name and transaction id");
    return FALSE;
  }
  txn = cf_amf_node_get_number (g_ptr_array_index (args, 1));

  if (g_str_equal (name, "connect"))
    return handle_connect (s, args, txn, error);

  if (!require_connected (s, name, error))
    return FALSE;

  if (g_str_equal (name, "releaseStream") || g_str_equal (name, "FCPublish")) {
    g_autoptr (CfAmfNode) undef = cf_amf_node_new_undefined ();

    if (txn != 0)
      send_result (s, txn, null, undef);
  } else if (g_str_equal (name, "createStream")) {
    g_autoptr (CfAmfNode) id = NULL;

    if (s->next_stream_id > MAX_STREAMS) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
          "more than %u 'createStream' on one connection", MAX_STREAMS);
      return FALSE;
    }
    id = cf_amf_node_new_number (s->next_stream_id++);
    send_result (s, txn, null, id);
  } else if (g_str_equal (name, "publish")) {
    return handle_publish (s, msg, args, txn, error);
  } else if (g_str_equal (name, "FCUnpublish")
      || g_str_equal (name, "deleteStream")
      || g_str_equal (name, "closeStream")) {
    do_unpublish (s);
  } else if (g_str_equal (name, "play") || g_str_equal (name, "play2")) {
    send_status (s, msg->stream_id, "error", "NetStream.Play.Failed",
        "Playback is not available on this server.");
    s->state = CF_RTMP_SERVER_STATE_CLOSING;
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_REFUSED,
        "playback requested, refused");
    return FALSE;
  } else if (g_str_equal (name, "_result") || g_str_equal (name, "_error")
      || g_str_equal (name, "onStatus") || g_str_equal (name, "_checkbw")
      || g_str_equal (name, "getStreamLength")
      || g_str_equal (name, "onBWDone")) {
    /* nothing to answer */
  } else if (txn != 0) {
    g_autofree gchar *desc = g_strdup_printf ("Unknown command '%.64s'.",
        name);
    g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("error",
        "NetConnection.Call.Failed", desc);

    cf_rtmp_write_command (s->out, SERVER_CHUNK_SIZE, CF_RTMP_CSID_COMMAND,
        0, "_error", txn, null, info, NULL);
  }

  return TRUE;
}

static gboolean
deliver (CfRtmpServerSession * s, guint8 type, guint32 ts, GBytes * body,
    GError ** error)
{
  if (g_bytes_get_size (body) == 0)
    return TRUE;
  return s->callbacks.media (s, type, ts, body, s->user_data, error);
}

static gboolean
handle_data (CfRtmpServerSession * s, const CfRtmpMessage * msg,
    gsize offset, GError ** error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);
  g_autoptr (GPtrArray) values = NULL;
  g_autoptr (GError) err = NULL;
  g_autoptr (GBytes) body = NULL;
  const gchar *name;

  if (!data)
    data = empty_payload;
  data += offset;
  size -= offset;

  /* validated whole: it travels downstream as an FLV script tag */
  values = cf_amf_parse_all (data, size, &err);
  if (!values) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "malformed data message: %s", err->message);
    return FALSE;
  }
  if (values->len == 0)
    return TRUE;
  name = cf_amf_node_get_string (g_ptr_array_index (values, 0), NULL);
  if (!name)
    return TRUE;

  if (g_str_equal (name, "@setDataFrame")) {
    gsize used = 0;
    g_autoptr (CfAmfNode) first = cf_amf_parse_value (data, size, &used,
        NULL);

    if (!first || values->len < 2)
      return TRUE;
    offset += used;
  } else if (g_str_equal (name, "@clearDataFrame")) {
    return TRUE;
  }

  body = g_bytes_new_from_bytes (msg->payload, offset,
      g_bytes_get_size (msg->payload) - offset);
  return deliver (s, CF_RTMP_MSG_DATA_AMF0, msg->timestamp, body, error);
}

/* An aggregate message is a run of FLV tags (header, body, back pointer)
 * whose timestamps are relative to the first one. */
static gboolean
handle_aggregate (CfRtmpServerSession * s, const CfRtmpMessage * msg,
    GError ** error)
{
  gsize size, off = 0;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);
  guint32 first_ts = 0;
  gboolean first = TRUE;

  if (!data)
    data = empty_payload;

  while (off < size) {
    guint8 type;
    guint32 len, ts;
    g_autoptr (GBytes) body = NULL;

    if (size - off < 11) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "aggregate message truncated in a tag header");
      return FALSE;
    }
    type = data[off] & 0x1f;
    len = CF_READ_UINT24_BE (data + off + 1);
    ts = CF_READ_UINT24_BE (data + off + 4) | (data[off + 7] << 24);
    if (len > size - off - 11) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "aggregate message tag of %u bytes exceeds the message", len);
      return FALSE;
    }
    if (first) {
      first_ts = ts;
      first = FALSE;
    }
    if (type == CF_RTMP_MSG_AUDIO || type == CF_RTMP_MSG_VIDEO) {
      body = g_bytes_new_from_bytes (msg->payload, off + 11, len);
      if (!deliver (s, type, msg->timestamp + (ts - first_ts), body, error))
        return FALSE;
    }
    off += 11 + len;
    /* back pointer; may be missing after the last tag */
    off += MIN (4, size - off);
  }
  return TRUE;
}

static gboolean
on_message (const CfRtmpMessage * msg, gpointer user_data, GError ** error)
{
  CfRtmpServerSession *s = user_data;
  gsize size;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);

  if (!data)
    data = empty_payload;
  if (s->state == CF_RTMP_SERVER_STATE_CLOSING)
    return TRUE;

  switch (msg->type) {
    case CF_RTMP_MSG_SET_CHUNK_SIZE:
    case CF_RTMP_MSG_ABORT:
    case CF_RTMP_MSG_ACKNOWLEDGEMENT:
    case CF_RTMP_MSG_SET_PEER_BANDWIDTH:
      return TRUE;
    case CF_RTMP_MSG_WINDOW_ACK_SIZE:
      if (size >= 4) {
        guint32 w = CF_READ_UINT32_BE (data);
        /* an absurdly small window would make us acknowledge every read */
        s->peer_window = MAX (w, 4096);
      }
      return TRUE;
    case CF_RTMP_MSG_USER_CONTROL:
      if (size >= 6 && CF_READ_UINT16_BE (data) == CF_RTMP_UC_PING_REQUEST)
        cf_rtmp_write_user_control (s->out, CF_RTMP_UC_PING_RESPONSE,
            data + 2, 4);
      return TRUE;
    case CF_RTMP_MSG_COMMAND_AMF0:
    case CF_RTMP_MSG_COMMAND_AMF3:{
      gsize off = (msg->type == CF_RTMP_MSG_COMMAND_AMF3 && size > 0
          && data[0] == 0) ? 1 : 0;

      if (size > CF_RTMP_MAX_COMMAND_SIZE) {
        g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
            "command message of %" G_GSIZE_FORMAT " bytes, limit %u", size,
            CF_RTMP_MAX_COMMAND_SIZE);
        return FALSE;
      }
      return handle_command (s, msg, data + off, size - off, error);
    }
    case CF_RTMP_MSG_DATA_AMF0:
    case CF_RTMP_MSG_DATA_AMF3:
    case CF_RTMP_MSG_AUDIO:
    case CF_RTMP_MSG_VIDEO:
    case CF_RTMP_MSG_AGGREGATE:
      break;
    default:
      /* shared objects and unknown types: nothing a publisher needs */
      return TRUE;
  }

  /* media and data */
  if (s->state != CF_RTMP_SERVER_STATE_PUBLISHING) {
    if (s->state == CF_RTMP_SERVER_STATE_CONNECT) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "%s message before 'connect'", cf_rtmp_message_type_get_name
          (msg->type));
      return FALSE;
    }
    /* after an unpublish, late packets are dropped */
    return TRUE;
  }
  if (msg->stream_id != s->publish_stream_id)
    return TRUE;

  switch (msg->type) {
    case CF_RTMP_MSG_AUDIO:
    case CF_RTMP_MSG_VIDEO:
      return deliver (s, msg->type, msg->timestamp, msg->payload, error);
    case CF_RTMP_MSG_AGGREGATE:
      return handle_aggregate (s, msg, error);
    default:
      if (size > CF_RTMP_MAX_COMMAND_SIZE) {
        g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
            "data message of %" G_GSIZE_FORMAT " bytes, limit %u", size,
            CF_RTMP_MAX_COMMAND_SIZE);
        return FALSE;
      }
      return handle_data (s, msg, (msg->type == CF_RTMP_MSG_DATA_AMF3 &&
              size > 0 && data[0] == 0) ? 1 : 0, error);
  }
}
