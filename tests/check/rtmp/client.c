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

/* The RTMP client session: against our own server session in memory,
 * against a scripted server for what ours never sends (refusals, odd
 * orders, hostile bytes), and against a real nginx-rtmp that records what
 * it receives. The nginx test needs nginx with the rtmp module, ffmpeg and
 * ffprobe; without them the other tests run and the program exits with 77
 * (skipped). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "amf.h"
#include "rtmpbytes.h"
#include "rtmpchunk.h"
#include "rtmpclient.h"
#include "rtmpmessage.h"
#include "rtmpsession.h"

#define TC_URL "rtmp://127.0.0.1:1935/live"
#define APP "live"
#define STREAM_KEY "key"

#define DEFAULT_NGINX_RTMP_MODULE "/usr/lib/nginx/modules/ngx_rtmp_module.so"

/* --- helpers --- */

static void
assert_bytes_equal (const guint8 * data, gsize size, const guint8 * expected,
    gsize expected_size)
{
  fail_unless_equals_uint64 (size, expected_size);
  fail_unless (memcmp (data, expected, size) == 0,
      "the %" G_GSIZE_FORMAT " bytes differ", size);
}

static guint8 *
make_pattern (gsize size, guint seed)
{
  guint8 *data = g_malloc (size);
  gsize i;

  for (i = 0; i < size; i++)
    data[i] = (guint8) (i * 31 + seed + (i >> 11));
  return data;
}

/* "onMetaData" and its array, as an FLV script tag body */
static GByteArray *
make_metadata_body (void)
{
  g_autoptr (CfAmfNode) name = cf_amf_node_new_string ("onMetaData", -1);
  g_autoptr (CfAmfNode) array = cf_amf_node_new_ecma_array ();
  GByteArray *out = g_byte_array_new ();

  cf_amf_node_append_field_number (array, "duration", 0);
  cf_amf_node_append_field_number (array, "width", 320);
  cf_amf_node_append_field_number (array, "height", 240);
  cf_amf_node_append_field_number (array, "framerate", 25);
  cf_amf_node_append_field_number (array, "videocodecid", 7);
  cf_amf_node_append_field_number (array, "audiocodecid", 10);
  cf_amf_node_append_field_string (array, "encoder", "Lavf59.27.100");
  cf_amf_node_serialize (name, out);
  cf_amf_node_serialize (array, out);
  return out;
}

/* --- a client connected to our server session in memory --- */

typedef struct
{
  guint8 type;
  guint32 timestamp;
  GBytes *body;
} Media;

static void
media_free (gpointer data)
{
  Media *m = data;

  g_bytes_unref (m->body);
  g_free (m);
}

typedef struct
{
  CfRtmpClientSession *client;
  CfRtmpServerSession *server;
  GRand *rand;

  gboolean accept;
  gchar *app;
  gchar *name;
  GPtrArray *media;
  guint unpublished;

  GError *server_error;
  GError *client_error;
} Pair;

static gboolean
on_publish (CfRtmpServerSession * session, const gchar * app,
    const gchar * name, const gchar ** code, gchar ** description,
    gpointer user_data)
{
  Pair *p = user_data;

  g_free (p->app);
  g_free (p->name);
  p->app = g_strdup (app);
  p->name = g_strdup (name);
  if (p->accept)
    return TRUE;
  *code = "NetStream.Publish.BadName";
  *description = g_strdup ("Unknown stream key.");
  return FALSE;
}

static gboolean
on_media (CfRtmpServerSession * session, guint8 type, guint32 timestamp,
    GBytes * body, gpointer user_data, GError ** error)
{
  Pair *p = user_data;
  Media *m = g_new0 (Media, 1);

  m->type = type;
  m->timestamp = timestamp;
  m->body = g_bytes_ref (body);
  g_ptr_array_add (p->media, m);
  return TRUE;
}

static void
on_unpublish (CfRtmpServerSession * session, gpointer user_data)
{
  Pair *p = user_data;

  p->unpublished++;
}

static const CfRtmpServerCallbacks server_callbacks = {
  on_publish, on_media, on_unpublish
};

static Pair *
pair_new (gboolean accept, guint32 seed)
{
  Pair *p = g_new0 (Pair, 1);

  p->client = cf_rtmp_client_session_new (TC_URL, APP, STREAM_KEY, NULL);
  p->server = cf_rtmp_server_session_new (&server_callbacks, p);
  p->rand = g_rand_new_with_seed (seed);
  p->accept = accept;
  p->media = g_ptr_array_new_with_free_func (media_free);
  return p;
}

static void
pair_free (Pair * p)
{
  cf_rtmp_client_session_free (p->client);
  cf_rtmp_server_session_free (p->server);
  g_rand_free (p->rand);
  g_free (p->app);
  g_free (p->name);
  g_ptr_array_unref (p->media);
  g_clear_error (&p->server_error);
  g_clear_error (&p->client_error);
  g_free (p);
}

/* How much to move at once: sometimes a byte or a few, so that every
 * header and handshake boundary gets split, sometimes a lot */
static gsize
piece_size (GRand * rand, gsize available)
{
  static const guint32 max[] = { 7, 300, 5000, 70000 };
  guint32 m = max[g_rand_int_range (rand, 0, G_N_ELEMENTS (max))];
  gsize n = g_rand_int_range (rand, 1, m + 1);

  return MIN (available, n);
}

/* Moves bytes both ways until neither side has anything to send. A side
 * that failed gets nothing more (the connection would be closed), but what
 * it queued before failing (a refusal) still reaches the other. */
static void
pump (Pair * p)
{
  GByteArray *c = cf_rtmp_client_session_get_output (p->client);
  GByteArray *s = cf_rtmp_server_session_get_output (p->server);
  gboolean moved = TRUE;

  while (moved) {
    moved = FALSE;
    if (c->len > 0) {
      gsize n = piece_size (p->rand, c->len);

      if (!p->server_error)
        cf_rtmp_server_session_feed (p->server, c->data, n, &p->server_error);
      g_byte_array_remove_range (c, 0, n);
      moved = TRUE;
    }
    if (s->len > 0) {
      gsize n = piece_size (p->rand, s->len);

      if (!p->client_error)
        cf_rtmp_client_session_feed (p->client, s->data, n, &p->client_error);
      g_byte_array_remove_range (s, 0, n);
      moved = TRUE;
    }
  }
}

static Pair *
pair_new_publishing (guint32 seed)
{
  Pair *p = pair_new (TRUE, seed);

  cf_rtmp_client_session_start (p->client);
  pump (p);
  fail_unless (p->client_error == NULL, "%s", p->client_error->message);
  fail_unless (p->server_error == NULL, "%s", p->server_error->message);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (p->client),
      CF_RTMP_CLIENT_STATE_PUBLISHING);
  fail_unless_equals_int (cf_rtmp_server_session_get_state (p->server),
      CF_RTMP_SERVER_STATE_PUBLISHING);
  return p;
}

static void
assert_media (Pair * p, guint n, guint8 type, guint32 timestamp,
    const guint8 * body, gsize size)
{
  Media *m;
  gsize got_size;
  const guint8 *got;

  fail_unless (n < p->media->len, "media %u not received (%u were)", n,
      p->media->len);
  m = g_ptr_array_index (p->media, n);
  fail_unless_equals_int (m->type, type);
  fail_unless_equals_uint64 (m->timestamp, timestamp);
  got = g_bytes_get_data (m->body, &got_size);
  assert_bytes_equal (got, got_size, body, size);
}

