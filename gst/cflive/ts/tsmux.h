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

#ifndef __CF_TS_MUX_H__
#define __CF_TS_MUX_H__

#include <glib.h>

G_BEGIN_DECLS

/* FLV tags to MPEG-TS muxer.
 *
 * The reverse of the remuxer in tsremux.h: turns the FLV tags an RTMP
 * encoder sends (H.264 and AAC) into 188-byte MPEG-TS packets, for the SRT
 * destinations of the restream sink. It does no I/O: the packets of each
 * tag are appended to a byte array, computed once and sent to every
 * output.
 *
 * One program (number CF_TS_MUX_PROGRAM, PMT on CF_TS_MUX_PMT_PID) with
 * H.264 (stream type 0x1b) on CF_TS_MUX_VIDEO_PID and AAC in ADTS (0x0f)
 * on CF_TS_MUX_AUDIO_PID. A stream is in the PMT once its sequence header
 * was pushed; the PCR is on the video PID, or on the audio PID while there
 * is no video. The PAT and PMT go before every video keyframe, whenever
 * the PMT changes (its version is then incremented), and at least every
 * CF_TS_MUX_PSI_INTERVAL_MS of stream time (the timestamps of the video,
 * or of the audio before the first video frame) or when it goes back.
 *
 * Video: the AVCDecoderConfigurationRecord gives the NAL length size and
 * the parameter sets. Each frame becomes one PES packet (stream id 0xe0,
 * unbounded length) holding one Annex B access unit: an access unit
 * delimiter, the SPS and PPS on keyframes, then the NAL units of the
 * frame (access unit delimiters in them are dropped). Keyframes (FLV frame
 * type 1, or an IDR slice) get the random_access_indicator. The first
 * packet of each video PES carries a PCR CF_TS_MUX_PCR_DELAY ticks before
 * its DTS. Frames before the first keyframe are dropped; end of sequence
 * tags and video info/command frames are ignored.
 *
 * Audio: the AudioSpecificConfig gives the ADTS profile, sampling
 * frequency index and channel configuration (HE-AAC is written as its AAC
 * LC core, the usual implicit signalling). Each raw frame becomes one PES
 * packet (stream id 0xc0, bounded length) with a 7-byte ADTS header;
 * without video, its first packet carries a PCR CF_TS_MUX_PCR_DELAY ticks
 * before its PTS.
 *
 * Timestamps: 90 kHz = milliseconds * 90 + CF_TS_MUX_TS_OFFSET, modulo
 * 2^33 (so the 2^32 ms wrap of FLV timestamps is the 33-bit wrap of MPEG
 * ones). PTS = DTS + composition time for video (a negative composition
 * time counts as 0); the DTS is only written when it differs from the
 * PTS. A PCR that goes backwards, or forwards by more than
 * CF_TS_MUX_MAX_PCR_JUMP ticks, is sent with the discontinuity_indicator.
 *
 * Errors: a codec other than H.264 and AAC, an FLV tag type other than 8,
 * 9 and 18, and a sequence header that is malformed or not expressible in
 * MPEG-TS (an AudioSpecificConfig ADTS cannot carry) make
 * cf_ts_muxer_push_tag() fail. Nothing is appended then and the state is
 * unchanged: the muxer can go on with the next tag. Damaged frames (NAL
 * lengths past the end of the tag, a frame before its sequence header,
 * an AAC frame too long for ADTS, ...) are dropped and counted.
 *
 * Memory is bounded: CF_TS_MUX_MAX_PARAM_SETS SPS and as many PPS of at
 * most CF_TS_MUX_MAX_PARAM_SET_SIZE bytes each, and a work buffer the size
 * of the largest PES packet (released when it was over 1 MiB). */

#define CF_TS_MUX_PROGRAM 1
#define CF_TS_MUX_PMT_PID 0x1000
#define CF_TS_MUX_VIDEO_PID 0x100
#define CF_TS_MUX_AUDIO_PID 0x101

/* PAT and PMT repetition, in milliseconds of stream time */
#define CF_TS_MUX_PSI_INTERVAL_MS 500
/* Added to every timestamp (90 kHz): 1 s, so that the PCR and the PTS and
 * DTS of streams starting at 0 stay positive */
#define CF_TS_MUX_TS_OFFSET 90000
/* How much the PCR is before the DTS of its video frame (90 kHz): 100 ms */
#define CF_TS_MUX_PCR_DELAY 9000
/* A forward PCR step beyond this (90 kHz, 10 s) is a discontinuity */
#define CF_TS_MUX_MAX_PCR_JUMP (10 * 90000)

/* SPS and PPS kept from the AVC sequence header, and their largest size */
#define CF_TS_MUX_MAX_PARAM_SETS 8
#define CF_TS_MUX_MAX_PARAM_SET_SIZE 1024

#define CF_TS_MUX_ERROR (cf_ts_mux_error_quark ())
GQuark cf_ts_mux_error_quark (void);

typedef enum
{
  CF_TS_MUX_ERROR_UNSUPPORTED,  /* a codec or tag type MPEG-TS cannot get */
  CF_TS_MUX_ERROR_MALFORMED,    /* a sequence header that cannot be used */
} CfTsMuxError;

/* Counters, for statistics and logs */
typedef struct
{
  guint64 packets;              /* TS packets written */
  guint64 psi;                  /* times the PAT and PMT were written */
  guint64 video_frames;         /* video frames muxed */
  guint64 audio_frames;         /* audio frames muxed */
  guint64 keyframes;            /* video keyframes muxed */
  guint64 dropped_frames;       /* frames that could not be muxed */
} CfTsMuxStats;

typedef struct _CfTsMuxer CfTsMuxer;

CfTsMuxer *cf_ts_muxer_new (void);
void cf_ts_muxer_free (CfTsMuxer * muxer);

/* Feeds one FLV tag: @tag_type 8 (audio), 9 (video) or 18 (script data),
 * @timestamp in milliseconds (DTS for video), @body the FLV tag body
 * (AUDIODATA, VIDEODATA or SCRIPTDATA) of @size bytes.
 *
 * Appends the resulting 188-byte TS packets to @out: possibly none, as
 * sequence headers only update the state and script data is ignored.
 * Returns FALSE with an error in the CF_TS_MUX_ERROR domain, appending
 * nothing, for what cannot be muxed: a codec other than H.264 and AAC
 * (the message names it), a malformed AVC or AAC sequence header, an
 * unknown tag type. */
gboolean cf_ts_muxer_push_tag (CfTsMuxer * muxer, guint8 tag_type,
    guint32 timestamp, const guint8 * body, gsize size, GByteArray * out,
    GError ** error);

/* TRUE when the packets the last cf_ts_muxer_push_tag() appended start
 * with a PAT and a PMT followed by a video keyframe (in a stream without
 * video: by an audio frame), so that a receiver can start there. FALSE
 * after any other tag, and after a call that appended nothing. */
gboolean cf_ts_muxer_last_was_keyframe (CfTsMuxer * muxer);

void cf_ts_muxer_get_stats (CfTsMuxer * muxer, CfTsMuxStats * stats);

G_END_DECLS

#endif /* __CF_TS_MUX_H__ */
