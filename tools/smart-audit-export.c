
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * smart-audit-export: audit records (docs/audit.md) from the Redis stream
 * or a spool file, written as FHIR R4 AuditEvent NDJSON (IHE BALP RESTful
 * access), or checked with --verify (per-worker hash chains).
 *
 *   smart-audit-export [--redis HOST:PORT] [--db N] [--password-file F]
 *                      [--stream KEY] [--from ID] [--observer NAME]
 *   smart-audit-export --spool FILE [--observer NAME]
 *   ... --verify
 *
 * Exit: 0 done (verify: every chain intact), 1 verify found problems or
 * records could not be read, 2 usage or connection error.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "smart_audit_record.h"


#define EXPORT_BATCH  1000


typedef struct {
    const char              *redis;
    int                      db;
    const char              *password_file;
    const char              *stream;
    const char              *from;
    const char              *spool;
    const char              *observer;
    int                      verify;
    unsigned long            gaps;      /* crash-gap markers seen */

    smart_audit_verifier_t  *verifier;
    unsigned long            records;
    unsigned long            bad;
} export_t;


static void
usage(void)
{
    fprintf(stderr,
        "usage: smart-audit-export [--redis HOST:PORT] [--db N]\n"
        "           [--password-file FILE] [--stream KEY] [--from ID]\n"
        "           [--observer NAME] [--verify]\n"
        "       smart-audit-export --spool FILE [--observer NAME] "
        "[--verify]\n");
}


/* One record: exported as an AuditEvent or added to the verifier. */

static int
export_record(export_t *ex, const smart_audit_record_t *rec,
    const char *where)
{
    char                     *json;
    smart_audit_chain_e       rc;
    const smart_audit_str_t  *f;

    ex->records++;

    if (ex->verify) {
        f = &rec->f[SMART_AUDIT_F_INTERACTION];

        if (f->len == sizeof("audit-gap") - 1
            && memcmp(f->data, "audit-gap", f->len) == 0)
        {
            /* records a killed worker took with it: counted, not hidden */
            printf("crash-gap lost=%.*s reason=%.*s reported-by=%.*s "
                   "seq=%.*s\n",
                   (int) rec->f[SMART_AUDIT_F_ID].len,
                   rec->f[SMART_AUDIT_F_ID].data,
                   (int) rec->f[SMART_AUDIT_F_REASON].len,
                   rec->f[SMART_AUDIT_F_REASON].data,
                   (int) rec->f[SMART_AUDIT_F_WORKER].len,
                   rec->f[SMART_AUDIT_F_WORKER].data,
                   (int) rec->f[SMART_AUDIT_F_SEQ].len,
                   rec->f[SMART_AUDIT_F_SEQ].data);
            ex->gaps++;
        }

        rc = smart_audit_verifier_add(ex->verifier, rec);

        if (rc == SMART_AUDIT_CHAIN_NOMEM) {
            fprintf(stderr, "smart-audit-export: out of memory\n");
            return -1;
        }

        if (rc == SMART_AUDIT_CHAIN_BAD_SEQ) {
            printf("bad-seq %s\n", where);
        }

        return 0;
    }

    json = smart_audit_auditevent(rec, ex->observer);
    if (json == NULL) {
        fprintf(stderr, "smart-audit-export: out of memory\n");
        return -1;
    }

    printf("%s\n", json);
    free(json);

    return 0;
}


static int
export_spool(export_t *ex)
{
    FILE                  *f;
    char                  *line, *storage, where[64];
    size_t                 cap;
    ssize_t                n;
    unsigned long          lineno;
    smart_audit_record_t   rec;
    smart_audit_status_e   rc;

    f = fopen(ex->spool, "r");
    if (f == NULL) {
        fprintf(stderr, "smart-audit-export: %s: %s\n", ex->spool,
                strerror(errno));
        return 2;
    }

    line = NULL;
    cap = 0;
    lineno = 0;

    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;

        if (n == 1 && line[0] == '\n') {
            continue;
        }

        rc = smart_audit_parse_json(line, (size_t) n, &rec, &storage);

        if (rc != SMART_AUDIT_OK) {
            /* a cut-short write or an edit: reported, never guessed at */
            printf("bad-line %s:%lu\n", ex->spool, lineno);
            ex->bad++;
            continue;
        }

        snprintf(where, sizeof(where), "line %lu", lineno);

        if (export_record(ex, &rec, where) != 0) {
            free(storage);
            free(line);
            fclose(f);
            return 2;
        }

        free(storage);
    }

    free(line);
    fclose(f);

    return 0;
}


static char *
read_password(const char *path)
{
    FILE    *f;
    char     buf[4096];
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "smart-audit-export: %s: %s\n", path,
                strerror(errno));
        return NULL;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' '))
    {
        n--;
    }

    buf[n] = '\0';

    return strdup(buf);
}


static redisContext *
export_connect(export_t *ex)
{
    int             port;
    char            host[256], *colon, *pw;
    redisReply     *r;
    redisContext   *c;
    struct timeval  tv = { 5, 0 };

    if (strlen(ex->redis) >= sizeof(host)) {
        return NULL;
    }

    strcpy(host, ex->redis);
    colon = strrchr(host, ':');
    port = 6379;

    if (colon != NULL) {
        *colon = '\0';
        port = atoi(colon + 1);
    }

    c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "smart-audit-export: connect %s: %s\n", ex->redis,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }

    redisSetTimeout(c, tv);

    if (ex->password_file != NULL) {
        pw = read_password(ex->password_file);
        if (pw == NULL) {
            redisFree(c);
            return NULL;
        }

        r = redisCommand(c, "AUTH %s", pw);
        free(pw);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "smart-audit-export: AUTH failed\n");
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    if (ex->db != 0) {
        r = redisCommand(c, "SELECT %d", ex->db);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "smart-audit-export: SELECT failed\n");
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    return c;
}


