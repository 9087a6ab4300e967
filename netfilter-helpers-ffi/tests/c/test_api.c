/* Tests of the netfilter-helpers C API (include/netfilter_helpers.h), written in C.
 *
 * Every exported function is called, with its error paths: NULL for every pointer argument,
 * invalid UTF-8, short buffers (size query, then exactly size + 1), out-of-range enum values
 * and indexes, bad input with every problem listed, and _free(NULL). Real results are checked
 * too (module options change the model, a bounce is nonconforming, a policy rejects, a site
 * renders). One line is printed per check, then "N passed, N failed".
 *
 * Build (see ../run-c-tests.sh, which also runs it under ASan/UBSan and valgrind):
 *   cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I include \
 *      netfilter-helpers-ffi/tests/c/test_api.c target/debug/libnetfilter_helpers_ffi.a \
 *      -lpthread -ldl -lm
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netfilter_helpers.h"
#include "check.h"

/* ------------------------------------------------------------------------------------------ */
/* Samples (the same text as examples/site.toml and examples/samples/).                       */

static const char SAMPLE_SITE[] =
    "kernel = \"6.1.0\"\n"
    "table = \"nfh\"\n"
    "rpfilter = true\n"
    "[options]\n"
    "\"ftp.loose\" = 0\n"
    "\"sip.sip_direct_media\" = 0\n"
    "[[interfaces]]\n"
    "name = \"wan0\"\n"
    "default_route = true\n"
    "networks = [\"198.51.100.2/24\", \"2001:db8:ff::2/64\"]\n"
    "[[interfaces]]\n"
    "name = \"lan0\"\n"
    "networks = [\"10.81.1.1/24\", \"fd81:1::1/64\"]\n"
    "routed = [\"10.81.3.0/24\"]\n"
    "dhcp = true\n"
    "[[interfaces]]\n"
    "name = \"dmz0\"\n"
    "networks = [\"10.81.2.1/24\", \"fd81:2::1/64\"]\n"
    "[[services]]\n"
    "name = \"ftp-dmz\"\n"
    "helper = \"ftp\"\n"
    "direction = \"inbound\"\n"
    "servers = [\"10.81.2.10\", \"fd81:2::10\"]\n"
    "ports = [21, 2121]\n"
    "public = [\"198.51.100.2\"]\n"
    "[[services]]\n"
    "name = \"voip\"\n"
    "helper = \"sip\"\n"
    "direction = \"outbound\"\n"
    "clients = [\"10.81.1.0/24\"]\n"
    "servers = [\"203.0.113.5\"]\n"
    "related = [\"198.18.0.0/24\"]\n"
    "[[services]]\n"
    "name = \"tftp-boot\"\n"
    "helper = \"tftp\"\n"
    "direction = \"local\"\n"
    "servers = [\"10.81.1.5\"]\n";

/* Line 1 conforms; line 2 is an FTP bounce (third-party destination); line 3 a SIP media
 * expectation with a wildcard source; lines 4 and 5 are /proc lines that conform to the model;
 * line 6 does not parse (dport 99999). */
static const char SAMPLE_EXPECTATIONS[] =
    "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=55446 dport=21 class=0 helper=ftp\n"
    "299 proto=6 src=10.71.2.2 dst=10.71.2.3 sport=0 dport=50001 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=55456 dport=21 class=0 helper=ftp\n"
    "    [NEW] 179 proto=17 src=0.0.0.0 dst=10.71.2.3 sport=0 dport=49200 mask-src=0.0.0.0 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=5060 dport=5060 class=1 helper=sip\n"
    "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.71.1.2 sport=0 dport=50010 irc\n"
    "299 l3proto = 2 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp\n"
    "300 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=99999 mask-src=255.255.255.255\n";

static const char SAMPLE_POLICY[] =
    "default = \"deny\"\n"
    "[helpers.ftp]\n"
    "destinations = [\"10.71.1.0/24\", \"10.71.2.2\"]\n"
    "min_port = 1024\n"
    "[helpers.sip]\n"
    "sources = [\"203.0.113.0/24\"]\n"
    "destinations = [\"10.71.1.0/24\"]\n"
    "classes = [\"signalling\", \"audio\"]\n"
    "[helpers.tftp]\n"
    "destinations = [\"10.71.1.0/24\"]\n";

static const char SAMPLE_MODPROBE[] =
    "# A modprobe.d file as found on many firewalls: some of it is wrong, some dangerous.\n"
    "options nf_conntrack nf_conntrack_helper=0\n"
    "options nf_conntrack_ftp ports=21,2121 loose=1\n"
    "options nf_conntrack_irc max_dcc_channels=300\n"
    "options nf_conntrack_sip sip_direct_media=0 \\\n"
    "    sip_external_media=1\n"
    "options nf_conntrack_h323 gkrouted_only=1\n"
    "options nf_conntrack_tftp ports=69,69\n"
    "options snd_hda_intel power_save=1\n";

/* An FTP bounce: the data connection goes to 10.0.0.77, neither end of the master. */
static const char BOUNCE_LINE[] =
    "299 proto=6 src=10.0.1.2 dst=10.0.0.77 sport=0 dport=50000 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.2 master-dst=10.0.1.2 "
    "sport=40000 dport=21 class=0 helper=ftp";

/* Invalid UTF-8: a lone continuation byte, an overlong '/', a truncated sequence, a
 * surrogate, and 0xff. */
static const char *const BAD_UTF8[] = {"ftp.loose=\x80", "\xc0\xaf", "abc\xe2\x82",
                                       "\xed\xa0\x80", "options nf_conntrack_ftp loose=\xff"};
#define N_BAD_UTF8 (sizeof BAD_UTF8 / sizeof BAD_UTF8[0])

#define SIZE_SENTINEL ((size_t)0xdeadbeef)
#define SEV_SENTINEL ((uint32_t)0xfeedu)

/* A pointer value no API call returns: "out" arguments must keep it on failure. */
static char sentinel_object;
#define SENTINEL_PTR ((void *)&sentinel_object)

/* ------------------------------------------------------------------------------------------ */
/* The buffer protocol, run on every text output.                                             */

typedef struct text_ctx {
    const void *obj;
    size_t index;
    uint32_t u;
    const char *name;
    uint32_t *severity;
    size_t *line;
} text_ctx;

typedef nfh_result (*text_fn)(const text_ctx *c, char *buf, size_t len, size_t *out_n);

static nfh_result t_version(const text_ctx *c, char *b, size_t l, size_t *n) {
    (void)c;
    return nfh_version(b, l, n);
}
static nfh_result t_helper_name(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_helper_name(c->u, b, l, n);
}
static nfh_result t_options_get(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_options_get(c->obj, c->name, b, l, n);
}
static nfh_result t_render_modprobe(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_options_render_modprobe(c->obj, b, l, n);
}
static nfh_result t_report_finding(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_options_report_finding(c->obj, c->index, c->severity, c->line, b, l, n);
}
static nfh_result t_dof_table(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_dof_table(c->obj, c->u, b, l, n);
}
static nfh_result t_rule_label(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_dof_rule_label(c->u, b, l, n);
}
static nfh_result t_rule_explain(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_dof_rule_explain(c->obj, c->u, b, l, n);
}
static nfh_result t_result_message(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_result_message(c->u, b, l, n);
}
static nfh_result t_error_message(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_error_message(c->obj, b, l, n);
}
static nfh_result t_error_problem(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_error_problem(c->obj, c->index, b, l, n);
}
static nfh_result t_verdict_finding(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_verdict_finding(c->obj, c->index, c->severity, b, l, n);
}
static nfh_result t_expectations_error(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_expectations_error(c->obj, c->index, b, l, n);
}
static nfh_result t_verdict_text(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_verdict_text(c->obj, b, l, n);
}
static nfh_result t_ruleset_render(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_ruleset_render(c->obj, c->u, b, l, n, NULL);
}
static nfh_result t_ruleset_warning(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_ruleset_warning(c->obj, c->index, b, l, n);
}

static int all_bytes(const char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] != v)
            return 0;
    return 1;
}

/* Runs the whole buffer protocol on one output (4 checks) and returns the text, malloc'd
 * (free it), or NULL when the protocol broke. */
static char *text_protocol(const char *what, text_fn fn, const text_ctx *c) {
    size_t need = SIZE_SENTINEL, n2 = SIZE_SENTINEL, n3 = SIZE_SENTINEL, n4 = SIZE_SENTINEL;
    nfh_result r1 = fn(c, NULL, 0, &need);
    nfh_result r1b = fn(c, NULL, 64, &n4); /* a NULL buffer is a size query whatever len */
    if (!CHECK(r1 == NFH_RESULT_INSUFFICIENT_SIZE && need != SIZE_SENTINEL &&
                   r1b == NFH_RESULT_INSUFFICIENT_SIZE && n4 == need,
               "%s: size query (buf NULL) gives INSUFFICIENT_SIZE and the size (%zu)", what,
               need))
        return NULL;

    /* len == size: no room for the NUL. Nothing may be written. */
    size_t short_len = need;
    char *shortbuf = malloc(need ? need : 1);
    if (!shortbuf)
        abort();
    memset(shortbuf, 0xA5, need ? need : 1);
    nfh_result r2 = fn(c, shortbuf, short_len, &n2);
    CHECK(r2 == NFH_RESULT_INSUFFICIENT_SIZE && n2 == need &&
              all_bytes(shortbuf, need ? need : 1, 0xA5),
          "%s: len %zu (no room for the NUL) gives INSUFFICIENT_SIZE, *out_n = %zu, buffer "
          "untouched",
          what, short_len, need);
    free(shortbuf);

    /* Exactly size + 1: success. The allocation is exact so ASan/valgrind see any overrun. */
    char *buf = malloc(need + 1);
    if (!buf)
        abort();
    memset(buf, 0xA5, need + 1);
    nfh_result r3 = fn(c, buf, need + 1, &n3);
    if (!CHECK(r3 == NFH_RESULT_OK && n3 == need && buf[need] == '\0' && strlen(buf) == need,
               "%s: len size + 1 = %zu gives OK, *out_n = %zu and a NUL-terminated text", what,
               need + 1, need)) {
        free(buf);
        return NULL;
    }

    nfh_result r4 = fn(c, buf, need + 1, NULL);
    CHECK_RES(r4, NFH_RESULT_NULL_PARAMETER, "%s: out_n NULL gives NULL_PARAMETER", what);
    return buf;
}

/* Fetches a text output without checking the protocol (for loops over many items). */
static char *text_get(text_fn fn, const text_ctx *c) {
    size_t need = 0;
    if (fn(c, NULL, 0, &need) != NFH_RESULT_INSUFFICIENT_SIZE)
        return NULL;
    char *buf = malloc(need + 1);
    if (!buf)
        abort();
    size_t n = 0;
    if (fn(c, buf, need + 1, &n) != NFH_RESULT_OK || n != need) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *error_message(const nfh_error *e) {
    text_ctx c = {.obj = e};
    return text_get(t_error_message, &c);
}

static char *error_problem(const nfh_error *e, size_t i) {
    text_ctx c = {.obj = e, .index = i};
    return text_get(t_error_problem, &c);
}

static int contains(const char *hay, const char *needle) {
    return hay && strstr(hay, needle) != NULL;
}

static int starts_with(const char *s, const char *prefix) {
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ------------------------------------------------------------------------------------------ */

static void test_version_and_results(void) {
    text_ctx c = {0};
    char *v = text_protocol("nfh_version", t_version, &c);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", NFH_VERSION_MAJOR, NFH_VERSION_MINOR,
             NFH_VERSION_PATCH);
    CHECK(v && strcmp(v, want) == 0, "nfh_version is \"%s\", as NFH_VERSION_* say", want);
    free(v);

    const uint32_t codes[] = {
        NFH_RESULT_OK,           NFH_RESULT_NULL_PARAMETER, NFH_RESULT_INVALID_PARAMETER,
        NFH_RESULT_INSUFFICIENT_SIZE, NFH_RESULT_PANIC,     NFH_RESULT_INVALID_UTF8,
        NFH_RESULT_STOPPED,      NFH_RESULT_UNKNOWN_NAME,   NFH_RESULT_INVALID_VALUE,
        NFH_RESULT_PARSE_ERROR,  NFH_RESULT_RENDER_ERROR,   NFH_RESULT_READ_ERROR};
    c.u = NFH_RESULT_INSUFFICIENT_SIZE;
    char *m = text_protocol("nfh_result_message(INSUFFICIENT_SIZE)", t_result_message, &c);
    CHECK(m && strcmp(m, "the buffer is too small") == 0,
          "nfh_result_message(INSUFFICIENT_SIZE) describes it: \"%s\"", m ? m : "");
    free(m);
    int distinct = 1;
    char *texts[sizeof codes / sizeof codes[0]];
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        c.u = codes[i];
        texts[i] = text_get(t_result_message, &c);
        if (!texts[i] || !texts[i][0])
            distinct = 0;
        for (size_t j = 0; j < i && distinct; j++)
            if (strcmp(texts[i], texts[j]) == 0)
                distinct = 0;
    }
    CHECK(distinct, "nfh_result_message: every result code has its own non-empty text");
    CHECK(texts[0] && strcmp(texts[0], "success") == 0, "nfh_result_message(OK) is \"success\"");
    const uint32_t unknown[] = {1, 7000, 7007, 7100, 7106, 99999, UINT32_MAX};
    int same = 1;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        c.u = unknown[i];
        char *t = text_get(t_result_message, &c);
        if (!t || !texts[2] || strcmp(t, texts[2]) != 0)
            same = 0;
        free(t);
    }
    CHECK(same, "nfh_result_message: unknown codes (1, 7000, 7007, 7100, 7106, 99999, "
                "UINT32_MAX) describe INVALID_PARAMETER, as documented");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        free(texts[i]);
}

