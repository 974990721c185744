
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the response check (smart_response.h,
 * docs/scopes.md "Checked on the response").
 *
 * Shape: the body is bounded (size, then nesting), parsed once by
 * smart_tape_parse() (strict JSON, no repeated member names, no tree: a
 * flat array of nodes that know where their text is), and walked: one
 * resource, or the entries of a Bundle (and of a searchset or history
 * Bundle inside a batch-response).  When include entries are withheld,
 * the new body is cut from the server's own bytes at the offsets the
 * parse recorded for those entries, so everything released is byte for
 * byte what the server sent.  Plain C99: no NGINX headers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smart_compartment.h"
#include "smart_restrict.h"
#include "smart_response.h"
#include "smart_tape.h"
#include "smart_text.h"


/*
 * Nodes lent to the parse from the stack (48 bytes each, 9 KiB): a
 * resource of a few KiB fits without an allocation; larger bodies move
 * to the heap.
 */
#define SMART_RESPONSE_STOCK    192

/* what an entry function answers; a refusal is written into the result */
#define SMART_RESP_KEEP         0
#define SMART_RESP_WITHHOLD     1
#define SMART_RESP_REFUSED      2

/* Bundle.type values the check knows */
#define SMART_RESP_B_OTHER      0
#define SMART_RESP_B_SEARCHSET  1
#define SMART_RESP_B_HISTORY    2
#define SMART_RESP_B_BATCH      3       /* batch-response */
#define SMART_RESP_B_TRANSACT   4       /* transaction-response */
#define SMART_RESP_B_RESPONSES  5       /* expected: either of the two */

/* search.mode */
#define SMART_RESP_M_BAD        0
#define SMART_RESP_M_MATCH      1
#define SMART_RESP_M_INCLUDE    2
#define SMART_RESP_M_OUTCOME    3

/* the outcome entry appended to a Bundle that lost entries */
#define SMART_RESP_OUTCOME_MAX  512


/* The entries of one Bundle in the body's text, and which are withheld. */
typedef struct {
    size_t                       start;     /* '[' of Bundle.entry */
    size_t                       end;       /* just past its ']' */
    size_t                      *starts;    /* element k: starts[k] .. */
    size_t                      *ends;      /* .. ends[k] */
    unsigned char               *drop;      /* 1: withheld */
    size_t                       n;
    size_t                       ndrop;
} smart_resp_entries_t;


/* One Bundle being checked. */
typedef struct {
    int                          kind;      /* SMART_RESP_B_* expected */
    int                          type;      /* match / history entries'
                                               type, -1: any */
    const char                  *id;        /* history instance or NULL */
    int                          nested;    /* inside a batch-response */
    const smart_tape_node_t     *entries;   /* Bundle.entry, or NULL */
    size_t                       n;         /* entries */
    smart_resp_entries_t        *pos;       /* computed when first needed */
} smart_resp_bundle_t;


typedef struct {
    const smart_response_req_t  *rq;
    smart_compartment_t          cx;
    const char                  *body;
    size_t                       len;
    size_t                       entries;   /* examined so far */
    long                         outer;     /* outer entry index, or -1 */
    smart_resp_entries_t       **edits;     /* Bundles that lost entries,
                                               in body order */
    size_t                       nedits;
    size_t                       cap;
    smart_response_t            *out;
} smart_resp_ctx_t;


static int smart_resp_bundle(smart_resp_ctx_t *c,
    const smart_tape_node_t *bundle, smart_resp_bundle_t *b);


/* Records the first refusal; the caller stops at once. */
static int
smart_resp_refuse(smart_resp_ctx_t *c, smart_response_verdict_e v,
    const char *why)
{
    c->out->verdict = v;
    c->out->why = why;
    c->out->entry = c->outer;
    c->out->reason = (v == SMART_RESPONSE_MISMATCH)
                     ? SMART_ERR_PATIENT_MISMATCH
                     : SMART_ERR_RESPONSE_UNVERIFIABLE;

    return SMART_RESP_REFUSED;
}


static int
smart_resp_is_type(const smart_tape_node_t *res, const char *name)
{
    int  t;

    t = smart_compartment_type(res);

    return t >= 0 && strcmp(smart_fhir_types[t].name, name) == 0;
}


/*
 * An OperationOutcome the check may release: one that carries no resource
 * ("contained": a hostile server could hide another patient's record in
 * it).
 */
