
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the authorization decision (docs/scopes.md).
 * docs/scopes.md states every rule in reviewer language; this unit is the
 * one implementation the module, the CLI, the tests and the fuzzer share.
 *
 * Shape: a request is decided along "paths", one per kind of grant (an
 * unrestricted user/system scope, an unrestricted patient scope, granular
 * scopes of either kind, a patient scope without a patient claim).  Each
 * path answers allow, narrow or deny; the union of the scopes is the best
 * answer: any allow, else the first narrowing, else the most specific
 * refusal.  Nothing here widens a request: a narrowing only appends
 * parameters, which FHIR search combines with AND.
 *
 * This file: one request (its interaction picks the paths), reads by id
 * and history, and the public interface of smart_policy.h (docs/scopes.md,
 * "How a request is decided").  The other files of the unit are listed in
 * smart_policy_private.h.
 *
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_policy_private.h"


/* --- reads by id and history --------------------------------------------- */

/*
 * A read the response must prove: only when the response will hold the
 * whole resource.  HEAD has no body; _elements and _summary may leave out
 * the references that prove whose it is.
 */
static void
smart_checked_read(const smart_fhir_req_t *req, const smart_scope_t *sc,
    smart_policy_res_t *r)
{
    if (req->head) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a HEAD response has no body to check against the "
                       "patient: use GET");
        return;
    }

    if (smart_fhir_find_param(req, "_elements") != NULL
        || smart_fhir_find_param(req, "_summary") != NULL)
    {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the response check needs the whole resource: "
                       "_elements and _summary are refused");
        return;
    }

    smart_res_allow_checked(r, sc, "checked on the response: released only "
                                   "when the record is the patient's");
}


/* A read by id or a history granted by the unrestricted patient scope sc. */
static void
smart_patient_read(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, const smart_scope_t *sc, smart_policy_res_t *r)
{
    int   t;
    char  needed[SMART_POLICY_NEEDED_MAX];

    t = req->type;

    if (!smart_params_recognised(req, r)) {
        return;
    }

    if (t == smart_fhir_type_index("Binary", 6)
        && smart_res_allow_binary(c, req, sc, r))
    {
        return;
    }

    if (smart_unprovable_denied(c, t, need, r)) {
        return;
    }

    if (t >= 0 && !smart_in_compartment(t)) {
        smart_res_allow(r, sc, "type outside the patient compartment");
        return;
    }

    if (t == SMART_FHIR_TYPE_PATIENT && req->id != NULL) {
        if (smart_own_record(c, req->id, t, need, "another patient's record",
                             r))
        {
            smart_res_allow(r, sc, "the patient's own record");
        }

        return;
    }

    if (req->id != NULL
        && c->conf->response_check != SMART_RESPONSE_CHECK_OFF)
    {
        /* read, vread, instance history: proven on the response */
        smart_checked_read(req, sc, r);
        return;
    }

    smart_fmt_usable(c, needed, SMART_SCOPE_USER, t, need);
    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                   (req->id != NULL) ? "a read by id of a compartment type "
                                       "cannot be checked against the patient "
                                       "(smart_response_check off)"
                                     : "type history cannot be limited to "
                                       "the patient");
}


/*
 * A read by id (r) or a history (s): by type under a user or system
 * scope; under a patient scope the patient's own Patient and the types
 * outside the compartment; under granular scopes alone a read by id
 * checked on the response (smart_granular_read()).
 */
static void
smart_decide_read(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int in_bundle, smart_policy_res_t *best)
{
    int                    t;
    unsigned               need;
    smart_policy_res_t     r;
    const smart_scope_t   *sc;

    t = req->type;
    need = smart_need_letters(req->interaction);
    smart_res_init(&r);

    sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, need);
    if (sc != NULL) {
        smart_res_allow(&r, sc, "allowed by type");
        smart_res_offer(best, &r);
        return;
    }

    sc = smart_grant_patient(c, t, need);
    if (sc != NULL) {
        smart_patient_read(c, req, need, sc, &r);
        smart_res_offer(best, &r);
    }

    smart_granular_read(c, req, need, in_bundle, best);
    smart_offer_context_missing(c, t, need, best);
}


/* --- one request ---------------------------------------------------------- */

