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

/* AMF0 codec.
 *
 * Everything parsed here comes from the network, so the parser is written
 * defensively: every read is checked against the bytes that remain, lengths
 * and counts in the data are never used to size allocations, the nesting
 * depth and the total number of values in one message are bounded, and any
 * problem is reported as a GError in the CF_AMF_ERROR domain instead of a
 * crash or a guess. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "amf.h"

#include <math.h>
#include <string.h>

/* AMF0 markers that exist in the specification but that RTMP peers do not
 * send in practice. They are recognised only to reject them clearly. */
#define AMF0_MARKER_MOVIECLIP 0x04
#define AMF0_MARKER_REFERENCE 0x07
#define AMF0_MARKER_UNSUPPORTED 0x0d
#define AMF0_MARKER_RECORDSET 0x0e
#define AMF0_MARKER_XML_DOCUMENT 0x0f
#define AMF0_MARKER_TYPED_OBJECT 0x10
#define AMF0_MARKER_AVMPLUS_OBJECT 0x11

/* Strings longer than this are shown truncated by cf_amf_node_to_string() */
#define TO_STRING_MAX_BYTES 128

typedef struct
{
  gchar *name;
  gsize name_len;
  CfAmfNode *value;
} CfAmfField;

struct _CfAmfNode
{
  CfAmfType type;
  union
  {
    gdouble number;
    gboolean boolean;
    struct
    {
      gchar *data;
      gsize size;
    } string;
    struct
    {
      gdouble ms;
      gint16 tz;
    } date;
    /* object and ECMA array: CfAmfField */
    GArray *fields;
    /* strict array: CfAmfNode * */
    GPtrArray *elements;
  } v;
};

/* Doubles are moved to and from the wire through their bit pattern */
G_STATIC_ASSERT (sizeof (gdouble) == sizeof (guint64));

GQuark
cf_amf_error_quark (void)
{
  return g_quark_from_static_string ("cf-amf-error-quark");
}

const gchar *
cf_amf_type_get_nick (CfAmfType type)
{
  switch (type) {
    case CF_AMF_TYPE_INVALID:
      return "invalid";
    case CF_AMF_TYPE_NUMBER:
      return "number";
    case CF_AMF_TYPE_BOOLEAN:
      return "boolean";
    case CF_AMF_TYPE_STRING:
      return "string";
    case CF_AMF_TYPE_OBJECT:
      return "object";
    case CF_AMF_TYPE_NULL:
      return "null";
    case CF_AMF_TYPE_UNDEFINED:
      return "undefined";
    case CF_AMF_TYPE_ECMA_ARRAY:
      return "ecma-array";
    case CF_AMF_TYPE_OBJECT_END:
      return "object-end";
    case CF_AMF_TYPE_STRICT_ARRAY:
      return "strict-array";
    case CF_AMF_TYPE_DATE:
      return "date";
    case CF_AMF_TYPE_LONG_STRING:
      return "long-string";
  }
  return "unknown";
}

/* --- Nodes --- */

static inline gboolean
node_has_fields (const CfAmfNode * node)
{
  return node != NULL && (node->type == CF_AMF_TYPE_OBJECT ||
      node->type == CF_AMF_TYPE_ECMA_ARRAY);
}

static inline gboolean
node_is_string (const CfAmfNode * node)
{
  return node != NULL && (node->type == CF_AMF_TYPE_STRING ||
      node->type == CF_AMF_TYPE_LONG_STRING);
}

static void
cf_amf_field_clear (gpointer data)
{
  CfAmfField *field = data;

  g_free (field->name);
  field->name = NULL;
  if (field->value)
    cf_amf_node_free (field->value);
  field->value = NULL;
}

static CfAmfNode *
cf_amf_node_new (CfAmfType type)
{
  CfAmfNode *node = g_new0 (CfAmfNode, 1);

  node->type = type;
  switch (type) {
    case CF_AMF_TYPE_OBJECT:
    case CF_AMF_TYPE_ECMA_ARRAY:
      node->v.fields = g_array_new (FALSE, FALSE, sizeof (CfAmfField));
      g_array_set_clear_func (node->v.fields, cf_amf_field_clear);
      break;
    case CF_AMF_TYPE_STRICT_ARRAY:
      node->v.elements =
          g_ptr_array_new_with_free_func ((GDestroyNotify) cf_amf_node_free);
      break;
    default:
      break;
  }
  return node;
}

