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

/* The client side of an RTMP connection that publishes one live stream,
 * without any I/O: the mirror of CfRtmpServerSession. Bytes from the server
 * go in through cf_rtmp_client_session_feed(), what to send accumulates in
 * the output array.
 *
 * It talks the way ffmpeg and OBS do when publishing, which is what
 * nginx-rtmp, YouTube, Twitch, MediaMTX and our own server expect:
 *   C0 C1                          -> S0 S1 S2
 *   C2, Set Chunk Size, connect    -> Window Ack Size, Set Peer Bandwidth,
 *                                     Set Chunk Size, _result
 *   Window Ack Size (in reply to Set Peer Bandwidth)
 *   releaseStream, FCPublish, createStream
 *                                  -> _result or _error or onFCPublish or
 *                                     nothing for the first two; _result
 *                                     with the stream id for createStream
 *   publish (on that stream)       -> Stream Begin, onStatus
 *                                     NetStream.Publish.Start
 *   @setDataFrame onMetaData, audio, video ...
 *   FCUnpublish, deleteStream
 *
 * Replies are matched to requests by transaction id, not by order, and
 * anything a publisher does not need (onBWDone, onFCPublish, replies to
 * releaseStream and FCPublish, media or data sent our way) is ignored. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "rtmpclient.h"
#include "rtmpmessage.h"
#include "rtmpsession.h"
#include "rtmpbytes.h"

/* The acknowledgement window we announce when the server does not set
 * one with Set Peer Bandwidth before accepting the connection */
#define CLIENT_WINDOW_ACK_SIZE 2500000
/* The smallest window honoured either way: a tiny one would make a peer
 * acknowledge every read */
#define MIN_WINDOW_ACK_SIZE 4096
/* A server has no reason to send a publisher large messages: bound what it
 * can make us hold in unfinished ones */
#define CLIENT_MAX_PENDING (1024 * 1024)
/* How much of a server-provided status code or description goes into an
 * error message */
#define MAX_STATUS_TEXT 256

/* Chunk stream ids, as ffmpeg uses them: protocol control on 2, commands on
 * 3, audio and script data on 4, video on 6, stream commands on 8 */
#define CSID_CONTROL CF_RTMP_CSID_CONTROL
#define CSID_COMMAND CF_RTMP_CSID_COMMAND
#define CSID_AUDIO_DATA 4
#define CSID_VIDEO 6
#define CSID_STREAM 8

/* Transaction ids of what we send */
enum
{
  TXN_CONNECT = 1,
  TXN_RELEASE_STREAM,
  TXN_FC_PUBLISH,
  TXN_CREATE_STREAM,
  TXN_PUBLISH,
  TXN_FC_UNPUBLISH,
  TXN_DELETE_STREAM,
};

/* "@setDataFrame" as an AMF0 string */
static const guint8 set_data_frame[] = {
  0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a',
  'm', 'e'
};

/* What an empty payload points at, instead of NULL */
static const guint8 empty_payload[1];

struct _CfRtmpClientSession
{
  gchar *tc_url;
  gchar *app;
  gchar *stream_name;
  gchar *flash_ver;

  CfRtmpClientState state;
  gboolean started;
  GByteArray *hs;               /* S0 S1 S2 gathered so far */
  gboolean sent_c2;
  CfRtmpChunkReader *reader;
  GByteArray *out;
  guint64 queued;               /* bytes ever appended to the output */

  guint32 stream_id;

  guint32 peer_window;          /* acknowledge after this many bytes */
  guint64 last_ack;
  guint32 announced_window;     /* our Window Ack Size, 0 until sent */
  guint64 acked;
};

static gboolean on_message (const CfRtmpMessage * msg, gpointer user_data,
    GError ** error);

