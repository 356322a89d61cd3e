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

/* Tests of cfgopvalidator on streams encoded in the test: videotestsrc and
 * audiotestsrc through x264enc, x265enc, avenc_aac and lamemp3enc, muxed by
 * flvmux (or built into FLV tags here for HEVC, which flvmux 1.22 does not
 * take), or H.264 straight from h264parse. Every buffer in and out of the
 * validator is recorded, with the cflive-violation messages and the error
 * messages of the bus. 160x120 at 10 fps, not live: a minute of stream
 * takes well under a second to make. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/cflive/cflive.h>
#include <string.h>

#define FPS 10
#define WIDTH 160
#define HEIGHT 120
/* key-int-max when only forced keyframes are wanted */
#define KEYINT_NEVER 10000
/* ms between two AAC frames at 44.1 kHz, rounded up: the granularity of the
 * running GOP check on FLV with audio */
#define AAC_FRAME_MS 24
#define MS (GST_MSECOND)

/* --- recording --- */

typedef struct
{
  guint8 type;                  /* FLV tag type; 0: FLV header; 9 for H.264 */
  GstClockTime dts;             /* FLV: the tag timestamp */
  GstClockTime pts;
  gboolean keyframe;            /* a video frame that is a keyframe */
  gboolean config;              /* AVC/HEVC/AAC sequence header, EOS tag */
  gboolean header;              /* GST_BUFFER_FLAG_HEADER */
  gsize size;
} Rec;

typedef struct
{
  GstElement *pipeline;
  GstElement *validator;
  gboolean flv;
  GArray *in;                   /* Rec, buffers entering the validator */
  GArray *out;                  /* Rec, buffers leaving it */
  GPtrArray *violations;        /* GstStructure, in order */
  GstMessage *error;            /* the first error */
  GstStructure *stats;          /* at EOS or error */
  gint profile, level;          /* from the AVC sequence header */

  /* keyframes forced at these times (stream time of the raw video) */
  GArray *force;                /* GstClockTime */
  guint next_force;

  /* a publisher event sent before the first tag at or after event_at */
  GstClockTime event_at;
  GstCflivePublisherAction event_action;
  gboolean event_sent;

  /* buffers pushed through an appsrc instead of encoding */
  GList *feed;                  /* GstBuffer */
  gdouble wall;                 /* seconds the run took */
} Run;

static gboolean
parse_flv (GstBuffer * buf, Rec * r)
{
  guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 8];
  gsize n = gst_buffer_extract (buf, 0, h, sizeof (h));
  GstCfliveFlvTagInfo info;
  guint32 body_size;

  memset (r, 0, sizeof (*r));
  r->size = gst_buffer_get_size (buf);
  r->header = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER);
  r->dts = r->pts = GST_CLOCK_TIME_NONE;
  if (n >= 3 && h[0] == 'F' && h[1] == 'L' && h[2] == 'V')
    return TRUE;
  if (n < GST_CFLIVE_FLV_TAG_HEADER_SIZE + 1)
    return FALSE;
  r->type = h[0] & 0x1f;
  body_size = GST_READ_UINT24_BE (h + 1);
  r->dts = ((guint64) (GST_READ_UINT24_BE (h + 4) | (h[7] << 24))) * MS;
  r->pts = r->dts;
  if (!gst_cflive_flv_parse_tag_body (r->type,
          h + GST_CFLIVE_FLV_TAG_HEADER_SIZE,
          MIN (body_size, n - GST_CFLIVE_FLV_TAG_HEADER_SIZE), &info))
    return TRUE;
  r->pts = r->dts + info.composition_time * MS;
  r->keyframe = info.keyframe;
  r->config = info.sequence_header || info.end_of_sequence;
  return TRUE;
}

static void
record (Run * run, GArray * recs, GstBuffer * buf)
{
  Rec r;

  if (run->flv) {
    parse_flv (buf, &r);
  } else {
    memset (&r, 0, sizeof (r));
    r.type = GST_CFLIVE_FLV_TAG_VIDEO;
    r.dts = GST_BUFFER_DTS_OR_PTS (buf);
    r.pts = GST_BUFFER_PTS (buf);
    r.keyframe = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
    r.header = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER);
    r.size = gst_buffer_get_size (buf);
  }
  g_array_append_val (recs, r);
}

static GstPadProbeReturn
in_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Run *run = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  Rec *r;

  record (run, run->in, buf);
  r = &g_array_index (run->in, Rec, run->in->len - 1);

  if (run->flv && r->type == GST_CFLIVE_FLV_TAG_VIDEO && r->config &&
      run->profile == 0) {
    guint8 avcc[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 9];

    if (gst_buffer_extract (buf, 0, avcc, sizeof (avcc)) == sizeof (avcc) &&
        (avcc[GST_CFLIVE_FLV_TAG_HEADER_SIZE] & 0x0f) ==
        GST_CFLIVE_FLV_VIDEO_H264) {
      run->profile = avcc[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 6];
      run->level = avcc[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 8];
    }
  }

  /* the publisher event goes in before this buffer */
  if (GST_CLOCK_TIME_IS_VALID (run->event_at) && !run->event_sent &&
      GST_CLOCK_TIME_IS_VALID (r->dts) && r->dts >= run->event_at) {
    run->event_sent = TRUE;
    fail_unless (gst_pad_send_event (pad,
            gst_cflive_publisher_event_new (run->event_action, 2, NULL,
                "rtmp")));
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
out_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Run *run = user_data;

  record (run, run->out, GST_PAD_PROBE_INFO_BUFFER (info));
  return GST_PAD_PROBE_OK;
}

/* On the raw video: asks the encoder for a keyframe at the chosen times */
static GstPadProbeReturn
force_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Run *run = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstClockTime ts = GST_BUFFER_PTS (buf);

  if (run->next_force < run->force->len &&
      ts >= g_array_index (run->force, GstClockTime, run->next_force)) {
    GstStructure *s;
    GstPad *enc_pad = gst_pad_get_peer (pad);

    s = gst_structure_new ("GstForceKeyUnit",
        "timestamp", G_TYPE_UINT64, ts,
        "stream-time", G_TYPE_UINT64, ts,
        "running-time", G_TYPE_UINT64, ts,
        "all-headers", G_TYPE_BOOLEAN, TRUE,
        "count", G_TYPE_UINT, run->next_force + 1, NULL);
    fail_unless (gst_pad_send_event (enc_pad,
            gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s)));
    gst_object_unref (enc_pad);
    run->next_force++;
  }
  return GST_PAD_PROBE_OK;
}

static void
run_add_probe (Run * run, const gchar * element, const gchar * pad_name,
    GstPadProbeCallback cb)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (run->pipeline), element);
  GstPad *pad;

  fail_unless (e != NULL, "no element %s", element);
  pad = gst_element_get_static_pad (e, pad_name);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, run, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

/* @flv: FLV into the validator, otherwise H.264 */
static Run *
run_new (const gchar * description, gboolean flv)
{
  Run *run = g_new0 (Run, 1);
  GError *err = NULL;

  GST_INFO ("pipeline: %s", description);
  run->pipeline = gst_parse_launch (description, &err);
  fail_unless (run->pipeline != NULL, "%s: %s", description,
      err ? err->message : "?");
  g_clear_error (&err);
  run->validator = gst_bin_get_by_name (GST_BIN (run->pipeline), "v");
  fail_unless (run->validator != NULL);

  run->flv = flv;
  run->in = g_array_new (FALSE, TRUE, sizeof (Rec));
  run->out = g_array_new (FALSE, TRUE, sizeof (Rec));
  run->violations = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_structure_free);
  run->force = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  run->event_at = GST_CLOCK_TIME_NONE;
  run_add_probe (run, "v", "sink", in_probe);
  run_add_probe (run, "v", "src", out_probe);
  return run;
}

