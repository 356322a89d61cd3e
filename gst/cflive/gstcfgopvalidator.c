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

/**
 * SECTION:element-cfgopvalidator
 * @title: cfgopvalidator
 *
 * Checks a live stream against the ingest rules of a live input, as it
 * passes, without touching it: a keyframe interval between
 * #GstCfGopValidator:min-gop and #GstCfGopValidator:max-gop seconds, closed
 * GOPs, H.264 video and AAC audio, and a bitrate under
 * #GstCfGopValidator:max-bitrate.
 *
 * It takes the FLV stream of cfliveinputsrc (one tag per buffer, as flvmux
 * also makes) or H.264 after h264parse (stream-format avc or byte-stream,
 * alignment au).
 *
 * Each violation posts an element message named `cflive-violation` with
 * the fields of Cloudflare's live_input.errored payload: `code`
 * (ERR_GOP_OUT_OF_RANGE, ERR_UNSUPPORTED_VIDEO_CODEC,
 * ERR_UNSUPPORTED_AUDIO_CODEC, and this project's ERR_OPEN_GOP and
 * ERR_BITRATE_TOO_HIGH), `message` (the measured value and the allowed
 * range in words), `video_codec`, `audio_codec`; and `severity` ("error",
 * or "warning" for the bitrate), `kind`, `value`, `min`, `max`, `position`
 * (stream time of the offending GOP or frame, in nanoseconds) and
 * `repeats` (identical violations not posted since the last message of the
 * same code). An identical violation is posted again at most once a
 * minute of stream time.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 cfliveinputsrc stream-key=secret ! cfgopvalidator ! fakesink
 * gst-launch-1.0 -m filesrc location=in.mp4 ! qtdemux ! h264parse ! \
 *     cfgopvalidator min-gop=2 action=warn ! fakesink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/base/gstbytereader.h>
#include <gst/codecparsers/gsth264parser.h>
#include <gst/cflive/cflive.h>

#include "gstcfgopvalidator.h"

GST_DEBUG_CATEGORY_STATIC (gst_cf_gop_validator_debug);
#define GST_CAT_DEFAULT gst_cf_gop_validator_debug

#define DEFAULT_MIN_GOP 4.0
#define DEFAULT_MAX_GOP 10.0
#define DEFAULT_REQUIRE_CLOSED_GOP TRUE
#define DEFAULT_MAX_BITRATE 12000
#define DEFAULT_ACTION GST_CF_GOP_VALIDATOR_ACTION_WARN

/* After a bitrate warning, the bitrate must fall to this share of
 * max-bitrate (percent) before the next one */
#define BITRATE_REARM_PCT 90
/* Stream time over which the bitrate is measured */
#define BITRATE_WINDOW_MS 5000
#define BITRATE_BUCKETS 8
/* An identical violation is posted again after this much stream time */
#define REPEAT_INTERVAL (60 * GST_SECOND)
/* NAL units looked at per frame */
#define MAX_NALS 32
/* Bytes of a byte-stream frame searched for NAL headers */
#define BYTE_STREAM_SCAN 4096

enum
{
  PROP_0,
  PROP_MIN_GOP,
  PROP_MAX_GOP,
  PROP_REQUIRE_CLOSED_GOP,
  PROP_MAX_BITRATE,
  PROP_ACTION,
  PROP_STATS,
};

typedef enum
{
  KIND_GOP_OUT_OF_RANGE,
  KIND_OPEN_GOP,
  KIND_VIDEO_CODEC,
  KIND_AUDIO_CODEC,
  KIND_BITRATE,
  N_KINDS
} ViolationKind;

static const struct
{
  const gchar *code;
  const gchar *nick;
  const gchar *severity;
} kinds[N_KINDS] = {
  {GST_CFLIVE_ERR_GOP_OUT_OF_RANGE, "gop-out-of-range", "error"},
  {GST_CFLIVE_ERR_OPEN_GOP, "open-gop", "error"},
  {GST_CFLIVE_ERR_UNSUPPORTED_VIDEO_CODEC, "unsupported-video-codec",
      "error"},
  {GST_CFLIVE_ERR_UNSUPPORTED_AUDIO_CODEC, "unsupported-audio-codec",
      "error"},
  {GST_CFLIVE_ERR_BITRATE_TOO_HIGH, "bitrate-too-high", "warning"},
};

typedef enum
{
  INPUT_FLV,
  INPUT_H264_AVC,
  INPUT_H264_BYTE_STREAM,
} InputFormat;

/* Lock order: object lock only. Properties and statistics are under the
 * object lock; the rest belongs to the streaming thread. */
struct _GstCfGopValidator
{
  GstBaseTransform parent;

  /* properties */
  gdouble min_gop;
  gdouble max_gop;
  gboolean require_closed_gop;
  guint max_bitrate;
  GstCfGopValidatorAction action;

