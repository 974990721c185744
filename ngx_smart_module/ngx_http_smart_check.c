
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
static ngx_int_t ngx_http_smart_check_base(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *base);


/*
 * Access phase, a request whose response will be checked: the upstream
 * must answer FHIR JSON without compression.  NGX_DECLINED: the client
 * asked for XML, which the gateway cannot check (the caller refuses with
 * format-unsupported); NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_smart_check_prepare(ngx_http_request_t *r)
{
    static ngx_str_t  accept = ngx_string("Accept");
    static ngx_str_t  accept_lc = ngx_string("accept");
    static ngx_str_t  json = ngx_string("application/fhir+json");
    static ngx_str_t  encoding = ngx_string("Accept-Encoding");
    static ngx_str_t  encoding_lc = ngx_string("accept-encoding");
    static ngx_str_t  identity = ngx_string("identity");

    if (ngx_http_smart_check_wants_xml(r)) {
        return NGX_DECLINED;
    }

    if (ngx_http_smart_set_in_header(r, &accept, &accept_lc, &json)
        != NGX_OK
        || ngx_http_smart_set_in_header(r, &encoding, &encoding_lc,
                                        &identity)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
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
    ngx_str_t        *ct;
    ngx_table_elt_t  *ce;

    if (r->headers_out.status < NGX_HTTP_OK
        || r->headers_out.status >= NGX_HTTP_SPECIAL_RESPONSE
        || r->headers_out.status == NGX_HTTP_NO_CONTENT)
    {
        return NGX_DECLINED;
    }

    if (r->header_only || r->method == NGX_HTTP_HEAD) {
        *why = "a HEAD response has no body to check";
        return NGX_ABORT;
    }

    ce = r->headers_out.content_encoding;

    if (ce != NULL && ce->hash != 0 && ce->value.len != 0
        && !(ce->value.len == sizeof("identity") - 1
             && ngx_strncasecmp(ce->value.data, (u_char *) "identity",
                                ce->value.len) == 0))
    {
        *why = "the response is compressed";
        return NGX_ABORT;
    }

    ct = &r->headers_out.content_type;

    if (ct->len == 0
        || ngx_strlcasestrn(ct->data, ct->data + ct->len,
                            (u_char *) "json", 4 - 1) == NULL)
    {
        *why = "the response is not JSON";
        return NGX_ABORT;
    }

    if (r->headers_out.content_length_n > (off_t) slcf->response_check_max) {
        *why = "the response is larger than smart_response_check_max";
        return NGX_ABORT;
    }

    /* unbuffered: no part of the body ever goes to a temporary file */

    if (r->upstream != NULL) {
        r->upstream->buffering = 0;
    }

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

    if (!last) {
        return NGX_AGAIN;
    }

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

    if (ngx_http_smart_check_base(r, slcf, &base) != NGX_OK) {
        return NGX_ERROR;
    }

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

    (void) smart_response_check(&rq, (const char *) ctx->ck_body,
                                ctx->ck_len, out);

    return NGX_OK;
}


/*
 * The FHIR base as the client sees it, for absolute references:
 * "http[s]://<Host><smart_fhir_base>" without the trailing '/'.  No Host
 * (HTTP/1.0 without one): relative references only.
 */

static ngx_int_t
ngx_http_smart_check_base(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *base)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   scheme, *host, path;

    ngx_str_null(base);

    host = &r->headers_in.server;

    if (host->len == 0) {
        return NGX_OK;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl != NULL) {
        ngx_str_set(&scheme, "https://");
    } else
#endif
    {
        ngx_str_set(&scheme, "http://");
    }

    path = slcf->fhir_base;

    while (path.len > 0 && path.data[path.len - 1] == '/') {
        path.len--;
    }

    len = scheme.len + host->len + path.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    base->data = p;
    p = ngx_cpymem(p, scheme.data, scheme.len);
    p = ngx_cpymem(p, host->data, host->len);
    p = ngx_cpymem(p, path.data, path.len);
    base->len = p - base->data;

    return NGX_OK;
}
