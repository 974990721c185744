
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the response check (smart_response.[ch], docs/scopes.md
 * "Checked on the response"): single resources, history, searchset
 * (include entries withheld, the outcome entry, the server's bytes kept),
 * $everything, batch-response with Bundles inside, and bodies that cannot
 * be checked.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_response.h"


#define P       "pat-1"
#define Q       "pat-2"
#define BASE    "https://ehr.example/fhir"
#define CID     "cid-0123456789"

#define OBS(id, pat)                                                         \
    "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"subject\":"       \
    "{\"reference\":\"Patient/" pat "\"}}"

#define PAT(id)                                                              \
    "{\"resourceType\":\"Patient\",\"id\":\"" id "\"}"

#define MATCH(res)      "{\"resource\":" res ",\"search\":{\"mode\":\"match\"}}"
#define INCLUDE(res)                                                         \
    "{\"resource\":" res ",\"search\":{\"mode\":\"include\"}}"

#define BUNDLE(type, entries)                                                \
    "{\"resourceType\":\"Bundle\",\"type\":\"" type "\",\"entry\":["         \
    entries "]}"

#define OUTCOME(text)                                                        \
    "{\"resource\":{\"resourceType\":\"OperationOutcome\",\"issue\":[{"      \
    "\"severity\":\"information\",\"code\":\"suppressed\",\"details\":{"     \
    "\"text\":\"" text "\"},\"diagnostics\":\"correlation-id=" CID "\"}]},"  \
    "\"search\":{\"mode\":\"outcome\"}}"

#define ONE_WITHHELD                                                         \
    OUTCOME("1 included resource was left out because it could not be "     \
            "shown to belong to this patient.")


static int
type_of(const char *name)
{
    return smart_fhir_type_index(name, strlen(name));
}


static smart_response_req_t
req(smart_fhir_interaction_e i, const char *type)
{
    smart_response_req_t  rq;

    memset(&rq, 0, sizeof(smart_response_req_t));
    rq.interaction = i;
    rq.type = (type != NULL) ? type_of(type) : -1;
    rq.patient = P;
    rq.base = BASE;
    rq.correlation_id = CID;

    return rq;
}


/* Checks body; a copy of its exact length, so ASan sees any over-read. */
static smart_response_verdict_e
run(const smart_response_req_t *rq, const char *body, smart_response_t *out)
{
    char                      *copy;
    size_t                     len;
    smart_response_verdict_e   v;

    len = strlen(body);
    copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);

    v = smart_response_check(rq, copy, len, out);
    free(copy);

    assert_int_equal(v, out->verdict);
    assert_non_null(out->why);

    if (v == SMART_RESPONSE_RELEASE_FILTERED) {
        assert_non_null(out->body);
        assert_int_equal(strlen(out->body), out->body_len);
        assert_true(out->withheld > 0);

    } else {
        assert_null(out->body);
        assert_int_equal(out->withheld, 0);
    }

    if (v == SMART_RESPONSE_RELEASE) {
        assert_string_equal(out->why, "");
    }

    return v;
}


static smart_response_verdict_e
verdict(smart_fhir_interaction_e i, const char *type, const char *body)
{
    smart_response_t          out;
    smart_response_req_t      rq;
    smart_response_verdict_e  v;

    rq = req(i, type);
    v = run(&rq, body, &out);
    smart_response_free(&out);

    return v;
}


/* A filtered body must be exactly expect, and pass the check as it is. */
static void
expect_filtered(const smart_response_req_t *rq, const char *body,
    const char *expect, size_t withheld)
{
    smart_response_t  out, again;

    assert_int_equal(run(rq, body, &out), SMART_RESPONSE_RELEASE_FILTERED);
    assert_string_equal(out.body, expect);
    assert_int_equal(out.withheld, withheld);

    assert_int_equal(run(rq, out.body, &again), SMART_RESPONSE_RELEASE);

    smart_response_free(&out);
    assert_null(out.body);
}


/* --- one resource ------------------------------------------------------- */

