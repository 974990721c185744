
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Unit tests of the error catalogue and OperationOutcome / WWW-Authenticate
 * rendering (smart_errors.c, docs/errors.md).
 *
 * JSON output is parsed with jansson and checked field by field.  XML output
 * is checked by a small, strict parser below (libxml2 is not linked into the
 * unit tests): it accepts only the subset the renderer may produce -- one
 * root, elements with attributes, no text, no comments -- checks nesting,
 * entity and character references, UTF-8 and the XML 1.0 Char production,
 * and records every start tag as "path=value" so tests compare the whole
 * document, element order included.
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

#include "smart_errors.h"


#define CID  "0f9c2d1e-7a3b.4c5d_6e"

#define JSON_PREFIX                                                          \
    "{\"resourceType\":\"OperationOutcome\",\"id\":\"" CID "\","            \
    "\"issue\":[{\"severity\":\"error\",\"code\":\""

#define XML_PREFIX                                                           \
    "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"" CID      \
    "\"/><issue><severity value=\"error\"/><code value=\""


typedef struct {
    const char     *code;
    int             status;
    const char     *fhir_code;
    smart_retry_e   retry;
} expect_row_t;


/* docs/errors.md, in table order, which is also enum order. */
static const expect_row_t  spec_rows[] = {
    { "token-missing", 401, "login", SMART_RETRY_AFTER_SIGNIN },
    { "token-invalid", 401, "security", SMART_RETRY_AFTER_SIGNIN },
    { "token-expired", 401, "expired", SMART_RETRY_AFTER_SIGNIN },
    { "scope-insufficient", 403, "forbidden", SMART_RETRY_NO },
    { "patient-context-missing", 403, "forbidden", SMART_RETRY_REOPEN_CHART },
    { "patient-mismatch", 403, "forbidden", SMART_RETRY_NO },
    { "request-invalid", 400, "invalid", SMART_RETRY_NO },
    { "request-too-large", 413, "too-long", SMART_RETRY_NO },
    { "conflict", 409, "conflict", SMART_RETRY_AFTER_RELOAD },
    { "rate-limited", 429, "throttled", SMART_RETRY_YES },
    { "data-unavailable", 503, "transient", SMART_RETRY_YES },
    { "upstream-timeout", 504, "timeout", SMART_RETRY_YES },
    { "write-outcome-unknown", 504, "timeout", SMART_RETRY_AFTER_RELOAD },
    { "upstream-error", 502, "exception", SMART_RETRY_CONTACT_SUPPORT },
    { "not-found", 404, "not-found", SMART_RETRY_NO },
    { "configuration-invalid", 503, "exception",
      SMART_RETRY_CONTACT_SUPPORT },
    { "audit-unavailable", 503, "transient", SMART_RETRY_YES },
    { "response-unverifiable", 502, "transient",
      SMART_RETRY_CONTACT_SUPPORT },
    { "format-unsupported", 406, "not-supported", SMART_RETRY_NO },
    { "claim-requirement-failed", 403, "forbidden",
      SMART_RETRY_CONTACT_SUPPORT }
};


/* --- helpers --------------------------------------------------------- */

static char *
render(const smart_oo_t *oo, size_t *lenp)
{
    size_t   len, len2;
    char    *buf;

    len = smart_oo_render(NULL, 0, oo);
    buf = malloc(len + 1);
    assert_non_null(buf);

    len2 = smart_oo_render(buf, len + 1, oo);
    assert_int_equal(len, len2);
    assert_int_equal(strlen(buf), len);

    if (lenp != NULL) {
        *lenp = len;
    }

    return buf;
}


static json_t *
parse_json(const char *s)
{
    json_t        *j;
    json_error_t   e;

    j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL) {
        fail_msg("JSON does not parse: %s at %d: %s", e.text, e.position, s);
    }

    return j;
}


static const char *
jstr(json_t *obj, const char *key)
{
    json_t  *v;

    v = json_object_get(obj, key);
    if (v == NULL || !json_is_string(v)) {
        fail_msg("member %s missing or not a string", key);
    }

    return json_string_value(v);
}


static char *
concat(const char *a, const char *sep, const char *b)
{
    size_t   la, ls, lb;
    char    *s;

    la = strlen(a);
    ls = strlen(sep);
    lb = strlen(b);
    s = malloc(la + ls + lb + 1);
    assert_non_null(s);
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, b, lb + 1);

    return s;
}


/* Checks the catalogue issue of a parsed document; returns the issues. */
static json_t *
check_json_head(json_t *doc, smart_err_e err, const char *cid,
    const char *text, size_t nissues)
{
    json_t                   *issues, *is, *details, *coding, *c0;
    char                     *diag;
    const smart_err_entry_t  *e;

    e = smart_err_get(err);
    assert_non_null(e);

    assert_int_equal(json_object_size(doc), 3);
    assert_string_equal(jstr(doc, "resourceType"), "OperationOutcome");
    assert_string_equal(jstr(doc, "id"), cid);

    issues = json_object_get(doc, "issue");
    assert_true(json_is_array(issues));
    assert_int_equal(json_array_size(issues), nissues);

    is = json_array_get(issues, 0);
    assert_true(json_is_object(is));
    assert_int_equal(json_object_size(is), 4);
    assert_string_equal(jstr(is, "severity"), "error");
    assert_string_equal(jstr(is, "code"), e->fhir_code);

    diag = concat("correlation-id=", "", cid);
    assert_string_equal(jstr(is, "diagnostics"), diag);
    free(diag);

    details = json_object_get(is, "details");
    assert_true(json_is_object(details));
    assert_int_equal(json_object_size(details), 2);
    assert_string_equal(jstr(details, "text"), text);

    coding = json_object_get(details, "coding");
    assert_true(json_is_array(coding));
    assert_int_equal(json_array_size(coding), 1);
    c0 = json_array_get(coding, 0);
    assert_int_equal(json_object_size(c0), 2);
    assert_string_equal(jstr(c0, "system"), "urn:smart-gateway:error");
    assert_string_equal(jstr(c0, "code"), e->code);

    return issues;
}


/* Raw JSON must never carry the characters we promise to escape. */
static void
check_json_inert(const char *s)
{
    const unsigned char  *p;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        assert_true(*p >= 0x20 && *p != 0x7F);
        assert_true(*p != '<' && *p != '>' && *p != '&');
    }

    assert_null(strstr(s, "\xE2\x80\xA8"));
    assert_null(strstr(s, "\xE2\x80\xA9"));
}


