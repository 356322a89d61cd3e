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

/* cfgopvalidator behind cfliveinputsrc, fed by ffmpeg: the test media has
 * 2 s GOPs, too short for the default 4 s minimum. An encoder that is
 * killed and comes back: the GOP cut by the outage is not measured and the
 * new session gets its own message. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <string.h>

#include <gst/cflive/cflive.h>

#include "cftest.h"

#define KEY "validator-key-7e21"

typedef struct
{
  GstElement *pipeline;
  GstElement *src;
  GstElement *validator;

  GMutex lock;
  GPtrArray *violations;        /* GstStructure */
  GPtrArray *errors;            /* gchar * */
  GString *events;              /* "connected:1,disconnected:1,..." */
  guint session;                /* of the last publisher event */
  /* tag timestamp of the first video keyframe of each session, in ns */
  GstClockTime first_keyframe[3];
  gint profile, level;          /* from the first AVC sequence header */
} Validation;

static GstBusSyncReply
bus_sync_handler (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Validation *v = user_data;
  const GstStructure *s;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      s = gst_message_get_structure (msg);
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (v->validator) &&
          gst_structure_has_name (s, GST_CFLIVE_VIOLATION_MESSAGE_NAME)) {
        GST_INFO ("%" GST_PTR_FORMAT, s);
        g_mutex_lock (&v->lock);
        g_ptr_array_add (v->violations, gst_structure_copy (s));
        g_mutex_unlock (&v->lock);
      }
      break;
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) err = NULL;
      g_autofree gchar *debug = NULL;

      gst_message_parse_error (msg, &err, &debug);
      g_mutex_lock (&v->lock);
      g_ptr_array_add (v->errors, g_strdup_printf ("%s: %s (%s)",
              GST_MESSAGE_SRC_NAME (msg), err->message, GST_STR_NULL (debug)));
      g_mutex_unlock (&v->lock);
      break;
    }
    default:
      break;
  }
  return GST_BUS_DROP;
}

/* What leaves the validator: the publisher events it forwards, the first
 * keyframe of each session and the AVC decoder configuration */
static GstPadProbeReturn
out_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Validation *v = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstCflivePublisherAction action;
    guint session;

    if (gst_cflive_publisher_event_parse (GST_PAD_PROBE_INFO_EVENT (info),
            &action, &session, NULL, NULL)) {
      g_mutex_lock (&v->lock);
      g_string_append_printf (v->events, "%s%s:%u", v->events->len ? "," : "",
          gst_cflive_publisher_action_to_string (action), session);
      v->session = session;
      g_mutex_unlock (&v->lock);
    }
  } else {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 9];
    gsize n = gst_buffer_extract (buf, 0, h, sizeof (h));
    const guint8 *body = h + GST_CFLIVE_FLV_TAG_HEADER_SIZE;

    if (n == sizeof (h) && (h[0] & 0x1f) == GST_CFLIVE_FLV_TAG_VIDEO &&
        (body[0] & 0x0f) == GST_CFLIVE_FLV_VIDEO_H264) {
      GstClockTime ts = (GST_READ_UINT24_BE (h + 4) |
          ((guint32) h[7] << 24)) * GST_MSECOND;

      g_mutex_lock (&v->lock);
      if (body[1] == 0 && v->profile == 0) {
        /* AVCDecoderConfigurationRecord after the 5-byte AVC header */
        v->profile = body[6];
        v->level = body[8];
      } else if (body[1] == 1 && (body[0] >> 4) == 1 && v->session > 0 &&
          v->session < G_N_ELEMENTS (v->first_keyframe) &&
          !GST_CLOCK_TIME_IS_VALID (v->first_keyframe[v->session])) {
        v->first_keyframe[v->session] = ts;
      }
      g_mutex_unlock (&v->lock);
    }
  }
  return GST_PAD_PROBE_OK;
}

