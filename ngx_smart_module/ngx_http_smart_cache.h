
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: verified tokens remembered (ngx_http_smart_cache.c):
 * the shared token cache (smart_token_cache), the per-worker memo and the
 * per-worker cache of parsed scope sets.
 */

#ifndef _NGX_HTTP_SMART_CACHE_H_INCLUDED_
#define _NGX_HTTP_SMART_CACHE_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* directive: smart_token_cache */
char *ngx_http_smart_token_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

void ngx_http_smart_cache_key(ngx_http_smart_loc_conf_t *slcf,
    ngx_str_t *token, u_char *key);
ngx_int_t ngx_http_smart_cache_get(ngx_http_request_t *r, u_char *key,
    ngx_http_smart_claims_t *claims);
void ngx_http_smart_cache_put(ngx_http_request_t *r, u_char *key,
    ngx_http_smart_claims_t *claims);

ngx_int_t ngx_http_smart_memo_get(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *token,
    ngx_http_smart_claims_t *claims);
void ngx_http_smart_memo_put(ngx_http_smart_loc_conf_t *slcf,
    ngx_str_t *token, ngx_http_smart_claims_t *claims);

smart_scope_set_t *ngx_http_smart_scopes_get(ngx_str_t *scope,
    ngx_uint_t *owned);


#endif /* _NGX_HTTP_SMART_CACHE_H_INCLUDED_ */