static int
smart_resp_outcome_ok(const smart_tape_node_t *res)
{
    return smart_resp_is_type(res, "OperationOutcome")
           && smart_tape_get(res, "contained") == NULL;
}


static int
smart_resp_bundle_kind(const smart_tape_node_t *bundle)
{
    size_t                    i;
    const smart_tape_node_t  *type;

    static const char  *names[] = {
        "searchset", "history", "batch-response", "transaction-response"
    };

    type = smart_tape_get(bundle, "type");

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (smart_tape_str_is(type, names[i])) {
            return SMART_RESP_B_SEARCHSET + (int) i;
        }
    }

    return SMART_RESP_B_OTHER;
}


static void
smart_resp_entries_free(smart_resp_entries_t *pos)
{
    if (pos != NULL) {
        free(pos->starts);
        free(pos->ends);
        free(pos->drop);
        free(pos);
    }
}


/* Where the entries of a Bundle sit in the text, as the parse found. */
static smart_resp_entries_t *
smart_resp_entries(const smart_tape_node_t *entries)
{
    size_t                    k, n;
    smart_resp_entries_t     *pos;
    const smart_tape_node_t  *e;

    pos = calloc(1, sizeof(smart_resp_entries_t));
    if (pos == NULL) {
        return NULL;
    }

    n = smart_tape_count(entries);
    pos->n = n;
    pos->starts = malloc((n > 0 ? n : 1) * sizeof(size_t));
    pos->ends = malloc((n > 0 ? n : 1) * sizeof(size_t));
    pos->drop = calloc(n > 0 ? n : 1, 1);

    if (pos->starts == NULL || pos->ends == NULL || pos->drop == NULL) {
        smart_resp_entries_free(pos);
        return NULL;
    }

    for (e = smart_tape_first(entries), k = 0; e != NULL;
         e = smart_tape_next(entries, e), k++)
    {
        pos->starts[k] = e->start;
        pos->ends[k] = e->end;
    }

    pos->start = entries->start;
    pos->end = entries->end;

    return pos;
}


/* The positions of b's entries, computed once; 0 when they are known. */
static int
smart_resp_positions(smart_resp_ctx_t *c, smart_resp_bundle_t *b)
{
    if (b->pos == NULL) {
        b->pos = smart_resp_entries(b->entries);

        if (b->pos == NULL) {
            (void) smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                     "no memory");
            return -1;
        }
    }

    return 0;
}


/*
 * The compartment check of a resource the response would release, with
 * what it carries in "contained".  A resource proven the patient's
 * carries its contained resources as part of its record.  One that holds
 * no one's data (an Organization, a Medication) may carry resources that
 * hold no one's data either, or the patient's own: another patient's
 * record there (a hostile server could hide one) answers for the whole.
 * An OperationOutcome carries nothing (smart_resp_outcome_ok()), and a
 * contained resource no further one (FHIR forbids it).
 */
static smart_compartment_e
smart_resp_compartment(smart_resp_ctx_t *c, const smart_tape_node_t *res)
{
    smart_compartment_e       e;
    const smart_tape_node_t  *list, *v;

    e = smart_compartment_check(&c->cx, res);
    list = smart_tape_get(res, "contained");

    if (e != SMART_COMPARTMENT_NOT_PATIENT_DATA || list == NULL) {
        return e;
    }

    if (!smart_tape_is(list, SMART_TAPE_ARRAY)
        || smart_resp_is_type(res, "OperationOutcome"))
    {
        return SMART_COMPARTMENT_UNPROVABLE;
    }

    for (v = smart_tape_first(list); v != NULL; v = smart_tape_next(list, v))
    {
        if (smart_tape_get(v, "contained") != NULL) {
            return SMART_COMPARTMENT_UNPROVABLE;
        }

        e = smart_compartment_check(&c->cx, v);

        if (e != SMART_COMPARTMENT_IN
            && e != SMART_COMPARTMENT_NOT_PATIENT_DATA)
        {
            return e;
        }
    }

    return SMART_COMPARTMENT_NOT_PATIENT_DATA;
}


/*
 * What the compartment check's answer means for a resource the request
 * asked for (a read, a match, a version, a batch entry): kept only when
 * proven the patient's or holding no one's data.
 */
