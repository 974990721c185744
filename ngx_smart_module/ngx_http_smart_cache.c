
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: shared-memory cache of verified tokens.
 *
 * Key: SHA-256 over the location's policy fingerprint and the token, so an
 * entry made under one set of keys, issuers and audiences is never a hit
 * under another.  Value: the claims the module uses.  Entries are dropped at
 * exp (a hit is still time-checked by the caller with the current leeway)
 * and least recently used entries make room when the zone is full.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_cache.h"

#include <openssl/evp.h>


#define NGX_HTTP_SMART_CACHE_NSTR  7


typedef struct {
    ngx_rbtree_node_t               node;
    ngx_queue_t                     queue;
    u_char                          key[NGX_HTTP_SMART_FP_LEN];
    time_t                          exp;
    time_t                          nbf;
    time_t                          iat;
    u_short                         len[NGX_HTTP_SMART_CACHE_NSTR];
    u_char                          present;    /* bit per string */
    u_char                          data[1];
} ngx_http_smart_cache_node_t;


typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     lru;
} ngx_http_smart_cache_sh_t;


typedef struct {
    ngx_http_smart_cache_sh_t      *sh;
    ngx_slab_pool_t                *shpool;
} ngx_http_smart_cache_t;


static ngx_int_t ngx_http_smart_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_smart_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_smart_cache_node_t *ngx_http_smart_cache_find(
    ngx_http_smart_cache_t *cache, u_char *key);
static void ngx_http_smart_cache_delete(ngx_http_smart_cache_t *cache,
    ngx_http_smart_cache_node_t *cn);
static void ngx_http_smart_cache_expire(ngx_http_smart_cache_t *cache,
    ngx_uint_t n);
static ngx_str_t *ngx_http_smart_cache_field(ngx_http_smart_claims_t *claims,
    ngx_uint_t i);


char *
ngx_http_smart_token_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_smart_main_conf_t *smcf = conf;

    ssize_t                  size;
    ngx_str_t               *value;
    ngx_http_smart_cache_t  *cache;

    if (smcf->cache_zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") == 0) {
            return NGX_CONF_OK;
        }

        return "takes \"off\" or a zone name and a size";
    }

    if (value[1].len == 0) {
        return "takes a non-empty zone name";
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_token_cache\": zone \"%V\" is too small "
                           "(at least %uz bytes)", &value[1],
                           8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_smart_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->cache_zone = ngx_shared_memory_add(cf, &value[1], (size_t) size,
                                             &ngx_http_smart_module);
    if (smcf->cache_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->cache_zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"smart_token_cache\": zone \"%V\" is already "
                           "in use", &value[1]);
        return NGX_CONF_ERROR;
    }

    smcf->cache_zone->init = ngx_http_smart_cache_init_zone;
    smcf->cache_zone->data = cache;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_smart_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_smart_cache_t  *ocache = data;

    size_t                   len;
    ngx_http_smart_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache != NULL) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_smart_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_smart_cache_insert_value);
    ngx_queue_init(&cache->sh->lru);

    len = sizeof(" in smart_token_cache zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in smart_token_cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_smart_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_smart_cache_node_t   *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            cn = (ngx_http_smart_cache_node_t *) node;
            cnt = (ngx_http_smart_cache_node_t *) temp;

            p = (ngx_memcmp(cn->key, cnt->key, NGX_HTTP_SMART_FP_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


void
ngx_http_smart_cache_key(ngx_http_smart_loc_conf_t *slcf, ngx_str_t *token,
    u_char *key)
{
    unsigned int        n;
    static EVP_MD      *sha256;
    static EVP_MD_CTX  *md;

    /*
     * One digest context and one fetched SHA-256 per worker, reused: the hot
     * path neither allocates nor asks the OpenSSL 3 providers again.
     */

    if (md == NULL) {
        md = EVP_MD_CTX_new();
    }

    if (sha256 == NULL) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    }

    n = NGX_HTTP_SMART_FP_LEN;

    if (md == NULL || sha256 == NULL
        || EVP_DigestInit_ex(md, sha256, NULL) != 1
        || EVP_DigestUpdate(md, slcf->fp, NGX_HTTP_SMART_FP_LEN) != 1
        || EVP_DigestUpdate(md, token->data, token->len) != 1
        || EVP_DigestFinal_ex(md, key, &n) != 1)
    {
        /* an all-zero key is never stored (see put), so this is a miss */
        ngx_memzero(key, NGX_HTTP_SMART_FP_LEN);
    }
}


static ngx_uint_t
ngx_http_smart_cache_key_valid(u_char *key)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_SMART_FP_LEN; i++) {
        if (key[i] != 0) {
            return 1;
        }
    }

    return 0;
}


