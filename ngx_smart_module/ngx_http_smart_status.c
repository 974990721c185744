
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: counters in shared memory and the smart_status
 * location (docs/directives.md), in Prometheus text format.
 *
 * One array of atomic words shared by all workers: counters only grow;
 * the two gauges (audit queue depth, Redis connected) are kept as deltas
 * each worker adds and takes back, so their value is the sum over live
 * workers (a worker that crashes leaves its last contribution behind).
 */

#include "ngx_http_smart_status.h"

#include <jansson.h>
#include <nginx.h>
#include <openssl/crypto.h>


#define NGX_HTTP_SMART_STATUS_SIZE  (256 * 1024)    /* counters, slots */


static ngx_int_t ngx_http_smart_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


/* a worker's audit accounting (ngx_http_smart_status.h) */
typedef struct {
    ngx_atomic_t            pid;            /* 0: free */
    ngx_atomic_t            issued;
    ngx_atomic_t            kept;
    ngx_atomic_t            queue;          /* its gauge contributions */
    ngx_atomic_t            connected;
    ngx_atomic_t            worker_len;
    u_char                  worker[32];     /* its chain (audit "worker") */
} ngx_http_smart_slot_t;


static ngx_atomic_t           *ngx_http_smart_stats;
static ngx_shm_zone_t         *ngx_http_smart_stats_zone;
static ngx_http_smart_slot_t  *ngx_http_smart_slot;     /* this worker's */


/* Called for every configuration read: a new one may have no zone. */

void
ngx_http_smart_status_reset(void)
{
    ngx_http_smart_stats = NULL;
    ngx_http_smart_stats_zone = NULL;
}


ngx_int_t
ngx_http_smart_status_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t   *zone;

    static ngx_str_t  name = ngx_string("smart_status");

    if (ngx_http_smart_stats_zone != NULL) {
        return NGX_OK;
    }

    zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_SMART_STATUS_SIZE,
                                 &ngx_http_smart_audit_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_smart_status_init_zone;
    ngx_http_smart_stats_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /* counters survive a reload: the old zone is reused */

    if (data != NULL) {
        shm_zone->data = data;
        ngx_http_smart_stats = data;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_smart_stats = shpool->data;
        return NGX_OK;
    }

    /* the counters, then one slot per process slot */

    ngx_http_smart_stats = ngx_slab_calloc(shpool,
                                sizeof(ngx_atomic_t) * NGX_HTTP_SMART_STAT_COUNT
                                + sizeof(ngx_http_smart_slot_t)
                                  * NGX_MAX_PROCESSES);
    if (ngx_http_smart_stats == NULL) {
        return NGX_ERROR;
    }

    shpool->data = (void *) ngx_http_smart_stats;
    shm_zone->data = (void *) ngx_http_smart_stats;

    return NGX_OK;
}


void
ngx_http_smart_count(ngx_http_smart_stat_e counter)
{
    ngx_http_smart_status_add(counter, 1);
}


static ngx_http_smart_slot_t *
ngx_http_smart_status_slots(void)
{
    return (ngx_http_smart_slot_t *)
               (ngx_http_smart_stats + NGX_HTTP_SMART_STAT_COUNT);
}


void
ngx_http_smart_status_audit_issued(void)
{
    if (ngx_http_smart_slot != NULL) {
        (void) ngx_atomic_fetch_add(&ngx_http_smart_slot->issued, 1);
    }
}


/* A fate of n of this worker's records: the counter and the slot. */

void
ngx_http_smart_status_audit_fate(ngx_uint_t counter, ngx_int_t n)
{
    ngx_http_smart_status_add(counter, n);

    if (ngx_http_smart_slot != NULL && n > 0) {
        (void) ngx_atomic_fetch_add(&ngx_http_smart_slot->kept,
                                    (ngx_atomic_int_t) n);
    }
}


/* This worker's gauge contributions, for a successor to take back. */