/* --- a strict little XML checker ------------------------------------- */

#define XML_MAX_EVENTS  64
#define XML_MAX_DEPTH   8

typedef struct {
    char   *ev[XML_MAX_EVENTS];     /* "path" or "path=value" */
    size_t  nev;
} xml_doc_t;


static void
xml_doc_free(xml_doc_t *d)
{
    size_t  i;

    for (i = 0; i < d->nev; i++) {
        free(d->ev[i]);
    }

    d->nev = 0;
}


static int
xml_char_ok(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD
           || (c >= 0x20 && c <= 0xD7FF)
           || (c >= 0xE000 && c <= 0xFFFD)
           || (c >= 0x10000 && c <= 0x10FFFF);
}


/* Strict UTF-8 decoder written independently of the renderer's. */
static size_t
xml_utf8(const unsigned char *p, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }

    if ((p[0] & 0xE0) == 0xC0) {
        n = 2; c = p[0] & 0x1F; min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3; c = p[0] & 0x0F; min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4; c = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3F);
    }

    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }

    *cp = c;
    return n;
}


static void
put_utf8(char **o, uint32_t c)
{
    unsigned char  *q;

    q = (unsigned char *) *o;

    if (c < 0x80) {
        *q++ = (unsigned char) c;
    } else if (c < 0x800) {
        *q++ = (unsigned char) (0xC0 | (c >> 6));
        *q++ = (unsigned char) (0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *q++ = (unsigned char) (0xE0 | (c >> 12));
        *q++ = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
        *q++ = (unsigned char) (0x80 | (c & 0x3F));
    } else {
        *q++ = (unsigned char) (0xF0 | (c >> 18));
        *q++ = (unsigned char) (0x80 | ((c >> 12) & 0x3F));
        *q++ = (unsigned char) (0x80 | ((c >> 6) & 0x3F));
        *q++ = (unsigned char) (0x80 | (c & 0x3F));
    }

    *o = (char *) q;
}


/* Decodes an attribute value up to '"'; NULL when it is not well formed. */
static char *
xml_attr_value(const char **pp)
{
    const char  *p, *semi;
    char        *out, *o, *end;
    uint32_t     c;
    size_t       k;
    unsigned long  v;

    p = *pp;
    out = malloc(strlen(p) + 1);
    assert_non_null(out);
    o = out;

    while (*p != '"') {
        if (*p == '\0' || *p == '<') {
            free(out);
            return NULL;
        }

        if (*p == '&') {
            semi = strchr(p, ';');
            if (semi == NULL) {
                free(out);
                return NULL;
            }

            if (strncmp(p, "&amp;", 5) == 0) {
                *o++ = '&';
            } else if (strncmp(p, "&lt;", 4) == 0) {
                *o++ = '<';
            } else if (strncmp(p, "&gt;", 4) == 0) {
                *o++ = '>';
            } else if (strncmp(p, "&quot;", 6) == 0) {
                *o++ = '"';
            } else if (strncmp(p, "&apos;", 6) == 0) {
                *o++ = '\'';
            } else if (strncmp(p, "&#x", 3) == 0 && semi > p + 3) {
                v = strtoul(p + 3, &end, 16);
                if (end != semi || !xml_char_ok((uint32_t) v)) {
                    free(out);
                    return NULL;
                }
                put_utf8(&o, (uint32_t) v);
            } else {
                free(out);
                return NULL;
            }

            p = semi + 1;
            continue;
        }

        k = xml_utf8((const unsigned char *) p, &c);
        if (k == 0 || !xml_char_ok(c) || c < 0x20) {
            /* raw tab/LF/CR would be normalized away: not allowed here */
            free(out);
            return NULL;
        }

        memcpy(o, p, k);
        o += k;
        p += k;
    }

    *o = '\0';
    *pp = p + 1;

    return out;
}


static int
xml_name(const char **pp, char *name, size_t cap)
{
    const char  *p;
    size_t       n;

    p = *pp;
    n = 0;

    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
        if (n + 1 >= cap) {
            return 0;
        }
        name[n++] = *p++;
    }

    name[n] = '\0';
    *pp = p;

    return n > 0;
}


static void
xml_event(xml_doc_t *d, const char *path, const char *value)
{
    char  *ev;

    assert_true(d->nev < XML_MAX_EVENTS);
    ev = (value == NULL) ? strdup(path) : concat(path, "=", value);
    assert_non_null(ev);
    d->ev[d->nev++] = ev;
}


/* Returns 1 and fills d when s is a well-formed document of our subset. */
static int
xml_parse(const char *s, xml_doc_t *d)
{
    char         stack[XML_MAX_DEPTH][32], name[32], aname[32];
    char         path[XML_MAX_DEPTH * 33];
    char        *value;
    const char  *p;
    size_t       depth, i;
    int          closed, nattr;

    d->nev = 0;
    p = s;
    depth = 0;

    do {
        if (*p != '<') {
            return 0;           /* text content is never produced */
        }
        p++;

        if (*p == '/') {
            p++;
            if (depth == 0 || !xml_name(&p, name, sizeof(name))
                || strcmp(name, stack[depth - 1]) != 0 || *p != '>')
            {
                return 0;
            }
            p++;
            depth--;
            continue;
        }

        if (!xml_name(&p, name, sizeof(name)) || depth == XML_MAX_DEPTH) {
            return 0;
        }

        path[0] = '\0';
        for (i = 0; i < depth; i++) {
            strcat(path, stack[i]);
            strcat(path, "/");
        }
        strcat(path, name);

        value = NULL;
        nattr = 0;

        while (*p == ' ') {
            p++;
            if (!xml_name(&p, aname, sizeof(aname)) || p[0] != '='
                || p[1] != '"')
            {
                free(value);
                return 0;
            }
            p += 2;

            free(value);
            value = xml_attr_value(&p);
            if (value == NULL) {
                return 0;
            }

            nattr++;

            if (depth == 0) {
                if (strcmp(aname, "xmlns") != 0
                    || strcmp(value, "http://hl7.org/fhir") != 0)
                {
                    free(value);
                    return 0;
                }
            } else if (strcmp(aname, "value") != 0) {
                free(value);
                return 0;
            }
        }

        if (nattr > 1 || (depth == 0 && nattr != 1)) {
            free(value);
            return 0;
        }

        closed = 0;
        if (p[0] == '/' && p[1] == '>') {
            closed = 1;
            p += 2;
        } else if (p[0] == '>') {
            p++;
        } else {
            free(value);
            return 0;
        }

        /* FHIR primitives are empty elements with a value; containers not */
        if (depth > 0 && (closed != (value != NULL))) {
            free(value);
            return 0;
        }

        xml_event(d, path, depth == 0 ? NULL : value);
        free(value);

        if (!closed) {
            strcpy(stack[depth++], name);
        }

    } while (depth > 0);

    return *p == '\0';
}


