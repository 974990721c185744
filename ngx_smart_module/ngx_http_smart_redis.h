
/*
 * ngx_smart_module: a hiredis async context on the NGINX event loop.
 *
 * Knows Redis, not audit.  One connection per worker and owner; connect
 * and command progress are bounded by NGINX timers (hiredis 0.14 has no
 * timeouts); reconnects back off exponentially with jitter; commands are
 * pipelined.  Every command's handler is called exactly once: with the
 * reply, or with NULL when the connection is lost or timed out.
 */

#ifndef _NGX_HTTP_SMART_REDIS_H_INCLUDED_
#define _NGX_HTTP_SMART_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/hiredis.h>


#define NGX_HTTP_SMART_REDIS_CONNECT_TIMEOUT   1000    /* ms */
#define NGX_HTTP_SMART_REDIS_COMMAND_TIMEOUT   2000    /* ms without reply */
#define NGX_HTTP_SMART_REDIS_BACKOFF_MIN       100     /* ms */
#define NGX_HTTP_SMART_REDIS_BACKOFF_MAX       5000    /* ms */


typedef struct ngx_http_smart_redis_s  ngx_http_smart_redis_t;

/* A command's reply (NULL: connection lost); data is the owner's. */
typedef void (*ngx_http_smart_redis_reply_pt)(void *data, redisReply *reply,
    void *privdata);

/* The connection became ready (1) or was lost (0); never from hiredis. */
typedef void (*ngx_http_smart_redis_state_pt)(void *data, ngx_uint_t ready);


typedef struct {
    ngx_str_t                       host;       /* numeric, NUL-terminated */
    in_port_t                       port;
    ngx_uint_t                      db;
    ngx_str_t                       password;   /* empty: no AUTH */
    ngx_msec_t                      connect_timeout;
    ngx_msec_t                      command_timeout;
} ngx_http_smart_redis_conf_t;


ngx_http_smart_redis_t *ngx_http_smart_redis_create(ngx_cycle_t *cycle,
    ngx_http_smart_redis_conf_t *conf, ngx_http_smart_redis_reply_pt reply,
    ngx_http_smart_redis_state_pt state, void *data);

/* Starts connecting now (no-op while connecting or connected). */
void ngx_http_smart_redis_connect(ngx_http_smart_redis_t *rd);

ngx_uint_t ngx_http_smart_redis_ready(ngx_http_smart_redis_t *rd);

/* Commands sent and not yet answered. */
ngx_uint_t ngx_http_smart_redis_pending(ngx_http_smart_redis_t *rd);

/*
 * Pipelines one command; NGX_OK when hiredis took it (the handler will be
 * called), NGX_DECLINED when not ready (the handler will not be called).
 */
ngx_int_t ngx_http_smart_redis_command(ngx_http_smart_redis_t *rd, int argc,
    const char **argv, const size_t *argvlen, void *privdata);

/*
 * Pipelines one command already in the Redis protocol (cmd[0..len), one
 * command, copied); as ngx_http_smart_redis_command() otherwise.  The
 * socket is written once per event-loop pass for all commands of the pass.
 */
ngx_int_t ngx_http_smart_redis_formatted(ngx_http_smart_redis_t *rd,
    const char *cmd, size_t len, void *privdata);

/* Drops the connection: pending handlers run with NULL before it returns. */
void ngx_http_smart_redis_destroy(ngx_http_smart_redis_t *rd);


#endif /* _NGX_HTTP_SMART_REDIS_H_INCLUDED_ */
