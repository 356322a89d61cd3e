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

#include <gst/check/gstcheck.h>
#include <math.h>
#include <string.h>

#include "amf.h"

/* The connect command as ffmpeg sends it when publishing to
 * rtmp://127.0.0.1:1935/live */
static const guint8 connect_msg[] =
    "\x02\x00\x07" "connect"
    "\x00" "\x3f\xf0\x00\x00\x00\x00\x00\x00"
    "\x03"
    "\x00\x03" "app" "\x02\x00\x04" "live"
    "\x00\x04" "type" "\x02\x00\x0a" "nonprivate"
    "\x00\x08" "flashVer" "\x02\x00\x1f" "FMLE/3.0 (compatible; FMSc/1.0)"
    "\x00\x05" "tcUrl" "\x02\x00\x1a" "rtmp://127.0.0.1:1935/live"
    "\x00\x00\x09";
#define CONNECT_MSG_LEN (sizeof (connect_msg) - 1)
/* Offsets at which one of the three values of connect_msg ends */
#define CONNECT_END_NAME 10
#define CONNECT_END_TXID 19

/* The metadata ffmpeg sends before the first frame when publishing H.264 and
 * AAC over RTMP (FLV muxer, live: duration and filesize are 0) */
static const guint8 metadata_msg[] =
    "\x02\x00\x0d" "@setDataFrame"
    "\x02\x00\x0a" "onMetaData"
    "\x08" "\x00\x00\x00\x0d"
    "\x00\x08" "duration" "\x00" "\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x05" "width" "\x00" "\x40\x94\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "height" "\x00" "\x40\x86\x80\x00\x00\x00\x00\x00"
    "\x00\x0d" "videodatarate" "\x00" "\x40\xa3\x12\xd0\x00\x00\x00\x00"
    "\x00\x09" "framerate" "\x00" "\x40\x3e\x00\x00\x00\x00\x00\x00"
    "\x00\x0c" "videocodecid" "\x00" "\x40\x1c\x00\x00\x00\x00\x00\x00"
    "\x00\x0d" "audiodatarate" "\x00" "\x40\x5f\x40\x00\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplerate" "\x00" "\x40\xe5\x88\x80\x00\x00\x00\x00"
    "\x00\x0f" "audiosamplesize" "\x00" "\x40\x30\x00\x00\x00\x00\x00\x00"
    "\x00\x06" "stereo" "\x01" "\x01"
    "\x00\x0c" "audiocodecid" "\x00" "\x40\x24\x00\x00\x00\x00\x00\x00"
    "\x00\x07" "encoder" "\x02\x00\x0d" "Lavf59.27.100"
    "\x00\x08" "filesize" "\x00" "\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x09";
#define METADATA_MSG_LEN (sizeof (metadata_msg) - 1)

/* Helpers */

static GByteArray *
serialize (const CfAmfNode * node)
{
  GByteArray *out = g_byte_array_new ();

  cf_amf_node_serialize (node, out);
  return out;
}

static void
assert_bytes_equal (const guint8 * data, gsize size, const guint8 * expected,
    gsize expected_size)
{
  gsize i;

  fail_unless_equals_uint64 (size, expected_size);
  for (i = 0; i < size; i++) {
    if (data[i] != expected[i])
      fail ("byte %" G_GSIZE_FORMAT " is 0x%02x, expected 0x%02x", i,
          data[i], expected[i]);
  }
}

/* Parses @size bytes from an exactly sized heap copy, so that memory
 * checkers catch any read past the end */
static GPtrArray *
parse_all_copy (const guint8 * data, gsize size, GError ** error)
{
  guint8 *copy = g_memdup2 (data, size);
  GPtrArray *values = cf_amf_parse_all (copy, size, error);

  g_free (copy);
  return values;
}

static CfAmfNode *
parse_value_copy (const guint8 * data, gsize size, gsize * consumed,
    GError ** error)
{
  guint8 *copy = g_memdup2 (data, size);
  CfAmfNode *node = cf_amf_parse_value (copy, size, consumed, error);

  g_free (copy);
  return node;
}

static void
assert_parse_fails (const guint8 * data, gsize size, CfAmfError code)
{
  GError *error = NULL;
  GPtrArray *values = parse_all_copy (data, size, &error);

  fail_unless (values == NULL);
  fail_unless (error != NULL);
  fail_unless (error->domain == CF_AMF_ERROR);
  fail_unless_equals_int (error->code, code);
  fail_unless (error->message != NULL && error->message[0] != '\0');
  g_error_free (error);
}

/* Checks that @node serialises to exactly @expected, that the bytes parse
 * back into one value of the same type that serialises identically, and
 * returns the parsed value. Takes ownership of @node. */
static CfAmfNode *
check_round_trip (CfAmfNode * node, const guint8 * expected, gsize size)
{
  GByteArray *out, *again;
  CfAmfNode *parsed;
  GError *error = NULL;
  gsize consumed = 0;

  fail_unless (node != NULL);
  out = serialize (node);
  assert_bytes_equal (out->data, out->len, expected, size);

  parsed = parse_value_copy (out->data, out->len, &consumed, &error);
  fail_unless (parsed != NULL, "parse failed: %s",
      error ? error->message : "?");
  fail_unless (error == NULL);
  fail_unless_equals_uint64 (consumed, size);
  fail_unless_equals_int (cf_amf_node_get_type (parsed),
      cf_amf_node_get_type (node));

  again = serialize (parsed);
  assert_bytes_equal (again->data, again->len, expected, size);

  g_byte_array_unref (out);
  g_byte_array_unref (again);
  cf_amf_node_free (node);
  return parsed;
}

static void
assert_to_string (const CfAmfNode * node, const gchar * expected)
{
  gchar *s = cf_amf_node_to_string (node);

  fail_unless_equals_string (s, expected);
  g_free (s);
}

/* @n objects nested in each other (through fields named "a") */
static GByteArray *
make_nested_objects (guint n)
{
  GByteArray *b = g_byte_array_new ();
  static const guint8 field_a[] = { 0x00, 0x01, 'a' };
  static const guint8 end[] = { 0x00, 0x00, 0x09 };
  guint8 marker = CF_AMF_TYPE_OBJECT;
  guint i;

  g_byte_array_append (b, &marker, 1);
  for (i = 1; i < n; i++) {
    g_byte_array_append (b, field_a, sizeof (field_a));
    g_byte_array_append (b, &marker, 1);
  }
  for (i = 0; i < n; i++)
    g_byte_array_append (b, end, sizeof (end));
  return b;
}

/* @n strict arrays nested in each other, the innermost holding a null */
static GByteArray *
make_nested_strict_arrays (guint n)
{
  GByteArray *b = g_byte_array_new ();
  static const guint8 array_of_one[] = { 0x0a, 0x00, 0x00, 0x00, 0x01 };
  guint8 null_marker = CF_AMF_TYPE_NULL;
  guint i;

  for (i = 0; i < n; i++)
    g_byte_array_append (b, array_of_one, sizeof (array_of_one));
  g_byte_array_append (b, &null_marker, 1);
  return b;
}

