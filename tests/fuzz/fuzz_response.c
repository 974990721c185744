/*
 * libFuzzer target: the response check (smart_response.c,
 * smart_compartment.c, smart_json.c).
 *
 * Input: byte 0 picks the interaction, byte 1 the requested type (mostly
 * a few compartment and other types, else any), byte 2 the patient, the
 * base and the correlation ID; the rest is the response body, copied into
 * a buffer of its exact size so that ASan catches any read past its
 * length.
 *
 * Aborts when a result breaks a promise of smart_response.h: a verdict
 * outside the enum, a body on anything but RELEASE_FILTERED, a filtered
 * body that is not JSON or that the check would not release unchanged,
 * and above all a released body (as sent, or filtered) with a resource
 * that is not proven the patient's: every resource in it, Bundle entries
 * and the Bundles a batch-response holds included, is re-checked with
 * smart_compartment_check() on its own.  Leaks are LeakSanitizer's.
 * tests/fuzz/fuzz_response.dict seeds the tokens.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_compartment.h"
#include "smart_response.h"

#include "fuzz_util.h"


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


static void
fuzz_request(const uint8_t *ctl, smart_response_req_t *rq)
{
    const char  *name;

    memset(rq, 0, sizeof(smart_response_req_t));
    rq->interaction = fuzz_interactions[ctl[0] % fuzz_nelts(fuzz_interactions)];

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
            fuzz_check(smart_compartment_check(cx, outcome)
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

    switch (smart_compartment_check(cx, res)) {
    case SMART_COMPARTMENT_IN:
    case SMART_COMPARTMENT_NOT_PATIENT_DATA:
        return;
    default:
        fuzz_check(0);
    }
}


static void
fuzz_check_released(const smart_response_req_t *rq, const char *body,
    size_t len)
{
    json_t               *doc;
    smart_compartment_t   cx;

    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    fuzz_check(doc != NULL);

    cx.patient = rq->patient;
    cx.patient_len = strlen(rq->patient);
    cx.base = (rq->base != NULL) ? rq->base : "";
    cx.base_len = strlen(cx.base);

    /* a Bundle at the top is checked entry by entry */
    if (json_is_string(json_object_get(doc, "resourceType"))
        && strcmp(json_string_value(json_object_get(doc, "resourceType")),
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
    smart_response_t           out, again;
    smart_response_req_t       rq;
    smart_response_verdict_e   v;

    if (size < 3) {
        return 0;
    }

    fuzz_request(data, &rq);
    body = fuzz_dup_exact(data + 3, size - 3);

    v = smart_response_check(&rq, body, size - 3, &out);

    fuzz_check(v == out.verdict && out.why != NULL);
    fuzz_check(v == SMART_RESPONSE_RELEASE
               || v == SMART_RESPONSE_RELEASE_FILTERED
               || v == SMART_RESPONSE_MISMATCH
               || v == SMART_RESPONSE_UNVERIFIABLE);
    fuzz_check((v == SMART_RESPONSE_RELEASE_FILTERED)
               == (out.body != NULL));
    fuzz_check((v == SMART_RESPONSE_RELEASE_FILTERED) == (out.withheld > 0));

    if (v == SMART_RESPONSE_RELEASE) {
        fuzz_check_released(&rq, body, size - 3);
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