static void
check_xml_events(const char *doc, const char **expect, size_t n)
{
    xml_doc_t  d;
    size_t     i;

    if (!xml_parse(doc, &d)) {
        xml_doc_free(&d);
        fail_msg("XML not well formed: %s", doc);
    }

    for (i = 0; i < n && i < d.nev; i++) {
        assert_string_equal(d.ev[i], expect[i]);
    }

    assert_int_equal(d.nev, n);
    xml_doc_free(&d);
}


/* Events of the catalogue issue; strings are owned by the caller's pool. */
static size_t
xml_head_events(const char **ev, char **pool, smart_err_e err,
    const char *cid, const char *text)
{
    const smart_err_entry_t  *e;

    e = smart_err_get(err);
    assert_non_null(e);

    pool[0] = concat("OperationOutcome/id", "=", cid);
    pool[1] = concat("OperationOutcome/issue/code", "=", e->fhir_code);
    pool[2] = concat("OperationOutcome/issue/details/coding/code", "=",
                     e->code);
    pool[3] = concat("OperationOutcome/issue/details/text", "=", text);
    pool[4] = concat("OperationOutcome/issue/diagnostics=correlation-id",
                     "=", cid);

    ev[0] = "OperationOutcome";
    ev[1] = pool[0];
    ev[2] = "OperationOutcome/issue";
    ev[3] = "OperationOutcome/issue/severity=error";
    ev[4] = pool[1];
    ev[5] = "OperationOutcome/issue/details";
    ev[6] = "OperationOutcome/issue/details/coding";
    ev[7] = "OperationOutcome/issue/details/coding/system="
            "urn:smart-gateway:error";
    ev[8] = pool[2];
    ev[9] = pool[3];
    ev[10] = pool[4];

    return 11;
}


static void
pool_free(char **pool, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(pool[i]);
        pool[i] = NULL;
    }
}


/* --- the catalogue --------------------------------------------------- */

static void
test_catalogue_matches_spec(void **state)
{
    size_t                    i;
    const smart_err_entry_t  *e;

    (void) state;

    assert_int_equal(sizeof(spec_rows) / sizeof(spec_rows[0]),
                     SMART_ERR__COUNT);

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        e = smart_err_get((smart_err_e) i);
        assert_non_null(e);
        assert_non_null(e->code);
        assert_non_null(e->message);
        assert_string_equal(e->code, spec_rows[i].code);
        assert_int_equal(e->status, spec_rows[i].status);
        assert_string_equal(e->fhir_code, spec_rows[i].fhir_code);
        assert_string_equal(e->severity, "error");
        assert_int_equal(e->retry, spec_rows[i].retry);
    }
}


static void
test_catalogue_exact_messages(void **state)
{
    (void) state;

    assert_string_equal(smart_err_get(SMART_ERR_CONFLICT)->message,
        "This record changed in the EHR after the screen loaded. "
        "Reload to see the latest version.");
    assert_string_equal(smart_err_get(SMART_ERR_WRITE_OUTCOME_UNKNOWN)->message,
        "We could not confirm your change was saved. "
        "Reload the record before trying again.");
    assert_string_equal(smart_err_get(SMART_ERR_TOKEN_EXPIRED)->message,
        "Your session has expired. Sign in again to continue.");
}


static int
contains_ci(const char *hay, const char *needle)
{
    size_t  i, j, n;

    n = strlen(needle);

    for (i = 0; hay[i] != '\0'; i++) {
        for (j = 0; j < n; j++) {
            char a = hay[i + j], b = needle[j];

            if (a >= 'A' && a <= 'Z') {
                a = (char) (a - 'A' + 'a');
            }
            if (a != b) {
                break;
            }
        }
        if (j == n) {
            return 1;
        }
    }

    return 0;
}


/* Plain language: no protocol words, no blame, calm punctuation. */
static void
test_catalogue_messages_plain(void **state)
{
    static const char  *jargon[] = {
        "token", "jwt", "oauth", "scope", "claim", "bearer", "fhir",
        "http", "40", "50", "upstream", "gateway", "proxy", "jwks", "smart",
        "error", "invalid", "illegal", "fail", "!", "you must", "your fault",
        "you entered", "denied", "unauthori", "forbidden"
    };
    size_t                    i, j, n;
    const smart_err_entry_t  *e;

    (void) state;

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        e = smart_err_get((smart_err_e) i);
        n = strlen(e->message);

        assert_true(n > 20 && n < 200);
        assert_true(e->message[n - 1] == '.');
        assert_true(e->message[0] >= 'A' && e->message[0] <= 'Z');
        assert_null(strstr(e->message, "  "));

        for (j = 0; j < sizeof(jargon) / sizeof(jargon[0]); j++) {
            if (contains_ci(e->message, jargon[j])) {
                fail_msg("%s: message has \"%s\"", e->code, jargon[j]);
            }
        }

        /* every message says what to do next */
        assert_true(contains_ci(e->message, "sign in")
                    || contains_ci(e->message, "reload")
                    || contains_ci(e->message, "reopen")
                    || contains_ci(e->message, "try again")
                    || contains_ci(e->message, "contact support")
                    || e->retry == SMART_RETRY_NO);
    }
}


/* docs/errors.md copies the catalogue: keep it word for word in step. */
static void
test_catalogue_documented(void **state)
{
    FILE                     *f;
    char                     *doc, *row, *tmp;
    long                      n;
    size_t                    i;
    const smart_err_entry_t  *e;

    (void) state;

    f = fopen("../docs/errors.md", "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    doc = malloc((size_t) n + 1);
    assert_non_null(doc);
    assert_int_equal(fread(doc, 1, (size_t) n, f), (size_t) n);
    doc[n] = '\0';
    fclose(f);

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        e = smart_err_get((smart_err_e) i);

        tmp = concat("| `", e->code, "` | ");
        row = concat(tmp, e->message, " | `");
        free(tmp);
        tmp = concat(row, smart_retry_name(e->retry), "` |\n");
        free(row);

        if (strstr(doc, tmp) == NULL) {
            fail_msg("docs/errors.md lacks the row: %s", tmp);
        }

        free(tmp);
    }

    free(doc);
}


