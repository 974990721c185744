
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: searches.  The parameters the gateway
 * recognises (docs/security.md, "Parsing differentials"), chains and _has,
 * and the decision of type, compartment and system searches under every
 * kind of grant (docs/scopes.md, "Patient scopes", "User scopes",
 * "Narrowing"), and the paging links of servers that page by an opaque id
 * ("Checked on the response"); _include and _revinclude are decided by
 * smart_policy_include.c, granular restrictions by smart_policy_granular.c.
 *
 * Plain C99: no NGINX headers, no global mutable state.
 */

#include <string.h>

#include "smart_policy_private.h"


#define SMART_POLICY_MAX_CHAIN_DEPTH 4  /* levels of a chain or nested _has */


/* --- recognised parameters ---------------------------------------------- */

/*
 * Under patient and granular grants every parameter must be one the
 * gateway recognises for the request (docs/security.md, "Parsing
 * differentials"): a SearchParameter R4 defines on the type (generated
 * table), a parameter R4 search.html defines for all searches, or, on reads
 * and history, a parameter that shapes the answer.  What a server makes of
 * anything else (an extension, a typo it tolerates, a named query) is not
 * what the gateway decided.
 */

/*
 * "_offset" is the paging parameter of servers whose next links repeat the
 * whole query with an offset (the sandbox server, Medplum): it pages the
 * same, re-evaluated search.  Opaque paging tokens (HAPI's "_getpages",
 * continuation tokens) name a search stored on the server, which the
 * request does not show, so they are not recognised here; a HAPI paging
 * link on its own is decided by smart_decide_paging(), on condition of the
 * response.
 */
static const char *const  smart_policy_result_params[] = {
    "_contained", "_containedType", "_count", "_elements", "_format",
    "_has", "_include", "_list", "_offset", "_pretty", "_revinclude",
    "_sort", "_summary", "_total"
};

static const char *const  smart_policy_read_params[] = {
    "_elements", "_format", "_pretty", "_summary"
};

static const char *const  smart_policy_history_params[] = {
    "_at", "_count", "_elements", "_format", "_list", "_pretty", "_since",
    "_summary"
};

static const char *const  smart_policy_modifiers[] = {
    "above", "below", "contains", "exact", "identifier", "in", "missing",
    "not", "not-in", "of-type", "text"
};


/* A search modifier of R4, or a resource type (":Patient"). */
static int
smart_modifier_known(const char *mod)
{
    return SMART_POLICY_IN_LIST(smart_policy_modifiers, mod)
           || smart_fhir_type_index(mod, strlen(mod)) >= 0;
}


/* Is pa's code defined where req searches? */
static int
smart_search_param_defined(const smart_fhir_req_t *req, const char *name)
{
    size_t  i, n;

    n = strlen(name);

    if (req->interaction == SMART_FHIR_I_SEARCH_SYSTEM) {
        if (req->ntypes == 0) {
            return smart_fhir_param_defined(-1, name, n);
        }

        for (i = 0; i < req->ntypes; i++) {
            if (smart_fhir_param_defined(req->types[i], name, n)) {
                return 1;
            }
        }

        return 0;
    }

    return smart_fhir_param_defined(req->compartment_all ? -1 : req->type,
                                    name, n);
}


