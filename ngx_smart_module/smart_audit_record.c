/*
 * ngx_smart_module policy core: the audit record (docs/audit.md).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "smart_audit_record.h"
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


static int
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


smart_audit_status_e
smart_audit_parse_json(const char *line, size_t len,
    smart_audit_record_t *rec, char **storage)
{
    int                   i, idx;
    char                 *buf, *p;
    size_t                total, n;
    json_t               *root, *value;
    const char           *key;
    unsigned int          seen[SMART_AUDIT_F__COUNT];
    json_error_t          err;
    smart_audit_status_e  rc;

    *storage = NULL;
    memset(rec, 0, sizeof(*rec));

    if (len > SMART_AUDIT_LINE_MAX) {
        return SMART_AUDIT_ERR_TOO_LONG;
    }

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        return SMART_AUDIT_ERR_SYNTAX;
    }

    memset(seen, 0, sizeof(seen));
    total = 0;

    json_object_foreach(root, key, value) {
        idx = smart_audit_field_index(key, strlen(key));

        if (idx < 0 || seen[idx]) {
            rc = SMART_AUDIT_ERR_FIELD;
            goto failed;
        }

        if (!json_is_string(value)) {
            rc = SMART_AUDIT_ERR_SYNTAX;
            goto failed;
        }

        seen[idx] = 1;
        total += json_string_length(value) + 1;
    }

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        if (!seen[i]) {
            rc = SMART_AUDIT_ERR_FIELD;
            goto failed;
        }
    }

    buf = malloc(total + 1);
    if (buf == NULL) {
        rc = SMART_AUDIT_ERR_NOMEM;
        goto failed;
    }

    p = buf;

    json_object_foreach(root, key, value) {
        idx = smart_audit_field_index(key, strlen(key));
        n = json_string_length(value);
        memcpy(p, json_string_value(value), n);
        p[n] = '\0';
        rec->f[idx].data = p;
        rec->f[idx].len = n;
        p += n + 1;
    }

    json_decref(root);
    *storage = buf;

    return SMART_AUDIT_OK;

failed:

    json_decref(root);

    return rc;
}


smart_audit_status_e
smart_audit_from_pairs(smart_audit_record_t *rec,
    const smart_audit_str_t *names, const smart_audit_str_t *values,
    size_t n)
{
    int           idx;
    size_t        i;
    unsigned int  seen[SMART_AUDIT_F__COUNT];

    memset(rec, 0, sizeof(*rec));
    memset(seen, 0, sizeof(seen));

    for (i = 0; i < n; i++) {
        idx = smart_audit_field_index(names[i].data, names[i].len);

        if (idx < 0 || seen[idx]) {
            return SMART_AUDIT_ERR_FIELD;
        }

        seen[idx] = 1;
        rec->f[idx] = values[i];
    }

    for (i = 0; i < SMART_AUDIT_F__COUNT; i++) {
        if (!seen[i]) {
            return SMART_AUDIT_ERR_FIELD;
        }
    }

    return SMART_AUDIT_OK;
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


/* --- AuditEvent (FHIR R4, IHE BALP RESTful access) ----------------------- */

static json_t *
smart_audit_jstr(const smart_audit_record_t *rec, smart_audit_field_e f)
{
    return json_stringn(rec->f[f].len ? rec->f[f].data : "", rec->f[f].len);
}


static json_t *
smart_audit_coding(const char *system, const char *code, const char *display)
{
    json_t  *c;

    c = json_object();
    if (c == NULL) {
        return NULL;
    }

    json_object_set_new(c, "system", json_string(system));
    json_object_set_new(c, "code", json_string(code));

    if (display != NULL) {
        json_object_set_new(c, "display", json_string(display));
    }

    return c;
}


static json_t *
smart_audit_codeable(const char *system, const char *code,
    const char *display)
{
    json_t  *cc, *arr;

    cc = json_object();
    arr = json_array();

    if (cc == NULL || arr == NULL) {
        json_decref(cc);
        json_decref(arr);
        return NULL;
    }

    json_array_append_new(arr, smart_audit_coding(system, code, display));
    json_object_set_new(cc, "coding", arr);

    return cc;
}


