
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the audit spool and its replay (docs/audit.md).
 *
 * While Redis is not ready or the queue is full, the audit module
 * (ngx_http_smart_audit.c) appends records to this worker's spool file
 * (PATH.<pid>, one NDJSON line per record): lines collect in a bounded
 * buffer that a posted event writes with one write() per pass (or sooner
 * when it is full).  When Redis is ready, spool files are renamed to
 * PATH.<pid>.<serial> and replayed in order, a batch at a time; a file is
 * unlinked only once Redis acknowledged every line of it.
 *
 * Ownership is a lock, not a pid: the worker that writes or replays a
 * file holds an exclusive flock() on it for as long as it owns it (flock
 * locks belong to the open file, so a worker's own second open conflicts
 * too, and nothing is inherited: workers open their files themselves).
 * Files no one holds (their worker is gone: reload, crash, restart; or
 * set aside) are adopted by locking and renaming them, so exactly one
 * live worker replays each file, whatever process has its pid now.  As
 * each batch is acknowledged, the file being replayed is renamed
 * PATH.<pid>.<serial>@<offset>, so that after a crash its adopter starts
 * after the acknowledged lines (at most one batch is sent again).  A
 * write that fails part way through a line cuts the file back to the
 * line before it, so a record is counted lost once.
 *
 * The audit module calls in; nothing here calls the audit module.
 */

#include "ngx_http_smart_spool.h"

#include <glob.h>
#include <sys/file.h>


#define NGX_HTTP_SMART_AUDIT_READ          (2 * SMART_AUDIT_LINE_MAX)
#define NGX_HTTP_SMART_AUDIT_SCAN          5000        /* ms */
#define NGX_HTTP_SMART_AUDIT_SPOOL_BUF     (4 * SMART_AUDIT_LINE_MAX)
#define NGX_HTTP_SMART_AUDIT_SPOOL_LINES   512     /* lines per write */


