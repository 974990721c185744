
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the authorization decision (smart_policy.[ch],
 * docs/scopes.md): the decision table tests/policy/decisions.tsv run
 * through the core with the CLI's own table code, and focused tests of
 * what the table cannot show (narrowing text, needed scopes, bundle entry
 * lists, bounds, the operation table, hostile inputs).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_policy.h"

#define SMART_SCOPE_CHECK_NO_MAIN
#include "../tools/smart-scope-check.c"


typedef struct {
    smart_policy_conf_t    conf;
    smart_scope_set_t     *set;
    smart_fhir_req_t      *req;
    smart_decision_t      *d;
} tp_t;


/* Decides method url for scopes/patient with body; the result in t->d. */
static void
run(tp_t *t, const char *scopes, const char *patient, const char *method,
    const char *url, const char *body)
{
    const char          *q;
    smart_fhir_input_t   in;

    t->set = smart_scope_parse(scopes, strlen(scopes));
    assert_non_null(t->set);

    memset(&in, 0, sizeof(smart_fhir_input_t));
    in.method = method;
    in.method_len = strlen(method);
    q = strchr(url, '?');
    in.path = url;
    in.path_len = q ? (size_t) (q - url) : strlen(url);

    if (q != NULL) {
        in.query = q + 1;
        in.query_len = strlen(q + 1);
    }

    assert_int_not_equal(smart_fhir_classify(&in, &t->req),
                         SMART_FHIR_NOMEM);

    assert_int_equal(smart_policy_decide(&t->conf, t->set, patient, t->req,
                                         body, body ? strlen(body) : 0,
                                         &t->d),
                     SMART_POLICY_OK);
    assert_non_null(t->d);
    assert_non_null(t->d->explain);
}


static void
done(tp_t *t)
{
    smart_decision_free(t->d);
    smart_fhir_req_free(t->req);
    smart_scope_set_free(t->set);
    t->d = NULL;
    t->req = NULL;
    t->set = NULL;
}


static void
expect_deny(tp_t *t, smart_err_e reason, const char *needed)
{
    assert_int_equal(t->d->allow, 0);
    assert_int_equal(t->d->narrowed, 0);
    assert_int_equal(t->d->reason, reason);
    assert_string_equal(t->d->needed, needed);
    assert_null(t->d->granted_by);
    assert_null(t->d->query_append);
}


static void
expect_narrow(tp_t *t, const char *append)
{
    assert_int_equal(t->d->allow, 1);
    assert_int_equal(t->d->narrowed, 1);
    assert_non_null(t->d->query_append);
    assert_string_equal(t->d->query_append, append);
    assert_true(t->d->nparams > 0);
}


/* --- the table ----------------------------------------------------------- */

static void
test_table(void **state)
{
    long  failed;

    (void) state;

    failed = ssc_run_table("policy/decisions.tsv",
                           SMART_PATIENT_SEARCH_NARROW, stdout);
    assert_int_equal(failed, 0);
}


static void
test_table_counts_failures(void **state)
{
    FILE    *f, *out;
    char     text[2048];
    size_t   n;
    long     failed;

    (void) state;

    f = fopen("/tmp/smart_policy_bad.tsv", "w");
    assert_non_null(f);
    fputs("# a deliberately wrong table\n"
          "user/*.rs\t-\tGET\tObservation/1\tdeny\n"
          "patient/*.rs\t1\tGET\tObservation\tallow\n"
          "user/*.rs\t-\tGET\tObservation/1\tallow\n"
          "-\t-\tGET\tObservation/1\tpatient-mismatch\n"
          "too\tfew\n", f);
    fclose(f);

    out = tmpfile();
    assert_non_null(out);
    failed = ssc_run_table("/tmp/smart_policy_bad.tsv",
                           SMART_PATIENT_SEARCH_NARROW, out);
    assert_int_equal(failed, 4);
    remove("/tmp/smart_policy_bad.tsv");

    rewind(out);
    n = fread(text, 1, sizeof(text) - 1, out);
    text[n] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "line 3: GET Observation: expected allow, "
                                 "got narrow"));
    assert_non_null(strstr(text, "line 6: expected at least 5"));
    assert_non_null(strstr(text, "\n1 passed, 4 failed\n"));

    out = tmpfile();
    assert_non_null(out);
    assert_int_equal(ssc_run_table("/nonexistent/x.tsv",
                                   SMART_PATIENT_SEARCH_NARROW, out), -1);
    fclose(out);
}


/* The body column: inline JSON, "@FILE" and FILE relative to the table. */
static void
test_table_bodies(void **state)
{
    FILE    *f, *out;
    char     text[2048];
    size_t   n;

    (void) state;

    f = fopen("/tmp/smart_policy_body.json", "w");
    assert_non_null(f);
    fputs("{\"resourceType\":\"Observation\","
          "\"subject\":{\"reference\":\"Patient/1\"}}", f);
    fclose(f);

    f = fopen("/tmp/smart_policy_bodies.tsv", "w");
    assert_non_null(f);
    fputs("patient/*.cruds\t1\tPOST\tObservation\tallow\t"
          "{\"resourceType\":\"Observation\",\"subject\":"
          "{\"reference\":\"Patient/1\"}}\n"
          "patient/*.cruds\t1\tPOST\tObservation\tpatient-mismatch\t"
          "{\"resourceType\":\"Observation\",\"subject\":"
          "{\"reference\":\"Patient/2\"}}\n"
          "patient/*.cruds\t1\tPOST\tObservation\tallow\t"
          "@smart_policy_body.json\n"
          "patient/*.cruds\t1\tPOST\tObservation\tallow\t"
          "smart_policy_body.json\n"
          "patient/*.cruds\t1\tPOST\tObservation\tallow\t"
          "@smart_policy_none.json\n"
          "patient/*.cruds\t1\tPOST\tObservation\trequest-invalid\t"
          "{not json\n", f);
    fclose(f);

    out = tmpfile();
    assert_non_null(out);
    assert_int_equal(ssc_run_table("/tmp/smart_policy_bodies.tsv",
                                   SMART_PATIENT_SEARCH_NARROW, out), 1);
    remove("/tmp/smart_policy_bodies.tsv");
    remove("/tmp/smart_policy_body.json");

    rewind(out);
    n = fread(text, 1, sizeof(text) - 1, out);
    text[n] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "line 5: cannot read body "
                                 "/tmp/smart_policy_none.json"));
    assert_non_null(strstr(text, "\n5 passed, 1 failed\n"));
}


