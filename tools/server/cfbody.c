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
#include <gio/gio.h>

#include "cfbody.h"


const gchar *
cf_body_type_name (JsonNode * n)
{
  switch (JSON_NODE_TYPE (n)) {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (n)) {
        case G_TYPE_BOOLEAN:
          return "a boolean";
        case G_TYPE_STRING:
          return "a string";
        default:
          return "a number";
      }
  }
  return "something else";
}

gboolean
cf_body_is_bool (JsonNode * n)
{
  return JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_BOOLEAN;
}

gboolean
cf_body_is_string (JsonNode * n)
{
  return JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_STRING;
}

gboolean
cf_body_is_number (JsonNode * n)
{
  return JSON_NODE_HOLDS_VALUE (n) &&
      (json_node_get_value_type (n) == G_TYPE_INT64 ||
      json_node_get_value_type (n) == G_TYPE_DOUBLE);
}

static gdouble
number (JsonNode * n)
{
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return json_node_get_int (n);
  return json_node_get_double (n);
}

#define FIELD_ERROR(...) \
  G_STMT_START { \
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

/* allowedOrigins, of a live input's recording settings or of a Video */
static gboolean
check_origins (JsonNode * n, const gchar * field, GError ** error)
{
  JsonArray *a;
  guint i;

  if (!JSON_NODE_HOLDS_ARRAY (n))
    FIELD_ERROR ("%s must be an array of strings or null, not %s", field,
        cf_body_type_name (n));
  a = json_node_get_array (n);
  for (i = 0; i < json_array_get_length (a); i++)
    if (!cf_body_is_string (json_array_get_element (a, i)))
      FIELD_ERROR ("%s[%u] must be a string, not %s", field, i,
          cf_body_type_name (json_array_get_element (a, i)));
  return TRUE;
}

static gboolean
apply_recording_body (CfInput * in, JsonNode * rn, GError ** error)
{
  JsonObject *r;
  JsonObjectIter it;
  const gchar *name;
  JsonNode *n;

  if (JSON_NODE_HOLDS_NULL (rn)) {
    in->rec_automatic = FALSE;
    in->rec_timeout = 0;
    in->rec_require_signed = FALSE;
    g_clear_pointer (&in->rec_allowed_origins_json, g_free);
    in->rec_hide_viewers = FALSE;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_OBJECT (rn))
    FIELD_ERROR ("recording must be an object, not %s", cf_body_type_name (rn));
  r = json_node_get_object (rn);
  json_object_iter_init (&it, r);
  while (json_object_iter_next (&it, &name, &n)) {
    if (g_str_equal (name, "mode")) {
      const gchar *mode;

      if (!cf_body_is_string (n))
        FIELD_ERROR ("recording.mode must be \"off\" or \"automatic\", not %s",
            cf_body_type_name (n));
      mode = json_node_get_string (n);
      if (g_str_equal (mode, "automatic"))
        in->rec_automatic = TRUE;
      else if (g_str_equal (mode, "off"))
        in->rec_automatic = FALSE;
      else
        FIELD_ERROR ("recording.mode must be \"off\" or \"automatic\", "
            "not \"%s\"", mode);
    } else if (g_str_equal (name, "timeoutSeconds")) {
      gdouble v;

      if (!cf_body_is_number (n))
        FIELD_ERROR ("recording.timeoutSeconds must be an integer, not %s",
            cf_body_type_name (n));
      v = number (n);
      /* the range first: a double beyond gint64 must not be converted */
      if (!(v >= 0 && v <= 86400) || v != (gint64) v)
        FIELD_ERROR ("recording.timeoutSeconds must be an integer from 0 to "
            "86400 (got %g)", v);
      in->rec_timeout = (gint64) v;
    } else if (g_str_equal (name, "requireSignedURLs")) {
      if (!cf_body_is_bool (n))
        FIELD_ERROR ("recording.requireSignedURLs must be a boolean, not %s",
            cf_body_type_name (n));
      in->rec_require_signed = json_node_get_boolean (n);
    } else if (g_str_equal (name, "hideLiveViewerCount")) {
      if (!cf_body_is_bool (n))
        FIELD_ERROR ("recording.hideLiveViewerCount must be a boolean, not %s",
            cf_body_type_name (n));
      in->rec_hide_viewers = json_node_get_boolean (n);
    } else if (g_str_equal (name, "allowedOrigins")) {
      if (JSON_NODE_HOLDS_NULL (n)) {
        g_clear_pointer (&in->rec_allowed_origins_json, g_free);
      } else {
        if (!check_origins (n, "recording.allowedOrigins", error))
          return FALSE;
        g_free (in->rec_allowed_origins_json);
        in->rec_allowed_origins_json = json_to_string (n, FALSE);
      }
    }
    /* other members are ignored, as Cloudflare does */
  }
  return TRUE;
}

/* the body of POST and PUT /live_inputs: members given replace the
 * current values, members omitted keep them */
gboolean
cf_body_apply_input (CfInput * in, JsonObject * o, GError ** error)
{
  JsonObjectIter it;
  const gchar *name;
  JsonNode *n;

  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &name, &n)) {
    if (g_str_equal (name, "meta")) {
      g_free (in->meta_json);
      if (JSON_NODE_HOLDS_NULL (n))
        in->meta_json = g_strdup ("{}");
      else if (JSON_NODE_HOLDS_OBJECT (n))
        in->meta_json = json_to_string (n, FALSE);
      else {
        in->meta_json = NULL;
        FIELD_ERROR ("meta must be an object, not %s", cf_body_type_name (n));
      }
    } else if (g_str_equal (name, "defaultCreator")) {
      g_clear_pointer (&in->default_creator, g_free);
      if (cf_body_is_string (n))
        in->default_creator = g_strdup (json_node_get_string (n));
      else if (!JSON_NODE_HOLDS_NULL (n))
        FIELD_ERROR ("defaultCreator must be a string, not %s",
            cf_body_type_name (n));
    } else if (g_str_equal (name, "deleteRecordingAfterDays")) {
      if (JSON_NODE_HOLDS_NULL (n)) {
        in->has_delete_after = FALSE;
      } else if (cf_body_is_number (n)) {
        gdouble v = number (n);

        if (v < 30 || v > 1096)
          FIELD_ERROR ("deleteRecordingAfterDays must be from 30 to 1096 "
              "(got %g)", v);
        in->has_delete_after = TRUE;
        in->delete_after_days = v;
      } else {
        FIELD_ERROR ("deleteRecordingAfterDays must be a number (at least "
            "30) or null, not %s", cf_body_type_name (n));
      }
    } else if (g_str_equal (name, "enabled")) {
      if (!cf_body_is_bool (n))
        FIELD_ERROR ("enabled must be a boolean, not %s",
            cf_body_type_name (n));
      in->enabled = json_node_get_boolean (n);
    } else if (g_str_equal (name, "preferLowLatency")) {
      if (!cf_body_is_bool (n))
        FIELD_ERROR ("preferLowLatency must be a boolean, not %s",
            cf_body_type_name (n));
      in->prefer_low_latency = json_node_get_boolean (n);
    } else if (g_str_equal (name, "recording")) {
      if (!apply_recording_body (in, n, error))
        return FALSE;
    }
  }
  return TRUE;
}

