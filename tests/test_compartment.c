
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the compartment check and the reference parser
 * (smart_compartment.[ch], docs/scopes.md "Checked on the response"):
 * every compartment path of every patient-data type of the generated
 * tables, each form of reference, and the answers for the other types.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_compartment.h"
#include "smart_fhir.h"

#include "tape_json.h"


#define P       "pat-1"
#define Q       "pat-2"
#define BASE    "https://ehr.example/fhir"

#define PAT_ID(id)  "{\"resourceType\":\"Patient\",\"id\":" id "}"
#define SUBJECT(ref)                                                         \
    "{\"resourceType\":\"Observation\",\"subject\":" ref "}"

#define IN      SMART_COMPARTMENT_IN
#define OUT     SMART_COMPARTMENT_OUT
#define NPD     SMART_COMPARTMENT_NOT_PATIENT_DATA
#define UNPROV  SMART_COMPARTMENT_UNPROVABLE
#define INVALID SMART_COMPARTMENT_INVALID


typedef struct {
    const char                 *json;
    smart_compartment_e         expect;
} case_t;


typedef struct {
    const smart_compartment_t  *cx;
    const char                 *ref;
    smart_compartment_e         expect;
} ref_case_t;


static const smart_compartment_t  cx_rel = { P, sizeof(P) - 1, NULL, 0 };
static const smart_compartment_t  cx_abs = {
    P, sizeof(P) - 1, BASE, sizeof(BASE) - 1
};


/* The answer for j, which it takes (NULL: the allocation failed). */
static smart_compartment_e
check_json(const smart_compartment_t *cx, json_t *j)
{
    tape_json_t               d;
    smart_compartment_e       e;
    const smart_tape_node_t  *root;

    assert_non_null(j);
    root = tape_json(&d, j);
    assert_non_null(root);
    e = smart_compartment_check(cx, root);
    tape_json_free(&d);
    json_decref(j);

    return e;
}


static smart_compartment_e
check_text(const smart_compartment_t *cx, const char *s)
{
    return check_json(cx, json_loads(s, JSON_REJECT_DUPLICATES, NULL));
}


/* An Observation whose subject is {"reference": ref}. */
static smart_compartment_e
check_subject(const smart_compartment_t *cx, const char *ref)
{
    return check_json(cx, json_pack("{s:s, s:{s:s}}", "resourceType",
                                    "Observation", "subject", "reference",
                                    ref));
}


/*
 * A resource of type name with only ref at the dotted element path, each
 * step an object, or an array of one object when arrays is set.
 */
static json_t *
build_at_path(const char *name, const char *path, const char *ref,
    int arrays)
{
    char         seg[64];
    json_t      *root, *cur, *next, *r;
    size_t       n;
    const char  *dot;

    root = json_pack("{s:s}", "resourceType", name);
    assert_non_null(root);
    cur = root;

    for ( ;; ) {
        dot = strchr(path, '.');
        n = (dot != NULL) ? (size_t) (dot - path) : strlen(path);
        assert_true(n < sizeof(seg));
        memcpy(seg, path, n);
        seg[n] = '\0';

        if (dot == NULL) {
            r = json_pack("{s:s}", "reference", ref);
            assert_non_null(r);
            next = r;

        } else {
            next = json_object();
            assert_non_null(next);
        }

        if (arrays) {
            assert_int_equal(json_object_set_new(cur, seg,
                                                 json_pack("[o]", next)), 0);
        } else {
            assert_int_equal(json_object_set_new(cur, seg, next), 0);
        }

        if (dot == NULL) {
            return root;
        }

        cur = next;
        path = dot + 1;
    }
}


/* A path limited to another type by resolve() cannot prove a Patient. */
static smart_compartment_e
expected_in(const smart_fhir_cpath_t *path)
{
    return (path->resolve_type == NULL
            || strcmp(path->resolve_type, "Patient") == 0)
           ? SMART_COMPARTMENT_IN : SMART_COMPARTMENT_OUT;
}


