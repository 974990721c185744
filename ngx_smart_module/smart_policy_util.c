
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the helpers every path of the decision
 * shares.  The growing buffer of a query string; the result of one path
 * and how the best of several is chosen (smart_policy.c); the letters an
 * interaction needs and the "needed" scope text; the refusals several
 * paths share (a type no parameter ties to the patient, another patient's
 * id in the URL); grants, the one patient-context-missing rule and what
 * granular scopes do not grant; the patient compartment: which types hold
 * patients' data, which parameters tie a type to the patient, and the
 * narrowing that does (docs/scopes.md, "How a request is decided",
 * "Patient scopes", "Patient data outside the compartment", "Patient
 * parameters and their values", "Granular scopes in decisions",
 * "Narrowing").
 *
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smart_policy_private.h"


/* --- small helpers ------------------------------------------------------ */

void
smart_sb_add(smart_policy_sbuf_t *sb, const char *s, size_t n)
{
    char    *p;
    size_t   cap;

    if (sb->nomem) {
        return;
    }

    if (sb->len + n + 1 > sb->cap) {
        cap = sb->cap ? sb->cap : 64;

        while (cap < sb->len + n + 1) {
            cap *= 2;
        }

        p = realloc(sb->p, cap);
        if (p == NULL) {
            sb->nomem = 1;
            return;
        }

        sb->p = p;
        sb->cap = cap;
    }

    if (n > 0) {
        memcpy(sb->p + sb->len, s, n);
    }

    sb->len += n;
    sb->p[sb->len] = '\0';
}


void
smart_sb_adds(smart_policy_sbuf_t *sb, const char *s)
{
    smart_sb_add(sb, s, strlen(s));
}


/*
 * Query-string encoding of one search value piece: unreserved bytes and
 * '/' ':' stay, everything else (',' '\' '|' '&' '+' included) is %XX, so
 * the piece decodes back to itself and never splits or joins a value.
 */
void
smart_sb_add_encoded(smart_policy_sbuf_t *sb, const char *s, size_t n)
{
    size_t          i;
    char            hex[4];
    unsigned char   ch;

    for (i = 0; i < n; i++) {
        ch = (unsigned char) s[i];

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
            || ch == '_' || ch == '~' || ch == '/' || ch == ':')
        {
            smart_sb_add(sb, (const char *) &s[i], 1);
            continue;
        }

        snprintf(hex, sizeof(hex), "%%%02X", ch);
        smart_sb_add(sb, hex, 3);
    }
}


char *
smart_dupn(const char *s, size_t n)
{
    char  *d;

    d = malloc(n + 1);
    if (d == NULL) {
        return NULL;
    }

    memcpy(d, s, n);
    d[n] = '\0';

    return d;
}


void
smart_res_init(smart_policy_res_t *r)
{
    /*
     * Field by field: a result is made several times per decision, and
     * clearing its 32 parameter slots each time showed in the profile.
     * params[] beyond nparams and needed[] past its NUL are never read.
     */

    r->verdict = SMART_POLICY_V_DENY;
    r->reason = SMART_ERR_SCOPE_INSUFFICIENT;
    r->needed[0] = '\0';
    r->granted = NULL;
    r->why = NULL;
    r->nparams = 0;
    r->empty = 1;
    r->check = 0;
    r->restricted = 0;
    r->precheck = 0;
}


void
smart_res_clear_params(smart_policy_res_t *r)
{
    size_t  i;

    for (i = 0; i < r->nparams; i++) {
        free(r->params[i].name);
        free(r->params[i].value);
    }

    r->nparams = 0;
}


void
smart_res_deny(smart_policy_res_t *r, smart_err_e reason, const char *needed,
    const char *why)
{
    smart_res_clear_params(r);
    r->verdict = SMART_POLICY_V_DENY;
    r->reason = reason;
    r->granted = NULL;
    r->why = why;
    r->empty = 0;
    r->restricted = 0;
    if (needed != r->needed) {
        snprintf(r->needed, sizeof(r->needed), "%s", needed ? needed : "");
    }
}


/* The one refusal of a narrowing that cannot be expressed. */
void
smart_res_deny_narrowing(smart_policy_res_t *r, const char *needed)
{
    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                   "the narrowing cannot be expressed");
}


