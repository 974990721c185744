
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the response check (docs/scopes.md,
 * "Checked on the response").
 *
 * Under patient scopes some requests cannot be limited to the patient by
 * the request alone (a read by id of a compartment type, a history, an
 * include that follows any reference).  Their response is buffered by the
 * glue and handed here whole; it is released only when every resource in
 * it is proven in the patient's compartment (smart_compartment.h), with
 * the include entries that are not withheld, and is otherwise refused:
 * patient-mismatch, or response-unverifiable when it cannot be checked.
 * A response is never released unchecked.
 *
 * The body is untrusted: bounded in size, then parsed strictly by
 * smart_tape_parse() (nesting bounded, no repeated member names, no
 * tree), every allocation checked, nothing kept after the call but the
 * filtered body the caller frees.  The same code serves the module, the
 * tools, the unit tests (tests/test_response.c) and the fuzzer
 * (tests/fuzz/fuzz_response.c).  Plain C99: no NGINX headers.
 */

#ifndef SMART_RESPONSE_H
#define SMART_RESPONSE_H

#include <stddef.h>

#include "smart_errors.h"
#include "smart_fhir.h"
#include "smart_restrict.h"


/* bytes of a response body checked, when the caller sets no bound */
#define SMART_RESPONSE_BODY_MAX_DEFAULT  (8 * 1048576)
/* levels of objects and arrays in a body ({"a":[1]} has 2) */
#define SMART_RESPONSE_MAX_DEPTH         100
/* Bundle entries examined in one body, those of nested Bundles included */
#define SMART_RESPONSE_MAX_ENTRIES       10000


typedef enum {
    /* send the body as the server sent it */
    SMART_RESPONSE_RELEASE = 0,
    /* send the body in smart_response_t.body instead: the server's bytes
       with some include entries withheld and one outcome entry appended
       per Bundle that lost some */
    SMART_RESPONSE_RELEASE_FILTERED,
    /* 403 patient-mismatch: a resource the request asked for is not
       proven the patient's */
    SMART_RESPONSE_MISMATCH,
    /* 502 response-unverifiable: not JSON, too large or deep, not a
       resource, the wrong resourceType or Bundle.type, a malformed Bundle,
       a type the body cannot prove (Binary, ...), no memory */
    SMART_RESPONSE_UNVERIFIABLE
} smart_response_verdict_e;


/* What the check needs to know of the request (smart_fhir_req_t). */
typedef struct {
    /*
     * What the body must be:
     *   READ, VREAD                 one resource of type
     *   HISTORY_INSTANCE, _TYPE,    a Bundle of type history, its
     *   _SYSTEM                     resources of type (any when -1)
     *   SEARCH_TYPE, _COMPARTMENT,  a Bundle of type searchset, its match
     *   _SYSTEM                     entries of type (any when -1)
     *   OPERATION                   a Bundle of type searchset
     *                               ($everything: entries of any type), or
     *                               one resource of type (any when -1)
     *   BATCH, TRANSACTION,         a Bundle of type batch-response,
     *   BATCH_OR_TRANSACTION        transaction-response, or either
     * Any other interaction is UNVERIFIABLE.  An OperationOutcome is
     * released for every interaction listed.
     */
    smart_fhir_interaction_e     interaction;
    int                          type;      /* smart_fhir_types[] index, or
                                               -1: none (system level,
                                               Patient/P/STAR) */
    /* HISTORY_INSTANCE: the instance's id, which deleted versions (entries
       without a resource) must name; NULL otherwise */
    const char                  *id;
    const char                  *patient;  /* the patient claim, a FHIR id */
    /* the FHIR base URL references may be written on ("https://ehr.example/
       fhir"); NULL or "": relative references only */
    const char                  *base;
    /* correlation ID for the outcome entry of a filtered Bundle; one that
       smart_cid_valid() refuses is written as "invalid" */
    const char                  *correlation_id;
    size_t                       body_max;  /* 0: the default */
    /*
     * A read by id under granular scopes (smart_decision_t.restrictions):
     * with nrestrictions > 0, the interaction must be READ, VREAD or
     * HISTORY_INSTANCE (else UNVERIFIABLE), and the resource, and every
     * version of the history, must satisfy at least one restriction
     * (smart_restrict_match()) and, for a patient one, be in the
     * patient's compartment (or hold no patient's data).  patient may
     * then be NULL when no restriction is a patient one.  nrestrictions
     * 0: the patient's compartment alone, as before.
     */
    const smart_restriction_t   *restrictions;
    size_t                       nrestrictions;
} smart_response_req_t;


