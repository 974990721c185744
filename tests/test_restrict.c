
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of granular restrictions on a resource (smart_restrict.[ch],
 * docs/scopes.md "Granular scopes in decisions") and of the token tables
 * behind them (smart_fhir_tables.h, tools/gen-fhir-tables): every token
 * path of every type, with arrays along the path; each form of token
 * value; OR within a parameter, AND across parameters; what is never
 * satisfied.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_fhir.h"
#include "smart_restrict.h"

#include "tape_json.h"


#define CAT_SYS  "http://terminology.hl7.org/CodeSystem/observation-category"

#define LAB_OBS                                                              \
    "{\"resourceType\":\"Observation\",\"status\":\"final\","              \
    "\"category\":[{\"text\":\"x\"},{\"coding\":["                           \
    "{\"system\":\"http://example.org/local\",\"code\":\"chem\"},"         \
    "{\"system\":\"" CAT_SYS "\",\"code\":\"laboratory\"}]}],"             \
    "\"code\":{\"coding\":[{\"code\":\"nosys\"}]},"                          \
    "\"identifier\":[{\"system\":\"urn:ids\",\"value\":\"v1\"},"             \
    "{\"value\":\"v2\"}],"                                                   \
    "\"valueCodeableConcept\":{\"coding\":[{\"system\":\"urn:v\","          \
    "\"code\":\"pos\"}]},"                                                   \
    "\"meta\":{\"tag\":[{\"system\":\"urn:tags\",\"code\":\"t1\"}],"         \
    "\"security\":[{\"system\":\"urn:sec\",\"code\":\"R\"}]},"               \
    "\"id\":\"o1\"}"


/* Up to four parameters "name=value" (value as decoded). */
typedef struct {
    smart_scope_param_t  p[4];
    size_t               n;
} params_t;


static void
param(params_t *ps, const char *name, const char *value)
{
    smart_scope_param_t  *p;

    assert_true(ps->n < 4);
    p = &ps->p[ps->n++];
    p->name = name;
    p->name_len = strlen(name);
    p->value = value;
    p->value_len = strlen(value);
}


static int
type_of(const char *name)
{
    int  t;

    t = smart_fhir_type_index(name, strlen(name));
    assert_true(t >= 0);

    return t;
}


/* smart_restrict_match() on j, read as the response check reads a body. */
static int
match_json(int t, const json_t *j, const smart_scope_param_t *p, size_t n)
{
    int                       ok;
    tape_json_t               d;
    const smart_tape_node_t  *root;

    root = tape_json(&d, j);
    assert_non_null(root);
    ok = smart_restrict_match(t, root, p, n);
    tape_json_free(&d);

    return ok;
}


/* Does the resource text satisfy name=value (one parameter)? */
static int
holds(const char *type, const char *json, const char *name,
    const char *value)
{
    int        ok;
    json_t    *res;
    params_t   ps;

    memset(&ps, 0, sizeof(params_t));
    param(&ps, name, value);

    res = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(res);
    ok = match_json(type_of(type), res, ps.p, ps.n);
    json_decref(res);

    return ok;
}


static int
supported(const char *type, const char *name, const char *value)
{
    params_t  ps;

    memset(&ps, 0, sizeof(params_t));
    param(&ps, name, value);

    return smart_restrict_supported(type_of(type), ps.p, ps.n);
}


/* --- the generated tables ------------------------------------------------ */

static const smart_fhir_tokparam_t *
token_param(int t, const char *name)
{
    size_t  i;

    for (i = 0; i < smart_fhir_token_params[t].n; i++) {
        if (strcmp(smart_fhir_token_params[t].params[i].name, name) == 0) {
            return &smart_fhir_token_params[t].params[i];
        }
    }

    return NULL;
}


