
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: helpers every glue file needs (ngx_http_smart_util.c).
 */

#ifndef _NGX_HTTP_SMART_UTIL_H_INCLUDED_
#define _NGX_HTTP_SMART_UTIL_H_INCLUDED_

#include "ngx_http_smart_module.h"


/* Which header list ngx_http_smart_headers_usable() is asked about. */
typedef enum {
    NGX_HTTP_SMART_HEADERS_IN = 0,      /* walk r->headers_in.headers */
    NGX_HTTP_SMART_HEADERS_IN_PUSH,     /* walk it and add to it */
    NGX_HTTP_SMART_HEADERS_OUT          /* r->headers_out.headers */
} ngx_http_smart_headers_e;


/*
 * A walk over a header list (NGINX keeps one as a chain of parts):
 *
 *     ngx_http_smart_walk_init(&w, &r->headers_in.headers);
 *     while ((h = ngx_http_smart_walk_next(&w)) != NULL) { ... }
 *
 * The caller checks ngx_http_smart_headers_usable() first.
 */
typedef struct {
    ngx_list_part_t            *part;
    ngx_uint_t                  i;
} ngx_http_smart_walk_t;

#define ngx_http_smart_walk_init(w, list)                                     \
    (w)->part = &(list)->part;                                                \
    (w)->i = 0

ngx_table_elt_t *ngx_http_smart_walk_next(ngx_http_smart_walk_t *w);


/* The request context if it has one (also after an internal redirect);
   never creates one. */
ngx_http_smart_ctx_t *ngx_http_smart_find_ctx(ngx_http_request_t *r);

/* The request context, created on first use, kept across internal
   redirects; NULL when memory runs out. */
ngx_http_smart_ctx_t *ngx_http_smart_get_ctx(ngx_http_request_t *r);

/* Whether a header list of r exists and may be used as asked. */
ngx_uint_t ngx_http_smart_headers_usable(ngx_http_request_t *r,
    ngx_http_smart_headers_e which);

/* The first request header called name (any case), and how many there
   are in *count when count is not NULL. */
ngx_table_elt_t *ngx_http_smart_find_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t *count);

/* Header h is called lc[0..len) (lowercase), in any case. */
ngx_uint_t ngx_http_smart_hdr_eq(ngx_table_elt_t *h, u_char *lc,
    size_t len);

#define ngx_http_smart_hdr_is(h, s)                                           \
    ngx_http_smart_hdr_eq(h, (u_char *) s, sizeof(s) - 1)

/* Sets a response header, replacing every header of the same name. */
ngx_int_t ngx_http_smart_set_out_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);

/* Sets a request header the upstream will see, replacing every header of
   that name (lc: the name in lowercase); a no-op when the request has no
   header list to change (HTTP/0.9, a subrequest's copy). */
ngx_int_t ngx_http_smart_set_in_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *lc, ngx_str_t *value);

/* Hides request headers named names[0..n) (lowercase) from the upstream:
   renamed to Connection, which proxy_pass always sets itself and so never
   copies from the client; the caller clears NGINX's pointers to them. */
void ngx_http_smart_hide_in_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n);

/* Hides the client's Authorization header from the upstream. */
void ngx_http_smart_hide_token(ngx_http_request_t *r);

/* Makes sr a bare GET: its own empty header list (room for n headers, it
   grows), no body (a fake empty one, as auth_request does, so the client's
   body is never read or sent for it). */
ngx_int_t ngx_http_smart_subrequest_bare(ngx_http_request_t *r,
    ngx_http_request_t *sr, ngx_uint_t n);

/* Adds a header to a bare subrequest's own list. */
ngx_int_t ngx_http_smart_subrequest_header(ngx_http_request_t *sr,
    ngx_str_t *key, ngx_str_t *lc, ngx_str_t *value);

/* Asks the upstream for FHIR JSON without compression: in r's own header
   list, or (bare) in a bare subrequest's. */
ngx_int_t ngx_http_smart_want_json(ngx_http_request_t *r, ngx_uint_t bare);

/* Why a response's body cannot be read as it is by the checks: "the
   response is compressed" (a Content-Encoding other than identity), "the
   response is not JSON"; NULL when it can. */
const char *ngx_http_smart_json_body_refusal(ngx_http_request_t *r);

/* Replaces the request body read into memory with a copy of data[0..len)
   (the upstream gets it with its length); *held becomes that copy. */
ngx_int_t ngx_http_smart_replace_body(ngx_http_request_t *r, ngx_str_t *held,
    u_char *data, size_t len);

/*
 * A repeated failure logged once, then as a count per interval: the first
 * message is logged whole; those within the next interval are counted,
 * and when it ends one line says how many there were ("<label>: N more in
 * the last T s"), for as long as they go on.
 */
typedef struct {
    ngx_event_t                 ev;
    ngx_uint_t                  more;
    ngx_uint_t                  level;
    ngx_msec_t                  interval;
    const char                 *label;
} ngx_http_smart_flood_t;

#define NGX_HTTP_SMART_FLOOD_INTERVAL  5000     /* ms */

void ngx_http_smart_flood_init(ngx_http_smart_flood_t *f, ngx_log_t *log,
    const char *label);
void ngx_http_smart_flood_log(ngx_http_smart_flood_t *f, ngx_uint_t level,
    ngx_log_t *log, ngx_err_t err, const char *fmt, ...);

/* A NUL-terminated copy of s in pool; NULL when memory runs out. */
u_char *ngx_http_smart_strz(ngx_pool_t *pool, ngx_str_t *s);

/* Reads a whole regular file of at most max bytes at configuration time,
   NUL-terminated, into cf->temp_pool. */
ngx_int_t ngx_http_smart_read_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t max, ngx_str_t *out);

#endif /* _NGX_HTTP_SMART_UTIL_H_INCLUDED_ */