static void
test_err_get_out_of_range(void **state)
{
    (void) state;

    assert_null(smart_err_get(SMART_ERR__COUNT));
    assert_null(smart_err_get((smart_err_e) (SMART_ERR__COUNT + 1)));
    assert_null(smart_err_get((smart_err_e) -1));
    assert_null(smart_err_get((smart_err_e) 100000));
    assert_non_null(smart_err_get(SMART_ERR_TOKEN_MISSING));
    assert_non_null(smart_err_get(SMART_ERR_AUDIT_UNAVAILABLE));
}


static void
test_from_code(void **state)
{
    size_t  i;

    (void) state;

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        assert_int_equal(smart_err_from_code(spec_rows[i].code,
                                             strlen(spec_rows[i].code)), i);
    }

    /* length is what counts, not a NUL */
    assert_int_equal(smart_err_from_code("token-missing-and-more", 13),
                     SMART_ERR_TOKEN_MISSING);
    assert_int_equal(smart_err_from_code("token-missing", 12),
                     SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code("token-missing", 14),
                     SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code("conflict\0x", 10),
                     SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code("Conflict", 8), SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code("", 0), SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code(NULL, 5), SMART_ERR__COUNT);
    assert_int_equal(smart_err_from_code("ok", 2), SMART_ERR__COUNT);
}


static void
test_content_type_and_retry_names(void **state)
{
    (void) state;

    assert_string_equal(smart_oo_content_type(SMART_OO_JSON),
                        "application/fhir+json");
    assert_string_equal(smart_oo_content_type(SMART_OO_XML),
                        "application/fhir+xml");
    assert_string_equal(smart_oo_content_type(7), "application/fhir+json");
    assert_string_equal(smart_oo_content_type(-1), "application/fhir+json");

    assert_string_equal(smart_retry_name(SMART_RETRY_NO), "no");
    assert_string_equal(smart_retry_name(SMART_RETRY_YES), "yes");
    assert_string_equal(smart_retry_name(SMART_RETRY_AFTER_SIGNIN),
                        "after-sign-in");
    assert_string_equal(smart_retry_name(SMART_RETRY_AFTER_RELOAD),
                        "after-reload");
    assert_string_equal(smart_retry_name(SMART_RETRY_REOPEN_CHART),
                        "reopen-chart");
    assert_string_equal(smart_retry_name(SMART_RETRY_CONTACT_SUPPORT),
                        "contact-support");
    assert_string_equal(smart_retry_name((smart_retry_e) 6), "unknown");
    assert_string_equal(smart_retry_name((smart_retry_e) -1), "unknown");
}


/* --- JSON rendering -------------------------------------------------- */

static void
test_json_every_entry(void **state)
{
    static const char  *contact = "Call the service desk at x4357.";
    size_t              i;
    char               *out, *text;
    json_t             *doc;
    smart_oo_t          oo;
    const smart_err_entry_t  *e;

    (void) state;

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        e = smart_err_get((smart_err_e) i);

        memset(&oo, 0, sizeof(oo));
        oo.err = (smart_err_e) i;
        oo.correlation_id = CID;
        oo.contact = contact;
        oo.format = SMART_OO_JSON;

        out = render(&oo, NULL);
        check_json_inert(out);
        doc = parse_json(out);
        text = concat(e->message, " ", contact);
        check_json_head(doc, (smart_err_e) i, CID, text, 1);
        free(text);
        json_decref(doc);

        /* the exact shape, key order included */
        assert_true(strncmp(out, JSON_PREFIX, sizeof(JSON_PREFIX) - 1) == 0);
        free(out);

        /* no contact, and an empty one, leave the message alone */
        oo.contact = NULL;
        out = render(&oo, NULL);
        doc = parse_json(out);
        check_json_head(doc, (smart_err_e) i, CID, e->message, 1);
        json_decref(doc);
        free(out);

        oo.contact = "";
        out = render(&oo, NULL);
        doc = parse_json(out);
        check_json_head(doc, (smart_err_e) i, CID, e->message, 1);
        json_decref(doc);
        free(out);
    }
}


static void
test_json_exact_document(void **state)
{
    char        *out;
    smart_oo_t   oo;

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_TOKEN_EXPIRED;
    oo.correlation_id = "abc12345";
    oo.contact = "Call x4357.";

    out = render(&oo, NULL);
    assert_string_equal(out,
        "{\"resourceType\":\"OperationOutcome\",\"id\":\"abc12345\","
        "\"issue\":[{\"severity\":\"error\",\"code\":\"expired\","
        "\"details\":{\"coding\":[{\"system\":\"urn:smart-gateway:error\","
        "\"code\":\"token-expired\"}],\"text\":\"Your session has expired. "
        "Sign in again to continue. Call x4357.\"},"
        "\"diagnostics\":\"correlation-id=abc12345\"}]}");
    free(out);
}


typedef struct {
    const char  *raw;
    const char  *decoded;   /* what a JSON parser must read back */
} hostile_t;


static const hostile_t  hostile[] = {
    { "Say \"hi\" \\ back", "Say \"hi\" \\ back" },
    { "</script><script>alert(1)</script>",
      "</script><script>alert(1)</script>" },
    { "a & b <c> 'd'", "a & b <c> 'd'" },
    { "line1\nline2\r\ttab\x01\x1f\x7f end",
      "line1\nline2\r\ttab\x01\x1f\x7f end" },
    { "bad \xff byte", "bad \xEF\xBF\xBD byte" },
    { "overlong \xc0\xaf slash", "overlong \xEF\xBF\xBD\xEF\xBF\xBD slash" },
    { "surrogate \xed\xa0\x80!", "surrogate \xEF\xBF\xBD\xEF\xBF\xBD"
                                 "\xEF\xBF\xBD!" },
    { "cut \xe2\x82", "cut \xEF\xBF\xBD\xEF\xBF\xBD" },
    { "too big \xf4\x90\x80\x80", "too big \xEF\xBF\xBD\xEF\xBF\xBD"
                                  "\xEF\xBF\xBD\xEF\xBF\xBD" },
    { "sep \xe2\x80\xa8 \xe2\x80\xa9", "sep \xe2\x80\xa8 \xe2\x80\xa9" },
    { "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
    { "nonchar \xef\xbf\xbe", "nonchar \xef\xbf\xbe" }
};


static void
test_json_hostile_contact(void **state)
{
    size_t       i;
    char        *out, *text;
    json_t      *doc;
    smart_oo_t   oo;

    (void) state;

    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        memset(&oo, 0, sizeof(oo));
        oo.err = SMART_ERR_DATA_UNAVAILABLE;
        oo.correlation_id = CID;
        oo.contact = hostile[i].raw;

        out = render(&oo, NULL);
        check_json_inert(out);
        assert_false(contains_ci(out, "</script"));

        doc = parse_json(out);
        text = concat(smart_err_get(oo.err)->message, " ", hostile[i].decoded);
        check_json_head(doc, oo.err, CID, text, 1);
        free(text);
        json_decref(doc);
        free(out);
    }
}