static void
test_tables_tokens(void **state)
{
    int                            t;
    size_t                         i, k;
    const smart_fhir_tokparam_t   *tp;
    const smart_fhir_tokparams_t  *l;

    (void) state;

    /* sorted in byte order, every path with a member and a type */
    for (t = 0; t <= SMART_FHIR_NTYPES; t++) {
        l = (t < SMART_FHIR_NTYPES) ? &smart_fhir_token_params[t]
                                    : &smart_fhir_common_token_params;

        for (i = 0; i < l->n; i++) {
            assert_true(i == 0
                        || strcmp(l->params[i - 1].name, l->params[i].name)
                           < 0);
            assert_true(l->params[i].npaths == 0
                        || l->params[i].paths != NULL);

            for (k = 0; k < l->params[i].npaths; k++) {
                assert_true(l->params[i].paths[k].element[0] != '\0');
                assert_true(l->params[i].paths[k].datatype
                                >= SMART_FHIR_TOKEN_CODING
                            && l->params[i].paths[k].datatype
                                <= SMART_FHIR_TOKEN_BOOLEAN);
            }
        }
    }

    t = type_of("Observation");

    tp = token_param(t, "category");
    assert_non_null(tp);
    assert_int_equal(tp->npaths, 1);
    assert_string_equal(tp->paths[0].element, "category");
    assert_int_equal(tp->paths[0].datatype, SMART_FHIR_TOKEN_CODEABLECONCEPT);

    /* (T.a as X): the choice member */
    tp = token_param(t, "value-concept");
    assert_non_null(tp);
    assert_string_equal(tp->paths[0].expression,
                        "(Observation.value as CodeableConcept)");
    assert_string_equal(tp->paths[0].element, "valueCodeableConcept");

    /* a union restricted to the type, and a backbone element */
    tp = token_param(t, "combo-code");
    assert_non_null(tp);
    assert_int_equal(tp->npaths, 2);
    assert_string_equal(tp->paths[0].element, "code");
    assert_string_equal(tp->paths[1].element, "component.code");

    tp = token_param(t, "status");
    assert_int_equal(tp->paths[0].datatype, SMART_FHIR_TOKEN_STRING);
    tp = token_param(t, "identifier");
    assert_int_equal(tp->paths[0].datatype, SMART_FHIR_TOKEN_IDENTIFIER);

    /* clinical-code is shared by many types: only Condition's part */
    tp = token_param(type_of("Condition"), "code");
    assert_int_equal(tp->npaths, 1);
    assert_string_equal(tp->paths[0].expression, "Condition.code");

    /* a choice without a type: one path per type */
    tp = token_param(type_of("MessageHeader"), "event");
    assert_int_equal(tp->npaths, 2);
    assert_string_equal(tp->paths[0].element, "eventCoding");
    assert_int_equal(tp->paths[0].datatype, SMART_FHIR_TOKEN_CODING);
    assert_string_equal(tp->paths[1].element, "eventUri");
    assert_int_equal(tp->paths[1].datatype, SMART_FHIR_TOKEN_STRING);

    /* (T.a as boolean) */
    tp = token_param(type_of("Group"), "value");
    assert_int_equal(tp->npaths, 2);
    assert_string_equal(tp->paths[1].element, "characteristic.valueBoolean");
    assert_int_equal(tp->paths[1].datatype, SMART_FHIR_TOKEN_BOOLEAN);

    /* forms not carried: no paths */
    assert_int_equal(token_param(type_of("Patient"), "phone")->npaths, 0);
    assert_int_equal(token_param(type_of("Patient"), "email")->npaths, 0);
    assert_int_equal(token_param(type_of("Patient"), "deceased")->npaths, 0);
    assert_int_equal(token_param(type_of("Patient"), "telecom")->paths[0]
                     .datatype, SMART_FHIR_TOKEN_CONTACTPOINT);

    /* not a token parameter */
    assert_null(token_param(t, "date"));
    assert_null(token_param(t, "subject"));

    /* on Resource */
    l = &smart_fhir_common_token_params;
    assert_int_equal(l->n, 3);
    assert_string_equal(l->params[0].name, "_id");
    assert_string_equal(l->params[0].paths[0].element, "id");
    assert_string_equal(l->params[1].name, "_security");
    assert_string_equal(l->params[1].paths[0].element, "meta.security");
    assert_int_equal(l->params[1].paths[0].datatype, SMART_FHIR_TOKEN_CODING);
    assert_string_equal(l->params[2].name, "_tag");
    assert_string_equal(l->params[2].paths[0].element, "meta.tag");
}


/* --- every path of every type --------------------------------------------- */

/* The element of datatype holding system "sys" and code "c1". */
static json_t *
leaf(int datatype)
{
    switch (datatype) {
    case SMART_FHIR_TOKEN_CODING:
        return json_pack("{s:s, s:s}", "system", "sys", "code", "c1");
    case SMART_FHIR_TOKEN_CODEABLECONCEPT:
        return json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "coding",
                         "system", "other", "code", "zz",
                         "system", "sys", "code", "c1");
    case SMART_FHIR_TOKEN_IDENTIFIER:
        return json_pack("{s:s, s:s}", "system", "sys", "value", "c1");
    case SMART_FHIR_TOKEN_CONTACTPOINT:
        return json_pack("{s:s, s:s}", "system", "phone", "value", "c1");
    case SMART_FHIR_TOKEN_STRING:
        return json_string("c1");
    default:
        return json_true();
    }
}