static void
run_free (Run * run)
{
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  gst_object_unref (run->validator);
  gst_object_unref (run->pipeline);
  g_array_free (run->in, TRUE);
  g_array_free (run->out, TRUE);
  g_array_free (run->force, TRUE);
  g_ptr_array_free (run->violations, TRUE);
  if (run->error)
    gst_message_unref (run->error);
  if (run->stats)
    gst_structure_free (run->stats);
  g_list_free_full (run->feed, (GDestroyNotify) gst_buffer_unref);
  g_free (run);
}

/* Forces keyframes at the times given in seconds, ended by a negative one */
static void
run_force_keyframes (Run * run, const gdouble * seconds)
{
  for (; *seconds >= 0; seconds++) {
    GstClockTime t = (GstClockTime) (*seconds * GST_SECOND);

    g_array_append_val (run->force, t);
  }
  run_add_probe (run, "vsrc", "src", force_probe);
}

static void
run_send_publisher_event (Run * run, gdouble at,
    GstCflivePublisherAction action)
{
  run->event_at = (GstClockTime) (at * GST_SECOND);
  run->event_action = action;
}

/* Plays the pipeline until EOS or the first error; collects the violation
 * messages and the stats. */
static void
run_play (Run * run)
{
  GstBus *bus = gst_element_get_bus (run->pipeline);
  gint64 start = g_get_monotonic_time ();
  gboolean done = FALSE;
  GList *l;

  fail_unless (gst_element_set_state (run->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  if (run->feed) {
    GstElement *src = gst_bin_get_by_name (GST_BIN (run->pipeline), "feed");
    GstFlowReturn ret;

    for (l = run->feed; l; l = l->next) {
      g_signal_emit_by_name (src, "push-buffer", l->data, &ret);
      fail_unless_equals_int (ret, GST_FLOW_OK);
    }
    g_signal_emit_by_name (src, "end-of-stream", &ret);
    gst_object_unref (src);
  }

  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;

    fail_unless (msg != NULL, "no EOS after 30 s");
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        s = gst_message_get_structure (msg);
        if (GST_MESSAGE_SRC (msg) == GST_OBJECT (run->validator) &&
            gst_structure_has_name (s, GST_CFLIVE_VIOLATION_MESSAGE_NAME)) {
          GST_INFO ("%" GST_PTR_FORMAT, s);
          g_ptr_array_add (run->violations, gst_structure_copy (s));
        }
        break;
      case GST_MESSAGE_ERROR:
        run->error = gst_message_ref (msg);
        /* anything still flowing would show in the records */
        g_usleep (200 * 1000);
        done = TRUE;
        break;
      default:
        done = TRUE;
        break;
    }
    gst_message_unref (msg);
  }
  g_object_get (run->validator, "stats", &run->stats, NULL);
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  run->wall = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
  GST_INFO ("%u buffers in, %u out, %u violations, %.2f s", run->in->len,
      run->out->len, run->violations->len, run->wall);
}

/* --- the streams --- */

typedef struct
{
  guint seconds;
  guint gop;                    /* seconds; 0: only forced keyframes */
  guint bframes;
  gboolean open_gop;
  const gchar *audio;           /* NULL, "aac" or "mp3" */
  const gchar *format;          /* NULL (FLV), "avc" or "byte-stream" */
  const gchar *props;           /* of the validator */
  const gchar *pattern;         /* of videotestsrc */
  guint kbps;                   /* of x264enc, 0: its default */
} Stream;

static gchar *
stream_description (const Stream * st)
{
  GString *d = g_string_new (NULL);
  const gchar *props = st->props ? st->props : "";

  if (!st->format)
    g_string_append_printf (d, "flvmux name=mux streamable=true ! "
        "cfgopvalidator name=v %s ! fakesink name=sink sync=false ", props);

  g_string_append_printf (d, "videotestsrc name=vsrc is-live=false "
      "num-buffers=%u pattern=%s ! video/x-raw,format=I420,width=%d,"
      "height=%d,framerate=%d/1 ! x264enc speed-preset=ultrafast "
      "key-int-max=%u bframes=%u option-string=\"scenecut=0%s\"",
      st->seconds * FPS, st->pattern ? st->pattern : "smpte", WIDTH, HEIGHT,
      FPS, st->gop ? st->gop * FPS : KEYINT_NEVER, st->bframes,
      st->open_gop ? ":open-gop=1" : "");
  if (st->kbps)
    g_string_append_printf (d, " bitrate=%u", st->kbps);
  g_string_append (d, " ! h264parse ! ");

  if (st->format) {
    g_string_append_printf (d, "video/x-h264,stream-format=%s,alignment=au ! "
        "cfgopvalidator name=v %s ! fakesink name=sink sync=false",
        st->format, props);
    return g_string_free (d, FALSE);
  }
  g_string_append (d, "mux. ");

  /* 0.1 s of audio per buffer */
  if (st->audio) {
    g_string_append_printf (d, "audiotestsrc is-live=false num-buffers=%u "
        "samplesperbuffer=4410 ! audio/x-raw,rate=44100,channels=1 ! "
        "audioconvert ! %s ! mux.", st->seconds * 10,
        g_str_equal (st->audio, "mp3") ? "lamemp3enc ! mpegaudioparse" :
        "avenc_aac ! aacparse");
  }
  return g_string_free (d, FALSE);
}

static Run *
stream_run_new (const Stream * st)
{
  gchar *d = stream_description (st);
  Run *run = run_new (d, st->format == NULL);

  g_free (d);
  return run;
}

/* --- checks --- */

static guint
count_code (Run * run, const gchar * code)
{
  guint i, n = 0;

  for (i = 0; i < run->violations->len; i++) {
    const GstStructure *s = g_ptr_array_index (run->violations, i);

    if (!code || !g_strcmp0 (gst_structure_get_string (s, "code"), code))
      n++;
  }
  return n;
}

static const GstStructure *
get_violation (Run * run, const gchar * code, guint nth)
{
  guint i;

  for (i = 0; i < run->violations->len; i++) {
    const GstStructure *s = g_ptr_array_index (run->violations, i);

    if (!g_strcmp0 (gst_structure_get_string (s, "code"), code) && nth-- == 0)
      return s;
  }
  fail ("no violation %s number %u", code, nth);
  return NULL;
}

static gchar *
violations_to_string (Run * run)
{
  GString *str = g_string_new (NULL);
  guint i;

  for (i = 0; i < run->violations->len; i++) {
    gchar *s = gst_structure_to_string (g_ptr_array_index (run->violations,
            i));

    g_string_append_printf (str, "\n  %s", s);
    g_free (s);
  }
  return g_string_free (str, FALSE);
}

#define assert_n_violations(run, code, n) G_STMT_START {               \
  guint __n = count_code ((run), (code));                               \
  if (__n != (guint) (n)) {                                             \
    gchar *__v = violations_to_string (run);                            \
    fail ("%u violations %s, expected %u:%s", __n,                      \
        (code) ? (code) : "in all", (guint) (n), __v);                  \
  }                                                                     \
} G_STMT_END

