
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: key sources (ngx_http_smart_keys.c): JWKS and PEM
 * files, the HMAC secret, and the IdP's JWKS fetched by subrequest.
 */

#ifndef _NGX_HTTP_SMART_KEYS_H_INCLUDED_
#define _NGX_HTTP_SMART_KEYS_H_INCLUDED_


#include "ngx_http_smart_module.h"


typedef enum {
    NGX_HTTP_SMART_KEYS_READY = 0,
    NGX_HTTP_SMART_KEYS_WAIT,           /* fetch in flight; come back */
    NGX_HTTP_SMART_KEYS_UNAVAILABLE     /* configuration-invalid */
} ngx_http_smart_keys_state_e;


/* directives: smart_jwks_file, smart_key_file, smart_hmac_secret_file */
char *ngx_http_smart_load_keys(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* directive: smart_jwks_request */
char *ngx_http_smart_jwks_request(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* merge time: registers the location's JWKS source (one per distinct uri
   and refresh) in the main configuration and sets conf->jwks_index */
char *ngx_http_smart_jwks_register(ngx_conf_t *cf,
    ngx_http_smart_loc_conf_t *conf);
ngx_int_t ngx_http_smart_keys_init_process(ngx_cycle_t *cycle);

/* The key set to verify with; may start a JWKS fetch and ask to wait. */
ngx_http_smart_keys_state_e ngx_http_smart_keys_get(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t unknown_kid, const smart_keyset_t **ks);

/* Whether r is the module's own JWKS subrequest. */
ngx_uint_t ngx_http_smart_jwks_subrequest(ngx_http_request_t *r);

/* Filters: capture the JWKS subrequest's response instead of sending it. */
ngx_int_t ngx_http_smart_jwks_capture_header(ngx_http_request_t *r);
ngx_int_t ngx_http_smart_jwks_capture_body(ngx_http_request_t *r,
    ngx_chain_t *in);


#endif /* _NGX_HTTP_SMART_KEYS_H_INCLUDED_ */
