
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of smart_audit_record.c: canonical form and hash chain,
 * NDJSON round trip (hostile values included), XADD argv, BALP action and
 * outcome, AuditEvent mapping, and the chain verifier (altered, broken,
 * gap, duplicate, conflict, trimmed start).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "smart_audit_record.h"


typedef struct {
    smart_audit_record_t  rec;
    char                  seq[24];
    char                  prev[SMART_AUDIT_HASH_LEN + 1];
    char                  hash[SMART_AUDIT_HASH_LEN + 1];
} chained_t;


static void
set(smart_audit_record_t *rec, smart_audit_field_e f, const char *v)
{
    rec->f[f].data = v;
    rec->f[f].len = strlen(v);
}


static void
fill(smart_audit_record_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    set(rec, SMART_AUDIT_F_V, "1");
    set(rec, SMART_AUDIT_F_TS, "2024-01-02T03:04:05.678Z");
    set(rec, SMART_AUDIT_F_CID, "abcdef12-0001");
    set(rec, SMART_AUDIT_F_TENANT, "clinic");
    set(rec, SMART_AUDIT_F_CLIENT_ID, "app-1");
    set(rec, SMART_AUDIT_F_ISS, "https://issuer.example.test");
    set(rec, SMART_AUDIT_F_SUB, "alice");
    set(rec, SMART_AUDIT_F_FHIR_USER, "Practitioner/9");
    set(rec, SMART_AUDIT_F_PATIENT, "123");
    set(rec, SMART_AUDIT_F_JTI, "j1");
    set(rec, SMART_AUDIT_F_METHOD, "GET");
    set(rec, SMART_AUDIT_F_RESOURCE, "Observation");
    set(rec, SMART_AUDIT_F_INTERACTION, "search-type");
    set(rec, SMART_AUDIT_F_ACTION, "E");
    set(rec, SMART_AUDIT_F_QUERY, "cGF0aWVudD0xMjM=");
    set(rec, SMART_AUDIT_F_DECISION, "allow");
    set(rec, SMART_AUDIT_F_REASON, "ok");
    set(rec, SMART_AUDIT_F_STATUS, "200");
    set(rec, SMART_AUDIT_F_OUTCOME, "0");
    set(rec, SMART_AUDIT_F_UPSTREAM_STATUS, "200");
    set(rec, SMART_AUDIT_F_UPSTREAM_MS, "3");
    set(rec, SMART_AUDIT_F_TOTAL_MS, "4");
    set(rec, SMART_AUDIT_F_REMOTE_ADDR, "127.0.0.1");
    set(rec, SMART_AUDIT_F_BYTES_SENT, "321");
    set(rec, SMART_AUDIT_F_WORKER, "w1");
    set(rec, SMART_AUDIT_F_SEQ, "1");
    set(rec, SMART_AUDIT_F_PREV, smart_audit_zero_hash);
}


/* A chain of n records of worker w1 as the module builds it. */

static void
chain(chained_t *c, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        fill(&c[i].rec);
        snprintf(c[i].seq, sizeof(c[i].seq), "%zu", i + 1);
        set(&c[i].rec, SMART_AUDIT_F_SEQ, c[i].seq);
        memcpy(c[i].prev, i ? c[i - 1].hash : smart_audit_zero_hash,
               SMART_AUDIT_HASH_LEN + 1);
        set(&c[i].rec, SMART_AUDIT_F_PREV, c[i].prev);
        assert_int_equal(smart_audit_hash(&c[i].rec, c[i].hash),
                         SMART_AUDIT_OK);
        set(&c[i].rec, SMART_AUDIT_F_HASH, c[i].hash);
    }
}


