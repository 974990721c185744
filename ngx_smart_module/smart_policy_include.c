/*
 * ngx_smart_module policy core: _include and _revinclude.  The read each
 * included type needs, and under a patient grant which included
 * compartment types the request proves to be the patient's
 * (docs/scopes.md, "Patient scopes", "Includes").
 *
 * Plain C99: no NGINX headers, no global mutable state.
 */

#include <string.h>

#include "smart_policy_private.h"


/* --- _include / _revinclude ---------------------------------------------- */

/*
 * Read on one included type tt.  Under a patient grant a compartment type
 * is acceptable only when the included resources are proven to be in the
 * patient's compartment (smart_revinclude_proven()).  Returns 1, or 0 with
 * r set to the refusal.
 */
static int
smart_include_target_ok(smart_policy_ctx_t *c, int tt, int proven,
    smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (smart_grant_full(c, SMART_POLICY_CTX_US, tt, SMART_SCOPE_R) != NULL) {
        return 1;
    }

    if (smart_grant_patient(c, tt, SMART_SCOPE_R) != NULL) {
        if (tt >= 0 && (!smart_in_compartment(tt) || proven)) {
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


int
smart_includes_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int primary_pinned, smart_policy_res_t *r)
{
    int                             tt, proven;
    size_t                          i, j, k;
    const smart_fhir_param_t       *pa;
    const smart_fhir_include_t     *inc;
    const smart_fhir_refparam_t    *rp;

    /*
     * :iterate follows references from included resources too, which the
     * primary search's patient limit does not reach: a patient grant never
     * covers the included compartment types then.
     */
    if (req->features & SMART_FHIR_F_ITERATE) {
        primary_pinned = 0;
    }

    for (i = 0; i < req->nparams; i++) {
        pa = &req->params[i];

        if (pa->kind != SMART_FHIR_P_INCLUDE
            && pa->kind != SMART_FHIR_P_REVINCLUDE)
        {
            continue;
        }

        for (j = 0; j < pa->nincludes; j++) {
            inc = &pa->includes[j];

            if (pa->kind == SMART_FHIR_P_REVINCLUDE) {
                tt = inc->src_type;     /* -1 for "*": every type */
                proven = primary_pinned && smart_revinclude_proven(req, inc);

                if (!smart_include_target_ok(c, tt, proven, r)) {
                    return 0;
                }

                continue;
            }

            if (inc->wildcard || inc->param == NULL) {
                if (!smart_include_target_ok(c, -1, 0, r)) {
                    return 0;
                }

                continue;
            }

            if (inc->target_type >= 0) {
                if (!smart_include_target_ok(c, inc->target_type, 0, r)) {
                    return 0;
                }

                continue;
            }

            rp = smart_fhir_reference_param(inc->src_type, inc->param,
                                            strlen(inc->param));
            if (rp == NULL) {
                smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                               "_include names no reference parameter of R4");
                return 0;
            }

            if (rp->ntargets == 0) {
                if (!smart_include_target_ok(c, -1, 0, r)) {
                    return 0;
                }

                continue;
            }

            for (k = 0; k < rp->ntargets; k++) {
                tt = smart_fhir_type_index(rp->targets[k],
                                           strlen(rp->targets[k]));

                if (!smart_include_target_ok(c, tt, 0, r)) {
                    return 0;
                }
            }
        }
    }

    return 1;
}