/* Takes ownership of @data, which holds @size bytes plus a NUL */
static CfAmfNode *
cf_amf_node_new_string_take (CfAmfType type, gchar * data, gsize size)
{
  CfAmfNode *node = cf_amf_node_new (type);

  node->v.string.data = data;
  node->v.string.size = size;
  return node;
}

static gchar *
dup_bytes (const gchar * data, gsize size)
{
  gchar *copy = g_malloc (size + 1);

  if (size > 0)
    memcpy (copy, data, size);
  copy[size] = '\0';
  return copy;
}

CfAmfNode *
cf_amf_node_new_number (gdouble value)
{
  CfAmfNode *node = cf_amf_node_new (CF_AMF_TYPE_NUMBER);

  node->v.number = value;
  return node;
}

CfAmfNode *
cf_amf_node_new_boolean (gboolean value)
{
  CfAmfNode *node = cf_amf_node_new (CF_AMF_TYPE_BOOLEAN);

  node->v.boolean = value ? TRUE : FALSE;
  return node;
}

CfAmfNode *
cf_amf_node_new_string (const gchar * value, gssize size)
{
  gsize len;

  if (value == NULL) {
    g_return_val_if_fail (size <= 0, NULL);
    value = "";
    size = 0;
  }
  len = size < 0 ? strlen (value) : (gsize) size;
  g_return_val_if_fail (len <= G_MAXUINT32, NULL);

  return cf_amf_node_new_string_take (len > G_MAXUINT16 ?
      CF_AMF_TYPE_LONG_STRING : CF_AMF_TYPE_STRING, dup_bytes (value, len),
      len);
}

CfAmfNode *
cf_amf_node_new_object (void)
{
  return cf_amf_node_new (CF_AMF_TYPE_OBJECT);
}

CfAmfNode *
cf_amf_node_new_ecma_array (void)
{
  return cf_amf_node_new (CF_AMF_TYPE_ECMA_ARRAY);
}

CfAmfNode *
cf_amf_node_new_strict_array (void)
{
  return cf_amf_node_new (CF_AMF_TYPE_STRICT_ARRAY);
}

CfAmfNode *
cf_amf_node_new_null (void)
{
  return cf_amf_node_new (CF_AMF_TYPE_NULL);
}

CfAmfNode *
cf_amf_node_new_undefined (void)
{
  return cf_amf_node_new (CF_AMF_TYPE_UNDEFINED);
}

static CfAmfNode *
cf_amf_node_new_date (gdouble ms, gint16 tz)
{
  CfAmfNode *node = cf_amf_node_new (CF_AMF_TYPE_DATE);

  node->v.date.ms = ms;
  node->v.date.tz = tz;
  return node;
}

/* Appends a field without any checks; @name_len bytes of @name are copied */
static void
append_field_internal (CfAmfNode * node, const gchar * name, gsize name_len,
    CfAmfNode * value)
{
  CfAmfField field;

  field.name = dup_bytes (name, name_len);
  field.name_len = name_len;
  field.value = value;
  g_array_append_val (node->v.fields, field);
}

CfAmfNode *
cf_amf_node_copy (const CfAmfNode * node)
{
  CfAmfNode *copy;
  guint i;

  if (node == NULL)
    return NULL;

  copy = cf_amf_node_new (node->type);
  switch (node->type) {
    case CF_AMF_TYPE_NUMBER:
      copy->v.number = node->v.number;
      break;
    case CF_AMF_TYPE_BOOLEAN:
      copy->v.boolean = node->v.boolean;
      break;
    case CF_AMF_TYPE_STRING:
    case CF_AMF_TYPE_LONG_STRING:
      copy->v.string.data = dup_bytes (node->v.string.data,
          node->v.string.size);
      copy->v.string.size = node->v.string.size;
      break;
    case CF_AMF_TYPE_DATE:
      copy->v.date = node->v.date;
      break;
    case CF_AMF_TYPE_OBJECT:
    case CF_AMF_TYPE_ECMA_ARRAY:
      for (i = 0; i < node->v.fields->len; i++) {
        const CfAmfField *f = &g_array_index (node->v.fields, CfAmfField, i);

        append_field_internal (copy, f->name, f->name_len,
            cf_amf_node_copy (f->value));
      }
      break;
    case CF_AMF_TYPE_STRICT_ARRAY:
      for (i = 0; i < node->v.elements->len; i++)
        g_ptr_array_add (copy->v.elements,
            cf_amf_node_copy (g_ptr_array_index (node->v.elements, i)));
      break;
    default:
      break;
  }
  return copy;
}

