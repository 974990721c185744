
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the error catalogue and OperationOutcome
 * rendering (docs/errors.md).  Plain C: no NGINX headers.
 *
 * Every string that reaches an output, the catalogue's own included, goes
 * through one UTF-8 decoder and one escaper per format, so a hostile
 * smart_error_contact, correlation ID or upstream issue cannot break out of
 * the document it is rendered into.
 */

#include <stdint.h>
#include <string.h>

#include "smart_errors.h"
#include "smart_text.h"


#define SMART_CID_INVALID   "invalid"
#define SMART_REALM_DEFAULT "smart"


/*
 * One row per smart_err_e, in enum order; designated initializers keep a row
 * from sliding under the wrong code, and the unit test checks that no row is
 * left empty.  Every severity is "error": "fatal" would tell a client that
 * no further processing was possible, which is not what a clinician's app
 * should act on; the retry guidance carries that meaning instead.
 */
static const smart_err_entry_t  smart_err_table[SMART_ERR__COUNT] = {

    [SMART_ERR_TOKEN_MISSING] = {
        "token-missing", 401, "login", "error",
        "We could not find your sign-in for this request. "
        "Sign in again to continue.",
        SMART_RETRY_AFTER_SIGNIN },

    [SMART_ERR_TOKEN_INVALID] = {
        "token-invalid", 401, "security", "error",
        "We could not confirm your sign-in. Sign in again to continue.",
        SMART_RETRY_AFTER_SIGNIN },

    [SMART_ERR_TOKEN_EXPIRED] = {
        "token-expired", 401, "expired", "error",
        "Your session has expired. Sign in again to continue.",
        SMART_RETRY_AFTER_SIGNIN },

    [SMART_ERR_SCOPE_INSUFFICIENT] = {
        "scope-insufficient", 403, "forbidden", "error",
        "This app has not been given access to this information. "
        "Contact support if you need this access.",
        SMART_RETRY_NO },

    [SMART_ERR_PATIENT_CONTEXT_MISSING] = {
        "patient-context-missing", 403, "forbidden", "error",
        "This app does not know which patient is open. "
        "Close it and reopen it from the patient's chart.",
        SMART_RETRY_REOPEN_CHART },

    [SMART_ERR_PATIENT_MISMATCH] = {
        "patient-mismatch", 403, "forbidden", "error",
        "This app can only show or change information for the patient it "
        "was opened for, so this request was stopped.",
        SMART_RETRY_NO },

    [SMART_ERR_REQUEST_INVALID] = {
        "request-invalid", 400, "invalid", "error",
        "The app sent a request that could not be processed. "
        "Contact support if this keeps happening.",
        SMART_RETRY_NO },

    [SMART_ERR_REQUEST_TOO_LARGE] = {
        "request-too-large", 413, "too-long", "error",
        "This is too much information to send at once, so it was not sent. "
        "Contact support if you need help.",
        SMART_RETRY_NO },

    [SMART_ERR_CONFLICT] = {
        "conflict", 409, "conflict", "error",
        "This record changed in the EHR after the screen loaded. "
        "Reload to see the latest version.",
        SMART_RETRY_AFTER_RELOAD },

    [SMART_ERR_RATE_LIMITED] = {
        "rate-limited", 429, "throttled", "error",
        "The EHR is busy right now. Wait a moment, then try again.",
        SMART_RETRY_YES },

    [SMART_ERR_DATA_UNAVAILABLE] = {
        "data-unavailable", 503, "transient", "error",
        "This information is not available right now. "
        "Try again in a few minutes.",
        SMART_RETRY_YES },

    [SMART_ERR_UPSTREAM_TIMEOUT] = {
        "upstream-timeout", 504, "timeout", "error",
        "The EHR took too long to answer. Try again in a moment.",
        SMART_RETRY_YES },

    /*
     * "after reload", not "yes": the change may have been saved, so a
     * person has to look at the record before anything is sent again.
     */
    [SMART_ERR_WRITE_OUTCOME_UNKNOWN] = {
        "write-outcome-unknown", 504, "timeout", "error",
        "We could not confirm your change was saved. "
        "Reload the record before trying again.",
        SMART_RETRY_AFTER_RELOAD },

    [SMART_ERR_UPSTREAM_ERROR] = {
        "upstream-error", 502, "exception", "error",
        "Something went wrong on our side while loading this information. "
        "Contact support and give them the reference shown with this "
        "message.",
        SMART_RETRY_CONTACT_SUPPORT },

    [SMART_ERR_NOT_FOUND] = {
        "not-found", 404, "not-found", "error",
        "This record could not be found. It may have been moved or removed.",
        SMART_RETRY_NO },

    [SMART_ERR_CONFIGURATION_INVALID] = {
        "configuration-invalid", 503, "exception", "error",
        "Access cannot be checked right now because of a system setup "
        "problem. This is not a problem with your account. Contact support.",
        SMART_RETRY_CONTACT_SUPPORT },

    [SMART_ERR_AUDIT_UNAVAILABLE] = {
        "audit-unavailable", 503, "transient", "error",
        "Access to records must be logged, and logging is not available "
        "right now, so nothing was done. Try again in a few minutes.",
        SMART_RETRY_YES },

    [SMART_ERR_RESPONSE_UNVERIFIABLE] = {
        "response-unverifiable", 502, "transient", "error",
        "The records could not be checked before being shown, so they were "
        "not shown. Try again; if this keeps happening, contact support "
        "with the reference below.",
        SMART_RETRY_CONTACT_SUPPORT },

    [SMART_ERR_FORMAT_UNSUPPORTED] = {
        "format-unsupported", 406, "not-supported", "error",
        "The app asked for these records in a format that cannot be checked "
        "before they are shown. The app must ask for JSON; contact the "
        "app's support.",
        SMART_RETRY_NO },

    [SMART_ERR_CLAIM_REQUIREMENT] = {
        "claim-requirement-failed", 403, "forbidden", "error",
        "Your sign-in does not meet this service's requirements for this "
        "app. Contact support.",
        SMART_RETRY_CONTACT_SUPPORT }
};