/* A strict array of @n nulls */
static GByteArray *
make_null_array (guint n)
{
  GByteArray *b = g_byte_array_new ();
  guint8 header[5] = { 0x0a, n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff,
    n & 0xff
  };
  guint8 null_marker = CF_AMF_TYPE_NULL;
  guint i;

  g_byte_array_append (b, header, sizeof (header));
  for (i = 0; i < n; i++)
    g_byte_array_append (b, &null_marker, 1);
  return b;
}

/* Tests */

GST_START_TEST (test_type_nicks)
{
  fail_unless_equals_string (cf_amf_type_get_nick (CF_AMF_TYPE_NUMBER),
      "number");
  fail_unless_equals_string (cf_amf_type_get_nick (CF_AMF_TYPE_ECMA_ARRAY),
      "ecma-array");
  fail_unless_equals_string (cf_amf_type_get_nick
      (CF_AMF_TYPE_LONG_STRING), "long-string");
  fail_unless_equals_string (cf_amf_type_get_nick (CF_AMF_TYPE_INVALID),
      "invalid");
  fail_unless_equals_string (cf_amf_type_get_nick ((CfAmfType) 0x42),
      "unknown");
}

GST_END_TEST;

GST_START_TEST (test_round_trip_scalars)
{
  CfAmfNode *n;
  const gchar *s;
  gsize size;

  n = check_round_trip (cf_amf_node_new_number (1.0),
      (const guint8 *) "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00", 9);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_NUMBER);
  fail_unless_equals_float (cf_amf_node_get_number (n), 1.0);
  assert_to_string (n, "1");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (-2.5),
      (const guint8 *) "\x00\xc0\x04\x00\x00\x00\x00\x00\x00", 9);
  fail_unless_equals_float (cf_amf_node_get_number (n), -2.5);
  assert_to_string (n, "-2.5");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (3071),
      (const guint8 *) "\x00\x40\xa7\xfe\x00\x00\x00\x00\x00", 9);
  fail_unless_equals_float (cf_amf_node_get_number (n), 3071.0);
  assert_to_string (n, "3071");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (0.1),
      (const guint8 *) "\x00\x3f\xb9\x99\x99\x99\x99\x99\x9a", 9);
  fail_unless (cf_amf_node_get_number (n) == 0.1);
  assert_to_string (n, "0.1");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (1e300),
      (const guint8 *) "\x00\x7e\x37\xe4\x3c\x88\x00\x75\x9c", 9);
  fail_unless (cf_amf_node_get_number (n) == 1e300);
  assert_to_string (n, "1e+300");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (-0.0),
      (const guint8 *) "\x00\x80\x00\x00\x00\x00\x00\x00\x00", 9);
  fail_unless (signbit (cf_amf_node_get_number (n)));
  assert_to_string (n, "-0");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (INFINITY),
      (const guint8 *) "\x00\x7f\xf0\x00\x00\x00\x00\x00\x00", 9);
  fail_unless (isinf (cf_amf_node_get_number (n)));
  assert_to_string (n, "inf");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_number (NAN),
      (const guint8 *) "\x00\x7f\xf8\x00\x00\x00\x00\x00\x00", 9);
  fail_unless (isnan (cf_amf_node_get_number (n)));
  assert_to_string (n, "nan");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_boolean (TRUE),
      (const guint8 *) "\x01\x01", 2);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_BOOLEAN);
  fail_unless (cf_amf_node_get_boolean (n) == TRUE);
  fail_unless_equals_float (cf_amf_node_get_number (n), 1.0);
  assert_to_string (n, "true");
  cf_amf_node_free (n);

  /* any non-zero value is true */
  n = check_round_trip (cf_amf_node_new_boolean (42),
      (const guint8 *) "\x01\x01", 2);
  fail_unless (cf_amf_node_get_boolean (n) == TRUE);
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_boolean (FALSE),
      (const guint8 *) "\x01\x00", 2);
  fail_unless (cf_amf_node_get_boolean (n) == FALSE);
  fail_unless_equals_float (cf_amf_node_get_number (n), 0.0);
  assert_to_string (n, "false");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_string ("live", -1),
      (const guint8 *) "\x02\x00\x04live", 7);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_STRING);
  s = cf_amf_node_get_string (n, &size);
  fail_unless_equals_string (s, "live");
  fail_unless_equals_uint64 (size, 4);
  assert_to_string (n, "\"live\"");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_string ("", -1),
      (const guint8 *) "\x02\x00\x00", 3);
  s = cf_amf_node_get_string (n, &size);
  fail_unless_equals_string (s, "");
  fail_unless_equals_uint64 (size, 0);
  assert_to_string (n, "\"\"");
  cf_amf_node_free (n);

  /* embedded NUL, quotes and non-ASCII UTF-8 are kept as they are */
  n = check_round_trip (cf_amf_node_new_string ("a\0\"\xc3\xa9", 5),
      (const guint8 *) "\x02\x00\x05" "a\0\"\xc3\xa9", 8);
  s = cf_amf_node_get_string (n, &size);
  fail_unless_equals_uint64 (size, 5);
  fail_unless (memcmp (s, "a\0\"\xc3\xa9", 6) == 0);
  assert_to_string (n, "\"a\\x00\\\"\xc3\xa9\"");
  cf_amf_node_free (n);

  /* the size can be given with a non terminated string */
  n = check_round_trip (cf_amf_node_new_string ("abcdef", 3),
      (const guint8 *) "\x02\x00\x03" "abc", 6);
  fail_unless_equals_string (cf_amf_node_get_string (n, NULL), "abc");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_null (), (const guint8 *) "\x05", 1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_NULL);
  assert_to_string (n, "null");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_undefined (),
      (const guint8 *) "\x06", 1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_UNDEFINED);
  assert_to_string (n, "undefined");
  cf_amf_node_free (n);
}

GST_END_TEST;

GST_START_TEST (test_round_trip_date_and_long_string)
{
  /* 2023-11-14T22:13:20Z, timezone -60 */
  static const guint8 date[] =
      "\x0b" "\x42\x78\xbc\xfe\x56\x80\x00\x00" "\xff\xc4";
  static const guint8 long_string[] = "\x0c\x00\x00\x00\x03" "abc";
  CfAmfNode *n, *copy;
  GByteArray *out;
  gsize consumed;
  GError *error = NULL;

  n = parse_value_copy (date, sizeof (date) - 1, &consumed, &error);
  fail_unless (n != NULL);
  fail_unless (error == NULL);
  fail_unless_equals_uint64 (consumed, 11);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_DATE);
  fail_unless_equals_float (cf_amf_node_get_number (n), 1700000000000.0);
  assert_to_string (n, "date(1700000000000, tz -60)");
  copy = cf_amf_node_copy (n);
  cf_amf_node_free (n);
  n = check_round_trip (copy, date, sizeof (date) - 1);
  cf_amf_node_free (n);

  /* a short long string stays a long string */
  n = parse_value_copy (long_string, sizeof (long_string) - 1, &consumed,
      &error);
  fail_unless (n != NULL);
  fail_unless_equals_uint64 (consumed, 8);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_LONG_STRING);
  fail_unless_equals_string (cf_amf_node_get_string (n, NULL), "abc");
  out = serialize (n);
  assert_bytes_equal (out->data, out->len, long_string,
      sizeof (long_string) - 1);
  g_byte_array_unref (out);
  cf_amf_node_free (n);
}