/* One stream entry: [id, [name, value, ...]]. */

static int
export_entry(export_t *ex, redisReply *e)
{
    size_t                i, n;
    redisReply           *fields;
    smart_audit_str_t     names[SMART_AUDIT_F__COUNT + 1];
    smart_audit_str_t     values[SMART_AUDIT_F__COUNT + 1];
    smart_audit_record_t  rec;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[1]->type != REDIS_REPLY_ARRAY)
    {
        ex->bad++;
        printf("bad-entry\n");
        return 0;
    }

    fields = e->element[1];
    n = fields->elements / 2;

    if (fields->elements % 2 != 0 || n > SMART_AUDIT_F__COUNT) {
        printf("bad-entry %s\n", e->element[0]->str);
        ex->bad++;
        return 0;
    }

    for (i = 0; i < n; i++) {
        names[i].data = fields->element[2 * i]->str;
        names[i].len = fields->element[2 * i]->len;
        values[i].data = fields->element[2 * i + 1]->str;
        values[i].len = fields->element[2 * i + 1]->len;
    }

    if (smart_audit_from_pairs(&rec, names, values, n) != SMART_AUDIT_OK) {
        printf("bad-entry %s\n", e->element[0]->str);
        ex->bad++;
        return 0;
    }

    return export_record(ex, &rec, e->element[0]->str);
}


static int
export_stream(export_t *ex)
{
    int            rc, first;
    char           start[128];
    size_t         i;
    redisReply    *r;
    redisContext  *c;

    c = export_connect(ex);
    if (c == NULL) {
        return 2;
    }

    snprintf(start, sizeof(start), "%s", ex->from ? ex->from : "-");
    first = 1;
    rc = 0;

    for ( ;; ) {
        /* after the first page, "(" makes the start exclusive */
        r = redisCommand(c, "XRANGE %s %s%s + COUNT %d", ex->stream,
                         first ? "" : "(", start, EXPORT_BATCH);

        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "smart-audit-export: XRANGE failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            freeReplyObject(r);
            rc = 2;
            break;
        }

        for (i = 0; i < r->elements; i++) {
            if (export_entry(ex, r->element[i]) != 0) {
                rc = 2;
                break;
            }
        }

        if (rc != 0 || r->elements < EXPORT_BATCH) {
            freeReplyObject(r);
            break;
        }

        snprintf(start, sizeof(start), "%s",
                 r->element[r->elements - 1]->element[0]->str);
        first = 0;
        freeReplyObject(r);
    }

    redisFree(c);

    return rc;
}


static void
report(void *data, const char *worker, uint64_t seq, smart_audit_chain_e what,
    uint64_t detail)
{
    (void) data;

    if (what == SMART_AUDIT_CHAIN_GAP) {
        printf("gap worker=%s seq=%llu missing=%llu\n", worker,
               (unsigned long long) seq, (unsigned long long) detail);
        return;
    }

    printf("%s worker=%s seq=%llu\n", smart_audit_chain_str(what), worker,
           (unsigned long long) seq);
}


int
main(int argc, char **argv)
{
    int                        i, rc;
    size_t                     w;
    uint64_t                   problems;
    export_t                   ex;
    smart_audit_chain_info_t   info;

    memset(&ex, 0, sizeof(ex));
    ex.redis = "127.0.0.1:6379";
    ex.stream = "smart:audit";
    ex.observer = "ngx_smart_module";

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verify") == 0) {
            ex.verify = 1;
            continue;
        }

        if (i + 1 >= argc) {
            usage();
            return 2;
        }

        if (strcmp(argv[i], "--redis") == 0) {
            ex.redis = argv[++i];
        } else if (strcmp(argv[i], "--db") == 0) {
            ex.db = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--password-file") == 0) {
            ex.password_file = argv[++i];
        } else if (strcmp(argv[i], "--stream") == 0) {
            ex.stream = argv[++i];
        } else if (strcmp(argv[i], "--from") == 0) {
            ex.from = argv[++i];
        } else if (strcmp(argv[i], "--spool") == 0) {
            ex.spool = argv[++i];
        } else if (strcmp(argv[i], "--observer") == 0) {
            ex.observer = argv[++i];
        } else {
            usage();
            return 2;
        }
    }

    if (ex.verify) {
        ex.verifier = smart_audit_verifier_new();
        if (ex.verifier == NULL) {
            return 2;
        }
    }

    rc = ex.spool ? export_spool(&ex) : export_stream(&ex);

    if (rc != 0) {
        smart_audit_verifier_free(ex.verifier);
        return rc;
    }

    if (!ex.verify) {
        return ex.bad ? 1 : 0;
    }

    problems = smart_audit_verifier_finish(ex.verifier, report, NULL);

    for (w = 0; w < smart_audit_verifier_workers(ex.verifier); w++) {
        if (smart_audit_verifier_info(ex.verifier, w, &info) == 0) {
            printf("chain worker=%s records=%llu seq=%llu..%llu %s\n",
                   info.worker, (unsigned long long) info.records,
                   (unsigned long long) info.first,
                   (unsigned long long) info.last,
                   info.problems ? "PROBLEMS" : "ok");
        }
    }

    printf("%lu records, %llu problems, %lu unreadable, %lu crash gaps\n",
           ex.records, (unsigned long long) problems, ex.bad, ex.gaps);

    smart_audit_verifier_free(ex.verifier);

    return (problems != 0 || ex.bad != 0) ? 1 : 0;
}
