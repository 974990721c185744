
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: writes.  The body shape checks every
 * scope applies, and under patient scopes the compartment references of a
 * created or updated resource and the operations of a JSON Patch; the
 * decision of create, update, patch and delete (docs/scopes.md, "Writes",
 * "Patient scopes", "Patient data outside the compartment"); a write by id
 * under a patient scope is allowed after a pre-read
 * (smart_policy_precheck.c).
 *
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <string.h>

#include "smart_policy_private.h"


#define SMART_POLICY_REF_OK         0
#define SMART_POLICY_REF_MISMATCH   1   /* a reference to another patient */
#define SMART_POLICY_REF_UNVERIFIED 2   /* we cannot tie it to anyone */

#define SMART_POLICY_MAX_PATH_SEGS  8
#define SMART_POLICY_MAX_PTR_SEGS   64


/* --- write bodies --------------------------------------------------------- */

/*
 * Reference value s: SMART_POLICY_REF_OK (counted in *mine when the
 * patient), ...
 */
static int
smart_check_ref_string(smart_policy_ctx_t *c, const char *s, size_t n,
    int strict, int *mine)
{
    const char  *slash, *id, *end;
    int          t;

    slash = memchr(s, '/', n);
    if (slash == NULL) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    t = smart_fhir_type_index(s, (size_t) (slash - s));
    if (t < 0) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    id = slash + 1;
    end = memchr(id, '/', n - (size_t) (id - s));
    if (end != NULL) {
        /* only Type/id/_history/vid */
        if ((size_t) (s + n - end) < 11 || memcmp(end, "/_history/", 10) != 0
            || !smart_fhir_valid_id(end + 10, (size_t) (s + n - end - 10)))
        {
            return SMART_POLICY_REF_UNVERIFIED;
        }

    } else {
        end = s + n;
    }

    if (!smart_fhir_valid_id(id, (size_t) (end - id))) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    if (t != SMART_FHIR_TYPE_PATIENT) {
        return strict ? SMART_POLICY_REF_UNVERIFIED : SMART_POLICY_REF_OK;
    }

    if (!smart_is_patient_id(c, id, (size_t) (end - id))) {
        return SMART_POLICY_REF_MISMATCH;
    }

    (*mine)++;

    return SMART_POLICY_REF_OK;
}


static int
smart_check_ref_object(smart_policy_ctx_t *c, const json_t *v, int strict,
    int *mine)
{
    const json_t  *ref;

    if (!json_is_object(v)) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    ref = json_object_get(v, "reference");
    if (ref == NULL) {
        /* a logical reference names someone we cannot see; display only
           names no one */
        if (json_object_get(v, "identifier") != NULL || strict) {
            return SMART_POLICY_REF_UNVERIFIED;
        }

        return SMART_POLICY_REF_OK;
    }

    if (!json_is_string(ref)) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    return smart_check_ref_string(c, json_string_value(ref),
                                  json_string_length(ref), strict, mine);
}


/* Walks segs[0..nsegs) below v; worst result over every leaf. */
static int
smart_walk_refs(smart_policy_ctx_t *c, const json_t *v, const char *const *segs,
    const size_t *lens, size_t nsegs, int strict, int *mine)
{
    int            worst, rc;
    size_t         i;
    char           key[128];
    const json_t  *child;

    if (json_is_array(v)) {
        worst = SMART_POLICY_REF_OK;

        for (i = 0; i < json_array_size(v); i++) {
            if (json_is_array(json_array_get(v, i))) {
                /* FHIR has no arrays of arrays */
                return SMART_POLICY_REF_UNVERIFIED;
            }

            rc = smart_walk_refs(c, json_array_get(v, i), segs, lens, nsegs,
                                 strict, mine);
            worst = rc > worst ? rc : worst;
        }

        return worst;
    }

    if (nsegs == 0) {
        return smart_check_ref_object(c, v, strict, mine);
    }

    if (!json_is_object(v) || lens[0] >= sizeof(key)) {
        return json_is_null(v) ? SMART_POLICY_REF_OK
                               : SMART_POLICY_REF_UNVERIFIED;
    }

    memcpy(key, segs[0], lens[0]);
    key[lens[0]] = '\0';

    child = json_object_get(v, key);
    if (child == NULL) {
        return SMART_POLICY_REF_OK;
    }

    return smart_walk_refs(c, child, segs + 1, lens + 1, nsegs - 1, strict,
                           mine);
}