/* What the CLI prints for k into out[0..size); the outcome word. */
static const char *
cli_print(const ssc_case_t *k, char *out, size_t size)
{
    FILE               *f;
    size_t              n;
    const char         *word;
    smart_decision_t   *d;

    d = ssc_decide_checked(k, NULL);
    assert_non_null(d);
    word = ssc_outcome(d);

    f = tmpfile();
    assert_non_null(f);
    ssc_print(f, d, k);
    rewind(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    smart_decision_free(d);

    return word;
}


/* The CLI's output for one decision. */
static void
test_cli_print(void **state)
{
    char         out[2048];
    ssc_case_t   k;

    (void) state;

    memset(&k, 0, sizeof(ssc_case_t));
    k.scopes = "patient/Observation.rs";
    k.patient = "123";
    k.method = "GET";
    k.url = "Observation?code=x";

    assert_string_equal(cli_print(&k, out, sizeof(out)), "narrow");
    assert_string_equal(out,
        "decision: narrow\n"
        "interaction: search-type\n"
        "granted-by: patient/Observation.rs\n"
        "narrowing: patient=123\n"
        "forwarded: Observation?code=x&patient=123\n"
        "explanation: narrowed to the patient\n");

    k.url = "Observation/1";
    assert_string_equal(cli_print(&k, out, sizeof(out)), "check");
    assert_non_null(strstr(out, "decision: allow, response checked\n"));

    /* a patient-only token is never asked for a user/ scope */
    k.url = "Observation/_history";
    assert_string_equal(cli_print(&k, out, sizeof(out)),
                        "scope-insufficient");
    assert_non_null(strstr(out, "decision: deny\n"));
    assert_non_null(strstr(out, "reason: scope-insufficient\n"));
    assert_non_null(strstr(out, "needed: -\n"));

    k.scopes = "patient/Observation.rs user/Condition.rs";
    assert_string_equal(cli_print(&k, out, sizeof(out)),
                        "scope-insufficient");
    assert_non_null(strstr(out, "needed: user/Observation.s\n"));
}


/* --- narrowing ----------------------------------------------------------- */

static void
test_narrow_patient_param(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/Observation.rs", "123", "GET", "Observation?code=x",
        NULL);
    expect_narrow(&t, "patient=123");
    assert_string_equal(t.d->params[0].name, "patient");
    assert_string_equal(t.d->params[0].value, "123");
    assert_string_equal(t.d->granted_by, "patient/Observation.rs");
    done(&t);

    /* Patient is limited by _id */
    run(&t, "patient/Patient.rs", "123", "GET", "Patient?name=x", NULL);
    expect_narrow(&t, "_id=123");
    done(&t);

    /* the gateway's conf: the same decision, without the granted text */
    t.conf.no_granted_by = 1;
    run(&t, "patient/Observation.rs", "123", "GET", "Observation?code=x",
        NULL);
    expect_narrow(&t, "patient=123");
    assert_null(t.d->granted_by);
    assert_string_equal(t.d->explain, "narrowed to the patient");
    done(&t);

    /* Group has only "member", which also holds Devices and others */
    run(&t, "patient/Group.rs", "123", "GET", "Group", NULL);
    expect_narrow(&t, "member=Patient/123");
    done(&t);

    /* "subject" before other parameters when there is no "patient" */
    run(&t, "patient/*.rs", "a.b-9", "GET", "Condition", NULL);
    expect_narrow(&t, "patient=a.b-9");
    done(&t);

    /* the system search narrowing */
    run(&t, "patient/*.rs", "123", "GET", "?_type=Observation,Condition",
        NULL);
    expect_narrow(&t, "patient=123");
    done(&t);
}