static json_t *
smart_audit_reference(const char *prefix, const smart_audit_str_t *id)
{
    char    *buf;
    size_t   plen;
    json_t  *ref;

    plen = strlen(prefix);
    buf = malloc(plen + id->len + 1);
    if (buf == NULL) {
        return NULL;
    }

    memcpy(buf, prefix, plen);

    if (id->len != 0) {
        memcpy(buf + plen, id->data, id->len);
    }

    ref = json_object();
    if (ref != NULL) {
        json_object_set_new(ref, "reference",
                            json_stringn(buf, plen + id->len));
    }

    free(buf);

    return ref;
}


static json_t *
smart_audit_identifier(const smart_audit_str_t *system,
    const smart_audit_str_t *value)
{
    json_t  *who, *ident;

    who = json_object();
    ident = json_object();

    if (who == NULL || ident == NULL) {
        json_decref(who);
        json_decref(ident);
        return NULL;
    }

    if (system != NULL && system->len != 0) {
        json_object_set_new(ident, "system",
                            json_stringn(system->data, system->len));
    }

    json_object_set_new(ident, "value",
                        json_stringn(value->len ? value->data : "",
                                     value->len));
    json_object_set_new(who, "identifier", ident);

    return who;
}


static const char *
smart_audit_profile(const smart_audit_record_t *rec)
{
    int          patient;
    const char  *a;

    patient = rec->f[SMART_AUDIT_F_PATIENT].len != 0;
    a = rec->f[SMART_AUDIT_F_ACTION].len ? rec->f[SMART_AUDIT_F_ACTION].data
                                         : "E";

    switch (a[0]) {
    case 'C':
        return patient ? "IHE.BasicAudit.PatientCreate"
                       : "IHE.BasicAudit.Create";
    case 'R':
        return patient ? "IHE.BasicAudit.PatientRead" : "IHE.BasicAudit.Read";
    case 'U':
        return patient ? "IHE.BasicAudit.PatientUpdate"
                       : "IHE.BasicAudit.Update";
    case 'D':
        return patient ? "IHE.BasicAudit.PatientDelete"
                       : "IHE.BasicAudit.Delete";
    default:
        return patient ? "IHE.BasicAudit.PatientQuery"
                       : "IHE.BasicAudit.Query";
    }
}


static int
smart_audit_add_agents(json_t *ev, const smart_audit_record_t *rec)
{
    json_t                   *agents, *app, *user, *net, *who;
    const smart_audit_str_t  *sub, *fu;

    agents = json_array();
    app = json_object();
    user = json_object();
    net = json_object();

    if (agents == NULL || app == NULL || user == NULL || net == NULL) {
        goto failed;
    }

    /* the client application, with the network address it came from */

    json_object_set_new(app, "type",
        smart_audit_codeable("http://dicom.nema.org/resources/ontology/DCM",
                             "110150", "Application"));
    who = smart_audit_identifier(NULL, &rec->f[SMART_AUDIT_F_CLIENT_ID]);
    if (who == NULL) {
        goto failed;
    }

    json_object_set_new(app, "who", who);
    json_object_set_new(app, "requestor", json_false());
    json_object_set_new(net, "address",
                        smart_audit_jstr(rec, SMART_AUDIT_F_REMOTE_ADDR));
    json_object_set_new(net, "type", json_string("2"));
    json_object_set_new(app, "network", net);
    net = NULL;
    json_array_append_new(agents, app);
    app = NULL;

    /* the user: fhirUser when the token names one, else iss + sub */

    json_object_set_new(user, "type",
        smart_audit_codeable(
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "IRCP", "information recipient"));

    fu = &rec->f[SMART_AUDIT_F_FHIR_USER];
    sub = &rec->f[SMART_AUDIT_F_SUB];

    if (fu->len != 0) {
        who = smart_audit_reference("", fu);
    } else {
        who = smart_audit_identifier(&rec->f[SMART_AUDIT_F_ISS], sub);
    }

    if (who == NULL) {
        goto failed;
    }

    if (fu->len != 0 && sub->len != 0) {
        json_object_set_new(user, "altId", json_stringn(sub->data, sub->len));
    }

    json_object_set_new(user, "who", who);
    json_object_set_new(user, "requestor", json_true());
    json_array_append_new(agents, user);

    json_object_set_new(ev, "agent", agents);

    return 0;

failed:

    json_decref(agents);
    json_decref(app);
    json_decref(user);
    json_decref(net);

    return -1;
}