static void test_helpers(void) {
    size_t count = SIZE_SENTINEL;
    CHECK_RES(nfh_helper_list(NULL, 0, &count), NFH_RESULT_INSUFFICIENT_SIZE,
              "nfh_helper_list(NULL, 0) is a size query");
    CHECK(count == 12, "nfh_helper_list: 12 helpers (got %zu)", count);
    uint32_t helpers[64];
    for (size_t i = 0; i < 64; i++)
        helpers[i] = 0xfeedu;
    size_t n = SIZE_SENTINEL;
    CHECK_RES(nfh_helper_list(helpers, 3, &n), NFH_RESULT_INSUFFICIENT_SIZE,
              "nfh_helper_list: a short array gives INSUFFICIENT_SIZE");
    CHECK(n == 12 && helpers[0] == 0xfeedu, "nfh_helper_list: count needed, nothing written");
    CHECK_RES(nfh_helper_list(helpers, 64, &n), NFH_RESULT_OK, "nfh_helper_list fills the array");
    CHECK(n == 12 && helpers[0] == NFH_HELPER_AMANDA && helpers[11] == NFH_HELPER_H245 &&
              helpers[12] == 0xfeedu,
          "nfh_helper_list: every helper number, nothing past them");
    CHECK_RES(nfh_helper_list(helpers, 64, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_helper_list(out_n NULL) gives NULL_PARAMETER");

    text_ctx c = {.u = NFH_HELPER_FTP};
    char *ftp = text_protocol("nfh_helper_name(NFH_HELPER_FTP)", t_helper_name, &c);
    CHECK(ftp && strcmp(ftp, "ftp") == 0, "nfh_helper_name(NFH_HELPER_FTP) is \"ftp\"");
    free(ftp);
    int ok = 1;
    char *names[64] = {0};
    for (size_t i = 0; i < count && i < 64; i++) {
        c.u = helpers[i];
        names[i] = text_get(t_helper_name, &c);
        if (!names[i] || !names[i][0])
            ok = 0;
        for (size_t j = 0; j < i && ok; j++)
            if (strcmp(names[i], names[j]) == 0)
                ok = 0;
    }
    CHECK(ok, "nfh_helper_name: every listed helper has a distinct name");
    for (size_t i = 0; i < 64; i++)
        free(names[i]);
    c.u = NFH_HELPER_SIP;
    char *sip = text_get(t_helper_name, &c);
    c.u = NFH_HELPER_Q931;
    char *q931 = text_get(t_helper_name, &c);
    CHECK(sip && q931 && strcmp(sip, "sip") == 0 && strcmp(q931, "Q.931") == 0,
          "nfh_helper_name: kernel spellings (NFH_HELPER_SIP \"sip\", NFH_HELPER_Q931 \"Q.931\")");
    free(sip);
    free(q931);
    n = SIZE_SENTINEL;
    char buf[32];
    CHECK_RES(nfh_helper_name(0, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_helper_name(0): 0 is no helper, INVALID_PARAMETER");
    CHECK_RES(nfh_helper_name(NFH_HELPER_H245 + 1, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER, "nfh_helper_name(past the last) gives INVALID_PARAMETER");
    CHECK_RES(nfh_helper_name(UINT32_MAX, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_helper_name(UINT32_MAX) gives INVALID_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_helper_name: *out_n untouched on INVALID_PARAMETER");
}

static void test_options(void) {
    nfh_options *o = nfh_options_new();
    CHECK(o != NULL, "nfh_options_new returns options");
    text_ctx g = {.obj = o, .name = "ftp.loose"};
    char *v = text_protocol("nfh_options_get(ftp.loose)", t_options_get, &g);
    CHECK(v && strcmp(v, "0") == 0, "nfh_options_get: ftp.loose defaults to 0");
    free(v);

    text_ctx rm = {.obj = o};
    char *mp = text_protocol("nfh_options_render_modprobe (defaults: empty text)",
                             t_render_modprobe, &rm);
    CHECK(mp && mp[0] == '\0', "nfh_options_render_modprobe: nothing explicit gives \"\"");
    free(mp);

    nfh_error *err = SENTINEL_PTR;
    CHECK_RES(nfh_options_set(o, "ftp.loose=1", &err), NFH_RESULT_OK,
              "nfh_options_set(ftp.loose=1) succeeds");
    CHECK(err == SENTINEL_PTR, "nfh_options_set: *err untouched on success");
    CHECK_RES(nfh_options_set(o, "nf_conntrack_ftp.ports=21,2121", NULL), NFH_RESULT_OK,
              "nfh_options_set: module name nf_conntrack_ftp, list value, err NULL");
    CHECK_RES(nfh_options_set(o, "nf_conntrack_sip.sip_direct_media=0", NULL), NFH_RESULT_OK,
              "nfh_options_set(nf_conntrack_sip.sip_direct_media=0) succeeds");
    v = text_get(t_options_get, &g);
    CHECK(v && strcmp(v, "1") == 0, "nfh_options_get: ftp.loose is now 1");
    free(v);
    g.name = "nf_conntrack_ftp.ports";
    v = text_get(t_options_get, &g);
    CHECK(v && strcmp(v, "21,2121") == 0, "nfh_options_get(nf_conntrack_ftp.ports) is 21,2121");
    free(v);

    mp = text_protocol("nfh_options_render_modprobe", t_render_modprobe, &rm);
    CHECK(mp && strcmp(mp,
                       "options nf_conntrack_ftp ports=21,2121 loose=1\n"
                       "options nf_conntrack_sip sip_direct_media=0\n") == 0,
          "nfh_options_render_modprobe renders the explicit settings");
    free(mp);

    /* Failures: code, error object, options unchanged. */
    struct {
        const char *text;
        uint32_t code;
        const char *says;
    } bad[] = {
        {"irc.max_dcc_channels=0", NFH_RESULT_INVALID_VALUE, "accepted 1..=255"},
        {"ftp.loose=7", NFH_RESULT_INVALID_VALUE, "boolean"},
        {"ftp.ports=21,abc", NFH_RESULT_INVALID_VALUE, "ports"},
        {"ftp.ports=1,2,3,4,5,6,7,8,9", NFH_RESULT_INVALID_VALUE, "at most 8"},
        {"tftp.ports=69,69", NFH_RESULT_INVALID_VALUE, "twice"},
        {"ftp.loose", NFH_RESULT_INVALID_VALUE, "MODULE.PARAM=VALUE"},
        {"", NFH_RESULT_INVALID_VALUE, "MODULE.PARAM=VALUE"},
        {"ftp.nope=1", NFH_RESULT_UNKNOWN_NAME, "nope"},
        {"bogus.x=1", NFH_RESULT_UNKNOWN_NAME, "bogus"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        nfh_result r = nfh_options_set(o, bad[i].text, &err);
        char *msg = error_message(err);
        CHECK(r == bad[i].code && err != NULL && nfh_error_code(err) == r &&
                  contains(msg, bad[i].says),
              "nfh_options_set(\"%s\") gives %s and an error saying \"%s\"", bad[i].text,
              check_result_name(bad[i].code), bad[i].says);
        free(msg);
        nfh_error_free(err);
        CHECK_RES(nfh_options_set(o, bad[i].text, NULL), bad[i].code,
                  "nfh_options_set(\"%s\") with err NULL gives the same code", bad[i].text);
    }
    g.name = "ftp.loose";
    v = text_get(t_options_get, &g);
    g.name = "ftp.ports";
    char *ports = text_get(t_options_get, &g);
    CHECK(v && ports && strcmp(v, "1") == 0 && strcmp(ports, "21,2121") == 0,
          "nfh_options_set: failed assignments left the options unchanged");
    free(v);
    free(ports);

    /* NULL and invalid UTF-8. */
    CHECK_RES(nfh_options_set(NULL, "ftp.loose=1", NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_options_set(opts NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_set(o, NULL, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_options_set(assignment NULL) gives NULL_PARAMETER");
    for (size_t i = 0; i < N_BAD_UTF8; i++)
        CHECK_RES(nfh_options_set(o, BAD_UTF8[i], NULL), NFH_RESULT_INVALID_UTF8,
                  "nfh_options_set: invalid UTF-8 #%zu gives INVALID_UTF8", i);
    err = NULL;
    nfh_result r = nfh_options_set(o, "ftp.loose=\xff", &err);
    CHECK(r == NFH_RESULT_INVALID_UTF8 && (err == NULL || nfh_error_code(err) == r),
          "nfh_options_set: invalid UTF-8 with err: no error object, or one with the same code");
    nfh_error_free(err);

    size_t n = SIZE_SENTINEL;
    char buf[64];
    CHECK_RES(nfh_options_get(NULL, "ftp.loose", buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER, "nfh_options_get(opts NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_get(o, NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_options_get(name NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_get(o, "ftp.\xc3", buf, sizeof buf, &n), NFH_RESULT_INVALID_UTF8,
              "nfh_options_get: invalid UTF-8 name gives INVALID_UTF8");
    CHECK_RES(nfh_options_get(o, "ftp.nope", buf, sizeof buf, &n), NFH_RESULT_UNKNOWN_NAME,
              "nfh_options_get(ftp.nope) gives UNKNOWN_NAME");
    CHECK_RES(nfh_options_get(o, "ftp", buf, sizeof buf, &n), NFH_RESULT_UNKNOWN_NAME,
              "nfh_options_get(ftp) gives UNKNOWN_NAME");
    CHECK(n == SIZE_SENTINEL, "nfh_options_get: *out_n untouched on failure");
    CHECK_RES(nfh_options_render_modprobe(NULL, buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER,
              "nfh_options_render_modprobe(opts NULL) gives NULL_PARAMETER");

    nfh_options_free(o);
    nfh_options_free(NULL);
    CHECK(1, "nfh_options_free(NULL) is a no-op");
}

static void test_modprobe_report(void) {
    nfh_options_report *rep = SENTINEL_PTR;
    CHECK_RES(nfh_options_parse_modprobe(SAMPLE_MODPROBE, &rep), NFH_RESULT_OK,
              "nfh_options_parse_modprobe reads the sample");
    size_t count = nfh_options_report_finding_count(rep);
    CHECK(count == 7, "nfh_options_report_finding_count: 7 findings in the sample (got %zu)",
          count);

    uint32_t sev = SEV_SENTINEL;
    size_t line = SIZE_SENTINEL;
    text_ctx c = {.obj = rep, .index = 2, .severity = &sev, .line = &line};
    size_t n = 0;
    CHECK(nfh_options_report_finding(rep, 2, &sev, &line, NULL, 0, &n) ==
                  NFH_RESULT_INSUFFICIENT_SIZE &&
              sev == SEV_SENTINEL && line == SIZE_SENTINEL,
          "nfh_options_report_finding: severity and line not written on INSUFFICIENT_SIZE");
    char *f = text_protocol("nfh_options_report_finding(2)", t_report_finding, &c);
    CHECK(starts_with(f, "[dangerous-option] ") && contains(f, "loose=1") &&
              sev == NFH_SEVERITY_WARNING && line == 3,
          "finding 2: [dangerous-option] loose=1, WARNING, line 3 (got sev %u line %zu)",
          (unsigned)sev, line);
    free(f);
    int found_range = 0, found_dup = 0, lines_ok = 1;
    for (size_t i = 0; i < count; i++) {
        c.index = i;
        f = text_get(t_report_finding, &c);
        if (!f || f[0] != '[' || sev > NFH_SEVERITY_ERROR || line == 0 || line > 9)
            lines_ok = 0;
        if (starts_with(f, "[out-of-range]") && contains(f, "max_dcc_channels=300") &&
            sev == NFH_SEVERITY_ERROR && line == 4)
            found_range = 1;
        if (starts_with(f, "[duplicate-port]") && sev == NFH_SEVERITY_ERROR && line == 8)
            found_dup = 1;
        free(f);
    }
    CHECK(lines_ok, "every finding reads as \"[code] message\" with a severity and its line");
    CHECK(found_range && found_dup,
          "findings: max_dcc_channels=300 out of range (line 4), tftp port 69 twice (line 8)");

    nfh_options *o = nfh_options_report_options(rep);
    CHECK(o != NULL, "nfh_options_report_options returns a copy of the options");
    nfh_options_report_free(rep); /* the copy outlives the report */
    text_ctx g = {.obj = o, .name = "ftp.loose"};
    char *loose = text_get(t_options_get, &g);
    g.name = "irc.max_dcc_channels";
    char *dcc = text_get(t_options_get, &g);
    g.name = "tftp.ports";
    char *tftp = text_get(t_options_get, &g);
    CHECK(loose && dcc && tftp && strcmp(loose, "1") == 0 && strcmp(dcc, "8") == 0 &&
              strcmp(tftp, "69") == 0,
          "report options: loose=1 kept, invalid max_dcc_channels=300 and ports=69,69 left out");
    free(loose);
    free(dcc);
    free(tftp);
    nfh_options_free(o);

    rep = NULL;
    CHECK(nfh_options_parse_modprobe("", &rep) == NFH_RESULT_OK &&
              nfh_options_report_finding_count(rep) == 0,
          "nfh_options_parse_modprobe(\"\") succeeds with no finding");
    c.obj = rep;
    c.index = 0;
    n = SIZE_SENTINEL;
    char buf[256];
    CHECK_RES(nfh_options_report_finding(rep, 0, &sev, &line, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_options_report_finding(index = count) gives INVALID_PARAMETER");
    nfh_options_report_free(rep);

    CHECK(nfh_options_parse_modprobe("blah\noptions nf_conntrack_ftp bogus=2\n", &rep) ==
                  NFH_RESULT_OK &&
              nfh_options_report_finding_count(rep) == 2,
          "nfh_options_parse_modprobe: findings are not failures (2 for 2 bad lines)");
    CHECK_RES(nfh_options_report_finding(rep, SIZE_MAX, &sev, &line, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_options_report_finding(SIZE_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_options_report_finding(NULL, 0, &sev, &line, buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER,
              "nfh_options_report_finding(report NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_report_finding(rep, 0, NULL, &line, buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER,
              "nfh_options_report_finding(severity NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_report_finding(rep, 0, &sev, NULL, buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER,
              "nfh_options_report_finding(line NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_options_report_finding: *out_n untouched on failure");
    nfh_options_report_free(rep);

    rep = SENTINEL_PTR;
    CHECK_RES(nfh_options_parse_modprobe(NULL, &rep), NFH_RESULT_NULL_PARAMETER,
              "nfh_options_parse_modprobe(text NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_parse_modprobe(SAMPLE_MODPROBE, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_options_parse_modprobe(out NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_options_parse_modprobe(BAD_UTF8[4], &rep), NFH_RESULT_INVALID_UTF8,
              "nfh_options_parse_modprobe: invalid UTF-8 gives INVALID_UTF8");
    CHECK(rep == SENTINEL_PTR, "nfh_options_parse_modprobe: *out untouched on failure");
    CHECK(nfh_options_report_finding_count(NULL) == 0,
          "nfh_options_report_finding_count(NULL) is 0");
    CHECK(nfh_options_report_options(NULL) == NULL, "nfh_options_report_options(NULL) is NULL");
    nfh_options_report_free(NULL);
    CHECK(1, "nfh_options_report_free(NULL) is a no-op");
}

static void test_dof(void) {
    uint32_t kinds[64];
    size_t rules = SIZE_SENTINEL;
    CHECK_RES(nfh_expectation_kind_list(kinds, 64, &rules), NFH_RESULT_OK,
              "nfh_expectation_kind_list fills the array");
    CHECK(rules == 20 && kinds[0] == NFH_EXPECTATION_KIND_AMANDA_DATA &&
              kinds[1] == NFH_EXPECTATION_KIND_FTP_DATA &&
              kinds[15] == NFH_EXPECTATION_KIND_Q931_FROM_LCF &&
              kinds[19] == NFH_EXPECTATION_KIND_H323_T120,
          "nfh_expectation_kind_list: 20 kinds in table order (got %zu)", rules);
    size_t need = SIZE_SENTINEL;
    CHECK_RES(nfh_expectation_kind_list(NULL, 0, &need), NFH_RESULT_INSUFFICIENT_SIZE,
              "nfh_expectation_kind_list(NULL, 0) is a size query");
    CHECK(need == 20, "nfh_expectation_kind_list: the size query says 20");

    /* The ftp row under the defaults and with ftp.loose=1. */
    nfh_dof_rule_info def, loose;
    memset(&def, 0xA5, sizeof def);
    memset(&loose, 0xA5, sizeof loose);
    nfh_options *o = nfh_options_new();
    nfh_options_set(o, "ftp.loose=1", NULL);
    CHECK_RES(nfh_dof_rule(NULL, NFH_EXPECTATION_KIND_FTP_DATA, &def), NFH_RESULT_OK,
              "nfh_dof_rule(opts NULL = defaults, FTP_DATA) succeeds");
    CHECK_RES(nfh_dof_rule(o, NFH_EXPECTATION_KIND_FTP_DATA, &loose), NFH_RESULT_OK,
              "nfh_dof_rule(ftp.loose=1, FTP_DATA) succeeds");
    text_ctx c = {.u = def.helper};
    char *h = text_get(t_helper_name, &c);
    CHECK(h && strcmp(h, "ftp") == 0 && def.kind == NFH_EXPECTATION_KIND_FTP_DATA &&
              def.helper == NFH_HELPER_FTP && def.class_number == 0 && def.count == 1 &&
              def.flags == 0 && def.timeout == 300 && def.max_expected == 1,
          "FTP_DATA is the ftp data rule (helper ftp, class 0, 1 per command, 300 s, max 1)");
    free(h);
    CHECK(def.dst_addr.kind == NFH_FREEDOM_KIND_PAYLOAD_CHECKED &&
              def.dst_addr.endpoint == NFH_ENDPOINT_SENDER && !def.risky,
          "ftp defaults: destination address payload-checked against the sender, not risky");
    CHECK(loose.dst_addr.kind == NFH_FREEDOM_KIND_PAYLOAD && loose.risky,
          "ftp.loose=1: destination address freely from the payload, risky");
    CHECK(def.src_addr.kind == NFH_FREEDOM_KIND_MASTER &&
              def.src_addr.endpoint == NFH_ENDPOINT_PEER &&
              def.src_port.kind == NFH_FREEDOM_KIND_WILDCARD &&
              def.dst_port.kind == NFH_FREEDOM_KIND_PAYLOAD &&
              def.l4.kind == NFH_FREEDOM_KIND_PROTOCOL && def.l4.protocol == 6,
          "ftp: source = master's peer, source port wildcard, port from payload, tcp");
    CHECK(loose.src_addr.kind == def.src_addr.kind && loose.dst_port.kind == def.dst_port.kind &&
              loose.timeout == def.timeout,
          "ftp.loose=1 changes only the destination address and the risk");

    int ok = 1;
    for (size_t i = 0; i < rules; i++) {
        nfh_dof_rule_info r;
        if (nfh_dof_rule(NULL, kinds[i], &r) != NFH_RESULT_OK || r.kind != kinds[i] ||
            r.helper < NFH_HELPER_AMANDA || r.helper > NFH_HELPER_H245)
            ok = 0;
        const nfh_freedom *fs[] = {&r.src_addr, &r.src_port, &r.dst_addr, &r.dst_port, &r.l4};
        for (size_t k = 0; k < 5 && ok; k++)
            if (fs[k]->kind > NFH_FREEDOM_KIND_MASTER_PROTOCOL ||
                fs[k]->endpoint > NFH_ENDPOINT_PEER)
                ok = 0;
        if (r.flags & ~3u)
            ok = 0;
    }
    CHECK(ok, "nfh_dof_rule: every kind has its own number, a helper number, valid freedom "
              "kinds and flags");
    nfh_dof_rule_info sip_audio;
    CHECK(nfh_dof_rule(NULL, NFH_EXPECTATION_KIND_SIP_AUDIO, &sip_audio) == NFH_RESULT_OK &&
              sip_audio.helper == NFH_HELPER_SIP && sip_audio.class_number == 1 &&
              sip_audio.l4.protocol == 17,
          "SIP_AUDIO is sip's class 1 over udp");

    nfh_dof_rule_info untouched;
    memset(&untouched, 0x5A, sizeof untouched);
    CHECK_RES(nfh_dof_rule(NULL, 0, &untouched), NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_rule(0): 0 is no kind, INVALID_PARAMETER");
    CHECK_RES(nfh_dof_rule(NULL, NFH_EXPECTATION_KIND_Q931_FROM_LCF + 1, &untouched),
              NFH_RESULT_INVALID_PARAMETER, "nfh_dof_rule(past the last kind) gives INVALID_PARAMETER");
    CHECK_RES(nfh_dof_rule(o, UINT32_MAX, &untouched), NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_rule(UINT32_MAX) gives INVALID_PARAMETER");
    CHECK(all_bytes((const char *)&untouched, sizeof untouched, 0x5A),
          "nfh_dof_rule: *out untouched on failure");
    CHECK_RES(nfh_dof_rule(NULL, NFH_EXPECTATION_KIND_FTP_DATA, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_dof_rule(out NULL) gives NULL_PARAMETER");

    /* Labels. */
    c.u = NFH_EXPECTATION_KIND_SIP_AUDIO;
    char *label = text_protocol("nfh_dof_rule_label(SIP_AUDIO)", t_rule_label, &c);
    CHECK(label && strcmp(label, "sip audio") == 0,
          "nfh_dof_rule_label(SIP_AUDIO) is \"sip audio\"");
    free(label);
    ok = 1;
    for (size_t i = 0; i < rules; i++) {
        nfh_dof_rule_info r;
        nfh_dof_rule(NULL, kinds[i], &r);
        text_ctx hc = {.u = r.helper}, lc = {.u = kinds[i]};
        char *hn = text_get(t_helper_name, &hc), *lb = text_get(t_rule_label, &lc);
        if (!hn || !lb || !starts_with(lb, hn) || lb[strlen(hn)] != ' ')
            ok = 0;
        free(hn);
        free(lb);
    }
    CHECK(ok, "every rule label starts with its helper's name (\"ftp data\", \"RAS ras (GCF)\")");
    size_t n = SIZE_SENTINEL;
    char buf[64];
    CHECK_RES(nfh_dof_rule_label(0, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_rule_label(0) gives INVALID_PARAMETER");

    /* Explanations. */
    c.obj = NULL;
    c.u = NFH_EXPECTATION_KIND_FTP_DATA;
    char *e_def = text_protocol("nfh_dof_rule_explain(defaults, FTP_DATA)", t_rule_explain, &c);
    c.obj = o;
    char *e_loose =
        text_protocol("nfh_dof_rule_explain(ftp.loose=1, FTP_DATA)", t_rule_explain, &c);
    CHECK(e_def && e_loose && strchr(e_def, '\n') && !contains(e_def, "risk:") &&
              contains(e_loose, "risk: loose=1") && contains(e_loose, "bounce"),
          "nfh_dof_rule_explain: several lines; only ftp.loose=1 names the bounce risk");
    free(e_def);
    free(e_loose);
    CHECK_RES(nfh_dof_rule_explain(NULL, UINT32_MAX, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_rule_explain(UINT32_MAX) gives INVALID_PARAMETER");

    /* Tables. */
    c.obj = NULL;
    c.u = NFH_TABLE_FORMAT_ARTICLE;
    char *art = text_protocol("nfh_dof_table(ARTICLE)", t_dof_table, &c);
    CHECK(contains(art, "In CMD") && contains(art, "Iface Network"),
          "article table uses the article's keywords");
    free(art);
    c.u = NFH_TABLE_FORMAT_PRECISE;
    char *pdef = text_protocol("nfh_dof_table(PRECISE)", t_dof_table, &c);
    c.obj = o;
    char *ploose = text_get(t_dof_table, &c);
    const char *row_def = pdef ? strstr(pdef, "\nftp ") : NULL;
    const char *row_loose = ploose ? strstr(ploose, "\nftp ") : NULL;
    CHECK(row_def && row_loose && strncmp(row_def, row_loose, strcspn(row_def + 1, "\n")) != 0 &&
              contains(row_def, "P=M(sender)") && contains(row_loose, "loose = 1"),
          "precise table: the ftp row changes with ftp.loose=1");
    free(pdef);
    free(ploose);
    c.obj = NULL;
    c.u = NFH_TABLE_FORMAT_JSON;
    char *json = text_protocol("nfh_dof_table(JSON, large output)", t_dof_table, &c);
    CHECK(json && json[0] == '[' && strlen(json) > 4096 && contains(json, "\"ftp\""),
          "JSON table: an array of every rule (%zu bytes)", json ? strlen(json) : 0);
    free(json);
    n = SIZE_SENTINEL;
    CHECK_RES(nfh_dof_table(NULL, 3, NULL, 0, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_table(format 3) gives INVALID_PARAMETER");
    CHECK_RES(nfh_dof_table(o, UINT32_MAX, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_dof_table(format UINT32_MAX) gives INVALID_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_dof_table: *out_n untouched on INVALID_PARAMETER");
    nfh_options_free(o);
}

static void test_errors_null(void) {
    size_t n = SIZE_SENTINEL;
    char buf[16];
    CHECK_RES(nfh_error_code(NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_error_code(NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_error_message(NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_error_message(NULL) gives NULL_PARAMETER");
    CHECK(nfh_error_problem_count(NULL) == 0, "nfh_error_problem_count(NULL) is 0");
    CHECK_RES(nfh_error_problem(NULL, 0, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_error_problem(NULL) gives NULL_PARAMETER");
    nfh_error_free(NULL);
    CHECK(n == SIZE_SENTINEL, "nfh_error_free(NULL) is a no-op; *out_n untouched");
}

static void test_policy(void) {
    nfh_policy *p = NULL;
    nfh_error *err = NULL;
    CHECK_RES(nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p, &err), NFH_RESULT_OK,
              "nfh_policy_parse reads the sample TOML policy");
    CHECK(p != NULL && err == NULL, "nfh_policy_parse: a policy, *err untouched");
    nfh_policy_free(p);
    p = NULL;
    CHECK(nfh_policy_parse("{\"default\": \"allow\", \"helpers\": {\"ftp\": {\"min_port\": 1024}}}",
                           NFH_DOC_FORMAT_JSON, &p, NULL) == NFH_RESULT_OK &&
              p != NULL,
          "nfh_policy_parse reads a JSON policy");
    nfh_policy_free(p);

    /* Several problems, each with its path. */
    const char *bad =
        "[helpers.ftp]\n"
        "destinations = []\n"
        "sources = [\"10.0.0.0/8\", \"10.0.0.0/8\"]\n"
        "classes = [\"audio\"]\n";
    p = SENTINEL_PTR;
    err = NULL;
    CHECK_RES(nfh_policy_parse(bad, NFH_DOC_FORMAT_TOML, &p, &err), NFH_RESULT_INVALID_VALUE,
              "nfh_policy_parse: an invalid policy gives INVALID_VALUE");
    CHECK(p == SENTINEL_PTR, "nfh_policy_parse: *out untouched on failure");
    CHECK(nfh_error_code(err) == NFH_RESULT_INVALID_VALUE && nfh_error_problem_count(err) == 3,
          "the error lists 3 problems (got %zu)", nfh_error_problem_count(err));
    text_ctx c = {.obj = err, .index = 1};
    char *p1 = text_protocol("nfh_error_problem(1)", t_error_problem, &c);
    char *p0 = error_problem(err, 0), *p2 = error_problem(err, 2);
    CHECK(starts_with(p0, "helpers.ftp.destinations: ") &&
              starts_with(p1, "helpers.ftp.sources[1]: ") && contains(p1, "twice") &&
              starts_with(p2, "helpers.ftp.classes[0]: ") && contains(p2, "audio"),
          "problems as \"path: message\": destinations, sources[1] twice, classes[0] audio");
    c.index = 0;
    char *msg = text_protocol("nfh_error_message(policy)", t_error_message, &c);
    CHECK(contains(msg, "helpers.ftp.destinations") && contains(msg, "helpers.ftp.sources[1]") &&
              contains(msg, "helpers.ftp.classes[0]"),
          "nfh_error_message names every problem");
    free(p0);
    free(p1);
    free(p2);
    free(msg);
    size_t n = SIZE_SENTINEL;
    char buf[64];
    CHECK_RES(nfh_error_problem(err, 3, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_error_problem(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_error_problem(err, SIZE_MAX, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER, "nfh_error_problem(SIZE_MAX) gives INVALID_PARAMETER");
    nfh_error_free(err);
    CHECK_RES(nfh_policy_parse(bad, NFH_DOC_FORMAT_TOML, &p, NULL), NFH_RESULT_INVALID_VALUE,
              "nfh_policy_parse: err NULL is allowed on failure");

    /* An unknown helper: a type error that names the place. */
    err = NULL;
    nfh_result r = nfh_policy_parse("[helpers.fpt]\n", NFH_DOC_FORMAT_TOML, &p, &err);
    char *pr = error_problem(err, 0);
    CHECK((r == NFH_RESULT_INVALID_VALUE || r == NFH_RESULT_PARSE_ERROR) &&
              nfh_error_code(err) == r && starts_with(pr, "line 1, column ") &&
              contains(pr, "fpt"),
          "nfh_policy_parse([helpers.fpt]): fails, the problem names line, column and \"fpt\"");
    free(pr);
    nfh_error_free(err);

    /* Text that is not TOML / JSON at all: PARSE_ERROR is for "text [that] could not be
     * parsed (expectation lines, TOML, JSON)", as nfh_ruleset_from_site gives it for the same input
     * (INVALID_VALUE is for a policy that parses but is invalid). */
    err = NULL;
    r = nfh_policy_parse("default = ", NFH_DOC_FORMAT_TOML, &p, &err);
    CHECK_RES(r, NFH_RESULT_PARSE_ERROR,
              "nfh_policy_parse: TOML that does not parse gives PARSE_ERROR (as "
              "nfh_ruleset_from_site does)");
    CHECK(err && nfh_error_problem_count(err) == 1 && nfh_error_code(err) == r,
          "nfh_policy_parse: the TOML syntax error is one problem, with the returned code");
    nfh_error_free(err);
    err = NULL;
    r = nfh_policy_parse("{bad", NFH_DOC_FORMAT_JSON, &p, &err);
    CHECK_RES(r, NFH_RESULT_PARSE_ERROR,
              "nfh_policy_parse: JSON that does not parse gives PARSE_ERROR (as "
              "nfh_ruleset_from_site does)");
    pr = error_problem(err, 0);
    CHECK(starts_with(pr, "line 1, column 2: "), "the JSON syntax error names line and column");
    free(pr);
    nfh_error_free(err);

    p = SENTINEL_PTR;
    CHECK_RES(nfh_policy_parse(SAMPLE_POLICY, 2, &p, NULL), NFH_RESULT_INVALID_PARAMETER,
              "nfh_policy_parse(format 2) gives INVALID_PARAMETER");
    CHECK_RES(nfh_policy_parse(SAMPLE_POLICY, UINT32_MAX, &p, NULL),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_policy_parse(format UINT32_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_policy_parse(NULL, NFH_DOC_FORMAT_TOML, &p, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_policy_parse(text NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, NULL, NULL),
              NFH_RESULT_NULL_PARAMETER, "nfh_policy_parse(out NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_policy_parse("default = \"\xff\"\n", NFH_DOC_FORMAT_TOML, &p, NULL),
              NFH_RESULT_INVALID_UTF8, "nfh_policy_parse: invalid UTF-8 gives INVALID_UTF8");
    CHECK(p == SENTINEL_PTR, "nfh_policy_parse: *out untouched by every failure");
    nfh_policy_free(NULL);
    CHECK(1, "nfh_policy_free(NULL) is a no-op");
}

static int conforms(const nfh_validator *v, const nfh_policy *p, const nfh_expectations *e,
                    size_t i) {
    bool ok = false;
    if (nfh_validator_conforms(v, p, e, i, &ok) != NFH_RESULT_OK)
        return -1;
    return ok ? 1 : 0;
}

static char *verdict_text(const nfh_verdict *v) {
    text_ctx c = {.obj = v};
    return text_get(t_verdict_text, &c);
}

static void test_expectations(void) {
    nfh_expectations *e = SENTINEL_PTR;
    CHECK_RES(nfh_expectations_parse((const uint8_t *)SAMPLE_EXPECTATIONS,
                                     strlen(SAMPLE_EXPECTATIONS), &e),
              NFH_RESULT_OK, "nfh_expectations_parse reads the sample");
    CHECK(nfh_expectations_count(e) == 5 && nfh_expectations_error_count(e) == 1,
          "sample: 5 expectations, 1 line that does not parse (got %zu, %zu)",
          nfh_expectations_count(e), nfh_expectations_error_count(e));
    int lines_ok = 1;
    for (size_t i = 0; i < 5; i++)
        if (nfh_expectations_line_number(e, i) != i + 1)
            lines_ok = 0;
    CHECK(lines_ok && nfh_expectations_line_number(e, 5) == 0 && nfh_expectations_line_number(e, SIZE_MAX) == 0,
          "nfh_expectations_line_number: 1-based input lines 1..5, 0 past the end");
    text_ctx c = {.obj = e, .index = 0};
    char *pe = text_protocol("nfh_expectations_error(0)", t_expectations_error, &c);
    CHECK(pe && strcmp(pe, "line 6: invalid value for dport (near \"99999\")") == 0,
          "the parse error names line 6, the field and the text: %s", pe ? pe : "");
    free(pe);
    size_t n = SIZE_SENTINEL;
    char buf[128];
    CHECK_RES(nfh_expectations_error(e, 1, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_expectations_error(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_expectations_error(NULL, 0, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_expectations_error(NULL) gives NULL_PARAMETER");

    nfh_validator *v = nfh_validator_new(NULL);
    CHECK(v != NULL, "nfh_validator_new(NULL) gives a validator for the kernel defaults");
    nfh_policy *p = NULL;
    nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p, NULL);

    /* The fast path. */
    const int want_model[5] = {1, 0, 0, 1, 1};
    const int want_policy[5] = {1, 0, 0, 0, 1};
    int model_ok = 1, policy_ok = 1, same = 1;
    for (size_t i = 0; i < 5; i++) {
        if (conforms(v, NULL, e, i) != want_model[i])
            model_ok = 0;
        if (conforms(v, p, e, i) != want_policy[i])
            policy_ok = 0;
        for (int k = 0; k < 2; k++) {
            nfh_verdict *vd = NULL;
            if (nfh_validator_verdict(v, k ? p : NULL, e, i, &vd) != NFH_RESULT_OK ||
                (int)nfh_verdict_conforms(vd) != conforms(v, k ? p : NULL, e, i))
                same = 0;
            nfh_verdict_free(vd);
        }
    }
    CHECK(model_ok, "nfh_validator_conforms (model): sample lines 1, 4, 5 conform; 2, 3 do not");
    CHECK(policy_ok, "nfh_validator_conforms (policy): the policy also rejects line 4 (irc)");
    CHECK(same, "nfh_validator_conforms agrees with nfh_verdict_conforms(nfh_validator_verdict)");

    /* The bounce (line 2): a verdict that names the destination address. */
    nfh_verdict *vd = NULL;
    CHECK_RES(nfh_validator_verdict(v, NULL, e, 1, &vd), NFH_RESULT_OK,
              "nfh_validator_verdict(bounce) succeeds");
    c.obj = vd;
    char *t = text_protocol("nfh_verdict_text(bounce)", t_verdict_text, &c);
    CHECK(!nfh_verdict_conforms(vd) && starts_with(t, "error [destination-address]: ") &&
              contains(t, "10.71.2.3"),
          "bounce: nonconforming, the text names destination-address and 10.71.2.3");
    free(t);
    size_t nf = nfh_verdict_finding_count(vd);
    CHECK(nf >= 1, "nfh_verdict_finding_count(bounce) is at least 1 (got %zu)", nf);
    uint32_t sev = SEV_SENTINEL;
    n = 0;
    CHECK(nfh_verdict_finding(vd, 0, &sev, NULL, 0, &n) == NFH_RESULT_INSUFFICIENT_SIZE &&
              sev == SEV_SENTINEL,
          "nfh_verdict_finding: severity not written on INSUFFICIENT_SIZE");
    text_ctx fc = {.obj = vd, .index = 0, .severity = &sev};
    char *f0 = text_protocol("nfh_verdict_finding(0)", t_verdict_finding, &fc);
    CHECK(starts_with(f0, "[destination-address] ") && sev == NFH_SEVERITY_ERROR,
          "finding 0: \"[destination-address] ...\", severity ERROR");
    free(f0);
    n = SIZE_SENTINEL;
    CHECK_RES(nfh_verdict_finding(vd, nf, &sev, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_verdict_finding(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_verdict_finding(vd, 0, NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_verdict_finding(severity NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_verdict_finding(NULL, 0, &sev, buf, sizeof buf, &n),
              NFH_RESULT_NULL_PARAMETER, "nfh_verdict_finding(verdict NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_verdict_finding: *out_n untouched on failure");
    nfh_verdict_free(vd);

    /* With the policy: the irc line (4) conforms to the model but the policy denies it. */
    vd = NULL;
    nfh_validator_verdict(v, p, e, 3, &vd);
    t = verdict_text(vd);
    CHECK(!nfh_verdict_conforms(vd) && contains(t, "info [master-unknown]") &&
              contains(t, "error [policy-helper]") && contains(t, "irc"),
          "policy: irc expectation denied ([policy-helper]), the model's info kept");
    free(t);
    nfh_verdict_free(vd);
    vd = NULL;
    nfh_validator_verdict(v, p, e, 1, &vd);
    t = verdict_text(vd);
    CHECK(contains(t, "[policy-destination]") && contains(t, "[policy-third-party]"),
          "policy: the bounce is also outside the ftp destinations and a third party");
    free(t);
    nfh_verdict_free(vd);

    /* A conforming conntrack line has no finding: empty text. */
    vd = NULL;
    nfh_validator_verdict(v, p, e, 0, &vd);
    c.obj = vd;
    t = text_protocol("nfh_verdict_text(no finding: empty text)", t_verdict_text, &c);
    CHECK(nfh_verdict_conforms(vd) && nfh_verdict_finding_count(vd) == 0 && t && t[0] == '\0',
          "a conforming line: no finding, text \"\"");
    free(t);
    nfh_verdict_free(vd);

    /* Module options decide: with ftp.loose=1 the bounce conforms to the model. */
    nfh_options *o = nfh_options_new();
    nfh_options_set(o, "ftp.loose=1", NULL);
    nfh_validator *vl = nfh_validator_new(o);
    nfh_options_free(o); /* the validator keeps its own copy */
    CHECK(conforms(vl, NULL, e, 1) == 1 && conforms(vl, p, e, 1) == 0,
          "with ftp.loose=1 the bounce conforms to the model; the policy still rejects it");
    nfh_validator_free(vl);

    /* Argument errors of the fast path and the verdict. */
    bool out = true;
    CHECK_RES(nfh_validator_conforms(v, NULL, e, 5, &out), NFH_RESULT_INVALID_PARAMETER,
              "nfh_validator_conforms(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_validator_conforms(v, p, e, SIZE_MAX, &out), NFH_RESULT_INVALID_PARAMETER,
              "nfh_validator_conforms(SIZE_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_validator_conforms(NULL, NULL, e, 0, &out), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_conforms(validator NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_conforms(v, NULL, NULL, 0, &out), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_conforms(expectations NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_conforms(v, NULL, e, 0, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_conforms(out NULL) gives NULL_PARAMETER");
    CHECK(out == true, "nfh_validator_conforms: *out untouched on failure");
    vd = SENTINEL_PTR;
    CHECK_RES(nfh_validator_verdict(v, NULL, e, 5, &vd), NFH_RESULT_INVALID_PARAMETER,
              "nfh_validator_verdict(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_validator_verdict(NULL, NULL, e, 0, &vd), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_verdict(validator NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_verdict(v, NULL, NULL, 0, &vd), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_verdict(expectations NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_verdict(v, NULL, e, 0, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_validator_verdict(out NULL) gives NULL_PARAMETER");
    CHECK(vd == SENTINEL_PTR, "nfh_validator_verdict: *out untouched on failure");

    /* A verdict outlives the validator, policy and expectations it came from. */
    vd = NULL;
    nfh_validator_verdict(v, p, e, 2, &vd);
    nfh_expectations_free(e);
    nfh_policy_free(p);
    nfh_validator_free(v);
    t = verdict_text(vd);
    CHECK(contains(t, "[source-address]") && contains(t, "[policy-source]"),
          "a verdict outlives its validator, policy and expectations (SIP wildcard source)");
    free(t);
    nfh_verdict_free(vd);

    /* Parsing edge cases. */
    e = SENTINEL_PTR;
    CHECK(nfh_expectations_parse(NULL, 0, &e) == NFH_RESULT_OK && e != SENTINEL_PTR &&
              nfh_expectations_count(e) == 0 && nfh_expectations_error_count(e) == 0,
          "nfh_expectations_parse(NULL, 0) gives an empty set");
    nfh_expectations_free(e);
    e = SENTINEL_PTR;
    CHECK_RES(nfh_expectations_parse(NULL, 5, &e), NFH_RESULT_NULL_PARAMETER,
              "nfh_expectations_parse(NULL, 5) gives NULL_PARAMETER");
    CHECK_RES(nfh_expectations_parse((const uint8_t *)"x", 1, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_expectations_parse(out NULL) gives NULL_PARAMETER");
    CHECK(e == SENTINEL_PTR, "nfh_expectations_parse: *out untouched on failure");

    static const uint8_t junk[] = {0xff, 0xfe, 0x00, 'a', '\n', 0x80, 0x00, 0x00, '=', '\n',
                                   '\n', 0xc3, 0x28, ' ', '2', '9', '9'};
    e = NULL;
    CHECK(nfh_expectations_parse(junk, sizeof junk, &e) == NFH_RESULT_OK &&
              nfh_expectations_count(e) == 0 && nfh_expectations_error_count(e) == 3,
          "nfh_expectations_parse: any bytes (NUL, invalid UTF-8) succeed; 3 lines kept as "
          "errors (got %zu)",
          nfh_expectations_error_count(e));
    c.obj = e;
    c.index = 2;
    char *je = text_get(t_expectations_error, &c);
    CHECK(starts_with(je, "line 4: "), "the third bad line is line 4 (the blank line counts)");
    free(je);
    nfh_expectations_free(e);

    const char *mixed =
        "\n"
        "   \n"
        "    [DESTROY] 3599 proto=17 src=203.0.113.5 dst=192.168.1.2 sport=0 dport=5060 "
        "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
        "master-src=192.168.1.2 master-dst=203.0.113.5 sport=5060 dport=5060 PERMANENT class=0 "
        "helper=sip\n"
        "179 l3proto = 2 proto=17 src=203.0.113.1 dst=192.168.1.2 sport=0 dport=5000 sip/audio\n"
        "conntrack v1.4.7 (conntrack-tools): 2 expectations have been shown.\n";
    e = NULL;
    nfh_expectations_parse((const uint8_t *)mixed, strlen(mixed), &e);
    CHECK(nfh_expectations_count(e) == 2 && nfh_expectations_error_count(e) == 0 &&
              nfh_expectations_line_number(e, 0) == 3 && nfh_expectations_line_number(e, 1) == 4,
          "blank lines and conntrack's summary line skipped; both formats mixed (lines 3, 4)");
    nfh_expectations_free(e);

    CHECK(nfh_expectations_count(NULL) == 0 && nfh_expectations_error_count(NULL) == 0 &&
              nfh_expectations_line_number(NULL, 0) == 0,
          "nfh_expectations_count/_error_count/_line(NULL) are 0");
    nfh_expectations_free(NULL);
    CHECK(1, "nfh_expectations_free(NULL) is a no-op");
}

static void test_check_line(void) {
    nfh_validator *v = nfh_validator_new(NULL);
    nfh_policy *p = NULL;
    nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p, NULL);
    nfh_verdict *vd = NULL;
    nfh_error *err = NULL;
    CHECK_RES(nfh_validator_check_line(v, NULL, BOUNCE_LINE, &vd, &err), NFH_RESULT_OK,
              "nfh_validator_check_line(bounce) succeeds");
    char *t = verdict_text(vd);
    CHECK(vd && !nfh_verdict_conforms(vd) && contains(t, "destination-address") && err == NULL,
          "check_line: the bounce is nonconforming and names destination-address");
    free(t);
    nfh_verdict_free(vd);
    vd = NULL;
    nfh_validator_check_line(v, p, BOUNCE_LINE, &vd, NULL);
    t = verdict_text(vd);
    CHECK(contains(t, "policy-destination"), "check_line with the policy adds policy findings");
    free(t);
    nfh_verdict_free(vd);

    vd = SENTINEL_PTR;
    err = NULL;
    CHECK_RES(nfh_validator_check_line(v, NULL, "nonsense", &vd, &err), NFH_RESULT_PARSE_ERROR,
              "check_line(\"nonsense\") gives PARSE_ERROR");
    char *msg = error_message(err);
    CHECK(vd == SENTINEL_PTR && nfh_error_code(err) == NFH_RESULT_PARSE_ERROR &&
              contains(msg, "timeout") && contains(msg, "nonsense"),
          "the error names the field (timeout) and the text; *out untouched");
    free(msg);
    nfh_error_free(err);
    err = NULL;
    const char *bad_port =
        "300 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=99999 mask-src=255.255.255.255";
    CHECK_RES(nfh_validator_check_line(v, NULL, bad_port, &vd, &err), NFH_RESULT_PARSE_ERROR,
              "check_line(dport=99999) gives PARSE_ERROR");
    msg = error_message(err);
    CHECK(contains(msg, "dport") && contains(msg, "99999"), "the error names dport and 99999");
    free(msg);
    nfh_error_free(err);
    CHECK_RES(nfh_validator_check_line(v, NULL, "", &vd, NULL), NFH_RESULT_PARSE_ERROR,
              "check_line(\"\") gives PARSE_ERROR (err NULL allowed)");
    CHECK_RES(nfh_validator_check_line(NULL, NULL, BOUNCE_LINE, &vd, NULL),
              NFH_RESULT_NULL_PARAMETER, "check_line(validator NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_check_line(v, NULL, NULL, &vd, NULL), NFH_RESULT_NULL_PARAMETER,
              "check_line(line NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_check_line(v, NULL, BOUNCE_LINE, NULL, NULL),
              NFH_RESULT_NULL_PARAMETER, "check_line(out NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_validator_check_line(v, NULL, "299 proto=6 src=\xff", &vd, NULL),
              NFH_RESULT_INVALID_UTF8, "check_line: invalid UTF-8 gives INVALID_UTF8");
    CHECK(vd == SENTINEL_PTR, "check_line: *out untouched by every failure");

    size_t n = SIZE_SENTINEL;
    char buf[16];
    CHECK(!nfh_verdict_conforms(NULL), "nfh_verdict_conforms(NULL) is false");
    CHECK(nfh_verdict_finding_count(NULL) == 0, "nfh_verdict_finding_count(NULL) is 0");
    CHECK_RES(nfh_verdict_text(NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_verdict_text(NULL) gives NULL_PARAMETER");
    nfh_verdict_free(NULL);
    CHECK(1, "nfh_verdict_free(NULL) is a no-op");
    nfh_validator_free(NULL);
    CHECK(1, "nfh_validator_free(NULL) is a no-op");
    nfh_policy_free(p);
    nfh_validator_free(v);
}

static const char *const BACKENDS[] = {"iptables",       "ip6tables",       "commands",
                                       "nft",            "nft-json",        "sysctl",
                                       "modprobe",       "iptables-hooks",  "iptables-remove",
                                       "nft-remove"};

static void test_site(void) {
    nfh_ruleset *s = NULL;
    nfh_error *err = NULL;
    CHECK_RES(nfh_ruleset_from_site(SAMPLE_SITE, NFH_DOC_FORMAT_TOML, &s, &err), NFH_RESULT_OK,
              "nfh_ruleset_from_site reads the sample site");
    CHECK(s && err == NULL && nfh_ruleset_rule_count(s) > 10,
          "the sample site has rules (%zu), *err untouched", nfh_ruleset_rule_count(s));

    const char *must[] = {"COMMIT",
                          "fd81:2::10",
                          "iptables -w -t raw",
                          "table inet nfh",
                          "\"nftables\"",
                          "rp_filter",
                          "options nf_conntrack_ftp loose=0",
                          "nfh_hook iptables raw PREROUTING -j nfh-prerouting",
                          "nfh_unhook ip6tables filter FORWARD",
                          "delete table inet nfh"};
    CHECK(sizeof BACKENDS / sizeof *BACKENDS == NFH_BACKEND_NFT_REMOVE + 1 &&
              sizeof must / sizeof *must == NFH_BACKEND_NFT_REMOVE + 1,
          "backends 0 to NFH_BACKEND_NFT_REMOVE (9)");
    for (uint32_t b = NFH_BACKEND_IPTABLES; b <= NFH_BACKEND_NFT_REMOVE; b++) {
        char what[64];
        snprintf(what, sizeof what, "nfh_ruleset_render(%s)", BACKENDS[b]);
        text_ctx c = {.obj = s, .u = b};
        char *out = text_protocol(what, t_ruleset_render, &c);
        /* JSON has no comments: the nft-json output is the bare object; shell scripts start
         * with their interpreter line. */
        int shell = b == NFH_BACKEND_COMMANDS || b == NFH_BACKEND_IPTABLES_HOOKS ||
                    b == NFH_BACKEND_IPTABLES_REMOVE;
        const char *head = b == NFH_BACKEND_NFT_JSON ? "{"
                           : shell ? "#!/bin/sh\n# Generated by netfilter-helpers"
                                   : "# Generated by netfilter-helpers";
        CHECK(starts_with(out, head) && contains(out, must[b]) && !contains(out, "ct mark"),
              "%s: generated text containing \"%s\", no ct mark", what, must[b]);
        free(out);
    }

    size_t n = SIZE_SENTINEL;
    char buf[64];
    err = NULL;
    CHECK_RES(nfh_ruleset_render(s, 10, buf, sizeof buf, &n, &err), NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_render(backend 10) gives INVALID_PARAMETER");
    CHECK_RES(nfh_ruleset_render(s, UINT32_MAX, buf, sizeof buf, &n, &err),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_render(backend UINT32_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_ruleset_render(NULL, NFH_BACKEND_NFT, buf, sizeof buf, &n, &err),
              NFH_RESULT_NULL_PARAMETER, "nfh_ruleset_render(site NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL && err == NULL, "nfh_ruleset_render: *out_n and *err untouched");
    CHECK_RES(nfh_ruleset_render(s, NFH_BACKEND_NFT, buf, sizeof buf, NULL, NULL),
              NFH_RESULT_NULL_PARAMETER, "nfh_ruleset_render(out_n NULL) gives NULL_PARAMETER");

    /* Warnings: none for the sample; past the end is INVALID_PARAMETER. */
    n = SIZE_SENTINEL;
    CHECK(nfh_ruleset_warning_count(s) == 0, "the sample site has no warnings (%zu)",
          nfh_ruleset_warning_count(s));
    CHECK_RES(nfh_ruleset_warning(s, 0, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_warning(sample, 0) gives INVALID_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_ruleset_warning: *out_n untouched by a failure");
    nfh_ruleset_free(s);

    /* A valid site with risky choices: an outbound SIP service without servers, and related
     * networks that sip_direct_media = 1 (the default) makes the kernel ignore. */
    s = NULL;
    CHECK_RES(nfh_ruleset_from_site("[[interfaces]]\nname = \"wan0\"\ndefault_route = true\n"
                             "[[interfaces]]\nname = \"lan0\"\nnetworks = [\"10.0.1.1/24\"]\n"
                             "[[services]]\nname = \"voip\"\nhelper = \"sip\"\n"
                             "direction = \"outbound\"\nclients = [\"10.0.1.0/24\"]\n"
                             "related = [\"198.18.0.0/24\"]\n",
                             NFH_DOC_FORMAT_TOML, &s, NULL),
              NFH_RESULT_OK, "a site with warnings is valid");
    size_t nw = nfh_ruleset_warning_count(s);
    CHECK(nw == 2, "the site has 2 warnings (got %zu)", nw);
    text_ctx wc = {.obj = s, .index = 0};
    char *w0 = text_protocol("nfh_ruleset_warning(site, 0)", t_ruleset_warning, &wc);
    CHECK(starts_with(w0, "services[0].servers: ") && contains(w0, "any host"),
          "warning 0 names services[0].servers: %s", w0 ? w0 : "");
    free(w0);
    wc.index = 1;
    char *w1 = text_protocol("nfh_ruleset_warning(site, 1)", t_ruleset_warning, &wc);
    CHECK(starts_with(w1, "services[0].related: ") && contains(w1, "sip_direct_media"),
          "warning 1 names services[0].related: %s", w1 ? w1 : "");
    free(w1);
    n = SIZE_SENTINEL;
    CHECK_RES(nfh_ruleset_warning(s, 2, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_warning(site, 2) gives INVALID_PARAMETER");
    CHECK_RES(nfh_ruleset_warning(s, 0, buf, sizeof buf, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_ruleset_warning(out_n NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_ruleset_warning(NULL, 0, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_ruleset_warning(site NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL && nfh_ruleset_warning_count(NULL) == 0,
          "nfh_ruleset_warning_count(NULL) is 0; *out_n untouched by failures");
    nfh_ruleset_free(s);

    /* A kernel too old for nft: a render error, other backends still work. */
    s = NULL;
    CHECK_RES(nfh_ruleset_from_site("kernel = \"3.2\"\n[[interfaces]]\nname = \"eth0\"\n"
                             "default_route = true\n",
                             NFH_DOC_FORMAT_TOML, &s, NULL),
              NFH_RESULT_OK, "a site for Linux 3.2 is valid");
    err = NULL;
    n = SIZE_SENTINEL;
    CHECK_RES(nfh_ruleset_render(s, NFH_BACKEND_NFT, NULL, 0, &n, &err), NFH_RESULT_RENDER_ERROR,
              "Linux 3.2: nfh_ruleset_render(nft) gives RENDER_ERROR");
    char *msg = error_message(err);
    CHECK(nfh_error_code(err) == NFH_RESULT_RENDER_ERROR && contains(msg, "4.12") &&
              contains(msg, "3.2"),
          "the render error names the version needed (4.12) and the site's: %s", msg ? msg : "");
    free(msg);
    nfh_error_free(err);
    CHECK_RES(nfh_ruleset_render(s, NFH_BACKEND_NFT_JSON, NULL, 0, &n, NULL),
              NFH_RESULT_RENDER_ERROR, "Linux 3.2: nft-json also fails (err NULL allowed)");
    CHECK_RES(nfh_ruleset_render(s, NFH_BACKEND_IPTABLES, NULL, 0, &n, NULL),
              NFH_RESULT_INSUFFICIENT_SIZE, "Linux 3.2: iptables renders (size query)");
    nfh_ruleset_free(s);

    /* JSON. */
    s = NULL;
    CHECK(nfh_ruleset_from_site("{\"interfaces\": [{\"name\": \"eth0\", \"default_route\": true}]}",
                         NFH_DOC_FORMAT_JSON, &s, NULL) == NFH_RESULT_OK &&
              s != NULL,
          "nfh_ruleset_from_site reads a JSON site");
    nfh_ruleset_free(s);

    /* Every problem, with its path. */
    const char *bad =
        "kernel = \"2.6.20\"\n"
        "table = \"this-is-a-very-long-table\"\n"
        "[options]\n"
        "\"ftp.loose\" = 7\n"
        "[[interfaces]]\n"
        "name = \"a b\"\n"
        "[[interfaces]]\n"
        "name = \"c/d\"\n";
    s = SENTINEL_PTR;
    err = NULL;
    CHECK_RES(nfh_ruleset_from_site(bad, NFH_DOC_FORMAT_TOML, &s, &err), NFH_RESULT_INVALID_VALUE,
              "nfh_ruleset_from_site: an invalid site gives INVALID_VALUE");
    size_t np = nfh_error_problem_count(err);
    CHECK(s == SENTINEL_PTR && nfh_error_code(err) == NFH_RESULT_INVALID_VALUE && np == 6,
          "the error lists 6 problems (got %zu); *out untouched", np);
    const char *paths[] = {"kernel: ",           "table: ",
                           "options.\"ftp.loose\": ", "interfaces[0].name: ",
                           "interfaces[1].name: ", "interfaces: "};
    int paths_ok = np == 6;
    for (size_t i = 0; i < 6 && paths_ok; i++) {
        char *pr = error_problem(err, i);
        if (!starts_with(pr, paths[i]))
            paths_ok = 0;
        free(pr);
    }
    CHECK(paths_ok, "problems in document order: kernel, table, options.\"ftp.loose\", "
                    "interfaces[0].name, interfaces[1].name, interfaces");
    text_ctx ec = {.obj = err, .index = 5};
    char *last = text_protocol("nfh_error_problem(site, 5)", t_error_problem, &ec);
    CHECK(contains(last, "default_route"), "the last problem: no interface has the default route");
    free(last);
    nfh_error_free(err);

    err = NULL;
    CHECK_RES(nfh_ruleset_from_site("x = ", NFH_DOC_FORMAT_TOML, &s, &err), NFH_RESULT_PARSE_ERROR,
              "nfh_ruleset_from_site: TOML that does not parse gives PARSE_ERROR");
    char *pr = error_problem(err, 0);
    CHECK(nfh_error_problem_count(err) == 1 && starts_with(pr, "line 1, column "),
          "the syntax error is one problem naming line and column");
    free(pr);
    nfh_error_free(err);
    err = NULL;
    CHECK_RES(nfh_ruleset_from_site("{\"interfaces\": [", NFH_DOC_FORMAT_JSON, &s, &err),
              NFH_RESULT_PARSE_ERROR, "nfh_ruleset_from_site: JSON that does not parse gives PARSE_ERROR");
    nfh_error_free(err);
    CHECK_RES(nfh_ruleset_from_site("[[interfaces]]\nname = \"eth0\"\nmtu = 1500\n", NFH_DOC_FORMAT_TOML, &s,
                             NULL),
              NFH_RESULT_PARSE_ERROR,
              "nfh_ruleset_from_site: an unknown field gives PARSE_ERROR (err NULL allowed)");
    CHECK_RES(nfh_ruleset_from_site(SAMPLE_SITE, 2, &s, NULL), NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_from_site(format 2) gives INVALID_PARAMETER");
    CHECK_RES(nfh_ruleset_from_site(SAMPLE_SITE, UINT32_MAX, &s, NULL), NFH_RESULT_INVALID_PARAMETER,
              "nfh_ruleset_from_site(format UINT32_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_ruleset_from_site(NULL, NFH_DOC_FORMAT_TOML, &s, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_ruleset_from_site(text NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_ruleset_from_site(SAMPLE_SITE, NFH_DOC_FORMAT_TOML, NULL, NULL),
              NFH_RESULT_NULL_PARAMETER, "nfh_ruleset_from_site(out NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_ruleset_from_site("[[interfaces]]\nname = \"eth\xff\"\n", NFH_DOC_FORMAT_TOML, &s, NULL),
              NFH_RESULT_INVALID_UTF8, "nfh_ruleset_from_site: invalid UTF-8 gives INVALID_UTF8");
    CHECK(s == SENTINEL_PTR, "nfh_ruleset_from_site: *out untouched by every failure");
    CHECK(nfh_ruleset_rule_count(NULL) == 0, "nfh_ruleset_rule_count(NULL) is 0");
    nfh_ruleset_free(NULL);
    CHECK(1, "nfh_ruleset_free(NULL) is a no-op");
}

/* A site with many services: outputs of hundreds of kilobytes. */
static void test_large_output(void) {
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    if (!text)
        abort();
    len += (size_t)snprintf(text + len, cap - len,
                            "[[interfaces]]\nname = \"wan0\"\ndefault_route = true\n"
                            "networks = [\"198.51.100.2/24\"]\n"
                            "[[interfaces]]\nname = \"lan0\"\nnetworks = [\"10.0.0.1/16\"]\n");
    const int services = 400;
    for (int i = 0; i < services; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "[[services]]\nname = \"svc%d\"\nhelper = \"%s\"\n"
                                "direction = \"inbound\"\nservers = [\"10.0.%d.%d\"]\n",
                                i, i % 2 ? "ftp" : "sip", i / 200, i % 200 + 1);
    nfh_ruleset *s = NULL;
    nfh_error *err = NULL;
    nfh_result r = nfh_ruleset_from_site(text, NFH_DOC_FORMAT_TOML, &s, &err);
    if (err) {
        char *m = error_message(err);
        printf("# %s\n", m ? m : "");
        free(m);
        nfh_error_free(err);
    }
    CHECK_RES(r, NFH_RESULT_OK, "a site with %d services parses", services);
    free(text);
    text_ctx c = {.obj = s, .u = NFH_BACKEND_NFT_JSON};
    char *out = text_protocol("nfh_ruleset_render(nft-json, 400 services)", t_ruleset_render, &c);
    CHECK(out && strlen(out) > 200000 && contains(out, "svc399"),
          "large output: %zu bytes, through the size query", out ? strlen(out) : 0);
    free(out);
    c.u = NFH_BACKEND_COMMANDS;
    out = text_protocol("nfh_ruleset_render(commands, 400 services)", t_ruleset_render, &c);
    CHECK(out && strlen(out) > 100000, "large commands output: %zu bytes",
          out ? strlen(out) : 0);
    free(out);
    nfh_ruleset_free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Batch judging: nfh_judge_*, nfh_judged_*.                                                  */

/* One repetition of the mixed input: good, bad (model and policy), unparsable, blank and
 * summary lines. */
static const char *const JUDGE_LINES[] = {
    /* conforms */
    "299 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=50000 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=55446 dport=21 class=0 helper=ftp",
    /* an FTP bounce: nonconforming */
    "299 proto=6 src=10.71.2.2 dst=10.71.2.3 sport=0 dport=50001 mask-src=255.255.255.255 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=55456 dport=21 class=0 helper=ftp",
    /* SIP media with a wildcard source: nonconforming */
    "    [NEW] 179 proto=17 src=0.0.0.0 dst=10.71.2.3 sport=0 dport=49200 mask-src=0.0.0.0 "
    "mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.71.1.2 master-dst=10.71.2.2 "
    "sport=5060 dport=5060 class=1 helper=sip",
    "",
    /* conforms to the model (with an info finding); the sample policy denies irc */
    "299 l3proto = 2 proto=6 src=0.0.0.0 dst=10.71.1.2 sport=0 dport=50010 irc",
    "   \t\r",
    "300 proto=6 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=99999 mask-src=255.255.255.255",
    "conntrack v1.4.7 (conntrack-tools): 2 expectations have been shown.",
    /* conforms */
    "299 l3proto = 2 proto=17 src=10.71.2.2 dst=10.71.1.2 sport=0 dport=49902 tftp",
    "nonsense",
};
#define N_JUDGE_LINES (sizeof JUDGE_LINES / sizeof JUDGE_LINES[0])
/* Repetitions for the large input: about 850 KB, four pieces of up to 256 KiB, so four threads
 * all get work. */
#define BIG_REPS 850

/* `reps` repetitions, then the first line again without a trailing newline. malloc'd. */
static char *judge_input(size_t reps, size_t *len_out) {
    size_t one = 0;
    for (size_t i = 0; i < N_JUDGE_LINES; i++)
        one += strlen(JUDGE_LINES[i]) + 1;
    size_t cap = reps * one + strlen(JUDGE_LINES[0]) + 1, len = 0;
    char *t = malloc(cap);
    if (!t)
        abort();
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < N_JUDGE_LINES; i++) {
            size_t n = strlen(JUDGE_LINES[i]);
            memcpy(t + len, JUDGE_LINES[i], n);
            len += n;
            t[len++] = '\n';
        }
    memcpy(t + len, JUDGE_LINES[0], strlen(JUDGE_LINES[0]));
    len += strlen(JUDGE_LINES[0]);
    t[len] = '\0';
    *len_out = len;
    return t;
}

/* What a callback copied out of one nfh_judged view. */
typedef struct judged_rec {
    size_t line, nfind;
    int conforms, parsed;
    char *error, *helper, *text, *findings; /* findings: "<severity> [code] message\n" each */
} judged_rec;

typedef struct judged_log {
    judged_rec *recs;
    size_t n, cap;
    size_t stop_after; /* return non-zero after this many deliveries */
    int light;         /* record only line, conforms, parsed and the finding count */
    int bad_calls;     /* accessor calls that failed */
    const nfh_judge *nested; /* when set, the callback calls nfh_judge_count on it */
} judged_log;

static void log_free(judged_log *log) {
    for (size_t i = 0; i < log->n; i++) {
        free(log->recs[i].error);
        free(log->recs[i].helper);
        free(log->recs[i].text);
        free(log->recs[i].findings);
    }
    free(log->recs);
    memset(log, 0, sizeof *log);
}

static nfh_result t_judged_error(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_judged_error(c->obj, b, l, n);
}
static nfh_result t_judged_helper(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_judged_helper(c->obj, b, l, n);
}
static nfh_result t_judged_text(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_judged_text(c->obj, b, l, n);
}
static nfh_result t_judged_finding(const text_ctx *c, char *b, size_t l, size_t *n) {
    return nfh_judged_finding(c->obj, c->index, c->severity, b, l, n);
}

/* Appends "<severity> <text>\n" for every finding; fn is t_verdict_finding or
 * t_judged_finding. NULL when an accessor fails. */
static char *findings_of(const void *obj, size_t count, text_fn fn) {
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        uint32_t sev = SEV_SENTINEL;
        text_ctx c = {.obj = obj, .index = i, .severity = &sev};
        char *t = text_get(fn, &c);
        if (!t || sev == SEV_SENTINEL) {
            free(t);
            free(out);
            return NULL;
        }
        size_t need = len + strlen(t) + 16;
        if (need > cap) {
            cap = need * 2;
            char *grown = realloc(out, cap);
            if (!grown)
                abort();
            out = grown;
        }
        len += (size_t)snprintf(out + len, cap - len, "%u %s\n", sev, t);
        free(t);
    }
    return out;
}

static int record_cb(void *ctx, const nfh_judged *j) {
    judged_log *log = ctx;
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 64;
        judged_rec *grown = realloc(log->recs, log->cap * sizeof *grown);
        if (!grown)
            abort();
        log->recs = grown;
    }
    judged_rec *r = &log->recs[log->n++];
    memset(r, 0, sizeof *r);
    r->line = nfh_judged_line_number(j);
    r->conforms = nfh_judged_conforms(j);
    r->parsed = nfh_judged_parsed(j);
    r->nfind = nfh_judged_finding_count(j);
    if (!log->light) {
        text_ctx c = {.obj = j};
        r->error = text_get(t_judged_error, &c);
        r->helper = text_get(t_judged_helper, &c);
        r->text = text_get(t_judged_text, &c);
        r->findings = findings_of(j, r->nfind, t_judged_finding);
        if (!r->error || !r->helper || !r->text || !r->findings)
            log->bad_calls++;
    }
    if (log->nested) {
        /* The callback may call the library, on the same judge too. */
        nfh_counts c;
        const char *l = JUDGE_LINES[0];
        if (nfh_judge_count(log->nested, (const uint8_t *)l, strlen(l), 2, &c) !=
                NFH_RESULT_OK ||
            c.lines != 1 || c.conforming != 1)
            log->bad_calls++;
    }
    return log->stop_after && log->n >= log->stop_after;
}

static nfh_result judge_log(const nfh_judge *j, const char *buf, size_t len, size_t threads,
                            bool quiet, judged_log *log) {
    return nfh_judge_buffer(j, (const uint8_t *)buf, len, threads, quiet, record_cb, log);
}

static int str_eq(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

static int rec_eq(const judged_rec *a, const judged_rec *b, int light) {
    if (a->line != b->line || a->conforms != b->conforms || a->parsed != b->parsed ||
        a->nfind != b->nfind)
        return 0;
    return light || (str_eq(a->error, b->error) && str_eq(a->helper, b->helper) &&
                     str_eq(a->text, b->text) && str_eq(a->findings, b->findings));
}

static int logs_eq(const judged_log *a, const judged_log *b, int light) {
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!rec_eq(&a->recs[i], &b->recs[i], light))
            return 0;
    return 1;
}

/* Whether the core skips this line: blank, or conntrack's summary line. */
static int skipped_line(const char *l) {
    while (*l == ' ' || *l == '\t' || *l == '\r' || *l == '\v' || *l == '\f')
        l++;
    return *l == '\0' || starts_with(l, "conntrack v");
}

/* Compares a full-detail log of `buf` with nfh_validator_check_line on each line (split here,
 * in the test), and tallies what check_line says. Returns the number of mismatches and
 * prints the first. */
static size_t compare_with_check_line(const char *buf, const judged_log *log,
                                      const nfh_validator *v, const nfh_policy *p,
                                      nfh_counts *tally) {
    size_t mismatches = 0, r = 0, k = 0;
    memset(tally, 0, sizeof *tally);
    const char *s = buf;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char *line = malloc(n + 1);
        if (!line)
            abort();
        memcpy(line, s, n);
        line[n] = '\0';
        k++;
        s = nl ? nl + 1 : s + n;
        if (skipped_line(line)) {
            if (r < log->n && log->recs[r].line == k) {
                if (!mismatches++)
                    printf("# line %zu is skipped by the core but was delivered\n", k);
            }
            free(line);
            continue;
        }
        tally->lines++;
        const judged_rec *got = r < log->n ? &log->recs[r++] : NULL;
        nfh_verdict *vd = NULL;
        nfh_error *err = NULL;
        nfh_result res = nfh_validator_check_line(v, p, line, &vd, &err);
        judged_rec want = {.line = k};
        if (res == NFH_RESULT_OK) {
            want.parsed = 1;
            want.conforms = nfh_verdict_conforms(vd);
            want.nfind = nfh_verdict_finding_count(vd);
            want.text = verdict_text(vd);
            want.findings = findings_of(vd, want.nfind, t_verdict_finding);
            want.error = strdup("");
            tally->conforming += (size_t)want.conforms;
        } else {
            tally->unparsable++;
            char *m = error_message(err);
            /* check_line numbers its one line 0; the batch gives the input's number. */
            size_t need = (m ? strlen(m) : 0) + 32;
            want.error = malloc(need);
            if (!want.error)
                abort();
            if (starts_with(m, "line 0: "))
                snprintf(want.error, need, "line %zu: %s", k, m + strlen("line 0: "));
            else
                snprintf(want.error, need, "(unexpected) %s", m ? m : "");
            free(m);
            want.text = strdup("");
            want.findings = strdup("");
        }
        want.helper = got && got->helper ? strdup(got->helper) : strdup(""); /* checked apart */
        if (!got || !rec_eq(got, &want, 0)) {
            if (!mismatches)
                printf("# line %zu (%s): batch {line %zu, conforms %d, parsed %d, %zu findings, "
                       "error \"%s\"} vs check_line {conforms %d, parsed %d, %zu findings, error "
                       "\"%s\"}\n",
                       k, line, got ? got->line : 0, got ? got->conforms : -1,
                       got ? got->parsed : -1, got ? got->nfind : 0,
                       got && got->error ? got->error : "", want.conforms, want.parsed,
                       want.nfind, want.error);
            mismatches++;
        }
        free(want.text);
        free(want.findings);
        free(want.error);
        free(want.helper);
        nfh_verdict_free(vd);
        nfh_error_free(err);
        free(line);
    }
    if (r != log->n) {
        if (!mismatches)
            printf("# %zu results delivered, %zu lines to judge\n", log->n, r);
        mismatches++;
    }
    return mismatches;
}

/* Checks the accessors' buffer protocol and argument errors on one view, from inside the
 * callback. */
typedef struct probe_ctx {
    size_t line; /* the line to probe */
    int done;
} probe_ctx;

static int probe_cb(void *ctx, const nfh_judged *j) {
    probe_ctx *pc = ctx;
    if (nfh_judged_line_number(j) != pc->line)
        return 0;
    pc->done = 1;
    text_ctx c = {.obj = j};
    char *t = text_protocol("nfh_judged_text(bounce)", t_judged_text, &c);
    CHECK(starts_with(t, "error [destination-address]: ") && contains(t, "10.71.2.3"),
          "nfh_judged_text(bounce) names destination-address and 10.71.2.3");
    free(t);
    char *h = text_protocol("nfh_judged_helper(bounce)", t_judged_helper, &c);
    CHECK(str_eq(h, "ftp"), "nfh_judged_helper(bounce) is \"ftp\"");
    free(h);
    char *e = text_protocol("nfh_judged_error(parsed line: empty)", t_judged_error, &c);
    CHECK(str_eq(e, ""), "nfh_judged_error of a line that parsed is \"\"");
    free(e);
    uint32_t sev = SEV_SENTINEL;
    text_ctx fc = {.obj = j, .index = 0, .severity = &sev};
    size_t n = 0;
    CHECK(nfh_judged_finding(j, 0, &sev, NULL, 0, &n) == NFH_RESULT_INSUFFICIENT_SIZE &&
              sev == SEV_SENTINEL,
          "nfh_judged_finding: severity not written on INSUFFICIENT_SIZE");
    char *f = text_protocol("nfh_judged_finding(0)", t_judged_finding, &fc);
    CHECK(starts_with(f, "[destination-address] ") && sev == NFH_SEVERITY_ERROR,
          "nfh_judged_finding(0): \"[destination-address] ...\", severity ERROR");
    free(f);
    size_t count = nfh_judged_finding_count(j);
    char buf[64];
    n = SIZE_SENTINEL;
    CHECK_RES(nfh_judged_finding(j, count, &sev, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_judged_finding(index = count) gives INVALID_PARAMETER");
    CHECK_RES(nfh_judged_finding(j, SIZE_MAX, &sev, buf, sizeof buf, &n),
              NFH_RESULT_INVALID_PARAMETER, "nfh_judged_finding(SIZE_MAX) gives INVALID_PARAMETER");
    CHECK_RES(nfh_judged_finding(j, 0, NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_judged_finding(severity NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL, "nfh_judged_finding: *out_n untouched on failure");
    return 0;
}

static int probe_error_cb(void *ctx, const nfh_judged *j) {
    probe_ctx *pc = ctx;
    if (nfh_judged_line_number(j) != pc->line)
        return 0;
    pc->done = 1;
    text_ctx c = {.obj = j};
    char *e = text_protocol("nfh_judged_error(dport=99999)", t_judged_error, &c);
    char want[64];
    snprintf(want, sizeof want, "line %zu: invalid value for dport (near \"99999\")", pc->line);
    CHECK(str_eq(e, want), "nfh_judged_error: \"%s\"", e ? e : "");
    free(e);
    char *h = text_get(t_judged_helper, &c);
    char *t = text_get(t_judged_text, &c);
    CHECK(!nfh_judged_parsed(j) && !nfh_judged_conforms(j) && nfh_judged_finding_count(j) == 0 &&
              str_eq(h, "") && str_eq(t, ""),
          "a line that does not parse: not parsed, not conforming, no findings, helper \"\"");
    free(h);
    free(t);
    uint32_t sev = SEV_SENTINEL;
    size_t n = SIZE_SENTINEL;
    char buf[8];
    CHECK_RES(nfh_judged_finding(j, 0, &sev, buf, sizeof buf, &n), NFH_RESULT_INVALID_PARAMETER,
              "nfh_judged_finding(0) without findings gives INVALID_PARAMETER");
    return 1; /* stop here */
}

static int never_cb(void *ctx, const nfh_judged *j) {
    (void)j;
    (*(int *)ctx)++;
    return 0;
}

/* A read callback over memory: at most `step` bytes per call, or one line per call; fails
 * (returns -1) once `fail_at` bytes were handed out. With `live`, it checks at every call
 * that every complete line handed out so far was delivered already. */
typedef struct mem_source {
    const char *rest;
    size_t left, step, fail_at, given, calls;
    int one_line, late; /* late: a call found lines not yet delivered */
    const judged_log *log;
    size_t complete_lines; /* judgeable complete lines handed out */
} mem_source;

static ptrdiff_t mem_read(void *ctx, uint8_t *buf, size_t len) {
    mem_source *s = ctx;
    s->calls++;
    if (s->log && s->log->n != s->complete_lines)
        s->late = 1;
    if (s->fail_at && s->given >= s->fail_at)
        return -1;
    size_t n = s->left;
    if (s->one_line) {
        const char *nl = memchr(s->rest, '\n', s->left);
        if (nl)
            n = (size_t)(nl - s->rest) + 1;
        char line[512]; /* the line without its newline */
        size_t m = nl ? n - 1 : n;
        if (m >= sizeof line)
            m = sizeof line - 1;
        memcpy(line, s->rest, m);
        line[m] = '\0';
        if (nl && !skipped_line(line))
            s->complete_lines++;
    }
    if (n > s->step)
        n = s->step;
    if (n > len)
        n = len;
    memcpy(buf, s->rest, n);
    s->rest += n;
    s->left -= n;
    s->given += n;
    return (ptrdiff_t)n;
}

static ptrdiff_t too_much_read(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    (void)buf;
    return (ptrdiff_t)len + 1;
}

static void test_judge(void) {
    nfh_policy *p = NULL;
    nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p, NULL);
    nfh_validator *v = nfh_validator_new(NULL);
    nfh_judge *jm = nfh_judge_new(NULL, NULL);
    nfh_judge *jp = nfh_judge_new(NULL, p);
    CHECK(jm && jp, "nfh_judge_new(NULL, NULL) and nfh_judge_new(NULL, policy) give judges");

    /* The mixed input, per line against nfh_validator_check_line, model and policy. */
    size_t len = 0;
    char *small = judge_input(3, &len);
    for (int k = 0; k < 2; k++) {
        const nfh_judge *j = k ? jp : jm;
        const char *what = k ? "model and policy" : "model";
        for (size_t threads = 1; threads <= 4; threads += 3) {
            judged_log log = {0};
            CHECK_RES(judge_log(j, small, len, threads, false, &log), NFH_RESULT_OK,
                      "nfh_judge_buffer (%s, %zu threads) succeeds", what, threads);
            nfh_counts tally;
            size_t bad = compare_with_check_line(small, &log, v, k ? p : NULL, &tally);
            CHECK(bad == 0 && log.bad_calls == 0,
                  "nfh_judge_buffer (%s, %zu threads): %zu results, each the verdict of "
                  "nfh_validator_check_line on its line (blank and summary lines skipped, last "
                  "line without newline judged)",
                  what, threads, log.n);
            nfh_counts c = {SIZE_SENTINEL, SIZE_SENTINEL, SIZE_SENTINEL};
            CHECK_RES(nfh_judge_count(j, (const uint8_t *)small, len, threads, &c), NFH_RESULT_OK,
                      "nfh_judge_count (%s, %zu threads) succeeds", what, threads);
            CHECK(c.lines == tally.lines && c.conforming == tally.conforming &&
                      c.unparsable == tally.unparsable,
                  "nfh_judge_count (%s, %zu threads): %zu lines, %zu conforming, %zu "
                  "unparsable, as per-line check_line",
                  what, threads, c.lines, c.conforming, c.unparsable);
            /* Per repetition: 7 judged lines; 3 conform to the model (ftp, irc, tftp), 2 to
             * the policy too (irc denied); 2 do not parse. Plus the last line. */
            size_t want_conf = k ? 3 * 2 + 1 : 3 * 3 + 1;
            CHECK(tally.lines == 3 * 7 + 1 && tally.conforming == want_conf &&
                      tally.unparsable == 3 * 2,
                  "the mixed input: %zu lines, %zu conforming (%zu expected), %zu unparsable",
                  tally.lines, tally.conforming, want_conf, tally.unparsable);
            CHECK(log.n > 0 && log.recs[0].line == 1 && str_eq(log.recs[0].helper, "ftp") &&
                      log.recs[log.n - 1].line == 3 * N_JUDGE_LINES + 1 &&
                      log.recs[3].line == 5 && str_eq(log.recs[3].helper, "irc"),
                  "line numbers are the input's (blank lines count); helpers as written");

            judged_log quiet = {0};
            judge_log(j, small, len, threads, true, &quiet);
            int same = quiet.n == log.n;
            for (size_t i = 0; same && i < log.n; i++) {
                const judged_rec *a = &quiet.recs[i], *b = &log.recs[i];
                if (a->conforms)
                    same = a->line == b->line && b->conforms && a->parsed && a->nfind == 0 &&
                           str_eq(a->text, "") && str_eq(a->findings, "");
                else
                    same = rec_eq(a, b, 0);
            }
            CHECK(same, "nfh_judge_buffer quiet (%s, %zu threads): the same verdicts; "
                        "conforming lines carry no findings, the others all of theirs",
                  what, threads);
            log_free(&quiet);
            log_free(&log);
        }
    }

    /* Accessors on a view, inside the callback: the bounce (line 2), then a parse error. */
    probe_ctx pc = {.line = 2};
    CHECK_RES(nfh_judge_buffer(jm, (const uint8_t *)small, len, 1, false, probe_cb, &pc),
              NFH_RESULT_OK, "nfh_judge_buffer with the probing callback succeeds");
    CHECK(pc.done, "the probing callback saw line 2");
    pc = (probe_ctx){.line = 7};
    CHECK_RES(nfh_judge_buffer(jm, (const uint8_t *)small, len, 1, false, probe_error_cb, &pc),
              NFH_RESULT_STOPPED, "a callback returning non-zero gives NFH_RESULT_STOPPED");
    CHECK(pc.done, "the probing callback saw line 7");

    size_t n = SIZE_SENTINEL;
    uint32_t sev = SEV_SENTINEL;
    char buf[16];
    CHECK(nfh_judged_line_number(NULL) == 0 && !nfh_judged_conforms(NULL) && !nfh_judged_parsed(NULL) &&
              nfh_judged_finding_count(NULL) == 0,
          "nfh_judged_line_number/_conforms/_parsed/_finding_count(NULL) are 0, false, false, 0");
    CHECK_RES(nfh_judged_error(NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_judged_error(NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judged_helper(NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_judged_helper(NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judged_text(NULL, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_judged_text(NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judged_finding(NULL, 0, &sev, buf, sizeof buf, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_judged_finding(NULL) gives NULL_PARAMETER");
    CHECK(n == SIZE_SENTINEL && sev == SEV_SENTINEL, "nfh_judged_*: outputs untouched on failure");

    /* A large input (several 256 KiB pieces): threads 1 and 4 agree, and early stop. */
    size_t big_len = 0;
    char *big = judge_input(BIG_REPS, &big_len);
    judged_log one = {.light = 1}, four = {.light = 1};
    nfh_result r1 = judge_log(jp, big, big_len, 1, false, &one);
    nfh_result r4 = judge_log(jp, big, big_len, 4, false, &four);
    CHECK(r1 == NFH_RESULT_OK && r4 == NFH_RESULT_OK && one.n == BIG_REPS * 7 + 1 &&
              logs_eq(&one, &four, 1),
          "nfh_judge_buffer on %zu bytes: 1 and 4 threads deliver the same %zu results in the "
          "same order",
          big_len, one.n);
    nfh_counts c1, c4, c0;
    CHECK(nfh_judge_count(jp, (const uint8_t *)big, big_len, 1, &c1) == NFH_RESULT_OK &&
              nfh_judge_count(jp, (const uint8_t *)big, big_len, 4, &c4) == NFH_RESULT_OK &&
              nfh_judge_count(jp, (const uint8_t *)big, big_len, 0, &c0) == NFH_RESULT_OK &&
              c1.lines == one.n && c4.lines == c1.lines && c0.lines == c1.lines &&
              c1.conforming == BIG_REPS * 2 + 1 && c4.conforming == c1.conforming &&
              c0.conforming == c1.conforming && c1.unparsable == BIG_REPS * 2 &&
              c4.unparsable == c1.unparsable && c0.unparsable == c1.unparsable,
          "nfh_judge_count on %zu bytes: threads 1, 4 and 0 (one per core) agree with the "
          "delivered results",
          big_len);
    size_t conf = 0, unparsed = 0;
    for (size_t i = 0; i < one.n; i++) {
        conf += (size_t)one.recs[i].conforms;
        unparsed += (size_t)!one.recs[i].parsed;
    }
    CHECK(conf == c1.conforming && unparsed == c1.unparsable,
          "nfh_judge_count's conforming and unparsable are the delivered results' tallies");
    for (size_t threads = 1; threads <= 4; threads += 3) {
        judged_log stop = {.light = 1, .stop_after = 3, .nested = jp};
        nfh_result r = judge_log(jp, big, big_len, threads, false, &stop);
        CHECK(r == NFH_RESULT_STOPPED && stop.n == 3 && stop.bad_calls == 0 &&
                  rec_eq(&stop.recs[0], &one.recs[0], 1) && rec_eq(&stop.recs[2], &one.recs[2], 1),
              "early stop (%zu threads): the callback returns 1 on the third line: "
              "NFH_RESULT_STOPPED after exactly 3 results (the callback may call the library)",
              threads);
        log_free(&stop);
    }
    judged_log last = {.light = 1, .stop_after = 3 * 7 + 1};
    CHECK_RES(judge_log(jp, small, len, 4, false, &last), NFH_RESULT_STOPPED,
              "a stop on the very last line still gives NFH_RESULT_STOPPED");
    log_free(&last);

    /* nfh_judge_read: the same results, whatever the reads return. */
    const size_t steps[] = {SIZE_MAX, 4096, 7};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *input = steps[i] == SIZE_MAX ? big : small;
        const judged_log *want = steps[i] == SIZE_MAX ? &one : NULL;
        mem_source s = {.rest = input, .left = strlen(input), .step = steps[i]};
        judged_log got = {.light = 1};
        nfh_result r = nfh_judge_read(jp, mem_read, &s, 4, false, record_cb, &got);
        judged_log ref = {.light = 1};
        if (!want) {
            judge_log(jp, small, len, 1, false, &ref);
            want = &ref;
        }
        char step[32] = "any number of";
        if (steps[i] != SIZE_MAX)
            snprintf(step, sizeof step, "at most %zu", steps[i]);
        CHECK(r == NFH_RESULT_OK && logs_eq(&got, want, 1),
              "nfh_judge_read, reads of %s bytes: the results of nfh_judge_buffer (%zu)", step,
              got.n);
        log_free(&got);
        log_free(&ref);
    }
    {
        /* Full detail through the reader too. */
        judged_log a = {0}, b = {0};
        mem_source s = {.rest = small, .left = len, .step = 100};
        CHECK(nfh_judge_read(jp, mem_read, &s, 1, false, record_cb, &a) == NFH_RESULT_OK &&
                  judge_log(jp, small, len, 1, false, &b) == NFH_RESULT_OK && logs_eq(&a, &b, 0),
              "nfh_judge_read: the same findings, errors and helpers as nfh_judge_buffer");
        log_free(&a);
        log_free(&b);
    }
    {
        /* Live: each line is judged and delivered before the next read. */
        judged_log got = {.light = 1};
        mem_source s = {
            .rest = small, .left = len, .step = SIZE_MAX, .one_line = 1, .log = &got};
        nfh_result r = nfh_judge_read(jm, mem_read, &s, 2, true, record_cb, &got);
        CHECK(r == NFH_RESULT_OK && !s.late && got.n == 3 * 7 + 1,
              "nfh_judge_read, one line per read: every line delivered before the next read "
              "(%zu reads)",
              s.calls);
        log_free(&got);
    }
    {
        judged_log got = {.light = 1, .stop_after = 2};
        mem_source s = {.rest = big, .left = big_len, .step = 4096};
        nfh_result r = nfh_judge_read(jp, mem_read, &s, 4, false, record_cb, &got);
        CHECK(r == NFH_RESULT_STOPPED && got.n == 2 && s.given < big_len / 4,
              "nfh_judge_read early stop: NFH_RESULT_STOPPED after 2 results; reading stops "
              "(%zu of %zu bytes read)",
              s.given, big_len);
        log_free(&got);
    }
    {
        judged_log got = {.light = 1};
        mem_source s = {.rest = big, .left = big_len, .step = 100000, .fail_at = 300000};
        nfh_result r = nfh_judge_read(jp, mem_read, &s, 2, false, record_cb, &got);
        int prefix = got.n > 0 && got.n < one.n;
        for (size_t i = 0; prefix && i < got.n; i++)
            prefix = rec_eq(&got.recs[i], &one.recs[i], 1);
        CHECK(r == NFH_RESULT_READ_ERROR && prefix,
              "nfh_judge_read: a read returning -1 gives READ_ERROR; the %zu lines read before "
              "were delivered",
              got.n);
        log_free(&got);
        got = (judged_log){.light = 1};
        CHECK_RES(nfh_judge_read(jp, too_much_read, NULL, 1, false, record_cb, &got),
                  NFH_RESULT_READ_ERROR, "nfh_judge_read: a read returning more than len gives "
                                         "READ_ERROR");
        CHECK(got.n == 0, "nothing delivered from a read that returned too much");
        log_free(&got);
    }

    /* Module options and ownership: the judge copies options and policy. */
    nfh_options *o = nfh_options_new();
    nfh_options_set(o, "ftp.loose=1", NULL);
    nfh_policy *p2 = NULL;
    nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p2, NULL);
    nfh_judge *jl = nfh_judge_new(o, NULL), *jlp = nfh_judge_new(o, p2);
    nfh_options_free(o);
    nfh_policy_free(p2);
    const char *bounce = JUDGE_LINES[1];
    nfh_counts cl = {0}, clp = {0}, cm = {0};
    nfh_judge_count(jl, (const uint8_t *)bounce, strlen(bounce), 1, &cl);
    nfh_judge_count(jlp, (const uint8_t *)bounce, strlen(bounce), 1, &clp);
    nfh_judge_count(jm, (const uint8_t *)bounce, strlen(bounce), 1, &cm);
    CHECK(cl.conforming == 1 && clp.conforming == 0 && cm.conforming == 0,
          "with ftp.loose=1 the bounce conforms to the model; the policy still rejects it; "
          "options and policy freed right after nfh_judge_new");
    nfh_judge_free(jl);
    nfh_judge_free(jlp);

    /* Argument errors: documented codes, outputs untouched, callbacks never called. */
    nfh_counts out = {SIZE_SENTINEL, SIZE_SENTINEL, SIZE_SENTINEL};
    const uint8_t *b = (const uint8_t *)small;
    CHECK_RES(nfh_judge_count(NULL, b, len, 1, &out), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_count(judge NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_count(jm, NULL, len, 1, &out), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_count(buf NULL, len > 0) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_count(jm, b, len, 1, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_count(out NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_count(jm, b, len, NFH_MAX_THREADS + 1, &out),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_judge_count(threads NFH_MAX_THREADS + 1) gives INVALID_PARAMETER");
    CHECK_RES(nfh_judge_count(jm, b, len, SIZE_MAX, &out), NFH_RESULT_INVALID_PARAMETER,
              "nfh_judge_count(threads SIZE_MAX) gives INVALID_PARAMETER");
    CHECK(out.lines == SIZE_SENTINEL && out.conforming == SIZE_SENTINEL &&
              out.unparsable == SIZE_SENTINEL,
          "nfh_judge_count: *out untouched on failure");
    CHECK(nfh_judge_count(jm, NULL, 0, 1, &out) == NFH_RESULT_OK && out.lines == 0 &&
              out.conforming == 0 && out.unparsable == 0,
          "nfh_judge_count(NULL, 0) counts nothing");
    CHECK(nfh_judge_count(jm, b, len, NFH_MAX_THREADS, &out) == NFH_RESULT_OK &&
              out.lines == 3 * 7 + 1,
          "nfh_judge_count(threads NFH_MAX_THREADS) is accepted");
    int calls = 0;
    CHECK_RES(nfh_judge_buffer(NULL, b, len, 1, false, never_cb, &calls),
              NFH_RESULT_NULL_PARAMETER, "nfh_judge_buffer(judge NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_buffer(jm, NULL, len, 1, false, never_cb, &calls),
              NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_buffer(buf NULL, len > 0) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_buffer(jm, b, len, 1, false, NULL, &calls), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_buffer(callback NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_buffer(jm, b, len, NFH_MAX_THREADS + 1, true, never_cb, &calls),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_judge_buffer(threads NFH_MAX_THREADS + 1) gives INVALID_PARAMETER");
    CHECK(calls == 0, "nfh_judge_buffer: the callback is not called on argument errors");
    CHECK(nfh_judge_buffer(jm, NULL, 0, 1, false, never_cb, &calls) == NFH_RESULT_OK &&
              calls == 0,
          "nfh_judge_buffer(NULL, 0) succeeds without calling back");
    nfh_result rq = nfh_judge_buffer(jm, b, len, 0, true, never_cb, &calls);
    CHECK(rq == NFH_RESULT_OK && calls == 3 * 7 + 1,
          "nfh_judge_buffer(threads 0, quiet): one call per judged line (%d)", calls);
    mem_source s = {.rest = small, .left = len, .step = 10};
    calls = 0;
    CHECK_RES(nfh_judge_read(NULL, mem_read, &s, 1, false, never_cb, &calls),
              NFH_RESULT_NULL_PARAMETER, "nfh_judge_read(judge NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_read(jm, NULL, &s, 1, false, never_cb, &calls), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_read(read NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_read(jm, mem_read, &s, 1, false, NULL, &calls), NFH_RESULT_NULL_PARAMETER,
              "nfh_judge_read(callback NULL) gives NULL_PARAMETER");
    CHECK_RES(nfh_judge_read(jm, mem_read, &s, NFH_MAX_THREADS + 1, false, never_cb, &calls),
              NFH_RESULT_INVALID_PARAMETER,
              "nfh_judge_read(threads NFH_MAX_THREADS + 1) gives INVALID_PARAMETER");
    CHECK(calls == 0 && s.calls == 0,
          "nfh_judge_read: neither callback is called on argument errors");
    nfh_judge_free(NULL);
    CHECK(1, "nfh_judge_free(NULL) is a no-op");

    log_free(&one);
    log_free(&four);
    free(big);
    free(small);
    nfh_judge_free(jm);
    nfh_judge_free(jp);
    nfh_validator_free(v);
    nfh_policy_free(p);
}

/* Immutable objects shared by several threads. */
struct shared {
    const nfh_validator *v;
    const nfh_policy *p;
    const nfh_expectations *e;
    const nfh_ruleset *s;
    const nfh_judge *j;
    const char *text;
    size_t len;
    size_t conforming_model, conforming_policy;
    const char *nft;
    int ok;
};

static void *worker(void *arg) {
    struct shared *sh = arg;
    int ok = 1;
    for (int round = 0; round < 3; round++) {
        size_t cm = 0, cp = 0, count = nfh_expectations_count(sh->e);
        for (size_t i = 0; i < count; i++) {
            cm += conforms(sh->v, NULL, sh->e, i) == 1;
            cp += conforms(sh->v, sh->p, sh->e, i) == 1;
        }
        if (cm != sh->conforming_model || cp != sh->conforming_policy)
            ok = 0;
        text_ctx c = {.obj = sh->s, .u = NFH_BACKEND_NFT};
        char *nft = text_get(t_ruleset_render, &c);
        if (!nft || strcmp(nft, sh->nft) != 0)
            ok = 0;
        free(nft);
        nfh_verdict *vd = NULL;
        if (nfh_validator_verdict(sh->v, sh->p, sh->e, 1, &vd) != NFH_RESULT_OK)
            ok = 0;
        nfh_verdict_free(vd);
        nfh_counts n;
        if (nfh_judge_count(sh->j, (const uint8_t *)sh->text, sh->len, 2, &n) != NFH_RESULT_OK ||
            n.lines != count || n.conforming != sh->conforming_policy || n.unparsable != 0)
            ok = 0;
    }
    sh->ok = ok;
    return NULL;
}

static void test_threads(void) {
    /* 2000 lines of the benchmark's mix. */
    size_t cap = 2000 * 400, len = 0;
    char *text = malloc(cap);
    if (!text)
        abort();
    for (unsigned i = 0; i < 2000; i++) {
        unsigned a = (i * 7) & 0xff, b = (i * 13) & 0xff, port = 1024 + (i * 31) % 60000;
        switch (i % 4) {
        case 0:
            len += (size_t)snprintf(
                text + len, cap - len,
                "299 proto=6 src=10.%u.%u.2 dst=10.%u.%u.7 sport=0 dport=%u "
                "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
                "master-src=10.%u.%u.7 master-dst=10.%u.%u.2 sport=40000 dport=21 class=0 "
                "helper=ftp\n",
                a, b, b, a, port, b, a, a, b);
            break;
        case 1:
            len += (size_t)snprintf(text + len, cap - len,
                                    "300 l3proto = 2 proto=6 src=0.0.0.0 dst=192.168.%u.%u "
                                    "sport=0 dport=%u irc\n",
                                    a, b, port);
            break;
        case 2:
            len += (size_t)snprintf(text + len, cap - len,
                                    "179 l3proto = 2 proto=17 src=203.0.113.%u dst=192.168.1.%u "
                                    "sport=0 dport=%u sip/audio\n",
                                    a, b, port & ~1u);
            break;
        default:
            len += (size_t)snprintf(
                text + len, cap - len,
                "299 proto=6 src=10.71.2.2 dst=10.71.%u.%u sport=0 dport=%u "
                "mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
                "master-src=10.71.1.2 master-dst=10.71.2.2 sport=55456 dport=21 class=0 "
                "helper=ftp\n",
                1 + (i & 1), b, port);
        }
    }
    struct shared sh = {0};
    nfh_expectations *e = NULL;
    nfh_expectations_parse((const uint8_t *)text, len, &e);
    nfh_validator *v = nfh_validator_new(NULL);
    nfh_policy *p = NULL;
    nfh_policy_parse(SAMPLE_POLICY, NFH_DOC_FORMAT_TOML, &p, NULL);
    nfh_ruleset *s = NULL;
    nfh_ruleset_from_site(SAMPLE_SITE, NFH_DOC_FORMAT_TOML, &s, NULL);
    nfh_judge *j = nfh_judge_new(NULL, p);
    sh.v = v;
    sh.p = p;
    sh.e = e;
    sh.s = s;
    sh.j = j;
    sh.text = text;
    sh.len = len;
    for (size_t i = 0; i < nfh_expectations_count(e); i++) {
        sh.conforming_model += conforms(v, NULL, e, i) == 1;
        sh.conforming_policy += conforms(v, p, e, i) == 1;
    }
    text_ctx c = {.obj = s, .u = NFH_BACKEND_NFT};
    char *nft = text_get(t_ruleset_render, &c);
    sh.nft = nft;
    CHECK(nfh_expectations_count(e) == 2000 && sh.conforming_model > 0 &&
              sh.conforming_model < 2000 && sh.conforming_policy < sh.conforming_model,
          "threads: 2000 expectations, %zu conform to the model, %zu to the policy too",
          sh.conforming_model, sh.conforming_policy);

    enum { THREADS = 4 };
    pthread_t th[THREADS];
    struct shared each[THREADS];
    int started = 1;
    for (int i = 0; i < THREADS; i++) {
        each[i] = sh;
        if (pthread_create(&th[i], NULL, worker, &each[i]) != 0)
            started = 0;
    }
    int ok = started;
    for (int i = 0; i < THREADS && started; i++) {
        pthread_join(th[i], NULL);
        ok &= each[i].ok;
    }
    CHECK(ok, "threads: %d threads share one validator, policy, expectations, site and judge "
              "(nfh_judge_count on 2 threads each); same results",
          THREADS);
    free(nft);
    free(text);
    nfh_judge_free(j);
    nfh_ruleset_free(s);
    nfh_policy_free(p);
    nfh_validator_free(v);
    nfh_expectations_free(e);
}

/* ------------------------------------------------------------------------------------------ */
/* Watching live expectations (nfh_watch_*): errors, NULLs, stop. Events and deletions on a   */
/* live kernel are tested by the lab (tests/tests/lab_watch.rs) through the same watcher.      */

static int watch_count(void *ctx, const nfh_watch_event *ev) {
    size_t n = 0;
    uint32_t id = 0;
    (*(size_t *)ctx)++;
    (void)nfh_watch_event_kind(ev);
    (void)nfh_watch_event_id(ev, &id);
    (void)nfh_watch_event_conforms(ev);
    (void)nfh_watch_event_deletion(ev);
    (void)nfh_watch_event_text(ev, NULL, 0, &n);
    return 1;
}

static void test_watch(void) {
    nfh_watch *w = NULL;
    nfh_error *err = NULL;
    uint32_t id = 0;
    size_t n = 0;
    CHECK_RES(nfh_watch_open("/run/netns/nfh-c-no-such-namespace", &w, &err),
              NFH_RESULT_NOT_AVAILABLE, "nfh_watch_open: a missing namespace");
    CHECK(w == NULL, "nfh_watch_open writes no watcher on failure");
    CHECK(nfh_error_code(err) == NFH_RESULT_NOT_AVAILABLE, "its error carries the code");
    nfh_error_free(err);
    err = NULL;
    CHECK_RES(nfh_watch_open(NULL, NULL, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_watch_open(out NULL)");
    CHECK(nfh_watch_event_kind(NULL) == NFH_WATCH_KIND_MALFORMED, "nfh_watch_event_kind(NULL)");
    CHECK(!nfh_watch_event_id(NULL, &id), "nfh_watch_event_id(NULL)");
    CHECK(!nfh_watch_event_conforms(NULL), "nfh_watch_event_conforms(NULL)");
    CHECK(nfh_watch_event_deletion(NULL) == NFH_DELETION_NONE, "nfh_watch_event_deletion(NULL)");
    CHECK_RES(nfh_watch_event_text(NULL, NULL, 0, &n), NFH_RESULT_NULL_PARAMETER,
              "nfh_watch_event_text(NULL)");
    nfh_watch_stop(NULL);
    nfh_watch_free(NULL);
    CHECK(1, "nfh_watch_stop(NULL) and nfh_watch_free(NULL) are no-ops");
    if (geteuid() != 0) {
        CHECK_RES(nfh_watch_open(NULL, &w, &err), NFH_RESULT_PERMISSION_DENIED,
                  "nfh_watch_open without CAP_NET_ADMIN");
        nfh_error_free(err);
        return;
    }
    CHECK_RES(nfh_watch_open(NULL, &w, &err), NFH_RESULT_OK, "nfh_watch_open(this namespace)");
    nfh_judge *j = nfh_judge_new(NULL, NULL);
    size_t seen = 0;
    CHECK_RES(nfh_watch_run(w, j, false, NULL, &seen, NULL), NFH_RESULT_NULL_PARAMETER,
              "nfh_watch_run without a callback");
    nfh_watch_stop(w);
    CHECK_RES(nfh_watch_run(w, j, false, watch_count, &seen, NULL), NFH_RESULT_OK,
              "a stopped watch returns at once");
    CHECK(seen == 0, "and delivers nothing");
    nfh_judge_free(j);
    nfh_watch_free(w);
}

int main(void) {
    test_version_and_results();
    test_helpers();
    test_options();
    test_modprobe_report();
    test_dof();
    test_errors_null();
    test_policy();
    test_expectations();
    test_check_line();
    test_site();
    test_large_output();
    test_judge();
    test_threads();
    test_watch();
    return check_summary();
}