static void
test_narrow_granular(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/Observation.rs?category=http://x.org/cs%7Clab "
            "patient/Observation.rs?category=vital-signs", "123", "GET",
        "Observation", NULL);
    expect_narrow(&t, "patient=123&category=http://x.org/cs%7Clab,"
                      "vital-signs");
    assert_int_equal(t.d->nparams, 2);
    done(&t);

    /* a two-parameter scope narrows with both */
    run(&t, "user/Condition.rs?category=problem-list-item&"
            "clinical-status=active", NULL, "GET", "Condition", NULL);
    expect_narrow(&t, "category=problem-list-item&clinical-status=active");
    done(&t);

    /* values are encoded so that they neither split nor join */
    run(&t, "user/Observation.rs?code=a+b%26c%5C%2Cd", NULL, "GET",
        "Observation", NULL);
    expect_narrow(&t, "code=a%2Bb%26c%5C%2Cd");
    done(&t);

    /* the narrowed request is then allowed unchanged */
    run(&t, "user/Observation.rs?code=a+b%26c%5C%2Cd", NULL, "GET",
        "Observation?code=a%2Bb%26c%5C%2Cd", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    done(&t);

    t.conf.patient_search = SMART_PATIENT_SEARCH_DENY;
    run(&t, "user/Observation.rs?category=lab", NULL, "GET", "Observation",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.s");
    done(&t);
}


static void
test_narrow_prefers_unrestricted(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    /* a user scope allows it as is: no narrowing from the patient scope */
    run(&t, "patient/Observation.rs user/Observation.rs", "123", "GET",
        "Observation?code=x", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    assert_string_equal(t.d->granted_by, "user/Observation.rs");
    done(&t);
}


/* --- checked on the response ---------------------------------------------- */

/* Includes that follow references the patient limit does not cover. */
static void
test_include_checked(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/*.rs", "123", "GET",
        "Observation?patient=123&_include=Observation:encounter", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    assert_int_equal(t.d->check, 1);
    assert_string_equal(t.d->explain, "limited to the patient; included "
                                      "resources checked on the response");
    done(&t);

    /* narrowed and checked: the narrowing is the same as without it */
    run(&t, "patient/*.rs", "123", "GET",
        "Observation?code=x&_revinclude=Provenance:target", NULL);
    expect_narrow(&t, "patient=123");
    assert_int_equal(t.d->check, 1);
    done(&t);

    /* proven by the request: not checked */
    run(&t, "patient/*.rs", "123", "GET",
        "Patient?_id=123&_revinclude=Observation:subject", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 0);
    done(&t);

    /* a type outside the compartment: not checked */
    run(&t, "patient/*.rs", "123", "GET",
        "MedicationRequest?patient=123&_include=MedicationRequest:medication",
        NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 0);
    done(&t);

    /* Binary, Bundle, ... may be anyone's: refused, nothing to ask for */
    run(&t, "patient/*.rs", "123", "GET",
        "Composition?patient=123&_revinclude=Bundle:composition", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    /* smart_response_check off: refused as before */
    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, "patient/*.rs", "123", "GET",
        "Observation?patient=123&_include=Observation:encounter", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    assert_string_equal(t.d->explain, "included resources of a compartment "
                                      "type would not be proven to be the "
                                      "patient's");
    done(&t);
}


/* HAPI's paging links under a patient scope on every type. */
static void
test_paging_checked(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/*.rs", "123", "GET",
        "?_getpages=0e5b6c1a&_getpagesoffset=20&_count=20"
        "&_bundletype=searchset", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    assert_int_equal(t.d->check, 1);
    assert_int_equal(t.d->interaction, SMART_FHIR_I_SEARCH_SYSTEM);
    assert_string_equal(t.d->granted_by, "patient/*.rs");
    assert_string_equal(t.d->explain, "a page of a search stored on the "
                                      "server: every entry checked on the "
                                      "response");
    done(&t);

    /* a scope on one type is not enough: the page may hold any type */
    run(&t, "patient/Observation.rs", "123", "GET", "?_getpages=0e5b6c1a",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/*.s");
    done(&t);

    /* user scopes: as before, unchecked */
    run(&t, "user/*.rs patient/*.rs", "123", "GET", "?_getpages=0e5b6c1a",
        NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 0);
    assert_string_equal(t.d->granted_by, "user/*.rs");
    done(&t);

    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, "patient/*.rs", "123", "GET", "?_getpages=0e5b6c1a", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);
}


/* --- writes by id after a pre-read ---------------------------------------- */

#define TP_OBS_P123                                                          \
    "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\","  \
    "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/123\"}}"


static void
test_precheck_single(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));
    t.conf.precheck = SMART_PRECHECK_AVAILABLE;

    run(&t, "patient/*.cruds", "123", "PUT", "Observation/o1", TP_OBS_P123);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    assert_int_equal(t.d->check, 0);
    assert_int_equal(t.d->precheck, 1);
    assert_int_equal(t.d->nprereads, 1);
    assert_int_equal(t.d->prereads[0].index, 0);
    assert_int_equal(t.d->prereads[0].interaction, SMART_FHIR_I_UPDATE);
    assert_string_equal(smart_fhir_types[t.d->prereads[0].type].name,
                        "Observation");
    assert_string_equal(t.d->prereads[0].id, "o1");
    assert_int_equal(t.d->prereads[0].create_ok, 1);
    assert_string_equal(t.d->granted_by, "patient/*.cruds");
    assert_string_equal(t.d->explain, "allowed after a pre-read: forwarded "
                                      "only when the current resource is the "
                                      "patient's");
    done(&t);

    run(&t, "patient/*.cruds", "123", "PATCH", "Observation/o1",
        "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"final\"}]");
    assert_int_equal(t.d->precheck, 1);
    assert_int_equal(t.d->prereads[0].interaction, SMART_FHIR_I_PATCH);
    assert_int_equal(t.d->prereads[0].create_ok, 0);
    done(&t);

    run(&t, "patient/*.cruds", "123", "DELETE", "Device/d-1.x", NULL);
    assert_int_equal(t.d->precheck, 1);
    assert_int_equal(t.d->prereads[0].interaction, SMART_FHIR_I_DELETE);
    assert_string_equal(t.d->prereads[0].id, "d-1.x");
    assert_int_equal(t.d->prereads[0].create_ok, 0);
    done(&t);

    /* the patient's own record needs no pre-read; a refusal lists none */
    run(&t, "patient/*.cruds", "123", "PUT", "Patient/123",
        "{\"resourceType\":\"Patient\",\"id\":\"123\"}");
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->precheck, 0);
    assert_null(t.d->prereads);
    done(&t);

    run(&t, "patient/*.cruds", "123", "PUT", "Observation/o2", TP_OBS_P123);
    expect_deny(&t, SMART_ERR_REQUEST_INVALID, "");
    assert_int_equal(t.d->precheck, 0);
    assert_null(t.d->prereads);
    done(&t);

    /* without smart_precheck_request, and under smart_response_check off:
       refused, saying why */
    t.conf.precheck = SMART_PRECHECK_NONE;
    run(&t, "patient/*.cruds", "123", "DELETE", "Observation/o1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    assert_non_null(strstr(t.d->explain, "smart_precheck_request"));
    done(&t);

    run(&t, "patient/*.cruds user/Condition.rs", "123", "DELETE",
        "Observation/o1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.d");
    done(&t);

    t.conf.precheck = SMART_PRECHECK_AVAILABLE;
    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, "patient/*.cruds", "123", "DELETE", "Observation/o1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    assert_string_equal(t.d->explain, "a write by id of a compartment type "
                                      "cannot be checked against the patient; "
                                      "use a conditional write with the "
                                      "patient parameter");
    assert_null(t.d->prereads);
    done(&t);
}