static void
test_json_long_contact(void **state)
{
    size_t       n, len;
    char        *contact, *out, *text;
    json_t      *doc;
    smart_oo_t   oo;

    (void) state;

    n = 200000;
    contact = malloc(n + 1);
    assert_non_null(contact);
    memset(contact, '"', n);
    contact[n] = '\0';

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_UPSTREAM_ERROR;
    oo.correlation_id = CID;
    oo.contact = contact;

    out = render(&oo, &len);
    assert_true(len > 2 * n);
    doc = parse_json(out);
    text = concat(smart_err_get(oo.err)->message, " ", contact);
    check_json_head(doc, oo.err, CID, text, 1);

    free(text);
    json_decref(doc);
    free(out);
    free(contact);
}


static const char  *bad_cids[] = {
    "", "a b", "abc\"def", "<script>", "id\n", "a/b", "ab\xff", "x;y",
    "caf\xc3\xa9", "a+b", "a%20b", "{}", "a\\b"
};


static void
test_invalid_correlation_ids(void **state)
{
    size_t       i;
    char        *out, long_cid[200];
    json_t      *doc;
    smart_oo_t   oo;

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_NOT_FOUND;

    for (i = 0; i <= sizeof(bad_cids) / sizeof(bad_cids[0]); i++) {
        oo.correlation_id = (i == 0) ? NULL : bad_cids[i - 1];

        oo.format = SMART_OO_JSON;
        out = render(&oo, NULL);
        doc = parse_json(out);
        check_json_head(doc, oo.err, "invalid",
                        smart_err_get(oo.err)->message, 1);
        json_decref(doc);
        if (oo.correlation_id != NULL && oo.correlation_id[0] != '\0') {
            assert_null(strstr(out, oo.correlation_id));
        }
        free(out);

        oo.format = SMART_OO_XML;
        out = render(&oo, NULL);
        assert_non_null(strstr(out, "<id value=\"invalid\"/>"));
        assert_non_null(strstr(out,
                        "<diagnostics value=\"correlation-id=invalid\"/>"));
        free(out);
    }

    /* 128 is the longest accepted, 129 is refused */
    memset(long_cid, 'a', sizeof(long_cid));
    long_cid[128] = '\0';
    oo.correlation_id = long_cid;
    oo.format = SMART_OO_JSON;
    out = render(&oo, NULL);
    doc = parse_json(out);
    check_json_head(doc, oo.err, long_cid, smart_err_get(oo.err)->message, 1);
    json_decref(doc);
    free(out);

    long_cid[128] = 'a';
    long_cid[129] = '\0';
    out = render(&oo, NULL);
    doc = parse_json(out);
    check_json_head(doc, oo.err, "invalid", smart_err_get(oo.err)->message, 1);
    json_decref(doc);
    assert_null(strstr(out, "aaaaaaaaaaaaaaaa"));
    free(out);

    /* every allowed character class at once */
    oo.correlation_id = "AZaz09._-";
    out = render(&oo, NULL);
    doc = parse_json(out);
    check_json_head(doc, oo.err, "AZaz09._-",
                    smart_err_get(oo.err)->message, 1);
    json_decref(doc);
    free(out);
}


static const smart_oo_issue_t  extras[] = {
    /* all defaults: severity error, code processing, nothing else */
    { NULL, NULL, NULL, NULL, NULL },
    /* a denied bundle entry */
    { "error", "forbidden", "scope-insufficient",
      "This part of the request is not allowed.", "Bundle.entry[3]" },
    /* upstream issue: text only, hostile text and expression */
    { "warning", "business-rule", NULL, "Dose \"<5>\" & more\x01",
      "Observation.value[x]</expression>" },
    /* unknown severity and code fall back; foreign details code dropped */
    { "catastrophic", "<b>", "no-such-code", NULL, NULL },
    /* empty strings are absent */
    { "information", "informational", "", "", "" }
};


static void
test_json_extra_issues(void **state)
{
    char        *out;
    json_t      *doc, *issues, *is, *d, *c, *x;
    smart_oo_t   oo;

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_SCOPE_INSUFFICIENT;
    oo.correlation_id = CID;
    oo.extra = extras;
    oo.nextra = sizeof(extras) / sizeof(extras[0]);

    out = render(&oo, NULL);
    check_json_inert(out);
    doc = parse_json(out);
    issues = check_json_head(doc, oo.err, CID,
                             smart_err_get(oo.err)->message, 6);

    is = json_array_get(issues, 1);
    assert_int_equal(json_object_size(is), 2);
    assert_string_equal(jstr(is, "severity"), "error");
    assert_string_equal(jstr(is, "code"), "processing");

    is = json_array_get(issues, 2);
    assert_int_equal(json_object_size(is), 4);
    assert_string_equal(jstr(is, "severity"), "error");
    assert_string_equal(jstr(is, "code"), "forbidden");
    d = json_object_get(is, "details");
    assert_int_equal(json_object_size(d), 2);
    assert_string_equal(jstr(d, "text"),
                        "This part of the request is not allowed.");
    c = json_array_get(json_object_get(d, "coding"), 0);
    assert_int_equal(json_array_size(json_object_get(d, "coding")), 1);
    assert_int_equal(json_object_size(c), 2);
    assert_string_equal(jstr(c, "system"), "urn:smart-gateway:error");
    assert_string_equal(jstr(c, "code"), "scope-insufficient");
    x = json_object_get(is, "expression");
    assert_true(json_is_array(x));
    assert_int_equal(json_array_size(x), 1);
    assert_string_equal(json_string_value(json_array_get(x, 0)),
                        "Bundle.entry[3]");
    assert_null(json_object_get(is, "diagnostics"));

    is = json_array_get(issues, 3);
    assert_int_equal(json_object_size(is), 4);
    assert_string_equal(jstr(is, "severity"), "warning");
    assert_string_equal(jstr(is, "code"), "business-rule");
    d = json_object_get(is, "details");
    assert_int_equal(json_object_size(d), 1);
    assert_string_equal(jstr(d, "text"), "Dose \"<5>\" & more\x01");
    x = json_object_get(is, "expression");
    assert_string_equal(json_string_value(json_array_get(x, 0)),
                        "Observation.value[x]</expression>");

    is = json_array_get(issues, 4);
    assert_int_equal(json_object_size(is), 2);
    assert_string_equal(jstr(is, "severity"), "error");
    assert_string_equal(jstr(is, "code"), "processing");

    is = json_array_get(issues, 5);
    assert_int_equal(json_object_size(is), 2);
    assert_string_equal(jstr(is, "severity"), "information");
    assert_string_equal(jstr(is, "code"), "informational");

    json_decref(doc);
    free(out);

    /* nextra without an array renders the catalogue issue alone */
    oo.extra = NULL;
    oo.nextra = 3;
    out = render(&oo, NULL);
    doc = parse_json(out);
    check_json_head(doc, oo.err, CID, smart_err_get(oo.err)->message, 1);
    json_decref(doc);
    free(out);
}