  /* statistics */
  gdouble last_gop;
  gdouble min_gop_seen;
  gdouble max_gop_seen;
  gdouble sum_gop;
  guint64 gops;
  guint64 violations[N_KINDS];
  guint bitrate;
  gchar *video_codec;
  gchar *audio_codec;
  gint width, height, profile, level;
  gint rate, channels;

  /* streaming thread */
  InputFormat format;
  guint nal_length_size;
  gboolean have_kf;
  GstClockTime kf_dts;
  GstClockTime kf_pts;
  gboolean gop_flagged;         /* the GOP was reported long as it ran */
  gboolean gop_bad;             /* the current GOP violates a rule */
  gboolean dropping;
  gboolean video_unsupported;
  gboolean audio_unsupported;
  guint64 buckets[BITRATE_BUCKETS];
  gint64 bucket_index;
  gboolean bitrate_high;
  /* flood control, per kind */
  gchar *last_text[N_KINDS];
  GstClockTime last_posted[N_KINDS];
  guint repeats[N_KINDS];
};

#define gst_cf_gop_validator_parent_class parent_class
G_DEFINE_TYPE (GstCfGopValidator, gst_cf_gop_validator,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (cfgopvalidator, "cfgopvalidator",
    GST_RANK_NONE, GST_TYPE_CF_GOP_VALIDATOR,
    GST_DEBUG_CATEGORY_INIT (gst_cf_gop_validator_debug, "cfgopvalidator", 0,
        "cflive ingest rules validator"));

#define CAPS_STR "video/x-flv; " \
    "video/x-h264, stream-format = (string) { avc, byte-stream }, " \
    "alignment = (string) au"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

GType
gst_cf_gop_validator_action_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_CF_GOP_VALIDATOR_ACTION_WARN, "Post a message and pass everything",
        "warn"},
    {GST_CF_GOP_VALIDATOR_ACTION_DROP,
        "Post a message and drop frames until a valid GOP", "drop"},
    {GST_CF_GOP_VALIDATOR_ACTION_ERROR, "Post a message and an error, stop",
        "error"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstCfGopValidatorAction", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_cf_gop_validator_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_cf_gop_validator_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_cf_gop_validator_finalize (GObject * object);
static gboolean gst_cf_gop_validator_start (GstBaseTransform * trans);
static gboolean gst_cf_gop_validator_stop (GstBaseTransform * trans);
static gboolean gst_cf_gop_validator_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_cf_gop_validator_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static GstFlowReturn gst_cf_gop_validator_transform_ip (GstBaseTransform *
    trans, GstBuffer * buf);

static void
gst_cf_gop_validator_class_init (GstCfGopValidatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_cf_gop_validator_set_property;
  gobject_class->get_property = gst_cf_gop_validator_get_property;
  gobject_class->finalize = gst_cf_gop_validator_finalize;

  g_object_class_install_property (gobject_class, PROP_MIN_GOP,
      g_param_spec_double ("min-gop", "Minimum GOP",
          "Shortest keyframe interval allowed, in seconds", 0, 3600,
          DEFAULT_MIN_GOP, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MAX_GOP,
      g_param_spec_double ("max-gop", "Maximum GOP",
          "Longest keyframe interval allowed, in seconds", 0, 3600,
          DEFAULT_MAX_GOP, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_REQUIRE_CLOSED_GOP,
      g_param_spec_boolean ("require-closed-gop", "Require closed GOPs",
          "Report GOPs with leading pictures or a keyframe that is not an "
          "IDR", DEFAULT_REQUIRE_CLOSED_GOP, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MAX_BITRATE,
      g_param_spec_uint ("max-bitrate", "Maximum bitrate",
          "Recommended maximum bitrate in kbit/s over 5 s of stream; above "
          "it a warning is posted, nothing is dropped (0: no check)", 0,
          G_MAXUINT, DEFAULT_MAX_BITRATE, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ACTION,
      g_param_spec_enum ("action", "Action",
          "What a violation does", GST_TYPE_CF_GOP_VALIDATOR_ACTION,
          DEFAULT_ACTION, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstCfGopValidator:stats:
   *
   * A structure named `application/x-cflive-gop-stats`: `last-gop`,
   * `min-gop`, `max-gop`, `mean-gop` (gdouble, seconds), `gops` (guint64),
   * `gop-out-of-range`, `open-gop`, `unsupported-video-codec`,
   * `unsupported-audio-codec`, `bitrate-too-high` (guint64, violations of
   * each kind), `bitrate` (guint, kbit/s), `video-codec`, `audio-codec`
   * (strings), `width`, `height`, `profile`, `level`, `rate`, `channels`
   * (gint, 0 when unknown).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "GOP, codec and bitrate statistics", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Live ingest rules validator", "Filter/Analyzer/Video",
      "Checks keyframe interval, closed GOPs, H.264/AAC and bitrate of a "
      "live stream as it passes (FLV or H.264). Posts 'cflive-violation' "
      "element messages (code, message, video_codec, audio_codec, severity, "
      "kind, value, min, max, position, repeats)",
      "gst-cflive developers <gst-cflive@example.org>");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_cf_gop_validator_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_cf_gop_validator_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_cf_gop_validator_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_cf_gop_validator_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_cf_gop_validator_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_CF_GOP_VALIDATOR_ACTION, 0);
}

static void
gst_cf_gop_validator_init (GstCfGopValidator * self)
{
  self->min_gop = DEFAULT_MIN_GOP;
  self->max_gop = DEFAULT_MAX_GOP;
  self->require_closed_gop = DEFAULT_REQUIRE_CLOSED_GOP;
  self->max_bitrate = DEFAULT_MAX_BITRATE;
  self->action = DEFAULT_ACTION;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
reset_state (GstCfGopValidator * self, gboolean full)
{
  guint i;

  self->have_kf = FALSE;
  self->kf_dts = self->kf_pts = GST_CLOCK_TIME_NONE;
  self->gop_flagged = FALSE;
  self->gop_bad = FALSE;
  self->dropping = FALSE;
  self->bitrate_high = FALSE;
  memset (self->buckets, 0, sizeof (self->buckets));
  self->bucket_index = -1;
  for (i = 0; i < N_KINDS; i++) {
    g_clear_pointer (&self->last_text[i], g_free);
    self->last_posted[i] = GST_CLOCK_TIME_NONE;
    self->repeats[i] = 0;
  }
  if (!full)
    return;

  self->video_unsupported = self->audio_unsupported = FALSE;
  self->nal_length_size = 4;
  GST_OBJECT_LOCK (self);
  self->last_gop = 0;
  self->min_gop_seen = self->max_gop_seen = self->sum_gop = 0;
  self->gops = 0;
  memset (self->violations, 0, sizeof (self->violations));
  self->bitrate = 0;
  g_clear_pointer (&self->video_codec, g_free);
  g_clear_pointer (&self->audio_codec, g_free);
  self->width = self->height = self->profile = self->level = 0;
  self->rate = self->channels = 0;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_cf_gop_validator_finalize (GObject * object)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (object);

  reset_state (self, TRUE);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_cf_gop_validator_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MIN_GOP:
      self->min_gop = g_value_get_double (value);
      break;
    case PROP_MAX_GOP:
      self->max_gop = g_value_get_double (value);
      break;
    case PROP_REQUIRE_CLOSED_GOP:
      self->require_closed_gop = g_value_get_boolean (value);
      break;
    case PROP_MAX_BITRATE:
      self->max_bitrate = g_value_get_uint (value);
      break;
    case PROP_ACTION:
      self->action = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStructure *
make_stats (GstCfGopValidator * self)
{
  GstStructure *s;
  guint i;

  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-cflive-gop-stats",
      "last-gop", G_TYPE_DOUBLE, self->last_gop,
      "min-gop", G_TYPE_DOUBLE, self->min_gop_seen,
      "max-gop", G_TYPE_DOUBLE, self->max_gop_seen,
      "mean-gop", G_TYPE_DOUBLE,
      self->gops ? self->sum_gop / self->gops : 0.0,
      "gops", G_TYPE_UINT64, self->gops,
      "bitrate", G_TYPE_UINT, self->bitrate,
      "video-codec", G_TYPE_STRING, self->video_codec ? self->video_codec : "",
      "audio-codec", G_TYPE_STRING, self->audio_codec ? self->audio_codec : "",
      "width", G_TYPE_INT, self->width, "height", G_TYPE_INT, self->height,
      "profile", G_TYPE_INT, self->profile, "level", G_TYPE_INT, self->level,
      "rate", G_TYPE_INT, self->rate, "channels", G_TYPE_INT, self->channels,
      NULL);
  for (i = 0; i < N_KINDS; i++)
    gst_structure_set (s, kinds[i].nick, G_TYPE_UINT64, self->violations[i],
        NULL);
  GST_OBJECT_UNLOCK (self);
  return s;
}

static void
gst_cf_gop_validator_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, make_stats (self));
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MIN_GOP:
      g_value_set_double (value, self->min_gop);
      break;
    case PROP_MAX_GOP:
      g_value_set_double (value, self->max_gop);
      break;
    case PROP_REQUIRE_CLOSED_GOP:
      g_value_set_boolean (value, self->require_closed_gop);
      break;
    case PROP_MAX_BITRATE:
      g_value_set_uint (value, self->max_bitrate);
      break;
    case PROP_ACTION:
      g_value_set_enum (value, self->action);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_cf_gop_validator_start (GstBaseTransform * trans)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (trans);

  reset_state (self, TRUE);
  return TRUE;
}

static gboolean
gst_cf_gop_validator_stop (GstBaseTransform * trans)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (trans);

  reset_state (self, TRUE);
  return TRUE;
}

/* --- reporting --- */

/* Posts a violation (unless it repeats the last one of its kind within
 * REPEAT_INTERVAL) and returns the flow to go on with. */
static GstFlowReturn
violation (GstCfGopValidator * self, ViolationKind kind, GstClockTime pos,
    gdouble value, gdouble min, gdouble max, const gchar * format, ...)
    G_GNUC_PRINTF (7, 8);

static GstFlowReturn
violation (GstCfGopValidator * self, ViolationKind kind, GstClockTime pos,
    gdouble value, gdouble min, gdouble max, const gchar * format, ...)
{
  va_list ap;
  gchar *text;
  GstStructure *s;
  GstCfGopValidatorAction action;
  gboolean repeat;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);

  /* H.264 timestamps are positions in the segment, where encoders often
   * start at 1000 hours: report stream time */
  if (self->format != INPUT_FLV && GST_CLOCK_TIME_IS_VALID (pos) &&
      GST_BASE_TRANSFORM (self)->segment.format == GST_FORMAT_TIME)
    pos = gst_segment_to_stream_time (&GST_BASE_TRANSFORM (self)->segment,
        GST_FORMAT_TIME, pos);

  GST_OBJECT_LOCK (self);
  self->violations[kind]++;
  action = self->action;
  s = gst_structure_new (GST_CFLIVE_VIOLATION_MESSAGE_NAME,
      "code", G_TYPE_STRING, kinds[kind].code,
      "message", G_TYPE_STRING, text,
      "video_codec", G_TYPE_STRING, self->video_codec ? self->video_codec : "",
      "audio_codec", G_TYPE_STRING, self->audio_codec ? self->audio_codec : "",
      "severity", G_TYPE_STRING, kinds[kind].severity,
      "kind", G_TYPE_STRING, kinds[kind].nick,
      "value", G_TYPE_DOUBLE, value,
      "min", G_TYPE_DOUBLE, min, "max", G_TYPE_DOUBLE, max,
      "position", G_TYPE_UINT64, (guint64) pos, NULL);
  GST_OBJECT_UNLOCK (self);

  repeat = self->last_text[kind] && g_str_equal (self->last_text[kind], text)
      && GST_CLOCK_TIME_IS_VALID (self->last_posted[kind])
      && GST_CLOCK_TIME_IS_VALID (pos)
      && pos < self->last_posted[kind] + REPEAT_INTERVAL;

  if (repeat) {
    GST_LOG_OBJECT (self, "not posting a repeat: %s", text);
    self->repeats[kind]++;
    gst_structure_free (s);
  } else {
    gst_structure_set (s, "repeats", G_TYPE_UINT, self->repeats[kind], NULL);
    GST_INFO_OBJECT (self, "%s: %s", kinds[kind].code, text);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
    g_free (self->last_text[kind]);
    self->last_text[kind] = g_strdup (text);
    self->last_posted[kind] = pos;
    self->repeats[kind] = 0;
  }

  if (kind == KIND_BITRATE) {
    /* a recommendation: never drops nor stops */
  } else if (action == GST_CF_GOP_VALIDATOR_ACTION_ERROR) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("The stream breaks the ingest rules: %s", text),
        ("%s: %s", kinds[kind].code, text));
    g_free (text);
    return GST_FLOW_ERROR;
  } else if (action == GST_CF_GOP_VALIDATOR_ACTION_DROP) {
    if (!self->dropping)
      GST_INFO_OBJECT (self, "dropping until a valid GOP");
    self->dropping = TRUE;
  }
  g_free (text);
  return GST_FLOW_OK;
}