static void
test_canonical(void **state)
{
    char                  buf[4096], h1[65], h2[65];
    size_t                n;
    smart_audit_record_t  rec;

    (void) state;

    fill(&rec);
    n = smart_audit_canonical(&rec, buf, sizeof(buf));
    assert_true(n < sizeof(buf));
    assert_memory_equal(buf, "v=1:1\nts=24:2024-01-02T03:04:05.678Z\n", 37);
    assert_null(strstr(buf, "hash="));
    assert_non_null(strstr(buf, "\nprev=64:0000"));

    /* the length prefix keeps field boundaries unambiguous */
    assert_int_equal(smart_audit_hash(&rec, h1), SMART_AUDIT_OK);
    set(&rec, SMART_AUDIT_F_TENANT, "clinicapp-1");
    set(&rec, SMART_AUDIT_F_CLIENT_ID, "");
    assert_int_equal(smart_audit_hash(&rec, h2), SMART_AUDIT_OK);
    assert_string_not_equal(h1, h2);

    /* the full length whatever the room */
    assert_int_equal(smart_audit_canonical(&rec, buf, 10),
                     smart_audit_canonical(&rec, NULL, 0));

    /* byte for byte the documented form, written out with snprintf() */
    {
        int     i;
        char    want[4096];
        size_t  w;

        w = 0;
        for (i = 0; i < SMART_AUDIT_F_HASH; i++) {
            w += (size_t) snprintf(want + w, sizeof(want) - w, "%s=%zu:",
                                   smart_audit_field_name(
                                       (smart_audit_field_e) i),
                                   rec.f[i].len);
            if (rec.f[i].len != 0) {
                memcpy(want + w, rec.f[i].data, rec.f[i].len);
                w += rec.f[i].len;
            }

            want[w++] = '\n';
        }

        n = smart_audit_canonical(&rec, buf, sizeof(buf));
        assert_int_equal(n, w);
        assert_memory_equal(buf, want, w);
    }
}


static void
test_sanitize(void **state)
{
    char    out[16];
    size_t  n;

    (void) state;

    n = smart_audit_sanitize(out, sizeof(out), "a\nb\x01\xff\"\\", 7);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a?b??\"\\", 7);

    /* a character is never cut in half */
    n = smart_audit_sanitize(out, 2, "a\xc3\xa9", 3);
    assert_int_equal(n, 1);
    n = smart_audit_sanitize(out, 3, "a\xc3\xa9", 3);
    assert_int_equal(n, 3);
}


static void
test_ndjson_roundtrip(void **state)
{
    int                   i;
    char                  line[8192], *storage;
    size_t                n;
    smart_audit_record_t  rec, back;

    (void) state;

    fill(&rec);
    set(&rec, SMART_AUDIT_F_SUB, "quote\" back\\slash \xc3\xa9");
    set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);

    n = smart_audit_ndjson(&rec, line, sizeof(line));
    assert_true(n < sizeof(line));
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1));

    assert_int_equal(smart_audit_parse_json(line, n, &back, &storage),
                     SMART_AUDIT_OK);

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        assert_int_equal(back.f[i].len, rec.f[i].len);
        assert_memory_equal(back.f[i].data, rec.f[i].data, rec.f[i].len);
    }

    free(storage);
}


/* The JSON rendering before the table-driven one, as the reference. */

static size_t
ref_json(char *dst, size_t n, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    dst[n++] = '"';

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char) c;

        } else if (c < 0x20 || c == 0x7f) {
            n += sprintf(dst + n, "\\u%04x", c);

        } else {
            dst[n++] = (char) c;
        }
    }

    dst[n++] = '"';

    return n;
}


static size_t
ref_ndjson(const smart_audit_record_t *rec, char *dst)
{
    int     i;
    size_t  n;

    n = 0;
    dst[n++] = '{';

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        if (i != 0) {
            dst[n++] = ',';
        }

        n = ref_json(dst, n, smart_audit_field_name(i),
                     strlen(smart_audit_field_name(i)));
        dst[n++] = ':';
        n = ref_json(dst, n, rec->f[i].data, rec->f[i].len);
    }

    dst[n++] = '}';
    dst[n++] = '\n';

    return n;
}


