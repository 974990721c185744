
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the tree-less JSON parser (smart_tape.[ch]): what it
 * takes and refuses (as jansson with JSON_REJECT_DUPLICATES does, save the
 * two differences smart_tape.h names), strings decoded, member lookups,
 * array walks, offsets, the nesting bound, repeated names in small and
 * large objects, and nothing read past a length.  tests/fuzz/fuzz_tape.c
 * compares it with jansson on random input.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "smart_tape.h"


/* Parses exactly n bytes of a copy, so that ASan sees any read past n. */
static int
parse_n(smart_tape_t *t, const char *s, size_t n, unsigned depth,
    char **copy)
{
    *copy = malloc(n > 0 ? n : 1);
    assert_non_null(*copy);
    memcpy(*copy, s, n);

    return smart_tape_parse(t, *copy, n, depth);
}


static int
verdict(const char *s, size_t n)
{
    int           rc;
    char         *copy;
    smart_tape_t  t;

    rc = parse_n(&t, s, n, 100, &copy);
    smart_tape_free(&t);
    free(copy);

    return rc;
}


/* The tape and jansson agree on s. */
static void
agree(const char *s, int ok)
{
    json_t  *j;

    j = json_loadb(s, strlen(s), JSON_REJECT_DUPLICATES, NULL);

    assert_int_equal(verdict(s, strlen(s)),
                     ok ? SMART_TAPE_OK : SMART_TAPE_BAD);
    assert_int_equal(j != NULL, ok);
    json_decref(j);
}


static void
test_accepts_and_refuses(void **state)
{
    (void) state;

    agree("{}", 1);
    agree("[]", 1);
    agree(" \t\r\n{ \"a\" : [ 1 , -0 , 0.5e+3 , 2E-2 , true , false , "
          "null , \"x\" , { } , [ ] ] } \n", 1);
    agree("{\"\":1}", 1);
    agree("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]", 1);
    agree("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"]", 1);

    /* not at the top: scalars, nothing, garbage after */
    agree("1", 0);
    agree("\"a\"", 0);
    agree("", 0);
    agree("   ", 0);
    agree("{} {}", 0);
    agree("{}x", 0);

    /* grammar */
    agree("{\"a\"}", 0);
    agree("{\"a\":}", 0);
    agree("{\"a\":1,}", 0);
    agree("[1,]", 0);
    agree("[,1]", 0);
    agree("[1 2]", 0);
    agree("{a:1}", 0);
    agree("{'a':1}", 0);
    agree("[01]", 0);
    agree("[1.]", 0);
    agree("[.5]", 0);
    agree("[1e]", 0);
    agree("[-]", 0);
    agree("[+1]", 0);
    agree("[tru]", 0);
    agree("[truex]", 0);
    agree("[nul]", 0);
    agree("[NaN]", 0);
    agree("[\"a]", 0);
    agree("[1", 0);
    agree("{\"a\":1", 0);
    agree("[}", 0);
    agree("{]", 0);

    /* strings: controls, escapes, surrogates, NUL, UTF-8 */
    agree("[\"a\tb\"]", 0);
    agree("[\"\\x\"]", 0);
    agree("[\"\\u12\"]", 0);
    agree("[\"\\u12g4\"]", 0);
    agree("[\"\\ud800\"]", 0);
    agree("[\"\\ud800x\"]", 0);
    agree("[\"\\ud800\\u0041\"]", 0);
    agree("[\"\\udc00\"]", 0);
    agree("[\"\\u0000\"]", 0);
    agree("{\"\\u0000\":1}", 0);
    agree("[\"\xc0\xaf\"]", 0);             /* overlong */
    agree("[\"\xe0\x80\xaf\"]", 0);         /* overlong */
    agree("[\"\xed\xa0\x80\"]", 0);         /* a surrogate */
    agree("[\"\xf4\x90\x80\x80\"]", 0);     /* above U+10FFFF */
    agree("[\"\xf5\x80\x80\x80\"]", 0);
    agree("[\"\x80\"]", 0);
    agree("[\"\xc3\"]", 0);
    agree("[\"\xe2\x82\"]", 0);
    agree("\xef\xbb\xbf{}", 0);             /* a byte order mark */

    /* repeated names, decoded */
    agree("{\"a\":1,\"a\":2}", 0);
    agree("{\"a\":1,\"\\u0061\":2}", 0);
    agree("{\"a\":{\"b\":1},\"c\":{\"b\":1}}", 1);
}


