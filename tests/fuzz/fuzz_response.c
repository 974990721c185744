
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: the response check (smart_response.c,
 * smart_compartment.c, smart_json.c).
 *
 * Input: byte 0 picks the interaction (and, with its high bit, granular
 * restrictions: then byte 3 picks them from fuzz_restrictions[], whether
 * the first is a patient/ scope's, whether a second one joins, and whether
 * the patient is given), byte 1 the requested type (mostly a few
 * compartment and other types, else any), byte 2 the patient, the base and
 * the correlation ID; the rest is the response body, copied into a buffer
 * of its exact size so that ASan catches any read past its length.
 *
 * Aborts when a result breaks a promise of smart_response.h: a verdict
 * outside the enum, a body on anything but RELEASE_FILTERED, a filtered
 * body that is not JSON or that the check would not release unchanged,
 * and above all a released body (as sent, or filtered) with a resource
 * that is not proven the patient's: every resource in it, Bundle entries
 * and the Bundles a batch-response holds included, is re-checked with
 * smart_compartment_check() on its own.  With restrictions, every
 * resource released must satisfy one of them by this file's own reading
 * of the token tables (fuzz_token_holds(), written apart from
 * smart_restrict.c) and, for a patient one, be in the compartment.  Leaks
 * are LeakSanitizer's.  tests/fuzz/fuzz_response.dict seeds the tokens.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_compartment.h"
#include "smart_fhir_tables.h"
#include "smart_response.h"

#include "fuzz_util.h"
#include "../tape_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const smart_fhir_interaction_e  fuzz_interactions[] = {
    SMART_FHIR_I_READ, SMART_FHIR_I_VREAD, SMART_FHIR_I_HISTORY_INSTANCE,
    SMART_FHIR_I_HISTORY_TYPE, SMART_FHIR_I_HISTORY_SYSTEM,
    SMART_FHIR_I_SEARCH_TYPE, SMART_FHIR_I_SEARCH_SYSTEM,
    SMART_FHIR_I_SEARCH_COMPARTMENT, SMART_FHIR_I_OPERATION,
    SMART_FHIR_I_BATCH, SMART_FHIR_I_TRANSACTION,
    SMART_FHIR_I_BATCH_OR_TRANSACTION, SMART_FHIR_I_CREATE
};

static const char  *fuzz_types[] = {
    NULL, "Observation", "Patient", "Condition", "Device", "Task",
    "Encounter", "Binary", "Practitioner"
};

static const char  *fuzz_patients[] = { "p1", "example", "123", "a.b" };

static const char  *fuzz_bases[] = {
    NULL, "https://ehr.example/fhir", "https://ehr.example/fhir/", ""
};

static const char  *fuzz_cids[] = { "cid-fuzz-0001", "bad id" };


#define fuzz_nelts(a)  (sizeof(a) / sizeof((a)[0]))

#define FUZZ_CAT  "http://terminology.hl7.org/CodeSystem/observation-category"

#define FUZZ_P(name, value)                                                  \
    { name, sizeof(name) - 1, value, sizeof(value) - 1 }


/*
 * Restrictions of one or two parameters (second name NULL: one); no
 * escapes, so that the oracle splits values on ',' and '|' alone.
 */
