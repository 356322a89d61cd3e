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

#ifndef __GST_CF_GOP_VALIDATOR_H__
#define __GST_CF_GOP_VALIDATOR_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_CF_GOP_VALIDATOR (gst_cf_gop_validator_get_type ())
G_DECLARE_FINAL_TYPE (GstCfGopValidator, gst_cf_gop_validator, GST,
    CF_GOP_VALIDATOR, GstBaseTransform)

/**
 * GstCfGopValidatorAction:
 * @GST_CF_GOP_VALIDATOR_ACTION_WARN: post a message, pass everything
 * @GST_CF_GOP_VALIDATOR_ACTION_DROP: post a message and drop frames from
 *   the offending GOP until a valid one
 * @GST_CF_GOP_VALIDATOR_ACTION_ERROR: post a message and a GStreamer error,
 *   and stop
 */
typedef enum
{
  GST_CF_GOP_VALIDATOR_ACTION_WARN,
  GST_CF_GOP_VALIDATOR_ACTION_DROP,
  GST_CF_GOP_VALIDATOR_ACTION_ERROR,
} GstCfGopValidatorAction;

#define GST_TYPE_CF_GOP_VALIDATOR_ACTION \
  (gst_cf_gop_validator_action_get_type ())
GType gst_cf_gop_validator_action_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (cfgopvalidator);

G_END_DECLS

#endif /* __GST_CF_GOP_VALIDATOR_H__ */
