
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: which catalogue row answers a failed response
 * (docs/errors.md, "Upstream failures"): the upstream's status or NGINX's
 * own, read or write, and the upstream's own OperationOutcome issues that
 * may follow the catalogue issue.  The filters (ngx_http_smart_filter.c)
 * swap the response; this file only decides and reads.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_failure.h"


static ngx_uint_t ngx_http_smart_is_write(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static ngx_int_t ngx_http_smart_failure_4xx(ngx_uint_t st,
    ngx_uint_t upstream, smart_err_e *err, ngx_uint_t *issues);
static smart_err_e ngx_http_smart_failure_5xx(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_uint_t st, ngx_uint_t upstream);
static const char *ngx_http_smart_json_str(json_t *v, size_t max);


#define NGX_HTTP_SMART_UP_ISSUES_MAX    20
#define NGX_HTTP_SMART_UP_TEXT_MAX      1024
#define NGX_HTTP_SMART_UP_EXPR_MAX      256
#define NGX_HTTP_SMART_UP_TOKEN_MAX     64


/*
 * The status is the upstream's own when NGINX passes the upstream's
 * response on; NGINX's special responses (502 refused/reset/malformed, 504
 * timed out, ...) set r->err_status, and an upstream reply NGINX refused may
 * have a parsed status that differs from the one sent.
 */

ngx_uint_t
ngx_http_smart_from_upstream(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    return u != NULL
           && r->err_status == 0
           && u->headers_in.status_n == r->headers_out.status;
}

/* POST create, PUT, PATCH, DELETE, batch/transaction; POST _search reads */

static ngx_uint_t
ngx_http_smart_is_write(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH
                       |NGX_HTTP_DELETE)))
    {
        return 0;
    }

    if (ctx->req != NULL) {
        switch (ctx->req->interaction) {
        case SMART_FHIR_I_SEARCH_TYPE:
        case SMART_FHIR_I_SEARCH_SYSTEM:
        case SMART_FHIR_I_SEARCH_COMPARTMENT:
            return 0;
        default:
            break;
        }
    }

    return 1;
}

/*
 * The catalogue row and the status sent for a failed response
 * (docs/errors.md).  NGX_DECLINED: not replaced (2xx/3xx, or
 * a 4xx NGINX produced that has no row: the operator's own answer, such as
 * "deny" or "auth_request").
 */

ngx_int_t
ngx_http_smart_failure_map(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t upstream, smart_err_e *err, ngx_uint_t *status,
    ngx_uint_t *issues)
{
    ngx_uint_t                st;
    const smart_err_entry_t  *e;

    st = r->headers_out.status;

    *issues = 0;
    *status = st;

    if (st < NGX_HTTP_BAD_REQUEST) {
        return NGX_DECLINED;
    }

    if (st < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        /* 4xx keep their status: the app may act on it */
        return ngx_http_smart_failure_4xx(st, upstream, err, issues);
    }

    *err = ngx_http_smart_failure_5xx(r, ctx, st, upstream);

    e = smart_err_get(*err);
    if (e == NULL) {
        return NGX_DECLINED;
    }

    *status = (ngx_uint_t) e->status;

    return NGX_OK;
}

/* A 4xx: its row, and whether the upstream's own issues follow. */

static ngx_int_t
ngx_http_smart_failure_4xx(ngx_uint_t st, ngx_uint_t upstream,
    smart_err_e *err, ngx_uint_t *issues)
{
    switch (st) {

    case NGX_HTTP_BAD_REQUEST:
    case 422:
        *err = SMART_ERR_REQUEST_INVALID;
        *issues = 1;
        return NGX_OK;

    case NGX_HTTP_NOT_FOUND:
    case 410:
        *err = SMART_ERR_NOT_FOUND;
        *issues = 1;
        return NGX_OK;

    case NGX_HTTP_CONFLICT:
    case NGX_HTTP_PRECONDITION_FAILED:
        *err = SMART_ERR_CONFLICT;
        return NGX_OK;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        *err = SMART_ERR_REQUEST_TOO_LARGE;
        return NGX_OK;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        *err = SMART_ERR_RATE_LIMITED;
        return NGX_OK;

    default:
        if (!upstream) {
            return NGX_DECLINED;
        }

        *err = SMART_ERR_REQUEST_INVALID;
        return NGX_OK;
    }
}

/*
 * A 5xx: from the upstream's reply (upstream), or made by NGINX in front
 * of it; after a write went out, the outcome is unknown.
 */