/* --- codec headers --- */

static void
set_codec (GstCfGopValidator * self, gchar ** field, const gchar * codec)
{
  GST_OBJECT_LOCK (self);
  if (g_strcmp0 (*field, codec) != 0) {
    g_free (*field);
    *field = g_strdup (codec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
parse_sps (GstCfGopValidator * self, const guint8 * data, gsize size)
{
  GstH264NalUnit nalu;
  GstH264SPS sps;

  /* @data is the NAL unit without a start code, which the identify
   * functions of the parser would look for */
  if (size < 4 || (data[0] & 0x1f) != GST_H264_NAL_SPS)
    return;
  memset (&nalu, 0, sizeof (nalu));
  nalu.type = GST_H264_NAL_SPS;
  nalu.data = (guint8 *) data;
  nalu.size = size;
  nalu.header_bytes = 1;
  nalu.valid = TRUE;
  /* the SPS alone, without a GstH264NalParser: its tables of every SPS and
   * PPS id weigh 240 KiB, and a server has a validator per live input */
  if (gst_h264_parse_sps (&nalu, &sps) != GST_H264_PARSER_OK)
    return;

  GST_OBJECT_LOCK (self);
  self->profile = sps.profile_idc;
  self->level = sps.level_idc;
  if (sps.frame_cropping_flag) {
    self->width = sps.crop_rect_width;
    self->height = sps.crop_rect_height;
  } else {
    self->width = sps.width;
    self->height = sps.height;
  }
  GST_OBJECT_UNLOCK (self);
  gst_h264_sps_clear (&sps);
}

/* AVCDecoderConfigurationRecord */
static void
parse_avcc (GstCfGopValidator * self, const guint8 * data, gsize size)
{
  GstByteReader br;
  guint8 b, n;
  guint16 len;
  const guint8 *sps;

  gst_byte_reader_init (&br, data, size);
  if (!gst_byte_reader_skip (&br, 4) || !gst_byte_reader_get_uint8 (&br, &b))
    return;
  self->nal_length_size = (b & 0x03) + 1;
  if (!gst_byte_reader_get_uint8 (&br, &n) || (n & 0x1f) == 0)
    return;
  if (!gst_byte_reader_get_uint16_be (&br, &len) ||
      !gst_byte_reader_get_data (&br, len, &sps))
    return;
  parse_sps (self, sps, len);
}

/* AudioSpecificConfig */
static void
parse_asc (GstCfGopValidator * self, const guint8 * data, gsize size)
{
  static const gint rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
    24000, 22050, 16000, 12000, 11025, 8000, 7350
  };
  guint index, channels;

  if (size < 2)
    return;
  index = ((data[0] & 0x07) << 1) | (data[1] >> 7);
  channels = (data[1] >> 3) & 0x0f;
  GST_OBJECT_LOCK (self);
  self->rate = index < G_N_ELEMENTS (rates) ? rates[index] : 0;
  self->channels = channels;
  GST_OBJECT_UNLOCK (self);
}

/* --- GOPs --- */

static void
record_gop (GstCfGopValidator * self, gdouble gop)
{
  GST_OBJECT_LOCK (self);
  self->last_gop = gop;
  if (self->gops == 0 || gop < self->min_gop_seen)
    self->min_gop_seen = gop;
  if (gop > self->max_gop_seen)
    self->max_gop_seen = gop;
  self->sum_gop += gop;
  self->gops++;
  GST_OBJECT_UNLOCK (self);
}

/* A video frame: @keyframe as the container says, @has_idr / @has_islice
 * from its NAL units (-1 when not looked at). */
static GstFlowReturn
check_video_frame (GstCfGopValidator * self, GstClockTime dts,
    GstClockTime pts, gboolean keyframe, gint has_idr, gint has_non_idr)
{
  GstFlowReturn ret = GST_FLOW_OK;
  gdouble min_gop, max_gop;
  gboolean closed;

  GST_OBJECT_LOCK (self);
  min_gop = self->min_gop;
  max_gop = self->max_gop;
  closed = self->require_closed_gop;
  GST_OBJECT_UNLOCK (self);

  if (keyframe) {
    if (self->have_kf) {
      /* keyframe to keyframe in display order; decode order when the
       * presentation times are unknown */
      gdouble gop = (GST_CLOCK_TIME_IS_VALID (pts) &&
          GST_CLOCK_TIME_IS_VALID (self->kf_pts)) ?
          (gdouble) GST_CLOCK_DIFF (self->kf_pts, pts) / GST_SECOND :
          (gdouble) GST_CLOCK_DIFF (self->kf_dts, dts) / GST_SECOND;
      gboolean bad = self->gop_bad;

      record_gop (self, gop);
      /* a GOP reported long while it ran is not reported again */
      if (!self->gop_flagged && (gop < min_gop || gop > max_gop)) {
        ret = violation (self, KIND_GOP_OUT_OF_RANGE, self->kf_pts, gop,
            min_gop, max_gop, "Keyframe interval of %.2f s, outside the "
            "allowed %.2f to %.2f s", gop, min_gop, max_gop);
        bad = TRUE;
      }
      /* drop mode: resume once a GOP that was valid throughout ends */
      if (self->dropping && !bad && !self->video_unsupported &&
          !self->audio_unsupported) {
        GST_INFO_OBJECT (self, "a valid GOP ended, forwarding again");
        self->dropping = FALSE;
      }
    }
    self->have_kf = TRUE;
    self->kf_dts = dts;
    self->kf_pts = pts;
    self->gop_flagged = FALSE;
    self->gop_bad = FALSE;

    if (ret == GST_FLOW_OK && closed && has_idr == 0 && has_non_idr == 1) {
      /* the time is in the position: the text is the same each GOP, for
       * the flood control */
      ret = violation (self, KIND_OPEN_GOP, pts, 0, 0, 0,
          "Open GOP: a keyframe is not an IDR picture; closed GOPs are "
          "required");
      self->gop_bad = TRUE;
    }
    return ret;
  }

  if (!self->have_kf)
    return GST_FLOW_OK;

  /* pictures after the keyframe in decode order, shown before it */
  if (closed && !self->gop_bad && GST_CLOCK_TIME_IS_VALID (pts) &&
      GST_CLOCK_TIME_IS_VALID (self->kf_pts) && pts < self->kf_pts) {
    ret = violation (self, KIND_OPEN_GOP, self->kf_pts,
        (gdouble) (self->kf_pts - pts) / GST_SECOND, 0, 0,
        "Open GOP: a picture after a keyframe is displayed before it; "
        "closed GOPs are required");
    self->gop_bad = TRUE;
  }
  return ret;
}

/* Any frame: a GOP running past max-gop is reported without waiting for
 * the keyframe that may never come. */
static GstFlowReturn
check_gop_running (GstCfGopValidator * self, GstClockTime dts)
{
  gdouble max_gop, min_gop, running;

  if (!self->have_kf || self->gop_flagged || !GST_CLOCK_TIME_IS_VALID (dts)
      || dts < self->kf_dts)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  max_gop = self->max_gop;
  min_gop = self->min_gop;
  GST_OBJECT_UNLOCK (self);

  running = (gdouble) (dts - self->kf_dts) / GST_SECOND;
  if (running <= max_gop)
    return GST_FLOW_OK;

  self->gop_flagged = self->gop_bad = TRUE;
  return violation (self, KIND_GOP_OUT_OF_RANGE, self->kf_pts, running,
      min_gop, max_gop, "No keyframe for more than %.2f s, outside the "
      "allowed %.2f to %.2f s", max_gop, min_gop, max_gop);
}

static void
check_bitrate (GstCfGopValidator * self, GstClockTime ts, gsize size)
{
  gint64 index, i;
  guint64 sum = 0;
  guint kbps, max;
  const gint64 bucket_ms = BITRATE_WINDOW_MS / (BITRATE_BUCKETS - 1);

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return;
  index = (gint64) (ts / GST_MSECOND) / bucket_ms;

  if (index > self->bucket_index) {
    /* a bucket completed: measure over the window behind it */
    for (i = self->bucket_index + 1; i <= index; i++) {
      if (i > self->bucket_index + BITRATE_BUCKETS)
        break;
      self->buckets[((i % BITRATE_BUCKETS) + BITRATE_BUCKETS) %
          BITRATE_BUCKETS] = 0;
    }
    if (self->bucket_index >= BITRATE_BUCKETS - 1) {
      for (i = 1; i < BITRATE_BUCKETS; i++)
        sum += self->buckets[((index - i) % BITRATE_BUCKETS +
                BITRATE_BUCKETS) % BITRATE_BUCKETS];
      kbps = (guint) (sum * 8 / BITRATE_WINDOW_MS);

      GST_OBJECT_LOCK (self);
      self->bitrate = kbps;
      max = self->max_bitrate;
      GST_OBJECT_UNLOCK (self);

      if (max > 0 && kbps > max && !self->bitrate_high) {
        violation (self, KIND_BITRATE, ts, kbps, 0, max, "Bitrate of %u "
            "kbps over the last %d s, above the recommended maximum of %u "
            "kbps", kbps, BITRATE_WINDOW_MS / 1000, max);
        self->bitrate_high = TRUE;
      } else if ((guint64) kbps * 100 <= (guint64) max * BITRATE_REARM_PCT) {
        /* warned again only after a real fall: a stream hovering at the
         * limit does not warn at every bucket it crosses it */
        self->bitrate_high = FALSE;
      }
    }
    self->bucket_index = index;
  }
  self->buckets[index % BITRATE_BUCKETS] += size;
}

/* --- NAL units --- */

/* Looks at the NAL unit types of an AVCC frame starting at @offset of @buf,
 * reading 5 bytes per NAL unit, never the frame itself. */
static void
scan_avcc (GstCfGopValidator * self, GstBuffer * buf, gsize offset,
    gint * has_idr, gint * has_non_idr)
{
  gsize size = gst_buffer_get_size (buf);
  guint n = 0, lsize = self->nal_length_size;

  *has_idr = *has_non_idr = 0;
  while (offset + lsize + 1 <= size && n++ < MAX_NALS) {
    guint8 h[5];
    guint32 len = 0;
    guint i, type;

    if (gst_buffer_extract (buf, offset, h, lsize + 1) != lsize + 1)
      break;
    for (i = 0; i < lsize; i++)
      len = (len << 8) | h[i];
    type = h[lsize] & 0x1f;
    if (type == GST_H264_NAL_SLICE_IDR)
      *has_idr = 1;
    else if (type == GST_H264_NAL_SLICE)
      *has_non_idr = 1;
    offset += lsize + len;
  }
}

/* Byte-stream: the NAL headers in the first BYTE_STREAM_SCAN bytes; the
 * first slice of an access unit comes after the few parameter sets. */
static void
scan_byte_stream (GstCfGopValidator * self, GstBuffer * buf, gint * has_idr,
    gint * has_non_idr)
{
  GstMapInfo map;
  GstMemory *mem;
  gsize i, n;

  *has_idr = *has_non_idr = -1;
  mem = gst_buffer_peek_memory (buf, 0);
  if (!mem || !gst_memory_map (mem, &map, GST_MAP_READ))
    return;
  n = MIN (map.size, BYTE_STREAM_SCAN);
  *has_idr = *has_non_idr = 0;
  for (i = 0; i + 3 < n; i++) {
    if (map.data[i] == 0 && map.data[i + 1] == 0 && map.data[i + 2] == 1) {
      guint type = map.data[i + 3] & 0x1f;

      if (type == GST_H264_NAL_SLICE_IDR) {
        *has_idr = 1;
        break;
      } else if (type == GST_H264_NAL_SLICE) {
        *has_non_idr = 1;
        break;
      } else if (type == GST_H264_NAL_SPS) {
        parse_sps (self, map.data + i + 3, n - i - 3);
      }
      i += 2;
    }
  }
  gst_memory_unmap (mem, &map);
}

/* --- FLV --- */

static GstFlowReturn
handle_flv (GstCfGopValidator * self, GstBuffer * buf, gboolean * drop)
{
  guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE + 8];
  gsize size = gst_buffer_get_size (buf), n;
  GstCfliveFlvTagInfo info;
  guint8 type;
  guint32 body_size;
  GstClockTime dts, pts;
  const guint8 *body;
  GstFlowReturn ret = GST_FLOW_OK;

  n = gst_buffer_extract (buf, 0, h, sizeof (h));
  if (n >= 3 && h[0] == 'F' && h[1] == 'L' && h[2] == 'V')
    return GST_FLOW_OK;         /* the file header */
  if (n < GST_CFLIVE_FLV_TAG_HEADER_SIZE + 1)
    return GST_FLOW_OK;

  type = h[0] & 0x1f;
  body_size = GST_READ_UINT24_BE (h + 1);
  dts = ((guint64) (GST_READ_UINT24_BE (h + 4) | (h[7] << 24))) *
      GST_MSECOND;
  body = h + GST_CFLIVE_FLV_TAG_HEADER_SIZE;
  if (!gst_cflive_flv_parse_tag_body (type, body,
          MIN (body_size, n - GST_CFLIVE_FLV_TAG_HEADER_SIZE), &info))
    return GST_FLOW_OK;
  pts = dts + info.composition_time * GST_MSECOND;

  if (type == GST_CFLIVE_FLV_TAG_SCRIPT)
    return GST_FLOW_OK;

  check_bitrate (self, dts, size);

  if (type == GST_CFLIVE_FLV_TAG_VIDEO) {
    gboolean h264 = g_str_equal (info.codec, "h264");

    set_codec (self, &self->video_codec, info.codec);
    if (!h264) {
      if (!self->video_unsupported || info.sequence_header)
        ret = violation (self, KIND_VIDEO_CODEC, dts, 0, 0, 0,
            "Video codec %s is not supported; use H.264", info.codec);
      self->video_unsupported = TRUE;
      *drop = self->dropping;
      return ret;
    }
    self->video_unsupported = FALSE;

    if (info.sequence_header) {
      GstMapInfo map;

      /* small: the decoder configuration */
      if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
        if (map.size > GST_CFLIVE_FLV_TAG_HEADER_SIZE + 5)
          parse_avcc (self, map.data + GST_CFLIVE_FLV_TAG_HEADER_SIZE + 5,
              MIN (body_size, map.size - GST_CFLIVE_FLV_TAG_HEADER_SIZE) - 5);
        gst_buffer_unmap (buf, &map);
      }
      return GST_FLOW_OK;
    }
    if (info.end_of_sequence)
      return GST_FLOW_OK;

    {
      gint has_idr = -1, has_non_idr = -1;

      if (info.keyframe)
        scan_avcc (self, buf, GST_CFLIVE_FLV_TAG_HEADER_SIZE + 5, &has_idr,
            &has_non_idr);
      ret = check_video_frame (self, dts, pts, info.keyframe, has_idr,
          has_non_idr);
    }
  } else if (type == GST_CFLIVE_FLV_TAG_AUDIO) {
    set_codec (self, &self->audio_codec, info.codec);
    if (!g_str_equal (info.codec, "aac")) {
      if (!self->audio_unsupported)
        ret = violation (self, KIND_AUDIO_CODEC, dts, 0, 0, 0,
            "Audio codec %s is not supported; use AAC", info.codec);
      self->audio_unsupported = TRUE;
      *drop = self->dropping;
      return ret;
    }
    self->audio_unsupported = FALSE;
    if (info.sequence_header) {
      guint8 asc[4];

      if (gst_buffer_extract (buf, GST_CFLIVE_FLV_TAG_HEADER_SIZE + 2, asc,
              2) == 2)
        parse_asc (self, asc, 2);
      return GST_FLOW_OK;
    }
  }

  if (ret == GST_FLOW_OK)
    ret = check_gop_running (self, dts);
  *drop = self->dropping;
  return ret;
}

