// Re-exports libswresample.
#ifndef S3T_CSWRESAMPLE_SHIM_H
#define S3T_CSWRESAMPLE_SHIM_H
#include <libswresample/swresample.h>
#endif
