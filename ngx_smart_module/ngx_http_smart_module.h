
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: NGINX glue shared between the module's files.
 *
 * Configuration structures are built at load time and never written while
 * requests are served; per-request state lives in ngx_http_smart_ctx_t and
 * per-worker state in ngx_http_smart_worker (created in init_process).
 */

#ifndef _NGX_HTTP_SMART_MODULE_H_INCLUDED_
#define _NGX_HTTP_SMART_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "smart_jwks.h"
#include "smart_jwt.h"
#include "smart_errors.h"
#include "smart_text.h"
#include "smart_fhir.h"
#include "smart_scope.h"
#include "smart_policy.h"


/* the module's release (debian/changelog has the same) */
#define NGX_HTTP_SMART_VERSION  "0.2.0"


#define NGX_HTTP_SMART_FP_LEN           32      /* SHA-256 */
#define NGX_HTTP_SMART_JWKS_EARLY       30      /* s between kid refreshes */
#define NGX_HTTP_SMART_JWKS_RETRY       1000    /* ms after a failed fetch */
#define NGX_HTTP_SMART_JWKS_WAIT        10000   /* ms a request may wait */
#define NGX_HTTP_SMART_JWKS_POLL        10      /* ms between wait checks */


#define ngx_http_smart_isalnum(c)                                             \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')                 \
     || ((c) >= 'A' && (c) <= 'Z'))


/* A JWKS fetched by subrequest: one per distinct (uri, refresh). */
typedef struct {
    ngx_str_t                   uri;
    ngx_msec_t                  refresh;
    ngx_uint_t                  index;
} ngx_http_smart_jwks_src_t;


typedef struct {
    ngx_array_t                 jwks_srcs;      /* ngx_http_smart_jwks_src_t */
    ngx_shm_zone_t             *cache_zone;
} ngx_http_smart_main_conf_t;


typedef struct {
    ngx_flag_t                  has_smart;      /* some smart location */
} ngx_http_smart_srv_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_str_t                   fhir_base;
    ngx_str_t                   fhir_base_url;  /* absolute, no '/' at end */

    ngx_array_t                *issuers;        /* smart_str_t */
    ngx_array_t                *audiences;      /* smart_str_t */

    /* key sources; inherited as one group */
    smart_keyset_t             *keyset;         /* files, PEM, HMAC */
    ngx_uint_t                  has_public;     /* jwks_file or key_file */
    ngx_uint_t                  has_hmac;
    ngx_int_t                   jwks_index;     /* -1: no jwks_request */
    ngx_str_t                   jwks_uri;
    ngx_msec_t                  jwks_refresh;
    ngx_array_t                *key_material;   /* ngx_str_t, for the fp */

    ngx_uint_t                  algorithms;
    ngx_uint_t                  algorithms_set;
    time_t                      leeway;
    ngx_str_t                   scope_claim;    /* NUL-terminated */
    ngx_str_t                   patient_claim;  /* NUL-terminated */
    ngx_str_t                   correlation_header;
    ngx_str_t                   correlation_lc; /* lowercase, for lookup */
    ngx_str_t                   error_contact;  /* NUL-terminated */
    ngx_flag_t                  explain;
    ngx_flag_t                  forward_token;  /* smart_forward_token */
    ngx_array_t                *require;        /* smart_require:
                                                   ngx_http_complex_value_t */
    ngx_flag_t                  errors;         /* smart_errors */
    size_t                      body_max;
    ngx_uint_t                  patient_search;
    ngx_array_t                *operations;     /* smart_policy_op_t */
    ngx_uint_t                  response_check; /* SMART_RESPONSE_CHECK_* */
    size_t                      response_check_max;
    ngx_str_t                   precheck_uri;   /* smart_precheck_request */
    ngx_uint_t                  precheck_max;
    smart_policy_conf_t         policy_conf;    /* derived at merge */

    /* derived at merge time, read-only afterwards */
    smart_jwt_policy_t          policy;         /* now is set per request */
    u_char                      fp[NGX_HTTP_SMART_FP_LEN];
} ngx_http_smart_loc_conf_t;


/* Claims kept per request, copied into the request pool. */
typedef struct {
    ngx_str_t                   iss;
    ngx_str_t                   sub;
    ngx_str_t                   client_id;
    ngx_str_t                   patient;
    ngx_str_t                   fhir_user;
    ngx_str_t                   scope;
    ngx_str_t                   jti;
    time_t                      exp;
    time_t                      nbf;
    time_t                      iat;
} ngx_http_smart_claims_t;


typedef struct {
    ngx_str_t                   cid;
    ngx_str_t                   token;
    ngx_http_smart_claims_t     claims;
    json_t                     *payload;        /* lazy, $smart_claim_ */

    /* the FHIR request, as classified (empty until classification) */
    ngx_str_t                   resource;       /* $smart_resource */
    ngx_str_t                   interaction;    /* $smart_interaction */
    ngx_str_t                   resource_id;

    smart_err_e                 err;            /* valid when denied */
    ngx_str_t                   reason;         /* "ok" or a catalogue code */
    ngx_str_t                   scope_needed;
    smart_oo_issue_t           *extra;          /* issues after the first */
    size_t                      nextra;

    smart_fhir_req_t           *req;            /* the classification */
    smart_decision_t           *decision;       /* until the pool goes */
    ngx_str_t                   req_body;       /* request body, if read */

    ngx_event_t                 wait;           /* JWKS wait poll */
    ngx_msec_t                  wait_start;

    /* response replacement (filters) */
    ngx_str_t                   body;           /* the typed body */
    ngx_str_t                   www_authenticate;
    u_char                     *up_body;        /* upstream body, bounded */
    size_t                      up_len;
    size_t                      up_cap;
    off_t                       up_expect;      /* its Content-Length or -1 */

    ngx_http_smart_loc_conf_t  *verified_by;    /* policy of the check */

    /* the response check (ngx_http_smart_check.c) */
    u_char                     *ck_body;        /* the held body */
    size_t                      ck_len;
    size_t                      ck_cap;
    off_t                       ck_expect;      /* Content-Length or -1 */
    ngx_str_t                   ck_ae;          /* client Accept-Encoding */

    void                       *pre;            /* pre-reads, precheck.c */

    unsigned                    verified:1;
    unsigned                    allowed:1;
    unsigned                    denied:1;
    unsigned                    jwks_started:1;
    unsigned                    jwks_done:1;
    unsigned                    kid_refreshed:1;
    unsigned                    waiting:1;
    unsigned                    replace:1;      /* body filter swaps body */
    unsigned                    replaced:1;
    unsigned                    body_done:1;
    unsigned                    collect:1;      /* header waits for body */
    unsigned                    up_overflow:1;  /* body over the bound */
    unsigned                    up_json:1;      /* upstream said JSON */
    unsigned                    check:1;        /* response is checked */
    unsigned                    checking:1;     /* header held, body read */
    unsigned                    ck_overflow:1;  /* body over the bound */
} ngx_http_smart_ctx_t;


/* the gateway, and the audit trail with the counters (one .so) */
extern ngx_module_t  ngx_http_smart_module;
extern ngx_module_t  ngx_http_smart_audit_module;


#endif /* _NGX_HTTP_SMART_MODULE_H_INCLUDED_ */
