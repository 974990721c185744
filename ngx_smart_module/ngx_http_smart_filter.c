
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: typed responses and response filters.
 *
 * The module's own refusals are rendered here from the core's catalogue.
 * The header filter puts the correlation ID on every response of a smart
 * request and swaps refusals NGINX produced in front of the module (a
 * duplicate Authorization header, a 413 in a smart location) for their
 * typed form; the body filter swaps the body to match.  Under smart_errors,
 * upstream failures and the failures NGINX produces in front of the
 * upstream are swapped the same way (docs/errors.md).  The
 * request body filter keeps inspected bodies within smart_body_max and in
 * memory.  JWKS subrequests are captured, never sent.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_cid.h"
#include "ngx_http_smart_error.h"
#include "ngx_http_smart_keys.h"
#include "ngx_http_smart_check.h"
#include "ngx_http_smart_precheck.h"
#include "ngx_http_smart_failure.h"
#include "ngx_http_smart_filter.h"


static ngx_int_t ngx_http_smart_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_uint_t ngx_http_smart_duplicate_authorization(
    ngx_http_request_t *r);
static smart_err_e ngx_http_smart_nginx_refusal(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_uint_t *status, const char **detail);
static smart_err_e ngx_http_smart_early_refusal(ngx_http_request_t *r,
    const char **detail);
static ngx_http_smart_ctx_t *ngx_http_smart_type_refusal(
    ngx_http_request_t *r, smart_err_e err, ngx_uint_t status,
    const char *detail);