GST_END_TEST;

GST_START_TEST (test_round_trip_containers)
{
  static const guint8 object[] =
      "\x03"
      "\x00\x01" "a" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
      "\x00\x01" "b" "\x02\x00\x01" "x"
      "\x00\x01" "c" "\x03" "\x00\x01" "d" "\x05" "\x00\x00\x09" "\x00\x00\x09";
  static const guint8 empty_object[] = "\x03\x00\x00\x09";
  static const guint8 ecma[] =
      "\x08\x00\x00\x00\x02"
      "\x00\x05" "width" "\x00\x40\x94\x00\x00\x00\x00\x00\x00"
      "\x00\x06" "stereo" "\x01\x01" "\x00\x00\x09";
  static const guint8 empty_ecma[] = "\x08\x00\x00\x00\x00\x00\x00\x09";
  static const guint8 strict[] =
      "\x0a\x00\x00\x00\x04"
      "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
      "\x02\x00\x01" "x" "\x05" "\x0a\x00\x00\x00\x01" "\x06";
  static const guint8 empty_strict[] = "\x0a\x00\x00\x00\x00";
  CfAmfNode *n, *inner;
  const CfAmfNode *c;

  n = cf_amf_node_new_object ();
  cf_amf_node_append_field_number (n, "a", 1.0);
  cf_amf_node_append_field_string (n, "b", "x");
  inner = cf_amf_node_new_object ();
  cf_amf_node_append_field (inner, "d", cf_amf_node_new_null ());
  cf_amf_node_append_field (n, "c", inner);
  n = check_round_trip (n, object, sizeof (object) - 1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_OBJECT);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 3);
  fail_unless_equals_string (cf_amf_node_get_field_name (n, 0), "a");
  fail_unless_equals_string (cf_amf_node_get_field_name (n, 1), "b");
  fail_unless_equals_string (cf_amf_node_get_field_name (n, 2), "c");
  fail_unless_equals_float (cf_amf_node_get_field_number (n, "a", -1), 1.0);
  fail_unless_equals_string (cf_amf_node_get_field_string (n, "b"), "x");
  c = cf_amf_node_get_field (n, "c");
  fail_unless (c == cf_amf_node_get_field_value (n, 2));
  fail_unless_equals_int (cf_amf_node_get_type (c), CF_AMF_TYPE_OBJECT);
  fail_unless_equals_int (cf_amf_node_get_n_fields (c), 1);
  fail_unless_equals_int (cf_amf_node_get_type (cf_amf_node_get_field (c,
              "d")), CF_AMF_TYPE_NULL);
  assert_to_string (n, "{a: 1, b: \"x\", c: {d: null}}");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_object (), empty_object,
      sizeof (empty_object) - 1);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 0);
  assert_to_string (n, "{}");
  cf_amf_node_free (n);

  n = cf_amf_node_new_ecma_array ();
  cf_amf_node_append_field_number (n, "width", 1280);
  cf_amf_node_append_field_boolean (n, "stereo", TRUE);
  n = check_round_trip (n, ecma, sizeof (ecma) - 1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_ECMA_ARRAY);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 2);
  fail_unless_equals_float (cf_amf_node_get_field_number (n, "width", 0), 1280);
  fail_unless (cf_amf_node_get_boolean (cf_amf_node_get_field (n, "stereo")));
  assert_to_string (n, "[width: 1280, stereo: true]");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_ecma_array (), empty_ecma,
      sizeof (empty_ecma) - 1);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 0);
  cf_amf_node_free (n);

  n = cf_amf_node_new_strict_array ();
  cf_amf_node_append_element (n, cf_amf_node_new_number (1.0));
  cf_amf_node_append_element (n, cf_amf_node_new_string ("x", -1));
  cf_amf_node_append_element (n, cf_amf_node_new_null ());
  inner = cf_amf_node_new_strict_array ();
  cf_amf_node_append_element (inner, cf_amf_node_new_undefined ());
  cf_amf_node_append_element (n, inner);
  n = check_round_trip (n, strict, sizeof (strict) - 1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_STRICT_ARRAY);
  fail_unless_equals_int (cf_amf_node_get_n_elements (n), 4);
  fail_unless_equals_float (cf_amf_node_get_number (cf_amf_node_get_element
          (n, 0)), 1.0);
  fail_unless_equals_string (cf_amf_node_get_string (cf_amf_node_get_element
          (n, 1), NULL), "x");
  fail_unless_equals_int (cf_amf_node_get_type (cf_amf_node_get_element (n,
              2)), CF_AMF_TYPE_NULL);
  c = cf_amf_node_get_element (n, 3);
  fail_unless_equals_int (cf_amf_node_get_n_elements (c), 1);
  fail_unless_equals_int (cf_amf_node_get_type (cf_amf_node_get_element (c,
              0)), CF_AMF_TYPE_UNDEFINED);
  fail_unless (cf_amf_node_get_element (n, 4) == NULL);
  assert_to_string (n, "[1, \"x\", null, [undefined]]");
  cf_amf_node_free (n);

  n = check_round_trip (cf_amf_node_new_strict_array (), empty_strict,
      sizeof (empty_strict) - 1);
  fail_unless_equals_int (cf_amf_node_get_n_elements (n), 0);
  assert_to_string (n, "[]");
  cf_amf_node_free (n);
}

GST_END_TEST;

