
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: correlation IDs (ngx_http_smart_cid.c).
 */

#ifndef _NGX_HTTP_SMART_CID_H_INCLUDED_
#define _NGX_HTTP_SMART_CID_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Draws this worker's random ID prefix; init_process. */
ngx_int_t ngx_http_smart_cid_init_process(ngx_cycle_t *cycle);

/* Sets ctx->cid once per request (the client's valid ID or a new one) and
   puts it in the request headers the upstream will see. */
ngx_int_t ngx_http_smart_correlation(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx);

/* The same, when the caller already walked the headers: h is the first
   correlation header (or NULL) and n how many the request has. */
ngx_int_t ngx_http_smart_correlation_with(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_table_elt_t *h, ngx_uint_t n);


#endif /* _NGX_HTTP_SMART_CID_H_INCLUDED_ */