static Validation *
validation_new (void)
{
  Validation *v = g_new0 (Validation, 1);
  g_autoptr (GError) err = NULL;
  GstStateChangeReturn ret;
  GstBus *bus;
  GstPad *pad;
  guint i;

  g_mutex_init (&v->lock);
  v->violations = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  v->errors = g_ptr_array_new_with_free_func (g_free);
  v->events = g_string_new (NULL);
  for (i = 0; i < G_N_ELEMENTS (v->first_keyframe); i++)
    v->first_keyframe[i] = GST_CLOCK_TIME_NONE;

  v->pipeline = gst_parse_launch ("cfliveinputsrc name=src "
      "rtmp-url=rtmp://127.0.0.1:0/" CFTEST_APP " stream-key=" KEY " "
      "reconnect-window=10 ! cfgopvalidator name=v ! "
      "fakesink sync=false async=false", &err);
  fail_unless (v->pipeline != NULL, "%s", err ? err->message : "");
  v->src = gst_bin_get_by_name (GST_BIN (v->pipeline), "src");
  v->validator = gst_bin_get_by_name (GST_BIN (v->pipeline), "v");
  pad = gst_element_get_static_pad (v->validator, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, out_probe, v, NULL);
  gst_object_unref (pad);
  bus = gst_element_get_bus (v->pipeline);
  gst_bus_set_sync_handler (bus, bus_sync_handler, v, NULL);
  gst_object_unref (bus);

  ret = gst_element_set_state (v->pipeline, GST_STATE_PLAYING);
  if (ret != GST_STATE_CHANGE_FAILURE)
    ret = gst_element_get_state (v->pipeline, NULL, NULL, 10 * GST_SECOND);
  fail_unless (ret == GST_STATE_CHANGE_SUCCESS ||
      ret == GST_STATE_CHANGE_NO_PREROLL, "the pipeline did not start");
  return v;
}

static void
validation_free (Validation * v)
{
  gst_element_set_state (v->pipeline, GST_STATE_NULL);
  gst_object_unref (v->src);
  gst_object_unref (v->validator);
  gst_object_unref (v->pipeline);
  g_ptr_array_unref (v->violations);
  g_ptr_array_unref (v->errors);
  g_string_free (v->events, TRUE);
  g_mutex_clear (&v->lock);
  g_free (v);
}

static gchar *
validation_url (Validation * v)
{
  guint port = 0;

  g_object_get (v->src, "bound-port", &port, NULL);
  fail_unless (port > 0);
  return g_strdup_printf ("rtmp://127.0.0.1:%u/%s/%s", port, CFTEST_APP, KEY);
}

static guint
n_violations (Validation * v)
{
  guint n;

  g_mutex_lock (&v->lock);
  n = v->violations->len;
  g_mutex_unlock (&v->lock);
  return n;
}

/* A copy of violation @n */
static GstStructure *
get_violation (Validation * v, guint n)
{
  GstStructure *s;

  g_mutex_lock (&v->lock);
  fail_unless (n < v->violations->len);
  s = gst_structure_copy (g_ptr_array_index (v->violations, n));
  g_mutex_unlock (&v->lock);
  return s;
}

static GstStructure *
get_stats (Validation * v)
{
  GstStructure *s = NULL;

  g_object_get (v->validator, "stats", &s, NULL);
  fail_unless (s != NULL);
  return s;
}

static guint64
stats_gops (Validation * v)
{
  GstStructure *s = get_stats (v);
  guint64 gops = cftest_stats_get_uint64 (s, "gops");

  gst_structure_free (s);
  return gops;
}

static gchar *
validation_errors (Validation * v)
{
  gchar *str;

  g_mutex_lock (&v->lock);
  g_ptr_array_add (v->errors, NULL);
  str = g_strjoinv ("; ", (gchar **) v->errors->pdata);
  g_ptr_array_remove_index (v->errors, v->errors->len - 1);
  g_mutex_unlock (&v->lock);
  return str;
}

static gdouble
get_double (const GstStructure * s, const gchar * field)
{
  gdouble d = -1;

  fail_unless (gst_structure_get_double (s, field, &d), "no %s", field);
  return d;
}

static gint
get_int (const GstStructure * s, const gchar * field)
{
  gint i = -1;

  fail_unless (gst_structure_get_int (s, field, &i), "no %s", field);
  return i;
}

/* A 2 s GOP reported: the media's keyframe interval, in whole ms */
static void
assert_short_gop (const GstStructure * s, GstClockTime position)
{
  guint64 pos = 0;

  fail_unless_equals_string (gst_structure_get_string (s, "code"),
      GST_CFLIVE_ERR_GOP_OUT_OF_RANGE);
  fail_unless_equals_string (gst_structure_get_string (s, "severity"), "error");
  fail_unless_equals_string (gst_structure_get_string (s, "video_codec"),
      "h264");
  fail_unless_equals_string (gst_structure_get_string (s, "audio_codec"),
      "aac");
  fail_unless (G_APPROX_VALUE (get_double (s, "value"), 2.0, 0.0015),
      "value %f", get_double (s, "value"));
  fail_unless_equals_float (get_double (s, "min"), 4.0);
  fail_unless_equals_float (get_double (s, "max"), 10.0);
  fail_unless (gst_structure_get_uint64 (s, "position", &pos));
  fail_unless_equals_uint64 (pos, position);
}

