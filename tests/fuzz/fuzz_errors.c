
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer target: OperationOutcome and WWW-Authenticate rendering with
 * hostile contact, correlation ID, realm, scope and extra-issue strings.
 *
 * Input: one control byte (err, format, extra count), then NUL-separated
 * strings: contact, correlation ID, realm, scope, and five per extra issue
 * (severity, code, details code, details text, expression).  A missing
 * string is NULL.  Aborts when the JSON rendering does not parse with
 * jansson or breaks a promise of the renderer: the id is the correlation
 * ID only when that is safe, the issue count is exact, the first issue is
 * the catalogue's, truncated renders are NUL-terminated prefixes, and the
 * XML and WWW-Authenticate values hold no byte they must not.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "smart_errors.h"
#include "smart_text.h"

#include "fuzz_util.h"


#define FUZZ_MAX_EXTRA   4
#define FUZZ_MAX_STRS    (4 + 5 * FUZZ_MAX_EXTRA)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);



static char *
render(const smart_oo_t *oo, size_t *lenp)
{
    size_t  len;
    char   *buf;

    len = smart_oo_render(NULL, 0, oo);
    buf = malloc(len + 1);
    fuzz_check(buf != NULL);
    fuzz_check(smart_oo_render(buf, len + 1, oo) == len);
    fuzz_check(strlen(buf) == len);
    *lenp = len;

    return buf;
}


static void
check_json(const smart_oo_t *oo, const char *s)
{
    json_t                   *doc, *issues, *is, *coding;
    json_error_t              err;
    const char               *id, *text, *cid;
    const smart_err_entry_t  *e;
    const unsigned char      *p;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        fuzz_check(*p >= 0x20 && *p != 0x7F && *p != '<' && *p != '>'
                   && *p != '&');
    }

    doc = json_loads(s, JSON_REJECT_DUPLICATES, &err);
    fuzz_check(doc != NULL);

    id = json_string_value(json_object_get(doc, "id"));
    fuzz_check(id != NULL);
    cid = oo->correlation_id;
    if (cid == NULL || !smart_cid_valid(cid, strnlen(cid, 200))) {
        cid = "invalid";
    }
    fuzz_check(strcmp(id, cid) == 0);

    issues = json_object_get(doc, "issue");
    fuzz_check(json_array_size(issues)
               == 1 + (oo->extra != NULL ? oo->nextra : 0));

    e = smart_err_get(oo->err);
    if (e == NULL) {
        e = smart_err_get(SMART_ERR_CONFIGURATION_INVALID);
    }

    is = json_array_get(issues, 0);
    coding = json_array_get(json_object_get(json_object_get(is, "details"),
                                            "coding"), 0);
    fuzz_check(strcmp(json_string_value(json_object_get(coding, "code")),
                      e->code) == 0);

    text = json_string_value(json_object_get(json_object_get(is, "details"),
                                             "text"));
    fuzz_check(text != NULL
               && strncmp(text, e->message, strlen(e->message)) == 0);

    json_decref(doc);
}


static void
check_xml(const char *s)
{
    const unsigned char  *p;
    int                   in_value;

    fuzz_check(strncmp(s, "<OperationOutcome xmlns=\"http://hl7.org/fhir\">",
                       46)
               == 0);

    /* inside attribute values: no raw '<', control bytes, or bare '&' */
    in_value = 0;

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        fuzz_check(*p >= 0x20);

        if (*p == '"') {
            in_value = !in_value;
            continue;
        }

        if (in_value) {
            fuzz_check(*p != '<' && *p != '>');

            if (*p == '&') {
                fuzz_check(strncmp((const char *) p, "&amp;", 5) == 0
                           || strncmp((const char *) p, "&lt;", 4) == 0
                           || strncmp((const char *) p, "&gt;", 4) == 0
                           || strncmp((const char *) p, "&quot;", 6) == 0
                           || strncmp((const char *) p, "&apos;", 6) == 0
                           || strncmp((const char *) p, "&#x", 3) == 0);
            }
        }
    }

    fuzz_check(!in_value);
    fuzz_check(strcmp(s + strlen(s) - 19, "</OperationOutcome>") == 0);
}