CfRtmpClientSession *
cf_rtmp_client_session_new (const gchar * tc_url, const gchar * app,
    const gchar * stream_name, const gchar * flash_ver)
{
  CfRtmpClientSession *s;

  g_return_val_if_fail (tc_url != NULL, NULL);
  g_return_val_if_fail (app != NULL, NULL);
  g_return_val_if_fail (stream_name != NULL, NULL);

  s = g_new0 (CfRtmpClientSession, 1);
  s->tc_url = g_strdup (tc_url);
  s->app = g_strdup (app);
  s->stream_name = g_strdup (stream_name);
  s->flash_ver = g_strdup (flash_ver ? flash_ver :
      CF_RTMP_CLIENT_DEFAULT_FLASH_VER);
  s->state = CF_RTMP_CLIENT_STATE_HANDSHAKE;
  s->hs = g_byte_array_sized_new (1 + 2 * CF_RTMP_HANDSHAKE_SIZE);
  s->reader = cf_rtmp_chunk_reader_new (on_message, s);
  cf_rtmp_chunk_reader_set_max_pending (s->reader, CLIENT_MAX_PENDING);
  s->out = g_byte_array_sized_new (4096);
  s->peer_window = CLIENT_WINDOW_ACK_SIZE;
  return s;
}

void
cf_rtmp_client_session_free (CfRtmpClientSession * s)
{
  if (!s)
    return;
  g_free (s->tc_url);
  g_free (s->app);
  g_free (s->stream_name);
  g_free (s->flash_ver);
  g_byte_array_unref (s->hs);
  cf_rtmp_chunk_reader_free (s->reader);
  g_byte_array_unref (s->out);
  g_free (s);
}

GByteArray *
cf_rtmp_client_session_get_output (CfRtmpClientSession * s)
{
  return s->out;
}

CfRtmpClientState
cf_rtmp_client_session_get_state (CfRtmpClientSession * s)
{
  return s->state;
}

const gchar *
cf_rtmp_client_state_get_name (CfRtmpClientState state)
{
  switch (state) {
    case CF_RTMP_CLIENT_STATE_HANDSHAKE:
      return "handshake";
    case CF_RTMP_CLIENT_STATE_CONNECTING:
      return "connecting";
    case CF_RTMP_CLIENT_STATE_CREATING_STREAM:
      return "creating-stream";
    case CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED:
      return "publishing-requested";
    case CF_RTMP_CLIENT_STATE_PUBLISHING:
      return "publishing";
    case CF_RTMP_CLIENT_STATE_FAILED:
      return "failed";
    case CF_RTMP_CLIENT_STATE_UNPUBLISHED:
      return "unpublished";
    default:
      return "unknown";
  }
}

guint32
cf_rtmp_client_session_get_stream_id (CfRtmpClientSession * s)
{
  return s->stream_id;
}

guint32
cf_rtmp_client_session_get_chunk_size (CfRtmpClientSession * s)
{
  return CF_RTMP_CLIENT_CHUNK_SIZE;
}

guint64
cf_rtmp_client_session_get_acked_bytes (CfRtmpClientSession * s)
{
  return s->acked;
}

void
cf_rtmp_client_session_start (CfRtmpClientSession * s)
{
  guint8 *p;
  guint i;

  g_return_if_fail (!s->started);
  s->started = TRUE;

  g_byte_array_set_size (s->out, s->out->len + 1 + CF_RTMP_HANDSHAKE_SIZE);
  p = s->out->data + s->out->len - (1 + CF_RTMP_HANDSHAKE_SIZE);

  /* C0: the version */
  p[0] = 3;
  p++;
  /* C1: our time, zero (the plain handshake, no digest), random bytes */
  CF_WRITE_UINT32_BE (p, (guint32) (g_get_monotonic_time () / 1000));
  CF_WRITE_UINT32_BE (p + 4, 0);
  for (i = 8; i < CF_RTMP_HANDSHAKE_SIZE; i += 4) {
    guint32 r = g_random_int ();

    memcpy (p + i, &r, 4);
  }
  s->queued += 1 + CF_RTMP_HANDSHAKE_SIZE;
}

/* A status code or description from the server, fit for an error message:
 * bounded, valid UTF-8, no control characters. */
static gchar *
status_text (const CfAmfNode * info, const gchar * field)
{
  const gchar *value = cf_amf_node_get_field_string (info, field);
  gchar *copy, *ret, *p;

  if (!value || !*value)
    return NULL;
  copy = g_strndup (value, MAX_STATUS_TEXT);
  for (p = copy; *p; p++) {
    if ((guchar) * p < 0x20 || *p == 0x7f)
      *p = ' ';
  }
  ret = g_utf8_make_valid (copy, -1);
  g_free (copy);
  return ret;
}

