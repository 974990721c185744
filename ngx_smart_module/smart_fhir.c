
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: FHIR REST request classification.
 *
 * The rules are in smart_fhir.h and docs/classifier.md.  This file holds
 * the public functions, the classification step by step (the method and
 * the path in smart_fhir_path.c, the parameters in smart_fhir_query.c) and
 * the result's memory: everything a result points to lives in a chain of
 * malloc() blocks owned by the result, so one smart_fhir_req_free()
 * releases it all.  Plain C: no NGINX headers.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_fhir_private.h"


#define SMART_FHIR_ALIGN      16


struct smart_fhir_blk_s {
    smart_fhir_blk_t   *next;
    size_t              size;       /* usable bytes after the header */
    size_t              used;
};

/* header size rounded up so that block data stays aligned */
#define SMART_FHIR_BLK_HDR                                                    \
    ((sizeof(smart_fhir_blk_t) + SMART_FHIR_ALIGN - 1)                        \
     & ~(size_t) (SMART_FHIR_ALIGN - 1))

/*
 * A block is a 1 KiB malloc(), a size glibc serves from its per-thread
 * cache (larger ones take its slower path, which also consolidates free
 * chunks): a plain read fits in the first block; the params and _type
 * arrays are made only when there are parameters, and grown as needed.
 */
#define SMART_FHIR_BLOCK      (1024 - SMART_FHIR_BLK_HDR)


static void smart_fhir_free_blocks(smart_fhir_blk_t *b);
static smart_fhir_status_e smart_fhir_invalid_result(smart_fhir_ctx_t *ctx,
    smart_fhir_req_t **out);


static const char *smart_fhir_interaction_names[] = {
    "none",
    "capabilities",
    "read",
    "vread",
    "history-instance",
    "history-type",
    "history-system",
    "search-type",
    "search-system",
    "search-compartment",
    "create",
    "update",
    "patch",
    "delete",
    "batch-or-transaction",
    "operation",
    "batch",
    "transaction"
};


static const char *smart_fhir_reason_names[] = {
    "ok",
    "method-override",
    "method",
    "path-too-long",
    "path-percent",
    "path-backslash",
    "path-semicolon",
    "path-char",
    "path-empty-segment",
    "path-dot-segment",
    "path-shape",
    "method-not-allowed",
    "unknown-type",
    "bad-id",
    "bad-operation",
    "compartment",
    "conditional",
    "query-char",
    "query-encoding",
    "query-limit",
    "param-name",
    "param-value",
    "body-not-form",
    "query-question-mark",
    "if-none-exist",
    "header-repeated",
    "body-encoded",
    "body-unexpected"
};


const char *
smart_fhir_interaction_name(smart_fhir_interaction_e i)
{
    if ((size_t) i >= sizeof(smart_fhir_interaction_names)
                      / sizeof(smart_fhir_interaction_names[0]))
    {
        return "none";
    }

    return smart_fhir_interaction_names[i];
}


const char *
smart_fhir_reason_name(smart_fhir_reason_e r)
{
    if ((size_t) r >= sizeof(smart_fhir_reason_names)
                      / sizeof(smart_fhir_reason_names[0]))
    {
        return "unknown";
    }

    return smart_fhir_reason_names[r];
}


int
smart_fhir_valid_id(const char *s, size_t len)
{
    size_t  i, dots;

    if (s == NULL || len == 0 || len > SMART_FHIR_MAX_ID) {
        return 0;
    }

    dots = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c == '.') {
            dots++;
            continue;
        }

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-'))
        {
            return 0;
        }
    }

    /* "." and ".." are dot-segments; no id is made of dots only */
    return dots != len;
}


const smart_fhir_cparam_t *
smart_fhir_compartment_param(int type, const char *name, size_t len)
{
    size_t                      i;
    const smart_fhir_type_t    *t;

    if (type < 0 || type >= SMART_FHIR_NTYPES || name == NULL) {
        return NULL;
    }

    t = &smart_fhir_types[type];

    for (i = 0; i < t->ncparams; i++) {
        if (strlen(t->cparams[i].name) == len
            && memcmp(t->cparams[i].name, name, len) == 0)
        {
            return &t->cparams[i];
        }
    }

    return NULL;
}


