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

/* SRT destinations of cfrestreamsink against real SRT listeners: a
 * cfliveinputsrc in the test (its SRT listener, decoded), srt-live-transmit
 * and ffmpeg writing MPEG-TS files read back with ffprobe. ffmpeg publishes
 * the test media over RTMP to a cfliveinputsrc whose FLV goes, through a
 * tee, to the decoders of the test and to the sink. Covered: what the
 * destinations decode, a refused passphrase, destinations that come up
 * late, die and come back, an encoder reconnect upstream, the end of the
 * stream at EOS, and outputs that join mid-stream. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cftest.h"

#define IN_KEY "rs-srt-in-91ab4e"
#define RTMP_KEY "rs-srt-rtmp-e3f07c"
#define SRT_ID "rs-srt-dest-4c1e"
#define SRT_ID_2 "rs-srt-dest-2-7d95"
#define SRT_PASS "rs-srt-pass-0a9d71"
#define SRT_PASS_2 "rs-srt-pass-2-5b3f"
#define WRONG_PASS "rs-srt-wrong-77b2e5"
#define SRT_LATENCY_MS 120

/* The test media: a keyframe every 60 frames (2 s) */
#define GOP_FRAMES 60
#define GOP_SECONDS 2
#define AUDIO_RATE 48000
#define AAC_FRAME_SAMPLES 1024
#define GOP_AUDIO_FRAMES (GOP_SECONDS * AUDIO_RATE / AAC_FRAME_SAMPLES + 1)
/* Frames the decoders may still hold when no EOS drained them */
#define DECODER_SLACK 3
/* Audio frames of the encoder's priming and padding */
#define AUDIO_SLACK 3

/* --- cflive-output messages --- */

typedef struct
{
  gchar *uid;
  gchar *state;
  gchar *error;
  gint64 wall;
} OutputEvent;

typedef struct
{
  GMutex lock;
  GPtrArray *events;            /* OutputEvent */
  GPtrArray *warnings;          /* gchar * */
} Recorder;

static void
output_event_free (OutputEvent * ev)
{
  g_free (ev->uid);
  g_free (ev->state);
  g_free (ev->error);
  g_free (ev);
}

static Recorder *
recorder_new (void)
{
  Recorder *rec = g_new0 (Recorder, 1);

  g_mutex_init (&rec->lock);
  rec->events = g_ptr_array_new_with_free_func ((GDestroyNotify)
      output_event_free);
  rec->warnings = g_ptr_array_new_with_free_func (g_free);
  return rec;
}

static void
recorder_free (Recorder * rec)
{
  g_ptr_array_unref (rec->events);
  g_ptr_array_unref (rec->warnings);
  g_mutex_clear (&rec->lock);
  g_free (rec);
}

/* Any thread */
static void
recorder_on_message (GstMessage * msg, gpointer user_data)
{
  Recorder *rec = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
    const GstStructure *s = gst_message_get_structure (msg);
    OutputEvent *ev;

    if (!s || !gst_structure_has_name (s, "cflive-output"))
      return;
    GST_INFO ("%s: %" GST_PTR_FORMAT, GST_MESSAGE_SRC_NAME (msg), s);
    ev = g_new0 (OutputEvent, 1);
    ev->uid = g_strdup (gst_structure_get_string (s, "uid"));
    ev->state = g_strdup (gst_structure_get_string (s, "state"));
    ev->error = g_strdup (gst_structure_get_string (s, "error"));
    ev->wall = g_get_monotonic_time ();
    g_mutex_lock (&rec->lock);
    g_ptr_array_add (rec->events, ev);
    g_mutex_unlock (&rec->lock);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
    g_autoptr (GError) err = NULL;

    gst_message_parse_warning (msg, &err, NULL);
    GST_INFO ("warning from %s: %s", GST_MESSAGE_SRC_NAME (msg), err->message);
    g_mutex_lock (&rec->lock);
    g_ptr_array_add (rec->warnings, g_strdup (err->message));
    g_mutex_unlock (&rec->lock);
  }
}

/* The first event of @uid in @state from the @from-th event on, as a
 * copy the caller frees; NULL if none */
static OutputEvent *
recorder_find (Recorder * rec, const gchar * uid, const gchar * state,
    guint from)
{
  OutputEvent *found = NULL;
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = from; i < rec->events->len && !found; i++) {
    OutputEvent *ev = g_ptr_array_index (rec->events, i);

    if (!g_strcmp0 (ev->uid, uid) && !g_strcmp0 (ev->state, state)) {
      found = g_new0 (OutputEvent, 1);
      found->uid = g_strdup (ev->uid);
      found->state = g_strdup (ev->state);
      found->error = g_strdup (ev->error);
      found->wall = ev->wall;
    }
  }
  g_mutex_unlock (&rec->lock);
  return found;
}

static OutputEvent *
recorder_wait (Recorder * rec, const gchar * uid, const gchar * state,
    guint from, gdouble timeout_s)
{
  OutputEvent *ev = NULL;

  CFTEST_WAIT ((ev = recorder_find (rec, uid, state, from)) != NULL, timeout_s);
  return ev;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OutputEvent, output_event_free);

static guint
recorder_n_events (Recorder * rec)
{
  guint n;

  g_mutex_lock (&rec->lock);
  n = rec->events->len;
  g_mutex_unlock (&rec->lock);
  return n;
}

/* "state (error), ..." of @uid from the @from-th event on */
static gchar *
recorder_states (Recorder * rec, const gchar * uid, guint from)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&rec->lock);
  for (i = from; i < rec->events->len; i++) {
    OutputEvent *ev = g_ptr_array_index (rec->events, i);

    if (g_strcmp0 (ev->uid, uid))
      continue;
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", ev->state);
    if (ev->error && *ev->error)
      g_string_append_printf (s, " (%s)", ev->error);
  }
  g_mutex_unlock (&rec->lock);
  return g_string_free (s, FALSE);
}

static gchar *
recorder_warnings (Recorder * rec)
{
  gchar *s;

  g_mutex_lock (&rec->lock);
  g_ptr_array_add (rec->warnings, NULL);
  s = g_strjoinv ("; ", (gchar **) rec->warnings->pdata);
  g_ptr_array_remove_index (rec->warnings, rec->warnings->len - 1);
  g_mutex_unlock (&rec->lock);
  return s;
}

/* --- the sink --- */

static gchar *
add_output (GstElement * sink, const gchar * url)
{
  gchar *uid = NULL;

  g_signal_emit_by_name (sink, "add-output", url, NULL, TRUE, &uid);
  fail_unless (uid != NULL && strlen (uid) == 32, "cannot add %s", url);
  return uid;
}