static void
check_path(const smart_fhir_type_t *ty, const smart_fhir_cparam_t *cp,
    const smart_fhir_cpath_t *path, const smart_compartment_t *cx,
    const char *ref, smart_compartment_e expect)
{
    int                   arrays;
    json_t               *j;
    smart_compartment_e   e;

    for (arrays = 0; arrays < 2; arrays++) {
        j = build_at_path(ty->name, path->element, ref, arrays);
        e = check_json(cx, json_incref(j));

        if (e != expect) {
            fail_msg("%s.%s (parameter %s, arrays %d) with %s: %s, "
                     "expected %s", ty->name, path->element, cp->name, arrays,
                     ref, smart_compartment_name(e),
                     smart_compartment_name(expect));
        }

        json_decref(j);
    }
}


/*
 * Every path of every compartment parameter of every patient-data type:
 * Patient/P there is IN (relative, absolute on the base, a version), and
 * Patient/Q, or Patient/P of a path that resolves to another type, is
 * OUT.  Patient is proven by its id instead (below).
 */
static void
test_every_compartment_path(void **state)
{
    size_t                      t, i, k, npaths;
    smart_compartment_e         in;
    const smart_fhir_type_t    *ty;
    const smart_fhir_cparam_t  *cp;

    (void) state;

    npaths = 0;

    for (t = 0; t < SMART_FHIR_NTYPES; t++) {
        ty = &smart_fhir_types[t];

        if ((ty->patient_data != SMART_FHIR_PD_COMPARTMENT
             && ty->patient_data != SMART_FHIR_PD_PATIENT_REF)
            || t == SMART_FHIR_TYPE_PATIENT)
        {
            continue;
        }

        for (i = 0; i < ty->ncparams; i++) {
            cp = &ty->cparams[i];

            for (k = 0; k < cp->npaths; k++) {
                in = expected_in(&cp->paths[k]);

                check_path(ty, cp, &cp->paths[k], &cx_rel, "Patient/" P, in);
                check_path(ty, cp, &cp->paths[k], &cx_abs,
                           BASE "/Patient/" P, in);
                check_path(ty, cp, &cp->paths[k], &cx_rel,
                           "Patient/" P "/_history/7", in);
                check_path(ty, cp, &cp->paths[k], &cx_rel, "Patient/" Q,
                           SMART_COMPARTMENT_OUT);
                check_path(ty, cp, &cp->paths[k], &cx_rel,
                           "Practitioner/" P, SMART_COMPARTMENT_OUT);
                npaths++;
            }
        }
    }

    /* the R4 compartment has well over a hundred paths */
    assert_true(npaths > 100);
}


/*
 * Every compartment parameter can point to a Patient (else none of its
 * paths proves anything), and every type that holds patient data but
 * BiologicallyDerivedProduct has at least one path that can prove it.
 */
static void
test_every_type_provable(void **state)
{
    int                          found, targets;
    size_t                       t, i, k;
    const smart_fhir_type_t     *ty;
    const smart_fhir_cparam_t   *cp;

    (void) state;

    for (t = 0; t < SMART_FHIR_NTYPES; t++) {
        ty = &smart_fhir_types[t];

        if (ty->patient_data != SMART_FHIR_PD_COMPARTMENT
            && ty->patient_data != SMART_FHIR_PD_PATIENT_REF)
        {
            continue;
        }

        found = 0;

        for (i = 0; i < ty->ncparams; i++) {
            cp = &ty->cparams[i];
            targets = 0;

            for (k = 0; k < cp->ntargets; k++) {
                targets |= (strcmp(cp->targets[k], "Patient") == 0);
            }

            if (!targets) {
                fail_msg("%s parameter %s cannot name a Patient", ty->name,
                         cp->name);
            }

            for (k = 0; k < cp->npaths; k++) {
                found |= (expected_in(&cp->paths[k]) == SMART_COMPARTMENT_IN);
            }
        }

        if (!found && strcmp(ty->name, "BiologicallyDerivedProduct") != 0) {
            fail_msg("%s has no path that can prove it", ty->name);
        }
    }
}


static void
run_cases(const smart_compartment_t *cx, const case_t *cases, size_t n)
{
    size_t               i;
    smart_compartment_e  e;

    for (i = 0; i < n; i++) {
        e = check_text(cx, cases[i].json);

        if (e != cases[i].expect) {
            fail_msg("%s: %s, expected %s", cases[i].json,
                     smart_compartment_name(e),
                     smart_compartment_name(cases[i].expect));
        }
    }
}