void
smart_decide_req(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, int in_bundle, smart_policy_res_t *r)
{
    char                needed[SMART_POLICY_NEEDED_MAX];
    smart_policy_res_t  tmp;

    smart_res_init(&tmp);

    switch (req->interaction) {

    case SMART_FHIR_I_CAPABILITIES:
        smart_res_allow(r, NULL, "public: capabilities");
        return;

    case SMART_FHIR_I_READ:
    case SMART_FHIR_I_VREAD:
    case SMART_FHIR_I_HISTORY_INSTANCE:
    case SMART_FHIR_I_HISTORY_TYPE:
    case SMART_FHIR_I_HISTORY_SYSTEM:
        smart_decide_read(c, req, in_bundle, r);
        break;

    case SMART_FHIR_I_SEARCH_TYPE:
    case SMART_FHIR_I_SEARCH_COMPARTMENT:
        smart_decide_search(c, req, r);
        break;

    case SMART_FHIR_I_SEARCH_SYSTEM:
        smart_decide_search_system(c, req, r);
        smart_decide_paging(c, req, r);
        break;

    case SMART_FHIR_I_CREATE:
    case SMART_FHIR_I_UPDATE:
    case SMART_FHIR_I_PATCH:
    case SMART_FHIR_I_DELETE:
        smart_decide_write(c, req, body, body_present, r);
        break;

    case SMART_FHIR_I_OPERATION:
        smart_decide_op(c, req, r);
        break;

    default:
        smart_res_deny(&tmp, SMART_ERR_REQUEST_INVALID, NULL,
                       in_bundle ? "a bundle inside a bundle"
                                 : "not decidable");
        smart_res_offer(r, &tmp);
        return;
    }

    if (r->empty) {
        /* no path at all: nothing grants the letters */
        smart_fmt_needed(needed, smart_guess_ctx(c),
                         req->compartment_all ? -1 : req->type,
                         smart_need_letters(req->interaction));
        smart_res_deny(&tmp, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "no scope grants it");
        smart_res_offer(r, &tmp);
    }
}


/* --- the public interface ----------------------------------------------- */

/*
 * smart_response_check all: every read, search or history a patient scope
 * allowed is checked on the response too, as defence in depth.
 */
static int
smart_check_all(smart_policy_ctx_t *c, const smart_decision_t *d,
    const smart_policy_res_t *r)
{
    if (c->conf->response_check != SMART_RESPONSE_CHECK_ALL
        || r->granted == NULL || r->granted->context != SMART_SCOPE_PATIENT)
    {
        return 0;
    }

    switch (d->interaction) {

    case SMART_FHIR_I_READ:
    case SMART_FHIR_I_VREAD:
    case SMART_FHIR_I_HISTORY_INSTANCE:
    case SMART_FHIR_I_HISTORY_TYPE:
    case SMART_FHIR_I_SEARCH_TYPE:
    case SMART_FHIR_I_SEARCH_COMPARTMENT:
    case SMART_FHIR_I_SEARCH_SYSTEM:
    case SMART_FHIR_I_OPERATION:
        return 1;

    default:
        return 0;
    }
}


static int
smart_fill_decision(smart_policy_ctx_t *c, smart_decision_t *d,
    smart_policy_res_t *r)
{
    size_t                i;
    char                  buf[SMART_SCOPE_MAX_LEN * 3 + 64];
    smart_policy_sbuf_t   sb;

    d->allow = (r->verdict != SMART_POLICY_V_DENY);
    d->narrowed = (r->verdict == SMART_POLICY_V_NARROW);

    /* a create's criteria are its If-None-Exist (bundles never narrow) */
    d->narrow_target = (d->narrowed
                        && d->interaction == SMART_FHIR_I_CREATE)
                       ? SMART_NARROW_IF_NONE_EXIST : SMART_NARROW_QUERY;
    d->check = d->allow && (r->check || smart_check_all(c, d, r));
    d->reason = d->allow ? SMART_ERR__COUNT : r->reason;
    memcpy(d->needed, r->needed, sizeof(d->needed));

    if (d->allow && r->granted != NULL && !c->conf->no_granted_by) {
        smart_scope_format(buf, sizeof(buf), r->granted);
        d->granted_by = smart_dupn(buf, strlen(buf));
        if (d->granted_by == NULL) {
            return -1;
        }
    }

    if (d->narrowed) {
        d->params = calloc(r->nparams, sizeof(smart_policy_param_t));
        if (d->params == NULL) {
            return -1;
        }

        memset(&sb, 0, sizeof(smart_policy_sbuf_t));

        for (i = 0; i < r->nparams; i++) {
            d->params[i] = r->params[i];
            if (i > 0) {
                smart_sb_add(&sb, "&", 1);
            }
            smart_sb_add_encoded(&sb, r->params[i].name,
                                 strlen(r->params[i].name));
            smart_sb_add(&sb, "=", 1);
            smart_sb_adds(&sb, r->params[i].value);
        }

        d->nparams = r->nparams;
        r->nparams = 0;

        if (sb.nomem) {
            free(sb.p);
            return -1;
        }

        d->query_append = sb.p;
    }

    if (smart_precheck_fill(d, r) != 0) {
        return -1;
    }

    /* the reasons are static text (callers of smart_res_allow() and
       smart_res_deny()) */

    d->explain = r->why ? r->why : "";

    return 0;
}


