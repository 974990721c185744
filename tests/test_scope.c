
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the scope grammar (smart_scope.[ch], docs/scopes.md).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_scope.h"


#define S(lit)  (lit), (sizeof(lit) - 1)


static smart_scope_set_t *
parse_str(const char *s)
{
    smart_scope_set_t  *set;

    set = smart_scope_parse(s, strlen(s));
    assert_non_null(set);

    return set;
}


/* s is one resource scope that parses to exactly this. */
static void
expect_scope(const char *s, smart_scope_context_e ctx, const char *type,
    unsigned perms, unsigned v1, size_t nparams)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *sc;

    set = parse_str(s);

    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->nignored, 0);
    assert_int_equal(set->n_invalid, 0);
    assert_int_equal(set->n_nonresource, 0);

    sc = &set->scopes[0];
    assert_int_equal(sc->context, ctx);
    assert_string_equal(sc->type, type);
    assert_int_equal(sc->type_len, strlen(type));
    assert_int_equal(sc->is_wildcard, strcmp(type, "*") == 0);
    assert_int_equal(sc->perms, perms);
    assert_int_equal(sc->v1, v1);
    assert_int_equal(sc->nparams, nparams);
    assert_int_equal(sc->raw_len, strlen(s));
    assert_memory_equal(sc->raw, s, strlen(s));

    smart_scope_set_free(set);
}


/* buf[0..len) is one scope, ignored for this reason, granting nothing. */
static void
expect_ignored_n(const char *buf, size_t len, smart_scope_reason_e reason)
{
    smart_scope_set_t  *set;
    smart_scope_kind_e  kind;

    set = smart_scope_parse(buf, len);
    assert_non_null(set);

    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, reason);
    assert_int_equal(set->ignored[0].count, 1);
    assert_int_equal(set->has_patient_scopes, 0);
    assert_int_equal(set->has_user_scopes, 0);
    assert_int_equal(set->has_system_scopes, 0);

    kind = smart_scope_reason_kind(reason);
    assert_int_equal(set->n_nonresource,
                     kind == SMART_SCOPE_KIND_NON_RESOURCE);
    assert_int_equal(set->n_invalid, kind == SMART_SCOPE_KIND_INVALID);
    assert_int_equal(set->n_limit, kind == SMART_SCOPE_KIND_LIMIT);

    assert_int_equal(smart_scope_match(set, SMART_SCOPE_ANY_CONTEXT,
                                       S("Observation"), SMART_SCOPE_R,
                                       NULL, 0), 0);

    smart_scope_set_free(set);
}


static void
expect_ignored(const char *s, smart_scope_reason_e reason)
{
    expect_ignored_n(s, strlen(s), reason);
}


static void
expect_format(const char *s, const char *canonical)
{
    smart_scope_set_t  *set;
    char                buf[2048];
    size_t              n;

    set = parse_str(s);
    assert_int_equal(set->nscopes, 1);

    n = smart_scope_format(buf, sizeof(buf), &set->scopes[0]);
    assert_string_equal(buf, canonical);
    assert_int_equal(n, strlen(canonical));

    smart_scope_set_free(set);
}


/* --- v2 resource scopes ------------------------------------------------- */

static void
test_v2_patient_rs(void **state)
{
    (void) state;
    expect_scope("patient/Observation.rs", SMART_SCOPE_PATIENT,
                 "Observation", SMART_SCOPE_R | SMART_SCOPE_S, 0, 0);
}

static void
test_v2_user_cruds(void **state)
{
    (void) state;
    expect_scope("user/Patient.cruds", SMART_SCOPE_USER, "Patient",
                 SMART_SCOPE_CRUDS, 0, 0);
}

static void
test_v2_system_single_letters(void **state)
{
    (void) state;
    expect_scope("system/Encounter.c", SMART_SCOPE_SYSTEM, "Encounter",
                 SMART_SCOPE_C, 0, 0);
    expect_scope("system/Encounter.r", SMART_SCOPE_SYSTEM, "Encounter",
                 SMART_SCOPE_R, 0, 0);
    expect_scope("system/Encounter.u", SMART_SCOPE_SYSTEM, "Encounter",
                 SMART_SCOPE_U, 0, 0);
    expect_scope("system/Encounter.d", SMART_SCOPE_SYSTEM, "Encounter",
                 SMART_SCOPE_D, 0, 0);
    expect_scope("system/Encounter.s", SMART_SCOPE_SYSTEM, "Encounter",
                 SMART_SCOPE_S, 0, 0);
}

static void
test_v2_every_subset(void **state)
{
    unsigned  m, bit;
    char      buf[64], *p;
    size_t    i;
    static const char  letters[] = "cruds";

    (void) state;

    for (m = 1; m <= SMART_SCOPE_CRUDS; m++) {
        p = buf + sprintf(buf, "patient/Condition.");
        for (i = 0, bit = 1; i < 5; i++, bit <<= 1) {
            if (m & bit) {
                *p++ = letters[i];
            }
        }
        *p = '\0';

        expect_scope(buf, SMART_SCOPE_PATIENT, "Condition", m, 0, 0);
    }
}

static void
test_v2_wildcard_type(void **state)
{
    (void) state;
    expect_scope("patient/*.rs", SMART_SCOPE_PATIENT, "*",
                 SMART_SCOPE_R | SMART_SCOPE_S, 0, 0);
    expect_scope("patient/*.cruds", SMART_SCOPE_PATIENT, "*",
                 SMART_SCOPE_CRUDS, 0, 0);
}

static void
test_type_length_bounds(void **state)
{
    char  buf[128], type[80];

    (void) state;

    expect_scope("user/X.r", SMART_SCOPE_USER, "X", SMART_SCOPE_R, 0, 0);

    /* 64 letters is the longest type name */
    memset(type, 'a', 64);
    type[0] = 'A';
    type[64] = '\0';
    sprintf(buf, "user/%s.r", type);
    expect_scope(buf, SMART_SCOPE_USER, type, SMART_SCOPE_R, 0, 0);
}


static void
test_type_65_letters(void **state)
{
    char  buf[128];

    (void) state;

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "user/A", 6);
    strcpy(buf + 5 + 65, ".r");
    expect_ignored(buf, SMART_SCOPE_BAD_TYPE);
}

static void
test_type_mixed_case_kept_raw(void **state)
{
    (void) state;
    /* not in FHIR R4, but syntactically a type: the consumer decides */
    expect_scope("user/MedicationRequest.rs", SMART_SCOPE_USER,
                 "MedicationRequest", SMART_SCOPE_R | SMART_SCOPE_S, 0, 0);
    expect_scope("user/NotAType.r", SMART_SCOPE_USER, "NotAType",
                 SMART_SCOPE_R, 0, 0);
}


/* --- malformed permissions ---------------------------------------------- */

static void
test_letters_out_of_order(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.sr", SMART_SCOPE_BAD_PERMS_ORDER);
    expect_ignored("patient/Observation.cdr", SMART_SCOPE_BAD_PERMS_ORDER);
    expect_ignored("user/*.sdurc", SMART_SCOPE_BAD_PERMS_ORDER);
}