static void
test_patient_by_id(void **state)
{
    static const case_t  cases[] = {
        { PAT_ID("\"" P "\""), IN },
        { PAT_ID("\"" Q "\""), OUT },
        { PAT_ID("\"" P "x\""), OUT },
        { PAT_ID("7"), OUT },
        { "{\"resourceType\":\"Patient\"}", OUT },
        /* a link to P does not make Q's record P's */
        { "{\"resourceType\":\"Patient\",\"id\":\"" Q "\",\"link\":[{"
          "\"other\":{\"reference\":\"Patient/" P "\"},\"type\":\"seealso\""
          "}]}", OUT },
    };

    (void) state;

    run_cases(&cx_rel, cases, sizeof(cases) / sizeof(cases[0]));
}


static void
test_reference_forms(void **state)
{
    size_t                      i;
    smart_compartment_e         e;
    static const smart_compartment_t  slash = {
        P, sizeof(P) - 1, BASE "/", sizeof(BASE)
    };
    static const ref_case_t     cases[] = {
        { &cx_rel, "Patient/" P, IN },
        { &cx_rel, "Patient/" P "/_history/2", IN },
        { &cx_abs, BASE "/Patient/" P, IN },
        { &slash, BASE "/Patient/" P, IN },
        { &cx_abs, BASE "/Patient/" P "/_history/2", IN },
        { &cx_abs, "Patient/" P, IN },

        /* absolute: only on the base given, byte for byte */
        { &cx_rel, BASE "/Patient/" P, OUT },
        { &cx_abs, "https://other.example/fhir/Patient/" P, OUT },
        { &cx_abs, "http://ehr.example/fhir/Patient/" P, OUT },
        { &cx_abs, "HTTPS://EHR.EXAMPLE/fhir/Patient/" P, OUT },
        { &cx_abs, BASE "//Patient/" P, OUT },
        { &cx_abs, BASE "Patient/" P, OUT },

        /* other patients and types, contained, malformed */
        { &cx_rel, "Patient/" Q, OUT },
        { &cx_rel, "Patient/" P "x", OUT },
        { &cx_rel, "Group/" P, OUT },
        { &cx_rel, "#" P, OUT },
        { &cx_rel, "#Patient/" P, OUT },
        { &cx_rel, "urn:uuid:" P, OUT },
        { &cx_rel, P, OUT },
        { &cx_rel, "Patient/", OUT },
        { &cx_rel, "patient/" P, OUT },
        { &cx_rel, "/Patient/" P, OUT },
        { &cx_rel, "Patient/" P "/", OUT },
        { &cx_rel, "Patient/" P "?x=1", OUT },
        { &cx_rel, "Patient/" P "#x", OUT },
        { &cx_rel, "Patient/" P " ", OUT },
        { &cx_rel, " Patient/" P, OUT },
        { &cx_rel, "Patient/" P "," Q, OUT },
        { &cx_rel, "Patient/" P "/_history", OUT },
        { &cx_rel, "Patient/" P "/_history/", OUT },
        { &cx_rel, "Patient/" P "/_history/1/2", OUT },
        { &cx_rel, "Patient/" P "/_historyx/1", OUT },
        { &cx_rel, "Patient/" P "/x", OUT },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = check_subject(cases[i].cx, cases[i].ref);

        if (e != cases[i].expect) {
            fail_msg("subject %s: %s, expected %s", cases[i].ref,
                     smart_compartment_name(e),
                     smart_compartment_name(cases[i].expect));
        }
    }
}


