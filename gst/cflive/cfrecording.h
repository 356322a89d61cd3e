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

#ifndef __CF_RECORDING_H__
#define __CF_RECORDING_H__

#include <glib.h>

#include "cfrecscan.h"

G_BEGIN_DECLS

/* One recording on disk, in a directory of its own named by its uid:
 *
 *   video.json     the Video object (Cloudflare's shape), rewritten
 *                  atomically (temporary file, fdatasync, rename, fsync of
 *                  the directory)
 *   video.m3u8     the HLS media playlist: EVENT while live, VOD with
 *                  #EXT-X-ENDLIST once ready, rewritten atomically
 *   seg-00000.ts   MPEG-TS media segments, each starting with a PAT, a PMT
 *   ...            and a video keyframe
 *   video.mp4      the download, made when the recording is finalised
 *
 * No element, no GStreamer state: the record sink and its recovery use it
 * from their writer thread. Every failing file operation returns a GError
 * in the CF_RECORDING_ERROR domain whose code is the errno value. */

#define CF_RECORDING_ERROR (cf_recording_error_quark ())
GQuark cf_recording_error_quark (void);

#define CF_RECORDING_JSON "video.json"
#define CF_RECORDING_PLAYLIST "video.m3u8"
#define CF_RECORDING_MP4 "video.mp4"

#define CF_RECORDING_STATE_LIVE "live-inprogress"
#define CF_RECORDING_STATE_READY "ready"
#define CF_RECORDING_STATE_ERROR "error"

/* Recordings longer than this get no MP4 download (4 hours) */
#define CF_RECORDING_MP4_MAX_SECONDS (4 * 3600)

typedef struct
{
  gchar *name;                  /* file name in the recording directory */
  gdouble duration;             /* seconds */
  guint64 size;                 /* bytes */
  gboolean discont;             /* the codec configuration changed */
} CfRecSegment;

typedef struct
{
  gchar *uid;                   /* 32 hex */
  gchar *dir;                   /* <location>/<uid> */
  gchar *live_input;            /* may be NULL */
  gchar *state;                 /* CF_RECORDING_STATE_* */
  gchar *error_code;            /* status.errorReasonCode, or NULL */
  gint64 created;               /* µs since the epoch */
  gint64 modified;
  gint64 ready_at;              /* 0 until ready */
  gint64 scheduled_deletion;    /* 0: none */
  gint64 delete_after;          /* seconds after ready_at; -1: keep */
  gint width, height;           /* 0 while unknown */
  GArray *segments;             /* CfRecSegment */
  guint64 size;                 /* bytes of all segments */
  gdouble duration;             /* seconds of all segments */
  gboolean has_mp4;
} CfRecording;

/* Creates the directory <location>/<new uid> (and @location if needed) */
CfRecording *cf_recording_create (const gchar * location,
    const gchar * live_input, gint64 delete_after, GError ** error);
/* Reads <dir>/video.json: the fields above; the segments are empty */
CfRecording *cf_recording_load (const gchar * dir, GError ** error);
void cf_recording_free (CfRecording * rec);

/* Name of the next segment (seg-%05u.ts) */
gchar *cf_recording_segment_name (guint index);
/* @discont: the encoding changed at its start (an encoder that came back
 * with other settings): #EXT-X-DISCONTINUITY before it in the playlist */
void cf_recording_add_segment (CfRecording * rec, const gchar * name,
    gdouble duration, guint64 size, gboolean discont);

/* The Video object as JSON (pretty printed) */
gchar *cf_recording_to_json (CfRecording * rec);
gboolean cf_recording_write_json (CfRecording * rec, GError ** error);
/* EVENT playlist while @final is FALSE, VOD with ENDLIST when TRUE */
gboolean cf_recording_write_playlist (CfRecording * rec, gboolean final,
    GError ** error);

/* Marks it ready (ready_at, scheduled_deletion), makes the MP4 when the
 * recording is short enough, writes the VOD playlist then video.json.
 * A recording without any media becomes state error. A failed MP4 is not
 * fatal (has_mp4 stays FALSE, and @mp4_error says why when given). */
gboolean cf_recording_finalise (CfRecording * rec, GError ** mp4_error,
    GError ** error);

/* After a crash: rebuilds the segment list from the seg-*.ts files on disk
 * (their durations from the timestamps in them), cutting a packet
 * truncated by the crash. */
gboolean cf_recording_rebuild_segments (CfRecording * rec, GError ** error);

/* Removes the directory and everything in it */
gboolean cf_recording_remove_dir (const gchar * dir, GError ** error);

/* Writes @data to @path through a temporary file, fdatasync and rename,
 * then fsyncs the directory */
gboolean cf_recording_write_file_atomic (const gchar * path,
    const gchar * data, gsize size, GError ** error);

/* Scans a segment file, see cfrecscan.h */
gboolean cf_ts_scan_file (const gchar * path, CfRecScan * scan,
    GError ** error);

/* Formats µs since the epoch as RFC 3339 UTC with milliseconds */
gchar *cf_recording_format_time (gint64 us);

G_END_DECLS

#endif /* __CF_RECORDING_H__ */