GST_START_TEST (test_connect_command)
{
  g_autoptr (GPtrArray) values = NULL;
  g_autoptr (CfAmfNode) built = NULL;
  g_autoptr (CfAmfNode) name = NULL;
  g_autoptr (CfAmfNode) txid = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GError *error = NULL;
  const CfAmfNode *obj;
  CfAmfNode *head;
  gsize consumed = 0;
  gsize size;

  fail_unless_equals_int (CONNECT_MSG_LEN, 134);

  values = parse_all_copy (connect_msg, CONNECT_MSG_LEN, &error);
  fail_unless (values != NULL, "%s", error ? error->message : "?");
  fail_unless_equals_int (values->len, 3);

  fail_unless_equals_int (cf_amf_node_get_type (values->pdata[0]),
      CF_AMF_TYPE_STRING);
  fail_unless_equals_string (cf_amf_node_get_string (values->pdata[0],
          &size), "connect");
  fail_unless_equals_uint64 (size, 7);

  fail_unless_equals_int (cf_amf_node_get_type (values->pdata[1]),
      CF_AMF_TYPE_NUMBER);
  fail_unless_equals_float (cf_amf_node_get_number (values->pdata[1]), 1.0);

  obj = values->pdata[2];
  fail_unless_equals_int (cf_amf_node_get_type (obj), CF_AMF_TYPE_OBJECT);
  fail_unless_equals_int (cf_amf_node_get_n_fields (obj), 4);
  fail_unless_equals_string (cf_amf_node_get_field_name (obj, 0), "app");
  fail_unless_equals_string (cf_amf_node_get_field_name (obj, 1), "type");
  fail_unless_equals_string (cf_amf_node_get_field_name (obj, 2), "flashVer");
  fail_unless_equals_string (cf_amf_node_get_field_name (obj, 3), "tcUrl");
  fail_unless (cf_amf_node_get_field_name (obj, 4) == NULL);
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "app"), "live");
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "type"),
      "nonprivate");
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "flashVer"),
      "FMLE/3.0 (compatible; FMSc/1.0)");
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "tcUrl"),
      "rtmp://127.0.0.1:1935/live");
  fail_unless (cf_amf_node_get_field (obj, "swfUrl") == NULL);
  fail_unless (cf_amf_node_get_field_string (obj, "swfUrl") == NULL);
  fail_unless_equals_float (cf_amf_node_get_field_number (obj,
          "objectEncoding", 0.0), 0.0);
  /* a string field is not a number */
  fail_unless_equals_float (cf_amf_node_get_field_number (obj, "app", -7), -7);
  assert_to_string (obj, "{app: \"live\", type: \"nonprivate\", "
      "flashVer: \"FMLE/3.0 (compatible; FMSc/1.0)\", "
      "tcUrl: \"rtmp://127.0.0.1:1935/live\"}");

  /* building the same command gives the same bytes */
  name = cf_amf_node_new_string ("connect", -1);
  txid = cf_amf_node_new_number (1);
  built = cf_amf_node_new_object ();
  cf_amf_node_append_field_string (built, "app", "live");
  cf_amf_node_append_field_string (built, "type", "nonprivate");
  cf_amf_node_append_field_string (built, "flashVer",
      "FMLE/3.0 (compatible; FMSc/1.0)");
  cf_amf_node_append_field_string (built, "tcUrl",
      "rtmp://127.0.0.1:1935/live");
  bytes = cf_amf_serialize_values (name, txid, built, NULL);
  assert_bytes_equal (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      connect_msg, CONNECT_MSG_LEN);

  /* parse_value stops after the first value */
  head = parse_value_copy (connect_msg, CONNECT_MSG_LEN, &consumed, &error);
  fail_unless (head != NULL);
  fail_unless_equals_uint64 (consumed, CONNECT_END_NAME);
  fail_unless_equals_string (cf_amf_node_get_string (head, NULL), "connect");
  cf_amf_node_free (head);
}

GST_END_TEST;

GST_START_TEST (test_connect_truncated)
{
  gsize len;

  /* Every prefix either ends exactly between two values (and holds those
   * values), or fails as truncated, without reading past its end */
  for (len = 0; len < CONNECT_MSG_LEN; len++) {
    GError *error = NULL;
    GPtrArray *values = parse_all_copy (connect_msg, len, &error);

    if (len == 0 || len == CONNECT_END_NAME || len == CONNECT_END_TXID) {
      fail_unless (values != NULL, "prefix of %" G_GSIZE_FORMAT
          " bytes failed: %s", len, error ? error->message : "?");
      fail_unless_equals_int (values->len, len == 0 ? 0 :
          len == CONNECT_END_NAME ? 1 : 2);
      g_ptr_array_unref (values);
    } else {
      fail_unless (values == NULL, "prefix of %" G_GSIZE_FORMAT
          " bytes parsed", len);
      fail_unless (error != NULL);
      fail_unless (g_error_matches (error, CF_AMF_ERROR,
              CF_AMF_ERROR_TRUNCATED), "prefix of %" G_GSIZE_FORMAT
          " bytes: %s", len, error->message);
      g_error_free (error);
    }
  }

  /* The object alone, cut anywhere */
  for (len = 0; len < CONNECT_MSG_LEN - CONNECT_END_TXID; len++) {
    GError *error = NULL;
    gsize consumed = 42;
    CfAmfNode *n = parse_value_copy (connect_msg + CONNECT_END_TXID, len,
        &consumed, &error);

    fail_unless (n == NULL);
    fail_unless_equals_uint64 (consumed, 0);
    fail_unless (g_error_matches (error, CF_AMF_ERROR, CF_AMF_ERROR_TRUNCATED));
    g_error_free (error);
  }
}

GST_END_TEST;

GST_START_TEST (test_ffmpeg_metadata)
{
  g_autoptr (GPtrArray) values = NULL;
  GError *error = NULL;
  const CfAmfNode *meta;
  GByteArray *out;
  guint i;

  values = parse_all_copy (metadata_msg, METADATA_MSG_LEN, &error);
  fail_unless (values != NULL, "%s", error ? error->message : "?");
  fail_unless_equals_int (values->len, 3);
  fail_unless_equals_string (cf_amf_node_get_string (values->pdata[0], NULL),
      "@setDataFrame");
  fail_unless_equals_string (cf_amf_node_get_string (values->pdata[1], NULL),
      "onMetaData");

  meta = values->pdata[2];
  fail_unless_equals_int (cf_amf_node_get_type (meta), CF_AMF_TYPE_ECMA_ARRAY);
  fail_unless_equals_int (cf_amf_node_get_n_fields (meta), 13);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "width", 0),
      1280);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "height", 0),
      720);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta,
          "videodatarate", 0), 2441.40625);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "framerate",
          0), 30);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta,
          "videocodecid", 0), 7);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta,
          "audiosamplerate", 0), 44100);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta,
          "audiocodecid", 0), 10);
  fail_unless (cf_amf_node_get_boolean (cf_amf_node_get_field (meta,
              "stereo")));
  fail_unless_equals_string (cf_amf_node_get_field_string (meta, "encoder"),
      "Lavf59.27.100");
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "filesize",
          -1), 0);
  assert_to_string (meta, "[duration: 0, width: 1280, height: 720, "
      "videodatarate: 2441.40625, framerate: 30, videocodecid: 7, "
      "audiodatarate: 125, audiosamplerate: 44100, audiosamplesize: 16, "
      "stereo: true, audiocodecid: 10, encoder: \"Lavf59.27.100\", "
      "filesize: 0]");

  /* and it serialises back to the same bytes */
  out = g_byte_array_new ();
  for (i = 0; i < values->len; i++)
    cf_amf_node_serialize (values->pdata[i], out);
  assert_bytes_equal (out->data, out->len, metadata_msg, METADATA_MSG_LEN);
  g_byte_array_unref (out);
}

GST_END_TEST;

