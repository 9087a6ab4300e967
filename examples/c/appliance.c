/* appliance: what a firewall appliance does with the netfilter-helpers C API.
 *
 *   appliance [-o DIR] [-p POLICY.toml] SITE.toml [EXPECT_FILE]
 *
 * 1. Loads and validates the site (TOML, or JSON when the name ends in .json). On failure it
 *    prints every problem with its path and exits with status 2.
 * 2. Renders the nftables script and the iptables-restore input (IPv4 and IPv6): into files
 *    in DIR (nfh.nft, iptables.rules, ip6tables.rules) with -o, else to stdout, each after a
 *    "### name" header.
 * 3. Judges the expectations in EXPECT_FILE (default /proc/net/nf_conntrack_expect) against
 *    the model under the site's module options and, with -p, a policy: one verdict per line.
 *    Exits with status 1 if any expectation is nonconforming or any line does not parse.
 *
 * Build against an installed library (see README.md):
 *   cc -std=c11 -O2 appliance.c $(pkg-config --cflags --libs netfilter-helpers) -o appliance
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netfilter_helpers.h>

static const char *progname = "appliance";

/* Reads a whole file (also /proc files, whose size is reported as 0), NUL-terminated. */
static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "%s: %s: read error\n", progname, path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* The buffer convention of every text output: a call with len 0 is a size query
 * (NFH_RESULT_INSUFFICIENT_SIZE, *out_n = length without the NUL); then a buffer of
 * length + 1 receives the text. */
static char *error_message(const nfh_error *err) {
    size_t n = 0;
    if (nfh_error_message(err, NULL, 0, &n) != NFH_RESULT_INSUFFICIENT_SIZE)
        return NULL;
    char *buf = malloc(n + 1);
    if (buf && nfh_error_message(err, buf, n + 1, &n) == NFH_RESULT_OK)
        return buf;
    free(buf);
    return NULL;
}

static char *error_problem(const nfh_error *err, size_t i) {
    size_t n = 0;
    if (nfh_error_problem(err, i, NULL, 0, &n) != NFH_RESULT_INSUFFICIENT_SIZE)
        return NULL;
    char *buf = malloc(n + 1);
    if (buf && nfh_error_problem(err, i, buf, n + 1, &n) == NFH_RESULT_OK)
        return buf;
    free(buf);
    return NULL;
}

static char *render_text(const nfh_ruleset *rules, uint32_t backend, nfh_error **err) {
    size_t n = 0;
    nfh_result r = nfh_ruleset_render(rules, backend, NULL, 0, &n, err);
    if (r != NFH_RESULT_INSUFFICIENT_SIZE)
        return NULL; /* *err says why (NFH_RESULT_RENDER_ERROR: kernel too old) */
    char *buf = malloc(n + 1);
    if (buf && nfh_ruleset_render(rules, backend, buf, n + 1, &n, err) == NFH_RESULT_OK)
        return buf;
    free(buf);
    return NULL;
}

/* A buffer reused for many small texts: try it first, grow it on
 * NFH_RESULT_INSUFFICIENT_SIZE. */
struct textbuf {
    char *p;
    size_t cap;
};

static int textbuf_fit(struct textbuf *tb, size_t need) {
    if (need + 1 <= tb->cap)
        return 1;
    char *p = realloc(tb->p, need + 1);
    if (!p)
        return 0;
    tb->p = p;
    tb->cap = need + 1;
    return 1;
}

static const char *verdict_text(const nfh_verdict *v, struct textbuf *tb) {
    size_t n = 0;
    nfh_result r = nfh_verdict_text(v, tb->p, tb->cap, &n);
    if (r == NFH_RESULT_INSUFFICIENT_SIZE && textbuf_fit(tb, n))
        r = nfh_verdict_text(v, tb->p, tb->cap, &n);
    return r == NFH_RESULT_OK ? tb->p : "(no text)";
}

