/* A tiny assertion helper for the C API tests: one output line per check, a closing
 * "N passed, N failed" line, and an exit status that is non-zero when any check failed.
 *
 *   CHECK(cond, "what is checked %d", x);
 *   CHECK_RES(nfh_call(...), NFH_RESULT_OK, "what is checked");
 *   return check_summary();
 */
#ifndef NFH_CHECK_H
#define NFH_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "netfilter_helpers.h"

static unsigned check_passed;
static unsigned check_failed;

static inline const char *check_result_name(unsigned r) {
    switch (r) {
    case NFH_RESULT_OK: return "NFH_RESULT_OK";
    case NFH_RESULT_NULL_PARAMETER: return "NFH_RESULT_NULL_PARAMETER";
    case NFH_RESULT_INVALID_PARAMETER: return "NFH_RESULT_INVALID_PARAMETER";
    case NFH_RESULT_INSUFFICIENT_SIZE: return "NFH_RESULT_INSUFFICIENT_SIZE";
    case NFH_RESULT_PANIC: return "NFH_RESULT_PANIC";
    case NFH_RESULT_INVALID_UTF8: return "NFH_RESULT_INVALID_UTF8";
    case NFH_RESULT_STOPPED: return "NFH_RESULT_STOPPED";
    case NFH_RESULT_UNKNOWN_NAME: return "NFH_RESULT_UNKNOWN_NAME";
    case NFH_RESULT_INVALID_VALUE: return "NFH_RESULT_INVALID_VALUE";
    case NFH_RESULT_PARSE_ERROR: return "NFH_RESULT_PARSE_ERROR";
    case NFH_RESULT_RENDER_ERROR: return "NFH_RESULT_RENDER_ERROR";
    case NFH_RESULT_READ_ERROR: return "NFH_RESULT_READ_ERROR";
    case NFH_RESULT_PERMISSION_DENIED: return "NFH_RESULT_PERMISSION_DENIED";
    case NFH_RESULT_NOT_AVAILABLE: return "NFH_RESULT_NOT_AVAILABLE";
    case NFH_RESULT_IO_ERROR: return "NFH_RESULT_IO_ERROR";
    default: return "(unknown result)";
    }
}

static inline void check_vreport(int ok, const char *file, int line, const char *detail,
                          const char *fmt, va_list ap) {
    unsigned n = check_passed + check_failed + 1;
    if (ok) {
        check_passed++;
        printf("ok %u - ", n);
    } else {
        check_failed++;
        printf("FAIL %u - ", n);
    }
    vprintf(fmt, ap);
    if (!ok)
        printf("  [%s:%d: %s]", file, line, detail);
    putchar('\n');
    fflush(stdout);
}

static inline int check_at(int ok, const char *file, int line, const char *expr, const char *fmt,
                    ...) {
    va_list ap;
    va_start(ap, fmt);
    check_vreport(ok, file, line, expr, fmt, ap);
    va_end(ap);
    return ok;
}

static inline int check_res_at(unsigned got, unsigned want, const char *file, int line,
                        const char *fmt, ...) {
    char detail[160];
    va_list ap;
    snprintf(detail, sizeof detail, "got %s (%u), want %s (%u)", check_result_name(got), got,
             check_result_name(want), want);
    va_start(ap, fmt);
    check_vreport(got == want, file, line, detail, fmt, ap);
    va_end(ap);
    return got == want;
}

/* CHECK(condition, printf-format, args...): records and prints one check. */
#define CHECK(cond, ...) check_at((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)
/* CHECK_RES(call, expected nfh_result, printf-format, args...). */
#define CHECK_RES(got, want, ...) \
    check_res_at((unsigned)(got), (unsigned)(want), __FILE__, __LINE__, __VA_ARGS__)

/* Prints the closing line and returns the exit status. */
static inline int check_summary(void) {
    printf("%u passed, %u failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif /* NFH_CHECK_H */