/* FHIR R4 IssueType (valueset-issue-type): accepted in extra issues. */
static const char  *smart_issue_types[] = {
    "invalid", "structure", "required", "value", "invariant", "security",
    "login", "unknown", "expired", "forbidden", "suppressed", "processing",
    "not-supported", "duplicate", "multiple-matches", "not-found",
    "deleted", "too-long", "code-invalid", "extension", "too-costly",
    "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational"
};


/* FHIR R4 IssueSeverity. */
static const char  *smart_issue_severities[] = {
    "fatal", "error", "warning", "information"
};


static const char  *smart_retry_names[] = {
    "no",               /* SMART_RETRY_NO */
    "yes",              /* SMART_RETRY_YES */
    "after-sign-in",    /* SMART_RETRY_AFTER_SIGNIN */
    "after-reload",     /* SMART_RETRY_AFTER_RELOAD */
    "reopen-chart",     /* SMART_RETRY_REOPEN_CHART */
    "contact-support"   /* SMART_RETRY_CONTACT_SUPPORT */
};


#define smart_nelts(a)  (sizeof(a) / sizeof((a)[0]))


/* A bounded writer with snprintf() semantics: len counts everything. */
typedef struct {
    char               *buf;
    size_t              cap;
    size_t              len;
} smart_out_t;


static void
smart_out_init(smart_out_t *out, char *buf, size_t cap)
{
    out->buf = buf;
    out->cap = (buf == NULL) ? 0 : cap;
    out->len = 0;
}


static void
smart_out_mem(smart_out_t *out, const char *p, size_t n)
{
    size_t  room;

    if (out->cap > 0 && out->len < out->cap - 1) {
        room = out->cap - 1 - out->len;
        memcpy(out->buf + out->len, p, n < room ? n : room);
    }

    /* saturate rather than wrap: a wrapped length would under-allocate */
    out->len = (n > SIZE_MAX - out->len) ? SIZE_MAX : out->len + n;
}


static void
smart_out_str(smart_out_t *out, const char *s)
{
    smart_out_mem(out, s, strlen(s));
}


static size_t
smart_out_finish(smart_out_t *out)
{
    if (out->cap > 0) {
        out->buf[out->len < out->cap - 1 ? out->len : out->cap - 1] = '\0';
    }

    return out->len;
}


