
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit trail (docs/directives.md, docs/audit.md).
 *
 * The module: its directive table (parsed in ngx_http_smart_audit_conf.c),
 * worker life, the smart_audit_required access check, the log phase, the
 * queue and the Redis handlers.
 *
 * Log phase: one record per request of a `smart on` context, chained per
 * worker (worker, seq, prev, hash; ngx_http_smart_audit_record.c), put on
 * a bounded per-worker queue and pipelined to Redis as
 * XADD ... MAXLEN ~ N *, written in the Redis protocol here
 * (smart_audit_xadd_resp()) straight into the connection's output buffer,
 * which is sent about 1 ms after the first record of a batch
 * (ngx_http_smart_redis.c).  While Redis is not ready or the queue is
 * full, records are appended to this worker's spool file, replayed when
 * Redis is ready again (ngx_http_smart_spool.c).  At exit, queued records
 * are spooled.
 */

#include "ngx_http_smart_audit_private.h"
#include "ngx_http_smart_spool.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_cid.h"
#include "ngx_http_smart_error.h"

#include <openssl/rand.h>


#define NGX_HTTP_SMART_AUDIT_QUEUE_MAX     4096        /* records */
#define NGX_HTTP_SMART_AUDIT_QUEUE_BYTES   (16 * 1024 * 1024)


static ngx_int_t ngx_http_smart_audit_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_smart_audit_init_process(ngx_cycle_t *cycle);
static void ngx_http_smart_audit_exit_process(ngx_cycle_t *cycle);
static ngx_http_smart_audit_worker_t *ngx_http_smart_audit_worker_create(
    ngx_cycle_t *cycle, ngx_http_smart_audit_main_conf_t *amcf);
static ngx_int_t ngx_http_smart_audit_prefix(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle);
static ngx_int_t ngx_http_smart_audit_connect(
    ngx_http_smart_audit_worker_t *w, ngx_cycle_t *cycle);

