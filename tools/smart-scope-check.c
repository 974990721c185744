/*
 * smart-scope-check (docs/scopes.md, docs/directives.md).  Decides one
 * request, or a TSV table of cases, with the same policy core as the
 * module.
 *
 *   smart-scope-check --scopes "..." [--patient ID] [--body FILE]
 *       [--if-none-exist CRITERIA ...] [--patient-search narrow|deny]
 *       [--response-check on|off|all] METHOD URL
 *   smart-scope-check --table FILE [--patient-search narrow|deny]
 *
 * Table columns: scopes, patient, method, url, expected, and optionally a
 * body file (relative to the table's directory), the options (a comma
 * list of: narrow, deny (smart_patient_search), check-on, check-off,
 * check-all (smart_response_check)), and from the eighth column on one If-None-Exist header each
 * (several: the header repeated); "-" for none.  expected: allow, narrow,
 * check (allowed on condition of the response: smart_response_check),
 * narrow-check (both), deny or a reason code.
 *
 * Compiled with SMART_SCOPE_CHECK_NO_MAIN, the file is a library for
 * tests/test_policy.c, which runs the same table through the same code.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smart_errors.h"
#include "smart_fhir.h"
#include "smart_policy.h"
#include "smart_scope.h"


#define SSC_BODY_MAX    (16 * 1048576)
#define SSC_LINE_MAX    65536
#define SSC_INE_MAX     4       /* If-None-Exist headers of one case */
#define SSC_FIELDS_MAX  (7 + SSC_INE_MAX)


typedef struct {
    const char              *scopes;    /* NULL: none */
    const char              *patient;   /* NULL: none */
    const char              *method;
    const char              *url;
    const char              *body;
    size_t                   body_len;
    smart_patient_search_e   mode;
    smart_response_check_e   check;     /* smart_response_check */
    const char              *ine[SSC_INE_MAX];  /* If-None-Exist headers */
    size_t                   nine;
} ssc_case_t;


/*
 * Outcome word: "allow", "narrow", "check" (allowed, the response must
 * prove it), "narrow-check" or the reason code; "nomem" on failure.
 */
static const char *
ssc_outcome(const smart_decision_t *d)
{
    const smart_err_entry_t  *e;

    if (d == NULL) {
        return "nomem";
    }

    if (d->allow) {
        if (d->narrowed) {
            return d->check ? "narrow-check" : "narrow";
        }

        return d->check ? "check" : "allow";
    }

    e = smart_err_get(d->reason);

    return e ? e->code : "deny";
}


/*
 * Classifies and decides one case.  Returns the decision (free with
 * smart_decision_free()) or NULL when memory ran out.
 */
static smart_decision_t *
ssc_decide(const ssc_case_t *k)
{
    size_t                 ulen, plen;
    const char            *q;
    smart_fhir_input_t     in;
    smart_fhir_req_t      *req;
    smart_scope_set_t     *set;
    smart_decision_t      *d;
    smart_policy_conf_t    conf;

    memset(&conf, 0, sizeof(smart_policy_conf_t));
    conf.patient_search = k->mode;
    conf.response_check = k->check;
    /* reviewers see the decision of a gateway that checks granular
       restrictions on the response (smart_policy.h) */
    conf.restrictions_checked = 1;

    set = smart_scope_parse(k->scopes, k->scopes ? strlen(k->scopes) : 0);
    if (set == NULL) {
        return NULL;
    }

    ulen = strlen(k->url);
    q = strchr(k->url, '?');
    plen = q ? (size_t) (q - k->url) : ulen;

    memset(&in, 0, sizeof(smart_fhir_input_t));
    in.method = k->method;
    in.method_len = strlen(k->method);
    in.path = k->url;
    in.path_len = plen;

    if (q != NULL) {
        in.query = q + 1;
        in.query_len = ulen - plen - 1;
    }

    /* the glue passes the first header and says whether there were more */
    if (k->nine > 0) {
        in.if_none_exist = k->ine[0];
        in.if_none_exist_len = strlen(k->ine[0]);
        in.if_none_exist_repeated = (k->nine > 1);
    }

    /* POST [..]/_search carries its parameters as a form body */
    if (plen >= 7 && memcmp(k->url + plen - 7, "_search", 7) == 0) {
        in.body = k->body;
        in.body_len = k->body_len;
        in.body_is_form = 1;
    }

    req = NULL;

    if (smart_fhir_classify(&in, &req) == SMART_FHIR_NOMEM) {
        smart_scope_set_free(set);
        return NULL;
    }

    d = NULL;

    if (smart_policy_decide(&conf, set, k->patient, req, k->body,
                            k->body_len, &d) != SMART_POLICY_OK)
    {
        d = NULL;
    }

    smart_fhir_req_free(req);
    smart_scope_set_free(set);

    return d;
}


