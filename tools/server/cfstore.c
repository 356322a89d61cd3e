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

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <sqlite3.h>
#include <json-glib/json-glib.h>

#include "cfstore.h"

#define SCHEMA_VERSION 2

struct _CfStore
{
  sqlite3 *db;
  gboolean in_transaction;
};

static const gchar *schema_v1 =
    "CREATE TABLE settings ("
    "  name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE live_inputs ("
    "  uid TEXT PRIMARY KEY, created INTEGER NOT NULL,"
    "  modified INTEGER NOT NULL, meta TEXT NOT NULL,"
    "  default_creator TEXT, delete_after_days REAL,"
    "  rec_automatic INTEGER NOT NULL, rec_timeout INTEGER NOT NULL,"
    "  rec_require_signed INTEGER NOT NULL, rec_allowed_origins TEXT,"
    "  rec_hide_viewers INTEGER NOT NULL, enabled INTEGER NOT NULL,"
    "  prefer_low_latency INTEGER NOT NULL, rtmps_key TEXT NOT NULL,"
    "  rtmps_playback_key TEXT NOT NULL, srt_passphrase TEXT NOT NULL,"
    "  srt_playback_passphrase TEXT NOT NULL, webrtc_secret TEXT NOT NULL,"
    "  keys_rotated_at INTEGER NOT NULL, status TEXT);"
    "CREATE TABLE outputs ("
    "  uid TEXT PRIMARY KEY, input_uid TEXT NOT NULL, url TEXT NOT NULL,"
    "  stream_key TEXT NOT NULL, enabled INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX outputs_input ON outputs (input_uid);"
    "CREATE TABLE videos ("
    "  uid TEXT PRIMARY KEY, input_uid TEXT, created INTEGER NOT NULL,"
    "  state TEXT NOT NULL, delete_at INTEGER NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX videos_input ON videos (input_uid);";

/* v2: the members of a Video object set through the API (POST /stream/{uid})
 * or taken from its live input, over what cfrecordsink wrote */
static const gchar *schema_v2 = "ALTER TABLE videos ADD COLUMN overrides TEXT;";

static gboolean
set_db_error (CfStore * store, GError ** error, const gchar * what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what,
      sqlite3_errmsg (store->db));
  return FALSE;
}

static gboolean
exec (CfStore * store, const gchar * sql, GError ** error)
{
  gchar *msg = NULL;

  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", msg);
    sqlite3_free (msg);
    return FALSE;
  }
  return TRUE;
}

static sqlite3_stmt *
prepare (CfStore * store, const gchar * sql, GError ** error)
{
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &st, NULL) != SQLITE_OK) {
    set_db_error (store, error, "prepare");
    return NULL;
  }
  return st;
}

static gboolean
step_done (CfStore * store, sqlite3_stmt * st, GError ** error)
{
  int rc = sqlite3_step (st);

  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return set_db_error (store, error, "write");
  return TRUE;
}