static void ngx_http_smart_spool_flush(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_spool_handler(ngx_event_t *ev);
static void ngx_http_smart_spool_scan_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_smart_spool_push_file(
    ngx_http_smart_audit_worker_t *w, const char *from, off_t start,
    ngx_fd_t fd);
static ngx_int_t ngx_http_smart_spool_claim(ngx_http_smart_audit_worker_t *w,
    const char *path, ngx_fd_t *fd);
static void ngx_http_smart_spool_cut(ngx_http_smart_audit_worker_t *w,
    size_t partial);
static void ngx_http_smart_spool_mark(ngx_http_smart_audit_worker_t *w);
static void ngx_http_smart_spool_replay_exit(
    ngx_http_smart_audit_worker_t *w);
static ssize_t ngx_http_smart_spool_replay_read(
    ngx_http_smart_audit_worker_t *w);
static ngx_int_t ngx_http_smart_spool_replay_batch(
    ngx_http_smart_audit_worker_t *w, ssize_t n);
static size_t ngx_http_smart_spool_replay_parse(
    ngx_http_smart_audit_worker_t *w, u_char *p, u_char *nl,
    smart_audit_record_t *rec, char **storage);
static void ngx_http_smart_spool_replay_skip(
    ngx_http_smart_audit_worker_t *w, u_char *p, u_char *nl, off_t off);
static void ngx_http_smart_spool_replay_next(
    ngx_http_smart_audit_worker_t *w, ngx_uint_t done);


/* --- worker life --------------------------------------------------------- */

ngx_int_t
ngx_http_smart_spool_init(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle)
{
    size_t  len;

    w->spool_fd = NGX_INVALID_FILE;
    w->replay.fd = NGX_INVALID_FILE;

    if (w->amcf->spool.len == 0) {
        return NGX_OK;
    }

    len = w->amcf->spool.len + 1 + NGX_INT64_LEN + 1;
    w->spool_path = ngx_pnalloc(cycle->pool, len);
    w->replay.buf = ngx_palloc(cycle->pool, NGX_HTTP_SMART_AUDIT_READ);
    w->sbuf = ngx_palloc(cycle->pool, NGX_HTTP_SMART_AUDIT_SPOOL_BUF);
    w->slines = ngx_palloc(cycle->pool,
                           NGX_HTTP_SMART_AUDIT_SPOOL_LINES
                           * sizeof(ngx_http_smart_audit_line_t));

    if (w->spool_path == NULL || w->replay.buf == NULL
        || w->sbuf == NULL || w->slines == NULL)
    {
        return NGX_ERROR;
    }

    ngx_snprintf((u_char *) w->spool_path, len, "%V.%P%Z", &w->amcf->spool,
                 ngx_pid);

    w->spool_ev.handler = ngx_http_smart_spool_handler;
    w->spool_ev.data = w;
    w->spool_ev.log = cycle->log;

    w->scan.handler = ngx_http_smart_spool_scan_handler;
    w->scan.data = w;
    w->scan.log = cycle->log;
    w->scan.cancelable = 1;

    return NGX_OK;
}


void
ngx_http_smart_spool_start(ngx_http_smart_audit_worker_t *w)
{
    ngx_add_timer(&w->scan, NGX_HTTP_SMART_AUDIT_SCAN);
}


void
ngx_http_smart_spool_stop(ngx_http_smart_audit_worker_t *w)
{
    if (w->scan.timer_set) {
        ngx_del_timer(&w->scan);
    }
}


void
ngx_http_smart_spool_exit(ngx_http_smart_audit_worker_t *w,
    ngx_cycle_t *cycle)
{
    ngx_file_info_t  fi;

    ngx_http_smart_spool_flush(w);
    ngx_http_smart_spool_replay_exit(w);

    if (w->spool_fd == NGX_INVALID_FILE) {
        return;
    }

    /* an empty spool (opened by the access check) is not left behind;
       removed while it is still this worker's */

    if (ngx_fd_info(w->spool_fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) == 0)
    {
        (void) ngx_delete_file(w->spool_path);
    }

    ngx_close_file(w->spool_fd);
    w->spool_fd = NGX_INVALID_FILE;
}


/*
 * The replay list is let go; a file being replayed keeps the acknowledged
 * offset in its name.
 */

static void
ngx_http_smart_spool_replay_exit(ngx_http_smart_audit_worker_t *w)
{
    ngx_uint_t  i;

    /* renamed before the lock goes: an adopter sees the offset */

    ngx_http_smart_spool_mark(w);
    w->replay.fd = NGX_INVALID_FILE;

    for (i = 0; i < w->replay.nfiles; i++) {
        ngx_close_file(w->replay.files[i].fd);
        ngx_free(w->replay.files[i].path);
    }

    w->replay.nfiles = 0;
}


/* --- spool ---------------------------------------------------------------- */

ngx_int_t
ngx_http_smart_spool_open(ngx_http_smart_audit_worker_t *w)
{
    ngx_fd_t    fd;
    ngx_uint_t  i;

    if (w->spool_path == NULL) {
        return NGX_DECLINED;
    }

    if (w->spool_fd != NGX_INVALID_FILE) {
        return w->spool_failed ? NGX_DECLINED : NGX_OK;
    }

    /*
     * The lock says the file is this worker's.  A file left under this
     * name by an earlier process with the same pid is appended to (it is
     * replayed whole later); one an adopter has just locked, to rename
     * it, is let go and the name opened again.
     */

    for (i = 0; i < 3; i++) {
        /* read-write: the same file and lock are replayed later */
        fd = ngx_open_file(w->spool_path, NGX_FILE_RDWR|O_APPEND,
                           NGX_FILE_CREATE_OR_OPEN, 0600);

        if (fd == NGX_INVALID_FILE) {
            return NGX_DECLINED;
        }

        if (flock(fd, LOCK_EX|LOCK_NB) == 0) {
            w->spool_fd = fd;
            w->spool_failed = 0;
            return NGX_OK;
        }

        ngx_close_file(fd);
    }

    return NGX_DECLINED;
}


/*
 * Appends the record's line to the spool buffer (written at the end of the
 * pass); NGX_OK when it is buffered, else the caller counts it lost.
 */

ngx_int_t
ngx_http_smart_spool_write(ngx_http_smart_audit_worker_t *w,
    const smart_audit_record_t *rec)
{
    size_t                        len, room;
    ngx_http_smart_audit_line_t  *ln;

    if (w->spool_path == NULL) {
        return NGX_DECLINED;
    }

    if (w->spool_fd == NGX_INVALID_FILE
        && ngx_http_smart_spool_open(w) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                      "smart: audit spool \"%s\" cannot be opened",
                      w->spool_path);
        return NGX_ERROR;
    }

    if (w->snlines == NGX_HTTP_SMART_AUDIT_SPOOL_LINES) {
        ngx_http_smart_spool_flush(w);
    }

    room = NGX_HTTP_SMART_AUDIT_SPOOL_BUF - w->slen;
    len = smart_audit_ndjson(rec, (char *) w->sbuf + w->slen, room);

    if (len > room) {
        if (len > SMART_AUDIT_LINE_MAX) {
            return NGX_ERROR;
        }

        /* the buffer is full: write it, then start it with this line */

        ngx_http_smart_spool_flush(w);

        room = NGX_HTTP_SMART_AUDIT_SPOOL_BUF;
        len = smart_audit_ndjson(rec, (char *) w->sbuf, room);

        if (len > room) {
            return NGX_ERROR;
        }
    }

    w->slen += len;

    ln = &w->slines[w->snlines++];
    ln->end = w->slen;
    ln->seq_len = ngx_min(rec->f[SMART_AUDIT_F_SEQ].len, NGX_INT64_LEN);
    ngx_memcpy(ln->seq, rec->f[SMART_AUDIT_F_SEQ].data, ln->seq_len);

    if (!w->spool_ev.posted) {
        ngx_post_event(&w->spool_ev, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_http_smart_spool_handler(ngx_event_t *ev)
{
    ngx_http_smart_spool_flush(ev->data);
}


/*
 * Writes the buffered lines in one write() (more only after a short one).
 * Lines written whole are spooled; the others are lost and logged.
 */

static void
ngx_http_smart_spool_flush(ngx_http_smart_audit_worker_t *w)
{
    size_t                        done;
    ssize_t                       n;
    ngx_err_t                     err;
    ngx_uint_t                    i, lost;
    ngx_http_smart_audit_line_t  *first, *last;

    if (w->spool_ev.posted) {
        ngx_delete_posted_event(&w->spool_ev);
    }

    if (w->snlines == 0) {
        w->slen = 0;
        return;
    }

    done = 0;
    err = 0;

    if (w->spool_fd == NGX_INVALID_FILE
        && ngx_http_smart_spool_open(w) != NGX_OK)
    {
        err = ngx_errno;
        goto failed;
    }

    /* end a line a failed write left half written, so it is one bad line */

    if (w->spool_dirty) {
        if (ngx_write_fd(w->spool_fd, "\n", 1) != 1) {
            err = ngx_errno;
            goto failed;
        }

        w->spool_dirty = 0;
    }

    while (done < w->slen) {
        n = ngx_write_fd(w->spool_fd, w->sbuf + done, w->slen - done);

        if (n <= 0) {
            err = (n < 0) ? ngx_errno : NGX_ENOSPC;
            break;
        }

        done += n;
    }

failed:

    for (i = 0; i < w->snlines && w->slines[i].end <= done; i++) {
        /* void */
    }

    if (i != 0) {
        ngx_http_smart_status_audit_fate(NGX_HTTP_SMART_STAT_AUDIT_SPOOLED,
                                         i);
    }

    if (done == w->slen) {
        w->spool_failed = 0;
        w->slen = 0;
        w->snlines = 0;
        return;
    }

    w->spool_failed = 1;

    if (done > 0 && (i == 0 || w->slines[i - 1].end != done)) {
        /* part of a line is on disk: cut it off (counted lost below) */
        ngx_http_smart_spool_cut(w, (i == 0) ? done
                                            : done - w->slines[i - 1].end);
    }

    lost = w->snlines - i;
    first = &w->slines[i];
    last = &w->slines[w->snlines - 1];

    ngx_http_smart_flood_log(&w->flood_spool, NGX_LOG_ERR, w->log, err,
                  "smart: audit spool \"%s\" write failed, audit record "
                  "lost: %ui record(s), worker %*s seq %*s to %*s",
                  w->spool_path, lost,
                  (size_t) NGX_HTTP_SMART_AUDIT_WORKER_LEN, w->worker,
                  first->seq_len, first->seq, last->seq_len, last->seq);
    ngx_http_smart_status_audit_fate(NGX_HTTP_SMART_STAT_AUDIT_LOST, lost);

    w->slen = 0;
    w->snlines = 0;
}


/*
 * Cuts the partial bytes of a line a failed write left at the end of the
 * spool, so the record is counted lost once (here) and not again by the
 * replay that would skip it.  Shrinking a file needs no space.  Only when
 * even that fails is the line ended instead (spool_dirty), and the replay
 * counts it a second time.
 */

static void
ngx_http_smart_spool_cut(ngx_http_smart_audit_worker_t *w, size_t partial)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(w->spool_fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) >= (off_t) partial
        && ftruncate(w->spool_fd, ngx_file_size(&fi) - partial) == 0)
    {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                  "smart: audit spool \"%s\": a partly written line could "
                  "not be cut off", w->spool_path);

    w->spool_dirty = 1;
}


/* This worker's spool becomes a replay file; new records start a new one. */

void
ngx_http_smart_spool_rotate(ngx_http_smart_audit_worker_t *w)
{
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (w->replay.nfiles >= NGX_HTTP_SMART_AUDIT_FILES) {
        return;
    }

    /* buffered lines belong to this file, before it is renamed */
    ngx_http_smart_spool_flush(w);

    if (ngx_file_info(w->spool_path, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) == 0)
    {
        return;
    }

    if (w->spool_fd == NGX_INVALID_FILE) {
        /* not this worker's file (a spool that could not be opened) */
        return;
    }

    /* the file and its lock go to the replay list together */

    fd = w->spool_fd;
    w->spool_fd = NGX_INVALID_FILE;
    w->spool_dirty = 0;

    (void) ngx_http_smart_spool_push_file(w, w->spool_path, 0, fd);
}


/*
 * Renames from to PATH.<pid>.<serial>[@start] and lists it for replay
 * with its locked fd, which the list now owns (closed on failure).
 */

static ngx_int_t
ngx_http_smart_spool_push_file(ngx_http_smart_audit_worker_t *w,
    const char *from, off_t start, ngx_fd_t fd)
{
    u_char                       *p, name[NGX_MAX_PATH];
    ngx_http_smart_audit_file_t  *f;

    if (w->replay.nfiles >= NGX_HTTP_SMART_AUDIT_FILES) {
        ngx_close_file(fd);
        return NGX_DECLINED;
    }

    w->serial++;

    if (start > 0) {
        p = ngx_snprintf(name, sizeof(name) - 1, "%V.%P.%06ui@%O",
                         &w->amcf->spool, ngx_pid, w->serial, start);
    } else {
        p = ngx_snprintf(name, sizeof(name) - 1, "%V.%P.%06ui",
                         &w->amcf->spool, ngx_pid, w->serial);
    }

    *p++ = '\0';

    if (ngx_rename_file(from, name) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                      "smart: audit spool rename \"%s\" to \"%s\" failed",
                      from, name);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    f = &w->replay.files[w->replay.nfiles];
    f->path = ngx_alloc(p - name, w->log);
    if (f->path == NULL) {
        ngx_close_file(fd);         /* stays on disk for a later scan */
        return NGX_ERROR;
    }

    ngx_memcpy(f->path, name, p - name);
    f->start = start;
    f->fd = fd;
    w->replay.nfiles++;

    ngx_log_error(NGX_LOG_INFO, w->log, 0,
                  "smart: audit spool \"%s\" queued for replay as \"%s\"",
                  from, name);

    return NGX_OK;
}


/*
 * Takes over the spool files no process holds (their worker is gone, or
 * set them aside): replay files first (they are older), then spools.  The
 * lock, then the rename, make the claim atomic; whose pid a name carries
 * does not matter (a pid may now be another process's, or this one's).
 */

void
ngx_http_smart_spool_adopt(ngx_http_smart_audit_worker_t *w)
{
    int          pass;
    off_t        start;
    u_char      *s, *at, pattern[NGX_MAX_PATH];
    size_t       i, plen;
    glob_t       g;
    ngx_fd_t     fd;
    ngx_uint_t   live;

    plen = w->amcf->spool.len;
    *ngx_snprintf(pattern, sizeof(pattern) - 1, "%V.[0-9]*", &w->amcf->spool)
        = '\0';

    if (glob((char *) pattern, 0, NULL, &g) != 0) {
        return;
    }

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < g.gl_pathc; i++) {
            s = (u_char *) g.gl_pathv[i] + plen + 1;

            while (*s >= '0' && *s <= '9') {
                s++;
            }

            live = (*s == '\0');

            if ((pass == 0) == live || (*s != '\0' && *s != '.')) {
                continue;
            }

            if (ngx_http_smart_spool_claim(w, g.gl_pathv[i], &fd) != NGX_OK)
            {
                continue;
            }

            start = 0;
            at = (u_char *) ngx_strchr(s, '@');

            if (at != NULL) {
                start = ngx_atoof(at + 1, ngx_strlen(at + 1));
                if (start == NGX_ERROR) {
                    start = 0;
                }
            }

            if (ngx_http_smart_spool_push_file(w, g.gl_pathv[i], start, fd)
                == NGX_DECLINED)
            {
                goto done;
            }
        }
    }