static const char *expectations_error(const nfh_expectations *e, size_t i,
                                      struct textbuf *tb) {
    size_t n = 0;
    nfh_result r = nfh_expectations_error(e, i, tb->p, tb->cap, &n);
    if (r == NFH_RESULT_INSUFFICIENT_SIZE && textbuf_fit(tb, n))
        r = nfh_expectations_error(e, i, tb->p, tb->cap, &n);
    return r == NFH_RESULT_OK ? tb->p : "(no text)";
}

/* Prints an error and every problem it lists, each with its path. */
static void print_error(const char *what, const nfh_error *err) {
    char *msg = error_message(err);
    size_t count = nfh_error_problem_count(err);
    if (count == 0) {
        fprintf(stderr, "%s: %s: %s\n", progname, what, msg ? msg : "error");
    } else {
        fprintf(stderr, "%s: %s: %zu problem%s:\n", progname, what, count, count == 1 ? "" : "s");
        for (size_t i = 0; i < count; i++) {
            char *p = error_problem(err, i);
            fprintf(stderr, "  %s\n", p ? p : "?");
            free(p);
        }
    }
    free(msg);
}

static int has_suffix(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Loads and validates a site; NULL after printing every problem. */
static nfh_ruleset *load_site(const char *path) {
    char *text = read_file(path, NULL);
    if (!text)
        return NULL;
    nfh_ruleset *rules = NULL;
    nfh_error *err = NULL;
    uint32_t format = has_suffix(path, ".json") ? NFH_DOC_FORMAT_JSON : NFH_DOC_FORMAT_TOML;
    nfh_result r = nfh_ruleset_from_site(text, format, &rules, &err);
    free(text);
    if (r != NFH_RESULT_OK) {
        if (err)
            print_error(path, err);
        else
            fprintf(stderr, "%s: %s: cannot read the site (result %u)\n", progname, path,
                    (unsigned)r);
        nfh_error_free(err);
        return NULL;
    }
    return rules;
}

/* The validator must judge under the module options the site sets: they come out of the
 * site as modprobe.d text, which the API reads back into options. */
static nfh_validator *site_validator(const nfh_ruleset *rules) {
    nfh_error *err = NULL;
    char *modprobe = render_text(rules, NFH_BACKEND_MODPROBE, &err);
    nfh_error_free(err);
    nfh_options_report *report = NULL;
    nfh_options *opts = NULL;
    if (modprobe && nfh_options_parse_modprobe(modprobe, &report) == NFH_RESULT_OK)
        opts = nfh_options_report_options(report);
    nfh_options_report_free(report);
    free(modprobe);
    nfh_validator *v = nfh_validator_new(opts); /* NULL options: the kernel defaults */
    nfh_options_free(opts);
    return v;
}

static int render_all(const nfh_ruleset *rules, const char *dir) {
    static const struct {
        uint32_t backend;
        const char *name, *file;
    } outputs[] = {
        {NFH_BACKEND_NFT, "nft", "nfh.nft"},
        {NFH_BACKEND_IPTABLES, "iptables", "iptables.rules"},
        {NFH_BACKEND_IP6TABLES, "ip6tables", "ip6tables.rules"},
    };
    int rendered = 0;
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        nfh_error *err = NULL;
        char *text = render_text(rules, outputs[i].backend, &err);
        if (!text) {
            print_error(outputs[i].name, err); /* e.g. a kernel too old for nft */
            nfh_error_free(err);
            continue;
        }
        if (dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, outputs[i].file);
            FILE *f = fopen(path, "w");
            if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
                fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
                free(text);
                return -1;
            }
            fprintf(stderr, "%s: wrote %s\n", progname, path);
        } else {
            printf("### %s\n%s\n", outputs[i].name, text);
        }
        free(text);
        rendered++;
    }
    return rendered;
}

/* Prints one verdict per line; returns the number of bad lines (nonconforming or unparsed),
 * or -1. */
