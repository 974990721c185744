
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the audit record (docs/audit.md).
 *
 * The fields and their names, sanitising, the BALP action and outcome, the
 * canonical form and its hash, and the two encodings the module writes for
 * every request: the NDJSON spool line and the XADD command in RESP.
 * Reading records back is in smart_audit_record_parse.c, the AuditEvent
 * mapping in smart_audit_record_event.c, the hash-chain verifier in
 * smart_audit_record_chain.c.  Plain C: no NGINX headers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "smart_audit_record_private.h"
#include "smart_text.h"


static const char  *smart_audit_names[SMART_AUDIT_F__COUNT] = {
    "v", "ts", "cid", "tenant", "client_id", "iss", "sub", "fhir_user",
    "patient", "jti", "method", "resource", "id", "interaction", "action",
    "query", "decision", "reason", "status", "outcome", "upstream_status",
    "upstream_ms", "total_ms", "remote_addr", "bytes_sent", "worker", "seq",
    "prev", "hash"
};


/*
 * The names again, NUL-padded to 16 bytes, for the per-record renderings:
 * one fixed-size copy of 16 bytes where the bytes after the name are
 * written again right after (the callers check); a memcpy() of a few bytes
 * of variable length is compiled to "rep movs", slow to start, and these
 * run twice for each of the ~30 fields of every record.
 */
static const char  smart_audit_names16[SMART_AUDIT_F__COUNT][16] = {
    "v", "ts", "cid", "tenant", "client_id", "iss", "sub", "fhir_user",
    "patient", "jti", "method", "resource", "id", "interaction", "action",
    "query", "decision", "reason", "status", "outcome", "upstream_status",
    "upstream_ms", "total_ms", "remote_addr", "bytes_sent", "worker", "seq",
    "prev", "hash"
};


/* strlen() of each name, so that the per-record paths never call it */
static const unsigned char  smart_audit_name_lens[SMART_AUDIT_F__COUNT] = {
    1, 2, 3, 6, 9, 3, 3, 9, 7, 3, 6, 8, 2, 11, 6, 5, 8, 6, 6, 7, 15, 11, 8,
    11, 10, 6, 3, 4, 4
};