static smart_err_e
ngx_http_smart_failure_5xx(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t st, ngx_uint_t upstream)
{
    ngx_uint_t             write, malformed;
    ngx_http_upstream_t   *u;

    u = r->upstream;
    write = ngx_http_smart_is_write(r, ctx);

    if (upstream) {

        switch (st) {

        case NGX_HTTP_INTERNAL_SERVER_ERROR:
            return write ? SMART_ERR_WRITE_OUTCOME_UNKNOWN
                         : SMART_ERR_UPSTREAM_ERROR;

        case NGX_HTTP_BAD_GATEWAY:
            return write ? SMART_ERR_WRITE_OUTCOME_UNKNOWN
                         : SMART_ERR_DATA_UNAVAILABLE;

        case NGX_HTTP_SERVICE_UNAVAILABLE:
            return SMART_ERR_DATA_UNAVAILABLE;

        case NGX_HTTP_GATEWAY_TIME_OUT:
            return write ? SMART_ERR_WRITE_OUTCOME_UNKNOWN
                         : SMART_ERR_UPSTREAM_TIMEOUT;

        default:
            return SMART_ERR_UPSTREAM_ERROR;
        }
    }

    if (write && u != NULL && u->request_sent) {
        /* timed out, reset or refused reply after the write went out */
        return SMART_ERR_WRITE_OUTCOME_UNKNOWN;
    }

    /*
     * A malformed reply: NGINX parsed a status line, or received bytes it
     * could not parse, and refused the response (too big or invalid
     * header); otherwise the upstream refused, reset or closed.
     */

    malformed = (u != NULL
                 && (u->headers_in.status_n != 0
                     || (u->buffer.start != NULL
                         && u->buffer.last > u->buffer.start)));

    switch (st) {

    case NGX_HTTP_GATEWAY_TIME_OUT:
        return SMART_ERR_UPSTREAM_TIMEOUT;

    case NGX_HTTP_BAD_GATEWAY:
        return malformed ? SMART_ERR_UPSTREAM_ERROR
                         : SMART_ERR_DATA_UNAVAILABLE;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return SMART_ERR_DATA_UNAVAILABLE;

    default:
        return SMART_ERR_UPSTREAM_ERROR;
    }
}

/*
 * The upstream's own OperationOutcome issues, when its body is a complete
 * JSON OperationOutcome within the bound: severity, code, details.text and
 * the first expression of each; never diagnostics, never a coding (the
 * gateway does not vouch for another system's codes), never location.
 * Anything else leaves the catalogue issue alone.  *root, when set, owns
 * the strings and is released by the caller after rendering.
 */

ngx_int_t
ngx_http_smart_upstream_issues(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, json_t **root)
{
    size_t             i, n, k;
    json_t            *doc, *type, *list, *item, *details, *expr;
    const char        *rt;
    smart_oo_issue_t  *is;

    *root = NULL;
    ctx->extra = NULL;
    ctx->nextra = 0;

    if (ctx->up_overflow || ctx->up_body == NULL || ctx->up_len == 0
        || (ctx->up_expect >= 0 && (off_t) ctx->up_len != ctx->up_expect))
    {
        return NGX_OK;
    }

    doc = json_loadb((const char *) ctx->up_body, ctx->up_len,
                     JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL) {
        return NGX_OK;
    }

    *root = doc;

    type = json_object_get(doc, "resourceType");
    rt = ngx_http_smart_json_str(type, NGX_HTTP_SMART_UP_TOKEN_MAX);

    if (!json_is_object(doc) || rt == NULL
        || ngx_strcmp(rt, "OperationOutcome") != 0)
    {
        return NGX_OK;
    }

    list = json_object_get(doc, "issue");
    if (!json_is_array(list)) {
        return NGX_OK;
    }

    n = json_array_size(list);
    if (n > NGX_HTTP_SMART_UP_ISSUES_MAX) {
        n = NGX_HTTP_SMART_UP_ISSUES_MAX;
    }

    if (n == 0) {
        return NGX_OK;
    }

    is = ngx_pcalloc(r->pool, n * sizeof(smart_oo_issue_t));
    if (is == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    for (i = 0; i < n; i++) {
        item = json_array_get(list, i);
        if (!json_is_object(item)) {
            continue;
        }

        is[k].severity = ngx_http_smart_json_str(
                             json_object_get(item, "severity"),
                             NGX_HTTP_SMART_UP_TOKEN_MAX);
        is[k].code = ngx_http_smart_json_str(json_object_get(item, "code"),
                                             NGX_HTTP_SMART_UP_TOKEN_MAX);

        details = json_object_get(item, "details");
        if (json_is_object(details)) {
            is[k].details_text = ngx_http_smart_json_str(
                                     json_object_get(details, "text"),
                                     NGX_HTTP_SMART_UP_TEXT_MAX);
        }

        expr = json_object_get(item, "expression");
        if (json_is_array(expr)) {
            is[k].expression = ngx_http_smart_json_str(
                                   json_array_get(expr, 0),
                                   NGX_HTTP_SMART_UP_EXPR_MAX);
        }

        k++;
    }

    ctx->extra = is;
    ctx->nextra = k;

    return NGX_OK;
}

/* A JSON string of at most max bytes without NUL, else NULL. */

static const char *
ngx_http_smart_json_str(json_t *v, size_t max)
{
    size_t       len;
    const char  *s;

    if (!json_is_string(v)) {
        return NULL;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len > max || ngx_strlen(s) != len) {
        return NULL;
    }

    return s;
}
