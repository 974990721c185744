
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the module's own refusals (docs/errors.md).
 *
 * One place renders a catalogue entry (smart_errors.c) into a typed
 * OperationOutcome and its RFC 6750 challenge, for the access phase
 * (ngx_http_smart_deny(), ngx_http_smart_send_error()) and for the
 * response filters that swap a body (ngx_http_smart_render_error(),
 * ngx_http_smart_prepare_error()).
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_error.h"


static int ngx_http_smart_oo_format(ngx_http_request_t *r);


/*
 * Refuses the request in the access phase: logs the refusal, marks the
 * context and answers with the typed error.
 */

ngx_int_t
ngx_http_smart_deny(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_err_e err, const char *detail)
{
    ngx_uint_t                level;
    const smart_err_entry_t  *e;

    e = smart_err_get(err);

    /*
     * Refusals of what the client sent are client errors: "info", as NGINX
     * logs other client mistakes; a key or audit sink problem is the
     * operator's: "error".
     */

    level = (err == SMART_ERR_CONFIGURATION_INVALID
             || err == SMART_ERR_AUDIT_UNAVAILABLE) ? NGX_LOG_ERR
                                                    : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0,
                  "smart: %s: %s, correlation id \"%V\"",
                  e ? e->code : "error", detail ? detail : "refused",
                  &ctx->cid);

    ctx->denied = 1;
    ctx->allowed = 0;
    ctx->verified = 0;

    return ngx_http_smart_send_error(r, ctx, err);
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

ngx_int_t
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

    cid = ngx_http_smart_strz(r->pool, &ctx->cid);
    if (cid == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&oo, sizeof(smart_oo_t));
    oo.err = err;
    oo.correlation_id = (const char *) cid;
    oo.contact = slcf->error_contact.len
                 ? (const char *) slcf->error_contact.data : NULL;
    oo.format = ngx_http_smart_oo_format(r);
    oo.extra = ctx->extra;
    oo.nextra = ctx->nextra;

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
        scope = ngx_http_smart_strz(r->pool, &ctx->scope_needed);
        if (scope == NULL) {
            return NGX_ERROR;
        }
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


/* The issue naming Bundle.entry[index] that err refused. */

ngx_int_t
ngx_http_smart_entry_issue(ngx_http_request_t *r, smart_oo_issue_t *issue,
    size_t index, smart_err_e err)
{
    u_char                   *p;
    const smart_err_entry_t  *e;

    e = smart_err_get(err);

    p = ngx_pnalloc(r->pool, sizeof("Bundle.entry[]") + NGX_SIZE_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "Bundle.entry[%uz]%Z", index);

    issue->severity = "error";
    issue->code = e ? e->fhir_code : NULL;
    issue->details_code = e ? e->code : NULL;
    issue->details_text = e ? e->message : NULL;
    issue->expression = (const char *) p;

    return NGX_OK;
}