static void
smart_out_utf8(smart_out_t *out, uint32_t cp)
{
    char    b[4];
    size_t  n;

    if (cp < 0x80) {
        b[0] = (char) cp;
        n = 1;

    } else if (cp < 0x800) {
        b[0] = (char) (0xC0 | (cp >> 6));
        b[1] = (char) (0x80 | (cp & 0x3F));
        n = 2;

    } else if (cp < 0x10000) {
        b[0] = (char) (0xE0 | (cp >> 12));
        b[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char) (0x80 | (cp & 0x3F));
        n = 3;

    } else {
        b[0] = (char) (0xF0 | (cp >> 18));
        b[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char) (0x80 | (cp & 0x3F));
        n = 4;
    }

    smart_out_mem(out, b, n);
}


static void
smart_out_hex(smart_out_t *out, const char *prefix, uint32_t cp, int width,
    const char *suffix)
{
    static const char  hex[] = "0123456789abcdef";
    char               b[8];
    int                i;

    for (i = 0; i < width; i++) {
        b[i] = hex[(cp >> (4 * (width - 1 - i))) & 0xF];
    }

    smart_out_str(out, prefix);
    smart_out_mem(out, b, (size_t) width);
    smart_out_str(out, suffix);
}


/*
 * JSON string contents.  Beyond RFC 8259, '<', '>', '&', DEL, U+2028 and
 * U+2029 are escaped too, so the body stays inert if a browser or a script
 * context ever sees it.
 */
static void
smart_json_escape(smart_out_t *out, const char *s)
{
    size_t               n, k;
    uint32_t             cp;
    const unsigned char  *p;

    p = (const unsigned char *) s;
    n = strlen(s);

    while (n > 0) {
        k = smart_utf8_decode(p, n, &cp);
        if (k == 0) {
            /* a bad byte becomes U+FFFD and decoding moves on */
            cp = SMART_UTF8_REPLACEMENT;
            k = 1;
        }

        if (cp == '"') {
            smart_out_mem(out, "\\\"", 2);

        } else if (cp == '\\') {
            smart_out_mem(out, "\\\\", 2);

        } else if (cp < 0x20 || cp == 0x7F || cp == '<' || cp == '>'
                   || cp == '&')
        {
            smart_out_hex(out, "\\u", cp, 4, "");

        } else if (cp == 0x2028 || cp == 0x2029) {
            smart_out_hex(out, "\\u", cp, 4, "");

        } else {
            smart_out_utf8(out, cp);
        }

        p += k;
        n -= k;
    }
}


/*
 * XML attribute value contents (we only ever write attributes).  Tab, LF
 * and CR are written as character references, which survive attribute
 * value normalization; every other character that XML 1.0 does not allow
 * becomes U+FFFD; C1 controls and DEL, allowed but discouraged, become
 * character references.
 */
static void
smart_xml_escape(smart_out_t *out, const char *s)
{
    size_t               n, k;
    uint32_t             cp;
    const unsigned char  *p;

    p = (const unsigned char *) s;
    n = strlen(s);

    while (n > 0) {
        k = smart_utf8_decode(p, n, &cp);
        if (k == 0) {
            /* a bad byte becomes U+FFFD and decoding moves on */
            cp = SMART_UTF8_REPLACEMENT;
            k = 1;
        }

        switch (cp) {
        case '&':
            smart_out_str(out, "&amp;");
            break;
        case '<':
            smart_out_str(out, "&lt;");
            break;
        case '>':
            smart_out_str(out, "&gt;");
            break;
        case '"':
            smart_out_str(out, "&quot;");
            break;
        case '\'':
            smart_out_str(out, "&apos;");
            break;
        case '\t':
        case '\n':
        case '\r':
            smart_out_hex(out, "&#x", cp, 1, ";");
            break;
        default:
            if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) {
                smart_out_utf8(out, SMART_UTF8_REPLACEMENT);

            } else if (cp >= 0x7F && cp <= 0x9F) {
                smart_out_hex(out, "&#x", cp, 2, ";");

            } else {
                smart_out_utf8(out, cp);
            }
        }

        p += k;
        n -= k;
    }
}