const char  smart_audit_zero_hash[SMART_AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";


const char *
smart_audit_field_name(smart_audit_field_e field)
{
    if ((int) field < 0 || field >= SMART_AUDIT_F__COUNT) {
        return NULL;
    }

    return smart_audit_names[field];
}


int
smart_audit_field_index(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        if (smart_audit_name_lens[i] == len
            && memcmp(smart_audit_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


size_t
smart_audit_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
    size_t                n, k, out;
    uint32_t              cp;
    const unsigned char  *p;

    p = (const unsigned char *) src;
    out = 0;
    n = 0;

    while (n < len) {

        /* printable ASCII, by far the common case, is copied as it is */

        if (p[n] >= 0x20 && p[n] < 0x7f) {
            k = n + 1;

            while (k < len && p[k] >= 0x20 && p[k] < 0x7f) {
                k++;
            }

            if (k - n > cap - out) {
                k = n + (cap - out);
            }

            memcpy(dst + out, p + n, k - n);
            out += k - n;
            n = k;

            if (out == cap) {
                break;
            }

            continue;
        }

        k = smart_utf8_decode(p + n, len - n, &cp);

        if (k == 0 || cp < 0x20 || cp == 0x7f) {
            if (out + 1 > cap) {
                break;
            }

            dst[out++] = '?';
            n += (k == 0) ? 1 : k;
            continue;
        }

        if (out + k > cap) {
            break;
        }

        memcpy(dst + out, p + n, k);
        out += k;
        n += k;
    }

    return out;
}


int
smart_audit_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}


const char *
smart_audit_action(const char *interaction, size_t ilen, const char *method,
    size_t mlen)
{
    if (ilen != 0) {
        if (smart_audit_is(interaction, ilen, "create")) {
            return "C";
        }

        if (smart_audit_is(interaction, ilen, "read")
            || smart_audit_is(interaction, ilen, "vread")
            || smart_audit_is(interaction, ilen, "history-instance")
            || smart_audit_is(interaction, ilen, "capabilities"))
        {
            return "R";
        }

        if (smart_audit_is(interaction, ilen, "update")
            || smart_audit_is(interaction, ilen, "patch"))
        {
            return "U";
        }

        if (smart_audit_is(interaction, ilen, "delete")) {
            return "D";
        }

        /* searches, history of a type or the system, operations, bundles */
        return "E";
    }

    if (smart_audit_is(method, mlen, "GET")
        || smart_audit_is(method, mlen, "HEAD"))
    {
        return "R";
    }

    if (smart_audit_is(method, mlen, "POST")) {
        return "C";
    }

    if (smart_audit_is(method, mlen, "PUT")
        || smart_audit_is(method, mlen, "PATCH"))
    {
        return "U";
    }

    if (smart_audit_is(method, mlen, "DELETE")) {
        return "D";
    }

    return "E";
}


const char *
smart_audit_outcome(int status)
{
    if (status >= 500) {
        return "8";
    }

    if (status >= 400) {
        return "4";
    }

    return "0";
}


/* Decimal digits of v into p (no NUL); returns the end. */

static char *
smart_audit_dec(char *p, size_t v)
{
    char    tmp[24];
    size_t  n;

    /* lengths of audit values: almost always one or two digits */

    if (v < 10) {
        *p = (char) ('0' + v);
        return p + 1;
    }

    if (v < 100) {
        p[0] = (char) ('0' + v / 10);
        p[1] = (char) ('0' + v % 10);
        return p + 2;
    }

    n = sizeof(tmp);

    do {
        tmp[--n] = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    memcpy(p, tmp + n, sizeof(tmp) - n);

    return p + (sizeof(tmp) - n);
}


static size_t
smart_audit_dec_len(size_t v)
{
    size_t  n;

    n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }

    return n;
}


size_t
smart_audit_canonical(const smart_audit_record_t *rec, char *dst, size_t cap)
{
    int          i;
    char        *p;
    size_t       total, nlen;
    const char  *end;

    total = 0;

    for (i = 0; i < SMART_AUDIT_F_HASH; i++) {
        total += smart_audit_name_lens[i] + 2
                 + smart_audit_dec_len(rec->f[i].len) + rec->f[i].len + 1;
    }

    if (dst == NULL || total > cap) {
        return total;
    }

    p = dst;

    end = dst + total;

    for (i = 0; i < SMART_AUDIT_F_HASH; i++) {
        nlen = smart_audit_name_lens[i];

        /* what follows the name overwrites the padding */

        if (end - p >= 16) {
            memcpy(p, smart_audit_names16[i], 16);
        } else {
            memcpy(p, smart_audit_names[i], nlen);
        }

        p += nlen;
        *p++ = '=';
        p = smart_audit_dec(p, rec->f[i].len);
        *p++ = ':';

        if (rec->f[i].len != 0) {
            memcpy(p, rec->f[i].data, rec->f[i].len);
            p += rec->f[i].len;
        }

        *p++ = '\n';
    }

    return total;
}


smart_audit_status_e
smart_audit_hash(const smart_audit_record_t *rec, char *out)
{
    int            i, ok;
    char           stack[4096], *buf;
    size_t         len;
    unsigned int   mdlen;
    unsigned char  digest[EVP_MAX_MD_SIZE];

    static EVP_MD      *sha256;
    static const char   hex[] = "0123456789abcdef";

    /*
     * One pass over the canonical bytes (smart_audit_canonical()), in one
     * buffer and one digest call: this runs for every request, and a
     * streamed digest of ~30 small pieces costs several times more.
     */

    if (sha256 == NULL) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (sha256 == NULL) {
            return SMART_AUDIT_ERR_NOMEM;
        }
    }

    buf = stack;
    len = smart_audit_canonical(rec, stack, sizeof(stack));

    if (len == (size_t) -1) {
        return SMART_AUDIT_ERR_NOMEM;
    }

    if (len >= sizeof(stack)) {
        /* a record with unusually long fields: once more, on the heap */
        buf = malloc(len + 1);
        if (buf == NULL) {
            return SMART_AUDIT_ERR_NOMEM;
        }

        (void) smart_audit_canonical(rec, buf, len + 1);
    }

    ok = EVP_Digest(buf, len, digest, &mdlen, sha256, NULL) == 1
         && mdlen == 32;

    if (buf != stack) {
        free(buf);
    }

    if (!ok) {
        return SMART_AUDIT_ERR_NOMEM;
    }

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }

    out[SMART_AUDIT_HASH_LEN] = '\0';

    return SMART_AUDIT_OK;
}