START_TEST (test_publish_to_server_session)
{
  guint seed;

  for (seed = 1; seed <= 20; seed++) {
    Pair *p = pair_new_publishing (seed);
    g_autoptr (GByteArray) meta = make_metadata_body ();
    static const guint8 avc_header[] = { 0x17, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f
    };
    static const guint8 aac_header[] = { 0xaf, 0x00, 0x12, 0x10 };
    static const guint8 aac_frame[] = { 0xaf, 0x01, 0x21, 0x10, 0x04, 0x60 };
    g_autoptr (GByteArray) wrapped = g_byte_array_new ();
    g_autofree guint8 *frame = make_pattern (9000, seed);

    fail_unless_equals_string (p->app, APP);
    fail_unless_equals_string (p->name, STREAM_KEY);
    fail_unless_equals_string (cf_rtmp_server_session_get_encoder
        (p->server), CF_RTMP_CLIENT_DEFAULT_FLASH_VER);
    fail_unless_equals_int (cf_rtmp_client_session_get_stream_id (p->client),
        1);
    fail_unless_equals_int (cf_rtmp_client_session_get_chunk_size
        (p->client), 4096);

    cf_rtmp_client_session_write_media (p->client, 18, 0, meta->data,
        meta->len);
    cf_rtmp_client_session_write_media (p->client, 9, 0, avc_header,
        sizeof (avc_header));
    cf_rtmp_client_session_write_media (p->client, 8, 0, aac_header,
        sizeof (aac_header));
    cf_rtmp_client_session_write_media (p->client, 9, 0, frame, 9000);
    cf_rtmp_client_session_write_media (p->client, 8, 23, aac_frame,
        sizeof (aac_frame));
    cf_rtmp_client_session_write_media (p->client, 9, 40, frame + 1, 100);
    /* already wrapped: sent as is, not wrapped twice */
    g_byte_array_append (wrapped, (const guint8 *) "\x02\x00\x0d@setDataFrame",
        16);
    g_byte_array_append (wrapped, meta->data, meta->len);
    cf_rtmp_client_session_write_media (p->client, 18, 80, wrapped->data,
        wrapped->len);
    pump (p);

    fail_unless (p->client_error == NULL, "%s", p->client_error->message);
    fail_unless (p->server_error == NULL, "%s", p->server_error->message);
    fail_unless_equals_int (p->media->len, 7);
    /* @setDataFrame is stripped by the server: the tag body comes out */
    assert_media (p, 0, 18, 0, meta->data, meta->len);
    assert_media (p, 1, 9, 0, avc_header, sizeof (avc_header));
    assert_media (p, 2, 8, 0, aac_header, sizeof (aac_header));
    assert_media (p, 3, 9, 0, frame, 9000);
    assert_media (p, 4, 8, 23, aac_frame, sizeof (aac_frame));
    assert_media (p, 5, 9, 40, frame + 1, 100);
    assert_media (p, 6, 18, 80, meta->data, meta->len);

    cf_rtmp_client_session_unpublish (p->client);
    fail_unless_equals_int (cf_rtmp_client_session_get_state (p->client),
        CF_RTMP_CLIENT_STATE_UNPUBLISHED);
    pump (p);
    fail_unless (p->client_error == NULL, "%s", p->client_error->message);
    fail_unless (p->server_error == NULL, "%s", p->server_error->message);
    fail_unless_equals_int (p->unpublished, 1);
    fail_unless_equals_int (cf_rtmp_server_session_get_state (p->server),
        CF_RTMP_SERVER_STATE_CONNECTED);

    /* nothing is sent after unpublishing */
    cf_rtmp_client_session_write_media (p->client, 9, 120, frame, 10);
    fail_unless_equals_int (cf_rtmp_client_session_get_output
        (p->client)->len, 0);
    pair_free (p);
  }
}

END_TEST;

START_TEST (test_publish_refused)
{
  guint seed;

  for (seed = 1; seed <= 10; seed++) {
    Pair *p = pair_new (FALSE, seed);
    GError *err = NULL;

    cf_rtmp_client_session_start (p->client);
    pump (p);

    fail_unless (p->server_error != NULL);
    fail_unless (p->client_error != NULL);
    fail_unless (p->client_error->domain == CF_RTMP_ERROR);
    fail_unless_equals_int (p->client_error->code, CF_RTMP_ERROR_REFUSED);
    fail_unless_equals_string (p->client_error->message,
        "publish refused: NetStream.Publish.BadName: Unknown stream key.");
    fail_unless_equals_int (cf_rtmp_client_session_get_state (p->client),
        CF_RTMP_CLIENT_STATE_FAILED);

    /* a failed session stays failed */
    fail_if (cf_rtmp_client_session_feed (p->client, (const guint8 *) "x", 1,
            &err));
    fail_unless (err != NULL);
    fail_unless_equals_int (err->code, CF_RTMP_ERROR_CLOSED);
    g_error_free (err);
    cf_rtmp_client_session_write_media (p->client, 9, 0,
        (const guint8 *) "\x17\x01", 2);
    cf_rtmp_client_session_unpublish (p->client);
    fail_unless_equals_int (cf_rtmp_client_session_get_output
        (p->client)->len, 0);
    fail_unless_equals_int (cf_rtmp_client_session_get_state (p->client),
        CF_RTMP_CLIENT_STATE_FAILED);
    pair_free (p);
  }
}

END_TEST;

START_TEST (test_stopped_by_server)
{
  Pair *p = pair_new_publishing (7);

  cf_rtmp_server_session_refuse (p->server, "NetStream.Publish.Denied",
      "The live input was disabled.");
  pump (p);
  fail_unless (p->client_error != NULL);
  fail_unless_equals_int (p->client_error->code, CF_RTMP_ERROR_REFUSED);
  fail_unless_equals_string (p->client_error->message,
      "publishing stopped by the server: NetStream.Publish.Denied: "
      "The live input was disabled.");
  fail_unless_equals_int (cf_rtmp_client_session_get_state (p->client),
      CF_RTMP_CLIENT_STATE_FAILED);
  pair_free (p);
}

END_TEST;

START_TEST (test_large_messages)
{
  const gsize size = 1024 * 1024;
  Pair *p = pair_new_publishing (3);
  guint i;
  guint64 acked;
  g_autoptr (GByteArray) chunks = g_byte_array_new ();
  g_autofree guint8 *body = make_pattern (size, 5);

  /* 1 MB in 4096-byte chunks: a 12-byte header, then one byte of type 3
   * header for each further chunk */
  cf_rtmp_client_write_media_chunks (chunks, 4096, 1, 9, 1000, body, size);
  fail_unless_equals_uint64 (chunks->len, 12 + size + (size / 4096 - 1));
  fail_unless_equals_int (chunks->data[0], 0x06);       /* type 0, csid 6 */
  fail_unless_equals_int (chunks->data[12 + 4096], 0xc6);       /* type 3 */

  for (i = 0; i < 3; i++) {
    body[0] = i;
    cf_rtmp_client_session_write_media (p->client, 9, 1000 + i * 40, body,
        size);
    pump (p);
    fail_unless (p->client_error == NULL, "%s", p->client_error->message);
    fail_unless (p->server_error == NULL, "%s", p->server_error->message);
    assert_media (p, i, 9, 1000 + i * 40, body, size);
  }

  /* the server acknowledges once per window (2500000 bytes, what the
   * client announced in reply to its Set Peer Bandwidth) */
  acked = cf_rtmp_client_session_get_acked_bytes (p->client);
  fail_unless (acked >= 2500000, "acked %" G_GUINT64_FORMAT, acked);
  fail_unless (acked <= 3 * size + 4096, "acked %" G_GUINT64_FORMAT, acked);
  pair_free (p);
}

END_TEST;

START_TEST (test_extended_timestamps)
{
  static const guint32 timestamps[] = {
    0xfffffe, 0xffffff, 0x1000000, 0x7fffffff, 0xfffffffe, 0xffffffff
  };
  Pair *p = pair_new_publishing (11);
  g_autofree guint8 *body = make_pattern (10000, 9);
  g_autoptr (GByteArray) chunks = g_byte_array_new ();
  guint i;

  /* an extended timestamp follows the type 0 header and every type 3 one */
  cf_rtmp_client_write_media_chunks (chunks, 4096, 1, 8, 0x12345678, body,
      10000);
  fail_unless_equals_uint64 (chunks->len, 12 + 4 + 10000 + 2 * (1 + 4));
  fail_unless_equals_int (CF_READ_UINT24_BE (chunks->data + 1), 0xffffff);
  fail_unless_equals_int (CF_READ_UINT32_BE (chunks->data + 12), 0x12345678);
  fail_unless_equals_int (chunks->data[16 + 4096], 0xc4);
  fail_unless_equals_int (CF_READ_UINT32_BE (chunks->data + 17 + 4096),
      0x12345678);

  /* below the limit, none */
  g_byte_array_set_size (chunks, 0);
  cf_rtmp_client_write_media_chunks (chunks, 4096, 1, 8, 0xfffffe, body, 10);
  fail_unless_equals_uint64 (chunks->len, 12 + 10);
  fail_unless_equals_int (CF_READ_UINT24_BE (chunks->data + 1), 0xfffffe);

  for (i = 0; i < G_N_ELEMENTS (timestamps); i++) {
    cf_rtmp_client_session_write_media (p->client, i % 2 ? 8 : 9,
        timestamps[i], body, 10000 - i);
  }
  pump (p);
  fail_unless (p->client_error == NULL, "%s", p->client_error->message);
  fail_unless (p->server_error == NULL, "%s", p->server_error->message);
  for (i = 0; i < G_N_ELEMENTS (timestamps); i++)
    assert_media (p, i, i % 2 ? 8 : 9, timestamps[i], body, 10000 - i);
  pair_free (p);
}