static int
smart_audit_add_entities(json_t *ev, const smart_audit_record_t *rec)
{
    json_t                   *entities, *e, *what, *ident;
    char                     *ref;
    size_t                    rlen, ilen;
    const smart_audit_str_t  *res, *id;

    entities = json_array();
    if (entities == NULL) {
        return -1;
    }

    if (rec->f[SMART_AUDIT_F_PATIENT].len != 0) {
        e = json_object();
        what = smart_audit_reference("Patient/",
                                     &rec->f[SMART_AUDIT_F_PATIENT]);

        if (e == NULL || what == NULL) {
            json_decref(e);
            json_decref(what);
            goto failed;
        }

        json_object_set_new(e, "what", what);
        json_object_set_new(e, "type", smart_audit_coding(
            "http://terminology.hl7.org/CodeSystem/audit-entity-type",
            "1", "Person"));
        json_object_set_new(e, "role", smart_audit_coding(
            "http://terminology.hl7.org/CodeSystem/object-role",
            "1", "Patient"));
        json_array_append_new(entities, e);
    }

    /* the requested resource (type, or type/id), with the query */

    res = &rec->f[SMART_AUDIT_F_RESOURCE];
    id = &rec->f[SMART_AUDIT_F_ID];

    if (res->len != 0 || rec->f[SMART_AUDIT_F_QUERY].len != 0) {
        e = json_object();
        if (e == NULL) {
            goto failed;
        }

        if (res->len != 0) {
            rlen = res->len;
            ilen = id->len;
            ref = malloc(rlen + 1 + ilen + 1);

            if (ref == NULL) {
                json_decref(e);
                goto failed;
            }

            memcpy(ref, res->data, rlen);

            if (ilen != 0) {
                ref[rlen] = '/';
                memcpy(ref + rlen + 1, id->data, ilen);
                rlen += 1 + ilen;
            }

            what = json_object();
            if (what == NULL) {
                free(ref);
                json_decref(e);
                goto failed;
            }

            json_object_set_new(what, "reference", json_stringn(ref, rlen));
            free(ref);
            json_object_set_new(e, "what", what);
        }

        json_object_set_new(e, "type", smart_audit_coding(
            "http://terminology.hl7.org/CodeSystem/audit-entity-type",
            "2", "System Object"));
        json_object_set_new(e, "role", smart_audit_coding(
            "http://terminology.hl7.org/CodeSystem/object-role",
            rec->f[SMART_AUDIT_F_ACTION].len
            && rec->f[SMART_AUDIT_F_ACTION].data[0] == 'E' ? "24" : "4",
            rec->f[SMART_AUDIT_F_ACTION].len
            && rec->f[SMART_AUDIT_F_ACTION].data[0] == 'E' ? "Query"
                                                           : "Domain Resource"
            ));

        if (rec->f[SMART_AUDIT_F_QUERY].len != 0) {
            json_object_set_new(e, "query",
                                smart_audit_jstr(rec, SMART_AUDIT_F_QUERY));
        }

        json_array_append_new(entities, e);
    }

    /* the correlation ID, as BALP's transaction (X-Request-Id) entity */

    e = json_object();
    what = json_object();
    ident = json_object();

    if (e == NULL || what == NULL || ident == NULL) {
        json_decref(e);
        json_decref(what);
        json_decref(ident);
        goto failed;
    }

    json_object_set_new(ident, "value",
                        smart_audit_jstr(rec, SMART_AUDIT_F_CID));
    json_object_set_new(what, "identifier", ident);
    json_object_set_new(e, "what", what);
    json_object_set_new(e, "type", smart_audit_coding(
        "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
        "XrequestId", "X-Request-Id"));
    json_array_append_new(entities, e);

    json_object_set_new(ev, "entity", entities);

    return 0;

failed:

    json_decref(entities);

    return -1;
}


