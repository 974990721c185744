
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: Redis Sentinel for the connection of
 * ngx_http_smart_redis.c (docs/audit.md "Sentinel and failover").
 *
 * With sentinels, a connection goes first to a sentinel and asks
 * SENTINEL get-master-addr-by-name in the handshake (hiredis parses the
 * reply); the sentinel connection is then dropped and the master it named
 * connected to at once, its ROLE checked in the handshake.  A sentinel that
 * fails is skipped for the next, at once, once per round; a master
 * connection that fails or is lost sends the worker back to the sentinels
 * (the next one) after the backoff.  Also: which error replies mean the
 * server cannot take writes after a failover.
 */

#include "ngx_http_smart_redis_private.h"


static ngx_int_t ngx_http_smart_redis_master_addr(ngx_http_smart_redis_t *rd,
    redisReply *reply);
static void ngx_http_smart_redis_on_master(redisAsyncContext *ac,
    void *r, void *privdata);


/*
 * Where the next connection goes: the configured address; with sentinels,
 * the master a sentinel has just named, or else the next sentinel to ask.
 */

void
ngx_http_smart_redis_target(ngx_http_smart_redis_t *rd)
{
    ngx_http_smart_redis_addr_t  *a;

    rd->asking = 0;

    if (rd->conf->nsentinels == 0) {
        rd->host = rd->conf->host;
        rd->port = rd->conf->port;
        return;
    }

    if (rd->found) {
        rd->host.data = rd->master;
        rd->host.len = ngx_strlen(rd->master);
        rd->port = rd->master_port;
        return;
    }

    a = &rd->conf->sentinels[rd->sentinel];
    rd->host = a->host;
    rd->port = a->port;
    rd->asking = 1;
}


/*
 * A connection has ended.  With sentinels, the next step comes at once
 * when a sentinel has just named the master, or has failed and others of
 * this round are left to ask; a master that failed or was lost is asked
 * for again, of the next sentinel, after the backoff.
 */

void
ngx_http_smart_redis_retry(ngx_http_smart_redis_t *rd)
{
    ngx_uint_t  n;

    n = rd->conf->nsentinels;

    if (n == 0) {
        ngx_http_smart_redis_schedule(rd);
        return;
    }

    if (!rd->asking || !rd->found) {
        rd->found = 0;
        rd->sentinel = (rd->sentinel + 1) % n;
    }

    if (rd->asking && (rd->found || ++rd->asked < n)) {
        if (rd->found) {
            rd->asked = 0;
        }

        if (!rd->retry_timer.timer_set) {
            ngx_add_timer(&rd->retry_timer, 1);
        }

        return;
    }

    rd->asked = 0;
    ngx_http_smart_redis_schedule(rd);
}


/* On a sentinel: where is the master? */

ngx_int_t
ngx_http_smart_redis_ask(ngx_http_smart_redis_t *rd)
{
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = 23;
    argv[2] = (const char *) rd->conf->master.data;
    argvlen[2] = rd->conf->master.len;

    return ngx_http_smart_redis_send_argv(rd, ngx_http_smart_redis_on_master,
                                          3, argv, argvlen);
}


static void
ngx_http_smart_redis_on_master(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply              *reply = r;
    ngx_http_smart_redis_t  *rd;

    rd = ngx_http_smart_redis_handshake_reply(r, privdata);
    if (rd == NULL) {
        return;
    }

    if (ngx_http_smart_redis_master_addr(rd, reply) == NGX_OK) {
        rd->found = 1;
    }

    /* done with this sentinel (the free is deferred by hiredis) */

    ngx_http_smart_redis_drop(rd);
}


/* The reply [host, port]: the master's address, numeric. */

static ngx_int_t
ngx_http_smart_redis_master_addr(ngx_http_smart_redis_t *rd,
    redisReply *reply)
{
    u_char      *host;
    size_t       len;
    ngx_int_t    port;
#if (NGX_HAVE_INET6)
    u_char       buf[16];
#endif

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis sentinel %V:%d does not name a master "
                      "\"%V\"%s%*s", &rd->host, (int) rd->port,
                      &rd->conf->master,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR
                      ? (size_t) ngx_min(reply->len, 200) : 0,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        return NGX_DECLINED;
    }

    host = (u_char *) reply->element[0]->str;
    len = reply->element[0]->len;
    port = ngx_atoi((u_char *) reply->element[1]->str,
                    reply->element[1]->len);

    if (port < 1 || port > 65535 || len == 0 || len > NGX_SOCKADDR_STRLEN
        || (ngx_inet_addr(host, len) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr(host, len, buf) != NGX_OK
#endif
           ))
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis sentinel %V:%d names an invalid address "
                      "for master \"%V\"", &rd->host, (int) rd->port,
                      &rd->conf->master);
        return NGX_DECLINED;
    }

    if (rd->master_port != (in_port_t) port
        || ngx_strlen(rd->master) != len
        || ngx_strncmp(rd->master, host, len) != 0)
    {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "smart: redis sentinel %V:%d: master \"%V\" is at "
                      "%*s:%i", &rd->host, (int) rd->port, &rd->conf->master,
                      len, host, port);
    }

    ngx_memcpy(rd->master, host, len);
    rd->master[len] = '\0';
    rd->master_port = (in_port_t) port;

    return NGX_OK;
}


/* A sentinel may be stale: the master named must say it is one. */

void
ngx_http_smart_redis_on_role(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply              *reply = r;
    ngx_http_smart_redis_t  *rd;

    rd = ngx_http_smart_redis_handshake_reply(r, privdata);
    if (rd == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 6
        && ngx_strncmp(reply->element[0]->str, "master", 6) == 0)
    {
        ngx_http_smart_redis_handshake_done(rd);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis %V:%d is not the master \"%V\", "
                  "asking the sentinels again",
                  &rd->host, (int) rd->port, &rd->conf->master);

    ngx_http_smart_redis_drop(rd);
}


/*
 * An error reply that means the server no longer takes writes because it
 * was made a replica (failover), or, with sentinels, because it lost its
 * replicas (min-replicas-to-write: a replica may have been promoted): the
 * command is lost, not refused, and the master is looked for again.
 */

ngx_uint_t
ngx_http_smart_redis_failover(ngx_http_smart_redis_t *rd)
{
    if (rd->err_len >= 8 && ngx_strncmp(rd->err, "READONLY", 8) == 0) {
        return 1;
    }

    return rd->conf->nsentinels != 0 && rd->err_len >= 10
           && ngx_strncmp(rd->err, "NOREPLICAS", 10) == 0;
}
