
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the authorization decision (docs/scopes.md,
 * docs/scopes.md).
 *
 * smart_policy_decide() takes the compiled scopes of a verified token, the
 * patient launch context, a classified request (smart_fhir_classify()) and
 * the request body, and answers allow, allow with a narrowing (parameters
 * to append to the query or the If-None-Exist header), allow on condition
 * of the response (check) or of pre-reads (precheck), or deny with a
 * reason of docs/errors.md and the scope that would have been needed.
 * Batch and transaction bundles are decided entry by entry.  Plain C99 +
 * jansson: no NGINX headers, no global mutable state, malloc()/free()
 * only.
 */

#ifndef SMART_POLICY_H
#define SMART_POLICY_H

#include <stddef.h>

#include "smart_errors.h"
#include "smart_fhir.h"
#include "smart_restrict.h"
#include "smart_scope.h"


#define SMART_POLICY_BODY_MAX_DEFAULT  1048576  /* smart_body_max 1m */
#define SMART_POLICY_MAX_ENTRIES       1000     /* Bundle.entry examined */
#define SMART_POLICY_MAX_NARROW        32       /* parameters appended */
#define SMART_POLICY_NEEDED_MAX        128      /* "patient/T.rs" + NUL */
#define SMART_POLICY_PRECHECK_MAX_DEFAULT  20   /* smart_precheck_max */

#define SMART_POLICY_OP_MAX_ALTS       5        /* letter alternatives */
#define SMART_POLICY_OP_MAX_TYPES      16       /* TYPE arguments */
#define SMART_POLICY_OP_TYPE_ANY       (-1)     /* TYPE "*" */


typedef enum {
    SMART_POLICY_OK = 0,        /* *out holds a decision */
    SMART_POLICY_NOMEM          /* *out is NULL: the caller must refuse */
} smart_policy_status_e;


typedef enum {
    SMART_PATIENT_SEARCH_NARROW = 0,
    SMART_PATIENT_SEARCH_DENY
} smart_patient_search_e;


/* smart_response_check (docs/directives.md); 0 is the default, on */
typedef enum {
    SMART_RESPONSE_CHECK_ON = 0,    /* what the request cannot prove */
    SMART_RESPONSE_CHECK_OFF,       /* refuse it up front instead */
    SMART_RESPONSE_CHECK_ALL        /* and every patient-scoped read */
} smart_response_check_e;


/*
 * smart_precheck_request (docs/directives.md): whether the caller can read
 * a resource before it forwards a write to it.  0, the default, is none,
 * so a caller that does not know pre-reads is never asked for one.
 */
typedef enum {
    SMART_PRECHECK_NONE = 0,        /* writes by id refused under patient
                                       scopes, as before issue 14 */
    SMART_PRECHECK_AVAILABLE        /* allowed after a pre-read */
} smart_precheck_e;


/*
 * One smart_operation entry: what "$name" needs.  The letters are needed on
 * every type in types[]; with ntypes 0 on the type of the URL (all types,
 * i.e. "*", at system level).  Any one alternative suffices ("c|u").  Only
 * scopes whose context is in contexts count.
 */
typedef struct {
    char                     name[SMART_FHIR_MAX_OP + 1];   /* no '$' */
    unsigned                 contexts;  /* SMART_SCOPE_PATIENT | ... */
    unsigned                 alts[SMART_POLICY_OP_MAX_ALTS];
    size_t                   nalts;
    int                      types[SMART_POLICY_OP_MAX_TYPES];
    size_t                   ntypes;    /* type indexes or _TYPE_ANY */
} smart_policy_op_t;


typedef struct {
    smart_patient_search_e   patient_search;
    size_t                   body_max;  /* 0: SMART_POLICY_BODY_MAX_DEFAULT */
    /* smart_operation entries; they replace a built-in default of the same
       name, the other defaults stay (docs/scopes.md, "Operations") */
    const smart_policy_op_t *ops;
    size_t                   nops;
    /* 1: leave smart_decision_t.granted_by NULL (the gateway does not use
       it; formatting it cost every allowed request a malloc) */
    int                      no_granted_by;
    smart_response_check_e   response_check;
    /* 1: the caller hands smart_decision_t.restrictions to
       smart_response_check() (smart_response_req_t.restrictions), so a
       read by id under granular scopes may be allowed on condition of the
       response; 0 (the default): it is refused as before, so that a
       caller that proves only the patient's compartment never releases a
       record outside the restriction */
    int                      restrictions_checked;
    /* the glue sets SMART_PRECHECK_AVAILABLE when smart_precheck_request
       is configured; never used under smart_response_check off */
    smart_precheck_e         precheck;
    size_t                   precheck_max;  /* pre-reads of one request;
                                   0: SMART_POLICY_PRECHECK_MAX_DEFAULT */
} smart_policy_conf_t;


/*
 * Where a narrowing goes: the URL's query string (searches, and the
 * criteria of a conditional update, patch or delete), or the If-None-Exist
 * header (the criteria of a conditional create, whose URL query servers
 * ignore).  Either way "&" and query_append are added after what is there.
 */
typedef enum {
    SMART_NARROW_QUERY = 0,
    SMART_NARROW_IF_NONE_EXIST
} smart_narrow_target_e;