void
ngx_http_smart_status_audit_gauges(ngx_int_t queue, ngx_int_t connected)
{
    if (ngx_http_smart_slot != NULL) {
        ngx_http_smart_slot->queue = (ngx_atomic_uint_t) queue;
        ngx_http_smart_slot->connected = (ngx_atomic_uint_t) connected;
    }
}


/*
 * Takes this process slot's audit slot.  A slot still held by another pid
 * belonged to a worker that did not exit (killed, crashed: NGINX respawns
 * into the same slot): the records it built and never counted died with
 * it.  They are counted lost (crash) and logged once; its gauges are
 * taken back.  Returns how many.
 */

ngx_int_t
ngx_http_smart_status_audit_claim(ngx_log_t *log, ngx_str_t *worker,
    ngx_http_smart_crash_t *crash)
{
    ngx_int_t               lost;
    ngx_uint_t              level;
    ngx_http_smart_slot_t  *slot;

    if (ngx_http_smart_stats == NULL || ngx_process_slot < 0
        || ngx_process_slot >= NGX_MAX_PROCESSES)
    {
        return 0;
    }

    slot = &ngx_http_smart_status_slots()[ngx_process_slot];
    lost = 0;
    ngx_memzero(crash, sizeof(ngx_http_smart_crash_t));

    if (slot->pid != 0 && (ngx_pid_t) slot->pid != ngx_pid) {
        lost = (ngx_int_t) (slot->issued - slot->kept);

        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_QUEUE,
                                  -(ngx_int_t) slot->queue);
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_REDIS_CONNECTED,
                                  -(ngx_int_t) slot->connected);

        level = NGX_LOG_NOTICE;

        if (lost > 0) {
            level = NGX_LOG_ERR;
            crash->lost = lost;
            crash->first = (uint64_t) slot->kept + 1;
            crash->last = (uint64_t) slot->issued;
            crash->worker_len = ngx_min((size_t) slot->worker_len,
                                        sizeof(crash->worker));
            ngx_memcpy(crash->worker, slot->worker, crash->worker_len);

            ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_LOST, lost);
            ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_CRASH_LOST,
                                      lost);
        }

        ngx_log_error(level, log, 0,
                      "smart: worker %P died with %i audit record(s) in "
                      "memory: counted lost (crash)", (ngx_pid_t) slot->pid,
                      lost);
    }

    slot->issued = 0;
    slot->kept = 0;
    slot->queue = 0;
    slot->connected = 0;
    slot->worker_len = ngx_min(worker->len, sizeof(slot->worker));
    ngx_memcpy(slot->worker, worker->data, slot->worker_len);
    slot->pid = (ngx_atomic_uint_t) ngx_pid;

    ngx_http_smart_slot = slot;

    return lost;
}


/* A clean exit: every record was counted. */

void
ngx_http_smart_status_audit_release(void)
{
    if (ngx_http_smart_slot != NULL) {
        ngx_http_smart_slot->pid = 0;
        ngx_http_smart_slot = NULL;
    }
}


void
ngx_http_smart_stamp(ngx_http_smart_stat_e gauge)
{
    if (ngx_http_smart_stats != NULL
        && (ngx_uint_t) gauge < NGX_HTTP_SMART_STAT_COUNT)
    {
        ngx_http_smart_stats[gauge] = (ngx_atomic_uint_t) ngx_time();
    }
}


void
ngx_http_smart_status_add(ngx_uint_t counter, ngx_int_t delta)
{
    if (ngx_http_smart_stats == NULL || counter >= NGX_HTTP_SMART_STAT_COUNT
        || delta == 0)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&ngx_http_smart_stats[counter],
                                (ngx_atomic_int_t) delta);
}


/*
 * One count per request, by the decision and reason of its audit record
 * and $smart_decision / $smart_reason: a refusal by its code; an allowed
 * request by "ok", or by the code smart_errors typed its failed response
 * with (the gateway allowed it, the upstream failed it).
 */

