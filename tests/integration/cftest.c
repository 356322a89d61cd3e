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

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <gst/cflive/cflive.h>

#include "cftest.h"
#include "amf.h"
#include "rtmpmessage.h"
#include "rtmpsession.h"

static gchar *tmpdir;
static gchar *media_path;
static gchar *small_media_path;
static gchar *cert_path;
static gchar *key_path;
static guint64 media_bitrate;
static GPtrArray *procs;
static guint proc_counter;

/* --- setup --- */

const gchar *
cftest_tmpdir (void)
{
  return tmpdir;
}

const gchar *
cftest_media_path (void)
{
  return media_path;
}

const gchar *
cftest_small_media_path (void)
{
  g_assert (small_media_path != NULL);
  return small_media_path;
}

guint64
cftest_media_bitrate (void)
{
  return media_bitrate;
}

const gchar *
cftest_cert_path (void)
{
  g_assert (cert_path != NULL);
  return cert_path;
}

const gchar *
cftest_key_path (void)
{
  g_assert (key_path != NULL);
  return key_path;
}

gdouble
cftest_seconds_since (gint64 monotonic_us)
{
  return (g_get_monotonic_time () - monotonic_us) / (gdouble) G_USEC_PER_SEC;
}

static gboolean
run_tool (gchar ** argv)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *out = NULL;
  gint status = 0;

  if (!g_spawn_sync (tmpdir, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
          NULL, &out, &status, &err)) {
    g_printerr ("cannot run %s: %s\n", argv[0], err->message);
    return FALSE;
  }
  if (!g_spawn_check_wait_status (status, &err)) {
    g_printerr ("%s failed: %s\n%s\n", argv[0], err->message, out);
    return FALSE;
  }
  return TRUE;
}

static gboolean
make_media (const gchar * path, guint width, guint height, guint seconds)
{
  g_autofree gchar *video = g_strdup_printf ("testsrc2=size=%ux%u:rate=%u",
      width, height, CFTEST_MEDIA_FPS);
  g_autofree gchar *duration = g_strdup_printf ("%u", seconds);
  gchar *argv[] = {
    (gchar *) "ffmpeg", (gchar *) "-hide_banner", (gchar *) "-nostdin",
    (gchar *) "-loglevel", (gchar *) "error", (gchar *) "-y",
    (gchar *) "-f", (gchar *) "lavfi", (gchar *) "-i", video,
    (gchar *) "-f", (gchar *) "lavfi",
    (gchar *) "-i", (gchar *) "sine=frequency=440:sample_rate=48000",
    (gchar *) "-t", duration,
    (gchar *) "-c:v", (gchar *) "libx264", (gchar *) "-preset",
    (gchar *) "ultrafast", (gchar *) "-pix_fmt", (gchar *) "yuv420p",
    (gchar *) "-g", (gchar *) "60", (gchar *) "-keyint_min", (gchar *) "60",
    (gchar *) "-sc_threshold", (gchar *) "0", (gchar *) "-bf", (gchar *) "0",
    (gchar *) "-b:v", (gchar *) "800k",
    (gchar *) "-c:a", (gchar *) "aac", (gchar *) "-ar", (gchar *) "48000",
    (gchar *) "-b:a", (gchar *) "64k",
    (gchar *) "-f", (gchar *) "flv", (gchar *) path, NULL
  };

  return run_tool (argv);
}

static gboolean
make_certificate (void)
{
  gchar *argv[] = {
    (gchar *) "openssl", (gchar *) "req", (gchar *) "-x509",
    (gchar *) "-newkey", (gchar *) "rsa:2048", (gchar *) "-nodes",
    (gchar *) "-subj", (gchar *) "/CN=127.0.0.1", (gchar *) "-days",
    (gchar *) "1", (gchar *) "-keyout", key_path, (gchar *) "-out",
    cert_path, NULL
  };

  return run_tool (argv);
}

static void
remove_tree (const gchar * top)
{
  GDir *dir = g_dir_open (top, 0, NULL);
  const gchar *name;

  if (dir) {
    while ((name = g_dir_read_name (dir))) {
      g_autofree gchar *path = g_build_filename (top, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) &&
          !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        remove_tree (path);
      else
        g_unlink (path);
    }
    g_dir_close (dir);
  }
  g_rmdir (top);
}

static void
remove_tmpdir (void)
{
  remove_tree (tmpdir);
}

gboolean
cftest_have_elements (const gchar * first, ...)
{
  const gchar *name;
  gboolean ok = TRUE;
  va_list ap;

  va_start (ap, first);
  for (name = first; name; name = va_arg (ap, const gchar *)) {
    GstElementFactory *f = gst_element_factory_find (name);

    if (!f) {
      g_printerr ("element %s is missing\n", name);
      ok = FALSE;
    } else {
      gst_object_unref (f);
    }
  }
  va_end (ap);
  return ok;
}

/* What every test needs; without it the tests are skipped */
static gboolean
have_tools (CfTestNeeds needs)
{
  const gchar *programs[] = { "ffmpeg", "gst-launch-1.0", "openssl" };
  gboolean ok = TRUE;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (programs); i++) {
    g_autofree gchar *path = NULL;

    if (i == 2 && !(needs & CFTEST_NEED_CERTIFICATE))
      continue;
    path = g_find_program_in_path (programs[i]);
    if (!path) {
      g_printerr ("%s is missing\n", programs[i]);
      ok = FALSE;
    }
  }
  return cftest_have_elements ("flvdemux", "h264parse", "avdec_h264",
      "aacparse", "avdec_aac", "queue", "fakesink", NULL) && ok;
}

static void
kill_all_at_exit (void)
{
  cftest_teardown ();
}

