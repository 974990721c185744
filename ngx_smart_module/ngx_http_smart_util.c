
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: helpers every glue file needs (docs/architecture.md):
 * the request context, the header lists (whether they exist, lookup,
 * name equality) and small files read at configuration time.  The lowest
 * glue layer: it calls no other glue file.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"


static void ngx_http_smart_ctx_cleanup(void *data);

/*
 * The request context if the request has one.  An internal redirect
 * (error_page, try_files, X-Accel-Redirect from the upstream) clears
 * module contexts; the verification result, the correlation ID and the
 * response check must survive it, both for the variables in the log phase
 * and so that a redirect can never be used to skip the checks already
 * made or a response check still due.  The pool cleanup keeps it.
 */

ngx_http_smart_ctx_t *
ngx_http_smart_find_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_smart_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_smart_module);
    if (ctx != NULL || r->main != r) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_smart_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_smart_module);
            return ctx;
        }
    }

    return NULL;
}


ngx_http_smart_ctx_t *
ngx_http_smart_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_smart_ctx_t  *ctx;

    ctx = ngx_http_smart_find_ctx(r);
    if (ctx != NULL || r->main != r) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_smart_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_smart_ctx_t));
    ngx_str_set(&ctx->reason, "");
    cln->handler = ngx_http_smart_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_smart_module);

    return ctx;
}


static void
ngx_http_smart_ctx_cleanup(void *data)
{
    ngx_http_smart_ctx_t  *ctx = data;

    if (ctx->wait.timer_set) {
        ngx_del_timer(&ctx->wait);
    }

    if (ctx->payload != NULL) {
        json_decref(ctx->payload);
        ctx->payload = NULL;
    }
}


/*
 * Whether a header list of the request may be used.  NGINX allocates
 * r->headers_out.headers with every request, but r->headers_in.headers only
 * once it starts reading HTTP/1.x headers (HTTP/2 streams have theirs): an
 * HTTP/0.9 request ("GET /path" CRLF) runs every phase with a zeroed list,
 * and a request refused or abandoned while its request line was read (400,
 * 414, 505, a timeout, a closed connection) reaches the header filter and
 * the log phase with one.  ngx_list_push() on a zeroed list dereferences
 * NULL.  A subrequest holds a shallow copy of its parent's list: walking it
 * is safe, adding to it would change the parent's parts behind its back.
 * Every walk of and addition to a header list in the module asks here.
 */

ngx_uint_t
ngx_http_smart_headers_usable(ngx_http_request_t *r,
    ngx_http_smart_headers_e which)
{
    ngx_list_t  *l;

    l = (which == NGX_HTTP_SMART_HEADERS_OUT) ? &r->headers_out.headers
                                              : &r->headers_in.headers;

    if (l->last == NULL || l->nalloc == 0
        || l->size != sizeof(ngx_table_elt_t))
    {
        return 0;
    }

    if (which == NGX_HTTP_SMART_HEADERS_IN_PUSH && r != r->main) {
        return 0;
    }

    return 1;
}


/* The next header of a walk, or NULL at the end of the list. */

ngx_table_elt_t *
ngx_http_smart_walk_next(ngx_http_smart_walk_t *w)
{
    ngx_table_elt_t  *h;

    while (w->i >= w->part->nelts) {
        if (w->part->next == NULL) {
            return NULL;
        }

        w->part = w->part->next;
        w->i = 0;
    }

    h = w->part->elts;

    return &h[w->i++];
}


/* The first request header called name, and how many there are. */

ngx_table_elt_t *
ngx_http_smart_find_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_uint_t *count)
{
    ngx_uint_t              n;
    ngx_table_elt_t        *h, *found;
    ngx_http_smart_walk_t   w;

    n = 0;
    found = NULL;

    if (!ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_IN)) {
        if (count != NULL) {
            *count = 0;
        }

        return NULL;
    }

    ngx_http_smart_walk_init(&w, &r->headers_in.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {

        if (h->key.len == name->len
            && ngx_strncasecmp(h->key.data, name->data, name->len) == 0)
        {
            if (found == NULL) {
                found = h;
            }

            n++;
        }
    }

    if (count != NULL) {
        *count = n;
    }

    return found;
}


/* Reads a whole small file at configuration time. */

ngx_int_t
ngx_http_smart_read_file(ngx_conf_t *cf, ngx_str_t *name, size_t max,
    ngx_str_t *out)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        path;
    ngx_file_info_t  fi;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", path.data);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", path.data);
        goto failed;
    }

    if (!ngx_is_file(&fi) || (size_t) ngx_file_size(&fi) > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" is not a regular file of at most %uz bytes",
                           path.data, max);
        goto failed;
    }

    out->len = (size_t) ngx_file_size(&fi);
    out->data = ngx_pnalloc(cf->temp_pool, out->len + 1);
    if (out->data == NULL) {
        goto failed;
    }

    n = ngx_read_fd(fd, out->data, out->len);
    if (n == -1 || (size_t) n != out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", path.data);
        goto failed;
    }

    out->data[out->len] = '\0';
    ngx_close_file(fd);

    return NGX_OK;