/* The stats structure of output @uid (a copy) */
static GstStructure *
output_stats (GstElement * sink, const gchar * uid)
{
  GstStructure *stats = NULL, *found = NULL;
  const GValue *outputs;
  guint i;

  g_object_get (sink, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  outputs = gst_structure_get_value (stats, "output");
  fail_unless (outputs != NULL && GST_VALUE_HOLDS_ARRAY (outputs));
  for (i = 0; i < gst_value_array_get_size (outputs) && !found; i++) {
    const GstStructure *s =
        gst_value_get_structure (gst_value_array_get_value (outputs, i));

    if (!g_strcmp0 (gst_structure_get_string (s, "uid"), uid))
      found = gst_structure_copy (s);
  }
  gst_structure_free (stats);
  fail_unless (found != NULL, "no output %s in the stats", uid);
  return found;
}

static gchar *
output_state (GstElement * sink, const gchar * uid)
{
  g_autoptr (GstStructure) s = output_stats (sink, uid);

  return g_strdup (gst_structure_get_string (s, "state"));
}

static guint64
output_uint64 (GstElement * sink, const gchar * uid, const gchar * field)
{
  g_autoptr (GstStructure) s = output_stats (sink, uid);

  return cftest_stats_get_uint64 (s, field);
}

static guint
output_uint (GstElement * sink, const gchar * uid, const gchar * field)
{
  g_autoptr (GstStructure) s = output_stats (sink, uid);

  return cftest_stats_get_uint (s, field);
}

static GstElement *
get_element (CfTestInput * in, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (in->bin), name);

  fail_unless (e != NULL, "no element %s", name);
  return e;
}

/* --- decoded audio samples --- */

typedef struct
{
  GMutex lock;
  guint64 samples;
} SampleCount;

static GstPadProbeReturn
sample_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  SampleCount *c = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const GstStructure *s;
  const gchar *format;
  gint channels = 0, width;

  fail_unless (caps != NULL);
  s = gst_caps_get_structure (caps, 0);
  format = gst_structure_get_string (s, "format");
  gst_structure_get_int (s, "channels", &channels);
  /* F32LE, S16LE, ...: the digits are the sample width in bits */
  width = format ? atoi (format + 1) : 0;
  fail_unless (channels > 0 && width > 0 && width % 8 == 0, "caps %"
      GST_PTR_FORMAT, caps);
  g_mutex_lock (&c->lock);
  c->samples += gst_buffer_get_size (buf) / (channels * width / 8);
  g_mutex_unlock (&c->lock);
  gst_caps_unref (caps);
  return GST_PAD_PROBE_OK;
}

static void
sample_count_free (SampleCount * c)
{
  g_mutex_clear (&c->lock);
  g_free (c);
}

/* Counts the samples the audio decoder of @in outputs */
static SampleCount *
count_samples (CfTestInput * in)
{
  SampleCount *c = g_new0 (SampleCount, 1);
  GstElement *asink = get_element (in, "asink");
  GstPad *pad = gst_element_get_static_pad (asink, "sink");

  g_mutex_init (&c->lock);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sample_probe, c,
      (GDestroyNotify) sample_count_free);
  gst_object_unref (pad);
  gst_object_unref (asink);
  return c;
}

static guint64
samples (SampleCount * c)
{
  guint64 n;

  g_mutex_lock (&c->lock);
  n = c->samples;
  g_mutex_unlock (&c->lock);
  return n;
}

/* --- inputs --- */

/* The source of the stream to restream: cfliveinputsrc on a free port,
 * decoded by the test and teed to the sink "rs" */
static CfTestInput *
add_source (CfTestPipeline * p, gint reconnect_window)
{
  return cftest_pipeline_add_input_with_branch (p, "in",
      "cfrestreamsink name=rs", "rtmp-url", "rtmp://127.0.0.1:0/" CFTEST_APP,
      "stream-key", IN_KEY, "reconnect-window", reconnect_window, NULL);
}

/* An SRT-only destination listening on a free port */
static CfTestInput *
add_srt_dest (CfTestPipeline * p, const gchar * name, const gchar * id,
    const gchar * passphrase)
{
  return cftest_pipeline_add_input (p, name, "srt-url", "srt://127.0.0.1:0",
      "srt-stream-id", id, "srt-passphrase", passphrase,
      "reconnect-window", 0, NULL);
}

static CfTestInput *
add_rtmp_dest (CfTestPipeline * p, const gchar * name)
{
  return cftest_pipeline_add_input (p, name, "rtmp-url",
      "rtmp://127.0.0.1:0/" CFTEST_APP, "stream-key", RTMP_KEY,
      "reconnect-window", 0, NULL);
}

static guint
srt_port (CfTestInput * in)
{
  guint port = 0;

  g_object_get (in->src, "srt-bound-port", &port, NULL);
  fail_unless (port != 0);
  return port;
}

/* The destination URL of the sink */
static gchar *
srt_url_with_latency (guint port, const gchar * id, const gchar * passphrase,
    guint latency_ms)
{
  GString *url = g_string_new (NULL);

  g_string_append_printf (url, "srt://127.0.0.1:%u?latency=%u", port,
      latency_ms);
  if (id)
    g_string_append_printf (url, "&streamid=%s", id);
  if (passphrase)
    g_string_append_printf (url, "&passphrase=%s", passphrase);
  return g_string_free (url, FALSE);
}

static gchar *
srt_url (guint port, const gchar * id, const gchar * passphrase)
{
  return srt_url_with_latency (port, id, passphrase, SRT_LATENCY_MS);
}

/* Waits until the decoded video frames of @in stop changing for
 * @quiet_s, or @timeout_s passed */
static void
wait_quiet (CfTestInput * in, gdouble quiet_s, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gint64 since = g_get_monotonic_time ();
  guint64 last = cftest_input_video_frames (in);

  while (g_get_monotonic_time () < end) {
    guint64 n = cftest_input_video_frames (in);

    if (n != last) {
      last = n;
      since = g_get_monotonic_time ();
    } else if (cftest_seconds_since (since) >= quiet_s) {
      return;
    }
    g_usleep (20 * 1000);
  }
}

/* One session, timestamps increasing, nothing decoded out of order */
static void
assert_clean_stream (CfTestInput * in)
{
  g_autofree gchar *problems = cftest_input_check_tags (in);
  g_autofree gchar *events = cftest_input_events (in);

  fail_unless (problems == NULL, "%s: %s", in->name, problems);
  fail_unless (g_str_has_prefix (events, "connected:1") &&
      strstr (events, "reconnected") == NULL, "%s: events %s", in->name,
      events);
}

/* The destination decoded about what the source did: at most one GOP
 * lost at the start, nothing more than the source, the audio neither
 * duplicated nor longer than the source's */
typedef struct
{
  guint64 video;
  guint64 audio;
  guint64 samples;
} Decoded;

