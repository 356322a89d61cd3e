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

#include "cfrecscan.h"
#include "ts/tsmux.h"

#define TS_WRAP (G_GUINT64_CONSTANT (1) << 33)

void
cf_rec_scan_init (CfRecScan * scan)
{
  memset (scan, 0, sizeof (*scan));
}

static guint64
read_ts (const guint8 * p)
{
  return ((guint64) (p[0] & 0x0e) << 29) | ((guint64) p[1] << 22) |
      ((guint64) (p[2] & 0xfe) << 14) | ((guint64) p[3] << 7) | (p[4] >> 1);
}

static void
scan_pes (CfRecScan * scan, gboolean video, const guint8 * p, gsize size)
{
  guint64 ts;
  guint8 flags;

  if (size < 14 || p[0] != 0 || p[1] != 0 || p[2] != 1)
    return;
  flags = p[7] >> 6;
  if (!(flags & 2))
    return;
  /* the DTS when present, else the PTS */
  if (flags == 3 && size >= 19)
    ts = read_ts (p + 14);
  else
    ts = read_ts (p + 9);

  if (video) {
    if (!scan->have_video)
      scan->first_video = ts;
    else
      scan->video_step = (ts - scan->last_video) & (TS_WRAP - 1);
    scan->last_video = ts;
    scan->have_video = TRUE;
  } else {
    if (!scan->have_audio)
      scan->first_audio = ts;
    else
      scan->audio_step = (ts - scan->last_audio) & (TS_WRAP - 1);
    scan->last_audio = ts;
    scan->have_audio = TRUE;
  }
}

static void
scan_packet (CfRecScan * scan, const guint8 * p)
{
  guint pid = ((p[1] & 0x1f) << 8) | p[2];
  guint afc = (p[3] >> 4) & 3;
  gsize hdr = 4;

  scan->packets++;
  if (p[0] != 0x47) {
    scan->bad_packets++;
    return;
  }
  if (!(p[1] & 0x40) || (pid != CF_TS_MUX_VIDEO_PID &&
          pid != CF_TS_MUX_AUDIO_PID) || afc == 0 || afc == 2)
    return;
  if (afc == 3)
    hdr += 1 + p[4];
  if (hdr >= CF_REC_SCAN_PACKET_SIZE)
    return;
  scan_pes (scan, pid == CF_TS_MUX_VIDEO_PID, p + hdr,
      CF_REC_SCAN_PACKET_SIZE - hdr);
}

void
cf_rec_scan_push (CfRecScan * scan, const guint8 * data, gsize size)
{
  scan->size += size;
  if (scan->pending_len > 0) {
    gsize n = MIN (size, CF_REC_SCAN_PACKET_SIZE - scan->pending_len);

    memcpy (scan->pending + scan->pending_len, data, n);
    scan->pending_len += n;
    data += n;
    size -= n;
    if (scan->pending_len < CF_REC_SCAN_PACKET_SIZE)
      return;
    scan_packet (scan, scan->pending);
    scan->pending_len = 0;
  }
  while (size >= CF_REC_SCAN_PACKET_SIZE) {
    scan_packet (scan, data);
    data += CF_REC_SCAN_PACKET_SIZE;
    size -= CF_REC_SCAN_PACKET_SIZE;
  }
  memcpy (scan->pending, data, size);
  scan->pending_len = size;
}

void
cf_rec_scan_finish (CfRecScan * scan)
{
  scan->valid_size = scan->packets * CF_REC_SCAN_PACKET_SIZE;
}