/*
 * The bytes each input byte takes in a JSON string: 1 as it is, 2 for
 * \" and \\, 6 for \u00XX (controls and DEL).  Bytes >= 0x80 are copied:
 * values are sanitised (valid UTF-8) before they get here.
 */

static const unsigned char  smart_audit_json_len[256] = {
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};


#define SMART_AUDIT_ONES   0x0101010101010101ULL
#define SMART_AUDIT_HIGHS  0x8080808080808080ULL


/*
 * The length of the longest prefix of p[0..len) that JSON takes as it is.
 * Eight bytes at a time: a word is clean when none of its bytes is below
 * 0x20, '"', '\\' or DEL (the usual "has a zero byte" and "has a byte less
 * than n" word tests, exact as to whether, not where); the word with such a
 * byte, and the tail, are checked byte by byte.
 */

static size_t
smart_audit_json_clean(const unsigned char *p, size_t len)
{
    size_t    i;
    uint64_t  v, t, q, b, d;

    i = 0;

    while (len - i >= 8) {
        memcpy(&v, p + i, 8);

        q = v ^ (SMART_AUDIT_ONES * '"');
        b = v ^ (SMART_AUDIT_ONES * '\\');
        d = v ^ (SMART_AUDIT_ONES * 0x7f);

        t = ((v - SMART_AUDIT_ONES * 0x20) & ~v)
            | ((q - SMART_AUDIT_ONES) & ~q)
            | ((b - SMART_AUDIT_ONES) & ~b)
            | ((d - SMART_AUDIT_ONES) & ~d);

        if ((t & SMART_AUDIT_HIGHS) != 0) {
            break;
        }

        i += 8;
    }

    while (i < len && smart_audit_json_len[p[i]] == 1) {
        i++;
    }

    return i;
}


/* The escaped length of s[0..len), quotes excluded. */

static size_t
smart_audit_json_len_of(const char *s, size_t len)
{
    size_t                n, i;
    const unsigned char  *p;

    if (len == 0) {
        return 0;
    }

    p = (const unsigned char *) s;
    n = 0;
    i = 0;

    for ( ;; ) {
        i += smart_audit_json_clean(p + i, len - i);

        if (i == len) {
            return n + len;
        }

        n += smart_audit_json_len[p[i]] - 1;
        i++;
    }
}


/* Writes s[0..len) escaped, without quotes; dst has room for it. */

static char *
smart_audit_json_escape(char *dst, const char *s, size_t len)
{
    size_t                i, n;
    unsigned char         c;
    const unsigned char  *p;

    static const char  hex[] = "0123456789abcdef";

    p = (const unsigned char *) s;
    i = 0;

    for ( ;; ) {
        n = smart_audit_json_clean(p + i, len - i);
        memcpy(dst, s + i, n);
        dst += n;
        i += n;

        if (i == len) {
            return dst;
        }

        c = p[i++];
        *dst++ = '\\';

        if (smart_audit_json_len[c] == 2) {
            *dst++ = (char) c;

        } else {
            memcpy(dst, "u00", 3);
            dst[3] = hex[c >> 4];
            dst[4] = hex[c & 0x0f];
            dst += 5;
        }
    }
}


/*
 * One record as one NDJSON line: {"name":"value",...}\n in field order.
 * The names need no escaping (fixed lowercase identifiers).  When cap
 * holds the longest possible line (every byte escaped as \u00XX), the line
 * is written in one pass; otherwise its length is counted first.  Nothing
 * is written when it does not fit.
 */

