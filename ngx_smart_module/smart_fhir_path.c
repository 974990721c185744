
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: FHIR REST request classification, the
 * method and the path (docs/classifier.md): the path's bytes are checked
 * before anything else, then its segments, then its shape gives the
 * interaction, the type, the ids and the operation.  Plain C: no NGINX
 * headers.
 */

#include <string.h>

#include "smart_fhir_private.h"


#define SMART_FHIR_MAX_SEGS   4


typedef struct {
    const char         *data;
    size_t              len;
} smart_fhir_seg_t;


static int smart_fhir_eq(const smart_fhir_seg_t *s, const char *lit);
static int smart_fhir_split_path(smart_fhir_ctx_t *ctx,
    smart_fhir_seg_t *segs, size_t *nsegs);
static int smart_fhir_valid_op(const smart_fhir_seg_t *s);
static int smart_fhir_shape(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_level_seg(const smart_fhir_seg_t *s);
static int smart_fhir_shape_level(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *s, smart_fhir_op_level_e level);
static int smart_fhir_shape_type(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_shape_instance(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_set_op(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *s, smart_fhir_op_level_e level);
static int smart_fhir_compartment(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);


static int
smart_fhir_eq(const smart_fhir_seg_t *s, const char *lit)
{
    size_t  n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}


int
smart_fhir_method(smart_fhir_ctx_t *ctx)
{
    size_t               i;
    smart_fhir_seg_t     m;
    smart_fhir_req_t    *req = ctx->req;

    static const struct {
        const char           *name;
        smart_fhir_method_e   method;
        int                   head;
    } methods[] = {
        { "GET",    SMART_FHIR_M_GET,    0 },
        { "HEAD",   SMART_FHIR_M_GET,    1 },
        { "POST",   SMART_FHIR_M_POST,   0 },
        { "PUT",    SMART_FHIR_M_PUT,    0 },
        { "PATCH",  SMART_FHIR_M_PATCH,  0 },
        { "DELETE", SMART_FHIR_M_DELETE, 0 }
    };

    m.data = ctx->in->method;
    m.len = ctx->in->method_len;

    if (m.data != NULL) {
        for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            if (smart_fhir_eq(&m, methods[i].name)) {
                req->method = methods[i].method;
                req->head = methods[i].head;
                return 0;
            }
        }
    }

    return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD, "method not supported");
}


int
smart_fhir_path(smart_fhir_ctx_t *ctx)
{
    size_t            nsegs;
    smart_fhir_seg_t  segs[SMART_FHIR_MAX_SEGS];

    if (smart_fhir_split_path(ctx, segs, &nsegs) != 0) {
        return -1;
    }

    return smart_fhir_shape(ctx, segs, nsegs);
}


static int
smart_fhir_split_path(smart_fhir_ctx_t *ctx, smart_fhir_seg_t *segs,
    size_t *nsegs)
{
    size_t        i, start, n, len, dots;
    const char   *p;

    p = ctx->in->path;
    len = ctx->in->path_len;
    *nsegs = 0;

    if (len > SMART_FHIR_MAX_PATH) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_TOO_LONG,
                               "path too long");
    }

    if (len > 0 && p == NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_CHAR, "no path");
    }

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '$' || c == '*' || c == '/')
        {
            continue;
        }

        if (c == '%') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_PERCENT,
                                   "percent-encoding in path");
        }

        if (c == '\\') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_BACKSLASH,
                                   "backslash in path");
        }

        if (c == ';') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SEMICOLON,
                                   "path parameter in path");
        }

        return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_CHAR,
                               "character not allowed in path");
    }

    if (len == 0) {
        return 0;
    }

    n = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] != '/') {
            continue;
        }

        if (i == start) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_EMPTY_SEGMENT,
                                   "empty path segment");
        }

        if (n < SMART_FHIR_MAX_SEGS) {
            segs[n].data = p + start;
            segs[n].len = i - start;
        }

        n++;
        start = i + 1;
    }

    /*
     * Segments made of dots only: "." and ".." are dot-segments that a
     * normaliser would resolve, longer ones are no FHIR name or id either.
     */
    dots = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] == '.') {
            dots++;
            continue;
        }

        if (i == len || p[i] == '/') {
            if (dots > 0 && (i == dots || p[i - dots - 1] == '/')) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_DOT_SEGMENT,
                                       "dot-segment in path");
            }
        }

        dots = 0;
    }

    if (n > SMART_FHIR_MAX_SEGS) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                               "too many path segments");
    }

    *nsegs = n;

    return 0;
}