static int
smart_param_recognised(const smart_fhir_req_t *req,
    const smart_fhir_param_t *pa)
{
    switch (req->interaction) {

    case SMART_FHIR_I_READ:
    case SMART_FHIR_I_VREAD:
        return pa->modifier == NULL && pa->chain == NULL
               && SMART_POLICY_IN_LIST(smart_policy_read_params, pa->name);

    case SMART_FHIR_I_HISTORY_INSTANCE:
    case SMART_FHIR_I_HISTORY_TYPE:
    case SMART_FHIR_I_HISTORY_SYSTEM:
        return pa->modifier == NULL && pa->chain == NULL
               && SMART_POLICY_IN_LIST(smart_policy_history_params, pa->name);

    default:
        break;
    }

    switch (pa->kind) {

    case SMART_FHIR_P_TYPE:
        return req->interaction == SMART_FHIR_I_SEARCH_SYSTEM
               || req->compartment_all;

    case SMART_FHIR_P_FILTER:
    case SMART_FHIR_P_QUERY:
        /* expressions and server-defined queries: nothing to recognise */
        return 0;

    case SMART_FHIR_P_CONTAINED:
        /* contained resources come back with their containers, of any
           type: nothing limits them to the patient or the restriction */
        return 0;

    case SMART_FHIR_P_NORMAL:
        break;

    default:
        /* _include, _revinclude, _has, _list: checked by their own rules */
        return 1;
    }

    if (pa->modifier != NULL && !smart_modifier_known(pa->modifier)) {
        return 0;
    }

    return SMART_POLICY_IN_LIST(smart_policy_result_params, pa->name)
           || smart_search_param_defined(req, pa->name);
}


/*
 * Can a granular restriction "name[:modifier]" be appended as a narrowing?
 * Only when the gateway would recognise it in the request: a narrowed
 * request must be allowed as it stands when decided again, and an
 * unrecognised parameter is refused under granular scopes.
 */
int
smart_restriction_recognised(const smart_fhir_req_t *req, const char *name)
{
    char         base[SMART_FHIR_MAX_NAME + 1];
    size_t       n;
    const char  *mod;

    n = strcspn(name, ":");
    if (n >= sizeof(base)) {
        return 0;
    }

    memcpy(base, name, n);
    base[n] = '\0';
    mod = (name[n] == ':') ? name + n + 1 : NULL;

    if (mod != NULL && !smart_modifier_known(mod)) {
        return 0;
    }

    return strcmp(base, "_list") == 0 || smart_search_param_defined(req, base);
}


/* 1 when every parameter (every criteria parameter of a write) is
   recognised, else 0 with r set to the refusal. */
int
smart_params_recognised(const smart_fhir_req_t *req, smart_policy_res_t *r)
{
    size_t                     i;
    const smart_fhir_param_t  *pa;

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        if (req->interaction == SMART_FHIR_I_CREATE
            || req->interaction == SMART_FHIR_I_UPDATE
            || req->interaction == SMART_FHIR_I_PATCH
            || req->interaction == SMART_FHIR_I_DELETE)
        {
            if (!smart_is_criteria(req, pa)) {
                continue;
            }

            /* criteria select; _include, _has, _type and the result
               parameters do not */
            if (pa->kind != SMART_FHIR_P_NORMAL
                || (SMART_POLICY_IN_LIST(smart_policy_result_params, pa->name)
                    && strcmp(pa->name, "_format") != 0
                    && strcmp(pa->name, "_pretty") != 0))
            {
                break;
            }
        }

        if (!smart_param_recognised(req, pa)) {
            break;
        }
    }

    if (i == req->nparams) {
        return 1;
    }

    smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                   "a parameter the gateway does not recognise for this "
                   "request (not an R4 search parameter of the type, or an "
                   "unknown modifier): refused under patient and granular "
                   "scopes");

    return 0;
}



/* --- chains and _has ---------------------------------------------------- */

/* The reach rule: an unrestricted user or system scope searches t. */
static int
smart_us_searchable(smart_policy_ctx_t *c, int t)
{
    return smart_grant_full(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S) != NULL;
}


/*
 * Every type a chain ("subject:Patient.name", "subject.organization.name")
 * or a reverse chain ("_has:Observation:patient:code", nested) starting at
 * type t can reach must be searchable under an unrestricted user or system
 * grant: otherwise the search answers, by what it returns, questions about
 * data the token may not read (existence probes), granular restrictions
 * included.  spec is the decoded parameter name.  1 when every reached
 * type is allowed.  A scope on every type is checked once, by the caller.
 */