static gdouble
get_double (const GstStructure * s, const gchar * field)
{
  gdouble v = -1;

  fail_unless (gst_structure_get_double (s, field, &v), "no %s", field);
  return v;
}

static guint64
get_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  return v;
}

static gint
get_int (const GstStructure * s, const gchar * field)
{
  gint v = -1;

  fail_unless (gst_structure_get_int (s, field, &v), "no %s", field);
  return v;
}

static guint
get_uint (const GstStructure * s, const gchar * field)
{
  guint v = 0;

  fail_unless (gst_structure_get_uint (s, field, &v), "no %s", field);
  return v;
}

#define assert_double_in(v, lo, hi) G_STMT_START {                      \
  gdouble __v = (v);                                                    \
  fail_unless (__v >= (lo) && __v <= (hi), "%s = %f, not in [%f, %f]",  \
      #v, __v, (gdouble) (lo), (gdouble) (hi));                         \
} G_STMT_END

/* Checks the fields every violation has */
static void
assert_violation (const GstStructure * s, const gchar * code,
    const gchar * kind, const gchar * severity, const gchar * video_codec,
    const gchar * audio_codec)
{
  const gchar *message;

  fail_unless_equals_string (gst_structure_get_string (s, "code"), code);
  fail_unless_equals_string (gst_structure_get_string (s, "kind"), kind);
  fail_unless_equals_string (gst_structure_get_string (s, "severity"),
      severity);
  fail_unless_equals_string (gst_structure_get_string (s, "video_codec"),
      video_codec);
  fail_unless_equals_string (gst_structure_get_string (s, "audio_codec"),
      audio_codec);
  message = gst_structure_get_string (s, "message");
  fail_unless (message != NULL && *message != '\0');
  fail_unless (gst_structure_has_field_typed (s, "value", G_TYPE_DOUBLE));
  fail_unless (gst_structure_has_field_typed (s, "min", G_TYPE_DOUBLE));
  fail_unless (gst_structure_has_field_typed (s, "max", G_TYPE_DOUBLE));
  fail_unless (gst_structure_has_field_typed (s, "position", G_TYPE_UINT64));
  fail_unless (gst_structure_has_field_typed (s, "repeats", G_TYPE_UINT));
}

/* A GOP violation: @value within @tol, the default range, at @position */
static void
assert_gop_violation (const GstStructure * s, gdouble value, gdouble tol,
    GstClockTime position, const gchar * audio_codec)
{
  assert_violation (s, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, "gop-out-of-range",
      "error", "h264", audio_codec);
  assert_double_in (get_double (s, "value"), value - tol, value + tol);
  fail_unless_equals_float (get_double (s, "min"), 4.0);
  fail_unless_equals_float (get_double (s, "max"), 10.0);
  fail_unless_equals_uint64 (get_uint64 (s, "position"), position);
}

/* The video keyframes that came in, by presentation time */
static guint
count_keyframes (GArray * recs)
{
  guint i, n = 0;

  for (i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);

    if (r->type == GST_CFLIVE_FLV_TAG_VIDEO && r->keyframe && !r->config)
      n++;
  }
  return n;
}

static gboolean
has_keyframe_at (GArray * recs, GstClockTime pts)
{
  guint i;

  for (i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);

    if (r->type == GST_CFLIVE_FLV_TAG_VIDEO && r->keyframe && !r->config &&
        r->pts == pts)
      return TRUE;
  }
  return FALSE;
}

static void
assert_same_records (GArray * a, GArray * b)
{
  guint i;

  fail_unless_equals_int (a->len, b->len);
  for (i = 0; i < a->len; i++) {
    Rec *x = &g_array_index (a, Rec, i), *y = &g_array_index (b, Rec, i);

    fail_unless (x->type == y->type && x->dts == y->dts && x->size == y->size,
        "buffer %u differs", i);
  }
}

/* --- GOP length --- */

/* 2 s GOPs: each one too short, posted once with its measured length */
GST_START_TEST (test_gop_too_short)
{
  Stream st = {.seconds = 11,.gop = 2,.audio = "aac" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  fail_unless_equals_int (count_keyframes (run->in), 6);
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 2.0, 0.001, 0, "aac");
  fail_unless_equals_int (get_uint (s, "repeats"), 0);
  fail_unless (strstr (gst_structure_get_string (s, "message"), "2.00"));
  /* GOPs 0-2, 2-4, 4-6, 6-8, 8-10 */
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 5);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 5);
  fail_unless_equals_float (get_double (run->stats, "max-gop"), 2.0);
  /* warn passes everything */
  assert_same_records (run->in, run->out);
  run_free (run);
}

GST_END_TEST;

/* 12 s GOPs: reported as they run, just past 10 s, once */
GST_START_TEST (test_gop_too_long)
{
  Stream st = {.seconds = 30,.gop = 12,.audio = "aac" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  fail_unless (has_keyframe_at (run->in, 12 * GST_SECOND));
  fail_unless (has_keyframe_at (run->in, 24 * GST_SECOND));
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  /* the first tag more than 10 s after the keyframe: an audio one */
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      0, "aac");
  fail_unless (get_double (s, "value") > 10.0);
  /* the second 12 s GOP is the same violation, counted */
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 2);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 2);
  fail_unless_equals_float (get_double (run->stats, "last-gop"), 12.0);
  run_free (run);
}

GST_END_TEST;

/* 4, 6 and 10 s: nothing to say */
GST_START_TEST (test_gop_accepted)
{
  static const guint gops[] = { 4, 6, 10 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (gops); i++) {
    /* ends half way through a GOP: the last one is not cut short */
    Stream st = {.seconds = gops[i] * 2 + gops[i] / 2,.gop = gops[i],
      .audio = "aac"
    };
    Run *run = stream_run_new (&st);

    run_play (run);
    fail_unless (run->error == NULL);
    fail_unless_equals_int (count_keyframes (run->in), 3);
    assert_n_violations (run, NULL, 0);
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 2);
    fail_unless_equals_float (get_double (run->stats, "min-gop"), gops[i]);
    fail_unless_equals_float (get_double (run->stats, "max-gop"), gops[i]);
    assert_same_records (run->in, run->out);
    run_free (run);
  }
}

GST_END_TEST;

/* GOPs of 5, 5, 15, 5 and 5 s: only the third is reported, at 10 s */
static const gdouble variable_keyframes[] = { 5, 10, 25, 30, -1 };

GST_START_TEST (test_gop_variable)
{
  Stream st = {.seconds = 33,.audio = "aac" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;
  guint i;

  run_force_keyframes (run, variable_keyframes);
  run_play (run);
  fail_unless (run->error == NULL);
  fail_unless_equals_int (count_keyframes (run->in), 5);
  for (i = 0; variable_keyframes[i] >= 0; i++)
    fail_unless (has_keyframe_at (run->in, variable_keyframes[i] * GST_SECOND));
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      10 * GST_SECOND, "aac");
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 4);
  fail_unless_equals_float (get_double (run->stats, "min-gop"), 5.0);
  fail_unless_equals_float (get_double (run->stats, "max-gop"), 15.0);
  fail_unless_equals_float (get_double (run->stats, "mean-gop"), 30.0 / 4);
  run_free (run);
}

GST_END_TEST;