/* "<what>: <code>: <description>" as a CF_RTMP_ERROR_REFUSED error */
static void
set_refused (GError ** error, const gchar * what, const CfAmfNode * info)
{
  g_autofree gchar *code = status_text (info, "code");
  g_autofree gchar *description = status_text (info, "description");

  if (code && description)
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_REFUSED, "%s: %s: %s",
        what, code, description);
  else if (code || description)
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_REFUSED, "%s: %s",
        what, code ? code : description);
  else
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_REFUSED,
        "%s (no status from the server)", what);
}

static void
send_window_ack_size (CfRtmpClientSession * s, guint32 window)
{
  window = MAX (window, MIN_WINDOW_ACK_SIZE);
  if (window == s->announced_window)
    return;
  cf_rtmp_write_control (s->out, CF_RTMP_MSG_WINDOW_ACK_SIZE, window);
  s->announced_window = window;
}

static void
send_connect (CfRtmpClientSession * s)
{
  g_autoptr (CfAmfNode) obj = cf_amf_node_new_object ();

  cf_rtmp_write_control (s->out, CF_RTMP_MSG_SET_CHUNK_SIZE,
      CF_RTMP_CLIENT_CHUNK_SIZE);

  /* What ffmpeg puts in a publisher's connect (gen_connect): fpad,
   * capabilities, audioCodecs, videoCodecs and videoFunction describe a
   * player and are only sent when playing. */
  cf_amf_node_append_field_string (obj, "app", s->app);
  cf_amf_node_append_field_string (obj, "type", "nonprivate");
  cf_amf_node_append_field_string (obj, "flashVer", s->flash_ver);
  cf_amf_node_append_field_string (obj, "tcUrl", s->tc_url);
  cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND, 0,
      "connect", TXN_CONNECT, obj, NULL);
}

static gboolean
feed_handshake (CfRtmpClientSession * s, const guint8 ** data, gsize * size,
    GError ** error)
{
  const gsize need = 1 + 2 * CF_RTMP_HANDSHAKE_SIZE;
  gsize n;

  if (s->hs->len == 0 && (*data)[0] != 3) {
    guint8 v = (*data)[0];

    if (v == 0x16 || v == 0x15)
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "the server answered with TLS (use rtmps://, not rtmp://)");
    else if (g_ascii_isalpha (v))
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "not an RTMP server: it sent text (an HTTP server?)");
    else
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "not an RTMP server: handshake version byte 0x%02x, expected 0x03",
          v);
    return FALSE;
  }

  n = MIN (need - s->hs->len, *size);
  g_byte_array_append (s->hs, *data, n);
  *data += n;
  *size -= n;

  /* C2 echoes S1, and may go as soon as S1 is in */
  if (!s->sent_c2 && s->hs->len >= 1 + CF_RTMP_HANDSHAKE_SIZE) {
    g_byte_array_append (s->out, s->hs->data + 1, CF_RTMP_HANDSHAKE_SIZE);
    s->sent_c2 = TRUE;
  }
  if (s->hs->len < need)
    return TRUE;

  /* S2 should echo C1; servers differ in what they put there, so it is not
   * checked */
  g_byte_array_set_size (s->hs, 0);
  send_connect (s);
  s->state = CF_RTMP_CLIENT_STATE_CONNECTING;
  return TRUE;
}

static gboolean
do_feed (CfRtmpClientSession * s, const guint8 * data, gsize size,
    GError ** error)
{
  guint64 bytes;

  if (s->state == CF_RTMP_CLIENT_STATE_FAILED) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_CLOSED,
        "data after the session failed");
    return FALSE;
  }
  if (!s->started) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "the server sent data before the handshake started");
    return FALSE;
  }

  while (size > 0 && s->state == CF_RTMP_CLIENT_STATE_HANDSHAKE) {
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
  return TRUE;
}

gboolean
cf_rtmp_client_session_feed (CfRtmpClientSession * s, const guint8 * data,
    gsize size, GError ** error)
{
  guint len = s->out->len;
  gboolean ret;

  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  ret = do_feed (s, data, size, error);
  s->queued += s->out->len - len;
  if (!ret)
    s->state = CF_RTMP_CLIENT_STATE_FAILED;
  return ret;
}

/* The first object among a command's arguments after the name and the
 * transaction id: where the info object of a status or an error is (after
 * a null command object, usually). */
