// Re-exports libcurl with typed wrappers for its variadic calls, which Swift cannot import.
#ifndef S3T_CCURL_SHIM_H
#define S3T_CCURL_SHIM_H
#include <curl/curl.h>

static inline CURLcode s3t_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode s3t_curl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode s3t_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode s3t_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode s3t_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*s3t_curl_data_fn)(char *buffer, size_t size, size_t nitems, void *userdata);
typedef int (*s3t_curl_seek_fn)(void *userdata, curl_off_t offset, int origin);
typedef int (*s3t_curl_xferinfo_fn)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode s3t_curl_easy_setopt_data_fn(CURL *h, CURLoption o, s3t_curl_data_fn f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode s3t_curl_easy_setopt_seek_fn(CURL *h, CURLoption o, s3t_curl_seek_fn f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode s3t_curl_easy_setopt_xferinfo_fn(CURL *h, CURLoption o, s3t_curl_xferinfo_fn f) { return curl_easy_setopt(h, o, f); }

static inline CURLcode s3t_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode s3t_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode s3t_curl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode s3t_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLSHcode s3t_curl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }
static inline CURLSHcode s3t_curl_share_setopt_lockfn(CURLSH *s, curl_lock_function f) { return curl_share_setopt(s, CURLSHOPT_LOCKFUNC, f); }
static inline CURLSHcode s3t_curl_share_setopt_unlockfn(CURLSH *s, curl_unlock_function f) { return curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, f); }
static inline CURLSHcode s3t_curl_share_setopt_userdata(CURLSH *s, void *p) { return curl_share_setopt(s, CURLSHOPT_USERDATA, p); }

static inline CURLMcode s3t_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
#endif