static void
test_letters_repeated(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rr", SMART_SCOPE_BAD_PERMS_REPEAT);
    expect_ignored("patient/Observation.rrs",
                   SMART_SCOPE_BAD_PERMS_REPEAT);
    /* both repeated and out of order: one reason, the repeat */
    expect_ignored("patient/Observation.rsr",
                   SMART_SCOPE_BAD_PERMS_REPEAT);
}

static void
test_letters_unknown(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rx", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.crudsx",
                   SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.v", SMART_SCOPE_BAD_PERMS_UNKNOWN);
}

static void
test_letters_upper_case(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.RS", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.Rs", SMART_SCOPE_BAD_PERMS_UNKNOWN);
}

static void
test_perms_empty(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.", SMART_SCOPE_BAD_PERMS_EMPTY);
    expect_ignored("patient/Observation.?a=b", SMART_SCOPE_BAD_PERMS_EMPTY);
}

static void
test_perms_missing(void **state)
{
    (void) state;
    expect_ignored("patient/Observation", SMART_SCOPE_BAD_PERMS_MISSING);
    expect_ignored("patient/*", SMART_SCOPE_BAD_PERMS_MISSING);
}

static void
test_multiple_dots(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.r.s", SMART_SCOPE_BAD_DOTS);
    expect_ignored("patient/Observation..rs", SMART_SCOPE_BAD_DOTS);
    expect_ignored("patient/Observation.rs.", SMART_SCOPE_BAD_DOTS);
    expect_ignored("patient/*.*.*", SMART_SCOPE_BAD_DOTS);
}

static void
test_question_before_dot(void **state)
{
    (void) state;
    /* the first '?' ends the resource part */
    expect_ignored("patient/Observation?a=b.rs",
                   SMART_SCOPE_BAD_PERMS_MISSING);
}


/* --- types and contexts ------------------------------------------------- */

static void
test_type_missing(void **state)
{
    (void) state;
    expect_ignored("patient/.rs", SMART_SCOPE_BAD_TYPE_MISSING);
    expect_ignored("patient/", SMART_SCOPE_BAD_TYPE_MISSING);
    expect_ignored("user/?a=b", SMART_SCOPE_BAD_TYPE_MISSING);
}

static void
test_type_bad_case(void **state)
{
    (void) state;
    expect_ignored("patient/observation.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/oBSERVATION.rs", SMART_SCOPE_BAD_TYPE);
}

static void
test_type_bad_characters(void **state)
{
    (void) state;
    expect_ignored("patient/Observation2.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/Obs_ervation.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/Obs/Sub.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/**.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/*Observation.rs", SMART_SCOPE_BAD_TYPE);
    expect_ignored("patient/$everything.rs", SMART_SCOPE_BAD_TYPE);
}

static void
test_context_bad(void **state)
{
    (void) state;
    expect_ignored("Patient/Observation.rs", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("USER/*.rs", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("practitioner/*.read", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("/Observation.rs", SMART_SCOPE_BAD_CONTEXT);
}

static void
test_context_missing(void **state)
{
    (void) state;
    expect_ignored("Observation.rs", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("*.read", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("patient.Observation.rs", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("patient:Observation.rs", SMART_SCOPE_BAD_CONTEXT);
}


/* --- v1 ----------------------------------------------------------------- */

static void
test_v1_read(void **state)
{
    (void) state;
    expect_scope("patient/Observation.read", SMART_SCOPE_PATIENT,
                 "Observation", SMART_SCOPE_R | SMART_SCOPE_S, 1, 0);
    expect_scope("user/Patient.read", SMART_SCOPE_USER, "Patient",
                 SMART_SCOPE_R | SMART_SCOPE_S, 1, 0);
}

static void
test_v1_write(void **state)
{
    (void) state;
    expect_scope("user/Observation.write", SMART_SCOPE_USER, "Observation",
                 SMART_SCOPE_C | SMART_SCOPE_U | SMART_SCOPE_D, 1, 0);
}

static void
test_v1_star(void **state)
{
    (void) state;
    expect_scope("patient/*.*", SMART_SCOPE_PATIENT, "*",
                 SMART_SCOPE_CRUDS, 1, 0);
    expect_scope("system/Observation.*", SMART_SCOPE_SYSTEM, "Observation",
                 SMART_SCOPE_CRUDS, 1, 0);
}

static void
test_v1_words_exact(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.Read", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.READ", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.reads",
                   SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.writ", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.**", SMART_SCOPE_BAD_PERMS_UNKNOWN);
    expect_ignored("patient/Observation.rw", SMART_SCOPE_BAD_PERMS_UNKNOWN);
}

static void
test_v1_v2_equivalence(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/*.read patient/*.rs user/A.write user/A.cud "
                    "system/B.* system/B.cruds");
    assert_int_equal(set->nscopes, 6);

    assert_int_equal(set->scopes[0].perms, set->scopes[1].perms);
    assert_int_equal(set->scopes[2].perms, set->scopes[3].perms);
    assert_int_equal(set->scopes[4].perms, set->scopes[5].perms);

    assert_int_equal(set->scopes[0].v1, 1);
    assert_int_equal(set->scopes[1].v1, 0);
    assert_int_equal(set->scopes[2].v1, 1);
    assert_int_equal(set->scopes[3].v1, 0);
    assert_int_equal(set->scopes[4].v1, 1);
    assert_int_equal(set->scopes[5].v1, 0);

    smart_scope_set_free(set);
}

static void
test_v1_canonical_format(void **state)
{
    (void) state;
    expect_format("patient/*.read", "patient/*.rs");
    expect_format("user/Observation.write", "user/Observation.cud");
    expect_format("patient/*.*", "patient/*.cruds");
}

static void
test_v1_granular_refused(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.read?category=laboratory",
                   SMART_SCOPE_BAD_GRANULAR_V1);
    expect_ignored("patient/Observation.write?category=laboratory",
                   SMART_SCOPE_BAD_GRANULAR_V1);
    expect_ignored("patient/*.*?category=laboratory",
                   SMART_SCOPE_BAD_GRANULAR_V1);
    expect_ignored("patient/Observation.read?", SMART_SCOPE_BAD_GRANULAR_V1);
}


/* --- granular ----------------------------------------------------------- */

static void
test_granular_simple(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?category=laboratory");
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->scopes[0].nparams, 1);
    assert_string_equal(set->scopes[0].params[0].name, "category");
    assert_int_equal(set->scopes[0].params[0].name_len, 8);
    assert_string_equal(set->scopes[0].params[0].value, "laboratory");
    assert_int_equal(set->scopes[0].params[0].value_len, 10);
    assert_string_equal(set->scopes[0].type, "Observation");
    smart_scope_set_free(set);
}

static void
test_granular_system_pipe_raw(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?category=http://terminology.hl7"
                    ".org/CodeSystem/observation-category|laboratory");
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].params[0].value,
                        "http://terminology.hl7.org/CodeSystem/"
                        "observation-category|laboratory");
    smart_scope_set_free(set);
}

static void
test_granular_pipe_encoded(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?category=http%3A%2F%2F"
                    "terminology.hl7.org%2FCodeSystem%2Fobservation-category"
                    "%7Cvital-signs");
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].params[0].value,
                        "http://terminology.hl7.org/CodeSystem/"
                        "observation-category|vital-signs");
    smart_scope_set_free(set);

    set = parse_str("patient/Observation.rs?code=a%7cb");
    assert_string_equal(set->scopes[0].params[0].value, "a|b");
    smart_scope_set_free(set);
}

