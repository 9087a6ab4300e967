/* nfh_validator_conforms is documented as "Allocates nothing: the fast path for judging many
 * expectations". This program counts the allocations the library makes during the call by
 * wrapping the allocator at link time, so it needs extra link flags (../run-c-tests.sh):
 *
 *   cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I include test_alloc.c \
 *      target/debug/libnetfilter_helpers_ffi.a -lpthread -ldl -lm \
 *      -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc
 *
 * Only calls made from the objects linked into the program (the Rust library and this file)
 * are counted; the C library's own allocations are not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netfilter_helpers.h"
#include "check.h"

static int counting;
static unsigned long allocations;

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);

void *__wrap_malloc(size_t n) {
    allocations += counting;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n) {
    allocations += counting;
    return __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n) {
    allocations += counting;
    return __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    allocations += counting;
    return __real_posix_memalign(p, align, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    allocations += counting;
    return __real_aligned_alloc(align, n);
}

#define CALLS 1000

/* Allocations per nfh_validator_conforms call on expectation `i` (-1 when the call fails). */
static long per_call(const nfh_validator *v, const nfh_policy *p, const nfh_expectations *e,
                     size_t i) {
    bool ok;
    allocations = 0;
    counting = 1;
    for (int k = 0; k < CALLS; k++)
        if (nfh_validator_conforms(v, p, e, i, &ok) != NFH_RESULT_OK) {
            counting = 0;
            return -1;
        }
    counting = 0;
    return (long)(allocations / CALLS);
}

int main(void) {
    static const char lines[] =
        /* 0: a conforming conntrack line: no finding at all. */
        "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 "
        "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
        "sport=55446 dport=21 class=0 helper=ftp\n"
        /* 1: a conforming /proc line: one info finding (master unknown). */
        "299 l3proto = 2 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp\n"
        /* 2: an FTP bounce: nonconforming. */
        "299 proto=6 src=10.71.2.2 dst=10.71.2.3 sport=0 dport=50001 mask-src=255.255.255.255 "
        "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
        "sport=55456 dport=21 class=0 helper=ftp\n";
    nfh_expectations *e = NULL;
    nfh_expectations_parse((const uint8_t *)lines, strlen(lines), &e);
    nfh_validator *v = nfh_validator_new(NULL);
    nfh_policy *deny = NULL;
    nfh_policy_parse("default = \"deny\"\n", NFH_DOC_FORMAT_TOML, &deny, NULL);
    if (nfh_expectations_count(e) != 3 || !v || !deny) {
        printf("setup failed\n");
        return 2;
    }

    long a;
    a = per_call(v, NULL, e, 0);
    CHECK(a == 0, "nfh_validator_conforms: conforming conntrack line, no policy: %ld "
                  "allocations per call (documented: none)",
          a);
    a = per_call(v, NULL, e, 1);
    CHECK(a == 0, "nfh_validator_conforms: conforming /proc line (info finding): %ld "
                  "allocations per call (documented: none)",
          a);
    a = per_call(v, NULL, e, 2);
    CHECK(a == 0, "nfh_validator_conforms: nonconforming line (FTP bounce): %ld "
                  "allocations per call (documented: none)",
          a);
    a = per_call(v, deny, e, 0);
    CHECK(a == 0, "nfh_validator_conforms: line the policy denies: %ld allocations "
                  "per call (documented: none)",
          a);

    nfh_policy_free(deny);
    nfh_validator_free(v);
    nfh_expectations_free(e);
    return check_summary();
}