/*
 * The resource of type t with v at the dotted path; with arrays, every
 * step is an array whose first element is a decoy.
 */
static json_t *
build(int t, const char *path, json_t *v, int arrays)
{
    char         key[128];
    json_t      *obj, *cur, *next, *arr;
    const char  *dot;
    size_t       n;

    obj = json_pack("{s:s}", "resourceType", smart_fhir_types[t].name);
    assert_non_null(obj);
    cur = obj;

    for ( ;; ) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);
        assert_true(n < sizeof(key));
        memcpy(key, path, n);
        key[n] = '\0';

        next = (dot != NULL) ? json_object() : v;

        if (arrays) {
            arr = json_pack("[{s:s}]", "decoy", "x");
            json_array_append_new(arr, next);
            json_object_set_new(cur, key, arr);

        } else {
            json_object_set_new(cur, key, next);
        }

        if (dot == NULL) {
            return obj;
        }

        cur = next;
        path = dot + 1;
    }
}


static int
match_one(int t, const json_t *res, const char *name, const char *value)
{
    params_t  ps;

    memset(&ps, 0, sizeof(params_t));
    param(&ps, name, value);

    return match_json(t, res, ps.p, ps.n);
}


static int
has_system(int datatype)
{
    return datatype == SMART_FHIR_TOKEN_CODING
           || datatype == SMART_FHIR_TOKEN_CODEABLECONCEPT
           || datatype == SMART_FHIR_TOKEN_IDENTIFIER;
}


/* One path of parameter tp on t, alone in a resource. */
static void
check_path(int t, const smart_fhir_tokparam_t *tp,
    const smart_fhir_tpath_t *p, int arrays)
{
    int          sys;
    json_t      *res;
    const char  *code;

    res = build(t, p->element, leaf(p->datatype), arrays);
    sys = has_system(p->datatype);
    code = (p->datatype == SMART_FHIR_TOKEN_BOOLEAN) ? "true" : "c1";

    assert_true(match_one(t, res, tp->name, code));
    assert_false(match_one(t, res, tp->name, "c2"));

    if (sys) {
        assert_true(match_one(t, res, tp->name, "sys|c1"));
        assert_true(match_one(t, res, tp->name, "sys|"));
        assert_true(match_one(t, res, tp->name, "nope,sys|c1"));
        assert_false(match_one(t, res, tp->name, "sys|c2"));
        assert_false(match_one(t, res, tp->name, "sys2|c1"));
        assert_false(match_one(t, res, tp->name, "|c1"));
    }

    json_decref(res);
}


static void
test_every_token_path(void **state)
{
    int                            t;
    size_t                         i, k, n;
    const smart_fhir_tokparams_t  *l;

    (void) state;
    n = 0;

    for (t = 0; t < SMART_FHIR_NTYPES; t++) {
        l = &smart_fhir_token_params[t];

        for (i = 0; i < l->n; i++) {
            for (k = 0; k < l->params[i].npaths; k++) {
                check_path(t, &l->params[i], &l->params[i].paths[k], 0);
                check_path(t, &l->params[i], &l->params[i].paths[k], 1);
                n++;
            }
        }

        /* the parameters of every resource, on each type */
        l = &smart_fhir_common_token_params;

        for (i = 0; i < l->n; i++) {
            check_path(t, &l->params[i], &l->params[i].paths[0], 0);
        }
    }

    assert_true(n > 600);
}


/* --- token forms on a realistic resource ---------------------------------- */

typedef struct {
    const char  *type;
    const char  *json;
    const char  *name;
    const char  *value;
    int          expect;
} form_case_t;


#define MH_URI                                                               \
    "{\"resourceType\":\"MessageHeader\",\"eventUri\":\"urn:e\"}"
#define MH_CODING                                                            \
    "{\"resourceType\":\"MessageHeader\",\"eventCoding\":{\"system\":"     \
    "\"s\",\"code\":\"e\"}}"