/* An err outside the enum is a caller bug: rendered as a gateway fault. */
static void
test_out_of_range_err(void **state)
{
    size_t       i;
    char        *out;
    json_t      *doc;
    smart_oo_t   oo;
    static const int  bad[] = { SMART_ERR__COUNT, SMART_ERR__COUNT + 7, -1 };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&oo, 0, sizeof(oo));
        oo.err = (smart_err_e) bad[i];
        oo.correlation_id = CID;
        oo.contact = "Call x4357.";

        out = render(&oo, NULL);
        doc = parse_json(out);
        check_json_head(doc, SMART_ERR_CONFIGURATION_INVALID, CID,
            "Access cannot be checked right now because of a system setup "
            "problem. This is not a problem with your account. Contact "
            "support. Call x4357.", 1);
        json_decref(doc);
        free(out);
    }
}


static void
test_null_and_unknown_format(void **state)
{
    char        buf[8], *a, *b;
    smart_oo_t  oo;

    (void) state;

    memset(buf, 'Z', sizeof(buf));
    assert_int_equal(smart_oo_render(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "");
    assert_int_equal(smart_oo_render(NULL, 0, NULL), 0);

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_CONFLICT;
    oo.correlation_id = CID;
    a = render(&oo, NULL);
    oo.format = 42;
    b = render(&oo, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
}


/* --- XML rendering --------------------------------------------------- */

static void
test_xml_every_entry(void **state)
{
    static const char  *contact = "Call the service desk at x4357.";
    size_t              i, n;
    char               *out, *text, *pool[5];
    const char         *ev[16];
    smart_oo_t          oo;

    (void) state;

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        memset(&oo, 0, sizeof(oo));
        oo.err = (smart_err_e) i;
        oo.correlation_id = CID;
        oo.contact = contact;
        oo.format = SMART_OO_XML;

        out = render(&oo, NULL);
        assert_true(strncmp(out, XML_PREFIX, sizeof(XML_PREFIX) - 1) == 0);

        text = concat(smart_err_get(oo.err)->message, " ", contact);
        n = xml_head_events(ev, pool, oo.err, CID, text);
        check_xml_events(out, ev, n);
        pool_free(pool, 5);
        free(text);
        free(out);

        oo.contact = NULL;
        out = render(&oo, NULL);
        n = xml_head_events(ev, pool, oo.err, CID,
                            smart_err_get(oo.err)->message);
        check_xml_events(out, ev, n);
        pool_free(pool, 5);
        free(out);
    }
}


static void
test_xml_exact_document(void **state)
{
    char        *out;
    smart_oo_t   oo;
    smart_oo_issue_t  x = { NULL, NULL, "patient-mismatch", "It's <b>",
                            "Bundle.entry[0]" };

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_TOKEN_EXPIRED;
    oo.correlation_id = "abc12345";
    oo.format = SMART_OO_XML;
    oo.extra = &x;
    oo.nextra = 1;

    out = render(&oo, NULL);
    assert_string_equal(out,
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\">"
        "<id value=\"abc12345\"/>"
        "<issue><severity value=\"error\"/><code value=\"expired\"/>"
        "<details><coding><system value=\"urn:smart-gateway:error\"/>"
        "<code value=\"token-expired\"/></coding>"
        "<text value=\"Your session has expired. Sign in again to "
        "continue.\"/></details>"
        "<diagnostics value=\"correlation-id=abc12345\"/></issue>"
        "<issue><severity value=\"error\"/><code value=\"processing\"/>"
        "<details><coding><system value=\"urn:smart-gateway:error\"/>"
        "<code value=\"patient-mismatch\"/></coding>"
        "<text value=\"It&apos;s &lt;b&gt;\"/></details>"
        "<expression value=\"Bundle.entry[0]\"/></issue>"
        "</OperationOutcome>");
    free(out);
}


/* What an XML parser must read back from a hostile contact. */
static const hostile_t  hostile_xml[] = {
    { "Say \"hi\" \\ back", "Say \"hi\" \\ back" },
    { "</text></details><script>x</script>",
      "</text></details><script>x</script>" },
    { "a & b <c> 'd' &amp;", "a & b <c> 'd' &amp;" },
    { "l1\nl2\r\tt\x01\x1f\x7f\xc2\x85 end",
      "l1\nl2\r\tt\xEF\xBF\xBD\xEF\xBF\xBD\x7f\xc2\x85 end" },
    { "bad \xff byte", "bad \xEF\xBF\xBD byte" },
    { "surrogate \xed\xa0\x80", "surrogate \xEF\xBF\xBD\xEF\xBF\xBD"
                                "\xEF\xBF\xBD" },
    { "nonchar \xef\xbf\xbe \xef\xbf\xbf", "nonchar \xEF\xBF\xBD "
                                           "\xEF\xBF\xBD" },
    { "ok \xc3\xa9 \xf0\x9f\x98\x80", "ok \xc3\xa9 \xf0\x9f\x98\x80" }
};


static void
test_xml_hostile_contact(void **state)
{
    size_t              i, n;
    char               *out, *text, *pool[5];
    const char         *ev[16];
    const unsigned char *p;
    smart_oo_t          oo;

    (void) state;

    for (i = 0; i < sizeof(hostile_xml) / sizeof(hostile_xml[0]); i++) {
        memset(&oo, 0, sizeof(oo));
        oo.err = SMART_ERR_REQUEST_INVALID;
        oo.correlation_id = CID;
        oo.contact = hostile_xml[i].raw;
        oo.format = SMART_OO_XML;

        out = render(&oo, NULL);

        for (p = (const unsigned char *) out; *p != '\0'; p++) {
            assert_true(*p >= 0x20);
        }
        assert_null(strstr(out, "<script"));

        text = concat(smart_err_get(oo.err)->message, " ",
                      hostile_xml[i].decoded);
        n = xml_head_events(ev, pool, oo.err, CID, text);
        check_xml_events(out, ev, n);
        pool_free(pool, 5);
        free(text);
        free(out);
    }
}


static void
test_xml_extra_issues(void **state)
{
    size_t       n;
    char        *out, *pool[5];
    const char  *ev[48];
    smart_oo_t   oo;

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_SCOPE_INSUFFICIENT;
    oo.correlation_id = CID;
    oo.extra = extras;
    oo.nextra = sizeof(extras) / sizeof(extras[0]);
    oo.format = SMART_OO_XML;

    out = render(&oo, NULL);

    n = xml_head_events(ev, pool, oo.err, CID,
                        smart_err_get(oo.err)->message);

    ev[n++] = "OperationOutcome/issue";
    ev[n++] = "OperationOutcome/issue/severity=error";
    ev[n++] = "OperationOutcome/issue/code=processing";

    ev[n++] = "OperationOutcome/issue";
    ev[n++] = "OperationOutcome/issue/severity=error";
    ev[n++] = "OperationOutcome/issue/code=forbidden";
    ev[n++] = "OperationOutcome/issue/details";
    ev[n++] = "OperationOutcome/issue/details/coding";
    ev[n++] = "OperationOutcome/issue/details/coding/system="
              "urn:smart-gateway:error";
    ev[n++] = "OperationOutcome/issue/details/coding/code=scope-insufficient";
    ev[n++] = "OperationOutcome/issue/details/text="
              "This part of the request is not allowed.";
    ev[n++] = "OperationOutcome/issue/expression=Bundle.entry[3]";

    ev[n++] = "OperationOutcome/issue";
    ev[n++] = "OperationOutcome/issue/severity=warning";
    ev[n++] = "OperationOutcome/issue/code=business-rule";
    ev[n++] = "OperationOutcome/issue/details";
    ev[n++] = "OperationOutcome/issue/details/text="
              "Dose \"<5>\" & more\xEF\xBF\xBD";
    ev[n++] = "OperationOutcome/issue/expression="
              "Observation.value[x]</expression>";

    ev[n++] = "OperationOutcome/issue";
    ev[n++] = "OperationOutcome/issue/severity=error";
    ev[n++] = "OperationOutcome/issue/code=processing";

    ev[n++] = "OperationOutcome/issue";
    ev[n++] = "OperationOutcome/issue/severity=information";
    ev[n++] = "OperationOutcome/issue/code=informational";

    check_xml_events(out, ev, n);
    pool_free(pool, 5);
    free(out);
}


/* The checker itself must refuse what it is there to catch. */
static void
test_xml_checker_refuses(void **state)
{
    static const char  *bad[] = {
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\">",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"a\"/>"
        "</OperationOutcom>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"a<\"/>"
        "</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"a&b\"/>"
        "</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"a\x01\"/>"
        "</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"\xff\"/>"
        "</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"&#x0;\"/>"
        "</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><id value=\"a\">"
        "</id></OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\">x</OperationOutcome>",
        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"></OperationOutcome>x",
        "<OperationOutcome><id value=\"a\"/></OperationOutcome>"
    };
    size_t     i;
    xml_doc_t  d;

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (xml_parse(bad[i], &d)) {
            fail_msg("checker accepted: %s", bad[i]);
        }
        xml_doc_free(&d);
    }

    assert_true(xml_parse("<OperationOutcome xmlns=\"http://hl7.org/fhir\">"
                          "<id value=\"a&#xA;&amp;\"/></OperationOutcome>",
                          &d));
    assert_int_equal(d.nev, 2);
    assert_string_equal(d.ev[1], "OperationOutcome/id=a\n&");
    xml_doc_free(&d);
}