static size_t
smart_split_dots(const char *path, const char **segs, size_t *lens)
{
    size_t       n;
    const char  *p, *dot;

    n = 0;
    p = path;

    while (n < SMART_POLICY_MAX_PATH_SEGS) {
        dot = strchr(p, '.');
        segs[n] = p;
        lens[n] = dot ? (size_t) (dot - p) : strlen(p);
        n++;

        if (dot == NULL) {
            break;
        }

        p = dot + 1;
    }

    return n;
}


/*
 * The k-th element path a patient write must point to the patient, NULL
 * after the last: the paths of the compartment (or patient) parameters of
 * ty, then, for the Reference(Patient) types outside the compartment,
 * every Reference(Patient) element, searchable or not
 * (Task.restriction.recipient, Contract.term.offer.party.reference).
 */
static const char *
smart_ref_path(const smart_fhir_type_t *ty, size_t k)
{
    size_t  i;

    for (i = 0; i < ty->ncparams; i++) {
        if (k < ty->cparams[i].npaths) {
            return ty->cparams[i].paths[k].element;
        }

        k -= ty->cparams[i].npaths;
    }

    return (k < ty->npatient_refs) ? ty->patient_refs[k] : NULL;
}


/* Every compartment reference of resource res (type t) against the
   patient. */
