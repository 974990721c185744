
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit record of a request (docs/audit.md).
 *
 * At the log phase, the values of the request, its decision and its
 * upstreams are gathered, bounded, sanitized where a client or a token
 * supplied them, and copied with the record's hash into one entry; the
 * worker's hash chain (seq, prev) moves on only with a complete record.
 * Entries of up to ENTRY_SLOT bytes are reused instead of freed.
 */

#include "ngx_http_smart_audit_private.h"


#define NGX_HTTP_SMART_AUDIT_ENTRY_SLOT    2048    /* bytes: entries reused */


static ngx_http_smart_audit_entry_t *ngx_http_smart_audit_alloc(
    ngx_http_smart_audit_worker_t *w, size_t size, ngx_log_t *log);


/* --- the record ---------------------------------------------------------- */

/*
 * The record's values before they are copied into its entry; the numbers
 * and the timestamp are written into the buffers that follow.
 */
typedef struct {
    ngx_str_t   v[SMART_AUDIT_F__COUNT];

    u_char      ts[32];
    u_char      status[NGX_INT_T_LEN];
    u_char      outcome[2];
    u_char      ups[NGX_INT_T_LEN];
    u_char      upms[NGX_INT64_LEN];
    u_char      totms[NGX_INT64_LEN];
    u_char      sent[NGX_OFF_T_LEN];
    u_char      seq[NGX_INT64_LEN];
} ngx_http_smart_audit_values_t;


static ngx_http_smart_audit_entry_t *ngx_http_smart_audit_chain(
    ngx_http_smart_audit_worker_t *w, ngx_http_smart_audit_values_t *val,
    ngx_log_t *log);


/*
 * Values the module makes itself, printable ASCII by construction: fixed
 * vocabularies (decision, action, interaction, reason: catalogue codes),
 * numbers, the timestamp, base64 of the query, the hex worker ID and hash,
 * and the correlation ID (generated, or kept only when it matched
 * [A-Za-z0-9._-]{8,128}).  They are copied without the UTF-8 pass; what a
 * client or a token supplies is always sanitized.
 */
static const u_char  ngx_http_smart_audit_own[SMART_AUDIT_F__COUNT] = {
    1,  /* v */
    1,  /* ts */
    1,  /* cid */
    0,  /* tenant */
    0,  /* client_id */
    0,  /* iss */
    0,  /* sub */
    0,  /* fhir_user */
    0,  /* patient */
    0,  /* jti */
    0,  /* method */
    0,  /* resource */
    0,  /* id */
    1,  /* interaction */
    1,  /* action */
    1,  /* query (base64) */
    1,  /* decision */
    1,  /* reason */
    1,  /* status */
    1,  /* outcome */
    1,  /* upstream_status */
    1,  /* upstream_ms */
    1,  /* total_ms */
    0,  /* remote_addr */
    1,  /* bytes_sent */
    1,  /* worker */
    1,  /* seq */
    1,  /* prev */
    1   /* hash */
};


/*
 * The value v is n in decimal, written at buf (ngx_sprintf("%uL") without
 * the format parsing).
 */

static void
ngx_http_smart_audit_num(ngx_str_t *v, u_char *buf, uint64_t n)
{
    u_char   tmp[NGX_INT64_LEN];
    size_t   i;

    i = sizeof(tmp);

    do {
        tmp[--i] = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n != 0);

    v->data = buf;
    v->len = ngx_cpymem(buf, tmp + i, sizeof(tmp) - i) - buf;
}


/* The version and the request's start, to the millisecond, in UTC. */

static void
ngx_http_smart_audit_ts(ngx_http_smart_audit_worker_t *w,
    ngx_http_request_t *r, ngx_http_smart_audit_values_t *val)
{
    u_char    *p;
    ngx_tm_t   tm;

    ngx_str_set(&val->v[SMART_AUDIT_F_V], SMART_AUDIT_VERSION);

    /* the seconds part changes once a second: made once per second */

    if (w->ts_sec != r->start_sec || w->ts_len == 0) {
        ngx_gmtime(r->start_sec, &tm);
        w->ts_len = ngx_sprintf(w->ts, "%4d-%02d-%02dT%02d:%02d:%02d.",
                                tm.ngx_tm_year, tm.ngx_tm_mon,
                                tm.ngx_tm_mday, tm.ngx_tm_hour,
                                tm.ngx_tm_min, tm.ngx_tm_sec)
                    - w->ts;
        w->ts_sec = r->start_sec;
    }

    p = ngx_cpymem(val->ts, w->ts, w->ts_len);
    *p++ = (u_char) ('0' + r->start_msec / 100 % 10);
    *p++ = (u_char) ('0' + r->start_msec / 10 % 10);
    *p++ = (u_char) ('0' + r->start_msec % 10);
    *p++ = 'Z';
    val->v[SMART_AUDIT_F_TS].data = val->ts;
    val->v[SMART_AUDIT_F_TS].len = p - val->ts;
}


