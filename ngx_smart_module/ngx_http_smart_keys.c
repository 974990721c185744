
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: key sources.
 *
 * Files (JWKS, PEM, HMAC secret) are read and parsed once at configuration
 * time.  A JWKS published by the identity provider is fetched by subrequest
 * to an internal location, kept per worker, refreshed in the background when
 * it is older than smart_jwks_refresh, and fetched early (at most once per
 * NGX_HTTP_SMART_JWKS_EARLY seconds) when a token names an unknown kid.  A
 * failed or empty fetch never replaces the last good key set.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_status.h"
#include "ngx_http_smart_keys.h"
#include "ngx_http_smart_jwks_shared.h"


/* seconds one worker may take to refresh a shared key set */
#define NGX_HTTP_SMART_JWKS_LEASE  30


typedef struct {
    smart_keyset_t             *keys;       /* last good set, or NULL */
    ngx_msec_t                  fetched;    /* when keys were stored */
    ngx_msec_t                  failed;     /* last failure; 0: none */
    time_t                      early;      /* last unknown-kid fetch */
    ngx_uint_t                  in_flight;
    ngx_atomic_uint_t           gen;        /* shared generation held */
    unsigned                    leased:1;   /* this worker refreshes */
} ngx_http_smart_jwks_state_t;


/* The module ctx of a JWKS subrequest (never of any other subrequest). */
typedef struct {
    ngx_http_smart_jwks_state_t  *state;
    ngx_http_smart_jwks_src_t    *src;
    ngx_http_smart_ctx_t         *waiter;   /* blocked parent, or NULL */
    u_char                       *buf;
    size_t                        len;
    ngx_uint_t                    status;
    unsigned                      finished:1;
    unsigned                      overflow:1;
    unsigned                      in_file:1;
} ngx_http_smart_jwks_fetch_t;


static ngx_int_t ngx_http_smart_jwks_fetch(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t background);
static ngx_int_t ngx_http_smart_jwks_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_smart_jwks_abandon(void *data);
static void ngx_http_smart_jwks_wait(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx);
static void ngx_http_smart_jwks_wait_handler(ngx_event_t *ev);
static void ngx_http_smart_jwks_states_free(void *data);
static void ngx_http_smart_jwks_adopt(ngx_http_request_t *r,
    ngx_http_smart_jwks_src_t *src, ngx_http_smart_jwks_state_t *st);


static ngx_http_smart_jwks_state_t  *ngx_http_smart_jwks_states;
static ngx_uint_t                    ngx_http_smart_jwks_nstates;


static void
ngx_http_smart_keyset_cleanup(void *data)
{
    smart_keyset_free(data);
}


