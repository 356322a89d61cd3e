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

#ifndef __CFTEST_H__
#define __CFTEST_H__

/* Shared helpers of the real-peer integration tests: test media and a
 * certificate made once per executable, child processes (ffmpeg,
 * gst-launch-1.0) that never outlive the test, receiving pipelines that
 * count decoded frames and record timestamps and status messages, and a
 * raw RTMP client built on the protocol library. */

#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gio/gio.h>

#include "rtmpchunk.h"

G_BEGIN_DECLS

#define CFTEST_APP "live"

/* The main test media: 640x360, 30 fps H.264 (a keyframe every 60 frames,
 * no B-frames) and 48 kHz AAC, in FLV */
#define CFTEST_MEDIA_SECONDS 6
#define CFTEST_MEDIA_FPS 30
#define CFTEST_MEDIA_WIDTH 640
#define CFTEST_MEDIA_VIDEO_FRAMES (CFTEST_MEDIA_SECONDS * CFTEST_MEDIA_FPS)
#define CFTEST_MEDIA_KEYFRAMES (CFTEST_MEDIA_VIDEO_FRAMES / 60)
/* 1024 samples per AAC frame at 48 kHz */
#define CFTEST_MEDIA_AUDIO_FRAMES (CFTEST_MEDIA_SECONDS * 48000 / 1024)

/* The small one: 320x180, 30 fps, same codecs */
#define CFTEST_SMALL_SECONDS 4
#define CFTEST_SMALL_WIDTH 320
#define CFTEST_SMALL_VIDEO_FRAMES (CFTEST_SMALL_SECONDS * CFTEST_MEDIA_FPS)

typedef enum
{
  CFTEST_NEED_SMALL_MEDIA = 1 << 0,
  CFTEST_NEED_CERTIFICATE = 1 << 1,
} CfTestNeeds;

/* Runs the suite: before it (in the parent process), makes a temporary
 * directory with the media and, if asked, a self-signed certificate.
 * Returns what gst_check_run_suite() returned, or 77 (skipped) when
 * ffmpeg, openssl or the decoding elements are missing. */
gint cftest_main (gint argc, gchar ** argv, CfTestNeeds needs,
    Suite * (*make_suite) (void), const gchar * name, const gchar * file);

/* Prints the missing ones */
gboolean cftest_have_elements (const gchar * first, ...)
    G_GNUC_NULL_TERMINATED;

const gchar *cftest_tmpdir (void);
const gchar *cftest_media_path (void);
const gchar *cftest_small_media_path (void);
/* bits per second of the main media file */
guint64 cftest_media_bitrate (void);
const gchar *cftest_cert_path (void);
const gchar *cftest_key_path (void);

/* A TCP port on 127.0.0.1 that was free a moment ago */
guint cftest_free_port (void);

/* Polls @expr every 10 ms until it is true or @timeout_s passed; evaluates
 * to whether it became true. */
#define CFTEST_WAIT(expr, timeout_s) ({                                   \
  gint64 __end = g_get_monotonic_time () +                                \
      (gint64) ((timeout_s) * G_USEC_PER_SEC);                            \
  gboolean __ok;                                                          \
  while (!(__ok = !!(expr)) && g_get_monotonic_time () < __end)           \
    g_usleep (10 * 1000);                                                 \
  __ok;                                                                   \
})

gdouble cftest_seconds_since (gint64 monotonic_us);

/* --- child processes --- */

/* Every process spawned is killed with SIGKILL when the test process
 * exits, however it exits (PR_SET_PDEATHSIG), and by cftest_teardown(). */
typedef struct
{
  gchar *name;
  GPid pid;
  gchar *log_path;              /* stdout and stderr */
  gint64 started;               /* monotonic µs */
  gboolean exited;
  gint wait_status;
} CfTestProc;

CfTestProc *cftest_spawn (const gchar * name, gchar ** argv);
/* Same, with the child's stdin on @stdin_fd and its stdout on @stdout_fd
 * instead of the log, when they are not -1; the descriptors stay open in
 * the test */
CfTestProc *cftest_spawn_with_fds (const gchar * name, gchar ** argv,
    gint stdin_fd, gint stdout_fd);
/* ffmpeg -re [-stream_loop -1] -i @media -c copy -f flv @url */
CfTestProc *cftest_ffmpeg_publish (const gchar * media, const gchar * url,
    gboolean loop);
/* gst-launch-1.0 -q @description */
CfTestProc *cftest_gst_launch (const gchar * description);
/* TRUE once the process exited (reaps it) */
gboolean cftest_proc_exited (CfTestProc * proc);
gboolean cftest_proc_wait (CfTestProc * proc, gdouble timeout_s);
/* Sends @sig and reaps the process */
void cftest_proc_kill (CfTestProc * proc, gint sig);
/* The exit code, or -1 when a signal ended it or it runs */
gint cftest_proc_exit_code (CfTestProc * proc);
gchar *cftest_proc_get_log (CfTestProc * proc);
/* Kills every process still running: the tests' checked teardown */
void cftest_teardown (void);

