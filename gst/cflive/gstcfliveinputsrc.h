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

#ifndef __GST_CF_LIVE_INPUT_SRC_H__
#define __GST_CF_LIVE_INPUT_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

#include "cfingest.h"

G_BEGIN_DECLS

#define GST_TYPE_CF_LIVE_INPUT_SRC (gst_cf_live_input_src_get_type ())
G_DECLARE_FINAL_TYPE (GstCfLiveInputSrc, gst_cf_live_input_src, GST,
    CF_LIVE_INPUT_SRC, GstPushSrc)

/**
 * GstCfLiveInputStatus:
 * @GST_CF_LIVE_INPUT_STATUS_IDLE: waiting for the first encoder
 * @GST_CF_LIVE_INPUT_STATUS_CONNECTED: an encoder is publishing
 * @GST_CF_LIVE_INPUT_STATUS_RECONNECTING: the encoder went away; waiting
 *   for it within the reconnect window
 * @GST_CF_LIVE_INPUT_STATUS_DISABLED: the live input is disabled
 * @GST_CF_LIVE_INPUT_STATUS_ENDED: the reconnect window passed; the stream
 *   ended
 */
typedef enum
{
  GST_CF_LIVE_INPUT_STATUS_IDLE,
  GST_CF_LIVE_INPUT_STATUS_CONNECTED,
  GST_CF_LIVE_INPUT_STATUS_RECONNECTING,
  GST_CF_LIVE_INPUT_STATUS_DISABLED,
  GST_CF_LIVE_INPUT_STATUS_ENDED,
} GstCfLiveInputStatus;

#define GST_TYPE_CF_LIVE_INPUT_STATUS (gst_cf_live_input_status_get_type ())
GType gst_cf_live_input_status_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (cfliveinputsrc);

G_END_DECLS

#endif /* __GST_CF_LIVE_INPUT_SRC_H__ */