GST_START_TEST (test_depth_limit)
{
  guint n;

  fail_unless_equals_int (CF_AMF_MAX_DEPTH, 32);

  for (n = 1; n <= CF_AMF_MAX_DEPTH + 2; n++) {
    GByteArray *objects = make_nested_objects (n);
    GByteArray *arrays = make_nested_strict_arrays (n);
    GError *error = NULL;
    GPtrArray *values;

    values = parse_all_copy (objects->data, objects->len, &error);
    if (n <= CF_AMF_MAX_DEPTH) {
      const CfAmfNode *node;
      guint depth = 1;

      fail_unless (values != NULL, "%u objects: %s", n,
          error ? error->message : "?");
      fail_unless_equals_int (values->len, 1);
      /* walk down to check the whole chain was built */
      node = values->pdata[0];
      while (cf_amf_node_get_field (node, "a") != NULL) {
        node = cf_amf_node_get_field (node, "a");
        depth++;
      }
      fail_unless_equals_int (depth, n);
      fail_unless_equals_int (cf_amf_node_get_type (node), CF_AMF_TYPE_OBJECT);
      g_ptr_array_unref (values);
    } else {
      fail_unless (values == NULL, "%u nested objects parsed", n);
      fail_unless (g_error_matches (error, CF_AMF_ERROR,
              CF_AMF_ERROR_TOO_DEEP), "%u objects: %s", n, error->message);
      g_clear_error (&error);
    }

    values = parse_all_copy (arrays->data, arrays->len, &error);
    if (n <= CF_AMF_MAX_DEPTH) {
      fail_unless (values != NULL, "%u arrays: %s", n,
          error ? error->message : "?");
      g_ptr_array_unref (values);
    } else {
      fail_unless (values == NULL, "%u nested arrays parsed", n);
      fail_unless (g_error_matches (error, CF_AMF_ERROR,
              CF_AMF_ERROR_TOO_DEEP));
      g_clear_error (&error);
    }

    g_byte_array_unref (objects);
    g_byte_array_unref (arrays);
  }

  /* the limits named in the interface: 31 ok, 33 fail */
  {
    GByteArray *ok = make_nested_objects (31);
    GByteArray *bad = make_nested_objects (33);
    GPtrArray *values = parse_all_copy (ok->data, ok->len, NULL);

    fail_unless (values != NULL);
    g_ptr_array_unref (values);
    assert_parse_fails (bad->data, bad->len, CF_AMF_ERROR_TOO_DEEP);
    g_byte_array_unref (ok);
    g_byte_array_unref (bad);
  }

  /* a mix of containers counts too: ECMA array in object in strict array */
  {
    GByteArray *b = g_byte_array_new ();
    static const guint8 strict_one[] = { 0x0a, 0x00, 0x00, 0x00, 0x01 };
    static const guint8 object_a[] = { 0x03, 0x00, 0x01, 'a' };
    static const guint8 ecma_a[] = { 0x08, 0x00, 0x00, 0x00, 0x01, 0x00,
      0x01, 'a'
    };
    static const guint8 end[] = { 0x00, 0x00, 0x09 };
    guint i;

    for (i = 0; i < 11; i++) {
      g_byte_array_append (b, strict_one, sizeof (strict_one));
      g_byte_array_append (b, object_a, sizeof (object_a));
      g_byte_array_append (b, ecma_a, sizeof (ecma_a));
    }
    g_byte_array_append (b, (const guint8 *) "\x05", 1);
    for (i = 0; i < 11; i++) {
      g_byte_array_append (b, end, sizeof (end));
      g_byte_array_append (b, end, sizeof (end));
    }
    assert_parse_fails (b->data, b->len, CF_AMF_ERROR_TOO_DEEP);
    g_byte_array_unref (b);
  }
}

GST_END_TEST;

GST_START_TEST (test_node_limit)
{
  GByteArray *b;
  GPtrArray *values;
  GError *error = NULL;
  CfAmfNode *n;
  guint8 *nulls;

  /* CF_AMF_MAX_NODES top level values are fine, one more is not */
  nulls = g_malloc (CF_AMF_MAX_NODES + 1);
  memset (nulls, CF_AMF_TYPE_NULL, CF_AMF_MAX_NODES + 1);
  values = parse_all_copy (nulls, CF_AMF_MAX_NODES, &error);
  fail_unless (values != NULL);
  fail_unless_equals_int (values->len, CF_AMF_MAX_NODES);
  g_ptr_array_unref (values);
  assert_parse_fails (nulls, CF_AMF_MAX_NODES + 1, CF_AMF_ERROR_TOO_MANY);
  g_free (nulls);

  /* containers count as values: an array and its elements */
  b = make_null_array (CF_AMF_MAX_NODES - 1);
  n = parse_value_copy (b->data, b->len, NULL, &error);
  fail_unless (n != NULL);
  fail_unless_equals_int (cf_amf_node_get_n_elements (n), CF_AMF_MAX_NODES - 1);
  cf_amf_node_free (n);
  g_byte_array_unref (b);

  b = make_null_array (CF_AMF_MAX_NODES);
  n = parse_value_copy (b->data, b->len, NULL, &error);
  fail_unless (n == NULL);
  fail_unless (g_error_matches (error, CF_AMF_ERROR, CF_AMF_ERROR_TOO_MANY));
  g_clear_error (&error);
  g_byte_array_unref (b);

  /* the count is for the whole message, not per value: two arrays that are
   * each fine on their own are too many together */
  b = make_null_array (9000);
  n = parse_value_copy (b->data, b->len, NULL, &error);
  fail_unless (n != NULL);
  cf_amf_node_free (n);
  {
    GByteArray *second = make_null_array (9000);

    g_byte_array_append (b, second->data, second->len);
    g_byte_array_unref (second);
  }
  assert_parse_fails (b->data, b->len, CF_AMF_ERROR_TOO_MANY);
  g_byte_array_unref (b);

  /* the count starts again at each call */
  b = make_null_array (CF_AMF_MAX_NODES - 1);
  values = parse_all_copy (b->data, b->len, NULL);
  fail_unless (values != NULL);
  g_ptr_array_unref (values);
  values = parse_all_copy (b->data, b->len, NULL);
  fail_unless (values != NULL);
  g_ptr_array_unref (values);
  g_byte_array_unref (b);
}

GST_END_TEST;