static ngx_int_t ngx_http_smart_audit_access(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_audit_log(ngx_http_request_t *r);

static void ngx_http_smart_audit_submit(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e);
static void ngx_http_smart_audit_pump(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_requeue(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_spool_queue(
    ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_keep(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e, const char *why);
static void ngx_http_smart_audit_free(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e);
static void ngx_http_smart_audit_gauges(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_on_reply(void *data, ngx_int_t rc,
    ngx_str_t *err, void *privdata);
static void ngx_http_smart_audit_on_drain(void *data);
static void ngx_http_smart_audit_on_state(void *data, ngx_uint_t ready);


static ngx_http_smart_audit_worker_t  *ngx_http_smart_audit_worker;


static ngx_command_t  ngx_http_smart_audit_commands[] = {

    { ngx_string("smart_audit_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_smart_audit_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_audit_spool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_smart_audit_spool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("smart_audit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_audit_loc_conf_t, audit),
      NULL },

    { ngx_string("smart_audit_required"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_audit_loc_conf_t, required),
      NULL },

    { ngx_string("smart_tenant"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_smart_audit_loc_conf_t, tenant),
      NULL },

    { ngx_string("smart_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_smart_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_smart_audit_module_ctx = {
    ngx_http_smart_audit_add_variables,    /* preconfiguration */
    ngx_http_smart_audit_init,             /* postconfiguration */

    ngx_http_smart_audit_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_smart_audit_create_loc_conf,  /* create location configuration */
    ngx_http_smart_audit_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_smart_audit_module = {
    NGX_MODULE_V1,
    &ngx_http_smart_audit_module_ctx,      /* module context */
    ngx_http_smart_audit_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_smart_audit_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_smart_audit_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* --- phase handlers ------------------------------------------------------ */

static ngx_int_t
ngx_http_smart_audit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /*
     * Registered after ngx_http_smart_module's, so it runs before the
     * token check: an audit refusal costs no verification.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_smart_audit_access;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_smart_audit_log;

    return NGX_OK;
}


/* --- worker life --------------------------------------------------------- */

static ngx_int_t
ngx_http_smart_audit_init_process(ngx_cycle_t *cycle)
{
    ngx_str_t                          chain;
    ngx_http_smart_crash_t             crash;
    ngx_http_smart_audit_entry_t      *e;
    ngx_http_smart_audit_worker_t     *w;
    ngx_http_smart_audit_main_conf_t  *amcf;

    ngx_http_smart_audit_worker = NULL;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_smart_audit_module);

    if (amcf == NULL || (!amcf->has_redis && amcf->spool.len == 0)) {
        return NGX_OK;
    }

    w = ngx_http_smart_audit_worker_create(cycle, amcf);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (amcf->has_redis && ngx_http_smart_audit_prefix(w, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_smart_spool_init(w, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (amcf->has_redis && ngx_http_smart_audit_connect(w, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_smart_audit_worker = w;

    /* records a killed predecessor in this slot left in memory: counted
       lost, and a gap marker in the stream names them */

    chain.data = w->worker;
    chain.len = NGX_HTTP_SMART_AUDIT_WORKER_LEN;

    if (ngx_http_smart_status_audit_claim(cycle->log, &chain, &crash) > 0) {
        e = ngx_http_smart_audit_gap(w, &crash, cycle->log);
        if (e != NULL) {
            ngx_http_smart_audit_submit(w, e);
        }
    }

    return NGX_OK;
}


/* The worker's state: empty queues and a new chain. */

static ngx_http_smart_audit_worker_t *
ngx_http_smart_audit_worker_create(ngx_cycle_t *cycle,
    ngx_http_smart_audit_main_conf_t *amcf)
{
    u_char                          raw[NGX_HTTP_SMART_AUDIT_WORKER_LEN / 2];
    ngx_http_smart_audit_worker_t  *w;

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_smart_audit_worker_t));
    if (w == NULL) {
        return NULL;
    }

    w->amcf = amcf;
    w->log = cycle->log;
    ngx_queue_init(&w->unsent);
    ngx_queue_init(&w->inflight);
    ngx_queue_init(&w->returned);
    ngx_memcpy(w->prev, smart_audit_zero_hash, SMART_AUDIT_HASH_LEN);

    ngx_http_smart_flood_init(&w->flood_refused, cycle->log,
                              "redis refused audit records");
    ngx_http_smart_flood_init(&w->flood_lost, cycle->log,
                              "audit records lost (spool not writable)");
    ngx_http_smart_flood_init(&w->flood_spool, cycle->log,
                              "audit spool writes failed");

    /* the chain's name: random, so a restarted worker starts a new chain */

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "smart: RAND_bytes() failed for the audit worker ID");
        return NULL;
    }

    ngx_hex_dump(w->worker, raw, sizeof(raw));

    return w;
}


/* The XADD ... * that starts every record's command. */

static ngx_int_t
ngx_http_smart_audit_prefix(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle)
{
    ngx_http_smart_audit_main_conf_t  *amcf;

    amcf = w->amcf;

    w->prefix_len = smart_audit_xadd_prefix((const char *) amcf->stream.data,
                                            amcf->stream.len,
                                            (const char *) amcf->maxlen,
                                            NULL, 0);
    w->prefix = ngx_pnalloc(cycle->pool, w->prefix_len);

    if (w->prefix == NULL) {
        return NGX_ERROR;
    }

    /* the largest record fits the connection's output buffer */

    if (w->prefix_len + NGX_HTTP_SMART_AUDIT_RESP_MAX
        > NGX_HTTP_SMART_REDIS_OUT)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "smart: audit stream name too long");
        return NGX_ERROR;
    }

    (void) smart_audit_xadd_prefix((const char *) amcf->stream.data,
                                   amcf->stream.len,
                                   (const char *) amcf->maxlen,
                                   (char *) w->prefix, w->prefix_len);

    return NGX_OK;
}


/* The Redis connection, and with a spool the scan for files to replay. */

static ngx_int_t
ngx_http_smart_audit_connect(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle)
{
    w->rd = ngx_http_smart_redis_create(cycle, &w->amcf->redis,
                                        ngx_http_smart_audit_on_reply,
                                        ngx_http_smart_audit_on_state,
                                        ngx_http_smart_audit_on_drain, w);
    if (w->rd == NULL) {
        return NGX_ERROR;
    }

    ngx_http_smart_redis_connect(w->rd);

    if (w->amcf->spool.len != 0) {
        ngx_http_smart_spool_start(w);
    }

    return NGX_OK;
}


static void
ngx_http_smart_audit_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_smart_audit_worker_t  *w;

    w = ngx_http_smart_audit_worker;
    if (w == NULL) {
        return;
    }

    ngx_http_smart_spool_stop(w);

    if (w->rd != NULL) {
        /* unanswered records come back through the handlers, as lost */
        ngx_http_smart_redis_destroy(w->rd);
    }

    ngx_http_smart_audit_requeue(w);
    ngx_http_smart_audit_spool_queue(w);
    ngx_http_smart_spool_exit(w, cycle);

    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_QUEUE, -w->g_queue);
    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_REDIS_CONNECTED,
                              -w->g_connected);
    w->g_queue = 0;
    w->g_connected = 0;

    /* every record is counted now: the slot is let go */
    ngx_http_smart_status_audit_release();

    ngx_http_smart_audit_spare_free(w);

    ngx_http_smart_audit_worker = NULL;
}


/* --- access phase: smart_audit_required ---------------------------------- */

/*
 * A request is refused up front when no record of it could be kept:
 * Redis is not ready and the spool cannot be written.  Queued memory does
 * not count: it does not survive a crash.
 */

static ngx_int_t
ngx_http_smart_audit_access(ngx_http_request_t *r)
{
    ngx_http_smart_ctx_t             *ctx;
    ngx_http_smart_loc_conf_t        *slcf;
    ngx_http_smart_audit_worker_t    *w;
    ngx_http_smart_audit_loc_conf_t  *alcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_audit_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (!alcf->required || !alcf->audit || !slcf->enable) {
        return NGX_DECLINED;
    }

    w = ngx_http_smart_audit_worker;

    if (w != NULL
        && ((w->rd != NULL && ngx_http_smart_redis_ready(w->rd))
            || ngx_http_smart_spool_open(w) == NGX_OK))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_smart_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_smart_correlation(r, slcf, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_smart_deny(r, ctx, SMART_ERR_AUDIT_UNAVAILABLE,
                               "Redis is not connected and the spool "
                               "cannot be written, request refused");
}


/* --- log phase: the record ----------------------------------------------- */

static ngx_int_t
ngx_http_smart_audit_log(ngx_http_request_t *r)
{
    ngx_http_smart_ctx_t             *ctx;
    ngx_http_smart_loc_conf_t        *slcf;
    ngx_http_smart_audit_entry_t     *e;
    ngx_http_smart_audit_worker_t    *w;
    ngx_http_smart_audit_loc_conf_t  *alcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (!slcf->enable) {
        return NGX_OK;
    }

    ctx = ngx_http_smart_get_ctx(r);
    if (ctx == NULL) {
        return NGX_OK;
    }

    ngx_http_smart_status_request(ctx);

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_audit_module);
    w = ngx_http_smart_audit_worker;

    if (!alcf->audit || w == NULL) {
        return NGX_OK;
    }

    if (ctx->cid.len == 0
        && ngx_http_smart_correlation(r, slcf, ctx) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "smart: audit record lost: no correlation id");
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_LOST, 1);
        return NGX_OK;
    }

    e = ngx_http_smart_audit_build(w, r, alcf, ctx);

    if (e == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "smart: audit record lost: out of memory, "
                      "correlation id \"%V\"", &ctx->cid);
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_LOST, 1);
        return NGX_OK;
    }

    ngx_http_smart_audit_submit(w, e);

    return NGX_OK;
}