gint
cftest_main (gint argc, gchar ** argv, CfTestNeeds needs,
    Suite * (*make_suite) (void), const gchar * name, const gchar * file)
{
  g_autoptr (GError) err = NULL;
  GstPluginFeature *feature;
  GStatBuf st;
  gint ret;

  gst_check_init (&argc, &argv);

  feature = gst_registry_lookup_feature (gst_registry_get (), "cfliveinputsrc");
  if (!feature) {
    g_printerr ("cfliveinputsrc not found: is GST_PLUGIN_PATH set?\n");
    return 1;
  }
  gst_object_unref (feature);
  if (!have_tools (needs))
    return 77;

  tmpdir = g_dir_make_tmp ("cflive-integration-XXXXXX", &err);
  if (!tmpdir) {
    g_printerr ("cannot make a temporary directory: %s\n", err->message);
    return 1;
  }
  procs = g_ptr_array_new ();
  atexit (kill_all_at_exit);

  ret = 1;
  media_path = g_build_filename (tmpdir, "media.flv", NULL);
  if (!make_media (media_path, CFTEST_MEDIA_WIDTH, 360, CFTEST_MEDIA_SECONDS)
      || g_stat (media_path, &st) != 0)
    goto done;
  media_bitrate = (guint64) st.st_size * 8 / CFTEST_MEDIA_SECONDS;

  if (needs & CFTEST_NEED_SMALL_MEDIA) {
    small_media_path = g_build_filename (tmpdir, "small.flv", NULL);
    if (!make_media (small_media_path, CFTEST_SMALL_WIDTH, 180,
            CFTEST_SMALL_SECONDS))
      goto done;
  }
  if (needs & CFTEST_NEED_CERTIFICATE) {
    cert_path = g_build_filename (tmpdir, "cert.pem", NULL);
    key_path = g_build_filename (tmpdir, "key.pem", NULL);
    if (!make_certificate ())
      goto done;
  }

  ret = gst_check_run_suite (make_suite (), name, file);

done:
  if (ret == 0 || !g_getenv ("CFTEST_KEEP_FAILED"))
    remove_tmpdir ();
  else
    g_printerr ("test files and process logs kept in %s\n", tmpdir);
  return ret;
}

guint
cftest_free_port (void)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) lo = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) err = NULL;
  guint port;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, &err);
  fail_unless (sock != NULL, "socket: %s", err ? err->message : "");
  lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  addr = g_inet_socket_address_new (lo, 0);
  fail_unless (g_socket_bind (sock, addr, TRUE, &err), "bind: %s",
      err ? err->message : "");
  bound = g_socket_get_local_address (sock, &err);
  fail_unless (bound != NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  return port;
}

/* --- child processes --- */

static void
child_setup (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  /* die with the test, even when it is killed or fails an assertion */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

CfTestProc *
cftest_spawn (const gchar * name, gchar ** argv)
{
  return cftest_spawn_with_fds (name, argv, -1, -1);
}

CfTestProc *
cftest_spawn_with_fds (const gchar * name, gchar ** argv, gint stdin_fd,
    gint stdout_fd)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *cmdline = g_strjoinv (" ", argv);
  CfTestProc *proc = g_new0 (CfTestProc, 1);
  gint fd;

  proc->name = g_strdup (name);
  proc->log_path = g_strdup_printf ("%s/%s-%u-%u.log", tmpdir, name,
      (guint) getpid (), ++proc_counter);
  fd = g_open (proc->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  fail_unless (fd >= 0, "cannot create %s", proc->log_path);

  GST_INFO ("spawning %s: %s", name, cmdline);
  proc->started = g_get_monotonic_time ();
  if (!g_spawn_async_with_fds (tmpdir, argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
          GINT_TO_POINTER (getpid ()), &proc->pid, stdin_fd,
          stdout_fd >= 0 ? stdout_fd : fd, fd, &err)) {
    close (fd);
    fail ("cannot run %s: %s", argv[0], err->message);
  }
  close (fd);
  g_ptr_array_add (procs, proc);
  return proc;
}

CfTestProc *
cftest_ffmpeg_publish (const gchar * media, const gchar * url, gboolean loop)
{
  GPtrArray *argv = g_ptr_array_new ();
  CfTestProc *proc;

  g_ptr_array_add (argv, (gpointer) "ffmpeg");
  g_ptr_array_add (argv, (gpointer) "-hide_banner");
  g_ptr_array_add (argv, (gpointer) "-nostdin");
  g_ptr_array_add (argv, (gpointer) "-loglevel");
  g_ptr_array_add (argv, (gpointer) "warning");
  if (loop) {
    g_ptr_array_add (argv, (gpointer) "-stream_loop");
    g_ptr_array_add (argv, (gpointer) "-1");
  }
  g_ptr_array_add (argv, (gpointer) "-re");
  g_ptr_array_add (argv, (gpointer) "-i");
  g_ptr_array_add (argv, (gpointer) media);
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) "copy");
  g_ptr_array_add (argv, (gpointer) "-f");
  g_ptr_array_add (argv, (gpointer) "flv");
  g_ptr_array_add (argv, (gpointer) url);
  g_ptr_array_add (argv, NULL);
  proc = cftest_spawn ("ffmpeg", (gchar **) argv->pdata);
  g_ptr_array_unref (argv);
  return proc;
}

CfTestProc *
cftest_gst_launch (const gchar * description)
{
  g_autoptr (GError) err = NULL;
  g_autofree gchar *cmd = g_strdup_printf ("gst-launch-1.0 -q %s",
      description);
  g_auto (GStrv) argv = NULL;

  fail_unless (g_shell_parse_argv (cmd, NULL, &argv, &err), "%s",
      err ? err->message : "");
  return cftest_spawn ("gst-launch", argv);
}