static void
test_differences(void **state)
{
    static const char  nul[] = "[1,2\0]";

    (void) state;

    /* numbers of any size: jansson refuses them */
    assert_int_equal(verdict("[1e400]", 7), SMART_TAPE_OK);
    assert_int_equal(verdict("[9223372036854775808]", 21), SMART_TAPE_OK);

    /* a NUL byte between tokens: jansson skips it */
    assert_int_equal(verdict(nul, sizeof(nul) - 1), SMART_TAPE_BAD);
    assert_int_equal(verdict("[1]\0", 4), SMART_TAPE_BAD);
}


static void
test_lookups(void **state)
{
    char                     *copy;
    size_t                    n;
    const char               *s;
    smart_tape_t              t;
    const smart_tape_node_t  *root, *e, *arr;

    static const char  doc[] =
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"r\":1},[2,3],\"x\","
        "null],\"k\\u0065y\":\"v\\/w\",\"n\":-1.5e3,\"t\":true}";

    (void) state;

    assert_int_equal(parse_n(&t, doc, sizeof(doc) - 1, 100, &copy),
                     SMART_TAPE_OK);

    root = smart_tape_root(&t);
    assert_true(smart_tape_is(root, SMART_TAPE_OBJECT));
    assert_int_equal(smart_tape_count(root), 5);
    assert_int_equal(root->skip, t.n);
    assert_int_equal(root->start, 0);
    assert_int_equal(root->end, sizeof(doc) - 1);

    assert_true(smart_tape_str_is(smart_tape_get(root, "resourceType"),
                                  "Bundle"));
    assert_false(smart_tape_str_is(smart_tape_get(root, "resourceType"),
                                   "Bundl"));

    /* a decoded name and value */
    s = smart_tape_str(smart_tape_get(root, "key"), &n);
    assert_non_null(s);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "v/w", 3);

    /* scalars */
    e = smart_tape_get(root, "n");
    assert_true(smart_tape_is(e, SMART_TAPE_NUMBER));
    assert_int_equal(e->len, 6);
    assert_memory_equal(e->str, "-1.5e3", 6);
    assert_true(smart_tape_is(smart_tape_get(root, "t"), SMART_TAPE_TRUE));
    assert_null(smart_tape_str(smart_tape_get(root, "t"), &n));
    assert_int_equal(n, 0);

    /* absent, and lookups on what is not an object */
    assert_null(smart_tape_get(root, "entr"));
    assert_null(smart_tape_get(root, "entryx"));
    assert_null(smart_tape_get(NULL, "a"));
    assert_null(smart_tape_get(smart_tape_get(root, "n"), "a"));
    assert_null(smart_tape_first(root));
    assert_null(smart_tape_first(NULL));
    assert_int_equal(smart_tape_count(NULL), 0);

    /* an array walked, nested containers skipped whole */
    arr = smart_tape_get(root, "entry");
    assert_int_equal(smart_tape_count(arr), 4);

    e = smart_tape_first(arr);
    assert_true(smart_tape_is(e, SMART_TAPE_OBJECT));
    assert_memory_equal(copy + e->start, "{\"r\":1}", e->end - e->start);

    e = smart_tape_next(arr, e);
    assert_true(smart_tape_is(e, SMART_TAPE_ARRAY));
    assert_int_equal(smart_tape_count(e), 2);
    assert_memory_equal(copy + e->start, "[2,3]", 5);

    e = smart_tape_next(arr, e);
    assert_true(smart_tape_str_is(e, "x"));

    e = smart_tape_next(arr, e);
    assert_true(smart_tape_is(e, SMART_TAPE_NULL));
    assert_null(smart_tape_next(arr, e));

    /* members: one node each, carrying the decoded name */
    assert_null(smart_tape_member_name(root, &n));
    assert_int_equal(n, 0);

    e = smart_tape_member_first(root);
    s = smart_tape_member_name(e, &n);
    assert_int_equal(n, 12);
    assert_memory_equal(s, "resourceType", 12);

    e = smart_tape_member_next(root, e);
    assert_ptr_equal(e, arr);
    e = smart_tape_member_next(root, e);
    s = smart_tape_member_name(e, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "key", 3);
    assert_ptr_equal(e, smart_tape_get(root, "key"));

    e = smart_tape_member_next(root, smart_tape_member_next(root, e));
    assert_true(smart_tape_is(e, SMART_TAPE_TRUE));
    assert_null(smart_tape_member_next(root, e));

    /* an element has no name; each walk is for its own kind */
    assert_null(smart_tape_member_name(smart_tape_first(arr), &n));
    assert_null(smart_tape_member_first(arr));
    assert_null(smart_tape_member_next(arr, smart_tape_first(arr)));
    assert_null(smart_tape_member_first(smart_tape_first(arr) + 1));
    e = smart_tape_member_first(smart_tape_first(arr));
    assert_true(smart_tape_is(e, SMART_TAPE_NUMBER));
    assert_non_null(smart_tape_member_name(e, &n));
    assert_int_equal(n, 1);

    smart_tape_free(&t);
    assert_null(smart_tape_root(&t));
    free(copy);
}