static void
test_granular_several(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("user/Condition.rs?category=problem-list-item"
                    "&clinical-status=active&_tag=x");
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->scopes[0].nparams, 3);
    assert_string_equal(set->scopes[0].params[0].name, "category");
    assert_string_equal(set->scopes[0].params[1].name, "clinical-status");
    assert_string_equal(set->scopes[0].params[1].value, "active");
    assert_string_equal(set->scopes[0].params[2].name, "_tag");
    assert_string_equal(set->scopes[0].params[2].value, "x");
    smart_scope_set_free(set);
}

static void
test_granular_repeats_kept(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?category=a&category=b");
    assert_int_equal(set->scopes[0].nparams, 2);
    assert_string_equal(set->scopes[0].params[0].value, "a");
    assert_string_equal(set->scopes[0].params[1].value, "b");
    smart_scope_set_free(set);
}

static void
test_granular_name_characters(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?code:in=http://x/vs"
                    "&subject.name-x_1=y&_A9=z");
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->scopes[0].nparams, 3);
    assert_string_equal(set->scopes[0].params[0].name, "code:in");
    assert_string_equal(set->scopes[0].params[1].name, "subject.name-x_1");
    assert_string_equal(set->scopes[0].params[2].name, "_A9");
    smart_scope_set_free(set);
}

static void
test_granular_dots_not_counted(void **state)
{
    (void) state;
    /* dots after '?' are not "multiple dots" */
    expect_scope("patient/Observation.rs?code.system=a.b.c",
                 SMART_SCOPE_PATIENT, "Observation",
                 SMART_SCOPE_R | SMART_SCOPE_S, 0, 1);
}

static void
test_granular_plus_literal(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    /* scopes are not form-encoded: '+' is a plus sign */
    set = parse_str("patient/Observation.rs?code=a+b");
    assert_string_equal(set->scopes[0].params[0].value, "a+b");
    smart_scope_set_free(set);
}

static void
test_granular_percent_25(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?code=50%25");
    assert_string_equal(set->scopes[0].params[0].value, "50%");
    smart_scope_set_free(set);

    expect_format("patient/Observation.rs?code=50%25",
                  "patient/Observation.rs?code=50%25");
}

static void
test_granular_utf8(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?code=caf%C3%A9");
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].params[0].value, "caf\xc3\xa9");
    assert_int_equal(set->scopes[0].params[0].value_len, 5);
    smart_scope_set_free(set);

    expect_format("patient/Observation.rs?code=caf%c3%a9",
                  "patient/Observation.rs?code=caf%C3%A9");
}

static void
test_granular_trailing_question(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?",
                   SMART_SCOPE_BAD_GRANULAR_SYNTAX);
}

static void
test_granular_double_ampersand(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?a=b&&c=d",
                   SMART_SCOPE_BAD_GRANULAR_SYNTAX);
}

static void
test_granular_edge_ampersands(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?&a=b",
                   SMART_SCOPE_BAD_GRANULAR_SYNTAX);
    expect_ignored("patient/Observation.rs?a=b&",
                   SMART_SCOPE_BAD_GRANULAR_SYNTAX);
    expect_ignored("patient/Observation.rs?&",
                   SMART_SCOPE_BAD_GRANULAR_SYNTAX);
}

static void
test_granular_missing_equals(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?category",
                   SMART_SCOPE_BAD_GRANULAR_NO_EQUALS);
    expect_ignored("patient/Observation.rs?a=b&category",
                   SMART_SCOPE_BAD_GRANULAR_NO_EQUALS);
}

static void
test_granular_empty_value(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?category=",
                   SMART_SCOPE_BAD_GRANULAR_EMPTY);
    expect_ignored("patient/Observation.rs?category=&code=x",
                   SMART_SCOPE_BAD_GRANULAR_EMPTY);
}

static void
test_granular_bad_name(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?=x",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
    expect_ignored("patient/Observation.rs?1code=x",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
    expect_ignored("patient/Observation.rs?co%64e=x",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
    expect_ignored("patient/Observation.rs?-code=x",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
    expect_ignored("patient/Observation.rs?co|de=x",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
}

static void
test_granular_raw_specials(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?code=a=b",
                   SMART_SCOPE_BAD_GRANULAR_CHAR);
    expect_ignored("patient/Observation.rs?code=a?b",
                   SMART_SCOPE_BAD_GRANULAR_CHAR);
    expect_ignored("patient/Observation.rs?code=a#b",
                   SMART_SCOPE_BAD_GRANULAR_CHAR);
    expect_ignored("patient/Observation.rs??code=a",
                   SMART_SCOPE_BAD_GRANULAR_NAME);
}

static void
test_granular_bad_escape(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?code=%G1",
                   SMART_SCOPE_BAD_ESCAPE);
    expect_ignored("patient/Observation.rs?code=a%7",
                   SMART_SCOPE_BAD_ESCAPE);
    expect_ignored("patient/Observation.rs?code=a%",
                   SMART_SCOPE_BAD_ESCAPE);
    expect_ignored("patient/Observation.rs?code=%%41",
                   SMART_SCOPE_BAD_ESCAPE);
    expect_ignored("patient/Observation.rs?code=%7x&b=c",
                   SMART_SCOPE_BAD_ESCAPE);
}

static void
test_granular_decoded_control(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?code=a%00b",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=a%0Ab",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%09",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%7F",
                   SMART_SCOPE_BAD_DECODED);
}

static void
test_granular_decoded_not_utf8(void **state)
{
    (void) state;
    expect_ignored("patient/Observation.rs?code=%C3",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%C0%AF",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%ED%A0%80",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%F4%90%80%80",
                   SMART_SCOPE_BAD_DECODED);
    expect_ignored("patient/Observation.rs?code=%FF",
                   SMART_SCOPE_BAD_DECODED);
}

static void
test_granular_decoded_space_allowed(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/Observation.rs?code=a%20b");
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].params[0].value, "a b");
    smart_scope_set_free(set);

    expect_format("patient/Observation.rs?code=a%20b",
                  "patient/Observation.rs?code=a%20b");
}

static void
test_granular_failure_no_fallback(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    /* a broken restriction is not dropped to leave an unrestricted scope */
    set = parse_str("patient/Observation.rs?category= "
                    "patient/Condition.rs?code=%ZZ");
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->n_invalid, 2);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Observation"), SMART_SCOPE_S,
                                       NULL, 0), 0);
    assert_int_equal(set->has_patient_scopes, 0);
    smart_scope_set_free(set);
}