static void
test_read(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation", OBS("o1", P)),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_VREAD, "Observation",
                             OBS("o1", P)),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation", OBS("o1", Q)),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation",
                             "{\"resourceType\":\"Observation\",\"subject\":"
                             "{\"identifier\":{\"value\":\"" P "\"}}}"),
                     SMART_RESPONSE_MISMATCH);

    /* the wrong type, even one in the compartment */
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation", PAT(P)),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* an OperationOutcome is no answer to a read (the resource is), and
       one with contained resources is released nowhere */
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation",
                             "{\"resourceType\":\"OperationOutcome\","
                             "\"issue\":[]}"),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(verdict(SMART_FHIR_I_VREAD, "Observation",
                             "{\"resourceType\":\"OperationOutcome\","
                             "\"issue\":[]}"),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(verdict(SMART_FHIR_I_SEARCH_TYPE, "Observation",
                             "{\"resourceType\":\"OperationOutcome\","
                             "\"issue\":[]}"),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_SEARCH_TYPE, "Observation",
                             "{\"resourceType\":\"OperationOutcome\","
                             "\"issue\":[],\"contained\":[" OBS("o2", Q)
                             "]}"),
                     SMART_RESPONSE_UNVERIFIABLE);

    assert_int_equal(verdict(SMART_FHIR_I_READ, "Practitioner",
                             "{\"resourceType\":\"Practitioner\"}"),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Patient", PAT(P)),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Patient", PAT(Q)),
                     SMART_RESPONSE_MISMATCH);

    /* Binary as JSON: its body cannot prove it */
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Binary",
                             "{\"resourceType\":\"Binary\","
                             "\"securityContext\":{\"reference\":"
                             "\"Patient/" P "\"}}"),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* an instance operation answers with a resource of its type */
    assert_int_equal(verdict(SMART_FHIR_I_OPERATION, "Observation",
                             OBS("o1", P)),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(verdict(SMART_FHIR_I_OPERATION, "Observation",
                             "{\"resourceType\":\"Parameters\"}"),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq = req(SMART_FHIR_I_READ, "Observation");
    assert_int_equal(run(&rq, OBS("o1", Q), &out), SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.entry, -1);
    assert_string_equal(out.why,
                        "a resource is not in the patient's compartment");

    /* absolute references need the base */
    rq.base = NULL;
    assert_int_equal(run(&rq, "{\"resourceType\":\"Observation\",\"subject\":"
                              "{\"reference\":\"" BASE "/Patient/" P "\"}}",
                         &out),
                     SMART_RESPONSE_MISMATCH);
    rq.base = BASE "/";
    assert_int_equal(run(&rq, "{\"resourceType\":\"Observation\",\"subject\":"
                              "{\"reference\":\"" BASE "/Patient/" P "\"}}",
                         &out),
                     SMART_RESPONSE_RELEASE);
}


/* --- bodies that cannot be checked -------------------------------------- */

static void
test_unverifiable_bodies(void **state)
{
    size_t              i;
    static const char  *bad[] = {
        "",
        " ",
        "{",
        "[]",
        "null",
        "\"Observation\"",
        "42",
        "{}",
        "{\"resourceType\":\"Observation\"",
        "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":"
        "\"Patient/" P "\"}",
        "{\"resourceType\":\"Observation\"} {}",
        "{\"resourceType\":\"Observation\"}]",
        "{\"resourceType\":\"Foo\"}",
        "{\"resourceType\":7}",
        "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":"
        "\"Patient/" P "\"},\"subject\":{\"reference\":\"Patient/" Q "\"}}",
        "{\"resourceType\":\"Observation\",\"resourceType\":\"Observation\"}",
        "{\"resourceType\":\"Observation\",\"note\":\"\xff\"}",
        "{'resourceType':'Observation'}",
        "\xef\xbb\xbf{\"resourceType\":\"Observation\"}",
        "{\"resourceType\":\"Observation\",\"x\":\"\\u0000\"}",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (verdict(SMART_FHIR_I_READ, "Observation", bad[i])
            != SMART_RESPONSE_UNVERIFIABLE)
        {
            fail_msg("body %zu was not unverifiable: %s", i, bad[i]);
        }
    }
}


/* An Observation holding arrays nested so that the body has depth levels. */
static char *
nested_body(size_t depth)
{
    char    *s;
    size_t   i, n;

    s = malloc(64 + 2 * depth);
    assert_non_null(s);
    strcpy(s, "{\"resourceType\":\"Observation\",\"x\":");
    n = strlen(s);

    for (i = 1; i < depth; i++) {
        s[n++] = '[';
    }

    for (i = 1; i < depth; i++) {
        s[n++] = ']';
    }

    memcpy(s + n, "}", 2);

    return s;
}


static void
test_bounds(void **state)
{
    char                  *deep;
    smart_response_t       out;
    smart_response_req_t   rq;

    (void) state;

    rq = req(SMART_FHIR_I_READ, "Observation");

    /* nesting: SMART_RESPONSE_MAX_DEPTH levels pass, one more does not */
    deep = nested_body(SMART_RESPONSE_MAX_DEPTH);
    assert_int_equal(run(&rq, deep, &out), SMART_RESPONSE_MISMATCH);
    free(deep);

    deep = nested_body(SMART_RESPONSE_MAX_DEPTH + 1);
    assert_int_equal(run(&rq, deep, &out), SMART_RESPONSE_UNVERIFIABLE);
    assert_string_equal(out.why, "the body is nested too deep");
    free(deep);

    /* size: the caller's bound, else the default */
    rq.body_max = strlen(OBS("o1", P));
    assert_int_equal(run(&rq, OBS("o1", P), &out), SMART_RESPONSE_RELEASE);
    rq.body_max--;
    assert_int_equal(run(&rq, OBS("o1", P), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_string_equal(out.why, "the body is larger than the check takes");

    assert_int_equal(smart_response_check(&rq, NULL, 0, &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


static void
test_bad_request_facts(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_READ, "Observation");
    rq.patient = NULL;
    assert_int_equal(run(&rq, OBS("o1", P), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq.patient = "a,b";
    assert_int_equal(run(&rq, OBS("o1", "a,b"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq.patient = P;
    rq.type = SMART_FHIR_NTYPES;
    assert_int_equal(run(&rq, OBS("o1", P), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq.type = -2;
    assert_int_equal(run(&rq, OBS("o1", P), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq = req(SMART_FHIR_I_HISTORY_INSTANCE, "Observation");
    assert_int_equal(run(&rq, BUNDLE("history", ""), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* interactions whose responses the check does not know */
    assert_int_equal(verdict(SMART_FHIR_I_CREATE, "Observation",
                             OBS("o1", P)),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(verdict(SMART_FHIR_I_CAPABILITIES, NULL,
                             "{\"resourceType\":\"CapabilityStatement\"}"),
                     SMART_RESPONSE_UNVERIFIABLE);

    assert_int_equal(smart_response_check(NULL, "{}", 2, &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


/* --- history ------------------------------------------------------------ */

#define VERSION(res, url)                                                    \
    "{\"resource\":" res ",\"request\":{\"method\":\"PUT\",\"url\":\""       \
    url "\"},\"response\":{\"status\":\"200\"}}"

#define DELETED(full, url)                                                   \
    "{\"fullUrl\":\"" full "\",\"request\":{\"method\":\"DELETE\","          \
    "\"url\":\"" url "\"},\"response\":{\"status\":\"204\"}}"

static void
test_history(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_HISTORY_INSTANCE, "Observation");
    rq.id = "o1";

    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS("o1", P), "Observation/o1")
                                     "," VERSION(OBS("o1", P),
                                                 "Observation/o1")),
                         &out),
                     SMART_RESPONSE_RELEASE);

    /* one version in another patient's compartment */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS("o1", P), "Observation/o1")
                                     "," VERSION(OBS("o1", Q),
                                                 "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.entry, 1);

    /* a deletion of the instance asked for, relative or on the base */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED(BASE "/Observation/o1",
                                             "Observation/o1")
                                     "," VERSION(OBS("o1", P),
                                                 "Observation/o1")),
                         &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     "{\"request\":{\"method\":\"DELETE\","
                                     "\"url\":\"Observation/o1/_history/3\""
                                     "}}"),
                         &out),
                     SMART_RESPONSE_RELEASE);

    /* a deletion naming another instance, or nothing checkable */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED(BASE "/Observation/o2",
                                             "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED(BASE "/Observation/o1",
                                             "Observation/o2")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED("https://other.example/"
                                             "Observation/o1",
                                             "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED(BASE "/Observation/o1",
                                             "Condition/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("history", "{\"fullUrl\":\"" BASE
                                     "/Observation/o1\"}"), &out),
                     SMART_RESPONSE_MISMATCH);
    assert_string_equal(out.why, "a history entry without a resource does "
                                 "not name the instance asked for");

    /* a version of another type, the wrong Bundle.type */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(PAT(P), "Patient/" P)), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P))),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* a type history has no instance a deletion could name */
    rq = req(SMART_FHIR_I_HISTORY_TYPE, "Observation");
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS("o1", P), "Observation/o1")
                                     "," VERSION(OBS("o2", P),
                                                 "Observation/o2")),
                         &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     DELETED(BASE "/Observation/o1",
                                             "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);

    /* the system history: any type, each proven */
    rq = req(SMART_FHIR_I_HISTORY_SYSTEM, NULL);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS("o1", P), "Observation/o1")
                                     "," VERSION(PAT(P), "Patient/" P)),
                         &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(PAT(Q), "Patient/" Q)), &out),
                     SMART_RESPONSE_MISMATCH);
}