/* --- H.264 --- */

static GstFlowReturn
handle_h264 (GstCfGopValidator * self, GstBuffer * buf, gboolean * drop)
{
  GstClockTime dts = GST_BUFFER_DTS_OR_PTS (buf);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  gboolean keyframe = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gboolean header = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER);
  gint has_idr = -1, has_non_idr = -1;
  GstFlowReturn ret;

  if (keyframe || header) {
    if (self->format == INPUT_H264_AVC)
      scan_avcc (self, buf, 0, &has_idr, &has_non_idr);
    else
      scan_byte_stream (self, buf, &has_idr, &has_non_idr);
  }
  /* h264parse flags every access unit with parameter sets as a header,
   * keyframes included: only parameter sets alone are not a frame */
  if (header && has_idr == 0 && has_non_idr == 0)
    return GST_FLOW_OK;

  check_bitrate (self, dts, gst_buffer_get_size (buf));
  ret = check_video_frame (self, dts, pts, keyframe, has_idr, has_non_idr);
  if (ret == GST_FLOW_OK)
    ret = check_gop_running (self, dts);
  *drop = self->dropping;
  return ret;
}

static GstFlowReturn
gst_cf_gop_validator_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (trans);
  gboolean drop = FALSE;
  GstFlowReturn ret;

  if (self->format == INPUT_FLV)
    ret = handle_flv (self, buf, &drop);
  else
    ret = handle_h264 (self, buf, &drop);

  if (ret != GST_FLOW_OK)
    return ret;
  /* headers always pass: a branch must be able to start again. On H.264
   * the parameter sets alone are never dropped; the keyframes h264parse
   * flags as headers for the parameter sets they carry are frames. */
  if (drop && (self->format != INPUT_FLV ||
          !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER)))
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  return GST_FLOW_OK;
}

