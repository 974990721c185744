
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the error catalogue and OperationOutcome
 * rendering.
 *
 * The catalogue is the one place that knows codes, HTTP statuses, FHIR issue
 * types and the messages a clinician reads (docs/errors.md).  Renderers write
 * into a caller buffer with snprintf() semantics, so that NGINX can size a
 * pool allocation and the CLI can use the stack.  Plain C: no NGINX headers.
 */

#ifndef SMART_ERRORS_H
#define SMART_ERRORS_H

#include <stddef.h>


typedef enum {
    SMART_ERR_TOKEN_MISSING = 0,
    SMART_ERR_TOKEN_INVALID,
    SMART_ERR_TOKEN_EXPIRED,
    SMART_ERR_SCOPE_INSUFFICIENT,
    SMART_ERR_PATIENT_CONTEXT_MISSING,
    SMART_ERR_PATIENT_MISMATCH,
    SMART_ERR_REQUEST_INVALID,
    SMART_ERR_REQUEST_TOO_LARGE,
    SMART_ERR_CONFLICT,
    SMART_ERR_RATE_LIMITED,
    SMART_ERR_DATA_UNAVAILABLE,
    SMART_ERR_UPSTREAM_TIMEOUT,
    SMART_ERR_WRITE_OUTCOME_UNKNOWN,
    SMART_ERR_UPSTREAM_ERROR,
    SMART_ERR_NOT_FOUND,
    SMART_ERR_CONFIGURATION_INVALID,
    SMART_ERR_AUDIT_UNAVAILABLE,
    SMART_ERR_RESPONSE_UNVERIFIABLE,
    SMART_ERR_FORMAT_UNSUPPORTED,
    SMART_ERR_CLAIM_REQUIREMENT,
    SMART_ERR__COUNT
} smart_err_e;


typedef enum {
    SMART_RETRY_NO = 0,
    SMART_RETRY_YES,            /* retry, after Retry-After if given */
    SMART_RETRY_AFTER_SIGNIN,
    SMART_RETRY_AFTER_RELOAD,
    SMART_RETRY_REOPEN_CHART,
    SMART_RETRY_CONTACT_SUPPORT
} smart_retry_e;


typedef struct {
    const char        *code;        /* "token-missing" */
    int                status;      /* default HTTP status */
    const char        *fhir_code;   /* OperationOutcome.issue.code */
    const char        *severity;    /* "error" or "fatal" */
    const char        *message;     /* calm text for a clinician */
    smart_retry_e      retry;
} smart_err_entry_t;


#define SMART_ERR_SYSTEM  "urn:smart-gateway:error"
#define SMART_OO_JSON     0
#define SMART_OO_XML      1


/* An issue after the catalogue issue (bundle entries, upstream issues). */
typedef struct {
    const char        *severity;    /* NULL: "error" */
    const char        *code;        /* FHIR issue type; NULL: "processing" */
    const char        *details_code;    /* catalogue code or NULL */
    const char        *details_text;    /* NULL: none */
    const char        *expression;  /* e.g. "Bundle.entry[3]"; NULL: none */
} smart_oo_issue_t;


typedef struct {
    smart_err_e              err;
    const char              *correlation_id;    /* id and diagnostics */
    const char              *contact;   /* smart_error_contact or NULL */
    const smart_oo_issue_t  *extra;     /* issues after the first */
    size_t                   nextra;
    int                      format;    /* SMART_OO_JSON or SMART_OO_XML */
} smart_oo_t;


/* The catalogue row of err; NULL when err is outside the enum. */
const smart_err_entry_t *smart_err_get(smart_err_e err);

/*
 * Looks a code up ("token-expired", exact and case-sensitive); returns
 * SMART_ERR__COUNT if unknown or code is NULL.
 */
smart_err_e smart_err_from_code(const char *code, size_t len);

/*
 * Renders the OperationOutcome.  Returns the length of the full document
 * (not counting the NUL); writes at most cap bytes including a NUL when cap
 * is not 0 (buf may be NULL when cap is 0).  All strings are escaped for
 * the chosen format and invalid UTF-8 becomes U+FFFD; a correlation ID that
 * is NULL, empty, longer than 128 bytes or outside [A-Za-z0-9._-] is
 * rendered as "invalid", never raw.  An err outside the enum renders as
 * configuration-invalid (a gateway fault: 503, contact support, never a
 * token problem).  oo NULL renders nothing and returns 0.
 */
size_t smart_oo_render(char *buf, size_t cap, const smart_oo_t *oo);

/*
 * "application/fhir+json" or "application/fhir+xml"; any other format is
 * rendered as JSON, so it is named as JSON too.
 */
const char *smart_oo_content_type(int format);

/*
 * The retry guidance as a stable token for logs, docs and X-Smart-Decision:
 * "no", "yes", "after-sign-in", "after-reload", "reopen-chart",
 * "contact-support"; "unknown" for a value outside the enum.
 */
const char *smart_retry_name(smart_retry_e retry);

/*
 * Renders the RFC 6750 WWW-Authenticate value that goes with err, with
 * snprintf() semantics as smart_oo_render():
 *
 *   token-missing                  Bearer realm="R"
 *   token-invalid, token-expired   Bearer realm="R", error="invalid_token",
 *                                      error_description="<fixed text>"
 *   scope-insufficient, patient-mismatch, patient-context-missing
 *                                  Bearer realm="R",
 *                                      error="insufficient_scope",
 *                                      scope="S"
 *
 * Every other err carries no WWW-Authenticate: returns 0 and writes "".
 * realm and scope_needed are reduced to printable ASCII without '"' and
 * backslash (RFC 6750 section 3), and spaces in scope_needed to single
 * separators; a realm that is NULL or reduces to "" is "smart"; the scope
 * attribute is left out when scope_needed is NULL or reduces to "".
 */
size_t smart_www_authenticate(char *buf, size_t cap, smart_err_e err,
    const char *realm, const char *scope_needed);

#endif /* SMART_ERRORS_H */