static void
test_ndjson_bytes(void **state)
{
    int                   c;
    char                  all[256], line[8192], ref[8192];
    size_t                n, r;
    smart_audit_record_t  rec;

    (void) state;

    for (c = 0; c < 256; c++) {
        all[c] = (char) c;
    }

    /* the renderings copy names as 16-byte pieces (smart_audit_names16) */
    for (c = 0; c < SMART_AUDIT_F__COUNT; c++) {
        assert_true(strlen(smart_audit_field_name(c)) < 16);
    }

    fill(&rec);
    set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);
    rec.f[SMART_AUDIT_F_SUB].data = all;
    rec.f[SMART_AUDIT_F_SUB].len = sizeof(all);
    rec.f[SMART_AUDIT_F_JTI].data = NULL;
    rec.f[SMART_AUDIT_F_JTI].len = 0;
    set(&rec, SMART_AUDIT_F_REASON, "\"\\\"");

    r = ref_ndjson(&rec, ref);
    n = smart_audit_ndjson(&rec, line, sizeof(line));
    assert_int_equal(n, r);
    assert_memory_equal(line, ref, r);

    /* the size alone, and nothing written when it does not fit */
    assert_int_equal(smart_audit_ndjson(&rec, NULL, 0), r);
    memset(line, 'x', sizeof(line));
    assert_int_equal(smart_audit_ndjson(&rec, line, r - 1), r);
    assert_int_equal(line[0], 'x');

    /* exactly the room needed (the counting path) */
    assert_int_equal(smart_audit_ndjson(&rec, line, r), r);
    assert_memory_equal(line, ref, r);

    /* values of every length 0..40 at every offset of the escapes */
    for (c = 0; c < 2000; c++) {
        size_t  k, len;
        char    v[64];

        len = (size_t) (c % 41);

        for (k = 0; k < len; k++) {
            v[k] = (char) ((k * 7 + (size_t) c) % 9 == 0
                           ? "\"\\\x7f\x01\x1f \x80\xff"[(c + k) % 9]
                           : 'a' + (char) (k % 26));
        }

        fill(&rec);
        set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);
        rec.f[SMART_AUDIT_F_SUB].data = v;
        rec.f[SMART_AUDIT_F_SUB].len = len;

        r = ref_ndjson(&rec, ref);
        assert_int_equal(smart_audit_ndjson(&rec, line, sizeof(line)), r);
        assert_memory_equal(line, ref, r);
        assert_int_equal(smart_audit_ndjson(&rec, line, r), r);
        assert_memory_equal(line, ref, r);
    }
}


static void
test_parse_hostile(void **state)
{
    char                  line[8192], *storage;
    size_t                n;
    smart_audit_record_t  rec, back;

    (void) state;

    assert_int_equal(smart_audit_parse_json("", 0, &back, &storage),
                     SMART_AUDIT_ERR_SYNTAX);
    assert_int_equal(smart_audit_parse_json("[1]", 3, &back, &storage),
                     SMART_AUDIT_ERR_SYNTAX);
    assert_int_equal(smart_audit_parse_json("{\"v\":\"1\"}", 9, &back,
                                            &storage),
                     SMART_AUDIT_ERR_FIELD);
    assert_int_equal(smart_audit_parse_json("{\"v\":1}", 7, &back, &storage),
                     SMART_AUDIT_ERR_SYNTAX);

    /* an unknown extra field and a truncated line are refused */
    fill(&rec);
    set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);
    n = smart_audit_ndjson(&rec, line, sizeof(line));
    assert_int_equal(smart_audit_parse_json(line, n / 2, &back, &storage),
                     SMART_AUDIT_ERR_SYNTAX);
    memcpy(line + n - 2, ",\"x\":\"y\"}\n", 10);
    assert_int_equal(smart_audit_parse_json(line, n + 8, &back, &storage),
                     SMART_AUDIT_ERR_FIELD);
    assert_null(storage);
}


