
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: writes by id after a pre-read (issue 14).
 *
 * Under a patient scope "PUT|PATCH|DELETE T/id" of a compartment type
 * cannot be held to the patient by the request: the body may point to P
 * while the resource it replaces, patches or deletes is another patient's.
 * When the caller can read that resource first (smart_precheck_request),
 * the write is allowed on condition of that read: the decision lists what
 * to read (smart_policy_preread_t), bounded by smart_precheck_max per
 * request, and the caller forwards the write only when the current
 * version is in P's compartment (docs/scopes.md, "Pre-read").  The body
 * rules of smart_policy_write.c apply unchanged.
 *
 * Plain C99 + jansson: no NGINX headers, no global mutable state.
 */

#include <stdlib.h>
#include <string.h>

#include "smart_compartment.h"
#include "smart_policy_private.h"


/* the nesting the response check takes (SMART_RESPONSE_MAX_DEPTH): a
   deeper body is not proven, so an update-as-create of it is refused */
#define SMART_PRECHECK_DEPTH    100


/*
 * Can a write by id of a compartment type (not Patient) be allowed after a
 * pre-read?  1, or 0 with r set to the refusal, which names needed: under
 * smart_response_check off as before issue 14, without
 * smart_precheck_request saying so.
 */
int
smart_precheck_possible(smart_policy_ctx_t *c, const char *needed,
    smart_policy_res_t *r)
{
    if (c->conf->response_check == SMART_RESPONSE_CHECK_OFF) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "a write by id of a compartment type cannot be "
                       "checked against the patient; use a conditional "
                       "write with the patient parameter");
        return 0;
    }

    if (c->conf->precheck != SMART_PRECHECK_AVAILABLE) {
        smart_res_deny(r, SMART_ERR_SCOPE_INSUFFICIENT, needed,
                       "a write by id of a compartment type needs a "
                       "pre-read of the resource, and smart_precheck_request "
                       "is not configured; use a conditional write with the "
                       "patient parameter");
        return 0;
    }

    return 1;
}


/*
 * Is the body of an update itself in the patient's compartment, by the
 * proof the pre-read's answer gets (smart_compartment_check(), relative
 * references only: the policy does not know the base URL)?  The write
 * checks already require every compartment reference to be P and one to
 * be; this is the same question asked the way the response check asks it,
 * by the same code: the body (jansson's tree here) is written out and
 * read into the tape that check takes.  0 without memory.
 */
static int
smart_precheck_create_ok(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body)
{
    int                  in;
    char                *text;
    smart_tape_t         t;
    smart_compartment_t  cx;

    if (req->interaction != SMART_FHIR_I_UPDATE || body == NULL) {
        return 0;
    }

    text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        c->nomem = 1;
        return 0;
    }

    memset(&cx, 0, sizeof(smart_compartment_t));
    cx.patient = c->patient;
    cx.patient_len = c->patient_len;

    in = smart_tape_parse(&t, text, strlen(text), SMART_PRECHECK_DEPTH)
         == SMART_TAPE_OK
         && smart_compartment_check(&cx, smart_tape_root(&t))
            == SMART_COMPARTMENT_IN;

    smart_tape_free(&t);
    free(text);

    return in;
}


/* Allows req, a write by id granted by the patient scope granted, after
   the pre-read of its URL's resource. */
void
smart_res_allow_prechecked(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const json_t *body, const smart_scope_t *granted, smart_policy_res_t *r)
{
    smart_res_allow(r, granted, "allowed after a pre-read: forwarded only "
                                "when the current resource is the patient's");
    r->precheck = 1;

    memset(&r->pre, 0, sizeof(smart_policy_preread_t));
    r->pre.interaction = req->interaction;
    r->pre.type = req->type;
    r->pre.create_ok = smart_precheck_create_ok(c, req, body);

    /* a valid FHIR id: at most SMART_FHIR_MAX_ID bytes */
    strncpy(r->pre.id, req->id, SMART_FHIR_MAX_ID);
}


/*
 * A Binary by id under a patient scope: its content names no one, so it is
 * allowed after a pre-read of the Binary's metadata and of the resource
 * its securityContext names (docs/scopes.md, "Binary"); 0 when pre-reads
 * are not possible here (the caller refuses as before).  Only a read of
 * the current version: a pre-read sees that one.
 */
int
smart_res_allow_binary(smart_policy_ctx_t *c, const smart_fhir_req_t *req,
    const smart_scope_t *granted, smart_policy_res_t *r)
{
    if (c->conf->response_check == SMART_RESPONSE_CHECK_OFF
        || c->conf->precheck != SMART_PRECHECK_AVAILABLE
        || req->interaction != SMART_FHIR_I_READ || req->id == NULL)
    {
        return 0;
    }

    smart_res_allow(r, granted, "allowed after a pre-read: released only "
                                "when the Binary's securityContext is the "
                                "patient's");
    r->precheck = 1;

    memset(&r->pre, 0, sizeof(smart_policy_preread_t));
    r->pre.interaction = req->interaction;
    r->pre.type = req->type;

    /* a valid FHIR id: at most SMART_FHIR_MAX_ID bytes */
    strncpy(r->pre.id, req->id, SMART_FHIR_MAX_ID);

    return 1;
}


static size_t
smart_precheck_max(smart_policy_ctx_t *c)
{
    return c->conf->precheck_max ? c->conf->precheck_max
                                 : SMART_POLICY_PRECHECK_MAX_DEFAULT;
}


/*
 * Bundle entry index (of n), allowed after a pre-read (er->precheck): its
 * pre-read joins d->prereads, or, beyond smart_precheck_max, er becomes
 * the refusal of the entry.
 */
void
smart_precheck_entry(smart_policy_ctx_t *c, smart_decision_t *d, size_t n,
    size_t index, smart_policy_res_t *er)
{
    size_t  max;

    max = smart_precheck_max(c);

    if (d->nprereads == max) {
        smart_res_deny(er, SMART_ERR_SCOPE_INSUFFICIENT, NULL,
                       "more writes by id than smart_precheck_max: each "
                       "needs a pre-read of the resource; split the bundle");
        return;
    }

    if (d->prereads == NULL) {
        d->prereads = calloc(n < max ? n : max,
                             sizeof(smart_policy_preread_t));
        if (d->prereads == NULL) {
            c->nomem = 1;
            return;
        }
    }

    d->prereads[d->nprereads] = er->pre;
    d->prereads[d->nprereads].index = index;
    d->nprereads++;
}


/*
 * The decision's pre-reads once decided: a single request's one from r (a
 * bundle's are listed by smart_precheck_entry()); none when refused.  0,
 * or -1 when memory ran out.
 */
int
smart_precheck_fill(smart_decision_t *d, const smart_policy_res_t *r)
{
    d->precheck = d->allow && (r->precheck || d->nprereads > 0);

    if (!d->precheck) {
        free(d->prereads);
        d->prereads = NULL;
        d->nprereads = 0;
        return 0;
    }

    if (d->nprereads > 0) {
        return 0;
    }

    d->prereads = calloc(1, sizeof(smart_policy_preread_t));
    if (d->prereads == NULL) {
        return -1;
    }

    d->prereads[0] = r->pre;
    d->nprereads = 1;

    return 0;
}