/* Other limits: 2 s GOPs are fine between 1 and 3 s, 4 s ones too long */
GST_START_TEST (test_gop_custom_range)
{
  Stream ok = {.seconds = 9,.gop = 2,.audio = "aac",
    .props = "min-gop=1 max-gop=3"
  };
  Stream lng = {.seconds = 9,.gop = 4,.audio = "aac",
    .props = "min-gop=1 max-gop=3"
  };
  Run *run = stream_run_new (&ok);
  const GstStructure *s;

  run_play (run);
  assert_n_violations (run, NULL, 0);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 4);
  run_free (run);

  run = stream_run_new (&lng);
  run_play (run);
  /* the GOPs at 0 and 4 s, the second one a repeat */
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_violation (s, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, "gop-out-of-range",
      "error", "h264", "aac");
  assert_double_in (get_double (s, "value"), 3.0001, 3.0 + AAC_FRAME_MS /
      1000.0);
  fail_unless_equals_float (get_double (s, "min"), 1.0);
  fail_unless_equals_float (get_double (s, "max"), 3.0);
  fail_unless_equals_uint64 (get_uint64 (s, "position"), 0);
  fail_unless (strstr (gst_structure_get_string (s, "message"),
          "1.00 to 3.00"));
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 2);
  run_free (run);
}

GST_END_TEST;

/* No flood: 12 s GOPs for 75 s, reported at 0 s and again a minute later
 * with the four repeats in between */
GST_START_TEST (test_no_flood)
{
  Stream st = {.seconds = 75,.gop = 12,.audio = "aac" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 2);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      0, "aac");
  fail_unless_equals_int (get_uint (s, "repeats"), 0);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 1);
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      60 * GST_SECOND, "aac");
  /* the GOPs starting at 12, 24, 36 and 48 s */
  fail_unless_equals_int (get_uint (s, "repeats"), 4);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 6);
  run_free (run);
}

GST_END_TEST;

/* --- closed and open GOPs --- */

GST_START_TEST (test_bframes_closed_gop)
{
  Stream st = {.seconds = 14,.gop = 4,.bframes = 2,.audio = "aac" };
  Run *run = stream_run_new (&st);
  guint i, reordered = 0;

  run_play (run);
  fail_unless (run->error == NULL);
  /* B-frames there are: pictures shown later than decoded */
  for (i = 0; i < run->in->len; i++) {
    Rec *r = &g_array_index (run->in, Rec, i);

    if (r->type == GST_CFLIVE_FLV_TAG_VIDEO && r->pts > r->dts + 100 * MS)
      reordered++;
  }
  fail_unless (reordered > 20, "%u reordered frames", reordered);
  fail_unless (has_keyframe_at (run->in, 4 * GST_SECOND));
  fail_unless (has_keyframe_at (run->in, 12 * GST_SECOND));
  assert_n_violations (run, NULL, 0);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 3);
  fail_unless_equals_float (get_double (run->stats, "mean-gop"), 4.0);
  run_free (run);
}

GST_END_TEST;

/* x264's open GOPs: recovery-point I frames, not IDR pictures, which
 * h264parse and flvmux mark as keyframes, with leading B-frames */
GST_START_TEST (test_open_gop)
{
  Stream st = {.seconds = 14,.gop = 4,.bframes = 2,.open_gop = TRUE,
    .audio = "aac"
  };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  fail_unless_equals_int (count_keyframes (run->in), 4);
  fail_unless (has_keyframe_at (run->in, 4 * GST_SECOND));
  /* the first open GOP, reported once: the later ones are repeats */
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_OPEN_GOP, 0);
  assert_violation (s, GST_CFLIVE_ERR_OPEN_GOP, "open-gop", "error", "h264",
      "aac");
  fail_unless_equals_uint64 (get_uint64 (s, "position"), 4 * GST_SECOND);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "open-gop"), 3);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 0);
  run_free (run);
}

GST_END_TEST;

/* Open and short: both rules are broken by every GOP after the first */
GST_START_TEST (test_open_gop_too_short)
{
  Stream st = {.seconds = 11,.gop = 2,.bframes = 2,.open_gop = TRUE,
    .audio = "aac"
  };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, GST_CFLIVE_ERR_OPEN_GOP, 1);
  assert_n_violations (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 1);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 2.0, 0.001, 0, "aac");
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 5);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "open-gop"), 5);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 5);
  run_free (run);
}

GST_END_TEST;

/* Open and long: the length of an open GOP is watched as it runs too;
 * 12 s for 75 s as in test_no_flood */
GST_START_TEST (test_open_gop_too_long)
{
  Stream st = {.seconds = 75,.gop = 12,.bframes = 2,.open_gop = TRUE,
    .audio = "aac"
  };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  /* at 12 s, repeated at 24, 36, 48 and 60 s, then at 72 s */
  assert_n_violations (run, GST_CFLIVE_ERR_OPEN_GOP, 2);
  s = get_violation (run, GST_CFLIVE_ERR_OPEN_GOP, 0);
  fail_unless_equals_uint64 (get_uint64 (s, "position"), 12 * GST_SECOND);
  s = get_violation (run, GST_CFLIVE_ERR_OPEN_GOP, 1);
  fail_unless_equals_uint64 (get_uint64 (s, "position"), 72 * GST_SECOND);
  fail_unless_equals_int (get_uint (s, "repeats"), 4);
  assert_n_violations (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 2);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      0, "aac");
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 1);
  assert_gop_violation (s, 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      60 * GST_SECOND, "aac");
  fail_unless_equals_int (get_uint (s, "repeats"), 4);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "open-gop"), 6);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 6);
  run_free (run);
}

GST_END_TEST;

GST_START_TEST (test_open_gop_allowed)
{
  Stream st = {.seconds = 14,.gop = 4,.bframes = 2,.open_gop = TRUE,
    .audio = "aac",.props = "require-closed-gop=false"
  };
  Run *run = stream_run_new (&st);

  run_play (run);
  assert_n_violations (run, NULL, 0);
  run_free (run);
}

GST_END_TEST;

/* --- H.264 without FLV --- */

/* The same GOPs as in FLV give the same results on H.264 after h264parse.
 * Without audio the running check sees only the 10 fps video. */
GST_START_TEST (test_h264_input)
{
  static const gchar *formats[] = { "avc", "byte-stream" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    Stream shrt = {.seconds = 11,.gop = 2,.format = formats[i] };
    Stream lng = {.seconds = 30,.gop = 12,.format = formats[i] };
    Stream ok = {.seconds = 14,.gop = 4,.bframes = 2,.format = formats[i] };
    Stream var = {.seconds = 33,.format = formats[i] };
    Stream open = {.seconds = 14,.gop = 4,.bframes = 2,.open_gop = TRUE,
      .format = formats[i]
    };
    Run *run;
    const GstStructure *s;

    GST_INFO ("%s", formats[i]);
    run = stream_run_new (&shrt);
    run_play (run);
    fail_unless (run->error == NULL);
    fail_unless_equals_int (count_keyframes (run->in), 6);
    assert_n_violations (run, NULL, 1);
    s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
    assert_gop_violation (s, 2.0, 0.001, 0, "");
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 5);
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 5);
    assert_same_records (run->in, run->out);
    run_free (run);

    run = stream_run_new (&lng);
    run_play (run);
    assert_n_violations (run, NULL, 1);
    s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
    /* the first frame past 10 s */
    assert_gop_violation (s, 10.1, 0.001, 0, "");
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gop-out-of-range"), 2);
    run_free (run);

    run = stream_run_new (&ok);
    run_play (run);
    assert_n_violations (run, NULL, 0);
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 3);
    fail_unless_equals_float (get_double (run->stats, "mean-gop"), 4.0);
    run_free (run);

    run = stream_run_new (&var);
    run_force_keyframes (run, variable_keyframes);
    run_play (run);
    fail_unless_equals_int (count_keyframes (run->in), 5);
    assert_n_violations (run, NULL, 1);
    s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
    assert_gop_violation (s, 10.1, 0.001, 10 * GST_SECOND, "");
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 4);
    run_free (run);

    run = stream_run_new (&open);
    run_play (run);
    assert_n_violations (run, NULL, 1);
    s = get_violation (run, GST_CFLIVE_ERR_OPEN_GOP, 0);
    assert_violation (s, GST_CFLIVE_ERR_OPEN_GOP, "open-gop", "error",
        "h264", "");
    fail_unless_equals_uint64 (get_uint64 (s, "position"), 4 * GST_SECOND);
    run_free (run);
  }
}

