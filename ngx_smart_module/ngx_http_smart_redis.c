
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the hiredis async adapter on the NGINX event loop.
 *
 * The hiredis socket is wrapped in an ngx_connection_t taken from the
 * worker's pool (it counts towards worker_connections) and watched
 * level-triggered, because hiredis reads at most one buffer per call and
 * expects to be called again while data is waiting.  hiredis may free its
 * context inside redisAsyncHandleRead/Write (I/O error, connect failure)
 * and inside a callback (redisAsyncFree is deferred there): the adapter
 * learns of it only through the ev.cleanup hook, so rd->ac is never used
 * after a hiredis call without checking it again, and state changes reach
 * the owner through a posted event, never from inside hiredis.
 *
 * hiredis connects and runs the handshake.  Once the connection is ready,
 * hiredis is no longer called for it (except to free it): the owner writes
 * its commands into a bounded output buffer (reserve, commit), which is
 * written with one send() NGX_HTTP_SMART_REDIS_FLUSH_DELAY ms after the
 * first command of a batch (sooner when it holds FLUSH_BYTES), so that one
 * write carries many commands under load.  The replies are read here and
 * only counted: a small state machine over the RESP reply types a command
 * can get (+ simple string, - error, : integer, $ bulk string), resumable
 * at any byte, so partial reads need no copy.  Each reply completes the
 * oldest command of the pipeline (a FIFO of the owner's privdata).
 * Anything else in the stream is a protocol error: the connection is
 * dropped, and the commands not answered come back as lost, as on any
 * other connection loss.
 *
 * Sentinel (finding the master, what a failover looks like) is in
 * ngx_http_smart_redis_sentinel.c.  wait=N: send() ends each batch with a
 * WAIT whose fifo slot is a marker; replies before it are held (their
 * outcome in rcs[]) and delivered in order once it confirms N replicas.
 */

#include "ngx_http_smart_redis_private.h"


static ngx_uint_t ngx_http_smart_redis_level(ngx_http_smart_redis_t *rd);
static ngx_int_t ngx_http_smart_redis_deliver(ngx_http_smart_redis_t *rd,
    ngx_int_t rc);
static ngx_int_t ngx_http_smart_redis_waited(ngx_http_smart_redis_t *rd,
    ngx_int_t rc);
static void ngx_http_smart_redis_wait_init(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_number(ngx_http_smart_redis_t *rd,
    u_char *p, u_char *last);
static void ngx_http_smart_redis_wait_append(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_progress(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_post(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_smart_redis_progress_timeout(ngx_event_t *ev);
static void ngx_http_smart_redis_notify_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_flush_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_drain_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_drop_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_drop_later(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_send(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_recv(ngx_http_smart_redis_t *rd);
static ngx_int_t ngx_http_smart_redis_parse(ngx_http_smart_redis_t *rd,
    u_char *p, u_char *end);
static ngx_int_t ngx_http_smart_redis_answer(ngx_http_smart_redis_t *rd,
    ngx_int_t rc);
static void ngx_http_smart_redis_unblock(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_fail(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_read_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_write_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_add_read(void *data);
static void ngx_http_smart_redis_del_read(void *data);
static void ngx_http_smart_redis_add_write(void *data);
static void ngx_http_smart_redis_del_write(void *data);
static void ngx_http_smart_redis_cleanup(void *data);
static void ngx_http_smart_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_smart_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_smart_redis_on_handshake(redisAsyncContext *ac,
    void *r, void *privdata);


/* The fifo slot of a WAIT the adapter sent after a batch (wait=N). */
static u_char  ngx_http_smart_redis_wait_mark;


ngx_http_smart_redis_t *
ngx_http_smart_redis_create(ngx_cycle_t *cycle,
    ngx_http_smart_redis_conf_t *conf, ngx_http_smart_redis_reply_pt reply,
    ngx_http_smart_redis_state_pt state, ngx_http_smart_redis_drain_pt drain,
    void *data)
{
    ngx_http_smart_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_smart_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->out = ngx_pnalloc(cycle->pool, NGX_HTTP_SMART_REDIS_OUT);
    rd->in = ngx_pnalloc(cycle->pool, NGX_HTTP_SMART_REDIS_IN);
    rd->fifo = ngx_palloc(cycle->pool,
                          NGX_HTTP_SMART_REDIS_PIPELINE * sizeof(void *));

    if (rd->out == NULL || rd->in == NULL || rd->fifo == NULL) {
        return NULL;
    }

    rd->conf = conf;
    rd->log = cycle->log;
    rd->reply = reply;
    rd->state_handler = state;
    rd->drain = drain;
    rd->data = data;
    ngx_http_smart_redis_target(rd);

    if (conf->wait != 0) {
        rd->rcs = ngx_pnalloc(cycle->pool, NGX_HTTP_SMART_REDIS_PIPELINE);
        if (rd->rcs == NULL) {
            return NULL;
        }

        ngx_http_smart_redis_wait_init(rd);
    }

    rd->connect_timer.handler = ngx_http_smart_redis_connect_timeout;
    rd->connect_timer.data = rd;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.cancelable = 1;

    /* not cancelable: a graceful stop waits for answers or the timeout */

    rd->progress_timer.handler = ngx_http_smart_redis_progress_timeout;
    rd->progress_timer.data = rd;
    rd->progress_timer.log = cycle->log;

    rd->retry_timer.handler = ngx_http_smart_redis_retry_handler;
    rd->retry_timer.data = rd;
    rd->retry_timer.log = cycle->log;
    rd->retry_timer.cancelable = 1;

    rd->notify.handler = ngx_http_smart_redis_notify_handler;
    rd->notify.data = rd;
    rd->notify.log = cycle->log;

    /* not cancelable: a graceful stop writes what is buffered first */

    rd->flush.handler = ngx_http_smart_redis_flush_handler;
    rd->flush.data = rd;
    rd->flush.log = cycle->log;

    rd->drain_ev.handler = ngx_http_smart_redis_drain_handler;
    rd->drain_ev.data = rd;
    rd->drain_ev.log = cycle->log;

    rd->drop_ev.handler = ngx_http_smart_redis_drop_handler;
    rd->drop_ev.data = rd;
    rd->drop_ev.log = cycle->log;

    return rd;
}


ngx_uint_t
ngx_http_smart_redis_ready(ngx_http_smart_redis_t *rd)
{
    return rd->state == NGX_HTTP_SMART_REDIS_READY && rd->ac != NULL;
}


void
ngx_http_smart_redis_urgent(ngx_http_smart_redis_t *rd)
{
    ngx_msec_int_t  left;

    if (rd->urgent || rd->destroying
        || rd->state == NGX_HTTP_SMART_REDIS_READY)
    {
        return;
    }

    rd->urgent = 1;

    if (!rd->retry_timer.timer_set) {
        return;
    }

    /* a long wait already planned is cut short */

    left = (ngx_msec_int_t) (rd->retry_timer.timer.key - ngx_current_msec);

    if (left > NGX_HTTP_SMART_REDIS_BACKOFF_URGENT) {
        ngx_del_timer(&rd->retry_timer);
        ngx_http_smart_redis_schedule(rd);
    }
}


void
ngx_http_smart_redis_connect(ngx_http_smart_redis_t *rd)
{
    redisAsyncContext  *ac;
    ngx_connection_t   *c;

    if (rd->destroying || rd->state != NGX_HTTP_SMART_REDIS_IDLE) {
        return;
    }

    if (rd->retry_timer.timer_set) {
        ngx_del_timer(&rd->retry_timer);
    }

    ngx_http_smart_redis_target(rd);

    /* the host is numeric (checked before): no DNS here */

    ac = redisAsyncConnect((char *) rd->host.data, rd->port);
    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis: out of memory connecting");
        ngx_http_smart_redis_retry(rd);
        return;
    }

    if (ac->err) {
        ngx_log_error(ngx_http_smart_redis_level(rd), rd->log, 0,
                      "smart: redis connect to %V:%d failed: %s",
                      &rd->host, (int) rd->port, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_smart_redis_retry(rd);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_smart_redis_retry(rd);
        return;
    }

    c->data = rd;
    c->read->handler = ngx_http_smart_redis_read_handler;
    c->write->handler = ngx_http_smart_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->c = c;
    rd->ac = ac;
    rd->state = NGX_HTTP_SMART_REDIS_CONNECTING;
    rd->handshake = 0;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_http_smart_redis_add_read;
    ac->ev.delRead = ngx_http_smart_redis_del_read;
    ac->ev.addWrite = ngx_http_smart_redis_add_write;
    ac->ev.delWrite = ngx_http_smart_redis_del_write;
    ac->ev.cleanup = ngx_http_smart_redis_cleanup;

    redisAsyncSetDisconnectCallback(ac, ngx_http_smart_redis_on_disconnect);

    /* adds the write event that reports the end of the connect */
    redisAsyncSetConnectCallback(ac, ngx_http_smart_redis_on_connect);

    if (rd->ac != NULL) {
        ngx_add_timer(&rd->connect_timer, rd->conf->connect_timeout);
    }
}


u_char *
ngx_http_smart_redis_buffer(ngx_http_smart_redis_t *rd, size_t *room)
{
    if (!ngx_http_smart_redis_ready(rd)) {
        return NULL;
    }

    /* with wait=N, room is kept for the WAIT that ends the batch */

    if (rd->pending + (rd->wait_len != 0) >= NGX_HTTP_SMART_REDIS_PIPELINE
        || NGX_HTTP_SMART_REDIS_OUT - rd->out_last < rd->wait_len)
    {
        rd->blocked = 1;
        return NULL;
    }

    *room = NGX_HTTP_SMART_REDIS_OUT - rd->out_last - rd->wait_len;

    return rd->out + rd->out_last;
}


u_char *
ngx_http_smart_redis_reserve(ngx_http_smart_redis_t *rd, size_t len)
{
    size_t  n;

    if (!ngx_http_smart_redis_ready(rd)
        || len > NGX_HTTP_SMART_REDIS_OUT - rd->wait_len)
    {
        return NULL;
    }

    /* with wait=N, room is kept for the WAIT that ends the batch */

    if (rd->pending + (rd->wait_len != 0) >= NGX_HTTP_SMART_REDIS_PIPELINE) {
        rd->blocked = 1;
        return NULL;
    }

    if (NGX_HTTP_SMART_REDIS_OUT - rd->out_last < len + rd->wait_len) {

        /* what a short send() left: moved to the front */

        n = rd->out_last - rd->out_pos;

        if (rd->out_pos != 0
            && NGX_HTTP_SMART_REDIS_OUT - n >= len + rd->wait_len)
        {
            ngx_memmove(rd->out, rd->out + rd->out_pos, n);
            rd->out_pos = 0;
            rd->out_last = n;

        } else {
            rd->blocked = 1;

            if (!rd->flush.posted) {
                ngx_post_event(&rd->flush, &ngx_posted_events);
            }

            return NULL;
        }
    }

    return rd->out + rd->out_last;
}


void
ngx_http_smart_redis_commit(ngx_http_smart_redis_t *rd, size_t len,
    void *privdata)
{
    rd->out_last += len;
    rd->fifo[(rd->fifo_head + rd->pending) % NGX_HTTP_SMART_REDIS_PIPELINE]
        = privdata;
    rd->unwaited++;

    if (rd->pending++ == 0 && rd->handshake == 0) {
        ngx_http_smart_redis_progress(rd);
    }

    /* a write pending on the socket (EAGAIN) takes the new bytes along */

    if (rd->c == NULL || rd->c->write->active || rd->flush.posted) {
        return;
    }

    if (rd->out_last - rd->out_pos >= NGX_HTTP_SMART_REDIS_FLUSH_BYTES) {
        ngx_post_event(&rd->flush, &ngx_posted_events);
        return;
    }

    if (!rd->flush.timer_set) {
        ngx_add_timer(&rd->flush, NGX_HTTP_SMART_REDIS_FLUSH_DELAY);
    }
}


void
ngx_http_smart_redis_destroy(ngx_http_smart_redis_t *rd)
{
    rd->destroying = 1;

    if (rd->retry_timer.timer_set) {
        ngx_del_timer(&rd->retry_timer);
    }

    if (rd->notify.posted) {
        ngx_delete_posted_event(&rd->notify);
    }

    if (rd->flush.posted) {
        ngx_delete_posted_event(&rd->flush);
    }

    if (rd->flush.timer_set) {
        ngx_del_timer(&rd->flush);
    }

    if (rd->drain_ev.posted) {
        ngx_delete_posted_event(&rd->drain_ev);
    }

    if (rd->drop_ev.posted) {
        ngx_delete_posted_event(&rd->drop_ev);
    }

    if (rd->ac != NULL) {
        /* the cleanup hook runs the pending handlers with NGX_ERROR */
        redisAsyncFree(rd->ac);
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->progress_timer.timer_set) {
        ngx_del_timer(&rd->progress_timer);
    }
}


/* The first failure after a working connection is an error, retries info. */

static ngx_uint_t
ngx_http_smart_redis_level(ngx_http_smart_redis_t *rd)
{
    return rd->was_ready ? NGX_LOG_ERR : NGX_LOG_INFO;
}


/* Reconnect after an exponential delay with jitter (half to full). */

void
ngx_http_smart_redis_schedule(ngx_http_smart_redis_t *rd)
{
    ngx_msec_t  delay;

    if (rd->destroying || rd->retry_timer.timer_set) {
        return;
    }

    delay = NGX_HTTP_SMART_REDIS_BACKOFF_MIN
            << (rd->attempts < 10 ? rd->attempts : 10);

    if (delay > NGX_HTTP_SMART_REDIS_BACKOFF_MAX) {
        delay = NGX_HTTP_SMART_REDIS_BACKOFF_MAX;
    }

    if (rd->urgent && delay > NGX_HTTP_SMART_REDIS_BACKOFF_URGENT) {
        delay = NGX_HTTP_SMART_REDIS_BACKOFF_URGENT;
    }

    delay = delay / 2 + (ngx_msec_t) ngx_random() % (delay / 2 + 1);
    rd->attempts++;

    ngx_add_timer(&rd->retry_timer, delay);
}


void
ngx_http_smart_redis_drop(ngx_http_smart_redis_t *rd)
{
    if (rd->ac == NULL) {
        return;
    }

    rd->state = NGX_HTTP_SMART_REDIS_CLOSING;

    /* deferred by hiredis when called from inside one of its callbacks */
    redisAsyncFree(rd->ac);
}


/* (Re)arms the timer that bounds the wait for the next reply. */

static void
ngx_http_smart_redis_progress(ngx_http_smart_redis_t *rd)
{
    if (rd->pending + rd->handshake == 0) {
        if (rd->progress_timer.timer_set) {
            ngx_del_timer(&rd->progress_timer);
        }

        return;
    }

    ngx_add_timer(&rd->progress_timer, rd->conf->command_timeout);
}


static void
ngx_http_smart_redis_post(ngx_http_smart_redis_t *rd)
{
    if (!rd->destroying && !rd->notify.posted) {
        ngx_post_event(&rd->notify, &ngx_posted_events);
    }
}


static void
ngx_http_smart_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_connect(ev->data);
}


static void
ngx_http_smart_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    ngx_log_error(ngx_http_smart_redis_level(rd), rd->log, 0,
                  "smart: redis connect to %V:%d timed out",
                  &rd->host, (int) rd->port);

    ngx_http_smart_redis_drop(rd);
}


static void
ngx_http_smart_redis_progress_timeout(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis %V:%d did not answer within %M ms, "
                  "reconnecting", &rd->host, (int) rd->port,
                  rd->conf->command_timeout);

    ngx_http_smart_redis_drop(rd);
}


static void
ngx_http_smart_redis_notify_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    rd->state_handler(rd->data, ngx_http_smart_redis_ready(rd));
}


static void
ngx_http_smart_redis_flush_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    if (rd->flush.timer_set) {
        ngx_del_timer(&rd->flush);
    }

    if (rd->flush.posted) {
        ngx_delete_posted_event(&rd->flush);
    }

    if (rd->state == NGX_HTTP_SMART_REDIS_READY && rd->c != NULL) {
        ngx_http_smart_redis_send(rd);
    }
}


/*
 * A drop asked for where hiredis would not defer the free: in the connect
 * callback and in the event hooks it calls from its own functions.
 */

static void
ngx_http_smart_redis_drop_later(ngx_http_smart_redis_t *rd)
{
    if (!rd->destroying && !rd->drop_ev.posted) {
        rd->drop_ac = rd->ac;
        ngx_post_event(&rd->drop_ev, &ngx_posted_events);
    }
}


static void
ngx_http_smart_redis_drop_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    /* not a newer connection made since the drop was asked for */

    if (rd->ac != NULL && rd->ac == rd->drop_ac) {
        ngx_http_smart_redis_drop(rd);
    }

    rd->drop_ac = NULL;
}


static void
ngx_http_smart_redis_drain_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    if (ngx_http_smart_redis_ready(rd)) {
        rd->drain(rd->data);
    }
}


static void
ngx_http_smart_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_http_smart_redis_t  *rd = c->data;

    if (rd->state == NGX_HTTP_SMART_REDIS_READY) {
        ngx_http_smart_redis_recv(rd);
        return;
    }

    if (rd->ac != NULL) {
        redisAsyncHandleRead(rd->ac);
    }
}


static void
ngx_http_smart_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_http_smart_redis_t  *rd = c->data;

    if (rd->state == NGX_HTTP_SMART_REDIS_READY) {
        ngx_http_smart_redis_send(rd);
        return;
    }

    if (rd->ac != NULL) {
        redisAsyncHandleWrite(rd->ac);
    }
}


