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
 * SECTION:element-cfrecordsink
 * @title: cfrecordsink
 *
 * Records the broadcasts of a live input into on-demand videos, the way
 * Cloudflare Stream Live does with `recording.mode = automatic`.
 *
 * Each recording gets a uid (32 hex) and the directory
 * `<location>/<uid>/` with MPEG-TS segments (`seg-00000.ts`, ... cut on
 * keyframes, about 4 s each), an HLS playlist `video.m3u8` (an EVENT
 * playlist while live, a VOD playlist with `#EXT-X-ENDLIST` once ready),
 * the Video object `video.json` (state `live-inprogress`, then `ready`)
 * and, for recordings under 4 hours, `video.mp4` made when the recording
 * is finalised.
 *
 * The streaming thread only queues references to the tags: a writer
 * thread muxes and writes them, and syncs the segment to disk every
 * second, so that a process killed with SIGKILL (or a machine that loses
 * power) loses at most the last second. The writer thread only runs
 * while there is something to record: an idle element has no thread of
 * its own (the timed retention waits on the system clock, whose single
 * thread serves every element of the process). A slow disk fills the
 * bounded queue and the recording drops frames up to the next keyframe; a
 * full disk or a directory that cannot be written stops the recording with
 * a warning and an `error` message; neither ever blocks the rest of the
 * pipeline.
 *
 * When the encoder disconnects (the `cflive-publisher` event of
 * cfliveinputsrc), the recording waits #GstCfRecordSink:timeout-seconds:
 * a reconnect within that time continues the same recording (the
 * timestamps continue where they stopped, the outage is not recorded);
 * afterwards the recording is finalised and the next publish starts a new
 * one. EOS finalises too. A recording reaching
 * #GstCfRecordSink:max-duration is finalised there, and the rest of the
 * broadcast is not recorded.
 *
 * When it starts (READY to PAUSED), the element finalises the recordings
 * of its live input left `live-inprogress` by a crash, from the segments
 * on disk, and deletes those whose `scheduledDeletion` has passed; it
 * looks for such recordings again every 10 minutes and when one it knows
 * of is due.
 *
 * ## Messages
 *
 * Element messages named `cflive-recording` with the fields `event`
 * (started, continued, finalised, recovered, deleted, error), `uid`,
 * `live-input`, `location` (the recording's directory), `video` (the
 * Video JSON as written to video.json, not for deleted) and, for error,
 * `code` (ERR_STORAGE_QUOTA_EXHAUSTED when the disk is full,
 * ERR_STORAGE_UNWRITABLE when the directory cannot be written) and
 * `message`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e cfliveinputsrc stream-key=secret ! cfgopvalidator ! \
 *     tee name=t t. ! queue ! cfrestreamsink outputs=rtmp://example.com/app/KEY \
 *     t. ! queue ! cfrecordsink location=/var/lib/cflive/videos \
 *     live-input=0123456789abcdef0123456789abcdef
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/cflive/cflive.h>
#include <gst/codecparsers/gsth264parser.h>

#include "gstcfrecordsink.h"
#include "cfrecording.h"
#include "ts/tsmux.h"

GST_DEBUG_CATEGORY_STATIC (gst_cf_record_sink_debug);
#define GST_CAT_DEFAULT gst_cf_record_sink_debug
GST_DEBUG_CATEGORY (cf_recording_debug);

#define DEFAULT_LOCATION "recordings"
#define DEFAULT_MODE GST_CF_RECORD_MODE_AUTOMATIC
#define DEFAULT_TIMEOUT_SECONDS 0
/* what timeout-seconds 0 means */
#define PLATFORM_TIMEOUT_SECONDS 10
#define DEFAULT_MAX_DURATION (7 * 24 * 3600)
#define DEFAULT_DELETE_AFTER -1
#define DEFAULT_LIVE_INPUT NULL

/* Segments are cut at the first keyframe after this much media */
#define SEGMENT_TARGET_MS 4000
/* Data is synced to disk at least this often */
#define SYNC_INTERVAL_US G_USEC_PER_SEC
/* How often the directory is scanned again for recordings to delete that
 * the element did not make (those it made are deleted when due): every
 * live input of a server scans the same directory */
#define RETENTION_INTERVAL_US (600 * G_USEC_PER_SEC)
/* Longest the writer thread sleeps */
#define TICK_US (250 * G_TIME_SPAN_MILLISECOND)
/* How long the writer thread stays with nothing to do before it leaves:
 * the next item starts another one, so that a server with a thousand
 * live inputs and no encoder has no writer thread at all */
#define WRITER_IDLE_US (3 * G_USEC_PER_SEC)
/* Bytes of tags the writer may be behind before frames are dropped */
#define MAX_QUEUE_BYTES (64 * 1024 * 1024)

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_MODE,
  PROP_TIMEOUT_SECONDS,
  PROP_MAX_DURATION,
  PROP_DELETE_AFTER,
  PROP_LIVE_INPUT,
  PROP_RECORDING_UID,
  PROP_STATS,
};

typedef enum
{
  ITEM_BUFFER,
  ITEM_PUBLISHER,
  ITEM_GAP,                     /* frames were dropped before this */
  ITEM_EOS,
} ItemType;

typedef struct
{
  ItemType type;
  GstBuffer *buf;
  GstCflivePublisherAction action;
  guint session;
  gint64 arrival;               /* monotonic µs */
} Item;

typedef enum
{
  JOB_FINALISE,                 /* a recording that ended */
  JOB_FINALISE_FAILED,          /* one stopped by a storage error */
  JOB_RECOVER,                  /* one left live by a crash */
  JOB_RETENTION,
} JobType;

typedef struct
{
  JobType type;
  CfRecording *rec;
  gchar *dir;
} Job;

/* Lock order: the object lock (properties) is never held together with
 * self->lock (the queue, the jobs and the statistics); the system clock's
 * lock is taken under self->lock (never the reverse: the clock calls
 * retention_timer() without it). The writer state below belongs to the
 * writer thread alone: to the one running, one at a time, handed over by
 * g_thread_join() and g_thread_new(). */
struct _GstCfRecordSink
{
  GstBaseSink parent;

  /* properties, object lock */
  gchar *location;
  GstCfRecordMode mode;
  guint timeout_seconds;
  guint64 max_duration;
  gint64 delete_after;
  gchar *live_input;

  /* self->lock */
  GMutex lock;
  GCond cond;
  GQueue queue;                 /* Item */
  guint64 queued_bytes;
  gboolean dropping;            /* to the next keyframe */
  gboolean running;
  gboolean writer_active;       /* a writer thread runs and will see the
                                 * queue */
  gboolean wake;
  gboolean eos_done;
  guint pending_jobs;
  gint64 next_deletion;         /* earliest known scheduledDeletion, µs */
  gboolean retention_queued;
  gint64 last_retention;        /* monotonic, µs */
  GstClockID retention_id;      /* the next retention, on self->clock */
  GstClockTime retention_at;
  gchar *current_uid;
  const gchar *state;
  gchar *last_error;
  guint64 n_recordings, n_finalised, n_recovered, n_deleted, n_errors;
  guint64 bytes_written, n_segments, dropped_bytes;
  gboolean warned_overflow;

  GThread *thread;              /* the writer, running or left idle */
  GThreadPool *pool;            /* finalisation, recovery, retention */
  /* the system clock: its one thread serves the timed retention of every
   * element of the process */
  GstClock *clock;