static void
assert_like_source (CfTestInput * dest, SampleCount * dest_samples,
    const Decoded * src)
{
  guint64 v = cftest_input_video_frames (dest);
  guint64 a = cftest_input_audio_frames (dest);
  guint64 s = samples (dest_samples);
  guint64 sv = src->video, sa = src->audio, ss = src->samples;

  GST_INFO ("%s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " video, %"
      G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " audio frames, %"
      G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " samples", dest->name, v, sv,
      a, sa, s, ss);
  fail_unless (v <= sv, "%s: %" G_GUINT64_FORMAT " video frames, the source "
      "%" G_GUINT64_FORMAT, dest->name, v, sv);
  fail_unless (v + GOP_FRAMES + DECODER_SLACK >= sv, "%s: %" G_GUINT64_FORMAT
      " video frames, the source %" G_GUINT64_FORMAT, dest->name, v, sv);
  fail_unless (a <= sa, "%s: %" G_GUINT64_FORMAT " audio frames, the source "
      "%" G_GUINT64_FORMAT " (duplicated?)", dest->name, a, sa);
  fail_unless (a + GOP_AUDIO_FRAMES + AUDIO_SLACK >= sa, "%s: %"
      G_GUINT64_FORMAT " audio frames, the source %" G_GUINT64_FORMAT,
      dest->name, a, sa);
  fail_unless (s <= ss, "%s: %" G_GUINT64_FORMAT " audio samples, the "
      "source %" G_GUINT64_FORMAT " (duplicated?)", dest->name, s, ss);
  fail_unless (s + (guint64) (GOP_AUDIO_FRAMES + AUDIO_SLACK) *
      AAC_FRAME_SAMPLES >= ss, "%s: %" G_GUINT64_FORMAT " audio samples, "
      "the source %" G_GUINT64_FORMAT, dest->name, s, ss);
}

static void
sleep_until (gint64 monotonic_us)
{
  gint64 now = g_get_monotonic_time ();

  if (monotonic_us > now)
    g_usleep (monotonic_us - now);
}

/* --- external SRT listeners --- */

/* A UDP port that was free a moment ago */
static guint
free_udp_port (void)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) any = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) err = NULL;
  guint port;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, &err);
  fail_unless (sock != NULL, "socket: %s", err ? err->message : "");
  any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  addr = g_inet_socket_address_new (any, 0);
  fail_unless (g_socket_bind (sock, addr, FALSE, &err), "bind: %s",
      err ? err->message : "");
  bound = g_socket_get_local_address (sock, &err);
  fail_unless (bound != NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  return port;
}

/* Some process has a UDP socket bound to @port */
static gboolean
udp_port_bound (guint port)
{
  const gchar *tables[] = { "/proc/net/udp", "/proc/net/udp6" };
  g_autofree gchar *needle = g_strdup_printf (":%04X ", port);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (tables); i++) {
    g_autofree gchar *contents = NULL;
    g_auto (GStrv) lines = NULL;
    guint l;

    if (!g_file_get_contents (tables[i], &contents, NULL, NULL))
      continue;
    lines = g_strsplit (contents, "\n", -1);
    for (l = 1; lines[l]; l++) {
      g_auto (GStrv) f = g_strsplit_set (g_strstrip (lines[l]), " ", -1);
      guint n = 0, k;

      /* sl local_address ...: the second non-empty field */
      for (k = 0; f[k]; k++) {
        if (!*f[k])
          continue;
        if (++n == 2) {
          g_autofree gchar *field = g_strconcat (f[k], " ", NULL);

          if (strstr (field, needle))
            return TRUE;
          break;
        }
      }
    }
  }
  return FALSE;
}

static gchar *
tmp_path (const gchar * name)
{
  return g_build_filename (cftest_tmpdir (), name, NULL);
}

static guint64
file_size (const gchar * path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;
  return st.st_size;
}

/* srt-live-transmit listening on @port, writing what it receives to
 * @out_path (through its standard output); waits until it listens */
static CfTestProc *
slt_listen (guint port, const gchar * passphrase, const gchar * out_path)
{
  g_autofree gchar *uri = g_strdup_printf ("srt://:%u?mode=listener"
      "&latency=%u%s%s", port, SRT_LATENCY_MS, passphrase ? "&passphrase=" :
      "", passphrase ? passphrase : "");
  gchar *argv[] = {
    (gchar *) "srt-live-transmit", (gchar *) "-v", uri,
    (gchar *) "file://con", NULL
  };
  CfTestProc *proc;
  gint fd;

  fd = g_open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  fail_unless (fd >= 0, "cannot create %s", out_path);
  proc = cftest_spawn_with_fds ("srt-live-transmit", argv, -1, fd);
  close (fd);
  fail_unless (CFTEST_WAIT (udp_port_bound (port) ||
          cftest_proc_exited (proc), 5) && !cftest_proc_exited (proc),
      "srt-live-transmit does not listen on %u", port);
  return proc;
}

/* ffmpeg listening on @port, copying what it receives to @out_path */
static CfTestProc *
ffmpeg_listen (guint port, const gchar * id, const gchar * out_path)
{
  g_autofree gchar *uri = g_strdup_printf ("srt://127.0.0.1:%u?mode=listener"
      "&latency=%u&streamid=%s", port, SRT_LATENCY_MS * 1000, id);
  gchar *argv[] = {
    (gchar *) "ffmpeg", (gchar *) "-hide_banner", (gchar *) "-nostdin",
    (gchar *) "-loglevel", (gchar *) "warning", (gchar *) "-y",
    (gchar *) "-i", uri, (gchar *) "-c", (gchar *) "copy",
    (gchar *) "-f", (gchar *) "mpegts", (gchar *) out_path, NULL
  };
  CfTestProc *proc = cftest_spawn ("ffmpeg-listener", argv);

  fail_unless (CFTEST_WAIT (udp_port_bound (port) ||
          cftest_proc_exited (proc), 5) && !cftest_proc_exited (proc),
      "ffmpeg does not listen on %u", port);
  return proc;
}

/* --- ffprobe --- */

typedef struct
{
  gchar *path;
  gchar *video_codec;
  gchar *audio_codec;
  guint video_frames;           /* decoded by ffprobe */
  guint audio_frames;
  GArray *video_pts;            /* gint64, 90 kHz, in file order */
  GArray *audio_pts;
  gboolean first_video_key;
  gchar *errors;                /* what ffprobe complained about */
} Probe;

static void
probe_free (Probe * pr)
{
  g_free (pr->path);
  g_free (pr->video_codec);
  g_free (pr->audio_codec);
  g_array_unref (pr->video_pts);
  g_array_unref (pr->audio_pts);
  g_free (pr->errors);
  g_free (pr);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Probe, probe_free);

static gchar *
run_ffprobe (const gchar * path, const gchar * entries, gboolean count,
    GString * errors)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *err_out = NULL;
  gchar *out = NULL;
  gint status = 0;
  gchar *argv[] = {
    (gchar *) "ffprobe", (gchar *) "-v", (gchar *) "error",
    (gchar *) "-show_entries", (gchar *) entries, (gchar *) "-of",
    (gchar *) "csv=p=0", (gchar *) path, NULL, NULL
  };

  if (count) {
    argv[7] = (gchar *) "-count_frames";
    argv[8] = (gchar *) path;
  }
  fail_unless (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
          NULL, &out, &err_out, &status, &err), "ffprobe: %s",
      err ? err->message : "");
  fail_unless (g_spawn_check_wait_status (status, NULL), "ffprobe %s "
      "failed: %s", path, err_out);
  g_string_append (errors, err_out);
  return out;
}