static void
test_xadd(void **state)
{
    int                   argc;
    size_t                argvlen[SMART_AUDIT_XADD_ARGC];
    const char           *argv[SMART_AUDIT_XADD_ARGC];
    smart_audit_record_t  rec;

    (void) state;

    fill(&rec);
    argc = smart_audit_xadd_argv(&rec, "smart:audit", 11, "1000000", argv,
                                 argvlen);
    assert_int_equal(argc, SMART_AUDIT_XADD_ARGC);
    assert_string_equal(argv[0], "XADD");
    assert_memory_equal(argv[1], "smart:audit", 11);
    assert_string_equal(argv[2], "MAXLEN");
    assert_string_equal(argv[3], "~");
    assert_string_equal(argv[4], "1000000");
    assert_string_equal(argv[5], "*");
    assert_string_equal(argv[6], "v");
    assert_memory_equal(argv[7], "1", 1);
    assert_string_equal(argv[argc - 2], "hash");
    assert_int_equal(argvlen[argc - 1], 0);
}


/* hiredis' redisFormatCommandArgv(), written out: the reference. */

static size_t
resp_of_argv(char *dst, int argc, const char **argv, const size_t *argvlen)
{
    int     i;
    size_t  n;

    n = (size_t) sprintf(dst, "*%d\r\n", argc);

    for (i = 0; i < argc; i++) {
        n += (size_t) sprintf(dst + n, "$%zu\r\n", argvlen[i]);
        memcpy(dst + n, argv[i], argvlen[i]);
        n += argvlen[i];
        memcpy(dst + n, "\r\n", 2);
        n += 2;
    }

    return n;
}


static void
test_xadd_resp(void **state)
{
    int                   i, argc;
    char                  want[8192], got[8192], prefix[256];
    char                  big[3000];
    size_t                n, plen, argvlen[SMART_AUDIT_XADD_ARGC];
    const char           *argv[SMART_AUDIT_XADD_ARGC];
    smart_audit_record_t  rec;

    (void) state;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        assert_int_equal(smart_audit_field_index(
                             smart_audit_field_name((smart_audit_field_e) i),
                             strlen(smart_audit_field_name(
                                 (smart_audit_field_e) i))),
                         i);
    }

    plen = smart_audit_xadd_prefix("smart:audit", 11, "1000000", NULL, 0);
    assert_true(plen < sizeof(prefix));
    assert_int_equal(smart_audit_xadd_prefix("smart:audit", 11, "1000000",
                                             prefix, plen - 1),
                     plen);
    assert_int_equal(smart_audit_xadd_prefix("smart:audit", 11, "1000000",
                                             prefix, sizeof(prefix)),
                     plen);

    fill(&rec);
    memset(big, 'x', sizeof(big));
    big[5] = '\r';
    big[6] = '\n';
    big[7] = '$';

    for (i = 0; i < 3; i++) {
        if (i == 1) {
            set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);
        }

        if (i == 2) {
            rec.f[SMART_AUDIT_F_SUB].data = big;
            rec.f[SMART_AUDIT_F_SUB].len = sizeof(big);
        }

        argc = smart_audit_xadd_argv(&rec, "smart:audit", 11, "1000000",
                                     argv, argvlen);
        n = resp_of_argv(want, argc, argv, argvlen);

        assert_int_equal(smart_audit_xadd_resp(&rec, prefix, plen, NULL, 0),
                         n);
        assert_int_equal(smart_audit_xadd_resp(&rec, prefix, plen, got,
                                               n - 1),
                         n);
        assert_int_equal(smart_audit_xadd_resp(&rec, prefix, plen, got,
                                               sizeof(got)),
                         n);
        assert_memory_equal(got, want, n);
    }
}