static ngx_int_t ngx_http_smart_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_smart_explain(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_upstream_failure(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_loc_conf_t *slcf);
static void ngx_http_smart_strip_headers(ngx_http_request_t *r,
    ngx_uint_t status);
static void ngx_http_smart_drop_headers(ngx_http_request_t *r,
    ngx_uint_t status);
static ngx_uint_t ngx_http_smart_header_is(ngx_table_elt_t *h,
    const char *name);
static ngx_int_t ngx_http_smart_collect(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_smart_collect_done(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_emit(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_send_replaced(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_decorate(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_loc_conf_t *slcf);
static ngx_int_t ngx_http_smart_refuse_response(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err, const char *why);
static ngx_int_t ngx_http_smart_check_filter(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_chain_t *in);
static ngx_int_t ngx_http_smart_release(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_str_t *body, ngx_uint_t filtered);




static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;
static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


ngx_int_t
ngx_http_smart_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_smart_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_smart_body_filter;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_smart_request_body_filter;

    return NGX_OK;
}


/*
 * NGINX 1.22 refuses a repeated Authorization header itself, with a plain
 * 400, before any phase runs.  In a server with smart locations that answer
 * is turned into the typed token-invalid refusal.
 */

static ngx_uint_t
ngx_http_smart_duplicate_authorization(ngx_http_request_t *r)
{
    ngx_uint_t                  n;
    ngx_http_smart_srv_conf_t  *sscf;

    static ngx_str_t  authorization = ngx_string("Authorization");

    if (r != r->main || r->headers_out.status != NGX_HTTP_BAD_REQUEST) {
        return 0;
    }

    sscf = ngx_http_get_module_srv_conf(r, ngx_http_smart_module);
    if (sscf == NULL || !sscf->has_smart) {
        return 0;
    }

    (void) ngx_http_smart_find_header(r, &authorization, &n);

    return n > 1;
}


/*
 * Refusals NGINX produces itself, in front of the module's decision, are
 * typed as the module's own (docs/errors.md):
 *
 * - a repeated Authorization header (a 400 before any phase ran, in a
 *   server with smart locations) is token-invalid;
 * - a 413 special response in a smart location is request-too-large:
 *   client_max_body_size checked on Content-Length while the location is
 *   found (before the access phase), or on a chunked body while it is read,
 *   or smart_body_max enforced on a body being read by the request body
 *   filter below.  An upstream's own 413 is left to smart_errors;
 * - the other refusals NGINX makes before the module saw the request, in a
 *   smart context (ngx_http_smart_early_refusal()).
 *
 * Returns SMART_ERR__COUNT for any other response, or when the response is
 * typed already.  *status is the status to send, *detail the log text, NULL
 * when the refusal was logged where it was made.
 */

static smart_err_e
ngx_http_smart_nginx_refusal(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t *status, const char **detail)
{
    smart_err_e                 err;
    ngx_http_upstream_t        *u;
    const smart_err_entry_t    *e;
    ngx_http_smart_loc_conf_t  *slcf;

    *detail = NULL;
    *status = 0;

    if (ctx != NULL && (ctx->denied || ctx->replace)) {
        return SMART_ERR__COUNT;
    }

    if (ctx == NULL && ngx_http_smart_duplicate_authorization(r)) {
        e = smart_err_get(SMART_ERR_TOKEN_INVALID);
        if (e == NULL) {
            return SMART_ERR__COUNT;
        }

        *detail = "more than one Authorization header";
        *status = e->status;
        return SMART_ERR_TOKEN_INVALID;
    }

    if (ctx == NULL || !ctx->allowed) {
        err = ngx_http_smart_early_refusal(r, detail);

        if (err != SMART_ERR__COUNT) {
            *status = r->headers_out.status;
            return err;
        }
    }

    if (r->err_status != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
        || r->headers_out.status != NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
    {
        return SMART_ERR__COUNT;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);
    if (slcf == NULL || !slcf->enable) {
        return SMART_ERR__COUNT;
    }

    /* proxy_intercept_errors: the upstream answered 413 */

    u = r->upstream;
    if (u != NULL && u->headers_in.status_n != 0) {
        return SMART_ERR__COUNT;
    }

    /* the request body filter logged its own refusal */

    e = smart_err_get(SMART_ERR_REQUEST_TOO_LARGE);

    if (ctx == NULL || e == NULL
        || ctx->reason.len != ngx_strlen(e->code)
        || ngx_strncmp(ctx->reason.data, e->code, ctx->reason.len) != 0)
    {
        *detail = "NGINX answered 413 (client_max_body_size)";
    }

    *status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;

    return SMART_ERR_REQUEST_TOO_LARGE;
}


/*
 * The special responses NGINX makes before the module has decided (no
 * module context: the access phase never ran; or one still reading the
 * body it inspects), in a context with "smart on".  Those NGINX makes
 * while reading the request line or headers are answered in the server's
 * context (r->loc_conf is the server{} one of the server chosen so far),
 * so they are typed only where "smart on" is set at server level:
 *
 *   request line: 400 (malformed line, invalid URI, HTTP/0.9 other than
 *   GET), 414 (line over large_client_header_buffers), 505 (HTTP/2+ on an
 *   HTTP/1 port);
 *   headers: 400 (invalid or repeated Host, no Host in HTTP/1.1, invalid
 *   Content-Length, Content-Length with chunked, Transfer-Encoding in
 *   HTTP/1.0, a malformed header line; 494 header too large, sent as 400),
 *   405 (TRACE, CONNECT), 501 (unknown Transfer-Encoding).
 *
 * The same statuses made in a smart location before the access phase
 * decided (a rewrite-phase "return", an invalid chunked body the access
 * phase reads) are typed as well.  NGINX's status is kept: 414 is
 * request-too-large, every other one request-invalid.  Timeouts and closed
 * connections get no response at all.
 */

static smart_err_e
ngx_http_smart_early_refusal(ngx_http_request_t *r, const char **detail)
{
    smart_err_e                 err;
    ngx_http_smart_loc_conf_t  *slcf;

    if (r != r->main || r->upstream != NULL || r->err_status == 0
        || r->err_status != r->headers_out.status)
    {
        return SMART_ERR__COUNT;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);
    if (slcf == NULL || !slcf->enable) {
        return SMART_ERR__COUNT;
    }

    err = SMART_ERR_REQUEST_INVALID;

    switch (r->err_status) {

    case NGX_HTTP_BAD_REQUEST:
        *detail = "NGINX answered 400 before the module decided";
        break;

    case NGX_HTTP_NOT_ALLOWED:
        *detail = "NGINX answered 405 before the module decided";
        break;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        *detail = "NGINX answered 414 before the module decided";
        err = SMART_ERR_REQUEST_TOO_LARGE;
        break;

    case NGX_HTTP_NOT_IMPLEMENTED:
        *detail = "NGINX answered 501 before the module decided";
        break;

    case NGX_HTTP_VERSION_NOT_SUPPORTED:
        *detail = "NGINX answered 505 before the module decided";
        break;

    default:
        return SMART_ERR__COUNT;
    }

    return err;
}


/*
 * Turns the response NGINX produced into the module's typed refusal: the
 * request context and correlation ID are made here when the access phase
 * never ran, the body is rendered as for the access phase's refusals, and
 * the body filter sends it in place of NGINX's.  Keepalive, lingering close
 * and the discarding of the request body stay as the special response set
 * them.
 */

static ngx_http_smart_ctx_t *
ngx_http_smart_type_refusal(ngx_http_request_t *r, smart_err_e err,
    ngx_uint_t status, const char *detail)
{
    const smart_err_entry_t    *e;
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_loc_conf_t  *slcf;

    e = smart_err_get(err);
    ctx = ngx_http_smart_get_ctx(r);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (e == NULL || ctx == NULL
        || ngx_http_smart_correlation(r, slcf, ctx) != NGX_OK
        || ngx_http_smart_render_error(r, ctx, err) != NGX_OK)
    {
        return NULL;
    }

    if (detail != NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "smart: %s: %s, correlation id \"%V\"",
                      e->code, detail, &ctx->cid);
    }

    ctx->denied = 1;
    ctx->allowed = 0;
    ctx->replace = 1;

    /* $status and the audit record show the status sent */

    if (r->err_status) {
        r->err_status = status;
    }

    r->headers_out.status = status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = ctx->body.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return ctx;
}


static ngx_int_t
ngx_http_smart_header_filter(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_uint_t                  status;
    const char                 *detail;
    smart_err_e                 err;
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_loc_conf_t  *slcf;

    if (r != r->main) {
        /* the module's own subrequests are captured, never sent */

        if (ngx_http_smart_jwks_subrequest(r)) {
            return ngx_http_smart_jwks_capture_header(r);
        }

        if (ngx_http_smart_precheck_subrequest(r)) {
            return ngx_http_smart_precheck_capture_header(r);
        }

        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_smart_find_ctx(r);

    err = ngx_http_smart_nginx_refusal(r, ctx, &status, &detail);

    if (err != SMART_ERR__COUNT) {
        ctx = ngx_http_smart_type_refusal(r, err, status, detail);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (ctx == NULL || ctx->cid.len == 0) {
        return ngx_http_next_header_filter(r);
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (ngx_http_smart_upstream_failure(r, ctx, slcf) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ctx->check && !ctx->replace) {
        rc = ngx_http_smart_check_header(r, ctx, slcf, &detail);

        if (rc == NGX_OK) {
            /* held: the header goes out once the body is checked */
            return NGX_OK;
        }

        if (rc == NGX_ABORT
            && ngx_http_smart_refuse_response(r, ctx,
                                              SMART_ERR_RESPONSE_UNVERIFIABLE,
                                              detail)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_smart_decorate(r, ctx, slcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->collect) {
        /* the header goes out with the body, once the upstream's is read */
        return NGX_OK;
    }

    return ngx_http_next_header_filter(r);
}


/* The correlation header on every response; X-Smart-Decision. */

static ngx_int_t
ngx_http_smart_decorate(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_loc_conf_t *slcf)
{
    if (ngx_http_smart_set_out_header(r, &slcf->correlation_header, &ctx->cid)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (slcf->explain && (ctx->allowed || ctx->denied)
        && ngx_http_smart_explain(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A checked response that is not released: the typed refusal replaces it
 * (header and body), and the decision becomes a refusal for the audit
 * record, $smart_decision and the counters.
 */

static ngx_int_t
ngx_http_smart_refuse_response(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err, const char *why)
{
    ngx_uint_t                status, level;
    const smart_err_entry_t  *e;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    e = smart_err_get(err);
    if (e == NULL) {
        return NGX_ERROR;
    }

    status = (ngx_uint_t) e->status;

    level = (err == SMART_ERR_PATIENT_MISMATCH) ? NGX_LOG_WARN : NGX_LOG_ERR;

    ngx_log_error(level, r->connection->log, 0,
                  "smart: %s: upstream status %ui, %s, correlation id "
                  "\"%V\"", e->code, r->headers_out.status,
                  why ? why : "response refused", &ctx->cid);

    ngx_http_smart_strip_headers(r, status);

    if (r->err_status) {
        r->err_status = status;
    }

    r->headers_out.status = status;
    ngx_str_null(&r->headers_out.status_line);

    ctx->check = 0;
    ctx->checking = 0;
    ctx->allowed = 0;
    ctx->denied = 1;
    ctx->replace = 1;
    ctx->extra = NULL;
    ctx->nextra = 0;
    ngx_str_null(&ctx->scope_needed);

    if (ngx_http_smart_prepare_error(r, ctx, err) != NGX_OK
        || ngx_http_smart_set_out_header(r, &cache_control, &no_store)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.content_length_n = ctx->body.len;

    return NGX_OK;
}


/*
 * Body filter, a held response: once whole, it is checked and either
 * released (as sent, or with included entries withheld) or refused.
 */

static ngx_int_t
ngx_http_smart_check_filter(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_chain_t *in)
{
    ngx_int_t                   rc;
    ngx_str_t                   body;
    const char                 *why;
    smart_err_e                 err;
    smart_response_t            res;
    ngx_http_smart_loc_conf_t  *slcf;

    why = NULL;
    rc = ngx_http_smart_check_body(r, ctx, in, &why);

    if (rc == NGX_AGAIN && ngx_http_smart_check_ended(r, in)) {
        /*
         * The upstream is gone without the last byte (reset, timeout,
         * early close): NGINX finalizes with a flush, never a last buffer.
         * The held header was never sent: answer typed instead.
         */
        rc = NGX_ABORT;
        why = "the upstream ended before the whole body";
    }

    if (rc == NGX_AGAIN) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    err = SMART_ERR_RESPONSE_UNVERIFIABLE;

    if (rc == NGX_OK) {
        if (ngx_http_smart_check_run(r, ctx, &res) != NGX_OK) {
            return NGX_ERROR;
        }

        body.data = ctx->ck_body;
        body.len = ctx->ck_len;
        why = res.why;

        switch (res.verdict) {

        case SMART_RESPONSE_RELEASE:
            return ngx_http_smart_release(r, ctx, &body, 0);

        case SMART_RESPONSE_RELEASE_FILTERED:
            body.len = res.body_len;
            body.data = ngx_pnalloc(r->pool, body.len);

            if (body.data == NULL) {
                smart_response_free(&res);
                return NGX_ERROR;
            }

            ngx_memcpy(body.data, res.body, body.len);
            smart_response_free(&res);

            return ngx_http_smart_release(r, ctx, &body, 1);

        case SMART_RESPONSE_MISMATCH:
            /* another patient's, or outside every granular restriction */
            err = (res.reason == SMART_ERR_SCOPE_INSUFFICIENT)
                  ? SMART_ERR_SCOPE_INSUFFICIENT : SMART_ERR_PATIENT_MISMATCH;
            break;

        default:
            break;
        }

        smart_response_free(&res);
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (ngx_http_smart_refuse_response(r, ctx, err, why) != NGX_OK
        || ngx_http_smart_decorate(r, ctx, slcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_smart_send_replaced(r, ctx);
}


/* Sends the held header and the checked body as the whole response. */

static ngx_int_t
ngx_http_smart_release(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_str_t *body, ngx_uint_t filtered)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ngx_http_clear_content_length(r);
    r->headers_out.content_length_n = body->len;

    /* the range body filter runs above this one: the whole body or none */
    r->allow_ranges = 0;

    /* the client's Accept-Encoding back, for gzip towards it */
    ngx_http_smart_check_restore(r, ctx);

    if (filtered) {
        /* the server's validators describe the body it sent */
        ngx_http_clear_etag(r);
        ngx_http_clear_last_modified(r);
    }

    if (ngx_http_smart_decorate(r, ctx,
                                ngx_http_get_module_loc_conf(
                                    r, ngx_http_smart_module))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = (body->len > 0);
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/* smart_explain: "allow ok" or "deny <reason>", for sandbox and support. */

static ngx_int_t
ngx_http_smart_explain(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   value;

    static ngx_str_t  name = ngx_string("X-Smart-Decision");

    value.len = sizeof("allow ") - 1 + ctx->reason.len;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(value.data, ctx->denied ? "deny " : "allow ",
                   ctx->denied ? sizeof("deny ") - 1 : sizeof("allow ") - 1);
    p = ngx_cpymem(p, ctx->reason.data, ctx->reason.len);
    value.len = p - value.data;

    return ngx_http_smart_set_out_header(r, &name, &value);
}


static ngx_int_t
ngx_http_smart_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t           *cl;
    ngx_http_smart_ctx_t  *ctx;

    if (r != r->main) {
        if (ngx_http_smart_jwks_subrequest(r)) {
            return ngx_http_smart_jwks_capture_body(r, in);
        }

        if (ngx_http_smart_precheck_subrequest(r)) {
            return ngx_http_smart_precheck_capture_body(r, in);
        }

        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_smart_find_ctx(r);

    if (ctx != NULL && ctx->checking) {
        return ngx_http_smart_check_filter(r, ctx, in);
    }

    if (ctx == NULL || !ctx->replace) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->collect) {
        return ngx_http_smart_collect(r, ctx, in);
    }

    /* the original body is consumed and dropped */

    for (cl = in; cl != NULL; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (r->header_only) {
        return NGX_OK;
    }

    if (ctx->replaced) {
        /* lets anything still buffered below go out */
        return ngx_http_next_body_filter(r, NULL);
    }

    return ngx_http_smart_emit(r, ctx);
}


/* Sends the held header of a replaced response, then the typed body. */

static ngx_int_t
ngx_http_smart_send_replaced(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ctx->replaced = 1;
        return rc;
    }

    return ngx_http_smart_emit(r, ctx);
}


/* Sends the typed body, once, as the whole response body. */

static ngx_int_t
ngx_http_smart_emit(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ctx->replaced = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/*
 * Request bodies the access phase reads for inspection (POST, PUT, PATCH in
 * a smart location) must stay in memory: anything the module cannot hold
 * is refused before NGINX writes it to a temporary file.  Content-Length is
 * checked against smart_body_max before reading; a chunked body (or an
 * HTTP/2 body without a length) is refused here as soon as what it has
 * sent, plus what its current chunk announces, is above smart_body_max, or
 * as soon as its raw bytes (chunk framing included) fill the read buffer
 * (client_body_buffer_size, at least smart_body_max) while more is to
 * come: the point at which the save filter would spill the body to disk.
 * The 413 is finalized by NGINX and typed by the header filter.
 */

static ngx_int_t
ngx_http_smart_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    off_t                       size, max;
    const char                 *detail;
    const smart_err_entry_t    *e;
    ngx_http_request_body_t    *rb;
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_loc_conf_t  *slcf;

    rb = r->request_body;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_smart_module);

    if (r != r->main || rb == NULL || slcf == NULL || !slcf->enable
        || ctx == NULL || ctx->allowed || ctx->denied
        || !(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH)))
    {
        return ngx_http_next_request_body_filter(r, in);
    }

    max = (off_t) slcf->body_max;

    if (r->headers_in.chunked) {
        /* the chunked filter counts the decoded bytes here */
        size = r->headers_in.content_length_n;

    } else if (r->headers_in.content_length_n >= 0) {
        size = r->headers_in.content_length_n;

    } else {
        size = rb->received;
    }

    detail = NULL;

    if (size > max
        || (r->headers_in.chunked && rb->chunked != NULL
            && rb->chunked->size > max - size))
    {
        detail = "request body above smart_body_max while reading";

    } else if (rb->rest > 0 && rb->buf != NULL
               && rb->buf->last == rb->buf->end
               && (rb->bufs != NULL || in != NULL))
    {
        detail = "request body does not fit in the read buffer "
                 "(client_body_buffer_size)";
    }

    if (detail == NULL) {
        return ngx_http_next_request_body_filter(r, in);
    }

    e = smart_err_get(SMART_ERR_REQUEST_TOO_LARGE);
    if (e == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "smart: %s: %s, correlation id \"%V\"",
                  e->code, detail, &ctx->cid);

    /* the header filter types the 413 and does not log it again */

    ctx->err = SMART_ERR_REQUEST_TOO_LARGE;
    ctx->reason.data = (u_char *) e->code;
    ctx->reason.len = ngx_strlen(e->code);

    /* the rest of the body is read and dropped after the response */

    r->lingering_close = 1;

    return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
}


/*
 * smart_errors: an upstream failure, or one NGINX produced in front of the
 * upstream (refused, reset, timed out, malformed reply), becomes the typed
 * OperationOutcome of docs/errors.md.  Returns NGX_DECLINED when the
 * response is not replaced, NGX_OK when it is (ctx->replace; ctx->collect
 * when the header must wait for the upstream body), NGX_ERROR.
 */

static ngx_int_t
ngx_http_smart_upstream_failure(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_loc_conf_t *slcf)
{
    ngx_str_t                *ct;
    ngx_uint_t                status, upstream, issues, level;
    smart_err_e               err;
    const smart_err_entry_t  *e;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    /*
     * A checked response's failures are typed even with smart_errors off:
     * an error body may name the record the check would have refused.
     */

    if (!slcf->enable || (!slcf->errors && !ctx->check) || !ctx->allowed
        || ctx->denied || ctx->replace
        || r->headers_out.status < NGX_HTTP_BAD_REQUEST)
    {
        return NGX_DECLINED;
    }

    upstream = ngx_http_smart_from_upstream(r);

    if (ngx_http_smart_failure_map(r, ctx, upstream, &err, &status, &issues)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    e = smart_err_get(err);
    if (e == NULL) {
        return NGX_ERROR;
    }

    level = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) ? NGX_LOG_WARN
                                                       : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0,
                  "smart: %s: %s status %ui, request %s upstream, "
                  "correlation id \"%V\"",
                  e->code, upstream ? "upstream" : "gateway",
                  r->headers_out.status,
                  (upstream || (r->upstream && r->upstream->request_sent))
                  ? "sent" : "not sent",
                  &ctx->cid);

    ct = &r->headers_out.content_type;
    ctx->up_json = (ct->len > 0
                    && ngx_strlcasestrn(ct->data, ct->data + ct->len,
                                        (u_char *) "json", 4 - 1)
                       != NULL);
    ctx->up_expect = r->headers_out.content_length_n;

    ngx_http_smart_strip_headers(r, status);

    /* $status and the audit record show the status sent */

    if (r->err_status) {
        r->err_status = status;
    }

    r->headers_out.status = status;
    ngx_str_null(&r->headers_out.status_line);

    ctx->err = err;
    ctx->reason.data = (u_char *) e->code;
    ctx->reason.len = ngx_strlen(e->code);
    ctx->replace = 1;
    ctx->extra = NULL;
    ctx->nextra = 0;

    if (ngx_http_smart_set_out_header(r, &cache_control, &no_store)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a checked read's upstream issues may describe the record: never */

    if (issues && upstream && ctx->up_json && !ctx->check
        && r->method != NGX_HTTP_HEAD && !r->header_only
        && ctx->up_expect <= NGX_HTTP_SMART_UP_BODY_MAX)
    {
        ctx->collect = 1;
        r->headers_out.content_length_n = -1;
        return NGX_OK;
    }

    if (ngx_http_smart_prepare_error(r, ctx, err) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.content_length_n = ctx->body.len;

    return NGX_OK;
}












/*
 * A replaced response keeps none of the upstream's headers but the ones
 * the app needs to act on: Retry-After (429, 503), ETag (412),
 * WWW-Authenticate (401), Allow (405).  Everything else (Server,
 * X-Powered-By, X-AspNet-Version, X-Runtime, X-Debug-*, stack-trace
 * headers, Via, Set-Cookie, Content-Encoding, Location, ...) is dropped, as
 * is the upstream's reason phrase.  Headers the configuration adds
 * (add_header) are added after this filter and are kept.
 */

static void
ngx_http_smart_strip_headers(ngx_http_request_t *r, ngx_uint_t status)
{
    if (ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_OUT)) {
        ngx_http_smart_drop_headers(r, status);
    }

    r->headers_out.server = NULL;
    r->headers_out.date = NULL;
    r->headers_out.content_length = NULL;
    r->headers_out.content_encoding = NULL;
    r->headers_out.location = NULL;
    r->headers_out.refresh = NULL;
    r->headers_out.last_modified = NULL;
    r->headers_out.last_modified_time = -1;
    r->headers_out.content_range = NULL;
    r->headers_out.accept_ranges = NULL;
    r->headers_out.expires = NULL;
#if (nginx_version >= 1023000)
    r->headers_out.cache_control = NULL;
    r->headers_out.link = NULL;
#else
    r->headers_out.cache_control.nelts = 0;
    r->headers_out.link.nelts = 0;
#endif
    r->allow_ranges = 0;

    if (status != NGX_HTTP_UNAUTHORIZED) {
        r->headers_out.www_authenticate = NULL;
    }

    if (status != NGX_HTTP_PRECONDITION_FAILED) {
        r->headers_out.etag = NULL;
    }

    ngx_str_null(&r->headers_out.charset);
    r->headers_out.override_charset = NULL;
}


/* Marks every header the replaced response does not keep as deleted. */

static void
ngx_http_smart_drop_headers(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_uint_t              keep;
    ngx_table_elt_t        *h;
    ngx_http_smart_walk_t   w;

    ngx_http_smart_walk_init(&w, &r->headers_out.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {

        if (h->hash == 0) {
            continue;
        }

        keep = ((status == NGX_HTTP_TOO_MANY_REQUESTS
                 || status == NGX_HTTP_SERVICE_UNAVAILABLE)
                && ngx_http_smart_header_is(h, "Retry-After"))
               || (status == NGX_HTTP_PRECONDITION_FAILED
                   && ngx_http_smart_header_is(h, "ETag"))
               || (status == NGX_HTTP_UNAUTHORIZED
                   && ngx_http_smart_header_is(h, "WWW-Authenticate"))
               || (status == NGX_HTTP_NOT_ALLOWED
                   && ngx_http_smart_header_is(h, "Allow"));

        if (!keep) {
            h->hash = 0;
        }
    }
}


static ngx_uint_t
ngx_http_smart_header_is(ngx_table_elt_t *h, const char *name)
{
    size_t  len;

    len = ngx_strlen(name);

    return h->key.len == len
           && ngx_strncasecmp(h->key.data, (u_char *) name, len) == 0;
}


/*
 * Reads the upstream body of a 400/404/410/422 into a bounded buffer,
 * consuming every buffer as it passes; on the last one the typed response
 * goes out.  Data only in a file (proxy temporary file) counts as too large:
 * reading it back could block the worker.
 */

static ngx_int_t
ngx_http_smart_collect(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_chain_t *in)
{
    size_t        n;
    ngx_buf_t    *b;
    ngx_uint_t    last;
    ngx_chain_t  *cl;

    last = 0;

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            n = (size_t) (b->last - b->pos);

            if (n > 0 && !ctx->up_overflow) {

                if (ctx->up_body == NULL) {
                    ctx->up_cap = (ctx->up_expect >= 0)
                                  ? (size_t) ctx->up_expect
                                  : NGX_HTTP_SMART_UP_BODY_MAX;

                    ctx->up_body = ngx_pnalloc(r->pool, ctx->up_cap + 1);
                    if (ctx->up_body == NULL) {
                        return NGX_ERROR;
                    }
                }

                if (n > ctx->up_cap - ctx->up_len) {
                    ctx->up_overflow = 1;

                } else {
                    ngx_memcpy(ctx->up_body + ctx->up_len, b->pos, n);
                    ctx->up_len += n;
                }
            }

        } else if (ngx_buf_size(b) > 0) {
            ctx->up_overflow = 1;
        }

        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }

        if (b->last_buf) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    return ngx_http_smart_collect_done(r, ctx);
}


static ngx_int_t
ngx_http_smart_collect_done(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    json_t     *root;
    ngx_int_t   rc;

    ctx->collect = 0;
    root = NULL;

    rc = ngx_http_smart_upstream_issues(r, ctx, &root);

    if (rc == NGX_OK) {
        rc = ngx_http_smart_prepare_error(r, ctx, ctx->err);
    }

    /* the issues point into root: gone with it */

    ctx->extra = NULL;
    ctx->nextra = 0;

    if (root != NULL) {
        json_decref(root);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.content_length_n = ctx->body.len;

    return ngx_http_smart_send_replaced(r, ctx);
}