done:

    globfree(&g);
}


/*
 * NGX_OK with *fd open and locked when path is a file no process holds,
 * still under that name (its owner may have renamed it between the open
 * and the lock); NGX_DECLINED otherwise.
 */

static ngx_int_t
ngx_http_smart_spool_claim(ngx_http_smart_audit_worker_t *w,
    const char *path, ngx_fd_t *fd)
{
    ngx_file_info_t  fi, pi;

    *fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (*fd == NGX_INVALID_FILE) {
        return NGX_DECLINED;
    }

    if (flock(*fd, LOCK_EX|LOCK_NB) == 0
        && ngx_fd_info(*fd, &fi) != NGX_FILE_ERROR
        && ngx_file_info(path, &pi) != NGX_FILE_ERROR
        && fi.st_ino == pi.st_ino && fi.st_dev == pi.st_dev)
    {
        return NGX_OK;
    }

    ngx_close_file(*fd);
    *fd = NGX_INVALID_FILE;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "smart: audit spool \"%s\" is held", path);

    return NGX_DECLINED;
}


static void
ngx_http_smart_spool_scan_handler(ngx_event_t *ev)
{
    ngx_http_smart_audit_worker_t  *w = ev->data;

    if (ngx_exiting) {
        return;
    }

    if (w->rd != NULL && ngx_http_smart_redis_ready(w->rd)) {
        ngx_http_smart_spool_adopt(w);

        if (w->count == 0) {
            ngx_http_smart_spool_rotate(w);
        }

        ngx_http_smart_spool_replay_pump(w);
    }

    ngx_add_timer(&w->scan, NGX_HTTP_SMART_AUDIT_SCAN);
}