void
smart_res_allow(smart_policy_res_t *r, const smart_scope_t *granted,
    const char *why)
{
    r->verdict = (r->nparams > 0) ? SMART_POLICY_V_NARROW
                                  : SMART_POLICY_V_ALLOW;
    r->granted = granted;
    r->why = why;
    r->empty = 0;
    r->needed[0] = '\0';
    r->check = 0;
    r->restricted = 0;
    r->precheck = 0;
}


/* Allows on condition of the response (smart_response_check()). */
void
smart_res_allow_checked(smart_policy_res_t *r, const smart_scope_t *granted,
    const char *why)
{
    smart_res_allow(r, granted, why);
    r->check = 1;
}


/*
 * An allowance that also depends on the response when check is 1 (an
 * include left to the response check): r->check set, unless r is a
 * refusal.
 */
void
smart_res_also_checked(smart_policy_res_t *r, int check)
{
    if (check && r->verdict != SMART_POLICY_V_DENY) {
        r->check = 1;
        r->why = (r->verdict == SMART_POLICY_V_NARROW)
                 ? "narrowed to the patient; included resources checked on "
                   "the response"
                 : "limited to the patient; included resources checked on "
                   "the response";
    }
}


/*
 * The check argument of smart_includes_ok() under a patient grant, *check
 * cleared: NULL under smart_response_check off, which leaves nothing to
 * the response.
 */
int *
smart_checkable(smart_policy_ctx_t *c, int *check)
{
    *check = 0;

    return (c->conf->response_check != SMART_RESPONSE_CHECK_OFF) ? check
                                                                 : NULL;
}


/* Appends name=value (value already query-encoded); 0, or -1 when full. */
int
smart_res_add_param(smart_policy_ctx_t *c, smart_policy_res_t *r,
    const char *name, const char *value, size_t value_len)
{
    char  *n, *v;

    if (r->nparams == SMART_POLICY_MAX_NARROW) {
        return -1;
    }

    n = smart_dupn(name, strlen(name));
    v = smart_dupn(value, value_len);

    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        c->nomem = 1;
        return -1;
    }

    r->params[r->nparams].name = n;
    r->params[r->nparams].value = v;
    r->nparams++;

    return 0;
}


static int
smart_deny_rank(smart_err_e e)
{
    switch (e) {
    case SMART_ERR_PATIENT_MISMATCH:
        return 4;
    case SMART_ERR_PATIENT_CONTEXT_MISSING:
        return 3;
    case SMART_ERR_REQUEST_INVALID:
        return 2;
    default:
        return 1;
    }
}


/* best takes cand when cand is better; cand is always left empty. */
void
smart_res_offer(smart_policy_res_t *best, smart_policy_res_t *cand)
{
    int  better;

    if (cand->empty) {
        return;
    }

    if (best->empty) {
        better = 1;

    } else if (cand->verdict != best->verdict) {
        better = cand->verdict > best->verdict;

    } else if (cand->verdict == SMART_POLICY_V_DENY) {
        better = smart_deny_rank(cand->reason) > smart_deny_rank(best->reason);

    } else if (cand->verdict == SMART_POLICY_V_ALLOW) {
        /* an allow the request proves beats one the response or a
           pre-read must */
        better = (best->check || best->precheck)
                 && !cand->check && !cand->precheck;

    } else {
        better = 0;
    }

    if (better) {
        smart_res_clear_params(best);
        memcpy(best, cand, sizeof(smart_policy_res_t));
        cand->nparams = 0;

    } else {
        smart_res_clear_params(cand);
    }

    smart_res_init(cand);
}


static const char *
smart_type_name(int t)
{
    if (t < 0 || t >= SMART_FHIR_NTYPES) {
        return "*";
    }

    return smart_fhir_types[t].name;
}


/*
 * Does type t hold patients' data?  The R4 patient compartment, and the
 * types outside it that the generated tables mark (Device, Task, Binary,
 * ...: docs/scopes.md, "Patient data outside the compartment").  Under a
 * patient grant they are all limited, narrowed and checked alike; a type
 * with no parameter tying it to a patient cannot be limited, so it is
 * refused.
 */
int
smart_in_compartment(int t)
{
    return t >= 0 && t < SMART_FHIR_NTYPES
           && smart_fhir_types[t].patient_data != SMART_FHIR_PD_NONE;
}