smart_policy_status_e
smart_policy_decide(const smart_policy_conf_t *conf,
    const smart_scope_set_t *scopes, const char *patient,
    const smart_fhir_req_t *req, const char *body, size_t body_len,
    smart_decision_t **out)
{
    int                    body_present, parsed;
    smart_policy_ctx_t     c;
    smart_policy_res_t     r;
    json_t                *json;
    smart_decision_t      *d;
    smart_policy_conf_t    defconf;

    if (out == NULL) {
        return SMART_POLICY_NOMEM;
    }

    *out = NULL;

    if (conf == NULL) {
        memset(&defconf, 0, sizeof(smart_policy_conf_t));
        conf = &defconf;
    }

    d = calloc(1, sizeof(smart_decision_t));
    if (d == NULL) {
        return SMART_POLICY_NOMEM;
    }

    memset(&c, 0, sizeof(smart_policy_ctx_t));
    c.conf = conf;
    c.set = scopes;

    if (patient != NULL && smart_fhir_valid_id(patient, strlen(patient))) {
        c.patient = patient;
        c.patient_len = strlen(patient);
    }

    smart_res_init(&r);
    json = NULL;

    d->interaction = (req != NULL) ? req->interaction : SMART_FHIR_I_NONE;

    if (req == NULL || req->status != SMART_FHIR_OK) {
        smart_res_deny(&r, SMART_ERR_REQUEST_INVALID, NULL,
                       (req != NULL && req->detail != NULL)
                       ? req->detail : "the request is invalid");
        goto done;
    }

    if (body_len > (conf->body_max ? conf->body_max
                                   : SMART_POLICY_BODY_MAX_DEFAULT))
    {
        smart_res_deny(&r, SMART_ERR_REQUEST_TOO_LARGE, NULL,
                       "the body is larger than smart_body_max");
        goto done;
    }

    body_present = 0;
    parsed = (req->interaction == SMART_FHIR_I_CREATE
              || req->interaction == SMART_FHIR_I_UPDATE
              || req->interaction == SMART_FHIR_I_PATCH
              || req->interaction == SMART_FHIR_I_BATCH_OR_TRANSACTION);

    if (parsed && body != NULL && body_len > 0) {
        json = smart_policy_json_load(body, body_len);
        body_present = (json != NULL);

        if (json == NULL) {
            smart_res_deny(&r, SMART_ERR_REQUEST_INVALID, NULL,
                           "the body is not valid JSON");
            goto done;
        }
    }

    if (req->interaction == SMART_FHIR_I_BATCH_OR_TRANSACTION) {
        smart_decide_bundle(&c, json, body_present, d, &r);

    } else {
        smart_decide_req(&c, req, json, body_present, 0, &r);
    }

done:

    json_decref(json);

    if (c.nomem || smart_fill_decision(&c, d, &r) != 0
        || smart_granular_restrictions(&c, req, &r, d) != 0)
    {
        smart_res_clear_params(&r);
        smart_decision_free(d);
        return SMART_POLICY_NOMEM;
    }

    smart_res_clear_params(&r);
    *out = d;

    return SMART_POLICY_OK;
}


void
smart_decision_free(smart_decision_t *d)
{
    size_t  i;

    if (d == NULL) {
        return;
    }

    for (i = 0; i < d->nparams; i++) {
        free(d->params[i].name);
        free(d->params[i].value);
    }

    free(d->params);
    free(d->prereads);
    free(d->query_append);
    free(d->granted_by);
    free(d->entries);
    free(d->restrictions);
    free(d);
}