static int
smart_check_resource_refs(smart_policy_ctx_t *c, int t, const json_t *res)
{
    int                          worst, rc, mine, other;
    size_t                       i, k, n, ncp;
    const char                  *p;
    const char                  *segs[SMART_POLICY_MAX_PATH_SEGS];
    size_t                       lens[SMART_POLICY_MAX_PATH_SEGS];
    const smart_fhir_type_t     *ty;

    ty = &smart_fhir_types[t];
    worst = SMART_POLICY_REF_OK;
    mine = 0;
    other = 0;

    for (i = 0, ncp = 0; i < ty->ncparams; i++) {
        ncp += ty->cparams[i].npaths;
    }

    /*
     * The compartment (or subject) paths tie the record to the patient;
     * the other Reference(Patient) elements of a type outside the
     * compartment (Task.owner, Task.restriction.recipient) must not name
     * another patient, but naming P there does not make the record P's.
     */
    for (k = 0; (p = smart_ref_path(ty, k)) != NULL; k++) {
        n = smart_split_dots(p, segs, lens);
        rc = smart_walk_refs(c, res, segs, lens, n, 0,
                             k < ncp ? &mine : &other);
        worst = rc > worst ? rc : worst;
    }

    if (worst == SMART_POLICY_REF_OK && t != SMART_FHIR_TYPE_PATIENT
        && mine == 0)
    {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    return worst;
}


/* JSON pointer to element names (array indexes dropped); -1 if bad. */
static int
smart_pointer_segs(const char *p, char segs[][64], size_t *nsegs)
{
    size_t  n, k;
    int     digits;

    *nsegs = 0;

    if (*p == '\0') {
        return 0;
    }

    if (*p != '/') {
        return -1;
    }

    while (*p == '/') {
        p++;
        k = 0;
        digits = 1;
        n = *nsegs;

        if (n == SMART_POLICY_MAX_PTR_SEGS) {
            return -1;
        }

        while (*p != '\0' && *p != '/') {
            if (k == 63) {
                return -1;
            }

            if (*p == '~') {
                if (p[1] == '0') {
                    segs[n][k++] = '~';
                } else if (p[1] == '1') {
                    segs[n][k++] = '/';
                } else {
                    return -1;
                }
                p += 2;
                digits = 0;
                continue;
            }

            if (*p < '0' || *p > '9') {
                digits = 0;
            }

            segs[n][k++] = *p++;
        }

        segs[n][k] = '\0';

        if (!(digits && k > 0) && !(k == 1 && segs[n][0] == '-')) {
            (*nsegs)++;
        }
    }

    return 0;
}


/*
 * One JSON Patch operation against the compartment paths of t:
 * SMART_POLICY_REF_OK, SMART_POLICY_REF_MISMATCH or
 * SMART_POLICY_REF_UNVERIFIED.
 */
static int
smart_check_patch_op(smart_policy_ctx_t *c, int t, const char *op,
    const char *path, const char *from, const json_t *value)
{
    int                          rc, worst, mine, touches;
    size_t                       i, k, n, ne, nf;
    const char                  *p;
    const char                  *segs[SMART_POLICY_MAX_PATH_SEGS];
    size_t                       lens[SMART_POLICY_MAX_PATH_SEGS];
    char                         e[SMART_POLICY_MAX_PTR_SEGS][64];
    char                         f[SMART_POLICY_MAX_PTR_SEGS][64];
    const smart_fhir_type_t     *ty;

    if (strcmp(op, "test") == 0) {
        return SMART_POLICY_REF_OK;
    }

    if (smart_pointer_segs(path, e, &ne) != 0) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    nf = 0;
    if (from != NULL && smart_pointer_segs(from, f, &nf) != 0) {
        return SMART_POLICY_REF_UNVERIFIED;
    }

    ty = &smart_fhir_types[t];
    worst = SMART_POLICY_REF_OK;

    for (i = 0; (p = smart_ref_path(ty, i)) != NULL; i++) {
        n = smart_split_dots(p, segs, lens);

        /* the move source loses its reference */
        if (from != NULL && strcmp(op, "move") == 0) {
            for (k = 0; k < nf && k < n; k++) {
                if (strlen(f[k]) != lens[k]
                    || memcmp(f[k], segs[k], lens[k]) != 0)
                {
                    break;
                }
            }

            if (k == nf || k == n) {
                return SMART_POLICY_REF_UNVERIFIED;
            }
        }

        for (k = 0; k < ne && k < n; k++) {
            if (strlen(e[k]) != lens[k]
                || memcmp(e[k], segs[k], lens[k]) != 0)
            {
                break;
            }
        }

        touches = (k == ne || k == n);
        if (!touches) {
            continue;
        }

        if (ne == 0 || (strcmp(op, "add") != 0
                        && strcmp(op, "replace") != 0))
        {
            return SMART_POLICY_REF_UNVERIFIED;
        }

        if (value == NULL) {
            return SMART_POLICY_REF_UNVERIFIED;
        }

        if (ne <= n) {
            mine = 0;
            rc = smart_walk_refs(c, value, segs + ne, lens + ne, n - ne, 1,
                                 &mine);

        } else if (ne == n + 1 && strcmp(e[n], "reference") == 0) {
            mine = 0;
            rc = json_is_string(value)
                 ? smart_check_ref_string(c, json_string_value(value),
                                          json_string_length(value), 1, &mine)
                 : SMART_POLICY_REF_UNVERIFIED;

        } else if (ne == n + 1 && strcmp(e[n], "display") == 0) {
            rc = SMART_POLICY_REF_OK;

        } else {
            rc = SMART_POLICY_REF_UNVERIFIED;
        }

        worst = rc > worst ? rc : worst;
    }

    return worst;
}


static int
smart_check_json_patch(smart_policy_ctx_t *c, int t, const json_t *patch)
{
    int            rc, worst;
    size_t         i;
    const json_t  *op, *path, *from;

    worst = SMART_POLICY_REF_OK;

    for (i = 0; i < json_array_size(patch); i++) {
        op = json_array_get(patch, i);
        path = json_object_get(op, "path");
        from = json_object_get(op, "from");

        rc = smart_check_patch_op(c, t,
                 json_string_value(json_object_get(op, "op")),
                 json_string_value(path),
                 json_is_string(from) ? json_string_value(from) : NULL,
                 json_object_get(op, "value"));

        worst = rc > worst ? rc : worst;
    }

    return worst;
}


/* Shape checks that do not depend on scopes; NULL when the body is fine. */
static const char *
smart_body_invalid(const smart_fhir_req_t *req, const json_t *body,
    int body_present)
{
    size_t         i;
    const char    *s;
    const json_t  *id, *op;

    switch (req->interaction) {

    case SMART_FHIR_I_CREATE:
    case SMART_FHIR_I_UPDATE:
        if (!body_present || !json_is_object(body)) {
            return "the body is not a JSON resource";
        }

        if (!smart_resource_type_is(body, req->type_name)) {
            return "the body's resourceType is not the type of the URL";
        }

        id = json_object_get(body, "id");
        if (id != NULL && req->id != NULL
            && (!json_is_string(id)
                || strcmp(json_string_value(id), req->id) != 0))
        {
            return "the body's id is not the id of the URL";
        }

        return NULL;

    case SMART_FHIR_I_PATCH:
        if (!body_present) {
            return "the body is not a JSON Patch or FHIRPath Patch";
        }

        if (json_is_object(body)) {
            if (smart_resource_type_is(body, "Parameters")) {
                return NULL;
            }

            return "the body is not a JSON Patch or FHIRPath Patch";
        }

        if (!json_is_array(body)) {
            return "the body is not a JSON Patch or FHIRPath Patch";
        }

        for (i = 0; i < json_array_size(body); i++) {
            op = json_array_get(body, i);
            s = json_string_value(json_object_get(op, "op"));

            if (!json_is_object(op) || s == NULL
                || !json_is_string(json_object_get(op, "path"))
                || (strcmp(s, "add") != 0 && strcmp(s, "remove") != 0
                    && strcmp(s, "replace") != 0 && strcmp(s, "move") != 0
                    && strcmp(s, "copy") != 0 && strcmp(s, "test") != 0))
            {
                return "a JSON Patch operation is malformed";
            }

            if ((strcmp(s, "move") == 0 || strcmp(s, "copy") == 0)
                && !json_is_string(json_object_get(op, "from")))
            {
                return "a JSON Patch move or copy has no from";
            }
        }

        return NULL;

    default:
        return NULL;
    }
}


/*
 * Conditional criteria that do not limit the write to the patient: with
 * smart_response_check on or all (issue 14) narrowed like a search, with
 * the type's patient parameter, into the query or, for a create, the
 * If-None-Exist header (smart_decision_t.narrow_target); refused as before
 * under smart_response_check off or smart_patient_search deny.  1, or 0
 * with r set to the refusal.
 */
static int
smart_narrow_criteria(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const char *needed_user, smart_policy_res_t *r)
{
    if (c->conf->response_check == SMART_RESPONSE_CHECK_OFF
        || c->conf->patient_search == SMART_PATIENT_SEARCH_DENY)
    {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "the conditional criteria are not limited to the "
                       "patient");
        return 0;
    }

    if (smart_narrow_param(c, req->type, r) != 0) {
        smart_res_deny_narrowing(r, needed_user);
        return 0;
    }

    return 1;
}