/* --- truncation ------------------------------------------------------ */

static void
check_truncation(const smart_oo_t *oo)
{
    size_t   full, cap, ret, i;
    char    *ref, *buf;

    ref = render(oo, &full);
    buf = malloc(full + 16);
    assert_non_null(buf);

    assert_int_equal(smart_oo_render(NULL, 0, oo), full);

    for (cap = 0; cap <= full + 2; cap++) {
        memset(buf, 'Z', full + 16);
        ret = smart_oo_render(buf, cap, oo);
        assert_int_equal(ret, full);

        if (cap == 0) {
            assert_true(buf[0] == 'Z');
            continue;
        }

        i = (cap - 1 < full) ? cap - 1 : full;
        assert_true(buf[i] == '\0');
        assert_memory_equal(buf, ref, i);
        assert_true(buf[cap] == 'Z');   /* nothing past cap */
    }

    free(buf);
    free(ref);
}


static void
test_truncation(void **state)
{
    smart_oo_t  oo;

    (void) state;

    memset(&oo, 0, sizeof(oo));
    oo.err = SMART_ERR_WRITE_OUTCOME_UNKNOWN;
    oo.correlation_id = CID;
    oo.contact = "Call \"x4357\" <now> \xff.";
    oo.extra = extras;
    oo.nextra = sizeof(extras) / sizeof(extras[0]);

    check_truncation(&oo);
    oo.format = SMART_OO_XML;
    check_truncation(&oo);
}


/* --- WWW-Authenticate ------------------------------------------------ */

static char *
www(smart_err_e err, const char *realm, const char *scope)
{
    size_t   len, len2;
    char    *buf;

    len = smart_www_authenticate(NULL, 0, err, realm, scope);
    buf = malloc(len + 1);
    assert_non_null(buf);
    memset(buf, 'Z', len + 1);
    len2 = smart_www_authenticate(buf, len + 1, err, realm, scope);
    assert_int_equal(len, len2);
    assert_int_equal(strlen(buf), len);

    return buf;
}


static void
check_www(smart_err_e err, const char *realm, const char *scope,
    const char *expect)
{
    char  *s;

    s = www(err, realm, scope);
    assert_string_equal(s, expect);
    free(s);
}


