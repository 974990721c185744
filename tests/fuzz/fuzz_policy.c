
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: the authorization decision (smart_policy.c).
 *
 * Input: byte 0 holds flags (bit 0: patient claim present, bit 1:
 * smart_patient_search deny, bits 2-4: the method, bit 5: form body, bit
 * 6: a small smart_body_max, bit 7: restrictions_checked, so that reads
 * by id under granular scopes are checked); byte 1 more of the
 * configuration (bits 0-1: smart_response_check on, off, all, on; bit 2:
 * smart_precheck_request
 * configured; bits 3-4: smart_precheck_max 0 (the default), 1, 2, 3); the
 * rest is split at 0x00 bytes into scopes, patient claim, URL (path '?'
 * query), If-None-Exist (none when empty) and body.  Each part is copied
 * into a buffer of its exact size so that ASan catches any read past a
 * length.
 *
 * Aborts when a decision breaks a promise of smart_policy.h: a refusal has
 * a reason from the policy's set and no narrowing, granting scope or
 * pre-read; an allowance has no reason text in needed; a narrowing has
 * parameters that are joined into query_append, and goes to If-None-Exist
 * exactly for a create; a pre-read only on an allowed write by id, when
 * smart_precheck_request is configured, within smart_precheck_max, naming
 * the URL's resource (a bundle: entries in order); nothing conditional
 * under smart_response_check off, and nothing off allows that on refuses;
 * denied bundle entries only on bundles; the patient claim never shows in
 * the explanation; a token with patient scopes only is never asked for a
 * user/ or system/ scope; restrictions only on a checked read by id,
 * instance history or vread, each a copy with its lengths; and a narrowed
 * request, once the parameters are appended where the decision says, is
 * allowed as it stands.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smart_policy.h"

#include "fuzz_util.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  *fuzz_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "GET", "POST"
};

static const smart_response_check_e  fuzz_checks[] = {
    SMART_RESPONSE_CHECK_ON, SMART_RESPONSE_CHECK_OFF,
    SMART_RESPONSE_CHECK_ALL, SMART_RESPONSE_CHECK_ON
};


/* One request as the fuzzer builds it; every buffer of its exact size. */
typedef struct {
    smart_policy_conf_t      conf;
    const smart_scope_set_t *set;
    const char              *patient;   /* NUL-terminated, or NULL */
    const char              *method;
    int                      form;
    const char              *path;
    size_t                   path_len;
    const char              *query;
    size_t                   query_len;
    const char              *ine;       /* If-None-Exist, or NULL */
    size_t                   ine_len;
    const char              *body;
    size_t                   body_len;
} fuzz_req_t;


/* Next part of data[*pos..size) up to a 0x00 byte. */
static size_t
next_part(const uint8_t *data, size_t size, size_t *pos, const uint8_t **p)
{
    size_t  start;

    start = *pos;
    *p = data + start;

    while (*pos < size && data[*pos] != 0) {
        (*pos)++;
    }

    if (*pos < size) {
        (*pos)++;
        return *pos - start - 1;
    }

    return *pos - start;
}


/* Classifies and decides f under conf; *reqp the classification. */
static smart_decision_t *
decide(const fuzz_req_t *f, const smart_policy_conf_t *conf,
    smart_fhir_req_t **reqp)
{
    smart_fhir_input_t   in;
    smart_fhir_req_t    *req;
    smart_decision_t    *d;

    memset(&in, 0, sizeof(smart_fhir_input_t));
    in.method = f->method;
    in.method_len = strlen(f->method);
    in.path = f->path;
    in.path_len = f->path_len;
    in.query = f->query;
    in.query_len = f->query_len;
    in.if_none_exist = f->ine;
    in.if_none_exist_len = f->ine_len;
    in.body = f->body;
    in.body_len = f->body_len;
    in.body_is_form = f->form;

    *reqp = NULL;
    req = NULL;

    if (smart_fhir_classify(&in, &req) != SMART_FHIR_OK && req == NULL) {
        return NULL;
    }

    d = NULL;
    if (smart_policy_decide(conf, f->set, f->patient, req, f->body,
                            f->body_len, &d)
        != SMART_POLICY_OK)
    {
        fuzz_check(d == NULL);
        d = NULL;
    }

    *reqp = req;

    return d;
}


