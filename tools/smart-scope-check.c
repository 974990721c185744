
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * smart-scope-check (docs/scopes.md, docs/directives.md).  Decides one
 * request, or a TSV table of cases, with the same policy core as the
 * module.
 *
 *   smart-scope-check --scopes "..." [--patient ID] [--body FILE]
 *       [--response FILE]
 *       [--if-none-exist CRITERIA ...] [--patient-search narrow|deny]
 *       [--response-check on|off|all] [--precheck on|off] METHOD URL
 *   smart-scope-check --table FILE [--patient-search narrow|deny]
 *
 * --precheck on stands for a configured smart_precheck_request (off, the
 * default, for none).  Table columns: scopes, patient, method, url,
 * expected, and optionally the body (inline JSON starting with '{', or
 * "@FILE" or FILE relative to the table's directory), the options (a
 * comma list, first the upstream's answer "@FILE" relative to the table's
 * directory if any, then: narrow, deny (smart_patient_search), check-on,
 * check-off, check-all (smart_response_check), precheck-on, precheck-off
 * (smart_precheck_request)), and from the eighth column on one
 * If-None-Exist header each (several: the header repeated); "-" for
 * none.  expected: allow, narrow, check (allowed on condition of the
 * response: smart_response_check), narrow-check (both), precheck (allowed
 * after a pre-read: smart_precheck_request), deny or a reason code; with
 * an upstream answer a decision allowed on condition of the response is
 * "check" when the check releases it, else the code of the refusal.
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
#include "smart_response.h"
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
    smart_precheck_e         precheck;  /* smart_precheck_request */
    const char              *ine[SSC_INE_MAX];  /* If-None-Exist headers */
    size_t                   nine;
    /* the upstream's answer, for a decision allowed on condition of the
       response (NULL: judged on the request alone) */
    const char              *response;
    size_t                   response_len;
} ssc_case_t;


/*
 * Outcome word: "allow", "narrow", "check" (allowed, the response must
 * prove it), "narrow-check", "precheck" (allowed after a pre-read) or the
 * reason code; "nomem" on failure.
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

        return d->check ? "check" : d->precheck ? "precheck" : "allow";
    }

    e = smart_err_get(d->reason);

    return e ? e->code : "deny";
}


/*
 * The response check of a decision allowed on condition of the response,
 * on the case's response: "release", "release-filtered" or the catalogue
 * code of the refusal.
 */
static const char *
ssc_check_response(const ssc_case_t *k, const smart_fhir_req_t *req,
    const smart_decision_t *d)
{
    const char               *code;
    smart_response_t          out;
    smart_response_req_t      rq;
    const smart_err_entry_t  *e;

    memset(&rq, 0, sizeof(smart_response_req_t));
    rq.interaction = (d->interaction == SMART_FHIR_I_BATCH
                      || d->interaction == SMART_FHIR_I_TRANSACTION)
                     ? d->interaction : req->interaction;
    rq.type = req->type;
    rq.id = req->id;
    rq.patient = k->patient;
    rq.correlation_id = "smart-scope-check";
    rq.restrictions = d->restrictions;
    rq.nrestrictions = d->nrestrictions;

    switch (smart_response_check(&rq, k->response, k->response_len, &out)) {

    case SMART_RESPONSE_RELEASE:
        code = "release";
        break;

    case SMART_RESPONSE_RELEASE_FILTERED:
        code = "release-filtered";
        break;

    default:
        e = smart_err_get(out.reason);
        code = e ? e->code : "response-unverifiable";
    }

    smart_response_free(&out);

    return code;
}


/*
 * Classifies and decides one case.  Returns the decision (free with
 * smart_decision_free()) or NULL when memory ran out.  With a response in
 * the case and a decision allowed on condition of it, *response (when
 * not NULL) says what the check made of it (ssc_check_response()); NULL
 * otherwise.
 */