#define GROUP_FALSE                                                          \
    "{\"resourceType\":\"Group\",\"characteristic\":[{\"valueBoolean\":"    \
    "false}]}"
#define OBS_STRING                                                           \
    "{\"resourceType\":\"Observation\",\"valueString\":\"pos\"}"
#define PAT_PHONE                                                            \
    "{\"resourceType\":\"Patient\",\"telecom\":[{\"system\":\"phone\","     \
    "\"value\":\"555\"}]}"


static const form_case_t  form_cases[] = {

    /* system|code: a coding with that system and code */
    { "Observation", LAB_OBS, "category", CAT_SYS "|laboratory", 1 },
    { "Observation", LAB_OBS, "category", CAT_SYS "|vital-signs", 0 },
    { "Observation", LAB_OBS, "category",
      "http://example.org/local|laboratory", 0 },

    /* code alone: any system */
    { "Observation", LAB_OBS, "category", "laboratory", 1 },
    { "Observation", LAB_OBS, "category", "chem", 1 },
    { "Observation", LAB_OBS, "category", "x", 0 },

    /* system|: any code of the system */
    { "Observation", LAB_OBS, "category", CAT_SYS "|", 1 },
    { "Observation", LAB_OBS, "category", "urn:none|", 0 },

    /* |code: a coding without system */
    { "Observation", LAB_OBS, "category", "|laboratory", 0 },
    { "Observation", LAB_OBS, "code", "|nosys", 1 },
    { "Observation", LAB_OBS, "code", "nosys", 1 },
    { "Observation", LAB_OBS, "code", "x|nosys", 0 },

    /* Identifier: system and value */
    { "Observation", LAB_OBS, "identifier", "urn:ids|v1", 1 },
    { "Observation", LAB_OBS, "identifier", "v1", 1 },
    { "Observation", LAB_OBS, "identifier", "|v2", 1 },
    { "Observation", LAB_OBS, "identifier", "|v1", 0 },
    { "Observation", LAB_OBS, "identifier", "urn:ids|v2", 0 },

    /* a code: the value itself, exactly */
    { "Observation", LAB_OBS, "status", "final", 1 },
    { "Observation", LAB_OBS, "status", "Final", 0 },

    /* (Observation.value as CodeableConcept) */
    { "Observation", LAB_OBS, "value-concept", "urn:v|pos", 1 },
    { "Observation", OBS_STRING, "value-concept", "pos", 0 },

    /* on Resource: _tag, _security, _id */
    { "Observation", LAB_OBS, "_tag", "urn:tags|t1", 1 },
    { "Observation", LAB_OBS, "_tag", "urn:tags|t2", 0 },
    { "Observation", LAB_OBS, "_security", "urn:sec|R", 1 },
    { "Observation", LAB_OBS, "_id", "o1", 1 },
    { "Observation", LAB_OBS, "_id", "o2", 0 },

    /* a choice without a type, and (T.a as boolean) */
    { "MessageHeader", MH_URI, "event", "urn:e", 1 },
    { "MessageHeader", MH_CODING, "event", "s|e", 1 },
    { "MessageHeader", MH_CODING, "event", "urn:e", 0 },
    { "Group", GROUP_FALSE, "value", "false", 1 },
    { "Group", GROUP_FALSE, "value", "true", 0 },

    /* ContactPoint: the value */
    { "Patient", PAT_PHONE, "telecom", "555", 1 },
    { "Patient", PAT_PHONE, "telecom", "phone", 0 }
};


static void
test_token_forms(void **state)
{
    size_t              i;
    const form_case_t  *fc;

    (void) state;

    for (i = 0; i < sizeof(form_cases) / sizeof(form_cases[0]); i++) {
        fc = &form_cases[i];

        if (holds(fc->type, fc->json, fc->name, fc->value) != fc->expect) {
            fail_msg("case %zu: %s=%s on %s", i, fc->name, fc->value,
                     fc->type);
        }
    }
}


/* --- arrays, values, parameters ------------------------------------------- */

