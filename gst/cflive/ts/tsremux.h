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

#ifndef __CF_TS_REMUX_H__
#define __CF_TS_REMUX_H__

#include <glib.h>

G_BEGIN_DECLS

/* MPEG-TS to FLV remuxer.
 *
 * Turns the MPEG transport stream an encoder sends over SRT into the FLV
 * tag bodies an RTMP encoder would have sent: AVC sequence header and AVCC
 * frames for H.264, AAC sequence header and raw frames for AAC (ADTS in the
 * TS), and one onMetaData script tag before the first media tag.
 *
 * The remuxer does no I/O and can be fed any split of the byte stream; it
 * does not rely on packets being aligned with the pieces. It only uses the
 * first program of the PAT, and in it the first H.264 (stream type 0x1b)
 * and the first AAC ADTS (0x0f) elementary stream. A stream with only one
 * of them is remuxed as video-only or audio-only.
 *
 * Damage in the input is skipped and counted, never fatal: lost packet
 * sync (searched again: three packets 188 bytes apart), packets with the
 * transport error indicator, continuity counter errors (the PES being
 * assembled is dropped), truncated, oversized or malformed PES packets,
 * PSI sections with a bad CRC, unparsable parameter sets and ADTS headers.
 * Every H.264 PES packet is taken as one access unit, as all common muxers
 * write them. Video frames before the first IDR frame preceded by an SPS
 * and a PPS are dropped. A PES packet without a length (usual for video)
 * only ends when the next one starts: its frame comes out one frame late,
 * and cf_ts_remuxer_drain() gets the last one at the end of the stream.
 *
 * The AVC sequence header is sent before the first frame and again when an
 * SPS or PPS changes; the AAC one before the first frame and when the ADTS
 * profile, rate or channels change. The n-th ADTS frame of a PES gets the
 * PES PTS plus n frames of 1024 samples. onMetaData (width, height and
 * frame rate from the SPS, sample rate and channels from ADTS) is sent
 * before any other tag, once every stream of the PMT has its sequence
 * header or after CF_TS_METADATA_WAIT_MS of stream time: tags are held
 * until then.
 *
 * Timestamps are in milliseconds from the first PTS/DTS of the selected
 * streams (DTS for video), with the 33-bit wrap undone. For each stream
 * they never decrease: a jump backwards by more than
 * CF_TS_MAX_BACKWARD_JUMP_MS or forwards by more than
 * CF_TS_MAX_FORWARD_JUMP_MS (an encoder restarting within the connection),
 * or any jump outside [0, CF_TS_DISCONT_JUMP_MS] after a discontinuity
 * indicator, rebases the timeline so that the output goes on from where it
 * was, keeping audio and video together when both jumped the same way.
 * Smaller steps backwards are clamped. Timestamps wrap at 2^32 ms like
 * RTMP ones.
 *
 * Limits (memory stays bounded whatever the input):
 * - CF_TS_MAX_PES_SIZE bytes per PES packet being assembled (two at most);
 * - CF_TS_MAX_PENDING_BYTES in at most CF_TS_MAX_PENDING_TAGS tags held
 *   back until onMetaData is sent (reaching either sends the metadata with
 *   what is known);
 * - CF_TS_MAX_PARAM_SETS SPS and as many PPS, each at most
 *   CF_TS_MAX_PARAM_SET_SIZE bytes;
 * - an ADTS frame split across PES packets: at most 8191 bytes;
 * - PSI sections: 1024 bytes (the MPEG-2 maximum), two PIDs;
 * - CF_TS_MAX_SEARCH_BYTES without packet sync, or before a usable PAT and
 *   PMT, are fatal.
 * With the frame being built (at most 5/4 of its PES) that is under 50 MiB
 * in the worst case, and a few hundred KiB for a normal stream. The input
 * not processed yet is shorter than three packets. */

#define CF_TS_PACKET_SIZE 188
/* Largest PES packet assembled; a longer one is dropped */
#define CF_TS_MAX_PES_SIZE (8 * 1024 * 1024)
/* Bytes and number of tags held until the metadata can be sent */
#define CF_TS_MAX_PENDING_BYTES (8 * 1024 * 1024)
#define CF_TS_MAX_PENDING_TAGS 4096
/* Stream time after which the metadata is sent without waiting for the
 * sequence header of every stream announced in the PMT */
#define CF_TS_METADATA_WAIT_MS 1000
/* Distinct SPS and PPS ids remembered, and their largest size */
#define CF_TS_MAX_PARAM_SETS 8
#define CF_TS_MAX_PARAM_SET_SIZE 1024
/* Data without TS packet sync, or without a PAT and a PMT with H.264 or
 * AAC, after which feeding fails */