static void
bind_text (sqlite3_stmt * st, int i, const gchar * s)
{
  if (s)
    sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

static gchar *
col_text (sqlite3_stmt * st, int i)
{
  const unsigned char *t = sqlite3_column_text (st, i);

  return t ? g_strdup ((const gchar *) t) : NULL;
}

CfStore *
cf_store_open (const gchar * path, GError ** error)
{
  CfStore *store = g_new0 (CfStore, 1);
  sqlite3_stmt *st;
  gint version = 0;

  if (sqlite3_open_v2 (path, &store->db,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    set_db_error (store, error, path);
    cf_store_close (store);
    return NULL;
  }
  sqlite3_busy_timeout (store->db, 5000);
  if (!exec (store, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", error))
    goto fail;

  st = prepare (store, "PRAGMA user_version", error);
  if (!st)
    goto fail;
  if (sqlite3_step (st) == SQLITE_ROW)
    version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);

  if (version > SCHEMA_VERSION) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "%s has schema version %d, this server knows up to %d", path,
        version, SCHEMA_VERSION);
    goto fail;
  }
  if (version < SCHEMA_VERSION) {
    if (!exec (store, "BEGIN IMMEDIATE", error))
      goto fail;
    if ((version < 1 && !exec (store, schema_v1, error)) ||
        !exec (store, schema_v2, error) ||
        !exec (store, "PRAGMA user_version = 2", error) ||
        !exec (store, "COMMIT", error)) {
      exec (store, "ROLLBACK", NULL);
      goto fail;
    }
  }
  return store;

fail:
  cf_store_close (store);
  return NULL;
}

void
cf_store_close (CfStore * store)
{
  if (!store)
    return;
  if (store->db)
    sqlite3_close (store->db);
  g_free (store);
}

gboolean
cf_store_begin (CfStore * store, GError ** error)
{
  g_return_val_if_fail (!store->in_transaction, FALSE);
  if (!exec (store, "BEGIN IMMEDIATE", error))
    return FALSE;
  store->in_transaction = TRUE;
  return TRUE;
}

gboolean
cf_store_commit (CfStore * store, GError ** error)
{
  g_return_val_if_fail (store->in_transaction, FALSE);
  if (!exec (store, "COMMIT", error)) {
    exec (store, "ROLLBACK", NULL);
    store->in_transaction = FALSE;
    return FALSE;
  }
  store->in_transaction = FALSE;
  return TRUE;
}

void
cf_store_rollback (CfStore * store)
{
  if (!store->in_transaction)
    return;
  exec (store, "ROLLBACK", NULL);
  store->in_transaction = FALSE;
}

gboolean
cf_store_put_input (CfStore * store, const CfInput * in, GError ** error)
{
  sqlite3_stmt *st;
  g_autofree gchar *status = cf_input_status_to_json (in);

  st = prepare (store,
      "INSERT INTO live_inputs (uid, created, modified, meta, default_creator,"
      " delete_after_days, rec_automatic, rec_timeout, rec_require_signed,"
      " rec_allowed_origins, rec_hide_viewers, enabled, prefer_low_latency,"
      " rtmps_key, rtmps_playback_key, srt_passphrase, srt_playback_passphrase,"
      " webrtc_secret, keys_rotated_at, status) VALUES (?1, ?2, ?3, ?4, ?5,"
      " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
      " ON CONFLICT (uid) DO UPDATE SET modified = ?3, meta = ?4,"
      " default_creator = ?5, delete_after_days = ?6, rec_automatic = ?7,"
      " rec_timeout = ?8, rec_require_signed = ?9, rec_allowed_origins = ?10,"
      " rec_hide_viewers = ?11, enabled = ?12, prefer_low_latency = ?13,"
      " rtmps_key = ?14, rtmps_playback_key = ?15, srt_passphrase = ?16,"
      " srt_playback_passphrase = ?17, webrtc_secret = ?18,"
      " keys_rotated_at = ?19, status = ?20", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, in->uid);
  sqlite3_bind_int64 (st, 2, in->created);
  sqlite3_bind_int64 (st, 3, in->modified);
  bind_text (st, 4, in->meta_json ? in->meta_json : "{}");
  bind_text (st, 5, in->default_creator);
  if (in->has_delete_after)
    sqlite3_bind_double (st, 6, in->delete_after_days);
  else
    sqlite3_bind_null (st, 6);
  sqlite3_bind_int (st, 7, in->rec_automatic);
  sqlite3_bind_int64 (st, 8, in->rec_timeout);
  sqlite3_bind_int (st, 9, in->rec_require_signed);
  bind_text (st, 10, in->rec_allowed_origins_json);
  sqlite3_bind_int (st, 11, in->rec_hide_viewers);
  sqlite3_bind_int (st, 12, in->enabled);
  sqlite3_bind_int (st, 13, in->prefer_low_latency);
  bind_text (st, 14, in->rtmps_key);
  bind_text (st, 15, in->rtmps_playback_key);
  bind_text (st, 16, in->srt_passphrase);
  bind_text (st, 17, in->srt_playback_passphrase);
  bind_text (st, 18, in->webrtc_secret);
  sqlite3_bind_int64 (st, 19, in->keys_rotated_at);
  bind_text (st, 20, status);
  return step_done (store, st, error);
}

gboolean
cf_store_delete_input (CfStore * store, const gchar * uid, GError ** error)
{
  sqlite3_stmt *st;

  st = prepare (store, "DELETE FROM outputs WHERE input_uid = ?1", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, uid);
  if (!step_done (store, st, error))
    return FALSE;
  st = prepare (store, "DELETE FROM live_inputs WHERE uid = ?1", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, uid);
  return step_done (store, st, error);
}

gboolean
cf_store_put_output (CfStore * store, const gchar * input_uid,
    const CfLiveOutput * out, GError ** error)
{
  sqlite3_stmt *st;

  st = prepare (store, "INSERT INTO outputs (uid, input_uid, url, stream_key,"
      " enabled, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (uid)"
      " DO UPDATE SET enabled = ?5", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, out->uid);
  bind_text (st, 2, input_uid);
  bind_text (st, 3, out->url);
  bind_text (st, 4, out->stream_key ? out->stream_key : "");
  sqlite3_bind_int (st, 5, out->enabled);
  sqlite3_bind_int64 (st, 6, out->created);
  return step_done (store, st, error);
}

gboolean
cf_store_delete_output (CfStore * store, const gchar * uid, GError ** error)
{
  sqlite3_stmt *st;

  st = prepare (store, "DELETE FROM outputs WHERE uid = ?1", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, uid);
  return step_done (store, st, error);
}

GPtrArray *
cf_store_load_inputs (CfStore * store, GError ** error)
{
  GPtrArray *arr = g_ptr_array_new_with_free_func ((GDestroyNotify)
      cf_input_free);
  g_autoptr (GHashTable) by_uid = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *st;
  int rc;

  st = prepare (store, "SELECT uid, created, modified, meta, default_creator,"
      " delete_after_days, rec_automatic, rec_timeout, rec_require_signed,"
      " rec_allowed_origins, rec_hide_viewers, enabled, prefer_low_latency,"
      " rtmps_key, rtmps_playback_key, srt_passphrase, srt_playback_passphrase,"
      " webrtc_secret, keys_rotated_at, status FROM live_inputs"
      " ORDER BY created, uid", error);
  if (!st)
    goto fail;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
    CfInput *in = cf_input_new ();
    g_autofree gchar *status = NULL;

    in->uid = col_text (st, 0);
    in->created = sqlite3_column_int64 (st, 1);
    in->modified = sqlite3_column_int64 (st, 2);
    g_free (in->meta_json);
    in->meta_json = col_text (st, 3);
    in->default_creator = col_text (st, 4);
    in->has_delete_after = sqlite3_column_type (st, 5) != SQLITE_NULL;
    in->delete_after_days = sqlite3_column_double (st, 5);
    in->rec_automatic = sqlite3_column_int (st, 6);
    in->rec_timeout = sqlite3_column_int64 (st, 7);
    in->rec_require_signed = sqlite3_column_int (st, 8);
    in->rec_allowed_origins_json = col_text (st, 9);
    in->rec_hide_viewers = sqlite3_column_int (st, 10);
    in->enabled = sqlite3_column_int (st, 11);
    in->prefer_low_latency = sqlite3_column_int (st, 12);
    in->rtmps_key = col_text (st, 13);
    in->rtmps_playback_key = col_text (st, 14);
    in->srt_passphrase = col_text (st, 15);
    in->srt_playback_passphrase = col_text (st, 16);
    in->webrtc_secret = col_text (st, 17);
    in->keys_rotated_at = sqlite3_column_int64 (st, 18);
    status = col_text (st, 19);
    cf_input_status_from_json (in, status);
    g_ptr_array_add (arr, in);
    g_hash_table_insert (by_uid, in->uid, in);
  }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    set_db_error (store, error, "read");
    goto fail;
  }

  st = prepare (store, "SELECT uid, input_uid, url, stream_key, enabled,"
      " created FROM outputs ORDER BY created, uid", error);
  if (!st)
    goto fail;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
    CfInput *in = g_hash_table_lookup (by_uid,
        (const gchar *) sqlite3_column_text (st, 1));
    CfLiveOutput *out;

    if (!in)
      continue;
    out = cf_live_output_new ();
    out->uid = col_text (st, 0);
    out->url = col_text (st, 2);
    out->stream_key = col_text (st, 3);
    out->enabled = sqlite3_column_int (st, 4);
    out->created = sqlite3_column_int64 (st, 5);
    g_ptr_array_add (in->outputs, out);
  }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    set_db_error (store, error, "read");
    goto fail;
  }
  return arr;