  /* the writer thread */
  CfRecording *rec;
  CfTsMuxer *muxer;
  GByteArray *out;
  GstBuffer *headers[3];        /* metadata, video and audio headers */
  gint width, height;
  gboolean has_video;
  guint32 last_raw;             /* FLV timestamp of the last tag */
  gboolean have_raw;
  guint wraps;
  gint seg_fd;
  gchar *seg_name;
  guint seg_index;
  guint64 seg_bytes;
  gint64 seg_start;             /* ms of recording time */
  gboolean seg_discont;         /* the segment starts a new encoding */
  gboolean config_changed;      /* a new codec configuration since */
  gboolean seg_dirty, dir_dirty;
  gint64 last_sync;
  gint64 base;                  /* stream ms at recording ms 0 */
  gboolean need_rebase;
  gint64 last_video, video_step, last_audio, audio_step;
  gboolean have_video_ts, have_audio_ts;
  gboolean connected;
  gboolean disconnected;
  gint64 disconnected_at;
  gboolean blocked;             /* until the next publish */
  gboolean rec_failed;
  guint rec_timeout;            /* of the recording in progress, s */
  guint64 rec_max_ms;
};

static void ensure_writer (GstCfRecordSink * self);

/* The recordings some element of this process is writing, finalising or
 * recovering, by directory. An application that stops a pipeline and
 * starts another for the same live input (cflive-server does, when the
 * keys of an input are rotated) may start the new element while the old
 * one still finalises in another thread: the new one must not take that
 * recording for what a crash left. */
G_LOCK_DEFINE_STATIC (busy);
static GHashTable *busy_dirs = NULL;

/* FALSE if it was taken already */
static gboolean
busy_take (const gchar * dir)
{
  gboolean taken;

  G_LOCK (busy);
  if (!busy_dirs)
    busy_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  taken = g_hash_table_add (busy_dirs, g_strdup (dir));
  G_UNLOCK (busy);
  return taken;
}

static void
busy_release (const gchar * dir)
{
  G_LOCK (busy);
  if (busy_dirs)
    g_hash_table_remove (busy_dirs, dir);
  G_UNLOCK (busy);
}

#define gst_cf_record_sink_parent_class parent_class
G_DEFINE_TYPE (GstCfRecordSink, gst_cf_record_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (cfrecordsink, "cfrecordsink",
    GST_RANK_NONE, GST_TYPE_CF_RECORD_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_cf_record_sink_debug, "cfrecordsink", 0,
        "cflive record sink");
    GST_DEBUG_CATEGORY_INIT (cf_recording_debug, "cfrecording", 0,
        "cflive recordings on disk"));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-flv"));

GType
gst_cf_record_mode_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {GST_CF_RECORD_MODE_OFF, "Not recorded", "off"},
    {GST_CF_RECORD_MODE_AUTOMATIC, "Every broadcast is recorded",
        "automatic"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstCfRecordMode", values);

    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

static void gst_cf_record_sink_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_cf_record_sink_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static void gst_cf_record_sink_finalize (GObject * object);
static gboolean gst_cf_record_sink_start (GstBaseSink * bsink);
static gboolean gst_cf_record_sink_stop (GstBaseSink * bsink);
static gboolean gst_cf_record_sink_event (GstBaseSink * bsink,
    GstEvent * event);
static GstFlowReturn gst_cf_record_sink_render (GstBaseSink * bsink,
    GstBuffer * buf);
static void run_job (gpointer data, gpointer user_data);

static void
gst_cf_record_sink_class_init (GstCfRecordSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_cf_record_sink_set_property;
  gobject_class->get_property = gst_cf_record_sink_get_property;
  gobject_class->finalize = gst_cf_record_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Directory that holds the recordings, one directory <uid> each "
          "(created if needed)", DEFAULT_LOCATION, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "off: not recorded (a recording in progress is finalised); "
          "automatic: every broadcast is recorded, from the next keyframe",
          GST_TYPE_CF_RECORD_MODE, DEFAULT_MODE, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_TIMEOUT_SECONDS,
      g_param_spec_uint ("timeout-seconds", "Timeout seconds",
          "How long the encoder may be gone before the recording is "
          "finalised; a reconnect within it continues the same recording. "
          "0: the default of 10 s. Applies to the next recording", 0,
          G_MAXINT, DEFAULT_TIMEOUT_SECONDS, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_MAX_DURATION,
      g_param_spec_uint64 ("max-duration", "Maximum duration",
          "Seconds after which a recording is finalised and the rest of the "
          "broadcast is not recorded. Applies to the next recording", 1,
          G_MAXUINT32 / 1000, DEFAULT_MAX_DURATION, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_DELETE_AFTER,
      g_param_spec_int64 ("delete-after", "Delete after",
          "Seconds after a recording became ready at which it is deleted "
          "(its scheduledDeletion); -1 keeps it. Applies to the next "
          "recording", -1, G_MAXINT64 / G_USEC_PER_SEC, DEFAULT_DELETE_AFTER,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_LIVE_INPUT,
      g_param_spec_string ("live-input", "Live input",
          "Uid of the live input, written as liveInput into each recording; "
          "recovery and retention only touch the recordings of this live "
          "input (all of them when unset)", DEFAULT_LIVE_INPUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_RECORDING_UID,
      g_param_spec_string ("recording-uid", "Recording uid",
          "Uid of the recording in progress, NULL when there is none", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstCfRecordSink:stats:
   *
   * A structure named `application/x-cflive-record-stats` with
   * `recordings` (guint64, recordings started), `finalised`, `recovered`,
   * `deleted`, `errors`, `segments` (segments closed), `bytes-written`
   * (media bytes), `dropped-bytes` (tags dropped because the writer was
   * behind), `queued-bytes`, `current-uid` (string, or NULL), `state`
   * (idle, recording, waiting: the encoder is gone and the timeout runs,
   * failed) and `last-error` (string, or NULL).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "State and counters of the recordings", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Live recording sink", "Sink/File",
      "Records the broadcasts of a live input into on-demand videos (HLS "
      "segments, a playlist, an MP4 and a Video JSON per recording), that "
      "survive crashes and continue through encoder reconnects. Posts "
      "'cflive-recording' element messages (event, uid, live-input, "
      "location, video, code, message)",
      "gst-cflive developers <gst-cflive@example.org>");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_cf_record_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_cf_record_sink_stop);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_cf_record_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_cf_record_sink_render);

  gst_type_mark_as_plugin_api (GST_TYPE_CF_RECORD_MODE, 0);
}

static void
gst_cf_record_sink_init (GstCfRecordSink * self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->mode = DEFAULT_MODE;
  self->timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
  self->max_duration = DEFAULT_MAX_DURATION;
  self->delete_after = DEFAULT_DELETE_AFTER;
  self->live_input = g_strdup (DEFAULT_LIVE_INPUT);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  self->state = "idle";
  self->seg_fd = -1;
  self->clock = gst_system_clock_obtain ();

  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), FALSE);
}

static void
item_free (Item * item)
{
  gst_clear_buffer (&item->buf);
  g_free (item);
}

static void
gst_cf_record_sink_finalize (GObject * object)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (object);

  g_queue_clear_full (&self->queue, (GDestroyNotify) item_free);
  g_free (self->location);
  g_free (self->live_input);
  g_free (self->current_uid);
  g_free (self->last_error);
  gst_object_unref (self->clock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_cf_record_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      if (!self->location)
        self->location = g_strdup (DEFAULT_LOCATION);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    case PROP_TIMEOUT_SECONDS:
      self->timeout_seconds = g_value_get_uint (value);
      break;
    case PROP_MAX_DURATION:
      self->max_duration = g_value_get_uint64 (value);
      break;
    case PROP_DELETE_AFTER:
      self->delete_after = g_value_get_int64 (value);
      break;
    case PROP_LIVE_INPUT:
      g_free (self->live_input);
      self->live_input = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);

  if (prop_id == PROP_MODE) {
    /* the writer applies it (mode off clears a storage error) */
    g_mutex_lock (&self->lock);
    self->wake = TRUE;
    g_cond_broadcast (&self->cond);
    ensure_writer (self);
    g_mutex_unlock (&self->lock);
  }
}

