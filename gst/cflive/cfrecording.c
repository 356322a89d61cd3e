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

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <gst/cflive/cflive.h>

#include "cfrecording.h"
#include "ts/tsmux.h"

GST_DEBUG_CATEGORY_EXTERN (cf_recording_debug);
#define GST_CAT_DEFAULT cf_recording_debug

G_DEFINE_QUARK (cf-recording-error-quark, cf_recording_error);

#define TS_WRAP (G_GUINT64_CONSTANT (1) << 33)

static void
set_errno_error (GError ** error, gint err, const gchar * what,
    const gchar * path)
{
  g_set_error (error, CF_RECORDING_ERROR, err, "%s %s: %s", what, path,
      g_strerror (err));
}

gchar *
cf_recording_format_time (gint64 us)
{
  GDateTime *dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  gchar *base, *s;

  if (!dt)
    return g_strdup ("1970-01-01T00:00:00.000000Z");
  base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  s = g_strdup_printf ("%s.%06dZ", base, (gint) (us % G_USEC_PER_SEC));
  g_free (base);
  g_date_time_unref (dt);
  return s;
}

static gint64
parse_time (const gchar * s)
{
  GDateTime *dt;
  gint64 us;

  if (!s || !*s)
    return 0;
  dt = g_date_time_new_from_iso8601 (s, NULL);
  if (!dt)
    return 0;
  us = g_date_time_to_unix (dt) * G_USEC_PER_SEC +
      g_date_time_get_microsecond (dt);
  g_date_time_unref (dt);
  return us;
}

static CfRecording *
recording_new (void)
{
  CfRecording *rec = g_new0 (CfRecording, 1);

  rec->segments = g_array_new (FALSE, TRUE, sizeof (CfRecSegment));
  rec->delete_after = -1;
  rec->duration = -1;
  return rec;
}

void
cf_recording_free (CfRecording * rec)
{
  guint i;

  if (!rec)
    return;
  for (i = 0; i < rec->segments->len; i++)
    g_free (g_array_index (rec->segments, CfRecSegment, i).name);
  g_array_unref (rec->segments);
  g_free (rec->uid);
  g_free (rec->dir);
  g_free (rec->live_input);
  g_free (rec->state);
  g_free (rec->error_code);
  g_free (rec);
}

static gboolean
fsync_dir (const gchar * dir, GError ** error)
{
  gint fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0) {
    set_errno_error (error, errno, "Cannot open", dir);
    return FALSE;
  }
  if (fsync (fd) < 0 && errno != EINVAL) {
    gint err = errno;

    close (fd);
    set_errno_error (error, err, "Cannot sync", dir);
    return FALSE;
  }
  close (fd);
  return TRUE;
}

CfRecording *
cf_recording_create (const gchar * location, const gchar * live_input,
    gint64 delete_after, GError ** error)
{
  CfRecording *rec;

  if (g_mkdir_with_parents (location, 0755) < 0) {
    set_errno_error (error, errno, "Cannot create the directory", location);
    return NULL;
  }
  rec = recording_new ();
  rec->uid = gst_cflive_secret_new_hex (16);
  rec->dir = g_build_filename (location, rec->uid, NULL);
  rec->live_input = g_strdup (live_input);
  rec->state = g_strdup (CF_RECORDING_STATE_LIVE);
  rec->created = rec->modified = g_get_real_time ();
  rec->delete_after = delete_after;
  if (g_mkdir (rec->dir, 0755) < 0) {
    set_errno_error (error, errno, "Cannot create the directory", rec->dir);
    cf_recording_free (rec);
    return NULL;
  }
  return rec;
}

gchar *
cf_recording_segment_name (guint index)
{
  return g_strdup_printf ("seg-%05u.ts", index);
}

void
cf_recording_add_segment (CfRecording * rec, const gchar * name,
    gdouble duration, guint64 size, gboolean discont)
{
  CfRecSegment seg;

  seg.name = g_strdup (name);
  seg.duration = duration;
  seg.size = size;
  seg.discont = discont;
  g_array_append_val (rec->segments, seg);
  rec->size += size;
  if (rec->duration < 0)
    rec->duration = 0;
  rec->duration += duration;
}

/* --- JSON --- */

