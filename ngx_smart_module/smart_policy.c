/*
 * ngx_smart_module policy core: the authorization decision (docs/scopes.md).
 * docs/scopes.md states every rule in reviewer language; this file is the
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
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_b64.h"
#include "smart_policy.h"


#define SMART_POLICY_V_DENY         0
#define SMART_POLICY_V_NARROW       1
#define SMART_POLICY_V_ALLOW        2

#define SMART_POLICY_PIN_NA         0   /* type outside the compartment */
#define SMART_POLICY_PIN_NO         1   /* nothing limits it to the patient */
#define SMART_POLICY_PIN_YES        2   /* limited to the patient */
#define SMART_POLICY_PIN_OTHER      3   /* names another patient */

#define SMART_POLICY_REF_OK         0
#define SMART_POLICY_REF_MISMATCH   1   /* a reference to another patient */
#define SMART_POLICY_REF_UNVERIFIED 2   /* we cannot tie it to anyone */

/* why a patient grant refuses a type smart_unprovable() */
#define SMART_POLICY_UNPROVABLE_WHY                                          \
    "the type may hold any patient's data (it references or holds any "      \
    "resource) and cannot be limited to the patient"

#define SMART_POLICY_CTX_US         (SMART_SCOPE_USER | SMART_SCOPE_SYSTEM)

#define SMART_POLICY_PATIENT_FEATURES_DENIED                                 \
    (SMART_FHIR_F_CHAIN | SMART_FHIR_F_HAS | SMART_FHIR_F_FILTER             \
     | SMART_FHIR_F_INCLUDE_WILD | SMART_FHIR_F_QUERY                        \
     | SMART_FHIR_F_CONTAINED | SMART_FHIR_F_ITERATE)

#define SMART_POLICY_MAX_CHAIN_DEPTH 4  /* levels of a chain or nested _has */

#define SMART_POLICY_MAX_PATH_SEGS  8
#define SMART_POLICY_MAX_PTR_SEGS   64


typedef struct {
    int                      verdict;
    smart_err_e              reason;
    char                     needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t     *granted;
    const char              *why;
    size_t                   nparams;
    smart_policy_param_t     params[SMART_POLICY_MAX_NARROW];
    int                      empty;     /* no path offered anything yet */
} smart_policy_res_t;


typedef struct {
    const smart_policy_conf_t   *conf;
    const smart_scope_set_t     *set;
    const char                  *patient;   /* valid id or NULL */
    size_t                       patient_len;
    int                          nomem;
} smart_policy_ctx_t;


typedef struct {
    char                    *p;
    size_t                   len;
    size_t                   cap;
    int                      nomem;
} smart_policy_sbuf_t;


static const smart_policy_op_t  smart_policy_defaults[] = {
    { "everything", SMART_SCOPE_ANY_CONTEXT,
      { SMART_SCOPE_R | SMART_SCOPE_S }, 1,
      { SMART_POLICY_OP_TYPE_ANY }, 1 },
    { "export", SMART_SCOPE_SYSTEM,
      { SMART_SCOPE_R | SMART_SCOPE_S }, 1,
      { SMART_POLICY_OP_TYPE_ANY }, 1 },
    { "validate", SMART_SCOPE_ANY_CONTEXT,
      { SMART_SCOPE_C, SMART_SCOPE_U }, 2,
      { 0 }, 0 },
};


static void smart_decide_req(smart_policy_ctx_t *c,
    const smart_fhir_req_t *req, const json_t *body, int body_present,
    int in_bundle, smart_policy_res_t *r);


/* --- small helpers ------------------------------------------------------ */

static void
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


static void
smart_sb_adds(smart_policy_sbuf_t *sb, const char *s)
{
    smart_sb_add(sb, s, strlen(s));
}


/*
 * Query-string encoding of one search value piece: unreserved bytes and
 * '/' ':' stay, everything else (',' '\' '|' '&' '+' included) is %XX, so
 * the piece decodes back to itself and never splits or joins a value.
 */
static void
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


static char *
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


static void
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
}


static void
smart_res_clear_params(smart_policy_res_t *r)
{
    size_t  i;

    for (i = 0; i < r->nparams; i++) {
        free(r->params[i].name);
        free(r->params[i].value);
    }

    r->nparams = 0;
}


static void
smart_res_deny(smart_policy_res_t *r, smart_err_e reason, const char *needed,
    const char *why)
{
    smart_res_clear_params(r);
    r->verdict = SMART_POLICY_V_DENY;
    r->reason = reason;
    r->granted = NULL;
    r->why = why;
    r->empty = 0;
    if (needed != r->needed) {
        snprintf(r->needed, sizeof(r->needed), "%s", needed ? needed : "");
    }
}


static void
smart_res_allow(smart_policy_res_t *r, const smart_scope_t *granted,
    const char *why)
{
    r->verdict = (r->nparams > 0) ? SMART_POLICY_V_NARROW
                                  : SMART_POLICY_V_ALLOW;
    r->granted = granted;
    r->why = why;
    r->empty = 0;
    r->needed[0] = '\0';
}


/* Appends name=value (value already query-encoded); 0, or -1 when full. */
static int
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
static void
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
static int
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
static void
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


/* The context a refusal names when no scope of the right kind exists. */
static unsigned
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


static int
smart_is_patient_id(smart_policy_ctx_t *c, const char *s, size_t n)
{
    return c->patient != NULL && n == c->patient_len
           && memcmp(s, c->patient, n) == 0;
}


/* --- grants ------------------------------------------------------------- */

/* First scope without granular restrictions granting need on t. */
static const smart_scope_t *
smart_grant_full(smart_policy_ctx_t *c, unsigned ctx, int t, unsigned need)
{
    size_t                i, n;
    const char           *tn;
    const smart_scope_t  *m[SMART_SCOPE_MAX_SCOPES];

    if (c->set == NULL || ctx == 0) {
        return NULL;
    }

    tn = smart_type_name(t);
    n = smart_scope_match(c->set, ctx, tn, strlen(tn), need, m,
                          SMART_SCOPE_MAX_SCOPES);
    if (n > SMART_SCOPE_MAX_SCOPES) {
        n = SMART_SCOPE_MAX_SCOPES;
    }

    for (i = 0; i < n; i++) {
        if (m[i]->nparams == 0) {
            return m[i];
        }
    }

    return NULL;
}


