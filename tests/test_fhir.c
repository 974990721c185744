
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the FHIR request classifier (smart_fhir.c, docs/scopes.md)
 * and of the generated FHIR R4 tables (smart_fhir_tables.c).
 *
 * Every row of the interaction table of docs/scopes.md, every ambiguous-URI
 * form the classifier refuses, parameter parsing (decoding, repeats, comma
 * lists, escapes, chains, _has, _include) and the method override are
 * covered.
 * Table rows give the expected interaction or refusal reason; the detailed
 * tests after them check the fields.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_fhir.h"


typedef struct {
    const char                *method;
    const char                *path;
    const char                *query;       /* NULL: none */
    smart_fhir_interaction_e   interaction;
    const char                *type;        /* NULL: none */
    const char                *id;
} ok_row_t;


typedef struct {
    const char                *method;
    const char                *path;
    const char                *query;
    smart_fhir_reason_e        reason;
} bad_row_t;


static smart_fhir_req_t *
classify_in(const smart_fhir_input_t *in)
{
    smart_fhir_req_t     *req;
    smart_fhir_status_e   st;

    req = NULL;
    st = smart_fhir_classify(in, &req);

    assert_non_null(req);
    assert_int_equal(st, req->status);

    return req;
}


static smart_fhir_req_t *
classify_full(const char *method, const char *path, const char *query,
    const char *body, int form, const char *ine)
{
    smart_fhir_input_t  in;

    memset(&in, 0, sizeof(in));
    in.method = method;
    in.method_len = method != NULL ? strlen(method) : 0;
    in.path = path;
    in.path_len = path != NULL ? strlen(path) : 0;
    in.query = query;
    in.query_len = query != NULL ? strlen(query) : 0;
    in.body = body;
    in.body_len = body != NULL ? strlen(body) : 0;
    in.body_is_form = form;
    in.if_none_exist = ine;
    in.if_none_exist_len = ine != NULL ? strlen(ine) : 0;

    return classify_in(&in);
}


static smart_fhir_req_t *
classify(const char *method, const char *path, const char *query)
{
    return classify_full(method, path, query, NULL, 0, NULL);
}


static void
print_req(const char *method, const char *path, const char *query,
    const smart_fhir_req_t *req)
{
    print_message("%s /%s%s%s -> %s %s (%s)\n",
                  method != NULL ? method : "(null)",
                  path != NULL ? path : "(null)",
                  query != NULL ? "?" : "", query != NULL ? query : "",
                  req->status == SMART_FHIR_OK ? "ok" : "invalid",
                  smart_fhir_interaction_name(req->interaction),
                  smart_fhir_reason_name(req->reason));
}


static smart_fhir_req_t *
expect_ok(const char *method, const char *path, const char *query,
    smart_fhir_interaction_e interaction)
{
    smart_fhir_req_t  *req;

    req = classify(method, path, query);

    if (req->status != SMART_FHIR_OK || req->interaction != interaction) {
        print_req(method, path, query, req);
    }

    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->reason, SMART_FHIR_R_NONE);
    assert_int_equal(req->interaction, interaction);

    return req;
}


static void
expect_bad_full(const char *method, const char *path, const char *query,
    const char *body, int form, smart_fhir_reason_e reason)
{
    smart_fhir_req_t  *req;

    req = classify_full(method, path, query, body, form, NULL);

    if (req->status != SMART_FHIR_INVALID || req->reason != reason) {
        print_req(method, path, query, req);
    }

    assert_int_equal(req->status, SMART_FHIR_INVALID);
    assert_int_equal(req->reason, reason);

    /* nothing but status, reason, detail and method in a refusal */
    assert_int_equal(req->interaction, SMART_FHIR_I_NONE);
    assert_int_equal(req->type, -1);
    assert_null(req->type_name);
    assert_null(req->id);
    assert_null(req->vid);
    assert_null(req->operation);
    assert_int_equal(req->compartment_type, -1);
    assert_null(req->compartment_id);
    assert_null(req->params);
    assert_int_equal(req->nparams, 0);
    assert_null(req->types);
    assert_int_equal(req->ntypes, 0);
    assert_int_equal(req->features, 0);
    assert_int_equal(req->conditional, 0);
    assert_non_null(req->detail);
    assert_string_not_equal(smart_fhir_reason_name(req->reason), "unknown");

    smart_fhir_req_free(req);
}


static void
expect_bad(const char *method, const char *path, const char *query,
    smart_fhir_reason_e reason)
{
    expect_bad_full(method, path, query, NULL, 0, reason);
}


/* --- generated tables ------------------------------------------------- */

