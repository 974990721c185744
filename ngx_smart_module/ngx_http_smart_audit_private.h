
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit module's internals, shared by the files of
 * the audit unit and by no other file: the configuration, a record's
 * entry, the per-worker state (queue, hash chain, spool and replay) and
 * the functions one file of the unit gives another.
 */

#ifndef _NGX_HTTP_SMART_AUDIT_PRIVATE_H_INCLUDED_
#define _NGX_HTTP_SMART_AUDIT_PRIVATE_H_INCLUDED_


#include "ngx_http_smart_util.h"
#include "ngx_http_smart_audit.h"
#include "ngx_http_smart_redis.h"
#include "smart_audit_record.h"
#include "smart_b64.h"


#define NGX_HTTP_SMART_AUDIT_BATCH         512         /* replay lines */
#define NGX_HTTP_SMART_AUDIT_FILES         32          /* replay list */
#define NGX_HTTP_SMART_AUDIT_WORKER_LEN    16
#define NGX_HTTP_SMART_AUDIT_ENTRY_SPARE   64      /* reusable, per worker */

/* the largest XADD of a record: every value at its bound, and framing */
#define NGX_HTTP_SMART_AUDIT_RESP_MAX                                         \
    (ngx_max(SMART_AUDIT_LINE_MAX,                                            \
             SMART_AUDIT_F__COUNT * SMART_AUDIT_FIELD_MAX                     \
             + SMART_B64_ENCODED_LEN(SMART_AUDIT_QUERY_MAX))                  \
     + SMART_AUDIT_F__COUNT * 64)


typedef struct {
    ngx_http_smart_redis_conf_t   redis;
    ngx_str_t                     stream;
    u_char                        maxlen[NGX_INT_T_LEN + 1];
    ngx_str_t                     spool;            /* NUL-terminated */
    ngx_flag_t                    has_redis;
} ngx_http_smart_audit_main_conf_t;


typedef struct {
    ngx_flag_t                    audit;
    ngx_flag_t                    required;
    ngx_http_complex_value_t     *tenant;
} ngx_http_smart_audit_loc_conf_t;


typedef struct {
    ngx_queue_t                   queue;
    size_t                        size;
    smart_audit_record_t          rec;
} ngx_http_smart_audit_entry_t;


/* A spool file this worker replays; it holds the file's lock (fd). */
typedef struct {
    char                         *path;             /* ngx_alloc()ed */
    off_t                         start;            /* acknowledged: @off */
    ngx_fd_t                      fd;               /* open, locked */
} ngx_http_smart_audit_file_t;


/* A line in the spool buffer: where it ends, and its seq for the log. */
typedef struct {
    size_t                        end;
    size_t                        seq_len;
    u_char                        seq[NGX_INT64_LEN];
} ngx_http_smart_audit_line_t;


typedef struct {
    ngx_http_smart_audit_file_t   files[NGX_HTTP_SMART_AUDIT_FILES];
    ngx_uint_t                    nfiles;

    ngx_fd_t                      fd;               /* files[0].fd while
                                                       it is replayed */
    off_t                         acked;            /* lines before it */
    off_t                         ends[NGX_HTTP_SMART_AUDIT_BATCH];
    ngx_uint_t                    nsent;
    ngx_uint_t                    nacked;
    ngx_uint_t                    ignore;       /* acks of a failed batch */
    u_char                       *buf;
} ngx_http_smart_audit_replay_t;


typedef struct {
    ngx_http_smart_audit_main_conf_t  *amcf;
    ngx_http_smart_redis_t            *rd;
    ngx_log_t                         *log;

    ngx_queue_t                   unsent;
    ngx_queue_t                   inflight;
    ngx_queue_t                   returned;         /* lost in flight */
    ngx_uint_t                    count;
    size_t                        bytes;

    u_char                        worker[NGX_HTTP_SMART_AUDIT_WORKER_LEN];
    uint64_t                      seq;

    time_t                        ts_sec;           /* ts[] is of it */
    size_t                        ts_len;
    u_char                        ts[32];           /* "...T..:..:..." */
    u_char                        prev[SMART_AUDIT_HASH_LEN];

    u_char                       *prefix;           /* XADD ... * */
    size_t                        prefix_len;

    char                         *spool_path;       /* PATH.<pid> */
    ngx_fd_t                      spool_fd;
    ngx_uint_t                    serial;
    u_char                       *sbuf;             /* lines to write */
    size_t                        slen;
    ngx_http_smart_audit_line_t  *slines;
    ngx_uint_t                    snlines;
    ngx_event_t                   spool_ev;         /* posted: write */
    unsigned                      spool_dirty:1;    /* partial line */
    unsigned                      spool_failed:1;

    ngx_http_smart_audit_replay_t replay;
    ngx_event_t                   scan;

    ngx_int_t                     g_queue;          /* gauges reported */
    ngx_int_t                     g_connected;

    /* repeated failures: logged once, then counted per interval */
    ngx_http_smart_flood_t        flood_refused;    /* by Redis */
    ngx_http_smart_flood_t        flood_lost;       /* spool unwritable */
    ngx_http_smart_flood_t        flood_spool;      /* spool write failed */

    /* freed entries of ENTRY_SLOT bytes, reused instead of malloc()/free() */
    void                         *spare[NGX_HTTP_SMART_AUDIT_ENTRY_SPARE];
    ngx_uint_t                    nspare;
} ngx_http_smart_audit_worker_t;


/*
 * ngx_http_smart_audit_conf.c: the configuration callbacks and directive
 * handlers named in ngx_http_smart_audit.c's tables.
 */
ngx_int_t ngx_http_smart_audit_add_variables(ngx_conf_t *cf);
void *ngx_http_smart_audit_create_main_conf(ngx_conf_t *cf);
void *ngx_http_smart_audit_create_loc_conf(ngx_conf_t *cf);
char *ngx_http_smart_audit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
char *ngx_http_smart_audit_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_smart_audit_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_smart_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/*
 * ngx_http_smart_audit_record.c: the request's record in a new entry (NULL
 * when memory runs out), which moves the worker's chain on; an entry given
 * back; the reusable entries freed at exit.
 */
/* The gap marker of records a killed worker took with it. */
ngx_http_smart_audit_entry_t *ngx_http_smart_audit_gap(
    ngx_http_smart_audit_worker_t *w, ngx_http_smart_crash_t *crash,
    ngx_log_t *log);

ngx_http_smart_audit_entry_t *ngx_http_smart_audit_build(
    ngx_http_smart_audit_worker_t *w, ngx_http_request_t *r,
    ngx_http_smart_audit_loc_conf_t *alcf, ngx_http_smart_ctx_t *ctx);
void ngx_http_smart_audit_release(ngx_http_smart_audit_worker_t *w,
    ngx_http_smart_audit_entry_t *e);
void ngx_http_smart_audit_spare_free(ngx_http_smart_audit_worker_t *w);


#endif /* _NGX_HTTP_SMART_AUDIT_PRIVATE_H_INCLUDED_ */
