
/*
 * ngx_smart_module: typed responses and response filters.
 *
 * The module's own refusals are rendered here from the core's catalogue.
 * The header filter puts the correlation ID on every response of a smart
 * request and swaps responses NGINX produced before the module could run
 * (a duplicate Authorization header) for their typed form; the body filter
 * swaps the body to match.  JWKS subrequests are captured, never sent.
 */

#include "ngx_http_smart_module.h"


static ngx_int_t ngx_http_smart_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_smart_set_out_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_smart_prepare_error(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_err_e err);
static ngx_uint_t ngx_http_smart_duplicate_authorization(
    ngx_http_request_t *r);
static int ngx_http_smart_oo_format(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_explain(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_smart_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_smart_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_smart_body_filter;

    return NGX_OK;
}


/*
 * FHIR content negotiation for our own bodies: XML when the client asked
 * for it (_format or Accept), JSON otherwise.
 */

static int
ngx_http_smart_oo_format(ngx_http_request_t *r)
{
    ngx_str_t         arg;
    ngx_table_elt_t  *accept;

    static ngx_str_t  accept_name = ngx_string("Accept");

    if (ngx_http_arg(r, (u_char *) "_format", 7, &arg) == NGX_OK) {
        if ((arg.len == 3 && ngx_strncmp(arg.data, "xml", 3) == 0)
            || ngx_strlcasestrn(arg.data, arg.data + arg.len,
                                (u_char *) "xml", 3 - 1) != NULL)
        {
            return SMART_OO_XML;
        }

        return SMART_OO_JSON;
    }

    accept = ngx_http_smart_find_header(r, &accept_name, NULL);

    if (accept != NULL
        && (ngx_strlcasestrn(accept->value.data,
                             accept->value.data + accept->value.len,
                             (u_char *) "application/fhir+xml",
                             sizeof("application/fhir+xml") - 2) != NULL
            || ngx_strlcasestrn(accept->value.data,
                                accept->value.data + accept->value.len,
                                (u_char *) "application/xml+fhir",
                                sizeof("application/xml+fhir") - 2) != NULL))
    {
        return SMART_OO_XML;
    }

    return SMART_OO_JSON;
}


/* Renders the catalogue entry into ctx->body and the WWW-Authenticate. */

static ngx_int_t
ngx_http_smart_prepare_error(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_err_e err)
{
    size_t                      n;
    u_char                     *cid, *realm, *scope;
    smart_oo_t                  oo;
    smart_str_t                *aud;
    const smart_err_entry_t    *e;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);
    e = smart_err_get(err);

    if (e == NULL) {
        return NGX_ERROR;
    }

    ctx->err = err;
    ctx->reason.data = (u_char *) e->code;
    ctx->reason.len = ngx_strlen(e->code);

    cid = ngx_pnalloc(r->pool, ctx->cid.len + 1);
    if (cid == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(cid, ctx->cid.data, ctx->cid.len);
    cid[ctx->cid.len] = '\0';

    ngx_memzero(&oo, sizeof(smart_oo_t));
    oo.err = err;
    oo.correlation_id = (const char *) cid;
    oo.contact = slcf->error_contact.len ? (const char *) slcf->error_contact.data
                                         : NULL;
    oo.format = ngx_http_smart_oo_format(r);

    n = smart_oo_render(NULL, 0, &oo);

    ctx->body.data = ngx_pnalloc(r->pool, n + 1);
    if (ctx->body.data == NULL) {
        return NGX_ERROR;
    }

    ctx->body.len = smart_oo_render((char *) ctx->body.data, n + 1, &oo);

    r->headers_out.content_type.data =
                             (u_char *) smart_oo_content_type(oo.format);
    r->headers_out.content_type.len =
                             ngx_strlen(r->headers_out.content_type.data);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* RFC 6750 challenge; realm: the resource server's audience */

    realm = NULL;
    if (slcf->audiences != NULL && slcf->audiences->nelts > 0) {
        aud = slcf->audiences->elts;
        realm = (u_char *) aud[0].data;     /* a NUL-terminated argument */
    }

    scope = NULL;
    if (ctx->scope_needed.len) {
        scope = ngx_pnalloc(r->pool, ctx->scope_needed.len + 1);
        if (scope == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(scope, ctx->scope_needed.data, ctx->scope_needed.len);
        scope[ctx->scope_needed.len] = '\0';
    }

    n = smart_www_authenticate(NULL, 0, err, (const char *) realm,
                               (const char *) scope);
    ngx_str_null(&ctx->www_authenticate);

    if (n > 0) {
        ctx->www_authenticate.data = ngx_pnalloc(r->pool, n + 1);
        if (ctx->www_authenticate.data == NULL) {
            return NGX_ERROR;
        }

        ctx->www_authenticate.len = smart_www_authenticate(
                                 (char *) ctx->www_authenticate.data, n + 1,
                                 err, (const char *) realm,
                                 (const char *) scope);
    }

    return NGX_OK;
}


/*
 * Answers the request with the typed error from the access phase and
 * finalizes it; the caller returns NGX_DONE to the phase engine.
 */

ngx_int_t
ngx_http_smart_send_error(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_err_e err)
{
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_chain_t               out;
    const smart_err_entry_t  *e;

    if (ngx_http_smart_render_error(r, ctx, err) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e = smart_err_get(err);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = e->status;
    r->headers_out.content_length_n = ctx->body.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    b->pos = ctx->body.data;
    b->last = ctx->body.data + ctx->body.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_smart_render_error(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_err_e err)
{
    static ngx_str_t  www = ngx_string("WWW-Authenticate");
    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    if (ngx_http_smart_prepare_error(r, ctx, err) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->www_authenticate.len) {
        if (ngx_http_smart_set_out_header(r, &www, &ctx->www_authenticate)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* a refusal must not be cached by anything between app and gateway */

    return ngx_http_smart_set_out_header(r, &cache_control, &no_store);
}


/* Sets a response header, replacing any of the same name. */

static ngx_int_t
ngx_http_smart_set_out_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0
            && h[i].key.len == key->len
            && ngx_strncasecmp(h[i].key.data, key->data, key->len) == 0)
        {
            if (found == NULL) {
                found = &h[i];

            } else {
                h[i].hash = 0;
            }
        }
    }

    if (found == NULL) {
        found = ngx_list_push(&r->headers_out.headers);
        if (found == NULL) {
            return NGX_ERROR;
        }

        found->key = *key;
#if (nginx_version >= 1023000)
        found->next = NULL;
#endif
    }

    found->hash = 1;
    found->value = *value;

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


static ngx_int_t
ngx_http_smart_header_filter(ngx_http_request_t *r)
{
    const smart_err_entry_t    *e;
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_loc_conf_t  *slcf;

    if (r != r->main) {
        /* on a subrequest, the module's ctx is only ever a JWKS fetch */
        if (ngx_http_get_module_ctx(r, ngx_http_smart_module) != NULL) {
            return ngx_http_smart_jwks_capture_header(r);
        }

        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_smart_module);

    if (ctx == NULL && ngx_http_smart_duplicate_authorization(r)) {
        ctx = ngx_http_smart_get_ctx(r);
        slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

        if (ctx == NULL
            || ngx_http_smart_correlation(r, slcf, ctx) != NGX_OK
            || ngx_http_smart_render_error(r, ctx, SMART_ERR_TOKEN_INVALID)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "smart: token-invalid: more than one Authorization "
                      "header, correlation id \"%V\"", &ctx->cid);

        e = smart_err_get(SMART_ERR_TOKEN_INVALID);

        ctx->denied = 1;
        ctx->replace = 1;
        r->headers_out.status = e->status;
        r->headers_out.status_line.len = 0;
        r->headers_out.content_length_n = ctx->body.len;

        if (r->headers_out.content_length) {
            r->headers_out.content_length->hash = 0;
            r->headers_out.content_length = NULL;
        }

        ngx_http_clear_accept_ranges(r);
        ngx_http_clear_last_modified(r);
        ngx_http_clear_etag(r);
    }

    if (ctx == NULL || ctx->cid.len == 0) {
        return ngx_http_next_header_filter(r);
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

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

    return ngx_http_next_header_filter(r);
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
    ngx_buf_t             *b;
    ngx_chain_t           *cl, out;
    ngx_http_smart_ctx_t  *ctx;

    if (r != r->main) {
        if (ngx_http_get_module_ctx(r, ngx_http_smart_module) != NULL) {
            return ngx_http_smart_jwks_capture_body(r, in);
        }

        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_smart_module);

    if (ctx == NULL || !ctx->replace) {
        return ngx_http_next_body_filter(r, in);
    }

    /* the original body is consumed and dropped */

    for (cl = in; cl != NULL; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (ctx->replaced) {
        return (in == NULL) ? ngx_http_next_body_filter(r, NULL) : NGX_OK;
    }

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