void
cf_amf_node_free (CfAmfNode * node)
{
  if (node == NULL)
    return;

  switch (node->type) {
    case CF_AMF_TYPE_STRING:
    case CF_AMF_TYPE_LONG_STRING:
      g_free (node->v.string.data);
      break;
    case CF_AMF_TYPE_OBJECT:
    case CF_AMF_TYPE_ECMA_ARRAY:
      g_array_unref (node->v.fields);
      break;
    case CF_AMF_TYPE_STRICT_ARRAY:
      g_ptr_array_unref (node->v.elements);
      break;
    default:
      break;
  }
  g_free (node);
}

CfAmfType
cf_amf_node_get_type (const CfAmfNode * node)
{
  return node ? node->type : CF_AMF_TYPE_INVALID;
}

gdouble
cf_amf_node_get_number (const CfAmfNode * node)
{
  if (node == NULL)
    return 0;

  switch (node->type) {
    case CF_AMF_TYPE_NUMBER:
      return node->v.number;
    case CF_AMF_TYPE_DATE:
      return node->v.date.ms;
    case CF_AMF_TYPE_BOOLEAN:
      return node->v.boolean ? 1 : 0;
    default:
      return 0;
  }
}

gboolean
cf_amf_node_get_boolean (const CfAmfNode * node)
{
  if (node == NULL || node->type != CF_AMF_TYPE_BOOLEAN)
    return FALSE;
  return node->v.boolean;
}

const gchar *
cf_amf_node_get_string (const CfAmfNode * node, gsize * size)
{
  if (!node_is_string (node)) {
    if (size)
      *size = 0;
    return NULL;
  }
  if (size)
    *size = node->v.string.size;
  return node->v.string.data;
}

guint
cf_amf_node_get_n_fields (const CfAmfNode * node)
{
  return node_has_fields (node) ? node->v.fields->len : 0;
}

const gchar *
cf_amf_node_get_field_name (const CfAmfNode * node, guint n)
{
  if (!node_has_fields (node) || n >= node->v.fields->len)
    return NULL;
  return g_array_index (node->v.fields, CfAmfField, n).name;
}

const CfAmfNode *
cf_amf_node_get_field_value (const CfAmfNode * node, guint n)
{
  if (!node_has_fields (node) || n >= node->v.fields->len)
    return NULL;
  return g_array_index (node->v.fields, CfAmfField, n).value;
}

const CfAmfNode *
cf_amf_node_get_field (const CfAmfNode * node, const gchar * name)
{
  gsize name_len;
  guint i;

  if (!node_has_fields (node) || name == NULL)
    return NULL;

  name_len = strlen (name);
  for (i = 0; i < node->v.fields->len; i++) {
    const CfAmfField *f = &g_array_index (node->v.fields, CfAmfField, i);

    if (f->name_len == name_len && memcmp (f->name, name, name_len) == 0)
      return f->value;
  }
  return NULL;
}

void
cf_amf_node_append_field (CfAmfNode * node, const gchar * name,
    CfAmfNode * value)
{
  gsize name_len;

  if (!node_has_fields (node) || name == NULL || value == NULL) {
    g_critical ("%s: need an object or ECMA array, a name and a value",
        G_STRFUNC);
    cf_amf_node_free (value);
    return;
  }

  name_len = strlen (name);
  if (name_len > G_MAXUINT16) {
    g_critical ("%s: field name of %" G_GSIZE_FORMAT " bytes is longer than "
        "AMF0 allows", G_STRFUNC, name_len);
    cf_amf_node_free (value);
    return;
  }

  append_field_internal (node, name, name_len, value);
}

void
cf_amf_node_append_field_number (CfAmfNode * node, const gchar * name,
    gdouble value)
{
  cf_amf_node_append_field (node, name, cf_amf_node_new_number (value));
}

void
cf_amf_node_append_field_boolean (CfAmfNode * node, const gchar * name,
    gboolean value)
{
  cf_amf_node_append_field (node, name, cf_amf_node_new_boolean (value));
}

void
cf_amf_node_append_field_string (CfAmfNode * node, const gchar * name,
    const gchar * value)
{
  cf_amf_node_append_field (node, name, cf_amf_node_new_string (value, -1));
}

guint
cf_amf_node_get_n_elements (const CfAmfNode * node)
{
  if (node == NULL || node->type != CF_AMF_TYPE_STRICT_ARRAY)
    return 0;
  return node->v.elements->len;
}