GST_START_TEST (test_ffmpeg_short_gops)
{
  Validation *v = validation_new ();
  g_autofree gchar *url = validation_url (v);
  g_autofree gchar *errors = NULL;
  GstStructure *s;
  CfTestProc *ff;

  ff = cftest_ffmpeg_publish (cftest_media_path (), url, FALSE);
  /* keyframes at 0, 2 and 4 s: two GOPs */
  fail_unless (CFTEST_WAIT (stats_gops (v) >= 2, 15), "%" G_GUINT64_FORMAT
      " GOPs", stats_gops (v));
  fail_unless_equals_int (n_violations (v), 1);
  s = get_violation (v, 0);
  assert_short_gop (s, v->first_keyframe[1]);
  gst_structure_free (s);

  s = get_stats (v);
  fail_unless (G_APPROX_VALUE (get_double (s, "max-gop"), 2.0, 0.0015));
  fail_unless_equals_string (cftest_stats_get_string (s, "video-codec"),
      "h264");
  fail_unless_equals_string (cftest_stats_get_string (s, "audio-codec"), "aac");
  fail_unless_equals_int (get_int (s, "width"), CFTEST_MEDIA_WIDTH);
  fail_unless_equals_int (get_int (s, "height"), 360);
  fail_unless (v->profile > 0);
  fail_unless_equals_int (get_int (s, "profile"), v->profile);
  fail_unless_equals_int (get_int (s, "level"), v->level);
  fail_unless_equals_int (get_int (s, "rate"), 48000);
  fail_unless_equals_int (get_int (s, "channels"), 1);
  fail_unless (cftest_stats_get_uint64 (s, "gop-out-of-range") >= 2);
  gst_structure_free (s);

  errors = validation_errors (v);
  fail_unless (*errors == '\0', "%s", errors);
  cftest_proc_kill (ff, SIGKILL);
  validation_free (v);
}

GST_END_TEST;

GST_START_TEST (test_encoder_comes_back)
{
  Validation *v = validation_new ();
  g_autofree gchar *url = validation_url (v);
  g_autofree gchar *errors = NULL;
  GstStructure *s;
  CfTestProc *ff;
  guint64 gops;
  guint i;

  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (CFTEST_WAIT (stats_gops (v) >= 2, 15));
  /* killed in the middle of its third GOP, back a second later */
  g_usleep (G_USEC_PER_SEC);
  cftest_proc_kill (ff, SIGKILL);
  g_usleep (G_USEC_PER_SEC);
  gops = stats_gops (v);
  ff = cftest_ffmpeg_publish (cftest_media_path (), url, TRUE);
  fail_unless (CFTEST_WAIT (stats_gops (v) >= gops + 2, 15));

  g_mutex_lock (&v->lock);
  fail_unless_equals_string (v->events->str,
      "connected:1,disconnected:1,reconnected:2");
  g_mutex_unlock (&v->lock);

  /* once per session: the flood control starts again with the encoder */
  fail_unless_equals_int (n_violations (v), 2);
  for (i = 0; i < 2; i++) {
    s = get_violation (v, i);
    assert_short_gop (s, v->first_keyframe[i + 1]);
    gst_structure_free (s);
  }
  fail_unless (v->first_keyframe[2] > v->first_keyframe[1]);

  /* the GOP cut short by the outage was not measured */
  s = get_stats (v);
  fail_unless (G_APPROX_VALUE (get_double (s, "min-gop"), 2.0, 0.0015),
      "min-gop %f", get_double (s, "min-gop"));
  fail_unless (G_APPROX_VALUE (get_double (s, "max-gop"), 2.0, 0.0015),
      "max-gop %f", get_double (s, "max-gop"));
  gst_structure_free (s);

  errors = validation_errors (v);
  fail_unless (*errors == '\0', "%s", errors);
  cftest_proc_kill (ff, SIGKILL);
  validation_free (v);
}

GST_END_TEST;

static Suite *
validator_suite (void)
{
  Suite *s = suite_create ("integration-validator");
  TCase *tc = tcase_create ("validator");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_ffmpeg_short_gops);
  tcase_add_test (tc, test_encoder_comes_back);
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, 0, validator_suite,
      "integration-validator", __FILE__);
}
