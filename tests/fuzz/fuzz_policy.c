/*
 * libFuzzer target: the authorization decision (smart_policy.c).
 *
 * Input: byte 0 holds flags (bit 0: patient claim present, bit 1:
 * smart_patient_search deny, bits 2-4: the method, bit 5: form body, bit
 * 6: a small smart_body_max); the rest is split at 0x00 bytes into scopes,
 * patient claim, URL (path '?' query) and body.  Each part is copied into a
 * buffer of its exact size so that ASan catches any read past a length.
 *
 * Aborts when a decision breaks a promise of smart_policy.h: a refusal has
 * a reason from the policy's set and no narrowing or granting scope; an
 * allowance has no reason text in needed; a narrowing has parameters that
 * are joined into query_append; denied bundle entries only on bundles; the
 * patient claim never shows in the explanation; a token with patient
 * scopes only is never asked for a user/ or system/ scope; and a narrowed
 * request, once the parameters are appended, is allowed as it stands.
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


static smart_decision_t *
decide(const smart_policy_conf_t *conf, const smart_scope_set_t *set,
    const char *patient, const char *method, const char *path,
    size_t path_len, const char *query, size_t query_len, const char *body,
    size_t body_len, int form, smart_fhir_req_t **reqp)
{
    smart_fhir_input_t   in;
    smart_fhir_req_t    *req;
    smart_decision_t    *d;

    memset(&in, 0, sizeof(smart_fhir_input_t));
    in.method = method;
    in.method_len = strlen(method);
    in.path = path;
    in.path_len = path_len;
    in.query = query;
    in.query_len = query_len;
    in.body = body;
    in.body_len = body_len;
    in.body_is_form = form;

    req = NULL;
    if (smart_fhir_classify(&in, &req) != SMART_FHIR_OK
        && req == NULL)
    {
        return NULL;
    }

    d = NULL;
    if (smart_policy_decide(conf, set, patient, req, body, body_len, &d)
        != SMART_POLICY_OK)
    {
        fuzz_check(d == NULL);
        d = NULL;
    }

    *reqp = req;

    return d;
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


static void
check_decision(const smart_decision_t *d, const smart_scope_set_t *set,
    const char *patient)
{
    size_t  i;

    check_needed(set, d->needed);

    fuzz_check(d->explain != NULL);
    fuzz_check(memchr(d->needed, '\0', sizeof(d->needed)) != NULL);

    /* explanations are static English text: no six-byte run with a digit
       ("UTF-8" and "R4" are the only digits in them) */
    if (patient != NULL && strlen(patient) >= 6
        && strpbrk(patient, "0123456789") != NULL)
    {
        fuzz_check(strstr(d->explain, patient) == NULL);
    }

    if (!d->allow) {
        fuzz_check(d->narrowed == 0);
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

        for (i = 0; i < d->nparams; i++) {
            fuzz_check(d->params[i].name != NULL && d->params[i].value != NULL);
            fuzz_check(strstr(d->query_append, d->params[i].value) != NULL);
        }

    } else {
        fuzz_check(d->nparams == 0 && d->query_append == NULL);
    }

    if (d->nentries > 0) {
        fuzz_check(d->interaction == SMART_FHIR_I_BATCH
                   || d->interaction == SMART_FHIR_I_TRANSACTION);

        for (i = 0; i < d->nentries; i++) {
            fuzz_check(d->entries[i].index < SMART_POLICY_MAX_ENTRIES);
            fuzz_check(i == 0 || d->entries[i].index > d->entries[i - 1].index);
            check_needed(set, d->entries[i].needed);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   form;
    size_t                pos, ns, np, nu, nb, path_len, qlen, nq2;
    uint8_t               flags;
    const uint8_t        *ps, *pp, *pu, *pb;
    const char           *method, *qm;
    char                 *scopes, *patient, *url, *body, *path, *query;
    char                 *q2;
    smart_scope_set_t    *set;
    smart_fhir_req_t     *req, *req2;
    smart_decision_t     *d, *d2;
    smart_policy_conf_t   conf;

    if (size < 1) {
        return 0;
    }

    flags = data[0];
    pos = 1;

    ns = next_part(data, size, &pos, &ps);
    np = next_part(data, size, &pos, &pp);
    nu = next_part(data, size, &pos, &pu);
    nb = size - pos;
    pb = data + pos;

    memset(&conf, 0, sizeof(smart_policy_conf_t));
    conf.patient_search = (flags & 0x02) ? SMART_PATIENT_SEARCH_DENY
                                         : SMART_PATIENT_SEARCH_NARROW;
    conf.body_max = (flags & 0x40) ? 64 : 0;
    method = fuzz_methods[(flags >> 2) & 0x07];
    form = (flags & 0x20) != 0;

    scopes = fuzz_dup_exact(ps, ns);
    patient = (flags & 0x01) ? fuzz_dup_cstr(pp, np) : NULL;
    url = fuzz_dup_exact(pu, nu);
    body = fuzz_dup_exact(pb, nb);

    qm = memchr(url, '?', nu);
    path_len = qm ? (size_t) (qm - url) : nu;
    qlen = qm ? nu - path_len - 1 : 0;
    path = fuzz_dup_exact((const uint8_t *) url, path_len);
    query = qm ? fuzz_dup_exact((const uint8_t *) qm + 1, qlen) : NULL;

    set = smart_scope_parse(scopes, ns);
    req = NULL;

    if (set != NULL) {
        d = decide(&conf, set, patient, method, path, path_len, query, qlen,
                   body, nb, form, &req);

        if (d != NULL) {
            check_decision(d, set, patient);

            /* the narrowed request must be allowed as it stands */
            if (d->narrowed && req != NULL) {
                nq2 = qlen + 1 + strlen(d->query_append);
                q2 = malloc(nq2 + 1);
                fuzz_check(q2 != NULL);

                if (qlen > 0) {
                    memcpy(q2, query, qlen);
                    q2[qlen] = '&';
                    memcpy(q2 + qlen + 1, d->query_append,
                           strlen(d->query_append));
                } else {
                    nq2 = strlen(d->query_append);
                    memcpy(q2, d->query_append, nq2);
                }

                req2 = NULL;
                d2 = decide(&conf, set, patient, method, path, path_len, q2,
                            nq2, body, nb, form, &req2);

                /* the classifier may refuse the longer query on a bound */
                if (d2 != NULL && req2 != NULL
                    && req2->status == SMART_FHIR_OK)
                {
                    fuzz_check(d2->allow && !d2->narrowed);
                }

                smart_decision_free(d2);
                smart_fhir_req_free(req2);
                free(q2);
            }

            smart_decision_free(d);
        }

        smart_fhir_req_free(req);
        smart_scope_set_free(set);
    }

    free(scopes);
    free(patient);
    free(url);
    free(body);
    free(path);
    free(query);

    return 0;
}