static void
test_granular_after_failed_scope(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    /* a failed scope's parameters do not leak into the next one */
    set = parse_str("patient/Observation.rs?a=1&b=2&c= "
                    "patient/Condition.rs?d=4");
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].type, "Condition");
    assert_int_equal(set->scopes[0].nparams, 1);
    assert_string_equal(set->scopes[0].params[0].name, "d");
    assert_string_equal(set->scopes[0].params[0].value, "4");
    smart_scope_set_free(set);
}


/* --- non-resource scopes ------------------------------------------------ */

static void
test_nr_identity(void **state)
{
    (void) state;
    expect_ignored("openid", SMART_SCOPE_NR_IDENTITY);
    expect_ignored("fhirUser", SMART_SCOPE_NR_IDENTITY);
    expect_ignored("profile", SMART_SCOPE_NR_IDENTITY);
}

static void
test_nr_launch(void **state)
{
    (void) state;
    expect_ignored("launch", SMART_SCOPE_NR_LAUNCH);
    expect_ignored("launch/patient", SMART_SCOPE_NR_LAUNCH);
    expect_ignored("launch/encounter", SMART_SCOPE_NR_LAUNCH);
    expect_ignored("launch/patient?role=https://example.org/r",
                   SMART_SCOPE_NR_LAUNCH);
}

static void
test_nr_refresh(void **state)
{
    (void) state;
    expect_ignored("offline_access", SMART_SCOPE_NR_REFRESH);
    expect_ignored("online_access", SMART_SCOPE_NR_REFRESH);
}

static void
test_nr_uri(void **state)
{
    (void) state;
    expect_ignored("https://example.org/scopes/patient/*.read",
                   SMART_SCOPE_NR_URI);
    expect_ignored("http://x", SMART_SCOPE_NR_URI);
    expect_ignored("urn:example:scope", SMART_SCOPE_NR_URI);
    expect_ignored("api+v1.x-y://z", SMART_SCOPE_NR_URI);
}

static void
test_nr_extension(void **state)
{
    (void) state;
    expect_ignored("__userInfo", SMART_SCOPE_NR_EXTENSION);
    expect_ignored("__patient/*.cruds", SMART_SCOPE_NR_EXTENSION);
    expect_ignored("__", SMART_SCOPE_NR_EXTENSION);
}

static void
test_nr_other(void **state)
{
    (void) state;
    expect_ignored("email", SMART_SCOPE_NR_OTHER);
    expect_ignored("api:read", SMART_SCOPE_NR_OTHER);
    expect_ignored("patient", SMART_SCOPE_NR_OTHER);
    /* identity names are case-sensitive */
    expect_ignored("OpenID", SMART_SCOPE_NR_OTHER);
    expect_ignored("Launch", SMART_SCOPE_NR_OTHER);
}

static void
test_nr_not_uri(void **state)
{
    (void) state;
    /* a scheme without "//" is not a URI, and the '/' makes it invalid */
    expect_ignored("x:/a", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("https://", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("1http://x", SMART_SCOPE_BAD_CONTEXT);
    expect_ignored("launch.rs", SMART_SCOPE_BAD_CONTEXT);
}

static void
test_counts_separate(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("openid fhirUser launch/patient offline_access "
                    "patient/*.rs patient/Observation.sr "
                    "https://x.org/a __ext user/observation.r email");
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->n_nonresource, 7);
    assert_int_equal(set->n_invalid, 2);
    assert_int_equal(set->n_limit, 0);
    assert_int_equal(set->nignored, 9);

    /* ignored records keep the order received */
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_NR_IDENTITY);
    assert_int_equal(set->ignored[4].reason, SMART_SCOPE_BAD_PERMS_ORDER);
    assert_memory_equal(set->ignored[4].raw, "patient/Observation.sr", 22);
    assert_int_equal(set->ignored[4].raw_len, 22);
    assert_int_equal(set->ignored[7].reason, SMART_SCOPE_BAD_TYPE);
    assert_int_equal(set->ignored[8].reason, SMART_SCOPE_NR_OTHER);
    smart_scope_set_free(set);
}


/* --- whitespace, NUL and bytes ------------------------------------------ */

static void
test_space_runs(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("   patient/*.rs     user/Patient.r   ");
    assert_int_equal(set->nscopes, 2);
    assert_int_equal(set->nignored, 0);
    assert_int_equal(set->scopes[0].raw_len, 12);
    assert_memory_equal(set->scopes[1].raw, "user/Patient.r", 14);
    assert_int_equal(set->scopes[1].raw_len, 14);
    smart_scope_set_free(set);
}

static void
test_empty_inputs(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("");
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->nignored, 0);
    smart_scope_set_free(set);

    set = parse_str("      ");
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->nignored, 0);
    smart_scope_set_free(set);

    set = smart_scope_parse(NULL, 0);
    assert_non_null(set);
    assert_int_equal(set->nscopes, 0);
    smart_scope_set_free(set);

    assert_null(smart_scope_parse(NULL, 5));

    smart_scope_set_free(NULL);
}

static void
test_tab_inside(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    expect_ignored("patient/*.rs\t", SMART_SCOPE_BAD_WHITESPACE);

    /* a tab is not a separator: both sides form one invalid scope */
    set = parse_str("user/*.r patient/*.rs\tuser/A.r system/*.s");
    assert_int_equal(set->nscopes, 2);
    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_BAD_WHITESPACE);
    assert_int_equal(set->ignored[0].raw_len, 21);
    assert_int_equal(set->has_patient_scopes, 0);
    assert_int_equal(set->has_user_scopes, 1);
    assert_int_equal(set->has_system_scopes, 1);
    smart_scope_set_free(set);
}

static void
test_other_whitespace_inside(void **state)
{
    (void) state;
    expect_ignored("patient/*.rs\n", SMART_SCOPE_BAD_WHITESPACE);
    expect_ignored("\rpatient/*.rs", SMART_SCOPE_BAD_WHITESPACE);
    expect_ignored("patient/*.r\vs", SMART_SCOPE_BAD_WHITESPACE);
    expect_ignored("openid\f", SMART_SCOPE_BAD_WHITESPACE);
    expect_ignored("\t", SMART_SCOPE_BAD_WHITESPACE);
}

static void
test_nul_inside(void **state)
{
    smart_scope_set_t  *set;
    static const char   in[] = "patient/*.rs\0x user/*.rs";

    (void) state;

    set = smart_scope_parse(in, sizeof(in) - 1);
    assert_non_null(set);
    assert_int_equal(set->nscopes, 1);
    assert_string_equal(set->scopes[0].type, "*");
    assert_int_equal(set->scopes[0].context, SMART_SCOPE_USER);
    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_BAD_NUL);
    assert_int_equal(set->ignored[0].raw_len, 14);
    smart_scope_set_free(set);
}

