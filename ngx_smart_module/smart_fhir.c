/*
 * ngx_smart_module policy core: FHIR REST request classification.
 *
 * The rules are in smart_fhir.h and docs/classifier.md.  Everything a
 * result points to lives in a chain of malloc() blocks owned by the result,
 * so one smart_fhir_req_free() releases it all.  Plain C: no NGINX headers.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_fhir.h"
#include "smart_text.h"


#define SMART_FHIR_ALIGN      16
#define SMART_FHIR_MAX_SEGS   4
#define SMART_FHIR_PARAMS0    8         /* first size of the params array */


typedef struct smart_fhir_blk_s  smart_fhir_blk_t;

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


typedef struct {
    const char         *data;
    size_t              len;
} smart_fhir_seg_t;


/* Classification in progress. */
typedef struct {
    const smart_fhir_input_t  *in;
    smart_fhir_blk_t          *blocks;
    smart_fhir_req_t          *req;
    int                        nomem;
    smart_fhir_reason_e        reason;
    const char                *detail;

    smart_fhir_param_t        *params;      /* params_cap, grown up to
                                               SMART_FHIR_MAX_PARAMS */
    size_t                     nparams;
    size_t                     params_cap;
    int                       *types;       /* SMART_FHIR_NTYPES, made
                                               at the first _type */
    size_t                     ntypes;
    int                        search_body; /* POST .../_search */
} smart_fhir_ctx_t;


static void *smart_fhir_alloc(smart_fhir_ctx_t *ctx, size_t size);
static char *smart_fhir_strdup(smart_fhir_ctx_t *ctx, const char *s,
    size_t len);
static void smart_fhir_free_blocks(smart_fhir_blk_t *b);
static int smart_fhir_fail(smart_fhir_ctx_t *ctx, smart_fhir_reason_e r,
    const char *detail);
static int smart_fhir_eq(const smart_fhir_seg_t *s, const char *lit);
static int smart_fhir_method(smart_fhir_ctx_t *ctx);
static int smart_fhir_split_path(smart_fhir_ctx_t *ctx,
    smart_fhir_seg_t *segs, size_t *nsegs);