fail:
  g_ptr_array_unref (arr);
  return NULL;
}

gboolean
cf_store_put_video (CfStore * store, const CfVideo * v, GError ** error)
{
  sqlite3_stmt *st;

  st = prepare (store, "INSERT INTO videos (uid, input_uid, created, state,"
      " delete_at, json, overrides) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
      " ON CONFLICT (uid) DO UPDATE SET input_uid = ?2, state = ?4,"
      " delete_at = ?5, json = ?6, overrides = ?7", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, v->uid);
  bind_text (st, 2, v->input_uid);
  sqlite3_bind_int64 (st, 3, v->created);
  bind_text (st, 4, v->state ? v->state : "");
  sqlite3_bind_int64 (st, 5, v->delete_at);
  bind_text (st, 6, v->json ? v->json : "{}");
  bind_text (st, 7, v->overrides);
  return step_done (store, st, error);
}

gboolean
cf_store_delete_video (CfStore * store, const gchar * uid, GError ** error)
{
  sqlite3_stmt *st;

  st = prepare (store, "DELETE FROM videos WHERE uid = ?1", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, uid);
  return step_done (store, st, error);
}

GPtrArray *
cf_store_load_videos (CfStore * store, GError ** error)
{
  GPtrArray *arr = g_ptr_array_new_with_free_func ((GDestroyNotify)
      cf_video_free);
  sqlite3_stmt *st;
  int rc;

  st = prepare (store, "SELECT uid, input_uid, created, state, delete_at,"
      " json, overrides FROM videos ORDER BY created, uid", error);
  if (!st)
    goto fail;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
    CfVideo *v = cf_video_new ();

    v->uid = col_text (st, 0);
    v->input_uid = col_text (st, 1);
    v->created = sqlite3_column_int64 (st, 2);
    v->state = col_text (st, 3);
    v->delete_at = sqlite3_column_int64 (st, 4);
    v->json = col_text (st, 5);
    v->overrides = col_text (st, 6);
    g_ptr_array_add (arr, v);
  }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    set_db_error (store, error, "read");
    goto fail;
  }
  return arr;