static void
test_nul_forms(void **state)
{
    (void) state;
    expect_ignored_n(S("\0"), SMART_SCOPE_BAD_NUL);
    expect_ignored_n(S("patient/*.rs\0"), SMART_SCOPE_BAD_NUL);
    expect_ignored_n(S("patient/Observation.rs?code=a\0b"),
                     SMART_SCOPE_BAD_NUL);
    /* NUL wins over the other byte reasons */
    expect_ignored_n(S("\t\0\x01"), SMART_SCOPE_BAD_NUL);
}

static void
test_nul_after_scope_len_based(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    /* a length shorter than the buffer ends the claim */
    set = smart_scope_parse("patient/*.rs user/*.rs", 12);
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->scopes[0].context, SMART_SCOPE_PATIENT);
    smart_scope_set_free(set);
}

static void
test_control_and_non_ascii(void **state)
{
    (void) state;
    expect_ignored("patient/*.rs\x01", SMART_SCOPE_BAD_CHAR);
    expect_ignored("patient/*.rs\x7f", SMART_SCOPE_BAD_CHAR);
    expect_ignored("patient/Observation.rs?code=caf\xc3\xa9",
                   SMART_SCOPE_BAD_CHAR);
    expect_ignored("\xef\xbb\xbfopenid", SMART_SCOPE_BAD_CHAR);
    expect_ignored("patient/\xd0\x9e.rs", SMART_SCOPE_BAD_CHAR);
}


/* --- limits ------------------------------------------------------------- */

static char *
repeat_scope(const char *scope, size_t times, size_t *len)
{
    char    *buf, *p;
    size_t   n, i;

    n = strlen(scope);
    buf = malloc(times * (n + 1) + 1);
    assert_non_null(buf);

    p = buf;
    for (i = 0; i < times; i++) {
        memcpy(p, scope, n);
        p += n;
        *p++ = ' ';
    }

    *len = (size_t) (p - buf) - 1;
    buf[*len] = '\0';

    return buf;
}

static void
test_limit_300_scopes(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    buf = repeat_scope("user/A.r", 300, &len);
    assert_true(len < SMART_SCOPE_MAX_INPUT);

    set = smart_scope_parse(buf, len);
    assert_non_null(set);
    assert_int_equal(set->nscopes, 256);
    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_LIMIT_COUNT);
    assert_int_equal(set->ignored[0].count, 44);
    assert_null(set->ignored[0].raw);
    assert_int_equal(set->ignored[0].raw_len, 0);
    assert_int_equal(set->n_limit, 44);
    assert_int_equal(set->n_invalid, 0);

    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_256_exact(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    buf = repeat_scope("openid", 256, &len);
    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nignored, 256);
    assert_int_equal(set->n_nonresource, 256);
    assert_int_equal(set->n_limit, 0);
    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_count_mixed_kinds(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    /* non-resource scopes count toward the 256 examined */
    buf = repeat_scope("openid", 257, &len);
    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nignored, 257);
    assert_int_equal(set->n_nonresource, 256);
    assert_int_equal(set->ignored[256].reason, SMART_SCOPE_LIMIT_COUNT);
    assert_int_equal(set->ignored[256].count, 1);
    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_20k_string(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len, i, over;

    (void) state;

    /* "patient/Observation.rs?code=NNNNN..." scopes of 100 bytes */
    buf = malloc(20480 + 1);
    assert_non_null(buf);
    memset(buf, 'x', 20480);
    for (i = 0; i + 100 <= 20480; i += 101) {
        memcpy(buf + i, "patient/Observation.rs?code=", 28);
        buf[i + 100] = ' ';
    }
    len = 20480;
    buf[len] = '\0';

    set = smart_scope_parse(buf, len);
    assert_non_null(set);

    /* 81 scopes end within 8192 bytes (81 * 101 - 1 = 8180) */
    assert_int_equal(set->nscopes, 81);
    over = 0;
    for (i = 0; i < len; i++) {
        over += (buf[i] == ' ');
    }
    over = over + 1 - 81;

    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_LIMIT_INPUT);
    assert_int_equal(set->ignored[0].count, over);
    assert_int_equal(set->n_limit, over);

    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_input_both_markers(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    /* 2000 * 9 bytes: 256 examined, the rest split by the two bounds */
    buf = repeat_scope("user/A.r", 2000, &len);
    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nscopes, 256);
    assert_int_equal(set->nignored, 2);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_LIMIT_COUNT);
    assert_int_equal(set->ignored[0].count, 910 - 256);
    assert_int_equal(set->ignored[1].reason, SMART_SCOPE_LIMIT_INPUT);
    assert_int_equal(set->ignored[1].count, 2000 - 910);
    assert_int_equal(set->n_limit, 2000 - 256);
    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_straddling_not_truncated(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    const char         *sc;
    size_t              len, pad;

    (void) state;

    /*
     * A granular scope crossing byte 8192 whose first 8192 bytes would read
     * "patient/Observation.rs": truncating it would widen it.
     */
    sc = "patient/Observation.rs?category=laboratory";
    pad = SMART_SCOPE_MAX_INPUT - 22;
    len = pad + strlen(sc);
    buf = malloc(len + 1);
    assert_non_null(buf);
    memset(buf, ' ', pad);
    memcpy(buf + pad, sc, strlen(sc) + 1);

    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->nignored, 1);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_LIMIT_INPUT);
    assert_int_equal(set->ignored[0].count, 1);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Observation"), SMART_SCOPE_R,
                                       NULL, 0), 0);
    smart_scope_set_free(set);
    free(buf);
}

static void
test_limit_input_exact(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    /* a scope ending exactly at byte 8192 is examined */
    len = SMART_SCOPE_MAX_INPUT;
    buf = malloc(len + 2);
    assert_non_null(buf);
    memset(buf, ' ', len);
    memcpy(buf + len - 12, "patient/*.rs", 12);
    buf[len] = ' ';
    buf[len + 1] = '\0';

    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->nignored, 0);
    smart_scope_set_free(set);

    /* trailing spaces past the bound are not scopes */
    set = smart_scope_parse(buf, len + 1);
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->nignored, 0);
    smart_scope_set_free(set);

    free(buf);
}

static void
test_limit_2k_scope(void **state)
{
    smart_scope_set_t  *set;
    char               *buf;
    size_t              len;

    (void) state;

    /* a 2048-byte granular scope, then a normal one */
    len = 2048 + 7;
    buf = malloc(len + 1);
    assert_non_null(buf);
    memset(buf, 'v', 2048);
    memcpy(buf, "user/Observation.rs?code=", 25);
    memcpy(buf + 2048, " openid", 8);

    set = smart_scope_parse(buf, len);
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->nignored, 2);
    assert_int_equal(set->ignored[0].reason, SMART_SCOPE_LIMIT_SCOPE_LEN);
    assert_int_equal(set->ignored[0].raw_len, 2048);
    assert_int_equal(set->ignored[0].count, 1);
    assert_int_equal(set->ignored[1].reason, SMART_SCOPE_NR_IDENTITY);
    assert_int_equal(set->n_limit, 1);
    assert_int_equal(set->n_nonresource, 1);
    smart_scope_set_free(set);
    free(buf);
}