static smart_decision_t *
ssc_decide_checked(const ssc_case_t *k, const char **response)
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
    conf.precheck = k->precheck;

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

    if (response != NULL) {
        *response = (d != NULL && d->check && k->response != NULL
                     && req != NULL)
                    ? ssc_check_response(k, req, d) : NULL;
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


/* "T/id" of one pre-read. */
static void
ssc_print_preread(FILE *out, const smart_policy_preread_t *p)
{
    fprintf(out, "%s/%s", smart_fhir_types[p->type].name, p->id);
}


/*
 * The decision line: "allow", "narrow" or "deny", with ", response
 * checked" or ", after a pre-read of T/id" ("after pre-reads of T/id,
 * ..." for several).
 */
static void
ssc_print_decision(FILE *out, const smart_decision_t *d)
{
    size_t  i;

    fprintf(out, "decision: %s%s", d->allow ? (d->narrowed ? "narrow"
                                                           : "allow")
                                            : "deny",
            d->check ? ", response checked" : "");

    if (d->precheck) {
        fprintf(out, ", after %s of ", d->nprereads == 1 ? "a pre-read"
                                                         : "pre-reads");

        for (i = 0; i < d->nprereads; i++) {
            fprintf(out, "%s", i ? ", " : "");
            ssc_print_preread(out, &d->prereads[i]);
        }
    }

    fprintf(out, "\n");
}


static void
ssc_print(FILE *out, const smart_decision_t *d, const ssc_case_t *k)
{
    size_t                    i;
    const smart_err_entry_t  *e;

    ssc_print_decision(out, d);
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

    if (d->narrowed && d->narrow_target == SMART_NARROW_IF_NONE_EXIST) {
        fprintf(out, "narrowing: %s (If-None-Exist)\n", d->query_append);
        fprintf(out, "forwarded: If-None-Exist: %s%s%s\n",
                k->nine ? k->ine[0] : "", k->nine ? "&" : "",
                d->query_append);

    } else if (d->narrowed) {
        fprintf(out, "narrowing: %s\n", d->query_append);
        fprintf(out, "forwarded: %s%s%s\n", k->url,
                strchr(k->url, '?') ? "&" : "?", d->query_append);
    }

    for (i = 0; i < d->nprereads; i++) {
        fprintf(out, "pre-read: ");

        if (d->interaction == SMART_FHIR_I_BATCH
            || d->interaction == SMART_FHIR_I_TRANSACTION)
        {
            fprintf(out, "Bundle.entry[%zu] ", d->prereads[i].index);
        }

        ssc_print_preread(out, &d->prereads[i]);
        fprintf(out, " before the %s%s\n",
                smart_fhir_interaction_name(d->prereads[i].interaction),
                d->prereads[i].create_ok ? "; not found: the update may "
                                           "create it" : "");
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
 * check-all, precheck-on, precheck-off ("-": none).  0, or -1 on an
 * unknown word.
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
        } else if (n == 11 && strncmp(s, "precheck-on", n) == 0) {
            k->precheck = SMART_PRECHECK_AVAILABLE;
        } else if (n == 12 && strncmp(s, "precheck-off", n) == 0) {
            k->precheck = SMART_PRECHECK_NONE;
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
 * The body column of a table line: "-" none; "{..." the body itself
 * (inline JSON); "@FILE" or FILE a file relative to the table's directory
 * dir.  *body is malloc()ed (NULL for none).  0, or -1 with the reason
 * printed to out.
 */
static int
ssc_table_body(const char *dir, const char *col, char **body, size_t *len,
    size_t lineno, FILE *out)
{
    char  bpath[4096];

    *body = NULL;
    *len = 0;

    if (strcmp(col, "-") == 0) {
        return 0;
    }

    if (col[0] == '{') {
        *body = strdup(col);
        *len = strlen(col);
        return (*body != NULL) ? 0 : -1;
    }

    snprintf(bpath, sizeof(bpath), "%s%s", dir, col + (col[0] == '@'));
    *body = ssc_read_file(bpath, len);

    if (*body == NULL) {
        fprintf(out, "line %zu: cannot read body %s: %s\n", lineno, bpath,
                strerror(errno));
        return -1;
    }

    return 0;
}


/*
 * One table line (fields[0..nf), nf >= 5) into *k; its body is malloc()ed
 * in *body (NULL for none), which the caller frees.  0, or -1 with the
 * reason printed to out.
 */
static int
ssc_table_case(char **fields, size_t nf, const char *dir,
    smart_patient_search_e mode, size_t lineno, FILE *out, ssc_case_t *k,
    char **body, char **response)
{
    char  *opts;

    *body = NULL;
    *response = NULL;
    memset(k, 0, sizeof(ssc_case_t));
    k->scopes = strcmp(fields[0], "-") == 0 ? NULL : fields[0];
    k->patient = strcmp(fields[1], "-") == 0 ? NULL : fields[1];
    k->method = fields[2];
    k->url = fields[3];
    k->mode = mode;
    k->check = SMART_RESPONSE_CHECK_ON;

    /* the options column may start with the upstream's answer: @FILE */

    opts = (nf >= 7) ? fields[6] : NULL;

    if (opts != NULL && opts[0] == '@') {
        opts = strchr(fields[6], ',');
        if (opts != NULL) {
            *opts++ = '\0';
        }

        if (ssc_table_body(dir, fields[6], response, &k->response_len,
                           lineno, out)
            != 0)
        {
            return -1;
        }

        k->response = *response;
    }

    if (opts != NULL && ssc_options(opts, k) != 0) {
        fprintf(out, "line %zu: unknown option in \"%s\"\n", lineno, opts);
        free(*response);
        *response = NULL;
        return -1;
    }

    for (k->nine = 0; 7 + k->nine < nf; k->nine++) {
        k->ine[k->nine] = fields[7 + k->nine];
    }

    if (nf >= 6
        && ssc_table_body(dir, fields[5], body, &k->body_len, lineno, out)
           != 0)
    {
        free(*response);
        *response = NULL;
        return -1;
    }

    k->body = *body;

    return 0;
}


/* Decides k and compares with expected: 1 when it matches, else 0 with
   the mismatch printed to out. */
static int
ssc_table_check(const ssc_case_t *k, const char *expected, size_t lineno,
    FILE *out)
{
    int                 ok;
    const char         *got, *resp;
    smart_decision_t   *d;

    resp = NULL;
    d = ssc_decide_checked(k, &resp);
    got = ssc_outcome(d);

    /* with a response: what the check made of it decides the outcome */

    if (resp != NULL && strncmp(resp, "release", 7) != 0) {
        got = resp;
    }
    ok = (d != NULL) && ssc_expected_ok(expected, got, d->allow);

    if (!ok) {
        fprintf(out, "line %zu: %s %s: expected %s, got %s%s%s\n", lineno,
                k->method, k->url, expected, got, d ? " - " : "",
                d ? d->explain : "");
    }

    smart_decision_free(d);

    return ok;
}


/* The directory part of path, with its '/' ("" for none); malloc()ed. */
static char *
ssc_dir_of(const char *path)
{
    char  *dir, *slash;

    dir = strdup(path);
    if (dir == NULL) {
        return NULL;
    }

    slash = strrchr(dir, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    } else {
        dir[0] = '\0';
    }

    return dir;
}


/*
 * Runs a table; prints each mismatch and "N passed, M failed" to out.
 * Returns the number failed, or -1 when the table cannot be read.
 */
static long
ssc_run_table(const char *path, smart_patient_search_e mode, FILE *out)
{
    FILE         *f;
    char         *line, *fields[SSC_FIELDS_MAX], *dir, *body, *resp;
    size_t        nf, lineno, len;
    long          passed, failed;
    ssc_case_t    k;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(out, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }

    line = malloc(SSC_LINE_MAX);
    dir = ssc_dir_of(path);

    if (line == NULL || dir == NULL) {
        free(line);
        free(dir);
        fclose(f);
        return -1;
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

        if (ssc_table_case(fields, nf, dir, mode, lineno, out, &k, &body,
                           &resp)
            != 0)
        {
            failed++;
            continue;
        }

        if (ssc_table_check(&k, fields[4], lineno, out)) {
            passed++;
        } else {
            failed++;
        }

        free(body);
        free(resp);
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
        "[--body FILE] [--response FILE]\n"
        "           [--if-none-exist CRITERIA ...] "
        "[--patient-search narrow|deny]\n"
        "           [--response-check on|off|all] [--precheck on|off] "
        "METHOD URL\n"
        "       smart-scope-check --table FILE "
        "[--patient-search narrow|deny]\n");
}


typedef struct {
    ssc_case_t               k;
    const char              *table;
    const char              *body_file;
    const char              *response_file;
    int                      have_scopes;
} ssc_args_t;


/*
 * "--patient-search narrow|deny", "--response-check on|off|all",
 * "--precheck on|off": the options-column word the value stands for
 * ("check-off", "precheck-on"), applied to k.  0, or -1 on an unknown
 * value.
 */
static int
ssc_option_arg(const char *opt, const char *val, ssc_case_t *k)
{
    char  word[32];

    if (strcmp(opt, "--patient-search") == 0
        && (strcmp(val, "narrow") == 0 || strcmp(val, "deny") == 0))
    {
        snprintf(word, sizeof(word), "%s", val);

    } else if (strcmp(opt, "--response-check") == 0
               && (strcmp(val, "on") == 0 || strcmp(val, "off") == 0
                   || strcmp(val, "all") == 0))
    {
        snprintf(word, sizeof(word), "check-%s", val);

    } else if (strcmp(opt, "--precheck") == 0
               && (strcmp(val, "on") == 0 || strcmp(val, "off") == 0))
    {
        snprintf(word, sizeof(word), "precheck-%s", val);

    } else {
        return -1;
    }

    return ssc_options(word, k);
}


/* The command line into *a; 0, or -1 for a usage error. */
static int
ssc_args(int argc, char **argv, ssc_args_t *a)
{
    int  i;

    memset(a, 0, sizeof(ssc_args_t));
    a->k.mode = SMART_PATIENT_SEARCH_NARROW;

    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-' && i + 1 == argc) {
            return -1;
        }

        if (strcmp(argv[i], "--scopes") == 0) {
            a->k.scopes = argv[++i];
            a->have_scopes = 1;

        } else if (strcmp(argv[i], "--patient") == 0) {
            a->k.patient = argv[++i];

        } else if (strcmp(argv[i], "--body") == 0) {
            a->body_file = argv[++i];

        } else if (strcmp(argv[i], "--response") == 0) {
            a->response_file = argv[++i];

        } else if (strcmp(argv[i], "--table") == 0) {
            a->table = argv[++i];

        } else if (strcmp(argv[i], "--if-none-exist") == 0) {
            if (a->k.nine == SSC_INE_MAX) {
                return -1;
            }

            a->k.ine[a->k.nine++] = argv[++i];

        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            if (ssc_option_arg(argv[i], argv[i + 1], &a->k) != 0) {
                return -1;
            }

            i++;

        } else if (a->k.method == NULL) {
            a->k.method = argv[i];

        } else if (a->k.url == NULL) {
            a->k.url = argv[i];

        } else {
            return -1;
        }
    }

    if (a->table != NULL) {
        return (a->k.method != NULL || a->have_scopes
                || a->body_file != NULL || a->response_file != NULL
                || a->k.nine > 0) ? -1 : 0;
    }

    return (!a->have_scopes || a->k.method == NULL || a->k.url == NULL)
           ? -1 : 0;
}


int
main(int argc, char **argv)
{
    int                   rc;
    long                  failed;
    char                 *body, *resp_body;
    const char           *resp;
    ssc_args_t            a;
    smart_decision_t     *d;

    if (ssc_args(argc, argv, &a) != 0) {
        ssc_usage();
        return 2;
    }

    if (a.table != NULL) {
        failed = ssc_run_table(a.table, a.k.mode, stdout);

        return failed == 0 ? 0 : (failed < 0 ? 2 : 1);
    }

    body = NULL;

    if (a.body_file != NULL) {
        body = ssc_read_file(a.body_file, &a.k.body_len);
        if (body == NULL) {
            fprintf(stderr, "smart-scope-check: cannot read %s: %s\n",
                    a.body_file, strerror(errno));
            return 2;
        }
    }

    a.k.body = body;
    resp_body = NULL;

    if (a.response_file != NULL) {
        resp_body = ssc_read_file(a.response_file, &a.k.response_len);
        if (resp_body == NULL) {
            fprintf(stderr, "smart-scope-check: cannot read %s: %s\n",
                    a.response_file, strerror(errno));
            free(body);
            return 2;
        }

        a.k.response = resp_body;
    }

    resp = NULL;
    d = ssc_decide_checked(&a.k, &resp);
    free(body);
    free(resp_body);

    if (d == NULL) {
        fprintf(stderr, "smart-scope-check: out of memory\n");
        return 2;
    }

    ssc_print(stdout, d, &a.k);

    if (resp != NULL) {
        printf("response: %s\n", resp);
    } else if (d->check) {
        printf("response: not given (--response FILE): the decision "
               "waits on it\n");
    }

    rc = (d->allow && (resp == NULL || strncmp(resp, "release", 7) == 0))
         ? 0 : 1;
    smart_decision_free(d);

    return rc;
}

#endif