static int smart_fhir_valid_op(const smart_fhir_seg_t *s);
static int smart_fhir_shape(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_shape_type(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_set_op(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *s, smart_fhir_op_level_e level);
static int smart_fhir_compartment(smart_fhir_ctx_t *ctx,
    const smart_fhir_seg_t *segs, size_t n);
static int smart_fhir_parse_params(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, smart_fhir_src_e src);
static int smart_fhir_grow_params(smart_fhir_ctx_t *ctx);
static int smart_fhir_parse_pair(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, smart_fhir_src_e src);
static int smart_fhir_decode(smart_fhir_ctx_t *ctx, const char *s,
    size_t len, size_t max, char **out, size_t *outlen);
static int smart_fhir_split_name(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p, char *name, size_t len);
static int smart_fhir_split_values(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p);
static int smart_fhir_special(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p);
static int smart_fhir_types_param(smart_fhir_ctx_t *ctx,
    const smart_fhir_param_t *p);
static int smart_fhir_include_param(smart_fhir_ctx_t *ctx,
    smart_fhir_param_t *p);
static int smart_fhir_include_piece(smart_fhir_ctx_t *ctx, const char *s,
    smart_fhir_include_t *inc);
static size_t smart_fhir_count_src(const smart_fhir_ctx_t *ctx,
    smart_fhir_src_e src);
static int smart_fhir_if_none_exist(smart_fhir_ctx_t *ctx);
static int smart_fhir_framing(smart_fhir_ctx_t *ctx);
static int smart_fhir_criteria_qmark(smart_fhir_ctx_t *ctx);
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


const smart_fhir_refparam_t *
smart_fhir_reference_param(int type, const char *name, size_t len)
{
    int                         cmp;
    size_t                      lo, hi, mid, n, plen;
    const smart_fhir_type_t    *t;

    if (type < 0 || type >= SMART_FHIR_NTYPES || name == NULL) {
        return NULL;
    }

    t = &smart_fhir_types[type];
    lo = 0;
    hi = t->nrefparams;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        plen = strlen(t->refparams[mid].name);
        n = plen < len ? plen : len;
        cmp = memcmp(name, t->refparams[mid].name, n);

        if (cmp == 0) {
            if (plen == len) {
                return &t->refparams[mid];
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


static int
smart_fhir_codes_have(const smart_fhir_codes_t *c, const char *name,
    size_t len)
{
    int     cmp;
    size_t  lo, hi, mid, n;

    lo = 0;
    hi = c->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        n = strlen(c->names[mid]);
        cmp = memcmp(name, c->names[mid], len < n ? len : n);

        if (cmp == 0) {
            if (len == n) {
                return 1;
            }

            cmp = len < n ? -1 : 1;
        }

        if (cmp < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return 0;
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
    size_t              nsegs, total;
    smart_fhir_ctx_t    ctx;
    smart_fhir_req_t   *req;
    smart_fhir_seg_t    segs[SMART_FHIR_MAX_SEGS];

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
        || smart_fhir_split_path(&ctx, segs, &nsegs) != 0
        || smart_fhir_shape(&ctx, segs, nsegs) != 0
        || smart_fhir_framing(&ctx) != 0)
    {
        return smart_fhir_invalid_result(&ctx, out);
    }

    total = in->query_len;

    if (ctx.search_body) {
        total += in->body_len;
    }

    if (req->interaction == SMART_FHIR_I_CREATE) {
        total += in->if_none_exist_len;
    }

    if (total > SMART_FHIR_MAX_INPUT) {
        smart_fhir_fail(&ctx, SMART_FHIR_R_QUERY_LIMIT,
                        "query and body too large");
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (smart_fhir_parse_params(&ctx, in->query, in->query_len,
                                SMART_FHIR_SRC_QUERY) != 0)
    {
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (ctx.search_body && in->body_len > 0) {
        if (!in->body_is_form) {
            smart_fhir_fail(&ctx, SMART_FHIR_R_BODY_NOT_FORM,
                            "_search body is not form-urlencoded");
            return smart_fhir_invalid_result(&ctx, out);
        }

        if (smart_fhir_parse_params(&ctx, in->body, in->body_len,
                                    SMART_FHIR_SRC_BODY) != 0)
        {
            return smart_fhir_invalid_result(&ctx, out);
        }
    }

    if (req->interaction == SMART_FHIR_I_CREATE) {
        if (smart_fhir_if_none_exist(&ctx) != 0) {
            return smart_fhir_invalid_result(&ctx, out);
        }

        if (smart_fhir_count_src(&ctx, SMART_FHIR_SRC_IF_NONE_EXIST) > 0) {
            req->conditional = 1;
        }

        req->create_query = (smart_fhir_count_src(&ctx, SMART_FHIR_SRC_QUERY)
                             > 0);
    }

    if (req->conditional && smart_fhir_criteria_qmark(&ctx) != 0) {
        return smart_fhir_invalid_result(&ctx, out);
    }

    if (req->conditional
        && req->interaction != SMART_FHIR_I_CREATE
        && smart_fhir_count_src(&ctx, SMART_FHIR_SRC_QUERY) == 0)
    {
        smart_fhir_fail(&ctx, SMART_FHIR_R_CONDITIONAL,
                        "conditional write without search parameters");
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

static void *
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


static char *
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


static int
smart_fhir_fail(smart_fhir_ctx_t *ctx, smart_fhir_reason_e r,
    const char *detail)
{
    if (ctx->reason == SMART_FHIR_R_NONE) {
        ctx->reason = r;
        ctx->detail = detail;
    }

    return -1;
}


/* --- method and path ---------------------------------------------------- */

static int
smart_fhir_eq(const smart_fhir_seg_t *s, const char *lit)
{
    size_t  n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}


static int
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

    if (smart_fhir_eq(&segs[0], "_history")
        || smart_fhir_eq(&segs[0], "_search")
        || segs[0].data[0] == '$')
    {
        if (n != 1) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown system-level path");
        }

        if (segs[0].data[0] == '$') {
            return smart_fhir_set_op(ctx, &segs[0], SMART_FHIR_OP_SYSTEM);
        }

        if (smart_fhir_eq(&segs[0], "_history")) {
            if (req->method != SMART_FHIR_M_GET) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                       "history takes GET");
            }

            req->interaction = SMART_FHIR_I_HISTORY_SYSTEM;
            return 0;
        }

        if (req->method != SMART_FHIR_M_POST) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "_search takes POST");
        }

        req->interaction = SMART_FHIR_I_SEARCH_SYSTEM;
        ctx->search_body = 1;
        return 0;
    }

    return smart_fhir_shape_type(ctx, segs, n);
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

    if (smart_fhir_eq(&segs[1], "_history")
        || smart_fhir_eq(&segs[1], "_search")
        || segs[1].data[0] == '$')
    {
        if (n != 2) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PATH_SHAPE,
                                   "unknown type-level path");
        }

        if (segs[1].data[0] == '$') {
            return smart_fhir_set_op(ctx, &segs[1], SMART_FHIR_OP_TYPE);
        }

        if (smart_fhir_eq(&segs[1], "_history")) {
            if (req->method != SMART_FHIR_M_GET) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                       "history takes GET");
            }

            req->interaction = SMART_FHIR_I_HISTORY_TYPE;
            return 0;
        }

        if (req->method != SMART_FHIR_M_POST) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_NOT_ALLOWED,
                                   "_search takes POST");
        }

        req->interaction = SMART_FHIR_I_SEARCH_TYPE;
        ctx->search_body = 1;
        return 0;
    }

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


