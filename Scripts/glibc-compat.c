/* Linked into the portable release binary only (Scripts/build-release.sh): keeps every glibc
 * symbol it needs at GLIBC_2.34 or older, so it runs on Amazon Linux 2023, RHEL 9, Ubuntu 22.04. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Every definition here is hidden: the binary's own references bind to it when linked, and it is
 * not exported. An exported one would interpose: the dynamic loader binds a versioned reference
 * (hypot@GLIBC_2.2.5, from the wrapper below) to an unversioned definition in the executable
 * first, so hypot called itself for ever (seen: the AAC decoder's table setup spinning at 100 %). */
#define S3T_HIDDEN __attribute__((visibility("hidden")))

/* hypot, hypotf: glibc 2.35 added new default versions (errno handling only); 2.2.5's compute the same. */
double s3t_hypot_2_2_5(double, double);
float s3t_hypotf_2_2_5(float, float);
__asm__(".symver s3t_hypot_2_2_5, hypot@GLIBC_2.2.5");
__asm__(".symver s3t_hypotf_2_2_5, hypotf@GLIBC_2.2.5");
S3T_HIDDEN double hypot(double x, double y) { return s3t_hypot_2_2_5(x, y); }
S3T_HIDDEN float hypotf(float x, float y) { return s3t_hypotf_2_2_5(x, y); }

/* _dl_find_object (glibc 2.35), which GCC 12's static unwinder (libgcc_eh.a) calls to find a
 * frame's unwind table: the same answer from dl_iterate_phdr (glibc 2.2.4), as older glibc had. */
struct s3t_search { uintptr_t pc; struct dl_find_object *result; int found; };

static int s3t_visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct s3t_search *search = data;
    uintptr_t start = UINTPTR_MAX, end = 0;
    void *eh_frame = NULL;
    int contains = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t address = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type == PT_LOAD) {
            if (address < start) start = address;
            if (address + segment->p_memsz > end) end = address + segment->p_memsz;
            if (search->pc >= address && search->pc < address + segment->p_memsz) contains = 1;
        } else if (segment->p_type == PT_GNU_EH_FRAME) {
            eh_frame = (void *)address;
        }
    }
    if (!contains) return 0;
    memset(search->result, 0, sizeof *search->result);
    search->result->dlfo_map_start = (void *)start;
    search->result->dlfo_map_end = (void *)end;
    search->result->dlfo_eh_frame = eh_frame;
    search->found = 1;
    return 1;
}

S3T_HIDDEN int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct s3t_search search = { (uintptr_t)pc, result, 0 };
    dl_iterate_phdr(s3t_visit, &search);
    return search.found ? 0 : -1;
}

/* arc4random, arc4random_buf (glibc 2.36; libstdc++'s random_device): the kernel's bytes through
 * getrandom (glibc 2.25), which is where glibc's own take them from; aborts on failure as glibc's do. */
S3T_HIDDEN void arc4random_buf(void *buffer, size_t count) {
    char *p = buffer;
    while (count > 0) {
        ssize_t got = getrandom(p, count, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        p += got;
        count -= (size_t)got;
    }
}

S3T_HIDDEN uint32_t arc4random(void) {
    uint32_t value;
    arc4random_buf(&value, sizeof value);
    return value;
}