/* A bundle's writes by id: listed with their entry, bounded. */
static void
test_precheck_bundle(void **state)
{
    tp_t         t;
    const char  *bundle;

    (void) state;
    memset(&t, 0, sizeof(tp_t));
    t.conf.precheck = SMART_PRECHECK_AVAILABLE;

    bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\","
             "\"entry\":["
             "{\"request\":{\"method\":\"POST\",\"url\":\"Observation\"},"
             "\"resource\":" TP_OBS_P123 "},"
             "{\"request\":{\"method\":\"PUT\",\"url\":\"Observation/o1\"},"
             "\"resource\":" TP_OBS_P123 "},"
             "{\"request\":{\"method\":\"PUT\",\"url\":\"Patient/123\"},"
             "\"resource\":{\"resourceType\":\"Patient\",\"id\":\"123\"}},"
             "{\"request\":{\"method\":\"DELETE\",\"url\":\"Condition/c3\"}}]}";

    run(&t, "patient/*.cruds", "123", "POST", "", bundle);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->precheck, 1);
    assert_int_equal(t.d->check, 0);
    assert_int_equal(t.d->interaction, SMART_FHIR_I_TRANSACTION);
    assert_int_equal(t.d->nprereads, 2);
    assert_int_equal(t.d->prereads[0].index, 1);
    assert_string_equal(t.d->prereads[0].id, "o1");
    assert_int_equal(t.d->prereads[0].create_ok, 1);
    assert_int_equal(t.d->prereads[1].index, 3);
    assert_string_equal(t.d->prereads[1].id, "c3");
    assert_int_equal(t.d->prereads[1].interaction, SMART_FHIR_I_DELETE);
    done(&t);

    /* beyond smart_precheck_max: the entry past the bound is refused */
    t.conf.precheck_max = 1;
    run(&t, "patient/*.cruds", "123", "POST", "", bundle);
    assert_int_equal(t.d->allow, 0);
    assert_int_equal(t.d->precheck, 0);
    assert_null(t.d->prereads);
    assert_int_equal(t.d->nentries, 1);
    assert_int_equal(t.d->entries[0].index, 3);
    assert_int_equal(t.d->entries[0].reason, SMART_ERR_SCOPE_INSUFFICIENT);
    assert_string_equal(t.d->entries[0].needed, "");
    assert_non_null(strstr(t.d->entries[0].why, "smart_precheck_max"));
    assert_int_equal(t.d->reason, SMART_ERR_SCOPE_INSUFFICIENT);
    done(&t);

    t.conf.precheck_max = 2;
    run(&t, "patient/*.cruds", "123", "POST", "", bundle);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->nprereads, 2);
    done(&t);
}


/* What smart-scope-check prints for them. */
static void
test_precheck_cli(void **state)
{
    char         out[2048];
    ssc_case_t   k;

    (void) state;

    memset(&k, 0, sizeof(ssc_case_t));
    k.scopes = "patient/*.cruds";
    k.patient = "123";
    k.method = "PUT";
    k.url = "Observation/o1";
    k.body = TP_OBS_P123;
    k.body_len = strlen(TP_OBS_P123);
    k.precheck = SMART_PRECHECK_AVAILABLE;

    assert_string_equal(cli_print(&k, out, sizeof(out)), "precheck");
    assert_string_equal(out,
        "decision: allow, after a pre-read of Observation/o1\n"
        "interaction: update\n"
        "granted-by: patient/*.cruds\n"
        "pre-read: Observation/o1 before the update; not found: the update "
        "may create it\n"
        "explanation: allowed after a pre-read: forwarded only when the "
        "current resource is the patient's\n");

    k.method = "POST";
    k.url = "";
    k.body = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
             "{\"request\":{\"method\":\"DELETE\",\"url\":\"Condition/c1\"}},"
             "{\"request\":{\"method\":\"DELETE\",\"url\":\"Device/d2\"}}]}";
    k.body_len = strlen(k.body);

    assert_string_equal(cli_print(&k, out, sizeof(out)), "precheck");
    assert_non_null(strstr(out, "decision: allow, after pre-reads of "
                                "Condition/c1, Device/d2\n"));
    assert_non_null(strstr(out, "pre-read: Bundle.entry[1] Device/d2 before "
                                "the delete\n"));
}


/* --- conditional writes --------------------------------------------------- */

