// Re-exports libavcodec.
#ifndef S3T_CAVCODEC_SHIM_H
#define S3T_CAVCODEC_SHIM_H
#include <libavcodec/avcodec.h>
#endif