static int
smart_reach_ok(smart_policy_ctx_t *c, int t, const char *spec, int depth)
{
    int                           tt, mt;
    size_t                        k, seg, nlen;
    const char                   *colon, *dot, *rest;
    const smart_fhir_refparam_t  *rp;

    if (depth > SMART_POLICY_MAX_CHAIN_DEPTH) {
        return 0;
    }

    if (strncmp(spec, "_has:", 5) == 0) {
        spec += 5;
        seg = strcspn(spec, ":");
        tt = smart_fhir_type_index(spec, seg);

        if (tt < 0 || spec[seg] != ':' || !smart_us_searchable(c, tt)) {
            return 0;
        }

        rest = spec + seg + 1;
        seg = strcspn(rest, ":");

        if (rest[seg] != ':') {
            return 0;
        }

        return smart_reach_ok(c, tt, rest + seg + 1, depth + 1);
    }

    dot = strchr(spec, '.');
    if (dot == NULL) {
        return 1;                   /* a parameter of t itself */
    }

    seg = (size_t) (dot - spec);
    colon = memchr(spec, ':', seg);
    nlen = colon ? (size_t) (colon - spec) : seg;
    mt = colon ? smart_fhir_type_index(colon + 1,
                                       (size_t) (dot - colon - 1))
               : -1;

    if (mt >= 0) {
        return smart_us_searchable(c, mt)
               && smart_reach_ok(c, mt, dot + 1, depth + 1);
    }

    rp = (t >= 0) ? smart_fhir_reference_param(t, spec, nlen) : NULL;
    if (rp == NULL || rp->ntargets == 0) {
        return 0;                   /* not a reference of t, or any type */
    }

    for (k = 0; k < rp->ntargets; k++) {
        tt = smart_fhir_type_index(rp->targets[k], strlen(rp->targets[k]));

        if (tt < 0 || !smart_us_searchable(c, tt)
            || !smart_reach_ok(c, tt, dot + 1, depth + 1))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * smart_reach_ok() for every chain and _has of req on type t, and
 * "_containedType=container", which returns the resources (of any type)
 * that contain the matches: 1 when fine, else 0 with r set to the refusal.
 */
int
smart_reaches_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t,
    const char *needed, smart_policy_res_t *r)
{
    size_t                     i;
    const smart_fhir_param_t  *pa;

    /* a scope on every type reaches everything */
    if ((req->features & (SMART_FHIR_F_CHAIN | SMART_FHIR_F_HAS
                          | SMART_FHIR_F_CONTAINED)) == 0
        || smart_us_searchable(c, -1))
    {
        return 1;
    }

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        if ((pa->kind == SMART_FHIR_P_HAS || pa->chain != NULL)
            && !smart_reach_ok(c, t, pa->raw_name, 0))
        {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "a chain or _has reaches a type that no "
                           "unrestricted scope allows searching");
            return 0;
        }

        if (pa->kind == SMART_FHIR_P_CONTAINED
            && strcmp(pa->raw_name, "_containedType") == 0
            && strcmp(pa->value, "contained") != 0)
        {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "_containedType=container returns containers of any "
                           "type");
            return 0;
        }
    }

    return 1;
}


/* --- searches ------------------------------------------------------------ */

/*
 * Does "Patient/P/T" by itself limit T to P?  Only for the types of the R4
 * CompartmentDefinition other than Patient (whose compartment holds the
 * Patients linked to P): for the patient-data types outside it a server
 * may not know the compartment, so they are limited by their parameters
 * or narrowed like a type search.
 */
static int
smart_compartment_limits(int t)
{
    return t >= 0 && t < SMART_FHIR_NTYPES && t != SMART_FHIR_TYPE_PATIENT
           && smart_fhir_types[t].in_patient_compartment;
}


/* 1 when the request has a _type list of types smart_compartment_limits(). */
static int
smart_types_limited_by_compartment(const smart_fhir_req_t *req)
{
    size_t  i;

    if (req->ntypes == 0) {
        return 0;
    }

    for (i = 0; i < req->ntypes; i++) {
        if (!smart_compartment_limits(req->types[i])) {
            return 0;
        }
    }

    return 1;
}