char *
ngx_http_smart_load_keys(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    int                  n;
    char                 err[256];
    const char          *kind;
    ngx_str_t           *value, text, *m;
    ngx_pool_cleanup_t  *cln;

    kind = cmd->post;
    value = cf->args->elts;

    if (ngx_http_smart_read_file(cf, &value[1], SMART_JWKS_MAX_SIZE, &text)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (slcf->keyset == NULL) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        slcf->keyset = smart_keyset_new();
        if (slcf->keyset == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_smart_keyset_cleanup;
        cln->data = slcf->keyset;
    }

    err[0] = '\0';

    if (kind[0] == 'j') {
        n = smart_keyset_add_jwks(slcf->keyset, (const char *) text.data,
                                  text.len, err, sizeof(err));
        slcf->has_public = 1;

    } else if (kind[0] == 'p') {
        n = smart_keyset_add_pem(slcf->keyset, (const char *) text.data,
                                 text.len, err, sizeof(err));
        slcf->has_public = 1;

    } else {
        if (slcf->has_hmac) {
            return "is duplicate";
        }

        n = smart_keyset_add_hmac(slcf->keyset, text.data, text.len,
                                  err, sizeof(err));
        slcf->has_hmac = 1;
    }

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": \"%V\": %s",
                           &cmd->name, &value[1], err);
        return NGX_CONF_ERROR;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%V\" holds no usable signing key",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (slcf->key_material == NGX_CONF_UNSET_PTR) {
        slcf->key_material = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (slcf->key_material == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    m = ngx_array_push(slcf->key_material);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    m->len = text.len;
    m->data = ngx_pstrdup(cf->pool, &text);
    if (m->data == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the secret's bytes are no longer needed in the temporary pool */
    ngx_explicit_memzero(text.data, text.len);

    return NGX_CONF_OK;
}


char *
ngx_http_smart_jwks_request(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->jwks_uri.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        return "takes the URI of a location starting with \"/\"";
    }

    slcf->jwks_uri = value[1];

    return NGX_CONF_OK;
}


/*
 * Merge time: locations that fetch the same JWKS (same uri and refresh)
 * share one source, one fetch and one parsed key set per worker.
 */

char *
ngx_http_smart_jwks_register(ngx_conf_t *cf, ngx_http_smart_loc_conf_t *conf)
{
    ngx_uint_t                   i;
    ngx_http_smart_jwks_src_t   *src;
    ngx_http_smart_main_conf_t  *smcf;

    if (conf->jwks_uri.data == NULL) {
        return NGX_CONF_OK;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_smart_module);

    src = smcf->jwks_srcs.elts;
    for (i = 0; i < smcf->jwks_srcs.nelts; i++) {
        if (src[i].refresh == conf->jwks_refresh
            && src[i].uri.len == conf->jwks_uri.len
            && ngx_strncmp(src[i].uri.data, conf->jwks_uri.data,
                           conf->jwks_uri.len) == 0)
        {
            break;
        }
    }

    if (i == smcf->jwks_srcs.nelts) {
        src = ngx_array_push(&smcf->jwks_srcs);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        src->uri = conf->jwks_uri;
        src->refresh = conf->jwks_refresh;
        src->index = i;
    }

    conf->jwks_index = (ngx_int_t) i;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_smart_keys_init_process(ngx_cycle_t *cycle)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_smart_main_conf_t  *smcf;

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module)
        == NULL)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_smart_module);
    if (smcf == NULL || smcf->jwks_srcs.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_smart_jwks_nstates = smcf->jwks_srcs.nelts;
    ngx_http_smart_jwks_states = ngx_pcalloc(cycle->pool,
                                  smcf->jwks_srcs.nelts
                                  * sizeof(ngx_http_smart_jwks_state_t));
    if (ngx_http_smart_jwks_states == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_smart_jwks_states_free;
    cln->data = NULL;

    return NGX_OK;
}


static void
ngx_http_smart_jwks_states_free(void *data)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_smart_jwks_nstates; i++) {
        smart_keyset_free(ngx_http_smart_jwks_states[i].keys);
        ngx_http_smart_jwks_states[i].keys = NULL;
    }

    ngx_http_smart_jwks_nstates = 0;
}


/*
 * Hands the request the key set to verify with.  READY: *ks is set.  WAIT:
 * a fetch is in flight and the request will be resumed (by the end of its
 * own subrequest or by a poll timer); the handler returns NGX_AGAIN.
 * UNAVAILABLE: no key set could be had; answer configuration-invalid.
 */