/* One parameter to append: name=value, both ready for a query string. */
typedef struct {
    char                    *name;
    char                    *value;
} smart_policy_param_t;


/*
 * One resource the caller reads (GET [base]/T/id) before it forwards a
 * write by id under a patient scope (docs/scopes.md, "Pre-read"): the
 * write goes on only when that current version is in the patient's
 * compartment (smart_compartment_check() IN; the caller sends its version
 * as If-Match when the client sent none).  A 404 or 410 allows only an
 * update whose create_ok is 1; anything else refuses the request.
 */
typedef struct {
    size_t                   index;     /* Bundle.entry index; 0 for a
                                           single request */
    smart_fhir_interaction_e interaction;   /* UPDATE, PATCH or DELETE */
    int                      type;      /* smart_fhir_types[] index */
    char                     id[SMART_FHIR_MAX_ID + 1];
    /* UPDATE: 1 when the body is itself in the patient's compartment
       (smart_compartment_check() IN, relative references), so an update
       that creates the resource creates the patient's; 0 otherwise */
    int                      create_ok;
} smart_policy_preread_t;


/* One denied Bundle entry (OperationOutcome expression Bundle.entry[i]). */
typedef struct {
    size_t                   index;
    smart_err_e              reason;
    char                     needed[SMART_POLICY_NEEDED_MAX];
    const char              *why;       /* static text */
} smart_decision_entry_t;


typedef struct {
    int                      allow;     /* 1 allow (maybe narrowed) */
    int                      narrowed;  /* 1: append params to the query,
                                           or where narrow_target says */
    smart_narrow_target_e    narrow_target;
    /* 1: allowed on condition of the response: the caller forwards the
       request and releases the response only when smart_response_check()
       proves it (docs/scopes.md, "Checked on the response") */
    int                      check;
    /* 1: allowed after the pre-reads in prereads[0..nprereads), which the
       caller makes first (a write by id under a patient scope; every one
       of a bundle's); never with narrowed or check */
    int                      precheck;
    smart_policy_preread_t  *prereads;
    size_t                   nprereads;
    smart_err_e              reason;    /* the refusal when allow is 0;
                                           SMART_ERR__COUNT when allowed */
    /* the request's interaction; BATCH or TRANSACTION once Bundle.type is
       read */
    smart_fhir_interaction_e interaction;
    /* the scope a refusal asks for ("patient/Observation.s"), for
       WWW-Authenticate scope="..."; "" when none applies */
    char                     needed[SMART_POLICY_NEEDED_MAX];
    /* canonical text of the scope that allowed it (smart_scope_format());
       NULL for refusals, public requests and bundles, and when
       conf->no_granted_by */
    char                    *granted_by;
    /* the narrowing, in order; and the same joined with '&' ("patient=1&
       category=laboratory"), NULL when not narrowed */
    smart_policy_param_t    *params;
    size_t                   nparams;
    char                    *query_append;
    /* bundles: the denied entries, in entry order */
    smart_decision_entry_t  *entries;
    size_t                   nentries;
    /* one line for reviewers (smart-scope-check, X-Smart-Decision); static
       text, never a patient id or other request data */
    const char              *explain;
    /* a read by id allowed under granular scopes only (check is 1): the
       response must satisfy one of these restrictions (and, for a
       patient/ scope's, be in the patient's compartment); copies of the
       scopes' parameters in one block owned by the decision, for
       smart_response_req_t.restrictions.  NULL and 0 otherwise */
    smart_restriction_t     *restrictions;
    size_t                   nrestrictions;
} smart_decision_t;


/*
 * Decides req for the token's scopes.  patient is the patient claim
 * (NUL-terminated), NULL when the token has none; a claim that is not a
 * valid FHIR id counts as none.  body[0..body_len) is the raw request body
 * (needed for create, update, patch and batch/transaction; NULL/0 when
 * there is none).  conf NULL means the defaults.
 *
 * Returns SMART_POLICY_OK with *out set (free with smart_decision_free()),
 * or SMART_POLICY_NOMEM with *out NULL.  A req that is NULL or INVALID is
 * decided as a request-invalid refusal; scopes NULL grant nothing.
 */
smart_policy_status_e smart_policy_decide(const smart_policy_conf_t *conf,
    const smart_scope_set_t *scopes, const char *patient,
    const smart_fhir_req_t *req, const char *body, size_t body_len,
    smart_decision_t **out);

void smart_decision_free(smart_decision_t *d);

/*
 * Parses the arguments of "smart_operation NAME LETTERS [TYPE ...]":
 * NAME with or without '$'; LETTERS "[patient/|user/|system/]l[|l...]"
 * with l v2 letters (a context prefix limits the entry to that context);
 * TYPE an R4 resource type or "*".  Returns 0, or -1 with *err set to a
 * static message (err may be NULL).
 */
int smart_policy_op_parse(const char *name, size_t name_len,
    const char *letters, size_t letters_len, const char *const *types,
    const size_t *type_lens, size_t ntypes, smart_policy_op_t *op,
    const char **err);

/* The built-in operation table (docs/scopes.md, "Operations"). */
const smart_policy_op_t *smart_policy_default_ops(size_t *n);

#endif /* SMART_POLICY_H */