/* Writes the output buffer; waits for the write event if the socket is full. */

static void
ngx_http_smart_redis_send(ngx_http_smart_redis_t *rd)
{
    ssize_t           n;
    ngx_err_t         err;
    ngx_connection_t *c;

    c = rd->c;

    ngx_http_smart_redis_wait_append(rd);

    while (rd->out_pos < rd->out_last) {
        n = send(c->fd, rd->out + rd->out_pos, rd->out_last - rd->out_pos, 0);

        if (n > 0) {
            rd->out_pos += n;
            continue;
        }

        err = ngx_socket_errno;

        if (n < 0 && err == NGX_EINTR) {
            continue;
        }

        if (n < 0 && err == NGX_EAGAIN) {
            if (!c->write->active
                && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
                   != NGX_OK)
            {
                ngx_http_smart_redis_drop(rd);
            }

            return;
        }

        ngx_log_error(NGX_LOG_ERR, rd->log, err,
                      "smart: redis %V:%d send() failed",
                      &rd->host, (int) rd->port);
        ngx_http_smart_redis_drop(rd);
        return;
    }

    rd->out_pos = 0;
    rd->out_last = 0;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    ngx_http_smart_redis_unblock(rd);
}


/* Reads what is there (level-triggered: the rest comes with the next event). */