static void
test_limit_scope_1024(void **state)
{
    char  buf[1100];

    (void) state;

    memset(buf, 'v', sizeof(buf));
    memcpy(buf, "user/Observation.rs?code=", 25);

    buf[1024] = '\0';
    expect_scope(buf, SMART_SCOPE_USER, "Observation",
                 SMART_SCOPE_R | SMART_SCOPE_S, 0, 1);

    buf[1024] = 'v';
    buf[1025] = '\0';
    expect_ignored(buf, SMART_SCOPE_LIMIT_SCOPE_LEN);
}

static void
test_limit_many_params(void **state)
{
    smart_scope_set_t  *set;
    char                buf[1100];
    size_t              n;

    (void) state;

    /* 1024 bytes of a=b&a=b&...: the densest scope fits its arena */
    n = (size_t) sprintf(buf, "user/A.s?a=b");
    while (n + 4 <= 1024) {
        memcpy(buf + n, "&a=b", 4);
        n += 4;
    }
    buf[n] = '\0';

    set = smart_scope_parse(buf, n);
    assert_int_equal(set->nscopes, 1);
    assert_int_equal(set->scopes[0].nparams, (n - 8) / 4);
    assert_string_equal(set->scopes[0].params[250].value, "b");
    smart_scope_set_free(set);
}


/* --- matching ----------------------------------------------------------- */

static void
test_match_exact_type(void **state)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *m[4];

    (void) state;

    set = parse_str("patient/Observation.rs patient/Condition.r");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Observation"), SMART_SCOPE_S,
                                       m, 4), 1);
    assert_ptr_equal(m[0], &set->scopes[0]);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Condition"), SMART_SCOPE_S,
                                       m, 4), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Observatio"), SMART_SCOPE_R,
                                       m, 4), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("observation"), SMART_SCOPE_R,
                                       m, 4), 0);
    smart_scope_set_free(set);
}

static void
test_match_wildcard(void **state)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *m[4];

    (void) state;

    set = parse_str("user/*.r user/Patient.rs");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Patient"), SMART_SCOPE_R,
                                       m, 4), 2);
    assert_ptr_equal(m[0], &set->scopes[0]);
    assert_ptr_equal(m[1], &set->scopes[1]);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Anything"), SMART_SCOPE_R,
                                       m, 4), 1);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Anything"), SMART_SCOPE_S,
                                       m, 4), 0);
    smart_scope_set_free(set);
}

static void
test_match_all_types(void **state)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *m[4];

    (void) state;

    set = parse_str("system/Patient.rs system/Observation.rs");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_SYSTEM, S("*"),
                                       SMART_SCOPE_S, m, 4), 0);
    smart_scope_set_free(set);

    set = parse_str("system/Patient.rs system/*.rs");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_SYSTEM, S("*"),
                                       SMART_SCOPE_S, m, 4), 1);
    assert_ptr_equal(m[0], &set->scopes[1]);
    smart_scope_set_free(set);
}

static void
test_match_context_mask(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/*.rs user/Observation.c");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"), SMART_SCOPE_R,
                                       NULL, 0), 0);
    assert_int_equal(smart_scope_match(set,
                                       SMART_SCOPE_USER | SMART_SCOPE_PATIENT,
                                       S("Observation"), SMART_SCOPE_R,
                                       NULL, 0), 1);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_ANY_CONTEXT,
                                       S("Observation"), SMART_SCOPE_C,
                                       NULL, 0), 1);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_SYSTEM,
                                       S("Observation"), SMART_SCOPE_C,
                                       NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, 0, S("Observation"),
                                       SMART_SCOPE_R, NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, 0x08, S("Observation"),
                                       SMART_SCOPE_R, NULL, 0), 0);
    smart_scope_set_free(set);
}

static void
test_match_need(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("user/Observation.read user/Observation.c");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"),
                                       SMART_SCOPE_R | SMART_SCOPE_S,
                                       NULL, 0), 1);
    /* every needed letter from one scope */
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"),
                                       SMART_SCOPE_R | SMART_SCOPE_C,
                                       NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"), 0, NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"), 0x20, NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER,
                                       S("Observation"),
                                       SMART_SCOPE_R | 0x40, NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER, NULL, 0,
                                       SMART_SCOPE_R, NULL, 0), 0);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER, "", 0,
                                       SMART_SCOPE_R, NULL, 0), 0);
    assert_int_equal(smart_scope_match(NULL, SMART_SCOPE_USER,
                                       S("Observation"), SMART_SCOPE_R,
                                       NULL, 0), 0);
    smart_scope_set_free(set);
}

static void
test_match_cap(void **state)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *m[2];

    (void) state;

    set = parse_str("user/*.r user/A.r user/A.rs user/A.cruds");
    m[1] = NULL;
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER, S("A"),
                                       SMART_SCOPE_R, m, 1), 4);
    assert_ptr_equal(m[0], &set->scopes[0]);
    assert_null(m[1]);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_USER, S("A"),
                                       SMART_SCOPE_R, NULL, 0), 4);
    smart_scope_set_free(set);
}

static void
test_match_ignores_granular(void **state)
{
    smart_scope_set_t    *set;
    const smart_scope_t  *m[2];

    (void) state;

    set = parse_str("patient/Observation.rs?category=laboratory");
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT,
                                       S("Observation"), SMART_SCOPE_S,
                                       m, 2), 1);
    assert_int_equal(m[0]->nparams, 1);
    smart_scope_set_free(set);
}

static void
test_match_invalid_grants_nothing(void **state)
{
    smart_scope_set_t  *set;
    unsigned            need;

    (void) state;

    set = parse_str("patient/Observation.sr patient/observation.rs "
                    "patient/Observation.rs? Patient/Observation.rs "
                    "patient/Observation.read?x=y");
    assert_int_equal(set->nscopes, 0);
    assert_int_equal(set->n_invalid, 5);
    for (need = 1; need <= SMART_SCOPE_CRUDS; need <<= 1) {
        assert_int_equal(smart_scope_match(set, SMART_SCOPE_ANY_CONTEXT,
                                           S("Observation"), need,
                                           NULL, 0), 0);
    }
    smart_scope_set_free(set);
}


/* --- helpers ------------------------------------------------------------ */

static void
test_letters_helper(void **state)
{
    (void) state;
    assert_int_equal(smart_scope_letters(S("rs")),
                     SMART_SCOPE_R | SMART_SCOPE_S);
    assert_int_equal(smart_scope_letters(S("cruds")), SMART_SCOPE_CRUDS);
    assert_int_equal(smart_scope_letters(S("u")), SMART_SCOPE_U);
    assert_int_equal(smart_scope_letters(S("sr")), 0);
    assert_int_equal(smart_scope_letters(S("rr")), 0);
    assert_int_equal(smart_scope_letters(S("")), 0);
    assert_int_equal(smart_scope_letters(S("read")), 0);
    assert_int_equal(smart_scope_letters(S("*")), 0);
    assert_int_equal(smart_scope_letters(S("r\0")), 0);
    assert_int_equal(smart_scope_letters(NULL, 0), 0);
    /* length-based: "rsx" cut to "rs" */
    assert_int_equal(smart_scope_letters("rsx", 2),
                     SMART_SCOPE_R | SMART_SCOPE_S);
}