static int
smart_resp_answer(smart_resp_ctx_t *c, smart_compartment_e e)
{
    switch (e) {

    case SMART_COMPARTMENT_IN:
    case SMART_COMPARTMENT_NOT_PATIENT_DATA:
        return SMART_RESP_KEEP;

    case SMART_COMPARTMENT_OUT:
        return smart_resp_refuse(c, SMART_RESPONSE_MISMATCH,
                                 "a resource is not in the patient's "
                                 "compartment");

    case SMART_COMPARTMENT_UNPROVABLE:
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a resource's type cannot be proven the "
                                 "patient's from its body");

    default:
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a resource is not a FHIR R4 resource");
    }
}


/*
 * A resource a read by id under granular scopes asked for (type known):
 * kept when one restriction holds (smart_response.h).
 */
static int
smart_resp_restricted(smart_resp_ctx_t *c, const smart_tape_node_t *res,
    int type)
{
    int                         outside, checked;
    size_t                      k;
    smart_compartment_e         e;
    const smart_restriction_t  *r;

    e = SMART_COMPARTMENT_OUT;
    checked = 0;
    outside = 0;

    for (k = 0; k < c->rq->nrestrictions; k++) {
        r = &c->rq->restrictions[k];

        if (r->patient) {
            if (!checked) {
                e = smart_resp_compartment(c, res);
                checked = 1;
            }

            if (e != SMART_COMPARTMENT_IN
                && e != SMART_COMPARTMENT_NOT_PATIENT_DATA)
            {
                continue;
            }
        }

        if (smart_restrict_match(type, res, r->params, r->nparams)) {
            return SMART_RESP_KEEP;
        }

        outside = 1;
    }

    if (outside) {
        (void) smart_resp_refuse(c, SMART_RESPONSE_MISMATCH,
                                 "a resource is outside every granular "
                                 "restriction");
        c->out->reason = SMART_ERR_SCOPE_INSUFFICIENT;
        return SMART_RESP_REFUSED;
    }

    /* every restriction is a patient one, and the compartment said no */
    return smart_resp_answer(c, e);
}


/* A resource the request asked for, of type (any when -1). */
static int
smart_resp_resource(smart_resp_ctx_t *c, const smart_tape_node_t *res,
    int type)
{
    if (type >= 0 && smart_compartment_type(res) != type) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a resource is not of the type asked for");
    }

    if (c->rq->nrestrictions > 0) {
        return smart_resp_restricted(c, res, type);
    }

    return smart_resp_answer(c, smart_resp_compartment(c, res));
}


static int
smart_resp_search_mode(const smart_tape_node_t *entry)
{
    const smart_tape_node_t  *search, *mode;

    search = smart_tape_get(entry, "search");
    if (search == NULL) {
        return SMART_RESP_M_MATCH;
    }

    mode = smart_tape_get(search, "mode");
    if (!smart_tape_is(search, SMART_TAPE_OBJECT)
        || (mode != NULL && !smart_tape_is(mode, SMART_TAPE_STRING)))
    {
        return SMART_RESP_M_BAD;
    }

    if (mode == NULL || smart_tape_str_is(mode, "match")) {
        return SMART_RESP_M_MATCH;
    }

    if (smart_tape_str_is(mode, "include")) {
        return SMART_RESP_M_INCLUDE;
    }

    return smart_tape_str_is(mode, "outcome") ? SMART_RESP_M_OUTCOME
                                              : SMART_RESP_M_BAD;
}


/*
 * A searchset entry.  Matches are what the app asked for: one outside the
 * compartment refuses the whole response.  Includes only follow
 * references, so one that is not proven the patient's is withheld and the
 * rest is still worth sending.
 */
static int
smart_resp_search_entry(smart_resp_ctx_t *c, const smart_tape_node_t *entry,
    const smart_resp_bundle_t *b)
{
    int                       mode;
    smart_compartment_e       e;
    const smart_tape_node_t  *res;

    mode = smart_resp_search_mode(entry);
    res = smart_tape_get(entry, "resource");

    if (mode == SMART_RESP_M_BAD) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "an entry's search.mode is not match, "
                                 "include or outcome");
    }

    if (res == NULL) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a searchset entry has no resource");
    }

    if (mode == SMART_RESP_M_MATCH) {
        return smart_resp_resource(c, res, b->type);
    }

    if (mode == SMART_RESP_M_OUTCOME) {
        /* an OperationOutcome is about the search, not about a patient */
        return smart_resp_outcome_ok(res)
               ? SMART_RESP_KEEP
               : smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                   "an outcome entry is not an "
                                   "OperationOutcome without contained "
                                   "resources");
    }

    e = smart_resp_compartment(c, res);

    return (e == SMART_COMPARTMENT_OUT || e == SMART_COMPARTMENT_UNPROVABLE)
           ? SMART_RESP_WITHHOLD : smart_resp_answer(c, e);
}


