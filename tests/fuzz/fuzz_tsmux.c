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

/* libFuzzer target for the FLV to MPEG-TS muxer, fed as an RTMP publisher
 * would feed it.
 *
 * The input is a list of pseudo FLV tags: 1 byte tag type, 3 bytes
 * timestamp, 2 bytes body length (big endian), then the body (cut short
 * by the end of the input). A type byte other than 8, 9 and 18 is mapped
 * onto them, unless it is 0xf0 or more (kept, to be refused). A timestamp
 * with its top bit set is absolute (the other 23 bits times 512 ms, so
 * that the whole 32-bit range is reached); otherwise it is a signed 23-bit
 * step from the previous one.
 *
 * Every push must either append whole packets or fail with a clean
 * GError and append nothing. The packets must have the sync byte, a known
 * PID and continuity counters without a gap; a push reported as a
 * keyframe must start with the PAT and the PMT. At the end the whole TS
 * goes through the MPEG-TS remuxer, which must find nothing wrong with it
 * (no continuity errors, bad packets or sections, dropped PES packets)
 * and every audio frame. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsmux.h"
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

#define TS_PACKET 188

typedef struct
{
  gint cc[4];                   /* PAT, PMT, video, audio */
  guint64 total;
} State;

static gint
pid_index (guint16 pid)
{
  switch (pid) {
    case 0x0000:
      return 0;
    case CF_TS_MUX_PMT_PID:
      return 1;
    case CF_TS_MUX_VIDEO_PID:
      return 2;
    case CF_TS_MUX_AUDIO_PID:
      return 3;
    default:
      return -1;
  }
}

/* Checks the packets one push appended to @out from @from on */
static void
check_packets (State * st, const GByteArray * out, gsize from,
    gboolean keyframe)
{
  const guint8 *p;
  gsize i, n = out->len - from;

  CHECK (n % TS_PACKET == 0);
  if (n == 0) {
    CHECK (!keyframe);
    return;
  }
  p = out->data + from;
  if (keyframe) {
    CHECK (n >= 3 * TS_PACKET);
    CHECK (p[1] == 0x40 && p[2] == 0x00);
    CHECK (p[TS_PACKET + 1] == (0x40 | (CF_TS_MUX_PMT_PID >> 8)) &&
        p[TS_PACKET + 2] == (CF_TS_MUX_PMT_PID & 0xff));
  }
  for (i = 0; i < n; i += TS_PACKET) {
    const guint8 *q = p + i;
    gint k = pid_index (((q[1] & 0x1f) << 8) | q[2]);
    guint cc = q[3] & 0x0f;

    CHECK (q[0] == 0x47);
    CHECK (k >= 0);
    /* a payload, not scrambled */
    CHECK ((q[3] & 0xd0) == 0x10);
    if (st->cc[k] >= 0)
      CHECK (cc == ((guint) st->cc[k] + 1) % 16);
    st->cc[k] = cc;
    /* touch the last byte so that the sanitizers check the bounds */
    st->total += q[TS_PACKET - 1];
  }
}

static gboolean
on_tag (guint8 type, guint32 timestamp G_GNUC_UNUSED, GBytes * body,
    gpointer user_data, GError ** error G_GNUC_UNUSED)
{
  guint *n_tags = user_data;

  CHECK (type == 8 || type == 9 || type == 18);
  CHECK (g_bytes_get_size (body) > 0);
  (*n_tags)++;
  return TRUE;
}

/* The remuxer finds a clean stream with the audio frames muxed */
static void
check_remux (const GByteArray * ts, const CfTsMuxStats * stats)
{
  guint n_tags = 0;
  CfTsRemuxer *remuxer = cf_ts_remuxer_new (on_tag, &n_tags);
  GError *error = NULL;
  CfTsStats rs;

  CHECK (cf_ts_remuxer_feed (remuxer, ts->data, ts->len, &error));
  CHECK (cf_ts_remuxer_drain (remuxer, &error));
  CHECK (error == NULL);
  cf_ts_remuxer_get_full_stats (remuxer, &rs);
  CHECK (rs.packets == ts->len / TS_PACKET);
  CHECK (rs.discontinuities == 0);
  CHECK (rs.skipped_bytes == 0);
  CHECK (rs.sync_losses == 0);
  CHECK (rs.bad_packets == 0);
  CHECK (rs.bad_sections == 0);
  CHECK (rs.dropped_pes == 0);
  CHECK (rs.adts_skipped_bytes == 0);
  CHECK (rs.audio_frames == stats->audio_frames);
  CHECK (n_tags >= rs.audio_frames + rs.video_frames);
  cf_ts_remuxer_free (remuxer);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const guint8 types[3] = { 8, 9, 18 };
  State st;
  CfTsMuxer *mux = cf_ts_muxer_new ();
  GByteArray *out = g_byte_array_new ();
  CfTsMuxStats stats;
  guint32 ts = 0;
  gsize pos = 0;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (st.cc); i++)
    st.cc[i] = -1;
  st.total = 0;

  while (size - pos >= 6) {
    guint8 type = data[pos];
    guint32 t = (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3];
    gsize len = (data[pos + 4] << 8) | data[pos + 5];
    GError *error = NULL;
    gsize before = out->len;
    guint8 *body;
    gboolean ok;

    pos += 6;
    len = MIN (len, size - pos);
    if (type != 8 && type != 9 && type != 18 && type < 0xf0)
      type = types[type % 3];
    if (t & 0x800000)
      ts = (t & 0x7fffff) << 9;
    else
      ts += (t & 0x400000) ? t - 0x800000 : t;

    /* a copy of its own, so that reads past the body are caught */
    body = len > 0 ? g_malloc (len) : NULL;
    if (len > 0)
      memcpy (body, data + pos, len);
    pos += len;
    ok = cf_ts_muxer_push_tag (mux, type, ts, body, len, out, &error);
    g_free (body);
    if (ok) {
      CHECK (error == NULL);
      check_packets (&st, out, before, cf_ts_muxer_last_was_keyframe (mux));
    } else {
      CHECK (error != NULL);
      CHECK (error->domain == CF_TS_MUX_ERROR);
      CHECK (error->code == CF_TS_MUX_ERROR_UNSUPPORTED ||
          error->code == CF_TS_MUX_ERROR_MALFORMED);
      CHECK (error->message != NULL && error->message[0] != '\0');
      CHECK (out->len == before);
      CHECK (!cf_ts_muxer_last_was_keyframe (mux));
      g_error_free (error);
    }
  }

  cf_ts_muxer_get_stats (mux, &stats);
  CHECK (stats.packets == out->len / TS_PACKET);
  CHECK (stats.keyframes <= stats.video_frames);
  check_remux (out, &stats);

  g_byte_array_unref (out);
  cf_ts_muxer_free (mux);
  return 0;
}
