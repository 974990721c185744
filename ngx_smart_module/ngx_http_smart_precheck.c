
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module: the pre-read of writes by id (docs/scopes.md, "Writes
 * by id: the pre-read"; docs/directives.md, smart_precheck_request).
 *
 * Under a patient scope, PUT, PATCH or DELETE of T/id may replace another
 * patient's record: the body says nothing of the record it replaces.  The
 * policy allows such a write on condition of a pre-read
 * (smart_decision_t.precheck): before the write goes upstream, the
 * current T/id is read by a subrequest to the internal location of
 * smart_precheck_request, captured in memory by the filters (never sent
 * to the client, never in a temporary file) and checked by the core's
 * smart_response_check() as a read.  The write goes on only when that
 * version is the patient's, pinned to the version read (smart_pin.h):
 * If-Match for a single write, entry.request.ifMatch for each entry of a
 * batch or transaction, so a change in between is the server's 412
 * instead of a race.  A 404 or 410 allows only an
 * update-as-create, whose body the policy proved the patient's.
 *
 * Pre-reads run one after the other (a transaction names at most
 * smart_precheck_max); the access handler returns NGX_AGAIN while one is
 * in flight and is run again when it ends.
 */

#include "ngx_http_smart_module.h"
#include "ngx_http_smart_util.h"
#include "ngx_http_smart_error.h"
#include "ngx_http_smart_precheck.h"
#include "smart_pin.h"


/* One request's pre-reads; the module ctx of its pre-read subrequests. */
typedef struct {
    ngx_http_smart_ctx_t       *parent;
    ngx_http_request_t         *sr;         /* the pre-read in flight */
    /* what the pre-reads were made for: a redirect to another URI or
       location decides again and reads again */
    ngx_http_smart_loc_conf_t  *loc;
    ngx_str_t                   uri;
    ngx_uint_t                  method;
    ngx_uint_t                  next;       /* pre-read in flight / next */
    ngx_uint_t                  n;          /* pre-reads to make */
    ngx_uint_t                  status;     /* of the one in flight */
    ngx_str_t                   etag;
    u_char                     *buf;
    size_t                      len;
    size_t                      cap;
    off_t                       expect;     /* Content-Length or -1 */
    /* the entity-tag of each version read (W/"v"), empty when the server
       gave none: the write is pinned to it */
    ngx_str_t                  *tags;
    /* a Binary's securityContext, read next */
    smart_policy_preread_t      follow;
    unsigned                    following:1;
    unsigned                    follow_next:1;
    unsigned                    started:1;
    unsigned                    done:1;
    unsigned                    failed:1;   /* subrequest failed */
    unsigned                    overflow:1;
    unsigned                    not_json:1;
} ngx_http_smart_pre_t;


static ngx_int_t ngx_http_smart_pre_start(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_pre_t *pre,
    const smart_policy_preread_t *target);
static ngx_int_t ngx_http_smart_pre_headers(ngx_http_request_t *r,
    ngx_http_request_t *sr);
static ngx_int_t ngx_http_smart_pre_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_smart_pre_grow(ngx_http_request_t *r,
    ngx_http_smart_pre_t *pre, ngx_http_smart_loc_conf_t *slcf, size_t n);
static smart_err_e ngx_http_smart_pre_judge(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_pre_t *pre,
    const smart_policy_preread_t *target, const char **why);
static smart_err_e ngx_http_smart_pre_binary(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_pre_t *pre,
    const smart_policy_preread_t *target, const char **why);
static ngx_int_t ngx_http_smart_pre_tag(ngx_http_request_t *r,
    ngx_http_smart_pre_t *pre);
static void ngx_http_smart_pre_reset(ngx_http_smart_pre_t *pre);
static ngx_uint_t ngx_http_smart_pre_same(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_pre_t *pre);
static ngx_int_t ngx_http_smart_pre_refuse(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, const smart_decision_t *d, size_t index,
    smart_err_e err);
static ngx_int_t ngx_http_smart_pre_pin(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_pre_t *pre,
    const smart_decision_t *d, smart_err_e *err, const char **why);
static ngx_int_t ngx_http_smart_pre_if_match(ngx_http_request_t *r,
    ngx_http_smart_pre_t *pre, smart_err_e *err, const char **why);
static ngx_int_t ngx_http_smart_pre_bundle(ngx_http_request_t *r,
    ngx_http_smart_ctx_t *ctx, ngx_http_smart_pre_t *pre,
    const smart_decision_t *d, smart_err_e *err, const char **why);


/*
 * Access phase, a decision with pre-reads: NGX_OK when every pre-read
 * proved its record the patient's (the write may go on), NGX_AGAIN while
 * one is in flight, NGX_DECLINED with *err and *why set when the write is
 * refused, NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_smart_precheck(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx,
    const smart_decision_t *d, smart_err_e *err, const char **why)
{
    ngx_http_smart_pre_t            *pre;
    const smart_policy_preread_t  *target;

    if (slcf->precheck_uri.len == 0 || d->nprereads == 0) {
        *err = SMART_ERR_SCOPE_INSUFFICIENT;
        *why = "a write by id needs smart_precheck_request";
        return NGX_DECLINED;
    }

    pre = ctx->pre;

    if (pre != NULL
        && (!ngx_http_smart_pre_same(r, slcf, pre) || pre->n != d->nprereads))
    {
        /* an internal redirect: what was proven was for another request */
        pre = NULL;
    }

    if (pre == NULL) {
        pre = ngx_pcalloc(r->pool, sizeof(ngx_http_smart_pre_t));
        if (pre == NULL) {
            return NGX_ERROR;
        }

        pre->tags = ngx_pcalloc(r->pool, d->nprereads * sizeof(ngx_str_t));
        if (pre->tags == NULL) {
            return NGX_ERROR;
        }

        pre->parent = ctx;
        pre->loc = slcf;
        pre->uri = r->uri;
        pre->method = r->method;
        pre->n = d->nprereads;
        ctx->pre = pre;
    }

    while (pre->next < d->nprereads) {

        target = pre->following ? &pre->follow : &d->prereads[pre->next];

        if (!pre->started) {
            if (ngx_http_smart_pre_start(r, slcf, pre, target) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        if (!pre->done) {
            return NGX_AGAIN;
        }

        *err = ngx_http_smart_pre_judge(r, ctx, pre, target, why);
        if (*err != SMART_ERR__COUNT) {
            return ngx_http_smart_pre_refuse(r, ctx, d, target->index, *err);
        }

        ngx_http_smart_pre_reset(pre);

        if (pre->follow_next) {
            /* a Binary: its securityContext's resource is read next */
            pre->follow_next = 0;
            pre->following = 1;
            continue;
        }

        pre->following = 0;
        pre->next++;
    }

    return ngx_http_smart_pre_pin(r, ctx, pre, d, err, why);
}


/*
 * 1 when the access handler is back after one of this request's
 * pre-reads (the same location, URI and method, some still to make): the
 * decision it holds stands.
 */

ngx_uint_t
ngx_http_smart_precheck_pending(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_ctx_t *ctx)
{
    ngx_http_smart_pre_t  *pre;

    pre = ctx->pre;

    return pre != NULL && ctx->decision != NULL
           && ctx->decision->precheck && pre->n == ctx->decision->nprereads
           && pre->next < pre->n && ngx_http_smart_pre_same(r, slcf, pre);
}


static ngx_uint_t
ngx_http_smart_pre_same(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_pre_t *pre)
{
    return pre->loc == slcf && pre->method == r->method
           && pre->uri.len == r->uri.len
           && ngx_strncmp(pre->uri.data, r->uri.data, r->uri.len) == 0;
}


/* A refusal; in a Bundle it names the entry (Bundle.entry[i]). */

static ngx_int_t
ngx_http_smart_pre_refuse(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    const smart_decision_t *d, size_t index, smart_err_e err)
{
    smart_oo_issue_t  *issue;

    if (d->interaction != SMART_FHIR_I_BATCH
        && d->interaction != SMART_FHIR_I_TRANSACTION)
    {
        return NGX_DECLINED;
    }

    issue = ngx_pcalloc(r->pool, sizeof(smart_oo_issue_t));
    if (issue == NULL
        || ngx_http_smart_entry_issue(r, issue, index, err) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->extra = issue;
    ctx->nextra = 1;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_smart_pre_start(ngx_http_request_t *r,
    ngx_http_smart_loc_conf_t *slcf, ngx_http_smart_pre_t *pre,
    const smart_policy_preread_t *target)
{
    u_char                      *p;
    size_t                       tlen, ilen;
    ngx_str_t                    uri;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    tlen = ngx_strlen(smart_fhir_types[target->type].name);
    ilen = ngx_strlen(target->id);

    uri.len = slcf->precheck_uri.len + 1 + tlen + 1 + ilen;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (uri.data == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    /* ids are [A-Za-z0-9.-]{1,64}: nothing to escape in the path */

    p = ngx_cpymem(uri.data, slcf->precheck_uri.data, slcf->precheck_uri.len);
    if (p[-1] != '/') {
        *p++ = '/';
    }
    p = ngx_cpymem(p, smart_fhir_types[target->type].name, tlen);
    *p++ = '/';
    p = ngx_cpymem(p, target->id, ilen);
    uri.len = p - uri.data;

    ps->handler = ngx_http_smart_pre_done;
    ps->data = pre;

    if (ngx_http_subrequest(r, &uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_smart_pre_headers(r, sr) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, pre, ngx_http_smart_module);

    pre->sr = sr;
    pre->started = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "smart: pre-read \"%V\"", &uri);

    return NGX_OK;
}


/*
 * The pre-read is a GET with no body and four headers: the client's
 * Authorization (the FHIR server judges the read as it would the write),
 * the request's correlation ID (the server's logs tie the read to the
 * write), Accept: application/fhir+json and Accept-Encoding: identity.
 */

static ngx_int_t
ngx_http_smart_pre_headers(ngx_http_request_t *r, ngx_http_request_t *sr)
{
    ngx_http_smart_ctx_t       *ctx;
    ngx_http_smart_loc_conf_t  *slcf;

    ngx_table_elt_t  *h, *auth;

    static ngx_str_t  auth_name = ngx_string("Authorization");

    ctx = ngx_http_get_module_ctx(r, ngx_http_smart_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    /* smart_forward_token off: the pre-read goes without it too */
    auth = slcf->forward_token
           ? ngx_http_smart_find_header(r, &auth_name, NULL) : NULL;

    if (ngx_http_smart_subrequest_bare(r, sr, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    if (auth != NULL) {
        h = ngx_list_push(&sr->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = *auth;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
        sr->headers_in.authorization = h;
    }

    if (ngx_http_smart_want_json(sr, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx != NULL && ctx->cid.len != 0
        && ngx_http_smart_subrequest_header(sr, &slcf->correlation_header,
                                            &slcf->correlation_lc, &ctx->cid)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_smart_pre_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_smart_pre_t  *pre = data;

    if (pre->done || r != pre->sr) {
        /* a late call of an earlier pre-read */
        return rc;
    }

    pre->done = 1;

    if (rc != NGX_OK && rc != NGX_DONE) {
        pre->failed = 1;
    }

    if (pre->status == 0) {
        pre->status = r->headers_out.status;
    }

    return rc;
}


/* 1 when r is a pre-read this module started. */

ngx_uint_t
ngx_http_smart_precheck_subrequest(ngx_http_request_t *r)
{
    return r != r->main && r->post_subrequest != NULL
           && r->post_subrequest->handler == ngx_http_smart_pre_done;
}


/*
 * Header filter of a pre-read: keeps the status and the ETag, sends
 * nothing; the upstream is read unbuffered, so nothing of the body goes
 * to a temporary file.
 */

ngx_int_t
ngx_http_smart_precheck_capture_header(ngx_http_request_t *r)
{
    ngx_http_smart_pre_t  *pre;

    /*
     * The state is the post_subrequest data, which survives an internal
     * redirect of the pre-read (error_page, X-Accel-Redirect); the module
     * context does not.  A redirected answer is not the record: the
     * pre-read failed.
     */

    pre = r->post_subrequest->data;
    r->header_sent = 1;

    if (r != pre->sr || pre->done) {
        return NGX_OK;
    }

    if (ngx_http_get_module_ctx(r, ngx_http_smart_module) == NULL
        || r->uri_changed || r->error_page)
    {
        pre->failed = 1;
        return NGX_OK;
    }

    pre->status = r->headers_out.status;
    pre->expect = r->headers_out.content_length_n;

    /* a cached answer is read into memory by the copy filter above */
    r->filter_need_in_memory = 1;

    if (r->headers_out.etag != NULL && r->headers_out.etag->hash != 0) {
        pre->etag.len = r->headers_out.etag->value.len;
        pre->etag.data = ngx_pstrdup(r->pool, &r->headers_out.etag->value);
        if (pre->etag.data == NULL) {
            return NGX_ERROR;
        }
    }

    pre->not_json = (ngx_http_smart_json_body_refusal(r) != NULL);

    if (r->upstream != NULL) {
        r->upstream->buffering = 0;
    }

    return NGX_OK;
}


/* Body filter of a pre-read: copies into a buffer bounded by
   smart_response_check_max; nothing goes out. */

ngx_int_t
ngx_http_smart_precheck_capture_body(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                      n;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    ngx_http_smart_pre_t       *pre;
    ngx_http_smart_loc_conf_t  *slcf;

    pre = r->post_subrequest->data;
    slcf = ngx_http_get_module_loc_conf(r->main, ngx_http_smart_module);

    if (r != pre->sr || pre->done || pre->failed) {
        /* not the record: consumed and dropped */

        for (cl = in; cl != NULL; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }

        return NGX_OK;
    }

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b) > 0) {
                pre->overflow = 1;
            }

            b->file_pos = b->file_last;
            continue;
        }

        n = (size_t) (b->last - b->pos);

        if (n > 0 && !pre->overflow && !pre->not_json) {

            if (n > slcf->response_check_max - pre->len) {
                pre->overflow = 1;

            } else {
                if (n > pre->cap - pre->len
                    && ngx_http_smart_pre_grow(r, pre, slcf, n) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                ngx_memcpy(pre->buf + pre->len, b->pos, n);
                pre->len += n;
            }
        }

        b->pos = b->last;
    }

    return NGX_OK;
}


/* A clean capture for the next pre-read. */

static void
ngx_http_smart_pre_reset(ngx_http_smart_pre_t *pre)
{
    pre->started = 0;
    pre->done = 0;
    pre->failed = 0;
    pre->overflow = 0;
    pre->not_json = 0;
    pre->status = 0;
    pre->len = 0;
    ngx_str_null(&pre->etag);
}


/*
 * Room for n more bytes: the announced Content-Length at once, else
 * doubling from 4 KiB; never past smart_response_check_max (the caller
 * checked it).  A record is small: no megabyte per pre-read.
 */

static ngx_int_t
ngx_http_smart_pre_grow(ngx_http_request_t *r, ngx_http_smart_pre_t *pre,
    ngx_http_smart_loc_conf_t *slcf, size_t n)
{
    size_t   cap;
    u_char  *p;

    cap = (pre->expect > 0) ? (size_t) pre->expect
                            : ngx_max(pre->cap * 2, 4096);
    cap = ngx_max(cap, pre->len + n);
    cap = ngx_min(cap, slcf->response_check_max);

    p = ngx_pnalloc(r->pool, cap);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (pre->len != 0) {
        ngx_memcpy(p, pre->buf, pre->len);
    }

    pre->buf = p;
    pre->cap = cap;

    return NGX_OK;
}


/*
 * The verdict on one pre-read: SMART_ERR__COUNT when the request may go
 * on (or, for a Binary, when its securityContext is to be read next:
 * pre->follow_next), else the refusal.
 */

static smart_err_e
ngx_http_smart_pre_judge(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_pre_t *pre, const smart_policy_preread_t *target,
    const char **why)
{
    u_char                     *patient, *cid, *base;
    smart_response_t            res;
    smart_response_req_t        rq;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (pre->failed || pre->status == 0
        || pre->status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        *why = "the pre-read of the record to write failed";
        return SMART_ERR_DATA_UNAVAILABLE;
    }

    if (pre->status == NGX_HTTP_NOT_FOUND || pre->status == 410) {
        /* a deleted (410) record is never brought back under its id */
        if (target->create_ok && pre->status == NGX_HTTP_NOT_FOUND) {
            /* update-as-create: the body was proven the patient's */
            return SMART_ERR__COUNT;
        }

        *why = "the record to write does not exist";
        return SMART_ERR_NOT_FOUND;
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "smart: pre-read status %ui, %uz bytes, json %d, "
                   "overflow %d, failed %d", pre->status, pre->len,
                   !pre->not_json, pre->overflow, pre->failed);

    if (pre->status != NGX_HTTP_OK || pre->not_json || pre->overflow) {
        *why = "the pre-read answer cannot be checked";
        return SMART_ERR_RESPONSE_UNVERIFIABLE;
    }

    if (!pre->following) {

        if (target->interaction != SMART_FHIR_I_READ) {
            /*
             * the version the write replaces: what it is pinned to (a
             * read, a Binary's in a bundle, has nothing to guard)
             */

            switch (ngx_http_smart_pre_tag(r, pre)) {

            case NGX_OK:
                break;

            case NGX_DECLINED:
                /* a write is never sent unpinned when a version exists */
                *why = "the record's version (ETag, meta.versionId) "
                       "cannot be written as an entity-tag";
                return SMART_ERR_RESPONSE_UNVERIFIABLE;

            default:
                *why = "no memory";
                return SMART_ERR_RESPONSE_UNVERIFIABLE;
            }
        }

        if (target->type == smart_fhir_type_index("Binary", 6)) {
            return ngx_http_smart_pre_binary(r, ctx, pre, target, why);
        }
    }

    patient = ngx_http_smart_strz(r->pool, &ctx->claims.patient);
    cid = ngx_http_smart_strz(r->pool, &ctx->cid);
    base = ngx_http_smart_strz(r->pool, &slcf->fhir_base_url);

    if (patient == NULL || cid == NULL || base == NULL) {
        *why = "no memory";
        return SMART_ERR_RESPONSE_UNVERIFIABLE;
    }

    ngx_memzero(&rq, sizeof(smart_response_req_t));
    rq.interaction = SMART_FHIR_I_READ;
    rq.type = target->type;
    rq.patient = (const char *) patient;
    rq.correlation_id = (const char *) cid;
    rq.base = (const char *) base;
    rq.body_max = slcf->response_check_max;

    (void) smart_response_check(&rq, (const char *) pre->buf, pre->len, &res);

    switch (res.verdict) {

    case SMART_RESPONSE_RELEASE:
        break;

    case SMART_RESPONSE_MISMATCH:
        smart_response_free(&res);
        *why = "the record to write is another patient's";
        return SMART_ERR_PATIENT_MISMATCH;

    default:
        smart_response_free(&res);
        *why = "the pre-read answer cannot be checked";
        return SMART_ERR_RESPONSE_UNVERIFIABLE;
    }

    smart_response_free(&res);

    return SMART_ERR__COUNT;
}


/*
 * The entity-tag of the version read: the ETag when it is one tag, else
 * W/"meta.versionId"; none (NGX_OK, an empty tag) when the server gave
 * neither; NGX_DECLINED (an empty tag) when it gave a version that is
 * neither (an ETag that is no tag, a versionId that is no FHIR id).
 */

static ngx_int_t
ngx_http_smart_pre_tag(ngx_http_request_t *r, ngx_http_smart_pre_t *pre)
{
    int         rc;
    char        vid[SMART_RESPONSE_VERSION_MAX + 1];
    size_t      vlen, n;
    ngx_str_t  *tag;

    tag = &pre->tags[pre->next];

    tag->data = ngx_pnalloc(r->pool, SMART_PIN_TAG_MAX + 1);
    if (tag->data == NULL) {
        return NGX_ERROR;
    }

    /* the ETag first: the body is parsed again only when it is unusable */

    if (pre->etag.len != 0
        && smart_pin_tag((const char *) pre->etag.data, pre->etag.len, NULL,
                         0, (char *) tag->data, SMART_PIN_TAG_MAX + 1, &n)
           == 0)
    {
        tag->len = n;
        return NGX_OK;
    }

    tag->len = 0;

    rc = smart_response_version((const char *) pre->buf, pre->len, vid,
                                sizeof(vid), &vlen);

    if (rc == SMART_RESPONSE_VERSION_NONE) {
        return (pre->etag.len == 0) ? NGX_OK : NGX_DECLINED;
    }

    if (rc != 0
        || smart_pin_tag(NULL, 0, vid, vlen, (char *) tag->data,
                         SMART_PIN_TAG_MAX + 1, &n)
           != 0)
    {
        return NGX_DECLINED;
    }

    tag->len = n;

    return NGX_OK;
}


/*
 * A Binary carries no patient: its securityContext names the resource it
 * belongs to (docs/scopes.md, "Binary").  The patient itself, or a type
 * with no patient's data, decides at once; any other resource is read
 * next and must be in the patient's compartment.
 */

static smart_err_e
ngx_http_smart_pre_binary(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_pre_t *pre, const smart_policy_preread_t *target,
    const char **why)
{
    int                         type;
    ngx_http_smart_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_smart_module);

    if (smart_response_binary_context((const char *) pre->buf, pre->len,
                                      (const char *) slcf->fhir_base_url.data,
                                      slcf->fhir_base_url.len, &type,
                                      pre->follow.id, sizeof(pre->follow.id))
        != 0)
    {
        *why = "a Binary without a securityContext the gateway can read "
               "cannot be tied to the patient";
        return SMART_ERR_SCOPE_INSUFFICIENT;
    }

    if (type == SMART_FHIR_TYPE_PATIENT) {
        if (ngx_strlen(pre->follow.id) == ctx->claims.patient.len
            && ngx_strncmp(pre->follow.id, ctx->claims.patient.data,
                           ctx->claims.patient.len) == 0)
        {
            return SMART_ERR__COUNT;
        }

        *why = "the Binary belongs to another patient";
        return SMART_ERR_PATIENT_MISMATCH;
    }

    if (smart_fhir_types[type].patient_data == SMART_FHIR_PD_NONE) {
        /* a logo of an Organization: no one's record */
        return SMART_ERR__COUNT;
    }

    if (smart_fhir_types[type].patient_data == SMART_FHIR_PD_ANY_REF) {
        *why = "the Binary's securityContext cannot be tied to the patient";
        return SMART_ERR_SCOPE_INSUFFICIENT;
    }

    /* a refusal of the resource read next names the Binary's entry */
    pre->follow.index = target->index;
    pre->follow.interaction = SMART_FHIR_I_READ;
    pre->follow.type = type;
    pre->follow.create_ok = 0;
    pre->follow_next = 1;

    return SMART_ERR__COUNT;
}


/*
 * Every pre-read proved its record: the write is pinned to the versions
 * read (smart_pin.h).  A server that gave no version leaves its write
 * unpinned (docs/scopes.md, "Writes by id: the pre-read").
 */

static ngx_int_t
ngx_http_smart_pre_pin(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_pre_t *pre, const smart_decision_t *d, smart_err_e *err,
    const char **why)
{
    switch (d->interaction) {

    case SMART_FHIR_I_UPDATE:
    case SMART_FHIR_I_PATCH:
    case SMART_FHIR_I_DELETE:
        return ngx_http_smart_pre_if_match(r, pre, err, why);

    case SMART_FHIR_I_BATCH:
    case SMART_FHIR_I_TRANSACTION:
        return ngx_http_smart_pre_bundle(r, ctx, pre, d, err, why);

    default:
        return NGX_OK;
    }
}


/*
 * A single write: If-Match becomes the version read when the client sent
 * none or "*", or a guard (one tag or a list) that names that version; a
 * guard that names only other versions, or holds anything unreadable, is
 * a conflict.  NGINX itself answers 400 to several If-Match lines; should
 * several reach the module, they are a conflict too.
 */

static ngx_int_t
ngx_http_smart_pre_if_match(ngx_http_request_t *r, ngx_http_smart_pre_t *pre,
    smart_err_e *err, const char **why)
{
    ngx_int_t         rc;
    ngx_uint_t        count;
    smart_pin_e       pin;
    ngx_table_elt_t  *h;

    static ngx_str_t  name = ngx_string("If-Match");
    static ngx_str_t  name_lc = ngx_string("if-match");

    if (pre->tags[0].len == 0) {
        return NGX_OK;
    }

    h = ngx_http_smart_find_header(r, &name, &count);

    pin = (count > 1)
          ? SMART_PIN_CONFLICT
          : smart_pin_client((h != NULL) ? (const char *) h->value.data
                                         : NULL,
                             (h != NULL) ? h->value.len : 0,
                             (const char *) pre->tags[0].data,
                             pre->tags[0].len);

    switch (pin) {

    case SMART_PIN_KEEP:
    case SMART_PIN_SET:
        /* the exact tag the server gave, never the client's spelling */
        rc = ngx_http_smart_set_in_header(r, &name, &name_lc,
                                          &pre->tags[0]);

        if (rc == NGX_DECLINED) {
            /* never sent unpinned */
            *err = SMART_ERR_RESPONSE_UNVERIFIABLE;
            *why = "the write's headers cannot carry If-Match";
        }

        return rc;

    case SMART_PIN_CONFLICT:
        *err = SMART_ERR_CONFLICT;
        *why = "If-Match names another version than the current one, or "
               "cannot be read";
        return NGX_DECLINED;

    default:
        return NGX_ERROR;
    }
}


/*
 * A batch or transaction: each entry written after a pre-read gets
 * request.ifMatch, in a copy of the body that replaces the one read.
 */

static ngx_int_t
ngx_http_smart_pre_bundle(ngx_http_request_t *r, ngx_http_smart_ctx_t *ctx,
    ngx_http_smart_pre_t *pre, const smart_decision_t *d, smart_err_e *err,
    const char **why)
{
    char               *out;
    size_t              i, n, outlen, entry;
    ngx_int_t           rc;
    smart_pin_e         pin;
    smart_pin_entry_t  *pins;

    pins = ngx_palloc(r->pool, d->nprereads * sizeof(smart_pin_entry_t));
    if (pins == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < d->nprereads; i++) {
        if (pre->tags[i].len != 0) {
            pins[n].index = d->prereads[i].index;
            pins[n].tag = (const char *) pre->tags[i].data;
            pins[n].len = pre->tags[i].len;
            n++;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    pin = smart_pin_bundle((const char *) ctx->req_body.data,
                           ctx->req_body.len, pins, n, &out, &outlen, &entry);

    switch (pin) {

    case SMART_PIN_SET:
        break;

    case SMART_PIN_CONFLICT:
        *err = SMART_ERR_CONFLICT;
        *why = "an entry's ifMatch names another version than the current "
               "one";
        return ngx_http_smart_pre_refuse(r, ctx, d, entry, *err);

    case SMART_PIN_NOMEM:
        return NGX_ERROR;

    default:
        *err = SMART_ERR_REQUEST_INVALID;
        *why = "the bundle's entries cannot be pinned to the versions read";
        return NGX_DECLINED;
    }

    rc = ngx_http_smart_replace_body(r, &ctx->req_body, (u_char *) out,
                                     outlen);
    free(out);

    return rc;
}