char *
smart_audit_auditevent(const smart_audit_record_t *rec, const char *observer)
{
    char          *out, *id, profile[160];
    size_t         wlen, slen;
    json_t        *ev, *meta, *profiles, *subtype, *source, *obs, *types;
    const char    *action;

    ev = json_object();
    if (ev == NULL) {
        return NULL;
    }

    out = NULL;

    json_object_set_new(ev, "resourceType", json_string("AuditEvent"));

    /* worker + seq: unique, stable across exports of the same record */

    wlen = rec->f[SMART_AUDIT_F_WORKER].len;
    slen = rec->f[SMART_AUDIT_F_SEQ].len;
    id = malloc(wlen + 1 + slen + 1);
    if (id == NULL) {
        goto done;
    }

    if (wlen != 0) {
        memcpy(id, rec->f[SMART_AUDIT_F_WORKER].data, wlen);
    }

    id[wlen] = '-';
    if (slen != 0) {
        memcpy(id + wlen + 1, rec->f[SMART_AUDIT_F_SEQ].data, slen);
    }

    json_object_set_new(ev, "id", json_stringn(id, wlen + 1 + slen));
    free(id);

    meta = json_object();
    profiles = json_array();
    if (meta == NULL || profiles == NULL) {
        json_decref(meta);
        json_decref(profiles);
        goto done;
    }

    snprintf(profile, sizeof(profile),
             "https://profiles.ihe.net/ITI/BALP/StructureDefinition/%s",
             smart_audit_profile(rec));
    json_array_append_new(profiles, json_string(profile));
    json_object_set_new(meta, "profile", profiles);
    json_object_set_new(ev, "meta", meta);

    json_object_set_new(ev, "type", smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
        "RESTful Operation"));

    subtype = json_array();
    if (subtype == NULL) {
        goto done;
    }

    json_array_append_new(subtype, json_object());
    json_object_set_new(json_array_get(subtype, 0), "system",
                        json_string("http://hl7.org/fhir/restful-interaction"));
    json_object_set_new(json_array_get(subtype, 0), "code",
                        rec->f[SMART_AUDIT_F_INTERACTION].len
                        ? smart_audit_jstr(rec, SMART_AUDIT_F_INTERACTION)
                        : json_string("unknown"));
    json_object_set_new(ev, "subtype", subtype);

    action = rec->f[SMART_AUDIT_F_ACTION].len ? NULL : "E";
    json_object_set_new(ev, "action",
                        action ? json_string(action)
                               : smart_audit_jstr(rec, SMART_AUDIT_F_ACTION));
    json_object_set_new(ev, "recorded",
                        smart_audit_jstr(rec, SMART_AUDIT_F_TS));
    json_object_set_new(ev, "outcome",
                        smart_audit_jstr(rec, SMART_AUDIT_F_OUTCOME));

    if (rec->f[SMART_AUDIT_F_REASON].len != 0
        && !smart_audit_is(rec->f[SMART_AUDIT_F_REASON].data,
                           rec->f[SMART_AUDIT_F_REASON].len, "ok"))
    {
        json_object_set_new(ev, "outcomeDesc",
                            smart_audit_jstr(rec, SMART_AUDIT_F_REASON));
    }

    if (smart_audit_add_agents(ev, rec) != 0) {
        goto done;
    }

    source = json_object();
    obs = json_object();
    types = json_array();
    if (source == NULL || obs == NULL || types == NULL) {
        json_decref(source);
        json_decref(obs);
        json_decref(types);
        goto done;
    }

    if (rec->f[SMART_AUDIT_F_TENANT].len != 0) {
        json_object_set_new(source, "site",
                            smart_audit_jstr(rec, SMART_AUDIT_F_TENANT));
    }

    json_object_set_new(obs, "display",
                        json_string(observer ? observer : "ngx_smart_module"));
    json_object_set_new(source, "observer", obs);
    json_array_append_new(types, smart_audit_coding(
        "http://terminology.hl7.org/CodeSystem/security-source-type", "3",
        "Web Server"));
    json_object_set_new(source, "type", types);
    json_object_set_new(ev, "source", source);

    if (smart_audit_add_entities(ev, rec) != 0) {
        goto done;
    }

    out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);

done:

    json_decref(ev);

    return out;
}


/* --- hash-chain verifier ------------------------------------------------- */

typedef struct {
    uint64_t   seq;
    char       prev[SMART_AUDIT_HASH_LEN + 1];
    char       hash[SMART_AUDIT_HASH_LEN + 1];
    unsigned   altered:1;
} smart_audit_link_t;