/* --- queue --------------------------------------------------------------- */

static void
ngx_http_smart_audit_submit(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e)
{
    ngx_uint_t  ready;

    ready = (w->rd != NULL && ngx_http_smart_redis_ready(w->rd));

    ngx_http_smart_audit_requeue(w);

    /* with a spool, memory only holds what Redis is about to take */

    if (w->spool_path != NULL && !ready) {
        ngx_http_smart_audit_spool_queue(w);
        ngx_http_smart_audit_keep(w, e, "redis not connected");
        return;
    }

    if (w->rd == NULL
        || w->count >= NGX_HTTP_SMART_AUDIT_QUEUE_MAX
        || w->bytes + e->size > NGX_HTTP_SMART_AUDIT_QUEUE_BYTES)
    {
        ngx_http_smart_audit_keep(w, e, w->rd ? "audit queue full"
                                              : "no redis");
        return;
    }

    ngx_queue_insert_tail(&w->unsent, &e->queue);
    w->count++;
    w->bytes += e->size;

    ngx_http_smart_audit_pump(w);
    ngx_http_smart_audit_gauges(w);
}


/* Records lost in flight go back before the unsent ones, in order. */

static void
ngx_http_smart_audit_requeue(ngx_http_smart_audit_worker_t *w)
{
    if (ngx_queue_empty(&w->returned)) {
        return;
    }

    ngx_queue_add(&w->returned, &w->unsent);
    ngx_queue_init(&w->unsent);
    ngx_queue_add(&w->unsent, &w->returned);
    ngx_queue_init(&w->returned);
}