static void
add_time (JsonBuilder * b, const gchar * name, gint64 us)
{
  json_builder_set_member_name (b, name);
  if (us > 0) {
    gchar *s = cf_recording_format_time (us);

    json_builder_add_string_value (b, s);
    g_free (s);
  } else {
    json_builder_add_null_value (b);
  }
}

gchar *
cf_recording_to_json (CfRecording * rec)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  gboolean ready = g_strcmp0 (rec->state, CF_RECORDING_STATE_READY) == 0;
  gchar *name, *created, *json;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "uid");
  json_builder_add_string_value (b, rec->uid);
  json_builder_set_member_name (b, "liveInput");
  if (rec->live_input)
    json_builder_add_string_value (b, rec->live_input);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "creator");
  json_builder_add_null_value (b);

  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, rec->state);
  json_builder_set_member_name (b, "pctComplete");
  json_builder_add_string_value (b, ready ? "100.000000" : "0.000000");
  json_builder_set_member_name (b, "errorReasonCode");
  json_builder_add_string_value (b, rec->error_code ? rec->error_code : "");
  json_builder_set_member_name (b, "errorReasonText");
  json_builder_add_string_value (b, "");
  json_builder_end_object (b);

  created = cf_recording_format_time (rec->created);
  name = g_strdup_printf ("%s %s", rec->live_input ? rec->live_input :
      "recording", created);
  json_builder_set_member_name (b, "meta");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_end_object (b);
  g_free (name);
  g_free (created);

  add_time (b, "created", rec->created);
  add_time (b, "modified", rec->modified);
  add_time (b, "uploaded", rec->created);
  json_builder_set_member_name (b, "readyToStream");
  json_builder_add_boolean_value (b, ready);
  add_time (b, "readyToStreamAt", ready ? rec->ready_at : 0);
  add_time (b, "scheduledDeletion", rec->scheduled_deletion);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, rec->size);
  json_builder_set_member_name (b, "duration");
  json_builder_add_double_value (b,
      ready ? floor (rec->duration * 1000 + 0.5) / 1000 : -1);

  json_builder_set_member_name (b, "input");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, rec->width > 0 ? rec->width : -1);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, rec->height > 0 ? rec->height : -1);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "playback");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "hls");
  json_builder_add_string_value (b, CF_RECORDING_PLAYLIST);
  json_builder_set_member_name (b, "dash");
  json_builder_add_null_value (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "downloads");
  json_builder_begin_object (b);
  if (rec->has_mp4) {
    json_builder_set_member_name (b, "default");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "status");
    json_builder_add_string_value (b, "ready");
    json_builder_set_member_name (b, "url");
    json_builder_add_string_value (b, CF_RECORDING_MP4);
    json_builder_set_member_name (b, "percentComplete");
    json_builder_add_double_value (b, 100.0);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "thumbnail");
  json_builder_add_string_value (b, "");
  json_builder_set_member_name (b, "preview");
  json_builder_add_string_value (b, "");
  json_builder_set_member_name (b, "requireSignedURLs");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "allowedOrigins");
  json_builder_begin_array (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "maxDurationSeconds");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "watermark");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "clippedFrom");
  json_builder_add_null_value (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return json;
}

gboolean
cf_recording_write_file_atomic (const gchar * path, const gchar * data,
    gsize size, GError ** error)
{
  gchar *tmp = g_strconcat (path, ".tmp", NULL);
  gchar *dir = g_path_get_dirname (path);
  gsize done = 0;
  gboolean ok;
  gint fd, err;

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_errno_error (error, errno, "Cannot create", tmp);
    goto fail;
  }
  while (done < size) {
    gssize n = write (fd, data + done, size - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      err = errno;
      close (fd);
      g_unlink (tmp);
      set_errno_error (error, err, "Cannot write", tmp);
      goto fail;
    }
    done += n;
  }
  if (fdatasync (fd) < 0) {
    err = errno;
    close (fd);
    g_unlink (tmp);
    set_errno_error (error, err, "Cannot sync", tmp);
    goto fail;
  }
  close (fd);
  if (g_rename (tmp, path) < 0) {
    err = errno;
    g_unlink (tmp);
    set_errno_error (error, err, "Cannot rename", tmp);
    goto fail;
  }
  g_free (tmp);
  ok = fsync_dir (dir, error);
  g_free (dir);
  return ok;

fail:
  g_free (tmp);
  g_free (dir);
  return FALSE;
}