/* Granular scopes granting need on t, in set order. */
static size_t
smart_grant_granular(smart_policy_ctx_t *c, unsigned ctx, int t, unsigned need,
    const smart_scope_t **out)
{
    size_t                i, n, k;
    const char           *tn;
    const smart_scope_t  *m[SMART_SCOPE_MAX_SCOPES];

    if (c->set == NULL || ctx == 0 || t < 0) {
        return 0;
    }

    tn = smart_type_name(t);
    n = smart_scope_match(c->set, ctx, tn, strlen(tn), need, m,
                          SMART_SCOPE_MAX_SCOPES);
    if (n > SMART_SCOPE_MAX_SCOPES) {
        n = SMART_SCOPE_MAX_SCOPES;
    }

    for (i = 0, k = 0; i < n; i++) {
        if (m[i]->nparams > 0) {
            out[k++] = m[i];
        }
    }

    return k;
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
static int
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


/* --- the patient compartment -------------------------------------------- */

/*
 * Does pa select what the request acts on?  A create's criteria are its
 * If-None-Exist alone: servers never read the URL query of a create.
 */
static int
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
static int
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
static int
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
static int
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


/* --- _include / _revinclude ---------------------------------------------- */

/*
 * Read on one included type tt.  Under a patient grant a compartment type
 * is acceptable only when the included resources are proven to be in the
 * patient's compartment (smart_revinclude_proven()).  Returns 1, or 0 with
 * r set
 * to the refusal.
 */
static int
smart_include_target_ok(smart_policy_ctx_t *c, int tt, int proven,
    smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (smart_grant_full(c, SMART_POLICY_CTX_US, tt, SMART_SCOPE_R) != NULL) {
        return 1;
    }

    if (c->patient != NULL
        && smart_grant_full(c, SMART_SCOPE_PATIENT, tt, SMART_SCOPE_R) != NULL)
    {
        if (tt >= 0 && (!smart_in_compartment(tt) || proven)) {
            return 1;
        }

        smart_fmt_needed(needed, SMART_SCOPE_USER, tt, SMART_SCOPE_R);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "included resources of a compartment type would not be "
                       "proven to be the patient's");
        return 0;
    }

    if (smart_context_missing(c, tt, SMART_SCOPE_R,
                              "a patient scope would allow the included type, "
                              "but "
                              "the token has no patient context", r))
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


static int
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
 * request does not show, so they stay unrecognised until the response is
 * checked.
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


static int
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

#define SMART_POLICY_IN_LIST(list, s)                                        \
    smart_in_list(list, sizeof(list) / sizeof(list[0]), s)


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
static int
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
static int
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

        if (tt < 0 || spec[seg] != ':'
            || smart_grant_full(c, SMART_POLICY_CTX_US, tt, SMART_SCOPE_S)
               == NULL)
        {
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
        return smart_grant_full(c, SMART_POLICY_CTX_US, mt, SMART_SCOPE_S)
               != NULL
               && smart_reach_ok(c, mt, dot + 1, depth + 1);
    }

    rp = (t >= 0) ? smart_fhir_reference_param(t, spec, nlen) : NULL;
    if (rp == NULL || rp->ntargets == 0) {
        return 0;                   /* not a reference of t, or any type */
    }

    for (k = 0; k < rp->ntargets; k++) {
        tt = smart_fhir_type_index(rp->targets[k], strlen(rp->targets[k]));

        if (tt < 0
            || smart_grant_full(c, SMART_POLICY_CTX_US, tt, SMART_SCOPE_S)
               == NULL
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
static int
smart_reaches_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t,
    const char *needed, smart_policy_res_t *r)
{
    size_t                     i;
    const smart_fhir_param_t  *pa;

    /* a scope on every type reaches everything */
    if ((req->features & (SMART_FHIR_F_CHAIN | SMART_FHIR_F_HAS
                          | SMART_FHIR_F_CONTAINED)) == 0
        || smart_grant_full(c, SMART_POLICY_CTX_US, -1, SMART_SCOPE_S) != NULL)
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


/* --- granular scopes ----------------------------------------------------- */

/*
 * The end of the comma piece of v[0..n) that starts at start, splitting as
 * the classifier (and the FHIR server) does: '\' escapes the next byte,
 * so "\\," is an escaped backslash followed by a separator.
 */
static size_t
smart_piece_end(const char *v, size_t n, size_t start)
{
    size_t  i;

    for (i = start; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n) {
            i++;
            continue;
        }

        if (v[i] == ',') {
            break;
        }
    }

    return i;
}


/* 1 when piece v equals one comma piece of the scope value sv. */
static int
smart_granular_value_has(const char *sv, size_t svlen, const char *v)
{
    size_t  start, end, vl;

    vl = strlen(v);
    start = 0;

    for ( ;; ) {
        end = smart_piece_end(sv, svlen, start);

        if (end - start == vl && memcmp(sv + start, v, vl) == 0) {
            return 1;
        }

        if (end >= svlen) {
            return 0;
        }

        start = end + 1;
    }
}


/* 1 when one request parameter named exactly name has only values among
   the scope values vals[0..nvals). */
static int
smart_request_inside(const smart_fhir_req_t *req, const char *name,
    const smart_scope_param_t *const *vals, size_t nvals)
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
                                             pa->values[j]))
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
    size_t  start, end, k;

    start = 0;

    for ( ;; ) {
        end = smart_piece_end(v, n, start);

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

        if (end >= n) {
            return 0;
        }

        start = end + 1;
    }
}


/* 1 when every comma piece of a scope value is the patient, as P or
   Patient/P. */
