
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the IdP's key sets shared by all workers
 * (ngx_http_smart_jwks_shared.c; docs/directives.md, smart_jwks_request).
 */

#ifndef _NGX_HTTP_SMART_JWKS_SHARED_H_INCLUDED_
#define _NGX_HTTP_SMART_JWKS_SHARED_H_INCLUDED_


#include "ngx_http_smart_module.h"


/* Configuration: the zone for n sources (postconfiguration). */
ngx_int_t ngx_http_smart_jwks_shared_zone(ngx_conf_t *cf, ngx_uint_t n);

/* 1 when source i has a shared document of another generation than have
   (cheap: one read). */
ngx_uint_t ngx_http_smart_jwks_shared_newer(ngx_uint_t i,
    ngx_atomic_uint_t have);

/*
 * Source i's shared document when it is newer than generation have and
 * is the document of uri: NGX_OK with a copy in buf (SMART_JWKS_MAX_SIZE
 * bytes), its length and generation; NGX_DECLINED otherwise.
 */
ngx_int_t ngx_http_smart_jwks_shared_read(ngx_uint_t i, ngx_str_t *uri,
    ngx_atomic_uint_t have, u_char *buf, size_t *len,
    ngx_atomic_uint_t *gen);

/* Publishes a document that loaded; returns its generation (0: none). */
ngx_atomic_uint_t ngx_http_smart_jwks_shared_write(ngx_uint_t i,
    ngx_str_t *uri, u_char *doc, size_t len);

/* The refresh lease of source i: 1 when this worker may fetch now (no
   other worker fetches, or its lease of `secs` ran out). */
ngx_uint_t ngx_http_smart_jwks_shared_lease(ngx_uint_t i, time_t secs);
void ngx_http_smart_jwks_shared_release(ngx_uint_t i);


#endif /* _NGX_HTTP_SMART_JWKS_SHARED_H_INCLUDED_ */