END_TEST;

/* The session-less serialization is byte for byte what the session sends,
 * so it can be shared between connections */
START_TEST (test_shared_chunks)
{
  Pair *p = pair_new_publishing (13);
  g_autoptr (GByteArray) meta = make_metadata_body ();
  g_autofree guint8 *body = make_pattern (20000, 1);
  g_autoptr (GByteArray) shared = g_byte_array_new ();
  GByteArray *out = cf_rtmp_client_session_get_output (p->client);
  guint32 chunk_size = cf_rtmp_client_session_get_chunk_size (p->client);
  guint32 stream_id = cf_rtmp_client_session_get_stream_id (p->client);

  fail_unless_equals_int (out->len, 0);
  cf_rtmp_client_session_write_media (p->client, 18, 0, meta->data,
      meta->len);
  cf_rtmp_client_session_write_media (p->client, 9, 33, body, 20000);
  cf_rtmp_client_session_write_media (p->client, 8, 0x1000000, body, 300);

  cf_rtmp_client_write_media_chunks (shared, chunk_size, stream_id, 18, 0,
      meta->data, meta->len);
  cf_rtmp_client_write_media_chunks (shared, chunk_size, stream_id, 9, 33,
      body, 20000);
  cf_rtmp_client_write_media_chunks (shared, chunk_size, stream_id, 8,
      0x1000000, body, 300);
  assert_bytes_equal (out->data, out->len, shared->data, shared->len);

  /* the data message is @setDataFrame then the tag body, on csid 4 */
  fail_unless_equals_int (shared->data[0], 0x04);
  fail_unless_equals_int (shared->data[7], 18);
  fail_unless_equals_int (CF_READ_UINT24_BE (shared->data + 4),
      16 + meta->len);
  fail_unless (memcmp (shared->data + 12, "\x02\x00\x0d@setDataFrame",
          16) == 0);
  fail_unless (memcmp (shared->data + 28, meta->data, meta->len) == 0);

  pump (p);
  fail_unless_equals_int (p->media->len, 3);
  assert_media (p, 0, 18, 0, meta->data, meta->len);
  assert_media (p, 1, 9, 33, body, 20000);
  assert_media (p, 2, 8, 0x1000000, body, 300);
  pair_free (p);
}

END_TEST;

/* --- a scripted server --- */

typedef struct
{
  CfRtmpClientSession *client;
  CfRtmpChunkReader *reader;    /* what the client sends */
  GPtrArray *msgs;              /* CfRtmpMessage */
  guint next;                   /* first message not looked at */
  GByteArray *out;              /* what the server sends next */
} Fake;

static void
message_free (gpointer data)
{
  CfRtmpMessage *msg = data;

  cf_rtmp_message_clear (msg);
  g_free (msg);
}

static gboolean
collect (const CfRtmpMessage * msg, gpointer user_data, GError ** error)
{
  GPtrArray *msgs = user_data;
  CfRtmpMessage *copy = g_new0 (CfRtmpMessage, 1);

  *copy = *msg;
  copy->payload = msg->payload ? g_bytes_ref (msg->payload) : NULL;
  g_ptr_array_add (msgs, copy);
  return TRUE;
}

/* Parses what the client sent since the last call */
static void
fake_read (Fake * f)
{
  GByteArray *c = cf_rtmp_client_session_get_output (f->client);
  GError *err = NULL;

  fail_unless (cf_rtmp_chunk_reader_feed (f->reader, c->data, c->len, &err),
      "the client sent bad chunks: %s", err ? err->message : "");
  g_byte_array_set_size (c, 0);
}

static CfRtmpMessage *
fake_next (Fake * f)
{
  fake_read (f);
  fail_unless (f->next < f->msgs->len, "the client sent no message %u",
      f->next);
  return g_ptr_array_index (f->msgs, f->next++);
}

static void
fake_expect_none (Fake * f)
{
  fake_read (f);
  if (f->next < f->msgs->len) {
    CfRtmpMessage *msg = g_ptr_array_index (f->msgs, f->next);

    fail ("unexpected %s message from the client",
        cf_rtmp_message_type_get_name (msg->type));
  }
}

static void
fake_expect_control (Fake * f, guint8 type, guint32 value)
{
  CfRtmpMessage *msg = fake_next (f);
  gsize size;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);

  fail_unless_equals_string (cf_rtmp_message_type_get_name (msg->type),
      cf_rtmp_message_type_get_name (type));
  fail_unless_equals_int (msg->csid, 2);
  fail_unless_equals_int (msg->stream_id, 0);
  fail_unless_equals_int (size, 4);
  fail_unless_equals_uint64 (CF_READ_UINT32_BE (data), value);
}

/* The next message must be command @name with transaction @txn, on chunk
 * stream @csid and message stream @stream_id; returns its values */
static GPtrArray *
fake_expect_command (Fake * f, const gchar * name, gdouble txn, guint32 csid,
    guint32 stream_id)
{
  CfRtmpMessage *msg = fake_next (f);
  GError *err = NULL;
  GPtrArray *args;
  gsize size;
  const guint8 *data = g_bytes_get_data (msg->payload, &size);

  fail_unless_equals_int (msg->type, CF_RTMP_MSG_COMMAND_AMF0);
  args = cf_amf_parse_all (data, size, &err);
  fail_unless (args != NULL, "bad command: %s", err ? err->message : "");
  fail_unless (args->len >= 2);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index (args,
              0), NULL), name);
  fail_unless_equals_float (cf_amf_node_get_number (g_ptr_array_index (args,
              1)), txn);
  fail_unless_equals_int (msg->csid, csid);
  fail_unless_equals_int (msg->stream_id, stream_id);
  return args;
}

/* Sends what was queued in f->out to the client */
static gboolean
fake_send (Fake * f, GError ** error)
{
  gboolean ret = cf_rtmp_client_session_feed (f->client, f->out->data,
      f->out->len, error);

  g_byte_array_set_size (f->out, 0);
  return ret;
}

static void
fake_send_ok (Fake * f)
{
  GError *err = NULL;

  fail_unless (fake_send (f, &err), "%s", err ? err->message : "");
}

static void
fake_send_fails (Fake * f, CfRtmpError code, const gchar * message)
{
  GError *err = NULL;

  fail_if (fake_send (f, &err));
  fail_unless (err != NULL);
  fail_unless (err->domain == CF_RTMP_ERROR);
  fail_unless_equals_int (err->code, code);
  if (message)
    fail_unless_equals_string (err->message, message);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_FAILED);
  g_error_free (err);
}

/* Up to the connect command, checking the handshake and what connect
 * holds */