static int
smart_granular_pins(smart_policy_ctx_t *c, const char *v, size_t n)
{
    size_t  start, end, len;

    start = 0;

    for ( ;; ) {
        end = smart_piece_end(v, n, start);
        len = end - start;

        if (!smart_is_patient_id(c, v + start, len)
            && !(len > 8 && memcmp(v + start, "Patient/", 8) == 0
                 && smart_is_patient_id(c, v + start + 8, len - 8)))
        {
            return 0;
        }

        if (end >= n) {
            return 1;
        }

        start = end + 1;
    }
}


/*
 * Search under granular scopes g[0..ng).  Allowed when the request is
 * inside one scope, or inside the union of the one-parameter scopes on one
 * parameter; refused when it names a restricted parameter otherwise;
 * narrowed (in narrow mode) with the first scope's restriction, its one
 * parameter carrying the whole union as a comma list.
 */
static void
smart_granular_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t,
    const smart_scope_t **g, size_t ng, const char *needed,
    smart_policy_res_t *r)
{
    int                          excl;
    char                         base[SMART_FHIR_MAX_NAME + 1];
    size_t                       i, j, k, nv;
    smart_policy_sbuf_t          sb;
    const smart_scope_t         *sc;
    const smart_scope_param_t   *one[1];
    const smart_scope_param_t   *vals[SMART_SCOPE_MAX_SCOPES];

    if (!smart_params_recognised(req, r)) {
        return;
    }

    for (i = 0; i < ng; i++) {
        sc = g[i];

        for (j = 0; j < sc->nparams; j++) {
            one[0] = &sc->params[j];
            if (!smart_request_inside(req, sc->params[j].name, one, 1)) {
                break;
            }
        }

        if (j == sc->nparams) {
            smart_res_allow(r, sc, "inside a granular scope");
            return;
        }
    }

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

        if (smart_request_inside(req, g[i]->params[0].name, vals, nv)) {
            smart_res_allow(r, g[i], "inside the union of granular scopes");
            return;
        }
    }

    for (i = 0; i < ng; i++) {
        for (j = 0; j < g[i]->nparams; j++) {
            if (smart_request_names(req, g[i]->params[j].name)) {
                smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                               "a search parameter is outside the values the "
                               "granular scopes allow");
                return;
            }
        }
    }

    if (c->conf->patient_search == SMART_PATIENT_SEARCH_DENY) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "search lacks the granular restriction "
                       "(smart_patient_search deny)");
        return;
    }

    sc = g[0];

    for (j = 0; j < sc->nparams; j++) {
        if (!smart_narrowable_name(sc->params[j].name)
            || !smart_restriction_recognised(req, sc->params[j].name))
        {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "the granular restriction cannot be added as a "
                           "search parameter");
            return;
        }

        /* under a patient scope a restriction on a patient parameter that
           names someone else would contradict the patient narrowing */
        i = smart_base_len(sc->params[j].name);
        if (sc->context == SMART_SCOPE_PATIENT && i < sizeof(base)) {
            memcpy(base, sc->params[j].name, i);
            base[i] = '\0';

            if ((t == SMART_FHIR_TYPE_PATIENT && strcmp(base, "_id") == 0)
                || (t != SMART_FHIR_TYPE_PATIENT
                    && smart_patient_param(t, base, &excl)))
            {
                if (!smart_granular_pins(c, sc->params[j].value,
                                         sc->params[j].value_len))
                {
                    smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                                   "the granular restriction names another "
                                   "patient");
                    return;
                }
            }
        }
    }

    for (j = 0; j < sc->nparams; j++) {
        memset(&sb, 0, sizeof(smart_policy_sbuf_t));

        for (k = 0; k < ng; k++) {
            if (k > 0 && sc->nparams != 1) {
                break;
            }

            if (g[k]->nparams != sc->nparams
                || strcmp(g[k]->params[j].name, sc->params[j].name) != 0)
            {
                continue;
            }

            if (sb.len > 0) {
                smart_sb_add(&sb, ",", 1);
            }

            /* the scope value may itself be a comma list: keep its pieces,
               encode everything inside a piece */
            if (smart_add_pieces(&sb, g[k]->params[j].value,
                                 g[k]->params[j].value_len)
                != 0)
            {
                free(sb.p);
                smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                               "the narrowing cannot be expressed");
                return;
            }
        }

        if (sb.nomem) {
            free(sb.p);
            c->nomem = 1;
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "no memory");
            return;
        }

        if (smart_res_add_param(c, r, sc->params[j].name, sb.p ? sb.p : "",
                                sb.len) != 0)
        {
            free(sb.p);
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "the narrowing cannot be expressed");
            return;
        }

        free(sb.p);
    }

    smart_res_allow(r, sc, "narrowed to the granular scope");
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
static int
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
 * A search of type t (search-type or search-compartment) along a patient
 * grant (sc unrestricted, or granular g[0..ng)).
 */
static void
smart_patient_grant_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t *sc, const smart_scope_t **g, size_t ng,
    smart_policy_res_t *r)
{
    int    pin, pinned;
    char   needed_user[SMART_POLICY_NEEDED_MAX];
    char   needed_pt[SMART_POLICY_NEEDED_MAX];

    smart_fmt_needed(needed_user, SMART_SCOPE_USER, t, SMART_SCOPE_S);
    smart_fmt_needed(needed_pt, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);

    if (smart_patient_features_denied(req, needed_user, r)
        || !smart_params_recognised(req, r))
    {
        return;
    }

    if (smart_unprovable(t)) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       SMART_POLICY_UNPROVABLE_WHY);
        return;
    }

    pinned = 0;

    if (req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT) {
        if (!smart_is_patient_id(c, req->compartment_id,
                                 strlen(req->compartment_id)))
        {
            smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                           "the compartment is another patient's");
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

    pin = (t >= 0) ? smart_pin_status(c, req, t) : SMART_POLICY_PIN_NA;

    if (pin == SMART_POLICY_PIN_OTHER) {
        smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                       "a patient parameter names another patient");
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
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                           "the narrowing cannot be expressed");
            return;
        }

        pinned = 1;
    }

    if (!smart_includes_ok(c, req, pinned && pin != SMART_POLICY_PIN_NA, r)) {
        return;
    }

    if (ng > 0) {
        smart_granular_search(c, req, t, g, ng, needed_pt, r);
        return;
    }

    smart_res_allow(r, sc, r->nparams ? "narrowed to the patient"
                                      : "limited to the patient");
}