gboolean
cf_recording_write_json (CfRecording * rec, GError ** error)
{
  gchar *json, *path;
  gboolean ok;

  rec->modified = g_get_real_time ();
  json = cf_recording_to_json (rec);
  path = g_build_filename (rec->dir, CF_RECORDING_JSON, NULL);
  ok = cf_recording_write_file_atomic (path, json, strlen (json), error);
  g_free (path);
  g_free (json);
  return ok;
}

gboolean
cf_recording_write_playlist (CfRecording * rec, gboolean final, GError ** error)
{
  GString *s = g_string_new ("#EXTM3U\n#EXT-X-VERSION:3\n");
  gchar *path;
  gdouble max = 1;
  gboolean ok;
  guint i;

  for (i = 0; i < rec->segments->len; i++)
    max = MAX (max, g_array_index (rec->segments, CfRecSegment, i).duration);
  g_string_append_printf (s, "#EXT-X-TARGETDURATION:%u\n",
      (guint) (max + 0.999));
  g_string_append_printf (s, "#EXT-X-PLAYLIST-TYPE:%s\n",
      final ? "VOD" : "EVENT");
  g_string_append (s, "#EXT-X-MEDIA-SEQUENCE:0\n");
  g_string_append (s, "#EXT-X-INDEPENDENT-SEGMENTS\n");
  for (i = 0; i < rec->segments->len; i++) {
    CfRecSegment *seg = &g_array_index (rec->segments, CfRecSegment, i);

    if (seg->discont)
      g_string_append (s, "#EXT-X-DISCONTINUITY\n");
    g_string_append_printf (s, "#EXTINF:%.6f,\n%s\n", seg->duration, seg->name);
  }
  if (final)
    g_string_append (s, "#EXT-X-ENDLIST\n");

  path = g_build_filename (rec->dir, CF_RECORDING_PLAYLIST, NULL);
  ok = cf_recording_write_file_atomic (path, s->str, s->len, error);
  g_free (path);
  g_string_free (s, TRUE);
  return ok;
}

static const gchar *
member_string (JsonObject * o, const gchar * name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  if (!n || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static JsonObject *
member_object (JsonObject * o, const gchar * name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  if (!n || !JSON_NODE_HOLDS_OBJECT (n))
    return NULL;
  return json_node_get_object (n);
}

static gint64
member_int (JsonObject * o, const gchar * name, gint64 def)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;

  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return def;
  if (json_node_get_value_type (n) == G_TYPE_INT64)
    return json_node_get_int (n);
  if (json_node_get_value_type (n) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (n);
  return def;
}

CfRecording *
cf_recording_load (const gchar * dir, GError ** error)
{
  JsonParser *parser = json_parser_new ();
  gchar *path = g_build_filename (dir, CF_RECORDING_JSON, NULL);
  JsonObject *o, *status, *input;
  CfRecording *rec = NULL;
  const gchar *uid, *state;

  if (!json_parser_load_from_file (parser, path, error))
    goto out;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, CF_RECORDING_ERROR, EINVAL, "%s is not a JSON "
        "object", path);
    goto out;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  status = member_object (o, "status");
  uid = member_string (o, "uid");
  state = member_string (status, "state");
  if (!uid || !state) {
    g_set_error (error, CF_RECORDING_ERROR, EINVAL, "%s has no uid or "
        "status.state", path);
    goto out;
  }
  rec = recording_new ();
  rec->uid = g_strdup (uid);
  rec->dir = g_strdup (dir);
  rec->live_input = g_strdup (member_string (o, "liveInput"));
  rec->state = g_strdup (state);
  rec->error_code = g_strdup (member_string (status, "errorReasonCode"));
  if (rec->error_code && !*rec->error_code)
    g_clear_pointer (&rec->error_code, g_free);
  rec->created = parse_time (member_string (o, "created"));
  rec->modified = parse_time (member_string (o, "modified"));
  rec->ready_at = parse_time (member_string (o, "readyToStreamAt"));
  rec->scheduled_deletion = parse_time (member_string (o, "scheduledDeletion"));
  rec->size = member_int (o, "size", 0);
  input = member_object (o, "input");
  rec->width = MAX (0, member_int (input, "width", 0));
  rec->height = MAX (0, member_int (input, "height", 0));
  {
    JsonNode *d = json_object_get_member (o, "duration");

    if (d && JSON_NODE_HOLDS_VALUE (d))
      rec->duration = json_node_get_double (d);
  }
  rec->has_mp4 = member_object (member_object (o, "downloads"),
      "default") != NULL;

out:
  g_free (path);
  g_object_unref (parser);
  return rec;
}

/* --- MPEG-TS scanning --- */

gboolean
cf_ts_scan_file (const gchar * path, CfRecScan * scan, GError ** error)
{
  gint fd = open (path, O_RDONLY | O_CLOEXEC);
  guint8 *buf;

  cf_rec_scan_init (scan);
  if (fd < 0) {
    set_errno_error (error, errno, "Cannot open", path);
    return FALSE;
  }
  buf = g_malloc (64 * 1024);
  while (TRUE) {
    gssize n = read (fd, buf, 64 * 1024);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      gint err = errno;

      set_errno_error (error, err, "Cannot read", path);
      close (fd);
      g_free (buf);
      return FALSE;
    }
    if (n == 0)
      break;
    cf_rec_scan_push (scan, buf, n);
  }
  cf_rec_scan_finish (scan);
  close (fd);
  g_free (buf);
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar **) a, *(const gchar **) b);
}