GST_START_TEST (test_ecma_array_count_is_a_hint)
{
  static const guint8 two_fields[] =
      "\x00\x01" "a" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
      "\x00\x01" "b" "\x01\x01" "\x00\x00\x09";
  static const guint32 counts[] = { 0, 1, 5, 0x7fffffff, 0xffffffff };
  static const guint8 expected[] =
      "\x08\x00\x00\x00\x02"
      "\x00\x01" "a" "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
      "\x00\x01" "b" "\x01\x01" "\x00\x00\x09";
  guint i;

  for (i = 0; i < G_N_ELEMENTS (counts); i++) {
    GByteArray *b = g_byte_array_new ();
    guint8 header[5] = { 0x08, counts[i] >> 24, (counts[i] >> 16) & 0xff,
      (counts[i] >> 8) & 0xff, counts[i] & 0xff
    };
    GError *error = NULL;
    gsize consumed = 0;
    CfAmfNode *n;
    GByteArray *out;

    g_byte_array_append (b, header, 5);
    g_byte_array_append (b, two_fields, sizeof (two_fields) - 1);
    n = parse_value_copy (b->data, b->len, &consumed, &error);
    fail_unless (n != NULL, "count %u: %s", counts[i],
        error ? error->message : "?");
    fail_unless_equals_uint64 (consumed, b->len);
    fail_unless_equals_int (cf_amf_node_get_n_fields (n), 2);
    fail_unless_equals_float (cf_amf_node_get_field_number (n, "a", 0), 1.0);
    fail_unless (cf_amf_node_get_boolean (cf_amf_node_get_field (n, "b")));

    /* serialising writes the real count */
    out = serialize (n);
    assert_bytes_equal (out->data, out->len, expected, sizeof (expected) - 1);
    g_byte_array_unref (out);
    cf_amf_node_free (n);
    g_byte_array_unref (b);
  }
}

GST_END_TEST;

GST_START_TEST (test_ecma_array_without_end_marker)
{
  static const guint8 unterminated[] =
      "\x02\x00\x0a" "onMetaData"
      "\x08\x00\x00\x00\x02"
      "\x00\x05" "width" "\x00\x40\x94\x00\x00\x00\x00\x00\x00"
      "\x00\x06" "height" "\x00\x40\x86\x80\x00\x00\x00\x00\x00";
  static const guint8 empty_unterminated[] = "\x08\x00\x00\x00\x00";
  static const guint8 half_marker[] =
      "\x08\x00\x00\x00\x01" "\x00\x01" "a" "\x05" "\x00\x00";
  static const guint8 in_object[] =
      "\x03" "\x00\x01" "m" "\x08\x00\x00\x00\x01" "\x00\x01" "a" "\x05";
  g_autoptr (GPtrArray) values = NULL;
  GError *error = NULL;
  const CfAmfNode *meta;
  CfAmfNode *n;

  /* accepted when the data ends right after a field */
  values = parse_all_copy (unterminated, sizeof (unterminated) - 1, &error);
  fail_unless (values != NULL, "%s", error ? error->message : "?");
  fail_unless_equals_int (values->len, 2);
  meta = values->pdata[1];
  fail_unless_equals_int (cf_amf_node_get_type (meta), CF_AMF_TYPE_ECMA_ARRAY);
  fail_unless_equals_int (cf_amf_node_get_n_fields (meta), 2);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "width", 0),
      1280);
  fail_unless_equals_float (cf_amf_node_get_field_number (meta, "height", 0),
      720);

  n = parse_value_copy (empty_unterminated, sizeof (empty_unterminated) - 1,
      NULL, &error);
  fail_unless (n != NULL);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 0);
  cf_amf_node_free (n);

  /* but not when the data ends inside a field or the end marker */
  assert_parse_fails (unterminated, sizeof (unterminated) - 2,
      CF_AMF_ERROR_TRUNCATED);
  assert_parse_fails (half_marker, sizeof (half_marker) - 1,
      CF_AMF_ERROR_TRUNCATED);
  /* nor for an ECMA array inside an object, nor for objects */
  assert_parse_fails (in_object, sizeof (in_object) - 1,
      CF_AMF_ERROR_TRUNCATED);
  assert_parse_fails ((const guint8 *) "\x03\x00\x01" "a" "\x05", 5,
      CF_AMF_ERROR_TRUNCATED);
}

GST_END_TEST;

GST_START_TEST (test_empty_field_name)
{
  /* an empty name followed by a value is a field named "" */
  static const guint8 empty_name[] =
      "\x03" "\x00\x00" "\x05" "\x00\x01" "x" "\x01\x00" "\x00\x00\x09";
  CfAmfNode *n;
  gsize consumed = 0;

  n = parse_value_copy (empty_name, sizeof (empty_name) - 1, &consumed, NULL);
  fail_unless (n != NULL);
  fail_unless_equals_uint64 (consumed, sizeof (empty_name) - 1);
  fail_unless_equals_int (cf_amf_node_get_n_fields (n), 2);
  fail_unless_equals_string (cf_amf_node_get_field_name (n, 0), "");
  fail_unless_equals_int (cf_amf_node_get_type (cf_amf_node_get_field (n,
              "")), CF_AMF_TYPE_NULL);
  fail_unless_equals_string (cf_amf_node_get_field_name (n, 1), "x");
  fail_unless (cf_amf_node_get_boolean (cf_amf_node_get_field (n,
              "x")) == FALSE);
  assert_to_string (n, "{\"\": null, x: false}");
  cf_amf_node_free (n);
}

GST_END_TEST;

GST_START_TEST (test_strict_array_count)
{
  /* the count says 1000 but there are two elements */
  static const guint8 short_array[] = "\x0a\x00\x00\x03\xe8" "\x05\x05";
  static const guint8 huge_count[] = "\x0a\xff\xff\xff\xff" "\x05\x05\x05";
  static const guint8 no_count[] = "\x0a\x00\x00";
  /* the count is less than the data: the rest is the next value */
  static const guint8 two_values[] = "\x0a\x00\x00\x00\x01" "\x05" "\x06";
  GPtrArray *values;
  GError *error = NULL;

  assert_parse_fails (short_array, sizeof (short_array) - 1,
      CF_AMF_ERROR_TRUNCATED);
  assert_parse_fails (huge_count, sizeof (huge_count) - 1,
      CF_AMF_ERROR_TRUNCATED);
  /* a count that cannot fit the data fails at once, with a clear message */
  fail_unless (cf_amf_parse_value (huge_count, sizeof (huge_count) - 1, NULL,
          &error) == NULL);
  fail_unless (g_error_matches (error, CF_AMF_ERROR, CF_AMF_ERROR_TRUNCATED));
  fail_unless (strstr (error->message, "strict array count 4294967295 "
          "exceeds the 3 remaining bytes") != NULL, "%s", error->message);
  g_clear_error (&error);
  assert_parse_fails (no_count, sizeof (no_count) - 1, CF_AMF_ERROR_TRUNCATED);

  values = parse_all_copy (two_values, sizeof (two_values) - 1, NULL);
  fail_unless (values != NULL);
  fail_unless_equals_int (values->len, 2);
  fail_unless_equals_int (cf_amf_node_get_n_elements (values->pdata[0]), 1);
  fail_unless_equals_int (cf_amf_node_get_type (values->pdata[1]),
      CF_AMF_TYPE_UNDEFINED);
  g_ptr_array_unref (values);
}

GST_END_TEST;