/* --- searchset ---------------------------------------------------------- */

static void
test_search_matches(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_SEARCH_TYPE, "Observation");

    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     "{\"resource\":" OBS("o2", P) "}"),
                         &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, "{\"resourceType\":\"Bundle\",\"type\":"
                              "\"searchset\",\"total\":0}", &out),
                     SMART_RESPONSE_RELEASE);

    /* a match outside: the whole response, whatever else it holds */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     MATCH(OBS("o2", Q)) ","
                                     INCLUDE(PAT(Q))),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.entry, 1);

    /* no mode is a match */
    assert_int_equal(run(&rq, BUNDLE("searchset",
                                     "{\"resource\":" OBS("o2", Q) "}"),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("searchset",
                                     "{\"resource\":" OBS("o2", Q) ","
                                     "\"search\":{\"score\":1}}"),
                         &out),
                     SMART_RESPONSE_MISMATCH);

    /* a match of another type than the search's */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(PAT(P))), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* malformed entries */
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"resource\":"
                                     OBS("o1", P) ",\"search\":{\"mode\":"
                                     "\"other\"}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"resource\":"
                                     OBS("o1", P) ",\"search\":\"match\"}"),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"resource\":"
                                     OBS("o1", P) ",\"search\":{\"mode\":1}}"),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"search\":{\"mode\":"
                                     "\"match\"}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "7"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_string_equal(out.why, "a Bundle entry is not an object");
    assert_int_equal(run(&rq, "{\"resourceType\":\"Bundle\",\"type\":"
                              "\"searchset\",\"entry\":{}}", &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"resource\":{}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, "{\"resourceType\":\"Bundle\",\"entry\":[]}",
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("collection", MATCH(OBS("o1", P))),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, OBS("o1", P), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_string_equal(out.why, "the body is not a Bundle");

    /* outcome entries: released when they are OperationOutcomes */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     "{\"resource\":{\"resourceType\":"
                                     "\"OperationOutcome\"},\"search\":"
                                     "{\"mode\":\"outcome\"}}"), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("searchset", "{\"resource\":"
                                     OBS("o1", Q) ",\"search\":{\"mode\":"
                                     "\"outcome\"}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* a compartment search of every type */
    rq = req(SMART_FHIR_I_SEARCH_COMPARTMENT, NULL);
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     MATCH(PAT(P))), &out),
                     SMART_RESPONSE_RELEASE);
}