typedef struct {
    smart_response_verdict_e     verdict;
    /* RELEASE_FILTERED only: the new body (malloc()ed, NUL after
       body_len), freed by smart_response_free(); NULL otherwise */
    char                        *body;
    size_t                       body_len;
    size_t                       withheld;  /* entries withheld, all
                                               Bundles together */
    /* static text for logs and X-Smart-Decision, never response bytes;
       "" on RELEASE */
    const char                  *why;
    /* index in the outer Bundle.entry of the entry the refusal is about,
       -1 when it is about the whole body */
    long                         entry;
    /*
     * The catalogue code of a refusal, for the caller's answer:
     *   MISMATCH      SMART_ERR_PATIENT_MISMATCH: not in the patient's
     *                 compartment (403 patient-mismatch);
     *                 SMART_ERR_SCOPE_INSUFFICIENT: the patient's (or no
     *                 patient's) but outside every granular restriction
     *                 (403 scope-insufficient)
     *   UNVERIFIABLE  SMART_ERR_RESPONSE_UNVERIFIABLE
     *   RELEASE, RELEASE_FILTERED  SMART_ERR__COUNT
     */
    smart_err_e                  reason;
} smart_response_t;


/*
 * Checks body[0..len) (no NUL needed) against rq and fills *out (always,
 * also on refusal; out must not be NULL); returns out->verdict.  rq NULL,
 * an rq->patient that is not a valid FHIR id, an rq->type that is neither
 * -1 nor a type index, or a HISTORY_INSTANCE without type and id are
 * UNVERIFIABLE.
 *
 * Per resource, by smart_compartment_check():
 *
 *   answer            requested (read, match,      include entry
 *                     history, batch entries)
 *   IN                released                     released
 *   NOT_PATIENT_DATA  released                     released
 *   OUT               MISMATCH                     withheld
 *   UNPROVABLE        UNVERIFIABLE                 withheld
 *   INVALID           UNVERIFIABLE                 UNVERIFIABLE
 *
 * UNPROVABLE are the ANY_REF types: Binary, Bundle, Parameters, ... cannot
 * be proven from their own body (a Binary is proven by reading the
 * DocumentReference that points to it, which is the glue's business); a
 * searchset or history Bundle inside a batch-response is checked as a
 * Bundle instead.  The first entry that fails decides.
 *
 * With restrictions (a read by id under granular scopes), a resource is
 * released when one restriction holds: it satisfies the restriction's
 * parameters and, for a patient restriction, the compartment check says
 * IN or NOT_PATIENT_DATA.  When none holds: MISMATCH with reason
 * SCOPE_INSUFFICIENT if a restriction failed on its parameters alone,
 * else (every restriction failed on the compartment) MISMATCH with reason
 * PATIENT_MISMATCH, or UNVERIFIABLE for an UNPROVABLE type.
 */
smart_response_verdict_e smart_response_check(const smart_response_req_t *rq,
    const char *body, size_t len, smart_response_t *out);

/* longest meta.versionId smart_response_version() copies (a FHIR id) */
#define SMART_RESPONSE_VERSION_MAX  64

/*
 * The resource's meta.versionId in body[0..len), copied NUL-terminated
 * into out[0..size) with its length in *n: 0;
 * SMART_RESPONSE_VERSION_NONE when the body is a JSON object without a
 * meta.versionId member; -1 when the body is not a JSON object, or its
 * meta.versionId is not a FHIR id, or out is too small.
 */
#define SMART_RESPONSE_VERSION_NONE  1

int smart_response_version(const char *body, size_t len, char *out,
    size_t size, size_t *n);

/*
 * A Binary's securityContext (body[0..len): the Binary as FHIR JSON, as a
 * pre-read gets it): the type index in *type and the id, NUL-terminated,
 * in id[0..size).  0; -1 when the body is not a Binary or its
 * securityContext is absent or not a literal reference smart_ref_parse()
 * reads (base[0..base_len): the FHIR base URL, as there).
 */
int smart_response_binary_context(const char *body, size_t len,
    const char *base, size_t base_len, int *type, char *id, size_t size);

/* Frees out->body; out may be NULL. */
void smart_response_free(smart_response_t *out);

/* "release", "release-filtered", "mismatch", "unverifiable"; "unknown". */
const char *smart_response_verdict_name(smart_response_verdict_e v);

#endif /* SMART_RESPONSE_H */
