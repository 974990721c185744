
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the module's own refusals (ngx_http_smart_error.c).
 */

#ifndef _NGX_HTTP_SMART_ERROR_H_INCLUDED_
#define _NGX_HTTP_SMART_ERROR_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Access phase: logs "smart: <code>: <detail>", marks the context denied
   and sends the typed error; the handler returns what this returns. */
ngx_int_t ngx_http_smart_deny(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err, const char *detail);

/* Access phase: answers with the typed error and finalizes the request;
   NGX_DONE, or an HTTP status when even that fails. */
ngx_int_t ngx_http_smart_send_error(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err);

/* Filters: renders the typed body into ctx->body and sets the challenge
   and Cache-Control headers; the caller sends them. */
ngx_int_t ngx_http_smart_render_error(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err);

/* The body and challenge alone, without touching the headers. */
ngx_int_t ngx_http_smart_prepare_error(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err);

/* One issue naming Bundle.entry[index], refused for err. */
ngx_int_t ngx_http_smart_entry_issue(ngx_http_request_t *r,
    smart_oo_issue_t *issue, size_t index, smart_err_e err);


#endif /* _NGX_HTTP_SMART_ERROR_H_INCLUDED_ */