GST_END_TEST;

/* --- codecs --- */

/* HEVC in FLV, made here: flvmux 1.22 takes no H.265. @enhanced: the
 * enhanced RTMP header with the FourCC 'hvc1'; otherwise the codec id 12
 * of the legacy header. With AAC audio from avenc_aac. */
typedef struct
{
  GList *buffers;
  GstCaps *caps;
} Collected;

static void
collect_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    gpointer user_data)
{
  Collected *c = user_data;

  if (!c->caps)
    c->caps = gst_pad_get_current_caps (pad);
  c->buffers = g_list_append (c->buffers, gst_buffer_ref (buf));
}

/* Runs @description to its end, keeping what reaches the fakesink "c" */
static Collected
collect (const gchar * description)
{
  Collected c = { NULL, NULL };
  GstElement *p, *sink;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;

  p = gst_parse_launch (description, &err);
  fail_unless (p != NULL, "%s", err ? err->message : "?");
  sink = gst_bin_get_by_name (GST_BIN (p), "c");
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (collect_handoff), &c);
  gst_element_set_state (p, GST_STATE_PLAYING);
  bus = gst_element_get_bus (p);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
      "%s did not end well", description);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (p);
  fail_unless (c.caps != NULL && c.buffers != NULL);
  return c;
}

static GstBuffer *
flv_tag (guint8 type, GstClockTime dts, const guint8 * head, gsize head_size,
    GstBuffer * payload, gboolean header)
{
  GstMapInfo map;
  GByteArray *body = g_byte_array_new ();
  GBytes *bytes;
  GstBuffer *tag;

  g_byte_array_append (body, head, head_size);
  if (payload) {
    gst_buffer_map (payload, &map, GST_MAP_READ);
    g_byte_array_append (body, map.data, map.size);
    gst_buffer_unmap (payload, &map);
  }
  bytes = g_byte_array_free_to_bytes (body);
  tag = gst_cflive_flv_tag_new (type, dts / MS, bytes);
  g_bytes_unref (bytes);
  if (header)
    GST_BUFFER_FLAG_SET (tag, GST_BUFFER_FLAG_HEADER);
  return tag;
}

/* FLV timestamps from the running time, 1 s later so the B-frames' DTS
 * before the first PTS stay positive */
static GstClockTime
flv_time (GstClockTime t, GstClockTime first)
{
  return t + GST_SECOND - first;
}

static GList *
make_hevc_flv (gboolean enhanced)
{
  Collected v, a;
  GList *tags = NULL, *l, *al;
  GstClockTime first_v, first_a;
  const GValue *cd;
  guint8 head[8];

  v = collect ("videotestsrc is-live=false num-buffers=60 ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! "
      "x265enc speed-preset=ultrafast key-int-max=40 ! h265parse ! "
      "video/x-h265,stream-format=hvc1,alignment=au ! fakesink name=c");
  a = collect ("audiotestsrc is-live=false num-buffers=60 "
      "samplesperbuffer=4410 ! audio/x-raw,rate=44100,channels=1 ! "
      "audioconvert ! avenc_aac ! aacparse ! fakesink name=c");
  first_v = GST_BUFFER_PTS (v.buffers->data);
  first_a = GST_BUFFER_PTS (a.buffers->data);

  tags = g_list_append (tags, gst_cflive_flv_header_new (TRUE, TRUE));

  /* AudioSpecificConfig, then the HEVC decoder configuration record */
  cd = gst_structure_get_value (gst_caps_get_structure (a.caps, 0),
      "codec_data");
  fail_unless (cd != NULL);
  head[0] = 0xaf;
  head[1] = 0;
  tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_AUDIO, GST_SECOND,
          head, 2, gst_value_get_buffer (cd), TRUE));
  cd = gst_structure_get_value (gst_caps_get_structure (v.caps, 0),
      "codec_data");
  fail_unless (cd != NULL);
  if (enhanced) {
    /* IsExHeader, keyframe, PacketTypeSequenceStart, FourCC */
    head[0] = 0x80 | (1 << 4) | 0;
    memcpy (head + 1, "hvc1", 4);
    tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_VIDEO,
            GST_SECOND, head, 5, gst_value_get_buffer (cd), TRUE));
  } else {
    head[0] = (1 << 4) | GST_CFLIVE_FLV_VIDEO_HEVC;
    head[1] = 0;
    head[2] = head[3] = head[4] = 0;
    tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_VIDEO,
            GST_SECOND, head, 5, gst_value_get_buffer (cd), TRUE));
  }

  /* the frames, interleaved by DTS */
  l = v.buffers;
  al = a.buffers;
  while (l || al) {
    GstBuffer *vb = l ? l->data : NULL, *ab = al ? al->data : NULL;
    GstClockTime vdts = vb ? flv_time (GST_BUFFER_DTS_OR_PTS (vb), first_v) :
        GST_CLOCK_TIME_NONE;
    GstClockTime adts = ab ? flv_time (GST_BUFFER_PTS (ab), first_a) :
        GST_CLOCK_TIME_NONE;

    if (vb && vdts <= adts) {
      gboolean key = !GST_BUFFER_FLAG_IS_SET (vb, GST_BUFFER_FLAG_DELTA_UNIT);
      gint32 cts = (gint32) ((gint64) (flv_time (GST_BUFFER_PTS (vb),
                  first_v) - vdts) / MS);

      if (enhanced) {
        /* PacketTypeCodedFrames, with the composition time */
        head[0] = 0x80 | ((key ? 1 : 2) << 4) | 1;
        memcpy (head + 1, "hvc1", 4);
        GST_WRITE_UINT24_BE (head + 5, cts);
        tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_VIDEO, vdts,
                head, 8, vb, FALSE));
      } else {
        head[0] = ((key ? 1 : 2) << 4) | GST_CFLIVE_FLV_VIDEO_HEVC;
        head[1] = 1;
        GST_WRITE_UINT24_BE (head + 2, cts);
        tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_VIDEO, vdts,
                head, 5, vb, FALSE));
      }
      l = l->next;
    } else {
      head[0] = 0xaf;
      head[1] = 1;
      tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_AUDIO, adts,
              head, 2, ab, FALSE));
      al = al->next;
    }
  }

  g_list_free_full (v.buffers, (GDestroyNotify) gst_buffer_unref);
  g_list_free_full (a.buffers, (GDestroyNotify) gst_buffer_unref);
  gst_caps_unref (v.caps);
  gst_caps_unref (a.caps);
  return tags;
}