/* The ID itself when smart_cid_valid(), else "invalid". */
static const char *
smart_cid_safe(const char *cid)
{
    if (cid == NULL
        || !smart_cid_valid(cid, strnlen(cid, SMART_CID_MAX + 1)))
    {
        return SMART_CID_INVALID;
    }

    return cid;
}


static const char *
smart_pick(const char *value, const char **allowed, size_t n,
    const char *fallback)
{
    size_t  i;

    if (value == NULL) {
        return fallback;
    }

    for (i = 0; i < n; i++) {
        if (strcmp(value, allowed[i]) == 0) {
            return allowed[i];
        }
    }

    return fallback;
}


static int
smart_present(const char *s)
{
    return s != NULL && s[0] != '\0';
}


/*
 * The catalogue row used for rendering.  An err outside the enum is a bug
 * in the caller; it is answered as configuration-invalid: a gateway-side
 * fault the clinician cannot fix, that support has to look at, and that is
 * neither a token problem (which would send the user round a sign-in loop)
 * nor a retryable one.
 */
static const smart_err_entry_t *
smart_err_render_entry(smart_err_e err)
{
    const smart_err_entry_t  *e;

    e = smart_err_get(err);

    return (e != NULL) ? e : &smart_err_table[SMART_ERR_CONFIGURATION_INVALID];
}


/*
 * Normalizes an extra issue: severity and code must come from the FHIR R4
 * value sets, and a details code is only claimed under our coding system
 * when it is one of our codes.
 */
static void
smart_extra_fields(const smart_oo_issue_t *is, const char **severity,
    const char **code, const char **dcode, const char **dtext,
    const char **expr)
{
    *severity = smart_pick(is->severity, smart_issue_severities,
                           smart_nelts(smart_issue_severities), "error");
    *code = smart_pick(is->code, smart_issue_types,
                       smart_nelts(smart_issue_types), "processing");

    *dcode = NULL;
    if (is->details_code != NULL
        && smart_err_from_code(is->details_code, strlen(is->details_code))
           != SMART_ERR__COUNT)
    {
        *dcode = is->details_code;
    }

    *dtext = smart_present(is->details_text) ? is->details_text : NULL;
    *expr = smart_present(is->expression) ? is->expression : NULL;
}


static void
smart_json_coding(smart_out_t *out, const char *code)
{
    smart_out_str(out, "\"coding\":[{\"system\":\"" SMART_ERR_SYSTEM
                       "\",\"code\":\"");
    smart_json_escape(out, code);
    smart_out_str(out, "\"}]");
}


static void
smart_json_extra(smart_out_t *out, const smart_oo_issue_t *is)
{
    const char  *severity, *code, *dcode, *dtext, *expr;

    smart_extra_fields(is, &severity, &code, &dcode, &dtext, &expr);

    smart_out_str(out, ",{\"severity\":\"");
    smart_out_str(out, severity);
    smart_out_str(out, "\",\"code\":\"");
    smart_out_str(out, code);
    smart_out_str(out, "\"");

    if (dcode != NULL || dtext != NULL) {
        smart_out_str(out, ",\"details\":{");

        if (dcode != NULL) {
            smart_json_coding(out, dcode);
        }

        if (dtext != NULL) {
            smart_out_str(out, dcode != NULL ? ",\"text\":\"" : "\"text\":\"");
            smart_json_escape(out, dtext);
            smart_out_str(out, "\"");
        }

        smart_out_str(out, "}");
    }

    if (expr != NULL) {
        smart_out_str(out, ",\"expression\":[\"");
        smart_json_escape(out, expr);
        smart_out_str(out, "\"]");
    }

    smart_out_str(out, "}");
}