/*
 * The element of the sorted array base[0..n), each size bytes and
 * beginning with its name (a const char *: the first member of a table
 * struct, or the string of a code list), called exactly name[0..len), or
 * NULL.  The one binary search of the generated tables' sorted lists
 * (byte order, as gen-fhir-tables sorts them).
 */
static const void *
smart_fhir_find(const void *base, size_t n, size_t size, const char *name,
    size_t len)
{
    int          cmp;
    size_t       lo, hi, mid, k, plen;
    const char  *e, *p;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        e = (const char *) base + mid * size;
        p = *(const char *const *) (const void *) e;
        plen = strlen(p);
        k = plen < len ? plen : len;
        cmp = memcmp(name, p, k);

        if (cmp == 0) {
            if (plen == len) {
                return e;
            }
            cmp = len < plen ? -1 : 1;
        }

        if (cmp < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


const smart_fhir_refparam_t *
smart_fhir_reference_param(int type, const char *name, size_t len)
{
    const smart_fhir_type_t  *t;

    if (type < 0 || type >= SMART_FHIR_NTYPES || name == NULL) {
        return NULL;
    }

    t = &smart_fhir_types[type];

    return smart_fhir_find(t->refparams, t->nrefparams,
                           sizeof(smart_fhir_refparam_t), name, len);
}


const smart_fhir_tokparam_t *
smart_fhir_token_param(int type, const char *name, size_t len)
{
    const smart_fhir_tokparams_t  *l;
    const smart_fhir_tokparam_t   *tp;

    if (type < 0 || type >= SMART_FHIR_NTYPES || name == NULL) {
        return NULL;
    }

    l = &smart_fhir_token_params[type];
    tp = smart_fhir_find(l->params, l->n, sizeof(smart_fhir_tokparam_t), name,
                         len);

    if (tp == NULL) {
        l = &smart_fhir_common_token_params;
        tp = smart_fhir_find(l->params, l->n, sizeof(smart_fhir_tokparam_t),
                             name, len);
    }

    return tp;
}


static int
smart_fhir_codes_have(const smart_fhir_codes_t *c, const char *name,
    size_t len)
{
    return smart_fhir_find(c->names, c->n, sizeof(const char *), name, len)
           != NULL;
}


int
smart_fhir_param_defined(int type, const char *name, size_t len)
{
    int  t;

    if (name == NULL || len == 0 || type >= SMART_FHIR_NTYPES) {
        return 0;
    }

    if (smart_fhir_codes_have(&smart_fhir_common_params, name, len)) {
        return 1;
    }

    if (type >= 0) {
        return smart_fhir_codes_have(&smart_fhir_search_params[type], name,
                                     len);
    }

    for (t = 0; t < SMART_FHIR_NTYPES; t++) {
        if (smart_fhir_codes_have(&smart_fhir_search_params[t], name, len)) {
            return 1;
        }
    }

    return 0;
}


const smart_fhir_param_t *
smart_fhir_find_param(const smart_fhir_req_t *req, const char *name)
{
    size_t  i;

    if (req == NULL || name == NULL) {
        return NULL;
    }

    for (i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, name) == 0) {
            return &req->params[i];
        }
    }

    return NULL;
}


void
smart_fhir_req_free(smart_fhir_req_t *req)
{
    if (req == NULL) {
        return;
    }

    /* req itself lives in the first block */
    smart_fhir_free_blocks(req->arena);
}


