
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the shared text helpers: hex digits and strict UTF-8.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "smart_text.h"


static void
test_hex_digit(void **state)
{
    (void) state;

    assert_int_equal(smart_hex_digit('0'), 0);
    assert_int_equal(smart_hex_digit('9'), 9);
    assert_int_equal(smart_hex_digit('a'), 10);
    assert_int_equal(smart_hex_digit('F'), 15);
    assert_int_equal(smart_hex_digit('g'), -1);
    assert_int_equal(smart_hex_digit('/'), -1);
    assert_int_equal(smart_hex_digit(0), -1);
    assert_int_equal(smart_hex_digit(0xe9), -1);
}


static int
valid(const char *s, size_t n)
{
    return smart_utf8_valid((const unsigned char *) s, n);
}


static void
test_utf8_valid(void **state)
{
    (void) state;

    assert_true(valid("", 0));
    assert_true(valid("plain ascii", 11));
    assert_true(valid("\xc3\xa9", 2));                  /* U+00E9 */
    assert_true(valid("\xe2\x82\xac", 3));              /* U+20AC */
    assert_true(valid("\xf0\x9f\x98\x80", 4));          /* U+1F600 */
    assert_true(valid("\xef\xbf\xbd", 3));              /* U+FFFD itself */
    assert_true(valid("\xf4\x8f\xbf\xbf", 4));          /* U+10FFFF */
    assert_true(valid("a\0b", 3));                      /* NUL is UTF-8 */
}


static void
test_utf8_invalid(void **state)
{
    (void) state;

    assert_false(valid("\xc0\xaf", 2));                 /* overlong '/' */
    assert_false(valid("\xc1\xbf", 2));
    assert_false(valid("\xe0\x80\xaf", 3));             /* overlong */
    assert_false(valid("\xf0\x80\x80\xaf", 4));         /* overlong */
    assert_false(valid("\xed\xa0\x80", 3));             /* surrogate */
    assert_false(valid("\xf4\x90\x80\x80", 4));         /* > U+10FFFF */
    assert_false(valid("\xf5\x80\x80\x80", 4));
    assert_false(valid("\x80", 1));                     /* lone trail */
    assert_false(valid("\xc3", 1));                     /* cut short */
    assert_false(valid("\xe2\x82", 2));
    assert_false(valid("\xe2\x28\xa1", 3));             /* bad trail */
    assert_false(valid("ok\xff", 3));
}


static void
test_utf8_decode(void **state)
{
    uint32_t  cp;

    (void) state;

    assert_int_equal(smart_utf8_decode((const unsigned char *) "A", 1, &cp),
                     1);
    assert_int_equal(cp, 'A');

    assert_int_equal(smart_utf8_decode(
                         (const unsigned char *) "\xe2\x82\xac!", 4, &cp), 3);
    assert_int_equal(cp, 0x20AC);

    assert_int_equal(smart_utf8_decode(
                         (const unsigned char *) "\xf0\x9f\x98\x80", 4, &cp),
                     4);
    assert_int_equal(cp, 0x1F600);

    /* the length bound is respected even when more bytes follow in memory */
    assert_int_equal(smart_utf8_decode(
                         (const unsigned char *) "\xe2\x82\xac", 2, &cp), 0);
    assert_int_equal(smart_utf8_decode(
                         (const unsigned char *) "\xed\xbf\xbf", 3, &cp), 0);
}


static void
test_cid_valid(void **state)
{
    char  buf[SMART_CID_MAX + 2];

    (void) state;

    assert_true(smart_cid_valid("abc12345", 8));
    assert_true(smart_cid_valid("AZaz09._-", 9));
    assert_false(smart_cid_valid("abc1234", 7));
    assert_false(smart_cid_valid("abc 12345", 9));
    assert_false(smart_cid_valid("abc/12345", 9));
    assert_false(smart_cid_valid("abc12345\n", 9));
    assert_false(smart_cid_valid("abc1\0" "2345", 9));
    assert_false(smart_cid_valid(NULL, 8));

    memset(buf, 'a', sizeof(buf));
    assert_true(smart_cid_valid(buf, SMART_CID_MAX));
    assert_false(smart_cid_valid(buf, SMART_CID_MAX + 1));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_cid_valid),
        cmocka_unit_test(test_utf8_decode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