gboolean
cftest_proc_exited (CfTestProc * proc)
{
  pid_t r;

  if (proc->exited)
    return TRUE;
  do {
    r = waitpid (proc->pid, &proc->wait_status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == proc->pid || (r < 0 && errno == ECHILD)) {
    proc->exited = TRUE;
    g_spawn_close_pid (proc->pid);
    GST_INFO ("%s (%d) exited after %.2f s, status 0x%x", proc->name,
        (gint) proc->pid, cftest_seconds_since (proc->started),
        proc->wait_status);
  }
  return proc->exited;
}

gboolean
cftest_proc_wait (CfTestProc * proc, gdouble timeout_s)
{
  return CFTEST_WAIT (cftest_proc_exited (proc), timeout_s);
}

void
cftest_proc_kill (CfTestProc * proc, gint sig)
{
  if (cftest_proc_exited (proc))
    return;
  kill (proc->pid, sig);
  if (!cftest_proc_wait (proc, 5.0)) {
    kill (proc->pid, SIGKILL);
    cftest_proc_wait (proc, 5.0);
  }
}

gint
cftest_proc_exit_code (CfTestProc * proc)
{
  if (!cftest_proc_exited (proc) || !WIFEXITED (proc->wait_status))
    return -1;
  return WEXITSTATUS (proc->wait_status);
}

gchar *
cftest_proc_get_log (CfTestProc * proc)
{
  gchar *contents = NULL;

  if (!g_file_get_contents (proc->log_path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

void
cftest_teardown (void)
{
  guint i;

  if (!procs)
    return;
  for (i = 0; i < procs->len; i++) {
    CfTestProc *proc = g_ptr_array_index (procs, i);

    if (!proc->exited) {
      kill (proc->pid, SIGKILL);
      cftest_proc_wait (proc, 5.0);
    }
    g_free (proc->name);
    g_free (proc->log_path);
    g_free (proc);
  }
  g_ptr_array_set_size (procs, 0);
}

/* --- receiving pipelines --- */

static CfTestInput *
find_input (CfTestPipeline * p, GstObject * src)
{
  guint i;

  for (i = 0; i < p->inputs->len; i++) {
    CfTestInput *in = g_ptr_array_index (p->inputs, i);

    if (GST_OBJECT (in->src) == src)
      return in;
  }
  return NULL;
}

static GstBusSyncReply
bus_sync_handler (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  CfTestPipeline *p = user_data;

  if (p->message_func)
    p->message_func (msg, p->message_data);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      CfTestInput *in;

      if (!s || !gst_structure_has_name (s, GST_CFLIVE_STATUS_MESSAGE_NAME))
        break;
      in = find_input (p, GST_MESSAGE_SRC (msg));
      if (in) {
        CfTestStatus *st = g_new0 (CfTestStatus, 1);

        st->s = gst_structure_copy (s);
        st->wall = g_get_monotonic_time ();
        GST_INFO ("%s: %" GST_PTR_FORMAT, in->name, s);
        g_mutex_lock (&in->lock);
        g_ptr_array_add (in->statuses, st);
        g_mutex_unlock (&in->lock);
      }
      break;
    }
    case GST_MESSAGE_ERROR:{
      g_autoptr (GError) err = NULL;
      g_autofree gchar *debug = NULL;

      gst_message_parse_error (msg, &err, &debug);
      g_mutex_lock (&p->lock);
      g_ptr_array_add (p->errors, g_strdup_printf ("%s: %s (%s)",
              GST_MESSAGE_SRC_NAME (msg), err->message, GST_STR_NULL (debug)));
      g_mutex_unlock (&p->lock);
      GST_WARNING ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg),
          err->message, GST_STR_NULL (debug));
      break;
    }
    case GST_MESSAGE_EOS:
      g_mutex_lock (&p->lock);
      p->eos = TRUE;
      p->eos_wall = g_get_monotonic_time ();
      g_mutex_unlock (&p->lock);
      break;
    default:
      break;
  }
  return GST_BUS_DROP;
}

CfTestPipeline *
cftest_pipeline_new (void)
{
  CfTestPipeline *p = g_new0 (CfTestPipeline, 1);
  GstBus *bus;

  p->pipeline = gst_pipeline_new (NULL);
  p->inputs = g_ptr_array_new ();
  p->errors = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&p->lock);
  bus = gst_element_get_bus (p->pipeline);
  gst_bus_set_sync_handler (bus, bus_sync_handler, p, NULL);
  gst_object_unref (bus);
  return p;
}

static guint32
tag_header_timestamp (const guint8 * d)
{
  return ((guint32) d[4] << 16) | ((guint32) d[5] << 8) | d[6] |
      ((guint32) d[7] << 24);
}

