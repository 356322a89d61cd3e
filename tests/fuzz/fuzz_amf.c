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

/* libFuzzer target for the AMF0 parser.
 *
 * Parses the input as a command or data message body. Whatever parses must
 * serialise, parse back to a value that serialises to the same bytes and
 * renders to the same string, and the whole message must survive the same
 * round trip. Failures must be clean GErrors. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amf.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

#define CHECK(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) { \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
          #cond); \
      abort (); \
    } \
  } G_STMT_END

static gboolean
bytes_equal (const GByteArray * a, const GByteArray * b)
{
  return a->len == b->len && (a->len == 0 ||
      memcmp (a->data, b->data, a->len) == 0);
}

static void
check_value (const CfAmfNode * node, GByteArray * message)
{
  GByteArray *first = g_byte_array_new ();
  GByteArray *second = g_byte_array_new ();
  GByteArray *copied = g_byte_array_new ();
  GError *error = NULL;
  CfAmfNode *reparsed, *copy;
  gchar *str, *str2;
  gsize consumed = 0;

  cf_amf_node_serialize (node, first);
  CHECK (first->len > 0);
  g_byte_array_append (message, first->data, first->len);

  reparsed = cf_amf_parse_value (first->data, first->len, &consumed, &error);
  if (reparsed == NULL) {
    fprintf (stderr, "re-parsing a serialised value failed: %s\n",
        error ? error->message : "(no error)");
    abort ();
  }
  CHECK (error == NULL);
  CHECK (consumed == first->len);
  CHECK (cf_amf_node_get_type (reparsed) == cf_amf_node_get_type (node));

  cf_amf_node_serialize (reparsed, second);
  CHECK (bytes_equal (first, second));

  copy = cf_amf_node_copy (node);
  cf_amf_node_serialize (copy, copied);
  CHECK (bytes_equal (first, copied));

  str = cf_amf_node_to_string (node);
  str2 = cf_amf_node_to_string (reparsed);
  CHECK (str != NULL);
  CHECK (g_utf8_validate (str, -1, NULL));
  CHECK (strcmp (str, str2) == 0);

  g_free (str);
  g_free (str2);
  cf_amf_node_free (copy);
  cf_amf_node_free (reparsed);
  g_byte_array_unref (copied);
  g_byte_array_unref (second);
  g_byte_array_unref (first);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *error = NULL;
  GPtrArray *values, *again;
  GByteArray *message;
  guint i;

  values = cf_amf_parse_all (data, size, &error);
  if (values == NULL) {
    CHECK (error != NULL);
    CHECK (error->domain == CF_AMF_ERROR);
    CHECK (error->code >= CF_AMF_ERROR_TRUNCATED &&
        error->code <= CF_AMF_ERROR_INVALID);
    CHECK (error->message != NULL && error->message[0] != '\0');
    g_error_free (error);
    return 0;
  }
  CHECK (error == NULL);

  message = g_byte_array_new ();
  for (i = 0; i < values->len; i++)
    check_value (g_ptr_array_index (values, i), message);

  /* the message as a whole stays within the limits once re-encoded */
  again = cf_amf_parse_all (message->data, message->len, &error);
  if (again == NULL) {
    fprintf (stderr, "re-parsing the serialised message failed: %s\n",
        error ? error->message : "(no error)");
    abort ();
  }
  CHECK (again->len == values->len);

  g_ptr_array_unref (again);
  g_byte_array_unref (message);
  g_ptr_array_unref (values);
  return 0;
}