/*
 * Is t tied to its patient only by a reference to any resource, or does it
 * hold resources of any type (Binary, Bundle, MessageHeader, ...)?  No
 * request parameter can limit it to the patient; only the response could
 * prove it the patient's (issue 14), so patient grants refuse it.
 */
static int
smart_unprovable(int t)
{
    return t >= 0 && t < SMART_FHIR_NTYPES
           && smart_fhir_types[t].patient_data == SMART_FHIR_PD_ANY_REF;
}


/*
 * The one refusal of a type smart_unprovable() under a patient grant: 1
 * with r set to it, else 0 and r untouched.
 */
int
smart_unprovable_denied(smart_policy_ctx_t *c, int t, unsigned need,
    smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (!smart_unprovable(t)) {
        return 0;
    }

    smart_fmt_usable(c, needed, SMART_SCOPE_USER, t, need);
    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                   "the type may hold any patient's data (it references or "
                   "holds any resource) and cannot be limited to the "
                   "patient");

    return 1;
}


/* Appends s to buf[0..*n) within SMART_POLICY_NEEDED_MAX - 1 bytes. */
static void
smart_needed_put(char *buf, size_t *n, const char *s)
{
    size_t  len;

    len = strlen(s);

    if (len > SMART_POLICY_NEEDED_MAX - 1 - *n) {
        len = SMART_POLICY_NEEDED_MAX - 1 - *n;
    }

    memcpy(buf + *n, s, len);
    *n += len;
}


/* "context/Type.letters", cut as snprintf() would cut it; every request. */
void
smart_fmt_needed(char *buf, unsigned ctx, int t, unsigned letters)
{
    size_t       n;
    const char  *l, *cn;

    l = smart_scope_perm_string(letters & SMART_SCOPE_CRUDS);
    cn = smart_scope_context_name((smart_scope_context_e) ctx);

    n = 0;
    smart_needed_put(buf, &n, cn ? cn : "user");
    smart_needed_put(buf, &n, "/");
    smart_needed_put(buf, &n, smart_type_name(t));
    smart_needed_put(buf, &n, ".");
    smart_needed_put(buf, &n, l ? l : "");
    buf[n] = '\0';
}


/*
 * smart_fmt_needed(), but "" for a user/ or system/ scope when the token
 * has patient scopes only: an app launched for a patient can never get
 * one, so a challenge naming it would only mislead (issue 14).  The
 * refusals of a patient grant that no patient scope would lift (a search
 * that cannot be limited, a write that cannot be verified) name it.
 */
void
smart_fmt_usable(smart_policy_ctx_t *c, char *buf, unsigned ctx, int t,
    unsigned letters)
{
    if (ctx != SMART_SCOPE_PATIENT && c->set != NULL
        && c->set->has_patient_scopes && !c->set->has_user_scopes
        && !c->set->has_system_scopes)
    {
        buf[0] = '\0';
        return;
    }

    smart_fmt_needed(buf, ctx, t, letters);
}


/*
 * The letters an interaction needs (docs/scopes.md, "How a request is
 * decided"): r to read by id, c, u and d to write, s for the rest.
 */
unsigned
smart_need_letters(smart_fhir_interaction_e i)
{
    switch (i) {

    case SMART_FHIR_I_READ:
    case SMART_FHIR_I_VREAD:
    case SMART_FHIR_I_HISTORY_INSTANCE:
        return SMART_SCOPE_R;

    case SMART_FHIR_I_CREATE:
        return SMART_SCOPE_C;

    case SMART_FHIR_I_UPDATE:
    case SMART_FHIR_I_PATCH:
        return SMART_SCOPE_U;

    case SMART_FHIR_I_DELETE:
        return SMART_SCOPE_D;

    default:
        return SMART_SCOPE_S;
    }
}


/* The context a refusal names when no scope of the right kind exists. */
unsigned
smart_guess_ctx(smart_policy_ctx_t *c)
{
    if (c->set != NULL) {
        if (c->set->has_patient_scopes) {
            return SMART_SCOPE_PATIENT;
        }

        if (c->set->has_user_scopes) {
            return SMART_SCOPE_USER;
        }

        if (c->set->has_system_scopes) {
            return SMART_SCOPE_SYSTEM;
        }
    }

    return c->patient ? SMART_SCOPE_PATIENT : SMART_SCOPE_USER;
}