static Fake *
fake_new (void)
{
  Fake *f = g_new0 (Fake, 1);
  GByteArray *c;
  guint8 s012[1 + 2 * CF_RTMP_HANDSHAKE_SIZE];
  guint8 c1[CF_RTMP_HANDSHAKE_SIZE];
  GError *err = NULL;
  GPtrArray *args;
  const CfAmfNode *obj;
  guint i;

  f->client = cf_rtmp_client_session_new (TC_URL, APP, STREAM_KEY, NULL);
  f->msgs = g_ptr_array_new_with_free_func (message_free);
  f->reader = cf_rtmp_chunk_reader_new (collect, f->msgs);
  f->out = g_byte_array_new ();
  c = cf_rtmp_client_session_get_output (f->client);

  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_HANDSHAKE);
  fail_unless_equals_int (c->len, 0);
  cf_rtmp_client_session_start (f->client);
  /* C0 C1: version 3, time, zero, random */
  fail_unless_equals_int (c->len, 1 + CF_RTMP_HANDSHAKE_SIZE);
  fail_unless_equals_int (c->data[0], 3);
  fail_unless_equals_int (CF_READ_UINT32_BE (c->data + 5), 0);
  memcpy (c1, c->data + 1, CF_RTMP_HANDSHAKE_SIZE);
  g_byte_array_set_size (c, 0);

  s012[0] = 3;
  for (i = 1; i < 1 + CF_RTMP_HANDSHAKE_SIZE; i++)
    s012[i] = g_random_int ();
  memcpy (s012 + 1 + CF_RTMP_HANDSHAKE_SIZE, c1, CF_RTMP_HANDSHAKE_SIZE);

  /* S0 S1: C2 goes, echoing S1 */
  fail_unless (cf_rtmp_client_session_feed (f->client, s012,
          1 + CF_RTMP_HANDSHAKE_SIZE, &err));
  assert_bytes_equal (c->data, c->len, s012 + 1, CF_RTMP_HANDSHAKE_SIZE);
  g_byte_array_set_size (c, 0);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_HANDSHAKE);
  /* S2: then Set Chunk Size and connect */
  fail_unless (cf_rtmp_client_session_feed (f->client,
          s012 + 1 + CF_RTMP_HANDSHAKE_SIZE, CF_RTMP_HANDSHAKE_SIZE, &err));
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_CONNECTING);

  fake_expect_control (f, CF_RTMP_MSG_SET_CHUNK_SIZE, 4096);
  args = fake_expect_command (f, "connect", 1, 3, 0);
  fail_unless_equals_int (args->len, 3);
  obj = g_ptr_array_index (args, 2);
  fail_unless_equals_int (cf_amf_node_get_type (obj), CF_AMF_TYPE_OBJECT);
  /* as ffmpeg sends it when publishing */
  fail_unless_equals_int (cf_amf_node_get_n_fields (obj), 4);
  fail_unless_equals_string (cf_amf_node_get_field_name (obj, 0), "app");
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "app"), APP);
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "type"),
      "nonprivate");
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "flashVer"),
      CF_RTMP_CLIENT_DEFAULT_FLASH_VER);
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "tcUrl"),
      TC_URL);
  g_ptr_array_unref (args);
  return f;
}

static void
fake_free (Fake * f)
{
  cf_rtmp_client_session_free (f->client);
  cf_rtmp_chunk_reader_free (f->reader);
  g_ptr_array_unref (f->msgs);
  g_byte_array_unref (f->out);
  g_free (f);
}

static void
queue_connect_result (Fake * f, const gchar * level, const gchar * code)
{
  g_autoptr (CfAmfNode) props = cf_amf_node_new_object ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new (level, code,
      "Connection succeeded.");

  cf_amf_node_append_field_string (props, "fmsVer", "FMS/3,0,1,123");
  cf_amf_node_append_field_number (props, "capabilities", 31);
  cf_rtmp_write_command (f->out, 128, 3, 0, "_result", 1, props, info, NULL);
}

static void
queue_status (Fake * f, guint32 stream_id, const gchar * level,
    const gchar * code, const gchar * description)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new (level, code, description);

  cf_rtmp_write_command (f->out, 128, 5, stream_id, "onStatus", 0, null,
      info, NULL);
}

static void
queue_stream_id (Fake * f, gdouble txn, const CfAmfNode * id)
{
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();

  cf_rtmp_write_command (f->out, 128, 3, 0, "_result", txn, null, id, NULL);
}

/* Checks releaseStream, FCPublish and createStream */
static void
fake_expect_create_stream (Fake * f)
{
  GPtrArray *args;

  args = fake_expect_command (f, "releaseStream", 2, 3, 0);
  fail_unless_equals_int (args->len, 4);
  fail_unless_equals_int (cf_amf_node_get_type (g_ptr_array_index (args, 2)),
      CF_AMF_TYPE_NULL);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index (args,
              3), NULL), STREAM_KEY);
  g_ptr_array_unref (args);
  args = fake_expect_command (f, "FCPublish", 3, 3, 0);
  fail_unless_equals_int (args->len, 4);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index (args,
              3), NULL), STREAM_KEY);
  g_ptr_array_unref (args);
  args = fake_expect_command (f, "createStream", 4, 3, 0);
  fail_unless_equals_int (args->len, 3);
  g_ptr_array_unref (args);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_CREATING_STREAM);
}

static void
fake_expect_publish (Fake * f, guint32 stream_id)
{
  GPtrArray *args = fake_expect_command (f, "publish", 5, 8, stream_id);

  fail_unless_equals_int (args->len, 5);
  fail_unless_equals_int (cf_amf_node_get_type (g_ptr_array_index (args, 2)),
      CF_AMF_TYPE_NULL);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index (args,
              3), NULL), STREAM_KEY);
  fail_unless_equals_string (cf_amf_node_get_string (g_ptr_array_index (args,
              4), NULL), "live");
  g_ptr_array_unref (args);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_PUBLISHING_REQUESTED);
}

/* What nginx-rtmp and our server send on connect, with a ping, a server
 * chunk size and onBWDone thrown in */
START_TEST (test_control_messages)
{
  Fake *f = fake_new ();
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) num = cf_amf_node_new_number (8192);
  static const guint8 ping[] = { 0x12, 0x34, 0x56, 0x78 };
  static const guint8 zero[] = { 0, 0, 0, 0 };
  CfRtmpMessage *msg;
  gsize size;
  const guint8 *data;
  g_autofree guint8 *big = make_pattern (10000, 3);

  cf_rtmp_write_control (f->out, CF_RTMP_MSG_WINDOW_ACK_SIZE, 5000);
  cf_rtmp_write_set_peer_bandwidth (f->out, 5000000, 2);
  cf_rtmp_write_user_control (f->out, CF_RTMP_UC_STREAM_BEGIN, zero, 4);
  cf_rtmp_write_user_control (f->out, CF_RTMP_UC_PING_REQUEST, ping, 4);
  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  cf_rtmp_write_control (f->out, CF_RTMP_MSG_SET_CHUNK_SIZE, 4096);
  cf_rtmp_write_command (f->out, 4096, 3, 0, "onBWDone", 0, null, num, NULL);
  fake_send_ok (f);

  /* Set Peer Bandwidth is answered with Window Ack Size */
  fake_expect_control (f, CF_RTMP_MSG_WINDOW_ACK_SIZE, 5000000);
  msg = fake_next (f);
  data = g_bytes_get_data (msg->payload, &size);
  fail_unless_equals_int (msg->type, CF_RTMP_MSG_USER_CONTROL);
  fail_unless_equals_int (size, 6);
  fail_unless_equals_int (CF_READ_UINT16_BE (data), CF_RTMP_UC_PING_RESPONSE);
  fail_unless (memcmp (data + 2, ping, 4) == 0);
  fake_expect_create_stream (f);
  fake_expect_none (f);

  /* the same window again is not answered */
  cf_rtmp_write_set_peer_bandwidth (f->out, 5000000, 1);
  fake_send_ok (f);
  fake_expect_none (f);

  /* over the 5000-byte window the client acknowledges what it received:
   * anything a publisher does not use is still counted */
  cf_rtmp_chunk_write_data (f->out, 4096, 4, CF_RTMP_MSG_AUDIO, 1, 0, big,
      10000);
  fake_send_ok (f);
  msg = fake_next (f);
  data = g_bytes_get_data (msg->payload, &size);
  fail_unless_equals_int (msg->type, CF_RTMP_MSG_ACKNOWLEDGEMENT);
  fail_unless_equals_int (size, 4);
  fail_unless (CF_READ_UINT32_BE (data) > 10000);
  fake_expect_none (f);

  /* what the server acknowledges */
  fail_unless_equals_uint64 (cf_rtmp_client_session_get_acked_bytes
      (f->client), 0);
  cf_rtmp_write_control (f->out, CF_RTMP_MSG_ACKNOWLEDGEMENT, 1500);
  fake_send_ok (f);
  fail_unless_equals_uint64 (cf_rtmp_client_session_get_acked_bytes
      (f->client), 1500);
  /* more than was ever sent: not believed */
  cf_rtmp_write_control (f->out, CF_RTMP_MSG_ACKNOWLEDGEMENT, 90000000);
  fake_send_ok (f);
  fail_unless_equals_uint64 (cf_rtmp_client_session_get_acked_bytes
      (f->client), 1500);
  fake_expect_none (f);
  fake_free (f);
}