/* Reads an MPEG-TS file back: codecs, frames decoded, packet timestamps */
static Probe *
probe_ts (const gchar * path)
{
  Probe *pr = g_new0 (Probe, 1);
  GString *errors = g_string_new (NULL);
  g_autofree gchar *streams = NULL;
  g_autofree gchar *packets = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean seen_video = FALSE;
  guint i;

  pr->path = g_strdup (path);
  pr->video_pts = g_array_new (FALSE, FALSE, sizeof (gint64));
  pr->audio_pts = g_array_new (FALSE, FALSE, sizeof (gint64));

  streams = run_ffprobe (path, "stream=codec_type,codec_name,nb_read_frames",
      TRUE, errors);
  lines = g_strsplit (streams, "\n", -1);
  for (i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (g_strstrip (lines[i]), ",", -1);

    if (g_strv_length (f) < 3)
      continue;
    if (!strcmp (f[1], "video") && !pr->video_codec) {
      pr->video_codec = g_strdup (f[0]);
      pr->video_frames = atoi (f[2]);
    } else if (!strcmp (f[1], "audio") && !pr->audio_codec) {
      pr->audio_codec = g_strdup (f[0]);
      pr->audio_frames = atoi (f[2]);
    }
  }
  g_clear_pointer (&lines, g_strfreev);

  packets = run_ffprobe (path, "packet=codec_type,pts,flags", FALSE, errors);
  lines = g_strsplit (packets, "\n", -1);
  for (i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (g_strstrip (lines[i]), ",", -1);
    gint64 pts;

    if (g_strv_length (f) < 3 || !g_ascii_isdigit (f[1][0]))
      continue;
    pts = g_ascii_strtoll (f[1], NULL, 10);
    if (!strcmp (f[0], "video")) {
      if (!seen_video)
        pr->first_video_key = f[2][0] == 'K';
      seen_video = TRUE;
      g_array_append_val (pr->video_pts, pts);
    } else if (!strcmp (f[0], "audio")) {
      g_array_append_val (pr->audio_pts, pts);
    }
  }
  pr->errors = g_string_free (errors, FALSE);
  GST_INFO ("%s (%" G_GUINT64_FORMAT " bytes): %s %u frames (%u packets), "
      "%s %u frames (%u packets), first video %s, errors '%s'", path,
      file_size (path), GST_STR_NULL (pr->video_codec), pr->video_frames,
      pr->video_pts->len, GST_STR_NULL (pr->audio_codec), pr->audio_frames,
      pr->audio_pts->len, pr->first_video_key ? "key" : "delta", pr->errors);
  return pr;
}

/* How much earlier than the first video frame the audio of a recording
 * may start (90 kHz) */
#define MAX_AUDIO_LEAD (100 * 90)

/* H.264 and AAC with frames, starting on a keyframe, timestamps
 * increasing, about @min_video and at most @max_video video frames */
static void
assert_ts_sane (Probe * pr, guint min_video, guint max_video)
{
  GArray *arrays[] = { pr->video_pts, pr->audio_pts };
  guint a, i;

  fail_unless_equals_string (pr->video_codec, "h264");
  fail_unless_equals_string (pr->audio_codec, "aac");
  fail_unless (pr->video_frames >= min_video && pr->video_frames <=
      max_video, "%s: %u video frames, expected %u to %u", pr->path,
      pr->video_frames, min_video, max_video);
  fail_unless (pr->audio_frames > 0 && pr->video_pts->len > 0 &&
      pr->audio_pts->len > 0, "%s: no audio frame", pr->path);
  fail_unless (pr->errors[0] == '\0', "%s: ffprobe: %s", pr->path, pr->errors);
  fail_unless (pr->first_video_key, "%s starts with a delta frame", pr->path);
  /* audio and video start together, at the keyframe */
  fail_unless (g_array_index (pr->audio_pts, gint64, 0) + MAX_AUDIO_LEAD >=
      g_array_index (pr->video_pts, gint64, 0), "%s: the audio starts %"
      G_GINT64_FORMAT " ms before the video", pr->path,
      (g_array_index (pr->video_pts, gint64, 0) -
          g_array_index (pr->audio_pts, gint64, 0)) / 90);
  for (a = 0; a < G_N_ELEMENTS (arrays); a++) {
    for (i = 1; i < arrays[a]->len; i++)
      fail_unless (g_array_index (arrays[a], gint64, i) >
          g_array_index (arrays[a], gint64, i - 1), "%s: %s packet %u at %"
          G_GINT64_FORMAT " after %" G_GINT64_FORMAT, pr->path,
          a ? "audio" : "video", i, g_array_index (arrays[a], gint64, i),
          g_array_index (arrays[a], gint64, i - 1));
  }
}

/* --- tests --- */

/* One publisher, an SRT and an RTMP output, both to cfliveinputsrc
 * destinations that decode: both get (about) the whole stream, with
 * increasing timestamps and no duplicated audio */
GST_START_TEST (test_decoded_fanout)
{
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dsrt = add_srt_dest (dp, "dest-srt", SRT_ID, SRT_PASS);
  CfTestInput *drtmp = add_rtmp_dest (dp, "dest-rtmp");
  SampleCount *dsrt_samples = count_samples (dsrt);
  SampleCount *drtmp_samples = count_samples (drtmp);
  SampleCount *in_samples;
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url_srt = NULL, *url_rtmp = NULL, *in_url = NULL;
  g_autofree gchar *uid_srt = NULL, *uid_rtmp = NULL, *errors = NULL;
  g_autofree gchar *warnings = NULL, *states = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  CfTestProc *ff;
  Decoded src;
  guint64 max_samples;

  cftest_pipeline_play (dp);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  in_samples = count_samples (in);
  sink = get_element (in, "rs");
  url_srt = srt_url (srt_port (dsrt), SRT_ID, SRT_PASS);
  uid_srt = add_output (sink, url_srt);
  url_rtmp = cftest_input_publish_url (drtmp, RTMP_KEY);
  uid_rtmp = add_output (sink, url_rtmp);
  cftest_pipeline_play (p);

  ev = recorder_wait (rec, uid_srt, "connected", 0, 5);
  fail_unless (ev != NULL, "the SRT output: %s", (states =
          recorder_states (rec, uid_srt, 0)));
  g_clear_pointer (&ev, output_event_free);
  ev = recorder_wait (rec, uid_rtmp, "connected", 0, 5);
  fail_unless (ev != NULL, "the RTMP output: %s", (states =
          recorder_states (rec, uid_rtmp, 0)));

  in_url = cftest_input_publish_url (in, IN_KEY);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), in_url, FALSE);
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 20), "no EOS");
  fail_unless (cftest_proc_wait (ff, 5));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);

  /* what SRT and RTMP still carry, then the outputs close and the
   * destinations end (reconnect-window 0), draining their decoders */
  wait_quiet (dsrt, 1.0, 5);
  wait_quiet (drtmp, 1.0, 5);
  fail_unless_equals_string ((states = output_state (sink, uid_srt)),
      "connected");
  g_free (states);
  fail_unless_equals_string ((states = output_state (sink, uid_rtmp)),
      "connected");
  fail_unless (output_uint64 (sink, uid_srt, "bytes-sent") > 0);
  fail_unless (output_uint64 (sink, uid_srt, "frames-sent") > 0);
  fail_unless_equals_uint64 (output_uint64 (sink, uid_srt,
          "frames-dropped"), 0);
  g_free (states);
  states = recorder_states (rec, uid_srt, 0);
  fail_unless_equals_string (states, "connecting, connected");
  g_free (states);
  states = recorder_states (rec, uid_rtmp, 0);
  fail_unless_equals_string (states, "connecting, connected");
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  warnings = recorder_warnings (rec);
  fail_unless (*warnings == '\0', "warnings: %s", warnings);

  /* the source decoded the whole media once */
  src.video = cftest_input_video_frames (in);
  src.audio = cftest_input_audio_frames (in);
  src.samples = samples (in_samples);
  fail_unless_equals_uint64 (src.video, CFTEST_SMALL_VIDEO_FRAMES);
  max_samples = CFTEST_SMALL_SECONDS * (guint64) AUDIO_RATE +
      AUDIO_SLACK * AAC_FRAME_SAMPLES;
  fail_unless (src.samples <= max_samples, "the source decoded %"
      G_GUINT64_FORMAT " samples of %u s", src.samples, CFTEST_SMALL_SECONDS);

  gst_object_unref (sink);
  cftest_pipeline_free (p);
  fail_unless (CFTEST_WAIT (cftest_input_got_eos (dsrt) &&
          cftest_input_got_eos (drtmp), 10), "the destinations did not end");
  wait_quiet (dsrt, 0.3, 2);
  wait_quiet (drtmp, 0.3, 2);

  assert_like_source (dsrt, dsrt_samples, &src);
  assert_like_source (drtmp, drtmp_samples, &src);
  assert_clean_stream (dsrt);
  assert_clean_stream (drtmp);
  fail_unless_equals_int (cftest_input_video_width (dsrt), CFTEST_SMALL_WIDTH);
  g_free (errors);
  errors = cftest_pipeline_errors (dp);
  fail_unless (cftest_pipeline_n_errors (dp) == 0, "errors: %s", errors);

  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