/* The restrictions of a checked read by id under granular scopes. */
static void
check_restrictions(const smart_decision_t *d, int checked)
{
    size_t                      i, j;
    const smart_restriction_t  *r;

    fuzz_check((d->restrictions != NULL) == (d->nrestrictions > 0));

    if (d->restrictions == NULL) {
        return;
    }

    fuzz_check(checked && d->allow && d->check && !d->narrowed);
    fuzz_check(d->interaction == SMART_FHIR_I_READ
               || d->interaction == SMART_FHIR_I_VREAD
               || d->interaction == SMART_FHIR_I_HISTORY_INSTANCE);

    for (i = 0; i < d->nrestrictions; i++) {
        r = &d->restrictions[i];
        fuzz_check(r->nparams > 0 && r->params != NULL);
        fuzz_check(r->patient == 0 || r->patient == 1);
        fuzz_check(i == 0 || r->patient <= d->restrictions[i - 1].patient);

        for (j = 0; j < r->nparams; j++) {
            fuzz_check(strlen(r->params[j].name) == r->params[j].name_len);
            fuzz_check(strlen(r->params[j].value) == r->params[j].value_len);
        }
    }
}


/* A token with patient scopes only is never asked for a user/ or system/
   scope. */
static void
check_needed(const smart_scope_set_t *set, const char *needed)
{
    if (set->has_patient_scopes && !set->has_user_scopes
        && !set->has_system_scopes)
    {
        fuzz_check(strncmp(needed, "user/", 5) != 0
                   && strncmp(needed, "system/", 7) != 0);
    }
}


/* The pre-reads: only where allowed, within the bound, well formed. */
static void
check_prereads(const smart_decision_t *d, const smart_policy_conf_t *conf,
    const smart_fhir_req_t *req)
{
    size_t                         i, max;
    const smart_policy_preread_t  *p;

    if (!d->precheck) {
        fuzz_check(d->nprereads == 0 && d->prereads == NULL);
        return;
    }

    max = conf->precheck_max ? conf->precheck_max
                             : SMART_POLICY_PRECHECK_MAX_DEFAULT;

    fuzz_check(d->allow && !d->narrowed && !d->check);
    fuzz_check(conf->precheck == SMART_PRECHECK_AVAILABLE
               && conf->response_check != SMART_RESPONSE_CHECK_OFF);
    fuzz_check(d->nprereads >= 1 && d->nprereads <= max);

    for (i = 0; i < d->nprereads; i++) {
        p = &d->prereads[i];

        fuzz_check(p->type >= 0 && p->type < SMART_FHIR_NTYPES
                   && p->type != SMART_FHIR_TYPE_PATIENT);
        fuzz_check(smart_fhir_valid_id(p->id, strlen(p->id)));
        fuzz_check(p->interaction == SMART_FHIR_I_UPDATE
                   || p->interaction == SMART_FHIR_I_PATCH
                   || p->interaction == SMART_FHIR_I_DELETE
                   || (p->interaction == SMART_FHIR_I_READ
                       && p->type == smart_fhir_type_index("Binary", 6)
                       && d->interaction == SMART_FHIR_I_READ));
        fuzz_check(!p->create_ok || p->interaction == SMART_FHIR_I_UPDATE);
        fuzz_check(i == 0 || p->index > d->prereads[i - 1].index);
    }

    if (d->interaction != SMART_FHIR_I_BATCH
        && d->interaction != SMART_FHIR_I_TRANSACTION)
    {
        fuzz_check(d->nprereads == 1 && d->prereads[0].index == 0);
        fuzz_check(req->id != NULL && strcmp(req->id, d->prereads[0].id) == 0
                   && req->type == d->prereads[0].type
                   && req->interaction == d->prereads[0].interaction);
    }
}


