
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit spool and its replay
 * (ngx_http_smart_spool.c), called by the audit module only.
 */

#ifndef _NGX_HTTP_SMART_SPOOL_H_INCLUDED_
#define _NGX_HTTP_SMART_SPOOL_H_INCLUDED_


#include "ngx_http_smart_audit_private.h"


/*
 * The worker's spool state, in init_process after w->amcf is set: nothing
 * to open yet, and with smart_audit_spool the buffers and the events.
 */
ngx_int_t ngx_http_smart_spool_init(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle);

/* The periodic scan for spools to adopt and replay starts, or stops. */
void ngx_http_smart_spool_start(ngx_http_smart_audit_worker_t *w);
void ngx_http_smart_spool_stop(ngx_http_smart_audit_worker_t *w);

/*
 * At exit, once the queue is spooled: the buffer is written, a partly
 * replayed file keeps its acknowledged offset in its name, files are
 * closed and an empty spool is removed.
 */
void ngx_http_smart_spool_exit(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle);

/* The spool is open and writable: NGX_OK, else NGX_DECLINED. */
ngx_int_t ngx_http_smart_spool_open(ngx_http_smart_audit_worker_t *w);

/*
 * Appends the record's line to the spool buffer (written at the end of the
 * pass); NGX_OK when it is buffered, else the caller counts it lost.
 */
ngx_int_t ngx_http_smart_spool_write(ngx_http_smart_audit_worker_t *w,
    const smart_audit_record_t *rec);

/* Takes over spool files of processes that are gone, for replay. */
void ngx_http_smart_spool_adopt(ngx_http_smart_audit_worker_t *w);

/* This worker's spool becomes a replay file; new records start a new one. */
void ngx_http_smart_spool_rotate(ngx_http_smart_audit_worker_t *w);

/* Sends the next batch of the replay when nothing of it is in flight. */
void ngx_http_smart_spool_replay_pump(ngx_http_smart_audit_worker_t *w);

/* The reply to a replayed line (privdata &w->replay). */
void ngx_http_smart_spool_replay_ack(ngx_http_smart_audit_worker_t *w,
    ngx_int_t rc, ngx_str_t *err);

/* The connection is lost: replay resumes after the acknowledged lines. */
void ngx_http_smart_spool_replay_reset(ngx_http_smart_audit_worker_t *w);


#endif /* _NGX_HTTP_SMART_SPOOL_H_INCLUDED_ */
