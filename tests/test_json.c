
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the JSON position scanners (smart_json.[ch]): values
 * skipped whole, nesting bounded, members found by their decoded name,
 * array elements located, and nothing read past a length.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_json.h"


/* A copy of exactly n bytes, so that ASan sees any read past n. */
static char *
exact(const char *s, size_t n)
{
    char  *p;

    p = malloc(n > 0 ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);

    return p;
}


static int
skip_text(const char *s, unsigned depth, size_t *off)
{
    int      rc;
    char    *p;
    size_t   n;

    n = strlen(s);
    p = exact(s, n);
    *off = 0;
    rc = smart_json_skip(p, n, off, depth);
    free(p);

    return rc;
}


static void
test_skip(void **state)
{
    size_t  off;

    (void) state;

    assert_int_equal(skip_text(" 12 ,", 4, &off), SMART_JSON_OK);
    assert_int_equal(off, 3);
    assert_int_equal(skip_text("true]", 4, &off), SMART_JSON_OK);
    assert_int_equal(off, 4);
    assert_int_equal(skip_text("\"a\\\"]\" x", 4, &off), SMART_JSON_OK);
    assert_int_equal(off, 6);
    assert_int_equal(skip_text("{\"a\":[1,{\"b\":\"}]\"}],\"c\":null} 5",
                               4, &off),
                     SMART_JSON_OK);
    assert_int_equal(off, 29);
    assert_int_equal(skip_text("[[[]]]", 3, &off), SMART_JSON_OK);
    assert_int_equal(skip_text("[[[]]]", 2, &off), SMART_JSON_DEEP);
    assert_int_equal(off, 0);

    /* cut short, or nothing there */
    assert_int_equal(skip_text("", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("   ", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("[1,2", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("\"abc", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("\"abc\\\"", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("\"abc\\", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("]", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text(",", 4, &off), SMART_JSON_BAD);
    assert_int_equal(skip_text("{\"a\":1}}", 4, &off), SMART_JSON_OK);
    assert_int_equal(off, 7);
}


static void
test_member(void **state)
{
    char        *p;
    size_t       n, val;
    const char  *s;

    (void) state;

    s = " { \"a\" : 1 , \"entry\" : [ 2 ] , \"b\" : {} } ";
    n = strlen(s);
    p = exact(s, n);

    assert_int_equal(smart_json_member(p, n, 0, "entry", &val),
                     SMART_JSON_OK);
    assert_int_equal(p[val], '[');
    assert_int_equal(smart_json_member(p, n, 0, "b", &val), SMART_JSON_OK);
    assert_int_equal(p[val], '{');
    assert_int_equal(smart_json_member(p, n, 0, "c", &val),
                     SMART_JSON_ABSENT);
    assert_int_equal(smart_json_member(p, n, 0, "entr", &val),
                     SMART_JSON_ABSENT);
    assert_int_equal(smart_json_member(p, n, 0, "entryx", &val),
                     SMART_JSON_ABSENT);
    assert_int_equal(smart_json_member(p, n, 7, "entry", &val),
                     SMART_JSON_BAD);
    free(p);

    /* keys compared once decoded; escapes that cannot be ASCII never match */
    s = "{\"x\":0,\"\\u0065ntr\\u0079\":1,\"\\/\":2,\"\\u00e9\":3,\"a\\nb\":4}";
    n = strlen(s);
    p = exact(s, n);
    assert_int_equal(smart_json_member(p, n, 0, "entry", &val),
                     SMART_JSON_OK);
    assert_int_equal(p[val], '1');
    assert_int_equal(smart_json_member(p, n, 0, "/", &val), SMART_JSON_OK);
    assert_int_equal(p[val], '2');
    assert_int_equal(smart_json_member(p, n, 0, "\xc3\xa9", &val),
                     SMART_JSON_ABSENT);
    assert_int_equal(smart_json_member(p, n, 0, "a\nb", &val),
                     SMART_JSON_ABSENT);
    free(p);

    /* the first of two (text jansson would refuse) */
    s = "{\"a\":1,\"a\":2}";
    n = strlen(s);
    p = exact(s, n);
    assert_int_equal(smart_json_member(p, n, 0, "a", &val), SMART_JSON_OK);
    assert_int_equal(p[val], '1');
    free(p);

    assert_int_equal(smart_json_member("{}", 2, 0, "a", &val),
                     SMART_JSON_ABSENT);
    assert_int_equal(smart_json_member("[]", 2, 0, "a", &val),
                     SMART_JSON_BAD);
    assert_int_equal(smart_json_member("{\"a\"", 4, 0, "a", &val),
                     SMART_JSON_BAD);
    assert_int_equal(smart_json_member("{\"a\":1", 6, 0, "b", &val),
                     SMART_JSON_BAD);
    assert_int_equal(smart_json_member("{\"a\" 1}", 7, 0, "a", &val),
                     SMART_JSON_BAD);
    assert_int_equal(smart_json_member("{\"a\":1 \"b\":2}", 13, 0, "b",
                                       &val),
                     SMART_JSON_BAD);
    assert_int_equal(smart_json_member("{a:1}", 5, 0, "a", &val),
                     SMART_JSON_BAD);
}


static void
test_elements(void **state)
{
    char        *p;
    size_t       n, off, end;
    size_t       starts[3], ends[3];
    const char  *s;

    (void) state;

    s = "x [ 1 , {\"a\":[2,3]} ,\"]\" ] y";
    n = strlen(s);
    p = exact(s, n);

    off = 1;
    assert_int_equal(smart_json_elements(p, n, &off, &end, starts, ends, 3),
                     SMART_JSON_OK);
    assert_int_equal(off, 2);
    assert_int_equal(p[end - 1], ']');
    assert_int_equal(end, n - 2);
    assert_memory_equal(p + starts[0], "1", ends[0] - starts[0]);
    assert_int_equal(ends[1] - starts[1], 11);
    assert_memory_equal(p + starts[1], "{\"a\":[2,3]}", 11);
    assert_memory_equal(p + starts[2], "\"]\"", 3);

    /* another count than the tree's */
    off = 1;
    assert_int_equal(smart_json_elements(p, n, &off, &end, starts, ends, 2),
                     SMART_JSON_BAD);
    off = 1;
    assert_int_equal(smart_json_elements(p, n, &off, &end, starts, ends, 0),
                     SMART_JSON_BAD);
    free(p);

    off = 0;
    assert_int_equal(smart_json_elements("[ ]", 3, &off, &end, starts, ends,
                                         0), SMART_JSON_OK);
    assert_int_equal(end, 3);
    off = 0;
    assert_int_equal(smart_json_elements("[1,", 3, &off, &end, starts, ends,
                                         2), SMART_JSON_BAD);
    off = 0;
    assert_int_equal(smart_json_elements("[1 2]", 5, &off, &end, starts,
                                         ends, 2), SMART_JSON_BAD);
    off = 0;
    assert_int_equal(smart_json_elements("{}", 2, &off, &end, starts, ends,
                                         0), SMART_JSON_BAD);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_member),
        cmocka_unit_test(test_elements),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