void
ngx_http_smart_status_request(ngx_http_smart_ctx_t *ctx)
{
    smart_err_e  err;

    if (!ctx->allowed && !ctx->denied) {
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_REQ_NONE, 1);
        return;
    }

    /* the common case, without a catalogue lookup */

    if (!ctx->denied && ctx->reason.len == 2
        && ctx->reason.data[0] == 'o' && ctx->reason.data[1] == 'k')
    {
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_REQ_ALLOW, 1);
        return;
    }

    err = smart_err_from_code((const char *) ctx->reason.data,
                              ctx->reason.len);

    if (ctx->denied) {
        ngx_http_smart_status_add(err < SMART_ERR__COUNT
                                  ? NGX_HTTP_SMART_STAT_REQ_DENY + err
                                  : NGX_HTTP_SMART_STAT_REQ_DENY_OTHER, 1);
        return;
    }

    ngx_http_smart_status_add(err < SMART_ERR__COUNT
                              ? NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR + err
                              : NGX_HTTP_SMART_STAT_REQ_ALLOW, 1);
}


static ngx_atomic_int_t
ngx_http_smart_status_get(ngx_uint_t counter)
{
    return (ngx_atomic_int_t) ngx_http_smart_stats[counter];
}


#define ngx_http_smart_status_metric(p, end, name, help, type)              \
    ngx_slprintf(p, end, "# HELP " name " " help "\n# TYPE " name " " type  \
                 "\n")


/*
 * What operators alert on besides the counters: the build, the workers
 * configured, and when the key sets fetched by subrequest were last
 * refreshed or last failed (0: never; the age is derived at scrape).
 */

static u_char *
ngx_http_smart_status_info(u_char *p, u_char *end)
{
    time_t            ok, failed;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    p = ngx_http_smart_status_metric(p, end, "smart_build_info",
            "The module's build: its version, NGINX's and the libraries'.",
            "gauge");
    p = ngx_slprintf(p, end,
                     "smart_build_info{version=\"" NGX_HTTP_SMART_VERSION
                     "\",nginx=\"" NGINX_VERSION "\",openssl=\"%s\","
                     "jansson=\"" JANSSON_VERSION "\"} 1\n",
                     OpenSSL_version(OPENSSL_VERSION_STRING));

    p = ngx_http_smart_status_metric(p, end, "smart_worker_processes",
            "Worker processes configured.", "gauge");
    p = ngx_slprintf(p, end, "smart_worker_processes %i\n",
                     ccf ? ccf->worker_processes : 0);

    ok = (time_t) ngx_http_smart_status_get(NGX_HTTP_SMART_STAT_JWKS_OK_TIME);
    failed = (time_t) ngx_http_smart_status_get(
                                        NGX_HTTP_SMART_STAT_JWKS_FAILED_TIME);

    p = ngx_http_smart_status_metric(p, end,
            "smart_jwks_last_refresh_timestamp_seconds",
            "When a key set fetched by subrequest was last loaded, or last "
            "refused (Unix time; 0: never).", "gauge");
    p = ngx_slprintf(p, end,
                     "smart_jwks_last_refresh_timestamp_seconds"
                     "{result=\"ok\"} %T\n"
                     "smart_jwks_last_refresh_timestamp_seconds"
                     "{result=\"failed\"} %T\n", ok, failed);

    p = ngx_http_smart_status_metric(p, end, "smart_jwks_age_seconds",
            "Seconds since a key set was last loaded by subrequest (-1: "
            "never).", "gauge");
    p = ngx_slprintf(p, end, "smart_jwks_age_seconds %T\n",
                     ok ? ngx_time() - ok : (time_t) -1);

    return p;
}


/* One smart_requests_total line per catalogue code, counters from base. */

static u_char *
ngx_http_smart_status_by_code(u_char *p, u_char *end, const char *decision,
    ngx_uint_t base)
{
    ngx_uint_t                i;
    const smart_err_entry_t  *e;

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        e = smart_err_get((smart_err_e) i);
        if (e == NULL) {
            continue;
        }

        p = ngx_slprintf(p, end,
                         "smart_requests_total{decision=\"%s\","
                         "reason=\"%s\"} %A\n", decision, e->code,
                         ngx_http_smart_status_get(base + i));
    }

    return p;
}


