
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: audit records read back (docs/audit.md):
 * one NDJSON line of the spool (spool replay, smart-audit-export) or the
 * name/value pairs of a stream entry (smart-audit-export) into a record.
 * Plain C: no NGINX headers.
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "smart_audit_record.h"


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