static void
test_reference_objects(void **state)
{
    static const case_t  cases[] = {
        /* only by identifier, or display: proves nothing */
        { SUBJECT("{\"identifier\":{\"system\":\"urn:mrn\",\"value\":\"" P
                  "\"}}"), OUT },
        { SUBJECT("{\"display\":\"Patient/" P "\"}"), OUT },
        { SUBJECT("{\"reference\":null}"), OUT },
        { SUBJECT("\"Patient/" P "\""), OUT },
        { SUBJECT("[[{\"reference\":\"Patient/" P "\"}]]"), OUT },

        /* Reference.type must agree */
        { SUBJECT("{\"reference\":\"Patient/" P "\",\"type\":\"Patient\"}"),
          IN },
        { SUBJECT("{\"reference\":\"Patient/" P "\",\"type\":\"http://hl7."
                  "org/fhir/StructureDefinition/Patient\"}"), IN },
        { SUBJECT("{\"reference\":\"Patient/" P "\",\"type\":\"Group\"}"),
          OUT },
        { SUBJECT("{\"reference\":\"Patient/" P "\",\"type\":1}"), OUT },

        /* any element of an array; any one parameter is enough */
        { "{\"resourceType\":\"Observation\",\"performer\":[{\"reference\":"
          "\"Practitioner/1\"},{\"reference\":\"Patient/" P "\"}]}", IN },
        { "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":"
          "\"Patient/" Q "\"},\"performer\":[{\"reference\":\"Patient/" P
          "\"}]}", IN },
        { SUBJECT("{\"reference\":\"Group/1\"}"), OUT },
        { "{\"resourceType\":\"Observation\"}", OUT },

        /* paths below a reference (agent.who), and resolve() limits */
        { "{\"resourceType\":\"AuditEvent\",\"agent\":[{\"who\":{"
          "\"reference\":\"Patient/" P "\"}}]}", IN },
        { "{\"resourceType\":\"AuditEvent\",\"agent\":[{\"who\":{"
          "\"reference\":\"Practitioner/" P "\"}}]}", OUT },
    };

    (void) state;

    run_cases(&cx_rel, cases, sizeof(cases) / sizeof(cases[0]));

    /* a NUL inside the string: no such document reaches the check (the
       parser refuses \u0000, as jansson does) */
    {
        tape_json_t  d;
        json_t      *j;

        j = json_pack("{s:s, s:{s:s%}}", "resourceType", "Observation",
                      "subject", "reference", "Patient/" P "\0x",
                      sizeof("Patient/" P) + 1);
        assert_non_null(j);
        assert_null(tape_json(&d, j));
        json_decref(j);
    }
}