/* Does the string v name Type/id of the history asked for? */
static int
smart_resp_names_instance(const smart_resp_ctx_t *c,
    const smart_tape_node_t *v, const smart_resp_bundle_t *b)
{
    size_t        n;
    const char   *s;
    smart_ref_t   ref;

    s = smart_tape_str(v, &n);

    return s != NULL
           && smart_ref_parse(s, n, c->cx.base, c->cx.base_len, &ref) == 0
           && ref.type == b->type && ref.id_len == strlen(b->id)
           && memcmp(ref.id, b->id, ref.id_len) == 0;
}


/*
 * A history entry without a resource: a deletion.  It carries no record
 * to prove, only the instance's name and a time, so it is allowed only in
 * the history of one instance and only when it names that instance:
 * request.url (which history entries always have) and fullUrl (when
 * present) must both be Type/id of the request, relative or on the base.
 * It then tells the app what a read of the instance would (410 Gone).
 * Anywhere else (a type or system history, a history inside a batch) it
 * would name a record no one has proven the patient's.
 */
static int
smart_resp_deleted(smart_resp_ctx_t *c, const smart_tape_node_t *entry,
    const smart_resp_bundle_t *b)
{
    const smart_tape_node_t  *url, *full;

    url = smart_tape_get(smart_tape_get(entry, "request"), "url");
    full = smart_tape_get(entry, "fullUrl");

    if (b->id == NULL || b->type < 0
        || !smart_resp_names_instance(c, url, b)
        || (full != NULL && !smart_resp_names_instance(c, full, b)))
    {
        return smart_resp_refuse(c, SMART_RESPONSE_MISMATCH,
                                 "a history entry without a resource does "
                                 "not name the instance asked for");
    }

    return SMART_RESP_KEEP;
}


static int
smart_resp_history_entry(smart_resp_ctx_t *c,
    const smart_tape_node_t *entry, const smart_resp_bundle_t *b)
{
    const smart_tape_node_t  *res;

    res = smart_tape_get(entry, "resource");

    return (res != NULL) ? smart_resp_resource(c, res, b->type)
                         : smart_resp_deleted(c, entry, b);
}


/*
 * A searchset or history Bundle answering one entry of a batch: checked
 * as a Bundle of its own, entries of any type, no instance to name.
 */
static int
smart_resp_nested(smart_resp_ctx_t *c, const smart_tape_node_t *res)
{
    smart_resp_bundle_t  nb;

    memset(&nb, 0, sizeof(smart_resp_bundle_t));
    nb.kind = smart_resp_bundle_kind(res);
    nb.type = -1;
    nb.nested = 1;

    if (nb.kind != SMART_RESP_B_SEARCHSET && nb.kind != SMART_RESP_B_HISTORY)
    {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a Bundle in a batch-response is not a "
                                 "searchset or a history");
    }

    return smart_resp_bundle(c, res, &nb);
}


static int
smart_resp_batch_entry(smart_resp_ctx_t *c, const smart_tape_node_t *entry,
    smart_resp_bundle_t *b)
{
    const smart_tape_node_t  *res;

    res = smart_tape_get(entry, "resource");

    if (res == NULL) {
        return SMART_RESP_KEEP;
    }

    if (!b->nested && smart_resp_is_type(res, "Bundle")) {
        return smart_resp_nested(c, res);
    }

    return smart_resp_resource(c, res, -1);
}


static int
smart_resp_entry(smart_resp_ctx_t *c, const smart_tape_node_t *entry,
    smart_resp_bundle_t *b)
{
    const smart_tape_node_t  *outcome;

    if (!smart_tape_is(entry, SMART_TAPE_OBJECT)) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a Bundle entry is not an object");
    }

    /* any entry may carry one (history, batch-response, searchset) */
    outcome = smart_tape_get(smart_tape_get(entry, "response"), "outcome");

    if (outcome != NULL && !smart_resp_outcome_ok(outcome)) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "a response.outcome is not an "
                                 "OperationOutcome without contained "
                                 "resources");
    }

    switch (b->kind) {

    case SMART_RESP_B_SEARCHSET:
        return smart_resp_search_entry(c, entry, b);

    case SMART_RESP_B_HISTORY:
        return smart_resp_history_entry(c, entry, b);

    default:
        return smart_resp_batch_entry(c, entry, b);
    }
}