/* Patient path feature refusal; 1 when refused. */
int
smart_patient_features_denied(const smart_fhir_req_t *req, const char *needed,
    smart_policy_res_t *r)
{
    unsigned     f;
    const char  *why;

    f = req->features & SMART_POLICY_PATIENT_FEATURES_DENIED;
    if (f == 0) {
        return 0;
    }

    why = (f & SMART_FHIR_F_HAS) ? "_has is not allowed under patient scopes"
          : (f & SMART_FHIR_F_CHAIN) ? "chained parameters are not allowed "
                                       "under patient scopes"
          : (f & SMART_FHIR_F_FILTER) ? "_filter is not allowed under patient "
                                        "scopes"
          : (f & SMART_FHIR_F_INCLUDE_WILD) ? "wildcard includes are not "
                                              "allowed under patient scopes"
          : (f & SMART_FHIR_F_ITERATE) ? ":iterate includes are not allowed "
                                         "under patient scopes"
          : "_query and _contained are not allowed under patient scopes";

    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed, why);

    return 1;
}


/*
 * smart_pin_status() of a search of t (PIN_NA on every type) under a
 * patient grant, with r set to the one refusal of a patient parameter
 * that names another patient.
 */
static int
smart_search_pin(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t,
    smart_policy_res_t *r)
{
    int   pin;
    char  needed[SMART_POLICY_NEEDED_MAX];

    pin = (t >= 0) ? smart_pin_status(c, req, t) : SMART_POLICY_PIN_NA;

    if (pin == SMART_POLICY_PIN_OTHER) {
        smart_fmt_needed(needed, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);
        smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed,
                       "a patient parameter names another patient");
    }

    return pin;
}


/*
 * A search of type t (search-type or search-compartment) along a patient
 * grant (sc unrestricted, or granular g[0..ng)).
 */
static void
smart_patient_grant_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t *sc, const smart_scope_t **g, size_t ng,
    smart_policy_res_t *r)
{
    int    pin, pinned, check;
    char   needed_user[SMART_POLICY_NEEDED_MAX];
    char   needed_pt[SMART_POLICY_NEEDED_MAX];

    smart_fmt_usable(c, needed_user, SMART_SCOPE_USER, t, SMART_SCOPE_S);
    smart_fmt_needed(needed_pt, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);

    if (smart_patient_features_denied(req, needed_user, r)
        || !smart_params_recognised(req, r))
    {
        return;
    }

    if (smart_unprovable_denied(c, t, SMART_SCOPE_S, r)) {
        return;
    }

    pinned = 0;

    if (req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT) {
        if (!smart_own_record(c, req->compartment_id, t, SMART_SCOPE_S,
                              "the compartment is another patient's", r))
        {
            return;
        }

        /*
         * The CompartmentDefinition puts the Patients linked to P
         * (Patient.link) in P's compartment, and servers that build
         * compartments from it return them: other patients' records.
         * Patient/P/Patient is limited by _id like any Patient search;
         * Patient/P/STAR needs a _type that leaves Patient out.
         */
        if (req->compartment_all && !smart_types_limited_by_compartment(req)) {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                           "Patient/P/* would return the patients linked to P; "
                           "name compartment types other than Patient with "
                           "_type");
            return;
        }

        pinned = req->compartment_all || smart_compartment_limits(t);
    }

    pin = smart_search_pin(c, req, t, r);

    if (pin == SMART_POLICY_PIN_OTHER) {
        return;
    }

    if (pin == SMART_POLICY_PIN_YES) {
        pinned = 1;
    }

    if (!pinned && req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT
        && smart_compartment_limits(t))
    {
        pinned = 1;
    }

    if (!pinned && t < 0) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "a search on every type cannot be limited to the "
                       "patient");
        return;
    }

    if (!pinned && pin == SMART_POLICY_PIN_NO) {
        if (c->conf->patient_search == SMART_PATIENT_SEARCH_DENY) {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                           "search lacks the patient parameter "
                           "(smart_patient_search deny)");
            return;
        }

        if (smart_narrow_param(c, t, r) != 0) {
            smart_res_deny_narrowing(r, needed_user);
            return;
        }

        pinned = 1;
    }

    if (!smart_includes_ok(c, req, pinned && pin != SMART_POLICY_PIN_NA,
                           smart_checkable(c, &check), r))
    {
        return;
    }

    if (ng > 0) {
        smart_granular_search(c, req, t, g, ng, needed_pt, r);

    } else {
        smart_res_allow(r, sc, r->nparams ? "narrowed to the patient"
                                          : "limited to the patient");
    }

    smart_res_also_checked(r, check);
}