static GstStructure *
make_stats (GstCfRecordSink * self)
{
  GstStructure *s;

  g_mutex_lock (&self->lock);
  s = gst_structure_new ("application/x-cflive-record-stats",
      "recordings", G_TYPE_UINT64, self->n_recordings,
      "finalised", G_TYPE_UINT64, self->n_finalised,
      "recovered", G_TYPE_UINT64, self->n_recovered,
      "deleted", G_TYPE_UINT64, self->n_deleted,
      "errors", G_TYPE_UINT64, self->n_errors,
      "segments", G_TYPE_UINT64, self->n_segments,
      "bytes-written", G_TYPE_UINT64, self->bytes_written,
      "dropped-bytes", G_TYPE_UINT64, self->dropped_bytes,
      "queued-bytes", G_TYPE_UINT64, self->queued_bytes,
      "current-uid", G_TYPE_STRING, self->current_uid,
      "state", G_TYPE_STRING, self->state,
      "last-error", G_TYPE_STRING, self->last_error, NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

static void
gst_cf_record_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (object);

  switch (prop_id) {
    case PROP_LOCATION:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->location);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MODE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->mode);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TIMEOUT_SECONDS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->timeout_seconds);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_DURATION:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->max_duration);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_DELETE_AFTER:
      GST_OBJECT_LOCK (self);
      g_value_set_int64 (value, self->delete_after);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_LIVE_INPUT:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->live_input);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECORDING_UID:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->current_uid);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* --- messages --- */

