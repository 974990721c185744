
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the response check (docs/scopes.md, "Checked on the
 * response"; docs/directives.md, smart_response_check).
 *
 * A request the policy allowed on condition of its response (a read by id
 * under a patient scope, ...) is forwarded asking for identity-encoded
 * FHIR JSON.  Its 2xx response is held: the header waits, the body is
 * copied into one buffer of the request pool, bounded by
 * smart_response_check_max (the upstream is switched to unbuffered mode,
 * so no part of it is ever written to a temporary file), and handed whole
 * to the core's smart_response_check().  Only then does anything go to the
 * client: the body as the server sent it, the body with included entries
 * withheld, or a typed refusal (patient-mismatch, response-unverifiable).
 * A body that never completes is never released.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_check.h"


#define NGX_HTTP_SMART_CHECK_FIRST      (16 * 1024)


static ngx_uint_t ngx_http_smart_check_wants_xml(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_check_append(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_loc_conf_t *slcf,
    ngx_buf_t *b);
static void ngx_http_smart_check_hide(ngx_http_request_t *r);


/*
 * Access phase, a request whose response will be checked: the upstream
 * must answer the whole resource as FHIR JSON without compression, and
 * nothing may make it answer less (a 304, a range, a protocol switch).
 * NGX_DECLINED: the client asked for XML, which the gateway cannot check
 * (the caller refuses with format-unsupported); NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_smart_check_prepare(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    ngx_table_elt_t  *ae;

    static ngx_str_t  encoding = ngx_string("Accept-Encoding");

    if (ngx_http_smart_check_wants_xml(r)) {
        return NGX_DECLINED;
    }

    /* the client's Accept-Encoding, for gzip towards it on release */

    ae = ngx_http_smart_find_header(r, &encoding, NULL);
    if (ae != NULL) {
        ctx->ck_ae = ae->value;
    }

    if (ngx_http_smart_want_json(r, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_smart_check_hide(r);

    return NGX_OK;
}


/*
 * Conditional, range and upgrade headers, which let the upstream (or
 * NGINX's own not-modified and range filters) answer with less than the
 * whole resource: a 304 that confirms another patient's record exists, a
 * range that cannot be checked, a tunnel past every filter.  NGINX's
 * pointers to them are cleared and the headers hidden from the upstream.
 */

static void
ngx_http_smart_check_hide(ngx_http_request_t *r)
{
    static ngx_str_t  names[] = {
        ngx_string("if-none-match"),
        ngx_string("if-modified-since"),
        ngx_string("if-match"),
        ngx_string("if-unmodified-since"),
        ngx_string("if-range"),
        ngx_string("range"),
        ngx_string("upgrade")
    };

    r->headers_in.if_none_match = NULL;
    r->headers_in.if_modified_since = NULL;
    r->headers_in.if_match = NULL;
    r->headers_in.if_unmodified_since = NULL;
    r->headers_in.if_range = NULL;
    r->headers_in.range = NULL;
    r->headers_in.upgrade = NULL;

    ngx_http_smart_hide_in_headers(r, names,
                                   sizeof(names) / sizeof(ngx_str_t));
}


/* The client's Accept-Encoding back, before the released header goes out. */

void
ngx_http_smart_check_restore(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    if (ctx->ck_ae.len != 0 && r->headers_in.accept_encoding != NULL) {
        r->headers_in.accept_encoding->value = ctx->ck_ae;
    }
}


/*
 * _format names XML, or Accept names an XML type and no JSON type
 * (docs/errors.md, format-unsupported).
 */

static ngx_uint_t
ngx_http_smart_check_wants_xml(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_str_t         arg;
    ngx_table_elt_t  *h;

    static ngx_str_t  accept = ngx_string("Accept");

    if (ngx_http_arg(r, (u_char *) "_format", 7, &arg) == NGX_OK) {
        return ngx_strlcasestrn(arg.data, arg.data + arg.len,
                                (u_char *) "xml", 3 - 1) != NULL;
    }

    h = ngx_http_smart_find_header(r, &accept, NULL);

    if (h == NULL) {
        return 0;
    }

    p = h->value.data;
    last = p + h->value.len;

    return ngx_strlcasestrn(p, last, (u_char *) "xml", 3 - 1) != NULL
           && ngx_strlcasestrn(p, last, (u_char *) "json", 4 - 1) == NULL
           && ngx_strlcasestrn(p, last, (u_char *) "*/*", 3 - 1) == NULL;
}


/*
 * Header filter, a checked request.  NGX_DECLINED: nothing to check (not
 * 2xx, or 204: no body); NGX_OK: hold the header, the body follows;
 * NGX_ABORT: a response that cannot be checked (compressed, not JSON,
 * larger than the bound, or no body to see: HEAD), with *why set.
 */

ngx_int_t
ngx_http_smart_check_header(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_loc_conf_t *slcf, const char **why)
{
    if (r->headers_out.status >= NGX_HTTP_BAD_REQUEST) {
        /* typed by the failure filter, or NGINX's own refusal */
        return NGX_DECLINED;
    }

    /* no part of a refused body goes to a temporary file either */

    if (r->upstream != NULL) {
        r->upstream->buffering = 0;
    }

    if (r->headers_out.status != NGX_HTTP_OK
        && (r->headers_out.status < NGX_HTTP_CREATED
            || r->headers_out.status == NGX_HTTP_NO_CONTENT
            || r->headers_out.status == NGX_HTTP_PARTIAL_CONTENT
            || r->headers_out.status >= NGX_HTTP_SPECIAL_RESPONSE))
    {
        /* 1xx, 204, 206, 3xx, 304: not the whole resource */
        *why = "the answer is not the whole resource";
        return NGX_ABORT;
    }

    if (r->header_only || r->method == NGX_HTTP_HEAD) {
        *why = "a HEAD response has no body to check";
        return NGX_ABORT;
    }

    *why = ngx_http_smart_json_body_refusal(r);
    if (*why != NULL) {
        return NGX_ABORT;
    }

    if (r->headers_out.content_length_n > (off_t) slcf->response_check_max) {
        *why = "the response is larger than smart_response_check_max";
        return NGX_ABORT;
    }

    /* a cached answer is read into memory by the copy filter above */

    r->filter_need_in_memory = 1;

    ctx->ck_expect = r->headers_out.content_length_n;
    ctx->checking = 1;

    return NGX_OK;
}


/*
 * Body filter, a held response: copies every buffer and consumes it.
 * NGX_AGAIN until the last buffer; then NGX_OK with the whole body in
 * ctx->ck_body, or NGX_ABORT (too large, a buffer not in memory, or not
 * the length announced) with *why set; NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_smart_check_body(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_chain_t *in, const char **why)
{
    ngx_uint_t                  last;
    ngx_chain_t                *cl;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);
    last = 0;

    for (cl = in; cl != NULL; cl = cl->next) {

        if (!ctx->ck_overflow
            && ngx_http_smart_check_append(r, ctx, slcf, cl->buf) != NGX_OK)
        {
            return NGX_ERROR;
        }

        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (!last && !ctx->ck_overflow) {
        return NGX_AGAIN;
    }

    /* done: the whole body, or refused as soon as it overflows */

    ctx->checking = 0;

    if (ctx->ck_overflow) {
        *why = "the response is larger than smart_response_check_max, or "
               "was not read in memory";
        return NGX_ABORT;
    }

    if (ctx->ck_expect >= 0 && (off_t) ctx->ck_len != ctx->ck_expect) {
        *why = "the response is shorter than its Content-Length";
        return NGX_ABORT;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_check_append(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_loc_conf_t *slcf, ngx_buf_t *b)
{
    size_t   n, cap;
    u_char  *p;

    if (!ngx_buf_in_memory(b)) {
        if (ngx_buf_size(b) > 0) {
            ctx->ck_overflow = 1;
        }

        return NGX_OK;
    }

    n = (size_t) (b->last - b->pos);

    if (n == 0) {
        return NGX_OK;
    }

    if (n > slcf->response_check_max - ctx->ck_len) {
        ctx->ck_overflow = 1;
        return NGX_OK;
    }

    if (n > ctx->ck_cap - ctx->ck_len) {

        /* the announced length at once, else doubling up to the bound */

        cap = (ctx->ck_expect > 0) ? (size_t) ctx->ck_expect
                                   : ngx_max(ctx->ck_cap * 2,
                                             NGX_HTTP_SMART_CHECK_FIRST);
        cap = ngx_max(cap, ctx->ck_len + n);
        cap = ngx_min(cap, slcf->response_check_max);

        p = ngx_pnalloc(r->pool, cap);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ctx->ck_len) {
            ngx_memcpy(p, ctx->ck_body, ctx->ck_len);
        }

        if (ctx->ck_body != NULL) {
            ngx_pfree(r->pool, ctx->ck_body);
        }

        ctx->ck_body = p;
        ctx->ck_cap = cap;
    }

    ngx_memcpy(ctx->ck_body + ctx->ck_len, b->pos, n);
    ctx->ck_len += n;

    return NGX_OK;
}


/*
 * Runs the core's check on the held body.  *out is always set; the caller
 * frees it with smart_response_free().  NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_smart_check_run(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_response_t *out)
{
    u_char                     *cid, *patient, *id, *base_z;
    ngx_str_t                   base;
    smart_response_req_t        rq;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    ngx_memzero(out, sizeof(smart_response_t));
    out->verdict = SMART_RESPONSE_UNVERIFIABLE;
    out->entry = -1;
    out->why = "no memory";

    /* absolute references count only on the configured base, never on
       one the request names (Host) */

    base = slcf->fhir_base_url;

    cid = ngx_http_smart_strz(r->pool, &ctx->cid);
    patient = ngx_http_smart_strz(r->pool, &ctx->claims.patient);
    base_z = ngx_http_smart_strz(r->pool, &base);

    if (cid == NULL || patient == NULL || base_z == NULL) {
        return NGX_ERROR;
    }

    id = (u_char *) ((ctx->req != NULL) ? ctx->req->id : NULL);

    ngx_memzero(&rq, sizeof(smart_response_req_t));
    rq.interaction = (ctx->req != NULL) ? ctx->req->interaction
                                        : SMART_FHIR_INVALID;
    rq.type = (ctx->req != NULL) ? ctx->req->type : -1;
    rq.id = (const char *) id;
    rq.patient = (const char *) patient;
    rq.base = (const char *) base_z;
    rq.correlation_id = (const char *) cid;
    rq.body_max = slcf->response_check_max;

    /* a read under granular scopes: one restriction must hold */

    if (ctx->decision != NULL && ctx->decision->nrestrictions > 0) {
        rq.restrictions = ctx->decision->restrictions;
        rq.nrestrictions = ctx->decision->nrestrictions;

        if (ctx->claims.patient.len == 0) {
            rq.patient = NULL;
        }
    }

    (void) smart_response_check(&rq, (const char *) ctx->ck_body,
                                ctx->ck_len, out);

    return NGX_OK;
}


/*
 * Body filter, a held response and no last buffer: whether the upstream
 * is gone (NGINX finalizes a response cut short with a flush after closing
 * the upstream connection, never with a last buffer).
 */

ngx_uint_t
ngx_http_smart_check_ended(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_uint_t  flush;

    if (r->upstream == NULL || r->upstream->peer.connection != NULL
        || !r->upstream->header_sent)
    {
        return 0;
    }

    for (flush = 0; in != NULL; in = in->next) {
        if (in->buf->last_buf) {
            return 0;
        }

        if (in->buf->flush) {
            flush = 1;
        }
    }

    return flush;
}