static void
ngx_http_smart_audit_pump(ngx_http_smart_audit_worker_t *w)
{
    u_char                        *p;
    size_t                         len, room;
    ngx_queue_t                   *q;
    ngx_http_smart_audit_entry_t  *e;

    while (!ngx_queue_empty(&w->unsent)
           && w->rd != NULL && ngx_http_smart_redis_ready(w->rd))
    {
        q = ngx_queue_head(&w->unsent);
        e = ngx_queue_data(q, ngx_http_smart_audit_entry_t, queue);

        /* NULL: the pipeline is full; on_drain pumps again */

        p = ngx_http_smart_redis_buffer(w->rd, &room);
        if (p == NULL) {
            break;
        }

        len = smart_audit_xadd_resp(&e->rec, (const char *) w->prefix,
                                    w->prefix_len, (char *) p, room);

        if (len > w->prefix_len + NGX_HTTP_SMART_AUDIT_RESP_MAX) {
            /* cannot happen: every value is bounded at build time */
            ngx_queue_remove(q);
            w->count--;
            w->bytes -= e->size;
            ngx_http_smart_audit_keep(w, e, "record too large");
            continue;
        }

        if (len > room) {
            /* NULL: the buffer is full; on_drain pumps again */

            p = ngx_http_smart_redis_reserve(w->rd, len);
            if (p == NULL) {
                break;
            }

            (void) smart_audit_xadd_resp(&e->rec, (const char *) w->prefix,
                                         w->prefix_len, (char *) p, len);
        }

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&w->inflight, q);
        ngx_http_smart_redis_commit(w->rd, len, e);
    }
}


/* Spools every record not yet sent (Redis is not ready). */

static void
ngx_http_smart_audit_spool_queue(ngx_http_smart_audit_worker_t *w)
{
    ngx_queue_t                   *q;
    ngx_http_smart_audit_entry_t  *e;

    while (!ngx_queue_empty(&w->unsent)) {
        q = ngx_queue_head(&w->unsent);
        e = ngx_queue_data(q, ngx_http_smart_audit_entry_t, queue);

        ngx_queue_remove(q);
        w->count--;
        w->bytes -= e->size;

        ngx_http_smart_audit_keep(w, e, "redis not connected");
    }

    ngx_http_smart_audit_gauges(w);
}


/* The record cannot go to Redis now: spool it, or count it lost. */