int
smart_is_patient_id(smart_policy_ctx_t *c, const char *s, size_t n)
{
    return c->patient != NULL && n == c->patient_len
           && memcmp(s, c->patient, n) == 0;
}


/* smart_is_patient_id() of a NUL-terminated id (of the URL). */
int
smart_is_patient(smart_policy_ctx_t *c, const char *id)
{
    return smart_is_patient_id(c, id, strlen(id));
}


/*
 * The one patient-mismatch rule of a patient id in the URL (Patient/id,
 * Patient/id/T): 1 when id is the patient's, else 0 with r set to the
 * refusal why, which names patient/T.need.
 */
int
smart_own_record(smart_policy_ctx_t *c, const char *id, int t, unsigned need,
    const char *why, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (smart_is_patient(c, id)) {
        return 1;
    }

    smart_fmt_needed(needed, SMART_SCOPE_PATIENT, t, need);
    smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed, why);

    return 0;
}


/* 1 when res is a JSON object whose resourceType is the string name. */
int
smart_resource_type_is(const json_t *res, const char *name)
{
    const json_t  *rt;

    rt = json_object_get(res, "resourceType");

    return json_is_string(rt) && strcmp(json_string_value(rt), name) == 0;
}


/* 1 when s is one of list[0..n) (SMART_POLICY_IN_LIST()). */
int
smart_in_list(const char *const *list, size_t n, const char *s)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return 1;
        }
    }

    return 0;
}


/* --- grants ------------------------------------------------------------- */

/* The scopes of ctx granting need on t, in set order, into m[]. */
static size_t
smart_grant_match(smart_policy_ctx_t *c, unsigned ctx, int t, unsigned need,
    const smart_scope_t **m)
{
    size_t       n;
    const char  *tn;

    tn = smart_type_name(t);
    n = smart_scope_match(c->set, ctx, tn, strlen(tn), need, m,
                          SMART_SCOPE_MAX_SCOPES);
    if (n > SMART_SCOPE_MAX_SCOPES) {
        n = SMART_SCOPE_MAX_SCOPES;
    }

    return n;
}


/* First scope without granular restrictions granting need on t. */
const smart_scope_t *
smart_grant_full(smart_policy_ctx_t *c, unsigned ctx, int t, unsigned need)
{
    size_t                i, n;
    const smart_scope_t  *m[SMART_SCOPE_MAX_SCOPES];

    if (c->set == NULL || ctx == 0) {
        return NULL;
    }

    n = smart_grant_match(c, ctx, t, need, m);

    for (i = 0; i < n; i++) {
        if (m[i]->nparams == 0) {
            return m[i];
        }
    }

    return NULL;
}


/* Granular scopes granting need on t, in set order. */
size_t
smart_grant_granular(smart_policy_ctx_t *c, unsigned ctx, int t, unsigned need,
    const smart_scope_t **out)
{
    size_t                i, n, k;
    const smart_scope_t  *m[SMART_SCOPE_MAX_SCOPES];

    if (c->set == NULL || ctx == 0 || t < 0) {
        return 0;
    }

    n = smart_grant_match(c, ctx, t, need, m);

    for (i = 0, k = 0; i < n; i++) {
        if (m[i]->nparams > 0) {
            out[k++] = m[i];
        }
    }

    return k;
}


/* The first unrestricted patient scope granting need on t, only when the
   token has a patient claim. */
const smart_scope_t *
smart_grant_patient(smart_policy_ctx_t *c, int t, unsigned need)
{
    if (c->patient == NULL) {
        return NULL;
    }

    return smart_grant_full(c, SMART_SCOPE_PATIENT, t, need);
}


static int
smart_any_patient_scope(smart_policy_ctx_t *c, int t, unsigned need)
{
    const char  *tn;

    if (c->set == NULL) {
        return 0;
    }

    tn = smart_type_name(t);

    return smart_scope_match(c->set, SMART_SCOPE_PATIENT, tn, strlen(tn),
                             need, NULL, 0) > 0;
}


/*
 * The one "patient-context-missing" rule: a patient scope would grant need
 * on t, but the token has no (valid) patient claim.  1 with r set to that
 * refusal, else 0 and r untouched.
 */