static ngx_http_smart_cache_node_t *
ngx_http_smart_cache_find(ngx_http_smart_cache_t *cache, u_char *key)
{
    ngx_int_t                     rc;
    ngx_rbtree_key_t              hash;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_smart_cache_node_t  *cn;

    ngx_memcpy(&hash, key, sizeof(ngx_rbtree_key_t));

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_smart_cache_node_t *) node;

        rc = ngx_memcmp(key, cn->key, NGX_HTTP_SMART_FP_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_str_t *
ngx_http_smart_cache_field(ngx_http_smart_claims_t *claims, ngx_uint_t i)
{
    switch (i) {
    case 0:
        return &claims->iss;
    case 1:
        return &claims->sub;
    case 2:
        return &claims->client_id;
    case 3:
        return &claims->patient;
    case 4:
        return &claims->fhir_user;
    case 5:
        return &claims->scope;
    default:
        return &claims->jti;
    }
}


/* NGX_OK: hit, claims filled from the request pool; NGX_DECLINED: miss. */

ngx_int_t
ngx_http_smart_cache_get(ngx_http_request_t *r, u_char *key,
    ngx_http_smart_claims_t *claims)
{
    u_char                       *p, *src;
    size_t                        total;
    ngx_str_t                    *s;
    ngx_uint_t                    i;
    ngx_http_smart_cache_t       *cache;
    ngx_http_smart_main_conf_t   *smcf;
    ngx_http_smart_cache_node_t  *cn;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);

    if (smcf->cache_zone == NULL || !ngx_http_smart_cache_key_valid(key)) {
        return NGX_DECLINED;
    }

    cache = smcf->cache_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_smart_cache_find(cache, key);

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    if (cn->exp <= ngx_time()) {
        ngx_http_smart_cache_delete(cache, cn);
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&cache->sh->lru, &cn->queue);

    total = 0;
    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        total += cn->len[i];
    }

    /* each claim NUL-terminated, as the core expects C strings */

    p = ngx_pnalloc(r->pool, total + NGX_HTTP_SMART_CACHE_NSTR);
    if (p == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    claims->exp = cn->exp;
    claims->nbf = cn->nbf;
    claims->iat = cn->iat;

    src = cn->data;
    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        if (cn->present & (1u << i)) {
            s->data = p;
            s->len = cn->len[i];
            p = ngx_cpymem(p, src, cn->len[i]);
            *p++ = '\0';

        } else {
            s->data = NULL;
            s->len = 0;
        }

        src += cn->len[i];
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_smart_cache_put(ngx_http_request_t *r, u_char *key,
    ngx_http_smart_claims_t *claims)
{
    u_char                       *p;
    size_t                        size;
    ngx_str_t                    *s;
    ngx_uint_t                    i, tries;
    ngx_http_smart_cache_t       *cache;
    ngx_http_smart_main_conf_t   *smcf;
    ngx_http_smart_cache_node_t  *cn;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_smart_module);

    if (smcf->cache_zone == NULL || !ngx_http_smart_cache_key_valid(key)
        || claims->exp <= ngx_time())
    {
        return;
    }

    size = offsetof(ngx_http_smart_cache_node_t, data);

    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        if (s->len > 0xffff) {
            return;     /* such a token is verified on every request */
        }

        size += s->len;
    }

    cache = smcf->cache_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (ngx_http_smart_cache_find(cache, key) != NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    ngx_http_smart_cache_expire(cache, 2);

    cn = NULL;

    for (tries = 0; tries < 64; tries++) {
        cn = ngx_slab_alloc_locked(cache->shpool, size);
        if (cn != NULL || ngx_queue_empty(&cache->sh->lru)) {
            break;
        }

        /* full: the least recently used entries make room */
        ngx_http_smart_cache_delete(cache,
                     ngx_queue_data(ngx_queue_last(&cache->sh->lru),
                                    ngx_http_smart_cache_node_t, queue));
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "smart: token cache entry of %uz bytes does not fit",
                      size);
        return;
    }

    ngx_memcpy(cn->key, key, NGX_HTTP_SMART_FP_LEN);
    ngx_memcpy(&cn->node.key, key, sizeof(ngx_rbtree_key_t));
    cn->exp = claims->exp;
    cn->nbf = claims->nbf;
    cn->iat = claims->iat;
    cn->present = 0;

    p = cn->data;
    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        cn->len[i] = (u_short) s->len;

        if (s->data != NULL) {
            cn->present |= (u_char) (1u << i);
            p = ngx_cpymem(p, s->data, s->len);
        }
    }

    ngx_rbtree_insert(&cache->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&cache->sh->lru, &cn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static void
ngx_http_smart_cache_delete(ngx_http_smart_cache_t *cache,
    ngx_http_smart_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
    ngx_slab_free_locked(cache->shpool, cn);
}


/* Drops up to n expired entries from the cold end of the LRU list. */

static void
ngx_http_smart_cache_expire(ngx_http_smart_cache_t *cache, ngx_uint_t n)
{
    time_t                        now;
    ngx_queue_t                  *q;
    ngx_http_smart_cache_node_t  *cn;

    now = ngx_time();

    while (n-- > 0 && !ngx_queue_empty(&cache->sh->lru)) {
        q = ngx_queue_last(&cache->sh->lru);
        cn = ngx_queue_data(q, ngx_http_smart_cache_node_t, queue);

        if (cn->exp > now) {
            return;
        }

        ngx_http_smart_cache_delete(cache, cn);
    }
}


/*
 * Per-worker memo in front of the shared cache.
 *
 * A hit in the shared cache costs a SHA-256 of the whole token, the zone
 * lock and a copy; most requests of a worker repeat the same few tokens.
 * The memo keeps the last tokens this worker saw verified or found in the
 * shared cache, keyed by the policy fingerprint and the token's exact
 * bytes (compared in full, so a forged token can only miss), with the
 * claims the shared entry holds.  It is consulted only where the shared
 * cache is configured, and its entries obey the same expiry: an entry at
 * or past exp is a miss, and the caller time-checks a hit as any other.
 * Slots are chosen by the token's last bytes (its signature); a collision
 * only replaces the slot.  Bounded: NGX_HTTP_SMART_MEMO_SLOTS entries of at
 * most NGX_HTTP_SMART_MEMO_MAX bytes each, larger tokens are not kept.
 */

#define NGX_HTTP_SMART_MEMO_SLOTS   32
#define NGX_HTTP_SMART_MEMO_MAX     8192


typedef struct {
    u_char                          fp[NGX_HTTP_SMART_FP_LEN];
    time_t                          exp;
    time_t                          nbf;
    time_t                          iat;
    size_t                          token_len;
    size_t                          claims_len;     /* incl. the NULs */
    u_short                         len[NGX_HTTP_SMART_CACHE_NSTR];
    u_char                          present;
    u_char                         *data;           /* token, claims */
} ngx_http_smart_memo_t;


static ngx_http_smart_memo_t  ngx_http_smart_memo[NGX_HTTP_SMART_MEMO_SLOTS];


static ngx_uint_t
ngx_http_smart_memo_slot(ngx_str_t *token)
{
    ngx_uint_t  h, i, n;

    h = token->len;
    n = ngx_min(token->len, 8);

    for (i = token->len - n; i < token->len; i++) {
        h = h * 31 + token->data[i];
    }

    return h % NGX_HTTP_SMART_MEMO_SLOTS;
}


/* NGX_OK: claims filled from the request pool; NGX_DECLINED: miss. */

ngx_int_t
ngx_http_smart_memo_get(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_str_t *token,
    ngx_http_smart_claims_t *claims)
{
    u_char                 *p, *src;
    ngx_str_t              *s;
    ngx_uint_t              i;
    ngx_http_smart_memo_t  *m;

    if (token->len == 0) {
        return NGX_DECLINED;
    }

    m = &ngx_http_smart_memo[ngx_http_smart_memo_slot(token)];

    if (m->data == NULL || m->token_len != token->len
        || m->exp <= ngx_time()
        || ngx_memcmp(m->fp, slcf->fp, NGX_HTTP_SMART_FP_LEN) != 0
        || ngx_memcmp(m->data, token->data, token->len) != 0)
    {
        return NGX_DECLINED;
    }

    /* the request's own copy: the slot may be replaced while it runs */

    p = ngx_pnalloc(r->pool, m->claims_len);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    ngx_memcpy(p, m->data + m->token_len, m->claims_len);

    claims->exp = m->exp;
    claims->nbf = m->nbf;
    claims->iat = m->iat;

    src = p;
    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        if (m->present & (1u << i)) {
            s->data = src;
            s->len = m->len[i];

        } else {
            s->data = NULL;
            s->len = 0;
        }

        src += m->len[i] + 1;       /* each value NUL-terminated */
    }

    return NGX_OK;
}