static void
test_sanitize_ascii(void **state)
{
    char    out[64];
    size_t  n;

    (void) state;

    /* the printable-ASCII fast path stops exactly at cap and at others */
    n = smart_audit_sanitize(out, 4, "abcdefgh", 8);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "abcd", 4);
    n = smart_audit_sanitize(out, 0, "abc", 3);
    assert_int_equal(n, 0);
    n = smart_audit_sanitize(out, sizeof(out), "ab\x7f" "c\xc3\xa9" "d\te",
                             9);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "ab?c\xc3\xa9" "d?e", 9);
    n = smart_audit_sanitize(out, 5, "ab\xc3\xa9\xc3\xa9", 6);
    assert_int_equal(n, 4);
}


static void
test_action_outcome(void **state)
{
    (void) state;

    assert_string_equal(smart_audit_action("create", 6, "POST", 4), "C");
    assert_string_equal(smart_audit_action("read", 4, "GET", 3), "R");
    assert_string_equal(smart_audit_action("vread", 5, "GET", 3), "R");
    assert_string_equal(smart_audit_action("update", 6, "PUT", 3), "U");
    assert_string_equal(smart_audit_action("patch", 5, "PATCH", 5), "U");
    assert_string_equal(smart_audit_action("delete", 6, "DELETE", 6), "D");
    assert_string_equal(smart_audit_action("search-type", 11, "GET", 3),
                        "E");
    assert_string_equal(smart_audit_action("operation", 9, "POST", 4), "E");
    assert_string_equal(smart_audit_action("", 0, "GET", 3), "R");
    assert_string_equal(smart_audit_action("", 0, "DELETE", 6), "D");
    assert_string_equal(smart_audit_action("", 0, "OPTIONS", 7), "E");

    assert_string_equal(smart_audit_outcome(200), "0");
    assert_string_equal(smart_audit_outcome(304), "0");
    assert_string_equal(smart_audit_outcome(403), "4");
    assert_string_equal(smart_audit_outcome(502), "8");
}


static void
test_auditevent(void **state)
{
    char                  *s;
    json_t                *ev, *ent;
    json_error_t           err;
    smart_audit_record_t   rec;

    (void) state;

    fill(&rec);
    set(&rec, SMART_AUDIT_F_HASH, smart_audit_zero_hash);
    s = smart_audit_auditevent(&rec, "gw-1");
    assert_non_null(s);
    ev = json_loads(s, 0, &err);
    free(s);
    assert_non_null(ev);

    assert_string_equal(json_string_value(json_object_get(ev,
                        "resourceType")), "AuditEvent");
    assert_string_equal(json_string_value(json_object_get(
                        json_object_get(ev, "type"), "code")), "rest");
    assert_string_equal(json_string_value(json_object_get(
                        json_array_get(json_object_get(ev, "subtype"), 0),
                        "code")), "search-type");
    assert_string_equal(json_string_value(json_object_get(ev, "action")),
                        "E");
    assert_string_equal(json_string_value(json_object_get(ev, "outcome")),
                        "0");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                        json_object_get(ev, "source"), "observer"),
                        "display")), "gw-1");
    assert_string_equal(json_string_value(json_object_get(
                        json_object_get(ev, "source"), "site")), "clinic");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                        json_array_get(json_object_get(ev, "agent"), 1),
                        "who"), "reference")), "Practitioner/9");

    ent = json_object_get(ev, "entity");
    assert_int_equal(json_array_size(ent), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                        json_array_get(ent, 0), "what"), "reference")),
                        "Patient/123");
    assert_string_equal(json_string_value(json_object_get(
                        json_array_get(ent, 1), "query")),
                        "cGF0aWVudD0xMjM=");
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                        json_object_get(json_array_get(ent, 2), "what"),
                        "identifier"), "value")), "abcdef12-0001");

    json_decref(ev);
}


typedef struct {
    int  counts[8];
    uint64_t  seq[8];
} seen_t;


static void
collect(void *data, const char *worker, uint64_t seq, smart_audit_chain_e what,
    uint64_t detail)
{
    seen_t  *s = data;

    (void) worker;
    (void) detail;

    s->counts[what]++;
    s->seq[what] = seq;
}


