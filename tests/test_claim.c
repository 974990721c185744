
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of a claim as text (smart_claim.[ch]): top-level and nested
 * names, arrays, scalars, and every value that must give no text.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_claim.h"


static json_t  *claims;


static int
setup(void **state)
{
    char  big[SMART_CLAIM_TEXT_MAX + 2];

    (void) state;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    claims = json_loads(
        "{\"tenant\":\"north\",\"n\":42,\"neg\":-7,\"r\":1.5,"
        "\"t\":true,\"f\":false,\"nul\":null,\"o\":{\"a\":1},"
        "\"roles\":[\"admin\",\"nurse\",3,false],\"deep\":[[1]],"
        "\"mixed\":[\"a\",{\"b\":1}],\"empty\":[],\"comma\":[\"a,b\",\"c\"],"
        "\"address\":{\"country\":\"DE\",\"geo\":{\"lat\":52.5,"
        "\"x\":{\"y\":{\"z\":\"deep\"}}}},"
        "\"a__b\":\"whole\",\"a\":{\"b\":\"path\"},"
        "\"crlf\":\"x\\r\\nSet-Cookie: y\",\"nulch\":\"a\\u0000b\","
        "\"utf\":\"\\u00e4rzte\"}", JSON_ALLOW_NUL, NULL);
    assert_non_null(claims);
    assert_int_equal(json_object_set_new(claims, "big", json_string(big)), 0);

    return 0;
}


static int
teardown(void **state)
{
    (void) state;
    json_decref(claims);
    return 0;
}


static void
is(const char *name, const char *want)
{
    int      rc;
    char     out[SMART_CLAIM_TEXT_MAX + 1];
    size_t   n;

    rc = smart_claim_text(claims, name, strlen(name), out, sizeof(out), &n);

    if (want == NULL) {
        assert_int_equal(rc, -1);
        assert_int_equal(n, 0);
        return;
    }

    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}


static void
test_scalars(void **state)
{
    (void) state;

    is("tenant", "north");
    is("n", "42");
    is("neg", "-7");
    is("r", "1.5");
    is("t", "1");
    is("f", "0");
    is("utf", "\xc3\xa4rzte");
    is("nul", NULL);
    is("o", NULL);
    is("missing", NULL);
}


static void
test_arrays(void **state)
{
    (void) state;

    is("roles", "admin,nurse,3,0");
    is("comma", "a,b,c");
    is("empty", "");
    is("deep", NULL);
    is("mixed", NULL);
}


static void
test_paths(void **state)
{
    (void) state;

    is("address__country", "DE");
    is("address__geo__lat", "52.5");
    is("address__geo__x__y", NULL);         /* an object */
    is("address__geo__x__y__z", NULL);      /* five names: too deep */
    is("address__missing", NULL);
    is("address__", NULL);
    is("__address", NULL);
    is("address____country", NULL);
    is("tenant__x", NULL);
    is("a__b", "whole");                    /* the whole name first */
}


static void
test_hostile(void **state)
{
    char    out[8];
    size_t  n;

    (void) state;

    is("crlf", NULL);
    is("nulch", NULL);
    is("big", NULL);                        /* longer than the bound */

    /* a small buffer: no value, never a cut one */
    assert_int_equal(smart_claim_text(claims, "tenant", 6, out, 5, &n), -1);
    assert_int_equal(smart_claim_text(claims, "tenant", 6, out, 6, &n), 0);
    assert_string_equal(out, "north");
    assert_int_equal(smart_claim_text(claims, "roles", 5, out, 8, &n), -1);

    /* a NUL inside the name, an empty or overlong name, not an object */
    assert_int_equal(smart_claim_text(claims, "tenant\0x", 8, out, 8, &n),
                     -1);
    assert_int_equal(smart_claim_text(claims, "", 0, out, 8, &n), -1);
    assert_int_equal(smart_claim_text(claims, "x", SMART_CLAIM_NAME_MAX + 1,
                                      out, 8, &n), -1);
    assert_int_equal(smart_claim_text(json_object_get(claims, "roles"), "x",
                                      1, out, 8, &n), -1);
    assert_int_equal(smart_claim_text(NULL, "x", 1, out, 8, &n), -1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