/* Who: the correlation ID, the tenant and the token's claims. */

static ngx_int_t
ngx_http_smart_audit_who(ngx_http_request_t *r,
    ngx_http_smart_audit_loc_conf_t *alcf, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_audit_values_t *val)
{
    ngx_str_t  tenant;

    val->v[SMART_AUDIT_F_CID] = ctx->cid;

    if (alcf->tenant != NULL) {
        if (ngx_http_complex_value(r, alcf->tenant, &tenant) != NGX_OK) {
            return NGX_ERROR;
        }

        val->v[SMART_AUDIT_F_TENANT] = tenant;
    }

    val->v[SMART_AUDIT_F_CLIENT_ID] = ctx->claims.client_id;
    val->v[SMART_AUDIT_F_ISS] = ctx->claims.iss;
    val->v[SMART_AUDIT_F_SUB] = ctx->claims.sub;
    val->v[SMART_AUDIT_F_FHIR_USER] = ctx->claims.fhir_user;
    val->v[SMART_AUDIT_F_PATIENT] = ctx->claims.patient;
    val->v[SMART_AUDIT_F_JTI] = ctx->claims.jti;

    return NGX_OK;
}


/* What: the method, the FHIR resource and interaction, the query. */

static ngx_int_t
ngx_http_smart_audit_what(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_audit_values_t *val)
{
    size_t       qlen;
    ngx_str_t    query;
    const char  *action;

    val->v[SMART_AUDIT_F_METHOD] = r->method_name;
    val->v[SMART_AUDIT_F_RESOURCE] = ctx->resource;
    val->v[SMART_AUDIT_F_ID] = ctx->resource_id;
    val->v[SMART_AUDIT_F_INTERACTION] = ctx->interaction;

    action = smart_audit_action((const char *) ctx->interaction.data,
                                ctx->interaction.len,
                                (const char *) r->method_name.data,
                                r->method_name.len);
    val->v[SMART_AUDIT_F_ACTION].data = (u_char *) action;
    val->v[SMART_AUDIT_F_ACTION].len = 1;       /* one letter */

    /* the raw query string, base64 (BALP entity.query) */

    qlen = ngx_min(r->args.len, SMART_AUDIT_QUERY_MAX);

    if (qlen != 0) {
        query.len = SMART_B64_ENCODED_LEN(qlen);
        query.data = ngx_pnalloc(r->pool, query.len + 1);
        if (query.data == NULL) {
            return NGX_ERROR;
        }

        if (smart_b64_encode((char *) query.data, query.len + 1,
                             r->args.data, qlen)
            != query.len)
        {
            return NGX_ERROR;
        }

        val->v[SMART_AUDIT_F_QUERY] = query;
    }

    return NGX_OK;
}


/* The decision and its reason, the response status and its outcome. */

static void
ngx_http_smart_audit_result(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_audit_values_t *val)
{
    ngx_int_t  st;

    if (ctx->denied) {
        ngx_str_set(&val->v[SMART_AUDIT_F_DECISION], "deny");
    } else if (ctx->allowed) {
        ngx_str_set(&val->v[SMART_AUDIT_F_DECISION], "allow");
    } else {
        ngx_str_set(&val->v[SMART_AUDIT_F_DECISION], "none");
    }

    val->v[SMART_AUDIT_F_REASON] = ctx->reason;

    st = r->err_status ? (ngx_int_t) r->err_status
                        : (ngx_int_t) (ngx_uint_t) r->headers_out.status;
    ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_STATUS], val->status,
                             (uint64_t) ngx_max(st, 0));

    val->outcome[0] = (u_char) smart_audit_outcome((int) st)[0];
    val->v[SMART_AUDIT_F_OUTCOME].data = val->outcome;
    val->v[SMART_AUDIT_F_OUTCOME].len = 1;
}


