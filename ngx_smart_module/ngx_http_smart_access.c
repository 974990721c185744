
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the access-phase handler.
 *
 * correlation ID -> public endpoints -> bearer token -> token cache ->
 * key set (maybe waiting for a JWKS fetch) -> verification -> claims.
 * Every refusal is answered here with a typed OperationOutcome and nothing
 * reaches the upstream.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_cid.h"
#include "ngx_http_smart_error.h"
#include "ngx_http_smart_status.h"
#include "ngx_http_smart_cache.h"
#include "ngx_http_smart_keys.h"
#include "ngx_http_smart_check.h"
#include "ngx_http_smart_precheck.h"
#include "ngx_http_smart_access.h"


/* What the handler needs of the request headers, found in one walk. */
typedef struct {
    ngx_table_elt_t    *cid;            /* first correlation header */
    ngx_uint_t          ncid;
    ngx_uint_t          nauth;          /* Authorization headers */
    ngx_table_elt_t    *if_none_exist;  /* first */
    ngx_uint_t          nif_none_exist;
    ngx_table_elt_t    *content_type;   /* first */
    ngx_uint_t          ncontent_type;
    ngx_uint_t          content_encoding;   /* other than identity */
    ngx_uint_t          method_override;
} ngx_http_smart_headers_t;


static void ngx_http_smart_upstream_path(ngx_http_request_t *r,
    ngx_str_t *path);
static ngx_int_t ngx_http_smart_is_public(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf);
static void ngx_http_smart_scan_headers(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_headers_t *hs);
static ngx_int_t ngx_http_smart_find_token(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_headers_t *hs,
    const char **detail);