static void
test_search_includes(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_SEARCH_TYPE, "Observation");

    /* P's own, and types without patient data, are released */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     INCLUDE(PAT(P)) ","
                                     INCLUDE("{\"resourceType\":"
                                             "\"Practitioner\",\"id\":\"d\"}")
                                     "," INCLUDE("{\"resourceType\":"
                                                 "\"Medication\"}")),
                         &out),
                     SMART_RESPONSE_RELEASE);

    /* another patient's: withheld, one outcome entry says so */
    expect_filtered(&rq,
                    BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                           INCLUDE(PAT(Q))),
                    BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                           ONE_WITHHELD), 1);

    /* first, last, several, a Binary: the server's bytes kept around them */
    expect_filtered(&rq,
                    BUNDLE("searchset", INCLUDE(OBS("h1", Q)) ","
                           MATCH(OBS("o1", P)) ","
                           INCLUDE("{\"resourceType\":\"Binary\"}") ","
                           INCLUDE(PAT(P)) "," INCLUDE(PAT(Q))),
                    BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                           INCLUDE(PAT(P)) ","
                           OUTCOME("3 included resources were left out "
                                   "because they could not be shown to "
                                   "belong to this patient.")), 3);

    /* total, link, whitespace, decimals and escapes as the server wrote
       them; only the entry list is rewritten */
    expect_filtered(&rq,
                    "{ \"resourceType\" : \"Bundle\" ,\n \"type\":"
                    "\"searchset\", \"total\": 1.50,\n \"link\": [{\"relation"
                    "\":\"self\",\"url\":\"" BASE "/Observation?_include=x\"}"
                    "],\n \"entry\" : [\n  " MATCH("{\"resourceType\":"
                    "\"Observation\",\"valueQuantity\":{\"value\":1.50e0},"
                    "\"note\":[{\"text\":\"\\u00e9\\\"\"}],\"subject\":{"
                    "\"reference\":\"Patient/" P "\"}}") " ,\n  "
                    INCLUDE(PAT(Q)) "\n ] ,\"meta\":{}\n}",
                    "{ \"resourceType\" : \"Bundle\" ,\n \"type\":"
                    "\"searchset\", \"total\": 1.50,\n \"link\": [{\"relation"
                    "\":\"self\",\"url\":\"" BASE "/Observation?_include=x\"}"
                    "],\n \"entry\" : [" MATCH("{\"resourceType\":"
                    "\"Observation\",\"valueQuantity\":{\"value\":1.50e0},"
                    "\"note\":[{\"text\":\"\\u00e9\\\"\"}],\"subject\":{"
                    "\"reference\":\"Patient/" P "\"}}") ","
                    ONE_WITHHELD "] ,\"meta\":{}\n}", 1);

    /* a key written with escapes is the same member */
    expect_filtered(&rq,
                    "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                    "\"\\u0065ntry\":[" MATCH(OBS("o1", P)) ","
                    INCLUDE(PAT(Q)) "]}",
                    "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                    "\"\\u0065ntry\":[" MATCH(OBS("o1", P)) ","
                    ONE_WITHHELD "]}", 1);

    /* an include that is not a resource cannot be judged */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     INCLUDE("{\"id\":\"x\"}")), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


static void
test_filtered_text(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_SEARCH_TYPE, "Observation");
    rq.correlation_id = "bad id";

    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                                     INCLUDE(OBS("secret-o9", Q)) ","
                                     INCLUDE(PAT(Q))), &out),
                     SMART_RESPONSE_RELEASE_FILTERED);
    assert_int_equal(out.withheld, 2);
    assert_null(strstr(out.body, Q));
    assert_null(strstr(out.body, "secret-o9"));
    assert_non_null(strstr(out.body, "\"diagnostics\":"
                                     "\"correlation-id=invalid\""));
    assert_non_null(strstr(out.body, "\"text\":\"2 included resources were "
                                     "left out"));
    assert_string_equal(out.why, "");
    smart_response_free(&out);
    smart_response_free(NULL);
}


static void
test_everything(void **state)
{
    smart_response_req_t  rq;
    smart_response_t      out;

    (void) state;

    rq = req(SMART_FHIR_I_OPERATION, "Patient");

    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(PAT(P)) ","
                                     MATCH(OBS("o1", P)) ","
                                     MATCH("{\"resourceType\":"
                                           "\"Practitioner\"}") ","
                                     MATCH("{\"resourceType\":\"Device\","
                                           "\"patient\":{\"reference\":"
                                           "\"Patient/" P "\"}}")), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(PAT(P)) ","
                                     MATCH(OBS("o1", Q))), &out),
                     SMART_RESPONSE_MISMATCH);
    /* a linked patient is another patient */
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(PAT(P)) ","
                                     MATCH(PAT(Q))), &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("collection", MATCH(PAT(P))), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    expect_filtered(&rq,
                    BUNDLE("searchset", MATCH(PAT(P)) "," INCLUDE(PAT(Q))),
                    BUNDLE("searchset", MATCH(PAT(P)) "," ONE_WITHHELD), 1);
}


/* --- batch and transaction responses ------------------------------------ */

#define RESPONSE(status)    "\"response\":{\"status\":\"" status "\"}"

