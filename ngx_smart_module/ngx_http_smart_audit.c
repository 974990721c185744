
/*
 * ngx_smart_module: the audit trail (docs/directives.md, docs/audit.md).
 *
 * Log phase: one record per request of a `smart on` context, chained per
 * worker (worker, seq, prev, hash), put on a bounded per-worker queue and
 * pipelined to Redis as XADD ... MAXLEN ~ N *, written in the Redis
 * protocol here (smart_audit_xadd_resp()) straight into the connection's
 * output buffer, which is sent about 1 ms after the first record of a
 * batch (ngx_http_smart_redis.c).  While Redis is not ready or the queue
 * is full, records are appended to this worker's spool file, replayed
 * when Redis is ready again (ngx_http_smart_spool.c).  At exit, queued
 * records are spooled.
 */

#include "ngx_http_smart_audit_private.h"
#include "ngx_http_smart_spool.h"
#include "ngx_http_smart_util.h"

#include <openssl/rand.h>


#define NGX_HTTP_SMART_AUDIT_QUEUE_MAX     4096        /* records */
#define NGX_HTTP_SMART_AUDIT_QUEUE_BYTES   (16 * 1024 * 1024)
#define NGX_HTTP_SMART_AUDIT_ENTRY_SLOT    2048    /* bytes: entries reused */