ngx_http_smart_keys_state_e
ngx_http_smart_keys_get(ngx_http_request_t *r, ngx_http_smart_loc_conf_t *slcf,
    ngx_http_smart_ctx_t *ctx, ngx_uint_t unknown_kid,
    const smart_keyset_t **ks)
{
    ngx_msec_t                    now;
    ngx_http_smart_main_conf_t   *smcf;
    ngx_http_smart_jwks_src_t    *src;
    ngx_http_smart_jwks_state_t  *st;

    if (slcf->jwks_index < 0) {
        *ks = slcf->keyset;
        return NGX_HTTP_SMART_KEYS_READY;
    }

    if ((ngx_uint_t) slcf->jwks_index >= ngx_http_smart_jwks_nstates) {
        return NGX_HTTP_SMART_KEYS_UNAVAILABLE;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);
    src = (ngx_http_smart_jwks_src_t *) smcf->jwks_srcs.elts
          + slcf->jwks_index;
    st = &ngx_http_smart_jwks_states[slcf->jwks_index];
    now = ngx_current_msec;

    /* a key set another worker loaded: no fetch of this worker's own */

    if (ngx_http_smart_jwks_shared_newer(src->index, st->gen)) {
        ngx_http_smart_jwks_adopt(r, src, st);
    }

    if (st->keys != NULL && !unknown_kid) {

        if (ctx->kid_refreshed && ctx->waiting && st->in_flight
            && now - ctx->wait_start < NGX_HTTP_SMART_JWKS_WAIT)
        {
            /* still waiting for the refresh an unknown kid asked for */
            ngx_http_smart_jwks_wait(r, ctx);
            return NGX_HTTP_SMART_KEYS_WAIT;
        }

        if (now - st->fetched >= src->refresh && !st->in_flight
            && (st->failed == 0
                || now - st->failed >= NGX_HTTP_SMART_JWKS_RETRY)
            && ngx_http_smart_jwks_shared_lease(src->index,
                                                NGX_HTTP_SMART_JWKS_LEASE))
        {
            /* stale: refresh behind the request, which goes on; one
               worker at a time (the others take what it loads) */

            st->leased = 1;

            if (ngx_http_smart_jwks_fetch(r, slcf, ctx, 1) != NGX_OK) {
                st->leased = 0;
                ngx_http_smart_jwks_shared_release(src->index);
            }
        }

        *ks = st->keys;
        return NGX_HTTP_SMART_KEYS_READY;
    }

    if (st->keys != NULL) {

        /* a token names a kid this key set lacks: the IdP may have rotated */

        if (st->in_flight
            && (!ctx->waiting
                || now - ctx->wait_start < NGX_HTTP_SMART_JWKS_WAIT))
        {
            ctx->kid_refreshed = 1;
            ngx_http_smart_jwks_wait(r, ctx);
            return NGX_HTTP_SMART_KEYS_WAIT;
        }

        if (ctx->kid_refreshed) {
            *ks = st->keys;
            return NGX_HTTP_SMART_KEYS_READY;
        }

        if (ngx_time() - st->early < NGX_HTTP_SMART_JWKS_EARLY) {
            *ks = st->keys;
            return NGX_HTTP_SMART_KEYS_READY;
        }

        st->early = ngx_time();
        ctx->kid_refreshed = 1;

        if (ngx_http_smart_jwks_fetch(r, slcf, ctx, 0) != NGX_OK) {
            *ks = st->keys;
            return NGX_HTTP_SMART_KEYS_READY;
        }

        return NGX_HTTP_SMART_KEYS_WAIT;
    }

    /* no key set yet in this worker */

    if (st->in_flight) {
        if (ctx->waiting
            && now - ctx->wait_start >= NGX_HTTP_SMART_JWKS_WAIT)
        {
            return NGX_HTTP_SMART_KEYS_UNAVAILABLE;
        }

        ngx_http_smart_jwks_wait(r, ctx);
        return NGX_HTTP_SMART_KEYS_WAIT;
    }

    if (ctx->jwks_done || ctx->waiting) {
        /* the fetch this request waited for has failed */
        return NGX_HTTP_SMART_KEYS_UNAVAILABLE;
    }

    if (st->failed != 0 && now - st->failed < NGX_HTTP_SMART_JWKS_RETRY) {
        return NGX_HTTP_SMART_KEYS_UNAVAILABLE;
    }

    if (ngx_http_smart_jwks_fetch(r, slcf, ctx, 0) != NGX_OK) {
        return NGX_HTTP_SMART_KEYS_UNAVAILABLE;
    }

    return NGX_HTTP_SMART_KEYS_WAIT;
}


static ngx_int_t
ngx_http_smart_jwks_fetch(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    ngx_uint_t background)
{
    ngx_uint_t                    flags;
    ngx_pool_cleanup_t           *cln;
    ngx_http_request_t           *sr;
    ngx_http_post_subrequest_t   *ps;
    ngx_http_smart_main_conf_t   *smcf;
    ngx_http_smart_jwks_fetch_t  *fetch;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_smart_jwks_fetch_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    fetch = cln->data;
    ngx_memzero(fetch, sizeof(ngx_http_smart_jwks_fetch_t));

    fetch->state = &ngx_http_smart_jwks_states[slcf->jwks_index];
    fetch->src = (ngx_http_smart_jwks_src_t *) smcf->jwks_srcs.elts
                 + slcf->jwks_index;
    fetch->waiter = background ? NULL : ctx;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        fetch->finished = 1;
        cln->handler = ngx_http_smart_jwks_abandon;
        return NGX_ERROR;
    }

    ps->handler = ngx_http_smart_jwks_done;
    ps->data = fetch;

    /* if the request dies before the subrequest ends, free the slot */
    cln->handler = ngx_http_smart_jwks_abandon;

    flags = background ? NGX_HTTP_SUBREQUEST_BACKGROUND
                       : NGX_HTTP_SUBREQUEST_WAITED;

    if (ngx_http_subrequest(r, &fetch->src->uri, NULL, &sr, ps, flags)
        != NGX_OK)
    {
        fetch->finished = 1;
        return NGX_ERROR;
    }

    /*
     * The fetch must not carry the client's credentials or body to the IdP:
     * it gets an empty header list, a GET method and a fake empty body (as
     * auth_request does, so that the body is never read for it).
     */

    if (ngx_http_smart_subrequest_bare(r, sr, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, fetch, ngx_http_smart_module);

    fetch->state->in_flight = 1;

    if (!background) {
        ctx->jwks_started = 1;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "smart: fetching JWKS from \"%V\"%s", &fetch->src->uri,
                  background ? " (refresh)" : "");

    return NGX_OK;
}