static void
post_recording (GstCfRecordSink * self, const gchar * event,
    CfRecording * rec, const gchar * uid, const gchar * live_input,
    const gchar * dir, const gchar * code, const gchar * message)
{
  GstStructure *s;

  s = gst_structure_new (GST_CFLIVE_RECORDING_MESSAGE_NAME,
      "event", G_TYPE_STRING, event,
      "uid", G_TYPE_STRING, rec ? rec->uid : uid,
      "live-input", G_TYPE_STRING, rec ? rec->live_input : live_input,
      "location", G_TYPE_STRING, rec ? rec->dir : dir, NULL);
  if (rec) {
    gchar *json = cf_recording_to_json (rec);

    gst_structure_set (s, "video", G_TYPE_STRING, json, NULL);
    g_free (json);
  }
  if (code)
    gst_structure_set (s, "code", G_TYPE_STRING, code, "message",
        G_TYPE_STRING, message, NULL);
  GST_INFO_OBJECT (self, "recording %s: %s%s%s", rec ? rec->uid : uid, event,
      message ? ": " : "", message ? message : "");
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

static void
set_state (GstCfRecordSink * self, const gchar * state)
{
  g_mutex_lock (&self->lock);
  self->state = state;
  g_mutex_unlock (&self->lock);
}

static void
set_current_uid (GstCfRecordSink * self, const gchar * uid)
{
  g_mutex_lock (&self->lock);
  g_free (self->current_uid);
  self->current_uid = g_strdup (uid);
  g_mutex_unlock (&self->lock);
}

/* --- jobs (finalisation, recovery, retention) --- */

/* self->lock held */
static void
queue_job_unlocked (GstCfRecordSink * self, JobType type, CfRecording * rec,
    const gchar * dir)
{
  Job *job = g_new0 (Job, 1);

  job->type = type;
  job->rec = rec;
  job->dir = g_strdup (dir);
  self->pending_jobs++;
  if (type == JOB_RETENTION)
    self->retention_queued = TRUE;
  g_thread_pool_push (self->pool, job, NULL);
}

static void
queue_job (GstCfRecordSink * self, JobType type, CfRecording * rec,
    const gchar * dir)
{
  g_mutex_lock (&self->lock);
  queue_job_unlocked (self, type, rec, dir);
  g_mutex_unlock (&self->lock);
}

/* Called by the thread of the system clock. The element is alive (the
 * callback holds a reference) but may be stopping: self->running and the
 * id, under self->lock, say whether this wait is still wanted, and the job
 * is queued under the same lock so that stop() frees the pool after it. */
static gboolean
retention_timer (GstClock * clock, GstClockTime time, GstClockID id,
    gpointer user_data)
{
  GstCfRecordSink *self = user_data;

  g_mutex_lock (&self->lock);
  if (self->running && self->retention_id == id) {
    gst_clock_id_unref (self->retention_id);
    self->retention_id = NULL;
    self->last_retention = g_get_monotonic_time ();
    /* the job schedules the next one when it is done */
    if (!self->retention_queued)
      queue_job_unlocked (self, JOB_RETENTION, NULL, NULL);
  }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Schedules the next retention (a rescan every RETENTION_INTERVAL_US, or
 * the next known scheduledDeletion if sooner) as an async wait on the
 * system clock: no thread of the element waits for it. Self->lock held. */
static void
schedule_retention (GstCfRecordSink * self)
{
  gint64 delay;
  GstClockTime at;

  /* a queued retention job schedules the next one when it is done */
  if (!self->running || self->retention_queued)
    return;
  delay = self->last_retention + RETENTION_INTERVAL_US -
      g_get_monotonic_time ();
  if (self->next_deletion > 0)
    delay = MIN (delay, self->next_deletion - g_get_real_time ());
  at = gst_clock_get_time (self->clock) + MAX (delay, 0) * GST_USECOND;
  if (self->retention_id) {
    if (self->retention_at <= at)
      return;
    gst_clock_id_unschedule (self->retention_id);
    gst_clock_id_unref (self->retention_id);
  }
  self->retention_id = gst_clock_new_single_shot_id (self->clock, at);
  self->retention_at = at;
  if (gst_clock_id_wait_async (self->retention_id, retention_timer,
          gst_object_ref (self), gst_object_unref) != GST_CLOCK_OK) {
    GST_WARNING_OBJECT (self, "cannot schedule the retention");
    gst_clock_id_unref (self->retention_id);
    self->retention_id = NULL;
  }
}

static gboolean
is_storage_full (const GError * err)
{
  return err && err->domain == CF_RECORDING_ERROR && (err->code == ENOSPC
#ifdef EDQUOT
      || err->code == EDQUOT
#endif
      );
}

static const gchar *
storage_error_code (const GError * err)
{
  return is_storage_full (err) ? GST_CFLIVE_ERR_STORAGE_QUOTA_EXHAUSTED :
      GST_CFLIVE_ERR_STORAGE_UNWRITABLE;
}

static void
note_deletion (GstCfRecordSink * self, gint64 when)
{
  if (when <= 0)
    return;
  g_mutex_lock (&self->lock);
  if (self->next_deletion == 0 || when < self->next_deletion)
    self->next_deletion = when;
  schedule_retention (self);
  g_mutex_unlock (&self->lock);
}

static void
finalise_job (GstCfRecordSink * self, CfRecording * rec, JobType type)
{
  GError *err = NULL, *mp4_err = NULL;
  gboolean ok = TRUE;

  if (type != JOB_FINALISE)
    ok = cf_recording_rebuild_segments (rec, &err);
  if (ok)
    ok = cf_recording_finalise (rec, &mp4_err, &err);
  if (mp4_err) {
    GST_WARNING_OBJECT (self, "recording %s: no MP4 download: %s",
        rec->uid, mp4_err->message);
    g_error_free (mp4_err);
  }
  if (!ok) {
    /* it stays live-inprogress on disk: the next start finalises it */
    GST_WARNING_OBJECT (self, "cannot finalise recording %s: %s", rec->uid,
        err->message);
    if (type != JOB_FINALISE_FAILED) {
      g_mutex_lock (&self->lock);
      self->n_errors++;
      g_free (self->last_error);
      self->last_error = g_strdup (err->message);
      g_mutex_unlock (&self->lock);
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Cannot finalise recording %s.", rec->uid), ("%s", err->message));
      post_recording (self, GST_CFLIVE_RECORDING_EVENT_ERROR, rec, NULL,
          NULL, NULL, storage_error_code (err), err->message);
    }
    g_error_free (err);
    return;
  }

  g_mutex_lock (&self->lock);
  if (type == JOB_RECOVER)
    self->n_recovered++;
  else
    self->n_finalised++;
  g_mutex_unlock (&self->lock);
  note_deletion (self, rec->scheduled_deletion);
  post_recording (self, type == JOB_RECOVER ?
      GST_CFLIVE_RECORDING_EVENT_RECOVERED :
      GST_CFLIVE_RECORDING_EVENT_FINALISED, rec, NULL, NULL, NULL, NULL, NULL);
}

static void
retention_job (GstCfRecordSink * self)
{
  gchar *location, *live_input;
  gint64 now = g_get_real_time (), next = 0;
  const gchar *name;
  GDir *d;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  live_input = g_strdup (self->live_input);
  GST_OBJECT_UNLOCK (self);

  d = g_dir_open (location, 0, NULL);
  while (d && (name = g_dir_read_name (d))) {
    gchar *dir = g_build_filename (location, name, NULL);
    CfRecording *rec = cf_recording_load (dir, NULL);

    if (rec && rec->scheduled_deletion > 0 && (!live_input ||
            g_strcmp0 (live_input, rec->live_input) == 0)) {
      if (rec->scheduled_deletion <= now) {
        GError *err = NULL;

        if (cf_recording_remove_dir (dir, &err)) {
          g_mutex_lock (&self->lock);
          self->n_deleted++;
          g_mutex_unlock (&self->lock);
          post_recording (self, GST_CFLIVE_RECORDING_EVENT_DELETED, NULL,
              rec->uid, rec->live_input, dir, NULL, NULL);
        } else {
          GST_WARNING_OBJECT (self, "cannot delete recording %s: %s",
              rec->uid, err->message);
          g_error_free (err);
        }
      } else if (next == 0 || rec->scheduled_deletion < next) {
        next = rec->scheduled_deletion;
      }
    }
    cf_recording_free (rec);
    g_free (dir);
  }
  if (d)
    g_dir_close (d);
  g_free (location);
  g_free (live_input);

  g_mutex_lock (&self->lock);
  self->retention_queued = FALSE;
  if (next > 0 && (self->next_deletion == 0 || self->next_deletion <= now ||
          next < self->next_deletion))
    self->next_deletion = next;
  else if (next == 0 && self->next_deletion <= now)
    self->next_deletion = 0;
  schedule_retention (self);
  g_mutex_unlock (&self->lock);
}

static void
run_job (gpointer data, gpointer user_data)
{
  GstCfRecordSink *self = user_data;
  Job *job = data;

  switch (job->type) {
    case JOB_FINALISE:
    case JOB_FINALISE_FAILED:
      finalise_job (self, job->rec, job->type);
      break;
    case JOB_RECOVER:{
      GError *err = NULL;
      CfRecording *rec = cf_recording_load (job->dir, &err);

      if (rec) {
        GST_OBJECT_LOCK (self);
        rec->delete_after = self->delete_after;
        GST_OBJECT_UNLOCK (self);
        GST_INFO_OBJECT (self, "recovering recording %s", rec->uid);
        finalise_job (self, rec, JOB_RECOVER);
        cf_recording_free (rec);
      } else {
        GST_WARNING_OBJECT (self, "cannot recover %s: %s", job->dir,
            err->message);
        g_error_free (err);
      }
      break;
    }
    case JOB_RETENTION:
      retention_job (self);
      break;
  }
  if (job->type == JOB_RECOVER)
    busy_release (job->dir);
  else if (job->rec)
    busy_release (job->rec->dir);
  if (job->type != JOB_RECOVER)
    cf_recording_free (job->rec);
  g_free (job->dir);
  g_free (job);

  g_mutex_lock (&self->lock);
  self->pending_jobs--;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* --- the writer thread --- */

static void
record_bytes (GstCfRecordSink * self, guint64 n)
{
  g_mutex_lock (&self->lock);
  self->bytes_written += n;
  g_mutex_unlock (&self->lock);
}

static gboolean
close_segment (GstCfRecordSink * self, gint64 end_ms, GError ** error)
{
  gboolean ok = TRUE;

  if (self->seg_fd < 0)
    return TRUE;
  if (fdatasync (self->seg_fd) < 0) {
    g_set_error (error, CF_RECORDING_ERROR, errno, "Cannot sync %s: %s",
        self->seg_name, g_strerror (errno));
    ok = FALSE;
  }
  close (self->seg_fd);
  self->seg_fd = -1;
  self->seg_dirty = FALSE;
  if (ok && self->seg_bytes > 0) {
    cf_recording_add_segment (self->rec, self->seg_name,
        MAX (0, end_ms - self->seg_start) / 1000.0, self->seg_bytes,
        self->seg_discont);
    g_mutex_lock (&self->lock);
    self->n_segments++;
    g_mutex_unlock (&self->lock);
  }
  g_clear_pointer (&self->seg_name, g_free);
  return ok;
}

static gboolean
open_segment (GstCfRecordSink * self, gint64 start_ms, GError ** error)
{
  gchar *path;

  self->seg_name = cf_recording_segment_name (self->seg_index++);
  path = g_build_filename (self->rec->dir, self->seg_name, NULL);
  self->seg_fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (self->seg_fd < 0) {
    g_set_error (error, CF_RECORDING_ERROR, errno, "Cannot create %s: %s",
        path, g_strerror (errno));
    g_free (path);
    return FALSE;
  }
  g_free (path);
  self->seg_start = start_ms;
  self->seg_bytes = 0;
  self->seg_discont = self->config_changed;
  self->config_changed = FALSE;
  self->dir_dirty = TRUE;
  return TRUE;
}

static gboolean
write_segment (GstCfRecordSink * self, const guint8 * data, gsize size,
    GError ** error)
{
  gsize done = 0;

  while (done < size) {
    gssize n = write (self->seg_fd, data + done, size - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, CF_RECORDING_ERROR, errno, "Cannot write %s/%s: "
          "%s", self->rec->dir, self->seg_name, g_strerror (errno));
      return FALSE;
    }
    done += n;
  }
  self->seg_bytes += size;
  self->seg_dirty = TRUE;
  record_bytes (self, size);
  return TRUE;
}

static gboolean
sync_segment (GstCfRecordSink * self, GError ** error)
{
  self->last_sync = g_get_monotonic_time ();
  if (self->seg_fd >= 0 && self->seg_dirty) {
    if (fdatasync (self->seg_fd) < 0) {
      g_set_error (error, CF_RECORDING_ERROR, errno, "Cannot sync %s/%s: %s",
          self->rec->dir, self->seg_name, g_strerror (errno));
      return FALSE;
    }
    self->seg_dirty = FALSE;
  }
  if (self->dir_dirty && self->rec) {
    gint fd = open (self->rec->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
      fsync (fd);
      close (fd);
    }
    self->dir_dirty = FALSE;
  }
  return TRUE;
}

static void
reset_recording_state (GstCfRecordSink * self)
{
  if (self->seg_fd >= 0)
    close (self->seg_fd);
  self->seg_fd = -1;
  g_clear_pointer (&self->seg_name, g_free);
  g_clear_pointer (&self->muxer, cf_ts_muxer_free);
  self->rec = NULL;
  self->need_rebase = FALSE;
  self->have_video_ts = self->have_audio_ts = FALSE;
  set_current_uid (self, NULL);
}

/* Stops the recording after a storage error: the "error" message once,
 * a warning, and the recording is finalised as far as it got. */
static void
storage_failed (GstCfRecordSink * self, GError * err)
{
  const gchar *code = storage_error_code (err);
  CfRecording *rec = self->rec;
  gchar *location, *live_input;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  live_input = g_strdup (self->live_input);
  GST_OBJECT_UNLOCK (self);

  GST_WARNING_OBJECT (self, "%s: %s", code, err->message);
  g_mutex_lock (&self->lock);
  self->n_errors++;
  g_free (self->last_error);
  self->last_error = g_strdup (err->message);
  self->state = "failed";
  g_mutex_unlock (&self->lock);

  if (is_storage_full (err)) {
    GST_ELEMENT_WARNING (self, RESOURCE, NO_SPACE_LEFT,
        ("The disk of the recordings is full (%s): recording stopped.", code),
        ("%s", err->message));
  } else {
    GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
        ("Cannot write the recordings in %s (%s): recording stopped.",
            location, code), ("%s", err->message));
  }
  post_recording (self, GST_CFLIVE_RECORDING_EVENT_ERROR, rec,
      NULL, live_input, location, code, err->message);
  g_free (location);
  g_free (live_input);

  self->rec_failed = TRUE;
  self->blocked = TRUE;
  if (rec) {
    reset_recording_state (self);
    /* what was written stays: finalised if the disk lets it, else at the
     * next start */
    queue_job (self, JOB_FINALISE_FAILED, rec, NULL);
  }
}

static void
finalise_recording (GstCfRecordSink * self, const gchar * why)
{
  GError *err = NULL;
  CfRecording *rec = self->rec;
  gint64 end;

  if (!rec)
    return;
  end = self->seg_start;
  if (self->have_video_ts)
    end = MAX (end, self->last_video + self->video_step);
  if (self->have_audio_ts)
    end = MAX (end, self->last_audio + self->audio_step);
  GST_INFO_OBJECT (self, "finalising recording %s (%s) at %" G_GINT64_FORMAT
      " ms", rec->uid, why, end);
  if (!close_segment (self, end, &err)) {
    storage_failed (self, err);
    g_error_free (err);
    return;
  }
  reset_recording_state (self);
  set_state (self, "idle");
  queue_job (self, JOB_FINALISE, rec, NULL);
}

static void
parse_sps (GstCfRecordSink * self, const guint8 * data, gsize size)
{
  GstH264NalUnit nalu;
  GstH264SPS sps;

  if (size < 4 || (data[0] & 0x1f) != GST_H264_NAL_SPS)
    return;
  memset (&nalu, 0, sizeof (nalu));
  nalu.type = GST_H264_NAL_SPS;
  nalu.data = (guint8 *) data;
  nalu.size = size;
  nalu.header_bytes = 1;
  nalu.valid = TRUE;
  if (gst_h264_parse_sps (&nalu, &sps) == GST_H264_PARSER_OK) {
    if (sps.frame_cropping_flag) {
      self->width = sps.crop_rect_width;
      self->height = sps.crop_rect_height;
    } else {
      self->width = sps.width;
      self->height = sps.height;
    }
    gst_h264_sps_clear (&sps);
  }
}

/* AVCDecoderConfigurationRecord in a video tag body */
static void
parse_video_header (GstCfRecordSink * self, const guint8 * body, gsize size)
{
  guint len;

  /* frame type and codec, packet type, composition time, then the record:
   * version, profile, compat, level, length size, number of SPS */
  if (size < 5 + 8 || (body[0] & 0x0f) != GST_CFLIVE_FLV_VIDEO_H264)
    return;
  body += 5;
  size -= 5;
  if ((body[5] & 0x1f) == 0)
    return;
  len = GST_READ_UINT16_BE (body + 6);
  if (8 + len > size)
    return;
  parse_sps (self, body + 8, len);
}

static gboolean
start_recording (GstCfRecordSink * self, gint64 ts)
{
  GError *err = NULL;
  gchar *location, *live_input;
  gint64 delete_after;
  guint i;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  live_input = g_strdup (self->live_input);
  delete_after = self->delete_after;
  self->rec_timeout = self->timeout_seconds ? self->timeout_seconds :
      PLATFORM_TIMEOUT_SECONDS;
  self->rec_max_ms = self->max_duration * 1000;
  GST_OBJECT_UNLOCK (self);

  self->rec = cf_recording_create (location, live_input, delete_after, &err);
  g_free (live_input);
  g_free (location);
  if (!self->rec)
    goto failed;
  /* released when its finalisation job is done */
  busy_take (self->rec->dir);
  self->rec->width = self->width;
  self->rec->height = self->height;
  self->muxer = cf_ts_muxer_new ();
  self->seg_index = 0;
  self->base = ts;
  self->need_rebase = FALSE;
  self->have_video_ts = self->have_audio_ts = FALSE;
  self->rec_failed = FALSE;
  self->config_changed = FALSE;
  set_current_uid (self, self->rec->uid);

  if (!cf_recording_write_playlist (self->rec, FALSE, &err) ||
      !cf_recording_write_json (self->rec, &err) ||
      !open_segment (self, 0, &err))
    goto failed;

  /* the codec headers first */
  for (i = 1; i < G_N_ELEMENTS (self->headers); i++) {
    GstMapInfo map;

    if (!self->headers[i] || !gst_buffer_map (self->headers[i], &map,
            GST_MAP_READ))
      continue;
    if (map.size > GST_CFLIVE_FLV_TAG_HEADER_SIZE) {
      guint32 body = GST_READ_UINT24_BE (map.data + 1);

      if (GST_CFLIVE_FLV_TAG_HEADER_SIZE + body <= map.size)
        cf_ts_muxer_push_tag (self->muxer, map.data[0] & 0x1f, 0,
            map.data + GST_CFLIVE_FLV_TAG_HEADER_SIZE, body, self->out, NULL);
    }
    gst_buffer_unmap (self->headers[i], &map);
  }
  g_byte_array_set_size (self->out, 0);

  g_mutex_lock (&self->lock);
  self->n_recordings++;
  self->state = "recording";
  g_mutex_unlock (&self->lock);
  post_recording (self, GST_CFLIVE_RECORDING_EVENT_STARTED, self->rec, NULL,
      NULL, NULL, NULL, NULL);
  return TRUE;

failed:
  {
    CfRecording *rec = self->rec;

    storage_failed (self, err);
    g_error_free (err);
    if (rec && self->rec == rec) {
      /* never got to write anything */
      reset_recording_state (self);
      cf_recording_free (rec);
    }
  }
  return FALSE;
}

/* The FLV tag @buf has the body @body */
static gboolean
same_body (GstBuffer * buf, const guint8 * body, gsize size)
{
  GstMapInfo map;
  gboolean same;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return FALSE;
  same = map.size >= GST_CFLIVE_FLV_TAG_HEADER_SIZE + size &&
      GST_READ_UINT24_BE (map.data + 1) == size &&
      memcmp (map.data + GST_CFLIVE_FLV_TAG_HEADER_SIZE, body, size) == 0;
  gst_buffer_unmap (buf, &map);
  return same;
}

static gint
header_kind (guint8 type)
{
  return type == GST_CFLIVE_FLV_TAG_SCRIPT ? 0 :
      type == GST_CFLIVE_FLV_TAG_VIDEO ? 1 : 2;
}

static void
handle_buffer (GstCfRecordSink * self, GstBuffer * buf)
{
  GstCfliveFlvTagInfo info;
  guint8 h[GST_CFLIVE_FLV_TAG_HEADER_SIZE];
  GstMapInfo map;
  GstMemory *mem = NULL;
  const guint8 *body;
  guint32 body_size;
  gint64 ts, rec_ts;
  guint32 raw;
  gboolean key, video, audio;
  GstCfRecordMode mode;
  GError *err = NULL;

  if (gst_buffer_extract (buf, 0, h, sizeof (h)) != sizeof (h))
    return;
  if (h[0] == 'F' && h[1] == 'L' && h[2] == 'V')
    return;                     /* the file header */
  body_size = GST_READ_UINT24_BE (h + 1);
  raw = GST_READ_UINT24_BE (h + 4) | ((guint32) h[7] << 24);

  /* map the body alone when it is a memory of its own (no copy) */
  {
    guint idx, len;
    gsize skip;

    if (gst_buffer_find_memory (buf, GST_CFLIVE_FLV_TAG_HEADER_SIZE,
            body_size, &idx, &len, &skip) && len == 1) {
      mem = gst_buffer_peek_memory (buf, idx);
      if (!gst_memory_map (mem, &map, GST_MAP_READ))
        return;
      if (skip + body_size > map.size) {
        gst_memory_unmap (mem, &map);
        return;
      }
      body = map.data + skip;
    } else {
      if (!gst_buffer_map (buf, &map, GST_MAP_READ))
        return;
      if (GST_CFLIVE_FLV_TAG_HEADER_SIZE + body_size > map.size) {
        gst_buffer_unmap (buf, &map);
        return;
      }
      body = map.data + GST_CFLIVE_FLV_TAG_HEADER_SIZE;
    }
  }

  gst_cflive_flv_parse_tag_body (h[0] & 0x1f, body, body_size, &info);
  video = info.tag_type == GST_CFLIVE_FLV_TAG_VIDEO;
  audio = info.tag_type == GST_CFLIVE_FLV_TAG_AUDIO;

  if (info.sequence_header || info.tag_type == GST_CFLIVE_FLV_TAG_SCRIPT) {
    gint kind = header_kind (info.tag_type);

    /* an encoder back with other settings: a new segment and a
     * discontinuity in the playlist at its first keyframe */
    if (self->rec && kind > 0 && self->headers[kind] &&
        !same_body (self->headers[kind], body, body_size))
      self->config_changed = TRUE;
    gst_buffer_replace (&self->headers[kind], buf);
    if (video) {
      self->has_video = TRUE;
      parse_video_header (self, body, body_size);
      if (self->rec && self->rec->width == 0) {
        self->rec->width = self->width;
        self->rec->height = self->height;
      }
    }
    if (self->muxer && info.tag_type != GST_CFLIVE_FLV_TAG_SCRIPT)
      cf_ts_muxer_push_tag (self->muxer, info.tag_type, 0, body, body_size,
          self->out, NULL);
    g_byte_array_set_size (self->out, 0);
    goto done;
  }
  if ((!video && !audio) || info.end_of_sequence)
    goto done;

  /* the 32-bit FLV timestamps of a live input wrap after 49.7 days */
  if (self->have_raw && raw < self->last_raw &&
      self->last_raw - raw > G_MAXUINT32 / 2)
    self->wraps++;
  self->last_raw = raw;
  self->have_raw = TRUE;
  ts = (gint64) raw + ((gint64) self->wraps << 32);

  key = video ? info.keyframe : !self->has_video;

  GST_OBJECT_LOCK (self);
  mode = self->mode;
  GST_OBJECT_UNLOCK (self);

  if (!self->rec) {
    if (mode != GST_CF_RECORD_MODE_AUTOMATIC || self->blocked || !key)
      goto done;
    self->connected = TRUE;
    if (!start_recording (self, ts))
      goto done;
  }

  if (self->need_rebase) {
    gint64 end = 0;

    if (!key)
      goto done;
    if (self->have_video_ts)
      end = MAX (end, self->last_video + self->video_step);
    if (self->have_audio_ts)
      end = MAX (end, self->last_audio + self->audio_step);
    self->base = ts - end;
    self->need_rebase = FALSE;
    GST_DEBUG_OBJECT (self, "continuing at %" G_GINT64_FORMAT " ms", end);
  }

  rec_ts = ts - self->base;
  if (rec_ts < 0 || (video && self->have_video_ts && rec_ts <=
          self->last_video) || (audio && self->have_audio_ts &&
          rec_ts <= self->last_audio))
    goto done;

  if ((guint64) rec_ts >= self->rec_max_ms) {
    finalise_recording (self, "maximum duration");
    /* the rest of the broadcast is not recorded */
    self->blocked = TRUE;
    goto done;
  }

  /* at a video keyframe; in a stream without video, at any audio frame */
  if (key && (rec_ts - self->seg_start >= SEGMENT_TARGET_MS ||
          (self->config_changed && self->seg_bytes > 0))) {
    if (!close_segment (self, rec_ts, &err) ||
        !cf_recording_write_playlist (self->rec, FALSE, &err) ||
        !open_segment (self, rec_ts, &err)) {
      storage_failed (self, err);
      g_error_free (err);
      goto done;
    }
  }

  if (!cf_ts_muxer_push_tag (self->muxer, info.tag_type, (guint32) rec_ts,
          body, body_size, self->out, &err)) {
    GST_DEBUG_OBJECT (self, "tag not recorded: %s", err->message);
    g_clear_error (&err);
  } else if (self->out->len > 0) {
    if (!write_segment (self, self->out->data, self->out->len, &err)) {
      g_byte_array_set_size (self->out, 0);
      storage_failed (self, err);
      g_error_free (err);
      goto done;
    }
  }
  g_byte_array_set_size (self->out, 0);

  if (video) {
    if (self->have_video_ts)
      self->video_step = rec_ts - self->last_video;
    else
      self->video_step = 33;
    self->last_video = rec_ts;
    self->have_video_ts = TRUE;
  } else {
    if (self->have_audio_ts)
      self->audio_step = rec_ts - self->last_audio;
    else
      self->audio_step = 21;
    self->last_audio = rec_ts;
    self->have_audio_ts = TRUE;
  }

done:
  if (mem)
    gst_memory_unmap (mem, &map);
  else
    gst_buffer_unmap (buf, &map);
}

static void
handle_publisher (GstCfRecordSink * self, Item * item)
{
  switch (item->action) {
    case GST_CFLIVE_PUBLISHER_CONNECTED:
      self->connected = TRUE;
      self->disconnected = FALSE;
      self->blocked = FALSE;
      break;
    case GST_CFLIVE_PUBLISHER_DISCONNECTED:
      self->connected = FALSE;
      self->disconnected = TRUE;
      self->disconnected_at = item->arrival;
      if (self->rec)
        set_state (self, "waiting");
      break;
    case GST_CFLIVE_PUBLISHER_RECONNECTED:{
      guint timeout = self->rec_timeout;

      if (!self->rec) {
        GST_OBJECT_LOCK (self);
        timeout = self->timeout_seconds ? self->timeout_seconds :
            PLATFORM_TIMEOUT_SECONDS;
        GST_OBJECT_UNLOCK (self);
      }
      /* a new broadcast when the encoder was gone longer than the
       * timeout */
      if (!self->disconnected || item->arrival - self->disconnected_at >=
          (gint64) timeout * G_USEC_PER_SEC)
        self->blocked = FALSE;
      self->connected = TRUE;
      self->disconnected = FALSE;
      if (self->rec) {
        self->need_rebase = TRUE;
        set_state (self, "recording");
        post_recording (self, GST_CFLIVE_RECORDING_EVENT_CONTINUED,
            self->rec, NULL, NULL, NULL, NULL, NULL);
      }
      break;
    }
  }
}

static void
check_timers (GstCfRecordSink * self)
{
  GError *err = NULL;
  GstCfRecordMode mode;
  gint64 now = g_get_monotonic_time ();

  GST_OBJECT_LOCK (self);
  mode = self->mode;
  GST_OBJECT_UNLOCK (self);

  if (self->rec && mode == GST_CF_RECORD_MODE_OFF)
    finalise_recording (self, "mode off");
  if (mode == GST_CF_RECORD_MODE_OFF && self->blocked) {
    /* switched off and on again: at the next keyframe */
    self->blocked = FALSE;
    self->rec_failed = FALSE;
  }

  if (self->rec && self->disconnected && now - self->disconnected_at >=
      (gint64) self->rec_timeout * G_USEC_PER_SEC)
    finalise_recording (self, "the encoder did not come back in time");

  if (self->rec && now - self->last_sync >= SYNC_INTERVAL_US) {
    if (!sync_segment (self, &err)) {
      storage_failed (self, err);
      g_error_free (err);
    }
  }
}

/* Nothing for the writer to do but wait for the next item: no recording
 * to sync or time out, and no reconnect within the timeout to tell apart
 * from a new broadcast (what it needs of it stays in self for the next
 * writer anyway). A storage error (self->blocked) needs no thread either:
 * the next publish or a change of mode, which start a writer, clear it. */
static gboolean
writer_idle (GstCfRecordSink * self, gint64 now)
{
  guint timeout;

  if (self->rec || self->seg_fd >= 0)
    return FALSE;
  if (!self->disconnected)
    return TRUE;
  GST_OBJECT_LOCK (self);
  timeout = self->timeout_seconds ? self->timeout_seconds :
      PLATFORM_TIMEOUT_SECONDS;
  GST_OBJECT_UNLOCK (self);
  return now - self->disconnected_at >= (gint64) timeout * G_USEC_PER_SEC;
}

/* Started by ensure_writer() when an item comes and no writer runs; leaves
 * by itself after WRITER_IDLE_US with nothing to do, or when stopped. */
static gpointer
writer_thread (gpointer data)
{
  GstCfRecordSink *self = data;
  gint64 idle_since = 0;

  self->last_sync = g_get_monotonic_time ();
  while (TRUE) {
    Item *item;
    gint64 now = g_get_monotonic_time ();
    gint64 deadline = now + TICK_US;
    gboolean idle = writer_idle (self, now);

    g_mutex_lock (&self->lock);
    if (idle && self->running && !self->wake &&
        g_queue_is_empty (&self->queue)) {
      /* nothing to sync or time out: a thousand idle live inputs must not
       * wake four thousand times a second, nor keep a thread each */
      if (idle_since == 0)
        idle_since = now;
      if (now - idle_since >= WRITER_IDLE_US) {
        /* decided under the lock with the queue empty: the next enqueue()
         * sees writer_active FALSE and starts (after joining this one) a
         * new writer. Self->lock is not taken again by this thread. */
        GST_DEBUG_OBJECT (self, "writer idle, leaving");
        self->writer_active = FALSE;
        g_mutex_unlock (&self->lock);
        return NULL;
      }
      deadline = idle_since + WRITER_IDLE_US;
    } else {
      idle_since = 0;
    }
    while (self->running && !self->wake && g_queue_is_empty (&self->queue))
      if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
        break;
    if (!self->running) {
      g_mutex_unlock (&self->lock);
      break;
    }
    self->wake = FALSE;
    item = g_queue_pop_head (&self->queue);
    if (item && item->buf)
      self->queued_bytes -= gst_buffer_get_size (item->buf);
    g_mutex_unlock (&self->lock);

    if (item) {
      switch (item->type) {
        case ITEM_BUFFER:
          handle_buffer (self, item->buf);
          break;
        case ITEM_PUBLISHER:
          handle_publisher (self, item);
          break;
        case ITEM_GAP:
          if (self->rec)
            self->need_rebase = TRUE;
          break;
        case ITEM_EOS:
          finalise_recording (self, "end of stream");
          self->connected = FALSE;
          g_mutex_lock (&self->lock);
          self->eos_done = TRUE;
          g_cond_broadcast (&self->cond);
          g_mutex_unlock (&self->lock);
          break;
      }
      item_free (item);
    }
    check_timers (self);
  }

  /* stopped: what was recorded is finalised */
  finalise_recording (self, "stopped");
  return NULL;
}

/* --- streaming thread --- */

/* Starts a writer thread if none runs. Self->lock held: a writer decides
 * to leave under it, and stop() clears self->running under it, so an item
 * is never left without a writer and no writer starts after stop(). */
static void
ensure_writer (GstCfRecordSink * self)
{
  if (!self->running || self->writer_active)
    return;
  /* one that left idle: it only returns, without the lock */
  if (self->thread)
    g_thread_join (self->thread);
  self->writer_active = TRUE;
  self->thread = g_thread_new ("cfrecordsink", writer_thread, self);
}

static void
enqueue (GstCfRecordSink * self, Item * item)
{
  g_mutex_lock (&self->lock);
  if (item->buf)
    self->queued_bytes += gst_buffer_get_size (item->buf);
  g_queue_push_tail (&self->queue, item);
  g_cond_broadcast (&self->cond);
  ensure_writer (self);
  g_mutex_unlock (&self->lock);
}

/* Recovery of what a crash left: the recordings of this live input still
 * live-inprogress. Listed now, finalised by the jobs. */
static void
queue_recovery (GstCfRecordSink * self)
{
  gchar *location, *live_input;
  const gchar *name;
  GDir *d;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  live_input = g_strdup (self->live_input);
  GST_OBJECT_UNLOCK (self);

  d = g_dir_open (location, 0, NULL);
  while (d && (name = g_dir_read_name (d))) {
    gchar *dir = g_build_filename (location, name, NULL);
    CfRecording *rec = cf_recording_load (dir, NULL);

    if (rec && g_strcmp0 (rec->state, CF_RECORDING_STATE_LIVE) == 0 &&
        (!live_input || g_strcmp0 (live_input, rec->live_input) == 0)) {
      if (busy_take (dir))
        queue_job (self, JOB_RECOVER, NULL, dir);
      else
        GST_INFO_OBJECT (self, "recording %s is being finalised by another "
            "element of this process", rec->uid);
    }
    cf_recording_free (rec);
    g_free (dir);
  }
  if (d)
    g_dir_close (d);
  g_free (location);
  g_free (live_input);
}

static gboolean
gst_cf_record_sink_start (GstBaseSink * bsink)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (bsink);
  guint i;

  /* the writer state first: a change of mode starts a writer as soon as
   * self->running is set */
  for (i = 0; i < G_N_ELEMENTS (self->headers); i++)
    gst_clear_buffer (&self->headers[i]);
  self->out = g_byte_array_new ();
  self->width = self->height = 0;
  self->has_video = FALSE;
  self->have_raw = FALSE;
  self->wraps = 0;
  self->connected = self->disconnected = FALSE;
  self->blocked = FALSE;
  self->rec_failed = FALSE;
  self->pool = g_thread_pool_new (run_job, self, 1, FALSE, NULL);

  /* no writer thread yet: the first item starts one; the first retention
   * schedules the next ones on the system clock */
  g_mutex_lock (&self->lock);
  self->running = TRUE;
  self->writer_active = FALSE;
  self->wake = FALSE;
  self->eos_done = FALSE;
  self->dropping = FALSE;
  self->warned_overflow = FALSE;
  self->queued_bytes = 0;
  self->pending_jobs = 0;
  self->next_deletion = 0;
  self->retention_queued = FALSE;
  self->last_retention = g_get_monotonic_time ();
  self->state = "idle";
  g_mutex_unlock (&self->lock);

  queue_recovery (self);
  queue_job (self, JOB_RETENTION, NULL, NULL);
  return TRUE;
}