/* srt-live-transmit (with a passphrase) and ffmpeg (with a stream id) as
 * listeners: both write an MPEG-TS that ffprobe reads as H.264 and AAC */
GST_START_TEST (test_ts_listeners)
{
  Recorder *rec = recorder_new ();
  guint slt_port = free_udp_port (), ff_port = free_udp_port ();
  g_autofree gchar *slt_out = tmp_path ("slt.ts");
  g_autofree gchar *ff_out = tmp_path ("ffmpeg.ts");
  g_autofree gchar *url_slt = NULL, *url_ff = NULL, *in_url = NULL;
  g_autofree gchar *uid_slt = NULL, *uid_ff = NULL, *states = NULL;
  g_autofree gchar *errors = NULL, *log = NULL;
  g_autoptr (Probe) pr_slt = NULL;
  g_autoptr (Probe) pr_ff = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  CfTestProc *slt, *ffl, *ff;
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  guint sv;

  fail_if (ff_port == slt_port);
  slt = slt_listen (slt_port, SRT_PASS, slt_out);
  ffl = ffmpeg_listen (ff_port, SRT_ID, ff_out);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  sink = get_element (in, "rs");
  url_slt = srt_url (slt_port, NULL, SRT_PASS);
  uid_slt = add_output (sink, url_slt);
  url_ff = srt_url (ff_port, SRT_ID, NULL);
  uid_ff = add_output (sink, url_ff);
  cftest_pipeline_play (p);

  ev = recorder_wait (rec, uid_slt, "connected", 0, 5);
  fail_unless (ev != NULL, "srt-live-transmit: %s", (states =
          recorder_states (rec, uid_slt, 0)));
  g_clear_pointer (&ev, output_event_free);
  ev = recorder_wait (rec, uid_ff, "connected", 0, 5);
  fail_unless (ev != NULL, "ffmpeg: %s", (states =
          recorder_states (rec, uid_ff, 0)));

  in_url = cftest_input_publish_url (in, IN_KEY);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), in_url, FALSE);
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 20), "no EOS");
  fail_unless (cftest_proc_wait (ff, 5));
  sv = cftest_input_video_frames (in);
  fail_unless_equals_int (sv, CFTEST_SMALL_VIDEO_FRAMES);
  /* the latency of the listeners */
  g_usleep (4 * SRT_LATENCY_MS * 1000);
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  states = recorder_states (rec, uid_slt, 0);
  fail_unless_equals_string (states, "connecting, connected");
  g_free (states);
  states = recorder_states (rec, uid_ff, 0);
  fail_unless_equals_string (states, "connecting, connected");

  /* the sink closes the connections: ffmpeg ends by itself */
  gst_object_unref (sink);
  cftest_pipeline_free (p);
  if (!cftest_proc_wait (ffl, 5)) {
    cftest_proc_kill (ffl, SIGINT);
    log = cftest_proc_get_log (ffl);
    fail ("the ffmpeg listener did not end with the connection: %s", log);
  }
  cftest_proc_kill (slt, SIGINT);

  pr_slt = probe_ts (slt_out);
  assert_ts_sane (pr_slt, sv - GOP_FRAMES, sv);
  pr_ff = probe_ts (ff_out);
  assert_ts_sane (pr_ff, sv - GOP_FRAMES, sv);

  recorder_free (rec);
}

GST_END_TEST;

/* A wrong passphrase: the destination refuses the output in the SRT
 * handshake, the output retries and says why; the other SRT and RTMP
 * outputs do not notice */