/* --- parameters --------------------------------------------------------- */

static size_t
smart_fhir_count_src(const smart_fhir_ctx_t *ctx, smart_fhir_src_e src)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < ctx->nparams; i++) {
        if (ctx->params[i].source == src) {
            n++;
        }
    }

    return n;
}


/* Body framing and the headers that say how to read the body. */
static int
smart_fhir_framing(smart_fhir_ctx_t *ctx)
{
    const smart_fhir_input_t  *in;

    in = ctx->in;

    if (in->content_type_repeated) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_HEADER_REPEATED,
                               "Content-Type is repeated");
    }

    if (!in->body_sent) {
        return 0;
    }

    if (in->body_encoded) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BODY_ENCODED,
                               "the body has a Content-Encoding");
    }

    if (ctx->req->method == SMART_FHIR_M_GET
        || ctx->req->method == SMART_FHIR_M_DELETE)
    {
        return smart_fhir_fail(ctx, SMART_FHIR_R_BODY_UNEXPECTED,
                               "a body on GET, HEAD or DELETE");
    }

    return 0;
}


/*
 * The If-None-Exist header of a create: search parameters only.  Refused
 * when repeated (servers join the copies or take the first or the last),
 * and when it holds a '?' at all: some servers cut "Type?criteria" at the
 * '?', others read "Type?name" as a parameter name they then ignore, which
 * drops that criterion (docs/security.md, "Parsing differentials").
 */
static int
smart_fhir_if_none_exist(smart_fhir_ctx_t *ctx)
{
    const smart_fhir_input_t  *in;

    in = ctx->in;

    if (in->if_none_exist_repeated) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_IF_NONE_EXIST,
                               "If-None-Exist is repeated");
    }

    if (in->if_none_exist == NULL || in->if_none_exist_len == 0) {
        return 0;
    }

    if (memchr(in->if_none_exist, '?', in->if_none_exist_len) != NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_IF_NONE_EXIST,
                               "If-None-Exist holds a '?' (\"Type?criteria\" "
                               "form)");
    }

    return smart_fhir_parse_params(ctx, in->if_none_exist,
                                   in->if_none_exist_len,
                                   SMART_FHIR_SRC_IF_NONE_EXIST);
}


/*
 * Conditional criteria (If-None-Exist of a create, the query of a
 * conditional update, patch or delete) with '?' in a decoded name or value:
 * a server that decodes before it looks for the start of the criteria would
 * cut there.  Raw '?' is refused for every query by
 * smart_fhir_parse_params().
 */
static int
smart_fhir_criteria_qmark(smart_fhir_ctx_t *ctx)
{
    size_t                     i;
    smart_fhir_src_e           src;
    const smart_fhir_param_t  *p;

    src = (ctx->req->interaction == SMART_FHIR_I_CREATE)
          ? SMART_FHIR_SRC_IF_NONE_EXIST : SMART_FHIR_SRC_QUERY;

    for (i = 0; i < ctx->nparams; i++) {
        p = &ctx->params[i];

        if (p->source == src
            && (strchr(p->raw_name, '?') != NULL
                || memchr(p->value, '?', p->value_len) != NULL))
        {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_QMARK,
                                   "'?' inside conditional criteria");
        }
    }

    return 0;
}