/*
 * The record a write under a patient grant acts on: by id the patient's
 * own Patient, another type's record after a pre-read (*pre set); by
 * conditional criteria, criteria limited (or narrowed) to the patient; a
 * plain create names no record.  1, or 0 with r set to the refusal.
 */
static int
smart_patient_write_target(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, const char *needed_user, const char *needed_pt, int *pre,
    smart_policy_res_t *r)
{
    int  pin;

    if (!req->conditional && req->interaction == SMART_FHIR_I_CREATE) {
        return 1;
    }

    if (req->id != NULL) {
        if (req->type != SMART_FHIR_TYPE_PATIENT) {
            *pre = 1;
            return smart_precheck_possible(c, needed_user, r);
        }

        return smart_own_record(c, req->id, req->type, need,
                                "another patient's record", r);
    }

    if (smart_patient_features_denied(req, needed_user, r)) {
        return 0;
    }

    pin = smart_pin_status(c, req, req->type);

    if (pin == SMART_POLICY_PIN_OTHER) {
        smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                       "the criteria name another patient");
        return 0;
    }

    if (pin == SMART_POLICY_PIN_YES) {
        return 1;
    }

    return smart_narrow_criteria(c, req, needed_user, r);
}


/*
 * The compartment references a write under a patient grant puts in the
 * record: those of a created or updated resource, those a JSON Patch
 * writes.  1, or 0 with r set to the refusal.
 */
