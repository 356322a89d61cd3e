/* gst-cflive: the shared library of the cflive elements */
#ifndef __GST_CFLIVE_H__
#define __GST_CFLIVE_H__

#include <gst/cflive/cflive-events.h>
#include <gst/cflive/cflive-flv.h>
#include <gst/cflive/cflive-secret.h>

#endif /* __GST_CFLIVE_H__ */
