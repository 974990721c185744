
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the version pins of writes after a pre-read (smart_pin.[ch]):
 * the entity-tag taken from the ETag or meta.versionId, the client's own
 * If-Match kept, replaced or refused, and Bundle entries pinned with every
 * other byte kept.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smart_pin.h"


static void
tag_is(const char *etag, const char *vid, const char *want)
{
    int      rc;
    char     out[SMART_PIN_TAG_MAX + 1];
    size_t   n;

    rc = smart_pin_tag(etag, etag ? strlen(etag) : 0, vid,
                       vid ? strlen(vid) : 0, out, sizeof(out), &n);

    if (want == NULL) {
        assert_int_equal(rc, -1);
        return;
    }

    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}


static void
test_tag(void **state)
{
    (void) state;

    tag_is("W/\"3\"", NULL, "W/\"3\"");
    tag_is(" W/\"3\" ", "9", "W/\"3\"");
    tag_is("\"abc\"", NULL, "\"abc\"");          /* strong stays strong */
    tag_is(NULL, "3", "W/\"3\"");
    tag_is("W/\"1\", W/\"2\"", "3", "W/\"3\"");  /* a list: versionId */
    tag_is("*", "3", "W/\"3\"");
    tag_is("W/\"a b\"", "4", "W/\"4\"");         /* not one tag */
    tag_is("W/\"a\\\"b\"", "5", "W/\"5\"");
    tag_is("3", "6", "W/\"6\"");                 /* unquoted ETag */
    tag_is(NULL, NULL, NULL);
    tag_is("*", NULL, NULL);
    tag_is(NULL, "a\"b", NULL);
    tag_is(NULL, "", NULL);
    tag_is(NULL, "\x01", NULL);
    tag_is(NULL, "caf\xc3\xa9", NULL);

    /* a versionId is never read as an entity-tag: its first letter may be
       a W, and it may hold a slash */
    tag_is(NULL, "Wx1", "W/\"Wx1\"");
    tag_is(NULL, "W", "W/\"W\"");
    tag_is(NULL, "W/3", "W/\"W/3\"");
    tag_is(NULL, "W/\"3\"", NULL);
    tag_is(NULL, "a,b", NULL);
}


static void
test_tag_bounded(void **state)
{
    char     big[200], out[8];
    size_t   n;

    (void) state;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    assert_int_equal(smart_pin_tag(NULL, 0, big, strlen(big), out,
                                   sizeof(out), &n), -1);
    assert_int_equal(smart_pin_tag(NULL, 0, "123", 3, out, sizeof(out), &n),
                     0);
    assert_string_equal(out, "W/\"123\"");
    /* exactly one byte short */
    assert_int_equal(smart_pin_tag(NULL, 0, "1234", 4, out, sizeof(out),
                                   &n), -1);
}


static smart_pin_e
client(const char *c, const char *tag)
{
    return smart_pin_client(c, c ? strlen(c) : 0, tag, strlen(tag));
}