static void
ngx_http_smart_redis_recv(ngx_http_smart_redis_t *rd)
{
    ssize_t    n;
    ngx_err_t  err;

    for ( ;; ) {
        n = recv(rd->c->fd, rd->in, NGX_HTTP_SMART_REDIS_IN, 0);

        if (n > 0) {
            if (ngx_http_smart_redis_parse(rd, rd->in, rd->in + n) != NGX_OK) {
                return;
            }

            ngx_http_smart_redis_unblock(rd);
            return;
        }

        err = ngx_socket_errno;

        if (n < 0 && err == NGX_EINTR) {
            continue;
        }

        if (n < 0 && err == NGX_EAGAIN) {
            return;
        }

        if (n == 0) {
            ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                          "smart: redis disconnected: "
                          "connection closed by the server");
        } else {
            ngx_log_error(NGX_LOG_INFO, rd->log, err,
                          "smart: redis disconnected: recv() failed");
        }

        ngx_http_smart_redis_drop(rd);
        return;
    }
}


/*
 * Counts the replies in p[0..end): NGX_OK, or NGX_DONE when the connection
 * went away (a protocol error, or an owner's handler dropped it).
 */

static ngx_int_t
ngx_http_smart_redis_parse(ngx_http_smart_redis_t *rd, u_char *p,
    u_char *end)
{
    u_char  *lf;
    size_t   n;

    while (p < end) {

        switch (rd->pstate) {

        case NGX_HTTP_SMART_REDIS_P_TYPE:

            switch (*p++) {

            case '+':
            case ':':
                rd->error_reply = 0;
                rd->int_reply = (p[-1] == ':');
                rd->num = 0;
                rd->pstate = NGX_HTTP_SMART_REDIS_P_LINE;
                break;

            case '-':
                rd->error_reply = 1;
                rd->int_reply = 0;
                rd->err_len = 0;
                rd->pstate = NGX_HTTP_SMART_REDIS_P_LINE;
                break;

            case '$':
                rd->bulk = 0;
                rd->digits = 0;
                rd->negative = 0;
                rd->pstate = NGX_HTTP_SMART_REDIS_P_LEN;
                break;

            default:
                goto invalid;
            }

            break;

        case NGX_HTTP_SMART_REDIS_P_LINE:

            lf = ngx_strlchr(p, end, LF);

            if (rd->int_reply) {
                ngx_http_smart_redis_number(rd, p, lf != NULL ? lf : end);
            }

            if (rd->error_reply) {
                n = ngx_min((size_t) ((lf != NULL ? lf : end) - p),
                            NGX_HTTP_SMART_REDIS_ERR_MAX - rd->err_len);
                ngx_memcpy(rd->err + rd->err_len, p, n);
                rd->err_len += n;
            }

            if (lf == NULL) {
                p = end;
                break;
            }

            p = lf + 1;

            if (rd->error_reply && rd->err_len != 0
                && rd->err[rd->err_len - 1] == CR)
            {
                rd->err_len--;
            }

            rd->pstate = NGX_HTTP_SMART_REDIS_P_TYPE;

            if (ngx_http_smart_redis_answer(rd, rd->error_reply
                                                ? NGX_DECLINED : NGX_OK)
                != NGX_OK)
            {
                return NGX_DONE;
            }

            break;

        case NGX_HTTP_SMART_REDIS_P_LEN:

            if (*p >= '0' && *p <= '9') {
                if (rd->digits++ == 10) {
                    goto invalid;           /* >= 10^10 bytes */
                }

                rd->bulk = rd->bulk * 10 + (*p++ - '0');
                break;
            }

            if (*p == '-' && rd->digits == 0 && !rd->negative) {
                rd->negative = 1;
                p++;
                break;
            }

            if (*p != CR || rd->digits == 0
                || (rd->negative && rd->bulk != 1))
            {
                goto invalid;
            }

            p++;
            rd->pstate = NGX_HTTP_SMART_REDIS_P_LEN_LF;
            break;

        case NGX_HTTP_SMART_REDIS_P_LEN_LF:

            if (*p++ != LF) {
                goto invalid;
            }

            if (rd->negative) {
                /* $-1: a null reply */
                rd->pstate = NGX_HTTP_SMART_REDIS_P_TYPE;

                if (ngx_http_smart_redis_answer(rd, NGX_OK) != NGX_OK) {
                    return NGX_DONE;
                }

                break;
            }

            rd->bulk += 2;                  /* the payload's CRLF */
            rd->pstate = NGX_HTTP_SMART_REDIS_P_BULK;
            break;

        case NGX_HTTP_SMART_REDIS_P_BULK:

            n = (size_t) ngx_min((off_t) (end - p), rd->bulk);
            p += n;
            rd->bulk -= n;

            if (rd->bulk != 0) {
                break;
            }

            if (p[-1] != LF) {
                goto invalid;
            }

            rd->pstate = NGX_HTTP_SMART_REDIS_P_TYPE;

            if (ngx_http_smart_redis_answer(rd, NGX_OK) != NGX_OK) {
                return NGX_DONE;
            }

            break;
        }
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis %V:%d sent an unexpected reply, reconnecting",
                  &rd->host, (int) rd->port);
    ngx_http_smart_redis_drop(rd);

    return NGX_DONE;
}