/* --- replay --------------------------------------------------------------- */

/*
 * Sends the next batch of lines of files[0] when nothing of it is in
 * flight.  A batch's lines are acknowledged in order; `acked` only ever
 * moves to the end of an acknowledged line.
 */

void
ngx_http_smart_spool_replay_pump(ngx_http_smart_audit_worker_t *w)
{
    ssize_t                         n;
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    for ( ;; ) {

        if (rp->nsent != rp->nacked || rp->ignore != 0 || w->rd == NULL
            || !ngx_http_smart_redis_ready(w->rd) || ngx_exiting)
        {
            return;
        }

        rp->nsent = 0;
        rp->nacked = 0;

        if (rp->nfiles == 0) {
            return;
        }

        n = ngx_http_smart_spool_replay_read(w);

        if (n == 0) {
            continue;
        }

        if (ngx_http_smart_spool_replay_batch(w, n) == NGX_AGAIN
            || rp->nsent != 0)
        {
            return;
        }
    }
}


/*
 * Reads files[0] from `acked` (opening it first): the bytes read, or 0
 * when files[0] was finished or set aside instead.
 */

static ssize_t
ngx_http_smart_spool_replay_read(ngx_http_smart_audit_worker_t *w)
{
    ssize_t                         n;
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    if (rp->fd == NGX_INVALID_FILE) {
        /* the file was opened (and locked) when it was listed */
        rp->fd = rp->files[0].fd;
        rp->acked = rp->files[0].start;
    }

    n = pread(rp->fd, rp->buf, NGX_HTTP_SMART_AUDIT_READ, rp->acked);

    if (n < 0) {
        ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                      "smart: audit replay read \"%s\" failed",
                      rp->files[0].path);
        ngx_http_smart_spool_replay_next(w, 0);
        return 0;
    }

    if (n == 0) {
        ngx_http_smart_spool_replay_next(w, 1);
        return 0;
    }

    return n;
}