END_TEST;

/* A server that announces no window still gets one, and the odd replies
 * some servers make are tolerated */
START_TEST (test_tolerant)
{
  Fake *f = fake_new ();
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) undef = cf_amf_node_new_undefined ();
  g_autoptr (CfAmfNode) id = cf_amf_node_new_number (7);
  g_autoptr (CfAmfNode) fc = cf_rtmp_status_new ("status",
      "NetStream.Publish.Start", "FCPublish to stream key.");
  g_autoptr (CfAmfNode) err_info = cf_rtmp_status_new ("error",
      "NetConnection.Call.Failed", "Method not found (releaseStream).");
  CfRtmpMessage *msg;

  /* no Set Peer Bandwidth; a _result without a status object */
  cf_rtmp_write_command (f->out, 128, 3, 0, "_result", 1, null, NULL);
  fake_send_ok (f);
  fake_expect_control (f, CF_RTMP_MSG_WINDOW_ACK_SIZE, 2500000);
  fake_expect_create_stream (f);

  /* releaseStream unknown, onFCPublish, a status that is not the answer to
   * publish (not sent yet), FCPublish's reply after createStream's */
  cf_rtmp_write_command (f->out, 128, 3, 0, "_error", 2, null, err_info,
      NULL);
  cf_rtmp_write_command (f->out, 128, 3, 0, "onFCPublish", 0, null, fc,
      NULL);
  queue_status (f, 0, "status", "NetStream.Publish.Start", "Too early.");
  fake_send_ok (f);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_CREATING_STREAM);
  fake_expect_none (f);

  queue_stream_id (f, 4, id);
  cf_rtmp_write_command (f->out, 128, 3, 0, "_result", 3, null, undef, NULL);
  fake_send_ok (f);
  fake_expect_publish (f, 7);
  fail_unless_equals_int (cf_rtmp_client_session_get_stream_id (f->client),
      7);

  /* a warning is not a refusal */
  queue_status (f, 7, "warning", "NetStream.Publish.Slow", "Hmm.");
  queue_status (f, 7, "status", "NetStream.Publish.Start", "Publishing.");
  fake_send_ok (f);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_PUBLISHING);

  /* media go on stream 7: video on csid 6, audio and data on 4 */
  cf_rtmp_client_session_write_media (f->client, 9, 0,
      (const guint8 *) "\x17\x01\x00\x00\x00", 5);
  cf_rtmp_client_session_write_media (f->client, 8, 0,
      (const guint8 *) "\xaf\x01", 2);
  msg = fake_next (f);
  fail_unless_equals_int (msg->type, 9);
  fail_unless_equals_int (msg->csid, 6);
  fail_unless_equals_int (msg->stream_id, 7);
  msg = fake_next (f);
  fail_unless_equals_int (msg->type, 8);
  fail_unless_equals_int (msg->csid, 4);
  fail_unless_equals_int (msg->stream_id, 7);

  /* acknowledgements, pings, and the unpublish */
  cf_rtmp_client_session_unpublish (f->client);
  g_ptr_array_unref (fake_expect_command (f, "FCUnpublish", 6, 3, 0));
  {
    GPtrArray *args = fake_expect_command (f, "deleteStream", 7, 3, 0);

    fail_unless_equals_float (cf_amf_node_get_number (g_ptr_array_index (args,
                3)), 7);
    g_ptr_array_unref (args);
  }
  fake_expect_none (f);
  /* the server's answer, whatever it is, is fine */
  queue_status (f, 7, "error", "NetStream.Unpublish.Whatever", "Bye.");
  fake_send_ok (f);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_UNPUBLISHED);
  fake_free (f);
}

END_TEST;

START_TEST (test_amf3_command)
{
  Fake *f = fake_new ();
  g_autoptr (CfAmfNode) name = cf_amf_node_new_string ("_result", -1);
  g_autoptr (CfAmfNode) txn = cf_amf_node_new_number (1);
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("status",
      "NetConnection.Connect.Success", "Connection succeeded.");
  g_autoptr (GByteArray) body = g_byte_array_new ();

  /* the _result of connect as an AMF3 command message (type 17): a zero
   * byte, then AMF0 values */
  g_byte_array_append (body, (const guint8 *) "", 1);
  cf_amf_node_serialize (name, body);
  cf_amf_node_serialize (txn, body);
  cf_amf_node_serialize (null, body);
  cf_amf_node_serialize (info, body);
  cf_rtmp_chunk_write_data (f->out, 128, 3, CF_RTMP_MSG_COMMAND_AMF3, 0, 0,
      body->data, body->len);
  fake_send_ok (f);
  fake_expect_control (f, CF_RTMP_MSG_WINDOW_ACK_SIZE, 2500000);
  fake_expect_create_stream (f);
  fake_free (f);
}

END_TEST;

START_TEST (test_connect_refused)
{
  Fake *f = fake_new ();
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("error",
      "NetConnection.Connect.Rejected",
      "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ");

  cf_rtmp_write_command (f->out, 128, 3, 0, "_error", 1, null, info, NULL);
  fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
      "connect refused: NetConnection.Connect.Rejected: [ AccessManager."
      "Reject ] : [ code=403 need auth; authmod=adobe ] : ");
  fake_expect_none (f);
  fake_free (f);

  /* a _result that says error */
  f = fake_new ();
  queue_connect_result (f, "error", "NetConnection.Connect.Rejected");
  fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
      "connect refused: NetConnection.Connect.Rejected: "
      "Connection succeeded.");
  fake_free (f);

  /* a status with level error while connecting, control characters and
   * invalid UTF-8 in it */
  f = fake_new ();
  queue_status (f, 0, "error", "NetConnection.Connect.Failed",
      "bad\n\x01thing \xff");
  fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
      "connect refused: NetConnection.Connect.Failed: bad  thing \xef\xbf\xbd");
  fake_free (f);

  /* no status object at all */
  f = fake_new ();
  cf_rtmp_write_command (f->out, 128, 3, 0, "_error", 1, null, NULL);
  fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
      "connect refused (no status from the server)");
  fake_free (f);
}

END_TEST;

START_TEST (test_create_stream_refused)
{
  Fake *f = fake_new ();
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("error",
      "NetConnection.Call.Failed", "No more streams.");
  g_autoptr (CfAmfNode) bad_id = cf_amf_node_new_string ("1", -1);
  g_autoptr (CfAmfNode) negative = cf_amf_node_new_number (-1);
  g_autoptr (CfAmfNode) fraction = cf_amf_node_new_number (1.5);

  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  fake_send_ok (f);
  cf_rtmp_write_command (f->out, 128, 3, 0, "_error", 4, null, info, NULL);
  fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
      "createStream refused: NetConnection.Call.Failed: No more streams.");
  fake_free (f);

  f = fake_new ();
  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  queue_stream_id (f, 4, bad_id);
  fake_send_fails (f, CF_RTMP_ERROR_PROTOCOL, NULL);
  fake_free (f);

  f = fake_new ();
  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  queue_stream_id (f, 4, negative);
  fake_send_fails (f, CF_RTMP_ERROR_PROTOCOL, NULL);
  fake_free (f);

  f = fake_new ();
  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  queue_stream_id (f, 4, fraction);
  fake_send_fails (f, CF_RTMP_ERROR_PROTOCOL, NULL);
  fake_free (f);
}

END_TEST;