static const CfAmfNode *
find_info (GPtrArray * args)
{
  guint i;

  for (i = 2; i < args->len; i++) {
    const CfAmfNode *n = g_ptr_array_index (args, i);
    CfAmfType type = cf_amf_node_get_type (n);

    if (type == CF_AMF_TYPE_OBJECT || type == CF_AMF_TYPE_ECMA_ARRAY)
      return n;
  }
  return NULL;
}

static gboolean
is_error_level (const CfAmfNode * info)
{
  const gchar *level = cf_amf_node_get_field_string (info, "level");

  return level && g_ascii_strcasecmp (level, "error") == 0;
}

static void
send_create_stream (CfRtmpClientSession * s)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) name = cf_amf_node_new_string (s->stream_name, -1);

  cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND, 0,
      "releaseStream", TXN_RELEASE_STREAM, null, name, NULL);
  cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND, 0,
      "FCPublish", TXN_FC_PUBLISH, null, name, NULL);
  cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND, 0,
      "createStream", TXN_CREATE_STREAM, null, NULL);
  s->state = CF_RTMP_CLIENT_STATE_CREATING_STREAM;
}

static void
send_publish (CfRtmpClientSession * s)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) name = cf_amf_node_new_string (s->stream_name, -1);
  g_autoptr (CfAmfNode) live = cf_amf_node_new_string ("live", -1);

  cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_STREAM,
      s->stream_id, "publish", TXN_PUBLISH, null, name, live, NULL);
  s->state = CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED;
}

static gboolean
handle_result (CfRtmpClientSession * s, GPtrArray * args, gdouble txn,
    GError ** error)
{
  if (txn == TXN_CONNECT && s->state == CF_RTMP_CLIENT_STATE_CONNECTING) {
    const CfAmfNode *info = args->len > 3 ? g_ptr_array_index (args, 3) :
        NULL;
    const gchar *code = cf_amf_node_get_field_string (info, "code");

    /* A _result is a success unless it says otherwise */
    if (is_error_level (info) || (code
            && !g_str_equal (code, "NetConnection.Connect.Success"))) {
      set_refused (error, "connect refused", info);
      return FALSE;
    }
    /* the server did not ask for a window with Set Peer Bandwidth: announce
     * one anyway, so that it acknowledges what we send */
    if (s->announced_window == 0)
      send_window_ack_size (s, CLIENT_WINDOW_ACK_SIZE);
    send_create_stream (s);
  } else if (txn == TXN_CREATE_STREAM
      && s->state == CF_RTMP_CLIENT_STATE_CREATING_STREAM) {
    const CfAmfNode *id = args->len > 3 ? g_ptr_array_index (args, 3) : NULL;
    gdouble v = cf_amf_node_get_number (id);

    if (cf_amf_node_get_type (id) != CF_AMF_TYPE_NUMBER) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "the createStream result has no stream id");
      return FALSE;
    }
    if (!isfinite (v) || v < 0 || v > G_MAXUINT32
        || v != (gdouble) (guint32) v) {
      g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
          "the createStream result has an invalid stream id %g", v);
      return FALSE;
    }
    s->stream_id = (guint32) v;
    send_publish (s);
  }
  /* anything else: releaseStream and FCPublish, or late replies */
  return TRUE;
}

static gboolean
handle_error (CfRtmpClientSession * s, GPtrArray * args, gdouble txn,
    GError ** error)
{
  const CfAmfNode *info = find_info (args);

  if (txn == TXN_CONNECT && s->state == CF_RTMP_CLIENT_STATE_CONNECTING) {
    set_refused (error, "connect refused", info);
    return FALSE;
  }
  if (txn == TXN_CREATE_STREAM
      && s->state == CF_RTMP_CLIENT_STATE_CREATING_STREAM) {
    set_refused (error, "createStream refused", info);
    return FALSE;
  }
  if (txn == TXN_PUBLISH
      && (s->state == CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED
          || s->state == CF_RTMP_CLIENT_STATE_PUBLISHING)) {
    set_refused (error, "publish refused", info);
    return FALSE;
  }
  /* releaseStream and FCPublish are refused by servers that do not know
   * them: harmless */
  return TRUE;
}