gboolean
cf_recording_rebuild_segments (CfRecording * rec, GError ** error)
{
  GDir *d = g_dir_open (rec->dir, 0, error);
  GPtrArray *names;
  GArray *scans;
  const gchar *name;
  guint i;

  if (!d)
    return FALSE;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d))) {
    if (g_str_has_prefix (name, "seg-") && g_str_has_suffix (name, ".ts"))
      g_ptr_array_add (names, g_strdup (name));
  }
  g_dir_close (d);
  g_ptr_array_sort (names, compare_names);

  for (i = 0; i < rec->segments->len; i++)
    g_free (g_array_index (rec->segments, CfRecSegment, i).name);
  g_array_set_size (rec->segments, 0);
  rec->size = 0;
  rec->duration = -1;

  /* scan them all; those without any frame are dropped */
  scans = g_array_new (FALSE, TRUE, sizeof (CfRecScan));
  for (i = 0; i < names->len;) {
    gchar *path = g_build_filename (rec->dir, names->pdata[i], NULL);
    CfRecScan scan;

    if (!cf_ts_scan_file (path, &scan, error)) {
      g_free (path);
      g_array_unref (scans);
      g_ptr_array_unref (names);
      return FALSE;
    }
    if (scan.valid_size < scan.size) {
      GST_INFO ("%s: cutting %" G_GUINT64_FORMAT " bytes of a partial "
          "packet", path, scan.size - scan.valid_size);
      if (truncate (path, scan.valid_size) < 0) {
        set_errno_error (error, errno, "Cannot truncate", path);
        g_free (path);
        g_array_unref (scans);
        g_ptr_array_unref (names);
        return FALSE;
      }
    }
    if (!scan.have_video && !scan.have_audio) {
      GST_INFO ("%s: no frames, removed", path);
      g_unlink (path);
      g_ptr_array_remove_index (names, i);
    } else {
      g_array_append_val (scans, scan);
      i++;
    }
    g_free (path);
  }

  for (i = 0; i < names->len; i++) {
    CfRecScan *s = &g_array_index (scans, CfRecScan, i);
    guint64 start = s->have_video ? s->first_video : s->first_audio;
    guint64 ticks;

    if (i + 1 < names->len) {
      CfRecScan *n = &g_array_index (scans, CfRecScan, i + 1);
      guint64 next = n->have_video ? n->first_video : n->first_audio;

      ticks = (next - start) & (TS_WRAP - 1);
    } else {
      guint64 vend = 0, aend = 0;

      if (s->have_video)
        vend = ((s->last_video + s->video_step - start) & (TS_WRAP - 1));
      if (s->have_audio)
        aend = ((s->last_audio + s->audio_step - start) & (TS_WRAP - 1));
      /* audio that started before the segment's keyframe */
      if (aend > TS_WRAP / 2)
        aend = 0;
      ticks = MAX (vend, aend);
    }
    cf_recording_add_segment (rec, names->pdata[i], ticks / 90000.0,
        s->valid_size, FALSE);
  }
  g_array_unref (scans);
  g_ptr_array_unref (names);
  return TRUE;
}

