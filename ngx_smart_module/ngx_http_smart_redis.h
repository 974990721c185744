
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: a Redis connection on the NGINX event loop.
 *
 * Knows Redis, not audit.  One connection per worker and owner; hiredis
 * connects and runs the handshake (AUTH, SELECT, PING); once ready, the
 * owner's commands are written here from a bounded output buffer and their
 * replies are read and counted here (hiredis parses none of them).
 * Connect and command progress are bounded by NGINX timers; reconnects
 * back off exponentially with jitter (shorter while the owner has work
 * waiting); commands are pipelined.  With sentinels, the master's address
 * is asked of them in turn and checked with ROLE, and asked again after
 * every loss.  With wait=N, a batch's replies are held until the WAIT N
 * that ends it confirms it.  Every command's handler is called exactly
 * once: with its reply's outcome, or with NGX_ERROR when the connection is
 * lost or timed out, or the server cannot take writes (-READONLY; with
 * sentinels -NOREPLICAS), or the batch's WAIT is not confirmed.
 */

#ifndef _NGX_HTTP_SMART_REDIS_H_INCLUDED_
#define _NGX_HTTP_SMART_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_SMART_REDIS_CONNECT_TIMEOUT   1000    /* ms */
#define NGX_HTTP_SMART_REDIS_COMMAND_TIMEOUT   2000    /* ms without reply */
#define NGX_HTTP_SMART_REDIS_BACKOFF_MIN       100     /* ms */
#define NGX_HTTP_SMART_REDIS_BACKOFF_MAX       5000    /* ms */
#define NGX_HTTP_SMART_REDIS_BACKOFF_URGENT    400     /* ms, work waits */
#define NGX_HTTP_SMART_REDIS_SENTINELS         16
#define NGX_HTTP_SMART_REDIS_OUT               (256 * 1024)   /* bytes */
#define NGX_HTTP_SMART_REDIS_IN                (16 * 1024)    /* bytes */
#define NGX_HTTP_SMART_REDIS_PIPELINE          8192    /* commands */
#define NGX_HTTP_SMART_REDIS_FLUSH_DELAY       1       /* ms */
#define NGX_HTTP_SMART_REDIS_FLUSH_BYTES       (64 * 1024)
#define NGX_HTTP_SMART_REDIS_ERR_MAX           200     /* error text kept */


typedef struct ngx_http_smart_redis_s  ngx_http_smart_redis_t;

/*
 * A command's outcome; data is the owner's.  rc: NGX_OK (a reply that is
 * not an error), NGX_DECLINED (an error reply: err is its text without the
 * '-', at most NGX_HTTP_SMART_REDIS_ERR_MAX bytes), NGX_ERROR (the
 * connection was lost before the reply; err is NULL).
 */
typedef void (*ngx_http_smart_redis_reply_pt)(void *data, ngx_int_t rc,
    ngx_str_t *err, void *privdata);

/* A command could not be appended earlier; now there may be room. */
typedef void (*ngx_http_smart_redis_drain_pt)(void *data);

/* The connection became ready (1) or was lost (0); never from hiredis. */
typedef void (*ngx_http_smart_redis_state_pt)(void *data, ngx_uint_t ready);


typedef struct {
    ngx_str_t                       host;       /* numeric, NUL-terminated */
    in_port_t                       port;
} ngx_http_smart_redis_addr_t;


/*
 * Either host:port, or (nsentinels != 0) the sentinels to ask for the
 * address of the master called master.
 */
typedef struct {
    ngx_str_t                       host;       /* numeric, NUL-terminated */
    in_port_t                       port;
    ngx_http_smart_redis_addr_t    *sentinels;
    ngx_uint_t                      nsentinels;
    ngx_str_t                       master;
    ngx_uint_t                      db;
    ngx_uint_t                      wait;       /* replicas, 0: no WAIT */
    ngx_str_t                       password;   /* empty: no AUTH */
    ngx_msec_t                      connect_timeout;
    ngx_msec_t                      command_timeout;
} ngx_http_smart_redis_conf_t;


ngx_http_smart_redis_t *ngx_http_smart_redis_create(ngx_cycle_t *cycle,
    ngx_http_smart_redis_conf_t *conf, ngx_http_smart_redis_reply_pt reply,
    ngx_http_smart_redis_state_pt state, ngx_http_smart_redis_drain_pt drain,
    void *data);

/* Starts connecting now (no-op while connecting or connected). */
void ngx_http_smart_redis_connect(ngx_http_smart_redis_t *rd);

ngx_uint_t ngx_http_smart_redis_ready(ngx_http_smart_redis_t *rd);

/*
 * The owner has work waiting (records queued or spooled): until the
 * connection is ready, reconnect attempts come at most
 * NGX_HTTP_SMART_REDIS_BACKOFF_URGENT ms apart, not BACKOFF_MAX.
 */
void ngx_http_smart_redis_urgent(ngx_http_smart_redis_t *rd);

/*
 * The free end of the output buffer and its size in *room, without making
 * room: an owner writes a command there when it fits, and commits it, or
 * asks for the room it needs with ngx_http_smart_redis_reserve().  NULL
 * when not ready or when the pipeline is full (then as reserve).
 */
u_char *ngx_http_smart_redis_buffer(ngx_http_smart_redis_t *rd,
    size_t *room);

/*
 * Room for one command of exactly len bytes (at most
 * NGX_HTTP_SMART_REDIS_OUT) in the output buffer, to be written by the
 * owner in the Redis protocol and then committed.  NULL when not ready, or
 * when the buffer or the pipeline is full: the drain handler runs once
 * there may be room again.
 */
u_char *ngx_http_smart_redis_reserve(ngx_http_smart_redis_t *rd, size_t len);

/*
 * The command written at the reserved place is complete: its handler will
 * be called exactly once.  The buffer is written to the socket within
 * NGX_HTTP_SMART_REDIS_FLUSH_DELAY ms, or at the end of the event-loop
 * pass once it holds NGX_HTTP_SMART_REDIS_FLUSH_BYTES.
 */
void ngx_http_smart_redis_commit(ngx_http_smart_redis_t *rd, size_t len,
    void *privdata);

/*
 * Drops the connection: pending handlers run with NGX_ERROR (err NULL)
 * before it returns.
 */
void ngx_http_smart_redis_destroy(ngx_http_smart_redis_t *rd);


#endif /* _NGX_HTTP_SMART_REDIS_H_INCLUDED_ */
