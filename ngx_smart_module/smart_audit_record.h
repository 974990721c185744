
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the audit record (docs/audit.md).
 *
 * One record per request: its fields in their fixed order, the canonical
 * form the hash chain is computed over, NDJSON serialization (the spool
 * format), parsing back, the XADD argument vector, the FHIR AuditEvent
 * mapping (IHE BALP RESTful access) used by smart-audit-export, and the
 * hash-chain verifier.  Plain C: no NGINX headers.
 */

#ifndef SMART_AUDIT_RECORD_H
#define SMART_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>


#define SMART_AUDIT_VERSION      "1"
#define SMART_AUDIT_HASH_LEN     64         /* hex SHA-256 */
#define SMART_AUDIT_FIELD_MAX    2048       /* bytes kept of one value */
#define SMART_AUDIT_QUERY_MAX    8192       /* raw query bytes encoded */
#define SMART_AUDIT_LINE_MAX     65536      /* one NDJSON line, escaped */
#define SMART_AUDIT_XADD_ARGS    6          /* XADD key MAXLEN ~ N * */


typedef enum {
    SMART_AUDIT_F_V = 0,
    SMART_AUDIT_F_TS,
    SMART_AUDIT_F_CID,
    SMART_AUDIT_F_TENANT,
    SMART_AUDIT_F_CLIENT_ID,
    SMART_AUDIT_F_ISS,
    SMART_AUDIT_F_SUB,
    SMART_AUDIT_F_FHIR_USER,
    SMART_AUDIT_F_PATIENT,
    SMART_AUDIT_F_JTI,
    SMART_AUDIT_F_METHOD,
    SMART_AUDIT_F_RESOURCE,
    SMART_AUDIT_F_ID,
    SMART_AUDIT_F_INTERACTION,
    SMART_AUDIT_F_ACTION,
    SMART_AUDIT_F_QUERY,
    SMART_AUDIT_F_DECISION,
    SMART_AUDIT_F_REASON,
    SMART_AUDIT_F_STATUS,
    SMART_AUDIT_F_OUTCOME,
    SMART_AUDIT_F_UPSTREAM_STATUS,
    SMART_AUDIT_F_UPSTREAM_MS,
    SMART_AUDIT_F_TOTAL_MS,
    SMART_AUDIT_F_REMOTE_ADDR,
    SMART_AUDIT_F_BYTES_SENT,
    SMART_AUDIT_F_WORKER,
    SMART_AUDIT_F_SEQ,
    SMART_AUDIT_F_PREV,
    SMART_AUDIT_F_HASH,
    SMART_AUDIT_F__COUNT
} smart_audit_field_e;


/* Total argv entries of one XADD. */
#define SMART_AUDIT_XADD_ARGC    (SMART_AUDIT_XADD_ARGS                      \
                                  + 2 * SMART_AUDIT_F__COUNT)


typedef struct {
    const char  *data;
    size_t       len;
} smart_audit_str_t;


/* Values point into memory the caller owns; an absent value has len 0. */
typedef struct {
    smart_audit_str_t  f[SMART_AUDIT_F__COUNT];
} smart_audit_record_t;


typedef enum {
    SMART_AUDIT_OK = 0,
    SMART_AUDIT_ERR_SYNTAX,         /* not a JSON object of strings */
    SMART_AUDIT_ERR_FIELD,          /* unknown, missing or repeated field */
    SMART_AUDIT_ERR_TOO_LONG,
    SMART_AUDIT_ERR_NOMEM
} smart_audit_status_e;


const char *smart_audit_field_name(smart_audit_field_e field);

/* The field called name[0..len), or -1. */
int smart_audit_field_index(const char *name, size_t len);

/*
 * Copies src[0..len) into dst (cap bytes, no NUL) keeping strict UTF-8 and
 * replacing each invalid byte and each control character by '?', so that
 * every value survives JSON and hashing unchanged.  Returns the bytes
 * written; stops at a whole character when cap is reached.
 */
size_t smart_audit_sanitize(char *dst, size_t cap, const char *src,
    size_t len);

/* BALP action for an interaction, or from the method when it is empty. */
const char *smart_audit_action(const char *interaction, size_t ilen,
    const char *method, size_t mlen);

/* "0", "4" or "8" for an HTTP status (docs/audit.md). */
const char *smart_audit_outcome(int status);

/*
 * The canonical form the hash covers: every field but `hash`, in the fixed
 * order, each as "name=LEN:value\n" (LEN in decimal bytes).  Returns the
 * full length; writes it only when it fits in cap bytes (dst may be NULL).
 */
size_t smart_audit_canonical(const smart_audit_record_t *rec, char *dst,
    size_t cap);

/* hex SHA-256 of the canonical form into out (65 bytes, NUL-terminated). */
smart_audit_status_e smart_audit_hash(const smart_audit_record_t *rec,
    char *out);