/* The oldest command's reply is complete. */

static ngx_int_t
ngx_http_smart_redis_answer(ngx_http_smart_redis_t *rd, ngx_int_t rc)
{
    ngx_uint_t  slot;

    if (rd->pending == rd->held) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d sent a reply to no command, "
                      "reconnecting", &rd->host, (int) rd->port);
        ngx_http_smart_redis_drop(rd);
        return NGX_DONE;
    }

    if (rc == NGX_DECLINED && ngx_http_smart_redis_failover(rd)) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d cannot take writes, "
                      "reconnecting: %*s", &rd->host, (int) rd->port,
                      rd->err_len, rd->err);

        /* this command is lost with all the connection has not answered */

        ngx_http_smart_redis_drop(rd);
        return NGX_DONE;
    }

    slot = (rd->fifo_head + rd->held) % NGX_HTTP_SMART_REDIS_PIPELINE;

    if (rd->fifo[slot] == &ngx_http_smart_redis_wait_mark) {
        return ngx_http_smart_redis_waited(rd, rc);
    }

    if (rd->wait_len != 0) {
        /* held until the batch's WAIT answers */
        rd->rcs[slot] = (u_char) (rc == NGX_OK);
        rd->held++;
        ngx_http_smart_redis_progress(rd);
        return NGX_OK;
    }

    return ngx_http_smart_redis_deliver(rd, rc);
}