/* The last upstream tried, and the time spent on all of them. */

static void
ngx_http_smart_audit_upstream(ngx_http_request_t *r,
    ngx_http_smart_audit_values_t *val)
{
    ngx_uint_t                  i, up_set;
    ngx_msec_t                  up_ms;
    ngx_http_upstream_state_t  *state;

    up_ms = 0;
    up_set = 0;

    if (r->upstream_states != NULL && r->upstream_states->nelts != 0) {
        state = r->upstream_states->elts;

        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].peer == NULL && state[i].status == 0) {
                continue;
            }

            if (state[i].response_time != (ngx_msec_t) -1) {
                up_ms += state[i].response_time;
            }

            up_set = 1;
        }

        state = &state[r->upstream_states->nelts - 1];

        if (state->status != 0) {
            ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_UPSTREAM_STATUS],
                                     val->ups, state->status);
        }
    }

    if (up_set) {
        ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_UPSTREAM_MS],
                                 val->upms, up_ms);
    }
}


/* The time the request took, the client's address, the bytes sent. */

static void
ngx_http_smart_audit_exchange(ngx_http_request_t *r,
    ngx_http_smart_audit_values_t *val)
{
    ngx_time_t      *tp;
    ngx_msec_int_t   ms;

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);
    ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_TOTAL_MS], val->totms,
                             (uint64_t) ms);

    val->v[SMART_AUDIT_F_REMOTE_ADDR] = r->connection->addr_text;

    ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_BYTES_SENT], val->sent,
                             (uint64_t) ngx_max(r->connection->sent, 0));
}


/*
 * One allocation: the entry, then every value (bounded; sanitized unless
 * it is the module's own), then the hash of the record.
 */

static ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_entry(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_values_t *val, ngx_log_t *log)
{
    u_char                        *p, *q, *last;
    char                           hash[SMART_AUDIT_HASH_LEN + 1];
    size_t                         size, cap[SMART_AUDIT_F__COUNT];
    ngx_uint_t                     i;
    ngx_http_smart_audit_entry_t  *e;

    size = sizeof(ngx_http_smart_audit_entry_t) + SMART_AUDIT_HASH_LEN;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        cap[i] = (i == SMART_AUDIT_F_QUERY)
                 ? SMART_B64_ENCODED_LEN(SMART_AUDIT_QUERY_MAX)
                 : SMART_AUDIT_FIELD_MAX;
        size += ngx_min(val->v[i].len, cap[i]);
    }

    e = ngx_http_smart_audit_alloc(w, size, log);
    if (e == NULL) {
        return NULL;
    }

    ngx_memzero(e, sizeof(ngx_http_smart_audit_entry_t));
    e->size = size;

    p = (u_char *) e + sizeof(ngx_http_smart_audit_entry_t);
    last = (u_char *) e + size;

    for (i = 0; i < SMART_AUDIT_F_HASH; i++) {
        q = p;

        if (ngx_http_smart_audit_own[i]) {
            /* the module's own vocabulary, numbers and checked IDs */
            if (val->v[i].len != 0) {
                p = ngx_cpymem(p, val->v[i].data,
                               ngx_min(val->v[i].len, cap[i]));
            }

        } else {
            p += smart_audit_sanitize((char *) p, last - p,
                                      (const char *) val->v[i].data,
                                      ngx_min(val->v[i].len, cap[i]));
        }

        e->rec.f[i].data = (const char *) q;
        e->rec.f[i].len = p - q;
    }

    if (smart_audit_hash(&e->rec, hash) != SMART_AUDIT_OK) {
        ngx_http_smart_audit_release(w, e);
        return NULL;
    }

    ngx_memcpy(p, hash, SMART_AUDIT_HASH_LEN);
    e->rec.f[SMART_AUDIT_F_HASH].data = (const char *) p;
    e->rec.f[SMART_AUDIT_F_HASH].len = SMART_AUDIT_HASH_LEN;

    return e;
}


