// Re-exports libavutil, plus what Swift cannot import: the AVERROR macros.
#ifndef S3T_CAVUTIL_SHIM_H
#define S3T_CAVUTIL_SHIM_H
#include <errno.h>
#include <libavutil/avutil.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>

static inline int s3t_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int s3t_averror_eof(void) { return AVERROR_EOF; }
static inline int s3t_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int s3t_averror_eio(void) { return AVERROR(EIO); }
static inline int s3t_averror_einval(void) { return AVERROR(EINVAL); }
static inline int s3t_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int s3t_averror_exit(void) { return AVERROR_EXIT; }
static inline int s3t_averror(int posix_errno) { return AVERROR(posix_errno); }
static inline int64_t s3t_av_nopts_value(void) { return AV_NOPTS_VALUE; }
#endif