GST_START_TEST (test_long_strings)
{
  gchar *big;
  CfAmfNode *n, *parsed;
  GByteArray *out;
  GError *error = NULL;
  gsize size, consumed = 0;
  const gchar *s;
  gchar *str;
  guint8 *bad;

  big = g_malloc (70001);
  memset (big, 'x', 70000);
  big[70000] = '\0';

  /* 65535 bytes still fit a plain string */
  n = cf_amf_node_new_string (big, 65535);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_STRING);
  out = serialize (n);
  fail_unless_equals_int (out->len, 3 + 65535);
  fail_unless (memcmp (out->data, "\x02\xff\xff", 3) == 0);
  fail_unless (memcmp (out->data + 3, big, 65535) == 0);
  g_byte_array_unref (out);
  cf_amf_node_free (n);

  /* one more needs a long string */
  n = cf_amf_node_new_string (big, 65536);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_LONG_STRING);
  out = serialize (n);
  fail_unless_equals_int (out->len, 5 + 65536);
  fail_unless (memcmp (out->data, "\x0c\x00\x01\x00\x00", 5) == 0);
  g_byte_array_unref (out);
  cf_amf_node_free (n);

  n = cf_amf_node_new_string (big, -1);
  fail_unless_equals_int (cf_amf_node_get_type (n), CF_AMF_TYPE_LONG_STRING);
  out = serialize (n);
  fail_unless_equals_int (out->len, 5 + 70000);
  /* 70000 = 0x11170 */
  fail_unless (memcmp (out->data, "\x0c\x00\x01\x11\x70", 5) == 0);
  fail_unless (memcmp (out->data + 5, big, 70000) == 0);

  parsed = parse_value_copy (out->data, out->len, &consumed, &error);
  fail_unless (parsed != NULL);
  fail_unless_equals_uint64 (consumed, 70005);
  fail_unless_equals_int (cf_amf_node_get_type (parsed),
      CF_AMF_TYPE_LONG_STRING);
  s = cf_amf_node_get_string (parsed, &size);
  fail_unless_equals_uint64 (size, 70000);
  fail_unless (memcmp (s, big, 70000) == 0);
  fail_unless_equals_int (s[70000], '\0');

  /* the rendering is truncated */
  str = cf_amf_node_to_string (parsed);
  fail_unless (g_str_has_prefix (str, "\"xxxxxxxx"));
  fail_unless (g_str_has_suffix (str, "xxx\"...(70000 bytes)"));
  fail_unless_equals_int (strlen (str), 1 + 128 + 1 + strlen ("...(70000 "
          "bytes)"));
  g_free (str);
  cf_amf_node_free (parsed);

  /* a length larger than the data fails with a clear message */
  bad = g_memdup2 (out->data, 5 + 12);
  parsed = cf_amf_parse_value (bad, 5 + 12, &consumed, &error);
  fail_unless (parsed == NULL);
  fail_unless (g_error_matches (error, CF_AMF_ERROR, CF_AMF_ERROR_TRUNCATED));
  fail_unless (strstr (error->message,
          "string length 70000 exceeds the 12 remaining bytes") != NULL,
      "%s", error->message);
  g_clear_error (&error);
  g_free (bad);

  /* same for a plain string and for a field name */
  assert_parse_fails ((const guint8 *) "\x02\x00\x05" "abc", 6,
      CF_AMF_ERROR_TRUNCATED);
  assert_parse_fails ((const guint8 *) "\x03\x00\x05" "ab", 5,
      CF_AMF_ERROR_TRUNCATED);
  assert_parse_fails ((const guint8 *) "\x0c\xff\xff\xff\xff" "ab", 7,
      CF_AMF_ERROR_TRUNCATED);

  g_byte_array_unref (out);
  cf_amf_node_free (n);
  g_free (big);
}

GST_END_TEST;

GST_START_TEST (test_unsupported_markers)
{
  /* marker followed by a few bytes a lenient parser might try to use */
  static const guint8 unsupported[] = { 0x04, 0x07, 0x0d, 0x0e, 0x0f, 0x10,
    0x11
  };
  static const guint8 invalid[] = { 0x09, 0x12, 0x20, 0x7f, 0xff };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (unsupported); i++) {
    guint8 top[] = { unsupported[i], 0x00, 0x01, 0x00, 0x00, 0x09 };
    guint8 in_object[] = { 0x03, 0x00, 0x01, 'a', unsupported[i], 0x00,
      0x01, 0x00, 0x00, 0x09
    };
    guint8 after_value[] = { 0x05, unsupported[i], 0x00, 0x01 };
    GError *error = NULL;

    assert_parse_fails (top, sizeof (top), CF_AMF_ERROR_UNSUPPORTED);
    assert_parse_fails (in_object, sizeof (in_object),
        CF_AMF_ERROR_UNSUPPORTED);
    assert_parse_fails (after_value, sizeof (after_value),
        CF_AMF_ERROR_UNSUPPORTED);

    fail_unless (parse_value_copy (top, sizeof (top), NULL, &error) == NULL);
    fail_unless (g_error_matches (error, CF_AMF_ERROR,
            CF_AMF_ERROR_UNSUPPORTED));
    if (unsupported[i] == 0x07)
      fail_unless (strstr (error->message, "0x07 (reference)") != NULL,
          "%s", error->message);
    g_error_free (error);
  }

  for (i = 0; i < G_N_ELEMENTS (invalid); i++) {
    guint8 top[] = { invalid[i], 0x00 };

    assert_parse_fails (top, sizeof (top), CF_AMF_ERROR_INVALID);
  }

  /* an object-end marker after a non-empty name is not an end */
  assert_parse_fails ((const guint8 *) "\x03\x00\x01" "a" "\x09", 5,
      CF_AMF_ERROR_INVALID);
}

GST_END_TEST;