int
smart_context_missing(smart_policy_ctx_t *c, int t, unsigned need,
    const char *why, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (c->patient != NULL || !smart_any_patient_scope(c, t, need)) {
        return 0;
    }

    smart_fmt_needed(needed, SMART_SCOPE_PATIENT, t, need);
    if (why == NULL) {
        why = "a patient scope would allow it, but the token has no patient "
              "context";
    }

    smart_res_deny(r, SMART_ERR_PATIENT_CONTEXT_MISSING, needed, why);

    return 1;
}


/* smart_context_missing() as one more path of the decision best. */
void
smart_offer_context_missing(smart_policy_ctx_t *c, int t, unsigned need,
    smart_policy_res_t *best)
{
    smart_policy_res_t  r;

    smart_res_init(&r);

    if (smart_context_missing(c, t, need, NULL, &r)) {
        smart_res_offer(best, &r);
    }
}


/*
 * What granular scopes grant only searches of (reads by id, history,
 * writes): a granular scope granting need on t, a patient one only with a
 * patient claim, offers best the refusal why.
 */
void
smart_offer_granular_refusal(smart_policy_ctx_t *c, int t, unsigned need,
    const char *why, smart_policy_res_t *best)
{
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t   *g[SMART_SCOPE_MAX_SCOPES];

    if ((c->patient != NULL
         && smart_grant_granular(c, SMART_SCOPE_PATIENT, t, need, g) > 0)
        || smart_grant_granular(c, SMART_POLICY_CTX_US, t, need, g) > 0)
    {
        smart_res_init(&r);
        smart_fmt_needed(needed, g[0]->context, t, need);
        smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed, why);
        smart_res_offer(best, &r);
    }
}


/* --- the patient compartment -------------------------------------------- */

/*
 * Does pa select what the request acts on?  A create's criteria are its
 * If-None-Exist alone: servers never read the URL query of a create.
 */
int
smart_is_criteria(const smart_fhir_req_t *req, const smart_fhir_param_t *pa)
{
    if (req->interaction == SMART_FHIR_I_CREATE) {
        return pa->source == SMART_FHIR_SRC_IF_NONE_EXIST;
    }

    return pa->source != SMART_FHIR_SRC_IF_NONE_EXIST;
}


static int
smart_targets_only_patient(const char *const *targets, size_t n)
{
    return n == 1 && strcmp(targets[0], "Patient") == 0;
}


/*
 * Is name a parameter that ties type t to a patient?  The compartment
 * parameters of t, and "patient" when it is a reference parameter of t
 * that can only point to a Patient.  *exclusive: the parameter can only
 * hold Patient references, so a bare id means Patient/id.
 */
int
smart_patient_param(int t, const char *name, int *exclusive)
{
    const smart_fhir_cparam_t    *cp;
    const smart_fhir_refparam_t  *rp;

    cp = smart_fhir_compartment_param(t, name, strlen(name));
    if (cp != NULL) {
        *exclusive = smart_targets_only_patient(cp->targets, cp->ntargets);
        return 1;
    }

    if (strcmp(name, "patient") == 0) {
        rp = smart_fhir_reference_param(t, name, strlen(name));
        if (rp != NULL
            && smart_targets_only_patient(rp->targets, rp->ntargets))
        {
            *exclusive = 1;
            return 1;
        }
    }

    /*
     * "subject" when the compartment parameter "patient" of t is the
     * element subject (Condition, Encounter, ...): the same element, so
     * subject=Patient/P is patient=P.  Its other targets (Group) make a
     * bare id ambiguous.
     */
    if (strcmp(name, "subject") == 0) {
        cp = smart_fhir_compartment_param(t, "patient", 7);
        rp = smart_fhir_reference_param(t, name, strlen(name));

        if (cp != NULL && rp != NULL && cp->npaths == 1
            && strcmp(cp->paths[0].element, "subject") == 0)
        {
            *exclusive = smart_targets_only_patient(rp->targets, rp->ntargets);
            return 1;
        }
    }

    return 0;
}


/*
 * One search value piece of a patient parameter: SMART_POLICY_PIN_YES, _NO
 * or _OTHER.
 */