static void
test_perm_string(void **state)
{
    unsigned  m;

    (void) state;

    assert_string_equal(smart_scope_perm_string(0), "");
    assert_string_equal(smart_scope_perm_string(SMART_SCOPE_CRUDS),
                        "cruds");
    assert_string_equal(smart_scope_perm_string(SMART_SCOPE_C
                                                | SMART_SCOPE_U
                                                | SMART_SCOPE_D), "cud");
    assert_null(smart_scope_perm_string(0x20));

    /* the table and the parser agree on every subset */
    for (m = 1; m <= SMART_SCOPE_CRUDS; m++) {
        assert_int_equal(smart_scope_letters(smart_scope_perm_string(m),
                             strlen(smart_scope_perm_string(m))), m);
    }
}

static void
test_format_granular(void **state)
{
    (void) state;
    expect_format("patient/Observation.rs?category=http://terminology.hl7."
                  "org/CodeSystem/observation-category%7Claboratory",
                  "patient/Observation.rs?category=http://terminology.hl7."
                  "org/CodeSystem/observation-category|laboratory");
    expect_format("user/A.rs?a=%3D%26%3F%23&b=c",
                  "user/A.rs?a=%3D%26%3F%23&b=c");
    expect_format("system/*.cruds", "system/*.cruds");
}

static void
test_format_truncation(void **state)
{
    smart_scope_set_t  *set;
    char                buf[8];

    (void) state;

    set = parse_str("patient/Observation.rs");

    memset(buf, 'Z', sizeof(buf));
    assert_int_equal(smart_scope_format(buf, 8, &set->scopes[0]), 22);
    assert_string_equal(buf, "patient");

    assert_int_equal(smart_scope_format(NULL, 0, &set->scopes[0]), 22);

    memset(buf, 'Z', sizeof(buf));
    assert_int_equal(smart_scope_format(buf, 1, &set->scopes[0]), 22);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'Z');

    assert_int_equal(smart_scope_format(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "");

    smart_scope_set_free(set);
}

static void
test_format_round_trip(void **state)
{
    smart_scope_set_t  *a, *b;
    char                buf[2048];
    size_t              i, k;
    static const char  *in =
        "patient/*.read user/Observation.cud "
        "patient/Observation.rs?category=a%7Cb&code=%C3%A9%20x "
        "system/Group.s?_id=%25%26%3D%3F%23 user/X.c?a:b.c-d_e=f+g";

    (void) state;

    a = parse_str(in);
    assert_int_equal(a->nscopes, 5);

    for (i = 0; i < a->nscopes; i++) {
        smart_scope_format(buf, sizeof(buf), &a->scopes[i]);
        b = parse_str(buf);
        assert_int_equal(b->nscopes, 1);
        assert_int_equal(b->scopes[0].context, a->scopes[i].context);
        assert_string_equal(b->scopes[0].type, a->scopes[i].type);
        assert_int_equal(b->scopes[0].perms, a->scopes[i].perms);
        assert_int_equal(b->scopes[0].nparams, a->scopes[i].nparams);
        for (k = 0; k < a->scopes[i].nparams; k++) {
            assert_string_equal(b->scopes[0].params[k].name,
                                a->scopes[i].params[k].name);
            assert_int_equal(b->scopes[0].params[k].value_len,
                             a->scopes[i].params[k].value_len);
            assert_memory_equal(b->scopes[0].params[k].value,
                                a->scopes[i].params[k].value,
                                a->scopes[i].params[k].value_len);
        }
        smart_scope_set_free(b);
    }

    smart_scope_set_free(a);
}

static void
test_reason_table(void **state)
{
    int          r, k;
    const char  *name;

    (void) state;

    for (r = 0; r < SMART_SCOPE_REASON__COUNT; r++) {
        name = smart_scope_reason_name((smart_scope_reason_e) r);
        assert_non_null(name);
        assert_non_null(smart_scope_reason_text((smart_scope_reason_e) r));

        for (k = 0; k < r; k++) {
            assert_string_not_equal(name,
                smart_scope_reason_name((smart_scope_reason_e) k));
        }
    }

    assert_null(smart_scope_reason_name(SMART_SCOPE_REASON__COUNT));
    assert_null(smart_scope_reason_text(SMART_SCOPE_REASON__COUNT));
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_REASON__COUNT),
                     SMART_SCOPE_KIND_INVALID);
}

static void
test_reason_names_exact(void **state)
{
    (void) state;
    assert_string_equal(smart_scope_reason_name(SMART_SCOPE_BAD_PERMS_ORDER),
                        "permission-order");
    assert_string_equal(smart_scope_reason_name(SMART_SCOPE_BAD_TYPE),
                        "bad-type");
    assert_string_equal(smart_scope_reason_name(SMART_SCOPE_NR_LAUNCH),
                        "launch");
    assert_string_equal(smart_scope_reason_name(SMART_SCOPE_LIMIT_COUNT),
                        "limit-count");
    assert_string_equal(
        smart_scope_reason_name(SMART_SCOPE_BAD_GRANULAR_NO_EQUALS),
        "granular-missing-equals");
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_NR_OTHER),
                     SMART_SCOPE_KIND_NON_RESOURCE);
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_BAD_NUL),
                     SMART_SCOPE_KIND_INVALID);
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_BAD_DECODED),
                     SMART_SCOPE_KIND_INVALID);
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_LIMIT_SCOPE_LEN),
                     SMART_SCOPE_KIND_LIMIT);
    assert_int_equal(smart_scope_reason_kind(SMART_SCOPE_LIMIT_INPUT),
                     SMART_SCOPE_KIND_LIMIT);
}

static void
test_context_names(void **state)
{
    (void) state;
    assert_string_equal(smart_scope_context_name(SMART_SCOPE_PATIENT),
                        "patient");
    assert_string_equal(smart_scope_context_name(SMART_SCOPE_USER), "user");
    assert_string_equal(smart_scope_context_name(SMART_SCOPE_SYSTEM),
                        "system");
    assert_null(smart_scope_context_name((smart_scope_context_e) 3));
}

static void
test_summary_flags(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("openid patient/*.rs launch/patient");
    assert_int_equal(set->has_patient_scopes, 1);
    assert_int_equal(set->has_user_scopes, 0);
    assert_int_equal(set->has_system_scopes, 0);
    smart_scope_set_free(set);

    set = parse_str("user/Patient.read system/*.rs");
    assert_int_equal(set->has_patient_scopes, 0);
    assert_int_equal(set->has_user_scopes, 1);
    assert_int_equal(set->has_system_scopes, 1);
    smart_scope_set_free(set);

    /* an invalid patient scope does not make the set patient-scoped */
    set = parse_str("patient/*.sr");
    assert_int_equal(set->has_patient_scopes, 0);
    smart_scope_set_free(set);
}