static void
smart_oo_json(smart_out_t *out, const smart_oo_t *oo,
    const smart_err_entry_t *e, const char *cid)
{
    size_t  i;

    smart_out_str(out, "{\"resourceType\":\"OperationOutcome\",\"id\":\"");
    smart_json_escape(out, cid);
    smart_out_str(out, "\",\"issue\":[{\"severity\":\"");
    smart_json_escape(out, e->severity);
    smart_out_str(out, "\",\"code\":\"");
    smart_json_escape(out, e->fhir_code);
    smart_out_str(out, "\",\"details\":{");
    smart_json_coding(out, e->code);
    smart_out_str(out, ",\"text\":\"");
    smart_json_escape(out, e->message);

    if (smart_present(oo->contact)) {
        smart_out_str(out, " ");
        smart_json_escape(out, oo->contact);
    }

    smart_out_str(out, "\"},\"diagnostics\":\"correlation-id=");
    smart_json_escape(out, cid);
    smart_out_str(out, "\"}");

    if (oo->extra != NULL) {
        for (i = 0; i < oo->nextra; i++) {
            smart_json_extra(out, &oo->extra[i]);
        }
    }

    smart_out_str(out, "]}");
}


static void
smart_xml_value(smart_out_t *out, const char *element, const char *value,
    const char *more)
{
    smart_out_str(out, "<");
    smart_out_str(out, element);
    smart_out_str(out, " value=\"");
    smart_xml_escape(out, value);

    if (more != NULL) {
        smart_xml_escape(out, more);
    }

    smart_out_str(out, "\"/>");
}


static void
smart_xml_coding(smart_out_t *out, const char *code)
{
    smart_out_str(out, "<coding>");
    smart_xml_value(out, "system", SMART_ERR_SYSTEM, NULL);
    smart_xml_value(out, "code", code, NULL);
    smart_out_str(out, "</coding>");
}


/*
 * Element order follows the R4 definition: severity, code, details,
 * diagnostics, location, expression.  Extra issues never carry diagnostics.
 */
static void
smart_xml_extra(smart_out_t *out, const smart_oo_issue_t *is)
{
    const char  *severity, *code, *dcode, *dtext, *expr;

    smart_extra_fields(is, &severity, &code, &dcode, &dtext, &expr);

    smart_out_str(out, "<issue>");
    smart_xml_value(out, "severity", severity, NULL);
    smart_xml_value(out, "code", code, NULL);

    if (dcode != NULL || dtext != NULL) {
        smart_out_str(out, "<details>");

        if (dcode != NULL) {
            smart_xml_coding(out, dcode);
        }

        if (dtext != NULL) {
            smart_xml_value(out, "text", dtext, NULL);
        }

        smart_out_str(out, "</details>");
    }

    if (expr != NULL) {
        smart_xml_value(out, "expression", expr, NULL);
    }

    smart_out_str(out, "</issue>");
}


static void
smart_oo_xml(smart_out_t *out, const smart_oo_t *oo,
    const smart_err_entry_t *e, const char *cid)
{
    size_t  i;

    smart_out_str(out, "<OperationOutcome xmlns=\"http://hl7.org/fhir\">");
    smart_xml_value(out, "id", cid, NULL);
    smart_out_str(out, "<issue>");
    smart_xml_value(out, "severity", e->severity, NULL);
    smart_xml_value(out, "code", e->fhir_code, NULL);
    smart_out_str(out, "<details>");
    smart_xml_coding(out, e->code);

    smart_out_str(out, "<text value=\"");
    smart_xml_escape(out, e->message);

    if (smart_present(oo->contact)) {
        smart_out_str(out, " ");
        smart_xml_escape(out, oo->contact);
    }

    smart_out_str(out, "\"/></details>");
    smart_xml_value(out, "diagnostics", "correlation-id=", cid);
    smart_out_str(out, "</issue>");

    if (oo->extra != NULL) {
        for (i = 0; i < oo->nextra; i++) {
            smart_xml_extra(out, &oo->extra[i]);
        }
    }

    smart_out_str(out, "</OperationOutcome>");
}


const smart_err_entry_t *
smart_err_get(smart_err_e err)
{
    if ((int) err < 0 || (int) err >= SMART_ERR__COUNT) {
        return NULL;
    }

    return &smart_err_table[err];
}


smart_err_e
smart_err_from_code(const char *code, size_t len)
{
    int  i;

    if (code == NULL) {
        return SMART_ERR__COUNT;
    }

    /* per request from the status counters (not "ok"): first byte first */

    for (i = 0; i < SMART_ERR__COUNT; i++) {
        if ((len == 0 || smart_err_table[i].code[0] == code[0])
            && strlen(smart_err_table[i].code) == len
            && memcmp(smart_err_table[i].code, code, len) == 0)
        {
            return (smart_err_e) i;
        }
    }

    return SMART_ERR__COUNT;
}