void
ngx_http_smart_memo_put(ngx_http_smart_loc_conf_t *slcf, ngx_str_t *token,
    ngx_http_smart_claims_t *claims)
{
    u_char                 *p, *data;
    size_t                  size, claims_len;
    ngx_str_t              *s;
    ngx_uint_t              i;
    ngx_http_smart_memo_t  *m;

    if (token->len == 0 || claims->exp <= ngx_time()) {
        return;
    }

    claims_len = 0;

    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        if (s->len > 0xffff) {
            return;
        }

        claims_len += s->len + 1;
    }

    size = token->len + claims_len;

    if (size > NGX_HTTP_SMART_MEMO_MAX) {
        return;
    }

    m = &ngx_http_smart_memo[ngx_http_smart_memo_slot(token)];

    data = ngx_alloc(size, ngx_cycle->log);
    if (data == NULL) {
        return;             /* the shared cache still has it */
    }

    if (m->data != NULL) {
        ngx_free(m->data);
    }

    p = ngx_cpymem(data, token->data, token->len);

    m->present = 0;

    for (i = 0; i < NGX_HTTP_SMART_CACHE_NSTR; i++) {
        s = ngx_http_smart_cache_field(claims, i);

        m->len[i] = (u_short) s->len;

        if (s->data != NULL) {
            m->present |= (u_char) (1u << i);
            p = ngx_cpymem(p, s->data, s->len);
        }

        *p++ = '\0';
    }

    ngx_memcpy(m->fp, slcf->fp, NGX_HTTP_SMART_FP_LEN);
    m->exp = claims->exp;
    m->nbf = claims->nbf;
    m->iat = claims->iat;
    m->token_len = token->len;
    m->claims_len = claims_len;
    m->data = data;
}


