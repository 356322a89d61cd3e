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

#ifndef __CF_RTMP_BYTES_H__
#define __CF_RTMP_BYTES_H__

/* Byte-order helpers usable without GStreamer (the protocol library and its
 * fuzzers depend on GLib only). */
#define CF_READ_UINT24_BE(p) \
  (((guint32) ((const guint8 *) (p))[0] << 16) | \
   ((guint32) ((const guint8 *) (p))[1] << 8) | \
   ((guint32) ((const guint8 *) (p))[2]))
#define CF_READ_UINT32_BE(p) \
  (((guint32) ((const guint8 *) (p))[0] << 24) | \
   CF_READ_UINT24_BE ((const guint8 *) (p) + 1))
#define CF_READ_UINT32_LE(p) \
  (((guint32) ((const guint8 *) (p))[3] << 24) | \
   ((guint32) ((const guint8 *) (p))[2] << 16) | \
   ((guint32) ((const guint8 *) (p))[1] << 8) | \
   ((guint32) ((const guint8 *) (p))[0]))
#define CF_READ_UINT16_BE(p) \
  (((guint16) ((const guint8 *) (p))[0] << 8) | \
   ((guint16) ((const guint8 *) (p))[1]))
#define CF_WRITE_UINT24_BE(p, v) G_STMT_START { \
  guint32 __v = (v); guint8 *__p = (guint8 *) (p); \
  __p[0] = (__v >> 16) & 0xff; __p[1] = (__v >> 8) & 0xff; \
  __p[2] = __v & 0xff; } G_STMT_END
#define CF_WRITE_UINT32_BE(p, v) G_STMT_START { \
  guint32 __v = (v); guint8 *__p = (guint8 *) (p); \
  __p[0] = __v >> 24; __p[1] = (__v >> 16) & 0xff; \
  __p[2] = (__v >> 8) & 0xff; __p[3] = __v & 0xff; } G_STMT_END
#define CF_WRITE_UINT32_LE(p, v) G_STMT_START { \
  guint32 __v = (v); guint8 *__p = (guint8 *) (p); \
  __p[3] = __v >> 24; __p[2] = (__v >> 16) & 0xff; \
  __p[1] = (__v >> 8) & 0xff; __p[0] = __v & 0xff; } G_STMT_END
#define CF_WRITE_UINT16_BE(p, v) G_STMT_START { \
  guint16 __v = (v); guint8 *__p = (guint8 *) (p); \
  __p[0] = __v >> 8; __p[1] = __v & 0xff; } G_STMT_END

#endif /* __CF_RTMP_BYTES_H__ */