/* b lost entries: its positions join the edits, in body order. */
static int
smart_resp_edit(smart_resp_ctx_t *c, smart_resp_bundle_t *b)
{
    size_t                  cap;
    smart_resp_entries_t  **e;

    if (c->nedits == c->cap) {
        cap = (c->cap == 0) ? 4 : 2 * c->cap;
        e = realloc(c->edits, cap * sizeof(smart_resp_entries_t *));

        if (e == NULL) {
            return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                     "no memory");
        }

        c->edits = e;
        c->cap = cap;
    }

    c->edits[c->nedits++] = b->pos;
    b->pos = NULL;

    return SMART_RESP_KEEP;
}


static int
smart_resp_bundle_ok(smart_resp_ctx_t *c, const smart_tape_node_t *bundle,
    const smart_resp_bundle_t *b, const smart_tape_node_t *entries)
{
    int  kind;

    kind = smart_resp_bundle_kind(bundle);

    if (kind != b->kind
        && !(b->kind == SMART_RESP_B_RESPONSES
             && (kind == SMART_RESP_B_BATCH || kind == SMART_RESP_B_TRANSACT)))
    {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "Bundle.type is not what the interaction "
                                 "returns");
    }

    if (entries != NULL && !smart_tape_is(entries, SMART_TAPE_ARRAY)) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "Bundle.entry is not an array");
    }

    if (smart_tape_count(entries) > SMART_RESPONSE_MAX_ENTRIES - c->entries)
    {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "too many Bundle entries");
    }

    c->entries += smart_tape_count(entries);

    return SMART_RESP_KEEP;
}


/* Every entry of one Bundle; KEEP or REFUSED. */
static int
smart_resp_bundle(smart_resp_ctx_t *c, const smart_tape_node_t *bundle,
    smart_resp_bundle_t *b)
{
    int                       rc;
    size_t                    i;
    const smart_tape_node_t  *entries, *e;

    entries = smart_tape_get(bundle, "entry");

    rc = smart_resp_bundle_ok(c, bundle, b, entries);
    b->entries = entries;
    b->n = smart_tape_count(entries);

    for (e = smart_tape_first(entries), i = 0;
         rc == SMART_RESP_KEEP && e != NULL;
         e = smart_tape_next(entries, e), i++)
    {
        if (!b->nested) {
            c->outer = (long) i;
        }

        rc = smart_resp_entry(c, e, b);

        if (rc == SMART_RESP_WITHHOLD) {
            rc = (smart_resp_positions(c, b) == 0) ? SMART_RESP_KEEP
                                                   : SMART_RESP_REFUSED;
            if (rc == SMART_RESP_KEEP) {
                b->pos->drop[i] = 1;
                b->pos->ndrop++;
            }
        }
    }

    if (!b->nested) {
        c->outer = -1;
    }

    if (rc == SMART_RESP_KEEP && b->pos != NULL && b->pos->ndrop > 0) {
        rc = smart_resp_edit(c, b);
    }

    smart_resp_entries_free(b->pos);
    b->pos = NULL;

    return rc;
}


/*
 * The entry appended to a Bundle that lost n entries: an OperationOutcome
 * in search mode "outcome" that says how many, and the correlation ID for
 * support; nothing about the withheld resources or the patient.
 */
static size_t
smart_resp_outcome(char *buf, size_t cap, size_t n, const char *cid)
{
    int  len;

    if (cid == NULL || !smart_cid_valid(cid, strnlen(cid, SMART_CID_MAX + 1)))
    {
        cid = "invalid";
    }

    len = snprintf(buf, cap,
                   "{\"resource\":{\"resourceType\":\"OperationOutcome\","
                   "\"issue\":[{\"severity\":\"information\","
                   "\"code\":\"suppressed\",\"details\":{\"text\":\"%zu "
                   "included %s left out because %s could not be shown to "
                   "belong to this patient.\"},"
                   "\"diagnostics\":\"correlation-id=%s\"}]},"
                   "\"search\":{\"mode\":\"outcome\"}}",
                   n, (n == 1) ? "resource was" : "resources were",
                   (n == 1) ? "it" : "they", cid);

    return (len > 0 && (size_t) len < cap) ? (size_t) len : 0;
}