static void
ngx_http_smart_jwks_abandon(void *data)
{
    ngx_http_smart_jwks_fetch_t  *fetch = data;

    if (!fetch->finished && fetch->state != NULL) {
        fetch->finished = 1;
        fetch->state->in_flight = 0;
        fetch->state->failed = ngx_current_msec ? ngx_current_msec : 1;
    }
}


/* 1 when r is a JWKS fetch this module started. */

ngx_uint_t
ngx_http_smart_jwks_subrequest(ngx_http_request_t *r)
{
    return r != r->main && r->post_subrequest != NULL
           && r->post_subrequest->handler == ngx_http_smart_jwks_done;
}


static ngx_int_t
ngx_http_smart_jwks_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_smart_jwks_fetch_t  *fetch = data;

    int                           n;
    char                          err[256];
    ngx_http_smart_jwks_state_t  *st;
    smart_keyset_t               *ks;

    if (fetch->finished) {
        return rc;
    }

    fetch->finished = 1;
    st = fetch->state;
    st->in_flight = 0;

    if (st->leased) {
        st->leased = 0;
        ngx_http_smart_jwks_shared_release(fetch->src->index);
    }

    if (fetch->waiter != NULL) {
        fetch->waiter->jwks_done = 1;
    }

    err[0] = '\0';
    ks = NULL;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ngx_snprintf((u_char *) err, sizeof(err) - 1, "status %i%Z", rc);

    } else if (rc != NGX_OK && rc != NGX_DONE) {
        ngx_snprintf((u_char *) err, sizeof(err) - 1, "subrequest failed%Z");

    } else if (fetch->status != NGX_HTTP_OK) {
        ngx_snprintf((u_char *) err, sizeof(err) - 1, "status %ui%Z",
                     fetch->status);

    } else if (fetch->in_file) {
        ngx_snprintf((u_char *) err, sizeof(err) - 1,
                     "response came as a file buffer: use "
                     "\"smart_jwks_file\" for local files, and "
                     "\"proxy_max_temp_file_size 0\" with proxy_pass%Z");

    } else if (fetch->overflow) {
        ngx_snprintf((u_char *) err, sizeof(err) - 1,
                     "response larger than %uz bytes%Z",
                     (size_t) SMART_JWKS_MAX_SIZE);

    } else {
        ks = smart_keyset_new();
        if (ks == NULL) {
            ngx_snprintf((u_char *) err, sizeof(err) - 1, "out of memory%Z");

        } else {
            n = smart_keyset_add_jwks(ks, (const char *) fetch->buf,
                                      fetch->len, err, sizeof(err));
            if (n <= 0) {
                if (n == 0) {
                    ngx_snprintf((u_char *) err, sizeof(err) - 1,
                                 "no usable signing key%Z");
                }

                smart_keyset_free(ks);
                ks = NULL;
            }
        }
    }

    if (ks == NULL) {
        st->failed = ngx_current_msec ? ngx_current_msec : 1;
        ngx_http_smart_count(NGX_HTTP_SMART_STAT_JWKS_FAILURE);
        ngx_http_smart_stamp(NGX_HTTP_SMART_STAT_JWKS_FAILED_TIME);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "smart: JWKS from \"%V\" refused: %s%s",
                      &fetch->src->uri, err,
                      st->keys ? "; keeping the last good key set" : "");
        return rc;
    }

    smart_keyset_free(st->keys);
    st->keys = ks;
    st->fetched = ngx_current_msec;
    st->failed = 0;
    st->gen = ngx_http_smart_jwks_shared_write(fetch->src->index,
                                               &fetch->src->uri, fetch->buf,
                                               fetch->len);
    ngx_http_smart_count(NGX_HTTP_SMART_STAT_JWKS_REFRESH);
    ngx_http_smart_stamp(NGX_HTTP_SMART_STAT_JWKS_OK_TIME);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "smart: JWKS from \"%V\" loaded: %uz keys",
                  &fetch->src->uri, ks->nkeys);

    return rc;
}