const CfAmfNode *
cf_amf_node_get_element (const CfAmfNode * node, guint n)
{
  if (node == NULL || node->type != CF_AMF_TYPE_STRICT_ARRAY ||
      n >= node->v.elements->len)
    return NULL;
  return g_ptr_array_index (node->v.elements, n);
}

void
cf_amf_node_append_element (CfAmfNode * node, CfAmfNode * value)
{
  if (node == NULL || node->type != CF_AMF_TYPE_STRICT_ARRAY || value == NULL) {
    g_critical ("%s: need a strict array and a value", G_STRFUNC);
    cf_amf_node_free (value);
    return;
  }
  g_ptr_array_add (node->v.elements, value);
}

const gchar *
cf_amf_node_get_field_string (const CfAmfNode * node, const gchar * name)
{
  const CfAmfNode *value = cf_amf_node_get_field (node, name);

  return node_is_string (value) ? value->v.string.data : NULL;
}

gdouble
cf_amf_node_get_field_number (const CfAmfNode * node, const gchar * name,
    gdouble def)
{
  const CfAmfNode *value = cf_amf_node_get_field (node, name);

  if (value == NULL || value->type != CF_AMF_TYPE_NUMBER)
    return def;
  return value->v.number;
}

/* --- Parser --- */

typedef struct
{
  const guint8 *data;
  gsize size;
  gsize pos;
  /* values created so far in this message */
  guint n_nodes;
} AmfReader;

static inline gsize
reader_remaining (const AmfReader * r)
{
  return r->size - r->pos;
}

/* *INDENT-OFF* */
static void reader_error (GError ** error, gsize offset, CfAmfError code,
    const gchar * format, ...) G_GNUC_PRINTF (4, 5);
/* *INDENT-ON* */

/* Sets @error to the formatted message followed by the offset at which the
 * problem was found */
static void
reader_error (GError ** error, gsize offset, CfAmfError code,
    const gchar * format, ...)
{
  va_list args;
  gchar *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, CF_AMF_ERROR, code, "%s (offset %" G_GSIZE_FORMAT ")",
      msg, offset);
  g_free (msg);
}

static gboolean
reader_need (const AmfReader * r, gsize n, const gchar * what, GError ** error)
{
  if (reader_remaining (r) >= n)
    return TRUE;

  reader_error (error, r->pos, CF_AMF_ERROR_TRUNCATED,
      "%s needs %" G_GSIZE_FORMAT " bytes but only %" G_GSIZE_FORMAT
      " remain", what, n, reader_remaining (r));
  return FALSE;
}

