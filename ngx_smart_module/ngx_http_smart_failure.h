
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the catalogue row of a failed response
 * (ngx_http_smart_failure.c).
 */

#ifndef _NGX_HTTP_SMART_FAILURE_H_INCLUDED_
#define _NGX_HTTP_SMART_FAILURE_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Upstream bodies read for their OperationOutcome issues (400, 404, 410,
   422) are bounded; a larger one gives the catalogue issue alone. */
#define NGX_HTTP_SMART_UP_BODY_MAX      (64 * 1024)


/* Whether the failed response is the upstream's own (else NGINX's). */
ngx_uint_t ngx_http_smart_from_upstream(ngx_http_request_t *r);

/* The catalogue row *err and the status sent; *issues: the upstream's own
   issues may follow.  NGX_DECLINED: not replaced. */
ngx_int_t ngx_http_smart_failure_map(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_uint_t upstream, smart_err_e *err,
    ngx_uint_t *status, ngx_uint_t *issues);

/* The upstream's OperationOutcome issues from ctx->up_body into
   ctx->extra; *root owns their strings, released by the caller. */
ngx_int_t ngx_http_smart_upstream_issues(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, json_t **root);


#endif /* _NGX_HTTP_SMART_FAILURE_H_INCLUDED_ */