static int
smart_pin_piece(smart_policy_ctx_t *c, const char *v, int exclusive)
{
    size_t  n;

    n = strlen(v);

    if (n > 8 && memcmp(v, "Patient/", 8) == 0) {
        return smart_is_patient_id(c, v + 8, n - 8) ? SMART_POLICY_PIN_YES
                                                    : SMART_POLICY_PIN_OTHER;
    }

    if (n == 8 && memcmp(v, "Patient/", 8) == 0) {
        return SMART_POLICY_PIN_OTHER;
    }

    if (strchr(v, '/') != NULL || !exclusive) {
        /* another type, an absolute URL, or a bare id that could name a
           Group or a Device: limits nothing, names no patient */
        return SMART_POLICY_PIN_NO;
    }

    return smart_is_patient_id(c, v, n) ? SMART_POLICY_PIN_YES
                                        : SMART_POLICY_PIN_OTHER;
}


/*
 * How the parameters of req limit type t to the patient: SMART_POLICY_PIN_NA
 * outside the compartment, SMART_POLICY_PIN_OTHER when any patient
 * parameter value names someone else, SMART_POLICY_PIN_YES when one such
 * parameter has only the patient.
 * Patient itself is limited by _id.
 */
int
smart_pin_status(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t)
{
    int                        st, excl, pinned, all, p;
    size_t                     i, j;
    const smart_fhir_param_t  *pa;

    if (!smart_in_compartment(t)) {
        return SMART_POLICY_PIN_NA;
    }

    pinned = 0;

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        if (pa->chain != NULL || !smart_is_criteria(req, pa)) {
            continue;
        }

        if (t == SMART_FHIR_TYPE_PATIENT) {
            if (strcmp(pa->name, "_id") != 0 || pa->modifier != NULL) {
                continue;
            }
            excl = 1;

        } else {
            if (!smart_patient_param(t, pa->name, &excl)) {
                continue;
            }

            if (pa->modifier != NULL) {
                if (strcmp(pa->modifier, "Patient") != 0) {
                    continue;
                }
                excl = 1;
            }
        }

        all = 1;

        for (j = 0; j < pa->nvalues; j++) {
            p = smart_pin_piece(c, pa->values[j], excl);

            if (p == SMART_POLICY_PIN_OTHER) {
                return SMART_POLICY_PIN_OTHER;
            }

            if (p != SMART_POLICY_PIN_YES) {
                all = 0;
            }
        }

        if (all) {
            pinned = 1;
        }
    }

    st = pinned ? SMART_POLICY_PIN_YES : SMART_POLICY_PIN_NO;

    return st;
}


/*
 * The narrowing parameter for t: _id for Patient, else "patient", then
 * "subject", else the first compartment parameter.  The value is the bare
 * id when the parameter holds only Patient references, else Patient/id.
 */
int
smart_narrow_param(smart_policy_ctx_t *c, int t, smart_policy_res_t *r)
{
    int                          excl;
    const char                  *name;
    smart_policy_sbuf_t          sb;
    const smart_fhir_type_t     *ty;

    ty = &smart_fhir_types[t];
    excl = 1;

    if (t == SMART_FHIR_TYPE_PATIENT) {
        name = "_id";

    } else if (smart_patient_param(t, "patient", &excl)) {
        name = "patient";

    } else if (smart_patient_param(t, "subject", &excl)) {
        name = "subject";

    } else if (ty->ncparams > 0) {
        name = ty->cparams[0].name;
        excl = smart_targets_only_patient(ty->cparams[0].targets,
                                          ty->cparams[0].ntargets);

    } else {
        return -1;
    }

    memset(&sb, 0, sizeof(smart_policy_sbuf_t));

    if (!excl) {
        smart_sb_adds(&sb, "Patient/");
    }

    smart_sb_add_encoded(&sb, c->patient, c->patient_len);

    if (sb.nomem) {
        free(sb.p);
        c->nomem = 1;
        return -1;
    }

    if (smart_res_add_param(c, r, name, sb.p, sb.len) != 0) {
        free(sb.p);
        return -1;
    }

    free(sb.p);

    return 0;
}


/*
 * jansson's json_loadb() as the policy reads a body, with one rule more:
 * text holding a NUL byte is not JSON.  jansson 2.14 skips a NUL after a
 * number or a literal ("[1\0,2]" reads as [1,2]) where other parsers
 * refuse the text or stop there, so a FHIR server could read such a body
 * differently from the gateway (docs/security.md; the response check's
 * parser, smart_tape.h, refuses it too).
 */
json_t *
smart_policy_json_load(const char *p, size_t len)
{
    if (p == NULL || memchr(p, '\0', len) != NULL) {
        return NULL;
    }

    return json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
}