static ngx_int_t ngx_http_smart_audit_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_smart_audit_init_process(ngx_cycle_t *cycle);
static void ngx_http_smart_audit_exit_process(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_smart_audit_access(ngx_http_request_t *r);
static ngx_int_t ngx_http_smart_audit_log(ngx_http_request_t *r);

static ngx_http_smart_audit_entry_t *ngx_http_smart_audit_build(
    ngx_http_request_t *r, ngx_http_smart_audit_loc_conf_t *alcf,
    ngx_http_smart_ctx_t *ctx);
static void ngx_http_smart_audit_submit(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e);
static void ngx_http_smart_audit_pump(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_requeue(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_spool_queue(
    ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_audit_keep(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e, const char *why);
static ngx_http_smart_audit_entry_t *ngx_http_smart_audit_alloc(
    ngx_http_smart_audit_worker_t *w, size_t size, ngx_log_t *log);
static void ngx_http_smart_audit_release(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e);
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
    u_char                             raw[NGX_HTTP_SMART_AUDIT_WORKER_LEN / 2];
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

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_http_smart_audit_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->amcf = amcf;
    w->log = cycle->log;
    ngx_queue_init(&w->unsent);
    ngx_queue_init(&w->inflight);
    ngx_queue_init(&w->returned);
    ngx_memcpy(w->prev, smart_audit_zero_hash, SMART_AUDIT_HASH_LEN);

    /* the chain's name: random, so a restarted worker starts a new chain */

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "smart: RAND_bytes() failed for the audit worker ID");
        return NGX_ERROR;
    }

    ngx_hex_dump(w->worker, raw, sizeof(raw));

    if (amcf->has_redis) {
        w->prefix_len = smart_audit_xadd_prefix(
                            (const char *) amcf->stream.data, amcf->stream.len,
                            (const char *) amcf->maxlen, NULL, 0);
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
    }

    if (ngx_http_smart_spool_init(w, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (amcf->has_redis) {
        w->rd = ngx_http_smart_redis_create(cycle, &amcf->redis,
                                            ngx_http_smart_audit_on_reply,
                                            ngx_http_smart_audit_on_state,
                                            ngx_http_smart_audit_on_drain, w);
        if (w->rd == NULL) {
            return NGX_ERROR;
        }

        ngx_http_smart_redis_connect(w->rd);

        if (amcf->spool.len != 0) {
            ngx_http_smart_spool_start(w);
        }
    }

    ngx_http_smart_audit_worker = w;

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

    while (w->nspare != 0) {
        ngx_free(w->spare[--w->nspare]);
    }

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

    e = ngx_http_smart_audit_build(r, alcf, ctx);

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


typedef struct {
    ngx_str_t   v[SMART_AUDIT_F__COUNT];
} ngx_http_smart_audit_values_t;


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


/* Decimal digits of v (ngx_sprintf("%uL") without the format parsing). */

static u_char *
ngx_http_smart_audit_dec(u_char *p, uint64_t v)
{
    u_char   tmp[NGX_INT64_LEN];
    size_t   n;

    n = sizeof(tmp);

    do {
        tmp[--n] = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    return ngx_cpymem(p, tmp + n, sizeof(tmp) - n);
}


static ngx_http_smart_audit_entry_t *
ngx_http_smart_audit_build(ngx_http_request_t *r,
    ngx_http_smart_audit_loc_conf_t *alcf, ngx_http_smart_ctx_t *ctx)
{
    u_char                         *p, *q, *last;
    u_char                          ts[32], status[NGX_INT_T_LEN];
    u_char                          outcome[2], ups[NGX_INT_T_LEN];
    u_char                          upms[NGX_INT64_LEN], totms[NGX_INT64_LEN];
    u_char                          sent[NGX_OFF_T_LEN], seq[NGX_INT64_LEN];
    char                            hash[SMART_AUDIT_HASH_LEN + 1];
    size_t                          size, qlen, cap[SMART_AUDIT_F__COUNT];
    ngx_tm_t                        tm;
    ngx_int_t                       st;
    ngx_str_t                       tenant, query;
    ngx_uint_t                      i, up_set;
    ngx_msec_t                      up_ms;
    ngx_msec_int_t                  ms;
    ngx_time_t                     *tp;
    const char                     *action;
    ngx_http_smart_audit_entry_t   *e;
    ngx_http_upstream_state_t      *state;
    ngx_http_smart_audit_worker_t  *w;
    ngx_http_smart_audit_values_t   val;

    w = ngx_http_smart_audit_worker;
    ngx_memzero(&val, sizeof(val));

    ngx_str_set(&val.v[SMART_AUDIT_F_V], SMART_AUDIT_VERSION);

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

    p = ngx_cpymem(ts, w->ts, w->ts_len);
    *p++ = (u_char) ('0' + r->start_msec / 100 % 10);
    *p++ = (u_char) ('0' + r->start_msec / 10 % 10);
    *p++ = (u_char) ('0' + r->start_msec % 10);
    *p++ = 'Z';
    val.v[SMART_AUDIT_F_TS].data = ts;
    val.v[SMART_AUDIT_F_TS].len = p - ts;

    val.v[SMART_AUDIT_F_CID] = ctx->cid;

    if (alcf->tenant != NULL) {
        if (ngx_http_complex_value(r, alcf->tenant, &tenant) != NGX_OK) {
            return NULL;
        }

        val.v[SMART_AUDIT_F_TENANT] = tenant;
    }

    val.v[SMART_AUDIT_F_CLIENT_ID] = ctx->claims.client_id;
    val.v[SMART_AUDIT_F_ISS] = ctx->claims.iss;
    val.v[SMART_AUDIT_F_SUB] = ctx->claims.sub;
    val.v[SMART_AUDIT_F_FHIR_USER] = ctx->claims.fhir_user;
    val.v[SMART_AUDIT_F_PATIENT] = ctx->claims.patient;
    val.v[SMART_AUDIT_F_JTI] = ctx->claims.jti;
    val.v[SMART_AUDIT_F_METHOD] = r->method_name;
    val.v[SMART_AUDIT_F_RESOURCE] = ctx->resource;
    val.v[SMART_AUDIT_F_ID] = ctx->resource_id;
    val.v[SMART_AUDIT_F_INTERACTION] = ctx->interaction;

    action = smart_audit_action((const char *) ctx->interaction.data,
                                ctx->interaction.len,
                                (const char *) r->method_name.data,
                                r->method_name.len);
    val.v[SMART_AUDIT_F_ACTION].data = (u_char *) action;
    val.v[SMART_AUDIT_F_ACTION].len = 1;        /* one letter */

    /* the raw query string, base64 (BALP entity.query) */

    qlen = ngx_min(r->args.len, SMART_AUDIT_QUERY_MAX);

    if (qlen != 0) {
        query.len = SMART_B64_ENCODED_LEN(qlen);
        query.data = ngx_pnalloc(r->pool, query.len + 1);
        if (query.data == NULL) {
            return NULL;
        }

        if (smart_b64_encode((char *) query.data, query.len + 1,
                             r->args.data, qlen)
            != query.len)
        {
            return NULL;
        }

        val.v[SMART_AUDIT_F_QUERY] = query;
    }

    if (ctx->denied) {
        ngx_str_set(&val.v[SMART_AUDIT_F_DECISION], "deny");
    } else if (ctx->allowed) {
        ngx_str_set(&val.v[SMART_AUDIT_F_DECISION], "allow");
    } else {
        ngx_str_set(&val.v[SMART_AUDIT_F_DECISION], "none");
    }

    val.v[SMART_AUDIT_F_REASON] = ctx->reason;

    st = r->err_status ? (ngx_int_t) r->err_status
                        : (ngx_int_t) (ngx_uint_t) r->headers_out.status;
    val.v[SMART_AUDIT_F_STATUS].data = status;
    val.v[SMART_AUDIT_F_STATUS].len =
        ngx_http_smart_audit_dec(status, (uint64_t) ngx_max(st, 0)) - status;

    outcome[0] = (u_char) smart_audit_outcome((int) st)[0];
    val.v[SMART_AUDIT_F_OUTCOME].data = outcome;
    val.v[SMART_AUDIT_F_OUTCOME].len = 1;

    /* the last upstream tried, and the time spent on all of them */

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
            val.v[SMART_AUDIT_F_UPSTREAM_STATUS].data = ups;
            val.v[SMART_AUDIT_F_UPSTREAM_STATUS].len =
                ngx_http_smart_audit_dec(ups, state->status) - ups;
        }
    }

    if (up_set) {
        val.v[SMART_AUDIT_F_UPSTREAM_MS].data = upms;
        val.v[SMART_AUDIT_F_UPSTREAM_MS].len =
            ngx_http_smart_audit_dec(upms, up_ms) - upms;
    }

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);
    val.v[SMART_AUDIT_F_TOTAL_MS].data = totms;
    val.v[SMART_AUDIT_F_TOTAL_MS].len =
        ngx_http_smart_audit_dec(totms, (uint64_t) ms) - totms;

    val.v[SMART_AUDIT_F_REMOTE_ADDR] = r->connection->addr_text;

    val.v[SMART_AUDIT_F_BYTES_SENT].data = sent;
    val.v[SMART_AUDIT_F_BYTES_SENT].len =
        ngx_http_smart_audit_dec(sent, (uint64_t) ngx_max(r->connection->sent,
                                                          0))
        - sent;

    val.v[SMART_AUDIT_F_WORKER].data = w->worker;
    val.v[SMART_AUDIT_F_WORKER].len = NGX_HTTP_SMART_AUDIT_WORKER_LEN;

    val.v[SMART_AUDIT_F_SEQ].data = seq;
    val.v[SMART_AUDIT_F_SEQ].len =
        ngx_http_smart_audit_dec(seq, w->seq + 1) - seq;

    val.v[SMART_AUDIT_F_PREV].data = w->prev;
    val.v[SMART_AUDIT_F_PREV].len = SMART_AUDIT_HASH_LEN;

    /* one allocation: the entry, then every value, then the hash */

    size = sizeof(ngx_http_smart_audit_entry_t) + SMART_AUDIT_HASH_LEN;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        cap[i] = (i == SMART_AUDIT_F_QUERY)
                 ? SMART_B64_ENCODED_LEN(SMART_AUDIT_QUERY_MAX)
                 : SMART_AUDIT_FIELD_MAX;
        size += ngx_min(val.v[i].len, cap[i]);
    }

    e = ngx_http_smart_audit_alloc(w, size, r->connection->log);
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
            if (val.v[i].len != 0) {
                p = ngx_cpymem(p, val.v[i].data,
                               ngx_min(val.v[i].len, cap[i]));
            }

        } else {
            p += smart_audit_sanitize((char *) p, last - p,
                                      (const char *) val.v[i].data,
                                      ngx_min(val.v[i].len, cap[i]));
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

    /* the chain moves on only with a complete record */

    w->seq++;
    ngx_memcpy(w->prev, hash, SMART_AUDIT_HASH_LEN);

    return e;
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
    /* a buffered line is counted as spooled once it is written */

    if (ngx_http_smart_spool_write(w, &e->rec) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "smart: audit record lost (%s, spool not writable): "
                      "cid \"%*s\" worker %*s seq %*s", why,
                      e->rec.f[SMART_AUDIT_F_CID].len,
                      e->rec.f[SMART_AUDIT_F_CID].data,
                      e->rec.f[SMART_AUDIT_F_WORKER].len,
                      e->rec.f[SMART_AUDIT_F_WORKER].data,
                      e->rec.f[SMART_AUDIT_F_SEQ].len,
                      e->rec.f[SMART_AUDIT_F_SEQ].data);
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_LOST, 1);
    }

    ngx_http_smart_audit_release(w, e);
}


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

static void
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
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "smart: redis refused an audit record: %V", err);
        w->count--;
        w->bytes -= e->size;
        ngx_http_smart_audit_keep(w, e, "redis refused it");
        ngx_http_smart_audit_gauges(w);
        return;
    }

    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_SENT, 1);
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