static void
test_types_outside(void **state)
{
    static const case_t  cases[] = {
        /* patient-data types outside the compartment: their subject */
        { "{\"resourceType\":\"Device\",\"patient\":{\"reference\":"
          "\"Patient/" P "\"}}", IN },
        { "{\"resourceType\":\"Task\",\"for\":{\"reference\":\"Patient/" P
          "\"}}", IN },
        /* the owner says who works on it, not whose it is */
        { "{\"resourceType\":\"Task\",\"for\":{\"reference\":\"Patient/" Q
          "\"},\"owner\":{\"reference\":\"Patient/" P "\"}}", OUT },
        /* no compartment parameter: never proven */
        { "{\"resourceType\":\"BiologicallyDerivedProduct\",\"collection\":"
          "{\"source\":{\"reference\":\"Patient/" P "\"}}}", OUT },

        { "{\"resourceType\":\"Medication\"}", NPD },
        { "{\"resourceType\":\"Practitioner\"}", NPD },
        { "{\"resourceType\":\"Organization\"}", NPD },
        { "{\"resourceType\":\"OperationOutcome\"}", NPD },

        { "{\"resourceType\":\"Binary\",\"securityContext\":{\"reference\":"
          "\"Patient/" P "\"}}", UNPROV },
        { "{\"resourceType\":\"Bundle\"}", UNPROV },
        { "{\"resourceType\":\"Parameters\"}", UNPROV },

        { "{}", INVALID },
        { "[]", INVALID },
        { "{\"resourceType\":7}", INVALID },
        { "{\"resourceType\":\"Foo\"}", INVALID },
        { "{\"resourceType\":\"observation\"}", INVALID },
    };

    (void) state;

    run_cases(&cx_rel, cases, sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(smart_compartment_check(&cx_rel, NULL), INVALID);
}


static void
test_no_valid_patient(void **state)
{
    const smart_compartment_t  none = { NULL, 0, NULL, 0 };
    const smart_compartment_t  bad = { "a,b", 3, NULL, 0 };

    (void) state;

    assert_int_equal(check_subject(&none, "Patient/" P),
                     SMART_COMPARTMENT_OUT);
    assert_int_equal(check_subject(&bad, "Patient/a,b"),
                     SMART_COMPARTMENT_OUT);
    assert_int_equal(check_text(&bad, "{\"resourceType\":\"Patient\","
                                "\"id\":\"a,b\"}"),
                     SMART_COMPARTMENT_OUT);
}


static void
test_ref_parse(void **state)
{
    smart_ref_t  r;

    (void) state;

    assert_int_equal(smart_ref_parse("Observation/o-1", 15, NULL, 0, &r), 0);
    assert_string_equal(smart_fhir_types[r.type].name, "Observation");
    assert_int_equal(r.id_len, 3);
    assert_memory_equal(r.id, "o-1", 3);
    assert_null(r.vid);
    assert_int_equal(r.absolute, 0);

    assert_int_equal(smart_ref_parse("Patient/x/_history/3", 20, NULL, 0,
                                     &r), 0);
    assert_int_equal(r.type, SMART_FHIR_TYPE_PATIENT);
    assert_int_equal(r.id_len, 1);
    assert_int_equal(r.vid_len, 1);
    assert_memory_equal(r.vid, "3", 1);

    assert_int_equal(smart_ref_parse(BASE "/Patient/x", sizeof(BASE) + 9,
                                     BASE, sizeof(BASE) - 1, &r), 0);
    assert_int_equal(r.absolute, 1);
    assert_int_equal(r.type, SMART_FHIR_TYPE_PATIENT);
    assert_memory_equal(r.id, "x", 1);

    /* the length bounds the string: what follows is not read */
    assert_int_equal(smart_ref_parse("Patient/xy", 9, NULL, 0, &r), 0);
    assert_int_equal(r.id_len, 1);

    assert_int_equal(smart_ref_parse("Patient/x", 9, BASE, sizeof(BASE) - 1,
                                     &r), 0);
    assert_int_equal(r.absolute, 0);

    /* the base alone, or the base with an empty remainder */
    assert_int_equal(smart_ref_parse(BASE, sizeof(BASE) - 1, BASE,
                                     sizeof(BASE) - 1, &r), -1);
    assert_int_equal(smart_ref_parse(BASE "/", sizeof(BASE), BASE,
                                     sizeof(BASE) - 1, &r), -1);
    assert_int_equal(r.type, -1);
    assert_null(r.id);

    assert_int_equal(smart_ref_parse("Nope/x", 6, NULL, 0, &r), -1);
    assert_int_equal(smart_ref_parse("", 0, NULL, 0, &r), -1);
    assert_int_equal(smart_ref_parse(NULL, 0, NULL, 0, &r), -1);
    assert_int_equal(smart_ref_parse("Patient/..", 10, NULL, 0, &r), -1);
    assert_int_equal(smart_ref_parse("Patient/a_b", 11, NULL, 0, &r), -1);
}


static void
test_names(void **state)
{
    (void) state;

    assert_string_equal(smart_compartment_name(SMART_COMPARTMENT_IN), "in");
    assert_string_equal(smart_compartment_name(SMART_COMPARTMENT_OUT),
                        "out");
    assert_string_equal(smart_compartment_name(
                            SMART_COMPARTMENT_NOT_PATIENT_DATA),
                        "not-patient-data");
    assert_string_equal(smart_compartment_name(SMART_COMPARTMENT_UNPROVABLE),
                        "unprovable");
    assert_string_equal(smart_compartment_name(SMART_COMPARTMENT_INVALID),
                        "invalid");
    assert_string_equal(smart_compartment_name((smart_compartment_e) 99),
                        "unknown");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_compartment_path),
        cmocka_unit_test(test_every_type_provable),
        cmocka_unit_test(test_patient_by_id),
        cmocka_unit_test(test_reference_forms),
        cmocka_unit_test(test_reference_objects),
        cmocka_unit_test(test_types_outside),
        cmocka_unit_test(test_no_valid_patient),
        cmocka_unit_test(test_ref_parse),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