GST_START_TEST (test_hevc)
{
  guint enhanced;

  for (enhanced = 0; enhanced < 2; enhanced++) {
    Run *run = run_new ("appsrc name=feed caps=video/x-flv format=bytes "
        "max-bytes=0 ! cfgopvalidator name=v ! fakesink name=sink "
        "sync=false", TRUE);
    const GstStructure *s;
    guint video_frames = 0, i;

    run->feed = make_hevc_flv (enhanced);
    run_play (run);
    fail_unless (run->error == NULL);
    for (i = 0; i < run->in->len; i++) {
      Rec *r = &g_array_index (run->in, Rec, i);

      if (r->type == GST_CFLIVE_FLV_TAG_VIDEO && !r->config)
        video_frames++;
    }
    fail_unless_equals_int (video_frames, 60);
    /* the first frame says it, the others repeat it */
    assert_n_violations (run, NULL, 1);
    s = get_violation (run, GST_CFLIVE_ERR_UNSUPPORTED_VIDEO_CODEC, 0);
    assert_violation (s, GST_CFLIVE_ERR_UNSUPPORTED_VIDEO_CODEC,
        "unsupported-video-codec", "error", "hevc", "aac");
    fail_unless_equals_uint64 (get_uint64 (s, "position"), GST_SECOND);
    fail_unless (strstr (gst_structure_get_string (s, "message"), "hevc"));
    fail_unless_equals_string (gst_structure_get_string (run->stats,
            "video-codec"), "hevc");
    fail_unless_equals_string (gst_structure_get_string (run->stats,
            "audio-codec"), "aac");
    fail_unless_equals_uint64 (get_uint64 (run->stats,
            "unsupported-video-codec"), 1);
    fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 0);
    /* warn */
    assert_same_records (run->in, run->out);
    run_free (run);
  }
}

GST_END_TEST;

GST_START_TEST (test_mp3)
{
  Stream st = {.seconds = 6,.gop = 4,.audio = "mp3" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_UNSUPPORTED_AUDIO_CODEC, 0);
  assert_violation (s, GST_CFLIVE_ERR_UNSUPPORTED_AUDIO_CODEC,
      "unsupported-audio-codec", "error", "h264", "mp3");
  fail_unless (strstr (gst_structure_get_string (s, "message"), "mp3"));
  fail_unless_equals_string (gst_structure_get_string (run->stats,
          "audio-codec"), "mp3");
  fail_unless_equals_uint64 (get_uint64 (run->stats,
          "unsupported-audio-codec"), 1);
  fail_unless_equals_uint64 (get_uint64 (run->stats,
          "unsupported-video-codec"), 0);
  run_free (run);
}

GST_END_TEST;

/* --- actions --- */

static guint
count_media (GArray * recs, gboolean config)
{
  guint i, n = 0;

  for (i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);

    if ((r->type == GST_CFLIVE_FLV_TAG_VIDEO ||
            r->type == GST_CFLIVE_FLV_TAG_AUDIO) && r->config == config)
      n++;
  }
  return n;
}

/* The headers: FLV header, script data, sequence headers */
static guint
count_headers (GArray * recs)
{
  guint i, n = 0;

  for (i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);

    if (r->type == 0 || r->type == GST_CFLIVE_FLV_TAG_SCRIPT || r->config ||
        r->header)
      n++;
  }
  return n;
}

/* Checks @run->out holds the input but for the media tags from index
 * @from to index @to (excluded) */
static void
assert_dropped_range (Run * run, guint from, guint to)
{
  guint i, j = 0;

  for (i = 0; i < run->in->len; i++) {
    Rec *r = &g_array_index (run->in, Rec, i);
    Rec *o;

    if (i >= from && i < to && (r->type == GST_CFLIVE_FLV_TAG_AUDIO ||
            r->type == GST_CFLIVE_FLV_TAG_VIDEO) && !r->config)
      continue;
    fail_unless (j < run->out->len, "buffer %u in (%" GST_TIME_FORMAT
        ") missing", i, GST_TIME_ARGS (r->dts));
    o = &g_array_index (run->out, Rec, j);
    fail_unless (o->type == r->type && o->dts == r->dts && o->size == r->size,
        "buffer %u in (type %u, %" GST_TIME_FORMAT ") is not out %u (type %u, %"
        GST_TIME_FORMAT ")", i, r->type, GST_TIME_ARGS (r->dts), j, o->type,
        GST_TIME_ARGS (o->dts));
    j++;
  }
  fail_unless_equals_int (j, run->out->len);
}

static guint
index_of_keyframe (GArray * recs, GstClockTime pts)
{
  guint i;

  for (i = 0; i < recs->len; i++) {
    Rec *r = &g_array_index (recs, Rec, i);

    if (r->type == GST_CFLIVE_FLV_TAG_VIDEO && r->keyframe && !r->config &&
        r->pts == pts)
      return i;
  }
  fail ("no keyframe at %" GST_TIME_FORMAT, GST_TIME_ARGS (pts));
  return 0;
}

/* Drop: from the keyframe that ends the first short GOP, every frame; the
 * headers still pass */
GST_START_TEST (test_action_drop)
{
  Stream st = {.seconds = 11,.gop = 2,.audio = "aac",.props = "action=drop" };
  Run *run = stream_run_new (&st);
  guint k;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 1);
  assert_gop_violation (get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE,
          0), 2.0, 0.001, 0, "aac");
  fail_unless (run->out->len < run->in->len);
  k = index_of_keyframe (run->in, 2 * GST_SECOND);
  assert_dropped_range (run, k, run->in->len);
  fail_unless_equals_int (count_headers (run->out), count_headers (run->in));
  fail_unless (count_media (run->out, TRUE) >= 2);
  run_free (run);
}

GST_END_TEST;

/* The same on H.264: h264parse flags the keyframes, which carry the
 * parameter sets, as headers, but they are frames of the GOPs dropped */
GST_START_TEST (test_action_drop_h264)
{
  Stream st = {.seconds = 11,.gop = 2,.format = "avc",.props = "action=drop"
  };
  Run *run = stream_run_new (&st);
  guint k;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 1);
  /* the buffer times start where the encoder put them */
  k = index_of_keyframe (run->in, g_array_index (run->in, Rec, 0).pts +
      2 * GST_SECOND);
  fail_unless (g_array_index (run->in, Rec, k).header);
  fail_unless_equals_int (run->out->len, k);
  assert_dropped_range (run, k, run->in->len);
  run_free (run);
}

GST_END_TEST;

/* Drop, then forward again once a GOP valid throughout ended: GOPs of 5,
 * 5, 15, 5, 5 s lose everything from the first tag over 10 s into the
 * long GOP to the keyframe at 30 s */
GST_START_TEST (test_action_drop_recovers)
{
  Stream st = {.seconds = 33,.audio = "aac",.props = "action=drop" };
  Run *run = stream_run_new (&st);
  guint i, from = 0, to;

  run_force_keyframes (run, variable_keyframes);
  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 1);
  assert_gop_violation (get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE,
          0), 10.0 + AAC_FRAME_MS / 2000.0, AAC_FRAME_MS / 2000.0,
      10 * GST_SECOND, "aac");
  for (i = 0; i < run->in->len; i++) {
    Rec *r = &g_array_index (run->in, Rec, i);

    if ((r->type == GST_CFLIVE_FLV_TAG_AUDIO ||
            r->type == GST_CFLIVE_FLV_TAG_VIDEO) &&
        GST_CLOCK_TIME_IS_VALID (r->dts) && r->dts > 20 * GST_SECOND) {
      from = i;
      break;
    }
  }
  fail_unless (from > 0);
  to = index_of_keyframe (run->in, 30 * GST_SECOND);
  assert_dropped_range (run, from, to);
  run_free (run);
}