/* The oldest command's outcome goes to its owner. */

static ngx_int_t
ngx_http_smart_redis_deliver(ngx_http_smart_redis_t *rd, ngx_int_t rc)
{
    void       *privdata;
    ngx_str_t   err;

    privdata = rd->fifo[rd->fifo_head];
    rd->fifo_head = (rd->fifo_head + 1) % NGX_HTTP_SMART_REDIS_PIPELINE;
    rd->pending--;

    ngx_http_smart_redis_progress(rd);

    if (rc == NGX_OK) {
        /* the backoff starts again once a server takes a command */
        rd->attempts = 0;
    }

    /*
     * the text only goes with an error reply (NGX_DECLINED); for one held
     * until a WAIT answered, it is the batch's last error text
     */

    err.data = rd->err;
    err.len = (rc == NGX_DECLINED) ? rd->err_len : 0;

    rd->reply(rd->data, rc, &err, privdata);

    return (rd->state == NGX_HTTP_SMART_REDIS_READY && rd->c != NULL)
           ? NGX_OK : NGX_DONE;
}


/*
 * The batch's WAIT answered: when enough replicas have the batch, its
 * outcomes go to their owners; else the batch is lost (the connection is
 * dropped: its commands are sent again or spooled by their owners).
 */

static ngx_int_t
ngx_http_smart_redis_waited(ngx_http_smart_redis_t *rd, ngx_int_t rc)
{
    if (rc != NGX_OK || rd->num < (int64_t) rd->conf->wait) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d: %L of %ui replicas confirmed a "
                      "batch within %M ms, reconnecting",
                      &rd->host, (int) rd->port,
                      rc == NGX_OK ? rd->num : (int64_t) 0, rd->conf->wait,
                      rd->conf->command_timeout / 2);
        ngx_http_smart_redis_drop(rd);
        return NGX_DONE;
    }

    while (rd->held != 0) {
        rd->held--;

        if (ngx_http_smart_redis_deliver(rd,
                                         rd->rcs[rd->fifo_head]
                                         ? NGX_OK : NGX_DECLINED)
            != NGX_OK)
        {
            return NGX_DONE;
        }
    }

    /* the WAIT's own slot */

    rd->fifo_head = (rd->fifo_head + 1) % NGX_HTTP_SMART_REDIS_PIPELINE;
    rd->pending--;
    ngx_http_smart_redis_progress(rd);

    return NGX_OK;
}