static void
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
            pinned = smart_is_patient_id(c, req->compartment_id,
                                         strlen(req->compartment_id));
        } else {
            pinned = (smart_pin_status(c, req, t) == SMART_POLICY_PIN_YES);
        }
    }

    sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S);
    if (sc != NULL) {
        smart_fmt_needed(needed, sc->context, t, SMART_SCOPE_S);
        if (smart_includes_ok(c, req, pinned, &r)
            && smart_reaches_ok(c, req, t, needed, &r))
        {
            smart_res_allow(&r, sc, "allowed by type");
        }
        smart_res_offer(best, &r);
    }

    if (c->patient != NULL) {
        sc = smart_grant_full(c, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);
        if (sc != NULL) {
            smart_patient_grant_search(c, req, t, sc, NULL, 0, &r);
            smart_res_offer(best, &r);
        }

        ng = smart_grant_granular(c, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S, g);
        if (ng > 0) {
            smart_patient_grant_search(c, req, t, NULL, g, ng, &r);
            smart_res_offer(best, &r);
        }
    }

    ng = smart_grant_granular(c, SMART_POLICY_CTX_US, t, SMART_SCOPE_S, g);
    if (ng > 0) {
        smart_fmt_needed(needed, g[0]->context, t, SMART_SCOPE_S);
        if (smart_includes_ok(c, req, pinned, &r)
            && smart_reaches_ok(c, req, t, needed, &r))
        {
            smart_granular_search(c, req, t, g, ng, needed, &r);
        }
        smart_res_offer(best, &r);
    }

    if (smart_context_missing(c, t, SMART_SCOPE_S, NULL, &r)) {
        smart_res_offer(best, &r);
    }
}


/*
 * System-level search: every _type (all types when absent) needs s.  A
 * patient grant on a compartment type needs a parameter valid for that
 * type limiting it to the patient; the only narrowing is patient=<id>, and
 * only when every such type has that parameter.
 */
static void
smart_decide_search_system(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    int                    t, pin, via_patient, need_narrow, excl, pinned;
    size_t                 i, n;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t   *sc, *first;

    smart_res_init(&r);
    first = NULL;
    via_patient = 0;
    need_narrow = 0;
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

        if (c->patient != NULL) {
            sc = smart_grant_full(c, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);
        }

        if (sc != NULL && t >= 0) {
            first = first ? first : sc;
            via_patient = 1;
            pin = smart_pin_status(c, req, t);

            if (pin == SMART_POLICY_PIN_OTHER) {
                smart_fmt_needed(needed, SMART_SCOPE_PATIENT, t, SMART_SCOPE_S);
                smart_res_deny(&r, SMART_ERR_PATIENT_MISMATCH, needed,
                               "a patient parameter names another patient");
                smart_res_offer(best, &r);
                return;
            }

            if (pin == SMART_POLICY_PIN_NO) {
                if (t == SMART_FHIR_TYPE_PATIENT
                    || !smart_patient_param(t, "patient", &excl) || !excl
                    || c->conf->patient_search == SMART_PATIENT_SEARCH_DENY)
                {
                    smart_fmt_needed(needed, SMART_SCOPE_USER, t,
                                     SMART_SCOPE_S);
                    smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                                   "a type of the system search is not limited "
                                   "to the patient");
                    smart_res_offer(best, &r);
                    return;
                }

                need_narrow = 1;
            }

            continue;
        }

        if (smart_context_missing(c, t, SMART_SCOPE_S, NULL, &r)) {
            /* r holds the refusal */

        } else if (sc != NULL
                   || (c->patient != NULL && t < 0
                       && smart_grant_full(c, SMART_SCOPE_PATIENT, t,
                                           SMART_SCOPE_S)))
        {
            smart_fmt_needed(needed, SMART_SCOPE_USER, t, SMART_SCOPE_S);
            smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "a search on every type cannot be limited to the "
                           "patient");

        } else {
            smart_fmt_needed(needed, smart_guess_ctx(c), t, SMART_SCOPE_S);
            smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "no scope allows searching a type of the request");
        }

        smart_res_offer(best, &r);
        return;
    }

    if (via_patient) {
        smart_fmt_needed(needed, SMART_SCOPE_USER, -1, SMART_SCOPE_S);
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
            smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           "the narrowing cannot be expressed");
            smart_res_offer(best, &r);
            return;
        }
    }

    if (smart_includes_ok(c, req, pinned, &r)) {
        smart_res_allow(&r, first, need_narrow ? "narrowed to the patient"
                                               : "every type allowed");
    }

    smart_res_offer(best, &r);
}


/* --- reads by id and history --------------------------------------------- */