/* Criteria without the patient parameter are narrowed where they are. */
static void
test_conditional_narrow(void **state)
{
    tp_t         t;
    char         out[2048];
    ssc_case_t   k;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/*.cruds", "123", "DELETE", "Observation?code=x", NULL);
    expect_narrow(&t, "patient=123");
    assert_int_equal(t.d->narrow_target, SMART_NARROW_QUERY);
    assert_int_equal(t.d->check, 0);
    assert_int_equal(t.d->precheck, 0);
    assert_string_equal(t.d->explain, "the criteria narrowed to the "
                                      "patient");
    done(&t);

    run(&t, "patient/*.cruds", "123", "PUT", "Condition?code=x",
        "{\"resourceType\":\"Condition\","
        "\"subject\":{\"reference\":\"Patient/123\"}}");
    expect_narrow(&t, "patient=123");
    assert_int_equal(t.d->narrow_target, SMART_NARROW_QUERY);
    done(&t);

    /* searches still narrow the query */
    run(&t, "patient/*.cruds", "123", "GET", "Observation?code=x", NULL);
    expect_narrow(&t, "patient=123");
    assert_int_equal(t.d->narrow_target, SMART_NARROW_QUERY);
    done(&t);

    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, "patient/*.cruds", "123", "DELETE", "Observation?code=x", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    t.conf.response_check = SMART_RESPONSE_CHECK_ON;
    t.conf.patient_search = SMART_PATIENT_SEARCH_DENY;
    run(&t, "patient/*.cruds", "123", "DELETE", "Observation?code=x", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    /* a conditional create's criteria are its If-None-Exist */
    memset(&k, 0, sizeof(ssc_case_t));
    k.scopes = "patient/*.cruds";
    k.patient = "123";
    k.method = "POST";
    k.url = "Observation";
    k.body = "{\"resourceType\":\"Observation\","
             "\"subject\":{\"reference\":\"Patient/123\"}}";
    k.body_len = strlen(k.body);
    k.ine[0] = "identifier=urn:x%7C1";
    k.nine = 1;

    assert_string_equal(cli_print(&k, out, sizeof(out)), "narrow");
    assert_string_equal(out,
        "decision: narrow\n"
        "interaction: create\n"
        "granted-by: patient/*.cruds\n"
        "narrowing: patient=123 (If-None-Exist)\n"
        "forwarded: If-None-Exist: identifier=urn:x%7C1&patient=123\n"
        "explanation: the criteria narrowed to the patient\n");
}


/* --- reasons and needed scopes ------------------------------------------- */

static void
test_needed(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/Condition.rs", "123", "GET", "Observation?patient=123",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);

    /* a read by id is allowed on condition of the response */
    run(&t, "patient/Observation.rs", "123", "GET", "Observation/1", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    assert_int_equal(t.d->check, 1);
    assert_string_equal(t.d->needed, "");
    done(&t);

    /* no patient scope allows a type history: a patient-only token is
       asked for nothing, a token that has user/ scopes for one */
    run(&t, "patient/Observation.rs", "123", "GET", "Observation/_history",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    run(&t, "patient/Observation.rs user/Condition.rs", "123", "GET",
        "Observation/_history", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.s");
    done(&t);

    run(&t, "patient/Patient.rs", "123", "GET", "Patient/9", NULL);
    expect_deny(&t, SMART_ERR_PATIENT_MISMATCH, "patient/Patient.r");
    done(&t);

    run(&t, "patient/Patient.rs", NULL, "GET", "Patient/123", NULL);
    expect_deny(&t, SMART_ERR_PATIENT_CONTEXT_MISSING, "patient/Patient.r");
    done(&t);

    run(&t, "user/Observation.rs", NULL, "DELETE", "Observation/1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.d");
    done(&t);

    run(&t, "", NULL, "GET", "_history", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/*.s");
    done(&t);

    run(&t, "user/*.rs", NULL, "GET", "$export", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "system/*.rs");
    done(&t);

    run(&t, "user/*.cruds", NULL, "GET", "$nosuch", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    /* the patient claim never appears in the explanation */
    run(&t, "patient/Patient.rs", "secret42", "GET", "Patient/other", NULL);
    assert_null(strstr(t.d->explain, "secret42"));
    assert_null(strstr(t.d->needed, "secret42"));
    done(&t);
}


/*
 * Under patient-only scopes a refusal names the patient/ scope that would
 * have allowed the request, or nothing: never a user/ or system/ scope,
 * which an app launched for a patient cannot get (issue 14).
 */
static void
test_needed_patient_only(void **state)
{
    size_t              i;
    tp_t                t;
    smart_policy_op_t   op;
    const char         *types[1] = { "*" };
    size_t              lens[1] = { 1 };

    static const struct {
        const char                *method;
        const char                *url;
        const char                *body;
        smart_response_check_e     check;
        smart_patient_search_e     search;
        const char                *needed;
    } cases[] = {
        { "GET", "Observation/1", NULL, SMART_RESPONSE_CHECK_OFF,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Observation/_history", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Binary/1", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Observation?patient=1&_has:Observation:patient:code=x",
          NULL, SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Patient/1/*", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Observation?code=x", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_DENY, "" },
        { "GET", "?_type=Binary&patient=1", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "?_type=Patient", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "?code=x", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        /* focus may point to any type: the first one no scope reads */
        { "GET", "Observation?patient=1&_include=Observation:focus", NULL,
          SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW,
          "patient/Account.r" },
        { "DELETE", "Observation/1", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        /* letters no scope grants are named first, in the token's kind */
        { "POST", "Medication", "{\"resourceType\":\"Medication\"}",
          SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW,
          "patient/Medication.c" },
        { "POST", "Patient", "{\"resourceType\":\"Patient\"}",
          SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW, "" },
        { "PATCH", "Patient/1", "{\"resourceType\":\"Parameters\"}",
          SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Observation/$lastn", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "$export", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "GET", "Patient/1/$everything", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        { "POST", "", "{\"resourceType\":\"Bundle\",\"type\":\"batch\","
          "\"entry\":[{\"request\":{\"method\":\"GET\",\"url\":"
          "\"Observation/_history\"}}]}", SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "" },
        /* a patient scope would allow it: named */
        { "GET", "Condition/1", NULL, SMART_RESPONSE_CHECK_ON,
          SMART_PATIENT_SEARCH_NARROW, "patient/Condition.r" },
        { "PUT", "Observation/1", "{\"resourceType\":\"Observation\"}",
          SMART_RESPONSE_CHECK_ON, SMART_PATIENT_SEARCH_NARROW, "" },
    };

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    /* "everything" for user/ scopes only: no patient scope allows it */
    assert_int_equal(smart_policy_op_parse("everything", 10, "user/rs", 7,
                                           types, lens, 1, &op, NULL), 0);
    t.conf.ops = &op;
    t.conf.nops = 1;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t.conf.response_check = cases[i].check;
        t.conf.patient_search = cases[i].search;
        run(&t, "patient/Observation.rs patient/Patient.rs "
                "patient/Medication.rs patient/Binary.rs "
                "patient/Observation.cud patient/Patient.cu patient/*.s",
            "1", cases[i].method, cases[i].url, cases[i].body);
        assert_int_equal(t.d->allow, 0);
        assert_string_equal(t.d->needed, cases[i].needed);

        if (t.d->nentries > 0) {
            assert_string_equal(t.d->entries[0].needed, "");
        }

        done(&t);
    }
}


static void
test_invalid_inputs(void **state)
{
    smart_decision_t      *d;
    smart_scope_set_t     *set;
    smart_fhir_req_t       bad;
    tp_t                   t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    set = smart_scope_parse("user/*.cruds", 12);
    assert_non_null(set);

    assert_int_equal(smart_policy_decide(NULL, set, NULL, NULL, NULL, 0, &d),
                     SMART_POLICY_OK);
    assert_int_equal(d->allow, 0);
    assert_int_equal(d->reason, SMART_ERR_REQUEST_INVALID);
    smart_decision_free(d);

    memset(&bad, 0, sizeof(smart_fhir_req_t));
    bad.status = SMART_FHIR_INVALID;
    bad.detail = "x";
    assert_int_equal(smart_policy_decide(NULL, set, NULL, &bad, NULL, 0, &d),
                     SMART_POLICY_OK);
    assert_int_equal(d->reason, SMART_ERR_REQUEST_INVALID);
    smart_decision_free(d);

    assert_int_equal(smart_policy_decide(NULL, set, NULL, NULL, NULL, 0,
                                         NULL),
                     SMART_POLICY_NOMEM);
    smart_decision_free(NULL);
    smart_scope_set_free(set);

    /* scopes NULL grant nothing */
    t.set = NULL;
    run(&t, "", NULL, "GET", "Observation/1", NULL);
    smart_decision_free(t.d);
    assert_int_equal(smart_policy_decide(NULL, NULL, NULL, t.req, NULL, 0,
                                         &t.d),
                     SMART_POLICY_OK);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.r");
    done(&t);

    /* a patient claim that is not a FHIR id is no patient context */
    run(&t, "patient/Patient.rs", "1,2", "GET", "Patient/1", NULL);
    expect_deny(&t, SMART_ERR_PATIENT_CONTEXT_MISSING, "patient/Patient.r");
    done(&t);
    run(&t, "patient/Patient.rs", "Patient/1", "GET", "Patient/1", NULL);
    expect_deny(&t, SMART_ERR_PATIENT_CONTEXT_MISSING, "patient/Patient.r");
    done(&t);
}


static void
test_body_max(void **state)
{
    tp_t         t;
    const char  *body;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    body = "{\"resourceType\":\"Observation\","
           "\"subject\":{\"reference\":\"Patient/1\"}}";

    t.conf.body_max = strlen(body) - 1;
    run(&t, "user/*.cruds", NULL, "POST", "Observation", body);
    expect_deny(&t, SMART_ERR_REQUEST_TOO_LARGE, "");
    done(&t);

    t.conf.body_max = strlen(body);
    run(&t, "user/*.cruds", NULL, "POST", "Observation", body);
    assert_int_equal(t.d->allow, 1);
    done(&t);
}


static void
test_deep_and_hostile_bodies(void **state)
{
    tp_t     t;
    char    *deep;
    size_t   i, n;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    /* deep nesting inside a compartment element: refused, never a crash */
    n = 1500;
    deep = malloc(n * 2 + 200);
    assert_non_null(deep);
    strcpy(deep, "{\"resourceType\":\"Observation\",\"subject\":");
    for (i = 0; i < n; i++) {
        strcat(deep, "[");
    }
    strcat(deep, "1");
    for (i = 0; i < n; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}");

    run(&t, "patient/*.cruds", "1", "POST", "Observation", deep);
    assert_int_equal(t.d->allow, 0);
    done(&t);
    free(deep);

    /* NUL escape inside a string is refused by the parser */
    run(&t, "user/*.cruds", NULL, "POST", "Observation",
        "{\"resourceType\":\"Observ\\u0000ation\"}");
    expect_deny(&t, SMART_ERR_REQUEST_INVALID, "");
    done(&t);

    /* references that look right but are not Type/id */
    run(&t, "patient/*.cruds", "1", "POST", "Observation",
        "{\"resourceType\":\"Observation\","
        "\"subject\":{\"reference\":\"Patient/1/x\"}}");
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    run(&t, "patient/*.cruds", "1", "POST", "Observation",
        "{\"resourceType\":\"Observation\","
        "\"subject\":{\"reference\":\"Patient/1/_history/2\"}}");
    assert_int_equal(t.d->allow, 1);
    done(&t);

    run(&t, "patient/*.cruds", "1", "POST", "Observation",
        "{\"resourceType\":\"Observation\","
        "\"subject\":{\"reference\":42}}");
    assert_int_equal(t.d->allow, 0);
    done(&t);
}


/* --- bundles -------------------------------------------------------------- */

static void
test_bundle_entries(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    run(&t, "patient/*.cruds", "123", "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation?patient=123"
        "\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation/1\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/123\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/9\"}}]}");

    /* Observation/1 is checked on the response; Patient/9 is not P */
    assert_int_equal(t.d->allow, 0);
    assert_int_equal(t.d->interaction, SMART_FHIR_I_BATCH);
    assert_int_equal(t.d->nentries, 1);
    assert_int_equal(t.d->entries[0].index, 3);
    assert_int_equal(t.d->entries[0].reason, SMART_ERR_PATIENT_MISMATCH);
    assert_int_equal(t.d->reason, SMART_ERR_PATIENT_MISMATCH);
    done(&t);

    /* reads only: allowed, the batch-response checked entry by entry */
    run(&t, "patient/*.cruds", "123", "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation?patient=123"
        "\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation/1\"}}]}");
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 1);
    done(&t);

    /* with a write, a checked read would hide what was written: refused */
    run(&t, "patient/*.cruds", "123", "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        "{\"request\":{\"method\":\"DELETE\",\"url\":"
        "\"Observation?patient=123&code=x\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation/1\"}}]}");
    assert_int_equal(t.d->allow, 0);
    assert_int_equal(t.d->nentries, 1);
    assert_int_equal(t.d->entries[0].index, 1);
    assert_int_equal(t.d->entries[0].reason, SMART_ERR_SCOPE_INSUFFICIENT);
    done(&t);

    run(&t, "user/*.cruds", NULL, "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"request\":{\"method\":\"DELETE\",\"url\":\"Observation/1\"}}]}");
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->interaction, SMART_FHIR_I_TRANSACTION);
    assert_int_equal(t.d->nentries, 0);
    done(&t);

    /* an entry url with a NUL escape is not the url the server sees */
    run(&t, "user/*.cruds", NULL, "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation/1\"}},"
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation\\u0000/1"
        "\"}}]}");
    assert_int_equal(t.d->allow, 0);
    done(&t);
}


static void
test_bundle_bound(void **state)
{
    tp_t     t;
    char    *b;
    size_t   i, cap;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    cap = (SMART_POLICY_MAX_ENTRIES + 1) * 64 + 128;
    b = malloc(cap);
    assert_non_null(b);
    strcpy(b, "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[");

    for (i = 0; i <= SMART_POLICY_MAX_ENTRIES; i++) {
        strcat(b, i ? "," : "");
        strcat(b, "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/1\"}}");
    }

    strcat(b, "]}");

    run(&t, "user/*.rs", NULL, "POST", "", b);
    expect_deny(&t, SMART_ERR_REQUEST_INVALID, "");
    done(&t);
    free(b);
}


/* --- operations ----------------------------------------------------------- */

static void
test_op_parse(void **state)
{
    smart_policy_op_t         op;
    const char               *err;
    const char               *types[2] = { "Observation", "*" };
    size_t                    lens[2] = { 11, 1 };
    const smart_policy_op_t  *defs;
    size_t                    n;

    (void) state;

    assert_int_equal(smart_policy_op_parse("$lastn", 6, "rs", 2, types,
                                           lens, 1, &op, &err), 0);
    assert_string_equal(op.name, "lastn");
    assert_int_equal(op.nalts, 1);
    assert_int_equal(op.alts[0], SMART_SCOPE_R | SMART_SCOPE_S);
    assert_int_equal(op.ntypes, 1);
    assert_int_equal(op.contexts, SMART_SCOPE_ANY_CONTEXT);

    assert_int_equal(smart_policy_op_parse("export", 6, "user/rs|s", 9,
                                           types + 1, lens + 1, 1, &op,
                                           &err), 0);
    assert_int_equal(op.contexts, SMART_SCOPE_USER);
    assert_int_equal(op.nalts, 2);
    assert_int_equal(op.types[0], SMART_POLICY_OP_TYPE_ANY);

    err = NULL;
    assert_int_equal(smart_policy_op_parse("x", 1, "sr", 2, NULL, NULL, 0,
                                           &op, &err), -1);
    assert_non_null(err);
    assert_int_equal(smart_policy_op_parse("x", 1, "r|", 2, NULL, NULL, 0,
                                           &op, &err), -1);
    assert_int_equal(smart_policy_op_parse("x", 1, "read", 4, NULL, NULL, 0,
                                           &op, &err), -1);
    assert_int_equal(smart_policy_op_parse("$", 1, "r", 1, NULL, NULL, 0,
                                           &op, &err), -1);
    assert_int_equal(smart_policy_op_parse("a b", 3, "r", 1, NULL, NULL, 0,
                                           &op, &err), -1);
    types[0] = "observation";
    assert_int_equal(smart_policy_op_parse("x", 1, "r", 1, types, lens, 1,
                                           &op, &err), -1);
    assert_int_equal(smart_policy_op_parse("x", 1, "patient/", 8, NULL,
                                           NULL, 0, &op, &err), -1);

    defs = smart_policy_default_ops(&n);
    assert_int_equal(n, 3);
    assert_string_equal(defs[0].name, "everything");
}


static void
test_op_table(void **state)
{
    tp_t                t;
    smart_policy_op_t   ops[2];
    const char         *types[1] = { "*" };
    size_t              lens[1] = { 1 };

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    assert_int_equal(smart_policy_op_parse("lastn", 5, "rs", 2, NULL, NULL,
                                           0, &ops[0], NULL), 0);
    assert_int_equal(smart_policy_op_parse("export", 6, "user/rs", 7, types,
                                           lens, 1, &ops[1], NULL), 0);
    t.conf.ops = ops;
    t.conf.nops = 2;

    run(&t, "user/Observation.rs", NULL, "GET", "Observation/$lastn", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_string_equal(t.d->granted_by, "user/Observation.rs");
    done(&t);

    run(&t, "user/Condition.rs", NULL, "GET", "Observation/$lastn", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/Observation.rs");
    done(&t);

    /* the configured entry replaces the default of the same name */
    run(&t, "user/*.rs", NULL, "GET", "$export", NULL);
    assert_int_equal(t.d->allow, 1);
    done(&t);

    run(&t, "system/*.rs", NULL, "GET", "$export", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "user/*.rs");
    done(&t);

    /* the other defaults stay */
    run(&t, "user/*.rs", NULL, "GET", "Patient/1/$everything", NULL);
    assert_int_equal(t.d->allow, 1);
    done(&t);

    /* under patient scopes: a reading operation at type level cannot be
       limited to the patient */
    run(&t, "patient/*.rs", "1", "GET", "Observation/$lastn", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    /* on an instance it is checked on the response (issue 14) */
    run(&t, "patient/*.rs", "1", "GET", "Observation/o1/$lastn", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 1);
    assert_string_equal(t.d->explain, "operation allowed, checked on the "
                                      "response");
    done(&t);

    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, "patient/*.rs", "1", "GET", "Observation/o1/$lastn", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    assert_string_equal(t.d->explain, "an operation on a compartment "
                                      "resource by id cannot be checked "
                                      "against the patient");
    done(&t);
    t.conf.response_check = SMART_RESPONSE_CHECK_ON;

    /* an operation that writes is never left to the response */
    assert_int_equal(smart_policy_op_parse("meta-add", 8, "u", 1, NULL,
                                           NULL, 0, &ops[0], NULL), 0);
    run(&t, "patient/*.cruds", "1", "POST", "Observation/o1/$meta-add",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    run(&t, "patient/*.cruds", "1", "POST", "Patient/1/$meta-add", NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 0);
    done(&t);

    /* a configured $everything is checked like the built-in one */
    assert_int_equal(smart_policy_op_parse("everything", 10, "rs", 2,
                                           types, lens, 1, &ops[0], NULL),
                     0);
    run(&t, "patient/*.rs", "1", "GET", "Patient/1/$everything", NULL);
    assert_int_equal(t.d->check, 1);
    assert_string_equal(t.d->granted_by, "patient/*.rs");
    done(&t);
}


/* --- granular scopes: reads by id, codes without system (issue 14) ------- */

#define LAB_SCOPE                                                            \
    "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/" \
    "observation-category%7Claboratory"
#define LAB_VALUE                                                            \
    "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


static void
expect_checked(tp_t *t, size_t nrestrictions)
{
    assert_int_equal(t->d->allow, 1);
    assert_int_equal(t->d->narrowed, 0);
    assert_int_equal(t->d->check, 1);
    assert_int_equal(t->d->nrestrictions, nrestrictions);
    assert_true((t->d->restrictions != NULL) == (nrestrictions > 0));
}


static void
test_granular_read(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    /* a caller that does not check restrictions: refused as before */
    run(&t, LAB_SCOPE, "123", "GET", "Observation/1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.r");
    assert_null(t.d->restrictions);
    done(&t);

    t.conf.restrictions_checked = 1;

    run(&t, LAB_SCOPE, "123", "GET", "Observation/1", NULL);
    expect_checked(&t, 1);
    assert_string_equal(t.d->granted_by,
                        "patient/Observation.rs?category=" LAB_VALUE);

    /* the copies outlive the scope set (the glue's does not outlive the
       decision call) */
    smart_scope_set_free(t.set);
    t.set = NULL;
    assert_int_equal(t.d->restrictions[0].patient, 1);
    assert_int_equal(t.d->restrictions[0].nparams, 1);
    assert_string_equal(t.d->restrictions[0].params[0].name, "category");
    assert_string_equal(t.d->restrictions[0].params[0].value, LAB_VALUE);
    done(&t);

    /* vread and the instance history too */
    run(&t, LAB_SCOPE, "123", "GET", "Observation/1/_history/2", NULL);
    expect_checked(&t, 1);
    done(&t);
    run(&t, LAB_SCOPE, "123", "GET", "Observation/1/_history", NULL);
    expect_checked(&t, 1);
    done(&t);

    /* patient/ scopes first, then user/ and system/ ones; a scope whose
       restriction cannot be read is left out */
    run(&t, "user/Observation.rs?code=x user/Observation.rs?date=2020 "
            LAB_SCOPE " system/Observation.r?status=final", "123", "GET",
        "Observation/1", NULL);
    expect_checked(&t, 3);
    assert_int_equal(t.d->restrictions[0].patient, 1);
    assert_int_equal(t.d->restrictions[1].patient, 0);
    assert_string_equal(t.d->restrictions[1].params[0].name, "code");
    assert_string_equal(t.d->restrictions[2].params[0].value, "final");
    done(&t);

    /* without a patient claim, only the user/ one */
    run(&t, "user/Observation.rs?code=x " LAB_SCOPE, NULL, "GET",
        "Observation/1", NULL);
    expect_checked(&t, 1);
    assert_int_equal(t.d->restrictions[0].patient, 0);
    done(&t);

    /* an unrestricted grant wins, and carries no restrictions */
    run(&t, "patient/Observation.r " LAB_SCOPE, "123", "GET",
        "Observation/1", NULL);
    expect_checked(&t, 0);
    done(&t);
    run(&t, "user/Observation.r " LAB_SCOPE, "123", "GET", "Observation/1",
        NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->check, 0);
    assert_null(t.d->restrictions);
    done(&t);

    t.conf.restrictions_checked = 0;
}


static void
test_granular_read_refused(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));
    t.conf.restrictions_checked = 1;

    /* only token restrictions are read; the scope's own context asked */
    run(&t, "system/Observation.rs?date=2020", NULL, "GET", "Observation/1",
        NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "system/Observation.r");
    done(&t);

    /* another patient's Patient; a type no parameter ties to the patient */
    run(&t, "patient/Patient.rs?gender=female", "123", "GET", "Patient/9",
        NULL);
    expect_deny(&t, SMART_ERR_PATIENT_MISMATCH, "patient/Patient.r");
    done(&t);
    run(&t, "patient/Patient.rs?gender=female", "123", "GET", "Patient/123",
        NULL);
    expect_checked(&t, 1);
    done(&t);
    run(&t, "patient/Binary.r?_tag=x", "123", "GET", "Binary/1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "");
    done(&t);

    /* a type history cannot be held to a restriction */
    run(&t, LAB_SCOPE, "123", "GET", "Observation/_history", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);

    /* smart_response_check off */
    t.conf.response_check = SMART_RESPONSE_CHECK_OFF;
    run(&t, LAB_SCOPE, "123", "GET", "Observation/1", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.r");
    done(&t);
    t.conf.response_check = SMART_RESPONSE_CHECK_ON;

    /* a parameter the gateway does not recognise on a read */
    run(&t, LAB_SCOPE, "123", "GET", "Observation/1?foo=bar", NULL);
    expect_deny(&t, SMART_ERR_REQUEST_INVALID, "");
    done(&t);

    /* a bundle entry: a batch-response is not checked against
       restrictions */
    run(&t, "user/Observation.rs?code=x", NULL, "POST", "",
        "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        "{\"request\":{\"method\":\"GET\",\"url\":\"Observation/1\"}}]}");
    assert_int_equal(t.d->allow, 0);
    assert_int_equal(t.d->nentries, 1);
    assert_int_equal(t.d->entries[0].reason, SMART_ERR_SCOPE_INSUFFICIENT);
    assert_null(t.d->restrictions);
    done(&t);
}


static void
test_narrow_granular_codes(void **state)
{
    tp_t  t;

    (void) state;
    memset(&t, 0, sizeof(tp_t));

    /* a code without system, narrowed with the scope's system|code */
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=laboratory", NULL);
    expect_narrow(&t, "category=http://terminology.hl7.org/CodeSystem/"
                      "observation-category%7Claboratory");
    done(&t);

    /* the narrowed request is then allowed unchanged */
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=laboratory&category=http://"
        "terminology.hl7.org/CodeSystem/observation-category%7Claboratory",
        NULL);
    assert_int_equal(t.d->allow, 1);
    assert_int_equal(t.d->narrowed, 0);
    done(&t);

    /* the patient narrowing first */
    run(&t, LAB_SCOPE, "123", "GET", "Observation?category=laboratory",
        NULL);
    expect_narrow(&t, "patient=123&category=http://terminology.hl7.org/"
                      "CodeSystem/observation-category%7Claboratory");
    done(&t);

    /* the union of one-parameter scopes */
    run(&t, "user/Observation.rs?category=s%7Clab "
            "user/Observation.rs?category=s%7Cvs "
            "user/Observation.rs?category=t%7Clab", NULL, "GET",
        "Observation?category=vs,s%7Clab", NULL);
    expect_narrow(&t, "category=s%7Clab,s%7Cvs,t%7Clab");
    done(&t);

    /* a scope of two parameters narrows with both */
    run(&t, "user/Condition.rs?category=s%7Cproblem&clinical-status=active",
        NULL, "GET", "Condition?category=problem&clinical-status=active",
        NULL);
    expect_narrow(&t, "category=s%7Cproblem&clinical-status=active");
    done(&t);

    /* another code, no system asked, another system: refused */
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=vital-signs", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=%7Claboratory", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=laboratory,vital-signs", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);

    /* smart_patient_search deny: no narrowing */
    t.conf.patient_search = SMART_PATIENT_SEARCH_DENY;
    run(&t, LAB_SCOPE, "123", "GET",
        "Observation?patient=123&category=laboratory", NULL);
    expect_deny(&t, SMART_ERR_SCOPE_INSUFFICIENT, "patient/Observation.s");
    done(&t);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_counts_failures),
        cmocka_unit_test(test_table_bodies),
        cmocka_unit_test(test_cli_print),
        cmocka_unit_test(test_narrow_patient_param),
        cmocka_unit_test(test_narrow_granular),
        cmocka_unit_test(test_narrow_prefers_unrestricted),
        cmocka_unit_test(test_include_checked),
        cmocka_unit_test(test_paging_checked),
        cmocka_unit_test(test_precheck_single),
        cmocka_unit_test(test_precheck_bundle),
        cmocka_unit_test(test_precheck_cli),
        cmocka_unit_test(test_conditional_narrow),
        cmocka_unit_test(test_needed),
        cmocka_unit_test(test_needed_patient_only),
        cmocka_unit_test(test_invalid_inputs),
        cmocka_unit_test(test_body_max),
        cmocka_unit_test(test_deep_and_hostile_bodies),
        cmocka_unit_test(test_bundle_entries),
        cmocka_unit_test(test_bundle_bound),
        cmocka_unit_test(test_op_parse),
        cmocka_unit_test(test_op_table),
        cmocka_unit_test(test_granular_read),
        cmocka_unit_test(test_granular_read_refused),
        cmocka_unit_test(test_narrow_granular_codes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