static const smart_scope_param_t  fuzz_restrictions[][2] = {
    { FUZZ_P("category", FUZZ_CAT "|laboratory"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("category", "laboratory"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("category", FUZZ_CAT "|"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("code", "|x"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("code", "http://loinc.org|1234-5,x"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("status", "final"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("_tag", "urn:t|x"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("identifier", "urn:i|v"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("category", "laboratory"), FUZZ_P("status", "final") },
    { FUZZ_P("date", "2020"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("gender", "female"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("value-concept", "urn:v|pos"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("_id", "p1"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("active", "true"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("category:not", "laboratory"), { NULL, 0, NULL, 0 } },
    { FUZZ_P("combo-code", "x,urn:c|"), { NULL, 0, NULL, 0 } }
};


static void
fuzz_restriction(uint8_t b, smart_restriction_t *r)
{
    const smart_scope_param_t  *p;

    p = fuzz_restrictions[b % fuzz_nelts(fuzz_restrictions)];
    r->params = p;
    r->nparams = (p[1].name != NULL) ? 2 : 1;
    r->patient = 0;
}


/*
 * ctl[3]: bits 0-3 the first restriction, 4 it is a patient one, 5 a
 * second (user/) one, the next in the table, joins, 6 no patient is given.
 */
static void
fuzz_restrict(const uint8_t *ctl, smart_response_req_t *rq,
    smart_restriction_t *r)
{
    fuzz_restriction(ctl[3] & 0x0f, &r[0]);
    r[0].patient = (ctl[3] & 0x10) != 0;
    rq->nrestrictions = 1;

    if (ctl[3] & 0x20) {
        fuzz_restriction((ctl[3] & 0x0f) + 1, &r[1]);
        rq->nrestrictions = 2;
    }

    rq->restrictions = r;

    if (ctl[3] & 0x40) {
        rq->patient = NULL;
    }
}


static void
fuzz_request(const uint8_t *ctl, smart_response_req_t *rq)
{
    const char  *name;

    memset(rq, 0, sizeof(smart_response_req_t));
    rq->interaction = fuzz_interactions[(ctl[0] & 0x7f)
                                        % fuzz_nelts(fuzz_interactions)];

    if (ctl[1] < 0x80) {
        name = fuzz_types[ctl[1] % fuzz_nelts(fuzz_types)];
        rq->type = (name != NULL) ? smart_fhir_type_index(name, strlen(name))
                                  : -1;

    } else {
        rq->type = (int) (ctl[1] % SMART_FHIR_NTYPES);
    }

    rq->id = (ctl[2] & 0x40) ? "o1" : "p1";
    rq->patient = fuzz_patients[ctl[2] % fuzz_nelts(fuzz_patients)];
    rq->base = fuzz_bases[(ctl[2] >> 2) % fuzz_nelts(fuzz_bases)];
    rq->correlation_id = fuzz_cids[(ctl[2] >> 4) & 1];
}


/* The compartment check of res (jansson's tree, written out and read as
   the check reads a body). */
static smart_compartment_e
fuzz_compartment(const smart_compartment_t *cx, const json_t *res)
{
    tape_json_t               d;
    smart_compartment_e       e;
    const smart_tape_node_t  *root;

    root = tape_json(&d, res);
    fuzz_check(root != NULL);
    e = smart_compartment_check(cx, root);
    tape_json_free(&d);

    return e;
}


/* May a released body hold res?  A Bundle only where may_bundle says. */
static void fuzz_released(const smart_compartment_t *cx, const json_t *res,
    int may_bundle);


/*
 * Every resource of a released Bundle, outcome entries included; a nested
 * one (inside a batch-response) is a searchset or a history.
 */
static void
fuzz_released_bundle(const smart_compartment_t *cx, const json_t *bundle,
    int nested)
{
    int            responses;
    size_t         i;
    const char    *type;
    const json_t  *entries, *e, *res, *outcome;

    type = json_string_value(json_object_get(bundle, "type"));
    fuzz_check(type != NULL);
    fuzz_check(!nested || strcmp(type, "searchset") == 0
               || strcmp(type, "history") == 0);

    responses = strcmp(type, "batch-response") == 0
                || strcmp(type, "transaction-response") == 0;

    entries = json_object_get(bundle, "entry");
    fuzz_check(entries == NULL || json_is_array(entries));

    for (i = 0; i < json_array_size(entries); i++) {
        e = json_array_get(entries, i);
        fuzz_check(json_is_object(e));

        res = json_object_get(e, "resource");
        if (res != NULL) {
            fuzz_released(cx, res, !nested && responses);
        }

        outcome = json_object_get(json_object_get(e, "response"), "outcome");
        if (outcome != NULL) {
            fuzz_check(fuzz_compartment(cx, outcome)
                       == SMART_COMPARTMENT_NOT_PATIENT_DATA);
        }
    }
}


static void
fuzz_released(const smart_compartment_t *cx, const json_t *res,
    int may_bundle)
{
    const char  *rt;

    rt = json_string_value(json_object_get(res, "resourceType"));

    if (rt != NULL && strcmp(rt, "Bundle") == 0) {
        fuzz_check(may_bundle);
        fuzz_released_bundle(cx, res, 1);
        return;
    }

    switch (fuzz_compartment(cx, res)) {
    case SMART_COMPARTMENT_IN:
    case SMART_COMPARTMENT_NOT_PATIENT_DATA:
        return;
    default:
        fuzz_check(0);
    }
}


/* --- the oracle of restrictions ------------------------------------------ */

/* Does the element v of datatype hold system s[0..sl) / code? */
static int
fuzz_token_leaf(const json_t *v, int datatype, int bar, const char *s,
    size_t sl, const char *code)
{
    size_t         i;
    const char    *cn, *have;
    const json_t  *sys, *c;

    if (datatype == SMART_FHIR_TOKEN_CODEABLECONCEPT) {
        for (i = 0; i < json_array_size(json_object_get(v, "coding")); i++) {
            if (fuzz_token_leaf(json_array_get(json_object_get(v, "coding"),
                                               i),
                                SMART_FHIR_TOKEN_CODING, bar, s, sl, code))
            {
                return 1;
            }
        }

        return 0;
    }

    if (datatype == SMART_FHIR_TOKEN_STRING
        || datatype == SMART_FHIR_TOKEN_BOOLEAN)
    {
        have = json_is_string(v) ? json_string_value(v)
               : json_is_true(v) && datatype == SMART_FHIR_TOKEN_BOOLEAN
               ? "true"
               : json_is_false(v) && datatype == SMART_FHIR_TOKEN_BOOLEAN
               ? "false" : NULL;

        return !bar && have != NULL && strcmp(have, code) == 0
               && (datatype == SMART_FHIR_TOKEN_BOOLEAN
                   || strlen(have) == json_string_length(v));
    }

    if (!json_is_object(v)) {
        return 0;
    }

    cn = (datatype == SMART_FHIR_TOKEN_CODING) ? "code" : "value";
    sys = json_object_get(v, "system");
    c = json_object_get(v, cn);

    if (datatype == SMART_FHIR_TOKEN_CONTACTPOINT && bar) {
        return 0;
    }

    if (bar && sl == 0 && sys != NULL) {
        return 0;
    }

    if (bar && sl > 0
        && !(json_is_string(sys) && json_string_length(sys) == sl
             && memcmp(json_string_value(sys), s, sl) == 0))
    {
        return 0;
    }

    if (bar && sl > 0 && code[0] == '\0') {
        return 1;
    }

    return json_is_string(c) && json_string_length(c) == strlen(code)
           && strcmp(json_string_value(c), code) == 0;
}


/* Any element along path below v (arrays by any element, none nested). */
static int
fuzz_token_walk(const json_t *v, const char *path, int datatype, int bar,
    const char *s, size_t sl, const char *code)
{
    size_t       i;
    char         key[64];
    const char  *dot;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            if (!json_is_array(json_array_get(v, i))
                && fuzz_token_walk(json_array_get(v, i), path, datatype, bar,
                                   s, sl, code))
            {
                return 1;
            }
        }

        return 0;
    }

    if (*path == '\0') {
        return v != NULL && fuzz_token_leaf(v, datatype, bar, s, sl, code);
    }

    dot = strchr(path, '.');
    i = dot ? (size_t) (dot - path) : strlen(path);
    fuzz_check(i < sizeof(key));
    memcpy(key, path, i);
    key[i] = '\0';

    return json_is_object(v)
           && fuzz_token_walk(json_object_get(v, key), dot ? dot + 1 : "",
                              datatype, bar, s, sl, code);
}


/* One parameter: some piece of its value along some path of the tables. */
static int
fuzz_token_holds(int t, const json_t *res, const smart_scope_param_t *p)
{
    char                           piece[256], *bar, *comma, *cur;
    size_t                         i, k;
    const smart_fhir_tokparams_t  *l;
    const smart_fhir_tokparam_t   *tp;

    tp = NULL;

    for (k = 0; k < 2 && tp == NULL; k++) {
        l = (k == 0) ? &smart_fhir_token_params[t]
                     : &smart_fhir_common_token_params;

        for (i = 0; i < l->n; i++) {
            if (strcmp(l->params[i].name, p->name) == 0) {
                tp = &l->params[i];
            }
        }
    }

    if (tp == NULL) {
        return 0;
    }

    fuzz_check(p->value_len < sizeof(piece));

    for (cur = strcpy(piece, p->value); cur != NULL; cur = comma) {
        comma = strchr(cur, ',');
        if (comma != NULL) {
            *comma++ = '\0';
        }

        bar = strchr(cur, '|');

        for (i = 0; i < tp->npaths; i++) {
            if (fuzz_token_walk(res, tp->paths[i].element,
                                tp->paths[i].datatype, bar != NULL, cur,
                                bar ? (size_t) (bar - cur) : 0,
                                bar ? bar + 1 : cur))
            {
                return 1;
            }
        }
    }

    return 0;
}


/* May a read under restrictions release res? */
static void
fuzz_restricted_released(const smart_response_req_t *rq,
    const smart_compartment_t *cx, const json_t *res)
{
    int                         t;
    size_t                      k, j;
    smart_compartment_e         e;
    const smart_restriction_t  *r;

    t = json_is_string(json_object_get(res, "resourceType"))
        ? smart_fhir_type_index(
              json_string_value(json_object_get(res, "resourceType")),
              json_string_length(json_object_get(res, "resourceType")))
        : -1;
    fuzz_check(t >= 0);

    if (t == smart_fhir_type_index("OperationOutcome", 16)) {
        return;
    }

    fuzz_check(t == rq->type);

    for (k = 0; k < rq->nrestrictions; k++) {
        r = &rq->restrictions[k];

        if (r->patient) {
            e = fuzz_compartment(cx, res);
            if (e != SMART_COMPARTMENT_IN
                && e != SMART_COMPARTMENT_NOT_PATIENT_DATA)
            {
                continue;
            }
        }

        for (j = 0; j < r->nparams && fuzz_token_holds(t, res, &r->params[j]);
             j++)
        {
            /* void */
        }

        if (j == r->nparams) {
            return;
        }
    }

    fuzz_check(0);
}


/* The read or each version of the history, under restrictions. */
static void
fuzz_check_restricted(const smart_response_req_t *rq,
    const smart_compartment_t *cx, const json_t *doc)
{
    size_t         i;
    const json_t  *entries, *res;

    fuzz_check(rq->interaction == SMART_FHIR_I_READ
               || rq->interaction == SMART_FHIR_I_VREAD
               || rq->interaction == SMART_FHIR_I_HISTORY_INSTANCE);

    fuzz_check(json_is_string(json_object_get(doc, "resourceType")));

    if (rq->interaction != SMART_FHIR_I_HISTORY_INSTANCE
        || strcmp(json_string_value(json_object_get(doc, "resourceType")),
                  "Bundle") != 0)
    {
        fuzz_restricted_released(rq, cx, doc);
        return;
    }

    entries = json_object_get(doc, "entry");

    for (i = 0; i < json_array_size(entries); i++) {
        res = json_object_get(json_array_get(entries, i), "resource");
        if (res != NULL) {
            fuzz_restricted_released(rq, cx, res);
        }
    }
}


static void
fuzz_check_released(const smart_response_req_t *rq, const char *body,
    size_t len)
{
    json_t               *doc;
    json_error_t          err;
    smart_compartment_t   cx;

    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);

    if (doc == NULL) {
        /* a number too large for jansson (smart_tape.h): no oracle */
        fuzz_check(json_error_code(&err) == json_error_numeric_overflow);
        return;
    }

    cx.patient = rq->patient;
    cx.patient_len = (rq->patient != NULL) ? strlen(rq->patient) : 0;
    cx.base = (rq->base != NULL) ? rq->base : "";
    cx.base_len = strlen(cx.base);

    /* under restrictions, the read or each version; otherwise a Bundle at
       the top is checked entry by entry */
    if (rq->nrestrictions > 0) {
        fuzz_check_restricted(rq, &cx, doc);

    } else if (json_is_string(json_object_get(doc, "resourceType"))
               && strcmp(json_string_value(json_object_get(doc,
                                                           "resourceType")),
                         "Bundle") == 0)
    {
        fuzz_released_bundle(&cx, doc, 0);

    } else {
        fuzz_released(&cx, doc, 0);
    }

    json_decref(doc);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                      *body;
    size_t                     skip;
    smart_response_t           out, again;
    smart_restriction_t        r[2];
    smart_response_req_t       rq;
    smart_response_verdict_e   v;

    skip = (size > 0 && (data[0] & 0x80)) ? 4 : 3;

    if (size < skip) {
        return 0;
    }

    fuzz_request(data, &rq);

    if (skip == 4) {
        fuzz_restrict(data, &rq, r);
    }

    body = fuzz_dup_exact(data + skip, size - skip);

    v = smart_response_check(&rq, body, size - skip, &out);

    fuzz_check(v == out.verdict && out.why != NULL);
    fuzz_check(v == SMART_RESPONSE_RELEASE
               || v == SMART_RESPONSE_RELEASE_FILTERED
               || v == SMART_RESPONSE_MISMATCH
               || v == SMART_RESPONSE_UNVERIFIABLE);
    fuzz_check((v == SMART_RESPONSE_RELEASE_FILTERED)
               == (out.body != NULL));
    fuzz_check((v == SMART_RESPONSE_RELEASE_FILTERED) == (out.withheld > 0));

    /* the catalogue code goes with the verdict */
    fuzz_check(v == SMART_RESPONSE_MISMATCH
               ? (out.reason == SMART_ERR_PATIENT_MISMATCH
                  || (out.reason == SMART_ERR_SCOPE_INSUFFICIENT
                      && rq.nrestrictions > 0))
               : v == SMART_RESPONSE_UNVERIFIABLE
               ? out.reason == SMART_ERR_RESPONSE_UNVERIFIABLE
               : out.reason == SMART_ERR__COUNT);

    if (v == SMART_RESPONSE_RELEASE) {
        fuzz_check_released(&rq, body, size - skip);
    }

    if (v == SMART_RESPONSE_RELEASE_FILTERED) {
        fuzz_check(out.body[out.body_len] == '\0'
                   && memchr(out.body, '\0', out.body_len) == NULL);
        fuzz_check_released(&rq, out.body, out.body_len);

        /* what was filtered is released as it stands */
        fuzz_check(smart_response_check(&rq, out.body, out.body_len, &again)
                   == SMART_RESPONSE_RELEASE);
        smart_response_free(&again);
    }

    smart_response_free(&out);
    free(body);

    return 0;
}