size_t
smart_audit_ndjson(const smart_audit_record_t *rec, char *dst, size_t cap)
{
    int     i;
    char   *p;
    size_t  total, values;

    /* '{' + '}' + '\n', per field: "name":"value" and a comma but one */

    total = 3 + SMART_AUDIT_F__COUNT * 6 - 1;
    values = 0;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        total += smart_audit_name_lens[i];
        values += rec->f[i].len;
    }

    if (dst == NULL || total > cap || values > (cap - total) / 6) {

        for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
            total += smart_audit_json_len_of(rec->f[i].data, rec->f[i].len);
        }

        if (dst == NULL || total > cap) {
            return total;
        }
    }

    p = dst;
    *p++ = '{';

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        if (i != 0) {
            *p++ = ',';
        }

        *p++ = '"';

        /*
         * At least 16 bytes of the line follow the name of a field before
         * the last: its ":"" and the last field's ,"hash":"" and "}\n";
         * they overwrite the padding (names are at most 15 bytes).
         */

        if (i + 1 < SMART_AUDIT_F__COUNT) {
            memcpy(p, smart_audit_names16[i], 16);
        } else {
            memcpy(p, smart_audit_names[i], smart_audit_name_lens[i]);
        }

        p += smart_audit_name_lens[i];
        memcpy(p, "\":\"", 3);
        p += 3;

        if (rec->f[i].len != 0) {
            p = smart_audit_json_escape(p, rec->f[i].data, rec->f[i].len);
        }

        *p++ = '"';
    }

    memcpy(p, "}\n", 2);
    p += 2;

    return p - dst;
}


int
smart_audit_xadd_argv(const smart_audit_record_t *rec, const char *stream,
    size_t stream_len, const char *maxlen, const char **argv,
    size_t *argvlen)
{
    int  i, n;

    argv[0] = "XADD";
    argvlen[0] = 4;
    argv[1] = stream;
    argvlen[1] = stream_len;
    argv[2] = "MAXLEN";
    argvlen[2] = 6;
    argv[3] = "~";
    argvlen[3] = 1;
    argv[4] = maxlen;
    argvlen[4] = strlen(maxlen);
    argv[5] = "*";
    argvlen[5] = 1;

    n = SMART_AUDIT_XADD_ARGS;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        argv[n] = smart_audit_names[i];
        argvlen[n++] = smart_audit_name_lens[i];
        argv[n] = rec->f[i].len ? rec->f[i].data : "";
        argvlen[n++] = rec->f[i].len;
    }

    return n;
}


/* One RESP bulk string: "$LEN\r\nDATA\r\n". */

static size_t
smart_audit_bulk_len(size_t len)
{
    return 1 + smart_audit_dec_len(len) + 2 + len + 2;
}


static char *
smart_audit_bulk(char *p, const char *s, size_t len)
{
    *p++ = '$';
    p = smart_audit_dec(p, len);
    *p++ = '\r';
    *p++ = '\n';

    if (len != 0) {
        memcpy(p, s, len);
        p += len;
    }

    *p++ = '\r';
    *p++ = '\n';

    return p;
}


size_t
smart_audit_xadd_prefix(const char *stream, size_t stream_len,
    const char *maxlen, char *dst, size_t cap)
{
    char    *p;
    size_t   total, mlen;

    mlen = strlen(maxlen);

    total = 1 + smart_audit_dec_len(SMART_AUDIT_XADD_ARGC) + 2
            + smart_audit_bulk_len(4) + smart_audit_bulk_len(stream_len)
            + smart_audit_bulk_len(6) + smart_audit_bulk_len(1)
            + smart_audit_bulk_len(mlen) + smart_audit_bulk_len(1);

    if (dst == NULL || total > cap) {
        return total;
    }

    p = dst;
    *p++ = '*';
    p = smart_audit_dec(p, SMART_AUDIT_XADD_ARGC);
    *p++ = '\r';
    *p++ = '\n';
    p = smart_audit_bulk(p, "XADD", 4);
    p = smart_audit_bulk(p, stream, stream_len);
    p = smart_audit_bulk(p, "MAXLEN", 6);
    p = smart_audit_bulk(p, "~", 1);
    p = smart_audit_bulk(p, maxlen, mlen);
    (void) smart_audit_bulk(p, "*", 1);

    return total;
}


size_t
smart_audit_xadd_resp(const smart_audit_record_t *rec, const char *prefix,
    size_t prefix_len, char *dst, size_t cap)
{
    int      i;
    char    *p;
    size_t   total;

    total = prefix_len;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        total += smart_audit_bulk_len(smart_audit_name_lens[i])
                 + smart_audit_bulk_len(rec->f[i].len);
    }

    if (dst == NULL || total > cap) {
        return total;
    }

    memcpy(dst, prefix, prefix_len);
    p = dst + prefix_len;

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        p = smart_audit_bulk(p, smart_audit_names[i],
                             smart_audit_name_lens[i]);
        p = smart_audit_bulk(p, rec->f[i].data, rec->f[i].len);
    }

    return total;
}