/*
 * The gap marker (docs/audit.md, "Guarantees"): a record of this worker's
 * chain with interaction "audit-gap", reason "crash", decision "none",
 * and in id "<worker>:<first>-<last>" the chain and seq range of the
 * records a killed worker took with it; smart-audit-export --verify
 * reports it.
 */

ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_gap(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_crash_t *crash, ngx_log_t *log)
{
    u_char                         *p, id[32 + 2 * NGX_INT64_LEN + 2];
    ngx_tm_t                        tm;
    ngx_time_t                     *tp;
    ngx_http_smart_audit_values_t   val;

    ngx_memzero(val.v, sizeof(val.v));

    ngx_str_set(&val.v[SMART_AUDIT_F_V], SMART_AUDIT_VERSION);

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);
    p = ngx_sprintf(val.ts, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, tp->msec);
    val.v[SMART_AUDIT_F_TS].data = val.ts;
    val.v[SMART_AUDIT_F_TS].len = p - val.ts;

    ngx_str_set(&val.v[SMART_AUDIT_F_INTERACTION], "audit-gap");
    ngx_str_set(&val.v[SMART_AUDIT_F_DECISION], "none");
    ngx_str_set(&val.v[SMART_AUDIT_F_REASON], "crash");

    p = ngx_sprintf(id, "%*s:%uL-%uL", crash->worker_len, crash->worker,
                    crash->first, crash->last);
    val.v[SMART_AUDIT_F_ID].data = id;
    val.v[SMART_AUDIT_F_ID].len = p - id;

    return ngx_http_smart_audit_chain(w, &val, log);
}


ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_build(ngx_http_smart_audit_worker_t *w,
    ngx_http_request_t *r, ngx_http_smart_audit_loc_conf_t *alcf,
    ngx_http_smart_ctx_t *ctx)
{
    ngx_http_smart_audit_values_t   val;

    ngx_memzero(val.v, sizeof(val.v));

    ngx_http_smart_audit_ts(w, r, &val);

    if (ngx_http_smart_audit_who(r, alcf, ctx, &val) != NGX_OK
        || ngx_http_smart_audit_what(r, ctx, &val) != NGX_OK)
    {
        return NULL;
    }

    ngx_http_smart_audit_result(r, ctx, &val);
    ngx_http_smart_audit_upstream(r, &val);
    ngx_http_smart_audit_exchange(r, &val);

    return ngx_http_smart_audit_chain(w, &val, r->connection->log);
}


/*
 * The record as the next link of this worker's chain: its worker, the
 * next seq, the previous record's hash.  The chain moves on only with a
 * complete record.
 */

static ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_chain(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_values_t *val, ngx_log_t *log)
{
    ngx_http_smart_audit_entry_t  *e;

    val->v[SMART_AUDIT_F_WORKER].data = w->worker;
    val->v[SMART_AUDIT_F_WORKER].len = NGX_HTTP_SMART_AUDIT_WORKER_LEN;

    ngx_http_smart_audit_num(&val->v[SMART_AUDIT_F_SEQ], val->seq,
                             w->seq + 1);

    val->v[SMART_AUDIT_F_PREV].data = w->prev;
    val->v[SMART_AUDIT_F_PREV].len = SMART_AUDIT_HASH_LEN;

    e = ngx_http_smart_audit_entry(w, val, log);
    if (e == NULL) {
        return NULL;
    }

    w->seq++;
    ngx_http_smart_status_audit_issued();
    ngx_memcpy(w->prev, e->rec.f[SMART_AUDIT_F_HASH].data,
               SMART_AUDIT_HASH_LEN);

    return e;
}


/* --- entries ------------------------------------------------------------- */

/* An entry of size bytes: a reused one of ENTRY_SLOT bytes when it fits. */

static ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_alloc(ngx_http_smart_audit_worker_t *w, size_t size,
    ngx_log_t *log)
{
    if (size > NGX_HTTP_SMART_AUDIT_ENTRY_SLOT) {
        return ngx_alloc(size, log);
    }

    if (w->nspare != 0) {
        return w->spare[--w->nspare];
    }

    return ngx_alloc(NGX_HTTP_SMART_AUDIT_ENTRY_SLOT, log);
}


/* e->size says how it was allocated (ngx_http_smart_audit_alloc()). */

void
ngx_http_smart_audit_release(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e)
{
    if (e->size <= NGX_HTTP_SMART_AUDIT_ENTRY_SLOT
        && w->nspare < NGX_HTTP_SMART_AUDIT_ENTRY_SPARE)
    {
        w->spare[w->nspare++] = e;
        return;
    }

    ngx_free(e);
}


void
ngx_http_smart_audit_spare_free(ngx_http_smart_audit_worker_t *w)
{
    while (w->nspare != 0) {
        ngx_free(w->spare[--w->nspare]);
    }
}