static void
ngx_http_smart_audit_keep(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e, const char *why)
{
    /* records wait: Redis is retried sooner (unless it is ready) */

    if (w->rd != NULL) {
        ngx_http_smart_redis_urgent(w->rd);
    }

    /* a buffered line is counted as spooled once it is written */

    if (ngx_http_smart_spool_write(w, &e->rec) != NGX_OK) {
        ngx_http_smart_flood_log(&w->flood_lost, NGX_LOG_ERR, w->log, 0,
                      "smart: audit record lost (%s, spool not writable): "
                      "cid \"%*s\" worker %*s seq %*s", why,
                      e->rec.f[SMART_AUDIT_F_CID].len,
                      e->rec.f[SMART_AUDIT_F_CID].data,
                      e->rec.f[SMART_AUDIT_F_WORKER].len,
                      e->rec.f[SMART_AUDIT_F_WORKER].data,
                      e->rec.f[SMART_AUDIT_F_SEQ].len,
                      e->rec.f[SMART_AUDIT_F_SEQ].data);
        ngx_http_smart_status_audit_fate(NGX_HTTP_SMART_STAT_AUDIT_LOST, 1);
    }

    ngx_http_smart_audit_release(w, e);
}


static void
ngx_http_smart_audit_free(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e)
{
    w->count--;
    w->bytes -= e->size;
    ngx_http_smart_audit_release(w, e);
}


static void
ngx_http_smart_audit_gauges(ngx_http_smart_audit_worker_t *w)
{
    ngx_int_t  connected;

    connected = (w->rd != NULL && ngx_http_smart_redis_ready(w->rd));

    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_QUEUE,
                              (ngx_int_t) w->count - w->g_queue);
    w->g_queue = (ngx_int_t) w->count;

    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_REDIS_CONNECTED,
                              connected - w->g_connected);
    w->g_connected = connected;

    ngx_http_smart_status_audit_gauges(w->g_queue, w->g_connected);
}


static void
ngx_http_smart_audit_on_reply(void *data, ngx_int_t rc, ngx_str_t *err,
    void *privdata)
{
    ngx_http_smart_audit_worker_t  *w = data;

    ngx_http_smart_audit_entry_t  *e;

    if (privdata == &w->replay) {
        ngx_http_smart_spool_replay_ack(w, rc, err);
        return;
    }

    e = privdata;
    ngx_queue_remove(&e->queue);

    if (rc == NGX_ERROR) {
        /* lost with the connection: sent again or spooled, in order */
        ngx_queue_insert_tail(&w->returned, &e->queue);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_REFUSED, 1);
        ngx_http_smart_flood_log(&w->flood_refused, NGX_LOG_ERR, w->log, 0,
                                 "smart: redis refused an audit record: %V",
                                 err);
        w->count--;
        w->bytes -= e->size;
        ngx_http_smart_audit_keep(w, e, "redis refused it");
        ngx_http_smart_audit_gauges(w);
        return;
    }

    ngx_http_smart_status_audit_fate(NGX_HTTP_SMART_STAT_AUDIT_SENT, 1);
    ngx_http_smart_audit_free(w, e);
    ngx_http_smart_audit_gauges(w);

    if (w->count == 0 && w->spool_path != NULL && !ngx_exiting) {
        ngx_http_smart_spool_replay_pump(w);
    }
}


/* The connection's output buffer has room again after a full one. */

static void
ngx_http_smart_audit_on_drain(void *data)
{
    ngx_http_smart_audit_worker_t  *w = data;

    ngx_http_smart_audit_pump(w);
    ngx_http_smart_audit_gauges(w);

    if (w->count == 0 && w->spool_path != NULL && !ngx_exiting) {
        ngx_http_smart_spool_replay_pump(w);
    }
}


static void
ngx_http_smart_audit_on_state(void *data, ngx_uint_t ready)
{
    ngx_http_smart_audit_worker_t  *w = data;

    ngx_http_smart_audit_requeue(w);

    if (!ready) {
        if (w->spool_path != NULL) {
            ngx_http_smart_audit_spool_queue(w);
        }

        ngx_http_smart_spool_replay_reset(w);
        ngx_http_smart_audit_gauges(w);

        if (w->replay.nfiles != 0) {
            /* a replay was under way: its records wait */
            ngx_http_smart_redis_urgent(w->rd);
        }

        return;
    }

    ngx_http_smart_audit_pump(w);
    ngx_http_smart_audit_gauges(w);

    if (w->spool_path != NULL && !ngx_exiting) {
        ngx_http_smart_spool_adopt(w);
        ngx_http_smart_spool_rotate(w);
        ngx_http_smart_spool_replay_pump(w);
    }
}