/*
 * Sends the lines of the n bytes read, a batch at most, each as the XADD
 * of its record; NGX_AGAIN when the output buffer is full (on_drain or
 * the acks go on).
 */

static ngx_int_t
ngx_http_smart_spool_replay_batch(ngx_http_smart_audit_worker_t *w,
    ssize_t n)
{
    char                           *storage;
    u_char                         *p, *nl, *end, *cmd;
    off_t                           off;
    size_t                          len;
    smart_audit_record_t            rec;
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    p = rp->buf;
    end = rp->buf + n;
    off = rp->acked;

    while (p < end && rp->nsent < NGX_HTTP_SMART_AUDIT_BATCH) {
        nl = ngx_strlchr(p, end, '\n');

        if (nl == NULL) {
            if (p != rp->buf || n < NGX_HTTP_SMART_AUDIT_READ) {
                if (p != rp->buf) {
                    break;          /* the rest: next batch */
                }

                /* an unterminated last line: a write cut short */
                ngx_log_error(NGX_LOG_ERR, w->log, 0,
                              "smart: audit spool \"%s\": incomplete "
                              "line at offset %O skipped",
                              rp->files[0].path, off);
            }

            nl = end - 1;
        }

        len = ngx_http_smart_spool_replay_parse(w, p, nl, &rec, &storage);

        if (len == 0) {
            ngx_http_smart_spool_replay_skip(w, p, nl, off);
            p = nl + 1;
            continue;
        }

        cmd = ngx_http_smart_redis_reserve(w->rd, len);
        if (cmd == NULL) {
            free(storage);
            return NGX_AGAIN;
        }

        (void) smart_audit_xadd_resp(&rec, (const char *) w->prefix,
                                     w->prefix_len, (char *) cmd, len);
        free(storage);
        ngx_http_smart_redis_commit(w->rd, len, rp);

        rp->ends[rp->nsent++] = off + (nl + 1 - rp->buf);
        p = nl + 1;
    }

    return NGX_OK;
}


