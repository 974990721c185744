
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of smart_b64.c: strict base64url decoding and standard base64
 * encoding with snprintf() semantics.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smart_b64.h"


static int
dec(const char *s, unsigned char *out, size_t cap, size_t *n)
{
    return smart_b64url_decode(s, strlen(s), out, cap, n);
}


static void
test_decode_vectors(void **state)
{
    size_t          n;
    unsigned char   out[32];

    (void) state;

    /* RFC 4648 section 10, without padding */
    assert_int_equal(dec("", out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(dec("Zg", out, sizeof(out), &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(out, "f", 1);
    assert_int_equal(dec("Zm8", out, sizeof(out), &n), 0);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(dec("Zm9v", out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(dec("Zm9vYmE", out, sizeof(out), &n), 0);
    assert_memory_equal(out, "fooba", 5);
    assert_int_equal(dec("Zm9vYmFy", out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);

    /* the URL-safe alphabet: 0xfb 0xff 0xbf */
    assert_int_equal(dec("-_-_", out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0xbf);

    /* a NULL dst is fine when nothing is written */
    assert_int_equal(smart_b64url_decode("", 0, NULL, 0, &n), 0);
    assert_int_equal(smart_b64url_decode("Zg", 2, NULL, 0, &n), -1);
}


static void
test_decode_strict(void **state)
{
    size_t          n;
    unsigned char   out[32];
    static const char  *bad[] = {
        "Z",            /* 4k+1 characters */
        "Zm9vY",
        "Zg==",         /* padding */
        "Zg=",
        "Zm8=",
        "====",
        "+/+/",         /* standard alphabet */
        "Zm9v\n",       /* whitespace */
        " Zm9v",
        "Zm 9v",
        "Zm9v\t",
        "Zh",           /* non-canonical: unused bits set */
        "Zm9",
        "Zm-",
        "Z.9v",
        "Zm9v%3D",
        "\xc3\xa9\xc3\xa9"
    };
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dec(bad[i], out, sizeof(out), &n), -1);
    }

    /* an embedded NUL is not an alphabet character */
    assert_int_equal(smart_b64url_decode("Zm\0v", 4, out, sizeof(out), &n),
                     -1);

    /* every single byte outside the alphabet is refused */
    for (i = 0; i < 256; i++) {
        char  s[4] = { 'A', 'A', 'A', (char) i };

        if ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z')
            || (i >= '0' && i <= '9') || i == '-' || i == '_')
        {
            assert_int_equal(smart_b64url_decode(s, 4, out, sizeof(out), &n),
                             0);

        } else {
            assert_int_equal(smart_b64url_decode(s, 4, out, sizeof(out), &n),
                             -1);
        }
    }
}


static void
test_decode_capacity(void **state)
{
    size_t          n;
    unsigned char   out[8];

    (void) state;

    memset(out, 0xaa, sizeof(out));
    assert_int_equal(smart_b64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
    assert_int_equal(out[5], 0xaa);
    assert_int_equal(smart_b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
    assert_int_equal(out[6], 0xaa);
    assert_int_equal(smart_b64url_decode("Zm9vYmE", 7, out, 4, &n), -1);
    assert_int_equal(smart_b64url_decode("Zm9vYmE", 7, out, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_true(SMART_B64URL_DECODED_MAX(7) >= 5);
    assert_true(SMART_B64URL_DECODED_MAX(8) >= 6);
}


static void
test_encode(void **state)
{
    char    buf[16];
    size_t  i, n;
    static const struct {
        const char  *in, *out;
    } v[] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" }, { "\xfb\xff\xbf", "+/+/" }
    };

    (void) state;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        n = smart_b64_encode(buf, sizeof(buf), (const unsigned char *) v[i].in,
                             strlen(v[i].in));
        assert_int_equal(n, strlen(v[i].out));
        assert_int_equal(n, SMART_B64_ENCODED_LEN(strlen(v[i].in)));
        assert_string_equal(buf, v[i].out);
    }

    /* snprintf semantics: the full length, a truncated NUL-ended text */
    assert_int_equal(smart_b64_encode(NULL, 0, (const unsigned char *) "foo",
                                      3), 4);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(smart_b64_encode(buf, 3, (const unsigned char *) "foo",
                                      3), 4);
    assert_string_equal(buf, "Zm");
    assert_int_equal(buf[3], 'x');
    assert_int_equal(smart_b64_encode(buf, 1, (const unsigned char *) "foo",
                                      3), 4);
    assert_string_equal(buf, "");
    assert_int_equal(smart_b64_encode(buf, 5, (const unsigned char *) "foo",
                                      3), 4);
    assert_string_equal(buf, "Zm9v");
    assert_int_equal(smart_b64_encode(buf, 7, (const unsigned char *) "foob",
                                      4), 8);
    assert_string_equal(buf, "Zm9vYg");

    assert_int_equal(smart_b64_encode(NULL, 0, (const unsigned char *) "",
                                      SIZE_MAX), (size_t) -1);
}


static void
test_roundtrip(void **state)
{
    char           enc[400];
    size_t         len, i, n;
    unsigned char  in[256], out[256];

    (void) state;

    for (i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char) (i * 37 + 11);
    }

    for (len = 0; len <= sizeof(in); len++) {
        n = smart_b64_encode(enc, sizeof(enc), in, len);

        for (i = 0; i < n; i++) {
            if (enc[i] == '+') {
                enc[i] = '-';
            } else if (enc[i] == '/') {
                enc[i] = '_';
            } else if (enc[i] == '=') {
                break;
            }
        }

        assert_int_equal(smart_b64url_decode(enc, i, out, sizeof(out), &n),
                         0);
        assert_int_equal(n, len);
        assert_memory_equal(out, in, len);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_decode_strict),
        cmocka_unit_test(test_decode_capacity),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_roundtrip)
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