fail:
  g_ptr_array_unref (arr);
  return NULL;
}

gchar *
cf_store_get_setting (CfStore * store, const gchar * name)
{
  sqlite3_stmt *st;
  gchar *value = NULL;

  st = prepare (store, "SELECT value FROM settings WHERE name = ?1", NULL);
  if (!st)
    return NULL;
  bind_text (st, 1, name);
  if (sqlite3_step (st) == SQLITE_ROW)
    value = col_text (st, 0);
  sqlite3_finalize (st);
  return value;
}

gboolean
cf_store_set_setting (CfStore * store, const gchar * name,
    const gchar * value, GError ** error)
{
  sqlite3_stmt *st;

  if (!value) {
    st = prepare (store, "DELETE FROM settings WHERE name = ?1", error);
    if (!st)
      return FALSE;
    bind_text (st, 1, name);
    return step_done (store, st, error);
  }
  st = prepare (store, "INSERT INTO settings (name, value) VALUES (?1, ?2)"
      " ON CONFLICT (name) DO UPDATE SET value = ?2", error);
  if (!st)
    return FALSE;
  bind_text (st, 1, name);
  bind_text (st, 2, value);
  return step_done (store, st, error);
}

CfInput *
cf_input_new (void)
{
  CfInput *in = g_new0 (CfInput, 1);

  in->meta_json = g_strdup ("{}");
  in->enabled = TRUE;
  in->history = g_ptr_array_new_with_free_func ((GDestroyNotify)
      cf_status_entry_free);
  in->outputs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      cf_live_output_free);
  return in;
}