/*
 * The line p..nl (nl: its last byte) as a record in *rec, whose storage
 * the caller frees: the length of its XADD, or 0 (nothing to free) when
 * it is not a record that can be sent.
 */

static size_t
ngx_http_smart_spool_replay_parse(ngx_http_smart_audit_worker_t *w,
    u_char *p, u_char *nl, smart_audit_record_t *rec, char **storage)
{
    size_t  len;

    len = 0;

    if (smart_audit_parse_json((const char *) p, nl - p + 1, rec, storage)
        == SMART_AUDIT_OK)
    {
        len = smart_audit_xadd_resp(rec, (const char *) w->prefix,
                                    w->prefix_len, NULL, 0);

        if (len > w->prefix_len + NGX_HTTP_SMART_AUDIT_RESP_MAX) {
            free(*storage);
            len = 0;
        }
    }

    return len;
}


/*
 * The line p..nl is not a record: lost (unless empty), and acknowledged
 * with the line before it, so that replay moves past it.
 */

static void
ngx_http_smart_spool_replay_skip(ngx_http_smart_audit_worker_t *w,
    u_char *p, u_char *nl, off_t off)
{
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    if (nl - p > 0) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "smart: audit spool \"%s\": bad line at "
                      "offset %O skipped", rp->files[0].path,
                      off + (p - rp->buf));
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_LOST, 1);
    }

    if (rp->nsent == 0) {
        rp->acked = off + (nl + 1 - rp->buf);
    } else {
        rp->ends[rp->nsent - 1] = off + (nl + 1 - rp->buf);
    }
}