static GstPadProbeReturn
src_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  CfTestInput *in = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstMapInfo map;
    CfTestTag tag;
    gint type = -1;

    if (!gst_buffer_map (buf, &map, GST_MAP_READ))
      return GST_PAD_PROBE_OK;
    if (map.size >= 11 && memcmp (map.data, "FLV", 3) != 0) {
      switch (map.data[0] & 0x1f) {
        case 8:
          type = CFTEST_TAG_AUDIO;
          break;
        case 9:
          type = CFTEST_TAG_VIDEO;
          break;
        case 18:
          type = CFTEST_TAG_SCRIPT;
          break;
      }
    }
    if (type >= 0) {
      tag.dts = GST_BUFFER_DTS (buf);
      tag.pts = GST_BUFFER_PTS (buf);
      tag.flags = GST_BUFFER_FLAGS (buf);
      /* codec id 7 (AVC), packet type 2 */
      tag.end_of_sequence = type == CFTEST_TAG_VIDEO && map.size >= 13 &&
          (map.data[11] & 0x0f) == 7 && map.data[12] == 2;
      tag.wall = g_get_monotonic_time ();
      g_mutex_lock (&in->lock);
      tag.session = in->cur_session;
      g_array_append_val (in->tags[type], tag);
      if (!GST_CLOCK_TIME_IS_VALID (tag.dts) ||
          tag_header_timestamp (map.data) != tag.dts / GST_MSECOND)
        in->tag_ts_mismatches++;
      g_mutex_unlock (&in->lock);
    }
    gst_buffer_unmap (buf, &map);
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    GstCflivePublisherAction action;
    guint session;
    const gchar *reason, *protocol;

    g_mutex_lock (&in->lock);
    if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
      in->eos = TRUE;
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      gst_caps_replace (&in->caps, caps);
    } else if (gst_cflive_publisher_event_parse (event, &action, &session,
            &reason, &protocol)) {
      if (in->events->len)
        g_string_append_c (in->events, ',');
      g_string_append_printf (in->events, "%s:%u",
          gst_cflive_publisher_action_to_string (action), session);
      if (action != GST_CFLIVE_PUBLISHER_DISCONNECTED)
        in->cur_session = session;
    }
    g_mutex_unlock (&in->lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
record_frame (CfTestInput * in, GArray * frames, guint * nonmono,
    GstBuffer * buf, const gchar * what)
{
  CfTestFrame f;

  f.pts = GST_BUFFER_PTS (buf);
  f.wall = g_get_monotonic_time ();
  g_mutex_lock (&in->lock);
  if (frames->len > 0) {
    CfTestFrame *prev = &g_array_index (frames, CfTestFrame, frames->len - 1);

    if (!GST_CLOCK_TIME_IS_VALID (f.pts) || f.pts <= prev->pts) {
      (*nonmono)++;
      g_string_append_printf (in->nonmono_log, "%s frame %u: %"
          GST_TIME_FORMAT " after %" GST_TIME_FORMAT "; ", what, frames->len,
          GST_TIME_ARGS (f.pts), GST_TIME_ARGS (prev->pts));
    }
  }
  g_array_append_val (frames, f);
  g_mutex_unlock (&in->lock);
}

static GstPadProbeReturn
video_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  CfTestInput *in = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    record_frame (in, in->video, &in->video_nonmono,
        GST_PAD_PROBE_INFO_BUFFER (info), "video");
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM &&
      GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gint width = 0;

    gst_event_parse_caps (GST_PAD_PROBE_INFO_EVENT (info), &caps);
    gst_structure_get_int (gst_caps_get_structure (caps, 0), "width", &width);
    g_mutex_lock (&in->lock);
    in->video_width = width;
    g_mutex_unlock (&in->lock);
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
audio_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  CfTestInput *in = user_data;

  record_frame (in, in->audio, &in->audio_nonmono,
      GST_PAD_PROBE_INFO_BUFFER (info), "audio");
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement * bin, const gchar * element, const gchar * pad_name,
    GstPadProbeType mask, GstPadProbeCallback cb, CfTestInput * in)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), element);
  GstPad *pad;

  fail_unless (e != NULL);
  pad = gst_element_get_static_pad (e, pad_name);
  fail_unless (pad != NULL);
  gst_pad_add_probe (pad, mask, cb, in, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

static CfTestInput *
add_input_valist (CfTestPipeline * p, const gchar * name,
    const gchar * branch, const gchar * first_property, va_list ap)
{
  static const gchar *demux = "flvdemux name=demux "
      "demux.video ! queue ! h264parse ! avdec_h264 ! "
      "fakesink name=vsink sync=false async=false "
      "demux.audio ! queue ! aacparse ! avdec_aac ! "
      "fakesink name=asink sync=false async=false";
  g_autoptr (GError) err = NULL;
  g_autofree gchar *desc = NULL;
  CfTestInput *in = g_new0 (CfTestInput, 1);
  guint i;

  if (branch)
    desc = g_strdup_printf ("cfliveinputsrc name=src ! tee name=t "
        "t. ! queue ! %s t. ! queue ! %s", demux, branch);
  else
    desc = g_strdup_printf ("cfliveinputsrc name=src ! %s", demux);

  in->name = g_strdup (name);
  g_mutex_init (&in->lock);
  for (i = 0; i < CFTEST_N_TAG_TYPES; i++)
    in->tags[i] = g_array_new (FALSE, FALSE, sizeof (CfTestTag));
  in->video = g_array_new (FALSE, FALSE, sizeof (CfTestFrame));
  in->audio = g_array_new (FALSE, FALSE, sizeof (CfTestFrame));
  in->nonmono_log = g_string_new (NULL);
  in->events = g_string_new (NULL);
  in->statuses = g_ptr_array_new ();

  in->bin = gst_parse_bin_from_description (desc, FALSE, &err);
  fail_unless (in->bin != NULL, "cannot make the pipeline: %s",
      err ? err->message : "");
  gst_object_set_name (GST_OBJECT (in->bin), name);
  in->src = gst_bin_get_by_name (GST_BIN (in->bin), "src");
  fail_unless (in->src != NULL);

  g_object_set_valist (G_OBJECT (in->src), first_property, ap);

  add_probe (in->bin, "src", "src", GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, src_probe, in);
  add_probe (in->bin, "vsink", "sink", GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, video_probe, in);
  add_probe (in->bin, "asink", "sink", GST_PAD_PROBE_TYPE_BUFFER,
      audio_probe, in);

  g_ptr_array_add (p->inputs, in);
  gst_bin_add (GST_BIN (p->pipeline), in->bin);
  return in;
}

CfTestInput *
cftest_pipeline_add_input (CfTestPipeline * p, const gchar * name,
    const gchar * first_property, ...)
{
  CfTestInput *in;
  va_list ap;

  va_start (ap, first_property);
  in = add_input_valist (p, name, NULL, first_property, ap);
  va_end (ap);
  return in;
}

CfTestInput *
cftest_pipeline_add_input_with_branch (CfTestPipeline * p,
    const gchar * name, const gchar * branch, const gchar * first_property, ...)
{
  CfTestInput *in;
  va_list ap;

  va_start (ap, first_property);
  in = add_input_valist (p, name, branch, first_property, ap);
  va_end (ap);
  return in;
}

void
cftest_pipeline_set_message_func (CfTestPipeline * p,
    CfTestMessageFunc func, gpointer user_data)
{
  p->message_func = func;
  p->message_data = user_data;
}

void
cftest_pipeline_play (CfTestPipeline * p)
{
  GstStateChangeReturn ret;
  g_autofree gchar *errors = NULL;

  ret = gst_element_set_state (p->pipeline, GST_STATE_PLAYING);
  if (ret != GST_STATE_CHANGE_FAILURE)
    ret = gst_element_get_state (p->pipeline, NULL, NULL, 10 * GST_SECOND);
  errors = cftest_pipeline_errors (p);
  fail_unless (ret == GST_STATE_CHANGE_SUCCESS ||
      ret == GST_STATE_CHANGE_NO_PREROLL,
      "the pipeline did not start (%d): %s", ret, errors);
}

static void
input_free (CfTestInput * in)
{
  guint i;

  for (i = 0; i < CFTEST_N_TAG_TYPES; i++)
    g_array_unref (in->tags[i]);
  g_array_unref (in->video);
  g_array_unref (in->audio);
  g_string_free (in->nonmono_log, TRUE);
  g_string_free (in->events, TRUE);
  gst_clear_caps (&in->caps);
  for (i = 0; i < in->statuses->len; i++) {
    CfTestStatus *st = g_ptr_array_index (in->statuses, i);

    gst_structure_free (st->s);
    g_free (st);
  }
  g_ptr_array_unref (in->statuses);
  gst_object_unref (in->src);
  g_mutex_clear (&in->lock);
  g_free (in->name);
  g_free (in);
}

void
cftest_pipeline_free (CfTestPipeline * p)
{
  GstBus *bus;
  guint i;

  fail_unless_equals_int (gst_element_set_state (p->pipeline,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  bus = gst_element_get_bus (p->pipeline);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (p->pipeline);
  for (i = 0; i < p->inputs->len; i++)
    input_free (g_ptr_array_index (p->inputs, i));
  g_ptr_array_unref (p->inputs);
  g_ptr_array_unref (p->errors);
  g_mutex_clear (&p->lock);
  g_free (p);
}

guint
cftest_pipeline_n_errors (CfTestPipeline * p)
{
  guint n;

  g_mutex_lock (&p->lock);
  n = p->errors->len;
  g_mutex_unlock (&p->lock);
  return n;
}

gchar *
cftest_pipeline_errors (CfTestPipeline * p)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&p->lock);
  for (i = 0; i < p->errors->len; i++)
    g_string_append_printf (s, "%s%s", i ? "; " : "",
        (gchar *) g_ptr_array_index (p->errors, i));
  g_mutex_unlock (&p->lock);
  return g_string_free (s, FALSE);
}

gboolean
cftest_pipeline_got_eos (CfTestPipeline * p)
{
  gboolean eos;

  g_mutex_lock (&p->lock);
  eos = p->eos;
  g_mutex_unlock (&p->lock);
  return eos;
}

guint
cftest_input_port (CfTestInput * in)
{
  guint port = 0;

  g_object_get (in->src, "bound-port", &port, NULL);
  return port;
}

gchar *
cftest_input_publish_url (CfTestInput * in, const gchar * key)
{
  g_autofree gchar *url = NULL;

  g_object_get (in->src, "rtmp-url", &url, NULL);
  return g_strdup_printf ("%s://127.0.0.1:%u/%s/%s",
      g_str_has_prefix (url, "rtmps:") ? "rtmps" : "rtmp",
      cftest_input_port (in), CFTEST_APP, key);
}

guint64
cftest_input_video_frames (CfTestInput * in)
{
  guint64 n;

  g_mutex_lock (&in->lock);
  n = in->video->len;
  g_mutex_unlock (&in->lock);
  return n;
}

guint64
cftest_input_audio_frames (CfTestInput * in)
{
  guint64 n;

  g_mutex_lock (&in->lock);
  n = in->audio->len;
  g_mutex_unlock (&in->lock);
  return n;
}

gboolean
cftest_input_wait_video_above (CfTestInput * in, guint64 than,
    gdouble timeout_s)
{
  return CFTEST_WAIT (cftest_input_video_frames (in) > than, timeout_s);
}

guint
cftest_input_n_tags (CfTestInput * in, CfTestTagType type)
{
  guint n;

  g_mutex_lock (&in->lock);
  n = in->tags[type]->len;
  g_mutex_unlock (&in->lock);
  return n;
}

CfTestTag
cftest_input_get_tag (CfTestInput * in, CfTestTagType type, guint n)
{
  CfTestTag tag;

  g_mutex_lock (&in->lock);
  g_assert (n < in->tags[type]->len);
  tag = g_array_index (in->tags[type], CfTestTag, n);
  g_mutex_unlock (&in->lock);
  return tag;
}

gboolean
cftest_input_session_boundary (CfTestInput * in, CfTestTagType type,
    guint before, guint after, CfTestTag * last, CfTestTag * first)
{
  gboolean have_last = FALSE, have_first = FALSE;
  guint i;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->tags[type]->len; i++) {
    CfTestTag *t = &g_array_index (in->tags[type], CfTestTag, i);

    if (t->flags & GST_BUFFER_FLAG_HEADER || t->end_of_sequence)
      continue;
    if (t->session == before) {
      *last = *t;
      have_last = TRUE;
    } else if (t->session == after && !have_first) {
      *first = *t;
      have_first = TRUE;
    }
  }
  g_mutex_unlock (&in->lock);
  return have_last && have_first;
}

