/* Validating one million expectations through the C API (bench/run.sh builds and runs it).
 *
 * The corpus is the one of netfilter-helpers-core/benches/expectations.rs, byte for byte: the
 * same xorshift sequence and the same eight line shapes (conntrack -L and /proc lines of ftp,
 * sip, irc and tftp, IPv4 and IPv6, with and without event prefixes). Two measurements, best
 * of 5 runs each, kernel-default options, no policy:
 *
 *   validate  the corpus parsed once with nfh_expectations_parse, then every expectation
 *             judged with nfh_validator_conforms (one call per expectation);
 *   count     the whole text counted with nfh_judge_count on one thread (one call: splitting,
 *             parsing and judging all in the library), against Judge::count_buffer in Rust
 *             (benches/judge_count.rs).
 *
 *   cc -std=c11 -O2 -I include bench.c target/release/libnetfilter_helpers_ffi.a \
 *      -lpthread -ldl -lm -o bench
 *
 * `bench --corpus` writes the corpus to stdout instead (for the Rust benchmarks, and to compare
 * it with the core's); `bench --count` runs the count measurement only.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netfilter_helpers.h"

#define LINES 1000000
#define RUNS 5

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The corpus of benches/expectations.rs. */
static char *corpus(size_t *len_out) {
    size_t cap = (size_t)LINES * 400, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < LINES; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t r = x;
        uint32_t a = (r >> 8) & 0xff, b = (r >> 16) & 0xff;
        uint32_t port = 1024 + (r % 60000), cport = 1024 + ((r >> 3) % 60000);
        char *p = out + len;
        size_t room = cap - len;
        int n;
        switch (i % 8) {
        case 0:
            n = snprintf(p, room,
                         "299 proto=6 src=10.%u.%u.2 dst=10.%u.%u.7 sport=0 dport=%u "
                         "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
                         "master-src=10.%u.%u.7 master-dst=10.%u.%u.2 sport=%u dport=21 class=0 "
                         "helper=ftp\n",
                         a, b, b, a, port, b, a, a, b, cport);
            break;
        case 1:
            n = snprintf(p, room,
                         "179 proto=17 src=203.0.%u.5 dst=192.168.%u.10 sport=0 dport=%u "
                         "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
                         "master-src=192.168.%u.10 master-dst=203.0.%u.5 sport=5060 dport=5060 "
                         "class=1 helper=sip\n",
                         a, b, port & ~1u, b, a);
            break;
        case 2:
            n = snprintf(p, room,
                         "300 l3proto = 2 proto=6 src=0.0.0.0 dst=192.168.%u.%u sport=0 dport=%u "
                         "irc\n",
                         a, b, port);
            break;
        case 3:
            n = snprintf(p, room,
                         "    [NEW] 300 proto=17 src=10.%u.0.2 dst=10.%u.0.9 sport=0 dport=%u "
                         "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
                         "master-src=10.%u.0.9 master-dst=10.%u.0.2 sport=%u dport=69 class=0 "
                         "helper=tftp\n",
                         a, b, cport, b, a, cport);
            break;
        case 4:
            n = snprintf(p, room,
                         "299 proto=6 src=2001:db8:%x::2 dst=2001:db8:%x::7 sport=0 dport=%u "
                         "mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                         "mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 "
                         "master-src=2001:db8:%x::7 master-dst=2001:db8:%x::2 sport=%u dport=21 "
                         "class=0 helper=ftp\n",
                         a, b, port, b, a, cport);
            break;
        case 5:
            n = snprintf(p, room,
                         "179 l3proto = 2 proto=17 src=203.0.113.%u dst=192.168.1.%u sport=0 "
                         "dport=%u sip/audio\n",
                         a, b, port & ~1u);
            break;
        case 6:
            n = snprintf(p, room,
                         "[DESTROY] 3599 proto=17 src=203.0.113.5 dst=192.168.%u.%u sport=0 "
                         "dport=5060 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 "
                         "dport=65535 master-src=192.168.%u.%u master-dst=203.0.113.5 sport=5060 "
                         "dport=5060 PERMANENT class=0 helper=sip\n",
                         a, b, a, b);
            break;
        default:
            n = snprintf(p, room,
                         "299 l3proto = 10 proto=6 src=2001:0db8:0000:0000:0000:0000:0000:%04x "
                         "dst=2001:0db8:0000:0000:0000:0000:0000:%04x sport=0 dport=%u ftp\n",
                         a, b, port);
            break;
        }
        if (n < 0 || (size_t)n >= room) {
            free(out);
            return NULL;
        }
        len += (size_t)n;
    }
    *len_out = len;
    return out;
}