GST_END_TEST;

/* Drop on a valid stream loses nothing */
GST_START_TEST (test_action_drop_valid)
{
  Stream st = {.seconds = 14,.gop = 4,.audio = "aac",.props = "action=drop" };
  Run *run = stream_run_new (&st);

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 0);
  assert_same_records (run->in, run->out);
  run_free (run);
}

GST_END_TEST;

GST_START_TEST (test_action_error)
{
  Stream st = {.seconds = 11,.gop = 2,.audio = "aac",.props = "action=error" };
  Run *run = stream_run_new (&st);
  GError *err = NULL;
  gchar *debug = NULL;
  guint k;

  run_play (run);
  fail_unless (run->error != NULL, "no error");
  fail_unless (GST_MESSAGE_SRC (run->error) == GST_OBJECT (run->validator));
  gst_message_parse_error (run->error, &err, &debug);
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_FORMAT), "%s", err->message);
  fail_unless (strstr (debug, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE), "%s", debug);
  g_clear_error (&err);
  g_free (debug);
  /* posted before the error */
  assert_n_violations (run, NULL, 1);
  assert_gop_violation (get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE,
          0), 2.0, 0.001, 0, "aac");
  /* the flow stopped at the keyframe ending the GOP: it did not pass and
   * nothing came after it */
  k = index_of_keyframe (run->in, 2 * GST_SECOND);
  fail_unless_equals_int (run->in->len, k + 1);
  fail_unless_equals_int (run->out->len, k);
  run_free (run);
}

GST_END_TEST;

/* --- bitrate --- */

/* Above max-bitrate: one warning, and nothing dropped even in drop mode */
GST_START_TEST (test_bitrate)
{
  Stream st = {.seconds = 14,.gop = 4,.audio = "aac",.pattern = "snow",
    .kbps = 400,.props = "max-bitrate=100 action=drop"
  };
  Run *run = stream_run_new (&st);
  const GstStructure *s;
  GstClockTime pos;
  guint64 bytes = 0;
  gdouble kbps;
  guint i;

  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 1);
  s = get_violation (run, GST_CFLIVE_ERR_BITRATE_TOO_HIGH, 0);
  assert_violation (s, GST_CFLIVE_ERR_BITRATE_TOO_HIGH, "bitrate-too-high",
      "warning", "h264", "aac");
  fail_unless_equals_float (get_double (s, "max"), 100.0);
  fail_unless_equals_int (get_uint (s, "repeats"), 0);
  pos = get_uint64 (s, "position");
  /* measured once 5 s of stream are there */
  fail_unless (pos >= 5 * GST_SECOND && pos < 7 * GST_SECOND,
      "position %" GST_TIME_FORMAT, GST_TIME_ARGS (pos));
  /* what went by in the 5 s before it */
  for (i = 0; i < run->in->len; i++) {
    Rec *r = &g_array_index (run->in, Rec, i);

    if ((r->type == GST_CFLIVE_FLV_TAG_AUDIO ||
            r->type == GST_CFLIVE_FLV_TAG_VIDEO) && r->dts < pos &&
        r->dts + 5 * GST_SECOND >= pos)
      bytes += r->size;
  }
  kbps = bytes * 8 / 5000.0;
  fail_unless (kbps > 200, "%f kbps", kbps);
  assert_double_in (get_double (s, "value"), kbps * 0.85, kbps * 1.15);
  fail_unless (get_uint (run->stats, "bitrate") > 100);
  fail_unless_equals_uint64 (get_uint64 (run->stats, "bitrate-too-high"), 1);
  assert_same_records (run->in, run->out);
  run_free (run);
}

GST_END_TEST;

/* AAC tags every 100 ms at these kbit/s, each phase 8 s long */
static GList *
make_audio_flv (const guint * kbps, guint n_phases)
{
  static const guint8 asc[] = { 0xaf, 0x00, 0x12, 0x10 };
  static const guint8 raw[] = { 0xaf, 0x01 };
  GList *tags = NULL;
  GstClockTime t = 0;
  guint p, i;

  tags = g_list_append (tags, gst_cflive_flv_header_new (TRUE, FALSE));
  tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_AUDIO, 0, asc,
          sizeof (asc), NULL, TRUE));
  for (p = 0; p < n_phases; p++) {
    gsize size = kbps[p] * 1000 / 8 / 10 - GST_CFLIVE_FLV_TAG_HEADER_SIZE - 4;

    for (i = 0; i < 80; i++, t += 100 * GST_MSECOND) {
      GstBuffer *payload = gst_buffer_new_allocate (NULL, size, NULL);

      gst_buffer_memset (payload, 0, 0x21, size);
      tags = g_list_append (tags, flv_tag (GST_CFLIVE_FLV_TAG_AUDIO, t, raw,
              sizeof (raw), payload, FALSE));
      gst_buffer_unref (payload);
    }
  }
  return tags;
}

/* A bitrate hovering just under the limit after a warning does not warn
 * again; one that fell well below it and comes back does */
GST_START_TEST (test_bitrate_hysteresis)
{
  static const guint kbps[] = { 150, 95, 150, 50, 150 };
  Run *run = run_new ("appsrc name=feed caps=video/x-flv format=bytes "
      "max-bytes=0 ! cfgopvalidator name=v max-bitrate=100 ! "
      "fakesink name=sink sync=false", TRUE);
  const GstStructure *s;
  GstClockTime pos;

  run->feed = make_audio_flv (kbps, G_N_ELEMENTS (kbps));
  run_play (run);
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 2);
  /* the first within the first phase, the second in the last */
  s = get_violation (run, GST_CFLIVE_ERR_BITRATE_TOO_HIGH, 0);
  pos = get_uint64 (s, "position");
  fail_unless (pos < 8 * GST_SECOND, "position %" GST_TIME_FORMAT,
      GST_TIME_ARGS (pos));
  s = get_violation (run, GST_CFLIVE_ERR_BITRATE_TOO_HIGH, 1);
  pos = get_uint64 (s, "position");
  fail_unless (pos >= 32 * GST_SECOND, "position %" GST_TIME_FORMAT,
      GST_TIME_ARGS (pos));
  fail_unless_equals_uint64 (get_uint64 (run->stats, "bitrate-too-high"), 2);
  assert_same_records (run->in, run->out);
  run_free (run);
}

GST_END_TEST;

/* --- encoder sessions --- */

/* GOPs of 5 and 5 s, then an encoder that comes back 3 s into its GOP and
 * starts a new one: without the publisher event a GOP of 3 s */
static const gdouble reconnect_keyframes[] = { 5, 10, 13, 18, -1 };

GST_START_TEST (test_publisher_event)
{
  static const gint actions[] = { -1, GST_CFLIVE_PUBLISHER_RECONNECTED,
    GST_CFLIVE_PUBLISHER_DISCONNECTED, GST_CFLIVE_PUBLISHER_CONNECTED
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (actions); i++) {
    Stream st = {.seconds = 21,.audio = "aac" };
    Run *run = stream_run_new (&st);

    run_force_keyframes (run, reconnect_keyframes);
    if (actions[i] >= 0)
      run_send_publisher_event (run, 12.5, actions[i]);
    run_play (run);
    fail_unless (run->error == NULL);
    fail_unless_equals_int (count_keyframes (run->in), 5);
    if (actions[i] < 0) {
      assert_n_violations (run, NULL, 1);
      assert_gop_violation (get_violation (run,
              GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0), 3.0, 0.001,
          10 * GST_SECOND, "aac");
      fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 4);
    } else {
      fail_unless (run->event_sent);
      assert_n_violations (run, NULL, 0);
      /* 0-5, 5-10, 13-18: the one around the event is not measured */
      fail_unless_equals_uint64 (get_uint64 (run->stats, "gops"), 3);
      fail_unless_equals_float (get_double (run->stats, "min-gop"), 5.0);
    }
    run_free (run);
  }
}