/*
 * The includes, chains and _has of a search of t along a user or system
 * grant of context ctx: 1, or 0 with r set to the refusal; needed holds
 * the scope a refusal names.
 */
static int
smart_us_search_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, unsigned ctx, int pinned, char *needed, smart_policy_res_t *r)
{
    smart_fmt_needed(needed, ctx, t, SMART_SCOPE_S);

    return smart_includes_ok(c, req, pinned, NULL, r)
           && smart_reaches_ok(c, req, t, needed, r);
}


void
smart_decide_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    int                    t, pinned;
    size_t                 ng;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t   *sc;
    const smart_scope_t   *g[SMART_SCOPE_MAX_SCOPES];

    t = req->compartment_all ? -1 : req->type;
    smart_res_init(&r);

    pinned = 0;
    if (c->patient != NULL) {
        if (req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT
            && smart_compartment_limits(t))
        {
            pinned = smart_is_patient(c, req->compartment_id);
        } else {
            pinned = (smart_pin_status(c, req, t) == SMART_POLICY_PIN_YES);
        }
    }

    sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S);
    if (sc != NULL) {
        if (smart_us_search_ok(c, req, t, sc->context, pinned, needed, &r)) {
            smart_res_allow(&r, sc, "allowed by type");
        }
        smart_res_offer(best, &r);
    }

    sc = smart_grant_patient(c, t, SMART_SCOPE_S);
    if (sc != NULL) {
        smart_patient_grant_search(c, req, t, sc, NULL, 0, &r);
        smart_res_offer(best, &r);
    }

    if (c->patient != NULL) {
        ng = smart_grant_granular(c, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S, g);
        if (ng > 0) {
            smart_patient_grant_search(c, req, t, NULL, g, ng, &r);
            smart_res_offer(best, &r);
        }
    }

    ng = smart_grant_granular(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S, g);
    if (ng > 0) {
        if (smart_us_search_ok(c, req, t, g[0]->context, pinned, needed, &r)) {
            smart_granular_search(c, req, t, g, ng, needed, &r);
        }
        smart_res_offer(best, &r);
    }

    smart_offer_context_missing(c, t, SMART_SCOPE_S, best);
}


/*
 * A type t of a system search that a patient grant allows: 0 when the
 * parameters limit it to the patient (or it is outside the compartment),
 * 1 when patient=<id> would, -1 with r set to the refusal.
 */
static int
smart_system_type_patient(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, smart_policy_res_t *r)
{
    int   pin, excl;
    char  needed[SMART_POLICY_NEEDED_MAX];

    pin = smart_search_pin(c, req, t, r);

    if (pin == SMART_POLICY_PIN_OTHER) {
        return -1;
    }

    if (pin != SMART_POLICY_PIN_NO) {
        return 0;
    }

    if (t == SMART_FHIR_TYPE_PATIENT
        || !smart_patient_param(t, "patient", &excl) || !excl
        || c->conf->patient_search == SMART_PATIENT_SEARCH_DENY)
    {
        smart_fmt_usable(c, needed, SMART_SCOPE_USER, t, SMART_SCOPE_S);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "a type of the system search is not limited to the "
                       "patient");
        return -1;
    }

    return 1;
}


/*
 * The refusal of a type t of a system search that no grant allows.  sc is
 * NULL, or a patient grant on every type (t < 0), which nothing limits to
 * the patient.
 */