static int
smart_fhir_parse_params(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    smart_fhir_src_e src)
{
    size_t  i, start;

    if (s == NULL || len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        /*
         * ';' is a pair separator for some servers and frameworks: refused
         * so that no upstream sees a parameter the policy did not.
         */
        if (c <= 0x20 || c == 0x7f || c == '#' || c == ';') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_CHAR,
                                   "character not allowed in query");
        }

        /*
         * A second '?': servers cut criteria at the first or at the last
         * '?', or keep the text between two (docs/security.md, "parsing
         * differentials"), so no reading is safe.
         */
        if (c == '?') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_QMARK,
                                   "'?' inside a query or criteria");
        }
    }

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != '&') {
            continue;
        }

        if (i > start
            && smart_fhir_parse_pair(ctx, s + start, i - start, src) != 0)
        {
            return -1;
        }

        start = i + 1;
    }

    return 0;
}


/*
 * Room for more parameters: 8, then 4 times as many, up to the limit; the
 * old array stays in the blocks (no pointer into it is kept).
 */

static int
smart_fhir_grow_params(smart_fhir_ctx_t *ctx)
{
    size_t               cap;
    smart_fhir_param_t  *params;

    cap = (ctx->params_cap == 0) ? SMART_FHIR_PARAMS0 : ctx->params_cap * 4;

    if (cap > SMART_FHIR_MAX_PARAMS) {
        cap = SMART_FHIR_MAX_PARAMS;
    }

    params = smart_fhir_alloc(ctx, cap * sizeof(smart_fhir_param_t));
    if (params == NULL) {
        return -1;
    }

    if (ctx->nparams != 0) {
        memcpy(params, ctx->params,
               ctx->nparams * sizeof(smart_fhir_param_t));
    }

    ctx->params = params;
    ctx->params_cap = cap;

    return 0;
}


static int
smart_fhir_parse_pair(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    smart_fhir_src_e src)
{
    char                *name, *value;
    size_t               nlen, vlen, rawlen;
    const char          *eq;
    smart_fhir_param_t  *p;

    if (ctx->nparams >= SMART_FHIR_MAX_PARAMS) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                               "too many parameters");
    }

    if (ctx->nparams == ctx->params_cap && smart_fhir_grow_params(ctx) != 0) {
        return -1;
    }

    p = &ctx->params[ctx->nparams];
    memset(p, 0, sizeof(smart_fhir_param_t));
    p->source = src;

    eq = memchr(s, '=', len);
    rawlen = eq != NULL ? (size_t) (eq - s) : len;

    if (smart_fhir_decode(ctx, s, rawlen, SMART_FHIR_MAX_NAME, &name, &nlen)
        != 0)
    {
        return -1;
    }

    if (eq != NULL) {
        p->has_equals = 1;

        if (smart_fhir_decode(ctx, eq + 1, len - rawlen - 1,
                              SMART_FHIR_MAX_VALUE, &value, &vlen)
            != 0)
        {
            return -1;
        }

    } else {
        value = smart_fhir_strdup(ctx, "", 0);
        vlen = 0;
        if (value == NULL) {
            return -1;
        }
    }

    p->value = value;
    p->value_len = vlen;

    if (smart_fhir_split_name(ctx, p, name, nlen) != 0
        || smart_fhir_split_values(ctx, p) != 0
        || smart_fhir_special(ctx, p) != 0)
    {
        return -1;
    }

    ctx->nparams++;

    return 0;
}




/* application/x-www-form-urlencoded: "%XX" and '+' as space */
static int
smart_fhir_decode(smart_fhir_ctx_t *ctx, const char *s, size_t len,
    size_t max, char **out, size_t *outlen)
{
    int             hi, lo;
    char           *d;
    size_t          i, n;
    unsigned char   c;

    d = smart_fhir_alloc(ctx, (len < max ? len : max) + 1);
    if (d == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%') {
            if (len - i < 3) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "truncated percent-encoding");
            }

            hi = smart_hex_digit((unsigned char) s[i + 1]);
            lo = smart_hex_digit((unsigned char) s[i + 2]);

            if (hi < 0 || lo < 0) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "malformed percent-encoding");
            }

            c = (unsigned char) (hi * 16 + lo);
            i += 2;

            if (c < 0x20 || c == 0x7f) {
                return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                                       "encoded control character");
            }
        }

        if (n >= max) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                                   "parameter name or value too long");
        }

        d[n++] = (char) c;
    }

    d[n] = '\0';

    if (!smart_utf8_valid((const unsigned char *) d, n)) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_ENCODING,
                               "invalid UTF-8");
    }

    *out = d;
    *outlen = n;

    return 0;
}




