
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * The response check in the core, on the bench's own bodies, and the
 * parts of it: what the gateway's added CPU of variants H and I is made of
 * (docs/performance.md, "Fourth round").
 *
 * For each FILE (a read's resource or a searchset page, written by
 * bench/BenchLib.pm's upstream()), times
 *   (a) smart_json_skip() over the body: a scan without checks, for scale,
 *   (b) json_loadb(JSON_REJECT_DUPLICATES) + json_decref(): jansson's tree,
 *       built and freed, as smart_response_check() did once per body until
 *       the fifth round,
 *   (c) smart_tape_parse() + smart_tape_free(): the tree-less parse that
 *       replaced it,
 *   (d) smart_response_check() on the whole body, as the gateway calls it
 *       (a read of the body's resourceType, or an Observation search for a
 *       Bundle; patient 123),
 * and prints microseconds per body, per KiB and MB/s.  It also counts the
 * allocations of one json_loadb() (jansson's allocator hooks).  CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), best of several rounds.
 *
 * usage: check_speed ITERATIONS FILE...
 * built by bench/run.pl and bench/perf.pl into BUILD/bench/check_speed with
 * the flags of verify_speed (the Makefile's CORE_CFLAGS, core sources,
 * -ljansson -lcrypto).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "smart_fhir.h"
#include "smart_fhir_tables.h"
#include "smart_json.h"
#include "smart_response.h"
#include "smart_tape.h"


#define ROUNDS  5


static size_t  nalloc;


static void *
count_malloc(size_t n)
{
    nalloc++;
    return malloc(n);
}


static char *
slurp(const char *path, size_t *len)
{
    char  *buf;
    long   n;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        exit(2);
    }

    buf[n] = '\0';
    fclose(f);
    *len = (size_t) n;

    return buf;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


enum { SKIP, LOAD, TAPE, CHECK };

static const char  *names[] = {
    "smart_json_skip", "json_loadb+decref", "smart_tape_parse+free",
    "smart_response_check"
};


static int
once(int what, const smart_response_req_t *rq, const char *body, size_t len)
{
    int                rc;
    size_t             off;
    json_t            *doc;
    smart_tape_t       t;
    smart_response_t   out;

    switch (what) {

    case SKIP:
        off = 0;
        return smart_json_skip(body, len, &off, SMART_RESPONSE_MAX_DEPTH);

    case LOAD:
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        if (doc == NULL) {
            return -1;
        }
        json_decref(doc);
        return 0;

    case TAPE:
        rc = smart_tape_parse(&t, body, len, SMART_RESPONSE_MAX_DEPTH);
        smart_tape_free(&t);
        return rc;

    default:
        if (smart_response_check(rq, body, len, &out)
            != SMART_RESPONSE_RELEASE)
        {
            fprintf(stderr, "check_speed: not released: %s\n", out.why);
            return -1;
        }
        smart_response_free(&out);
        return 0;
    }
}


int
main(int argc, char **argv)
{
    int                    i, f, what, r;
    long                   n, k;
    char                  *body, *e;
    size_t                 len;
    double                 t0, t, best;
    json_t                *doc;
    smart_response_req_t   rq;

    if (argc < 3) {
        fprintf(stderr, "usage: check_speed ITERATIONS FILE...\n");
        return 2;
    }

    n = atol(argv[1]);

    for (f = 2; f < argc; f++) {
        body = slurp(argv[f], &len);

        /* a read of the type the body starts with, or an Observation
           search for a Bundle */
        memset(&rq, 0, sizeof(smart_response_req_t));
        rq.interaction = SMART_FHIR_I_READ;
        rq.type = -1;
        if (strncmp(body, "{\"resourceType\":\"", 17) == 0) {
            e = strchr(body + 17, '"');
            if (e != NULL) {
                rq.type = smart_fhir_type_index(body + 17,
                                                (size_t) (e - body - 17));
            }
        }
        if (rq.type == smart_fhir_type_index("Bundle", 6)) {
            rq.interaction = SMART_FHIR_I_SEARCH_TYPE;
            rq.type = smart_fhir_type_index("Observation", 11);
        }
        rq.patient = "123";
        rq.base = "https://fhir.example.test/fhir";
        rq.correlation_id = "0123456789abcdef01234567-00000000";

        /* fewer iterations for large bodies: about the same time each */
        k = n * 2048 / (long) (len + 1);
        if (k < 20) {
            k = 20;
        }

        json_set_alloc_funcs(count_malloc, free);
        nalloc = 0;
        doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        json_decref(doc);
        json_set_alloc_funcs(malloc, free);

        e = strrchr(argv[f], '/');
        printf("%s: %zu bytes (%.2f KiB), %s; json_loadb: %zu allocations\n",
               e != NULL ? e + 1 : argv[f], len, len / 1024.0,
               rq.interaction == SMART_FHIR_I_READ ? "read" : "search",
               nalloc);

        for (what = SKIP; what <= CHECK; what++) {
            if (once(what, &rq, body, len) != 0) {
                fprintf(stderr, "check_speed: %s failed on %s\n",
                        names[what], argv[f]);
                return 1;
            }

            best = 1e9;

            for (r = 0; r < ROUNDS; r++) {
                t0 = now();
                for (i = 0; i < k; i++) {
                    (void) once(what, &rq, body, len);
                }
                t = (now() - t0) / k;
                if (t < best) {
                    best = t;
                }
            }

            printf("  %-22s %9.2f us  %7.2f us/KiB  %6.0f MB/s\n",
                   names[what], best * 1e6, best * 1e6 / (len / 1024.0),
                   len / best / 1e6);
        }

        free(body);
    }

    return 0;
}