static void
test_client(void **state)
{
    (void) state;

    assert_int_equal(client(NULL, "W/\"3\""), SMART_PIN_SET);
    assert_int_equal(client("", "W/\"3\""), SMART_PIN_SET);
    assert_int_equal(client("  ", "W/\"3\""), SMART_PIN_SET);
    assert_int_equal(client("*", "W/\"3\""), SMART_PIN_SET);
    assert_int_equal(client(" * ", "W/\"3\""), SMART_PIN_SET);

    /* a list (or several headers joined) keeps the client's guard: the
       version read when it names it, else a conflict; nothing unreadable
       in it is ignored */
    assert_int_equal(client("W/\"2\", W/\"3\"", "W/\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("W/\"3\",W/\"2\"", "\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("W/\"3\", , ", "W/\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("W/\"1\", W/\"2\"", "W/\"3\""),
                     SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"3\", x y", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("*, W/\"3\"", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"3\", *", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("**", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client(",", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client(" , ,", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"3\"", "W/\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("\"3\"", "W/\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("3", "W/\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client(" W/\"3\"\t", "\"3\""), SMART_PIN_KEEP);
    assert_int_equal(client("W/\"4\"", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"33\"", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"\"", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"3 \"", "W/\"3\""), SMART_PIN_CONFLICT);
    assert_int_equal(client("W/\"3\"", "bad tag"), SMART_PIN_BAD);
}


static smart_pin_e
pin(const char *body, const smart_pin_entry_t *pins, size_t n,
    const char *want, size_t *entry)
{
    char         *out, *p;
    size_t        outlen, len;
    smart_pin_e   rc;

    len = strlen(body);
    p = malloc(len);
    assert_non_null(p);
    memcpy(p, body, len);      /* not terminated: ASan sees reads past */

    rc = smart_pin_bundle(p, len, pins, n, &out, &outlen, entry);
    free(p);

    if (want != NULL) {
        assert_int_equal(rc, SMART_PIN_SET);
        assert_non_null(out);
        assert_int_equal(outlen, strlen(want));
        assert_string_equal(out, want);

    } else {
        assert_null(out);
    }

    free(out);

    return rc;
}


static void
test_bundle(void **state)
{
    size_t             e;
    smart_pin_entry_t  two[] = {
        { 0, "W/\"3\"", 5 },
        { 2, "\"x7\"", 4 }
    };

    (void) state;

    /* added first in request; the third entry's empty request too; the
       second entry (no pin) and every other byte untouched */
    pin("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"request\":{\"method\":\"DELETE\",\"url\":\"A/1\"}},"
        "{\"request\" : { \"method\":\"DELETE\", \"url\":\"A/2\" } },"
        "{\"resource\":{\"n\":1.50},\"request\": { } }]}",
        two, 2,
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"request\":{\"ifMatch\":\"W/\\\"3\\\"\",\"method\":\"DELETE\","
        "\"url\":\"A/1\"}},"
        "{\"request\" : { \"method\":\"DELETE\", \"url\":\"A/2\" } },"
        "{\"resource\":{\"n\":1.50},\"request\": {\"ifMatch\":"
        "\"\\\"x7\\\"\" } }]}", &e);

    /* "*" and lists replaced in place, key spelling kept */
    pin("{\"entry\":[{\"request\":{\"method\":\"PUT\",\"\\u0069fMatch\":"
        "\"*\",\"url\":\"A/1\"}}]}", two, 1,
        "{\"entry\":[{\"request\":{\"method\":\"PUT\",\"\\u0069fMatch\":"
        "\"W/\\\"3\\\"\",\"url\":\"A/1\"}}]}", &e);

    /* the client's own guard naming the version read: written as the
       version read, whatever its spelling, a list naming it too */
    pin("{\"entry\":[{\"request\":{\"ifMatch\":\"W/\\\"3\\\"\"}}]}", two, 1,
        "{\"entry\":[{\"request\":{\"ifMatch\":\"W/\\\"3\\\"\"}}]}", &e);
    pin("{\"entry\":[{\"request\":{\"ifMatch\":\"3\"}}]}", two, 1,
        "{\"entry\":[{\"request\":{\"ifMatch\":\"W/\\\"3\\\"\"}}]}", &e);
    pin("{\"entry\":[{\"request\":{\"ifMatch\":\"W/\\\"1\\\", \\\"3\\\"\"}}]}",
        two, 1,
        "{\"entry\":[{\"request\":{\"ifMatch\":\"W/\\\"3\\\"\"}}]}", &e);
}


static void
test_bundle_refused(void **state)
{
    size_t             e;
    smart_pin_entry_t  one[] = { { 1, "W/\"3\"", 5 } };
    smart_pin_entry_t  bad[] = { { 1, "W/\"3\"", 5 }, { 1, "W/\"3\"", 5 } };
    smart_pin_entry_t  far[] = { { 5, "W/\"3\"", 5 } };

    (void) state;

    e = 99;
    assert_int_equal(pin("{\"entry\":[{},{\"request\":{\"ifMatch\":"
                         "\"W/\\\"2\\\"\"}}]}", one, 1, NULL, &e),
                     SMART_PIN_CONFLICT);
    assert_int_equal(e, 1);

    assert_int_equal(pin("{\"entry\":[{},{\"request\":{\"ifMatch\":"
                         "\"W/\\\"1\\\", W/\\\"2\\\"\"}}]}", one, 1, NULL, &e),
                     SMART_PIN_CONFLICT);
    assert_int_equal(e, 1);

    assert_int_equal(pin("{\"entry\":[{},{\"request\":{\"ifMatch\":3}}]}",
                         one, 1, NULL, &e), SMART_PIN_CONFLICT);
    assert_int_equal(pin("{\"entry\":[{},{\"request\":{}}]}", bad, 2, NULL,
                         &e), SMART_PIN_BAD);
    assert_int_equal(pin("{\"entry\":[{},{\"request\":{}}]}", far, 1, NULL,
                         &e), SMART_PIN_BAD);
    assert_int_equal(pin("{\"entry\":[{},{}]}", one, 1, NULL, &e),
                     SMART_PIN_BAD);
    assert_int_equal(pin("{\"entry\":{}}", one, 1, NULL, &e), SMART_PIN_BAD);
    assert_int_equal(pin("{\"entry\":[{},{\"request\":{}}]", one, 1, NULL,
                         &e), SMART_PIN_BAD);
    assert_int_equal(pin("{\"entry\":[{},{\"request\":{}},{\"a\":1,"
                         "\"a\":2}]}", one, 1, NULL, &e), SMART_PIN_BAD);

    /* a tag that is not one entity-tag (the caller's mistake) is refused
       before anything is written, whatever the entry holds */
    {
        char               quotes[SMART_PIN_TAG_MAX + 1];
        smart_pin_entry_t  q[1];

        memset(quotes, '"', SMART_PIN_TAG_MAX);
        quotes[SMART_PIN_TAG_MAX] = '\0';
        q[0].index = 1;
        q[0].tag = quotes;
        q[0].len = SMART_PIN_TAG_MAX;

        assert_int_equal(pin("{\"entry\":[{},{\"request\":{}}]}", q, 1,
                             NULL, &e), SMART_PIN_BAD);
        assert_int_equal(pin("{\"entry\":[{},{\"request\":{\"ifMatch\":"
                             "\"*\"}}]}", q, 1, NULL, &e), SMART_PIN_BAD);

        q[0].tag = "3";
        q[0].len = 1;
        assert_int_equal(pin("{\"entry\":[{},{\"request\":{}}]}", q, 1,
                             NULL, &e), SMART_PIN_BAD);
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag),
        cmocka_unit_test(test_tag_bounded),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_bundle_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