GST_START_TEST (test_wrong_passphrase)
{
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dbad = add_srt_dest (dp, "dest-bad", SRT_ID, SRT_PASS);
  CfTestInput *dgood = add_srt_dest (dp, "dest-good", SRT_ID_2, SRT_PASS_2);
  CfTestInput *drtmp = add_rtmp_dest (dp, "dest-rtmp");
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url_bad = NULL, *url_good = NULL, *url_rtmp = NULL;
  g_autofree gchar *uid_bad = NULL, *uid_good = NULL, *uid_rtmp = NULL;
  g_autofree gchar *in_url = NULL, *states = NULL, *events = NULL;
  g_autofree gchar *errors = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  g_autoptr (GstStructure) stats = NULL;
  g_autoptr (GstStructure) in_stats = NULL;
  gint64 t_publish;

  cftest_pipeline_play (dp);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  sink = get_element (in, "rs");
  url_bad = srt_url (srt_port (dbad), SRT_ID, WRONG_PASS);
  uid_bad = add_output (sink, url_bad);
  url_good = srt_url (srt_port (dgood), SRT_ID_2, SRT_PASS_2);
  uid_good = add_output (sink, url_good);
  url_rtmp = cftest_input_publish_url (drtmp, RTMP_KEY);
  uid_rtmp = add_output (sink, url_rtmp);
  cftest_pipeline_play (p);

  in_url = cftest_input_publish_url (in, IN_KEY);
  cftest_ffmpeg_publish (cftest_small_media_path (), in_url, TRUE);
  t_publish = g_get_monotonic_time ();

  ev = recorder_wait (rec, uid_bad, "reconnecting", 0, 5);
  fail_unless (ev != NULL, "the refused output: %s", (states =
          recorder_states (rec, uid_bad, 0)));
  GST_INFO ("refused: %s", ev->error);
  /* libsrt's reason: "Incorrect passphrase" ("Password required or
   * unexpected" in older versions) */
  fail_unless (strstr (ev->error, "refused") != NULL &&
      (strstr (ev->error, "passphrase") != NULL ||
          strstr (ev->error, "Password") != NULL), "the error does not say "
      "why: '%s'", ev->error);

  /* the others carry the stream all along */
  fail_unless (cftest_input_wait_video_above (dgood, GOP_FRAMES + 15, 10));
  fail_unless (cftest_input_wait_video_above (drtmp, GOP_FRAMES + 15, 10));
  GST_INFO ("%.2f s after the publish", cftest_seconds_since (t_publish));

  g_clear_pointer (&states, g_free);
  states = recorder_states (rec, uid_bad, 0);
  fail_unless (recorder_find (rec, uid_bad, "connected", 0) == NULL,
      "the refused output connected: %s", states);
  stats = output_stats (sink, uid_bad);
  fail_unless_equals_string (gst_structure_get_string (stats, "state"),
      "reconnecting");
  fail_unless (strstr (gst_structure_get_string (stats, "last-error"),
          "refused") != NULL, "%" GST_PTR_FORMAT, stats);
  fail_unless (cftest_stats_get_uint (stats, "reconnects") >= 1);
  fail_unless_equals_uint64 (cftest_stats_get_uint64 (stats, "bytes-sent"), 0);
  /* the stream id was right: the destination refused the publish, no
   * session started there */
  events = cftest_input_events (dbad);
  fail_unless_equals_string (events, "");
  fail_unless_equals_uint64 (cftest_input_video_frames (dbad), 0);

  g_free (states);
  states = recorder_states (rec, uid_good, 0);
  fail_unless_equals_string (states, "connecting, connected");
  g_free (states);
  states = recorder_states (rec, uid_rtmp, 0);
  fail_unless_equals_string (states, "connecting, connected");
  assert_clean_stream (dgood);
  assert_clean_stream (drtmp);
  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);

  gst_object_unref (sink);
  cftest_pipeline_free (p);
  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

/* srt-live-transmit is not there when the output starts, comes up, is
 * killed and comes back: the output connects, reconnects and carries the
 * stream again */
GST_START_TEST (test_destination_comes_and_goes)
{
  Recorder *rec = recorder_new ();
  guint port = free_udp_port ();
  g_autofree gchar *out1 = tmp_path ("slt-1.ts");
  g_autofree gchar *out2 = tmp_path ("slt-2.ts");
  g_autofree gchar *url = NULL, *uid = NULL, *in_url = NULL;
  g_autofree gchar *states = NULL, *errors = NULL, *state = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  g_autoptr (Probe) pr = NULL;
  CfTestProc *slt;
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  gint64 t_play, t_up, t_kill, t_back;
  guint64 size;
  guint mark, reconnects;

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  sink = get_element (in, "rs");
  url = srt_url (port, SRT_ID, SRT_PASS);
  uid = add_output (sink, url);
  cftest_pipeline_play (p);
  t_play = g_get_monotonic_time ();
  in_url = cftest_input_publish_url (in, IN_KEY);
  cftest_ffmpeg_publish (cftest_small_media_path (), in_url, TRUE);

  /* nobody listens for a second */
  fail_unless (cftest_input_wait_status (in, "connected", 5) != NULL);
  sleep_until (t_play + G_USEC_PER_SEC);
  fail_unless (recorder_find (rec, uid, "connected", 0) == NULL);
  state = output_state (sink, uid);
  fail_unless (!g_strcmp0 (state, "connecting") ||
      !g_strcmp0 (state, "reconnecting"), "%s", state);
  fail_unless_equals_uint64 (output_uint64 (sink, uid, "bytes-sent"), 0);

  /* it comes up */
  slt = slt_listen (port, SRT_PASS, out1);
  t_up = g_get_monotonic_time ();
  ev = recorder_wait (rec, uid, "connected", 0, 10);
  fail_unless (ev != NULL, "not connected: %s", (states =
          recorder_states (rec, uid, 0)));
  GST_INFO ("connected %.2f s after the listener came up",
      (ev->wall - t_up) / 1e6);
  g_clear_pointer (&ev, output_event_free);
  fail_unless (CFTEST_WAIT (file_size (out1) > 100 * 1024, 5),
      "srt-live-transmit wrote %" G_GUINT64_FORMAT " bytes", file_size (out1));

  /* killed: no SRT shutdown, the output finds out from the silence */
  mark = recorder_n_events (rec);
  reconnects = output_uint (sink, uid, "reconnects");
  cftest_proc_kill (slt, SIGKILL);
  t_kill = g_get_monotonic_time ();
  ev = recorder_wait (rec, uid, "reconnecting", mark, 12);
  fail_unless (ev != NULL, "no reconnecting after the kill: %s", (states =
          recorder_states (rec, uid, mark)));
  fail_unless (*ev->error != '\0');
  GST_INFO ("reconnecting %.2f s after the kill: %s",
      (ev->wall - t_kill) / 1e6, ev->error);
  g_clear_pointer (&ev, output_event_free);

  /* and back */
  slt = slt_listen (port, SRT_PASS, out2);
  t_back = g_get_monotonic_time ();
  ev = recorder_wait (rec, uid, "connected", mark, 10);
  fail_unless (ev != NULL, "not connected again: %s", (states =
          recorder_states (rec, uid, mark)));
  GST_INFO ("connected again %.2f s after the restart",
      (ev->wall - t_back) / 1e6);
  fail_unless (output_uint (sink, uid, "reconnects") > reconnects);
  fail_unless (CFTEST_WAIT (file_size (out2) > 100 * 1024, 5),
      "srt-live-transmit wrote %" G_GUINT64_FORMAT " bytes after the "
      "restart", file_size (out2));
  size = file_size (out2);
  fail_unless (CFTEST_WAIT (file_size (out2) > size, 2), "the data stopped");
  g_free (state);
  state = output_state (sink, uid);
  fail_unless_equals_string (state, "connected");

  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  gst_object_unref (sink);
  cftest_pipeline_free (p);
  cftest_proc_kill (slt, SIGINT);

  /* what came after the restart starts on a keyframe and decodes */
  pr = probe_ts (out2);
  assert_ts_sane (pr, 1, G_MAXUINT);
  recorder_free (rec);
}

GST_END_TEST;

/* The encoder goes away and comes back within the reconnect window: the
 * SRT output stays connected and its destination sees one session with
 * timestamps going on */
