
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: granular scopes ("patient/Observation.rs?
 * category=...").  A search inside one scope or inside the union of the
 * one-parameter scopes is allowed, one inside but for codes without
 * system is narrowed with the scope's pieces, one that names a restricted
 * parameter otherwise is refused, one that omits it is narrowed with the
 * first scope's restriction; a read by id is allowed on condition of the
 * response, carrying the restrictions one of which the record must
 * satisfy (smart_restrict.h; docs/scopes.md, "Granular scopes in
 * decisions", "Narrowing").
 *
 * Plain C99: no NGINX headers, no global mutable state.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_policy_private.h"
#include "smart_restrict.h"


/* --- granular scopes ----------------------------------------------------- */

/* 1 when piece v equals one comma piece of the scope value sv. */
static int
smart_granular_value_has(const char *sv, size_t svlen, const char *v)
{
    size_t  next, start, end, vl;

    vl = strlen(v);
    next = 0;

    while (smart_restrict_piece_next(sv, svlen, &next, &start, &end)) {
        if (end - start == vl && memcmp(sv + start, v, vl) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * 1 when the request piece v names no system (a code alone, "laboratory")
 * and is the code of a "system|code" piece of the scope value sv: the
 * search asks for that code in any system, which the scope's own pieces,
 * appended, narrow to the scope's systems.
 */
static int
smart_granular_code_of(const char *sv, size_t svlen, const char *v)
{
    size_t       vl, next, start, end, k;
    const char  *bar;

    vl = strlen(v);

    for (k = 0; k < vl; k++) {
        if (v[k] == '\\' && k + 1 < vl) {
            k++;

        } else if (v[k] == '|') {
            return 0;
        }
    }

    next = 0;

    while (smart_restrict_piece_next(sv, svlen, &next, &start, &end)) {
        bar = NULL;

        for (k = start; k < end && bar == NULL; k++) {
            if (sv[k] == '\\' && k + 1 < end) {
                k++;

            } else if (sv[k] == '|') {
                bar = sv + k;
            }
        }

        if (bar != NULL && (size_t) (sv + end - bar - 1) == vl
            && memcmp(bar + 1, v, vl) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * 1 when one request parameter named exactly name has only values among
 * the scope values vals[0..nvals); with codes, a code without system that
 * one of them has with a system counts as well (smart_granular_code_of()).
 */
static int
smart_request_inside(const smart_fhir_req_t *req, const char *name,
    const smart_scope_param_t *const *vals, size_t nvals, int codes)
{
    int                        ok;
    size_t                     i, j, k;
    const smart_fhir_param_t  *pa;

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        if (strcmp(pa->raw_name, name) != 0) {
            continue;
        }

        ok = 1;

        for (j = 0; j < pa->nvalues && ok; j++) {
            ok = 0;

            for (k = 0; k < nvals; k++) {
                if (smart_granular_value_has(vals[k]->value, vals[k]->value_len,
                                             pa->values[j])
                    || (codes
                        && smart_granular_code_of(vals[k]->value,
                                                  vals[k]->value_len,
                                                  pa->values[j])))
                {
                    ok = 1;
                    break;
                }
            }
        }

        if (ok) {
            return 1;
        }
    }

    return 0;
}


static size_t
smart_base_len(const char *name)
{
    size_t  n;

    n = strcspn(name, ":.");

    return n;
}


/* 1 when the request has a parameter with the base name of sname. */
static int
smart_request_names(const smart_fhir_req_t *req, const char *sname)
{
    size_t  i, n;

    n = smart_base_len(sname);

    for (i = 0; i < req->nparams; i++) {
        if (strlen(req->params[i].name) == n
            && memcmp(req->params[i].name, sname, n) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * 1 when a granular parameter can be appended as a narrowing: a plain
 * search parameter (optionally with a modifier), or one of the common
 * filtering parameters.  Result parameters (_include, _has, _count, ...)
 * and chains would change what comes back rather than filter it.
 */
static int
smart_narrowable_name(const char *name)
{
    size_t              i, colons;
    static const char  *const common[] = {
        "_id", "_tag", "_security", "_profile", "_source", "_lastUpdated",
        "_text", "_content", "_list"
    };

    if (SMART_POLICY_IN_LIST(common, name)) {
        return 1;
    }

    if (!((name[0] >= 'A' && name[0] <= 'Z')
          || (name[0] >= 'a' && name[0] <= 'z')))
    {
        return 0;
    }

    colons = 0;

    for (i = 1; name[i] != '\0'; i++) {
        if (name[i] == ':') {
            if (++colons > 1 || name[i + 1] == '\0') {
                return 0;
            }
            continue;
        }

        if (!((name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Appends the comma pieces of a scope value, each piece encoded.  -1 when
 * a piece ends in an unescaped '\': the server would read the comma after
 * it as part of the piece (servers decode %5C before they split), so the
 * narrowing cannot be expressed.
 */
static int
smart_add_pieces(smart_policy_sbuf_t *sb, const char *v, size_t n)
{
    size_t  next, start, end, k;

    next = 0;

    while (smart_restrict_piece_next(v, n, &next, &start, &end)) {
        for (k = end; k > start && v[k - 1] == '\\'; k--) {
            /* void */
        }

        if ((end - k) % 2 == 1) {
            return -1;
        }

        if (start > 0) {
            smart_sb_add(sb, ",", 1);
        }

        smart_sb_add_encoded(sb, v + start, end - start);
    }

    return 0;
}


/* 1 when every comma piece of a scope value is the patient, as P or
   Patient/P. */
static int
smart_granular_pins(smart_policy_ctx_t *c, const char *v, size_t n)
{
    size_t  next, start, end, len;

    next = 0;

    while (smart_restrict_piece_next(v, n, &next, &start, &end)) {
        len = end - start;

        if (!smart_is_patient_id(c, v + start, len)
            && !(len > 8 && memcmp(v + start, "Patient/", 8) == 0
                 && smart_is_patient_id(c, v + start + 8, len - 8)))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Step 1: the first scope whose every restriction the request meets (step
 * 3, with codes: codes without system counted as the scope's).
 */
static const smart_scope_t *
smart_granular_inside_one(const smart_fhir_req_t *req,
    const smart_scope_t **g, size_t ng, int codes)
{
    size_t                       i, j;
    const smart_scope_t         *sc;
    const smart_scope_param_t   *one[1];

    for (i = 0; i < ng; i++) {
        sc = g[i];

        for (j = 0; j < sc->nparams; j++) {
            one[0] = &sc->params[j];
            if (!smart_request_inside(req, sc->params[j].name, one, 1,
                                      codes))
            {
                break;
            }
        }

        if (j == sc->nparams) {
            return sc;
        }
    }

    return NULL;
}


/*
 * Step 2: the first one-parameter scope whose union with the other
 * one-parameter scopes on the same parameter the request meets (step 3,
 * with codes: codes without system counted as the scopes').
 */
static const smart_scope_t *
smart_granular_inside_union(const smart_fhir_req_t *req,
    const smart_scope_t **g, size_t ng, int codes)
{
    size_t                       i, k, nv;
    const smart_scope_param_t   *vals[SMART_SCOPE_MAX_SCOPES];

    for (i = 0; i < ng; i++) {
        if (g[i]->nparams != 1) {
            continue;
        }

        for (k = 0, nv = 0; k < ng; k++) {
            if (g[k]->nparams == 1
                && strcmp(g[k]->params[0].name, g[i]->params[0].name) == 0)
            {
                vals[nv++] = &g[k]->params[0];
            }
        }

        if (smart_request_inside(req, g[i]->params[0].name, vals, nv,
                                 codes))
        {
            return g[i];
        }
    }

    return NULL;
}


/* Step 4: 1 when the request names a restricted parameter of any scope. */
static int
smart_granular_named(const smart_fhir_req_t *req, const smart_scope_t **g,
    size_t ng)
{
    size_t  i, j;

    for (i = 0; i < ng; i++) {
        for (j = 0; j < g[i]->nparams; j++) {
            if (smart_request_names(req, g[i]->params[j].name)) {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * Under a patient scope sc, 1 when the restriction sp is on a patient
 * parameter of t and names someone else: it would contradict the patient
 * narrowing.
 */
static int
smart_granular_other_patient(smart_policy_ctx_t *c, int t,
    const smart_scope_t *sc, const smart_scope_param_t *sp)
{
    int     excl;
    char    base[SMART_FHIR_MAX_NAME + 1];
    size_t  n;

    n = smart_base_len(sp->name);
    if (sc->context != SMART_SCOPE_PATIENT || n >= sizeof(base)) {
        return 0;
    }

    memcpy(base, sp->name, n);
    base[n] = '\0';

    if ((t == SMART_FHIR_TYPE_PATIENT && strcmp(base, "_id") == 0)
        || (t != SMART_FHIR_TYPE_PATIENT
            && smart_patient_param(t, base, &excl)))
    {
        return !smart_granular_pins(c, sp->value, sp->value_len);
    }

    return 0;
}


/*
 * Steps 3 and 5, before anything is appended: every restriction of sc
 * can be a search parameter of the request.  1, or 0 with r set to the
 * refusal.
 */
static int
smart_granular_narrowable(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t *sc, const char *needed,
    smart_policy_res_t *r)
{
    size_t  j;

    for (j = 0; j < sc->nparams; j++) {
        if (!smart_narrowable_name(sc->params[j].name)
            || !smart_restriction_recognised(req, sc->params[j].name))
        {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "the granular restriction cannot be added as a "
                           "search parameter");
            return 0;
        }

        if (smart_granular_other_patient(c, t, sc, &sc->params[j])) {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "the granular restriction names another patient");
            return 0;
        }
    }

    return 1;
}


/*
 * The value of restriction j of g[0] as a narrowing: its value, and when
 * g[0] has one parameter the values of every one-parameter scope on it, as
 * one comma list.  -1 when a piece cannot be expressed.
 */
static int
smart_granular_value(const smart_scope_t **g, size_t ng, size_t j,
    smart_policy_sbuf_t *sb)
{
    size_t                k;
    const smart_scope_t  *sc;

    sc = g[0];

    for (k = 0; k < ng; k++) {
        if (k > 0 && sc->nparams != 1) {
            break;
        }

        if (g[k]->nparams != sc->nparams
            || strcmp(g[k]->params[j].name, sc->params[j].name) != 0)
        {
            continue;
        }

        if (sb->len > 0) {
            smart_sb_add(sb, ",", 1);
        }

        /* the scope value may itself be a comma list: keep its pieces,
           encode everything inside a piece */
        if (smart_add_pieces(sb, g[k]->params[j].value,
                             g[k]->params[j].value_len)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * Steps 3 and 5: appends the restriction of g[0] (smart_granular_value()
 * for each of its parameters).  0, or -1 with r set to the refusal.
 */
static int
smart_granular_narrow(smart_policy_ctx_t *c, const smart_scope_t **g,
    size_t ng, const char *needed, smart_policy_res_t *r)
{
    size_t                 j;
    smart_policy_sbuf_t    sb;
    const smart_scope_t   *sc;

    sc = g[0];

    for (j = 0; j < sc->nparams; j++) {
        memset(&sb, 0, sizeof(smart_policy_sbuf_t));

        if (smart_granular_value(g, ng, j, &sb) != 0) {
            free(sb.p);
            smart_res_deny_narrowing(r, needed);
            return -1;
        }

        if (sb.nomem) {
            free(sb.p);
            c->nomem = 1;
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "no memory");
            return -1;
        }

        if (smart_res_add_param(c, r, sc->params[j].name, sb.p ? sb.p : "",
                                sb.len) != 0)
        {
            free(sb.p);
            smart_res_deny_narrowing(r, needed);
            return -1;
        }

        free(sb.p);
    }

    return 0;
}


/*
 * Step 3: a search that asks for codes without system ("category=
 * laboratory") where its scope has them with one ("category=system|
 * laboratory") is narrowed with the scope's own pieces: FHIR ANDs repeated
 * parameters, so what comes back is inside the scope.  First one scope,
 * then the union of the one-parameter scopes on one parameter, as steps 1
 * and 2.  1 when r holds the answer (narrowed, or the refusal of a
 * narrowing that cannot be made), 0 when the search is not such a case.
 */
static int
smart_granular_codes(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t **g, size_t ng, const char *needed,
    smart_policy_res_t *r)
{
    size_t                 k, nu;
    const smart_scope_t   *sc;
    const smart_scope_t   *u[SMART_SCOPE_MAX_SCOPES];

    sc = smart_granular_inside_one(req, g, ng, 1);

    if (sc != NULL) {
        u[0] = sc;
        nu = 1;

    } else {
        sc = smart_granular_inside_union(req, g, ng, 1);
        if (sc == NULL) {
            return 0;
        }

        /* the union on sc's parameter, sc first */
        u[0] = sc;
        nu = 1;

        for (k = 0; k < ng; k++) {
            if (g[k] != sc && g[k]->nparams == 1
                && strcmp(g[k]->params[0].name, sc->params[0].name) == 0)
            {
                u[nu++] = g[k];
            }
        }
    }

    if (smart_granular_narrowable(c, req, t, sc, needed, r)
        && smart_granular_narrow(c, u, nu, needed, r) == 0)
    {
        smart_res_allow(r, sc, "codes without system narrowed to the "
                               "granular scope's");
    }

    return 1;
}


/*
 * Search under granular scopes g[0..ng) (docs/scopes.md, "Granular scopes
 * in decisions"): allowed when the request is inside one scope (1), or
 * inside the union of the one-parameter scopes on one parameter (2);
 * narrowed (in narrow mode) with a scope's pieces when it is inside but
 * for codes without system (3); refused when it names a restricted
 * parameter otherwise (4); narrowed (in narrow mode) with the first
 * scope's restriction, its one parameter carrying the whole union as a
 * comma list (5).
 */
void
smart_granular_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t **g, size_t ng, const char *needed,
    smart_policy_res_t *r)
{
    const smart_scope_t  *sc;

    if (!smart_params_recognised(req, r)) {
        return;
    }

    sc = smart_granular_inside_one(req, g, ng, 0);
    if (sc != NULL) {
        smart_res_allow(r, sc, "inside a granular scope");
        return;
    }

    sc = smart_granular_inside_union(req, g, ng, 0);
    if (sc != NULL) {
        smart_res_allow(r, sc, "inside the union of granular scopes");
        return;
    }

    if (c->conf->patient_search != SMART_PATIENT_SEARCH_DENY
        && smart_granular_codes(c, req, t, g, ng, needed, r))
    {
        return;
    }

    if (smart_granular_named(req, g, ng)) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "a search parameter is outside the values the "
                       "granular scopes allow");
        return;
    }

    if (c->conf->patient_search == SMART_PATIENT_SEARCH_DENY) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "search lacks the granular restriction "
                       "(smart_patient_search deny)");
        return;
    }

    if (smart_granular_narrowable(c, req, t, g[0], needed, r)
        && smart_granular_narrow(c, g, ng, needed, r) == 0)
    {
        smart_res_allow(r, g[0], "narrowed to the granular scope");
    }
}


/* --- reads by id ---------------------------------------------------------- */

/*
 * The granular scopes of one kind (patient: patient/ scopes, only with a
 * patient claim; else user and system scopes) granting need on t whose
 * restrictions the response check can read (smart_restrict_supported()),
 * into g[]; *first is the first of them all, readable or not (NULL: none).
 */
static size_t
smart_granular_readable(smart_policy_ctx_t *c, int t, unsigned need,
    int patient, const smart_scope_t **g, const smart_scope_t **first)
{
    size_t                i, n, k;
    const smart_scope_t  *all[SMART_SCOPE_MAX_SCOPES];

    *first = NULL;

    if (patient && c->patient == NULL) {
        return 0;
    }

    n = smart_grant_granular(c, patient ? SMART_SCOPE_PATIENT
                                        : SMART_POLICY_CTX_US, t, need, all);

    for (i = 0, k = 0; i < n; i++) {
        if (smart_restrict_supported(t, all[i]->params, all[i]->nparams)) {
            g[k++] = all[i];
        }
    }

    if (n > 0) {
        *first = all[0];
    }

    return k;
}


/*
 * A read by id along the granular scopes of one kind: allowed on
 * condition of the response, which must satisfy one of their restrictions
 * (and, for patient/ scopes, be in the patient's compartment: another
 * patient's Patient is refused at once, a type that cannot be limited to
 * the patient too).
 */
static void
smart_granular_read_kind(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, int patient, smart_policy_res_t *r)
{
    int                    t;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    size_t                 n;
    const smart_scope_t   *first;
    const smart_scope_t   *g[SMART_SCOPE_MAX_SCOPES];

    t = req->type;
    n = smart_granular_readable(c, t, need, patient, g, &first);

    if (first == NULL || !smart_params_recognised(req, r)) {
        return;
    }

    if (patient
        && (smart_unprovable_denied(c, t, need, r)
            || (t == SMART_FHIR_TYPE_PATIENT
                && !smart_own_record(c, req->id, t, need,
                                     "another patient's record", r))))
    {
        return;
    }

    if (n == 0) {
        smart_fmt_needed(needed, first->context, t, need);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "the granular restriction cannot be checked on the "
                       "response (only token parameters are read)");
        return;
    }

    smart_res_allow_checked(r, g[0], "checked on the response: released "
                                     "only when the record satisfies a "
                                     "granular restriction");
    r->restricted = patient ? SMART_POLICY_RESTRICT_PATIENT
                            : SMART_POLICY_RESTRICT_US;
}


/*
 * A read by id, vread or instance history (r) under granular scopes
 * (docs/scopes.md, "Granular scopes in decisions"): allowed on condition
 * of the response when the caller checks restrictions
 * (conf->restrictions_checked) and the response check is on; the patient/
 * and the user and system scopes together when both allow it.  Refused as
 * before otherwise: a type or system history (it cannot be held to a
 * restriction), a bundle entry (a batch-response is not checked against
 * restrictions).
 */
void
smart_granular_read(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, int in_bundle, smart_policy_res_t *best)
{
    smart_policy_res_t  rp, ru;

    if (in_bundle || req->id == NULL || !c->conf->restrictions_checked
        || c->conf->response_check == SMART_RESPONSE_CHECK_OFF)
    {
        smart_offer_granular_refusal(c, req->type, need,
                                     "granular scopes grant searches only; "
                                     "a read by id or a history cannot be "
                                     "checked", best);
        return;
    }

    smart_res_init(&rp);
    smart_res_init(&ru);

    smart_granular_read_kind(c, req, need, 1, &rp);
    smart_granular_read_kind(c, req, need, 0, &ru);

    if (rp.verdict == SMART_POLICY_V_ALLOW
        && ru.verdict == SMART_POLICY_V_ALLOW)
    {
        rp.restricted |= ru.restricted;
    }

    smart_res_offer(best, &rp);
    smart_res_offer(best, &ru);
}


/*
 * The restrictions of a decision allowed by smart_granular_read(): copies
 * of the readable granular scopes of the kinds r->restricted names, patient
 * ones first, owned by d.  0, or -1 when memory ran out.
 */
int
smart_granular_restrictions(smart_policy_ctx_t *c,
    const smart_fhir_req_t *req, const smart_policy_res_t *r,
    smart_decision_t *d)
{
    size_t                 n;
    unsigned               need;
    const smart_scope_t   *first;
    const smart_scope_t   *g[2 * SMART_SCOPE_MAX_SCOPES];

    if (!d->allow || !d->check || r->restricted == 0 || req == NULL) {
        return 0;
    }

    need = smart_need_letters(req->interaction);
    n = 0;

    if (r->restricted & SMART_POLICY_RESTRICT_PATIENT) {
        n += smart_granular_readable(c, req->type, need, 1, g, &first);
    }

    if (r->restricted & SMART_POLICY_RESTRICT_US) {
        n += smart_granular_readable(c, req->type, need, 0, g + n, &first);
    }

    /* never a checked read without its restrictions: none (which the
       allow rules out) is refused like no memory */
    d->restrictions = smart_restrict_copy(g, n);
    d->nrestrictions = (d->restrictions != NULL) ? n : 0;

    return (d->restrictions != NULL) ? 0 : -1;
}
