// Re-exports expat, the XML parser S3's answers are read with.
#ifndef S3T_CEXPAT_SHIM_H
#define S3T_CEXPAT_SHIM_H
#include <expat.h>
#endif