START_TEST (test_publish_refused_scripted)
{
  static const gchar *codes[] = {
    "NetStream.Publish.BadName", "NetStream.Publish.Denied",
    "NetStream.Publish.Rejected"
  };
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) id = cf_amf_node_new_number (1);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (codes); i++) {
    Fake *f = fake_new ();
    g_autofree gchar *expected = g_strdup_printf ("publish refused: %s: "
        "Stream key in use.", codes[i]);

    queue_connect_result (f, "status", "NetConnection.Connect.Success");
    queue_stream_id (f, 4, id);
    fake_send_ok (f);
    queue_status (f, 1, "error", codes[i], "Stream key in use.");
    fake_send_fails (f, CF_RTMP_ERROR_REFUSED, expected);
    fake_free (f);
  }

  /* as an _error of publish */
  {
    Fake *f = fake_new ();
    g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("error",
        "NetStream.Publish.Denied", "Not allowed.");

    queue_connect_result (f, "status", "NetConnection.Connect.Success");
    queue_stream_id (f, 4, id);
    cf_rtmp_write_command (f->out, 128, 3, 0, "_error", 5, null, info, NULL);
    fake_send_fails (f, CF_RTMP_ERROR_REFUSED,
        "publish refused: NetStream.Publish.Denied: Not allowed.");
    fake_free (f);
  }

  /* the server calling close */
  {
    Fake *f = fake_new ();

    queue_connect_result (f, "status", "NetConnection.Connect.Success");
    cf_rtmp_write_command (f->out, 128, 3, 0, "close", 0, null, NULL);
    fake_send_fails (f, CF_RTMP_ERROR_CLOSED, NULL);
    fake_free (f);
  }
}

END_TEST;

START_TEST (test_unpublish_early)
{
  Fake *f = fake_new ();

  cf_rtmp_client_session_unpublish (f->client);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_UNPUBLISHED);
  fake_expect_none (f);
  fake_free (f);

  f = fake_new ();
  queue_connect_result (f, "status", "NetConnection.Connect.Success");
  fake_send_ok (f);
  fake_expect_control (f, CF_RTMP_MSG_WINDOW_ACK_SIZE, 2500000);
  fake_expect_create_stream (f);
  cf_rtmp_client_session_unpublish (f->client);
  g_ptr_array_unref (fake_expect_command (f, "FCUnpublish", 6, 3, 0));
  fake_expect_none (f);
  /* late replies are ignored */
  {
    g_autoptr (CfAmfNode) id = cf_amf_node_new_number (1);

    queue_stream_id (f, 4, id);
    fake_send_ok (f);
  }
  fake_expect_none (f);
  cf_rtmp_client_session_write_media (f->client, 9, 0,
      (const guint8 *) "\x17\x01", 2);
  fake_expect_none (f);
  fake_free (f);
}

END_TEST;

/* --- hostile servers --- */

static void
assert_handshake_fails (guint8 s0, const gchar * substring)
{
  g_autoptr (CfRtmpClientSession) c =
      cf_rtmp_client_session_new (TC_URL, APP, STREAM_KEY, "test/1.0");
  guint8 data[16] = { s0, 1, 2, 3 };
  GError *err = NULL;

  cf_rtmp_client_session_start (c);
  fail_if (cf_rtmp_client_session_feed (c, data, sizeof (data), &err));
  fail_unless (err != NULL);
  fail_unless_equals_int (err->code, CF_RTMP_ERROR_PROTOCOL);
  fail_unless (strstr (err->message, substring) != NULL, "%s", err->message);
  g_error_free (err);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (c),
      CF_RTMP_CLIENT_STATE_FAILED);
}

START_TEST (test_bad_handshake)
{
  g_autoptr (CfRtmpClientSession) c =
      cf_rtmp_client_session_new (TC_URL, APP, STREAM_KEY, NULL);
  GError *err = NULL;

  assert_handshake_fails (6, "version byte 0x06");
  assert_handshake_fails (0x16, "TLS");
  assert_handshake_fails ('H', "text");

  /* data before start */
  fail_if (cf_rtmp_client_session_feed (c, (const guint8 *) "\x03", 1, &err));
  fail_unless (err != NULL);
  g_error_free (err);
}

END_TEST;

static void
assert_fails_after_connect (const guint8 * data, gsize size,
    CfRtmpError code)
{
  Fake *f = fake_new ();
  GError *err = NULL;
  guint8 *copy = g_memdup2 (data, size);

  fail_if (cf_rtmp_client_session_feed (f->client, copy, size, &err));
  fail_unless (err != NULL);
  fail_unless_equals_int (err->code, code);
  g_error_free (err);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
      CF_RTMP_CLIENT_STATE_FAILED);
  g_free (copy);
  fake_free (f);
}

START_TEST (test_malformed)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *big = make_pattern (70000, 0);
  g_autoptr (CfAmfNode) s = NULL;
  static const guint8 type3_new[] = { 0xc9, 1, 2, 3 };
  static const guint8 bad_amf[] = {
    0x03, 0, 0, 0, 0, 0, 7, 20, 0, 0, 0, 0,
    0x02, 0x00, 0x07, '_', 'r', 'e', 's'
  };
  static const guint8 two_megabytes[] = {
    0x03, 0, 0, 0, 0x20, 0x00, 0x00, 20, 0, 0, 0, 0, 0x02
  };
  static const guint8 no_name[] = {
    0x03, 0, 0, 0, 0, 0, 9, 20, 0, 0, 0, 0,
    0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0
  };

  /* a type 3 chunk on a chunk stream never seen */
  assert_fails_after_connect (type3_new, sizeof (type3_new),
      CF_RTMP_ERROR_PROTOCOL);
  /* an AMF string longer than its message */
  assert_fails_after_connect (bad_amf, sizeof (bad_amf),
      CF_RTMP_ERROR_PROTOCOL);
  /* a command that does not start with a name */
  assert_fails_after_connect (no_name, sizeof (no_name),
      CF_RTMP_ERROR_PROTOCOL);
  /* a 2 MB message: more than a server may make a publisher hold */
  assert_fails_after_connect (two_megabytes, sizeof (two_megabytes),
      CF_RTMP_ERROR_LIMIT);

  /* a chunk size of 0 */
  cf_rtmp_write_control (out, CF_RTMP_MSG_SET_CHUNK_SIZE, 0);
  assert_fails_after_connect (out->data, out->len, CF_RTMP_ERROR_LIMIT);

  /* a command over 64 KiB */
  g_byte_array_set_size (out, 0);
  s = cf_amf_node_new_string ((const gchar *) big, 69000);
  cf_rtmp_write_command (out, 128, 3, 0, "onStatus", 0, s, NULL);
  assert_fails_after_connect (out->data, out->len, CF_RTMP_ERROR_LIMIT);
}

END_TEST;

/* A valid server conversation, mutated at random, fed in random pieces:
 * whatever happens must be a clean TRUE or FALSE */
START_TEST (test_random_garbage)
{
  g_autoptr (GByteArray) valid = g_byte_array_new ();
  GRand *rand = g_rand_new_with_seed (42);
  guint iter;

  {
    Fake *f = fake_new ();
    g_autoptr (CfAmfNode) id = cf_amf_node_new_number (1);
    g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
    g_autoptr (CfAmfNode) info = cf_rtmp_status_new ("status",
        "NetStream.Publish.Start", "Publishing key.");
    static const guint8 ping[] = { 1, 2, 3, 4 };

    /* what nginx-rtmp sends, then the replies to createStream and
     * publish in 200-byte chunks */
    cf_rtmp_write_control (f->out, CF_RTMP_MSG_WINDOW_ACK_SIZE, 5000000);
    cf_rtmp_write_set_peer_bandwidth (f->out, 5000000, 2);
    queue_connect_result (f, "status", "NetConnection.Connect.Success");
    cf_rtmp_write_control (f->out, CF_RTMP_MSG_SET_CHUNK_SIZE, 200);
    cf_rtmp_write_user_control (f->out, CF_RTMP_UC_PING_REQUEST, ping, 4);
    cf_rtmp_write_command (f->out, 200, 3, 0, "_result", 4, null, id, NULL);
    cf_rtmp_write_command (f->out, 200, 5, 1, "onStatus", 0, null, info,
        NULL);
    cf_rtmp_write_control (f->out, CF_RTMP_MSG_ACKNOWLEDGEMENT, 3000);
    g_byte_array_append (valid, f->out->data, f->out->len);
    fake_send_ok (f);
    fail_unless_equals_int (cf_rtmp_client_session_get_state (f->client),
        CF_RTMP_CLIENT_STATE_PUBLISHING);
    fake_free (f);
  }

  for (iter = 0; iter < 3000; iter++) {
    g_autoptr (CfRtmpClientSession) c =
        cf_rtmp_client_session_new (TC_URL, APP, STREAM_KEY, NULL);
    g_autoptr (GByteArray) data = g_byte_array_new ();
    guint8 hs[1 + 2 * CF_RTMP_HANDSHAKE_SIZE] = { 3 };
    guint n, i;
    gsize off = 0;
    gboolean ok;

    if (iter % 3 == 0) {
      /* pure noise */
      n = g_rand_int_range (rand, 1, 2000);
      for (i = 0; i < n; i++) {
        guint8 b = g_rand_int (rand);

        g_byte_array_append (data, &b, 1);
      }
    } else {
      g_byte_array_append (data, valid->data, valid->len);
      n = g_rand_int_range (rand, 1, 8);
      for (i = 0; i < n; i++) {
        guint pos = g_rand_int_range (rand, 0, data->len);

        data->data[pos] = g_rand_int (rand);
      }
      if (iter % 3 == 2)
        g_byte_array_set_size (data, g_rand_int_range (rand, 0,
                data->len + 1));
    }

    cf_rtmp_client_session_start (c);
    ok = cf_rtmp_client_session_feed (c, hs, sizeof (hs), NULL);
    fail_unless (ok);
    while (ok && off < data->len) {
      gsize step = piece_size (rand, data->len - off);
      guint8 *copy = g_memdup2 (data->data + off, step);

      ok = cf_rtmp_client_session_feed (c, copy, step, NULL);
      g_free (copy);
      off += step;
      g_byte_array_set_size (cf_rtmp_client_session_get_output (c), 0);
      if (cf_rtmp_client_session_get_state (c) ==
          CF_RTMP_CLIENT_STATE_PUBLISHING)
        cf_rtmp_client_session_write_media (c, 9, off, hs, 100);
    }
    fail_unless (ok == (cf_rtmp_client_session_get_state (c) !=
            CF_RTMP_CLIENT_STATE_FAILED));
    cf_rtmp_client_session_unpublish (c);
  }
  g_rand_free (rand);
}