/* --- MP4 --- */

typedef struct
{
  GstElement *pipeline;
  GstElement *vparse, *aparse;
} Mp4Ctx;

static void
on_pad_added (GstElement * demux, GstPad * pad, Mp4Ctx * ctx)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const gchar *name;
  GstElement *target = NULL;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (g_str_equal (name, "video/x-h264"))
    target = ctx->vparse;
  else if (g_str_equal (name, "audio/mpeg"))
    target = ctx->aparse;
  if (target) {
    GstPad *sink = gst_element_get_static_pad (target, "sink");

    if (!gst_pad_is_linked (sink))
      gst_pad_link (pad, sink);
    gst_object_unref (sink);
  }
  gst_caps_unref (caps);
}

static gboolean
make_mp4 (CfRecording * rec, GError ** error)
{
  gchar *pattern = g_build_filename (rec->dir, "seg-%05d.ts", NULL);
  gchar *path = g_build_filename (rec->dir, CF_RECORDING_MP4, NULL);
  gchar *tmp = g_strconcat (path, ".tmp", NULL);
  GstElement *src, *demux, *vq, *aq, *mux, *sink;
  GstCaps *caps;
  GstBus *bus;
  GstMessage *msg;
  Mp4Ctx ctx = { 0, };
  gboolean ok = FALSE, has_audio = FALSE, has_video = FALSE;
  GstClockTime timeout;
  gint first = 0, fd;
  guint i;

  /* segment names are seg-NNNNN.ts, contiguous from the first */
  if (rec->segments->len == 0 || sscanf (g_array_index (rec->segments,
              CfRecSegment, 0).name, "seg-%d.ts", &first) != 1) {
    g_set_error (error, CF_RECORDING_ERROR, EINVAL, "no segments");
    goto out;
  }
  for (i = 0; i < rec->segments->len; i++) {
    gchar *expect = cf_recording_segment_name (first + i);

    if (g_strcmp0 (expect, g_array_index (rec->segments, CfRecSegment, i).name)) {
      g_free (expect);
      g_set_error (error, CF_RECORDING_ERROR, EINVAL, "segments not "
          "numbered in sequence");
      goto out;
    }
    g_free (expect);
  }

  ctx.pipeline = gst_pipeline_new (NULL);
  src = gst_element_factory_make ("multifilesrc", NULL);
  demux = gst_element_factory_make ("tsdemux", NULL);
  vq = gst_element_factory_make ("queue", NULL);
  aq = gst_element_factory_make ("queue", NULL);
  ctx.vparse = gst_element_factory_make ("h264parse", NULL);
  ctx.aparse = gst_element_factory_make ("aacparse", NULL);
  mux = gst_element_factory_make ("mp4mux", NULL);
  sink = gst_element_factory_make ("filesink", NULL);
  if (!src || !demux || !vq || !aq || !ctx.vparse || !ctx.aparse || !mux
      || !sink) {
    g_set_error (error, CF_RECORDING_ERROR, ENOENT, "the multifilesrc, "
        "tsdemux, h264parse, aacparse or mp4mux element is missing");
    gst_clear_object (&src);
    gst_clear_object (&demux);
    gst_clear_object (&vq);
    gst_clear_object (&aq);
    gst_clear_object (&ctx.vparse);
    gst_clear_object (&ctx.aparse);
    gst_clear_object (&mux);
    gst_clear_object (&sink);
    gst_clear_object (&ctx.pipeline);
    goto out;
  }
  caps = gst_caps_new_simple ("video/mpegts", "systemstream", G_TYPE_BOOLEAN,
      TRUE, "packetsize", G_TYPE_INT, 188, NULL);
  g_object_set (src, "location", pattern, "start-index", first,
      "stop-index", first + (gint) rec->segments->len - 1, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (sink, "location", tmp, "sync", FALSE, NULL);
  g_object_set (vq, "max-size-time", (guint64) 0, "max-size-bytes", 0,
      "max-size-buffers", 0, NULL);
  g_object_set (aq, "max-size-time", (guint64) 0, "max-size-bytes", 0,
      "max-size-buffers", 0, NULL);
  gst_bin_add_many (GST_BIN (ctx.pipeline), src, demux, vq, aq, ctx.vparse,
      ctx.aparse, mux, sink, NULL);
  gst_element_link (src, demux);
  g_signal_connect (demux, "pad-added", G_CALLBACK (on_pad_added), &ctx);

  /* which streams there are: from the first segment */
  {
    CfRecScan scan;
    gchar *seg = g_build_filename (rec->dir, g_array_index (rec->segments,
            CfRecSegment, 0).name, NULL);

    if (cf_ts_scan_file (seg, &scan, NULL)) {
      has_video = scan.have_video;
      has_audio = scan.have_audio;
    }
    g_free (seg);
  }
  if (has_video) {
    gst_element_link (ctx.vparse, vq);
    gst_element_link_pads (vq, "src", mux, "video_%u");
  }
  if (has_audio) {
    gst_element_link (ctx.aparse, aq);
    gst_element_link_pads (aq, "src", mux, "audio_%u");
  }
  gst_element_link (mux, sink);

  gst_element_set_state (ctx.pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (ctx.pipeline);
  /* a remux runs far faster than real time */
  timeout = MAX (60 * GST_SECOND, (GstClockTime) (rec->duration / 4.0 *
          GST_SECOND));
  msg = gst_bus_timed_pop_filtered (bus, timeout,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (!msg) {
    g_set_error (error, CF_RECORDING_ERROR, ETIMEDOUT, "making the MP4 "
        "took too long");
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    g_set_error (error, CF_RECORDING_ERROR, EIO, "making the MP4 failed: "
        "%s", err->message);
    g_error_free (err);
  } else {
    ok = TRUE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (ctx.pipeline, GST_STATE_NULL);
  gst_object_unref (ctx.pipeline);

  if (ok) {
    fd = open (tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fdatasync (fd) < 0 || g_rename (tmp, path) < 0) {
      set_errno_error (error, errno, "Cannot write", path);
      ok = FALSE;
    }
    if (fd >= 0)
      close (fd);
  }
  if (!ok)
    g_unlink (tmp);

out:
  g_free (pattern);
  g_free (path);
  g_free (tmp);
  return ok;
}

gboolean
cf_recording_finalise (CfRecording * rec, GError ** mp4_error, GError ** error)
{
  gchar *mp4 = g_build_filename (rec->dir, CF_RECORDING_MP4, NULL);

  g_unlink (mp4);
  g_free (mp4);
  rec->has_mp4 = FALSE;

  if (rec->segments->len == 0 || rec->duration <= 0) {
    g_free (rec->state);
    rec->state = g_strdup (CF_RECORDING_STATE_ERROR);
    g_free (rec->error_code);
    rec->error_code = g_strdup ("ERR_NON_VIDEO");
    rec->duration = 0;
  } else {
    if (rec->duration < CF_RECORDING_MP4_MAX_SECONDS) {
      GError *err = NULL;

      rec->has_mp4 = make_mp4 (rec, &err);
      if (!rec->has_mp4) {
        GST_WARNING ("%s: no MP4: %s", rec->dir, err->message);
        g_propagate_error (mp4_error, err);
      }
    }
    g_free (rec->state);
    rec->state = g_strdup (CF_RECORDING_STATE_READY);
    g_clear_pointer (&rec->error_code, g_free);
  }
  rec->ready_at = g_get_real_time ();
  rec->scheduled_deletion = rec->delete_after >= 0 ?
      rec->ready_at + rec->delete_after * G_USEC_PER_SEC : 0;

  if (!cf_recording_write_playlist (rec, TRUE, error))
    return FALSE;
  return cf_recording_write_json (rec, error);
}

gboolean
cf_recording_remove_dir (const gchar * dir, GError ** error)
{
  GDir *d = g_dir_open (dir, 0, error);
  const gchar *name;
  gboolean ok = TRUE;

  if (!d)
    return FALSE;
  while ((name = g_dir_read_name (d))) {
    gchar *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_IS_DIR) &&
        !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
      if (!cf_recording_remove_dir (path, ok ? error : NULL))
        ok = FALSE;
    } else if (g_unlink (path) < 0) {
      if (ok)
        set_errno_error (error, errno, "Cannot remove", path);
      ok = FALSE;
    }
    g_free (path);
  }
  g_dir_close (d);
  if (ok && g_rmdir (dir) < 0) {
    set_errno_error (error, errno, "Cannot remove", dir);
    ok = FALSE;
  }
  return ok;
}
