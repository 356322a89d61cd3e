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

/* libFuzzer target for the MPEG-TS to FLV remuxer, fed as an SRT peer
 * would feed it.
 *
 * The whole input is MPEG-TS. It is fed in pieces whose sizes come from
 * its first byte (a plain TS file, starting with 0x47, goes in SRT-sized
 * messages with a few odd ones), then drained. With other first bytes the
 * tag function may also fail after a few tags, as when the element stops. Every tag must be well
 * formed: a known type, a non-empty body, the metadata first and once,
 * timestamps that never decrease per type, a sequence header before the
 * frames, AVCC NAL lengths that add up. Failures must be clean GErrors,
 * and a failed remuxer must stay failed.
 *
 * The PSI CRC is not enforced in this build (FUZZING_BUILD_MODE_UNSAFE_FOR_
 * PRODUCTION) so that mutated PAT and PMT sections get parsed. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsremux.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

#define CHECK(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) { \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
          #cond); \
      abort (); \
    } \
  } G_STMT_END

#define FUZZ_ERROR (g_quark_from_static_string ("fuzz-error"))

typedef struct
{
  guint fail_at;                /* 0: never */
  guint n_tags;
  gboolean have_last[3];
  guint32 last[3];
  gboolean avc_header;
  gboolean aac_header;
  guint64 video_frames;
  guint64 audio_frames;
  guint64 total;
} State;

static const gsize ts_pieces[] = { 1316, 1316, 1, 1315, 188, 7, 2000, 1316 };

static void
check_video (State * st, const guint8 * d, gsize n)
{
  gsize pos;

  CHECK (n >= 5);
  CHECK (d[0] == 0x17 || d[0] == 0x27);
  CHECK (d[1] == 0 || d[1] == 1);
  if (d[1] == 0) {
    /* AVC sequence header: AVCDecoderConfigurationRecord with 4-byte
     * lengths, at least one SPS and one PPS */
    CHECK (d[0] == 0x17);
    CHECK (n >= 5 + 7);
    CHECK (d[5] == 1);
    CHECK (d[9] == 0xff);
    CHECK ((d[10] & 0x1f) >= 1);
    st->avc_header = TRUE;
    return;
  }
  CHECK (st->avc_header);
  /* CTS: PTS - DTS within [0, 10 s] */
  CHECK (((d[2] << 16) | (d[3] << 8) | d[4]) <= 10000);
  CHECK (n > 5);
  for (pos = 5; pos < n;) {
    guint32 len;

    CHECK (n - pos > 4);
    len = ((guint32) d[pos] << 24) | (d[pos + 1] << 16) | (d[pos + 2] << 8) |
        d[pos + 3];
    CHECK (len > 0 && len <= n - pos - 4);
    /* no access unit delimiters or parameter sets in frames */
    CHECK ((d[pos + 4] & 0x1f) != 7 && (d[pos + 4] & 0x1f) != 8 &&
        (d[pos + 4] & 0x1f) != 9);
    pos += 4 + len;
  }
  st->video_frames++;
}

static void
check_audio (State * st, const guint8 * d, gsize n)
{
  CHECK (n >= 2);
  CHECK (d[0] == 0xaf);
  CHECK (d[1] == 0 || d[1] == 1);
  if (d[1] == 0) {
    CHECK (n == 4);
    st->aac_header = TRUE;
    return;
  }
  CHECK (st->aac_header);
  CHECK (n > 2);
  st->audio_frames++;
}

static gboolean
on_tag (guint8 type, guint32 timestamp, GBytes * body, gpointer user_data,
    GError ** error)
{
  State *st = user_data;
  gsize n;
  const guint8 *d = g_bytes_get_data (body, &n);
  guint k;

  CHECK (type == 8 || type == 9 || type == 18);
  CHECK (n > 0);
  /* touch every byte so that the sanitizers check the bounds */
  st->total += d[0] + d[n - 1] + n;

  /* onMetaData first, and only once */
  CHECK ((type == 18) == (st->n_tags == 0));
  st->n_tags++;

  k = type == 8 ? 0 : type == 9 ? 1 : 2;
  if (st->have_last[k])
    CHECK (timestamp >= st->last[k]);
  st->have_last[k] = TRUE;
  st->last[k] = timestamp;

  if (type == 9)
    check_video (st, d, n);
  else if (type == 8)
    check_audio (st, d, n);
  else
    CHECK (n > 13 && memcmp (d, "\x02\x00\x0aonMetaData", 13) == 0);

  if (st->n_tags == st->fail_at) {
    g_set_error (error, FUZZ_ERROR, 1, "refused");
    return FALSE;
  }
  return TRUE;
}