END_TEST;

/* --- a real nginx-rtmp --- */

typedef struct
{
  guint8 type;
  guint32 timestamp;
  const guint8 *body;
  gsize size;
} FlvTag;

static gchar *
find_nginx (void)
{
  const gchar *env = g_getenv ("NGINX");

  if (env)
    return g_find_program_in_path (env);
  if (g_file_test ("/usr/sbin/nginx", G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup ("/usr/sbin/nginx");
  return g_find_program_in_path ("nginx");
}

static const gchar *
nginx_module (void)
{
  const gchar *env = g_getenv ("NGINX_RTMP_MODULE");

  return env ? env : DEFAULT_NGINX_RTMP_MODULE;
}

static gboolean
have_nginx_tools (void)
{
  g_autofree gchar *nginx = find_nginx ();
  g_autofree gchar *ffmpeg = g_find_program_in_path ("ffmpeg");
  g_autofree gchar *ffprobe = g_find_program_in_path ("ffprobe");

  if (!nginx)
    g_printerr ("nginx not found\n");
  else if (!g_file_test (nginx_module (), G_FILE_TEST_EXISTS))
    g_printerr ("the nginx rtmp module %s is missing\n", nginx_module ());
  if (!ffmpeg || !ffprobe)
    g_printerr ("ffmpeg or ffprobe not found\n");
  return nginx && ffmpeg && ffprobe
      && g_file_test (nginx_module (), G_FILE_TEST_EXISTS);
}

static gboolean
run (gchar ** argv, gchar ** out)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *errout = NULL;
  gint status;

  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out,
          &errout, &status, &err)) {
    g_printerr ("%s: %s\n", argv[0], err->message);
    return FALSE;
  }
  if (!g_spawn_check_wait_status (status, &err)) {
    g_printerr ("%s: %s\n%s\n", argv[0], err->message, errout);
    return FALSE;
  }
  return TRUE;
}

/* The tags of an FLV file: a 9-byte header (its size in bytes 5-8) and a
 * 4-byte back pointer, then tags of an 11-byte header, the body and a
 * 4-byte back pointer */
static GArray *
parse_flv (const guint8 * data, gsize size)
{
  GArray *tags = g_array_new (FALSE, FALSE, sizeof (FlvTag));
  gsize off;

  fail_unless (size >= 13 && memcmp (data, "FLV", 3) == 0);
  off = CF_READ_UINT32_BE (data + 5) + 4;
  while (off + 11 <= size) {
    FlvTag tag;
    guint32 len = CF_READ_UINT24_BE (data + off + 1);

    tag.type = data[off] & 0x1f;
    tag.timestamp = CF_READ_UINT24_BE (data + off + 4) |
        ((guint32) data[off + 7] << 24);
    fail_unless (off + 11 + len + 4 <= size, "truncated FLV tag");
    tag.body = data + off + 11;
    tag.size = len;
    g_array_append_val (tags, tag);
    off += 11 + len + 4;
  }
  fail_unless_equals_uint64 (off, size);
  return tags;
}