static gboolean
gst_cf_gop_validator_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);

  if (gst_structure_has_name (s, "video/x-flv")) {
    self->format = INPUT_FLV;
  } else {
    const gchar *sf = gst_structure_get_string (s, "stream-format");
    const GValue *cd = gst_structure_get_value (s, "codec_data");
    gint w = 0, h = 0;

    self->format = g_strcmp0 (sf, "avc") == 0 ? INPUT_H264_AVC :
        INPUT_H264_BYTE_STREAM;
    set_codec (self, &self->video_codec, "h264");
    if (gst_structure_get_int (s, "width", &w) &&
        gst_structure_get_int (s, "height", &h)) {
      GST_OBJECT_LOCK (self);
      self->width = w;
      self->height = h;
      GST_OBJECT_UNLOCK (self);
    }
    if (cd && G_VALUE_HOLDS (cd, GST_TYPE_BUFFER)) {
      GstMapInfo map;
      GstBuffer *b = gst_value_get_buffer (cd);

      if (gst_buffer_map (b, &map, GST_MAP_READ)) {
        parse_avcc (self, map.data, map.size);
        gst_buffer_unmap (b, &map);
      }
    }
  }
  GST_DEBUG_OBJECT (self, "input %" GST_PTR_FORMAT, incaps);
  return TRUE;
}

static gboolean
gst_cf_gop_validator_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstCfGopValidator *self = GST_CF_GOP_VALIDATOR (trans);
  GstCflivePublisherAction action;
  guint session;

  if (gst_cflive_publisher_event_parse (event, &action, &session, NULL,
          NULL)) {
    /* the first GOP of a new encoder session is judged on its own */
    if (action != GST_CFLIVE_PUBLISHER_DISCONNECTED) {
      GST_DEBUG_OBJECT (self, "encoder session %u: new GOP tracking",
          session);
      reset_state (self, FALSE);
    } else {
      /* the GOP cut by the disconnection is not measured */
      self->have_kf = FALSE;
    }
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP ||
      GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
    reset_state (self, FALSE);
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}