static int
smart_fhir_name_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'
           || c == ':';
}


static int
smart_fhir_split_name(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p,
    char *name, size_t len)
{
    size_t   i, b, m;
    int      prev_sep, sep;

    if (len == 0) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "empty parameter name");
    }

    /* [A-Za-z0-9_.:-], separators never first, last or doubled */
    prev_sep = 1;

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) name[i];

        if (!smart_fhir_name_char(c)) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "character not allowed in name");
        }

        sep = c == '.' || c == ':';

        if (sep && prev_sep) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "malformed parameter name");
        }

        prev_sep = sep;
    }

    if (prev_sep) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "malformed parameter name");
    }

    p->raw_name = name;

    b = strcspn(name, ":.");

    p->name = smart_fhir_strdup(ctx, name, b);
    if (p->name == NULL) {
        return -1;
    }

    if (strcmp(p->name, "_has") == 0) {
        if (b == len || name[b] != ':') {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "malformed _has");
        }

        p->modifier = name + b + 1;
        return 0;
    }

    if (b == len) {
        return 0;
    }

    if (name[b] == '.') {
        p->chain = name + b + 1;
        return 0;
    }

    m = b + 1 + strcspn(name + b + 1, ":.");

    if (m < len && name[m] == ':') {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "more than one modifier");
    }

    p->modifier = smart_fhir_strdup(ctx, name + b + 1, m - b - 1);
    if (p->modifier == NULL) {
        return -1;
    }

    if (m < len) {
        p->chain = name + m + 1;
    }

    return 0;
}


static int
smart_fhir_split_values(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    size_t        i, n, start;
    const char  **v;
    const char   *s = p->value;

    n = 1;

    for (i = 0; i < p->value_len; i++) {
        if (s[i] == '\\' && i + 1 < p->value_len) {
            i++;

        } else if (s[i] == ',') {
            n++;
        }
    }

    if (n > SMART_FHIR_MAX_VALUES) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_QUERY_LIMIT,
                               "too many comma-separated values");
    }

    v = smart_fhir_alloc(ctx, n * sizeof(const char *));
    if (v == NULL) {
        return -1;
    }

    n = 0;
    start = 0;

    for (i = 0; i <= p->value_len; i++) {
        if (i < p->value_len) {
            if (s[i] == '\\' && i + 1 < p->value_len) {
                i++;
                continue;
            }

            if (s[i] != ',') {
                continue;
            }
        }

        v[n] = smart_fhir_strdup(ctx, s + start, i - start);
        if (v[n] == NULL) {
            return -1;
        }

        n++;
        start = i + 1;
    }

    p->values = v;
    p->nvalues = n;

    return 0;
}


static int
smart_fhir_special(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    smart_fhir_req_t  *req = ctx->req;

    static const struct {
        const char           *name;
        smart_fhir_pkind_e    kind;
        unsigned              feature;
    } kinds[] = {
        { "_type",          SMART_FHIR_P_TYPE,       SMART_FHIR_F_TYPE },
        { "_include",       SMART_FHIR_P_INCLUDE,    SMART_FHIR_F_INCLUDE },
        { "_revinclude",    SMART_FHIR_P_REVINCLUDE, SMART_FHIR_F_REVINCLUDE },
        { "_has",           SMART_FHIR_P_HAS,        SMART_FHIR_F_HAS },
        { "_filter",        SMART_FHIR_P_FILTER,     SMART_FHIR_F_FILTER },
        { "_query",         SMART_FHIR_P_QUERY,      SMART_FHIR_F_QUERY },
        { "_list",          SMART_FHIR_P_LIST,       SMART_FHIR_F_LIST },
        { "_contained",     SMART_FHIR_P_CONTAINED,  SMART_FHIR_F_CONTAINED },
        { "_containedType", SMART_FHIR_P_CONTAINED,  SMART_FHIR_F_CONTAINED }
    };

    size_t  i;

    if (strcmp(p->name, "_method") == 0) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_METHOD_OVERRIDE,
                               "_method parameter is not accepted");
    }

    if (p->chain != NULL) {
        req->features |= SMART_FHIR_F_CHAIN;
    }

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(p->name, kinds[i].name) == 0) {
            p->kind = kinds[i].kind;
            req->features |= kinds[i].feature;
            break;
        }
    }

    switch (p->kind) {

    case SMART_FHIR_P_TYPE:
        if (p->modifier != NULL || p->chain != NULL) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "modifier on _type");
        }

        return smart_fhir_types_param(ctx, p);

    case SMART_FHIR_P_INCLUDE:
    case SMART_FHIR_P_REVINCLUDE:
        return smart_fhir_include_param(ctx, p);

    default:
        return 0;
    }
}


