// Re-exports zlib (crc32, crc32_combine for the full-object checksum).
#ifndef S3T_CZLIB_SHIM_H
#define S3T_CZLIB_SHIM_H
#include <zlib.h>
#endif
