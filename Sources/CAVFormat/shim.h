// Re-exports libavformat, and hides the AVIO callback signature change:
// FFmpeg 7 (libavformat 61) made the write callback take `const uint8_t *`.
#ifndef S3T_CAVFORMAT_SHIM_H
#define S3T_CAVFORMAT_SHIM_H
#include <libavformat/avformat.h>
#include <libavformat/avio.h>

typedef int (*s3t_avio_read_fn)(void *opaque, uint8_t *buf, int buf_size);
typedef int (*s3t_avio_write_fn)(void *opaque, const uint8_t *buf, int buf_size);
typedef int64_t (*s3t_avio_seek_fn)(void *opaque, int64_t offset, int whence);

/// avio_alloc_context with one callback signature on every FFmpeg version.
/// `buffer` must come from av_malloc; the context owns it from here on.
static inline AVIOContext *s3t_avio_alloc_context(unsigned char *buffer, int buffer_size, int write_flag,
                                                  void *opaque, s3t_avio_read_fn read_packet,
                                                  s3t_avio_write_fn write_packet, s3t_avio_seek_fn seek) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    return avio_alloc_context(buffer, buffer_size, write_flag, opaque, read_packet, write_packet, seek);
#else
    return avio_alloc_context(buffer, buffer_size, write_flag, opaque, read_packet,
                              (int (*)(void *, uint8_t *, int))write_packet, seek);
#endif
}

static inline int s3t_avseek_size(void) { return AVSEEK_SIZE; }
static inline int s3t_avseek_force(void) { return AVSEEK_FORCE; }
static inline int s3t_avio_seekable_normal(void) { return AVIO_SEEKABLE_NORMAL; }
static inline int s3t_avfmt_flag_custom_io(void) { return AVFMT_FLAG_CUSTOM_IO; }
#endif