gchar *
cftest_input_check_tags (CfTestInput * in)
{
  static const gchar *names[] = { "audio", "video", "script" };
  GString *problems = g_string_new (NULL);
  guint type, i;

  g_mutex_lock (&in->lock);
  for (type = CFTEST_TAG_AUDIO; type <= CFTEST_TAG_VIDEO; type++) {
    GArray *tags = in->tags[type];
    GstClockTime last_media = GST_CLOCK_TIME_NONE, last_any = 0;

    for (i = 0; i < tags->len; i++) {
      CfTestTag *t = &g_array_index (tags, CfTestTag, i);

      if (t->dts < last_any)
        g_string_append_printf (problems, "%s tag %u goes back: %"
            GST_TIME_FORMAT " after %" GST_TIME_FORMAT "; ", names[type], i,
            GST_TIME_ARGS (t->dts), GST_TIME_ARGS (last_any));
      last_any = MAX (last_any, t->dts);
      if (t->flags & GST_BUFFER_FLAG_HEADER || t->end_of_sequence)
        continue;
      if (GST_CLOCK_TIME_IS_VALID (last_media) && t->dts <= last_media)
        g_string_append_printf (problems, "%s frame tag %u not increasing: %"
            GST_TIME_FORMAT " after %" GST_TIME_FORMAT "; ", names[type], i,
            GST_TIME_ARGS (t->dts), GST_TIME_ARGS (last_media));
      last_media = t->dts;
    }
  }
  if (in->tag_ts_mismatches)
    g_string_append_printf (problems, "%u tags whose header timestamp is not "
        "their DTS; ", in->tag_ts_mismatches);
  if (in->video_nonmono || in->audio_nonmono)
    g_string_append_printf (problems, "decoded timestamps not increasing: "
        "%s", in->nonmono_log->str);
  g_mutex_unlock (&in->lock);

  if (problems->len == 0) {
    g_string_free (problems, TRUE);
    return NULL;
  }
  return g_string_free (problems, FALSE);
}

gchar *
cftest_input_events (CfTestInput * in)
{
  gchar *s;

  g_mutex_lock (&in->lock);
  s = g_strdup (in->events->str);
  g_mutex_unlock (&in->lock);
  return s;
}

gboolean
cftest_input_got_eos (CfTestInput * in)
{
  gboolean eos;

  g_mutex_lock (&in->lock);
  eos = in->eos;
  g_mutex_unlock (&in->lock);
  return eos;
}