static gboolean
handle_status (CfRtmpClientSession * s, GPtrArray * args, GError ** error)
{
  const CfAmfNode *info = find_info (args);
  const gchar *code = cf_amf_node_get_field_string (info, "code");

  if (s->state == CF_RTMP_CLIENT_STATE_UNPUBLISHED)
    return TRUE;

  if (is_error_level (info)) {
    switch (s->state) {
      case CF_RTMP_CLIENT_STATE_CONNECTING:
        set_refused (error, "connect refused", info);
        break;
      case CF_RTMP_CLIENT_STATE_PUBLISHING:
        set_refused (error, "publishing stopped by the server", info);
        break;
      default:
        set_refused (error, "publish refused", info);
        break;
    }
    return FALSE;
  }

  /* Statuses that come before publish was sent (some servers answer
   * FCPublish with one) are not the answer to it */
  if (code && g_str_equal (code, "NetStream.Publish.Start")
      && s->state == CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED)
    s->state = CF_RTMP_CLIENT_STATE_PUBLISHING;
  return TRUE;
}

static gboolean
handle_command (CfRtmpClientSession * s, const guint8 * data, gsize size,
    GError ** error)
{
  g_autoptr (GPtrArray) args = NULL;
  g_autoptr (GError) err = NULL;
  const gchar *name;
  gdouble txn;

  args = cf_amf_parse_all (data, size, &err);
  if (!args) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "malformed command from the server: %s", err->message);
    return FALSE;
  }
  if (args->len < 1 || !(name = cf_amf_node_get_string (g_ptr_array_index
              (args, 0), NULL))) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_PROTOCOL,
        "command from the server without a name");
    return FALSE;
  }
  /* some servers (ffmpeg's listener) send a bare onFCPublish: a command
   * without a transaction id is a notification */
  if (args->len < 2)
    return TRUE;
  txn = cf_amf_node_get_number (g_ptr_array_index (args, 1));

  if (g_str_equal (name, "_result"))
    return handle_result (s, args, txn, error);
  if (g_str_equal (name, "_error"))
    return handle_error (s, args, txn, error);
  if (g_str_equal (name, "onStatus"))
    return handle_status (s, args, error);
  if (g_str_equal (name, "close")
      && s->state != CF_RTMP_CLIENT_STATE_UNPUBLISHED) {
    g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_CLOSED,
        "the server closed the connection");
    return FALSE;
  }
  /* onBWDone, onFCPublish, onFCUnpublish, _checkbw ...: nothing a
   * publisher needs to answer */
  return TRUE;
}

static void
handle_acknowledgement (CfRtmpClientSession * s, guint32 value)
{
  /* the 32-bit count wraps: extend it from the last one */
  guint64 acked = s->acked + (guint32) (value - (guint32) s->acked);

  /* a count going back or beyond what was sent is not believed */
  if (acked <= s->queued)
    s->acked = acked;
}

static gboolean
on_message (const CfRtmpMessage * msg, gpointer user_data, GError ** error)
{
  CfRtmpClientSession *s = user_data;
  gsize size;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);

  if (!data)
    data = empty_payload;

  switch (msg->type) {
    case CF_RTMP_MSG_SET_CHUNK_SIZE:
    case CF_RTMP_MSG_ABORT:
      /* applied by the chunk reader */
      return TRUE;
    case CF_RTMP_MSG_ACKNOWLEDGEMENT:
      if (size >= 4)
        handle_acknowledgement (s, CF_READ_UINT32_BE (data));
      return TRUE;
    case CF_RTMP_MSG_WINDOW_ACK_SIZE:
      if (size >= 4)
        s->peer_window = MAX (CF_READ_UINT32_BE (data), MIN_WINDOW_ACK_SIZE);
      return TRUE;
    case CF_RTMP_MSG_SET_PEER_BANDWIDTH:
      /* answered with our Window Ack Size when it differs from the last
       * one (RTMP specification 5.4.5); the limit type is not needed by a
       * sender that does not wait for acknowledgements */
      if (size >= 4 && CF_READ_UINT32_BE (data) > 0)
        send_window_ack_size (s, CF_READ_UINT32_BE (data));
      return TRUE;
    case CF_RTMP_MSG_USER_CONTROL:
      if (size >= 6 && CF_READ_UINT16_BE (data) == CF_RTMP_UC_PING_REQUEST)
        cf_rtmp_write_user_control (s->out, CF_RTMP_UC_PING_RESPONSE,
            data + 2, 4);
      /* Stream Begin, Stream EOF ...: nothing to do */
      return TRUE;
    case CF_RTMP_MSG_COMMAND_AMF0:
    case CF_RTMP_MSG_COMMAND_AMF3:{
      gsize off = (msg->type == CF_RTMP_MSG_COMMAND_AMF3 && size > 0
          && data[0] == 0) ? 1 : 0;

      if (size > CF_RTMP_MAX_COMMAND_SIZE) {
        g_set_error (error, CF_RTMP_ERROR, CF_RTMP_ERROR_LIMIT,
            "command message of %" G_GSIZE_FORMAT " bytes from the server, "
            "limit %u", size, CF_RTMP_MAX_COMMAND_SIZE);
        return FALSE;
      }
      return handle_command (s, data + off, size - off, error);
    }
    default:
      /* media, data, shared objects: nothing a publisher uses */
      return TRUE;
  }
}