static void
check_truncated(const smart_oo_t *oo, const char *full, size_t len,
    size_t cap)
{
    char  *buf;

    buf = malloc(cap);
    fuzz_check(buf != NULL);
    fuzz_check(smart_oo_render(buf, cap, oo) == len);
    fuzz_check(strlen(buf) == (cap - 1 < len ? cap - 1 : len));
    fuzz_check(memcmp(buf, full, strlen(buf)) == 0);
    free(buf);
}


static void
check_www(smart_err_e err, const char *realm, const char *scope)
{
    char                  buf[512], *big;
    size_t                len;
    const unsigned char  *p;
    int                   quotes;

    len = smart_www_authenticate(NULL, 0, err, realm, scope);
    big = malloc(len + 1);
    fuzz_check(big != NULL);
    fuzz_check(smart_www_authenticate(big, len + 1, err, realm, scope) == len);
    fuzz_check(strlen(big) == len);

    quotes = 0;
    for (p = (const unsigned char *) big; *p != '\0'; p++) {
        fuzz_check(*p >= 0x20 && *p <= 0x7E && *p != '\\');
        quotes += (*p == '"');
    }
    fuzz_check(quotes % 2 == 0);
    fuzz_check(len == 0 || strncmp(big, "Bearer realm=\"", 14) == 0);

    fuzz_check(smart_www_authenticate(buf, sizeof(buf), err, realm, scope)
               == len);
    fuzz_check(strncmp(buf, big, sizeof(buf) - 1) == 0);
    free(big);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              *copy, *strs[FUZZ_MAX_STRS], *out, *p, *end;
    size_t             nstrs, i, len;
    smart_oo_t         oo;
    smart_oo_issue_t   extra[FUZZ_MAX_EXTRA];
    uint8_t            ctl;

    if (size < 1) {
        return 0;
    }

    ctl = data[0];

    copy = malloc(size);
    fuzz_check(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';

    nstrs = 0;
    p = copy;
    end = copy + size - 1;

    while (nstrs < FUZZ_MAX_STRS && p <= end) {
        strs[nstrs++] = p;
        p += strlen(p) + 1;
    }

    for (i = nstrs; i < FUZZ_MAX_STRS; i++) {
        strs[i] = NULL;
    }

    memset(&oo, 0, sizeof(oo));
    /* a few values past the enum, to exercise the fallback */
    oo.err = (smart_err_e) (ctl % (SMART_ERR__COUNT + 3));
    oo.format = (ctl & 0x80) ? SMART_OO_XML : SMART_OO_JSON;
    oo.contact = strs[0];
    oo.correlation_id = strs[1];

    for (i = 0; i < FUZZ_MAX_EXTRA; i++) {
        extra[i].severity = strs[4 + 5 * i];
        extra[i].code = strs[5 + 5 * i];
        extra[i].details_code = strs[6 + 5 * i];
        extra[i].details_text = strs[7 + 5 * i];
        extra[i].expression = strs[8 + 5 * i];
    }

    oo.nextra = (ctl >> 5) & 0x3;
    oo.extra = (oo.nextra > 0 || (ctl & 0x10)) ? extra : NULL;

    out = render(&oo, &len);

    if (oo.format == SMART_OO_XML) {
        check_xml(out);
        check_truncated(&oo, out, len, 1 + len / 2);

        oo.format = SMART_OO_JSON;
        free(out);
        out = render(&oo, &len);
    }

    check_json(&oo, out);
    check_truncated(&oo, out, len, 1 + len / 3);
    free(out);

    check_www(oo.err, strs[2], strs[3]);

    free(copy);

    return 0;
}