static gboolean
gst_cf_record_sink_stop (GstBaseSink * bsink)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (bsink);
  GThread *thread;
  GstClockID retention_id;
  guint i;

  /* from now on no writer starts and no retention is queued or scheduled:
   * a retention callback still running finds self->running FALSE */
  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_cond_broadcast (&self->cond);
  thread = self->thread;
  self->thread = NULL;
  retention_id = self->retention_id;
  self->retention_id = NULL;
  g_mutex_unlock (&self->lock);
  if (retention_id) {
    gst_clock_id_unschedule (retention_id);
    gst_clock_id_unref (retention_id);
  }
  /* a running writer finalises the recording in progress; one that left
   * idle had none */
  if (thread)
    g_thread_join (thread);
  g_mutex_lock (&self->lock);
  self->writer_active = FALSE;
  g_mutex_unlock (&self->lock);
  /* the finalisations in progress complete */
  if (self->pool)
    g_thread_pool_free (self->pool, FALSE, TRUE);
  self->pool = NULL;

  g_mutex_lock (&self->lock);
  g_queue_clear_full (&self->queue, (GDestroyNotify) item_free);
  self->queued_bytes = 0;
  g_mutex_unlock (&self->lock);
  for (i = 0; i < G_N_ELEMENTS (self->headers); i++)
    gst_clear_buffer (&self->headers[i]);
  g_clear_pointer (&self->out, g_byte_array_unref);
  set_current_uid (self, NULL);
  return TRUE;
}