static int
smart_fhir_types_param(smart_fhir_ctx_t *ctx, const smart_fhir_param_t *p)
{
    int     t;
    size_t  i, k;

    if (ctx->types == NULL) {
        ctx->types = smart_fhir_alloc(ctx, SMART_FHIR_NTYPES * sizeof(int));
        if (ctx->types == NULL) {
            return -1;
        }
    }

    for (i = 0; i < p->nvalues; i++) {
        t = smart_fhir_type_index(p->values[i], strlen(p->values[i]));
        if (t < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown resource type in _type");
        }

        for (k = 0; k < ctx->ntypes; k++) {
            if (ctx->types[k] == t) {
                break;
            }
        }

        if (k == ctx->ntypes) {
            ctx->types[ctx->ntypes++] = t;
        }
    }

    return 0;
}


static int
smart_fhir_include_param(smart_fhir_ctx_t *ctx, smart_fhir_param_t *p)
{
    size_t                 i;
    smart_fhir_include_t  *inc;

    if (p->chain != NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                               "chain on an include");
    }

    if (p->modifier != NULL) {
        if (strcmp(p->modifier, "iterate") != 0
            && strcmp(p->modifier, "recurse") != 0)
        {
            return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_NAME,
                                   "unknown include modifier");
        }

        p->iterate = 1;
        ctx->req->features |= SMART_FHIR_F_ITERATE;
    }

    inc = smart_fhir_alloc(ctx, p->nvalues * sizeof(smart_fhir_include_t));
    if (inc == NULL) {
        return -1;
    }

    for (i = 0; i < p->nvalues; i++) {
        if (smart_fhir_include_piece(ctx, p->values[i], &inc[i]) != 0) {
            return -1;
        }

        if (inc[i].wildcard) {
            ctx->req->features |= SMART_FHIR_F_INCLUDE_WILD;
        }
    }

    p->includes = inc;
    p->nincludes = p->nvalues;

    return 0;
}


/* "*", "T:*", "T:param", "T:param:Target" */
static int
smart_fhir_include_piece(smart_fhir_ctx_t *ctx, const char *s,
    smart_fhir_include_t *inc)
{
    size_t        i, a, b;
    const char   *c1, *c2;

    inc->src_type = -1;
    inc->param = NULL;
    inc->target_type = -1;
    inc->wildcard = 0;

    if (strcmp(s, "*") == 0) {
        inc->wildcard = 1;
        return 0;
    }

    c1 = strchr(s, ':');
    if (c1 == NULL) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                               "malformed include");
    }

    c2 = strchr(c1 + 1, ':');
    a = (size_t) (c1 - s);
    b = c2 != NULL ? (size_t) (c2 - c1 - 1) : strlen(c1 + 1);

    if (a == 0 || b == 0 || (c2 != NULL && c2[1] == '\0')) {
        return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                               "malformed include");
    }

    if (a == 1 && s[0] == '*') {
        inc->wildcard = 1;

    } else {
        inc->src_type = smart_fhir_type_index(s, a);
        if (inc->src_type < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown resource type in include");
        }
    }

    if (b == 1 && c1[1] == '*') {
        inc->wildcard = 1;

    } else {
        for (i = 1; i <= b; i++) {
            unsigned char  c = (unsigned char) c1[i];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                  || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            {
                return smart_fhir_fail(ctx, SMART_FHIR_R_PARAM_VALUE,
                                       "malformed include parameter");
            }
        }
    }

    inc->param = smart_fhir_strdup(ctx, c1 + 1, b);
    if (inc->param == NULL) {
        return -1;
    }

    if (c2 != NULL) {
        inc->target_type = smart_fhir_type_index(c2 + 1, strlen(c2 + 1));
        if (inc->target_type < 0) {
            return smart_fhir_fail(ctx, SMART_FHIR_R_UNKNOWN_TYPE,
                                   "unknown target type in include");
        }
    }

    return 0;
}