static long judge(const nfh_validator *v, const nfh_policy *policy, const char *path) {
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text)
        return -1;
    nfh_expectations *e = NULL;
    if (nfh_expectations_parse((const uint8_t *)text, len, &e) != NFH_RESULT_OK) {
        free(text);
        return -1;
    }
    free(text);

    struct textbuf tb = {malloc(1024), 1024};
    if (!tb.p)
        tb.cap = 0;
    size_t count = nfh_expectations_count(e), errors = nfh_expectations_error_count(e);
    size_t bad = 0;
    printf("### verdicts (%s)\n", path);
    for (size_t i = 0; i < count; i++) {
        nfh_verdict *verdict = NULL;
        if (nfh_validator_verdict(v, policy, e, i, &verdict) != NFH_RESULT_OK)
            continue;
        int ok = nfh_verdict_conforms(verdict);
        bad += !ok;
        /* The findings, one per line in the text: joined with "; " to keep one line. */
        const char *findings = verdict_text(verdict, &tb);
        printf("line %zu: %s", nfh_expectations_line_number(e, i), ok ? "conforms" : "NONCONFORMING");
        for (const char *p = findings; *p;) {
            size_t n = strcspn(p, "\n");
            printf("; %.*s", (int)n, p);
            p += n + (p[n] == '\n');
        }
        putchar('\n');
        nfh_verdict_free(verdict);
    }
    for (size_t i = 0; i < errors; i++)
        printf("%s (unparsed)\n", expectations_error(e, i, &tb));
    fprintf(stderr, "%s: %zu expectations: %zu conform, %zu nonconforming; %zu lines unparsed\n",
            progname, count, count - bad, bad, errors);
    free(tb.p);
    nfh_expectations_free(e);
    return (long)(bad + errors);
}

static void usage(void) {
    fprintf(stderr, "usage: %s [-o DIR] [-p POLICY.toml] SITE.toml [EXPECT_FILE]\n", progname);
}

int main(int argc, char **argv) {
    const char *dir = NULL, *policy_path = NULL, *site_path = NULL;
    const char *expect_path = "/proc/net/nf_conntrack_expect";
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "-p") == 0) && i + 1 < argc) {
            if (argv[i][1] == 'o')
                dir = argv[++i];
            else
                policy_path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage();
            return 2;
        } else if (positional == 0) {
            site_path = argv[i];
            positional++;
        } else if (positional == 1) {
            expect_path = argv[i];
            positional++;
        } else {
            usage();
            return 2;
        }
    }
    if (!site_path) {
        usage();
        return 2;
    }

    nfh_ruleset *rules = load_site(site_path);
    if (!rules)
        return 2;
    fprintf(stderr, "%s: %s: %zu rules\n", progname, site_path, nfh_ruleset_rule_count(rules));
    if (render_all(rules, dir) < 0) {
        nfh_ruleset_free(rules);
        return 2;
    }

    nfh_policy *policy = NULL;
    if (policy_path) {
        char *text = read_file(policy_path, NULL);
        nfh_error *err = NULL;
        nfh_result r = text ? nfh_policy_parse(text, has_suffix(policy_path, ".json")
                                                         ? NFH_DOC_FORMAT_JSON
                                                         : NFH_DOC_FORMAT_TOML,
                                               &policy, &err)
                            : NFH_RESULT_NULL_PARAMETER;
        free(text);
        if (r != NFH_RESULT_OK) {
            if (err)
                print_error(policy_path, err);
            nfh_error_free(err);
            nfh_ruleset_free(rules);
            return 2;
        }
    }

    nfh_validator *v = site_validator(rules);
    long bad = judge(v, policy, expect_path);
    nfh_validator_free(v);
    nfh_policy_free(policy);
    nfh_ruleset_free(rules);
    if (bad < 0)
        return 2;
    return bad > 0 ? 1 : 0;
}
