
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
 * Commands appended while the connection is ready do not arm the write
 * event: they post one flush event, which runs after the pass's other
 * events and writes everything appended in the pass with one write().
 */

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


struct ngx_http_smart_redis_s {
    ngx_http_smart_redis_conf_t    *conf;
    redisAsyncContext              *ac;
    ngx_connection_t               *c;
    ngx_log_t                      *log;

    ngx_event_t                     connect_timer;
    ngx_event_t                     progress_timer;
    ngx_event_t                     retry_timer;
    ngx_event_t                     notify;
    ngx_event_t                     flush;          /* posted: write */

    ngx_http_smart_redis_state_e    state;
    ngx_uint_t                      pending;        /* owner commands */
    ngx_uint_t                      handshake;      /* replies awaited */
    ngx_uint_t                      attempts;
    ngx_uint_t                      was_ready;

    ngx_http_smart_redis_reply_pt   reply;
    ngx_http_smart_redis_state_pt   state_handler;
    void                           *data;

    unsigned                        destroying:1;
    unsigned                        appending:1;    /* in our append */
};


static ngx_uint_t ngx_http_smart_redis_level(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_schedule(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_drop(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_progress(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_post(ngx_http_smart_redis_t *rd);
static void ngx_http_smart_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_smart_redis_progress_timeout(ngx_event_t *ev);
static void ngx_http_smart_redis_notify_handler(ngx_event_t *ev);
static void ngx_http_smart_redis_flush_handler(ngx_event_t *ev);
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
static void ngx_http_smart_redis_on_reply(redisAsyncContext *ac, void *r,
    void *privdata);


ngx_http_smart_redis_t *
ngx_http_smart_redis_create(ngx_cycle_t *cycle,
    ngx_http_smart_redis_conf_t *conf, ngx_http_smart_redis_reply_pt reply,
    ngx_http_smart_redis_state_pt state, void *data)
{
    ngx_http_smart_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_smart_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->conf = conf;
    rd->log = cycle->log;
    rd->reply = reply;
    rd->state_handler = state;
    rd->data = data;

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

    rd->flush.handler = ngx_http_smart_redis_flush_handler;
    rd->flush.data = rd;
    rd->flush.log = cycle->log;

    return rd;
}


ngx_uint_t
ngx_http_smart_redis_ready(ngx_http_smart_redis_t *rd)
{
    return rd->state == NGX_HTTP_SMART_REDIS_READY && rd->ac != NULL;
}


ngx_uint_t
ngx_http_smart_redis_pending(ngx_http_smart_redis_t *rd)
{
    return rd->pending;
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

    /* the host is numeric (resolved at configuration time): no DNS here */

    ac = redisAsyncConnect((char *) rd->conf->host.data, rd->conf->port);
    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis: out of memory connecting");
        ngx_http_smart_redis_schedule(rd);
        return;
    }

    if (ac->err) {
        ngx_log_error(ngx_http_smart_redis_level(rd), rd->log, 0,
                      "smart: redis connect to %V:%d failed: %s",
                      &rd->conf->host, (int) rd->conf->port, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_smart_redis_schedule(rd);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_smart_redis_schedule(rd);
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


ngx_int_t
ngx_http_smart_redis_command(ngx_http_smart_redis_t *rd, int argc,
    const char **argv, const size_t *argvlen, void *privdata)
{
    if (!ngx_http_smart_redis_ready(rd)) {
        return NGX_DECLINED;
    }

    if (redisAsyncCommandArgv(rd->ac, ngx_http_smart_redis_on_reply,
                              privdata, argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_DECLINED;
    }

    if (rd->pending++ == 0 && rd->handshake == 0) {
        ngx_http_smart_redis_progress(rd);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_smart_redis_formatted(ngx_http_smart_redis_t *rd, const char *cmd,
    size_t len, void *privdata)
{
    int  rc;

    if (!ngx_http_smart_redis_ready(rd)) {
        return NGX_DECLINED;
    }

    /* the write event hook posts the flush instead of arming the event */

    rd->appending = 1;
    rc = redisAsyncFormattedCommand(rd->ac, ngx_http_smart_redis_on_reply,
                                    privdata, cmd, len);
    rd->appending = 0;

    if (rc != REDIS_OK) {
        return NGX_DECLINED;
    }

    if (rd->pending++ == 0 && rd->handshake == 0) {
        ngx_http_smart_redis_progress(rd);
    }

    return NGX_OK;
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

    if (rd->ac != NULL) {
        /* runs the pending handlers with NULL, then the cleanup hook */
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

static void
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

    delay = delay / 2 + (ngx_msec_t) ngx_random() % (delay / 2 + 1);
    rd->attempts++;

    ngx_add_timer(&rd->retry_timer, delay);
}


static void
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
                  &rd->conf->host, (int) rd->conf->port);

    ngx_http_smart_redis_drop(rd);
}


static void
ngx_http_smart_redis_progress_timeout(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis %V:%d did not answer within %M ms, "
                  "reconnecting", &rd->conf->host, (int) rd->conf->port,
                  rd->conf->command_timeout);

    ngx_http_smart_redis_drop(rd);
}


static void
ngx_http_smart_redis_notify_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    rd->state_handler(rd->data, ngx_http_smart_redis_ready(rd));
}


/* Writes what the pass appended; hiredis arms the event if it must wait. */

static void
ngx_http_smart_redis_flush_handler(ngx_event_t *ev)
{
    ngx_http_smart_redis_t  *rd = ev->data;

    if (rd->ac != NULL && rd->c != NULL) {
        redisAsyncHandleWrite(rd->ac);
    }
}


static void
ngx_http_smart_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_http_smart_redis_t  *rd = c->data;

    if (rd->ac != NULL) {
        redisAsyncHandleRead(rd->ac);
    }
}


static void
ngx_http_smart_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_http_smart_redis_t  *rd = c->data;

    if (rd->ac != NULL) {
        redisAsyncHandleWrite(rd->ac);
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
            ngx_http_smart_redis_drop(rd);
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

    if (rd->appending) {
        if (!rd->flush.posted && !rd->destroying) {
            ngx_post_event(&rd->flush, &ngx_posted_events);
        }

        return;
    }

    if (rd->c != NULL && !rd->c->write->active) {
        if (ngx_add_event(rd->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            ngx_http_smart_redis_drop(rd);
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

    if (rd->flush.posted) {
        ngx_delete_posted_event(&rd->flush);
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
                      &rd->conf->host, (int) rd->conf->port);
        rd->was_ready = 0;
    }

    ngx_http_smart_redis_schedule(rd);
    ngx_http_smart_redis_post(rd);
}


static void
ngx_http_smart_redis_on_connect(const redisAsyncContext *cac, int status)
{
    int                      argc;
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
                      &rd->conf->host, (int) rd->conf->port, ac->errstr);
        rd->state = NGX_HTTP_SMART_REDIS_CLOSING;
        return;                 /* hiredis frees the context next */
    }

    rd->state = NGX_HTTP_SMART_REDIS_HANDSHAKE;

    /* AUTH, SELECT and a PING, pipelined; ready when the PING answers */

    if (rd->conf->password.len != 0) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (const char *) rd->conf->password.data;
        argvlen[1] = rd->conf->password.len;
        argc = 2;

        if (redisAsyncCommandArgv(ac, ngx_http_smart_redis_on_handshake, rd,
                                  argc, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        rd->handshake++;
    }

    if (rd->conf->db != 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%ui", rd->conf->db)
                     - (u_char *) db;

        if (redisAsyncCommandArgv(ac, ngx_http_smart_redis_on_handshake, rd,
                                  2, argv, argvlen)
            != REDIS_OK)
        {
            goto failed;
        }

        rd->handshake++;
    }

    argv[0] = "PING";
    argvlen[0] = 4;

    if (redisAsyncCommandArgv(ac, ngx_http_smart_redis_on_handshake, rd,
                              1, argv, argvlen)
        != REDIS_OK)
    {
        goto failed;
    }

    rd->handshake++;
    ngx_http_smart_redis_progress(rd);

    return;

failed:

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "smart: redis handshake could not be sent");
    ngx_http_smart_redis_drop(rd);
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


static void
ngx_http_smart_redis_on_handshake(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply              *reply = r;
    ngx_http_smart_redis_t  *rd = privdata;

    if (reply == NULL || rd->state != NGX_HTTP_SMART_REDIS_HANDSHAKE) {
        return;                 /* the context is going away */
    }

    rd->handshake--;

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "smart: redis %V:%d refused the handshake: %*s",
                      &rd->conf->host, (int) rd->conf->port,
                      (size_t) ngx_min(reply->len, 200), reply->str);
        ngx_http_smart_redis_drop(rd);
        return;
    }

    if (rd->handshake != 0) {
        ngx_http_smart_redis_progress(rd);
        return;
    }

    rd->state = NGX_HTTP_SMART_REDIS_READY;
    rd->attempts = 0;

    if (!rd->was_ready) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "smart: redis %V:%d connected",
                      &rd->conf->host, (int) rd->conf->port);
    }

    rd->was_ready = 1;
    ngx_http_smart_redis_progress(rd);
    ngx_http_smart_redis_post(rd);
}


static void
ngx_http_smart_redis_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_http_smart_redis_t  *rd = ac->data;

    if (rd->pending != 0) {
        rd->pending--;
    }

    if (r == NULL) {
        /* being freed: refuse new commands until the cleanup hook */
        rd->state = NGX_HTTP_SMART_REDIS_CLOSING;

    } else {
        ngx_http_smart_redis_progress(rd);
    }

    rd->reply(rd->data, r, privdata);
}