static void
smart_decide_read(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, smart_policy_res_t *best)
{
    int                    t;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t   *sc;
    const smart_scope_t   *g[SMART_SCOPE_MAX_SCOPES];
    int                    instance;

    t = req->type;
    instance = (req->id != NULL);
    smart_res_init(&r);

    sc = smart_grant_full(c, SMART_POLICY_CTX_US, t, need);
    if (sc != NULL) {
        smart_res_allow(&r, sc, "allowed by type");
        smart_res_offer(best, &r);
        return;
    }

    if (c->patient != NULL
        && (sc = smart_grant_full(c, SMART_SCOPE_PATIENT, t, need)) != NULL)
    {
        if (!smart_params_recognised(req, &r)) {
            /* r holds the refusal */

        } else if (smart_unprovable(t)) {
            smart_fmt_needed(needed, SMART_SCOPE_USER, t, need);
            smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           SMART_POLICY_UNPROVABLE_WHY);

        } else if (t >= 0 && !smart_in_compartment(t)) {
            smart_res_allow(&r, sc, "type outside the patient compartment");

        } else if (t == SMART_FHIR_TYPE_PATIENT && instance) {
            if (smart_is_patient_id(c, req->id, strlen(req->id))) {
                smart_res_allow(&r, sc, "the patient's own record");

            } else {
                smart_fmt_needed(needed, SMART_SCOPE_PATIENT, t, need);
                smart_res_deny(&r, SMART_ERR_PATIENT_MISMATCH, needed,
                               "another patient's record");
            }

        } else {
            smart_fmt_needed(needed, SMART_SCOPE_USER, t, need);
            smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                           instance ? "a read by id of a compartment type "
                                      "cannot be checked against the patient"
                                    : "type history cannot be limited to the "
                                      "patient");
        }

        smart_res_offer(best, &r);
    }

    if ((c->patient != NULL
         && smart_grant_granular(c, SMART_SCOPE_PATIENT, t, need, g) > 0)
        || smart_grant_granular(c, SMART_POLICY_CTX_US, t, need, g) > 0)
    {
        smart_fmt_needed(needed, g[0]->context, t, need);
        smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "granular scopes grant searches only; a read by id or a "
                       "history cannot be checked");
        smart_res_offer(best, &r);
    }

    if (smart_context_missing(c, t, need, NULL, &r)) {
        smart_res_offer(best, &r);
    }
}


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
    const json_t  *rt, *id, *op;

    switch (req->interaction) {

    case SMART_FHIR_I_CREATE:
    case SMART_FHIR_I_UPDATE:
        if (!body_present || !json_is_object(body)) {
            return "the body is not a JSON resource";
        }

        rt = json_object_get(body, "resourceType");
        if (!json_is_string(rt)
            || strcmp(json_string_value(rt), req->type_name) != 0)
        {
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
            rt = json_object_get(body, "resourceType");
            if (json_is_string(rt)
                && strcmp(json_string_value(rt), "Parameters") == 0)
            {
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


static void
smart_patient_write(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, const json_t *body, const smart_scope_t *sc,
    smart_policy_res_t *r)
{
    int    t, rc, pin;
    char   needed_user[SMART_POLICY_NEEDED_MAX];
    char   needed_pt[SMART_POLICY_NEEDED_MAX];

    t = req->type;
    smart_fmt_needed(needed_user, SMART_SCOPE_USER, t, need);
    smart_fmt_needed(needed_pt, SMART_SCOPE_PATIENT, t, need);

    if (!smart_in_compartment(t)) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "types outside the patient compartment are never "
                       "written under patient scopes");
        return;
    }

    if (smart_unprovable(t)) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       SMART_POLICY_UNPROVABLE_WHY);
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

    if (req->conditional || req->interaction != SMART_FHIR_I_CREATE) {
        if (req->id != NULL) {
            if (t != SMART_FHIR_TYPE_PATIENT) {
                smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                               "a write by id of a compartment type cannot be "
                               "checked against the patient; use a conditional "
                               "write with the patient parameter");
                return;
            }

            if (!smart_is_patient_id(c, req->id, strlen(req->id))) {
                smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                               "another patient's record");
                return;
            }

        } else {
            if (req->features & SMART_POLICY_PATIENT_FEATURES_DENIED) {
                smart_patient_features_denied(req, needed_user, r);
                return;
            }

            pin = smart_pin_status(c, req, t);

            if (pin == SMART_POLICY_PIN_OTHER) {
                smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                               "the criteria name another patient");
                return;
            }

            if (pin != SMART_POLICY_PIN_YES) {
                smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                               "the conditional criteria are not limited to "
                               "the patient");
                return;
            }
        }
    }

    rc = SMART_POLICY_REF_OK;

    if (req->interaction == SMART_FHIR_I_CREATE
        || req->interaction == SMART_FHIR_I_UPDATE)
    {
        rc = smart_check_resource_refs(c, t, body);

    } else if (req->interaction == SMART_FHIR_I_PATCH) {
        if (!json_is_array(body)) {
            smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                           "FHIRPath Patch is not allowed under patient "
                           "scopes");
            return;
        }

        rc = smart_check_json_patch(c, t, body);
    }

    if (rc == SMART_POLICY_REF_MISMATCH) {
        smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed_pt,
                       "a compartment reference points to another patient");
        return;
    }

    if (rc == SMART_POLICY_REF_UNVERIFIED) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed_user,
                       "a compartment reference cannot be tied to the patient");
        return;
    }

    smart_res_allow(r, sc, "limited to the patient");
}


static void
smart_decide_write(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, smart_policy_res_t *best)
{
    int                    t;
    unsigned               need;
    smart_policy_res_t     r;
    char                   needed[SMART_POLICY_NEEDED_MAX];
    const char            *bad;
    const smart_scope_t   *sc;
    const smart_scope_t   *g[SMART_SCOPE_MAX_SCOPES];

    t = req->type;
    smart_res_init(&r);

    switch (req->interaction) {
    case SMART_FHIR_I_CREATE:
        need = SMART_SCOPE_C;
        break;
    case SMART_FHIR_I_DELETE:
        need = SMART_SCOPE_D;
        break;
    default:
        need = SMART_SCOPE_U;
        break;
    }

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

    if (c->patient != NULL
        && (sc = smart_grant_full(c, SMART_SCOPE_PATIENT, t, need)) != NULL)
    {
        smart_patient_write(c, req, need, body, sc, &r);
        smart_res_offer(best, &r);
    }

    if ((c->patient != NULL
         && smart_grant_granular(c, SMART_SCOPE_PATIENT, t, need, g) > 0)
        || smart_grant_granular(c, SMART_POLICY_CTX_US, t, need, g) > 0)
    {
        smart_fmt_needed(needed, g[0]->context, t, need);
        smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "granular scopes do not grant writes");
        smart_res_offer(best, &r);
    }

    if (smart_context_missing(c, t, need, NULL, &r)) {
        smart_res_offer(best, &r);
    }
}


/* --- operations ----------------------------------------------------------- */