/* Ends the batch committed since the last WAIT with a WAIT (room kept). */

static void
ngx_http_smart_redis_wait_append(ngx_http_smart_redis_t *rd)
{
    if (rd->wait_len == 0 || rd->unwaited == 0) {
        return;
    }

    ngx_memcpy(rd->out + rd->out_last, rd->wait_cmd, rd->wait_len);
    rd->out_last += rd->wait_len;
    rd->fifo[(rd->fifo_head + rd->pending) % NGX_HTTP_SMART_REDIS_PIPELINE]
        = &ngx_http_smart_redis_wait_mark;
    rd->pending++;
    rd->unwaited = 0;
}


static void
ngx_http_smart_redis_wait_init(ngx_http_smart_redis_t *rd)
{
    u_char  n[NGX_INT_T_LEN], t[NGX_INT_T_LEN];
    size_t  nl, tl;

    nl = ngx_sprintf(n, "%ui", rd->conf->wait) - n;
    tl = ngx_sprintf(t, "%M", rd->conf->command_timeout / 2) - t;

    rd->wait_len = ngx_sprintf(rd->wait_cmd,
                               "*3\r\n$4\r\nWAIT\r\n$%uz\r\n%*s\r\n"
                               "$%uz\r\n%*s\r\n", nl, nl, n, tl, tl, t)
                   - rd->wait_cmd;
}


