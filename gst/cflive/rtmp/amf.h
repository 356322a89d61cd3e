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

#ifndef __CF_AMF_H__
#define __CF_AMF_H__

#include <glib.h>

G_BEGIN_DECLS

/* AMF0 (Action Message Format, version 0) as used by RTMP commands and
 * FLV script data. Only the types that RTMP peers send are supported;
 * references, XML documents, typed objects and AMF3 switches are rejected
 * with an error rather than guessed at. */

/* Hard limits that bound the memory and stack a hostile peer can make the
 * parser use. A value nested deeper than CF_AMF_MAX_DEPTH containers, or a
 * message holding more than CF_AMF_MAX_NODES values in total, fails. */
#define CF_AMF_MAX_DEPTH 32
#define CF_AMF_MAX_NODES 16384

typedef enum
{
  CF_AMF_TYPE_INVALID = -1,
  CF_AMF_TYPE_NUMBER = 0x00,
  CF_AMF_TYPE_BOOLEAN = 0x01,
  CF_AMF_TYPE_STRING = 0x02,
  CF_AMF_TYPE_OBJECT = 0x03,
  CF_AMF_TYPE_NULL = 0x05,
  CF_AMF_TYPE_UNDEFINED = 0x06,
  CF_AMF_TYPE_ECMA_ARRAY = 0x08,
  CF_AMF_TYPE_OBJECT_END = 0x09,
  CF_AMF_TYPE_STRICT_ARRAY = 0x0a,
  CF_AMF_TYPE_DATE = 0x0b,
  CF_AMF_TYPE_LONG_STRING = 0x0c,
} CfAmfType;

#define CF_AMF_ERROR (cf_amf_error_quark ())
GQuark cf_amf_error_quark (void);

typedef enum
{
  CF_AMF_ERROR_TRUNCATED,       /* the data ends inside a value */
  CF_AMF_ERROR_UNSUPPORTED,     /* a type marker this parser does not accept */
  CF_AMF_ERROR_TOO_DEEP,        /* more than CF_AMF_MAX_DEPTH nested containers */
  CF_AMF_ERROR_TOO_MANY,        /* more than CF_AMF_MAX_NODES values */
  CF_AMF_ERROR_INVALID,         /* anything else malformed */
} CfAmfError;

typedef struct _CfAmfNode CfAmfNode;

const gchar *cf_amf_type_get_nick (CfAmfType type);

CfAmfNode *cf_amf_node_new_number (gdouble value);
CfAmfNode *cf_amf_node_new_boolean (gboolean value);
/* @size may be -1 for a NUL-terminated string. Strings longer than 65535
 * bytes are written as long strings. */
CfAmfNode *cf_amf_node_new_string (const gchar * value, gssize size);
CfAmfNode *cf_amf_node_new_object (void);
CfAmfNode *cf_amf_node_new_ecma_array (void);
CfAmfNode *cf_amf_node_new_strict_array (void);
CfAmfNode *cf_amf_node_new_null (void);
CfAmfNode *cf_amf_node_new_undefined (void);
CfAmfNode *cf_amf_node_copy (const CfAmfNode * node);
void cf_amf_node_free (CfAmfNode * node);

CfAmfType cf_amf_node_get_type (const CfAmfNode * node);
/* Number and date return their double; boolean 0/1; others 0. */
gdouble cf_amf_node_get_number (const CfAmfNode * node);
gboolean cf_amf_node_get_boolean (const CfAmfNode * node);
/* String and long string: the bytes (always NUL-terminated, may contain
 * NULs: use @size) else NULL. */
const gchar *cf_amf_node_get_string (const CfAmfNode * node, gsize * size);

/* Object and ECMA array: named fields in order. */
guint cf_amf_node_get_n_fields (const CfAmfNode * node);
const gchar *cf_amf_node_get_field_name (const CfAmfNode * node, guint n);
const CfAmfNode *cf_amf_node_get_field_value (const CfAmfNode * node,
    guint n);
/* First field named @name, or NULL. */
const CfAmfNode *cf_amf_node_get_field (const CfAmfNode * node,
    const gchar * name);
/* Takes ownership of @value. */
void cf_amf_node_append_field (CfAmfNode * node, const gchar * name,
    CfAmfNode * value);
void cf_amf_node_append_field_number (CfAmfNode * node, const gchar * name,
    gdouble value);
void cf_amf_node_append_field_boolean (CfAmfNode * node, const gchar * name,
    gboolean value);
void cf_amf_node_append_field_string (CfAmfNode * node, const gchar * name,
    const gchar * value);

/* Strict array: elements in order. */
guint cf_amf_node_get_n_elements (const CfAmfNode * node);
const CfAmfNode *cf_amf_node_get_element (const CfAmfNode * node, guint n);
void cf_amf_node_append_element (CfAmfNode * node, CfAmfNode * value);

/* Convenience for commands: the string of a field, or NULL if missing or not
 * a string; the number of a field, or @def. */
const gchar *cf_amf_node_get_field_string (const CfAmfNode * node,
    const gchar * name);
gdouble cf_amf_node_get_field_number (const CfAmfNode * node,
    const gchar * name, gdouble def);

/* Parses one value starting at @data. On success returns the value and sets
 * *@consumed to the bytes it used. */
CfAmfNode *cf_amf_parse_value (const guint8 * data, gsize size,
    gsize * consumed, GError ** error);

/* Parses every value in @data (a command or data message body) into an
 * array of CfAmfNode (free with g_ptr_array_unref). Fails if any value is
 * malformed or the limits are exceeded. The limits apply to the whole
 * message. */
GPtrArray *cf_amf_parse_all (const guint8 * data, gsize size,
    GError ** error);

/* Appends the AMF0 encoding of @node to @out. */
void cf_amf_node_serialize (const CfAmfNode * node, GByteArray * out);
/* Encodes several values one after the other (NULL-terminated list). */
GBytes *cf_amf_serialize_values (const CfAmfNode * first, ...)
    G_GNUC_NULL_TERMINATED;

/* A one-line human readable rendering for debug logs. */
gchar *cf_amf_node_to_string (const CfAmfNode * node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfAmfNode, cf_amf_node_free)

G_END_DECLS

#endif /* __CF_AMF_H__ */