void
cf_rtmp_client_write_media_chunks (GByteArray * out, guint32 chunk_size,
    guint32 stream_id, guint8 type, guint32 timestamp, const guint8 * body,
    gsize size)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (chunk_size > 0);
  g_return_if_fail (type == CF_RTMP_MSG_AUDIO || type == CF_RTMP_MSG_VIDEO
      || type == CF_RTMP_MSG_DATA_AMF0);
  g_return_if_fail (body != NULL || size == 0);

  if (!body)
    body = empty_payload;

  /* As ffmpeg does, script data goes as "@setDataFrame" followed by the tag
   * body, which servers keep and hand to each new player */
  if (type == CF_RTMP_MSG_DATA_AMF0 && !(size >= sizeof (set_data_frame)
          && memcmp (body, set_data_frame, sizeof (set_data_frame)) == 0)) {
    guint8 *payload;

    g_return_if_fail (size <= 0xffffff - sizeof (set_data_frame));
    payload = g_malloc (sizeof (set_data_frame) + size);
    memcpy (payload, set_data_frame, sizeof (set_data_frame));
    memcpy (payload + sizeof (set_data_frame), body, size);
    cf_rtmp_chunk_write_data (out, chunk_size, CSID_AUDIO_DATA, type,
        stream_id, timestamp, payload, sizeof (set_data_frame) + size);
    g_free (payload);
    return;
  }

  g_return_if_fail (size <= 0xffffff);
  cf_rtmp_chunk_write_data (out, chunk_size,
      type == CF_RTMP_MSG_VIDEO ? CSID_VIDEO : CSID_AUDIO_DATA, type,
      stream_id, timestamp, body, size);
}

void
cf_rtmp_client_session_write_media (CfRtmpClientSession * s, guint8 type,
    guint32 timestamp, const guint8 * body, gsize size)
{
  guint len = s->out->len;

  if (s->state != CF_RTMP_CLIENT_STATE_PUBLISHING)
    return;
  cf_rtmp_client_write_media_chunks (s->out, CF_RTMP_CLIENT_CHUNK_SIZE,
      s->stream_id, type, timestamp, body, size);
  s->queued += s->out->len - len;
}

void
cf_rtmp_client_session_unpublish (CfRtmpClientSession * s)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  guint len = s->out->len;

  if (s->state == CF_RTMP_CLIENT_STATE_FAILED
      || s->state == CF_RTMP_CLIENT_STATE_UNPUBLISHED)
    return;

  /* FCPublish was sent with createStream */
  if (s->state >= CF_RTMP_CLIENT_STATE_CREATING_STREAM) {
    g_autoptr (CfAmfNode) name = cf_amf_node_new_string (s->stream_name, -1);

    cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND,
        0, "FCUnpublish", TXN_FC_UNPUBLISH, null, name, NULL);
  }
  /* the stream exists once its id is known */
  if (s->state >= CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED) {
    g_autoptr (CfAmfNode) id = cf_amf_node_new_number (s->stream_id);

    cf_rtmp_write_command (s->out, CF_RTMP_CLIENT_CHUNK_SIZE, CSID_COMMAND,
        0, "deleteStream", TXN_DELETE_STREAM, null, id, NULL);
  }
  s->queued += s->out->len - len;
  s->state = CF_RTMP_CLIENT_STATE_UNPUBLISHED;
}