typedef struct {
    char                *name;
    smart_audit_link_t  *links;
    size_t               nlinks;
    size_t               cap;
    uint64_t             problems;
} smart_audit_chain_t;


struct smart_audit_verifier_s {
    smart_audit_chain_t  *chains;
    size_t                nchains;
    size_t                cap;
};


smart_audit_verifier_t *
smart_audit_verifier_new(void)
{
    return calloc(1, sizeof(smart_audit_verifier_t));
}


void
smart_audit_verifier_free(smart_audit_verifier_t *v)
{
    size_t  i;

    if (v == NULL) {
        return;
    }

    for (i = 0; i < v->nchains; i++) {
        free(v->chains[i].name);
        free(v->chains[i].links);
    }

    free(v->chains);
    free(v);
}


static smart_audit_chain_t *
smart_audit_verifier_chain(smart_audit_verifier_t *v,
    const smart_audit_str_t *worker)
{
    size_t                i;
    smart_audit_chain_t  *c;

    for (i = 0; i < v->nchains; i++) {
        if (strlen(v->chains[i].name) == worker->len
            && (worker->len == 0
                || memcmp(v->chains[i].name, worker->data, worker->len) == 0))
        {
            return &v->chains[i];
        }
    }

    if (v->nchains == v->cap) {
        c = realloc(v->chains, (v->cap ? v->cap * 2 : 8) * sizeof(*c));
        if (c == NULL) {
            return NULL;
        }

        v->chains = c;
        v->cap = v->cap ? v->cap * 2 : 8;
    }

    c = &v->chains[v->nchains];
    memset(c, 0, sizeof(*c));

    c->name = malloc(worker->len + 1);
    if (c->name == NULL) {
        return NULL;
    }

    if (worker->len != 0) {
        memcpy(c->name, worker->data, worker->len);
    }

    c->name[worker->len] = '\0';
    v->nchains++;

    return c;
}


static int
smart_audit_parse_seq(const smart_audit_str_t *s, uint64_t *seq)
{
    size_t    i;
    uint64_t  n;

    if (s->len == 0 || s->len > 19 || s->data[0] == '0') {
        return -1;
    }

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return -1;
        }

        n = n * 10 + (uint64_t) (s->data[i] - '0');
    }

    *seq = n;

    return 0;
}


static void
smart_audit_copy_hash(char *dst, const smart_audit_str_t *s)
{
    size_t  n;

    n = s->len < SMART_AUDIT_HASH_LEN ? s->len : SMART_AUDIT_HASH_LEN;

    if (n != 0) {
        memcpy(dst, s->data, n);
    }

    dst[n] = '\0';
}


smart_audit_chain_e
smart_audit_verifier_add(smart_audit_verifier_t *v,
    const smart_audit_record_t *rec)
{
    char                  hash[SMART_AUDIT_HASH_LEN + 1];
    uint64_t              seq;
    smart_audit_link_t   *l;
    smart_audit_chain_t  *c;

    c = smart_audit_verifier_chain(v, &rec->f[SMART_AUDIT_F_WORKER]);
    if (c == NULL) {
        return SMART_AUDIT_CHAIN_NOMEM;
    }

    if (smart_audit_parse_seq(&rec->f[SMART_AUDIT_F_SEQ], &seq) != 0) {
        c->problems++;
        return SMART_AUDIT_CHAIN_BAD_SEQ;
    }

    if (c->nlinks == c->cap) {
        l = realloc(c->links, (c->cap ? c->cap * 2 : 64) * sizeof(*l));
        if (l == NULL) {
            return SMART_AUDIT_CHAIN_NOMEM;
        }

        c->links = l;
        c->cap = c->cap ? c->cap * 2 : 64;
    }

    l = &c->links[c->nlinks++];
    memset(l, 0, sizeof(*l));
    l->seq = seq;
    smart_audit_copy_hash(l->prev, &rec->f[SMART_AUDIT_F_PREV]);
    smart_audit_copy_hash(l->hash, &rec->f[SMART_AUDIT_F_HASH]);

    if (smart_audit_hash(rec, hash) != SMART_AUDIT_OK) {
        return SMART_AUDIT_CHAIN_NOMEM;
    }

    if (rec->f[SMART_AUDIT_F_HASH].len != SMART_AUDIT_HASH_LEN
        || memcmp(hash, rec->f[SMART_AUDIT_F_HASH].data,
                  SMART_AUDIT_HASH_LEN) != 0)
    {
        l->altered = 1;
        return SMART_AUDIT_CHAIN_ALTERED;
    }

    return SMART_AUDIT_CHAIN_OK;
}