gint
cftest_input_video_width (CfTestInput * in)
{
  gint w;

  g_mutex_lock (&in->lock);
  w = in->video_width;
  g_mutex_unlock (&in->lock);
  return w;
}

GstCaps *
cftest_input_caps (CfTestInput * in)
{
  GstCaps *caps;

  g_mutex_lock (&in->lock);
  caps = in->caps ? gst_caps_ref (in->caps) : NULL;
  g_mutex_unlock (&in->lock);
  return caps;
}

guint
cftest_input_n_statuses (CfTestInput * in)
{
  guint n;

  g_mutex_lock (&in->lock);
  n = in->statuses->len;
  g_mutex_unlock (&in->lock);
  return n;
}

const GstStructure *
cftest_input_get_status (CfTestInput * in, guint n, gint64 * wall)
{
  CfTestStatus *st = NULL;

  g_mutex_lock (&in->lock);
  if (n < in->statuses->len)
    st = g_ptr_array_index (in->statuses, n);
  g_mutex_unlock (&in->lock);
  if (!st)
    return NULL;
  if (wall)
    *wall = st->wall;
  return st->s;
}

const GstStructure *
cftest_input_find_status (CfTestInput * in, const gchar * reason)
{
  const GstStructure *found = NULL;
  guint i;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->statuses->len && !found; i++) {
    CfTestStatus *st = g_ptr_array_index (in->statuses, i);

    if (!g_strcmp0 (gst_structure_get_string (st->s, "reason"), reason))
      found = st->s;
  }
  g_mutex_unlock (&in->lock);
  return found;
}

const GstStructure *
cftest_input_wait_status (CfTestInput * in, const gchar * reason,
    gdouble timeout_s)
{
  const GstStructure *s = NULL;

  CFTEST_WAIT ((s = cftest_input_find_status (in, reason)) != NULL, timeout_s);
  return s;
}

static const gchar *
status_nick (gint value)
{
  GType type = g_type_from_name ("GstCfLiveInputStatus");
  GEnumClass *klass;
  GEnumValue *v;

  fail_unless (type != 0);
  klass = g_type_class_ref (type);
  v = g_enum_get_value (klass, value);
  g_type_class_unref (klass);
  return v ? v->value_nick : "?";
}

const gchar *
cftest_status_get_nick (const GstStructure * s)
{
  const GValue *v = gst_structure_get_value (s, "status");

  fail_unless (v != NULL && G_VALUE_HOLDS_ENUM (v),
      "no status field in %s", gst_structure_to_string (s));
  return status_nick (g_value_get_enum (v));
}

const gchar *
cftest_input_status_nick (CfTestInput * in)
{
  gint value = 0;

  g_object_get (in->src, "status", &value, NULL);
  return status_nick (value);
}

gchar *
cftest_input_reasons (CfTestInput * in)
{
  GString *s = g_string_new (NULL);
  guint i;

  g_mutex_lock (&in->lock);
  for (i = 0; i < in->statuses->len; i++) {
    CfTestStatus *st = g_ptr_array_index (in->statuses, i);

    g_string_append_printf (s, "%s%s", i ? "," : "",
        gst_structure_get_string (st->s, "reason"));
  }
  g_mutex_unlock (&in->lock);
  return g_string_free (s, FALSE);
}

GstStructure *
cftest_input_stats (CfTestInput * in)
{
  GstStructure *s = NULL;

  g_object_get (in->src, "stats", &s, NULL);
  fail_unless (s != NULL);
  fail_unless (gst_structure_has_name (s, "application/x-cflive-input-stats"));
  return s;
}

guint64
cftest_stats_get_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v),
      "no guint64 field %s in %s", field, gst_structure_to_string (s));
  return v;
}

guint
cftest_stats_get_uint (const GstStructure * s, const gchar * field)
{
  guint v = 0;

  fail_unless (gst_structure_get_uint (s, field, &v),
      "no guint field %s in %s", field, gst_structure_to_string (s));
  return v;
}

const gchar *
cftest_stats_get_string (const GstStructure * s, const gchar * field)
{
  const gchar *v = gst_structure_get_string (s, field);

  fail_unless (v != NULL, "no string field %s in %s", field,
      gst_structure_to_string (s));
  return v;
}

/* --- nginx-rtmp --- */

#define NGINX_RTMP_MODULE "/usr/lib/nginx/modules/ngx_rtmp_module.so"

gboolean
cftest_have_nginx (void)
{
  g_autofree gchar *path = g_find_program_in_path ("nginx");

  if (!path && g_file_test ("/usr/sbin/nginx", G_FILE_TEST_IS_EXECUTABLE))
    path = g_strdup ("/usr/sbin/nginx");
  if (!path) {
    g_printerr ("nginx is missing\n");
    return FALSE;
  }
  if (!g_file_test (NGINX_RTMP_MODULE, G_FILE_TEST_EXISTS)) {
    g_printerr ("the nginx RTMP module is missing (%s)\n", NGINX_RTMP_MODULE);
    return FALSE;
  }
  return TRUE;
}

static void
nginx_write_config (CfTestNginx * n, GStrv apps)
{
  g_autoptr (GError) err = NULL;
  GString *conf = g_string_new (NULL);
  guint i;

  g_string_append_printf (conf, "load_module %s;\n"
      "daemon off;\n"
      "master_process off;\n"
      "worker_processes 1;\n"
      "error_log %s/error.log info;\n"
      "pid %s/nginx.pid;\n"
      "events {\n  worker_connections 1024;\n}\n"
      "rtmp {\n  server {\n    listen 127.0.0.1:%u;\n",
      NGINX_RTMP_MODULE, n->dir, n->dir, n->port);
  for (i = 0; apps[i]; i++)
    g_string_append_printf (conf, "    application %s {\n"
        "      live on;\n      record all;\n      record_path %s;\n"
        "      record_unique on;\n    }\n", apps[i], n->rec_dir);
  g_string_append (conf, "  }\n}\n");
  fail_unless (g_file_set_contents (n->conf_path, conf->str, -1, &err),
      "cannot write %s: %s", n->conf_path, err ? err->message : "");
  g_string_free (conf, TRUE);
}

