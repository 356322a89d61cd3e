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

#ifndef __GST_CF_RECORD_SINK_H__
#define __GST_CF_RECORD_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

/**
 * GstCfRecordMode:
 * @GST_CF_RECORD_MODE_OFF: nothing is recorded; a recording in progress
 *   is finalised
 * @GST_CF_RECORD_MODE_AUTOMATIC: every broadcast is recorded, from its
 *   first keyframe
 *
 * The `recording.mode` of a live input.
 */
typedef enum
{
  GST_CF_RECORD_MODE_OFF,
  GST_CF_RECORD_MODE_AUTOMATIC,
} GstCfRecordMode;

#define GST_TYPE_CF_RECORD_MODE (gst_cf_record_mode_get_type ())
GType gst_cf_record_mode_get_type (void);

#define GST_TYPE_CF_RECORD_SINK (gst_cf_record_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstCfRecordSink, gst_cf_record_sink, GST,
    CF_RECORD_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (cfrecordsink);

G_END_DECLS

#endif /* __GST_CF_RECORD_SINK_H__ */