failed:

    ngx_close_file(fd);
    return NGX_ERROR;
}



/*
 * Header name equality, case-insensitive, as ngx_http_smart_find_header()
 * compares: through the lowercased copy NGINX keeps of each name (HTTP/1
 * and HTTP/2 alike), or the name itself for a header another module added
 * without one.  lc is lowercase.
 */

ngx_uint_t
ngx_http_smart_hdr_eq(ngx_table_elt_t *h, u_char *lc, size_t len)
{
    if (h->key.len != len) {
        return 0;
    }

    if (h->lowcase_key != NULL) {
        return ngx_memcmp(h->lowcase_key, lc, len) == 0;
    }

    return ngx_strncasecmp(h->key.data, lc, len) == 0;
}


/* Sets a response header, replacing any of the same name. */

ngx_int_t
ngx_http_smart_set_out_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t        *h, *found;
    ngx_http_smart_walk_t   w;

    if (!ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_OUT)) {
        return NGX_ERROR;
    }

    found = NULL;
    ngx_http_smart_walk_init(&w, &r->headers_out.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {

        if (h->hash != 0
            && h->key.len == key->len
            && ngx_strncasecmp(h->key.data, key->data, key->len) == 0)
        {
            if (found == NULL) {
                found = h;

            } else {
                h->hash = 0;
            }
        }
    }

    if (found == NULL) {
        found = ngx_list_push(&r->headers_out.headers);
        if (found == NULL) {
            return NGX_ERROR;
        }

        found->key = *key;
#if (nginx_version >= 1023000)
        found->next = NULL;
#endif
    }

    found->hash = 1;
    found->value = *value;

    return NGX_OK;
}


/*
 * Sets a request header the upstream will see, replacing the value of
 * every header of that name (lc: the name in lowercase).  NGX_DECLINED
 * when the request has no header list to set it in (HTTP/0.9, a request
 * refused before its headers were read, a subrequest's copy): a caller
 * whose header guards the request (If-Match, If-None-Exist) must not
 * send it on.
 */

ngx_int_t
ngx_http_smart_set_in_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *lc, ngx_str_t *value)
{
    ngx_uint_t              replaced;
    ngx_table_elt_t        *h;
    ngx_http_smart_walk_t   w;

    if (!ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_IN_PUSH)) {
        return NGX_DECLINED;
    }

    replaced = 0;
    ngx_http_smart_walk_init(&w, &r->headers_in.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {

        if (ngx_http_smart_hdr_eq(h, lc->data, lc->len)) {
            /* every header of that name: a repeated one says the same */
            h->value = *value;
            replaced = 1;
        }
    }

    if (replaced) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *key;
    h->lowcase_key = lc->data;
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/* Hides the client's Authorization header from the upstream. */

void
ngx_http_smart_hide_token(ngx_http_request_t *r)
{
    static ngx_str_t  names[] = { ngx_string("authorization") };

    r->headers_in.authorization = NULL;
    ngx_http_smart_hide_in_headers(r, names, 1);
}


/*
 * An NGINX header list cannot lose an element (NGINX keeps pointers into
 * it), so a hidden header is renamed: to Connection, a header proxy_pass
 * always sets itself (its default, or the configuration's value) and so
 * never copies from the client's list.
 */

void
ngx_http_smart_hide_in_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n)
{
    ngx_uint_t              k;
    ngx_table_elt_t        *h;
    ngx_http_smart_walk_t   w;

    static ngx_str_t  conn = ngx_string("Connection");
    static u_char     conn_lc[] = "connection";

    if (!ngx_http_smart_headers_usable(r, NGX_HTTP_SMART_HEADERS_IN)) {
        return;
    }

    ngx_http_smart_walk_init(&w, &r->headers_in.headers);

    while ((h = ngx_http_smart_walk_next(&w)) != NULL) {
        for (k = 0; k < n; k++) {
            if (ngx_http_smart_hdr_eq(h, names[k].data, names[k].len)) {
                h->key = conn;
                h->lowcase_key = conn_lc;
                h->hash = ngx_hash_key(conn_lc, sizeof(conn_lc) - 1);
                break;
            }
        }
    }
}