CfTestNginx *
cftest_nginx_new (const gchar * first_app, ...)
{
  static guint counter;
  CfTestNginx *n = g_new0 (CfTestNginx, 1);
  GPtrArray *apps = g_ptr_array_new ();
  const gchar *app;
  va_list ap;

  n->dir = g_strdup_printf ("%s/nginx-%u-%u", tmpdir, (guint) getpid (),
      ++counter);
  n->rec_dir = g_build_filename (n->dir, "rec", NULL);
  n->conf_path = g_build_filename (n->dir, "nginx.conf", NULL);
  fail_unless (g_mkdir_with_parents (n->rec_dir, 0755) == 0,
      "cannot make %s", n->rec_dir);
  va_start (ap, first_app);
  for (app = first_app; app; app = va_arg (ap, const gchar *))
    g_ptr_array_add (apps, (gpointer) app);
  va_end (ap);
  if (apps->len == 0)
    g_ptr_array_add (apps, (gpointer) CFTEST_APP);
  g_ptr_array_add (apps, NULL);
  n->port = cftest_free_port ();
  nginx_write_config (n, (GStrv) apps->pdata);
  g_ptr_array_unref (apps);
  return n;
}

static gboolean
port_accepts (guint port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;

  g_socket_client_set_timeout (client, 1);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
      NULL);
  if (conn)
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  return conn != NULL;
}

void
cftest_nginx_start (CfTestNginx * n)
{
  g_autofree gchar *prefix = g_strconcat (n->dir, "/", NULL);
  g_autofree gchar *error_log = g_build_filename (n->dir, "error.log", NULL);
  gchar *argv[] = {
    (gchar *) "nginx", (gchar *) "-c", n->conf_path, (gchar *) "-p", prefix,
    (gchar *) "-e", error_log, NULL
  };
  gint64 end;

  fail_unless (!cftest_nginx_running (n), "nginx already runs");
  n->proc = cftest_spawn ("nginx", argv);
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!port_accepts (n->port)) {
    if (cftest_proc_exited (n->proc)) {
      g_autofree gchar *log = cftest_nginx_get_log (n);

      fail ("nginx exited: %s", log);
    }
    fail_unless (g_get_monotonic_time () < end,
        "nginx does not listen on port %u", n->port);
    g_usleep (20 * 1000);
  }
  GST_INFO ("nginx (%d) listens on port %u", (gint) n->proc->pid, n->port);
}

void
cftest_nginx_kill (CfTestNginx * n, gint sig)
{
  if (n->proc)
    cftest_proc_kill (n->proc, sig);
}

gboolean
cftest_nginx_running (CfTestNginx * n)
{
  return n->proc && !cftest_proc_exited (n->proc);
}

gchar *
cftest_nginx_url (CfTestNginx * n, const gchar * app, const gchar * key)
{
  return g_strdup_printf ("rtmp://127.0.0.1:%u/%s/%s", n->port, app, key);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar **) a, *(const gchar **) b);
}

GPtrArray *
cftest_nginx_recordings (CfTestNginx * n, const gchar * key)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *prefix = g_strconcat (key, "-", NULL);
  GDir *dir = g_dir_open (n->rec_dir, 0, NULL);
  const gchar *name;

  if (!dir)
    return paths;
  while ((name = g_dir_read_name (dir))) {
    const gchar *p;

    /* KEY-TIME.flv: TIME has as many digits in every name */
    if (!g_str_has_prefix (name, prefix) || !g_str_has_suffix (name, ".flv"))
      continue;
    for (p = name + strlen (prefix); g_ascii_isdigit (*p); p++);
    if (p == name + strlen (prefix) || strcmp (p, ".flv") != 0)
      continue;
    g_ptr_array_add (paths, g_build_filename (n->rec_dir, name, NULL));
  }
  g_dir_close (dir);
  g_ptr_array_sort (paths, compare_strings);
  return paths;
}

gboolean
cftest_nginx_is_recording (CfTestNginx * n, const gchar * path)
{
  g_autofree gchar *fd_dir = NULL;
  gboolean found = FALSE;
  const gchar *name;
  GDir *dir;

  if (!cftest_nginx_running (n))
    return FALSE;
  fd_dir = g_strdup_printf ("/proc/%d/fd", (gint) n->proc->pid);
  dir = g_dir_open (fd_dir, 0, NULL);
  if (!dir)
    return FALSE;
  while (!found && (name = g_dir_read_name (dir))) {
    g_autofree gchar *link = g_build_filename (fd_dir, name, NULL);
    g_autofree gchar *target = g_file_read_link (link, NULL);

    found = !g_strcmp0 (target, path);
  }
  g_dir_close (dir);
  return found;
}

gchar *
cftest_nginx_get_log (CfTestNginx * n)
{
  g_autofree gchar *path = g_build_filename (n->dir, "error.log", NULL);
  g_autofree gchar *out = n->proc ? cftest_proc_get_log (n->proc) : NULL;
  g_autofree gchar *log = NULL;

  g_file_get_contents (path, &log, NULL, NULL);
  return g_strdup_printf ("%s%s", out ? out : "", log ? log : "");
}

void
cftest_nginx_free (CfTestNginx * n)
{
  if (n->proc)
    cftest_proc_kill (n->proc, SIGKILL);
  g_free (n->dir);
  g_free (n->conf_path);
  g_free (n->rec_dir);
  g_free (n);
}

/* --- raw RTMP client --- */

static gboolean
client_on_message (const CfRtmpMessage * msg, gpointer user_data,
    GError ** error)
{
  CfTestRtmpClient *c = user_data;
  g_autoptr (GPtrArray) args = NULL;
  const gchar *name, *code = NULL;
  gsize size;
  const guint8 *data;

  if (msg->type != CF_RTMP_MSG_COMMAND_AMF0 || !msg->payload)
    return TRUE;
  data = g_bytes_get_data (msg->payload, &size);
  args = cf_amf_parse_all (data, size, NULL);
  if (!args || args->len < 1)
    return TRUE;
  name = cf_amf_node_get_string (g_ptr_array_index (args, 0), NULL);
  if (!name)
    return TRUE;
  if (args->len > 3)
    code = cf_amf_node_get_field_string (g_ptr_array_index (args, 3), "code");
  g_ptr_array_add (c->received, code ? g_strdup_printf ("%s %s", name,
          code) : g_strdup (name));
  return TRUE;
}