/*
 * Per-worker compiled scope sets, keyed by the exact scope claim: many
 * tokens (and every request of one token) carry the same claim, and
 * compiling it is a pure function of its bytes.  A set returned from here
 * is read-only and valid until the next call (the caller uses it at once);
 * one the memo cannot keep (too long) is the caller's to free.
 */

#define NGX_HTTP_SMART_SCOPES_SLOTS  16
#define NGX_HTTP_SMART_SCOPES_MAX    2048        /* bytes of a claim kept */


typedef struct {
    u_char                         *text;
    size_t                          len;
    smart_scope_set_t              *set;
    ngx_uint_t                      used;           /* tick of last use */
} ngx_http_smart_scopes_t;


static ngx_http_smart_scopes_t  ngx_http_smart_scopes_memo[
                                    NGX_HTTP_SMART_SCOPES_SLOTS];
static ngx_uint_t               ngx_http_smart_scopes_tick;


smart_scope_set_t *
ngx_http_smart_scopes_get(ngx_str_t *scope, ngx_uint_t *owned)
{
    u_char                   *text;
    ngx_uint_t                i, old;
    smart_scope_set_t        *set;
    ngx_http_smart_scopes_t  *sc;

    *owned = 0;
    ngx_http_smart_scopes_tick++;
    old = 0;

    for (i = 0; i < NGX_HTTP_SMART_SCOPES_SLOTS; i++) {
        sc = &ngx_http_smart_scopes_memo[i];

        if (sc->set != NULL && sc->len == scope->len
            && ngx_memcmp(sc->text, scope->data, scope->len) == 0)
        {
            sc->used = ngx_http_smart_scopes_tick;
            return sc->set;
        }

        if (sc->used < ngx_http_smart_scopes_memo[old].used) {
            old = i;
        }
    }

    set = smart_scope_parse((const char *) scope->data, scope->len);
    if (set == NULL) {
        return NULL;
    }

    if (scope->len > NGX_HTTP_SMART_SCOPES_MAX) {
        *owned = 1;
        return set;
    }

    text = ngx_alloc(scope->len + 1, ngx_cycle->log);
    if (text == NULL) {
        *owned = 1;
        return set;
    }

    ngx_memcpy(text, scope->data, scope->len);

    sc = &ngx_http_smart_scopes_memo[old];

    if (sc->set != NULL) {
        smart_scope_set_free(sc->set);
        ngx_free(sc->text);
    }

    sc->text = text;
    sc->len = scope->len;
    sc->set = set;
    sc->used = ngx_http_smart_scopes_tick;

    return set;
}