/* The digits of an integer reply, p[0..last) of it (it may come in parts). */

static void
ngx_http_smart_redis_number(ngx_http_smart_redis_t *rd, u_char *p,
    u_char *last)
{
    for ( /* void */ ; p < last; p++) {
        if (*p >= '0' && *p <= '9' && rd->num < NGX_MAX_INT32_VALUE) {
            rd->num = rd->num * 10 + (*p - '0');
        }
    }
}


/* After a reserve failed: let the owner try again when there is room. */

static void
ngx_http_smart_redis_unblock(ngx_http_smart_redis_t *rd)
{
    if (!rd->blocked || rd->destroying
        || rd->pending == NGX_HTTP_SMART_REDIS_PIPELINE
        || NGX_HTTP_SMART_REDIS_OUT - (rd->out_last - rd->out_pos)
           < NGX_HTTP_SMART_REDIS_OUT / 2)
    {
        return;
    }

    rd->blocked = 0;

    if (!rd->drain_ev.posted) {
        ngx_post_event(&rd->drain_ev, &ngx_posted_events);
    }
}


/* The connection is gone: every command not answered comes back as lost. */

static void
ngx_http_smart_redis_fail(ngx_http_smart_redis_t *rd)
{
    void  *privdata;

    rd->state = NGX_HTTP_SMART_REDIS_CLOSING;

    while (rd->pending != 0) {
        privdata = rd->fifo[rd->fifo_head];
        rd->fifo_head = (rd->fifo_head + 1) % NGX_HTTP_SMART_REDIS_PIPELINE;
        rd->pending--;

        if (privdata != &ngx_http_smart_redis_wait_mark) {
            rd->reply(rd->data, NGX_ERROR, NULL, privdata);
        }
    }

    rd->fifo_head = 0;
    rd->held = 0;
    rd->unwaited = 0;
    rd->out_pos = 0;
    rd->out_last = 0;
    rd->pstate = NGX_HTTP_SMART_REDIS_P_TYPE;
    rd->blocked = 0;

    if (rd->flush.timer_set) {
        ngx_del_timer(&rd->flush);
    }

    if (rd->flush.posted) {
        ngx_delete_posted_event(&rd->flush);
    }

    if (rd->drain_ev.posted) {
        ngx_delete_posted_event(&rd->drain_ev);
    }
}