smart_fhir_status_e
smart_fhir_classify(const smart_fhir_input_t *in, smart_fhir_req_t **out)
{
    smart_fhir_ctx_t    ctx;
    smart_fhir_req_t   *req;

    if (out == NULL) {
        return SMART_FHIR_NOMEM;
    }

    *out = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.in = in;

    req = smart_fhir_alloc(&ctx, sizeof(smart_fhir_req_t));

    if (req == NULL) {
        smart_fhir_free_blocks(ctx.blocks);
        return SMART_FHIR_NOMEM;
    }

    memset(req, 0, sizeof(smart_fhir_req_t));
    req->type = -1;
    req->compartment_type = -1;
    ctx.req = req;

    if (in == NULL) {
        smart_fhir_fail(&ctx, SMART_FHIR_R_METHOD, "no request");
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (in->method_override) {
        smart_fhir_fail(&ctx, SMART_FHIR_R_METHOD_OVERRIDE,
                        "X-HTTP-Method-Override is not accepted");
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (smart_fhir_method(&ctx) != 0
        || smart_fhir_path(&ctx) != 0
        || smart_fhir_framing(&ctx) != 0
        || smart_fhir_parameters(&ctx) != 0
        || smart_fhir_conditional(&ctx) != 0)
    {
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (ctx.nomem) {
        smart_fhir_free_blocks(ctx.blocks);
        return SMART_FHIR_NOMEM;
    }

    req->status = SMART_FHIR_OK;
    req->reason = SMART_FHIR_R_NONE;
    req->detail = "ok";
    req->params = ctx.params;
    req->nparams = ctx.nparams;
    req->types = ctx.ntypes > 0 ? ctx.types : NULL;
    req->ntypes = ctx.ntypes;
    req->arena = ctx.blocks;

    *out = req;

    return SMART_FHIR_OK;
}


/*
 * Replaces whatever was built by a fresh result that carries only the
 * status, the reason and the method, so that no caller can act on half a
 * classification.
 */
static smart_fhir_status_e
smart_fhir_invalid_result(smart_fhir_ctx_t *ctx, smart_fhir_req_t **out)
{
    int                   head;
    smart_fhir_ctx_t      fresh;
    smart_fhir_req_t     *req;
    smart_fhir_method_e   method;

    method = ctx->req->method;
    head = ctx->req->head;

    if (ctx->nomem) {
        smart_fhir_free_blocks(ctx->blocks);
        return SMART_FHIR_NOMEM;
    }

    smart_fhir_free_blocks(ctx->blocks);

    memset(&fresh, 0, sizeof(fresh));

    req = smart_fhir_alloc(&fresh, sizeof(smart_fhir_req_t));
    if (req == NULL) {
        return SMART_FHIR_NOMEM;
    }

    memset(req, 0, sizeof(smart_fhir_req_t));
    req->status = SMART_FHIR_INVALID;
    req->reason = ctx->reason;
    req->detail = ctx->detail;
    req->method = method;
    req->head = head;
    req->interaction = SMART_FHIR_I_NONE;
    req->type = -1;
    req->compartment_type = -1;
    req->arena = fresh.blocks;

    *out = req;

    return SMART_FHIR_INVALID;
}


/* --- memory ------------------------------------------------------------- */

void *
smart_fhir_alloc(smart_fhir_ctx_t *ctx, size_t size)
{
    size_t              cap;
    unsigned char      *p;
    smart_fhir_blk_t   *b;

    if (ctx->nomem) {
        return NULL;
    }

    if (size > SMART_FHIR_MAX_INPUT * 16) {
        ctx->nomem = 1;
        return NULL;
    }

    size = (size + SMART_FHIR_ALIGN - 1) & ~(size_t) (SMART_FHIR_ALIGN - 1);
    b = ctx->blocks;

    if (b == NULL || b->size - b->used < size) {
        cap = size > SMART_FHIR_BLOCK ? size : SMART_FHIR_BLOCK;

        b = malloc(SMART_FHIR_BLK_HDR + cap);
        if (b == NULL) {
            ctx->nomem = 1;
            return NULL;
        }

        b->size = cap;
        b->used = 0;

        /*
         * Allocation continues from the head block; a new block that is
         * left with less room than the head (one large piece) goes behind
         * it, so small pieces keep filling the head.
         */
        if (ctx->blocks == NULL
            || ctx->blocks->size - ctx->blocks->used < cap - size)
        {
            b->next = ctx->blocks;
            ctx->blocks = b;

        } else {
            b->next = ctx->blocks->next;
            ctx->blocks->next = b;
        }
    }

    p = (unsigned char *) b + SMART_FHIR_BLK_HDR + b->used;
    b->used += size;

    return p;
}


char *
smart_fhir_strdup(smart_fhir_ctx_t *ctx, const char *s, size_t len)
{
    char  *p;

    p = smart_fhir_alloc(ctx, len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (len > 0) {
        memcpy(p, s, len);
    }

    p[len] = '\0';

    return p;
}


static void
smart_fhir_free_blocks(smart_fhir_blk_t *b)
{
    smart_fhir_blk_t  *next;

    while (b != NULL) {
        next = b->next;
        free(b);
        b = next;
    }
}


int
smart_fhir_fail(smart_fhir_ctx_t *ctx, smart_fhir_reason_e r,
    const char *detail)
{
    if (ctx->reason == SMART_FHIR_R_NONE) {
        ctx->reason = r;
        ctx->detail = detail;
    }

    return -1;
}