static void
test_batch(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_BATCH, NULL);

    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" OBS("o1", P) ","
                                     RESPONSE("200") "},"
                                     "{" RESPONSE("201 Created") "},"
                                     "{\"resource\":" PAT(P) ","
                                     RESPONSE("200") "}"),
                         &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" OBS("o1", P) ","
                                     RESPONSE("200") "},"
                                     "{\"resource\":" OBS("o2", Q) ","
                                     RESPONSE("200") "}"),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.entry, 1);

    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"response\":{\"status\":\"400\","
                                     "\"outcome\":{\"resourceType\":"
                                     "\"OperationOutcome\"}}}"), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"response\":{\"status\":\"400\","
                                     "\"outcome\":" OBS("o1", Q) "}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":{\"resourceType\":"
                                     "\"Binary\"}}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* the response type must be the request's */
    assert_int_equal(run(&rq, BUNDLE("transaction-response", ""), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    rq = req(SMART_FHIR_I_TRANSACTION, NULL);
    assert_int_equal(run(&rq, BUNDLE("transaction-response", ""), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response", ""), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    rq = req(SMART_FHIR_I_BATCH_OR_TRANSACTION, NULL);
    assert_int_equal(run(&rq, BUNDLE("batch-response", ""), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("transaction-response", ""), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch", ""), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


/*
 * What a resource carries in "contained".  A resource proven the
 * patient's carries its contained resources as part of it; one that holds
 * no one's data (an Organization, an OperationOutcome) must not carry
 * another patient's record there: a contained resource of patient data
 * is checked like the resource itself, and an OperationOutcome carrying
 * anything is released nowhere.
 */
#define ORG_WITH(contained)                                                  \
    "{\"resourceType\":\"Organization\",\"id\":\"org1\",\"contained\":["     \
    contained "]}"

#define OO_WITH(contained)                                                   \
    "{\"resourceType\":\"OperationOutcome\",\"issue\":[],\"contained\":["    \
    contained "]}"

#define SUBSTANCE                                                            \
    "{\"resourceType\":\"Substance\",\"id\":\"s1\",\"code\":{}}"

static void
test_contained(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_BATCH, NULL);

    /* an OperationOutcome as an entry's resource: nothing contained */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" OO_WITH(PAT(Q)) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" OO_WITH(SUBSTANCE) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* no one's data holding another patient's record */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" ORG_WITH(PAT(Q)) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":"
                                     ORG_WITH(SUBSTANCE "," OBS("o9", Q))
                                     "," RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" ORG_WITH(PAT("p9"))
                                     "," RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_MISMATCH);

    /* ... holding nothing of anyone's, or the patient's own: released */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" ORG_WITH(SUBSTANCE)
                                     "," RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" ORG_WITH(OBS("o1", P))
                                     "," RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_RELEASE);

    /* contained that is not a list of resources, or nests more */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":{\"resourceType\":"
                                     "\"Organization\",\"contained\":"
                                     PAT(Q) "}," RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":"
                                     ORG_WITH(ORG_WITH(PAT(Q))) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    /* a record proven the patient's carries its contained resources */
    assert_int_equal(verdict(SMART_FHIR_I_READ, "Observation",
                             "{\"resourceType\":\"Observation\",\"id\":"
                             "\"o1\",\"subject\":{\"reference\":\"Patient/"
                             P "\"},\"contained\":[" PAT("x") "]}"),
                     SMART_RESPONSE_RELEASE);

    /* the same rule for matches, includes and versions */
    rq = req(SMART_FHIR_I_SEARCH_SYSTEM, NULL);
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(ORG_WITH(PAT(Q)))),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(run(&rq, BUNDLE("searchset", MATCH(OO_WITH(PAT(Q)))),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);

    rq = req(SMART_FHIR_I_SEARCH_TYPE, "Observation");
    expect_filtered(&rq, BUNDLE("searchset",
                                MATCH(OBS("o1", P)) ","
                                INCLUDE(ORG_WITH(PAT(Q)))),
                    BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                           ONE_WITHHELD),
                    1);
    expect_filtered(&rq, BUNDLE("searchset",
                                MATCH(OBS("o1", P)) ","
                                INCLUDE(OO_WITH(SUBSTANCE))),
                    BUNDLE("searchset", MATCH(OBS("o1", P)) ","
                           ONE_WITHHELD),
                    1);

    rq = req(SMART_FHIR_I_HISTORY_SYSTEM, NULL);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(ORG_WITH(PAT(Q)),
                                             "Organization/org1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);

    /* response.outcome in every kind of Bundle */
    rq = req(SMART_FHIR_I_HISTORY_SYSTEM, NULL);
    assert_int_equal(run(&rq, BUNDLE("history",
                                     "{\"resource\":" OBS("o1", P) ","
                                     "\"request\":{\"method\":\"PUT\","
                                     "\"url\":\"Observation/o1\"},"
                                     "\"response\":{\"status\":\"200\","
                                     "\"outcome\":" OO_WITH(PAT(Q)) "}}"),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    rq = req(SMART_FHIR_I_SEARCH_TYPE, "Observation");
    assert_int_equal(run(&rq, BUNDLE("searchset",
                                     "{\"resource\":" OBS("o1", P) ","
                                     "\"search\":{\"mode\":\"match\"},"
                                     "\"response\":{\"status\":\"200\","
                                     "\"outcome\":" OO_WITH(PAT(Q)) "}}"),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


static void
test_batch_nested(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;

    (void) state;

    rq = req(SMART_FHIR_I_BATCH, NULL);

    /* a search inside a batch: its Bundle is checked as one */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("searchset",
                                     MATCH(OBS("o1", P))) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("searchset",
                                     MATCH(OBS("o1", Q))) ","
                                     RESPONSE("200") "}"), &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.entry, 0);

    /* its includes withheld in place, in two Bundles */
    expect_filtered(&rq,
                    BUNDLE("batch-response",
                           "{\"resource\":" BUNDLE("searchset",
                           MATCH(OBS("o1", P)) "," INCLUDE(PAT(Q))) ","
                           RESPONSE("200") "},"
                           "{\"resource\":" OBS("o2", P) ","
                           RESPONSE("200") "},"
                           "{\"resource\":" BUNDLE("searchset",
                           INCLUDE(PAT(Q)) "," MATCH(OBS("o3", P))) ","
                           RESPONSE("200") "}"),
                    BUNDLE("batch-response",
                           "{\"resource\":" BUNDLE("searchset",
                           MATCH(OBS("o1", P)) "," ONE_WITHHELD) ","
                           RESPONSE("200") "},"
                           "{\"resource\":" OBS("o2", P) ","
                           RESPONSE("200") "},"
                           "{\"resource\":" BUNDLE("searchset",
                           MATCH(OBS("o3", P)) "," ONE_WITHHELD) ","
                           RESPONSE("200") "}"), 2);

    /* a history inside: no instance a deletion could name */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("history",
                                     VERSION(OBS("o1", P), "Observation/o1"))
                                     "}"), &out),
                     SMART_RESPONSE_RELEASE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("history",
                                     DELETED(BASE "/Observation/o1",
                                             "Observation/o1")) "}"), &out),
                     SMART_RESPONSE_MISMATCH);

    /* other Bundles, and Bundles two levels down, cannot be checked */
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("document",
                                     "") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("batch-response",
                                     "") "}"), &out),
                     SMART_RESPONSE_UNVERIFIABLE);
    assert_int_equal(run(&rq, BUNDLE("batch-response",
                                     "{\"resource\":" BUNDLE("searchset",
                                     MATCH(BUNDLE("searchset", ""))) "}"),
                         &out),
                     SMART_RESPONSE_UNVERIFIABLE);
}