static int
smart_fhir_valid_op(const smart_fhir_seg_t *s)
{
    size_t          i;
    unsigned char   c;

    /* "$" then [A-Za-z][A-Za-z0-9_-]{0,63} */
    if (s->len < 2 || s->len > SMART_FHIR_MAX_OP + 1 || s->data[0] != '$') {
        return 0;
    }

    for (i = 1; i < s->len; i++) {
        c = (unsigned char) s->data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
            continue;
        }

        if (i > 1 && ((c >= '0' && c <= '9') || c == '_' || c == '-')) {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
smart_fhir_set_op(smart_fhir_ctx_t *ctx, const smart_fhir_seg_t *s,
    smart_fhir_op_level_e level)
{
    smart_fhir_req_t  *req = ctx->req;

    if (!smart_fhir_valid_op(s)) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BAD_OPERATION,
                               "malformed operation name");
    }

    if (req->method != SMART_FHIR_M_GET && req->method != SMART_FHIR_M_POST) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                               "operations take GET or POST");
    }

    req->interaction = SMART_FHIR_I_OPERATION;
    req->op_level = level;
    req->operation = smart_fhir_strdup(ctx, s->data + 1, s->len - 1);

    return req->operation == NULL ? -1 : 0;
}


static int
smart_fhir_shape(smart_fhir_ctx_t *ctx, const smart_fhir_seg_t *segs,
    size_t n)
{
    smart_fhir_req_t  *req = ctx->req;

    if (n == 0) {
        if (req->method == SMART_FHIR_M_GET) {
            req->interaction = SMART_FHIR_I_SEARCH_SYSTEM;
            return 0;
        }

        if (req->method == SMART_FHIR_M_POST) {
            req->interaction = SMART_FHIR_I_BATCH_OR_TRANSACTION;
            return 0;
        }

        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                               "method not allowed at the base");
    }

    if (smart_fhir_eq(&segs[0], "metadata")
        || smart_fhir_eq(&segs[0], ".well-known"))
    {
        if (smart_fhir_eq(&segs[0], "metadata")
            ? n != 1
            : n != 2 || !smart_fhir_eq(&segs[1], "smart-configuration"))
        {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown capabilities path");
        }

        if (req->method != SMART_FHIR_M_GET) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "capabilities take GET");
        }

        req->interaction = SMART_FHIR_I_CAPABILITIES;
        return 0;
    }

    if (smart_fhir_level_seg(&segs[0])) {
        if (n != 1) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown system-level path");
        }

        return smart_fhir_shape_level(ctx, &segs[0], SMART_FHIR_OP_SYSTEM);
    }

    return smart_fhir_shape_type(ctx, segs, n);
}


/* "_history", "_search" or "$op": the end of a system or type-level path */
static int
smart_fhir_level_seg(const smart_fhir_seg_t *s)
{
    return smart_fhir_eq(s, "_history") || smart_fhir_eq(s, "_search")
           || s->data[0] == '$';
}


/*
 * _history, _search or $op as the last segment, at the system or the type
 * level (SMART_FHIR_OP_SYSTEM or SMART_FHIR_OP_TYPE).
 */
static int
smart_fhir_shape_level(smart_fhir_ctx_t *ctx, const smart_fhir_seg_t *s,
    smart_fhir_op_level_e level)
{
    smart_fhir_req_t  *req = ctx->req;

    if (s->data[0] == '$') {
        return smart_fhir_set_op(ctx, s, level);
    }

    if (smart_fhir_eq(s, "_history")) {
        if (req->method != SMART_FHIR_M_GET) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "history takes GET");
        }

        req->interaction = (level == SMART_FHIR_OP_TYPE)
                           ? SMART_FHIR_I_HISTORY_TYPE
                           : SMART_FHIR_I_HISTORY_SYSTEM;
        return 0;
    }

    if (req->method != SMART_FHIR_M_POST) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                               "_search takes POST");
    }

    req->interaction = (level == SMART_FHIR_OP_TYPE)
                       ? SMART_FHIR_I_SEARCH_TYPE
                       : SMART_FHIR_I_SEARCH_SYSTEM;
    ctx->search_body = 1;
    return 0;
}