static void
test_depth(void **state)
{
    char    *s;
    size_t   i;

    (void) state;

    assert_int_equal(verdict("[[1]]", 5), SMART_TAPE_OK);

    /* 300 levels: within a bound of 300, not of 299 */
    s = malloc(600);
    assert_non_null(s);

    for (i = 0; i < 300; i++) {
        s[i] = '[';
        s[599 - i] = ']';
    }

    {
        char          *copy;
        smart_tape_t   t;

        assert_int_equal(parse_n(&t, s, 600, 300, &copy), SMART_TAPE_OK);
        smart_tape_free(&t);
        free(copy);

        assert_int_equal(parse_n(&t, s, 600, 299, &copy), SMART_TAPE_DEEP);
        assert_null(smart_tape_root(&t));
        smart_tape_free(&t);
        free(copy);
    }

    /* the default bound of the response check */
    assert_int_equal(verdict(s, 600), SMART_TAPE_DEEP);
    free(s);
}


/* An object of n members named m0, m1, ..., the last one named again
   when repeat. */
static char *
wide_object(size_t n, int repeat)
{
    char    *s, *p;
    size_t   i;

    s = malloc(n * 16 + 32);
    assert_non_null(s);

    p = s;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s\"m%zu\":%zu", (i > 0) ? "," : "", i, i);
    }

    if (repeat) {
        p += sprintf(p, ",\"m%zu\":0", n - 1);
    }

    *p++ = '}';
    *p = '\0';

    return s;
}


static void
test_repeats(void **state)
{
    char    *s;
    size_t   k;

    static const size_t  sizes[] = { 2, 32, 33, 1000 };

    (void) state;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        s = wide_object(sizes[k], 0);
        assert_int_equal(verdict(s, strlen(s)), SMART_TAPE_OK);
        free(s);

        s = wide_object(sizes[k], 1);
        assert_int_equal(verdict(s, strlen(s)), SMART_TAPE_BAD);
        free(s);
    }
}


/* A lent array is used first, left to the caller, and outgrown safely. */
static void
test_stock(void **state)
{
    char                     *s;
    size_t                    k;
    smart_tape_t              t;
    smart_tape_node_t         stock[16];
    const smart_tape_node_t  *root;

    static const size_t  sizes[] = { 1, 7, 8, 9, 100 };

    (void) state;

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        /* 1 + n nodes */
        s = wide_object(sizes[k], 0);

        assert_int_equal(smart_tape_parse_in(&t, s, strlen(s), 10, stock,
                                             9),
                         SMART_TAPE_OK);

        root = smart_tape_root(&t);
        assert_int_equal(smart_tape_count(root), sizes[k]);
        assert_int_equal(root->skip, sizes[k] + 1);
        assert_true(smart_tape_is(smart_tape_get(root, "m0"),
                                  SMART_TAPE_NUMBER));

        if (sizes[k] + 1 <= 9) {
            assert_ptr_equal(t.nodes, stock);

        } else {
            assert_ptr_not_equal(t.nodes, stock);
            assert_int_equal(stock[0].type, SMART_TAPE_OBJECT);
        }

        smart_tape_free(&t);        /* must not free the stock */
        assert_null(smart_tape_root(&t));

        /* refused: nothing left, the stock untouched by free */
        s[strlen(s) - 1] = ',';
        assert_int_equal(smart_tape_parse_in(&t, s, strlen(s), 10, stock,
                                             9),
                         SMART_TAPE_BAD);
        assert_null(smart_tape_root(&t));
        smart_tape_free(&t);
        free(s);
    }

    /* no stock, or an empty one: the heap from the start */
    assert_int_equal(smart_tape_parse_in(&t, "[1]", 3, 10, NULL, 5),
                     SMART_TAPE_OK);
    assert_ptr_not_equal(t.nodes, stock);
    smart_tape_free(&t);
    assert_int_equal(smart_tape_parse_in(&t, "[1]", 3, 10, stock, 0),
                     SMART_TAPE_OK);
    assert_ptr_not_equal(t.nodes, stock);
    smart_tape_free(&t);
}


/* "[u,u,...,u]": n units (each ending in ','), the last ',' dropped. */
static char *
dense_array(const char *unit, size_t n, size_t *len)
{
    char    *s, *p;
    size_t   i, u;

    u = strlen(unit);
    s = malloc(n * u + 2);
    assert_non_null(s);

    p = s;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    p[-1] = ']';
    *len = (size_t) (p - s);

    return s;
}


