
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: counters shown by smart_status (ngx_http_smart_status.c).
 */

#ifndef _NGX_HTTP_SMART_STATUS_H_INCLUDED_
#define _NGX_HTTP_SMART_STATUS_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Counters shown by smart_status, summed over workers (docs/directives.md). */
typedef enum {
    NGX_HTTP_SMART_STAT_CACHE_HIT = 0,
    NGX_HTTP_SMART_STAT_CACHE_MISS,
    NGX_HTTP_SMART_STAT_JWKS_REFRESH,
    NGX_HTTP_SMART_STAT_JWKS_FAILURE,
    NGX_HTTP_SMART_STAT_JWKS_OK_TIME,       /* Unix time of the last */
    NGX_HTTP_SMART_STAT_JWKS_FAILED_TIME,   /* ... and of the last failure */
    NGX_HTTP_SMART_STAT__GLUE_COUNT     /* the status module adds its own */
} ngx_http_smart_stat_e;


/* Counters after the glue's own (ngx_http_smart_stat_e). */
typedef enum {
    NGX_HTTP_SMART_STAT_AUDIT_SENT = NGX_HTTP_SMART_STAT__GLUE_COUNT,
    NGX_HTTP_SMART_STAT_AUDIT_SPOOLED,
    NGX_HTTP_SMART_STAT_AUDIT_REPLAYED,
    NGX_HTTP_SMART_STAT_AUDIT_LOST,
    NGX_HTTP_SMART_STAT_AUDIT_REFUSED,      /* by Redis: then kept */
    NGX_HTTP_SMART_STAT_AUDIT_CRASH_LOST,   /* of lost: a worker died */
    NGX_HTTP_SMART_STAT_AUDIT_QUEUE,        /* gauge */
    NGX_HTTP_SMART_STAT_REDIS_CONNECTED,    /* gauge, workers connected */
    NGX_HTTP_SMART_STAT_REQ_ALLOW,          /* allowed, reason "ok" */
    NGX_HTTP_SMART_STAT_REQ_NONE,           /* ended before a decision */
    NGX_HTTP_SMART_STAT_REQ_DENY_OTHER,
    NGX_HTTP_SMART_STAT_REQ_DENY,           /* + smart_err_e */

    /* + smart_err_e: allowed, then typed by smart_errors */
    NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR = NGX_HTTP_SMART_STAT_REQ_DENY
                                        + SMART_ERR__COUNT,
    NGX_HTTP_SMART_STAT_COUNT = NGX_HTTP_SMART_STAT_REQ_ALLOW_ERR
                                + SMART_ERR__COUNT
} ngx_http_smart_stat_audit_e;


/* Counts one event; a no-op without smart_status or an audit sink, safe
   in any worker. */
void ngx_http_smart_count(ngx_http_smart_stat_e counter);

/*
 * Per-worker audit accounting in the shared zone, one slot per process
 * slot: records built (issued) and records whose fate is counted (kept:
 * sent, spooled or lost).  A worker that exits cleanly frees its slot; one
 * respawned into the slot of a worker that died counts the records that
 * died with it (ngx_http_smart_status_audit_claim()).
 */
void ngx_http_smart_status_audit_issued(void);
void ngx_http_smart_status_audit_fate(ngx_uint_t counter, ngx_int_t n);
void ngx_http_smart_status_audit_gauges(ngx_int_t queue,
    ngx_int_t connected);
/* What a worker that died took with it: lost records, its chain, and
   their seq range (first..last; records are counted in order). */
typedef struct {
    ngx_int_t                   lost;
    u_char                      worker[32];
    size_t                      worker_len;
    uint64_t                    first;
    uint64_t                    last;
} ngx_http_smart_crash_t;

ngx_int_t ngx_http_smart_status_audit_claim(ngx_log_t *log,
    ngx_str_t *worker, ngx_http_smart_crash_t *crash);
void ngx_http_smart_status_audit_release(void);

/* Sets a time gauge to now; a no-op as ngx_http_smart_count(). */
void ngx_http_smart_stamp(ngx_http_smart_stat_e gauge);

/* The shared zone (smart_status or an audit sink), the page, one count
   per request by its decision, and a delta on one counter. */
ngx_int_t ngx_http_smart_status_zone(ngx_conf_t *cf);
void ngx_http_smart_status_add(ngx_uint_t counter, ngx_int_t delta);
void ngx_http_smart_status_request(ngx_http_smart_ctx_t *ctx);
ngx_int_t ngx_http_smart_status_handler(ngx_http_request_t *r);
void ngx_http_smart_status_reset(void);


#endif /* _NGX_HTTP_SMART_STATUS_H_INCLUDED_ */
