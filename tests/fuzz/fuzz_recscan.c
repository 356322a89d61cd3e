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

/* libFuzzer target for the segment scanner of the recording recovery:
 * whatever a crash or a damaged disk left in a segment file.
 *
 * The input is the file. It is scanned twice: in one piece, and in pieces
 * whose sizes come from the data itself (as reads of a file return them).
 * Both scans must agree; the valid size must be whole packets within the
 * file, with at most one partial packet after it; the steps between
 * timestamps stay within the 33-bit range. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfrecscan.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

#define CHECK(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) { \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
          #cond); \
      abort (); \
    } \
  } G_STMT_END

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  CfRecScan whole, pieces;
  gsize off = 0, i = 0;

  cf_rec_scan_init (&whole);
  cf_rec_scan_push (&whole, data, size);
  cf_rec_scan_finish (&whole);

  cf_rec_scan_init (&pieces);
  while (off < size) {
    gsize n = 1 + data[i++ % size] * 7;

    n = MIN (n, size - off);
    cf_rec_scan_push (&pieces, data + off, n);
    off += n;
  }
  cf_rec_scan_finish (&pieces);

  CHECK (whole.size == size);
  CHECK (whole.valid_size % CF_REC_SCAN_PACKET_SIZE == 0);
  CHECK (whole.valid_size <= size);
  CHECK (size - whole.valid_size < CF_REC_SCAN_PACKET_SIZE);
  CHECK (whole.bad_packets <= whole.packets);
  CHECK (whole.video_step < (G_GUINT64_CONSTANT (1) << 33));
  CHECK (whole.audio_step < (G_GUINT64_CONSTANT (1) << 33));
  CHECK (whole.last_video < (G_GUINT64_CONSTANT (1) << 33));

  CHECK (pieces.size == whole.size);
  CHECK (pieces.valid_size == whole.valid_size);
  CHECK (pieces.packets == whole.packets);
  CHECK (pieces.bad_packets == whole.bad_packets);
  CHECK (pieces.have_video == whole.have_video);
  CHECK (pieces.have_audio == whole.have_audio);
  CHECK (pieces.first_video == whole.first_video);
  CHECK (pieces.last_video == whole.last_video);
  CHECK (pieces.video_step == whole.video_step);
  CHECK (pieces.first_audio == whole.first_audio);
  CHECK (pieces.last_audio == whole.last_audio);
  CHECK (pieces.audio_step == whole.audio_step);
  return 0;
}