static void
test_duplicates_kept(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("patient/*.rs patient/*.rs patient/*.read");
    assert_int_equal(set->nscopes, 3);
    assert_int_equal(smart_scope_match(set, SMART_SCOPE_PATIENT, S("A"),
                                       SMART_SCOPE_R, NULL, 0), 3);
    smart_scope_set_free(set);
}

static void
test_input_not_referenced(void **state)
{
    smart_scope_set_t  *set;
    char                buf[64];

    (void) state;

    /* the set keeps its own copy: the claim may be freed */
    strcpy(buf, "patient/Observation.rs?code=a%7Cb openid");
    set = parse_str(buf);
    memset(buf, 'Q', sizeof(buf));

    assert_int_equal(set->nscopes, 1);
    assert_memory_equal(set->scopes[0].raw, "patient/Observation.rs?code=",
                        28);
    assert_string_equal(set->scopes[0].params[0].value, "a|b");
    assert_memory_equal(set->ignored[0].raw, "openid", 6);
    smart_scope_set_free(set);
}

static void
test_mixed_realistic_claim(void **state)
{
    smart_scope_set_t  *set;

    (void) state;

    set = parse_str("launch/patient openid fhirUser offline_access "
                    "patient/Patient.rs patient/Observation.rs?category="
                    "http://terminology.hl7.org/CodeSystem/"
                    "observation-category|vital-signs "
                    "patient/Condition.rs?category=http://hl7.org/fhir/us/"
                    "core/CodeSystem/condition-category%7Chealth-concern "
                    "patient/MedicationRequest.read");
    assert_int_equal(set->nscopes, 4);
    assert_int_equal(set->n_nonresource, 4);
    assert_int_equal(set->n_invalid, 0);
    assert_string_equal(set->scopes[2].params[0].value,
                        "http://hl7.org/fhir/us/core/CodeSystem/"
                        "condition-category|health-concern");
    assert_int_equal(set->scopes[3].v1, 1);
    smart_scope_set_free(set);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_v2_patient_rs),
        cmocka_unit_test(test_v2_user_cruds),
        cmocka_unit_test(test_v2_system_single_letters),
        cmocka_unit_test(test_v2_every_subset),
        cmocka_unit_test(test_v2_wildcard_type),
        cmocka_unit_test(test_type_length_bounds),
        cmocka_unit_test(test_type_65_letters),
        cmocka_unit_test(test_type_mixed_case_kept_raw),
        cmocka_unit_test(test_letters_out_of_order),
        cmocka_unit_test(test_letters_repeated),
        cmocka_unit_test(test_letters_unknown),
        cmocka_unit_test(test_letters_upper_case),
        cmocka_unit_test(test_perms_empty),
        cmocka_unit_test(test_perms_missing),
        cmocka_unit_test(test_multiple_dots),
        cmocka_unit_test(test_question_before_dot),
        cmocka_unit_test(test_type_missing),
        cmocka_unit_test(test_type_bad_case),
        cmocka_unit_test(test_type_bad_characters),
        cmocka_unit_test(test_context_bad),
        cmocka_unit_test(test_context_missing),
        cmocka_unit_test(test_v1_read),
        cmocka_unit_test(test_v1_write),
        cmocka_unit_test(test_v1_star),
        cmocka_unit_test(test_v1_words_exact),
        cmocka_unit_test(test_v1_v2_equivalence),
        cmocka_unit_test(test_v1_canonical_format),
        cmocka_unit_test(test_v1_granular_refused),
        cmocka_unit_test(test_granular_simple),
        cmocka_unit_test(test_granular_system_pipe_raw),
        cmocka_unit_test(test_granular_pipe_encoded),
        cmocka_unit_test(test_granular_several),
        cmocka_unit_test(test_granular_repeats_kept),
        cmocka_unit_test(test_granular_name_characters),
        cmocka_unit_test(test_granular_dots_not_counted),
        cmocka_unit_test(test_granular_plus_literal),
        cmocka_unit_test(test_granular_percent_25),
        cmocka_unit_test(test_granular_utf8),
        cmocka_unit_test(test_granular_trailing_question),
        cmocka_unit_test(test_granular_double_ampersand),
        cmocka_unit_test(test_granular_edge_ampersands),
        cmocka_unit_test(test_granular_missing_equals),
        cmocka_unit_test(test_granular_empty_value),
        cmocka_unit_test(test_granular_bad_name),
        cmocka_unit_test(test_granular_raw_specials),
        cmocka_unit_test(test_granular_bad_escape),
        cmocka_unit_test(test_granular_decoded_control),
        cmocka_unit_test(test_granular_decoded_not_utf8),
        cmocka_unit_test(test_granular_decoded_space_allowed),
        cmocka_unit_test(test_granular_failure_no_fallback),
        cmocka_unit_test(test_granular_after_failed_scope),
        cmocka_unit_test(test_nr_identity),
        cmocka_unit_test(test_nr_launch),
        cmocka_unit_test(test_nr_refresh),
        cmocka_unit_test(test_nr_uri),
        cmocka_unit_test(test_nr_extension),
        cmocka_unit_test(test_nr_other),
        cmocka_unit_test(test_nr_not_uri),
        cmocka_unit_test(test_counts_separate),
        cmocka_unit_test(test_space_runs),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_tab_inside),
        cmocka_unit_test(test_other_whitespace_inside),
        cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_nul_forms),
        cmocka_unit_test(test_nul_after_scope_len_based),
        cmocka_unit_test(test_control_and_non_ascii),
        cmocka_unit_test(test_limit_300_scopes),
        cmocka_unit_test(test_limit_256_exact),
        cmocka_unit_test(test_limit_count_mixed_kinds),
        cmocka_unit_test(test_limit_20k_string),
        cmocka_unit_test(test_limit_input_both_markers),
        cmocka_unit_test(test_limit_straddling_not_truncated),
        cmocka_unit_test(test_limit_input_exact),
        cmocka_unit_test(test_limit_2k_scope),
        cmocka_unit_test(test_limit_scope_1024),
        cmocka_unit_test(test_limit_many_params),
        cmocka_unit_test(test_match_exact_type),
        cmocka_unit_test(test_match_wildcard),
        cmocka_unit_test(test_match_all_types),
        cmocka_unit_test(test_match_context_mask),
        cmocka_unit_test(test_match_need),
        cmocka_unit_test(test_match_cap),
        cmocka_unit_test(test_match_ignores_granular),
        cmocka_unit_test(test_match_invalid_grants_nothing),
        cmocka_unit_test(test_letters_helper),
        cmocka_unit_test(test_perm_string),
        cmocka_unit_test(test_format_granular),
        cmocka_unit_test(test_format_truncation),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_reason_table),
        cmocka_unit_test(test_reason_names_exact),
        cmocka_unit_test(test_context_names),
        cmocka_unit_test(test_summary_flags),
        cmocka_unit_test(test_duplicates_kept),
        cmocka_unit_test(test_input_not_referenced),
        cmocka_unit_test(test_mixed_realistic_claim),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