void
cf_input_free (CfInput * in)
{
  if (!in)
    return;
  g_free (in->uid);
  g_free (in->meta_json);
  g_free (in->default_creator);
  g_free (in->rec_allowed_origins_json);
  g_free (in->rtmps_key);
  g_free (in->rtmps_playback_key);
  g_free (in->srt_passphrase);
  g_free (in->srt_playback_passphrase);
  g_free (in->webrtc_secret);
  g_free (in->last_error);
  g_free (in->summary_json);
  cf_status_entry_free (in->current);
  g_ptr_array_unref (in->history);
  g_ptr_array_unref (in->outputs);
  g_free (in);
}

CfLiveOutput *
cf_live_output_new (void)
{
  CfLiveOutput *out = g_new0 (CfLiveOutput, 1);

  out->enabled = TRUE;
  return out;
}

void
cf_live_output_free (CfLiveOutput * out)
{
  if (!out)
    return;
  g_free (out->uid);
  g_free (out->url);
  g_free (out->stream_key);
  g_free (out->sink_uid);
  g_free (out->state);
  g_free (out);
}

CfStatusEntry *
cf_status_entry_new (const gchar * state, const gchar * reason, gint64 at)
{
  CfStatusEntry *e = g_new0 (CfStatusEntry, 1);

  e->state = g_strdup (state);
  e->reason = g_strdup (reason);
  e->entered = e->last_seen = at;
  return e;
}

void
cf_status_entry_free (CfStatusEntry * e)
{
  if (!e)
    return;
  g_free (e->state);
  g_free (e->reason);
  g_free (e);
}

CfVideo *
cf_video_new (void)
{
  return g_new0 (CfVideo, 1);
}

void
cf_video_free (CfVideo * v)
{
  if (!v)
    return;
  g_free (v->uid);
  g_free (v->input_uid);
  g_free (v->state);
  g_free (v->json);
  g_free (v->overrides);
  g_free (v);
}

static void
add_entry (JsonBuilder * b, const CfStatusEntry * e)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, e->state);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, e->reason);
  json_builder_set_member_name (b, "entered");
  json_builder_add_int_value (b, e->entered);
  json_builder_set_member_name (b, "lastSeen");
  json_builder_add_int_value (b, e->last_seen);
  json_builder_end_object (b);
}

gchar *
cf_input_status_to_json (const CfInput * in)
{
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (JsonNode) root = NULL;
  guint i;

  if (!in->current)
    return NULL;
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "current");
  add_entry (b, in->current);
  json_builder_set_member_name (b, "history");
  json_builder_begin_array (b);
  for (i = 0; i < in->history->len; i++)
    add_entry (b, g_ptr_array_index (in->history, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static CfStatusEntry *
parse_entry (JsonObject * o)
{
  CfStatusEntry *e;

  if (!o)
    return NULL;
  e = cf_status_entry_new (json_object_get_string_member_with_default (o,
          "state", "disconnected"),
      json_object_get_string_member_with_default (o, "reason", ""),
      json_object_get_int_member_with_default (o, "entered", 0));
  e->last_seen = json_object_get_int_member_with_default (o, "lastSeen",
      e->entered);
  return e;
}

void
cf_input_status_from_json (CfInput * in, const gchar * json)
{
  g_autoptr (JsonParser) p = NULL;
  JsonObject *o;
  JsonArray *h;
  guint i;

  if (!json || !*json)
    return;
  p = json_parser_new ();
  if (!json_parser_load_from_data (p, json, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    return;
  o = json_node_get_object (json_parser_get_root (p));
  if (json_object_has_member (o, "current") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "current")))
    in->current = parse_entry (json_object_get_object_member (o, "current"));
  if (json_object_has_member (o, "history") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "history"))) {
    h = json_object_get_array_member (o, "history");
    for (i = 0; i < json_array_get_length (h); i++) {
      JsonNode *n = json_array_get_element (h, i);

      if (JSON_NODE_HOLDS_OBJECT (n))
        g_ptr_array_add (in->history, parse_entry (json_node_get_object (n)));
    }
  }
}