static void
test_entry_bound(void **state)
{
    char                  *body;
    size_t                 i, n, len;
    smart_response_t       out;
    smart_response_req_t   rq;
    static const char      head[] = "{\"resourceType\":\"Bundle\","
                                    "\"type\":\"batch-response\",\"entry\":[";

    (void) state;

    rq = req(SMART_FHIR_I_BATCH, NULL);

    for (n = SMART_RESPONSE_MAX_ENTRIES; n <= SMART_RESPONSE_MAX_ENTRIES + 1;
         n++)
    {
        body = malloc(sizeof(head) + 3 * n + 2);
        assert_non_null(body);
        memcpy(body, head, sizeof(head) - 1);
        len = sizeof(head) - 1;

        for (i = 0; i < n; i++) {
            memcpy(body + len, (i > 0) ? ",{}" : "{}", (i > 0) ? 3 : 2);
            len += (i > 0) ? 3 : 2;
        }

        memcpy(body + len, "]}", 3);

        assert_int_equal(run(&rq, body, &out),
                         n == SMART_RESPONSE_MAX_ENTRIES
                         ? SMART_RESPONSE_RELEASE
                         : SMART_RESPONSE_UNVERIFIABLE);
        free(body);
    }

    assert_string_equal(out.why, "too many Bundle entries");
}


/* --- granular restrictions (reads by id under granular scopes) ----------- */

#define CAT     "http://terminology.hl7.org/CodeSystem/observation-category"

#define OBS_CAT(id, pat, code)                                               \
    "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"subject\":"       \
    "{\"reference\":\"Patient/" pat "\"},\"category\":[{\"coding\":[{"     \
    "\"system\":\"" CAT "\",\"code\":\"" code "\"}]}]}"


static const smart_scope_param_t  lab_param = {
    "category", 8, CAT "|laboratory", sizeof(CAT "|laboratory") - 1
};

static const smart_scope_param_t  vital_param = {
    "category", 8, CAT "|vital-signs", sizeof(CAT "|vital-signs") - 1
};

static const smart_scope_param_t  final_params[] = {
    { "category", 8, "laboratory", 10 },
    { "status", 6, "final", 5 }
};


/* r holds the one parameter p, of a patient/ scope or not. */
static void
one_restriction(smart_restriction_t *r, const smart_scope_param_t *p,
    int patient)
{
    r->params = p;
    r->nparams = 1;
    r->patient = patient;
}


/* The restrictions r[0..n) on an Observation read. */
static smart_response_req_t
restricted(smart_fhir_interaction_e i, smart_restriction_t *r, size_t n)
{
    smart_response_req_t  rq;

    rq = req(i, "Observation");
    rq.restrictions = r;
    rq.nrestrictions = n;

    return rq;
}


static void
expect_refusal(const smart_response_req_t *rq, const char *body,
    smart_response_verdict_e v, smart_err_e reason)
{
    smart_response_t  out;

    assert_int_equal(run(rq, body, &out), v);
    assert_int_equal(out.reason, reason);
    smart_response_free(&out);
}