static gboolean
gst_cf_record_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (bsink);
  GstCflivePublisherAction action;
  guint session;

  if (gst_cflive_publisher_event_parse (event, &action, &session, NULL, NULL)) {
    Item *item = g_new0 (Item, 1);

    item->type = ITEM_PUBLISHER;
    item->action = action;
    item->session = session;
    item->arrival = g_get_monotonic_time ();
    enqueue (self, item);
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    const GValue *array;

    /* the codec headers of a branch that joined late */
    gst_event_parse_caps (event, &caps);
    array = gst_structure_get_value (gst_caps_get_structure (caps, 0),
        "streamheader");
    if (array && GST_VALUE_HOLDS_ARRAY (array)) {
      guint i;

      for (i = 0; i < gst_value_array_get_size (array); i++) {
        const GValue *v = gst_value_array_get_value (array, i);
        Item *item;

        if (!GST_VALUE_HOLDS_BUFFER (v))
          continue;
        item = g_new0 (Item, 1);
        item->type = ITEM_BUFFER;
        item->buf = gst_buffer_ref (gst_value_get_buffer (v));
        enqueue (self, item);
      }
    }
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    Item *item = g_new0 (Item, 1);

    item->type = ITEM_EOS;
    enqueue (self, item);
    /* the recording is finalised (and its MP4 made) before EOS goes on:
     * this is the recording branch's own thread */
    g_mutex_lock (&self->lock);
    while (self->running && (!self->eos_done || self->pending_jobs > 0))
      g_cond_wait (&self->cond, &self->lock);
    g_mutex_unlock (&self->lock);
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

static GstFlowReturn
gst_cf_record_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstCfRecordSink *self = GST_CF_RECORD_SINK (bsink);
  gsize size = gst_buffer_get_size (buf);
  gboolean header = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_HEADER);
  gboolean delta = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gboolean gap = FALSE;
  Item *item;

  g_mutex_lock (&self->lock);
  if (!header && self->queued_bytes + size > MAX_QUEUE_BYTES) {
    /* the disk is behind: drop up to the next keyframe */
    self->dropping = TRUE;
    self->dropped_bytes += size;
    if (!self->warned_overflow) {
      self->warned_overflow = TRUE;
      g_mutex_unlock (&self->lock);
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("The disk is too slow for the recording: frames are dropped."),
          ("more than %u bytes waiting to be written", MAX_QUEUE_BYTES));
      return GST_FLOW_OK;
    }
    g_mutex_unlock (&self->lock);
    return GST_FLOW_OK;
  }
  if (self->dropping && !header) {
    guint8 type = 0;

    gst_buffer_extract (buf, 0, &type, 1);
    if ((type & 0x1f) != GST_CFLIVE_FLV_TAG_VIDEO || delta) {
      self->dropped_bytes += size;
      g_mutex_unlock (&self->lock);
      return GST_FLOW_OK;
    }
    self->dropping = FALSE;
    gap = TRUE;
  }
  g_mutex_unlock (&self->lock);

  if (gap) {
    item = g_new0 (Item, 1);
    item->type = ITEM_GAP;
    enqueue (self, item);
  }
  item = g_new0 (Item, 1);
  item->type = ITEM_BUFFER;
  item->buf = gst_buffer_ref (buf);
  enqueue (self, item);
  return GST_FLOW_OK;
}