static void
smart_system_type_refused(smart_policy_ctx_t *c, int t,
    const smart_scope_t *sc, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (smart_context_missing(c, t, SMART_SCOPE_S, NULL, r)) {
        return;
    }

    if (sc != NULL) {
        smart_fmt_usable(c, needed, SMART_SCOPE_USER, t, SMART_SCOPE_S);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "a search on every type cannot be limited to the "
                       "patient");
        return;
    }

    smart_fmt_needed(needed, smart_guess_ctx(c), t, SMART_SCOPE_S);
    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                   "no scope allows searching a type of the request");
}


/*
 * System-level search: every _type (all types when absent) needs s.  A
 * patient grant on a compartment type needs a parameter valid for that
 * type limiting it to the patient; the only narrowing is patient=<id>, and
 * only when every such type has that parameter.
 */
void
smart_decide_search_system(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    int                    t, rc, via_patient, via_us, need_narrow, pinned;
    int                    check;
    size_t                 i, n;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t   *sc, *first;

    smart_res_init(&r);
    first = NULL;
    via_patient = 0;
    via_us = 0;
    need_narrow = 0;
    check = 0;
    n = req->ntypes ? req->ntypes : 1;

    /*
     * The results are limited to the patient only when every type is a
     * compartment type limited (or narrowed) to the patient: that, not the
     * kind of grant, is what lets includes of compartment types through.
     */
    pinned = (req->ntypes > 0 && c->patient != NULL);

    for (i = 0; i < n; i++) {
        t = req->ntypes ? req->types[i] : -1;

        if (t < 0 || !smart_in_compartment(t)) {
            pinned = 0;
        }

        sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S);
        if (sc != NULL) {
            first = first ? first : sc;
            via_us = 1;

            if (c->patient == NULL
                || smart_pin_status(c, req, t) != SMART_POLICY_PIN_YES)
            {
                pinned = 0;
            }

            smart_fmt_needed(needed, sc->context, t, SMART_SCOPE_S);
            if (!smart_reaches_ok(c, req, t, needed, &r)) {
                smart_res_offer(best, &r);
                return;
            }

            continue;
        }

        sc = smart_grant_patient(c, t, SMART_SCOPE_S);

        if (sc == NULL || t < 0) {
            smart_system_type_refused(c, t, sc, &r);
            smart_res_offer(best, &r);
            return;
        }

        first = first ? first : sc;
        via_patient = 1;

        rc = smart_system_type_patient(c, req, t, &r);
        if (rc < 0) {
            smart_res_offer(best, &r);
            return;
        }

        if (rc == 1) {
            need_narrow = 1;
        }
    }

    if (via_patient) {
        smart_fmt_usable(c, needed, SMART_SCOPE_USER, -1, SMART_SCOPE_S);
        if (smart_patient_features_denied(req, needed, &r)
            || !smart_params_recognised(req, &r))
        {
            smart_res_offer(best, &r);
            return;
        }
    }

    if (need_narrow) {
        if (smart_res_add_param(c, &r, "patient", c->patient, c->patient_len)
            != 0)
        {
            smart_res_deny_narrowing(&r, needed);
            smart_res_offer(best, &r);
            return;
        }
    }

    /* the response check proves includes only when every match is the
       patient's: every type limited by a patient grant */
    if (smart_includes_ok(c, req, pinned,
                          (via_patient && !via_us) ? smart_checkable(c, &check)
                                                   : NULL, &r))
    {
        smart_res_allow(&r, first, need_narrow ? "narrowed to the patient"
                                               : "every type allowed");
        smart_res_also_checked(&r, check);
    }

    smart_res_offer(best, &r);
}


/* --- opaque paging links ------------------------------------------------- */

/* 1 when v is 1 to 9 decimal digits. */
static int
smart_paging_number(const char *v)
{
    size_t  n;

    n = strlen(v);

    return n > 0 && n <= 9 && strspn(v, "0123456789") == n;
}


