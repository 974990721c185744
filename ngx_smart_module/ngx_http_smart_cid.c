
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: correlation IDs (docs/errors.md, "Correlation IDs").
 *
 * Every smart request has one ID, shown to the client, sent upstream and
 * written to the audit record: the client's own when it sent exactly one
 * valid ID (smart_cid_valid()), else one made here from a random
 * per-worker prefix and a sequence number.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_cid.h"

#include <openssl/rand.h>


#define NGX_HTTP_SMART_WORKER_ID_LEN  12


static u_char *ngx_http_smart_cid_hex(u_char *p, uint64_t v);


static u_char      ngx_http_smart_worker_id[NGX_HTTP_SMART_WORKER_ID_LEN * 2];
static uint64_t    ngx_http_smart_cid_seq;


/*
 * Correlation IDs are a random per-worker prefix and a sequence number:
 * unique across workers and restarts without a random draw per request.
 */

ngx_int_t
ngx_http_smart_cid_init_process(ngx_cycle_t *cycle)
{
    u_char  raw[NGX_HTTP_SMART_WORKER_ID_LEN];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "smart: RAND_bytes() failed for the worker ID");
        return NGX_ERROR;
    }

    ngx_hex_dump(ngx_http_smart_worker_id, raw, sizeof(raw));
    ngx_http_smart_cid_seq = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_smart_correlation(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx)
{
    ngx_uint_t        n;
    ngx_table_elt_t  *h;

    if (ctx->cid.len != 0) {
        return NGX_OK;
    }

    h = ngx_http_smart_find_header(r, &slcf->correlation_header, &n);

    return ngx_http_smart_correlation_with(r, slcf, ctx, h, n);
}


/* The sequence number in lowercase hex, at least 8 digits (as "%08uxL"). */

static u_char *
ngx_http_smart_cid_hex(u_char *p, uint64_t v)
{
    u_char   tmp[16], *t;
    size_t   n;

    static u_char  hex[] = "0123456789abcdef";

    t = tmp + sizeof(tmp);

    do {
        *--t = hex[v & 0xf];
        v >>= 4;
    } while (v != 0);

    n = tmp + sizeof(tmp) - t;

    while (n < 8) {
        *p++ = '0';
        n++;
    }

    return ngx_cpymem(p, t, tmp + sizeof(tmp) - t);
}


ngx_int_t
ngx_http_smart_correlation_with(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_table_elt_t *h, ngx_uint_t n)
{
    u_char     *p;
    ngx_int_t   rc;

    if (ctx->cid.len != 0) {
        return NGX_OK;
    }

    if (n == 1 && smart_cid_valid((const char *) h->value.data, h->value.len)) {
        ctx->cid = h->value;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, sizeof(ngx_http_smart_worker_id) + 1
                             + NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->cid.data = p;
    p = ngx_cpymem(p, ngx_http_smart_worker_id,
                   sizeof(ngx_http_smart_worker_id));
    *p++ = '-';
    p = ngx_http_smart_cid_hex(p, ngx_http_smart_cid_seq++);
    ctx->cid.len = p - ctx->cid.data;

    /*
     * the upstream must see the same ID as the client and the audit log;
     * a request without a header list is never sent upstream
     */

    rc = ngx_http_smart_set_in_header(r, &slcf->correlation_header,
                                      &slcf->correlation_lc, &ctx->cid);

    return (rc == NGX_DECLINED) ? NGX_OK : rc;
}
