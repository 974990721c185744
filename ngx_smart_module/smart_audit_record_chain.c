
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: the audit hash-chain verifier
 * (docs/audit.md): records of any number of workers in any order, each
 * worker's chain checked for altered records, broken links, gaps,
 * duplicates and conflicts.  Plain C: no NGINX headers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smart_audit_record.h"


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