/* The new Bundle.entry of e: the kept entries as sent, then the outcome. */
static char *
smart_resp_write_entries(const smart_resp_ctx_t *c,
    const smart_resp_entries_t *e, char *p, const char *outcome, size_t olen)
{
    size_t  k;

    *p++ = '[';

    for (k = 0; k < e->n; k++) {
        if (!e->drop[k]) {
            memcpy(p, c->body + e->starts[k], e->ends[k] - e->starts[k]);
            p += e->ends[k] - e->starts[k];
            *p++ = ',';
        }
    }

    memcpy(p, outcome, olen);
    p += olen;
    *p++ = ']';

    return p;
}


/*
 * The filtered body: the server's bytes with each edited Bundle.entry
 * replaced.  A new entry list is never longer than the old one plus the
 * outcome entry (the kept entries are copies, and there is one comma for
 * each, where the old list had one between any two).
 */
static smart_response_verdict_e
smart_resp_build(smart_resp_ctx_t *c)
{
    char                   *p, *q;
    size_t                  i, cur, olen, cap;
    char                    outcome[SMART_RESP_OUTCOME_MAX];
    smart_resp_entries_t   *e;

    cap = c->len + 1;

    for (i = 0; i < c->nedits; i++) {
        if ((i > 0 && c->edits[i]->start < c->edits[i - 1]->end)
            || cap > (size_t) -1 - SMART_RESP_OUTCOME_MAX - 2)
        {
            (void) smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                     "the Bundle's text does not match its "
                                     "parse");
            return SMART_RESPONSE_UNVERIFIABLE;
        }

        cap += SMART_RESP_OUTCOME_MAX + 2;
    }

    p = malloc(cap);
    if (p == NULL) {
        (void) smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE, "no memory");
        return SMART_RESPONSE_UNVERIFIABLE;
    }

    q = p;
    cur = 0;

    for (i = 0; i < c->nedits; i++) {
        e = c->edits[i];
        olen = smart_resp_outcome(outcome, sizeof(outcome), e->ndrop,
                                  c->rq->correlation_id);
        if (olen == 0) {
            free(p);
            (void) smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                     "the outcome entry did not fit");
            return SMART_RESPONSE_UNVERIFIABLE;
        }

        memcpy(q, c->body + cur, e->start - cur);
        q = smart_resp_write_entries(c, e, q + (e->start - cur), outcome,
                                     olen);
        cur = e->end;
        c->out->withheld += e->ndrop;
    }

    memcpy(q, c->body + cur, c->len - cur);
    q += c->len - cur;
    *q = '\0';

    c->out->body = p;
    c->out->body_len = (size_t) (q - p);

    return SMART_RESPONSE_RELEASE_FILTERED;
}


/* The Bundle.type an interaction's response has; OTHER: one resource. */
static int
smart_resp_expected(smart_fhir_interaction_e i)
{
    switch (i) {

    case SMART_FHIR_I_HISTORY_INSTANCE:
    case SMART_FHIR_I_HISTORY_TYPE:
    case SMART_FHIR_I_HISTORY_SYSTEM:
        return SMART_RESP_B_HISTORY;

    case SMART_FHIR_I_SEARCH_TYPE:
    case SMART_FHIR_I_SEARCH_SYSTEM:
    case SMART_FHIR_I_SEARCH_COMPARTMENT:
        return SMART_RESP_B_SEARCHSET;

    case SMART_FHIR_I_BATCH:
        return SMART_RESP_B_BATCH;

    case SMART_FHIR_I_TRANSACTION:
        return SMART_RESP_B_TRANSACT;

    case SMART_FHIR_I_BATCH_OR_TRANSACTION:
        return SMART_RESP_B_RESPONSES;

    default:
        return SMART_RESP_B_OTHER;
    }
}