/* Reads a whole file; NULL with errno set on failure. */
static char *
ssc_read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    size_t   n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    buf = malloc(SSC_BODY_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }

    n = fread(buf, 1, SSC_BODY_MAX + 1, f);
    fclose(f);

    if (n > SSC_BODY_MAX) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }

    buf[n] = '\0';
    *len = n;

    return buf;
}


static void
ssc_print(FILE *out, const smart_decision_t *d, const ssc_case_t *k)
{
    size_t                    i;
    const smart_err_entry_t  *e;

    fprintf(out, "decision: %s%s\n", d->allow ? (d->narrowed ? "narrow"
                                                             : "allow")
                                              : "deny",
            d->check ? ", response checked" : "");
    fprintf(out, "interaction: %s\n",
            smart_fhir_interaction_name(d->interaction)
            ? smart_fhir_interaction_name(d->interaction) : "none");

    if (d->allow) {
        fprintf(out, "granted-by: %s\n",
                d->granted_by ? d->granted_by : "-");

    } else {
        e = smart_err_get(d->reason);
        fprintf(out, "reason: %s\n", e ? e->code : "unknown");
        fprintf(out, "needed: %s\n", d->needed[0] ? d->needed : "-");
    }

    if (d->narrowed) {
        fprintf(out, "narrowing: %s\n", d->query_append);
        fprintf(out, "forwarded: %s%s%s\n", k->url,
                strchr(k->url, '?') ? "&" : "?", d->query_append);
    }

    for (i = 0; i < d->nentries; i++) {
        e = smart_err_get(d->entries[i].reason);
        fprintf(out, "denied-entry: Bundle.entry[%zu] %s%s%s: %s\n",
                d->entries[i].index, e ? e->code : "unknown",
                d->entries[i].needed[0] ? " needs " : "",
                d->entries[i].needed, d->entries[i].why);
    }

    fprintf(out, "explanation: %s\n", d->explain);
}


/* Splits line at tabs into at most max fields; returns the count. */
static size_t
ssc_split(char *line, char **f, size_t max)
{
    size_t  n;
    char   *p;

    n = 0;
    p = line;

    while (n < max) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }

    return n;
}


static int
ssc_expected_ok(const char *expected, const char *got, int allow)
{
    if (strcmp(expected, "deny") == 0) {
        return !allow;
    }

    return strcmp(expected, got) == 0;
}


/*
 * The options column: a comma list of narrow, deny, check-on, check-off,
 * check-all ("-": none).  0, or -1 on an unknown word.
 */