static const smart_policy_op_t *
smart_find_op(const smart_policy_conf_t *conf, const char *name)
{
    size_t  i;

    for (i = 0; i < conf->nops; i++) {
        if (strcmp(conf->ops[i].name, name) == 0) {
            return &conf->ops[i];
        }
    }

    for (i = 0; i < sizeof(smart_policy_defaults)
                    / sizeof(smart_policy_defaults[0]); i++)
    {
        if (strcmp(smart_policy_defaults[i].name, name) == 0) {
            return &smart_policy_defaults[i];
        }
    }

    return NULL;
}


/* The patient-side conditions of an operation granted by a patient scope. */
static void
smart_patient_op(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned letters, int nt, const smart_scope_t *sc, smart_policy_res_t *r)
{
    char  needed[SMART_POLICY_NEEDED_MAX];

    if (req->op_level == SMART_FHIR_OP_INSTANCE
        && req->type == SMART_FHIR_TYPE_PATIENT)
    {
        if (smart_is_patient_id(c, req->id, strlen(req->id))) {
            smart_res_allow(r, sc, "operation on the patient's own record");

        } else {
            smart_fmt_needed(needed, SMART_SCOPE_PATIENT, nt, letters);
            smart_res_deny(r, SMART_ERR_PATIENT_MISMATCH, needed,
                           "operation on another patient's record");
        }

        return;
    }

    if (req->op_level == SMART_FHIR_OP_INSTANCE
        && smart_in_compartment(req->type))
    {
        smart_fmt_needed(needed, SMART_SCOPE_USER, nt, letters);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "an operation on a compartment resource by id cannot be "
                       "checked against the patient");
        return;
    }

    if ((letters & (SMART_SCOPE_R | SMART_SCOPE_S)) != 0
        && req->op_level != SMART_FHIR_OP_INSTANCE)
    {
        smart_fmt_needed(needed, SMART_SCOPE_USER, nt, letters);
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "an operation that reads data at type or system level "
                       "cannot be limited to the patient");
        return;
    }

    smart_res_allow(r, sc, "operation allowed");
}


static void
smart_decide_op(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best)
{
    int                        nt, ok;
    size_t                     a, i, ntypes;
    unsigned                   ctx, nctx, letters;
    smart_policy_res_t         r, part;
    char                       needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t       *sc, *first;
    const smart_policy_op_t   *op;

    smart_res_init(&r);
    smart_res_init(&part);

    op = smart_find_op(c->conf, req->operation);
    if (op == NULL) {
        smart_res_deny(&r, SMART_ERR_SCOPE_INSUFFICIENT, NULL,
                       "the operation is not configured (smart_operation)");
        smart_res_offer(best, &r);
        return;
    }

    ctx = op->contexts & SMART_SCOPE_ANY_CONTEXT;
    ntypes = op->ntypes ? op->ntypes : 1;

    for (a = 0; a < op->nalts; a++) {
        letters = op->alts[a];
        first = NULL;
        ok = 1;

        for (i = 0; i < ntypes && ok; i++) {
            nt = op->ntypes ? op->types[i] : req->type;

            sc = smart_grant_full(c, ctx & SMART_POLICY_CTX_US, nt, letters);
            if (sc != NULL) {
                first = first ? first : sc;
                continue;
            }

            ok = 0;

            if ((ctx & SMART_SCOPE_PATIENT) && c->patient != NULL
                && (sc = smart_grant_full(c, SMART_SCOPE_PATIENT, nt, letters))
                   != NULL)
            {
                smart_patient_op(c, req, letters, nt, sc, &part);
                if (part.verdict == SMART_POLICY_V_ALLOW) {
                    first = first ? first : sc;
                    ok = 1;
                    smart_res_init(&part);
                    continue;
                }

                smart_res_offer(&r, &part);
                continue;
            }

            if ((ctx & SMART_SCOPE_PATIENT)
                && smart_context_missing(c, nt, letters, NULL, &part))
            {
                /* part holds the refusal */

            } else {
                nctx = (ctx == SMART_SCOPE_PATIENT || ctx == SMART_SCOPE_USER
                        || ctx == SMART_SCOPE_SYSTEM) ? ctx
                                                      : smart_guess_ctx(c);
                smart_fmt_needed(needed, nctx, nt, letters);
                smart_res_deny(&part, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                               "no scope grants what the operation needs");
            }

            smart_res_offer(&r, &part);
        }

        if (ok) {
            smart_res_clear_params(&r);
            smart_res_init(&r);
            smart_res_allow(&r, first, "operation allowed");
            break;
        }
    }

    smart_res_offer(best, &r);
}


/* --- one request ---------------------------------------------------------- */

static void
smart_decide_req(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, int in_bundle, smart_policy_res_t *r)
{
    smart_policy_res_t  tmp;

    smart_res_init(&tmp);

    switch (req->interaction) {

    case SMART_FHIR_I_CAPABILITIES:
        smart_res_allow(r, NULL, "public: capabilities");
        return;

    case SMART_FHIR_I_READ:
    case SMART_FHIR_I_VREAD:
    case SMART_FHIR_I_HISTORY_INSTANCE:
        smart_decide_read(c, req, SMART_SCOPE_R, r);
        break;

    case SMART_FHIR_I_HISTORY_TYPE:
    case SMART_FHIR_I_HISTORY_SYSTEM:
        smart_decide_read(c, req, SMART_SCOPE_S, r);
        break;

    case SMART_FHIR_I_SEARCH_TYPE:
    case SMART_FHIR_I_SEARCH_COMPARTMENT:
        smart_decide_search(c, req, r);
        break;

    case SMART_FHIR_I_SEARCH_SYSTEM:
        smart_decide_search_system(c, req, r);
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
        int       t;
        unsigned  need;
        char      needed[SMART_POLICY_NEEDED_MAX];

        t = req->compartment_all ? -1 : req->type;

        switch (req->interaction) {
        case SMART_FHIR_I_READ:
        case SMART_FHIR_I_VREAD:
        case SMART_FHIR_I_HISTORY_INSTANCE:
            need = SMART_SCOPE_R;
            break;
        case SMART_FHIR_I_CREATE:
            need = SMART_SCOPE_C;
            break;
        case SMART_FHIR_I_UPDATE:
        case SMART_FHIR_I_PATCH:
            need = SMART_SCOPE_U;
            break;
        case SMART_FHIR_I_DELETE:
            need = SMART_SCOPE_D;
            break;
        default:
            need = SMART_SCOPE_S;
            break;
        }

        smart_fmt_needed(needed, smart_guess_ctx(c), t, need);
        smart_res_deny(&tmp, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "no scope grants it");
        smart_res_offer(r, &tmp);
    }
}