static int
smart_audit_link_cmp(const void *a, const void *b)
{
    const smart_audit_link_t  *x = a, *y = b;

    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }

    return strcmp(x->hash, y->hash);
}


uint64_t
smart_audit_verifier_finish(smart_audit_verifier_t *v,
    smart_audit_report_pt report, void *data)
{
    size_t                i, j;
    uint64_t              problems;
    smart_audit_link_t   *l, *prev;
    smart_audit_chain_t  *c;

    problems = 0;

    for (i = 0; i < v->nchains; i++) {
        c = &v->chains[i];
        problems += c->problems;

        if (c->nlinks == 0) {
            continue;
        }

        qsort(c->links, c->nlinks, sizeof(smart_audit_link_t),
              smart_audit_link_cmp);

        prev = NULL;

        for (j = 0; j < c->nlinks; j++) {
            l = &c->links[j];

            if (l->altered) {
                report(data, c->name, l->seq, SMART_AUDIT_CHAIN_ALTERED, 0);
                c->problems++;
                problems++;
            }

            if (prev != NULL && prev->seq == l->seq) {
                if (strcmp(prev->hash, l->hash) == 0) {
                    /* at-least-once delivery: reported, not a fault */
                    report(data, c->name, l->seq,
                           SMART_AUDIT_CHAIN_DUPLICATE, 0);

                } else {
                    report(data, c->name, l->seq,
                           SMART_AUDIT_CHAIN_CONFLICT, 0);
                    c->problems++;
                    problems++;
                }

                continue;
            }

            if (prev == NULL) {
                if (l->seq == 1
                    && strcmp(l->prev, smart_audit_zero_hash) != 0)
                {
                    report(data, c->name, l->seq, SMART_AUDIT_CHAIN_BROKEN,
                           0);
                    c->problems++;
                    problems++;
                }

            } else if (l->seq != prev->seq + 1) {
                report(data, c->name, l->seq, SMART_AUDIT_CHAIN_GAP,
                       l->seq - prev->seq - 1);
                c->problems++;
                problems++;

            } else if (strcmp(l->prev, prev->hash) != 0) {
                report(data, c->name, l->seq, SMART_AUDIT_CHAIN_BROKEN, 0);
                c->problems++;
                problems++;
            }

            prev = l;
        }
    }

    return problems;
}


size_t
smart_audit_verifier_workers(smart_audit_verifier_t *v)
{
    return v->nchains;
}


int
smart_audit_verifier_info(smart_audit_verifier_t *v, size_t i,
    smart_audit_chain_info_t *info)
{
    size_t                j;
    smart_audit_chain_t  *c;

    if (i >= v->nchains) {
        return -1;
    }

    c = &v->chains[i];
    memset(info, 0, sizeof(*info));
    info->worker = c->name;
    info->problems = c->problems;
    info->records = c->nlinks;

    for (j = 0; j < c->nlinks; j++) {
        if (j == 0 || c->links[j].seq < info->first) {
            info->first = c->links[j].seq;
        }

        if (c->links[j].seq > info->last) {
            info->last = c->links[j].seq;
        }
    }

    return 0;
}


const char *
smart_audit_chain_str(smart_audit_chain_e what)
{
    switch (what) {
    case SMART_AUDIT_CHAIN_OK:
        return "ok";
    case SMART_AUDIT_CHAIN_ALTERED:
        return "altered";
    case SMART_AUDIT_CHAIN_BROKEN:
        return "broken-link";
    case SMART_AUDIT_CHAIN_GAP:
        return "gap";
    case SMART_AUDIT_CHAIN_DUPLICATE:
        return "duplicate";
    case SMART_AUDIT_CHAIN_CONFLICT:
        return "conflict";
    case SMART_AUDIT_CHAIN_BAD_SEQ:
        return "bad-seq";
    case SMART_AUDIT_CHAIN_NOMEM:
        return "out-of-memory";
    }

    return "unknown";
}