static void
test_restricted_read(void **state)
{
    smart_response_req_t  rq;
    smart_restriction_t   r[2];

    (void) state;

    /* a patient/ restriction: the category, and the compartment */
    one_restriction(&r[0], &lab_param, 1);
    rq = restricted(SMART_FHIR_I_READ, r, 1);

    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_RELEASE, SMART_ERR__COUNT);
    expect_refusal(&rq, OBS_CAT("o1", P, "vital-signs"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_SCOPE_INSUFFICIENT);
    expect_refusal(&rq, OBS("o1", P), SMART_RESPONSE_MISMATCH,
                   SMART_ERR_SCOPE_INSUFFICIENT);
    expect_refusal(&rq, OBS_CAT("o1", Q, "laboratory"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_PATIENT_MISMATCH);
    expect_refusal(&rq, OBS_CAT("o1", Q, "vital-signs"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_PATIENT_MISMATCH);

    /* the other checks stay: the type asked for, not JSON */
    expect_refusal(&rq, PAT(P), SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);
    expect_refusal(&rq, "{", SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);
    /* an OperationOutcome is no answer to a read */
    expect_refusal(&rq, "{\"resourceType\":\"OperationOutcome\"}",
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    /* a user/ restriction: no compartment, no patient needed */
    r[0].patient = 0;
    rq.patient = NULL;
    expect_refusal(&rq, OBS_CAT("o1", Q, "laboratory"),
                   SMART_RESPONSE_RELEASE, SMART_ERR__COUNT);
    expect_refusal(&rq, OBS_CAT("o1", Q, "vital-signs"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_SCOPE_INSUFFICIENT);

    /* one of several: lab (patient/) or vital signs (user/) */
    r[0].patient = 1;
    one_restriction(&r[1], &vital_param, 0);
    rq = restricted(SMART_FHIR_I_VREAD, r, 2);

    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_RELEASE, SMART_ERR__COUNT);
    expect_refusal(&rq, OBS_CAT("o1", Q, "vital-signs"),
                   SMART_RESPONSE_RELEASE, SMART_ERR__COUNT);
    expect_refusal(&rq, OBS_CAT("o1", Q, "laboratory"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_SCOPE_INSUFFICIENT);

    /* several parameters: all of them */
    r[0].params = final_params;
    r[0].nparams = 2;
    rq = restricted(SMART_FHIR_I_READ, r, 1);
    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_MISMATCH, SMART_ERR_SCOPE_INSUFFICIENT);
    expect_refusal(&rq, "{\"resourceType\":\"Observation\",\"status\":"
                   "\"final\",\"subject\":{\"reference\":\"Patient/" P
                   "\"},\"category\":[{\"coding\":[{\"code\":"
                   "\"laboratory\"}]}]}",
                   SMART_RESPONSE_RELEASE, SMART_ERR__COUNT);
}


static void
test_restricted_history(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;
    smart_restriction_t   r;

    (void) state;

    one_restriction(&r, &lab_param, 1);
    rq = restricted(SMART_FHIR_I_HISTORY_INSTANCE, &r, 1);
    rq.id = "o1";

    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS_CAT("o1", P, "laboratory"),
                                             "Observation/o1")
                                     "," DELETED(BASE "/Observation/o1",
                                                 "Observation/o1")),
                         &out),
                     SMART_RESPONSE_RELEASE);

    /* every version must satisfy it: an earlier one outside the category */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS_CAT("o1", P, "laboratory"),
                                             "Observation/o1")
                                     "," VERSION(OBS_CAT("o1", P, "survey"),
                                                 "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.reason, SMART_ERR_SCOPE_INSUFFICIENT);
    assert_int_equal(out.entry, 1);

    /* or in another patient's compartment */
    assert_int_equal(run(&rq, BUNDLE("history",
                                     VERSION(OBS_CAT("o1", Q, "laboratory"),
                                             "Observation/o1")),
                         &out),
                     SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.reason, SMART_ERR_PATIENT_MISMATCH);
    assert_int_equal(out.entry, 0);
}