/* nfh_judge_count over the whole text on one thread, best of RUNS. */
static int bench_count(const char *text, size_t len) {
    nfh_judge *j = nfh_judge_new(NULL, NULL);
    if (!j)
        return 2;
    double best = 1e30;
    nfh_counts c = {0};
    for (int run = 0; run < RUNS; run++) {
        double t0 = now();
        nfh_result r = nfh_judge_count(j, (const uint8_t *)text, len, 1, &c);
        double t = now() - t0;
        if (r != NFH_RESULT_OK) {
            fprintf(stderr, "bench: nfh_judge_count failed (%u)\n", (unsigned)r);
            nfh_judge_free(j);
            return 2;
        }
        if (t < best)
            best = t;
    }
    nfh_judge_free(j);
    if (c.lines != LINES || c.conforming != LINES || c.unparsable != 0) {
        fprintf(stderr,
                "bench: counted %zu lines, %zu conforming, %zu unparsable (expected %d, %d, 0)\n",
                c.lines, c.conforming, c.unparsable, LINES, LINES);
        return 2;
    }
    printf("count %d lines (C API, nfh_judge_count, 1 thread, best of %d): %.1f ms, "
           "%.2f ns/line, %.2f M lines/s, %.0f MB/s\n",
           LINES, RUNS, best * 1e3, best * 1e9 / LINES, LINES / best / 1e6,
           (double)len / 1e6 / best);
    return 0;
}

int main(int argc, char **argv) {
    size_t len = 0;
    char *text = corpus(&len);
    if (!text) {
        fprintf(stderr, "bench: cannot build the corpus\n");
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--corpus") == 0) {
        /* For the Rust benchmarks and for comparing with the core's corpus. */
        int ok = fwrite(text, 1, len, stdout) == len;
        free(text);
        return ok ? 0 : 2;
    }
    if (argc > 1 && strcmp(argv[1], "--count") == 0) {
        int rc = bench_count(text, len);
        free(text);
        return rc;
    }
    nfh_expectations *e = NULL;
    double t0 = now();
    nfh_result r = nfh_expectations_parse((const uint8_t *)text, len, &e);
    double parse = now() - t0;
    if (r != NFH_RESULT_OK || nfh_expectations_count(e) != LINES ||
        nfh_expectations_error_count(e) != 0) {
        fprintf(stderr, "bench: %zu lines parsed, %zu errors (expected %d, 0)\n",
                nfh_expectations_count(e), nfh_expectations_error_count(e), LINES);
        return 2;
    }
    printf("parse    %d lines, %.1f MB (once, nfh_expectations_parse): %.1f ms, %.0f MB/s\n",
           LINES, (double)len / 1e6, parse * 1e3, (double)len / 1e6 / parse);

    nfh_validator *v = nfh_validator_new(NULL);
    double best = 1e30;
    size_t conforming = 0;
    for (int run = 0; run < RUNS; run++) {
        size_t c = 0;
        t0 = now();
        for (size_t i = 0; i < LINES; i++) {
            bool ok = false;
            if (nfh_validator_conforms(v, NULL, e, i, &ok) != NFH_RESULT_OK) {
                fprintf(stderr, "bench: nfh_validator_conforms failed at %zu\n", i);
                return 2;
            }
            c += ok;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
        conforming = c;
    }
    if (conforming != LINES) {
        fprintf(stderr, "bench: %zu of %d conform (the corpus conforms)\n", conforming, LINES);
        return 2;
    }
    printf("validate %d expectations (C API, nfh_validator_conforms, best of %d): %.1f ms, "
           "%.2f ns/expectation, %.2f M expectations/s\n",
           LINES, RUNS, best * 1e3, best * 1e9 / LINES, LINES / best / 1e6);
    nfh_validator_free(v);
    nfh_expectations_free(e);
    int rc = bench_count(text, len);
    free(text);
    return rc;
}