static u_char *
ngx_http_smart_status_render(u_char *p, u_char *end)
{
    ngx_uint_t   i;

    static const char  *audit[] = { "sent", "spooled", "replayed", "lost" };

    p = ngx_http_smart_status_metric(p, end, "smart_requests_total",
            "Requests in smart contexts by decision and reason.", "counter");
    p = ngx_slprintf(p, end,
                     "smart_requests_total{decision=\"allow\",reason=\"ok\"}"
                     " %A\n",
                     ngx_http_smart_status_get(NGX_HTTP_SMART_STAT_REQ_ALLOW));

    p = ngx_http_smart_status_by_code(p, end, "allow",
                                      NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR);
    p = ngx_http_smart_status_by_code(p, end, "deny",
                                      NGX_HTTP_SMART_STAT_REQ_DENY);

    p = ngx_slprintf(p, end,
                     "smart_requests_total{decision=\"deny\","
                     "reason=\"other\"} %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_REQ_DENY_OTHER));
    p = ngx_slprintf(p, end,
                     "smart_requests_total{decision=\"none\",reason=\"\"}"
                     " %A\n",
                     ngx_http_smart_status_get(NGX_HTTP_SMART_STAT_REQ_NONE));

    p = ngx_http_smart_status_metric(p, end, "smart_token_cache_total",
            "Token cache lookups by result.", "counter");
    p = ngx_slprintf(p, end,
                     "smart_token_cache_total{result=\"hit\"} %A\n"
                     "smart_token_cache_total{result=\"miss\"} %A\n",
                     ngx_http_smart_status_get(NGX_HTTP_SMART_STAT_CACHE_HIT),
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_CACHE_MISS));

    p = ngx_http_smart_status_info(p, end);

    p = ngx_http_smart_status_metric(p, end, "smart_jwks_refresh_total",
            "JWKS fetches by result.", "counter");
    p = ngx_slprintf(p, end,
                     "smart_jwks_refresh_total{result=\"ok\"} %A\n"
                     "smart_jwks_refresh_total{result=\"failed\"} %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_JWKS_REFRESH),
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_JWKS_FAILURE));

    p = ngx_http_smart_status_metric(p, end, "smart_audit_records_total",
            "Audit records by fate.", "counter");

    for (i = 0; i < 4; i++) {
        p = ngx_slprintf(p, end,
                         "smart_audit_records_total{result=\"%s\"} %A\n",
                         audit[i],
                         ngx_http_smart_status_get(
                             NGX_HTTP_SMART_STAT_AUDIT_SENT + i));
    }

    p = ngx_http_smart_status_metric(p, end, "smart_audit_crash_lost_total",
            "Of the lost audit records, those that died in the memory of a "
            "worker that was killed or crashed.", "counter");
    p = ngx_slprintf(p, end, "smart_audit_crash_lost_total %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_AUDIT_CRASH_LOST));

    p = ngx_http_smart_status_metric(p, end, "smart_audit_refused_total",
            "Audit records Redis refused (each then spooled or lost).",
            "counter");
    p = ngx_slprintf(p, end, "smart_audit_refused_total %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_AUDIT_REFUSED));

    p = ngx_http_smart_status_metric(p, end, "smart_audit_queue_depth",
            "Audit records queued for Redis, summed over workers.", "gauge");
    p = ngx_slprintf(p, end, "smart_audit_queue_depth %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_AUDIT_QUEUE));

    p = ngx_http_smart_status_metric(p, end, "smart_redis_connected",
            "Workers connected to the audit Redis.", "gauge");
    p = ngx_slprintf(p, end, "smart_redis_connected %A\n",
                     ngx_http_smart_status_get(
                         NGX_HTTP_SMART_STAT_REDIS_CONNECTED));

    return p;
}


ngx_int_t
ngx_http_smart_status_handler(ngx_http_request_t *r)
{
    size_t        size;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_smart_stats == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* 4 kB of fixed lines, two lines (allow, deny) per catalogue code */
    size = 4096 + 2 * 128 * SMART_ERR__COUNT;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_smart_status_render(b->last, b->end);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