/*
 * Takes the key set another worker loaded (ngx_http_smart_jwks_shared.c):
 * parsed here, once per generation, and then as fresh as if fetched.  A
 * document that does not load (it did for the worker that published it)
 * leaves this worker's key set as it was.
 */

static void
ngx_http_smart_jwks_adopt(ngx_http_request_t *r,
    ngx_http_smart_jwks_src_t *src, ngx_http_smart_jwks_state_t *st)
{
    int                 n;
    char                err[256];
    u_char             *buf;
    size_t              len;
    smart_keyset_t     *ks;
    ngx_atomic_uint_t   gen;

    buf = ngx_alloc(SMART_JWKS_MAX_SIZE, r->connection->log);
    if (buf == NULL) {
        return;
    }

    ks = NULL;

    if (ngx_http_smart_jwks_shared_read(src->index, &src->uri, st->gen, buf,
                                        &len, &gen)
        == NGX_OK)
    {
        ks = smart_keyset_new();

        if (ks != NULL) {
            n = smart_keyset_add_jwks(ks, (const char *) buf, len, err,
                                      sizeof(err));
            if (n <= 0) {
                smart_keyset_free(ks);
                ks = NULL;
            }
        }
    }

    ngx_free(buf);

    if (ks == NULL) {
        return;
    }

    smart_keyset_free(st->keys);
    st->keys = ks;
    st->gen = gen;
    st->fetched = ngx_current_msec;
    st->failed = 0;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "smart: JWKS from \"%V\" taken from another worker: "
                  "%uz keys", &src->uri, ks->nkeys);
}


/* Header filter part for JWKS subrequests: keep the status, send nothing. */

ngx_int_t
ngx_http_smart_jwks_capture_header(ngx_http_request_t *r)
{
    ngx_http_smart_jwks_fetch_t  *fetch;

    fetch = ngx_http_get_module_ctx(r, ngx_http_smart_module);

    fetch->status = r->headers_out.status;
    r->header_sent = 1;

    /*
     * A cached answer (proxy_cache on the JWKS location) is a file buffer:
     * NGINX's copy filter, above this one, reads it into memory, as it does
     * for any response without sendfile (asynchronously with "aio
     * threads"); bounded by SMART_JWKS_MAX_SIZE, once per refresh.
     */

    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/* Body filter part for JWKS subrequests: copy into a bounded buffer. */

ngx_int_t
ngx_http_smart_jwks_capture_body(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                        n;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_http_smart_jwks_fetch_t  *fetch;

    fetch = ngx_http_get_module_ctx(r, ngx_http_smart_module);

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (b->in_file && !ngx_buf_in_memory(b)) {
            fetch->in_file = 1;
            b->file_pos = b->file_last;
            continue;
        }

        if (!ngx_buf_in_memory(b)) {
            continue;
        }

        n = (size_t) (b->last - b->pos);

        if (n > 0 && !fetch->overflow) {
            if (fetch->len + n > SMART_JWKS_MAX_SIZE) {
                fetch->overflow = 1;

            } else {
                if (fetch->buf == NULL) {
                    fetch->buf = ngx_pnalloc(r->pool, SMART_JWKS_MAX_SIZE);
                    if (fetch->buf == NULL) {
                        return NGX_ERROR;
                    }
                }

                ngx_memcpy(fetch->buf + fetch->len, b->pos, n);
                fetch->len += n;
            }
        }

        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    return NGX_OK;
}


static void
ngx_http_smart_jwks_wait(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx)
{
    if (!ctx->waiting) {
        ctx->waiting = 1;
        ctx->wait_start = ngx_current_msec;
    }

    ctx->wait.handler = ngx_http_smart_jwks_wait_handler;
    ctx->wait.data = r;
    ctx->wait.log = r->connection->log;

    r->read_event_handler = ngx_http_test_reading;

    ngx_add_timer(&ctx->wait, NGX_HTTP_SMART_JWKS_POLL);
}


static void
ngx_http_smart_jwks_wait_handler(ngx_event_t *ev)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}