GST_END_TEST;

/* The new session starts with a clean slate: its first short GOP is
 * reported even though the same violation was posted seconds before */
GST_START_TEST (test_publisher_event_new_session)
{
  Stream st = {.seconds = 21,.gop = 2,.audio = "aac" };
  Run *run = stream_run_new (&st);
  const GstStructure *s;

  run_send_publisher_event (run, 10.5, GST_CFLIVE_PUBLISHER_RECONNECTED);
  run_play (run);
  fail_unless (run->event_sent);
  assert_n_violations (run, NULL, 2);
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 0);
  assert_gop_violation (s, 2.0, 0.001, 0, "aac");
  /* the first whole GOP after the event */
  s = get_violation (run, GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, 1);
  assert_gop_violation (s, 2.0, 0.001, 12 * GST_SECOND, "aac");
  fail_unless_equals_int (get_uint (s, "repeats"), 0);
  run_free (run);
}

GST_END_TEST;

/* --- stats --- */

GST_START_TEST (test_stats)
{
  Stream st = {.seconds = 18,.gop = 4,.audio = "aac" };
  Stream h264 = {.seconds = 18,.gop = 4,.format = "avc" };
  Stream bs = {.seconds = 18,.gop = 4,.format = "byte-stream" };
  Run *run = stream_run_new (&st);
  GstStructure *s;
  gint profile, level;

  /* before anything: all zero */
  g_object_get (run->validator, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "application/x-cflive-gop-stats"));
  fail_unless_equals_uint64 (get_uint64 (s, "gops"), 0);
  fail_unless_equals_string (gst_structure_get_string (s, "video-codec"), "");
  gst_structure_free (s);

  run_play (run);
  s = run->stats;
  fail_unless (run->error == NULL);
  assert_n_violations (run, NULL, 0);
  fail_unless_equals_uint64 (get_uint64 (s, "gops"), 4);
  fail_unless_equals_float (get_double (s, "last-gop"), 4.0);
  fail_unless_equals_float (get_double (s, "min-gop"), 4.0);
  fail_unless_equals_float (get_double (s, "max-gop"), 4.0);
  fail_unless_equals_float (get_double (s, "mean-gop"), 4.0);
  fail_unless_equals_string (gst_structure_get_string (s, "video-codec"),
      "h264");
  fail_unless_equals_string (gst_structure_get_string (s, "audio-codec"),
      "aac");
  fail_unless_equals_int (get_int (s, "width"), WIDTH);
  fail_unless_equals_int (get_int (s, "height"), HEIGHT);
  /* x264 ultrafast: Constrained Baseline */
  fail_unless_equals_int (run->profile, 66);
  fail_unless_equals_int (get_int (s, "profile"), run->profile);
  fail_unless (run->level > 0);
  fail_unless_equals_int (get_int (s, "level"), run->level);
  fail_unless_equals_int (get_int (s, "rate"), 44100);
  fail_unless_equals_int (get_int (s, "channels"), 1);
  fail_unless (get_uint (s, "bitrate") > 0);
  fail_unless_equals_uint64 (get_uint64 (s, "gop-out-of-range"), 0);
  fail_unless_equals_uint64 (get_uint64 (s, "open-gop"), 0);
  fail_unless_equals_uint64 (get_uint64 (s, "unsupported-video-codec"), 0);
  fail_unless_equals_uint64 (get_uint64 (s, "unsupported-audio-codec"), 0);
  fail_unless_equals_uint64 (get_uint64 (s, "bitrate-too-high"), 0);
  profile = run->profile;
  level = run->level;
  run_free (run);

  /* H.264 in: the same from the caps and the SPS */
  run = stream_run_new (&h264);
  run_play (run);
  s = run->stats;
  fail_unless_equals_uint64 (get_uint64 (s, "gops"), 4);
  fail_unless_equals_string (gst_structure_get_string (s, "video-codec"),
      "h264");
  fail_unless_equals_string (gst_structure_get_string (s, "audio-codec"), "");
  fail_unless_equals_int (get_int (s, "width"), WIDTH);
  fail_unless_equals_int (get_int (s, "height"), HEIGHT);
  fail_unless_equals_int (get_int (s, "profile"), profile);
  fail_unless_equals_int (get_int (s, "level"), level);
  run_free (run);

  run = stream_run_new (&bs);
  run_play (run);
  s = run->stats;
  fail_unless_equals_uint64 (get_uint64 (s, "gops"), 4);
  fail_unless_equals_int (get_int (s, "profile"), profile);
  fail_unless_equals_int (get_int (s, "level"), level);
  run_free (run);
}

GST_END_TEST;

static Suite *
cfgopvalidator_suite (void)
{
  Suite *s = suite_create ("cfgopvalidator");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_gop_too_short);
  tcase_add_test (tc, test_gop_too_long);
  tcase_add_test (tc, test_gop_accepted);
  tcase_add_test (tc, test_gop_variable);
  tcase_add_test (tc, test_gop_custom_range);
  tcase_add_test (tc, test_no_flood);
  tcase_add_test (tc, test_bframes_closed_gop);
  tcase_add_test (tc, test_open_gop);
  tcase_add_test (tc, test_open_gop_too_short);
  tcase_add_test (tc, test_open_gop_too_long);
  tcase_add_test (tc, test_open_gop_allowed);
  tcase_add_test (tc, test_h264_input);
  tcase_add_test (tc, test_hevc);
  tcase_add_test (tc, test_mp3);
  tcase_add_test (tc, test_action_drop);
  tcase_add_test (tc, test_action_drop_h264);
  tcase_add_test (tc, test_action_drop_recovers);
  tcase_add_test (tc, test_action_drop_valid);
  tcase_add_test (tc, test_action_error);
  tcase_add_test (tc, test_bitrate);
  tcase_add_test (tc, test_bitrate_hysteresis);
  tcase_add_test (tc, test_publisher_event);
  tcase_add_test (tc, test_publisher_event_new_session);
  tcase_add_test (tc, test_stats);
  return s;
}

static const gchar *needed[] = { "cfgopvalidator", "flvmux", "videotestsrc",
  "audiotestsrc", "audioconvert", "x264enc", "h264parse", "x265enc",
  "h265parse", "avenc_aac", "aacparse", "lamemp3enc", "mpegaudioparse",
  "appsrc", "fakesink"
};

int
main (int argc, char **argv)
{
  guint i;

  gst_check_init (&argc, &argv);
  for (i = 0; i < G_N_ELEMENTS (needed); i++) {
    GstElementFactory *f = gst_element_factory_find (needed[i]);

    if (!f) {
      g_printerr ("element %s missing, skipping\n", needed[i]);
      return 77;
    }
    gst_object_unref (f);
  }
  return gst_check_run_suite (cfgopvalidator_suite (), "cfgopvalidator",
      __FILE__);
}