size_t
smart_oo_render(char *buf, size_t cap, const smart_oo_t *oo)
{
    const char               *cid;
    smart_out_t               out;
    const smart_err_entry_t  *e;

    smart_out_init(&out, buf, cap);

    if (oo == NULL) {
        return smart_out_finish(&out);
    }

    e = smart_err_render_entry(oo->err);
    cid = smart_cid_safe(oo->correlation_id);

    if (oo->format == SMART_OO_XML) {
        smart_oo_xml(&out, oo, e, cid);

    } else {
        smart_oo_json(&out, oo, e, cid);
    }

    return smart_out_finish(&out);
}


const char *
smart_oo_content_type(int format)
{
    return (format == SMART_OO_XML) ? "application/fhir+xml"
                                    : "application/fhir+json";
}


const char *
smart_retry_name(smart_retry_e retry)
{
    if ((int) retry < 0 || (size_t) retry >= smart_nelts(smart_retry_names)) {
        return "unknown";
    }

    return smart_retry_names[retry];
}


/*
 * RFC 6750 section 3: quoted values hold %x20-21 / %x23-5B / %x5D-7E; other
 * bytes are dropped.  With tokens set, spaces only separate: runs collapse
 * to one and none leads or trails, as the scope attribute's grammar wants.
 * Returns the bytes written (or that would be, when out is NULL).
 */
static size_t
smart_auth_quoted(smart_out_t *out, const char *s, int tokens)
{
    size_t         n;
    int            space;
    unsigned char  c;

    n = 0;
    space = 0;

    for ( /* void */ ; *s != '\0'; s++) {
        c = (unsigned char) *s;

        if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
            continue;
        }

        if (tokens && c == ' ') {
            space = (n > 0);
            continue;
        }

        if (space) {
            if (out != NULL) {
                smart_out_mem(out, " ", 1);
            }
            n++;
            space = 0;
        }

        if (out != NULL) {
            smart_out_mem(out, (const char *) &c, 1);
        }

        n++;
    }

    return n;
}


size_t
smart_www_authenticate(char *buf, size_t cap, smart_err_e err,
    const char *realm, const char *scope_needed)
{
    smart_out_t  out;
    const char  *error, *description;
    int          with_scope;

    smart_out_init(&out, buf, cap);

    error = NULL;
    description = NULL;
    with_scope = 0;

    switch (err) {

    case SMART_ERR_TOKEN_MISSING:
        break;

    case SMART_ERR_TOKEN_INVALID:
        error = "invalid_token";
        description = "The access token is not valid";
        break;

    case SMART_ERR_TOKEN_EXPIRED:
        error = "invalid_token";
        description = "The access token expired";
        break;

    case SMART_ERR_SCOPE_INSUFFICIENT:
    case SMART_ERR_PATIENT_MISMATCH:
    case SMART_ERR_PATIENT_CONTEXT_MISSING:
        error = "insufficient_scope";
        with_scope = (scope_needed != NULL
                      && smart_auth_quoted(NULL, scope_needed, 1) > 0);
        break;

    default:
        return smart_out_finish(&out);
    }

    if (realm == NULL || smart_auth_quoted(NULL, realm, 0) == 0) {
        realm = SMART_REALM_DEFAULT;
    }

    smart_out_str(&out, "Bearer realm=\"");
    (void) smart_auth_quoted(&out, realm, 0);
    smart_out_str(&out, "\"");

    if (error != NULL) {
        smart_out_str(&out, ", error=\"");
        smart_out_str(&out, error);
        smart_out_str(&out, "\"");
    }

    if (description != NULL) {
        smart_out_str(&out, ", error_description=\"");
        smart_out_str(&out, description);
        smart_out_str(&out, "\"");
    }

    if (with_scope) {
        smart_out_str(&out, ", scope=\"");
        (void) smart_auth_quoted(&out, scope_needed, 1);
        smart_out_str(&out, "\"");
    }

    return smart_out_finish(&out);
}
