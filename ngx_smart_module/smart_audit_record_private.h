
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: what the files of the audit record share,
 * and nothing else may use.
 *
 *   smart_audit_record.c        the fields, sanitising, action and
 *                               outcome, the canonical form and hash, and
 *                               what the module writes for each request:
 *                               the NDJSON spool line, the XADD command
 *   smart_audit_record_parse.c  a spool line or stream pairs read back
 *   smart_audit_record_event.c  the FHIR AuditEvent mapping
 *   smart_audit_record_chain.c  the hash-chain verifier
 *
 * smart_audit_record.h is the public header.  Plain C: no NGINX headers.
 */

#ifndef SMART_AUDIT_RECORD_PRIVATE_H
#define SMART_AUDIT_RECORD_PRIVATE_H

#include <stddef.h>

#include "smart_audit_record.h"


/* 1 when s[0..len) is the NUL-terminated lit */
int smart_audit_is(const char *s, size_t len, const char *lit);

#endif /* SMART_AUDIT_RECORD_PRIVATE_H */
