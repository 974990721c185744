
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the Redis connection's internals, shared by
 * ngx_http_smart_redis.c (the connection, the buffer, the replies) and
 * ngx_http_smart_redis_sentinel.c (finding the master), and by no other
 * file.
 */

#ifndef _NGX_HTTP_SMART_REDIS_PRIVATE_H_INCLUDED_
#define _NGX_HTTP_SMART_REDIS_PRIVATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/async.h>

#include "ngx_http_smart_redis.h"


typedef enum {
    NGX_HTTP_SMART_REDIS_IDLE = 0,
    NGX_HTTP_SMART_REDIS_CONNECTING,
    NGX_HTTP_SMART_REDIS_HANDSHAKE,
    NGX_HTTP_SMART_REDIS_READY,
    NGX_HTTP_SMART_REDIS_CLOSING
} ngx_http_smart_redis_state_e;


typedef enum {
    NGX_HTTP_SMART_REDIS_P_TYPE = 0,
    NGX_HTTP_SMART_REDIS_P_LINE,        /* +, -, : up to LF */
    NGX_HTTP_SMART_REDIS_P_LEN,         /* $ length digits */
    NGX_HTTP_SMART_REDIS_P_LEN_LF,      /* $ length CR seen */
    NGX_HTTP_SMART_REDIS_P_BULK         /* $ payload and its CRLF */
} ngx_http_smart_redis_parse_e;


struct ngx_http_smart_redis_s {
    ngx_http_smart_redis_conf_t    *conf;
    redisAsyncContext              *ac;
    ngx_str_t                       host;           /* connected to */
    in_port_t                       port;
    ngx_connection_t               *c;
    ngx_log_t                      *log;

    ngx_event_t                     connect_timer;
    ngx_event_t                     progress_timer;
    ngx_event_t                     retry_timer;
    ngx_event_t                     notify;
    ngx_event_t                     flush;          /* timer or posted */
    ngx_event_t                     drain_ev;       /* posted */
    ngx_event_t                     drop_ev;        /* posted */
    redisAsyncContext              *drop_ac;        /* what drop_ev drops */

    ngx_http_smart_redis_state_e    state;
    ngx_uint_t                      pending;        /* owner commands */
    ngx_uint_t                      handshake;      /* replies awaited */
    ngx_uint_t                      attempts;
    ngx_uint_t                      was_ready;

    ngx_http_smart_redis_reply_pt   reply;
    ngx_http_smart_redis_state_pt   state_handler;
    ngx_http_smart_redis_drain_pt   drain;
    void                           *data;

    u_char                         *out;            /* OUT bytes */
    size_t                          out_pos;        /* written up to */
    size_t                          out_last;       /* appended up to */
    u_char                         *in;             /* IN bytes */
    void                          **fifo;           /* PIPELINE slots */
    ngx_uint_t                      fifo_head;
    ngx_uint_t                      held;           /* answered, unwaited */
    ngx_uint_t                      unwaited;       /* committed since */
    u_char                         *rcs;            /* held outcomes */
    size_t                          wait_len;       /* 0: no WAIT */
    u_char                          wait_cmd[64];
    int64_t                         num;            /* a ':' reply */

    ngx_http_smart_redis_parse_e    pstate;
    off_t                           bulk;           /* $: left to skip */
    ngx_uint_t                      digits;
    size_t                          err_len;
    u_char                          err[NGX_HTTP_SMART_REDIS_ERR_MAX];

    unsigned                        destroying:1;
    unsigned                        blocked:1;      /* a reserve failed */
    unsigned                        error_reply:1;  /* parsing a '-' */
    unsigned                        negative:1;     /* $-1 */
    unsigned                        int_reply:1;    /* parsing a ':' */
    unsigned                        urgent:1;       /* the owner waits */
    unsigned                        asking:1;       /* a sentinel */
    unsigned                        found:1;        /* master[] is news */

    ngx_uint_t                      sentinel;       /* to ask next */
    ngx_uint_t                      asked;          /* failed this round */
    in_port_t                       master_port;
    u_char                          master[NGX_SOCKADDR_STRLEN + 1];
};


/* ngx_http_smart_redis.c */
void ngx_http_smart_redis_schedule(ngx_http_smart_redis_t *rd);
void ngx_http_smart_redis_drop(ngx_http_smart_redis_t *rd);
ngx_int_t ngx_http_smart_redis_send_argv(ngx_http_smart_redis_t *rd,
    redisCallbackFn *fn, int argc, const char **argv, const size_t *argvlen);
ngx_http_smart_redis_t *ngx_http_smart_redis_handshake_reply(void *r,
    void *privdata);
void ngx_http_smart_redis_handshake_done(ngx_http_smart_redis_t *rd);

/* ngx_http_smart_redis_sentinel.c */
void ngx_http_smart_redis_target(ngx_http_smart_redis_t *rd);
void ngx_http_smart_redis_retry(ngx_http_smart_redis_t *rd);
ngx_int_t ngx_http_smart_redis_ask(ngx_http_smart_redis_t *rd);
void ngx_http_smart_redis_on_role(redisAsyncContext *ac, void *r,
    void *privdata);
ngx_uint_t ngx_http_smart_redis_failover(ngx_http_smart_redis_t *rd);


#endif /* _NGX_HTTP_SMART_REDIS_PRIVATE_H_INCLUDED_ */