#define CF_TS_MAX_SEARCH_BYTES (2 * 1024 * 1024)
/* Timestamp jumps that rebase the timeline */
#define CF_TS_MAX_BACKWARD_JUMP_MS 1000
#define CF_TS_MAX_FORWARD_JUMP_MS 60000
#define CF_TS_DISCONT_JUMP_MS 1000

/* FLV tag types */
#define CF_TS_TAG_AUDIO 8
#define CF_TS_TAG_VIDEO 9
#define CF_TS_TAG_SCRIPT 18

#define CF_TS_ERROR (cf_ts_error_quark ())
GQuark cf_ts_error_quark (void);

typedef enum
{
  CF_TS_ERROR_NO_SYNC,          /* no TS packets in CF_TS_MAX_SEARCH_BYTES */
  CF_TS_ERROR_NO_PROGRAM,       /* no PAT and PMT in CF_TS_MAX_SEARCH_BYTES */
  CF_TS_ERROR_UNSUPPORTED,      /* the PMT has neither H.264 nor AAC */
  CF_TS_ERROR_CALLBACK,         /* the tag function failed without saying why */
} CfTsError;

typedef struct _CfTsRemuxer CfTsRemuxer;

/* Receives each FLV tag: @tag_type is CF_TS_TAG_AUDIO, CF_TS_TAG_VIDEO or
 * CF_TS_TAG_SCRIPT, @timestamp in milliseconds (DTS for video), @body the
 * AUDIODATA, VIDEODATA or SCRIPTDATA tag body (never empty); the callee
 * takes a reference to @body if it keeps it. Returning FALSE (with @error
 * set) makes cf_ts_remuxer_feed() fail with that error. */
typedef gboolean (*CfTsTagFunc) (guint8 tag_type, guint32 timestamp,
    GBytes * body, gpointer user_data, GError ** error);

/* Counters, for statistics and logs */
typedef struct
{
  guint64 bytes;                /* bytes fed */
  guint64 packets;              /* TS packets processed */
  guint64 discontinuities;      /* continuity counter errors */
  guint64 skipped_bytes;        /* bytes skipped searching for packet sync */
  guint64 sync_losses;          /* times the packet sync was lost */
  guint64 bad_packets;          /* error indicator, scrambled, malformed */
  guint64 bad_sections;         /* PSI sections malformed or with a bad CRC */
  guint64 dropped_pes;          /* PES truncated, oversized or malformed */
  guint64 dropped_frames;       /* frames that could not be used */
  guint64 adts_skipped_bytes;   /* bytes skipped searching for ADTS sync */
  guint64 rebases;              /* timeline rebases (timestamp jumps) */
  guint64 video_frames;         /* video frame tags sent */
  guint64 audio_frames;         /* audio frame tags sent */
} CfTsStats;

CfTsRemuxer *cf_ts_remuxer_new (CfTsTagFunc func, gpointer user_data);
void cf_ts_remuxer_free (CfTsRemuxer * remuxer);

/* Feeds the next @size bytes of the stream, calling the tag function for
 * each tag completed. Returns FALSE with an error in the CF_TS_ERROR
 * domain (or the tag function's error) when the connection must be
 * dropped; every later call then fails the same way. */
gboolean cf_ts_remuxer_feed (CfTsRemuxer * remuxer, const guint8 * data,
    gsize size, GError ** error);

/* At the end of the stream: completes the PES packets whose end is only
 * known when the next one starts, and sends the tags held back for the
 * metadata. Feeding can go on afterwards. */
gboolean cf_ts_remuxer_drain (CfTsRemuxer * remuxer, GError ** error);

void cf_ts_remuxer_get_stats (CfTsRemuxer * remuxer, guint64 * packets,
    guint64 * discontinuities, guint64 * skipped_bytes);
void cf_ts_remuxer_get_full_stats (CfTsRemuxer * remuxer, CfTsStats * stats);

/* The codec of the first video and audio stream of the PMT, whether it is
 * used or not: "h264", "hevc", "mpeg2video", "aac", "mp3", "ac3", "opus",
 * ... or NULL when there is none (or no PMT yet). */
const gchar *cf_ts_remuxer_get_video_codec (CfTsRemuxer * remuxer);
const gchar *cf_ts_remuxer_get_audio_codec (CfTsRemuxer * remuxer);

/* What was found in the stream so far; -1 or 0 when unknown. */
void cf_ts_remuxer_get_video_info (CfTsRemuxer * remuxer, gint * width,
    gint * height, gint * profile, gint * level);
void cf_ts_remuxer_get_audio_info (CfTsRemuxer * remuxer, gint * rate,
    gint * channels);

G_END_DECLS

#endif /* __CF_TS_REMUX_H__ */