GST_START_TEST (test_encoder_reconnect)
{
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dest = add_srt_dest (dp, "dest-srt", SRT_ID, SRT_PASS);
  SampleCount *dest_samples = count_samples (dest);
  SampleCount *in_samples;
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url = NULL, *uid = NULL, *in_url = NULL;
  g_autofree gchar *states = NULL, *events = NULL, *errors = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  CfTestProc *ff;
  CfTestTag first, last;
  guint64 v_before, v, a, sv, sa;
  guint mark;

  cftest_pipeline_play (dp);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 5);
  in_samples = count_samples (in);
  sink = get_element (in, "rs");
  url = srt_url (srt_port (dest), SRT_ID, SRT_PASS);
  uid = add_output (sink, url);
  cftest_pipeline_play (p);
  ev = recorder_wait (rec, uid, "connected", 0, 5);
  fail_unless (ev != NULL, "not connected: %s", (states =
          recorder_states (rec, uid, 0)));
  mark = recorder_n_events (rec);

  in_url = cftest_input_publish_url (in, IN_KEY);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), in_url, TRUE);
  fail_unless (cftest_input_wait_video_above (dest, GOP_FRAMES + 10, 10));

  /* the encoder dies in the middle of a GOP and comes back */
  cftest_proc_kill (ff, SIGKILL);
  fail_unless (cftest_input_wait_status (in, "reconnecting", 5) != NULL);
  v_before = cftest_input_video_frames (dest);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), in_url, FALSE);
  fail_unless (cftest_input_wait_status (in, "reconnected", 5) != NULL);
  fail_unless (cftest_proc_wait (ff, 10));
  fail_unless_equals_int (cftest_proc_exit_code (ff), 0);
  /* what the second session sent arrived */
  wait_quiet (dest, 1.0, 5);
  v = cftest_input_video_frames (dest);
  GST_INFO ("destination: %" G_GUINT64_FORMAT " video frames before the "
      "reconnect, %" G_GUINT64_FORMAT " in all", v_before, v);
  fail_unless (v + DECODER_SLACK >= v_before + CFTEST_SMALL_VIDEO_FRAMES,
      "%" G_GUINT64_FORMAT " video frames after the reconnect", v - v_before);

  /* no state change: the output never noticed */
  states = recorder_states (rec, uid, mark);
  fail_unless_equals_string (states, "");
  fail_unless_equals_uint64 (output_uint (sink, uid, "reconnects"), 0);
  g_free (states);
  fail_unless_equals_string ((states = output_state (sink, uid)), "connected");
  events = cftest_input_events (in);
  fail_unless (strstr (events, "reconnected:2") != NULL, "source: %s", events);
  g_free (events);

  /* one session at the destination, timestamps increasing across */
  events = cftest_input_events (dest);
  fail_unless_equals_string (events, "connected:1");
  assert_clean_stream (dest);
  sv = cftest_input_video_frames (in);
  fail_unless (v <= sv, "%" G_GUINT64_FORMAT " video frames, the source %"
      G_GUINT64_FORMAT, v, sv);
  /* nothing duplicated across the reconnect */
  a = cftest_input_audio_frames (dest);
  sa = cftest_input_audio_frames (in);
  GST_INFO ("audio: destination %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " samples; source %" G_GUINT64_FORMAT " frames, %"
      G_GUINT64_FORMAT " samples", a, samples (dest_samples), sa,
      samples (in_samples));
  fail_unless (a <= sa, "%" G_GUINT64_FORMAT " audio frames, the source %"
      G_GUINT64_FORMAT, a, sa);
  fail_unless (samples (dest_samples) <= samples (in_samples));
  /* the source's reconnect shows as a gap in the middle, not as a jump
   * back */
  fail_unless (cftest_input_session_boundary (in, CFTEST_TAG_VIDEO, 1, 2,
          &last, &first));
  GST_INFO ("source: session 1 ends at %" GST_TIME_FORMAT ", session 2 "
      "starts at %" GST_TIME_FORMAT, GST_TIME_ARGS (last.dts),
      GST_TIME_ARGS (first.dts));

  errors = cftest_pipeline_errors (p);
  fail_unless (cftest_pipeline_n_errors (p) == 0, "errors: %s", errors);
  gst_object_unref (sink);
  cftest_pipeline_free (p);
  g_free (errors);
  errors = cftest_pipeline_errors (dp);
  fail_unless (cftest_pipeline_n_errors (dp) == 0, "errors: %s", errors);
  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

/* The application stops the pipeline at EOS, as gst-launch-1.0 -e does:
 * the EOS drained the outputs, so the SRT destination gets the end of the
 * stream, as the RTMP one does. The SRT latency is 1 s, what an SRT
 * destination across the internet typically has. */
GST_START_TEST (test_eos_delivers_the_end)
{
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *dsrt = add_srt_dest (dp, "dest-srt", SRT_ID, SRT_PASS);
  CfTestInput *drtmp = add_rtmp_dest (dp, "dest-rtmp");
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url_srt = NULL, *url_rtmp = NULL, *in_url = NULL;
  g_autofree gchar *uid_srt = NULL, *uid_rtmp = NULL, *states = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  guint64 sv, v_srt, v_rtmp;

  cftest_pipeline_play (dp);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  sink = get_element (in, "rs");
  url_srt = srt_url_with_latency (srt_port (dsrt), SRT_ID, SRT_PASS, 1000);
  uid_srt = add_output (sink, url_srt);
  url_rtmp = cftest_input_publish_url (drtmp, RTMP_KEY);
  uid_rtmp = add_output (sink, url_rtmp);
  cftest_pipeline_play (p);
  ev = recorder_wait (rec, uid_srt, "connected", 0, 5);
  fail_unless (ev != NULL, "the SRT output: %s", (states =
          recorder_states (rec, uid_srt, 0)));
  g_clear_pointer (&ev, output_event_free);
  ev = recorder_wait (rec, uid_rtmp, "connected", 0, 5);
  fail_unless (ev != NULL, "the RTMP output: %s", (states =
          recorder_states (rec, uid_rtmp, 0)));

  in_url = cftest_input_publish_url (in, IN_KEY);
  cftest_ffmpeg_publish (cftest_small_media_path (), in_url, FALSE);
  fail_unless (CFTEST_WAIT (cftest_pipeline_got_eos (p), 20), "no EOS");
  sv = cftest_input_video_frames (in);
  fail_unless_equals_uint64 (sv, CFTEST_SMALL_VIDEO_FRAMES);

  /* at once */
  gst_object_unref (sink);
  cftest_pipeline_free (p);
  fail_unless (CFTEST_WAIT (cftest_input_got_eos (dsrt) &&
          cftest_input_got_eos (drtmp), 10), "the destinations did not end");
  wait_quiet (dsrt, 0.3, 2);
  wait_quiet (drtmp, 0.3, 2);

  v_srt = cftest_input_video_frames (dsrt);
  v_rtmp = cftest_input_video_frames (drtmp);
  GST_INFO ("video frames: source %" G_GUINT64_FORMAT ", RTMP %"
      G_GUINT64_FORMAT ", SRT %" G_GUINT64_FORMAT, sv, v_rtmp, v_srt);
  fail_unless_equals_uint64 (v_rtmp, sv);
  fail_unless (v_srt == sv, "the SRT destination got %" G_GUINT64_FORMAT
      " of the %" G_GUINT64_FORMAT " video frames: the end of the stream "
      "was lost when the pipeline stopped after EOS", v_srt, sv);

  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

/* An SRT output goes, the encoder comes back with another resolution,
 * then an SRT output is added: it gets the new codec configuration */
GST_START_TEST (test_srt_output_after_codec_change)
{
  Recorder *rec = recorder_new ();
  CfTestPipeline *dp = cftest_pipeline_new ();
  CfTestInput *d1 = add_srt_dest (dp, "dest-1", SRT_ID, SRT_PASS);
  CfTestInput *d2 = add_srt_dest (dp, "dest-2", SRT_ID_2, SRT_PASS_2);
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;
  g_autofree gchar *url1 = NULL, *url2 = NULL, *uid1 = NULL, *uid2 = NULL;
  g_autofree gchar *in_url = NULL, *states = NULL, *errors = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  gboolean removed = FALSE;
  CfTestProc *ff;

  cftest_pipeline_play (dp);

  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 5);
  sink = get_element (in, "rs");
  url1 = srt_url (srt_port (d1), SRT_ID, SRT_PASS);
  uid1 = add_output (sink, url1);
  cftest_pipeline_play (p);
  in_url = cftest_input_publish_url (in, IN_KEY);
  ff = cftest_ffmpeg_publish (cftest_small_media_path (), in_url, TRUE);
  fail_unless (cftest_input_wait_video_above (d1, 10, 10));
  fail_unless_equals_int (cftest_input_video_width (d1), CFTEST_SMALL_WIDTH);

  g_signal_emit_by_name (sink, "remove-output", uid1, &removed);
  fail_unless (removed);
  cftest_proc_kill (ff, SIGKILL);
  fail_unless (cftest_input_wait_status (in, "reconnecting", 5) != NULL);
  ff = cftest_ffmpeg_publish (cftest_media_path (), in_url, FALSE);
  fail_unless (cftest_input_wait_status (in, "reconnected", 5) != NULL);
  fail_unless (CFTEST_WAIT (cftest_input_video_width (in) ==
          CFTEST_MEDIA_WIDTH, 5));

  url2 = srt_url (srt_port (d2), SRT_ID_2, SRT_PASS_2);
  uid2 = add_output (sink, url2);
  ev = recorder_wait (rec, uid2, "connected", 0, 5);
  fail_unless (ev != NULL, "the second output: %s", (states =
          recorder_states (rec, uid2, 0)));
  fail_unless (cftest_input_wait_video_above (d2, 30, 10));
  errors = cftest_pipeline_errors (dp);
  fail_unless (cftest_pipeline_n_errors (dp) == 0, "errors: %s", errors);
  fail_unless (cftest_input_video_width (d2) == CFTEST_MEDIA_WIDTH,
      "the new SRT output decodes at width %d: the codec configuration of "
      "the encoder's second session did not reach it",
      cftest_input_video_width (d2));

  gst_object_unref (sink);
  cftest_pipeline_free (p);
  cftest_pipeline_free (dp);
  recorder_free (rec);
}