/* --- bundles ------------------------------------------------------------ */

/* Standard base64 (Binary.data) via the base64url decoder. */
static json_t *
smart_binary_json(const json_t *binary)
{
    size_t          i, n, out_len;
    char           *tmp;
    unsigned char  *dec;
    const char     *data;
    json_t         *j;

    data = json_string_value(json_object_get(binary, "data"));
    if (data == NULL) {
        return NULL;
    }

    n = strlen(data);
    tmp = malloc(n + 1);
    dec = malloc(SMART_B64URL_DECODED_MAX(n) + 1);

    if (tmp == NULL || dec == NULL) {
        free(tmp);
        free(dec);
        return NULL;
    }

    for (i = 0; i < n && data[i] != '='; i++) {
        tmp[i] = (data[i] == '+') ? '-' : (data[i] == '/') ? '_' : data[i];
    }

    j = NULL;

    if (smart_b64url_decode(tmp, i, dec, SMART_B64URL_DECODED_MAX(n) + 1,
                            &out_len) == 0)
    {
        j = json_loadb((const char *) dec, out_len, JSON_REJECT_DUPLICATES,
                       NULL);
    }

    free(tmp);
    free(dec);

    return j;
}


static void
smart_decide_entry(smart_policy_ctx_t *c, const json_t *entry,
    smart_policy_res_t *r)
{
    size_t                   ulen;
    const char              *method, *url, *q, *ine;
    const json_t            *request, *resource, *body;
    json_t                  *decoded;
    smart_fhir_input_t       in;
    smart_fhir_req_t        *req;
    smart_fhir_status_e      st;

    request = json_object_get(entry, "request");
    method = json_string_value(json_object_get(request, "method"));
    url = json_string_value(json_object_get(request, "url"));

    if (!json_is_object(entry) || method == NULL || url == NULL) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a bundle entry has no request method or url");
        return;
    }

    ulen = json_string_length(json_object_get(request, "url"));
    if (strlen(url) != ulen || strstr(url, "://") != NULL || url[0] == '/') {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a bundle entry url is not relative to the base");
        return;
    }

    memset(&in, 0, sizeof(smart_fhir_input_t));
    in.method = method;
    in.method_len = strlen(method);
    q = strchr(url, '?');
    in.path = url;
    in.path_len = q ? (size_t) (q - url) : ulen;

    if (q != NULL) {
        in.query = q + 1;
        in.query_len = ulen - in.path_len - 1;
    }

    ine = json_string_value(json_object_get(request, "ifNoneExist"));
    if (ine != NULL) {
        in.if_none_exist = ine;
        in.if_none_exist_len = strlen(ine);
    }

    req = NULL;
    st = smart_fhir_classify(&in, &req);

    if (st == SMART_FHIR_NOMEM) {
        c->nomem = 1;
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL, "no memory");
        return;
    }

    if (st != SMART_FHIR_OK || req->status != SMART_FHIR_OK) {
        smart_fhir_req_free(req);
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a bundle entry request is not a valid FHIR request");
        return;
    }

    resource = json_object_get(entry, "resource");

    /*
     * A "POST T/_search" entry has no form body: servers take its criteria
     * from the entry's resource, or from nothing, and drop the url's query
     * (the sandbox server among them), so what was decided here is not what
     * they search.  An entry that reads or deletes has its criteria in the
     * url alone; a resource next to it is refused for the same reason
     * (docs/security.md, "Parsing differentials").
     */
    if (req->method == SMART_FHIR_M_POST
        && (req->interaction == SMART_FHIR_I_SEARCH_TYPE
            || req->interaction == SMART_FHIR_I_SEARCH_SYSTEM
            || req->interaction == SMART_FHIR_I_SEARCH_COMPARTMENT))
    {
        smart_fhir_req_free(req);
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a bundle entry searches by POST .../_search: servers "
                       "differ on where its criteria are; use a GET entry");
        return;
    }

    if (resource != NULL
        && (req->method == SMART_FHIR_M_GET
            || req->method == SMART_FHIR_M_DELETE))
    {
        smart_fhir_req_free(req);
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "a bundle entry that reads, searches or deletes carries "
                       "a resource: its criteria must be in the url alone");
        return;
    }

    body = resource;
    decoded = NULL;

    if (req->interaction == SMART_FHIR_I_PATCH && json_is_object(resource)
        && json_is_string(json_object_get(resource, "resourceType"))
        && strcmp(json_string_value(json_object_get(resource,
                                                    "resourceType")),
                  "Binary") == 0)
    {
        decoded = smart_binary_json(resource);
        body = decoded;
    }

    smart_decide_req(c, req, body, body != NULL, 1, r);

    json_decref(decoded);
    smart_fhir_req_free(req);
}


/* --- the public interface ----------------------------------------------- */

static int
smart_fill_decision(smart_policy_ctx_t *c, smart_decision_t *d,
    smart_policy_res_t *r)
{
    size_t                i;
    char                  buf[SMART_SCOPE_MAX_LEN * 3 + 64];
    smart_policy_sbuf_t   sb;

    d->allow = (r->verdict != SMART_POLICY_V_DENY);
    d->narrowed = (r->verdict == SMART_POLICY_V_NARROW);
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

    /* the reasons are static text (callers of smart_res_allow() and
       smart_res_deny()) */

    d->explain = r->why ? r->why : "";

    return 0;
}


