
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core, private header of the policy unit (as
 * jansson's jansson_private.h): the types, macros and functions the files
 * smart_policy*.c share.  Nothing outside the unit includes it; the
 * module, the tools, the tests and the fuzzers use smart_policy.h.
 *
 *   smart_policy.c           one request, reads by id and history, the
 *                            public interface
 *   smart_policy_util.c      buffers and results, grants, the patient
 *                            compartment
 *   smart_policy_search.c    recognised parameters, chains and _has,
 *                            searches
 *   smart_policy_include.c   _include/_revinclude
 *   smart_policy_granular.c  granular scopes: searches, reads by id
 *   smart_policy_write.c     write bodies (references, JSON Patch), writes
 *   smart_policy_precheck.c  writes by id after a pre-read, a bundle's
 *                            pre-reads
 *   smart_policy_op.c        operations and the smart_operation table
 *   smart_policy_bundle.c    batch and transaction bundles
 */

#ifndef SMART_POLICY_PRIVATE_H
#define SMART_POLICY_PRIVATE_H

#include <stddef.h>

#include <jansson.h>

#include "smart_policy.h"


#define SMART_POLICY_V_DENY         0
#define SMART_POLICY_V_NARROW       1
#define SMART_POLICY_V_ALLOW        2

#define SMART_POLICY_PIN_NA         0   /* type outside the compartment */
#define SMART_POLICY_PIN_NO         1   /* nothing limits it to the patient */
#define SMART_POLICY_PIN_YES        2   /* limited to the patient */
#define SMART_POLICY_PIN_OTHER      3   /* names another patient */

#define SMART_POLICY_CTX_US         (SMART_SCOPE_USER | SMART_SCOPE_SYSTEM)

/* which granular scopes a checked read by id carries as restrictions */
#define SMART_POLICY_RESTRICT_US        0x01    /* user and system */
#define SMART_POLICY_RESTRICT_PATIENT   0x02

#define SMART_POLICY_PATIENT_FEATURES_DENIED                                 \
    (SMART_FHIR_F_CHAIN | SMART_FHIR_F_HAS | SMART_FHIR_F_FILTER             \
     | SMART_FHIR_F_INCLUDE_WILD | SMART_FHIR_F_QUERY                        \
     | SMART_FHIR_F_CONTAINED | SMART_FHIR_F_ITERATE)


typedef struct {
    int                      verdict;
    smart_err_e              reason;
    char                     needed[SMART_POLICY_NEEDED_MAX];
    const smart_scope_t     *granted;
    const char              *why;
    size_t                   nparams;
    smart_policy_param_t     params[SMART_POLICY_MAX_NARROW];
    int                      empty;     /* no path offered anything yet */
    int                      check;     /* an allow that the response
                                           must prove */
    unsigned                 restricted;    /* SMART_POLICY_RESTRICT_*: the
                                               response must satisfy a
                                               granular restriction */
    int                      precheck;  /* an allow after the pre-read
                                           pre */
    smart_policy_preread_t   pre;
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


#define SMART_POLICY_IN_LIST(list, s)                                        \
    smart_in_list(list, sizeof(list) / sizeof(list[0]), s)


/* --- smart_policy_util.c -------------------------------------------------- */

/* the growing buffer of a query string */
void smart_sb_add(smart_policy_sbuf_t *sb, const char *s, size_t n);
void smart_sb_adds(smart_policy_sbuf_t *sb, const char *s);
void smart_sb_add_encoded(smart_policy_sbuf_t *sb, const char *s, size_t n);
char *smart_dupn(const char *s, size_t n);
json_t *smart_policy_json_load(const char *p, size_t len);

/* the result of one path, and the best of several */
void smart_res_init(smart_policy_res_t *r);
void smart_res_clear_params(smart_policy_res_t *r);
void smart_res_deny(smart_policy_res_t *r, smart_err_e reason,
    const char *needed, const char *why);
void smart_res_deny_narrowing(smart_policy_res_t *r, const char *needed);
void smart_res_allow(smart_policy_res_t *r, const smart_scope_t *granted,
    const char *why);
void smart_res_allow_checked(smart_policy_res_t *r,
    const smart_scope_t *granted, const char *why);
void smart_res_also_checked(smart_policy_res_t *r, int check);
int *smart_checkable(smart_policy_ctx_t *c, int *check);
int smart_res_add_param(smart_policy_ctx_t *c, smart_policy_res_t *r,
    const char *name, const char *value, size_t value_len);
void smart_res_offer(smart_policy_res_t *best, smart_policy_res_t *cand);

/* types, letters and the needed scope */
int smart_in_compartment(int t);
int smart_unprovable_denied(smart_policy_ctx_t *c, int t, unsigned need,
    smart_policy_res_t *r);
void smart_fmt_needed(char *buf, unsigned ctx, int t, unsigned letters);
void smart_fmt_usable(smart_policy_ctx_t *c, char *buf, unsigned ctx, int t,
    unsigned letters);
unsigned smart_need_letters(smart_fhir_interaction_e i);
unsigned smart_guess_ctx(smart_policy_ctx_t *c);

/* the patient claim */
int smart_is_patient_id(smart_policy_ctx_t *c, const char *s, size_t n);
int smart_is_patient(smart_policy_ctx_t *c, const char *id);
int smart_own_record(smart_policy_ctx_t *c, const char *id, int t,
    unsigned need, const char *why, smart_policy_res_t *r);

/* lists, resources */
int smart_in_list(const char *const *list, size_t n, const char *s);
int smart_resource_type_is(const json_t *res, const char *name);

/* grants */
const smart_scope_t *smart_grant_full(smart_policy_ctx_t *c, unsigned ctx,
    int t, unsigned need);
size_t smart_grant_granular(smart_policy_ctx_t *c, unsigned ctx, int t,
    unsigned need, const smart_scope_t **out);
const smart_scope_t *smart_grant_patient(smart_policy_ctx_t *c, int t,
    unsigned need);
int smart_context_missing(smart_policy_ctx_t *c, int t, unsigned need,
    const char *why, smart_policy_res_t *r);
void smart_offer_context_missing(smart_policy_ctx_t *c, int t, unsigned need,
    smart_policy_res_t *best);
void smart_offer_granular_refusal(smart_policy_ctx_t *c, int t,
    unsigned need, const char *why, smart_policy_res_t *best);

/* the patient compartment */
int smart_is_criteria(const smart_fhir_req_t *req,
    const smart_fhir_param_t *pa);
int smart_patient_param(int t, const char *name, int *exclusive);
int smart_pin_status(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t);
int smart_narrow_param(smart_policy_ctx_t *c, int t, smart_policy_res_t *r);


/* --- smart_policy_search.c ------------------------------------------------ */

int smart_params_recognised(const smart_fhir_req_t *req, smart_policy_res_t *r);
int smart_restriction_recognised(const smart_fhir_req_t *req, const char *name);
int smart_reaches_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req, int t,
    const char *needed, smart_policy_res_t *r);
int smart_patient_features_denied(const smart_fhir_req_t *req,
    const char *needed, smart_policy_res_t *r);
void smart_decide_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best);
void smart_decide_search_system(smart_policy_ctx_t *c,
    const smart_fhir_req_t *req, smart_policy_res_t *best);
