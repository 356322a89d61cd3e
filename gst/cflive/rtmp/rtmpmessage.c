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

/* Builders for the protocol control, user control and command messages
 * that both ends of an RTMP connection send. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "rtmpmessage.h"
#include "rtmpbytes.h"

#include <string.h>

void
cf_rtmp_write_control (GByteArray * out, guint8 type, guint32 value)
{
  guint8 p[4];

  CF_WRITE_UINT32_BE (p, value);
  cf_rtmp_chunk_write_data (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_CONTROL, type, 0, 0, p, 4);
}

void
cf_rtmp_write_set_peer_bandwidth (GByteArray * out, guint32 window,
    guint8 limit_type)
{
  guint8 p[5];

  CF_WRITE_UINT32_BE (p, window);
  p[4] = limit_type;
  cf_rtmp_chunk_write_data (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_CONTROL, CF_RTMP_MSG_SET_PEER_BANDWIDTH, 0, 0, p, 5);
}

void
cf_rtmp_write_user_control (GByteArray * out, guint16 event,
    const guint8 * data, gsize size)
{
  guint8 p[16];

  g_return_if_fail (size <= 14);
  CF_WRITE_UINT16_BE (p, event);
  if (size)
    memcpy (p + 2, data, size);
  cf_rtmp_chunk_write_data (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_CONTROL, CF_RTMP_MSG_USER_CONTROL, 0, 0, p, size + 2);
}

void
cf_rtmp_write_command (GByteArray * out, guint32 chunk_size, guint32 csid,
    guint32 stream_id, const gchar * name, gdouble transaction,
    const CfAmfNode * first, ...)
{
  GByteArray *body = g_byte_array_sized_new (256);
  CfAmfNode *n;
  const CfAmfNode *v;
  va_list ap;

  n = cf_amf_node_new_string (name, -1);
  cf_amf_node_serialize (n, body);
  cf_amf_node_free (n);
  n = cf_amf_node_new_number (transaction);
  cf_amf_node_serialize (n, body);
  cf_amf_node_free (n);

  va_start (ap, first);
  for (v = first; v; v = va_arg (ap, const CfAmfNode *))
    cf_amf_node_serialize (v, body);
  va_end (ap);

  cf_rtmp_chunk_write_data (out, chunk_size, csid, CF_RTMP_MSG_COMMAND_AMF0,
      stream_id, 0, body->data, body->len);
  g_byte_array_unref (body);
}

CfAmfNode *
cf_rtmp_status_new (const gchar * level, const gchar * code,
    const gchar * description)
{
  CfAmfNode *o = cf_amf_node_new_object ();

  cf_amf_node_append_field_string (o, "level", level);
  cf_amf_node_append_field_string (o, "code", code);
  cf_amf_node_append_field_string (o, "description", description);
  return o;
}