/* --- receiving pipelines --- */

typedef enum
{
  CFTEST_TAG_AUDIO,
  CFTEST_TAG_VIDEO,
  CFTEST_TAG_SCRIPT,
  CFTEST_N_TAG_TYPES
} CfTestTagType;

/* One FLV tag as it left the source */
typedef struct
{
  GstClockTime dts;
  GstClockTime pts;
  GstBufferFlags flags;
  gboolean end_of_sequence;     /* an AVC end of sequence, not a frame */
  guint session;                /* of the last publisher event */
  gint64 wall;                  /* monotonic µs */
} CfTestTag;

/* One decoded frame as it reached its fakesink */
typedef struct
{
  GstClockTime pts;
  gint64 wall;
} CfTestFrame;

typedef struct
{
  GstStructure *s;
  gint64 wall;
} CfTestStatus;

typedef struct
{
  gchar *name;
  GstElement *bin;
  GstElement *src;

  GMutex lock;
  GArray *tags[CFTEST_N_TAG_TYPES];     /* CfTestTag */
  guint tag_ts_mismatches;      /* tag header timestamp != DTS */
  GArray *video;                /* CfTestFrame */
  GArray *audio;
  guint video_nonmono;          /* decoded PTS not above the previous */
  guint audio_nonmono;
  GString *nonmono_log;
  gint video_width;
  guint cur_session;
  GString *events;              /* "connected:1,disconnected:1,..." */
  GstCaps *caps;                /* last caps on the source pad */
  gboolean eos;                 /* EOS left the source */
  GPtrArray *statuses;          /* CfTestStatus */
} CfTestInput;

/* Sees every message of a pipeline, on the thread that posts it */
typedef void (*CfTestMessageFunc) (GstMessage * msg, gpointer user_data);

typedef struct
{
  GstElement *pipeline;
  GPtrArray *inputs;
  GMutex lock;
  GPtrArray *errors;            /* gchar * */
  gboolean eos;
  gint64 eos_wall;
  CfTestMessageFunc message_func;
  gpointer message_data;
} CfTestPipeline;

CfTestPipeline *cftest_pipeline_new (void);
/* cfliveinputsrc ! flvdemux, video to h264parse ! avdec_h264 ! fakesink,
 * audio to aacparse ! avdec_aac ! fakesink, in a bin of its own; the
 * properties are set on the cfliveinputsrc */
CfTestInput *cftest_pipeline_add_input (CfTestPipeline * p,
    const gchar * name, const gchar * first_property, ...)
    G_GNUC_NULL_TERMINATED;
/* The same, with the FLV of the source also going to @branch through a tee
 * named "t": "cfliveinputsrc name=src ! tee name=t t. ! queue ! flvdemux
 * ... t. ! queue ! @branch". More branches: "... t. ! queue ! ..." in
 * @branch. Its elements are found with gst_bin_get_by_name() on in->bin. */
CfTestInput *cftest_pipeline_add_input_with_branch (CfTestPipeline * p,
    const gchar * name, const gchar * branch, const gchar * first_property,
    ...) G_GNUC_NULL_TERMINATED;
/* Calls @func for each message of the pipeline before it is recorded; set
 * it before playing */
void cftest_pipeline_set_message_func (CfTestPipeline * p,
    CfTestMessageFunc func, gpointer user_data);
/* Sets PLAYING and waits for it; fails the test if it does not get there */
void cftest_pipeline_play (CfTestPipeline * p);
void cftest_pipeline_free (CfTestPipeline * p);
guint cftest_pipeline_n_errors (CfTestPipeline * p);
gchar *cftest_pipeline_errors (CfTestPipeline * p);
gboolean cftest_pipeline_got_eos (CfTestPipeline * p);

guint cftest_input_port (CfTestInput * in);
/* scheme://127.0.0.1:port/live/key for this input's port and scheme */
gchar *cftest_input_publish_url (CfTestInput * in, const gchar * key);

guint64 cftest_input_video_frames (CfTestInput * in);
guint64 cftest_input_audio_frames (CfTestInput * in);
/* Waits until more than @than decoded video frames arrived */
gboolean cftest_input_wait_video_above (CfTestInput * in, guint64 than,
    gdouble timeout_s);
guint cftest_input_n_tags (CfTestInput * in, CfTestTagType type);
CfTestTag cftest_input_get_tag (CfTestInput * in, CfTestTagType type,
    guint n);
/* The last tag of @type of session @before and the first of session
 * @after; FALSE if either is missing */
gboolean cftest_input_session_boundary (CfTestInput * in, CfTestTagType type,
    guint before, guint after, CfTestTag * last, CfTestTag * first);