static void
test_verifier(void **state)
{
    size_t                   i;
    seen_t                   seen;
    chained_t                c[6];
    smart_audit_verifier_t  *v;
    smart_audit_chain_info_t info;

    (void) state;

    chain(c, 6);

    /* intact, in any order */
    v = smart_audit_verifier_new();
    assert_non_null(v);

    for (i = 6; i > 0; i--) {
        assert_int_equal(smart_audit_verifier_add(v, &c[i - 1].rec),
                         SMART_AUDIT_CHAIN_OK);
    }

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(smart_audit_verifier_finish(v, collect, &seen), 0);
    assert_int_equal(smart_audit_verifier_info(v, 0, &info), 0);
    assert_int_equal(info.records, 6);
    assert_int_equal(info.first, 1);
    assert_int_equal(info.last, 6);
    smart_audit_verifier_free(v);

    /* altered, missing, duplicated */
    v = smart_audit_verifier_new();
    set(&c[1].rec, SMART_AUDIT_F_STATUS, "404");
    assert_int_equal(smart_audit_verifier_add(v, &c[0].rec),
                     SMART_AUDIT_CHAIN_OK);
    assert_int_equal(smart_audit_verifier_add(v, &c[1].rec),
                     SMART_AUDIT_CHAIN_ALTERED);
    assert_int_equal(smart_audit_verifier_add(v, &c[2].rec),
                     SMART_AUDIT_CHAIN_OK);
    assert_int_equal(smart_audit_verifier_add(v, &c[4].rec),
                     SMART_AUDIT_CHAIN_OK);
    assert_int_equal(smart_audit_verifier_add(v, &c[4].rec),
                     SMART_AUDIT_CHAIN_OK);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(smart_audit_verifier_finish(v, collect, &seen), 2);
    assert_int_equal(seen.counts[SMART_AUDIT_CHAIN_ALTERED], 1);
    assert_int_equal(seen.seq[SMART_AUDIT_CHAIN_ALTERED], 2);
    assert_int_equal(seen.counts[SMART_AUDIT_CHAIN_GAP], 1);
    assert_int_equal(seen.seq[SMART_AUDIT_CHAIN_GAP], 5);
    assert_int_equal(seen.counts[SMART_AUDIT_CHAIN_DUPLICATE], 1);
    smart_audit_verifier_free(v);
    set(&c[1].rec, SMART_AUDIT_F_STATUS, "200");

    /* a record re-hashed after an edit breaks the next link */
    v = smart_audit_verifier_new();
    set(&c[3].rec, SMART_AUDIT_F_STATUS, "500");
    assert_int_equal(smart_audit_hash(&c[3].rec, c[3].hash), SMART_AUDIT_OK);

    for (i = 2; i < 6; i++) {
        assert_int_equal(smart_audit_verifier_add(v, &c[i].rec),
                         SMART_AUDIT_CHAIN_OK);
    }

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(smart_audit_verifier_finish(v, collect, &seen), 1);
    assert_int_equal(seen.counts[SMART_AUDIT_CHAIN_BROKEN], 1);
    assert_int_equal(seen.seq[SMART_AUDIT_CHAIN_BROKEN], 5);
    smart_audit_verifier_free(v);

    /* a bad seq is reported, never parsed loosely */
    v = smart_audit_verifier_new();
    set(&c[0].rec, SMART_AUDIT_F_SEQ, "01");
    assert_int_equal(smart_audit_verifier_add(v, &c[0].rec),
                     SMART_AUDIT_CHAIN_BAD_SEQ);
    assert_int_equal(smart_audit_verifier_finish(v, collect, &seen), 1);
    smart_audit_verifier_free(v);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_ndjson_roundtrip),
        cmocka_unit_test(test_ndjson_bytes),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_xadd),
        cmocka_unit_test(test_xadd_resp),
        cmocka_unit_test(test_sanitize_ascii),
        cmocka_unit_test(test_action_outcome),
        cmocka_unit_test(test_auditevent),
        cmocka_unit_test(test_verifier),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
