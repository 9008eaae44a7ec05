// Re-exports OpenSSL's libcrypto: the EVP digests (SHA-256, MD5, SHA-1) and one-shot HMAC, which
// SigV4's MessageDigest.swift wraps. The same library curl uses for TLS, so one crypto library.
#ifndef S3T_COPENSSL_SHIM_H
#define S3T_COPENSSL_SHIM_H
// Hides what OpenSSL 3 (or 1.1) deprecates: a call to it is a compile error, not a warning.
#ifndef OPENSSL_NO_DEPRECATED
#define OPENSSL_NO_DEPRECATED
#endif
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