void
ngx_http_smart_spool_replay_ack(ngx_http_smart_audit_worker_t *w,
    ngx_int_t rc, ngx_str_t *err)
{
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    if (rc == NGX_ERROR) {
        /* connection lost: resume after the last acknowledged line */
        return;
    }

    if (rp->ignore != 0) {
        rp->ignore--;
        return;
    }

    if (rp->nacked >= rp->nsent) {
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_REFUSED, 1);
        ngx_http_smart_flood_log(&w->flood_refused, NGX_LOG_ERR, w->log, 0,
                                 "smart: redis refused a replayed audit "
                                 "record: %V; replay paused", err);

        /* the rest of this batch is sent again from `acked` later */
        rp->ignore = rp->nsent - rp->nacked - 1;
        rp->nsent = 0;
        rp->nacked = 0;

        /* read again from there, the lock kept */
        ngx_http_smart_spool_mark(w);
        rp->fd = NGX_INVALID_FILE;
        return;
    }

    rp->acked = rp->ends[rp->nacked++];
    ngx_http_smart_status_add(NGX_HTTP_SMART_STAT_AUDIT_REPLAYED, 1);

    if (rp->nacked == rp->nsent) {
        ngx_http_smart_spool_mark(w);
        ngx_http_smart_spool_replay_pump(w);
    }
}


/*
 * The batch is acknowledged: files[0] is renamed to carry the offset
 * (PATH.<pid>.<serial>@<acked>), so a crash sends at most the next batch
 * again.  A failed rename only costs duplicates.
 */

static void
ngx_http_smart_spool_mark(ngx_http_smart_audit_worker_t *w)
{
    char                           *path;
    u_char                         *at, *p, name[NGX_MAX_PATH];
    size_t                          len;
    ngx_http_smart_audit_file_t    *f;
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;

    if (rp->nfiles == 0 || rp->fd == NGX_INVALID_FILE) {
        /* files[0] is not being replayed: acked is not its */
        return;
    }

    f = &rp->files[0];

    if (rp->acked <= f->start) {
        return;
    }

    at = (u_char *) ngx_strchr(f->path, '@');
    len = (at != NULL) ? (size_t) (at - (u_char *) f->path)
                       : ngx_strlen(f->path);

    p = ngx_snprintf(name, sizeof(name) - 1, "%*s@%O", len, f->path,
                     rp->acked);
    *p++ = '\0';

    path = ngx_alloc(p - name, w->log);
    if (path == NULL) {
        return;
    }

    if (ngx_rename_file(f->path, name) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                      "smart: audit spool rename \"%s\" failed", f->path);
        ngx_free(path);
        return;
    }

    ngx_memcpy(path, name, p - name);
    ngx_free(f->path);
    f->path = path;
    f->start = rp->acked;
}


/* The connection is lost: acks of the batch in flight will not come. */

void
ngx_http_smart_spool_replay_reset(ngx_http_smart_audit_worker_t *w)
{
    w->replay.nsent = 0;
    w->replay.nacked = 0;
    w->replay.ignore = 0;
}


/* files[0] is finished (done: replayed to its end) or set aside. */

static void
ngx_http_smart_spool_replay_next(ngx_http_smart_audit_worker_t *w,
    ngx_uint_t done)
{
    ngx_http_smart_audit_replay_t  *rp;

    rp = &w->replay;
    rp->fd = NGX_INVALID_FILE;
    rp->acked = 0;

    if (done) {
        if (ngx_delete_file(rp->files[0].path) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, w->log, ngx_errno,
                          "smart: audit spool \"%s\" replayed but not "
                          "removed", rp->files[0].path);
        } else {
            ngx_log_error(NGX_LOG_NOTICE, w->log, 0,
                          "smart: audit spool \"%s\" replayed and removed",
                          rp->files[0].path);
        }
    }

    /* unlinked before its lock goes: no one adopts a replayed file */
    ngx_close_file(rp->files[0].fd);
    ngx_free(rp->files[0].path);
    rp->nfiles--;
    ngx_memmove(&rp->files[0], &rp->files[1],
                rp->nfiles * sizeof(ngx_http_smart_audit_file_t));
    rp->nsent = 0;
    rp->nacked = 0;
}