/* The read_*_unchecked() callers have checked that enough bytes remain */
static guint16
read_u16_unchecked (AmfReader * r)
{
  const guint8 *p = r->data + r->pos;

  r->pos += 2;
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
read_u32_unchecked (AmfReader * r)
{
  const guint8 *p = r->data + r->pos;

  r->pos += 4;
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | (guint32) p[3];
}

static gdouble
read_double_unchecked (AmfReader * r)
{
  const guint8 *p = r->data + r->pos;
  guint64 bits = 0;
  gdouble d;
  guint i;

  for (i = 0; i < 8; i++)
    bits = (bits << 8) | p[i];
  r->pos += 8;

  memcpy (&d, &bits, sizeof (d));
  return d;
}

/* Reads @len bytes of string data after checking they are there */
static gchar *
read_string_data (AmfReader * r, gsize start, gsize len, const gchar * what,
    GError ** error)
{
  gchar *s;

  if (len > reader_remaining (r)) {
    reader_error (error, start, CF_AMF_ERROR_TRUNCATED,
        "%s length %" G_GSIZE_FORMAT " exceeds the %" G_GSIZE_FORMAT
        " remaining bytes", what, len, reader_remaining (r));
    return NULL;
  }
  s = dup_bytes ((const gchar *) r->data + r->pos, len);
  r->pos += len;
  return s;
}

static const gchar *
unsupported_marker_name (guint8 marker)
{
  switch (marker) {
    case AMF0_MARKER_MOVIECLIP:
      return "movieclip";
    case AMF0_MARKER_REFERENCE:
      return "reference";
    case AMF0_MARKER_UNSUPPORTED:
      return "unsupported";
    case AMF0_MARKER_RECORDSET:
      return "recordset";
    case AMF0_MARKER_XML_DOCUMENT:
      return "XML document";
    case AMF0_MARKER_TYPED_OBJECT:
      return "typed object";
    case AMF0_MARKER_AVMPLUS_OBJECT:
      return "AMF3 switch";
    default:
      return NULL;
  }
}

static CfAmfNode *read_value (AmfReader * r, guint depth, GError ** error);

/* Reads the fields of an object or ECMA array into @node, up to and
 * including the object-end marker. */
static gboolean
read_fields (AmfReader * r, CfAmfNode * node, guint depth, GError ** error)
{
  const gchar *what = node->type == CF_AMF_TYPE_OBJECT ?
      "object" : "ECMA array";

  for (;;) {
    gsize start = r->pos;
    CfAmfField field;

    /* Some encoders do not terminate an ECMA array that is the last thing in
     * a message. Accept that, but only when the data ends exactly here. */
    if (node->type == CF_AMF_TYPE_ECMA_ARRAY && reader_remaining (r) == 0)
      return TRUE;

    if (reader_remaining (r) < 2) {
      reader_error (error, start, CF_AMF_ERROR_TRUNCATED,
          "data ends inside an %s, before its object-end marker", what);
      return FALSE;
    }
    field.name_len = read_u16_unchecked (r);

    if (field.name_len == 0) {
      if (reader_remaining (r) == 0) {
        reader_error (error, start, CF_AMF_ERROR_TRUNCATED,
            "data ends inside an %s, before its object-end marker", what);
        return FALSE;
      }
      if (r->data[r->pos] == CF_AMF_TYPE_OBJECT_END) {
        r->pos++;
        return TRUE;
      }
    }

    field.name = read_string_data (r, start, field.name_len, "field name",
        error);
    if (field.name == NULL)
      return FALSE;

    field.value = read_value (r, depth, error);
    if (field.value == NULL) {
      g_free (field.name);
      return FALSE;
    }

    g_array_append_val (node->v.fields, field);
  }
}

/* Reads one value. @depth is the number of containers around it. */
static CfAmfNode *
read_value (AmfReader * r, guint depth, GError ** error)
{
  gsize start = r->pos;
  CfAmfNode *node = NULL;
  guint8 marker;

  if (reader_remaining (r) == 0) {
    reader_error (error, start, CF_AMF_ERROR_TRUNCATED,
        "data ends where a value was expected");
    return NULL;
  }

  if (r->n_nodes >= CF_AMF_MAX_NODES) {
    reader_error (error, start, CF_AMF_ERROR_TOO_MANY,
        "message holds more than %u values", CF_AMF_MAX_NODES);
    return NULL;
  }
  r->n_nodes++;

  marker = r->data[r->pos++];

  switch (marker) {
    case CF_AMF_TYPE_NUMBER:
      if (!reader_need (r, 8, "number", error))
        return NULL;
      node = cf_amf_node_new_number (read_double_unchecked (r));
      break;

    case CF_AMF_TYPE_BOOLEAN:
      if (!reader_need (r, 1, "boolean", error))
        return NULL;
      node = cf_amf_node_new_boolean (r->data[r->pos++] != 0);
      break;

    case CF_AMF_TYPE_STRING:
    case CF_AMF_TYPE_LONG_STRING:{
      gsize len;
      gchar *s;

      if (marker == CF_AMF_TYPE_STRING) {
        if (!reader_need (r, 2, "string length", error))
          return NULL;
        len = read_u16_unchecked (r);
      } else {
        if (!reader_need (r, 4, "long string length", error))
          return NULL;
        len = read_u32_unchecked (r);
      }
      s = read_string_data (r, start, len, marker == CF_AMF_TYPE_STRING ?
          "string" : "long string", error);
      if (s == NULL)
        return NULL;
      node = cf_amf_node_new_string_take (marker, s, len);
      break;
    }

    case CF_AMF_TYPE_NULL:
    case CF_AMF_TYPE_UNDEFINED:
      node = cf_amf_node_new (marker);
      break;

    case CF_AMF_TYPE_DATE:{
      gdouble ms;
      gint16 tz;

      if (!reader_need (r, 10, "date", error))
        return NULL;
      ms = read_double_unchecked (r);
      tz = (gint16) read_u16_unchecked (r);
      node = cf_amf_node_new_date (ms, tz);
      break;
    }

    case CF_AMF_TYPE_OBJECT:
    case CF_AMF_TYPE_ECMA_ARRAY:
    case CF_AMF_TYPE_STRICT_ARRAY:{
      if (depth >= CF_AMF_MAX_DEPTH) {
        reader_error (error, start, CF_AMF_ERROR_TOO_DEEP,
            "containers nested deeper than %u levels", CF_AMF_MAX_DEPTH);
        return NULL;
      }

      if (marker == CF_AMF_TYPE_ECMA_ARRAY) {
        /* The count is only a hint, and often wrong: ignore it and read up
         * to the object-end marker. */
        if (!reader_need (r, 4, "ECMA array count", error))
          return NULL;
        r->pos += 4;
      }

      if (marker == CF_AMF_TYPE_STRICT_ARRAY) {
        guint32 count, i;

        if (!reader_need (r, 4, "strict array count", error))
          return NULL;
        count = read_u32_unchecked (r);
        /* Every element takes at least one byte */
        if (count > reader_remaining (r)) {
          reader_error (error, start, CF_AMF_ERROR_TRUNCATED,
              "strict array count %u exceeds the %" G_GSIZE_FORMAT
              " remaining bytes", count, reader_remaining (r));
          return NULL;
        }
        node = cf_amf_node_new (CF_AMF_TYPE_STRICT_ARRAY);
        for (i = 0; i < count; i++) {
          CfAmfNode *element = read_value (r, depth + 1, error);

          if (element == NULL) {
            cf_amf_node_free (node);
            return NULL;
          }
          g_ptr_array_add (node->v.elements, element);
        }
      } else {
        node = cf_amf_node_new (marker);
        if (!read_fields (r, node, depth + 1, error)) {
          cf_amf_node_free (node);
          return NULL;
        }
      }
      break;
    }

    case CF_AMF_TYPE_OBJECT_END:
      reader_error (error, start, CF_AMF_ERROR_INVALID,
          "unexpected object-end marker");
      return NULL;

    default:{
      const gchar *name = unsupported_marker_name (marker);

      if (name != NULL)
        reader_error (error, start, CF_AMF_ERROR_UNSUPPORTED,
            "unsupported AMF0 type marker 0x%02x (%s)", marker, name);
      else
        reader_error (error, start, CF_AMF_ERROR_INVALID,
            "unknown AMF0 type marker 0x%02x", marker);
      return NULL;
    }
  }

  return node;
}

CfAmfNode *
cf_amf_parse_value (const guint8 * data, gsize size, gsize * consumed,
    GError ** error)
{
  AmfReader r = { data, size, 0, 0 };
  CfAmfNode *node;

  if (consumed)
    *consumed = 0;
  if (data == NULL && size > 0) {
    g_set_error_literal (error, CF_AMF_ERROR, CF_AMF_ERROR_INVALID, "no data");
    return NULL;
  }

  node = read_value (&r, 0, error);
  if (node != NULL && consumed)
    *consumed = r.pos;
  return node;
}

GPtrArray *
cf_amf_parse_all (const guint8 * data, gsize size, GError ** error)
{
  AmfReader r = { data, size, 0, 0 };
  GPtrArray *values;

  if (data == NULL && size > 0) {
    g_set_error_literal (error, CF_AMF_ERROR, CF_AMF_ERROR_INVALID, "no data");
    return NULL;
  }

  values = g_ptr_array_new_with_free_func ((GDestroyNotify) cf_amf_node_free);
  while (reader_remaining (&r) > 0) {
    CfAmfNode *node = read_value (&r, 0, error);

    if (node == NULL) {
      g_ptr_array_unref (values);
      return NULL;
    }
    g_ptr_array_add (values, node);
  }
  return values;
}

/* --- Serialisation --- */

static void
put_u8 (GByteArray * out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u16 (GByteArray * out, guint16 v)
{
  guint8 b[2];

  b[0] = v >> 8;
  b[1] = v & 0xff;
  g_byte_array_append (out, b, 2);
}

static void
put_u32 (GByteArray * out, guint32 v)
{
  guint8 b[4];

  b[0] = v >> 24;
  b[1] = (v >> 16) & 0xff;
  b[2] = (v >> 8) & 0xff;
  b[3] = v & 0xff;
  g_byte_array_append (out, b, 4);
}

static void
put_double (GByteArray * out, gdouble d)
{
  guint64 bits;
  guint8 b[8];
  gint i;

  memcpy (&bits, &d, sizeof (bits));
  for (i = 7; i >= 0; i--) {
    b[i] = bits & 0xff;
    bits >>= 8;
  }
  g_byte_array_append (out, b, 8);
}

static void
put_fields (GByteArray * out, const GArray * fields)
{
  guint i;

  for (i = 0; i < fields->len; i++) {
    const CfAmfField *f = &g_array_index (fields, CfAmfField, i);
    /* Only possible for names that did not come from the parser or from
     * cf_amf_node_append_field(), which both bound them */
    gsize name_len = MIN (f->name_len, G_MAXUINT16);

    put_u16 (out, name_len);
    g_byte_array_append (out, (const guint8 *) f->name, name_len);
    cf_amf_node_serialize (f->value, out);
  }
  put_u16 (out, 0);
  put_u8 (out, CF_AMF_TYPE_OBJECT_END);
}

void
cf_amf_node_serialize (const CfAmfNode * node, GByteArray * out)
{
  guint i;

  g_return_if_fail (out != NULL);

  if (node == NULL) {
    /* Nothing sensible to write: keep the stream well formed */
    put_u8 (out, CF_AMF_TYPE_NULL);
    return;
  }

  switch (node->type) {
    case CF_AMF_TYPE_NUMBER:
      put_u8 (out, CF_AMF_TYPE_NUMBER);
      put_double (out, node->v.number);
      break;
    case CF_AMF_TYPE_BOOLEAN:
      put_u8 (out, CF_AMF_TYPE_BOOLEAN);
      put_u8 (out, node->v.boolean ? 1 : 0);
      break;
    case CF_AMF_TYPE_STRING:
    case CF_AMF_TYPE_LONG_STRING:{
      gsize size = node->v.string.size;

      if (node->type == CF_AMF_TYPE_STRING && size <= G_MAXUINT16) {
        put_u8 (out, CF_AMF_TYPE_STRING);
        put_u16 (out, size);
      } else {
        put_u8 (out, CF_AMF_TYPE_LONG_STRING);
        put_u32 (out, size);
      }
      g_byte_array_append (out, (const guint8 *) node->v.string.data, size);
      break;
    }
    case CF_AMF_TYPE_OBJECT:
      put_u8 (out, CF_AMF_TYPE_OBJECT);
      put_fields (out, node->v.fields);
      break;
    case CF_AMF_TYPE_ECMA_ARRAY:
      put_u8 (out, CF_AMF_TYPE_ECMA_ARRAY);
      put_u32 (out, node->v.fields->len);
      put_fields (out, node->v.fields);
      break;
    case CF_AMF_TYPE_STRICT_ARRAY:
      put_u8 (out, CF_AMF_TYPE_STRICT_ARRAY);
      put_u32 (out, node->v.elements->len);
      for (i = 0; i < node->v.elements->len; i++)
        cf_amf_node_serialize (g_ptr_array_index (node->v.elements, i), out);
      break;
    case CF_AMF_TYPE_DATE:
      put_u8 (out, CF_AMF_TYPE_DATE);
      put_double (out, node->v.date.ms);
      put_u16 (out, (guint16) node->v.date.tz);
      break;
    case CF_AMF_TYPE_NULL:
    case CF_AMF_TYPE_UNDEFINED:
      put_u8 (out, node->type);
      break;
    default:
      g_critical ("%s: cannot serialise a node of type %d", G_STRFUNC,
          node->type);
      put_u8 (out, CF_AMF_TYPE_NULL);
      break;
  }
}

GBytes *
cf_amf_serialize_values (const CfAmfNode * first, ...)
{
  GByteArray *out = g_byte_array_new ();
  const CfAmfNode *node;
  va_list args;

  va_start (args, first);
  node = first;
  while (node != NULL) {
    cf_amf_node_serialize (node, out);
    node = va_arg (args, const CfAmfNode *);
  }
  va_end (args);

  return g_byte_array_free_to_bytes (out);
}

/* --- Debug rendering --- */

static void
append_number (GString * s, gdouble d)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* Integers (the common case: ids, sizes, codec ids) without a fraction;
   * other values with as few digits as read back to the same double */
  if (d == 0 && signbit (d)) {
    g_string_append (s, "-0");
  } else if (d > -9007199254740992.0 && d < 9007199254740992.0
      && d == (gdouble) (gint64) d) {
    g_string_append_printf (s, "%" G_GINT64_FORMAT, (gint64) d);
  } else {
    g_ascii_formatd (buf, sizeof (buf), "%.15g", d);
    if (g_ascii_strtod (buf, NULL) != d)
      g_ascii_formatd (buf, sizeof (buf), "%.17g", d);
    g_string_append (s, buf);
  }
}

/* Appends @data escaped so that the result is printable UTF-8 on one line,
 * stopping after about @max bytes. Returns FALSE if it was truncated. */
static gboolean
append_escaped (GString * s, const gchar * data, gsize size, gsize max)
{
  const gchar *p = data;
  const gchar *end = data + size;
  const gchar *stop = data + MIN (size, max);

  while (p < stop) {
    guchar c = *p;

    if (c == '"' || c == '\\') {
      g_string_append_c (s, '\\');
      g_string_append_c (s, c);
      p++;
    } else if (c == '\n') {
      g_string_append (s, "\\n");
      p++;
    } else if (c == '\r') {
      g_string_append (s, "\\r");
      p++;
    } else if (c == '\t') {
      g_string_append (s, "\\t");
      p++;
    } else if (c < 0x20 || c == 0x7f) {
      g_string_append_printf (s, "\\x%02x", c);
      p++;
    } else if (c < 0x80) {
      g_string_append_c (s, c);
      p++;
    } else {
      /* A character that starts before @stop is shown whole */
      gunichar u = g_utf8_get_char_validated (p, end - p);

      if (u == (gunichar) - 1 || u == (gunichar) - 2) {
        g_string_append_printf (s, "\\x%02x", c);
        p++;
      } else {
        const gchar *next = g_utf8_next_char (p);

        g_string_append_len (s, p, next - p);
        p = next;
      }
    }
  }

  return p >= end;
}

static void
append_quoted (GString * s, const gchar * data, gsize size)
{
  gboolean complete;

  g_string_append_c (s, '"');
  complete = append_escaped (s, data, size, TO_STRING_MAX_BYTES);
  g_string_append_c (s, '"');
  if (!complete)
    g_string_append_printf (s, "...(%" G_GSIZE_FORMAT " bytes)", size);
}

static gboolean
name_is_plain (const gchar * name, gsize len)
{
  gsize i;

  if (len == 0)
    return FALSE;
  for (i = 0; i < len; i++) {
    if (!g_ascii_isalnum (name[i]) && name[i] != '_' && name[i] != '$' &&
        name[i] != '@' && name[i] != '.' && name[i] != '-')
      return FALSE;
  }
  return TRUE;
}

static void append_node (GString * s, const CfAmfNode * node);

static void
append_fields (GString * s, const GArray * fields, gchar open, gchar close)
{
  guint i;

  g_string_append_c (s, open);
  for (i = 0; i < fields->len; i++) {
    const CfAmfField *f = &g_array_index (fields, CfAmfField, i);

    if (i > 0)
      g_string_append (s, ", ");
    if (name_is_plain (f->name, f->name_len) &&
        f->name_len <= TO_STRING_MAX_BYTES)
      g_string_append_len (s, f->name, f->name_len);
    else
      append_quoted (s, f->name, f->name_len);
    g_string_append (s, ": ");
    append_node (s, f->value);
  }
  g_string_append_c (s, close);
}

static void
append_node (GString * s, const CfAmfNode * node)
{
  guint i;

  if (node == NULL) {
    g_string_append (s, "(null)");
    return;
  }

  switch (node->type) {
    case CF_AMF_TYPE_NUMBER:
      append_number (s, node->v.number);
      break;
    case CF_AMF_TYPE_BOOLEAN:
      g_string_append (s, node->v.boolean ? "true" : "false");
      break;
    case CF_AMF_TYPE_STRING:
    case CF_AMF_TYPE_LONG_STRING:
      append_quoted (s, node->v.string.data, node->v.string.size);
      break;
    case CF_AMF_TYPE_OBJECT:
      append_fields (s, node->v.fields, '{', '}');
      break;
    case CF_AMF_TYPE_ECMA_ARRAY:
      /* an associative array: square brackets, but with names */
      append_fields (s, node->v.fields, '[', ']');
      break;
    case CF_AMF_TYPE_STRICT_ARRAY:
      g_string_append_c (s, '[');
      for (i = 0; i < node->v.elements->len; i++) {
        if (i > 0)
          g_string_append (s, ", ");
        append_node (s, g_ptr_array_index (node->v.elements, i));
      }
      g_string_append_c (s, ']');
      break;
    case CF_AMF_TYPE_DATE:
      g_string_append (s, "date(");
      append_number (s, node->v.date.ms);
      g_string_append_printf (s, ", tz %d)", node->v.date.tz);
      break;
    case CF_AMF_TYPE_NULL:
      g_string_append (s, "null");
      break;
    case CF_AMF_TYPE_UNDEFINED:
      g_string_append (s, "undefined");
      break;
    default:
      g_string_append_printf (s, "(type %d)", node->type);
      break;
  }
}

gchar *
cf_amf_node_to_string (const CfAmfNode * node)
{
  GString *s = g_string_new (NULL);

  append_node (s, node);
  return g_string_free (s, FALSE);
}