static ngx_uint_t ngx_http_smart_needs_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_read_body(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx);
static void ngx_http_smart_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_body_bytes(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *out);
static ngx_int_t ngx_http_smart_classify(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_headers_t *hs);
static ngx_int_t ngx_http_smart_require_holds(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, const char **detail);
static ngx_int_t ngx_http_smart_decided(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    smart_decision_t *d);
static ngx_int_t ngx_http_smart_decide(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_entry_issues(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, smart_decision_t *d);
static ngx_int_t ngx_http_smart_narrow(ngx_http_request_t *r,
    smart_decision_t *d);
static ngx_int_t ngx_http_smart_narrow_criteria(ngx_http_request_t *r,
    smart_decision_t *d);
static ngx_int_t ngx_http_smart_verify(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_verify_cached(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx, u_char *key);
static ngx_int_t ngx_http_smart_verify_token(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx, u_char *key);
static smart_jwt_status_e ngx_http_smart_verify_with(
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    const smart_keyset_t *ks, smart_jwt_t *jwt, char *detail, size_t len);
static ngx_int_t ngx_http_smart_copy_claims(ngx_http_request_t *r,
    smart_jwt_t *jwt, ngx_http_smart_claims_t *claims);


/* the b64token characters of RFC 6750 section 2.1, "=" aside */
static const u_char  ngx_http_smart_b64token[256] = {
    /* 0x00 - 0x1f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /*    !  "  #  $  %  &  '  (  )  *  +  ,  -  .  / */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1,
    /* 0  1  2  3  4  5  6  7  8  9  :  ;  <  =  >  ? */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    /* @  A  B  C  D  E  F  G  H  I  J  K  L  M  N  O */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* P  Q  R  S  T  U  V  W  X  Y  Z  [  \  ]  ^  _ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    /* `  a  b  c  d  e  f  g  h  i  j  k  l  m  n  o */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* p  q  r  s  t  u  v  w  x  y  z  {  |  }  ~ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    /* 0x80 - 0xff */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


ngx_int_t
ngx_http_smart_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    const char                 *detail;
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_headers_t    hs;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (!slcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_smart_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_smart_scan_headers(r, slcf, &hs);

    if (ngx_http_smart_correlation_with(r, slcf, ctx, hs.cid, hs.ncid)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * HTTP/0.9 carries no headers, so no token, and NGINX keeps no header
     * list for it; public endpoints included, nothing of it goes upstream.
     * The client gets the typed body alone: HTTP/0.9 has no status line.
     */

    if (r->http_version < NGX_HTTP_VERSION_10
        || !ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_IN))
    {
        return ngx_http_smart_deny(r, ctx, SMART_ERR_REQUEST_INVALID,
                                   "HTTP/0.9 request (no headers)");
    }

    if (ngx_http_smart_is_public(r, slcf)) {
        if (!slcf->forward_token) {
            ngx_http_smart_hide_token(r);
        }

        ctx->allowed = 1;
        ngx_str_set(&ctx->reason, "ok");
        ctx->interaction.data = (u_char *)
                    smart_fhir_interaction_name(SMART_FHIR_I_CAPABILITIES);
        ctx->interaction.len = ngx_strlen(ctx->interaction.data);
        return NGX_OK;
    }

    ctx->allowed = 0;

    /*
     * A token is verified once per policy: back here after reading the
     * body, or after an internal redirect within the same location, the
     * check stands; a redirect into another location verifies again.
     */

    if (!ctx->verified || ctx->verified_by != slcf) {
        ctx->verified = 0;

        if (ngx_http_smart_find_token(r, ctx, &hs, &detail) != NGX_OK) {
            return ngx_http_smart_deny(r, ctx, ctx->err, detail);
        }

        rc = ngx_http_smart_verify(r, slcf, ctx);

        if (rc != NGX_OK) {
            return rc;
        }

        ctx->verified_by = slcf;

        if (slcf->require != NULL) {
            rc = ngx_http_smart_require_holds(r, slcf, &detail);

            if (rc != NGX_OK) {
                return (rc == NGX_DECLINED)
                       ? ngx_http_smart_deny(r, ctx,
                                             SMART_ERR_CLAIM_REQUIREMENT,
                                             detail)
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    if (ngx_http_smart_needs_body(r) && !ctx->body_done) {
        return ngx_http_smart_read_body(r, slcf, ctx);
    }

    if (ngx_http_smart_precheck_pending(r, slcf, ctx)) {
        /* back after a pre-read: the decision made for this request
           stands (its body, query and token are the same) */
        return ngx_http_smart_decided(r, slcf, ctx, ctx->decision);
    }

    rc = ngx_http_smart_classify(r, slcf, ctx, &hs);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_smart_decide(r, slcf, ctx);
}


/*
 * smart_require: NGX_OK when every value is non-empty and not "0",
 * NGX_DECLINED (*detail names the value) when one is, NGX_ERROR on no
 * memory.
 */

static ngx_int_t
ngx_http_smart_require_holds(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, const char **detail)
{
    u_char                    *p;
    ngx_str_t                  val;
    ngx_uint_t                 i;
    ngx_http_complex_value_t  *cv;

    cv = slcf->require->elts;

    for (i = 0; i < slcf->require->nelts; i++) {
        if (ngx_http_complex_value(r, &cv[i], &val) != NGX_OK) {
            return NGX_ERROR;
        }

        if (val.len == 0 || (val.len == 1 && val.data[0] == '0')) {
            p = ngx_pnalloc(r->pool, sizeof("smart_require value  of  is "
                                            "empty or 0")
                                     + 2 * NGX_INT_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            /* the position, never the value: it is the token's */
            ngx_sprintf(p, "smart_require value %ui of %ui is empty or 0%Z",
                        i + 1, slcf->require->nelts);
            *detail = (const char *) p;

            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static void
ngx_http_smart_scopes_cleanup(void *data)
{
    smart_scope_set_free(data);
}


static void
ngx_http_smart_decision_cleanup(void *data)
{
    smart_decision_free(data);
}


/* The token's scopes and patient context against the classified request. */

static ngx_int_t
ngx_http_smart_decide(ngx_http_request_t *r, ngx_http_smart_loc_conf_t *slcf,
    ngx_http_smart_ctx_t *ctx)
{
    ngx_uint_t              owned;
    ngx_pool_cleanup_t     *cln, *dcln;
    smart_decision_t       *d;
    smart_scope_set_t      *scopes;
    smart_policy_status_e   st;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    dcln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL || dcln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    scopes = NULL;

    if (ctx->claims.scope.len) {

        /* compiled once per distinct claim in this worker, used here only */

        scopes = ngx_http_smart_scopes_get(&ctx->claims.scope, &owned);
        if (scopes == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (owned) {
            cln->handler = ngx_http_smart_scopes_cleanup;
            cln->data = scopes;
        }
    }

    d = NULL;

    st = smart_policy_decide(&slcf->policy_conf, scopes,
                             (const char *) ctx->claims.patient.data,
                             ctx->req, (const char *) ctx->req_body.data,
                             ctx->req_body.len, &d);

    if (st != SMART_POLICY_OK || d == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dcln->handler = ngx_http_smart_decision_cleanup;
    dcln->data = d;
    ctx->decision = d;

    if (d->interaction == SMART_FHIR_I_BATCH
        || d->interaction == SMART_FHIR_I_TRANSACTION)
    {
        ctx->interaction.data = (u_char *)
                                smart_fhir_interaction_name(d->interaction);
        ctx->interaction.len = ngx_strlen(ctx->interaction.data);
    }

    if (!d->allow) {
        ctx->scope_needed.data = (u_char *) d->needed;
        ctx->scope_needed.len = ngx_strlen(d->needed);

        if (ngx_http_smart_entry_issues(r, ctx, d) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_smart_deny(r, ctx, d->reason,
                                   d->explain ? d->explain : "scopes");
    }

    if (d->narrowed && ngx_http_smart_narrow(r, d) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_smart_decided(r, slcf, ctx, d);
}


/* An allowed decision's conditions: the pre-reads, the response check. */

static ngx_int_t
ngx_http_smart_decided(ngx_http_request_t *r, ngx_http_smart_loc_conf_t *slcf,
    ngx_http_smart_ctx_t *ctx, smart_decision_t *d)
{
    ngx_int_t     rc;
    const char   *why;
    smart_err_e   err;

    if (d->precheck) {
        /* allowed on condition of pre-reads (ngx_http_smart_precheck.c) */

        rc = ngx_http_smart_precheck(r, slcf, ctx, d, &err, &why);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_smart_deny(r, ctx, err, why);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (d->check) {
        /* allowed on condition of the response (ngx_http_smart_check.c) */

        switch (ngx_http_smart_check_prepare(r, ctx)) {

        case NGX_OK:
            ctx->check = 1;
            break;

        case NGX_DECLINED:
            return ngx_http_smart_deny(r, ctx, SMART_ERR_FORMAT_UNSUPPORTED,
                                       "the response must be checked, and "
                                       "the client asked for XML");

        default:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (!slcf->forward_token) {
        /* smart_forward_token off: the FHIR server never sees the token */
        ngx_http_smart_hide_token(r);
    }

    ctx->allowed = 1;
    ngx_str_set(&ctx->reason, "ok");

    return NGX_OK;
}


/* One OperationOutcome issue per denied Bundle entry: Bundle.entry[i]. */

static ngx_int_t
ngx_http_smart_entry_issues(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    smart_decision_t *d)
{
    size_t             i;
    smart_oo_issue_t  *issue;

    if (d->nentries == 0) {
        return NGX_OK;
    }

    issue = ngx_pcalloc(r->pool, d->nentries * sizeof(smart_oo_issue_t));
    if (issue == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < d->nentries; i++) {
        if (ngx_http_smart_entry_issue(r, &issue[i], d->entries[i].index,
                                       d->entries[i].reason)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ctx->extra = issue;
    ctx->nextra = d->nentries;

    return NGX_OK;
}


/*
 * Appends the narrowing to the query the upstream receives.  Both r->args
 * (proxy_pass with a URI part) and the raw request target (proxy_pass
 * without one sends r->unparsed_uri as is) are rewritten; the path part of
 * the target is kept byte for byte.
 */

static ngx_int_t
ngx_http_smart_narrow(ngx_http_request_t *r, smart_decision_t *d)
{
    u_char     *p, *uri, *args;
    size_t      add, len;
    ngx_str_t   path;

    if (d->query_append == NULL || d->query_append[0] == '\0') {
        return NGX_OK;
    }

    if (d->narrow_target == SMART_NARROW_IF_NONE_EXIST) {
        /* a conditional create's criteria: the server never reads them
           from the URL's query */
        return ngx_http_smart_narrow_criteria(r, d);
    }

    add = ngx_strlen(d->query_append);

    ngx_http_smart_upstream_path(r, &path);

    len = path.len + 1 + r->args.len + 1 + add;

    uri = ngx_pnalloc(r->pool, len);
    if (uri == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri, path.data, path.len);
    *p++ = '?';

    args = p;

    if (r->args.len) {
        p = ngx_cpymem(p, r->args.data, r->args.len);
        *p++ = '&';
    }

    p = ngx_cpymem(p, d->query_append, add);

    r->args.data = args;
    r->args.len = p - args;
    r->args_start = args;
    r->unparsed_uri.data = uri;
    r->unparsed_uri.len = p - uri;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "smart: narrowed to \"%V\"", &r->unparsed_uri);

    return NGX_OK;
}


/*
 * A conditional create narrowed to the patient: the parameters are
 * appended to its one If-None-Exist header (the classifier refused a
 * repeated one), which is what the server matches on.
 */

static ngx_int_t
ngx_http_smart_narrow_criteria(ngx_http_request_t *r, smart_decision_t *d)
{
    u_char           *p;
    size_t            add;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    static ngx_str_t  name = ngx_string("If-None-Exist");
    static ngx_str_t  name_lc = ngx_string("if-none-exist");

    add = ngx_strlen(d->query_append);
    h = ngx_http_smart_find_header(r, &name, NULL);

    value.len = (h != NULL ? h->value.len + 1 : 0) + add;
    value.data = ngx_pnalloc(r->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = value.data;

    if (h != NULL && h->value.len != 0) {
        p = ngx_cpymem(p, h->value.data, h->value.len);
        *p++ = '&';
    }

    p = ngx_cpymem(p, d->query_append, add);
    value.len = p - value.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "smart: If-None-Exist narrowed to \"%V\"", &value);

    return ngx_http_smart_set_in_header(r, &name, &name_lc, &value);
}


/* Writes, bundles and POST _search carry what the decision depends on. */

static ngx_uint_t
ngx_http_smart_needs_body(ngx_http_request_t *r)
{
    return (r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH)) != 0;
}


/*
 * Reads the request body without blocking (as the mirror module does) and
 * resumes the phases when it is complete.  The body stays in memory: the
 * module raised client_body_buffer_size to smart_body_max in this context,
 * and anything larger is refused as request-too-large.
 */

static ngx_int_t
ngx_http_smart_read_body(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (r->headers_in.content_length_n > (off_t) slcf->body_max) {
        return ngx_http_smart_deny(r, ctx, SMART_ERR_REQUEST_TOO_LARGE,
                                   "request body above smart_body_max");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_smart_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_smart_body_handler(ngx_http_request_t *r)
{
    ngx_http_smart_ctx_t  *ctx;

    ctx = ngx_http_smart_get_ctx(r);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->body_done = 1;

    /* the body read here is still sent upstream by proxy_pass */
    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/* The read body as one memory block; NGX_DECLINED when it is too large. */

static ngx_int_t
ngx_http_smart_body_bytes(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *out)
{
    u_char       *p;
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(out);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (b->in_file && !ngx_buf_in_memory(b)) {
            return NGX_DECLINED;
        }

        len += b->last - b->pos;
    }

    if (len > slcf->body_max) {
        return NGX_DECLINED;
    }

    if (len == 0) {
        return NGX_OK;
    }

    if (r->request_body->bufs->next == NULL) {
        out->data = r->request_body->bufs->buf->pos;
        out->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = len;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    return NGX_OK;
}


static void
ngx_http_smart_req_cleanup(void *data)
{
    smart_fhir_req_free(data);
}


/*
 * The FHIR request as the upstream will see it: the raw path below
 * smart_fhir_base (never the normalised r->uri), the raw query, the body.
 */

static ngx_int_t
ngx_http_smart_classify(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_headers_t *hs)
{
    u_char               *p, *end;
    ngx_str_t             path;
    ngx_int_t             rc;
    ngx_table_elt_t      *h;
    ngx_pool_cleanup_t   *cln;
    smart_fhir_req_t     *req;
    smart_fhir_input_t    in;
    smart_fhir_status_e   st;

    ngx_http_smart_upstream_path(r, &path);

    p = path.data;
    end = path.data + path.len;

    if ((size_t) (end - p) + 1 == slcf->fhir_base.len
        && ngx_strncmp(p, slcf->fhir_base.data, end - p) == 0)
    {
        p = end;        /* the base itself, without its trailing slash */

    } else if ((size_t) (end - p) >= slcf->fhir_base.len
               && ngx_strncmp(p, slcf->fhir_base.data, slcf->fhir_base.len)
                  == 0)
    {
        p += slcf->fhir_base.len;

    } else {
        return ngx_http_smart_deny(r, ctx, SMART_ERR_REQUEST_INVALID,
                                   "request path outside smart_fhir_base");
    }

    ngx_memzero(&in, sizeof(smart_fhir_input_t));

    in.method = (const char *) r->method_name.data;
    in.method_len = r->method_name.len;
    in.path = (const char *) p;
    in.path_len = end - p;
    in.query = (const char *) r->args.data;
    in.query_len = r->args.len;

    in.method_override = hs->method_override;
    in.content_type_repeated = (hs->ncontent_type > 1);
    in.body_encoded = hs->content_encoding;
    in.body_sent = (r->headers_in.content_length_n > 0
                    || r->headers_in.chunked);

    h = hs->if_none_exist;
    if (h != NULL) {
        in.if_none_exist = (const char *) h->value.data;
        in.if_none_exist_len = h->value.len;
        in.if_none_exist_repeated = (hs->nif_none_exist > 1);
    }

    if (ctx->body_done) {
        rc = ngx_http_smart_body_bytes(r, slcf, &ctx->req_body);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_smart_deny(r, ctx, SMART_ERR_REQUEST_TOO_LARGE,
                                       "request body above smart_body_max");
        }

        in.body = (const char *) ctx->req_body.data;
        in.body_len = ctx->req_body.len;

        h = hs->content_type;
        in.body_is_form = h != NULL
            && h->value.len >= sizeof("application/x-www-form-urlencoded") - 1
            && ngx_strncasecmp(h->value.data,
                   (u_char *) "application/x-www-form-urlencoded",
                   sizeof("application/x-www-form-urlencoded") - 1) == 0;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    req = NULL;
    st = smart_fhir_classify(&in, &req);

    if (st == SMART_FHIR_NOMEM || req == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_smart_req_cleanup;
    cln->data = req;

    if (st != SMART_FHIR_OK) {
        return ngx_http_smart_deny(r, ctx, SMART_ERR_REQUEST_INVALID,
                                   req->detail);
    }

    ctx->req = req;

    if (req->type_name != NULL) {
        ctx->resource.data = (u_char *) req->type_name;
        ctx->resource.len = ngx_strlen(req->type_name);
    }

    ctx->interaction.data = (u_char *)
                            smart_fhir_interaction_name(req->interaction);
    ctx->interaction.len = ngx_strlen(ctx->interaction.data);

    if (req->id != NULL) {
        ctx->resource_id.data = (u_char *) req->id;
        ctx->resource_id.len = ngx_strlen(req->id);
    }

    return NGX_OK;
}


/*
 * The path the upstream will receive.  While the request target is
 * unchanged, proxy_pass (without a URI part) sends the raw target as is, so
 * that is what is judged, byte for byte; after a rewrite or an internal
 * redirect it sends the normalised URI instead, so that is judged.
 */

static void
ngx_http_smart_upstream_path(ngx_http_request_t *r, ngx_str_t *path)
{
    u_char  *p, *end;

    if (!r->valid_unparsed_uri) {
        *path = r->uri;
        return;
    }

    p = r->unparsed_uri.data;
    end = p + r->unparsed_uri.len;

    if (r->args_start != NULL && r->args_start > p && r->args_start <= end) {
        end = r->args_start - 1;
    }

    path->data = p;
    path->len = end - p;
}


/* metadata and the SMART discovery document are public (docs/scopes.md). */

static ngx_int_t
ngx_http_smart_is_public(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf)
{
    ngx_str_t   path;

    static ngx_str_t  metadata = ngx_string("metadata");
    static ngx_str_t  smart_conf = ngx_string(
                                       ".well-known/smart-configuration");

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return 0;
    }

    ngx_http_smart_upstream_path(r, &path);

    if (path.len <= slcf->fhir_base.len
        || ngx_strncmp(path.data, slcf->fhir_base.data, slcf->fhir_base.len)
           != 0)
    {
        return 0;
    }

    path.data += slcf->fhir_base.len;
    path.len -= slcf->fhir_base.len;

    if (path.len == metadata.len
        && ngx_strncmp(path.data, metadata.data, metadata.len) == 0)
    {
        return 1;
    }

    if (path.len == smart_conf.len
        && ngx_strncmp(path.data, smart_conf.data, smart_conf.len) == 0)
    {
        return 1;
    }

    return 0;
}


/*
 * RFC 6750 section 2.1: "Bearer" (any case), one space, one b64token.
 * Only the Authorization header is accepted; a token in the query string
 * (section 2.3) is refused outright, so that it is never passed on or logged
 * as if it were usable.
 */

static ngx_int_t
ngx_http_smart_find_token(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_headers_t *hs, const char **detail)
{
    u_char            *p, *end;
    ngx_str_t          value, arg;

    *detail = NULL;

    if (ngx_http_arg(r, (u_char *) "access_token", 12, &arg) == NGX_OK) {
        ctx->err = SMART_ERR_TOKEN_INVALID;
        *detail = "access token in the query string";
        return NGX_ERROR;
    }

    if (hs->nauth > 1) {
        ctx->err = SMART_ERR_TOKEN_INVALID;
        *detail = "more than one Authorization header";
        return NGX_ERROR;
    }

    if (r->headers_in.authorization == NULL) {
        ctx->err = SMART_ERR_TOKEN_MISSING;
        *detail = "no Authorization header";
        return NGX_ERROR;
    }

    value = r->headers_in.authorization->value;

    if (value.len < 6
        || ngx_strncasecmp(value.data, (u_char *) "bearer", 6) != 0
        || (value.len > 6 && value.data[6] != ' '))
    {
        ctx->err = SMART_ERR_TOKEN_MISSING;
        *detail = "Authorization scheme is not Bearer";
        return NGX_ERROR;
    }

    if (value.len <= 7) {
        ctx->err = SMART_ERR_TOKEN_INVALID;
        *detail = "empty bearer token";
        return NGX_ERROR;
    }

    p = value.data + 7;
    end = value.data + value.len;

    if ((size_t) (end - p) > SMART_JWT_MAX_LEN) {
        ctx->err = SMART_ERR_TOKEN_INVALID;
        *detail = "bearer token too long";
        return NGX_ERROR;
    }

    /* its characters are checked by ngx_http_smart_verify() */

    ctx->token.data = p;
    ctx->token.len = end - p;

    return NGX_OK;
}


/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */

static ngx_uint_t
ngx_http_smart_b64token_valid(ngx_str_t *token)
{
    u_char  *p, *end;

    p = token->data;
    end = p + token->len;

    while (p < end && ngx_http_smart_b64token[*p]) {
        p++;
    }

    while (p < end && *p == '=') {
        p++;
    }

    return p == end && p != token->data;
}


static ngx_int_t
ngx_http_smart_verify(ngx_http_request_t *r, ngx_http_smart_loc_conf_t *slcf,
    ngx_http_smart_ctx_t *ctx)
{
    u_char     key[NGX_HTTP_SMART_FP_LEN];
    ngx_int_t  rc;

    rc = ngx_http_smart_verify_cached(r, slcf, ctx, key);

    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_smart_verify_token(r, slcf, ctx, key);
}


/*
 * A token verified before: the worker's memo, then the shared cache (key
 * is set for ngx_http_smart_verify_token() to store the result under).
 * NGX_OK: verified; NGX_DECLINED: not cached; else the refusal sent.
 */

static ngx_int_t
ngx_http_smart_verify_cached(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx, u_char *key)
{
    ngx_int_t                     hit;
    smart_jwt_status_e            st;
    ngx_http_smart_main_conf_t   *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);

    hit = NGX_DECLINED;

    if (smcf->cache_zone != NULL) {

        /*
         * The worker's memo first: no digest, no lock on a repeat.  It
         * holds only tokens that passed the character check below, and a
         * hit is the same bytes, so the check is not repeated for it.
         */

        hit = ngx_http_smart_memo_get(r, slcf, &ctx->token, &ctx->claims);
    }

    if (hit != NGX_OK && !ngx_http_smart_b64token_valid(&ctx->token)) {
        ctx->token.len = 0;
        ctx->err = SMART_ERR_TOKEN_INVALID;
        return ngx_http_smart_deny(r, ctx, SMART_ERR_TOKEN_INVALID,
                                   "bearer token is not a single b64token");
    }

    if (smcf->cache_zone != NULL) {

        if (hit != NGX_OK) {
            ngx_http_smart_cache_key(slcf, &ctx->token, key);
            hit = ngx_http_smart_cache_get(r, key, &ctx->claims);

            if (hit == NGX_OK) {
                ngx_http_smart_memo_put(slcf, &ctx->token, &ctx->claims);
            }
        }

        if (hit == NGX_OK) {
            st = smart_jwt_check_time(ctx->claims.exp, ctx->claims.nbf,
                                      ctx->claims.iat, slcf->policy.leeway,
                                      ngx_time());
            if (st != SMART_JWT_OK) {
                ngx_memzero(&ctx->claims, sizeof(ngx_http_smart_claims_t));
                return ngx_http_smart_deny(r, ctx,
                                           st == SMART_JWT_EXPIRED
                                           ? SMART_ERR_TOKEN_EXPIRED
                                           : SMART_ERR_TOKEN_INVALID,
                                           smart_jwt_status_name(st));
            }

            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "smart: token cache hit");

            ngx_http_smart_count(NGX_HTTP_SMART_STAT_CACHE_HIT);

            ctx->verified = 1;
            return NGX_OK;
        }
    }

    if (smcf->cache_zone != NULL && !ctx->jwks_started) {
        /* counted once, not again when the request resumes after a fetch */
        ngx_http_smart_count(NGX_HTTP_SMART_STAT_CACHE_MISS);
    }

    return NGX_DECLINED;
}


/*
 * Key set (maybe a JWKS fetch to wait for, one early refresh for an
 * unknown kid) -> signature and claims -> the claims kept and cached.
 */

static ngx_int_t
ngx_http_smart_verify_token(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx, u_char *key)
{
    char                          detail[128];
    ngx_int_t                     rc;
    smart_jwt_t                   jwt;
    smart_jwt_status_e            st;
    const smart_keyset_t         *ks;
    ngx_http_smart_keys_state_e   kst;
    ngx_http_smart_main_conf_t   *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);

    kst = ngx_http_smart_keys_get(r, slcf, ctx, 0, &ks);

    if (kst != NGX_HTTP_SMART_KEYS_READY) {
        goto keys_not_ready;
    }

    st = ngx_http_smart_verify_with(slcf, ctx, ks, &jwt, detail,
                                    sizeof(detail));

    if (st == SMART_JWT_KID_UNKNOWN && slcf->jwks_index >= 0
        && !ctx->kid_refreshed)
    {
        /* the IdP may have rotated its keys: one early refresh, one retry */

        smart_jwt_release(&jwt);

        kst = ngx_http_smart_keys_get(r, slcf, ctx, 1, &ks);
        ctx->kid_refreshed = 1;

        if (kst != NGX_HTTP_SMART_KEYS_READY) {
            goto keys_not_ready;
        }

        st = ngx_http_smart_verify_with(slcf, ctx, ks, &jwt, detail,
                                        sizeof(detail));
    }

    switch (st) {

    case SMART_JWT_OK:
        break;

    case SMART_JWT_EXPIRED:
        smart_jwt_release(&jwt);
        return ngx_http_smart_deny(r, ctx, SMART_ERR_TOKEN_EXPIRED, detail);

    case SMART_JWT_NO_KEYS:
        smart_jwt_release(&jwt);
        return ngx_http_smart_deny(r, ctx, SMART_ERR_CONFIGURATION_INVALID,
                                   detail);

    default:
        smart_jwt_release(&jwt);
        return ngx_http_smart_deny(r, ctx, SMART_ERR_TOKEN_INVALID,
                                   detail[0] ? detail
                                             : smart_jwt_status_name(st));
    }

    rc = ngx_http_smart_copy_claims(r, &jwt, &ctx->claims);
    smart_jwt_release(&jwt);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->verified = 1;

    if (smcf->cache_zone != NULL) {
        ngx_http_smart_cache_put(r, key, &ctx->claims);
        ngx_http_smart_memo_put(slcf, &ctx->token, &ctx->claims);
    }

    return NGX_OK;

keys_not_ready:

    if (kst == NGX_HTTP_SMART_KEYS_WAIT) {
        return NGX_AGAIN;
    }

    return ngx_http_smart_deny(r, ctx, SMART_ERR_CONFIGURATION_INVALID,
                               "no key set available");
}


static smart_jwt_status_e
ngx_http_smart_verify_with(ngx_http_smart_loc_conf_t *slcf,
    ngx_http_smart_ctx_t *ctx, const smart_keyset_t *ks, smart_jwt_t *jwt,
    char *detail, size_t len)
{
    smart_jwt_policy_t  policy;

    policy = slcf->policy;
    policy.now = ngx_time();

    ngx_memzero(jwt, sizeof(smart_jwt_t));
    detail[0] = '\0';

    return smart_jwt_verify((const char *) ctx->token.data, ctx->token.len,
                            ks, &policy, jwt, detail, len);
}


static ngx_int_t
ngx_http_smart_copy_str(ngx_http_request_t *r, const char *s, ngx_str_t *out)
{
    if (s == NULL) {
        out->data = NULL;
        out->len = 0;
        return NGX_OK;
    }

    out->len = ngx_strlen(s);
    out->data = ngx_pnalloc(r->pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s, out->len + 1);

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_copy_claims(ngx_http_request_t *r, smart_jwt_t *jwt,
    ngx_http_smart_claims_t *claims)
{
    if (ngx_http_smart_copy_str(r, jwt->iss, &claims->iss) != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->sub, &claims->sub) != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->client_id, &claims->client_id)
           != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->patient, &claims->patient)
           != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->fhir_user, &claims->fhir_user)
           != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->scope, &claims->scope) != NGX_OK
        || ngx_http_smart_copy_str(r, jwt->jti, &claims->jti) != NGX_OK)
    {
        return NGX_ERROR;
    }

    claims->exp = (time_t) jwt->exp;
    claims->nbf = (time_t) jwt->nbf;
    claims->iat = (time_t) jwt->iat;

    return NGX_OK;
}



/*
 * One walk over the request headers for everything the handler looks at;
 * names compare with ngx_http_smart_hdr_eq().
 */

static void
ngx_http_smart_scan_headers(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_headers_t *hs)
{
    ngx_table_elt_t        *h;
    ngx_http_smart_walk_t   w;

    ngx_memzero(hs, sizeof(ngx_http_smart_headers_t));

    if (!ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_IN)) {
        return;
    }

    ngx_http_smart_walk_init(&w, &r->headers_in.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {

        if (ngx_http_smart_hdr_eq(h, slcf->correlation_lc.data,
                                  slcf->correlation_lc.len))
        {
            if (hs->cid == NULL) {
                hs->cid = h;
            }

            hs->ncid++;
        }

        switch (h->key.len) {

        case sizeof("Authorization") - 1:       /* and the two others */

            if (ngx_http_smart_hdr_is(h, "authorization")) {
                hs->nauth++;

            } else if (ngx_http_smart_hdr_is(h, "if-none-exist")) {
                if (hs->if_none_exist == NULL) {
                    hs->if_none_exist = h;
                }

                hs->nif_none_exist++;

            } else if (ngx_http_smart_hdr_is(h, "x-http-method")) {
                hs->method_override = 1;
            }

            break;

        case sizeof("Content-Type") - 1:

            if (ngx_http_smart_hdr_is(h, "content-type")) {
                if (hs->content_type == NULL) {
                    hs->content_type = h;
                }

                hs->ncontent_type++;
            }

            break;

        case sizeof("Content-Encoding") - 1:

            if (ngx_http_smart_hdr_is(h, "content-encoding")
                && !(h->value.len == sizeof("identity") - 1
                     && ngx_strncasecmp(h->value.data,
                                        (u_char *) "identity",
                                        sizeof("identity") - 1) == 0))
            {
                hs->content_encoding = 1;
            }

            break;

        case sizeof("X-HTTP-Method-Override") - 1:

            if (ngx_http_smart_hdr_is(h, "x-http-method-override")) {
                hs->method_override = 1;
            }

            break;

        case sizeof("X-Method-Override") - 1:

            if (ngx_http_smart_hdr_is(h, "x-method-override")) {
                hs->method_override = 1;
            }

            break;

        default:
            break;
        }
    }
}