/* The all-zero `prev` of the first record of a chain. */
extern const char  smart_audit_zero_hash[SMART_AUDIT_HASH_LEN + 1];

/*
 * One NDJSON line (a JSON object of string values in field order and a
 * final '\n'), no NUL; nothing is written when it is longer than cap.
 */
size_t smart_audit_ndjson(const smart_audit_record_t *rec, char *dst,
    size_t cap);

/*
 * Parses one NDJSON line (trailing "\n" allowed) into rec; values point
 * into *storage, which the caller releases with free().  Every field must
 * be present exactly once and be a string.
 */
smart_audit_status_e smart_audit_parse_json(const char *line, size_t len,
    smart_audit_record_t *rec, char **storage);

/*
 * Sets rec from name/value pairs (a stream entry); values are not copied.
 * Every field must be present exactly once.
 */
smart_audit_status_e smart_audit_from_pairs(smart_audit_record_t *rec,
    const smart_audit_str_t *names, const smart_audit_str_t *values,
    size_t n);

/*
 * Fills argv/argvlen (SMART_AUDIT_XADD_ARGC entries) with
 * XADD <stream> MAXLEN ~ <maxlen> * name value ...; returns the count.
 */
int smart_audit_xadd_argv(const smart_audit_record_t *rec,
    const char *stream, size_t stream_len, const char *maxlen,
    const char **argv, size_t *argvlen);

/*
 * The same XADD in the Redis protocol (RESP), byte for byte what hiredis
 * makes of smart_audit_xadd_argv(), without its formatting per argument:
 * the prefix (array header, XADD <stream> MAXLEN ~ <maxlen> *) is made
 * once per sink, the rest per record.  Both return the full length and
 * write only when it fits in cap bytes (dst may be NULL).
 */
size_t smart_audit_xadd_prefix(const char *stream, size_t stream_len,
    const char *maxlen, char *dst, size_t cap);
size_t smart_audit_xadd_resp(const smart_audit_record_t *rec,
    const char *prefix, size_t prefix_len, char *dst, size_t cap);

/*
 * The record as one FHIR R4 AuditEvent (IHE BALP RESTful access), compact
 * JSON without a newline, malloc()ed; NULL when out of memory.
 * observer names the gateway (source.observer.display).
 */
char *smart_audit_auditevent(const smart_audit_record_t *rec,
    const char *observer);


/* Hash-chain verification over records of any number of workers. */

typedef enum {
    SMART_AUDIT_CHAIN_OK = 0,
    SMART_AUDIT_CHAIN_ALTERED,      /* hash does not match the fields */
    SMART_AUDIT_CHAIN_BROKEN,       /* prev is not the previous hash */
    SMART_AUDIT_CHAIN_GAP,          /* sequence numbers missing before */
    SMART_AUDIT_CHAIN_DUPLICATE,    /* same worker/seq/hash seen again */
    SMART_AUDIT_CHAIN_CONFLICT,     /* same worker/seq, another hash */
    SMART_AUDIT_CHAIN_BAD_SEQ,      /* seq is not a positive integer */
    SMART_AUDIT_CHAIN_NOMEM
} smart_audit_chain_e;


typedef struct smart_audit_verifier_s  smart_audit_verifier_t;

typedef struct {
    const char  *worker;            /* NUL-terminated */
    uint64_t     first;             /* lowest seq seen */
    uint64_t     last;              /* highest seq seen */
    uint64_t     records;
    uint64_t     problems;
} smart_audit_chain_info_t;

smart_audit_verifier_t *smart_audit_verifier_new(void);
void smart_audit_verifier_free(smart_audit_verifier_t *v);

/*
 * Adds one record in any order.  The hash is checked at once; links and
 * gaps are checked by smart_audit_verifier_finish().
 */
smart_audit_chain_e smart_audit_verifier_add(smart_audit_verifier_t *v,
    const smart_audit_record_t *rec);

/* Per reported problem after sorting each worker's records by seq. */
typedef void (*smart_audit_report_pt)(void *data, const char *worker,
    uint64_t seq, smart_audit_chain_e what, uint64_t detail);

/*
 * Checks links and gaps, calls report for each problem, returns the number
 * of problems (those of _add() included).  A chain may start above seq 1
 * (older records trimmed by MAXLEN): its first record is not reported.
 */
uint64_t smart_audit_verifier_finish(smart_audit_verifier_t *v,
    smart_audit_report_pt report, void *data);

size_t smart_audit_verifier_workers(smart_audit_verifier_t *v);
int smart_audit_verifier_info(smart_audit_verifier_t *v, size_t i,
    smart_audit_chain_info_t *info);

const char *smart_audit_chain_str(smart_audit_chain_e what);

#endif /* SMART_AUDIT_RECORD_H */