static void
check_error (CfTsRemuxer * remuxer, GError * error)
{
  GError *again = NULL;

  CHECK (error != NULL);
  if (error->domain == FUZZ_ERROR) {
    /* the tag function's own error, as it set it */
    CHECK (error->code == 1);
  } else {
    CHECK (error->domain == CF_TS_ERROR);
    CHECK (error->code >= CF_TS_ERROR_NO_SYNC &&
        error->code <= CF_TS_ERROR_UNSUPPORTED);
  }
  CHECK (error->message != NULL && error->message[0] != '\0');
  if (error->code == CF_TS_ERROR_UNSUPPORTED)
    CHECK (strstr (error->message, "found: ") != NULL);

  /* failed for good */
  CHECK (!cf_ts_remuxer_feed (remuxer, (const guint8 *) "\x47", 1, &again));
  CHECK (g_error_matches (again, error->domain, error->code));
  g_error_free (again);
  CHECK (!cf_ts_remuxer_drain (remuxer, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  State st = { 0 };
  CfTsRemuxer *remuxer = cf_ts_remuxer_new (on_tag, &st);
  GError *error = NULL;
  CfTsStats stats;
  guint64 packets, discontinuities, skipped;
  gint width, height, profile, level, rate, channels;
  const gchar *codec;
  gboolean ok = TRUE;
  gsize pos = 0;
  guint i = 0;
  guint8 mode = size > 0 ? data[0] : 0;

  if (mode != 0x47 && (mode & 0x80))
    st.fail_at = 1 + (mode & 0x0f);

  while (pos < size && ok) {
    gsize n;

    if (mode == 0x47)
      n = ts_pieces[i % G_N_ELEMENTS (ts_pieces)];
    else
      n = 1 + ((mode * 31 + i * 17) % ((mode & 0x0f) * 64 + 1));
    i++;
    n = MIN (n, size - pos);
    ok = cf_ts_remuxer_feed (remuxer, data + pos, n, &error);
    pos += n;
  }
  if (ok)
    ok = cf_ts_remuxer_drain (remuxer, &error);
  if (!ok)
    check_error (remuxer, error);
  else
    CHECK (error == NULL);
  g_clear_error (&error);

  cf_ts_remuxer_get_full_stats (remuxer, &stats);
  CHECK (stats.bytes == (ok ? size : stats.bytes));
  CHECK (stats.packets * 188 <= stats.bytes);
  CHECK (stats.video_frames == st.video_frames);
  CHECK (stats.audio_frames == st.audio_frames);
  if (ok)
    CHECK (stats.packets * 188 + stats.skipped_bytes <= stats.bytes);
  cf_ts_remuxer_get_stats (remuxer, &packets, &discontinuities, &skipped);
  CHECK (packets == stats.packets);
  CHECK (discontinuities == stats.discontinuities);
  CHECK (skipped == stats.skipped_bytes);

  /* what was found, when known (a new PMT forgets it), is sane */
  cf_ts_remuxer_get_video_info (remuxer, &width, &height, &profile, &level);
  if (width != 0) {
    CHECK (width > 0 && width <= 16384 && height > 0 && height <= 32768);
    CHECK (profile >= 0 && profile <= 255 && level >= 0 && level <= 255);
  } else {
    CHECK (height == 0 && profile == -1 && level == -1);
  }
  cf_ts_remuxer_get_audio_info (remuxer, &rate, &channels);
  if (rate != 0)
    CHECK (rate >= 7350 && rate <= 96000 && channels >= 0 && channels <= 7);
  else
    CHECK (channels == -1);
  codec = cf_ts_remuxer_get_video_codec (remuxer);
  CHECK (codec == NULL || codec[0] != '\0');
  codec = cf_ts_remuxer_get_audio_codec (remuxer);
  CHECK (codec == NULL || codec[0] != '\0');

  cf_ts_remuxer_free (remuxer);
  return 0;
}