static int
ssc_options(const char *s, ssc_case_t *k)
{
    size_t       n;
    const char  *end;

    if (strcmp(s, "-") == 0) {
        return 0;
    }

    while (*s != '\0') {
        end = strchr(s, ',');
        n = end ? (size_t) (end - s) : strlen(s);

        if (n == 6 && strncmp(s, "narrow", n) == 0) {
            k->mode = SMART_PATIENT_SEARCH_NARROW;
        } else if (n == 4 && strncmp(s, "deny", n) == 0) {
            k->mode = SMART_PATIENT_SEARCH_DENY;
        } else if (n == 8 && strncmp(s, "check-on", n) == 0) {
            k->check = SMART_RESPONSE_CHECK_ON;
        } else if (n == 9 && strncmp(s, "check-off", n) == 0) {
            k->check = SMART_RESPONSE_CHECK_OFF;
        } else if (n == 9 && strncmp(s, "check-all", n) == 0) {
            k->check = SMART_RESPONSE_CHECK_ALL;
        } else {
            return -1;
        }

        s += n;
        if (*s == ',') {
            s++;
        }
    }

    return 0;
}


/*
 * Runs a table; prints each mismatch and "N passed, M failed" to out.
 * Returns the number failed, or -1 when the table cannot be read.
 */
static long
ssc_run_table(const char *path, smart_patient_search_e mode, FILE *out)
{
    int                  ok;
    FILE                *f;
    char                *line, *fields[SSC_FIELDS_MAX], *body, *dir;
    char                *slash;
    char                 bpath[4096];
    size_t               nf, lineno, len, blen;
    long                 passed, failed;
    ssc_case_t           k;
    smart_decision_t    *d;
    const char          *got;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(out, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }

    line = malloc(SSC_LINE_MAX);
    dir = strdup(path);

    if (line == NULL || dir == NULL) {
        free(line);
        free(dir);
        fclose(f);
        return -1;
    }

    slash = strrchr(dir, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    } else {
        dir[0] = '\0';
    }

    passed = 0;
    failed = 0;
    lineno = 0;

    while (fgets(line, SSC_LINE_MAX, f) != NULL) {
        lineno++;
        len = strlen(line);

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }

        if (len == 0 || line[0] == '#') {
            continue;
        }

        nf = ssc_split(line, fields, SSC_FIELDS_MAX);
        if (nf < 5) {
            fprintf(out, "line %zu: expected at least 5 tab-separated "
                    "columns\n", lineno);
            failed++;
            continue;
        }

        memset(&k, 0, sizeof(ssc_case_t));
        k.scopes = strcmp(fields[0], "-") == 0 ? NULL : fields[0];
        k.patient = strcmp(fields[1], "-") == 0 ? NULL : fields[1];
        k.method = fields[2];
        k.url = fields[3];
        k.mode = mode;
        body = NULL;
        blen = 0;

        if (nf >= 6 && strcmp(fields[5], "-") != 0) {
            snprintf(bpath, sizeof(bpath), "%s%s", dir, fields[5]);
            body = ssc_read_file(bpath, &blen);
            if (body == NULL) {
                fprintf(out, "line %zu: cannot read body %s: %s\n", lineno,
                        bpath, strerror(errno));
                failed++;
                continue;
            }
        }

        k.check = SMART_RESPONSE_CHECK_ON;

        if (nf >= 7 && ssc_options(fields[6], &k) != 0) {
            fprintf(out, "line %zu: unknown option in \"%s\"\n", lineno,
                    fields[6]);
            failed++;
            free(body);
            continue;
        }

        for (k.nine = 0; 7 + k.nine < nf; k.nine++) {
            k.ine[k.nine] = fields[7 + k.nine];
        }

        k.body = body;
        k.body_len = blen;

        d = ssc_decide(&k);
        got = ssc_outcome(d);
        ok = (d != NULL) && ssc_expected_ok(fields[4], got, d->allow);

        if (ok) {
            passed++;

        } else {
            failed++;
            fprintf(out, "line %zu: %s %s: expected %s, got %s%s%s\n",
                    lineno, k.method, k.url, fields[4], got,
                    d ? " - " : "", d ? d->explain : "");
        }

        smart_decision_free(d);
        free(body);
    }

    fclose(f);
    free(line);
    free(dir);

    fprintf(out, "%ld passed, %ld failed\n", passed, failed);

    return failed;
}


