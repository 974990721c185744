
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the response check (ngx_http_smart_check.c).
 */

#ifndef _NGX_HTTP_SMART_CHECK_H_INCLUDED_
#define _NGX_HTTP_SMART_CHECK_H_INCLUDED_


#include "ngx_http_smart_module.h"
#include "smart_response.h"


/* Access phase: ask the upstream for identity-encoded FHIR JSON;
   NGX_DECLINED when the client asked for XML. */
ngx_int_t ngx_http_smart_check_prepare(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);

/* Before the released header goes out: the client's Accept-Encoding. */
void ngx_http_smart_check_restore(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);

/* Body filter, no last buffer yet: the upstream ended without it. */
ngx_uint_t ngx_http_smart_check_ended(ngx_http_request_t *r,
    ngx_chain_t *in);

/* Header filter: NGX_DECLINED nothing to check, NGX_OK hold the header,
   NGX_ABORT the response cannot be checked (*why). */
ngx_int_t ngx_http_smart_check_header(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_loc_conf_t *slcf,
    const char **why);

/* Body filter: NGX_AGAIN until the last buffer, then NGX_OK (the body is
   in ctx->ck_body) or NGX_ABORT (*why). */
ngx_int_t ngx_http_smart_check_body(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_chain_t *in, const char **why);

/* The core's verdict on the held body; free *out with
   smart_response_free(). */
ngx_int_t ngx_http_smart_check_run(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_response_t *out);


#endif /* _NGX_HTTP_SMART_CHECK_H_INCLUDED_ */