GST_START_TEST (test_getters_are_safe)
{
  g_autoptr (CfAmfNode) num = cf_amf_node_new_number (5);
  g_autoptr (CfAmfNode) str = cf_amf_node_new_string ("5", -1);
  g_autoptr (CfAmfNode) obj = cf_amf_node_new_object ();
  g_autoptr (CfAmfNode) arr = cf_amf_node_new_strict_array ();
  g_autoptr (CfAmfNode) empty = cf_amf_node_new_string (NULL, -1);
  gchar *s;
  gsize size = 99;

  /* NULL */
  fail_unless_equals_int (cf_amf_node_get_type (NULL), CF_AMF_TYPE_INVALID);
  fail_unless_equals_float (cf_amf_node_get_number (NULL), 0);
  fail_unless (cf_amf_node_get_boolean (NULL) == FALSE);
  fail_unless (cf_amf_node_get_string (NULL, &size) == NULL);
  fail_unless_equals_uint64 (size, 0);
  fail_unless_equals_int (cf_amf_node_get_n_fields (NULL), 0);
  fail_unless (cf_amf_node_get_field_name (NULL, 0) == NULL);
  fail_unless (cf_amf_node_get_field_value (NULL, 0) == NULL);
  fail_unless (cf_amf_node_get_field (NULL, "a") == NULL);
  fail_unless_equals_int (cf_amf_node_get_n_elements (NULL), 0);
  fail_unless (cf_amf_node_get_element (NULL, 0) == NULL);
  fail_unless (cf_amf_node_get_field_string (NULL, "a") == NULL);
  fail_unless_equals_float (cf_amf_node_get_field_number (NULL, "a", 3), 3);
  fail_unless (cf_amf_node_copy (NULL) == NULL);
  cf_amf_node_free (NULL);
  s = cf_amf_node_to_string (NULL);
  fail_unless_equals_string (s, "(null)");
  g_free (s);

  /* wrong types */
  size = 99;
  fail_unless (cf_amf_node_get_string (num, &size) == NULL);
  fail_unless_equals_uint64 (size, 0);
  fail_unless (cf_amf_node_get_boolean (num) == FALSE);
  fail_unless_equals_float (cf_amf_node_get_number (str), 0);
  fail_unless_equals_float (cf_amf_node_get_number (obj), 0);
  fail_unless_equals_int (cf_amf_node_get_n_fields (num), 0);
  fail_unless_equals_int (cf_amf_node_get_n_fields (arr), 0);
  fail_unless (cf_amf_node_get_field (arr, "a") == NULL);
  fail_unless (cf_amf_node_get_field (str, "a") == NULL);
  fail_unless (cf_amf_node_get_field_name (str, 0) == NULL);
  fail_unless_equals_int (cf_amf_node_get_n_elements (obj), 0);
  fail_unless (cf_amf_node_get_element (obj, 0) == NULL);
  fail_unless (cf_amf_node_get_element (str, 0) == NULL);
  fail_unless (cf_amf_node_get_field (obj, NULL) == NULL);

  /* fields of the wrong type */
  cf_amf_node_append_field_string (obj, "n", "5");
  cf_amf_node_append_field_number (obj, "s", 5);
  fail_unless_equals_float (cf_amf_node_get_field_number (obj, "n", -1), -1);
  fail_unless (cf_amf_node_get_field_string (obj, "s") == NULL);
  fail_unless_equals_string (cf_amf_node_get_field_string (obj, "n"), "5");
  fail_unless_equals_float (cf_amf_node_get_field_number (obj, "s", -1), 5);
  fail_unless (cf_amf_node_get_field_name (obj, 2) == NULL);
  fail_unless (cf_amf_node_get_field_value (obj, 2) == NULL);

  /* the head field of a name wins */
  cf_amf_node_append_field_number (obj, "s", 6);
  fail_unless_equals_float (cf_amf_node_get_field_number (obj, "s", -1), 5);

  /* a NULL string is empty */
  fail_unless_equals_string (cf_amf_node_get_string (empty, &size), "");
  fail_unless_equals_uint64 (size, 0);

  /* appending to the wrong type is a programming error, and does not leak */
  ASSERT_CRITICAL (cf_amf_node_append_field (num, "a",
          cf_amf_node_new_null ()));
  ASSERT_CRITICAL (cf_amf_node_append_field (arr, "a",
          cf_amf_node_new_null ()));
  ASSERT_CRITICAL (cf_amf_node_append_element (obj, cf_amf_node_new_null ()));
  fail_unless_equals_int (cf_amf_node_get_n_fields (obj), 3);
  fail_unless_equals_int (cf_amf_node_get_n_elements (arr), 0);

  /* no data */
  fail_unless (cf_amf_parse_value (NULL, 0, NULL, NULL) == NULL);
  {
    GPtrArray *values = cf_amf_parse_all (NULL, 0, NULL);

    fail_unless (values != NULL);
    fail_unless_equals_int (values->len, 0);
    g_ptr_array_unref (values);
  }
}

GST_END_TEST;

GST_START_TEST (test_copy)
{
  g_autoptr (GPtrArray) values = NULL;
  CfAmfNode *copy;
  GByteArray *a, *b;

  values = parse_all_copy (connect_msg, CONNECT_MSG_LEN, NULL);
  fail_unless (values != NULL);
  copy = cf_amf_node_copy (values->pdata[2]);
  a = serialize (values->pdata[2]);
  /* the copy is deep: it survives the original */
  g_ptr_array_set_size (values, 0);
  fail_unless_equals_string (cf_amf_node_get_field_string (copy, "tcUrl"),
      "rtmp://127.0.0.1:1935/live");
  b = serialize (copy);
  assert_bytes_equal (b->data, b->len, a->data, a->len);
  g_byte_array_unref (a);
  g_byte_array_unref (b);
  cf_amf_node_free (copy);
}

GST_END_TEST;

GST_START_TEST (test_to_string_escaping)
{
  g_autoptr (CfAmfNode) obj = cf_amf_node_new_object ();
  g_autoptr (CfAmfNode) utf8 = NULL;
  gchar *long_utf8, *s;
  guint i;

  cf_amf_node_append_field_string (obj, "line", "a\nb\tc\\d");
  cf_amf_node_append_field_string (obj, "bad utf8", "\xff\xfe");
  cf_amf_node_append_field_string (obj, "ctl", "\x01\x7f");
  cf_amf_node_append_field (obj, "nested", cf_amf_node_new_strict_array ());
  assert_to_string (obj, "{line: \"a\\nb\\tc\\\\d\", \"bad utf8\": "
      "\"\\xff\\xfe\", ctl: \"\\x01\\x7f\", nested: []}");

  /* truncation does not split a UTF-8 character */
  long_utf8 = g_malloc0 (1 + 2 * 100 + 1);
  long_utf8[0] = 'a';
  for (i = 0; i < 100; i++)
    memcpy (long_utf8 + 1 + 2 * i, "\xc3\xa9", 2);
  utf8 = cf_amf_node_new_string (long_utf8, -1);
  s = cf_amf_node_to_string (utf8);
  fail_unless (g_utf8_validate (s, -1, NULL));
  /* 'a' + 64 whole characters (129 bytes) */
  fail_unless (g_str_has_suffix (s, "\xc3\xa9\"...(201 bytes)"), "%s", s);
  fail_unless_equals_int (strlen (s), 1 + 129 + 1 + strlen ("...(201 "
          "bytes)"));
  g_free (s);
  g_free (long_utf8);
}

GST_END_TEST;

static Suite *
amf_suite (void)
{
  Suite *s = suite_create ("amf");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_type_nicks);
  tcase_add_test (tc, test_round_trip_scalars);
  tcase_add_test (tc, test_round_trip_date_and_long_string);
  tcase_add_test (tc, test_round_trip_containers);
  tcase_add_test (tc, test_connect_command);
  tcase_add_test (tc, test_connect_truncated);
  tcase_add_test (tc, test_ffmpeg_metadata);
  tcase_add_test (tc, test_depth_limit);
  tcase_add_test (tc, test_node_limit);
  tcase_add_test (tc, test_ecma_array_count_is_a_hint);
  tcase_add_test (tc, test_ecma_array_without_end_marker);
  tcase_add_test (tc, test_empty_field_name);
  tcase_add_test (tc, test_strict_array_count);
  tcase_add_test (tc, test_long_strings);
  tcase_add_test (tc, test_unsupported_markers);
  tcase_add_test (tc, test_getters_are_safe);
  tcase_add_test (tc, test_copy);
  tcase_add_test (tc, test_to_string_escaping);

  return s;
}

GST_CHECK_MAIN (amf);