gboolean
cf_body_apply_video (JsonObject * overrides, JsonObject * o, GError ** error)
{
  JsonObjectIter it;
  const gchar *name;
  JsonNode *n;

  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &name, &n)) {
    if (g_str_equal (name, "meta")) {
      if (JSON_NODE_HOLDS_NULL (n))
        json_object_set_object_member (overrides, "meta", json_object_new ());
      else if (JSON_NODE_HOLDS_OBJECT (n))
        json_object_set_member (overrides, "meta", json_node_copy (n));
      else
        FIELD_ERROR ("meta must be an object, not %s", cf_body_type_name (n));
    } else if (g_str_equal (name, "creator")) {
      if (JSON_NODE_HOLDS_NULL (n))
        json_object_set_null_member (overrides, "creator");
      else if (!cf_body_is_string (n))
        FIELD_ERROR ("creator must be a string, not %s", cf_body_type_name (n));
      else if (strlen (json_node_get_string (n)) > 64)
        FIELD_ERROR ("creator must be at most 64 characters");
      else
        json_object_set_member (overrides, "creator", json_node_copy (n));
    } else if (g_str_equal (name, "requireSignedURLs")) {
      if (!cf_body_is_bool (n))
        FIELD_ERROR ("requireSignedURLs must be a boolean, not %s",
            cf_body_type_name (n));
      json_object_set_member (overrides, name, json_node_copy (n));
    } else if (g_str_equal (name, "allowedOrigins")) {
      if (JSON_NODE_HOLDS_NULL (n)) {
        json_object_set_array_member (overrides, name, json_array_new ());
      } else {
        if (!check_origins (n, "allowedOrigins", error))
          return FALSE;
        json_object_set_member (overrides, name, json_node_copy (n));
      }
    } else if (g_str_equal (name, "scheduledDeletion") ||
        g_str_equal (name, "maxDurationSeconds") ||
        g_str_equal (name, "uploadExpiry") ||
        g_str_equal (name, "thumbnailTimestampPct")) {
      /* recordings are deleted after their live input's
       * deleteRecordingAfterDays; there are no uploads nor thumbnails */
      if (!JSON_NODE_HOLDS_NULL (n))
        FIELD_ERROR ("%s cannot be changed on this server", name);
    }
  }
  return TRUE;
}

#undef FIELD_ERROR

gboolean
cf_body_valid_output_url (const gchar * url, GError ** error)
{
  g_autoptr (GUri) uri = NULL;
  const gchar *scheme;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (!uri) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "url '%.200s' is not a valid URL", url);
    return FALSE;
  }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "rtmp") != 0 &&
      g_ascii_strcasecmp (scheme, "rtmps") != 0 &&
      g_ascii_strcasecmp (scheme, "srt") != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "url must be an rtmp://, rtmps:// or srt:// URL (got a %.32s:// URL)",
        scheme);
    return FALSE;
  }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "url '%.200s' has no host", url);
    return FALSE;
  }
  if (g_ascii_strcasecmp (scheme, "srt") == 0 && g_uri_get_port (uri) <= 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "url '%.200s' needs a port", url);
    return FALSE;
  }
  return TRUE;
}

JsonNode *
cf_body_parse (const gchar * data, gsize len, gboolean allow_empty,
    GError ** error)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) err = NULL;
  JsonNode *root;
  gsize i;

  for (i = 0; i < len && g_ascii_isspace (data[i]); i++);
  if (i == len) {
    if (allow_empty) {
      root = json_node_alloc ();
      json_node_take_object (json_node_init (root, JSON_NODE_OBJECT),
          json_object_new ());
      return root;
    }
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "The request needs a JSON object as its body");
    return NULL;
  }
  if (!g_utf8_validate (data, len, NULL)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "The request body is not valid UTF-8");
    return NULL;
  }
  if (!json_parser_load_from_data (p, data, len, &err)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "The request body is not valid JSON: %s", err->message);
    return NULL;
  }
  root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "The request body must be a JSON object, not %s",
        root ? cf_body_type_name (root) : "empty");
    return NULL;
  }
  return json_node_copy (root);
}