static void
child_setup (gpointer user_data)
{
  /* do not outlive the test, even when it fails an assertion */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
stop_process (GPid pid)
{
  gint i, status;

  kill (pid, SIGQUIT);
  for (i = 0; i < 100; i++) {
    if (waitpid (pid, &status, WNOHANG) == pid)
      return;
    g_usleep (50000);
  }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
}

static guint
free_port (void)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint port;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  fail_unless (sock != NULL);
  fail_unless (g_socket_bind (sock, addr, TRUE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  return port;
}

static void
send_output (GSocket * sock, CfRtmpClientSession * c)
{
  GByteArray *out = cf_rtmp_client_session_get_output (c);
  GError *err = NULL;
  gsize off = 0;

  while (off < out->len) {
    gssize n = g_socket_send (sock, (const gchar *) out->data + off,
        out->len - off, NULL, &err);

    fail_unless (n > 0, "send: %s", err ? err->message : "closed");
    off += n;
  }
  g_byte_array_set_size (out, 0);
}

/* Reads what the server sent and feeds it; returns the bytes read, 0 at
 * the end of the stream or when nothing came (@blocking FALSE) */
static gssize
receive_some (GSocket * sock, CfRtmpClientSession * c, gboolean blocking,
    GByteArray * capture)
{
  guint8 buf[16384];
  GError *err = NULL;
  gssize n;

  if (!blocking && !g_socket_condition_check (sock, G_IO_IN))
    return 0;
  n = g_socket_receive_with_blocking (sock, (gchar *) buf, sizeof (buf),
      blocking, NULL, &err);
  if (n < 0 && g_error_matches (err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
    g_error_free (err);
    return 0;
  }
  fail_unless (n >= 0, "receive: %s", err ? err->message : "");
  if (capture)
    g_byte_array_append (capture, buf, n);
  fail_unless (cf_rtmp_client_session_feed (c, buf, n, &err),
      "the client failed: %s", err ? err->message : "");
  return n;
}

START_TEST (test_nginx)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *tmpdir = g_dir_make_tmp ("cflive-rtmpclient-XXXXXX",
      &err);
  g_autofree gchar *flv_path = NULL;
  g_autofree gchar *conf_path = NULL;
  g_autofree gchar *conf = NULL;
  g_autofree gchar *error_log = NULL;
  g_autofree gchar *record = NULL;
  g_autofree gchar *nginx = find_nginx ();
  g_autofree gchar *tc_url = NULL;
  g_autofree gchar *probe = NULL;
  g_autofree gchar *expect_probe = NULL;
  g_autofree guint8 *flv = NULL;
  g_autoptr (GArray) tags = NULL;
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (CfRtmpClientSession) c = NULL;
  g_autoptr (GByteArray) capture = g_byte_array_new ();
  const gchar *capture_path = g_getenv ("CFLIVE_RTMPCLIENT_CAPTURE");
  GSocket *sock;
  gsize flv_size;
  guint port, i, video_frames = 0, audio_frames = 0;
  GPid pid;
  gint64 deadline;

  fail_unless (tmpdir != NULL, "%s", err ? err->message : "");

  /* 3 s of H.264 and AAC in FLV, made by ffmpeg */
  flv_path = g_build_filename (tmpdir, "input.flv", NULL);
  {
    gchar *argv[] = { (gchar *) "ffmpeg", (gchar *) "-nostdin",
      (gchar *) "-v", (gchar *) "error", (gchar *) "-f", (gchar *) "lavfi",
      (gchar *) "-i", (gchar *) "testsrc=size=320x240:rate=25",
      (gchar *) "-f", (gchar *) "lavfi",
      (gchar *) "-i", (gchar *) "sine=frequency=440:sample_rate=44100",
      (gchar *) "-t", (gchar *) "3", (gchar *) "-c:v", (gchar *) "libx264",
      (gchar *) "-preset", (gchar *) "veryfast", (gchar *) "-g",
      (gchar *) "25", (gchar *) "-pix_fmt", (gchar *) "yuv420p",
      (gchar *) "-c:a", (gchar *) "aac", (gchar *) "-b:a", (gchar *) "64k",
      (gchar *) "-f", (gchar *) "flv", flv_path, NULL
    };

    fail_unless (run (argv, NULL), "ffmpeg failed");
  }
  fail_unless (g_file_get_contents (flv_path, (gchar **) & flv, &flv_size,
          &err), "%s", err ? err->message : "");
  tags = parse_flv (flv, flv_size);
  for (i = 0; i < tags->len; i++) {
    FlvTag *t = &g_array_index (tags, FlvTag, i);

    /* AVC NAL units, not the sequence header; AAC frames likewise */
    if (t->type == 9 && t->size > 1 && t->body[1] == 1)
      video_frames++;
    if (t->type == 8 && t->size > 1 && t->body[1] == 1)
      audio_frames++;
  }
  fail_unless (video_frames >= 70, "%u video frames", video_frames);
  fail_unless (audio_frames >= 100, "%u audio frames", audio_frames);

  /* nginx-rtmp recording what it receives */
  port = free_port ();
  conf_path = g_build_filename (tmpdir, "nginx.conf", NULL);
  error_log = g_build_filename (tmpdir, "error.log", NULL);
  conf = g_strdup_printf ("load_module %s;\n"
      "daemon off;\n"
      "master_process off;\n"
      "error_log %s info;\n"
      "pid %s/nginx.pid;\n"
      "events {\n"
      "  worker_connections 64;\n"
      "}\n"
      "rtmp {\n"
      "  server {\n"
      "    listen 127.0.0.1:%u;\n"
      "    chunk_size 4096;\n"
      "    application live {\n"
      "      live on;\n"
      "      record all;\n"
      "      record_path %s;\n"
      "    }\n"
      "  }\n" "}\n", nginx_module (), error_log, tmpdir, port, tmpdir);
  fail_unless (g_file_set_contents (conf_path, conf, -1, &err), "%s",
      err ? err->message : "");
  {
    g_autofree gchar *prefix = g_strconcat (tmpdir, "/", NULL);
    gchar *argv[] = { nginx, (gchar *) "-c", conf_path, (gchar *) "-p",
      prefix, (gchar *) "-e", error_log, NULL
    };

    fail_unless (g_spawn_async (NULL, argv, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
            child_setup, NULL, &pid, &err), "nginx: %s",
        err ? err->message : "");
  }

  /* connect as soon as it listens */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!conn) {
    g_clear_error (&err);
    conn = g_socket_client_connect_to_host (sc, "127.0.0.1", port, NULL,
        &err);
    if (!conn) {
      fail_unless (g_get_monotonic_time () < deadline,
          "cannot connect to nginx: %s", err->message);
      g_usleep (50000);
    }
  }
  sock = g_socket_connection_get_socket (conn);
  g_socket_set_timeout (sock, 10);

  /* handshake, connect, createStream, publish */
  tc_url = g_strdup_printf ("rtmp://127.0.0.1:%u/live", port);
  c = cf_rtmp_client_session_new (tc_url, "live", STREAM_KEY, NULL);
  cf_rtmp_client_session_start (c);
  while (cf_rtmp_client_session_get_state (c) !=
      CF_RTMP_CLIENT_STATE_PUBLISHING) {
    send_output (sock, c);
    fail_unless (receive_some (sock, c, TRUE, capture) > 0,
        "nginx stopped answering in state %s",
        cf_rtmp_client_state_get_name (cf_rtmp_client_session_get_state
            (c)));
  }
  fail_unless_equals_int (cf_rtmp_client_session_get_stream_id (c), 1);

  /* the tags, as fast as nginx takes them */
  for (i = 0; i < tags->len; i++) {
    FlvTag *t = &g_array_index (tags, FlvTag, i);

    cf_rtmp_client_session_write_media (c, t->type, t->timestamp, t->body,
        t->size);
    if (cf_rtmp_client_session_get_output (c)->len > 32768) {
      send_output (sock, c);
      while (receive_some (sock, c, FALSE, capture) > 0);
    }
  }
  send_output (sock, c);

  /* unpublish, and read what nginx has to say until it goes quiet */
  cf_rtmp_client_session_unpublish (c);
  send_output (sock, c);
  g_socket_set_timeout (sock, 1);
  while (receive_some (sock, c, TRUE, capture) > 0)
    send_output (sock, c);
  fail_unless_equals_int (cf_rtmp_client_session_get_state (c),
      CF_RTMP_CLIENT_STATE_UNPUBLISHED);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  g_usleep (200000);
  stop_process (pid);

  if (capture_path)
    g_file_set_contents (capture_path, (const gchar *) capture->data,
        capture->len, NULL);

  /* what nginx recorded */
  record = g_build_filename (tmpdir, STREAM_KEY ".flv", NULL);
  fail_unless (g_file_test (record, G_FILE_TEST_EXISTS),
      "nginx recorded nothing (see %s)", error_log);
  {
    gchar *argv[] = { (gchar *) "ffprobe", (gchar *) "-v", (gchar *) "error",
      (gchar *) "-count_frames", (gchar *) "-count_packets",
      (gchar *) "-show_entries",
      (gchar *) "stream=codec_type,codec_name,nb_read_frames,nb_read_packets",
      (gchar *) "-of", (gchar *) "csv=p=0", record, NULL
    };

    fail_unless (run (argv, &probe), "ffprobe cannot read %s", record);
  }
  expect_probe = g_strdup_printf ("h264,video,%u,%u", video_frames,
      video_frames);
  fail_unless (strstr (probe, expect_probe) != NULL,
      "ffprobe says\n%s\nexpected %s", probe, expect_probe);
  g_free (expect_probe);
  expect_probe = g_strdup_printf ("aac,audio,%u,%u", audio_frames,
      audio_frames);
  fail_unless (strstr (probe, expect_probe) != NULL,
      "ffprobe says\n%s\nexpected %s", probe, expect_probe);

  /* clean up */
  {
    GDir *dir = g_dir_open (tmpdir, 0, NULL);
    const gchar *name;

    while (dir && (name = g_dir_read_name (dir))) {
      g_autofree gchar *path = g_build_filename (tmpdir, name, NULL);

      g_unlink (path);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (tmpdir);
  }
}

END_TEST;

static Suite *
client_suite (gboolean with_nginx)
{
  Suite *s = suite_create ("rtmpclient");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_publish_to_server_session);
  tcase_add_test (tc, test_publish_refused);
  tcase_add_test (tc, test_stopped_by_server);
  tcase_add_test (tc, test_large_messages);
  tcase_add_test (tc, test_extended_timestamps);
  tcase_add_test (tc, test_shared_chunks);
  tcase_add_test (tc, test_control_messages);
  tcase_add_test (tc, test_tolerant);
  tcase_add_test (tc, test_amf3_command);
  tcase_add_test (tc, test_connect_refused);
  tcase_add_test (tc, test_create_stream_refused);
  tcase_add_test (tc, test_publish_refused_scripted);
  tcase_add_test (tc, test_unpublish_early);
  tcase_add_test (tc, test_bad_handshake);
  tcase_add_test (tc, test_malformed);
  tcase_add_test (tc, test_random_garbage);

  if (with_nginx) {
    TCase *tc_nginx = tcase_create ("nginx");

    suite_add_tcase (s, tc_nginx);
    tcase_set_timeout (tc_nginx, 60);
    tcase_add_test (tc_nginx, test_nginx);
  }
  return s;
}

int
main (int argc, char **argv)
{
  gboolean with_nginx;
  gint failed;

  gst_check_init (&argc, &argv);
  with_nginx = have_nginx_tools ();
  failed = gst_check_run_suite (client_suite (with_nginx), "rtmpclient",
      __FILE__);
  if (failed)
    return 1;
  if (!with_nginx) {
    g_printerr ("the test against nginx-rtmp was skipped\n");
    return 77;
  }
  return 0;
}