void smart_decide_paging(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best);


/* --- smart_policy_include.c ---------------------------------------------- */

int smart_includes_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int primary_pinned, int *check, smart_policy_res_t *r);


/* --- smart_policy_granular.c ---------------------------------------------- */

void smart_granular_search(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    int t, const smart_scope_t **g, size_t ng, const char *needed,
    smart_policy_res_t *r);
void smart_granular_read(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    unsigned need, int in_bundle, smart_policy_res_t *best);
int smart_granular_restrictions(smart_policy_ctx_t *c,
    const smart_fhir_req_t *req, const smart_policy_res_t *r,
    smart_decision_t *d);


/* --- smart_policy_write.c, smart_policy_op.c, smart_policy_bundle.c ------- */

void smart_decide_write(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, smart_policy_res_t *best);
void smart_decide_op(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    smart_policy_res_t *best);
void smart_decide_bundle(smart_policy_ctx_t *c, const json_t *body,
    int body_present, smart_decision_t *d, smart_policy_res_t *r);


/* --- smart_policy_precheck.c --------------------------------------------- */

int smart_precheck_possible(smart_policy_ctx_t *c, const char *needed,
    smart_policy_res_t *r);
void smart_res_allow_prechecked(smart_policy_ctx_t *c,
    const smart_fhir_req_t *req, const json_t *body,
    const smart_scope_t *granted, smart_policy_res_t *r);
void smart_precheck_entry(smart_policy_ctx_t *c, smart_decision_t *d,
    size_t n, size_t index, smart_policy_res_t *er);
int smart_precheck_fill(smart_decision_t *d, const smart_policy_res_t *r);
int smart_res_allow_binary(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const smart_scope_t *granted, smart_policy_res_t *r);


/* --- smart_policy.c ------------------------------------------------------- */

void smart_decide_req(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, int body_present, int in_bundle, smart_policy_res_t *r);

#endif /* SMART_POLICY_PRIVATE_H */