static void
ngx_http_smart_redis_add_read(void *data)
{
    ngx_http_smart_redis_t  *rd = data;

    if (rd->c != NULL && !rd->c->read->active) {
        if (ngx_add_event(rd->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_http_smart_redis_drop_later(rd);
        }
    }
}


static void
ngx_http_smart_redis_del_read(void *data)
{
    ngx_http_smart_redis_t  *rd = data;

    if (rd->c != NULL && rd->c->read->active) {
        (void) ngx_del_event(rd->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_smart_redis_add_write(void *data)
{
    ngx_http_smart_redis_t  *rd = data;

    if (rd->c != NULL && !rd->c->write->active) {
        if (ngx_add_event(rd->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_http_smart_redis_drop_later(rd);
        }
    }
}


static void
ngx_http_smart_redis_del_write(void *data)
{
    ngx_http_smart_redis_t  *rd = data;

    if (rd->c != NULL && rd->c->write->active) {
        (void) ngx_del_event(rd->c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis is freeing the context (it closes the socket right after): give
 * the connection back, forget the context, and plan the reconnect.
 */

static void
ngx_http_smart_redis_cleanup(void *data)
{
    ngx_http_smart_redis_t  *rd = data;
    ngx_connection_t        *c;

    ngx_http_smart_redis_fail(rd);

    c = rd->c;

    if (c != NULL) {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        rd->c = NULL;
    }

    if (rd->ac != NULL) {
        rd->ac->ev.data = NULL;
    }

    rd->ac = NULL;
    rd->state = NGX_HTTP_SMART_REDIS_IDLE;
    rd->handshake = 0;
    rd->pending = 0;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->progress_timer.timer_set) {
        ngx_del_timer(&rd->progress_timer);
    }

    if (rd->destroying) {
        return;
    }

    if (rd->was_ready) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d connection lost",
                      &rd->host, (int) rd->port);
        rd->was_ready = 0;
    }

    ngx_http_smart_redis_retry(rd);
    ngx_http_smart_redis_post(rd);
}


static void
ngx_http_smart_redis_on_connect(const redisAsyncContext *cac, int status)
{
    char                     db[NGX_INT_T_LEN + 1];
    size_t                   argvlen[2];
    const char              *argv[2];
    redisAsyncContext       *ac;
    ngx_http_smart_redis_t  *rd;

    ac = (redisAsyncContext *) cac;
    rd = ac->data;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (status != REDIS_OK) {
        ngx_log_error(ngx_http_smart_redis_level(rd), rd->log, 0,
                      "smart: redis connect to %V:%d failed: %s",
                      &rd->host, (int) rd->port, ac->errstr);
        rd->state = NGX_HTTP_SMART_REDIS_CLOSING;
        return;                 /* hiredis frees the context next */
    }

    rd->state = NGX_HTTP_SMART_REDIS_HANDSHAKE;

    if (rd->asking) {
        if (ngx_http_smart_redis_ask(rd) != NGX_OK) {
            goto failed;
        }

        ngx_http_smart_redis_progress(rd);
        return;
    }

    /*
     * AUTH, SELECT, with sentinels a ROLE, and a PING, pipelined; ready
     * when the PING answers
     */

    if (rd->conf->password.len != 0) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) rd->conf->password.data;
        argvlen[1] = rd->conf->password.len;

        if (ngx_http_smart_redis_send_argv(rd,
                                           ngx_http_smart_redis_on_handshake,
                                           2, argv, argvlen)
            != NGX_OK)
        {
            goto failed;
        }
    }

    if (rd->conf->db != 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%ui", rd->conf->db)
                     - (u_char *) db;

        if (ngx_http_smart_redis_send_argv(rd,
                                           ngx_http_smart_redis_on_handshake,
                                           2, argv, argvlen)
            != NGX_OK)
        {
            goto failed;
        }
    }

    argv[0] = "ROLE";
    argvlen[0] = 4;

    if (rd->conf->nsentinels != 0
        && ngx_http_smart_redis_send_argv(rd, ngx_http_smart_redis_on_role,
                                          1, argv, argvlen)
           != NGX_OK)
    {
        goto failed;
    }

    argv[0] = "PING";

    if (ngx_http_smart_redis_send_argv(rd, ngx_http_smart_redis_on_handshake,
                                       1, argv, argvlen)
        != NGX_OK)
    {
        goto failed;
    }

    ngx_http_smart_redis_progress(rd);

    return;

failed:

    /*
     * hiredis 0.14 runs the connect callback without marking itself as
     * inside a callback: redisAsyncFree() here would free the context
     * under its caller.
     */

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis handshake could not be sent");

    ngx_http_smart_redis_drop_later(rd);
}


/* A handshake command, its reply awaited by fn. */

ngx_int_t
ngx_http_smart_redis_send_argv(ngx_http_smart_redis_t *rd,
    redisCallbackFn *fn, int argc, const char **argv, const size_t *argvlen)
{
    if (redisAsyncCommandArgv(rd->ac, fn, rd, argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    rd->handshake++;

    return NGX_OK;
}


static void
ngx_http_smart_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_smart_redis_t  *rd = ac->data;

    if (status != REDIS_OK && rd != NULL) {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "smart: redis disconnected: %s", ac->errstr);
    }
}


/* A handshake reply's owner, or NULL when the context is going away. */

ngx_http_smart_redis_t *
ngx_http_smart_redis_handshake_reply(void *r, void *privdata)
{
    ngx_http_smart_redis_t  *rd = privdata;

    if (r == NULL || rd->state != NGX_HTTP_SMART_REDIS_HANDSHAKE) {
        return NULL;
    }

    rd->handshake--;

    return rd;
}


static void
ngx_http_smart_redis_on_handshake(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply              *reply = r;
    ngx_http_smart_redis_t  *rd;

    rd = ngx_http_smart_redis_handshake_reply(r, privdata);
    if (rd == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d refused the handshake: %*s",
                      &rd->host, (int) rd->port,
                      (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_smart_redis_drop(rd);
        return;
    }

    ngx_http_smart_redis_handshake_done(rd);
}


/* One handshake reply was right: ready when it was the last. */

void
ngx_http_smart_redis_handshake_done(ngx_http_smart_redis_t *rd)
{
    if (rd->handshake != 0) {
        ngx_http_smart_redis_progress(rd);
        return;
    }

    rd->state = NGX_HTTP_SMART_REDIS_READY;
    rd->urgent = 0;

    if (!rd->was_ready) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "smart: redis %V:%d connected",
                      &rd->host, (int) rd->port);
    }

    rd->was_ready = 1;
    ngx_http_smart_redis_progress(rd);
    ngx_http_smart_redis_post(rd);
}