/* The parsed body: one resource or one Bundle; KEEP or REFUSED. */
static int
smart_resp_document(smart_resp_ctx_t *c, const smart_tape_node_t *doc)
{
    smart_fhir_interaction_e  i;
    smart_resp_bundle_t       b;

    i = c->rq->interaction;

    if (smart_compartment_type(doc) < 0) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is not a FHIR R4 resource");
    }

    if (smart_resp_is_type(doc, "OperationOutcome")
        && i != SMART_FHIR_I_READ && i != SMART_FHIR_I_VREAD)
    {
        /* issues about the request (a warning, an empty result), which
           the server writes about the request, not a patient's record;
           never the answer to a read, which is the resource asked for */
        return smart_resp_outcome_ok(doc)
               ? SMART_RESP_KEEP
               : smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                   "an OperationOutcome with contained "
                                   "resources");
    }

    memset(&b, 0, sizeof(smart_resp_bundle_t));
    b.kind = smart_resp_expected(i);
    b.type = c->rq->type;

    if (i == SMART_FHIR_I_OPERATION && smart_resp_is_type(doc, "Bundle")) {
        /* $everything and other operations that search: their entries
           are of any type */
        b.kind = SMART_RESP_B_SEARCHSET;
        b.type = -1;

    } else if (i == SMART_FHIR_I_READ || i == SMART_FHIR_I_VREAD
               || i == SMART_FHIR_I_OPERATION)
    {
        return smart_resp_resource(c, doc, c->rq->type);

    } else if (b.kind == SMART_RESP_B_OTHER) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the interaction's response is not "
                                 "checked");
    }

    if (!smart_resp_is_type(doc, "Bundle")) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is not a Bundle");
    }

    if (i == SMART_FHIR_I_HISTORY_INSTANCE) {
        b.id = c->rq->id;
    }

    return smart_resp_bundle(c, doc, &b);
}


/*
 * Does the check need the patient?  Always without restrictions; with
 * them, when one is a patient/ scope's.
 */
static int
smart_resp_needs_patient(const smart_response_req_t *rq)
{
    size_t  k;

    if (rq->nrestrictions == 0 || rq->restrictions == NULL) {
        return 1;
    }

    for (k = 0; k < rq->nrestrictions; k++) {
        if (rq->restrictions[k].patient) {
            return 1;
        }
    }

    return 0;
}


/* The request's facts and the body's bounds; KEEP or REFUSED. */
static int
smart_resp_prepare(smart_resp_ctx_t *c, const smart_response_req_t *rq,
    const char *body, size_t len)
{
    size_t  max;

    if (rq == NULL
        || (smart_resp_needs_patient(rq)
            && (rq->patient == NULL
                || !smart_fhir_valid_id(rq->patient, strlen(rq->patient))))
        || rq->type < -1 || rq->type >= SMART_FHIR_NTYPES
        || (rq->interaction == SMART_FHIR_I_HISTORY_INSTANCE
            && (rq->id == NULL || rq->type < 0)))
    {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the request's facts are incomplete (no "
                                 "valid patient, type or id)");
    }

    if (rq->nrestrictions > 0
        && (rq->restrictions == NULL || rq->type < 0
            || (rq->interaction != SMART_FHIR_I_READ
                && rq->interaction != SMART_FHIR_I_VREAD
                && rq->interaction != SMART_FHIR_I_HISTORY_INSTANCE)))
    {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "granular restrictions are checked on "
                                 "reads by id and instance histories only");
    }

    c->cx.patient = rq->patient;
    c->cx.patient_len = (rq->patient != NULL) ? strlen(rq->patient) : 0;
    c->cx.base = (rq->base != NULL) ? rq->base : "";
    c->cx.base_len = strlen(c->cx.base);

    max = (rq->body_max > 0) ? rq->body_max : SMART_RESPONSE_BODY_MAX_DEFAULT;

    if (body == NULL || len == 0) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is empty");
    }

    if (len > max) {
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is larger than the check takes");
    }

    return SMART_RESP_KEEP;
}


/*
 * The body parsed (its nesting bounded) into the caller's stock of nodes
 * first; KEEP or REFUSED.
 */
static int
smart_resp_parse(smart_resp_ctx_t *c, smart_tape_t *t,
    smart_tape_node_t *stock, size_t nstock)
{
    switch (smart_tape_parse_in(t, c->body, c->len, SMART_RESPONSE_MAX_DEPTH,
                                stock, nstock))
    {

    case SMART_TAPE_OK:
        return smart_tape_is(smart_tape_root(t), SMART_TAPE_OBJECT)
               ? SMART_RESP_KEEP
               : smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                   "the body is not a JSON object");

    case SMART_TAPE_DEEP:
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is nested too deep");

    case SMART_TAPE_NOMEM:
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "no memory");

    default:
        return smart_resp_refuse(c, SMART_RESPONSE_UNVERIFIABLE,
                                 "the body is not JSON (or a member is "
                                 "repeated)");
    }
}