static void
test_arrays_and_shapes(void **state)
{
    (void) state;

    /* an array anywhere along the path counts by any element */
    assert_true(holds("Observation", "{\"resourceType\":\"Observation\","
                      "\"component\":[{\"code\":{\"coding\":[]}},"
                      "{\"code\":{\"coding\":[{\"system\":\"s\","
                      "\"code\":\"c\"}]}}]}", "component-code", "s|c"));

    /* arrays of arrays, and members of the wrong JSON type, hold nothing */
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\","
                       "\"category\":[[{\"coding\":[{\"code\":\"c\"}]}]]}",
                       "category", "c"));
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\","
                       "\"category\":{\"coding\":{\"code\":\"c\"}}}",
                       "category", "c"));
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\","
                       "\"category\":[{\"coding\":[{\"code\":1}]}]}",
                       "category", "1"));
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\","
                       "\"status\":[\"x\",\"final\"],\"code\":\"c\"}",
                       "code", "c"));
    assert_true(holds("Observation", "{\"resourceType\":\"Observation\","
                      "\"status\":[\"x\",\"final\"]}", "status", "final"));

    /* "|code" needs the system absent, not merely another one */
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\","
                       "\"code\":{\"coding\":[{\"system\":\"\","
                       "\"code\":\"c\"}]}}", "code", "|c"));

    /* the element missing */
    assert_false(holds("Observation", "{\"resourceType\":\"Observation\"}",
                       "category", "c"));
}


static void
test_or_and(void **state)
{
    int        t;
    json_t    *res;
    params_t   ps;

    (void) state;

    /* pieces of one value: OR */
    assert_true(holds("Observation", LAB_OBS, "category",
                      CAT_SYS "|vital-signs," CAT_SYS "|laboratory"));
    assert_false(holds("Observation", LAB_OBS, "category",
                       CAT_SYS "|vital-signs,survey"));

    t = type_of("Observation");
    res = json_loads(LAB_OBS, 0, NULL);
    assert_non_null(res);

    /* parameters: AND */
    memset(&ps, 0, sizeof(params_t));
    param(&ps, "category", CAT_SYS "|laboratory");
    param(&ps, "status", "final");
    assert_true(match_json(t, res, ps.p, ps.n));

    memset(&ps, 0, sizeof(params_t));
    param(&ps, "category", CAT_SYS "|laboratory");
    param(&ps, "status", "amended");
    assert_false(match_json(t, res, ps.p, ps.n));

    /* a repeated parameter: AND as well */
    memset(&ps, 0, sizeof(params_t));
    param(&ps, "category", "laboratory");
    param(&ps, "category", "chem");
    assert_true(match_json(t, res, ps.p, ps.n));

    memset(&ps, 0, sizeof(params_t));
    param(&ps, "category", "laboratory");
    param(&ps, "category", "imaging");
    assert_false(match_json(t, res, ps.p, ps.n));

    /* one unsupported parameter fails the whole restriction */
    memset(&ps, 0, sizeof(params_t));
    param(&ps, "category", "laboratory");
    param(&ps, "date", "2020");
    assert_false(match_json(t, res, ps.p, ps.n));
    assert_false(smart_restrict_supported(t, ps.p, ps.n));

    /* nothing restricts; not a resource */
    assert_true(match_json(t, res, NULL, 0));
    assert_false(smart_restrict_supported(t, NULL, 0));
    assert_false(smart_restrict_match(t, NULL, NULL, 0));
    {
        tape_json_t  d;
        json_t      *arr;

        /* an array is not a resource */
        arr = json_pack("[O]", res);
        assert_non_null(arr);
        assert_false(smart_restrict_match(t, tape_json(&d, arr), NULL, 0));
        tape_json_free(&d);
        json_decref(arr);
    }

    json_decref(res);
}


static void
test_escapes(void **state)
{
    const char  *obs;

    (void) state;

    obs = "{\"resourceType\":\"Observation\",\"code\":{\"coding\":["
          "{\"system\":\"s|x\",\"code\":\"a,b\"},"
          "{\"system\":\"t\",\"code\":\"c\\\\d$\"}]}}";

    /* '\' escapes ',' '|' '$' '\' */
    assert_true(holds("Observation", obs, "code", "a\\,b"));
    assert_true(holds("Observation", obs, "code", "s\\|x|a\\,b"));
    assert_true(holds("Observation", obs, "code", "t|c\\\\d\\$"));
    assert_false(holds("Observation", obs, "code", "a"));

    /* malformed values are unsupported, and never hold */
    assert_false(supported("Observation", "code", "a\\b"));
    assert_false(holds("Observation", obs, "code", "a\\b"));
    assert_false(supported("Observation", "code", "a\\"));
    assert_false(supported("Observation", "code", "|"));
    assert_false(supported("Observation", "code", "a|b|c"));
    assert_false(supported("Observation", "code", ""));
    assert_false(supported("Observation", "code", "a,"));
    assert_true(supported("Observation", "code", "s|a,b"));
}


