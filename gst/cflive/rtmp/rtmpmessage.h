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

#ifndef __CF_RTMP_MESSAGE_H__
#define __CF_RTMP_MESSAGE_H__

#include <glib.h>
#include "amf.h"
#include "rtmpchunk.h"

G_BEGIN_DECLS

/* Chunk stream ids used for what we send */
#define CF_RTMP_CSID_CONTROL 2
#define CF_RTMP_CSID_COMMAND 3
#define CF_RTMP_CSID_STATUS 5
#define CF_RTMP_CSID_AUDIO 6
#define CF_RTMP_CSID_VIDEO 7

/* User control event types */
#define CF_RTMP_UC_STREAM_BEGIN 0
#define CF_RTMP_UC_STREAM_EOF 1
#define CF_RTMP_UC_SET_BUFFER_LENGTH 3
#define CF_RTMP_UC_PING_REQUEST 6
#define CF_RTMP_UC_PING_RESPONSE 7

void cf_rtmp_write_control (GByteArray * out, guint8 type, guint32 value);
void cf_rtmp_write_set_peer_bandwidth (GByteArray * out, guint32 window,
    guint8 limit_type);
void cf_rtmp_write_user_control (GByteArray * out, guint16 event,
    const guint8 * data, gsize size);
/* Writes an AMF0 command (name, transaction id, then @first and the
 * following values, NULL-terminated) as one message. */
void cf_rtmp_write_command (GByteArray * out, guint32 chunk_size,
    guint32 csid, guint32 stream_id, const gchar * name, gdouble transaction,
    const CfAmfNode * first, ...) G_GNUC_NULL_TERMINATED;
/* An onStatus info object {level, code, description} */
CfAmfNode *cf_rtmp_status_new (const gchar * level, const gchar * code,
    const gchar * description);

G_END_DECLS

#endif /* __CF_RTMP_MESSAGE_H__ */