static void
test_restricted_facts(void **state)
{
    smart_response_t      out;
    smart_response_req_t  rq;
    smart_restriction_t   r;

    (void) state;

    one_restriction(&r, &lab_param, 1);

    /* restrictions are read on reads by id and instance histories only */
    rq = restricted(SMART_FHIR_I_SEARCH_TYPE, &r, 1);
    expect_refusal(&rq, BUNDLE("searchset",
                               MATCH(OBS_CAT("o1", P, "laboratory"))),
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    rq = restricted(SMART_FHIR_I_BATCH, &r, 1);
    rq.type = -1;
    expect_refusal(&rq, BUNDLE("batch-response", ""),
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    /* a patient restriction needs the patient */
    rq = restricted(SMART_FHIR_I_READ, &r, 1);
    rq.patient = NULL;
    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    /* restrictions counted but not given */
    rq = restricted(SMART_FHIR_I_READ, NULL, 1);
    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    /* no restrictions: the compartment alone, with its reason */
    rq = req(SMART_FHIR_I_READ, "Observation");
    expect_refusal(&rq, OBS("o1", Q), SMART_RESPONSE_MISMATCH,
                   SMART_ERR_PATIENT_MISMATCH);
    expect_refusal(&rq, OBS("o1", P), SMART_RESPONSE_RELEASE,
                   SMART_ERR__COUNT);

    /* no restrictions and no patient: as before */
    rq = restricted(SMART_FHIR_I_READ, NULL, 0);
    rq.patient = NULL;
    expect_refusal(&rq, OBS_CAT("o1", P, "laboratory"),
                   SMART_RESPONSE_UNVERIFIABLE,
                   SMART_ERR_RESPONSE_UNVERIFIABLE);

    /* a restriction the tables cannot read is never satisfied */
    one_restriction(&r, &final_params[0], 0);
    rq = restricted(SMART_FHIR_I_READ, &r, 1);
    rq.type = type_of("Patient");
    rq.patient = NULL;
    assert_int_equal(run(&rq, PAT(P), &out), SMART_RESPONSE_MISMATCH);
    assert_int_equal(out.reason, SMART_ERR_SCOPE_INSUFFICIENT);
}


static void
test_names(void **state)
{
    (void) state;

    assert_string_equal(smart_response_verdict_name(SMART_RESPONSE_RELEASE),
                        "release");
    assert_string_equal(smart_response_verdict_name(
                            SMART_RESPONSE_RELEASE_FILTERED),
                        "release-filtered");
    assert_string_equal(smart_response_verdict_name(SMART_RESPONSE_MISMATCH),
                        "mismatch");
    assert_string_equal(smart_response_verdict_name(
                            SMART_RESPONSE_UNVERIFIABLE),
                        "unverifiable");
    assert_string_equal(smart_response_verdict_name(
                            (smart_response_verdict_e) 9),
                        "unknown");
}


/* --- the pre-read's helpers ---------------------------------------------- */

static void
test_version(void **state)
{
    char    v[SMART_RESPONSE_VERSION_MAX + 1];
    size_t  n;

    (void) state;

#define VER(b) smart_response_version(b, strlen(b), v, sizeof(v), &n)

    assert_int_equal(VER("{\"resourceType\":\"Observation\",\"meta\":"
                         "{\"versionId\":\"12\"}}"), 0);
    assert_string_equal(v, "12");
    assert_int_equal(n, 2);

    /* absent: none; not a string, not an id, not JSON, duplicate keys:
       unusable */
    assert_int_equal(VER("{\"resourceType\":\"Observation\"}"),
                     SMART_RESPONSE_VERSION_NONE);
    assert_int_equal(VER("{\"meta\":{}}"), SMART_RESPONSE_VERSION_NONE);
    assert_int_equal(VER("{\"meta\":7}"), SMART_RESPONSE_VERSION_NONE);
    assert_int_equal(VER("{\"meta\":{\"versionId\":null}}"), -1);
    assert_int_equal(VER("{\"meta\":{\"versionId\":12}}"), -1);
    assert_int_equal(VER("{\"meta\":{\"versionId\":\"1\\\"2\"}}"), -1);
    assert_int_equal(VER("{\"meta\":{\"versionId\":\"a b\"}}"), -1);
    assert_int_equal(VER("{\"meta\":{\"versionId\":\"1\"}"), -1);
    assert_int_equal(VER("{\"meta\":{\"versionId\":\"1\"},"
                         "\"meta\":{\"versionId\":\"2\"}}"), -1);
    assert_int_equal(smart_response_version("{\"meta\":{\"versionId\":"
                                            "\"12345\"}}", 27, v, 3, &n),
                     -1);
#undef VER
}


static void
test_binary_context(void **state)
{
    int    t;
    char   id[SMART_RESPONSE_VERSION_MAX + 1];

    static const char  base[] = "https://ehr.example/fhir";

    (void) state;

#define CTX(b) smart_response_binary_context(b, strlen(b), base,         \
                                             sizeof(base) - 1, &t, id,    \
                                             sizeof(id))

    assert_int_equal(CTX("{\"resourceType\":\"Binary\",\"securityContext\":"
                         "{\"reference\":\"DocumentReference/d1\"}}"), 0);
    assert_int_equal(t, smart_fhir_type_index("DocumentReference", 17));
    assert_string_equal(id, "d1");

    assert_int_equal(CTX("{\"resourceType\":\"Binary\",\"securityContext\":"
                         "{\"reference\":\"https://ehr.example/fhir/"
                         "Patient/" P "\"}}"), 0);
    assert_int_equal(t, SMART_FHIR_TYPE_PATIENT);
    assert_string_equal(id, P);

    /* no context, a logical or foreign or contained one, not a Binary */
    assert_int_equal(CTX("{\"resourceType\":\"Binary\"}"), -1);
    assert_int_equal(CTX("{\"resourceType\":\"Binary\",\"securityContext\":"
                         "{\"identifier\":{\"value\":\"x\"}}}"), -1);
    assert_int_equal(CTX("{\"resourceType\":\"Binary\",\"securityContext\":"
                         "{\"reference\":\"https://other.example/fhir/"
                         "Patient/" P "\"}}"), -1);
    assert_int_equal(CTX("{\"resourceType\":\"Binary\",\"securityContext\":"
                         "{\"reference\":\"#c1\"}}"), -1);
    assert_int_equal(CTX("{\"resourceType\":\"Observation\","
                         "\"securityContext\":{\"reference\":\"Patient/"
                         P "\"}}"), -1);
    assert_int_equal(CTX("[1]"), -1);
#undef CTX
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_unverifiable_bodies),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_bad_request_facts),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_search_matches),
        cmocka_unit_test(test_search_includes),
        cmocka_unit_test(test_filtered_text),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_nested),
        cmocka_unit_test(test_contained),
        cmocka_unit_test(test_entry_bound),
        cmocka_unit_test(test_restricted_read),
        cmocka_unit_test(test_restricted_history),
        cmocka_unit_test(test_restricted_facts),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_binary_context),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