static void
test_tables_types(void **state)
{
    int     i;
    size_t  k;

    (void) state;

    /* FHIR R4 4.0.1 CodeSystem resource-types less Resource and
       DomainResource: 146 concrete types, Parameters included */
    assert_int_equal(SMART_FHIR_NTYPES, 146);
    assert_string_equal(SMART_FHIR_VERSION, "4.0.1");

    for (i = 0; i < SMART_FHIR_NTYPES; i++) {
        assert_int_equal(strlen(smart_fhir_types[i].name),
                         smart_fhir_types[i].len);
        assert_true(smart_fhir_types[i].len <= SMART_FHIR_TYPE_MAX_LEN);
        assert_int_equal(smart_fhir_type_index(smart_fhir_types[i].name,
                                               smart_fhir_types[i].len), i);
        if (i > 0) {
            assert_true(strcmp(smart_fhir_types[i - 1].name,
                               smart_fhir_types[i].name) < 0);
        }

        for (k = 1; k < smart_fhir_types[i].nrefparams; k++) {
            assert_true(strcmp(smart_fhir_types[i].refparams[k - 1].name,
                               smart_fhir_types[i].refparams[k].name) < 0);
        }
    }

    assert_string_equal(smart_fhir_types[0].name, "Account");
    assert_string_equal(smart_fhir_types[SMART_FHIR_NTYPES - 1].name,
                        "VisionPrescription");
    assert_string_equal(smart_fhir_types[SMART_FHIR_TYPE_PATIENT].name,
                        "Patient");

    assert_true(smart_fhir_type_index("Observation", 11) >= 0);
    assert_true(smart_fhir_type_index("Parameters", 10) >= 0);
    assert_true(smart_fhir_type_index("Bundle", 6) >= 0);
    assert_true(smart_fhir_type_index("ObservationX", 11) >= 0);

    assert_int_equal(smart_fhir_type_index("observation", 11), -1);
    assert_int_equal(smart_fhir_type_index("OBSERVATION", 11), -1);
    assert_int_equal(smart_fhir_type_index("Observatio", 10), -1);
    assert_int_equal(smart_fhir_type_index("ObservationX", 12), -1);
    assert_int_equal(smart_fhir_type_index("Resource", 8), -1);
    assert_int_equal(smart_fhir_type_index("DomainResource", 14), -1);
    /* R4B / R5 only */
    assert_int_equal(smart_fhir_type_index("SubscriptionStatus", 18), -1);
    assert_int_equal(smart_fhir_type_index("ActorDefinition", 15), -1);
    /* removed after STU3 */
    assert_int_equal(smart_fhir_type_index("ProcedureRequest", 16), -1);
    assert_int_equal(smart_fhir_type_index("", 0), -1);
    assert_int_equal(smart_fhir_type_index(NULL, 3), -1);
    assert_int_equal(smart_fhir_type_index("Patient\0", 8), -1);
    assert_int_equal(smart_fhir_type_index(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP", 42), -1);
}


static const smart_fhir_type_t *
type_of(const char *name)
{
    int  i;

    i = smart_fhir_type_index(name, strlen(name));
    assert_true(i >= 0);

    return &smart_fhir_types[i];
}


static void
test_tables_compartment(void **state)
{
    int                          i, n;
    const smart_fhir_type_t     *t;
    const smart_fhir_cparam_t   *cp;

    static const char           *outside[] = {
        "Medication", "Practitioner", "Organization", "Location", "Endpoint",
        "ValueSet", "Substance", "Questionnaire", "Library", "StructureMap"
    };

    (void) state;

    t = type_of("Observation");
    assert_true(t->in_patient_compartment);
    assert_int_equal(t->ncparams, 2);
    assert_string_equal(t->cparams[0].name, "subject");
    assert_string_equal(t->cparams[1].name, "performer");
    assert_string_equal(t->cparams[0].type, "reference");
    assert_int_equal(t->cparams[0].npaths, 1);
    assert_string_equal(t->cparams[0].paths[0].expression,
                        "Observation.subject");
    assert_string_equal(t->cparams[0].paths[0].element, "subject");
    assert_null(t->cparams[0].paths[0].resolve_type);
    assert_string_equal(t->cparams[1].paths[0].expression,
                        "Observation.performer");
    /* Observation-subject targets Device, Group, Location, Patient */
    assert_int_equal(t->cparams[0].ntargets, 4);
    assert_string_equal(t->cparams[0].targets[0], "Device");
    assert_string_equal(t->cparams[0].targets[3], "Patient");

    t = type_of("Patient");
    assert_true(t->in_patient_compartment);
    assert_int_equal(t->ncparams, 1);
    assert_string_equal(t->cparams[0].name, "link");
    assert_string_equal(t->cparams[0].paths[0].expression,
                        "Patient.link.other");
    assert_string_equal(t->cparams[0].paths[0].element, "link.other");

    t = type_of("AllergyIntolerance");
    assert_int_equal(t->ncparams, 3);
    assert_string_equal(t->cparams[0].name, "patient");
    assert_string_equal(t->cparams[1].name, "recorder");
    assert_string_equal(t->cparams[2].name, "asserter");

    /* 4.0.1, not a vendor variant: Encounter by "patient", Task outside */
    t = type_of("Encounter");
    assert_int_equal(t->ncparams, 1);
    assert_string_equal(t->cparams[0].name, "patient");
    assert_string_equal(t->cparams[0].paths[0].expression,
                        "Encounter.subject.where(resolve() is Patient)");
    assert_string_equal(t->cparams[0].paths[0].element, "subject");
    assert_string_equal(t->cparams[0].paths[0].resolve_type, "Patient");
    assert_false(type_of("Task")->in_patient_compartment);

    t = type_of("AuditEvent");
    assert_int_equal(t->ncparams, 1);
    assert_int_equal(t->cparams[0].npaths, 2);
    assert_string_equal(t->cparams[0].paths[0].element, "agent.who");
    assert_string_equal(t->cparams[0].paths[1].element, "entity.what");

    t = type_of("Provenance");
    assert_string_equal(t->cparams[0].paths[0].element, "target");

    t = type_of("Group");
    assert_string_equal(t->cparams[0].name, "member");
    assert_string_equal(t->cparams[0].paths[0].element, "member.entity");

    for (i = 0; i < (int) (sizeof(outside) / sizeof(outside[0])); i++) {
        t = type_of(outside[i]);
        assert_false(t->in_patient_compartment);
        assert_int_equal(t->patient_data, SMART_FHIR_PD_NONE);
        assert_int_equal(t->ncparams, 0);
        assert_null(t->cparams);
    }

    /* the official definition lists 66 types with parameters; the
       generated patient-data classes add 5 and 8 (docs/scopes.md) */
    n = 0;
    for (i = 0; i < SMART_FHIR_NTYPES; i++) {
        t = &smart_fhir_types[i];
        assert_int_equal(t->in_patient_compartment,
                         t->patient_data == SMART_FHIR_PD_COMPARTMENT);
        if (t->patient_data == SMART_FHIR_PD_COMPARTMENT) {
            assert_true(t->ncparams > 0);
        }
        if (t->patient_data == SMART_FHIR_PD_ANY_REF
            || t->patient_data == SMART_FHIR_PD_NONE)
        {
            assert_int_equal(t->ncparams, 0);
        }
        n += t->in_patient_compartment;
    }
    assert_int_equal(n, 66);

    i = smart_fhir_type_index("Observation", 11);
    cp = smart_fhir_compartment_param(i, "performer", 9);
    assert_non_null(cp);
    assert_string_equal(cp->name, "performer");
    assert_null(smart_fhir_compartment_param(i, "patient", 7));
    assert_null(smart_fhir_compartment_param(i, "perform", 7));
    assert_null(smart_fhir_compartment_param(-1, "subject", 7));
    assert_null(smart_fhir_compartment_param(SMART_FHIR_NTYPES, "subject",
                                             7));
}


/* Patient data outside the compartment (issue 12, finding 7). */
static void
test_tables_patient_data(void **state)
{
    int                        i, nref, nany;
    const smart_fhir_type_t   *t;

    static const char         *patient_ref[] = {
        "BiologicallyDerivedProduct", "Contract", "Device",
        "GuidanceResponse", "Task"
    };
    static const char         *any_ref[] = {
        "Binary", "Bundle", "Linkage", "MessageHeader", "Parameters",
        "PaymentNotice", "PaymentReconciliation", "VerificationResult",
        "Subscription", "EnrollmentResponse"
    };

    (void) state;

    for (i = 0; i < 5; i++) {
        assert_int_equal(type_of(patient_ref[i])->patient_data,
                         SMART_FHIR_PD_PATIENT_REF);
    }

    for (i = 0; i < 10; i++) {
        assert_int_equal(type_of(any_ref[i])->patient_data,
                         SMART_FHIR_PD_ANY_REF);
    }

    nref = 0;
    nany = 0;
    for (i = 0; i < SMART_FHIR_NTYPES; i++) {
        nref += smart_fhir_types[i].patient_data == SMART_FHIR_PD_PATIENT_REF;
        nany += smart_fhir_types[i].patient_data == SMART_FHIR_PD_ANY_REF;
    }
    assert_int_equal(nref, 5);
    assert_int_equal(nany, 10);

    /* Device.patient ties a Device to its patient */
    t = type_of("Device");
    assert_int_equal(t->ncparams, 1);
    assert_string_equal(t->cparams[0].name, "patient");
    assert_string_equal(t->cparams[0].paths[0].element, "patient");

    /* "patient" first, then "subject" */
    t = type_of("Task");
    assert_string_equal(t->cparams[0].name, "patient");
    assert_string_equal(t->cparams[0].paths[0].element, "for");
    assert_string_equal(t->cparams[0].paths[0].resolve_type, "Patient");
    assert_string_equal(t->cparams[1].name, "subject");

    /* only the record's subject ties it to a patient: owner, requester,
       focus, based-on (Task) and signer (Contract) do not */
    assert_int_equal(t->ncparams, 2);
    assert_int_equal(type_of("Contract")->ncparams, 2);
    assert_null(smart_fhir_compartment_param(smart_fhir_type_index("Task", 4),
                                             "owner", 5));

    /* every Reference(Patient) element, searchable or not, for writes */
    assert_int_equal(t->npatient_refs, 3);
    assert_string_equal(t->patient_refs[0], "requester");
    assert_string_equal(t->patient_refs[1], "owner");
    assert_string_equal(t->patient_refs[2], "restriction.recipient");
    assert_int_equal(type_of("Contract")->npatient_refs, 8);
    assert_string_equal(type_of("Device")->patient_refs[0], "patient");

    /* only the Reference(Patient) types outside the compartment list them */
    for (i = 0; i < SMART_FHIR_NTYPES; i++) {
        t = &smart_fhir_types[i];
        assert_int_equal(t->npatient_refs > 0,
                         t->patient_data == SMART_FHIR_PD_PATIENT_REF);
        assert_int_equal(t->patient_refs != NULL, t->npatient_refs > 0);
    }

    /* no search parameter: cannot be limited, so always refused */
    assert_int_equal(type_of("BiologicallyDerivedProduct")->ncparams, 0);
    assert_int_equal(type_of("Binary")->ncparams, 0);
    assert_int_equal(type_of("Bundle")->ncparams, 0);

    /* knowledge artifacts with a Reference(Any) element stay outside */
    assert_int_equal(type_of("Questionnaire")->patient_data,
                     SMART_FHIR_PD_NONE);
    assert_int_equal(type_of("ImplementationGuide")->patient_data,
                     SMART_FHIR_PD_NONE);
}


static void
test_tables_refparams(void **state)
{
    int                            i;
    const smart_fhir_refparam_t   *rp;

    (void) state;

    i = smart_fhir_type_index("Observation", 11);

    rp = smart_fhir_reference_param(i, "patient", 7);
    assert_non_null(rp);
    assert_int_equal(rp->ntargets, 1);
    assert_string_equal(rp->targets[0], "Patient");

    rp = smart_fhir_reference_param(i, "subject", 7);
    assert_non_null(rp);
    assert_int_equal(rp->ntargets, 4);

    assert_non_null(smart_fhir_reference_param(i, "based-on", 8));
    assert_null(smart_fhir_reference_param(i, "code", 4));
    assert_null(smart_fhir_reference_param(i, "subjec", 6));
    assert_null(smart_fhir_reference_param(i, "subjectx", 8));
    assert_null(smart_fhir_reference_param(-1, "subject", 7));

    i = smart_fhir_type_index("MedicationRequest", 17);
    rp = smart_fhir_reference_param(i, "medication", 10);
    assert_non_null(rp);
    assert_int_equal(rp->ntargets, 1);
    assert_string_equal(rp->targets[0], "Medication");
}


/* --- interactions (docs/scopes.md table) ------------------------------ */

static const ok_row_t  ok_rows[] = {
    { "GET", "metadata", NULL, SMART_FHIR_I_CAPABILITIES, NULL, NULL },
    { "HEAD", "metadata", NULL, SMART_FHIR_I_CAPABILITIES, NULL, NULL },
    { "GET", "metadata", "_format=json", SMART_FHIR_I_CAPABILITIES,
      NULL, NULL },
    { "GET", ".well-known/smart-configuration", NULL,
      SMART_FHIR_I_CAPABILITIES, NULL, NULL },
    { "GET", "Patient/123", NULL, SMART_FHIR_I_READ, "Patient", "123" },
    { "HEAD", "Patient/123", NULL, SMART_FHIR_I_READ, "Patient", "123" },
    { "GET", "Observation/a-b.c", "_format=json&_pretty=true",
      SMART_FHIR_I_READ, "Observation", "a-b.c" },
    { "GET", "Observation/abc/_history/2", NULL, SMART_FHIR_I_VREAD,
      "Observation", "abc" },
    { "GET", "Observation/abc/_history", NULL,
      SMART_FHIR_I_HISTORY_INSTANCE, "Observation", "abc" },
    { "GET", "Observation/_history", "_since=2020-01-01",
      SMART_FHIR_I_HISTORY_TYPE, "Observation", NULL },
    { "GET", "_history", NULL, SMART_FHIR_I_HISTORY_SYSTEM, NULL, NULL },
    { "GET", "Observation", "patient=123", SMART_FHIR_I_SEARCH_TYPE,
      "Observation", NULL },
    { "GET", "Observation", NULL, SMART_FHIR_I_SEARCH_TYPE, "Observation",
      NULL },
    { "HEAD", "Observation", "", SMART_FHIR_I_SEARCH_TYPE, "Observation",
      NULL },
    { "POST", "Observation/_search", NULL, SMART_FHIR_I_SEARCH_TYPE,
      "Observation", NULL },
    { "GET", "", "_type=Observation,Condition", SMART_FHIR_I_SEARCH_SYSTEM,
      NULL, NULL },
    { "GET", "", NULL, SMART_FHIR_I_SEARCH_SYSTEM, NULL, NULL },
    { "POST", "_search", NULL, SMART_FHIR_I_SEARCH_SYSTEM, NULL, NULL },
    { "GET", "Patient/123/Observation", "code=1234-5",
      SMART_FHIR_I_SEARCH_COMPARTMENT, "Observation", NULL },
    { "GET", "Patient/123/*", NULL, SMART_FHIR_I_SEARCH_COMPARTMENT, NULL,
      NULL },
    { "POST", "Patient/123/Observation/_search", NULL,
      SMART_FHIR_I_SEARCH_COMPARTMENT, "Observation", NULL },
    { "POST", "Patient/123/*/_search", NULL,
      SMART_FHIR_I_SEARCH_COMPARTMENT, NULL, NULL },
    { "POST", "Observation", NULL, SMART_FHIR_I_CREATE, "Observation",
      NULL },
    { "POST", "Patient", "_format=json", SMART_FHIR_I_CREATE, "Patient",
      NULL },
    { "PUT", "Observation/abc", NULL, SMART_FHIR_I_UPDATE, "Observation",
      "abc" },
    { "PUT", "Observation", "identifier=x|1", SMART_FHIR_I_UPDATE,
      "Observation", NULL },
    { "PATCH", "Observation/abc", NULL, SMART_FHIR_I_PATCH, "Observation",
      "abc" },
    { "PATCH", "Observation", "identifier=x|1", SMART_FHIR_I_PATCH,
      "Observation", NULL },
    { "DELETE", "Observation/abc", NULL, SMART_FHIR_I_DELETE,
      "Observation", "abc" },
    { "DELETE", "Observation", "patient=123", SMART_FHIR_I_DELETE,
      "Observation", NULL },
    { "POST", "", NULL, SMART_FHIR_I_BATCH_OR_TRANSACTION, NULL, NULL },
    { "POST", "", "_format=json", SMART_FHIR_I_BATCH_OR_TRANSACTION, NULL,
      NULL },
    { "GET", "$export", NULL, SMART_FHIR_I_OPERATION, NULL, NULL },
    { "POST", "$export", NULL, SMART_FHIR_I_OPERATION, NULL, NULL },
    { "GET", "Patient/$export", NULL, SMART_FHIR_I_OPERATION, "Patient",
      NULL },
    { "POST", "Observation/$validate", NULL, SMART_FHIR_I_OPERATION,
      "Observation", NULL },
    { "GET", "Patient/123/$everything", NULL, SMART_FHIR_I_OPERATION,
      "Patient", "123" },
    { "HEAD", "Patient/123/$everything", NULL, SMART_FHIR_I_OPERATION,
      "Patient", "123" },
    { "GET", "Observation/$lastn", "patient=1", SMART_FHIR_I_OPERATION,
      "Observation", NULL },
    { "POST", "Observation/1/$meta-add", NULL, SMART_FHIR_I_OPERATION,
      "Observation", "1" },
    { "GET", "Parameters", NULL, SMART_FHIR_I_SEARCH_TYPE, "Parameters",
      NULL },
    { "GET", "Patient/" "0123456789012345678901234567890123456789"
      "012345678901234567890123", NULL, SMART_FHIR_I_READ, "Patient",
      "0123456789012345678901234567890123456789012345678901234567890123" },
    { "GET", "Patient/a.b", NULL, SMART_FHIR_I_READ, "Patient", "a.b" },
    { "GET", "Patient/a..", NULL, SMART_FHIR_I_READ, "Patient", "a.." },
    { "GET", "Patient/.a", NULL, SMART_FHIR_I_READ, "Patient", ".a" },
};


static void
test_interactions(void **state)
{
    size_t              i;
    const ok_row_t     *r;
    smart_fhir_req_t   *req;

    (void) state;

    for (i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
        r = &ok_rows[i];
        req = expect_ok(r->method, r->path, r->query, r->interaction);

        if (r->type == NULL) {
            assert_int_equal(req->type, -1);
            assert_null(req->type_name);

        } else {
            assert_non_null(req->type_name);
            assert_string_equal(req->type_name, r->type);
            assert_string_equal(smart_fhir_types[req->type].name, r->type);
        }

        if (r->id == NULL) {
            assert_null(req->id);

        } else {
            assert_non_null(req->id);
            assert_string_equal(req->id, r->id);
        }

        assert_int_equal(req->head, strcmp(r->method, "HEAD") == 0);
        assert_int_equal(req->method,
                         strcmp(r->method, "HEAD") == 0
                         ? SMART_FHIR_M_GET
                         : strcmp(r->method, "GET") == 0 ? SMART_FHIR_M_GET
                         : strcmp(r->method, "POST") == 0 ? SMART_FHIR_M_POST
                         : strcmp(r->method, "PUT") == 0 ? SMART_FHIR_M_PUT
                         : strcmp(r->method, "PATCH") == 0
                           ? SMART_FHIR_M_PATCH : SMART_FHIR_M_DELETE);
        assert_string_equal(req->detail, "ok");

        smart_fhir_req_free(req);
    }
}


static void
test_vread_fields(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = expect_ok("GET", "Observation/abc/_history/v-2.1", NULL,
                    SMART_FHIR_I_VREAD);
    assert_string_equal(req->id, "abc");
    assert_string_equal(req->vid, "v-2.1");
    assert_int_equal(req->op_level, SMART_FHIR_OP_NONE);
    assert_null(req->operation);
    assert_int_equal(req->conditional, 0);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Observation/abc/_history", NULL,
                    SMART_FHIR_I_HISTORY_INSTANCE);
    assert_null(req->vid);
    smart_fhir_req_free(req);
}


static void
test_compartment_fields(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = expect_ok("GET", "Patient/p1/Observation", "code=x",
                    SMART_FHIR_I_SEARCH_COMPARTMENT);
    assert_int_equal(req->compartment_type, SMART_FHIR_TYPE_PATIENT);
    assert_string_equal(req->compartment_name, "Patient");
    assert_string_equal(req->compartment_id, "p1");
    assert_int_equal(req->compartment_all, 0);
    assert_string_equal(req->type_name, "Observation");
    assert_null(req->id);
    assert_int_equal(req->nparams, 1);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Patient/p1/*", "_type=Observation",
                    SMART_FHIR_I_SEARCH_COMPARTMENT);
    assert_int_equal(req->compartment_all, 1);
    assert_int_equal(req->type, -1);
    assert_string_equal(req->compartment_id, "p1");
    assert_int_equal(req->ntypes, 1);
    smart_fhir_req_free(req);

    req = classify_full("POST", "Patient/p1/Condition/_search", "_count=5",
                        "clinical-status=active", 1, NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_SEARCH_COMPARTMENT);
    assert_string_equal(req->type_name, "Condition");
    assert_string_equal(req->compartment_id, "p1");
    assert_int_equal(req->nparams, 2);
    assert_int_equal(req->params[0].source, SMART_FHIR_SRC_QUERY);
    assert_int_equal(req->params[1].source, SMART_FHIR_SRC_BODY);
    assert_string_equal(req->params[1].name, "clinical-status");
    smart_fhir_req_free(req);

    /* only the Patient compartment is decided (docs/scopes.md) */
    expect_bad("GET", "Encounter/e1/Observation", NULL,
               SMART_FHIR_R_COMPARTMENT);
    expect_bad("GET", "Practitioner/x/*", NULL, SMART_FHIR_R_COMPARTMENT);
    expect_bad("GET", "Device/d/Observation", NULL,
               SMART_FHIR_R_COMPARTMENT);
    expect_bad("POST", "Encounter/e1/Observation/_search", NULL,
               SMART_FHIR_R_COMPARTMENT);
    expect_bad("GET", "Patient/p1/Foo", NULL, SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "Patient/p1/observation", NULL,
               SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("POST", "Patient/p1/Observation", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("GET", "Patient/p1/Observation/_search", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("DELETE", "Patient/p1/Observation", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("GET", "Patient/p1/Observation/x", NULL,
               SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/p_1/Observation", NULL, SMART_FHIR_R_BAD_ID);
    expect_bad("GET", "Patient/*/Observation", NULL, SMART_FHIR_R_BAD_ID);
}


static void
test_operation_fields(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = expect_ok("GET", "$export", "_type=Patient", SMART_FHIR_I_OPERATION);
    assert_string_equal(req->operation, "export");
    assert_int_equal(req->op_level, SMART_FHIR_OP_SYSTEM);
    assert_int_equal(req->type, -1);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Group/g1/$export", NULL, SMART_FHIR_I_OPERATION);
    assert_string_equal(req->operation, "export");
    assert_int_equal(req->op_level, SMART_FHIR_OP_INSTANCE);
    assert_string_equal(req->type_name, "Group");
    assert_string_equal(req->id, "g1");
    smart_fhir_req_free(req);

    req = expect_ok("POST", "Observation/$validate", NULL,
                    SMART_FHIR_I_OPERATION);
    assert_string_equal(req->operation, "validate");
    assert_int_equal(req->op_level, SMART_FHIR_OP_TYPE);
    assert_null(req->id);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Patient/123/$everything", NULL,
                    SMART_FHIR_I_OPERATION);
    assert_string_equal(req->operation, "everything");
    assert_int_equal(req->op_level, SMART_FHIR_OP_INSTANCE);
    smart_fhir_req_free(req);

    expect_bad("GET", "$", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "$$export", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "$1abc", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "$ex.port", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "$ex$port", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "Patient/$ev*", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("GET", "$a1234567890123456789012345678901234567890123456789"
               "012345678901234", NULL, SMART_FHIR_R_BAD_OPERATION);
    expect_bad("PUT", "$export", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("DELETE", "Patient/1/$everything", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("PATCH", "Observation/$validate", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("GET", "$export/x", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/$export/x", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/1/$everything/x", NULL,
               SMART_FHIR_R_PATH_SHAPE);

    req = expect_ok("GET", "$a123456789012345678901234567890123456789012345"
                    "678901234567890123", NULL, SMART_FHIR_I_OPERATION);
    assert_int_equal(strlen(req->operation), SMART_FHIR_MAX_OP);
    smart_fhir_req_free(req);
}


static void
test_conditional(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = expect_ok("PUT", "Observation", "identifier=sys|1",
                    SMART_FHIR_I_UPDATE);
    assert_int_equal(req->conditional, 1);
    assert_null(req->id);
    smart_fhir_req_free(req);

    req = expect_ok("DELETE", "Observation", "patient=1&code=x",
                    SMART_FHIR_I_DELETE);
    assert_int_equal(req->conditional, 1);
    assert_int_equal(req->nparams, 2);
    smart_fhir_req_free(req);

    req = expect_ok("PUT", "Observation/1", "_format=json",
                    SMART_FHIR_I_UPDATE);
    assert_int_equal(req->conditional, 0);
    smart_fhir_req_free(req);

    req = expect_ok("POST", "Observation", NULL, SMART_FHIR_I_CREATE);
    assert_int_equal(req->conditional, 0);
    smart_fhir_req_free(req);

    /* conditional create: If-None-Exist */
    req = classify_full("POST", "Patient", NULL, NULL, 0,
                        "identifier=http://x|123");
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_CREATE);
    assert_int_equal(req->conditional, 1);
    assert_int_equal(req->nparams, 1);
    assert_int_equal(req->params[0].source, SMART_FHIR_SRC_IF_NONE_EXIST);
    assert_string_equal(req->params[0].value, "http://x|123");
    smart_fhir_req_free(req);

    /* If-None-Exist is not read for other interactions */
    req = classify_full("PUT", "Patient/1", NULL, NULL, 0, "identifier=x");
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->nparams, 0);
    assert_int_equal(req->conditional, 0);
    smart_fhir_req_free(req);

    /* bad If-None-Exist refuses the create */
    req = classify_full("POST", "Patient", NULL, NULL, 0, "identifier=%zz");
    assert_int_equal(req->status, SMART_FHIR_INVALID);
    assert_int_equal(req->reason, SMART_FHIR_R_QUERY_ENCODING);
    smart_fhir_req_free(req);

    expect_bad("PUT", "Observation", NULL, SMART_FHIR_R_CONDITIONAL);
    expect_bad("PUT", "Observation", "", SMART_FHIR_R_CONDITIONAL);
    expect_bad("PATCH", "Observation", "&&", SMART_FHIR_R_CONDITIONAL);
    expect_bad("DELETE", "Observation", NULL, SMART_FHIR_R_CONDITIONAL);
}


/* Parsing differentials (docs/security.md): refused by rule. */
static void
expect_ine(const char *path, const char *query, const char *ine,
    int repeated, smart_fhir_status_e status, smart_fhir_reason_e reason)
{
    smart_fhir_req_t    *req;
    smart_fhir_input_t   in;

    memset(&in, 0, sizeof(in));
    in.method = "POST";
    in.method_len = 4;
    in.path = path;
    in.path_len = strlen(path);
    in.query = query;
    in.query_len = query != NULL ? strlen(query) : 0;
    in.if_none_exist = ine;
    in.if_none_exist_len = ine != NULL ? strlen(ine) : 0;
    in.if_none_exist_repeated = repeated;

    req = classify_in(&in);

    if (req->status != status || req->reason != reason) {
        print_message("If-None-Exist \"%s\" -> %s\n", ine ? ine : "",
                      smart_fhir_reason_name(req->reason));
    }

    assert_int_equal(req->status, status);
    assert_int_equal(req->reason, reason);
    smart_fhir_req_free(req);
}


static void
test_differentials(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    /* a raw '?' anywhere in a query, a form body or criteria */
    expect_bad("GET", "Observation", "code=a?b", SMART_FHIR_R_QUERY_QMARK);
    expect_bad("GET", "Observation", "?patient=1", SMART_FHIR_R_QUERY_QMARK);
    expect_bad("PATCH", "Observation", "_id=x?&patient=1",
               SMART_FHIR_R_QUERY_QMARK);
    expect_bad("DELETE", "Observation", "patient=1&_id=x?",
               SMART_FHIR_R_QUERY_QMARK);
    expect_bad_full("POST", "Observation/_search", NULL, "patient=1?code=x",
                    1, SMART_FHIR_R_QUERY_QMARK);

    /* encoded: refused in conditional criteria only */
    expect_bad("PUT", "Observation", "_id=x%3F&patient=1",
               SMART_FHIR_R_QUERY_QMARK);
    expect_bad("DELETE", "Observation", "patient=1&code=a%3F",
               SMART_FHIR_R_QUERY_QMARK);
    req = expect_ok("GET", "Observation", "code=a%3Fb",
                    SMART_FHIR_I_SEARCH_TYPE);
    smart_fhir_req_free(req);

    /* If-None-Exist */
    expect_ine("Observation", NULL, "patient=1&code=x", 0, SMART_FHIR_OK,
               SMART_FHIR_R_NONE);
    expect_ine("Observation", NULL, "Observation?patient=1", 0,
               SMART_FHIR_INVALID, SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "patient=1", 1, SMART_FHIR_INVALID,
               SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "Patient?_id=1", 0, SMART_FHIR_INVALID,
               SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "?patient=1", 0, SMART_FHIR_INVALID,
               SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "Observation?", 0, SMART_FHIR_INVALID,
               SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "Observatio?patient=1", 0,
               SMART_FHIR_INVALID, SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "Observation?patient=1?_id=x", 0,
               SMART_FHIR_INVALID, SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "patient=1&status=?_id=x", 0,
               SMART_FHIR_INVALID, SMART_FHIR_R_IF_NONE_EXIST);
    expect_ine("Observation", NULL, "patient=1&_id=x%3F", 0,
               SMART_FHIR_INVALID, SMART_FHIR_R_QUERY_QMARK);
    /* the header is only read for a create: repeated elsewhere is moot */
    req = classify_full("PUT", "Observation/1", NULL, NULL, 0, "a=1");
    assert_int_equal(req->status, SMART_FHIR_OK);
    smart_fhir_req_free(req);

    /* a create's URL query is kept, flagged, and never criteria */
    req = classify_full("POST", "Observation", "patient=1", NULL, 0,
                        "_id=x");
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->create_query, 1);
    assert_int_equal(req->conditional, 1);
    assert_int_equal(req->params[0].source, SMART_FHIR_SRC_QUERY);
    assert_int_equal(req->params[1].source, SMART_FHIR_SRC_IF_NONE_EXIST);
    smart_fhir_req_free(req);

    req = classify_full("POST", "Observation", NULL, NULL, 0, NULL);
    assert_int_equal(req->create_query, 0);
    smart_fhir_req_free(req);
}


static void
expect_framing(const char *method, const char *path, int body_sent,
    int body_encoded, int ct_repeated, smart_fhir_reason_e reason)
{
    smart_fhir_req_t    *req;
    smart_fhir_input_t   in;

    memset(&in, 0, sizeof(in));
    in.method = method;
    in.method_len = strlen(method);
    in.path = path;
    in.path_len = strlen(path);
    in.body_sent = body_sent;
    in.body_encoded = body_encoded;
    in.content_type_repeated = ct_repeated;

    req = classify_in(&in);

    if (req->reason != reason) {
        print_req(method, path, NULL, req);
    }

    assert_int_equal(req->reason, reason);
    assert_int_equal(req->status, reason == SMART_FHIR_R_NONE
                                  ? SMART_FHIR_OK : SMART_FHIR_INVALID);
    smart_fhir_req_free(req);
}


static void
test_param_defined(void **state)
{
    int  obs, pat, med;

    (void) state;

    obs = smart_fhir_type_index("Observation", 11);
    pat = smart_fhir_type_index("Patient", 7);
    med = smart_fhir_type_index("Medication", 10);

    assert_true(smart_fhir_param_defined(obs, "code", 4));
    assert_true(smart_fhir_param_defined(obs, "value-quantity", 14));
    assert_true(smart_fhir_param_defined(obs, "_lastUpdated", 12));
    assert_true(smart_fhir_param_defined(obs, "_text", 5));
    assert_true(smart_fhir_param_defined(pat, "birthdate", 9));
    assert_false(smart_fhir_param_defined(obs, "birthdate", 9));
    assert_false(smart_fhir_param_defined(obs, "cod", 3));
    assert_false(smart_fhir_param_defined(obs, "codes", 5));
    assert_false(smart_fhir_param_defined(med, "patient", 7));
    assert_true(smart_fhir_param_defined(-1, "patient", 7));
    assert_false(smart_fhir_param_defined(-1, "nosuch", 6));
    assert_false(smart_fhir_param_defined(obs, NULL, 0));
    assert_false(smart_fhir_param_defined(SMART_FHIR_NTYPES, "code", 4));

    /* the generated lists are sorted and the common list is R4's */
    assert_int_equal(smart_fhir_common_params.n, 9);
    assert_true(smart_fhir_search_params[obs].n >= 38);
}


static void
test_framing(void **state)
{
    (void) state;

    expect_framing("GET", "Observation", 1, 0, 0,
                   SMART_FHIR_R_BODY_UNEXPECTED);
    expect_framing("HEAD", "Observation/1", 1, 0, 0,
                   SMART_FHIR_R_BODY_UNEXPECTED);
    expect_framing("DELETE", "Observation/1", 1, 0, 0,
                   SMART_FHIR_R_BODY_UNEXPECTED);
    expect_framing("GET", "Patient/1/$everything", 1, 0, 0,
                   SMART_FHIR_R_BODY_UNEXPECTED);
    expect_framing("POST", "Observation", 1, 1, 0,
                   SMART_FHIR_R_BODY_ENCODED);
    expect_framing("PUT", "Observation/1", 1, 1, 0,
                   SMART_FHIR_R_BODY_ENCODED);
    expect_framing("POST", "Observation", 1, 0, 1,
                   SMART_FHIR_R_HEADER_REPEATED);
    expect_framing("GET", "Observation", 0, 0, 1,
                   SMART_FHIR_R_HEADER_REPEATED);

    expect_framing("GET", "Observation", 0, 0, 0, SMART_FHIR_R_NONE);
    expect_framing("GET", "Observation", 0, 1, 0, SMART_FHIR_R_NONE);
    expect_framing("POST", "Observation", 1, 0, 0, SMART_FHIR_R_NONE);
    expect_framing("PATCH", "Observation/1", 1, 0, 0, SMART_FHIR_R_NONE);
    expect_framing("POST", "Patient/1/$everything", 1, 0, 0,
                   SMART_FHIR_R_NONE);
}


static void
test_method_rules(void **state)
{
    (void) state;

    expect_bad("OPTIONS", "metadata", NULL, SMART_FHIR_R_METHOD);
    expect_bad("TRACE", "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad("get", "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad("GETX", "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad("GE", "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad("", "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad(NULL, "Patient/1", NULL, SMART_FHIR_R_METHOD);
    expect_bad("CONNECT", "", NULL, SMART_FHIR_R_METHOD);

    expect_bad("POST", "metadata", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("DELETE", ".well-known/smart-configuration", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("POST", "Patient/1", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("DELETE", "Patient/1/_history", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("PUT", "Patient/1/_history/2", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("POST", "Patient/_history", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("POST", "_history", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("GET", "_search", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("GET", "Patient/_search", NULL,
               SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("PUT", "", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("DELETE", "", "patient=1", SMART_FHIR_R_METHOD_NOT_ALLOWED);
    expect_bad("PATCH", "", NULL, SMART_FHIR_R_METHOD_NOT_ALLOWED);

    expect_bad("GET", "metadata/x", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", ".well-known", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", ".well-known/openid-configuration", NULL,
               SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", ".well-known/smart-configuration/x", NULL,
               SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "_history/1", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("POST", "_search/x", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/_history/1", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/1/_history/2/x", NULL,
               SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "a/b/c/d/e/f/g", NULL, SMART_FHIR_R_PATH_SHAPE);
    expect_bad("GET", "Patient/1/_history/_x", NULL, SMART_FHIR_R_BAD_ID);
}


/* --- method override ---------------------------------------------------- */

static void
test_method_override(void **state)
{
    smart_fhir_input_t   in;
    smart_fhir_req_t    *req;

    (void) state;

    memset(&in, 0, sizeof(in));
    in.method = "POST";
    in.method_len = 4;
    in.path = "Patient/1";
    in.path_len = 9;
    in.method_override = 1;

    req = classify_in(&in);
    assert_int_equal(req->status, SMART_FHIR_INVALID);
    assert_int_equal(req->reason, SMART_FHIR_R_METHOD_OVERRIDE);
    assert_string_equal(smart_fhir_reason_name(req->reason),
                        "method-override");
    smart_fhir_req_free(req);

    /* even on an otherwise public request */
    in.method = "GET";
    in.method_len = 3;
    in.path = "metadata";
    in.path_len = 8;
    req = classify_in(&in);
    assert_int_equal(req->reason, SMART_FHIR_R_METHOD_OVERRIDE);
    smart_fhir_req_free(req);

    /* the _method parameter convention of some frameworks, any source */
    expect_bad("POST", "Patient/1/$everything", "_method=DELETE",
               SMART_FHIR_R_METHOD_OVERRIDE);
    expect_bad("GET", "Patient", "_method=DELETE",
               SMART_FHIR_R_METHOD_OVERRIDE);
    expect_bad("GET", "Patient", "%5Fmethod=DELETE",
               SMART_FHIR_R_METHOD_OVERRIDE);
    expect_bad("GET", "Patient", "_method",
               SMART_FHIR_R_METHOD_OVERRIDE);
    expect_bad_full("POST", "Patient/_search", NULL, "_method=PUT", 1,
                    SMART_FHIR_R_METHOD_OVERRIDE);
}


/* --- ambiguous paths ---------------------------------------------------- */

static const bad_row_t  bad_paths[] = {
    /* percent-encoding of any kind */
    { "GET", "Patient%2F123", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient%2f123", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/123%2F..%2F456", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/%2E%2E/456", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/%2e%2e", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/1%2E", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/123%00", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/123%2500", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/123%25", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient%5C123", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient%5c123", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Pat%69ent/123", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/12%33", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/%", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/1%", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/%C3%A9", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "%24export", NULL, SMART_FHIR_R_PATH_PERCENT },
    { "GET", "Patient/1/%2A", NULL, SMART_FHIR_R_PATH_PERCENT },
    /* backslash */
    { "GET", "Patient\\123", NULL, SMART_FHIR_R_PATH_BACKSLASH },
    { "GET", "Patient/123\\..\\456", NULL, SMART_FHIR_R_PATH_BACKSLASH },
    /* path parameters */
    { "GET", "Patient/123;jsessionid=abc", NULL,
      SMART_FHIR_R_PATH_SEMICOLON },
    { "GET", "Patient;x/123", NULL, SMART_FHIR_R_PATH_SEMICOLON },
    { "GET", "Patient/123;", NULL, SMART_FHIR_R_PATH_SEMICOLON },
    { "GET", ";", NULL, SMART_FHIR_R_PATH_SEMICOLON },
    /* dot-segments */
    { "GET", "Patient/./123", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "Patient/../Observation/1", NULL,
      SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "Patient/123/..", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "Patient/123/.", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "./Patient/123", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "../Patient/123", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", ".", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "..", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "Patient/...", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "Patient/1/_history/..", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    { "GET", "a/b/c/d/e/..", NULL, SMART_FHIR_R_PATH_DOT_SEGMENT },
    /* empty segments */
    { "GET", "Patient//123", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "/Patient/123", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "Patient/123/", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "Patient/", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "/", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "//", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "POST", "/", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    { "GET", "metadata/", NULL, SMART_FHIR_R_PATH_EMPTY_SEGMENT },
    /* other characters */
    { "GET", "Patient/12 3", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/123\t", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/123\r\nX: y", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/123#frag", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/123?x=1", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/caf\xc3\xa9", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/\xef\xbc\x8e\xef\xbc\x8e", NULL,
      SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/1+2", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/1:2", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/1@x", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/~1", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "Patient/1\x7f", NULL, SMART_FHIR_R_PATH_CHAR },
    { "GET", "http://evil/Patient/1", NULL, SMART_FHIR_R_PATH_CHAR },
    /* syntax of names and ids */
    { "GET", "patient/123", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "PATIENT/123", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "Patients/123", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "Foo", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "Resource/1", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "DomainResource", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "SubscriptionStatus/1", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "_foo", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "*", NULL, SMART_FHIR_R_UNKNOWN_TYPE },
    { "GET", "Patient/12_3", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/*", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/$", NULL, SMART_FHIR_R_BAD_OPERATION },
    { "GET", "Patient/1$x", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/_x", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/_history2", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/0123456789012345678901234567890123456789"
      "0123456789012345678901234", NULL, SMART_FHIR_R_BAD_ID },
    { "GET", "Patient/1/_history/0123456789012345678901234567890123456789"
      "0123456789012345678901234", NULL, SMART_FHIR_R_BAD_ID },
};


static void
test_ambiguous_paths(void **state)
{
    size_t            i;
    const bad_row_t  *r;

    (void) state;

    for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
        r = &bad_paths[i];
        expect_bad(r->method, r->path, r->query, r->reason);
    }
}


static void
test_path_bounds(void **state)
{
    char                 path[SMART_FHIR_MAX_PATH + 2];
    smart_fhir_input_t   in;
    smart_fhir_req_t    *req;

    (void) state;

    /* an id of 64 fits; the bound itself is checked before anything */
    memset(path, 'a', sizeof(path));
    memcpy(path, "Patient/", 8);

    memset(&in, 0, sizeof(in));
    in.method = "GET";
    in.method_len = 3;
    in.path = path;
    in.path_len = SMART_FHIR_MAX_PATH + 1;

    req = classify_in(&in);
    assert_int_equal(req->reason, SMART_FHIR_R_PATH_TOO_LONG);
    smart_fhir_req_free(req);

    in.path_len = SMART_FHIR_MAX_PATH;
    req = classify_in(&in);
    assert_int_equal(req->reason, SMART_FHIR_R_BAD_ID);
    smart_fhir_req_free(req);

    /* an embedded NUL is a byte like any other: refused */
    in.path = "Patient/1\0/x";
    in.path_len = 12;
    req = classify_in(&in);
    assert_int_equal(req->reason, SMART_FHIR_R_PATH_CHAR);
    smart_fhir_req_free(req);

    /* lengths are honoured: no NUL needed, nothing read past them */
    in.path = "Patient/123/_history/4GARBAGE";
    in.path_len = 22;
    req = classify_in(&in);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_VREAD);
    assert_string_equal(req->vid, "4");
    smart_fhir_req_free(req);

    in.path = "Patient/123";
    in.path_len = 7;
    in.query = "patient=1&x=2";
    in.query_len = 9;
    req = classify_in(&in);
    assert_int_equal(req->interaction, SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->nparams, 1);
    assert_string_equal(req->params[0].value, "1");
    smart_fhir_req_free(req);

    /* NULL input and NULL output */
    req = classify_in(NULL);
    assert_int_equal(req->status, SMART_FHIR_INVALID);
    smart_fhir_req_free(req);

    assert_int_equal(smart_fhir_classify(&in, NULL), SMART_FHIR_NOMEM);
    smart_fhir_req_free(NULL);
}


/* --- parameters ---------------------------------------------------------- */

static void
test_params_decoding(void **state)
{
    smart_fhir_req_t          *req;
    const smart_fhir_param_t  *p;

    (void) state;

    req = expect_ok("GET", "Patient",
                    "name=Jos%C3%A9+Mar%c3%ada&family=O%27Brien"
                    "&birthdate=ge2000-01-01&flag&empty=&%5Fid=1"
                    "&given=a%2Bb&x=%3B%26%3D%23",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->nparams, 8);

    p = &req->params[0];
    assert_string_equal(p->name, "name");
    assert_string_equal(p->value, "Jos\xc3\xa9 Mar\xc3\xad" "a");
    assert_int_equal(p->value_len, strlen(p->value));
    assert_int_equal(p->has_equals, 1);
    assert_int_equal(p->source, SMART_FHIR_SRC_QUERY);
    assert_int_equal(p->kind, SMART_FHIR_P_NORMAL);
    assert_null(p->modifier);
    assert_null(p->chain);

    assert_string_equal(req->params[1].value, "O'Brien");
    assert_string_equal(req->params[2].value, "ge2000-01-01");

    p = &req->params[3];
    assert_string_equal(p->name, "flag");
    assert_string_equal(p->value, "");
    assert_int_equal(p->has_equals, 0);
    assert_int_equal(p->nvalues, 1);
    assert_string_equal(p->values[0], "");

    assert_string_equal(req->params[4].name, "empty");
    assert_int_equal(req->params[4].has_equals, 1);
    assert_string_equal(req->params[5].name, "_id");
    assert_string_equal(req->params[6].value, "a+b");
    assert_string_equal(req->params[7].value, ";&=#");

    assert_ptr_equal(smart_fhir_find_param(req, "family"), &req->params[1]);
    assert_null(smart_fhir_find_param(req, "fam"));
    assert_null(smart_fhir_find_param(NULL, "family"));
    smart_fhir_req_free(req);

    /* repeats stay separate parameters, in order */
    req = expect_ok("GET", "Observation",
                    "patient=1&patient=2&&date=ge2020&date=le2021&",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->nparams, 4);
    assert_string_equal(req->params[0].value, "1");
    assert_string_equal(req->params[1].value, "2");
    assert_string_equal(req->params[2].value, "ge2020");
    assert_string_equal(req->params[3].value, "le2021");
    assert_ptr_equal(smart_fhir_find_param(req, "patient"), &req->params[0]);
    smart_fhir_req_free(req);

    /* '=' inside a value */
    req = expect_ok("GET", "Observation", "code=a=b", SMART_FHIR_I_SEARCH_TYPE);
    assert_string_equal(req->params[0].value, "a=b");
    smart_fhir_req_free(req);

    /* raw UTF-8 in the query decodes to the same bytes as its encoding */
    req = expect_ok("GET", "Patient", "name=Jos\xc3\xa9",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_string_equal(req->params[0].value, "Jos\xc3\xa9");
    smart_fhir_req_free(req);
}


static void
test_params_commas(void **state)
{
    smart_fhir_req_t          *req;
    const smart_fhir_param_t  *p;

    (void) state;

    req = expect_ok("GET", "Observation",
                    "patient=1,2&code=a%2Cb&x=a\\,b,c&y=a,,b,&z=\\\\,q"
                    "&w=tail\\",
                    SMART_FHIR_I_SEARCH_TYPE);

    p = &req->params[0];
    assert_int_equal(p->nvalues, 2);
    assert_string_equal(p->values[0], "1");
    assert_string_equal(p->values[1], "2");

    /* %2C is a comma once decoded, as the FHIR server splits it */
    p = &req->params[1];
    assert_string_equal(p->value, "a,b");
    assert_int_equal(p->nvalues, 2);
    assert_string_equal(p->values[0], "a");
    assert_string_equal(p->values[1], "b");

    /* "\," is an escaped comma inside one piece; the escape is kept */
    p = &req->params[2];
    assert_int_equal(p->nvalues, 2);
    assert_string_equal(p->values[0], "a\\,b");
    assert_string_equal(p->values[1], "c");

    /* empty pieces are kept so the policy sees every one */
    p = &req->params[3];
    assert_int_equal(p->nvalues, 4);
    assert_string_equal(p->values[0], "a");
    assert_string_equal(p->values[1], "");
    assert_string_equal(p->values[2], "b");
    assert_string_equal(p->values[3], "");

    /* "\\" escapes the backslash, so the comma after it splits */
    p = &req->params[4];
    assert_int_equal(p->nvalues, 2);
    assert_string_equal(p->values[0], "\\\\");
    assert_string_equal(p->values[1], "q");

    p = &req->params[5];
    assert_int_equal(p->nvalues, 1);
    assert_string_equal(p->values[0], "tail\\");
    smart_fhir_req_free(req);

    /* an encoded backslash is a backslash too */
    req = expect_ok("GET", "Observation", "patient=1%5C,2",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].nvalues, 1);
    assert_string_equal(req->params[0].values[0], "1\\,2");
    smart_fhir_req_free(req);
}


static void
test_params_names(void **state)
{
    smart_fhir_req_t          *req;
    const smart_fhir_param_t  *p;

    (void) state;

    req = expect_ok("GET", "Observation",
                    "subject:Patient.name=x&patient.identifier=y"
                    "&code:text=z&subject:Patient.organization:Organization"
                    ".name:exact=w&value-quantity=5&code:not=q",
                    SMART_FHIR_I_SEARCH_TYPE);

    p = &req->params[0];
    assert_string_equal(p->raw_name, "subject:Patient.name");
    assert_string_equal(p->name, "subject");
    assert_string_equal(p->modifier, "Patient");
    assert_string_equal(p->chain, "name");

    p = &req->params[1];
    assert_string_equal(p->name, "patient");
    assert_null(p->modifier);
    assert_string_equal(p->chain, "identifier");

    p = &req->params[2];
    assert_string_equal(p->name, "code");
    assert_string_equal(p->modifier, "text");
    assert_null(p->chain);

    p = &req->params[3];
    assert_string_equal(p->name, "subject");
    assert_string_equal(p->modifier, "Patient");
    assert_string_equal(p->chain, "organization:Organization.name:exact");

    assert_string_equal(req->params[4].name, "value-quantity");
    assert_string_equal(req->params[5].modifier, "not");

    assert_true(req->features & SMART_FHIR_F_CHAIN);
    assert_false(req->features & SMART_FHIR_F_HAS);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Patient", "_has:Observation:patient:code=1234",
                    SMART_FHIR_I_SEARCH_TYPE);
    p = &req->params[0];
    assert_int_equal(p->kind, SMART_FHIR_P_HAS);
    assert_string_equal(p->name, "_has");
    assert_string_equal(p->modifier, "Observation:patient:code");
    assert_null(p->chain);
    assert_int_equal(req->features, SMART_FHIR_F_HAS);
    smart_fhir_req_free(req);

    /* an encoded name is decoded like the server decodes it */
    req = expect_ok("GET", "Patient", "%5Fhas%3AObservation%3Apatient%3A"
                    "code=1", SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].kind, SMART_FHIR_P_HAS);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Observation",
                    "_filter=code+eq+x&_query=q&_list=l&_contained=true"
                    "&_containedType=contained",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].kind, SMART_FHIR_P_FILTER);
    assert_int_equal(req->params[1].kind, SMART_FHIR_P_QUERY);
    assert_int_equal(req->params[2].kind, SMART_FHIR_P_LIST);
    assert_int_equal(req->params[3].kind, SMART_FHIR_P_CONTAINED);
    assert_int_equal(req->params[4].kind, SMART_FHIR_P_CONTAINED);
    assert_int_equal(req->features, SMART_FHIR_F_FILTER | SMART_FHIR_F_QUERY
                     | SMART_FHIR_F_LIST | SMART_FHIR_F_CONTAINED);
    smart_fhir_req_free(req);
}


static void
test_params_includes(void **state)
{
    smart_fhir_req_t            *req;
    const smart_fhir_param_t    *p;
    const smart_fhir_include_t  *inc;

    (void) state;

    req = expect_ok("GET", "Observation",
                    "_include=Observation:patient"
                    "&_include:iterate=Patient:general-practitioner:"
                    "Practitioner"
                    "&_revinclude=Provenance:target",
                    SMART_FHIR_I_SEARCH_TYPE);

    p = &req->params[0];
    assert_int_equal(p->kind, SMART_FHIR_P_INCLUDE);
    assert_int_equal(p->iterate, 0);
    assert_int_equal(p->nincludes, 1);
    inc = &p->includes[0];
    assert_string_equal(smart_fhir_types[inc->src_type].name, "Observation");
    assert_string_equal(inc->param, "patient");
    assert_int_equal(inc->target_type, -1);
    assert_int_equal(inc->wildcard, 0);

    p = &req->params[1];
    assert_int_equal(p->iterate, 1);
    inc = &p->includes[0];
    assert_string_equal(smart_fhir_types[inc->src_type].name, "Patient");
    assert_string_equal(inc->param, "general-practitioner");
    assert_string_equal(smart_fhir_types[inc->target_type].name,
                        "Practitioner");

    p = &req->params[2];
    assert_int_equal(p->kind, SMART_FHIR_P_REVINCLUDE);
    assert_string_equal(smart_fhir_types[p->includes[0].src_type].name,
                        "Provenance");

    assert_int_equal(req->features, SMART_FHIR_F_INCLUDE
                     | SMART_FHIR_F_REVINCLUDE | SMART_FHIR_F_ITERATE);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "Observation",
                    "_include=*&_revinclude=Observation:*"
                    "&_include:recurse=*:subject",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].includes[0].wildcard, 1);
    assert_null(req->params[0].includes[0].param);
    assert_int_equal(req->params[0].includes[0].src_type, -1);
    assert_int_equal(req->params[1].includes[0].wildcard, 1);
    assert_string_equal(req->params[1].includes[0].param, "*");
    assert_int_equal(req->params[2].includes[0].wildcard, 1);
    assert_int_equal(req->params[2].includes[0].src_type, -1);
    assert_int_equal(req->params[2].iterate, 1);
    assert_true(req->features & SMART_FHIR_F_INCLUDE_WILD);
    smart_fhir_req_free(req);

    /* every comma piece is its own include */
    req = expect_ok("GET", "Observation",
                    "_include=Observation:patient,Observation:encounter",
                    SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].nincludes, 2);
    assert_string_equal(req->params[0].includes[1].param, "encounter");
    smart_fhir_req_free(req);

    expect_bad("GET", "Observation", "_include=Foo:patient",
               SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "Observation", "_include=Observation:patient:Foo",
               SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "Observation", "_include=observation:patient",
               SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "Observation", "_include=Observation",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=", SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include", SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=Observation:",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=:patient",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=Observation:patient:",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=Observation:pat.ient",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation", "_include=Observation:patient,",
               SMART_FHIR_R_PARAM_VALUE);
    expect_bad("GET", "Observation",
               "_include=Observation:patient:Patient:x",
               SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "Observation", "_include:exact=Observation:patient",
               SMART_FHIR_R_PARAM_NAME);
    expect_bad("GET", "Observation", "_include.x=Observation:patient",
               SMART_FHIR_R_PARAM_NAME);
}


static void
test_params_type(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = expect_ok("GET", "", "_type=Observation,Condition,Observation"
                    "&_type=Patient", SMART_FHIR_I_SEARCH_SYSTEM);
    assert_int_equal(req->ntypes, 3);
    assert_string_equal(smart_fhir_types[req->types[0]].name, "Observation");
    assert_string_equal(smart_fhir_types[req->types[1]].name, "Condition");
    assert_string_equal(smart_fhir_types[req->types[2]].name, "Patient");
    assert_int_equal(req->params[0].kind, SMART_FHIR_P_TYPE);
    assert_true(req->features & SMART_FHIR_F_TYPE);
    smart_fhir_req_free(req);

    req = expect_ok("GET", "", "name=x", SMART_FHIR_I_SEARCH_SYSTEM);
    assert_int_equal(req->ntypes, 0);
    assert_null(req->types);
    smart_fhir_req_free(req);

    req = classify_full("POST", "_search", NULL, "_type=Patient%2CGroup", 1,
                        NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_SEARCH_SYSTEM);
    assert_int_equal(req->ntypes, 2);
    assert_int_equal(req->params[0].source, SMART_FHIR_SRC_BODY);
    smart_fhir_req_free(req);

    expect_bad("GET", "", "_type=Observation,Foo", SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "", "_type=", SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "", "_type=Observation,", SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "", "_type=*", SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "", "_type=observation", SMART_FHIR_R_UNKNOWN_TYPE);
    expect_bad("GET", "", "_type:x=Patient", SMART_FHIR_R_PARAM_NAME);
    expect_bad_full("POST", "_search", NULL, "_type=Nope", 1,
                    SMART_FHIR_R_UNKNOWN_TYPE);
}


static void
test_params_body(void **state)
{
    smart_fhir_req_t  *req;

    (void) state;

    req = classify_full("POST", "Observation/_search", "_count=10",
                        "patient=123&code=http%3A%2F%2Floinc.org%7C1234-5"
                        "&note=a+b", 1, NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->nparams, 4);
    assert_string_equal(req->params[0].name, "_count");
    assert_int_equal(req->params[0].source, SMART_FHIR_SRC_QUERY);
    assert_string_equal(req->params[1].name, "patient");
    assert_int_equal(req->params[1].source, SMART_FHIR_SRC_BODY);
    assert_string_equal(req->params[2].value, "http://loinc.org|1234-5");
    assert_string_equal(req->params[3].value, "a b");
    smart_fhir_req_free(req);

    /* empty body: all parameters in the URL */
    req = classify_full("POST", "Observation/_search", "patient=1", NULL, 0,
                        NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->nparams, 1);
    smart_fhir_req_free(req);

    /* the body of anything but _search is not parsed as parameters */
    req = classify_full("POST", "Observation", NULL, "{\"x\":1}", 0, NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->interaction, SMART_FHIR_I_CREATE);
    assert_int_equal(req->nparams, 0);
    smart_fhir_req_free(req);

    req = classify_full("POST", "", NULL, "{\"resourceType\":\"Bundle\"}", 0,
                        NULL);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->nparams, 0);
    smart_fhir_req_free(req);

    expect_bad_full("POST", "Observation/_search", NULL,
                    "{\"patient\":\"1\"}", 0, SMART_FHIR_R_BODY_NOT_FORM);
    expect_bad_full("POST", "Observation/_search", NULL, "patient=%", 1,
                    SMART_FHIR_R_QUERY_ENCODING);
    expect_bad_full("POST", "Observation/_search", NULL, "patient=1;x=2", 1,
                    SMART_FHIR_R_QUERY_CHAR);
    expect_bad_full("POST", "Observation/_search", NULL, "patient=1\n", 1,
                    SMART_FHIR_R_QUERY_CHAR);
}


static const bad_row_t  bad_queries[] = {
    { "GET", "Observation", "patient=%", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%4", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%G1", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%%31", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=1%00", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=1%0A", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=1%0d%0aX", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=1%7F", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient%00=1", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%C0%AC", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%E0%80%AF", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%ED%A0%80", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%F4%90%80%80",
      SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%FF", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=%C3", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=\xc3(", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=\x80", SMART_FHIR_R_QUERY_ENCODING },
    { "GET", "Observation", "patient=1;patient=2", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "patient=1 2", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "patient=1#x", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "patient=1\t", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "patient=1\x7f", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "=", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "pat ient=1", SMART_FHIR_R_QUERY_CHAR },
    { "GET", "Observation", "pat+ient=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "pat%20ient=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient%3D1=2", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient%26x=2", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "pat/ient=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "pat\xc3\xa9=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient:=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient.=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", ":patient=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", ".patient=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient..name=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient::x=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "patient:.x=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "code:text:exact=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "_has=1", SMART_FHIR_R_PARAM_NAME },
    { "GET", "Observation", "_has.x=1", SMART_FHIR_R_PARAM_NAME },
};


static void
test_params_refused(void **state)
{
    size_t            i;
    const bad_row_t  *r;

    (void) state;

    for (i = 0; i < sizeof(bad_queries) / sizeof(bad_queries[0]); i++) {
        r = &bad_queries[i];
        expect_bad(r->method, r->path, r->query, r->reason);
    }
}


static void
test_params_limits(void **state)
{
    char                *q;
    size_t               i, n;
    smart_fhir_req_t    *req;
    smart_fhir_input_t   in;

    (void) state;

    q = malloc(3 * SMART_FHIR_MAX_VALUE + SMART_FHIR_MAX_INPUT + 64);
    assert_non_null(q);

    /* exactly SMART_FHIR_MAX_PARAMS parameters: accepted */
    n = 0;
    for (i = 0; i < SMART_FHIR_MAX_PARAMS; i++) {
        n += (size_t) sprintf(q + n, "%sp%zu=%zu", i > 0 ? "&" : "", i, i);
    }

    req = expect_ok("GET", "Observation", q, SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->nparams, SMART_FHIR_MAX_PARAMS);
    assert_string_equal(req->params[99].name, "p99");
    smart_fhir_req_free(req);

    strcat(q, "&one=more");
    expect_bad("GET", "Observation", q, SMART_FHIR_R_QUERY_LIMIT);

    /* the limit counts query and body together */
    n = 0;
    for (i = 0; i < SMART_FHIR_MAX_PARAMS; i++) {
        n += (size_t) sprintf(q + n, "%sp%zu=%zu", i > 0 ? "&" : "", i, i);
    }
    expect_bad_full("POST", "Observation/_search", "a=1", q, 1,
                    SMART_FHIR_R_QUERY_LIMIT);

    /* decoded value of exactly SMART_FHIR_MAX_VALUE bytes, encoded three
       times as long: accepted; one more byte: refused */
    strcpy(q, "code=");
    n = 5;
    for (i = 0; i < SMART_FHIR_MAX_VALUE; i++) {
        memcpy(q + n, "%41", 3);
        n += 3;
    }
    q[n] = '\0';

    req = expect_ok("GET", "Observation", q, SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].value_len, SMART_FHIR_MAX_VALUE);
    smart_fhir_req_free(req);

    strcat(q, "A");
    expect_bad("GET", "Observation", q, SMART_FHIR_R_QUERY_LIMIT);

    /* names */
    memset(q, 'n', SMART_FHIR_MAX_NAME);
    strcpy(q + SMART_FHIR_MAX_NAME, "=1");
    req = expect_ok("GET", "Observation", q, SMART_FHIR_I_SEARCH_TYPE);
    smart_fhir_req_free(req);

    memset(q, 'n', SMART_FHIR_MAX_NAME + 1);
    strcpy(q + SMART_FHIR_MAX_NAME + 1, "=1");
    expect_bad("GET", "Observation", q, SMART_FHIR_R_QUERY_LIMIT);

    /* comma pieces */
    strcpy(q, "_id=");
    n = 4;
    for (i = 0; i < SMART_FHIR_MAX_VALUES; i++) {
        n += (size_t) sprintf(q + n, "%s%zu", i > 0 ? "," : "", i);
    }
    req = expect_ok("GET", "Observation", q, SMART_FHIR_I_SEARCH_TYPE);
    assert_int_equal(req->params[0].nvalues, SMART_FHIR_MAX_VALUES);
    assert_string_equal(req->params[0].values[255], "255");
    smart_fhir_req_free(req);

    strcat(q, ",x");
    expect_bad("GET", "Observation", q, SMART_FHIR_R_QUERY_LIMIT);

    /* total input */
    memset(q, 'a', SMART_FHIR_MAX_INPUT + 1);
    memset(&in, 0, sizeof(in));
    in.method = "GET";
    in.method_len = 3;
    in.path = "Observation";
    in.path_len = 11;
    in.query = q;
    in.query_len = SMART_FHIR_MAX_INPUT + 1;
    req = classify_in(&in);
    assert_int_equal(req->reason, SMART_FHIR_R_QUERY_LIMIT);
    smart_fhir_req_free(req);

    /* many empty pairs cost nothing and are no parameters */
    memset(q, '&', SMART_FHIR_MAX_INPUT);
    in.query_len = SMART_FHIR_MAX_INPUT;
    req = classify_in(&in);
    assert_int_equal(req->status, SMART_FHIR_OK);
    assert_int_equal(req->nparams, 0);
    smart_fhir_req_free(req);

    free(q);
}


static void
test_names(void **state)
{
    int  i;

    (void) state;

    assert_string_equal(smart_fhir_interaction_name(SMART_FHIR_I_READ),
                        "read");
    assert_string_equal(smart_fhir_interaction_name(SMART_FHIR_I_VREAD),
                        "vread");
    assert_string_equal(
        smart_fhir_interaction_name(SMART_FHIR_I_HISTORY_INSTANCE),
        "history-instance");
    assert_string_equal(
        smart_fhir_interaction_name(SMART_FHIR_I_SEARCH_COMPARTMENT),
        "search-compartment");
    assert_string_equal(
        smart_fhir_interaction_name(SMART_FHIR_I_BATCH_OR_TRANSACTION),
        "batch-or-transaction");
    assert_string_equal(smart_fhir_interaction_name(SMART_FHIR_I_OPERATION),
                        "operation");
    assert_string_equal(
        smart_fhir_interaction_name(SMART_FHIR_I_TRANSACTION),
        "transaction");
    assert_string_equal(
        smart_fhir_interaction_name((smart_fhir_interaction_e) 999), "none");

    for (i = 0; i <= SMART_FHIR_R_BODY_UNEXPECTED; i++) {
        assert_string_not_equal(
            smart_fhir_reason_name((smart_fhir_reason_e) i), "unknown");
    }

    assert_string_equal(smart_fhir_reason_name(SMART_FHIR_R_PATH_PERCENT),
                        "path-percent");
    assert_string_equal(smart_fhir_reason_name(SMART_FHIR_R_QUERY_QMARK),
                        "query-question-mark");
    assert_string_equal(smart_fhir_reason_name(SMART_FHIR_R_IF_NONE_EXIST),
                        "if-none-exist");
    assert_string_equal(
        smart_fhir_reason_name(SMART_FHIR_R_BODY_UNEXPECTED),
        "body-unexpected");
    assert_string_equal(
        smart_fhir_reason_name((smart_fhir_reason_e) 999), "unknown");

    assert_true(smart_fhir_valid_id("a", 1));
    assert_true(smart_fhir_valid_id("A-z.0", 5));
    assert_false(smart_fhir_valid_id("", 0));
    assert_false(smart_fhir_valid_id(NULL, 1));
    assert_false(smart_fhir_valid_id(".", 1));
    assert_false(smart_fhir_valid_id("..", 2));
    assert_false(smart_fhir_valid_id("a_b", 3));
    assert_false(smart_fhir_valid_id("a/b", 3));
    assert_false(smart_fhir_valid_id("a\0", 2));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_tables_types),
        cmocka_unit_test(test_tables_compartment),
        cmocka_unit_test(test_tables_patient_data),
        cmocka_unit_test(test_tables_refparams),
        cmocka_unit_test(test_interactions),
        cmocka_unit_test(test_vread_fields),
        cmocka_unit_test(test_compartment_fields),
        cmocka_unit_test(test_operation_fields),
        cmocka_unit_test(test_conditional),
        cmocka_unit_test(test_method_rules),
        cmocka_unit_test(test_method_override),
        cmocka_unit_test(test_ambiguous_paths),
        cmocka_unit_test(test_path_bounds),
        cmocka_unit_test(test_params_decoding),
        cmocka_unit_test(test_params_commas),
        cmocka_unit_test(test_params_names),
        cmocka_unit_test(test_params_includes),
        cmocka_unit_test(test_params_type),
        cmocka_unit_test(test_params_body),
        cmocka_unit_test(test_params_refused),
        cmocka_unit_test(test_params_limits),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_differentials),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_param_defined),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
