
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the pre-read of writes by id
 * (ngx_http_smart_precheck.c).
 */

#ifndef _NGX_HTTP_SMART_PRECHECK_H_INCLUDED_
#define _NGX_HTTP_SMART_PRECHECK_H_INCLUDED_


#include "ngx_http_smart_module.h"
#include "smart_response.h"


/* Access phase: NGX_OK (every pre-read proved its record the patient's),
   NGX_AGAIN (one in flight), NGX_DECLINED (refused: *err, *why). */
ngx_int_t ngx_http_smart_precheck(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    const smart_decision_t *d, smart_err_e *err, const char **why);

/* 1 when the access handler is back after one of this request's
   pre-reads: the decision in ctx stands. */
ngx_uint_t ngx_http_smart_precheck_pending(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx);

/* Whether r is a pre-read this module started. */
ngx_uint_t ngx_http_smart_precheck_subrequest(ngx_http_request_t *r);

/* Filters: capture a pre-read's answer instead of sending it. */
ngx_int_t ngx_http_smart_precheck_capture_header(ngx_http_request_t *r);
ngx_int_t ngx_http_smart_precheck_capture_body(ngx_http_request_t *r,
    ngx_chain_t *in);


#endif /* _NGX_HTTP_SMART_PRECHECK_H_INCLUDED_ */
