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

#ifndef __CF_REC_SCAN_H__
#define __CF_REC_SCAN_H__

#include <glib.h>

G_BEGIN_DECLS

/* The timestamps of an MPEG-TS segment written by cf_ts_muxer, read back
 * when a recording is recovered after a crash: whatever the file holds
 * (a torn last packet, garbage) is scanned without harm.
 *
 * Packets are taken 188 bytes at a time from the start; one without the
 * sync byte is counted and skipped. The PES headers that start on the
 * video and audio PIDs of cf_ts_muxer give the timestamps (the DTS when
 * there is one, else the PTS; 90 kHz, modulo 2^33). No I/O, no
 * allocation. */

#define CF_REC_SCAN_PACKET_SIZE 188

typedef struct
{
  gboolean have_video, have_audio;
  guint64 first_video, last_video, video_step;  /* step: last - previous */
  guint64 first_audio, last_audio, audio_step;
  guint64 packets;              /* whole packets */
  guint64 bad_packets;          /* without the sync byte */
  guint64 size;                 /* bytes pushed */
  guint64 valid_size;           /* bytes in whole packets, after finish */

  /*< private >*/
  guint8 pending[CF_REC_SCAN_PACKET_SIZE];
  guint pending_len;
} CfRecScan;

void cf_rec_scan_init (CfRecScan * scan);
/* The next @size bytes of the file, in any pieces */
void cf_rec_scan_push (CfRecScan * scan, const guint8 * data, gsize size);
/* After the last push: sets valid_size (a partial packet at the end is
 * not in it) */
void cf_rec_scan_finish (CfRecScan * scan);

G_END_DECLS

#endif /* __CF_REC_SCAN_H__ */