#define SMART_PAGING_ID         0
#define SMART_PAGING_NUMBER     1
#define SMART_PAGING_SEARCHSET  2
#define SMART_PAGING_BOOLEAN    3
#define SMART_PAGING_ANY        4


/*
 * One parameter of a paging link, each name at most once (seen: a bit per
 * name): _getpages, the id of the stored search; _getpagesoffset and
 * _count, numbers; _bundletype=searchset (a history page would not be the
 * searchset the response check expects); _pretty=true|false; _format (an
 * XML one is refused before anything goes upstream, as for every request
 * checked on the response).  1 when pa is one of them.
 */
static int
smart_paging_param(const smart_fhir_param_t *pa, unsigned *seen)
{
    size_t  i;

    static const struct {
        const char  *name;
        int          value;
    } params[] = {
        { "_getpages", SMART_PAGING_ID },
        { "_getpagesoffset", SMART_PAGING_NUMBER },
        { "_count", SMART_PAGING_NUMBER },
        { "_bundletype", SMART_PAGING_SEARCHSET },
        { "_pretty", SMART_PAGING_BOOLEAN },
        { "_format", SMART_PAGING_ANY }
    };

    if (pa->source != SMART_FHIR_SRC_QUERY || pa->kind != SMART_FHIR_P_NORMAL
        || pa->modifier != NULL || pa->chain != NULL || pa->nvalues != 1)
    {
        return 0;
    }

    for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        if (strcmp(pa->raw_name, params[i].name) == 0) {
            break;
        }
    }

    if (i == sizeof(params) / sizeof(params[0]) || (*seen & (1u << i))) {
        return 0;
    }

    *seen |= 1u << i;

    switch (params[i].value) {

    case SMART_PAGING_ID:
        return smart_fhir_valid_id(pa->value, pa->value_len);

    case SMART_PAGING_NUMBER:
        return smart_paging_number(pa->value);

    case SMART_PAGING_SEARCHSET:
        return strcmp(pa->value, "searchset") == 0;

    case SMART_PAGING_BOOLEAN:
        return strcmp(pa->value, "true") == 0
               || strcmp(pa->value, "false") == 0;

    default:
        return 1;
    }
}


/*
 * Is req a page of a search stored on the server, as HAPI links to it:
 * "GET [base]?_getpages=ID&_getpagesoffset=N&_count=M&_bundletype=
 * searchset", with _getpages and nothing but the parameters of
 * smart_paging_param()?
 */
static int
smart_is_paging_link(const smart_fhir_req_t *req)
{
    size_t    i;
    unsigned  seen;

    if (req->interaction != SMART_FHIR_I_SEARCH_SYSTEM
        || req->method != SMART_FHIR_M_GET || req->ntypes > 0)
    {
        return 0;
    }

    seen = 0;

    for (i = 0; i < req->nparams; i++) {
        if (!smart_paging_param(&req->params[i], &seen)) {
            return 0;
        }
    }

    /* _getpages, the first of smart_paging_param()'s names */
    return (seen & 1u) != 0;
}


/*
 * A paging link of a server that pages by an opaque id (HAPI's
 * "_getpages"): the stored search it names is not in the request, so
 * nothing limits it up front.  Under a patient scope that searches every
 * type (the page may hold any), it is allowed on condition of the
 * response, every entry of the page checked (docs/scopes.md, "Checked on
 * the response"); offered to best next to the system search's own
 * decision, so a user or system scope decides as before.
 */
void
smart_decide_paging(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    smart_policy_res_t     r;
    const smart_scope_t   *sc;

    if (c->conf->response_check == SMART_RESPONSE_CHECK_OFF
        || !smart_is_paging_link(req))
    {
        return;
    }

    sc = smart_grant_patient(c, -1, SMART_SCOPE_S);
    if (sc == NULL) {
        return;
    }

    smart_res_init(&r);
    smart_res_allow_checked(&r, sc, "a page of a search stored on the "
                                    "server: every entry checked on the "
                                    "response");
    smart_res_offer(best, &r);
}
