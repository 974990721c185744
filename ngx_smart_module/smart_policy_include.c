
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: _include and _revinclude.  The read each
 * included type needs, and under a patient grant which included
 * compartment types the request proves to be the patient's and which are
 * left to the response check (docs/scopes.md, "Patient scopes", "Checked
 * on the response", "Includes").
 *
 * Plain C99: no NGINX headers, no global mutable state.
 */

#include <string.h>

#include "smart_policy_private.h"


/* --- _include / _revinclude ---------------------------------------------- */

/*
 * Read on one included type tt.  Under a patient grant a compartment type
 * is acceptable when the included resources are proven to be in the
 * patient's compartment (smart_revinclude_proven()), or, when check is not
 * NULL (the response can be checked), on condition of the response, which
 * withholds the included resources that are not the patient's: *check is
 * set.  Never a type that may hold any resource (Binary, Bundle, ...) or
 * every type (tt -1), which the response cannot prove.  Returns 1, or 0
 * with r set to the refusal.
 */
static int
smart_include_target_ok(smart_policy_ctx_t *c, int tt, int proven,
    int *check, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (smart_grant_full(c, SMART_POLICY_CTX_US, tt, SMART_SCOPE_R) != NULL) {
        return 1;
    }

    if (smart_grant_patient(c, tt, SMART_SCOPE_R) != NULL) {
        if (tt >= 0 && (!smart_in_compartment(tt) || proven)) {
            return 1;
        }

        if (check != NULL && tt >= 0) {
            if (smart_unprovable_denied(c, tt, SMART_SCOPE_R, r)) {
                return 0;
            }

            *check = 1;
            return 1;
        }

        smart_fmt_usable(c, needed, SMART_SCOPE_USER, tt, SMART_SCOPE_R);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "included resources of a compartment type would not be "
                       "proven to be the patient's");
        return 0;
    }

    if (smart_context_missing(c, tt, SMART_SCOPE_R,
                              "a patient scope would allow the included type, "
                              "but the token has no patient context", r))
    {
        return 0;
    }

    smart_fmt_needed(needed, smart_guess_ctx(c), tt, SMART_SCOPE_R);
    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                   "no scope allows reading an included type");

    return 0;
}


/*
 * The one include of a compartment type whose results the request proves
 * to be the patient's: "_revinclude=S:p" on a search of Patient limited to
 * P, p a compartment parameter of S, returns S resources that p ties to P,
 * i.e. resources in P's compartment.  Every other include follows
 * references the patient limit does not cover ("Observation:focus",
 * "List:item", "Observation:has-member", the multi-valued "performer", the
 * other patients of "Patient:link"), so under a patient grant it is left to
 * the response check.
 */
static int
smart_revinclude_proven(const smart_fhir_req_t *req,
    const smart_fhir_include_t *inc)
{
    return req->type == SMART_FHIR_TYPE_PATIENT
           && req->interaction == SMART_FHIR_I_SEARCH_TYPE
           && inc->src_type >= 0 && inc->src_type != SMART_FHIR_TYPE_PATIENT
           && !inc->wildcard && inc->param != NULL
           && smart_fhir_compartment_param(inc->src_type, inc->param,
                                           strlen(inc->param)) != NULL
           && (inc->target_type < 0
               || inc->target_type == SMART_FHIR_TYPE_PATIENT);
}


/*
 * One "_include" piece inc: read on every type its parameter may point to
 * (the explicit ":Target" when given, every type for "*" or a parameter
 * that may point anywhere).  1, or 0 with r set to the refusal.
 */
static int
smart_include_ok(smart_policy_ctx_t *c, const smart_fhir_include_t *inc,
    int *check, smart_policy_res_t *r)
{
    int                             tt;
    size_t                          k;
    const smart_fhir_refparam_t    *rp;

    if (inc->wildcard || inc->param == NULL) {
        return smart_include_target_ok(c, -1, 0, check, r);
    }

    if (inc->target_type >= 0) {
        return smart_include_target_ok(c, inc->target_type, 0, check, r);
    }

    rp = smart_fhir_reference_param(inc->src_type, inc->param,
                                    strlen(inc->param));
    if (rp == NULL) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "_include names no reference parameter of R4");
        return 0;
    }

    if (rp->ntargets == 0) {
        return smart_include_target_ok(c, -1, 0, check, r);
    }

    for (k = 0; k < rp->ntargets; k++) {
        tt = smart_fhir_type_index(rp->targets[k], strlen(rp->targets[k]));

        if (!smart_include_target_ok(c, tt, 0, check, r)) {
            return 0;
        }
    }

    return 1;
}


/*
 * Every include of req: 1, or 0 with r set to the refusal.  primary_pinned:
 * the search is limited to the patient.  check: NULL when the response
 * cannot be checked (a user or system grant, whose matches are not all the
 * patient's; smart_response_check off), else set to 1 when an include is
 * left to the response check, 0 otherwise.
 */
int
smart_includes_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int primary_pinned, int *check, smart_policy_res_t *r)
{
    int                             ok;
    size_t                          i, j;
    const smart_fhir_param_t       *pa;
    const smart_fhir_include_t     *inc;

    /*
     * :iterate follows references from included resources too, which the
     * primary search's patient limit does not reach: a patient grant never
     * covers the included compartment types then.
     */
    if (req->features & SMART_FHIR_F_ITERATE) {
        primary_pinned = 0;
    }

    if (check != NULL) {
        *check = 0;
    }

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        for (j = 0; j < pa->nincludes; j++) {
            inc = &pa->includes[j];

            if (pa->kind == SMART_FHIR_P_REVINCLUDE) {
                /* the source type; -1 for "*": every type */
                ok = smart_include_target_ok(c, inc->src_type,
                         primary_pinned && smart_revinclude_proven(req, inc),
                         check, r);

            } else if (pa->kind == SMART_FHIR_P_INCLUDE) {
                ok = smart_include_ok(c, inc, check, r);

            } else {
                ok = 1;
            }

            if (!ok) {
                return 0;
            }
        }
    }

    return 1;
}