static int
smart_patient_write_refs(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, const char *needed_user, const char *needed_pt,
    smart_policy_res_t *r)
{
    int  rc;

    rc = SMART_POLICY_REF_OK;

    if (req->interaction == SMART_FHIR_I_CREATE
        || req->interaction == SMART_FHIR_I_UPDATE)
    {
        rc = smart_check_resource_refs(c, req->type, body);

    } else if (req->interaction == SMART_FHIR_I_PATCH) {
        if (!json_is_array(body)) {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                           "FHIRPath Patch is not allowed under patient "
                           "scopes");
            return 0;
        }

        rc = smart_check_json_patch(c, req->type, body);
    }

    if (rc == SMART_POLICY_REF_MISMATCH) {
        smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                       "a compartment reference points to another patient");
        return 0;
    }

    if (rc == SMART_POLICY_REF_UNVERIFIED) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "a compartment reference cannot be tied to the patient");
        return 0;
    }

    return 1;
}


/* A write granted by the unrestricted patient scope sc (docs/scopes.md,
   "Patient scopes", "Writes"). */
static void
smart_patient_write(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, const json_t *body, const smart_scope_t *sc,
    smart_policy_res_t *r)
{
    int    t, pre;
    char   needed_user[SMART_POLICY_NEEDED_MAX];
    char   needed_pt[SMART_POLICY_NEEDED_MAX];

    t = req->type;
    pre = 0;
    smart_fmt_usable(c, needed_user, SMART_SCOPE_USER, t, need);
    smart_fmt_needed(needed_pt, SMART_SCOPE_PATIENT, t, need);

    if (!smart_in_compartment(t)) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "types outside the patient compartment are never "
                       "written under patient scopes");
        return;
    }

    if (smart_unprovable_denied(c, t, need, r)) {
        return;
    }

    if (req->create_query) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a create's URL query is not criteria (only "
                       "If-None-Exist is); refused under patient scopes");
        return;
    }

    if (!smart_params_recognised(req, r)) {
        return;
    }

    if (t == SMART_FHIR_TYPE_PATIENT
        && (req->interaction == SMART_FHIR_I_CREATE
            || req->interaction == SMART_FHIR_I_DELETE))
    {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "creating or deleting a Patient is not allowed under "
                       "patient scopes");
        return;
    }

    if (!smart_patient_write_target(c, req, need, needed_user, needed_pt,
                                    &pre, r)
        || !smart_patient_write_refs(c, req, body, needed_user, needed_pt, r))
    {
        return;
    }

    if (pre) {
        smart_res_allow_prechecked(c, req, body, sc, r);
    } else {
        smart_res_allow(r, sc, r->nparams ? "the criteria narrowed to the "
                                            "patient"
                                          : "limited to the patient");
    }
}


void
smart_decide_write(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, smart_policy_res_t *best)
{
    int                    t;
    unsigned               need;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const char            *bad;
    const smart_scope_t   *sc;

    t = req->type;
    need = smart_need_letters(req->interaction);
    smart_res_init(&r);

    bad = smart_body_invalid(req, body, body_present);
    if (bad != NULL) {
        smart_res_deny(&r, SMART_ERR_REQUEST_INVALID, NULL, bad);
        smart_res_offer(best, &r);
        return;
    }

    sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, need);
    if (sc != NULL) {
        /* conditional criteria answer (by 200/201/412, by what they
           delete) what a search would: the same reach rule */
        smart_fmt_needed(needed, sc->context, t, need);
        if (!req->conditional || smart_reaches_ok(c, req, t, needed, &r)) {
            smart_res_allow(&r, sc, "allowed by type");
        }
        smart_res_offer(best, &r);
        return;
    }

    sc = smart_grant_patient(c, t, need);
    if (sc != NULL) {
        smart_patient_write(c, req, need, body, sc, &r);
        smart_res_offer(best, &r);
    }

    smart_offer_granular_refusal(c, t, need,
                                 "granular scopes do not grant writes", best);
    smart_offer_context_missing(c, t, need, best);
}
