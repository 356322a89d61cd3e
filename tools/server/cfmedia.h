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

#ifndef __CF_MEDIA_H__
#define __CF_MEDIA_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* The media side of one live input: a pipeline
 *
 *   cfliveinputsrc ! cfgopvalidator ! tee name=t
 *       t. ! cfrestreamsink        (the outputs)
 *       t. ! cfrecordsink          (recordings)
 *
 * built in-process. Neither sink blocks the streaming thread, so the tee
 * needs no queues and an idle input costs one waiting thread. All inputs
 * share one RTMP(S) and one SRT listener (cfliveinputsrc routes by stream
 * key / stream id). Bus messages are delivered to the callbacks in the
 * main context. */

typedef struct _CfMedia CfMedia;

typedef struct
{
  const gchar *media_address;   /* where to listen, e.g. 0.0.0.0 */
  guint rtmp_port;
  guint srt_port;               /* 0: no SRT */
  const gchar *tls_certificate; /* NULL: rtmp://, else rtmps:// */
  const gchar *tls_key;
  const gchar *recordings_dir;
  gint reconnect_window;
  guint max_outputs;
} CfMediaConfig;

typedef struct
{
  /* cflive-status of cfliveinputsrc */
  void (*status) (gpointer user_data, const gchar * input_uid,
      const gchar * state, const gchar * reason, gint64 timestamp_us);
  /* cflive-violation of cfgopvalidator */
  void (*violation) (gpointer user_data, const gchar * input_uid,
      const gchar * code, const gchar * message, const gchar * video_codec,
      const gchar * audio_codec);
  /* cflive-output of cfrestreamsink */
  void (*output) (gpointer user_data, const gchar * input_uid,
      const gchar * sink_uid, const gchar * state, const gchar * error);
  /* cflive-recording of cfrecordsink */
  void (*recording) (gpointer user_data, const gchar * input_uid,
      const GstStructure * s);
  /* the pipeline failed (@message) or ended (@message NULL, EOS): it is
   * stopped; the owner frees it and makes another to accept encoders again */
  void (*ended) (gpointer user_data, const gchar * input_uid,
      const gchar * message);
} CfMediaCallbacks;

typedef struct
{
  const gchar *uid;
  const gchar *stream_key;
  const gchar *srt_passphrase;
  gboolean enabled;
  gboolean record;
  guint64 record_timeout;
  gint64 delete_after;          /* seconds, -1 keep */
} CfMediaInputSettings;

gboolean cf_media_init (GError ** error);
gboolean cf_media_have_recorder (void);

CfMedia *cf_media_new (const CfMediaConfig * config,
    const CfMediaInputSettings * settings, const CfMediaCallbacks * callbacks,
    gpointer user_data, GError ** error);
/* stops the pipeline at once: the encoder's connection is closed */
/* Listens on the RTMP(S) and SRT ports for the server's whole life, live
 * inputs or not: a port taken by another program is an error at start,
 * encoders get "unknown stream key" rather than a refused connection, and
 * the listeners never close and open again as inputs come and go. */
GstElement *cf_media_hold_ports (const CfMediaConfig * config,
    GError ** error);
void cf_media_release_ports (GstElement * holder);

void cf_media_free (CfMedia * media);
void cf_media_flush (void);

void cf_media_set_enabled (CfMedia * media, gboolean enabled);
void cf_media_set_recording (CfMedia * media, gboolean record,
    guint64 timeout, gint64 delete_after);

/* returns the uid of cfrestreamsink's output or NULL (the sink says why) */
gchar *cf_media_add_output (CfMedia * media, const gchar * url,
    const gchar * stream_key, gboolean enabled);
void cf_media_remove_output (CfMedia * media, const gchar * sink_uid);
void cf_media_set_output_enabled (CfMedia * media, const gchar * sink_uid,
    gboolean enabled);

/* the recording being written now, or NULL */
gchar *cf_media_get_recording_uid (CfMedia * media);
void cf_media_get_bytes (CfMedia * media, guint64 * bytes_in,
    guint64 * bytes_out);

G_END_DECLS

#endif /* __CF_MEDIA_H__ */