static void
check_decision(const smart_decision_t *d, const fuzz_req_t *f,
    const smart_policy_conf_t *conf, const smart_fhir_req_t *req)
{
    size_t  i;

    fuzz_check(d->explain != NULL);
    fuzz_check(memchr(d->needed, '\0', sizeof(d->needed)) != NULL);
    check_needed(f->set, d->needed);
    check_prereads(d, conf, req);

    /* explanations are static English text: no six-byte run with a digit
       ("UTF-8" and "R4" are the only digits in them) */
    if (f->patient != NULL && strlen(f->patient) >= 6
        && strpbrk(f->patient, "0123456789") != NULL)
    {
        fuzz_check(strstr(d->explain, f->patient) == NULL);
    }

    if (conf->response_check == SMART_RESPONSE_CHECK_OFF) {
        fuzz_check(!d->check && !d->precheck);
    }

    if (!d->allow) {
        fuzz_check(d->narrowed == 0 && d->check == 0);
        fuzz_check(d->nparams == 0 && d->query_append == NULL);
        fuzz_check(d->granted_by == NULL);
        fuzz_check(d->reason == SMART_ERR_SCOPE_INSUFFICIENT
                   || d->reason == SMART_ERR_PATIENT_CONTEXT_MISSING
                   || d->reason == SMART_ERR_PATIENT_MISMATCH
                   || d->reason == SMART_ERR_REQUEST_INVALID
                   || d->reason == SMART_ERR_REQUEST_TOO_LARGE);

    } else {
        fuzz_check(d->needed[0] == '\0');
        fuzz_check(d->nentries == 0);
    }

    if (d->narrowed) {
        fuzz_check(d->nparams > 0 && d->nparams <= SMART_POLICY_MAX_NARROW);
        fuzz_check(d->query_append != NULL);
        fuzz_check((d->narrow_target == SMART_NARROW_IF_NONE_EXIST)
                   == (d->interaction == SMART_FHIR_I_CREATE));

        for (i = 0; i < d->nparams; i++) {
            fuzz_check(d->params[i].name != NULL && d->params[i].value != NULL);
            fuzz_check(strstr(d->query_append, d->params[i].value) != NULL);
        }

    } else {
        fuzz_check(d->nparams == 0 && d->query_append == NULL);
        fuzz_check(d->narrow_target == SMART_NARROW_QUERY);
    }

    if (d->nentries > 0) {
        fuzz_check(d->interaction == SMART_FHIR_I_BATCH
                   || d->interaction == SMART_FHIR_I_TRANSACTION);

        for (i = 0; i < d->nentries; i++) {
            fuzz_check(d->entries[i].index < SMART_POLICY_MAX_ENTRIES);
            fuzz_check(i == 0 || d->entries[i].index > d->entries[i - 1].index);
            check_needed(f->set, d->entries[i].needed);
        }
    }
}


/* s[0..n) "&" add, malloc()ed; *len its length.  "" and NULL: add alone. */
static char *
joined(const char *s, size_t n, const char *add, size_t *len)
{
    char    *j;
    size_t   a;

    a = strlen(add);
    j = malloc(n + 1 + a + 1);
    fuzz_check(j != NULL);

    if (n > 0) {
        memcpy(j, s, n);
        j[n] = '&';
        memcpy(j + n + 1, add, a);
        *len = n + 1 + a;

    } else {
        memcpy(j, add, a);
        *len = a;
    }

    return j;
}


/* The narrowed request, with the narrowing where d says, is allowed as it
   stands. */
static void
check_narrowed(const fuzz_req_t *f, const smart_decision_t *d)
{
    char               *added;
    fuzz_req_t          f2;
    smart_fhir_req_t   *req2;
    smart_decision_t   *d2;

    f2 = *f;

    if (d->narrow_target == SMART_NARROW_IF_NONE_EXIST) {
        added = joined(f->ine, f->ine_len, d->query_append, &f2.ine_len);
        f2.ine = added;

    } else {
        added = joined(f->query, f->query_len, d->query_append,
                       &f2.query_len);
        f2.query = added;
    }

    d2 = decide(&f2, &f2.conf, &req2);

    /* the classifier may refuse the longer query on a bound */
    if (d2 != NULL && req2 != NULL && req2->status == SMART_FHIR_OK) {
        fuzz_check(d2->allow && !d2->narrowed);
    }

    smart_decision_free(d2);
    smart_fhir_req_free(req2);
    free(added);
}