smart_response_verdict_e
smart_response_check(const smart_response_req_t *rq, const char *body,
    size_t len, smart_response_t *out)
{
    int                rc;
    size_t             i;
    smart_tape_t       t;
    smart_resp_ctx_t   c;
    smart_tape_node_t  stock[SMART_RESPONSE_STOCK];

    memset(out, 0, sizeof(smart_response_t));
    out->verdict = SMART_RESPONSE_RELEASE;
    out->why = "";
    out->entry = -1;
    out->reason = SMART_ERR__COUNT;

    memset(&c, 0, sizeof(smart_resp_ctx_t));
    c.rq = rq;
    c.body = body;
    c.len = len;
    c.outer = -1;
    c.out = out;

    memset(&t, 0, sizeof(smart_tape_t));

    rc = smart_resp_prepare(&c, rq, body, len);

    if (rc == SMART_RESP_KEEP) {
        rc = smart_resp_parse(&c, &t, stock, SMART_RESPONSE_STOCK);
    }

    if (rc == SMART_RESP_KEEP) {
        rc = smart_resp_document(&c, smart_tape_root(&t));
    }

    if (rc == SMART_RESP_KEEP && c.nedits > 0) {
        out->verdict = smart_resp_build(&c);
    }

    for (i = 0; i < c.nedits; i++) {
        smart_resp_entries_free(c.edits[i]);
    }

    free(c.edits);
    smart_tape_free(&t);

    return out->verdict;
}


void
smart_response_free(smart_response_t *out)
{
    if (out != NULL) {
        free(out->body);
        out->body = NULL;
        out->body_len = 0;
    }
}


const char *
smart_response_verdict_name(smart_response_verdict_e v)
{
    switch (v) {
    case SMART_RESPONSE_RELEASE:
        return "release";
    case SMART_RESPONSE_RELEASE_FILTERED:
        return "release-filtered";
    case SMART_RESPONSE_MISMATCH:
        return "mismatch";
    case SMART_RESPONSE_UNVERIFIABLE:
        return "unverifiable";
    }

    return "unknown";
}


/* The body parsed as a JSON object, 0 when it is one. */
static int
smart_resp_load(smart_tape_t *t, const char *body, size_t len)
{
    if (smart_tape_parse(t, body, len, SMART_RESPONSE_MAX_DEPTH)
        != SMART_TAPE_OK)
    {
        return -1;
    }

    if (!smart_tape_is(smart_tape_root(t), SMART_TAPE_OBJECT)) {
        smart_tape_free(t);
        return -1;
    }

    return 0;
}


int
smart_response_version(const char *body, size_t len, char *out, size_t size,
    size_t *n)
{
    int                       rc;
    size_t                    vlen;
    const char               *v;
    smart_tape_t              t;
    const smart_tape_node_t  *vid;

    *n = 0;

    if (body == NULL || len == 0 || smart_resp_load(&t, body, len) != 0) {
        return -1;
    }

    vid = smart_tape_get(smart_tape_get(smart_tape_root(&t), "meta"),
                         "versionId");
    v = smart_tape_str(vid, &vlen);

    rc = (vid == NULL) ? SMART_RESPONSE_VERSION_NONE : -1;

    if (v != NULL && vlen + 1 <= size && smart_fhir_valid_id(v, vlen)) {
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        *n = vlen;
        rc = 0;
    }

    smart_tape_free(&t);

    return rc;
}


int
smart_response_binary_context(const char *body, size_t len, const char *base,
    size_t base_len, int *type, char *id, size_t size)
{
    int                       rc;
    size_t                    n;
    const char               *ref;
    smart_ref_t               r;
    smart_tape_t              t;
    const smart_tape_node_t  *root;

    *type = -1;

    if (body == NULL || len == 0 || size == 0
        || smart_resp_load(&t, body, len) != 0)
    {
        return -1;
    }

    root = smart_tape_root(&t);
    ref = smart_tape_str(smart_tape_get(smart_tape_get(root,
                                                       "securityContext"),
                                        "reference"),
                         &n);
    rc = -1;

    if (smart_resp_is_type(root, "Binary") && ref != NULL
        && smart_ref_parse(ref, n, base, base_len, &r) == 0
        && r.id_len + 1 <= size)
    {
        memcpy(id, r.id, r.id_len);
        id[r.id_len] = '\0';
        *type = r.type;
        rc = 0;
    }

    smart_tape_free(&t);

    return rc;
}