static void
test_supported(void **state)
{
    (void) state;

    assert_true(supported("Observation", "category", CAT_SYS "|laboratory"));
    assert_true(supported("Observation", "category", "laboratory"));
    assert_true(supported("Observation", "_tag", "urn:t|x"));
    assert_true(supported("Patient", "gender", "female"));

    /* a system where the element has none (code, string, boolean) */
    assert_false(supported("Patient", "gender",
                           "http://hl7.org/fhir/administrative-gender|"
                           "female"));
    assert_false(supported("Observation", "status", "|final"));
    assert_false(supported("Patient", "telecom", "phone|555"));

    /* modifiers, chains, other parameter types, unknown names, forms the
       tables do not carry */
    assert_false(supported("Observation", "category:not", "laboratory"));
    assert_false(supported("Observation", "code:text", "x"));
    assert_false(supported("Observation", "subject.name", "x"));
    assert_false(supported("Observation", "subject", "Patient/1"));
    assert_false(supported("Observation", "date", "2020"));
    assert_false(supported("Observation", "_lastUpdated", "2020"));
    assert_false(supported("Observation", "_profile", "http://x"));
    assert_false(supported("Observation", "nosuch", "x"));
    assert_false(supported("Patient", "phone", "555"));
    assert_false(supported("Patient", "deceased", "true"));
    assert_false(supported("Patient", "name", "x"));
}


/* --- the iterator and the copies ------------------------------------------ */

static void
test_pieces(void **state)
{
    size_t       next, start, end, n;
    const char  *v;

    (void) state;

    v = "a\\,b,,c\\\\,d";
    next = 0;
    n = 0;

    assert_true(smart_restrict_piece_next(v, strlen(v), &next, &start, &end));
    assert_int_equal(end - start, 4);
    assert_true(smart_restrict_piece_next(v, strlen(v), &next, &start, &end));
    assert_int_equal(end - start, 0);
    assert_true(smart_restrict_piece_next(v, strlen(v), &next, &start, &end));
    assert_memory_equal(v + start, "c\\\\", 3);
    assert_true(smart_restrict_piece_next(v, strlen(v), &next, &start, &end));
    assert_memory_equal(v + start, "d", 1);
    assert_false(smart_restrict_piece_next(v, strlen(v), &next, &start,
                                           &end));

    next = 0;

    while (smart_restrict_piece_next("", 0, &next, &start, &end)) {
        n++;
    }

    assert_int_equal(n, 1);
}


static void
test_copy(void **state)
{
    const char           *claim;
    smart_scope_set_t    *set;
    smart_restriction_t  *r;
    const smart_scope_t  *sc[2];

    (void) state;

    claim = "patient/Observation.rs?category=" CAT_SYS "%7Claboratory"
            "&status=final user/Condition.rs?code=c%2Cd";
    set = smart_scope_parse(claim, strlen(claim));
    assert_non_null(set);
    assert_int_equal(set->nscopes, 2);

    sc[0] = &set->scopes[0];
    sc[1] = &set->scopes[1];
    r = smart_restrict_copy(sc, 2);
    assert_non_null(r);

    /* the copies outlive the scope set */
    smart_scope_set_free(set);

    assert_int_equal(r[0].nparams, 2);
    assert_int_equal(r[0].patient, 1);
    assert_string_equal(r[0].params[0].name, "category");
    assert_string_equal(r[0].params[0].value, CAT_SYS "|laboratory");
    assert_int_equal(r[0].params[0].value_len, strlen(CAT_SYS) + 11);
    assert_string_equal(r[0].params[1].name, "status");
    assert_string_equal(r[0].params[1].value, "final");
    assert_int_equal(r[1].nparams, 1);
    assert_int_equal(r[1].patient, 0);
    assert_string_equal(r[1].params[0].name, "code");
    assert_string_equal(r[1].params[0].value, "c,d");
    assert_int_equal(r[1].params[0].name_len, 4);

    free(r);

    assert_null(smart_restrict_copy(sc, 0));
    assert_null(smart_restrict_copy(NULL, 1));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_tokens),
        cmocka_unit_test(test_every_token_path),
        cmocka_unit_test(test_token_forms),
        cmocka_unit_test(test_arrays_and_shapes),
        cmocka_unit_test(test_or_and),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_supported),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_copy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