/*
 * smart_response_check off keeps the decisions of before issue 14, which
 * on (or all) only widens by conditional allowances: what off allows, on
 * allows; what on allows and off refuses is checked on the response,
 * after a pre-read, or narrowed.
 */
static void
check_off(const fuzz_req_t *f, const smart_decision_t *d)
{
    smart_policy_conf_t   off;
    smart_fhir_req_t     *req;
    smart_decision_t     *d0;

    if (f->conf.response_check == SMART_RESPONSE_CHECK_OFF) {
        return;
    }

    off = f->conf;
    off.response_check = SMART_RESPONSE_CHECK_OFF;

    d0 = decide(f, &off, &req);

    if (d0 != NULL) {
        fuzz_check(!d0->allow || d->allow);
        fuzz_check(d0->allow || !d->allow || d->check || d->precheck
                   || d->narrowed);
    }

    smart_decision_free(d0);
    smart_fhir_req_free(req);
}


/* The configuration from byte 0 (flags) and byte 1 (more). */
static void
fuzz_conf(uint8_t flags, uint8_t more, fuzz_req_t *f)
{
    static const size_t  maxes[] = { 0, 1, 2, 3 };

    memset(&f->conf, 0, sizeof(smart_policy_conf_t));
    f->conf.patient_search = (flags & 0x02) ? SMART_PATIENT_SEARCH_DENY
                                            : SMART_PATIENT_SEARCH_NARROW;
    f->conf.body_max = (flags & 0x40) ? 64 : 0;
    f->conf.restrictions_checked = (flags & 0x80) != 0;
    f->conf.response_check = fuzz_checks[more & 0x03];
    f->conf.precheck = (more & 0x04) ? SMART_PRECHECK_AVAILABLE
                                     : SMART_PRECHECK_NONE;
    f->conf.precheck_max = maxes[(more >> 3) & 0x03];
    f->method = fuzz_methods[(flags >> 2) & 0x07];
    f->form = (flags & 0x20) != 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                pos, ns, np, nu, ni, qlen;
    const uint8_t        *ps, *pp, *pu, *pi;
    const char           *qm;
    char                 *scopes, *patient, *url, *ine, *body, *path, *query;
    fuzz_req_t            f;
    smart_scope_set_t    *set;
    smart_fhir_req_t     *req;
    smart_decision_t     *d;

    if (size < 2) {
        return 0;
    }

    memset(&f, 0, sizeof(fuzz_req_t));
    fuzz_conf(data[0], data[1], &f);
    pos = 2;

    ns = next_part(data, size, &pos, &ps);
    np = next_part(data, size, &pos, &pp);
    nu = next_part(data, size, &pos, &pu);
    ni = next_part(data, size, &pos, &pi);

    scopes = fuzz_dup_exact(ps, ns);
    patient = (data[0] & 0x01) ? fuzz_dup_cstr(pp, np) : NULL;
    url = fuzz_dup_exact(pu, nu);
    ine = (ni > 0) ? fuzz_dup_exact(pi, ni) : NULL;
    body = fuzz_dup_exact(data + pos, size - pos);

    qm = memchr(url, '?', nu);
    f.path_len = qm ? (size_t) (qm - url) : nu;
    qlen = qm ? nu - f.path_len - 1 : 0;
    path = fuzz_dup_exact((const uint8_t *) url, f.path_len);
    query = qm ? fuzz_dup_exact((const uint8_t *) qm + 1, qlen) : NULL;

    f.patient = patient;
    f.path = path;
    f.query = query;
    f.query_len = qlen;
    f.ine = ine;
    f.ine_len = ni;
    f.body = body;
    f.body_len = size - pos;

    set = smart_scope_parse(scopes, ns);
    f.set = set;

    if (set != NULL) {
        d = decide(&f, &f.conf, &req);

        if (d != NULL) {
            check_decision(d, &f, &f.conf, req);
            check_off(&f, d);
            check_restrictions(d, f.conf.restrictions_checked);

            if (d->narrowed && req != NULL) {
                check_narrowed(&f, d);
            }

            smart_decision_free(d);
        }

        smart_fhir_req_free(req);
        smart_scope_set_free(set);
    }

    free(scopes);
    free(patient);
    free(url);
    free(ine);
    free(body);
    free(path);
    free(query);

    return 0;
}