static int
smart_fhir_shape_type(smart_fhir_ctx_t *ctx, const smart_fhir_seg_t *segs,
    size_t n)
{
    int                 type;
    smart_fhir_req_t   *req = ctx->req;

    type = smart_fhir_type_index(segs[0].data, segs[0].len);
    if (type < 0) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                               "unknown resource type");
    }

    req->type = type;
    req->type_name = smart_fhir_types[type].name;

    if (n == 1) {
        switch (req->method) {

        case SMART_FHIR_M_GET:
            req->interaction = SMART_FHIR_I_SEARCH_TYPE;
            return 0;

        case SMART_FHIR_M_POST:
            req->interaction = SMART_FHIR_I_CREATE;
            return 0;

        case SMART_FHIR_M_PUT:
            req->interaction = SMART_FHIR_I_UPDATE;
            break;

        case SMART_FHIR_M_PATCH:
            req->interaction = SMART_FHIR_I_PATCH;
            break;

        default:
            req->interaction = SMART_FHIR_I_DELETE;
            break;
        }

        /* search criteria are checked once the query is parsed */
        req->conditional = 1;
        return 0;
    }

    if (smart_fhir_level_seg(&segs[1])) {
        if (n != 2) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown type-level path");
        }

        return smart_fhir_shape_level(ctx, &segs[1], SMART_FHIR_OP_TYPE);
    }

    return smart_fhir_shape_instance(ctx, segs, n);
}


/* T/id, T/id/_history[/vid], T/id/$op, then the compartment searches */
static int
smart_fhir_shape_instance(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n)
{
    smart_fhir_req_t  *req = ctx->req;

    if (!smart_fhir_valid_id(segs[1].data, segs[1].len)) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BAD_ID, "malformed id");
    }

    req->id = smart_fhir_strdup(ctx, segs[1].data, segs[1].len);
    if (req->id == NULL) {
        return -1;
    }

    if (n == 2) {
        switch (req->method) {

        case SMART_FHIR_M_GET:
            req->interaction = SMART_FHIR_I_READ;
            return 0;

        case SMART_FHIR_M_PUT:
            req->interaction = SMART_FHIR_I_UPDATE;
            return 0;

        case SMART_FHIR_M_PATCH:
            req->interaction = SMART_FHIR_I_PATCH;
            return 0;

        case SMART_FHIR_M_DELETE:
            req->interaction = SMART_FHIR_I_DELETE;
            return 0;

        default:
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "POST to an instance");
        }
    }

    if (smart_fhir_eq(&segs[2], "_history")) {
        if (n == 4 && !smart_fhir_valid_id(segs[3].data, segs[3].len)) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_BAD_ID,
                                   "malformed version id");
        }

        if (req->method != SMART_FHIR_M_GET) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "history takes GET");
        }

        if (n == 3) {
            req->interaction = SMART_FHIR_I_HISTORY_INSTANCE;
            return 0;
        }

        req->interaction = SMART_FHIR_I_VREAD;
        req->vid = smart_fhir_strdup(ctx, segs[3].data, segs[3].len);

        return req->vid == NULL ? -1 : 0;
    }

    if (segs[2].data[0] == '$') {
        if (n != 3) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown instance-level path");
        }

        return smart_fhir_set_op(ctx, &segs[2], SMART_FHIR_OP_INSTANCE);
    }

    return smart_fhir_compartment(ctx, segs, n);
}


/* T/id/T2, T/id/STAR, T/id/T2/_search, T/id/STAR/_search */
static int
smart_fhir_compartment(smart_fhir_ctx_t *ctx, const smart_fhir_seg_t *segs,
    size_t n)
{
    int                 target;
    smart_fhir_req_t   *req = ctx->req;

    if (n == 4 && !smart_fhir_eq(&segs[3], "_search")) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                               "unknown compartment path");
    }

    if (smart_fhir_eq(&segs[2], "*")) {
        target = -1;

    } else {
        target = smart_fhir_type_index(segs[2].data, segs[2].len);
        if (target < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown resource type");
        }
    }

    if (req->type != SMART_FHIR_TYPE_PATIENT) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_COMPARTMENT,
                               "only the Patient compartment is supported");
    }

    if (req->method != (n == 3 ? SMART_FHIR_M_GET : SMART_FHIR_M_POST)) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                               "compartment search takes GET, "
                               "or POST with _search");
    }

    req->interaction = SMART_FHIR_I_SEARCH_COMPARTMENT;
    req->compartment_type = req->type;
    req->compartment_name = req->type_name;
    req->compartment_id = req->id;
    req->compartment_all = target < 0;
    req->type = target;
    req->type_name = target < 0 ? NULL : smart_fhir_types[target].name;
    req->id = NULL;
    ctx->search_body = n == 4;

    return 0;
}