#ifndef SMART_SCOPE_CHECK_NO_MAIN

static void
ssc_usage(void)
{
    fprintf(stderr,
        "usage: smart-scope-check --scopes \"...\" [--patient ID] "
        "[--body FILE]\n"
        "           [--if-none-exist CRITERIA ...] "
        "[--patient-search narrow|deny]\n"
        "           [--response-check on|off|all] METHOD URL\n"
        "       smart-scope-check --table FILE "
        "[--patient-search narrow|deny]\n");
}


int
main(int argc, char **argv)
{
    int                      i, have_scopes;
    long                     failed;
    char                    *body;
    size_t                   blen;
    const char              *table, *body_file;
    ssc_case_t               k;
    smart_decision_t        *d;

    memset(&k, 0, sizeof(ssc_case_t));
    table = NULL;
    body_file = NULL;
    have_scopes = 0;
    k.mode = SMART_PATIENT_SEARCH_NARROW;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc) {
            k.scopes = argv[++i];
            have_scopes = 1;

        } else if (strcmp(argv[i], "--patient") == 0 && i + 1 < argc) {
            k.patient = argv[++i];

        } else if (strcmp(argv[i], "--body") == 0 && i + 1 < argc) {
            body_file = argv[++i];

        } else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc) {
            table = argv[++i];

        } else if (strcmp(argv[i], "--if-none-exist") == 0 && i + 1 < argc
                   && k.nine < SSC_INE_MAX)
        {
            k.ine[k.nine++] = argv[++i];

        } else if (strcmp(argv[i], "--patient-search") == 0 && i + 1 < argc)
        {
            i++;
            if (strcmp(argv[i], "narrow") == 0) {
                k.mode = SMART_PATIENT_SEARCH_NARROW;
            } else if (strcmp(argv[i], "deny") == 0) {
                k.mode = SMART_PATIENT_SEARCH_DENY;
            } else {
                ssc_usage();
                return 2;
            }

        } else if (strcmp(argv[i], "--response-check") == 0 && i + 1 < argc)
        {
            i++;
            if (strcmp(argv[i], "on") == 0) {
                k.check = SMART_RESPONSE_CHECK_ON;
            } else if (strcmp(argv[i], "off") == 0) {
                k.check = SMART_RESPONSE_CHECK_OFF;
            } else if (strcmp(argv[i], "all") == 0) {
                k.check = SMART_RESPONSE_CHECK_ALL;
            } else {
                ssc_usage();
                return 2;
            }

        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            ssc_usage();
            return 2;

        } else if (k.method == NULL) {
            k.method = argv[i];

        } else if (k.url == NULL) {
            k.url = argv[i];

        } else {
            ssc_usage();
            return 2;
        }
    }

    if (table != NULL) {
        if (k.method != NULL || have_scopes || body_file != NULL
            || k.nine > 0)
        {
            ssc_usage();
            return 2;
        }

        failed = ssc_run_table(table, k.mode, stdout);

        return failed == 0 ? 0 : (failed < 0 ? 2 : 1);
    }

    if (!have_scopes || k.method == NULL || k.url == NULL) {
        ssc_usage();
        return 2;
    }

    body = NULL;
    blen = 0;

    if (body_file != NULL) {
        body = ssc_read_file(body_file, &blen);
        if (body == NULL) {
            fprintf(stderr, "smart-scope-check: cannot read %s: %s\n",
                    body_file, strerror(errno));
            return 2;
        }
    }

    k.body = body;
    k.body_len = blen;

    d = ssc_decide(&k);
    free(body);

    if (d == NULL) {
        fprintf(stderr, "smart-scope-check: out of memory\n");
        return 2;
    }

    ssc_print(stdout, d, &k);
    i = d->allow ? 0 : 1;
    smart_decision_free(d);

    return i;
}

#endif