static void
smart_decide_bundle(smart_policy_ctx_t *c, const json_t *body, int body_present,
    smart_decision_t *d, smart_policy_res_t *r)
{
    size_t               i, n;
    const char          *type;
    const json_t        *entries, *rt;
    smart_policy_res_t   er;

    if (!body_present || !json_is_object(body)) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the body is not a JSON Bundle");
        return;
    }

    rt = json_object_get(body, "resourceType");
    type = json_string_value(json_object_get(body, "type"));

    if (!json_is_string(rt) || strcmp(json_string_value(rt), "Bundle") != 0
        || type == NULL
        || (strcmp(type, "batch") != 0 && strcmp(type, "transaction") != 0))
    {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the body is not a batch or transaction Bundle");
        return;
    }

    d->interaction = (strcmp(type, "batch") == 0) ? SMART_FHIR_I_BATCH
                                                  : SMART_FHIR_I_TRANSACTION;

    entries = json_object_get(body, "entry");
    if (entries != NULL && !json_is_array(entries)) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "Bundle.entry is not an array");
        return;
    }

    n = json_array_size(entries);
    if (n > SMART_POLICY_MAX_ENTRIES) {
        smart_res_deny(r, SMART_ERR_REQUEST_INVALID, NULL,
                       "the Bundle has more entries than the gateway checks");
        return;
    }

    if (n > 0) {
        d->entries = calloc(n, sizeof(smart_decision_entry_t));
        if (d->entries == NULL) {
            c->nomem = 1;
            return;
        }
    }

    for (i = 0; i < n; i++) {
        smart_res_init(&er);
        smart_decide_entry(c, json_array_get(entries, i), &er);

        if (er.verdict == SMART_POLICY_V_NARROW) {
            smart_res_deny(&er, SMART_ERR_SCOPE_INSUFFICIENT, er.needed,
                           "the entry would need a narrowing, which a bundle "
                           "entry cannot carry");
        }

        if (er.verdict == SMART_POLICY_V_DENY) {
            d->entries[d->nentries].index = i;
            d->entries[d->nentries].reason = er.reason;
            d->entries[d->nentries].why = er.why;
            memcpy(d->entries[d->nentries].needed, er.needed,
                   sizeof(er.needed));

            if (d->nentries == 0) {
                smart_res_deny(r, er.reason, er.needed, er.why);
            }

            d->nentries++;
        }

        smart_res_clear_params(&er);
    }

    if (d->nentries == 0) {
        smart_res_allow(r, NULL, "every entry allowed");
    }
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
        json = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
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

    if (c.nomem || smart_fill_decision(&c, d, &r) != 0) {
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
    free(d->query_append);
    free(d->granted_by);
    free(d->entries);
    free(d);
}


const smart_policy_op_t *
smart_policy_default_ops(size_t *n)
{
    if (n != NULL) {
        *n = sizeof(smart_policy_defaults) / sizeof(smart_policy_defaults[0]);
    }

    return smart_policy_defaults;
}


int
smart_policy_op_parse(const char *name, size_t name_len,
    const char *letters, size_t letters_len, const char *const *types,
    const size_t *type_lens, size_t ntypes, smart_policy_op_t *op,
    const char **err)
{
    size_t       i, j, start;
    unsigned     m;
    const char  *e;

    e = NULL;

    if (op == NULL || name == NULL || letters == NULL
        || (ntypes > 0 && (types == NULL || type_lens == NULL)))
    {
        e = "missing argument";
        goto fail;
    }

    memset(op, 0, sizeof(smart_policy_op_t));

    if (name_len > 0 && name[0] == '$') {
        name++;
        name_len--;
    }

    if (name_len == 0 || name_len > SMART_FHIR_MAX_OP
        || !((name[0] >= 'A' && name[0] <= 'Z')
             || (name[0] >= 'a' && name[0] <= 'z')))
    {
        e = "invalid operation name";
        goto fail;
    }

    for (i = 0; i < name_len; i++) {
        if (!((name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-'))
        {
            e = "invalid operation name";
            goto fail;
        }
    }

    memcpy(op->name, name, name_len);
    op->name[name_len] = '\0';
    op->contexts = SMART_SCOPE_ANY_CONTEXT;

    if (letters_len > 8 && memcmp(letters, "patient/", 8) == 0) {
        op->contexts = SMART_SCOPE_PATIENT;
        letters += 8;
        letters_len -= 8;

    } else if (letters_len > 5 && memcmp(letters, "user/", 5) == 0) {
        op->contexts = SMART_SCOPE_USER;
        letters += 5;
        letters_len -= 5;

    } else if (letters_len > 7 && memcmp(letters, "system/", 7) == 0) {
        op->contexts = SMART_SCOPE_SYSTEM;
        letters += 7;
        letters_len -= 7;
    }

    start = 0;

    for (i = 0; i <= letters_len; i++) {
        if (i < letters_len && letters[i] != '|') {
            continue;
        }

        m = smart_scope_letters(letters + start, i - start);
        if (m == 0 || op->nalts == SMART_POLICY_OP_MAX_ALTS) {
            e = "invalid LETTERS: expected [context/]letters[|letters]";
            goto fail;
        }

        op->alts[op->nalts++] = m;
        start = i + 1;
    }

    if (ntypes > SMART_POLICY_OP_MAX_TYPES) {
        e = "too many types";
        goto fail;
    }

    for (j = 0; j < ntypes; j++) {
        if (type_lens[j] == 1 && types[j][0] == '*') {
            op->types[j] = SMART_POLICY_OP_TYPE_ANY;
            continue;
        }

        op->types[j] = smart_fhir_type_index(types[j], type_lens[j]);
        if (op->types[j] < 0) {
            e = "unknown resource type";
            goto fail;
        }
    }

    op->ntypes = ntypes;

    return 0;

fail:

    if (op != NULL) {
        memset(op, 0, sizeof(smart_policy_op_t));
    }

    if (err != NULL) {
        *err = e;
    }

    return -1;
}
