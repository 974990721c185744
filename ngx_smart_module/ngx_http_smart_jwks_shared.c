
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the IdP's key sets shared by all workers.
 *
 * A worker that fetched a JWKS by subrequest and loaded it publishes the
 * document here; the other workers take it from here (and parse it
 * themselves, once per generation) instead of fetching it again, and a
 * periodic refresh is made by the one worker holding the source's lease.
 * So the IdP is asked once per refresh period, whatever the number of
 * workers.
 *
 * One slot per source, keyed by the source's URI as well as its index:
 * after a reload the old workers may still write into the same zone, and a
 * document is only ever read for the URI it came from.  A slot is written
 * under a spinlock and read as a sequence lock: an odd generation is a
 * write in progress, a generation that changed during the copy is read
 * again later.
 */

#include "ngx_http_smart_jwks_shared.h"


#define NGX_HTTP_SMART_JWKS_URI_MAX  1024


typedef struct {
    ngx_atomic_t                lock;       /* writers */
    ngx_atomic_t                gen;        /* odd: being written */
    ngx_atomic_t                lease;      /* fetching until (seconds) */
    size_t                      uri_len;
    u_char                      uri[NGX_HTTP_SMART_JWKS_URI_MAX];
    size_t                      len;
    u_char                      doc[SMART_JWKS_MAX_SIZE];
} ngx_http_smart_jwks_slot_t;


static ngx_int_t ngx_http_smart_jwks_shared_init(ngx_shm_zone_t *zone,
    void *data);


static ngx_http_smart_jwks_slot_t  *ngx_http_smart_jwks_slots;
static ngx_uint_t                   ngx_http_smart_jwks_nslots;


ngx_int_t
ngx_http_smart_jwks_shared_zone(ngx_conf_t *cf, ngx_uint_t n)
{
    size_t           size;
    ngx_shm_zone_t  *zone;

    static ngx_str_t  name = ngx_string("ngx_http_smart_jwks");

    ngx_http_smart_jwks_slots = NULL;
    ngx_http_smart_jwks_nslots = 0;

    if (n == 0) {
        return NGX_OK;
    }

    size = 8 * ngx_pagesize + n * sizeof(ngx_http_smart_jwks_slot_t);

    zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_smart_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_smart_jwks_shared_init;
    zone->data = (void *) (uintptr_t) n;

    return NGX_OK;
}


/* A reload with the same sources keeps the zone and its documents; each
   is read only for the URI it came from. */

static ngx_int_t
ngx_http_smart_jwks_shared_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_uint_t        n;
    ngx_slab_pool_t  *shpool;

    n = (ngx_uint_t) (uintptr_t) zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists && shpool->data != NULL) {
        ngx_http_smart_jwks_slots = shpool->data;

    } else {
        ngx_http_smart_jwks_slots = ngx_slab_calloc(shpool,
                                   n * sizeof(ngx_http_smart_jwks_slot_t));
        if (ngx_http_smart_jwks_slots == NULL) {
            return NGX_ERROR;
        }

        shpool->data = ngx_http_smart_jwks_slots;
    }

    ngx_http_smart_jwks_nslots = n;

    return NGX_OK;
}


static ngx_http_smart_jwks_slot_t *
ngx_http_smart_jwks_slot(ngx_uint_t i, ngx_str_t *uri)
{
    if (ngx_http_smart_jwks_slots == NULL || i >= ngx_http_smart_jwks_nslots
        || uri->len > NGX_HTTP_SMART_JWKS_URI_MAX)
    {
        return NULL;
    }

    return &ngx_http_smart_jwks_slots[i];
}


ngx_uint_t
ngx_http_smart_jwks_shared_newer(ngx_uint_t i, ngx_atomic_uint_t have)
{
    ngx_atomic_uint_t  g;

    if (ngx_http_smart_jwks_slots == NULL
        || i >= ngx_http_smart_jwks_nslots)
    {
        return 0;
    }

    g = ngx_http_smart_jwks_slots[i].gen;

    return g != 0 && g != have && !(g & 1);
}


ngx_int_t
ngx_http_smart_jwks_shared_read(ngx_uint_t i, ngx_str_t *uri,
    ngx_atomic_uint_t have, u_char *buf, size_t *len,
    ngx_atomic_uint_t *gen)
{
    size_t                       n;
    ngx_atomic_uint_t            g;
    ngx_http_smart_jwks_slot_t  *s;

    s = ngx_http_smart_jwks_slot(i, uri);
    if (s == NULL) {
        return NGX_DECLINED;
    }

    g = s->gen;

    if (g == 0 || g == have || (g & 1)) {
        return NGX_DECLINED;
    }

    ngx_memory_barrier();

    n = s->len;

    if (n > SMART_JWKS_MAX_SIZE || s->uri_len != uri->len
        || ngx_memcmp(s->uri, uri->data, uri->len) != 0)
    {
        return NGX_DECLINED;
    }

    ngx_memcpy(buf, s->doc, n);

    ngx_memory_barrier();

    if (s->gen != g) {
        /* written meanwhile: read again next time */
        return NGX_DECLINED;
    }

    *len = n;
    *gen = g;

    return NGX_OK;
}


ngx_atomic_uint_t
ngx_http_smart_jwks_shared_write(ngx_uint_t i, ngx_str_t *uri, u_char *doc,
    size_t len)
{
    ngx_atomic_uint_t            g;
    ngx_http_smart_jwks_slot_t  *s;

    s = ngx_http_smart_jwks_slot(i, uri);
    if (s == NULL || len > SMART_JWKS_MAX_SIZE) {
        return 0;
    }

    ngx_spinlock(&s->lock, ngx_pid, 1024);

    s->gen++;                       /* odd: readers stay away */
    ngx_memory_barrier();

    s->uri_len = uri->len;
    ngx_memcpy(s->uri, uri->data, uri->len);
    s->len = len;
    ngx_memcpy(s->doc, doc, len);

    ngx_memory_barrier();
    g = ++s->gen;

    ngx_unlock(&s->lock);

    return g;
}


ngx_uint_t
ngx_http_smart_jwks_shared_lease(ngx_uint_t i, time_t secs)
{
    time_t                       now;
    ngx_atomic_uint_t            old;
    ngx_http_smart_jwks_slot_t  *s;

    if (ngx_http_smart_jwks_slots == NULL
        || i >= ngx_http_smart_jwks_nslots)
    {
        return 1;
    }

    s = &ngx_http_smart_jwks_slots[i];
    now = ngx_time();
    old = s->lease;

    if ((time_t) old > now) {
        return 0;
    }

    return ngx_atomic_cmp_set(&s->lease, old,
                              (ngx_atomic_uint_t) (now + secs));
}


void
ngx_http_smart_jwks_shared_release(ngx_uint_t i)
{
    if (ngx_http_smart_jwks_slots != NULL
        && i < ngx_http_smart_jwks_nslots)
    {
        ngx_http_smart_jwks_slots[i].lease = 0;
    }
}