/* Checks the tags that left the source: media tags of each type strictly
 * increasing in DTS, header tags never going back, the timestamps written
 * in the tags equal to the buffer DTS. Returns a description of each
 * problem found, or NULL if none. */
gchar *cftest_input_check_tags (CfTestInput * in);
gchar *cftest_input_events (CfTestInput * in);
gboolean cftest_input_got_eos (CfTestInput * in);
gint cftest_input_video_width (CfTestInput * in);
GstCaps *cftest_input_caps (CfTestInput * in);

/* cflive-status messages of this input */
guint cftest_input_n_statuses (CfTestInput * in);
/* The structure stays valid as long as the input */
const GstStructure *cftest_input_get_status (CfTestInput * in, guint n,
    gint64 * wall);
const GstStructure *cftest_input_find_status (CfTestInput * in,
    const gchar * reason);
const GstStructure *cftest_input_wait_status (CfTestInput * in,
    const gchar * reason, gdouble timeout_s);
/* The nick of the "status" field of a status message, and of the
 * element's status property */
const gchar *cftest_status_get_nick (const GstStructure * s);
const gchar *cftest_input_status_nick (CfTestInput * in);
/* The reasons in order, comma separated */
gchar *cftest_input_reasons (CfTestInput * in);

GstStructure *cftest_input_stats (CfTestInput * in);
guint64 cftest_stats_get_uint64 (const GstStructure * s, const gchar * field);
guint cftest_stats_get_uint (const GstStructure * s, const gchar * field);
const gchar *cftest_stats_get_string (const GstStructure * s,
    const gchar * field);

/* --- nginx-rtmp --- */

/* An nginx with the RTMP module on 127.0.0.1, in a directory of its own
 * under the temporary directory: one process (no master), each
 * application live and recording every publish to rec/KEY-TIME.flv */
typedef struct
{
  gchar *dir;
  gchar *conf_path;
  gchar *rec_dir;
  guint port;
  CfTestProc *proc;             /* NULL until started */
} CfTestNginx;

/* nginx and its RTMP module are installed; prints what is missing */
gboolean cftest_have_nginx (void);
/* Configures one on a free port with the applications @first_app, ...
 * (none: CFTEST_APP); does not start it */
CfTestNginx *cftest_nginx_new (const gchar * first_app, ...)
    G_GNUC_NULL_TERMINATED;
/* Starts it (again, on the same port) and waits until it accepts
 * connections; fails the test if it does not */
void cftest_nginx_start (CfTestNginx * n);
/* Sends @sig and reaps it, as cftest_proc_kill() */
void cftest_nginx_kill (CfTestNginx * n, gint sig);
gboolean cftest_nginx_running (CfTestNginx * n);
/* rtmp://127.0.0.1:port/@app/@key */
gchar *cftest_nginx_url (CfTestNginx * n, const gchar * app,
    const gchar * key);
/* The recordings of @key (paths), oldest first */
GPtrArray *cftest_nginx_recordings (CfTestNginx * n, const gchar * key);
/* nginx has @path open: a publisher is being recorded to it */
gboolean cftest_nginx_is_recording (CfTestNginx * n, const gchar * path);
gchar *cftest_nginx_get_log (CfTestNginx * n);
/* Kills it if it runs */
void cftest_nginx_free (CfTestNginx * n);

/* --- raw RTMP client --- */

typedef struct
{
  GSocketConnection *conn;
  GSocket *socket;
  CfRtmpChunkReader *reader;
  GPtrArray *received;          /* "name" or "name code" per command */
  gboolean closed;
} CfTestRtmpClient;

CfTestRtmpClient *cftest_rtmp_connect (guint port);
void cftest_rtmp_free (CfTestRtmpClient * c);
/* FALSE if the connection is closed */
gboolean cftest_rtmp_send (CfTestRtmpClient * c, const guint8 * data,
    gsize size);
/* C0 C1, reads S0 S1 S2, C2 */
gboolean cftest_rtmp_handshake (CfTestRtmpClient * c);
/* Reads (and parses) what arrives for up to @timeout_s; TRUE if the peer
 * closed the connection (end of stream or an error) in that time */
gboolean cftest_rtmp_wait_closed (CfTestRtmpClient * c, gdouble timeout_s);
/* Reads until a command named @what, or with the status code @what,
 * arrived; FALSE on timeout or close */
gboolean cftest_rtmp_wait_command (CfTestRtmpClient * c, const gchar * what,
    gdouble timeout_s);
/* connect {app, flashVer, tcUrl} */
gboolean cftest_rtmp_send_connect (CfTestRtmpClient * c, guint port);
/* releaseStream, FCPublish, createStream, publish @key on stream 1 */
gboolean cftest_rtmp_send_publish (CfTestRtmpClient * c, const gchar * key);

G_END_DECLS

#endif /* __CFTEST_H__ */