ngx_int_t
ngx_http_smart_subrequest_bare(ngx_http_request_t *r, ngx_http_request_t *sr,
    ngx_uint_t n)
{
    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    if (ngx_list_init(&sr->headers_in.headers, r->pool, n,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_GET;
    ngx_str_set(&sr->method_name, "GET");
    sr->header_only = 0;

    return NGX_OK;
}


/* The bare subrequest's list is its own (ngx_http_smart_subrequest_bare()),
   so it is pushed to directly; the helpers above refuse a subrequest's
   list, which is normally its parent's. */

ngx_int_t
ngx_http_smart_subrequest_header(ngx_http_request_t *sr, ngx_str_t *key,
    ngx_str_t *lc, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key = *key;
    h->lowcase_key = lc->data;
    h->hash = ngx_hash_key(lc->data, lc->len);
    h->value = *value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/*
 * The response check and the pre-read read a body as it came: identity
 * encoding and a JSON content type (application/fhir+json, application/
 * json, ...), or not at all.
 */

const char *
ngx_http_smart_json_body_refusal(ngx_http_request_t *r)
{
    ngx_str_t        *ct;
    ngx_table_elt_t  *ce;

    ce = r->headers_out.content_encoding;

    if (ce != NULL && ce->hash != 0 && ce->value.len != 0
        && !(ce->value.len == sizeof("identity") - 1
             && ngx_strncasecmp(ce->value.data, (u_char *) "identity",
                                ce->value.len) == 0))
    {
        return "the response is compressed";
    }

    ct = &r->headers_out.content_type;

    if (ct->len == 0
        || ngx_strlcasestrn(ct->data, ct->data + ct->len,
                            (u_char *) "json", 4 - 1) == NULL)
    {
        return "the response is not JSON";
    }

    return NULL;
}


/* A NUL-terminated copy of s in pool; NULL when memory runs out. */

u_char *
ngx_http_smart_strz(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return p;
}


/*
 * Replaces the request body read into memory (request_body_in_single_buf)
 * with a copy of data: the upstream receives it with its own length (the
 * proxy module sends content_length_n; the client's Content-Length header
 * is never copied).  *held, the module's view of the body, follows.
 */

ngx_int_t
ngx_http_smart_replace_body(ngx_http_request_t *r, ngx_str_t *held,
    u_char *data, size_t len)
{
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, len);
    cl = ngx_alloc_chain_link(r->pool);
    p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);

    if (b == NULL || cl == NULL || p == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, data, len);
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    r->request_body->bufs = cl;
    r->headers_in.content_length_n = len;

    if (r->headers_in.content_length != NULL) {
        r->headers_in.content_length->value.data = p;
        r->headers_in.content_length->value.len =
                                       ngx_sprintf(p, "%uz", len) - p;
    }

    held->data = b->pos;
    held->len = len;

    return NGX_OK;
}


/*
 * Asks the upstream for the whole answer as FHIR JSON without compression
 * (Accept: application/fhir+json, Accept-Encoding: identity), which is
 * what the checks can read: in r's own header list, or in a bare
 * subrequest's (bare: ngx_http_smart_subrequest_bare()).
 */

ngx_int_t
ngx_http_smart_want_json(ngx_http_request_t *r, ngx_uint_t bare)
{
    ngx_uint_t  i;

    static ngx_str_t  hdr[3][2] = {
        { ngx_string("Accept"), ngx_string("accept") },
        { ngx_string("Accept-Encoding"), ngx_string("accept-encoding") },
        { ngx_null_string, ngx_null_string }
    };
    static ngx_str_t  val[2] = {
        ngx_string("application/fhir+json"),
        ngx_string("identity")
    };

    for (i = 0; hdr[i][0].len != 0; i++) {
        if ((bare ? ngx_http_smart_subrequest_header(r, &hdr[i][0],
                                                     &hdr[i][1], &val[i])
                  : ngx_http_smart_set_in_header(r, &hdr[i][0], &hdr[i][1],
                                                 &val[i]))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* --- repeated failures ---------------------------------------------------- */

static void
ngx_http_smart_flood_handler(ngx_event_t *ev)
{
    ngx_http_smart_flood_t  *f = ev->data;

    if (f->more == 0) {
        /* quiet for a whole interval: the next failure is logged whole */
        return;
    }

    ngx_log_error(f->level, ev->log, 0,
                  "smart: %s: %ui more in the last %M s", f->label,
                  f->more, f->interval / 1000);

    f->more = 0;

    if (!ngx_exiting) {
        ngx_add_timer(ev, f->interval);
    }
}


void
ngx_http_smart_flood_init(ngx_http_smart_flood_t *f, ngx_log_t *log,
    const char *label)
{
    ngx_memzero(f, sizeof(ngx_http_smart_flood_t));

    f->ev.handler = ngx_http_smart_flood_handler;
    f->ev.data = f;
    f->ev.log = log;
    /* a pending count never holds a graceful shutdown */
    f->ev.cancelable = 1;
    f->interval = NGX_HTTP_SMART_FLOOD_INTERVAL;
    f->label = label;
}


void
ngx_http_smart_flood_log(ngx_http_smart_flood_t *f, ngx_uint_t level,
    ngx_log_t *log, ngx_err_t err, const char *fmt, ...)
{
    u_char   *p, msg[NGX_MAX_ERROR_STR];
    va_list   args;

    if (f->ev.timer_set) {
        f->more++;
        return;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    ngx_log_error(level, log, err, "%*s", (size_t) (p - msg), msg);

    f->level = level;
    f->more = 0;

    if (f->ev.log == NULL) {
        f->ev.log = log;
    }

    if (!ngx_exiting) {
        ngx_add_timer(&f->ev, f->interval);
    }
}