GST_END_TEST;

/* SRT outputs added while the stream runs, in the middle of a GOP: the
 * first one when there is no other SRT output (the stream is not muxed to
 * MPEG-TS yet), the second one next to it. What each sends starts at a
 * keyframe: neither delta frames nor a stretch of audio before it. */
GST_START_TEST (test_srt_outputs_added_mid_gop)
{
  Recorder *rec = recorder_new ();
  guint port1 = free_udp_port (), port2 = free_udp_port ();
  g_autofree gchar *out1 = tmp_path ("slt-late-1.ts");
  g_autofree gchar *out2 = tmp_path ("slt-late-2.ts");
  g_autofree gchar *url1 = NULL, *url2 = NULL, *uid1 = NULL, *uid2 = NULL;
  g_autofree gchar *in_url = NULL, *states = NULL;
  g_autoptr (OutputEvent) ev = NULL;
  g_autoptr (Probe) pr1 = NULL;
  g_autoptr (Probe) pr2 = NULL;
  CfTestProc *slt1, *slt2;
  CfTestPipeline *p;
  CfTestInput *in;
  GstElement *sink;

  fail_if (port1 == port2);
  slt1 = slt_listen (port1, NULL, out1);
  slt2 = slt_listen (port2, NULL, out2);
  p = cftest_pipeline_new ();
  cftest_pipeline_set_message_func (p, recorder_on_message, rec);
  in = add_source (p, 0);
  sink = get_element (in, "rs");
  cftest_pipeline_play (p);
  in_url = cftest_input_publish_url (in, IN_KEY);
  cftest_ffmpeg_publish (cftest_small_media_path (), in_url, TRUE);

  /* 10 and 25 frames into the second GOP */
  fail_unless (cftest_input_wait_video_above (in, GOP_FRAMES + 10, 10));
  url1 = srt_url (port1, NULL, NULL);
  uid1 = add_output (sink, url1);
  ev = recorder_wait (rec, uid1, "connected", 0, 5);
  fail_unless (ev != NULL, "the first output: %s", (states =
          recorder_states (rec, uid1, 0)));
  g_clear_pointer (&ev, output_event_free);
  fail_unless (cftest_input_wait_video_above (in, GOP_FRAMES + 25, 5));
  url2 = srt_url (port2, NULL, NULL);
  uid2 = add_output (sink, url2);
  ev = recorder_wait (rec, uid2, "connected", 0, 5);
  fail_unless (ev != NULL, "the second output: %s", (states =
          recorder_states (rec, uid2, 0)));

  /* into the third GOP, and what the listeners still hold */
  fail_unless (cftest_input_wait_video_above (in, 2 * GOP_FRAMES + 15, 5));
  g_usleep (4 * SRT_LATENCY_MS * 1000);
  gst_object_unref (sink);
  cftest_pipeline_free (p);
  cftest_proc_kill (slt1, SIGINT);
  cftest_proc_kill (slt2, SIGINT);

  pr1 = probe_ts (out1);
  assert_ts_sane (pr1, 10, GOP_FRAMES);
  pr2 = probe_ts (out2);
  assert_ts_sane (pr2, 10, GOP_FRAMES);
  recorder_free (rec);
}

GST_END_TEST;

static Suite *
restream_srt_suite (void)
{
  Suite *s = suite_create ("integration-restream-srt");
  TCase *tc = tcase_create ("restream-srt");
  gboolean have_slt, have_ffprobe;
  gchar *path;

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, NULL, cftest_teardown);
  tcase_add_test (tc, test_decoded_fanout);
  tcase_add_test (tc, test_wrong_passphrase);
  tcase_add_test (tc, test_encoder_reconnect);
  tcase_add_test (tc, test_eos_delivers_the_end);
  tcase_add_test (tc, test_srt_output_after_codec_change);

  path = g_find_program_in_path ("srt-live-transmit");
  have_slt = path != NULL;
  g_free (path);
  path = g_find_program_in_path ("ffprobe");
  have_ffprobe = path != NULL;
  g_free (path);
  if (have_slt && have_ffprobe) {
    tcase_add_test (tc, test_ts_listeners);
    tcase_add_test (tc, test_destination_comes_and_goes);
    tcase_add_test (tc, test_srt_outputs_added_mid_gop);
  } else {
    g_printerr ("srt-live-transmit (srt-tools) or ffprobe is missing: "
        "skipping test_ts_listeners and test_destination_comes_and_goes\n");
  }
  return s;
}

int
main (int argc, char **argv)
{
  return cftest_main (argc, argv, CFTEST_NEED_SMALL_MEDIA,
      restream_srt_suite, "integration-restream-srt", __FILE__);
}