static void
test_www_authenticate_forms(void **state)
{
    size_t  i;
    char    buf[16];

    (void) state;

    check_www(SMART_ERR_TOKEN_MISSING, "ehr", NULL, "Bearer realm=\"ehr\"");
    check_www(SMART_ERR_TOKEN_MISSING, NULL, "patient/*.rs",
              "Bearer realm=\"smart\"");
    check_www(SMART_ERR_TOKEN_INVALID, "ehr", NULL,
              "Bearer realm=\"ehr\", error=\"invalid_token\", "
              "error_description=\"The access token is not valid\"");
    check_www(SMART_ERR_TOKEN_EXPIRED, NULL, NULL,
              "Bearer realm=\"smart\", error=\"invalid_token\", "
              "error_description=\"The access token expired\"");
    check_www(SMART_ERR_SCOPE_INSUFFICIENT, "ehr", "patient/Observation.rs",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\", "
              "scope=\"patient/Observation.rs\"");
    check_www(SMART_ERR_PATIENT_MISMATCH, "ehr", "patient/Patient.r",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\", "
              "scope=\"patient/Patient.r\"");
    check_www(SMART_ERR_PATIENT_CONTEXT_MISSING, "ehr",
              "launch/patient patient/*.rs",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\", "
              "scope=\"launch/patient patient/*.rs\"");
    check_www(SMART_ERR_SCOPE_INSUFFICIENT, "ehr", NULL,
              "Bearer realm=\"ehr\", error=\"insufficient_scope\"");
    check_www(SMART_ERR_SCOPE_INSUFFICIENT, "ehr", "",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\"");

    /* every other error carries no header */
    for (i = 0; i < SMART_ERR__COUNT; i++) {
        if (i <= SMART_ERR_PATIENT_MISMATCH) {
            continue;
        }

        memset(buf, 'Z', sizeof(buf));
        assert_int_equal(smart_www_authenticate(buf, sizeof(buf),
                         (smart_err_e) i, "ehr", "x"), 0);
        assert_string_equal(buf, "");
        assert_int_equal(smart_www_authenticate(NULL, 0, (smart_err_e) i,
                         "ehr", "x"), 0);
    }

    memset(buf, 'Z', sizeof(buf));
    assert_int_equal(smart_www_authenticate(buf, sizeof(buf),
                     SMART_ERR__COUNT, "ehr", "x"), 0);
    assert_string_equal(buf, "");
    assert_int_equal(smart_www_authenticate(buf, sizeof(buf),
                     (smart_err_e) -1, "ehr", "x"), 0);
}


static void
test_www_authenticate_sanitized(void **state)
{
    char                 *s;
    const unsigned char  *p;

    (void) state;

    check_www(SMART_ERR_TOKEN_MISSING, "e\"h\\r\r\n\x01\x7f\xc3\xa9x",
              NULL, "Bearer realm=\"ehrx\"");
    /* nothing left: the default realm */
    check_www(SMART_ERR_TOKEN_MISSING, "\"\\\n\xff", NULL,
              "Bearer realm=\"smart\"");
    check_www(SMART_ERR_TOKEN_MISSING, "", NULL, "Bearer realm=\"smart\"");
    check_www(SMART_ERR_TOKEN_MISSING, "my realm", NULL,
              "Bearer realm=\"my realm\"");

    check_www(SMART_ERR_SCOPE_INSUFFICIENT, "ehr",
              "  patient/Obs\"ervation.rs \t\"\n  user/*.r\\  ",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\", "
              "scope=\"patient/Observation.rs user/*.r\"");
    check_www(SMART_ERR_SCOPE_INSUFFICIENT, "ehr", "\"\\ \xff ",
              "Bearer realm=\"ehr\", error=\"insufficient_scope\"");

    s = www(SMART_ERR_PATIENT_MISMATCH, "\x01\"<>&\xe2\x80\xa8",
            "a\"b\\c\x7f\xff");
    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        assert_true(*p >= 0x20 && *p <= 0x7E);
    }
    assert_string_equal(s, "Bearer realm=\"<>&\", "
                           "error=\"insufficient_scope\", scope=\"abc\"");
    free(s);
}


static void
test_www_authenticate_truncation(void **state)
{
    size_t       full, cap, ret;
    char         buf[160], ref[160];

    (void) state;

    full = smart_www_authenticate(ref, sizeof(ref), SMART_ERR_TOKEN_INVALID,
                                  "ehr", NULL);
    assert_true(full > 40 && full < sizeof(ref));
    assert_int_equal(smart_www_authenticate(NULL, 0, SMART_ERR_TOKEN_INVALID,
                                            "ehr", NULL), full);

    for (cap = 0; cap <= full + 1; cap++) {
        memset(buf, 'Z', sizeof(buf));
        ret = smart_www_authenticate(buf, cap, SMART_ERR_TOKEN_INVALID,
                                     "ehr", NULL);
        assert_int_equal(ret, full);

        if (cap == 0) {
            assert_true(buf[0] == 'Z');
            continue;
        }

        assert_true(buf[cap - 1 < full ? cap - 1 : full] == '\0');
        assert_memory_equal(buf, ref, cap - 1 < full ? cap - 1 : full);
        assert_true(buf[cap] == 'Z');
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_catalogue_matches_spec),
        cmocka_unit_test(test_catalogue_exact_messages),
        cmocka_unit_test(test_catalogue_messages_plain),
        cmocka_unit_test(test_catalogue_documented),
        cmocka_unit_test(test_err_get_out_of_range),
        cmocka_unit_test(test_from_code),
        cmocka_unit_test(test_content_type_and_retry_names),
        cmocka_unit_test(test_json_every_entry),
        cmocka_unit_test(test_json_exact_document),
        cmocka_unit_test(test_json_hostile_contact),
        cmocka_unit_test(test_json_long_contact),
        cmocka_unit_test(test_invalid_correlation_ids),
        cmocka_unit_test(test_json_extra_issues),
        cmocka_unit_test(test_out_of_range_err),
        cmocka_unit_test(test_null_and_unknown_format),
        cmocka_unit_test(test_xml_every_entry),
        cmocka_unit_test(test_xml_exact_document),
        cmocka_unit_test(test_xml_hostile_contact),
        cmocka_unit_test(test_xml_extra_issues),
        cmocka_unit_test(test_xml_checker_refuses),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_www_authenticate_forms),
        cmocka_unit_test(test_www_authenticate_sanitized),
        cmocka_unit_test(test_www_authenticate_truncation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