CfTestRtmpClient *
cftest_rtmp_connect (guint port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) err = NULL;
  CfTestRtmpClient *c = g_new0 (CfTestRtmpClient, 1);

  c->conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
      &err);
  fail_unless (c->conn != NULL, "cannot connect to port %u: %s", port,
      err ? err->message : "");
  c->socket = g_socket_connection_get_socket (c->conn);
  g_socket_set_blocking (c->socket, FALSE);
  c->reader = cf_rtmp_chunk_reader_new (client_on_message, c);
  c->received = g_ptr_array_new_with_free_func (g_free);
  return c;
}

void
cftest_rtmp_free (CfTestRtmpClient * c)
{
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_object_unref (c->conn);
  cf_rtmp_chunk_reader_free (c->reader);
  g_ptr_array_unref (c->received);
  g_free (c);
}

gboolean
cftest_rtmp_send (CfTestRtmpClient * c, const guint8 * data, gsize size)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (size > 0 && !c->closed) {
    g_autoptr (GError) err = NULL;
    gssize n = g_socket_send (c->socket, (const gchar *) data, size, NULL,
        &err);

    if (n < 0) {
      if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        c->closed = TRUE;
        break;
      }
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_socket_condition_timed_wait (c->socket, G_IO_OUT, 100 * 1000, NULL,
          NULL);
      continue;
    }
    data += n;
    size -= n;
  }
  return !c->closed;
}

/* Reads what is there within @timeout_us into @buf; -1 on close */
static gssize
client_read (CfTestRtmpClient * c, guint8 * buf, gsize size, gint64 timeout_us)
{
  g_autoptr (GError) err = NULL;
  gssize n;

  if (c->closed)
    return -1;
  if (timeout_us > 0 && !g_socket_condition_timed_wait (c->socket,
          G_IO_IN | G_IO_HUP | G_IO_ERR, timeout_us, NULL, NULL))
    return 0;
  n = g_socket_receive (c->socket, (gchar *) buf, size, NULL, &err);
  if (n < 0 && g_error_matches (err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return 0;
  if (n <= 0) {
    c->closed = TRUE;
    return -1;
  }
  return n;
}

gboolean
cftest_rtmp_handshake (CfTestRtmpClient * c)
{
  guint8 c0c1[1 + CF_RTMP_HANDSHAKE_SIZE];
  guint8 s[1 + 2 * CF_RTMP_HANDSHAKE_SIZE];
  gsize have = 0;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint i;

  c0c1[0] = 3;
  memset (c0c1 + 1, 0, 8);
  for (i = 9; i < sizeof (c0c1); i++)
    c0c1[i] = g_random_int_range (0, 256);
  if (!cftest_rtmp_send (c, c0c1, sizeof (c0c1)))
    return FALSE;

  while (have < sizeof (s)) {
    gssize n = client_read (c, s + have, sizeof (s) - have, 100 * 1000);

    if (n < 0 || g_get_monotonic_time () > end)
      return FALSE;
    have += n;
  }
  if (s[0] != 3)
    return FALSE;
  /* C2 echoes S1 */
  return cftest_rtmp_send (c, s + 1, CF_RTMP_HANDSHAKE_SIZE);
}

/* Reads for up to @timeout_us, feeding the chunk reader; FALSE on close */
static gboolean
client_pump (CfTestRtmpClient * c, gint64 timeout_us)
{
  guint8 buf[16384];
  gssize n = client_read (c, buf, sizeof (buf), timeout_us);

  if (n < 0)
    return FALSE;
  if (n > 0 && !cf_rtmp_chunk_reader_feed (c->reader, buf, n, NULL))
    fail ("the server sent data the chunk reader refuses");
  return TRUE;
}

gboolean
cftest_rtmp_wait_closed (CfTestRtmpClient * c, gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  guint8 buf[16384];

  /* the replies to a bad request are not necessarily parseable */
  while (g_get_monotonic_time () < end) {
    if (client_read (c, buf, sizeof (buf), 50 * 1000) < 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
client_received (CfTestRtmpClient * c, const gchar * what)
{
  guint i;

  for (i = 0; i < c->received->len; i++) {
    const gchar *r = g_ptr_array_index (c->received, i);
    g_auto (GStrv) parts = g_strsplit (r, " ", 2);

    if (!g_strcmp0 (parts[0], what) || !g_strcmp0 (parts[1], what))
      return TRUE;
  }
  return FALSE;
}

gboolean
cftest_rtmp_wait_command (CfTestRtmpClient * c, const gchar * what,
    gdouble timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (!client_received (c, what)) {
    if (g_get_monotonic_time () > end || !client_pump (c, 50 * 1000))
      return FALSE;
  }
  return TRUE;
}

gboolean
cftest_rtmp_send_connect (CfTestRtmpClient * c, guint port)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (CfAmfNode) obj = cf_amf_node_new_object ();
  g_autofree gchar *tc_url = g_strdup_printf ("rtmp://127.0.0.1:%u/%s", port,
      CFTEST_APP);

  cf_amf_node_append_field_string (obj, "app", CFTEST_APP);
  cf_amf_node_append_field_string (obj, "type", "nonprivate");
  cf_amf_node_append_field_string (obj, "flashVer", "cftest/1.0");
  cf_amf_node_append_field_string (obj, "tcUrl", tc_url);
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "connect", 1, obj, NULL);
  return cftest_rtmp_send (c, out->data, out->len);
}

gboolean
cftest_rtmp_send_publish (CfTestRtmpClient * c, const gchar * key)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (CfAmfNode) null = cf_amf_node_new_null ();
  g_autoptr (CfAmfNode) name = cf_amf_node_new_string (key, -1);
  g_autoptr (CfAmfNode) type = cf_amf_node_new_string (CFTEST_APP, -1);

  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "releaseStream", 2, null, name, NULL);
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "FCPublish", 3, null, name, NULL);
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE,
      CF_RTMP_CSID_COMMAND, 0, "createStream", 4, null, NULL);
  /* the first stream a server creates is 1 */
  cf_rtmp_write_command (out, CF_RTMP_DEFAULT_CHUNK_SIZE, 8, 1, "publish", 5,
      null, name, type, NULL);
  return cftest_rtmp_send (c, out->data, out->len);
}