/* The densest documents: the node array never outgrows (len + 1) / 2. */
static void
test_dense(void **state)
{
    char          *s;
    size_t         k, n, len;
    smart_tape_t   t;

    static const char  *units[] = { "0,", "[],", "{},", "\"\"," };

    (void) state;

    for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        for (n = 1; n < 3000; n = n * 3 + 1) {
            s = dense_array(units[k], n, &len);

            assert_int_equal(smart_tape_parse(&t, s, len, 10),
                             SMART_TAPE_OK);
            assert_int_equal(t.n, n + 1);
            assert_true(t.n <= (len + 1) / 2);
            assert_true(t.cap <= len / 2 + 1);

            smart_tape_free(&t);
            free(s);
        }
    }

    /* more values than a document of that length holds: not JSON (not
       "no memory"), before the bound on nesting if that is farther */
    assert_int_equal(verdict("[[[[[", 5), SMART_TAPE_BAD);
    assert_int_equal(verdict("[1,[2,[3,[", 10), SMART_TAPE_BAD);
    assert_int_equal(verdict("{\"a\":[[[[[[", 11), SMART_TAPE_BAD);
    assert_int_equal(smart_tape_parse(&t, "[[[[[", 5, 2), SMART_TAPE_DEEP);
    assert_int_equal(smart_tape_parse(&t, "[[[]]]", 6, 10), SMART_TAPE_OK);
    assert_int_equal(t.n, 3);
    smart_tape_free(&t);
}


/* Cut short anywhere, a document is refused and nothing past n is read. */
static void
test_prefixes(void **state)
{
    size_t        n;
    smart_tape_t  t;

    static const char  doc[] =
        "{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\ud83d\\ude00\xc3\xa9\","
        "{\"b\":{}}]}";

    (void) state;

    for (n = 0; n < sizeof(doc) - 1; n++) {
        assert_int_equal(verdict(doc, n), SMART_TAPE_BAD);
    }

    assert_int_equal(verdict(doc, sizeof(doc) - 1), SMART_TAPE_OK);
    assert_int_equal(smart_tape_parse(&t, NULL, 1, 10), SMART_TAPE_BAD);
    assert_null(smart_tape_root(&t));
}


/* Long strings, read 16 or 8 bytes at a time: a special byte at any
   offset of a word is found. */
#define LONG_STR  40

static void
test_long_strings(void **state)
{
    char          doc[LONG_STR + 8], *copy;
    size_t        k, n, end;
    const char   *str;
    smart_tape_t  t;

    (void) state;

    end = LONG_STR + 4;

    for (k = 0; k < LONG_STR; k++) {
        /* ["aaaa...<special>...aaaa"] */
        memset(doc, 'a', sizeof(doc));
        doc[0] = '[';
        doc[1] = '"';
        doc[LONG_STR + 2] = '"';
        doc[LONG_STR + 3] = ']';

        assert_int_equal(verdict(doc, end), SMART_TAPE_OK);

        doc[2 + k] = '\x01';
        assert_int_equal(verdict(doc, end), SMART_TAPE_BAD);

        doc[2 + k] = '\x80';
        assert_int_equal(verdict(doc, end), SMART_TAPE_BAD);

        doc[2 + k] = '\x7f';
        assert_int_equal(verdict(doc, end), SMART_TAPE_OK);

        /* a quote ends the string early: garbage follows */
        doc[2 + k] = '"';
        assert_int_equal(verdict(doc, end), SMART_TAPE_BAD);

        if (k + 1 < LONG_STR) {
            /* an escaped quote is part of it */
            doc[2 + k] = '\\';
            doc[3 + k] = '"';
            assert_int_equal(parse_n(&t, doc, end, 100, &copy),
                             SMART_TAPE_OK);
            str = smart_tape_str(smart_tape_first(smart_tape_root(&t)), &n);
            assert_int_equal(n, LONG_STR - 1);
            assert_int_equal(str[k], '"');
            smart_tape_free(&t);
            free(copy);

            /* a two-byte UTF-8 sequence, across a word's end too */
            doc[2 + k] = '\xc3';
            doc[3 + k] = '\xa9';
            assert_int_equal(verdict(doc, end), SMART_TAPE_OK);

            /* cut short inside the string */
            assert_int_equal(verdict(doc, 3 + k), SMART_TAPE_BAD);
        }
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_accepts_and_refuses),
        cmocka_unit_test(test_differences),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_stock),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_long_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
