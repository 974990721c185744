
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Fault injection for the t/ suite (LD_PRELOAD): with SMART_FAULT_HIREDIS
 * set in the environment of the NGINX that loads it, every
 * redisAsyncCommandArgv() fails as it does when hiredis runs out of
 * memory.  The module sends only its handshake (AUTH, SELECT, PING)
 * through hiredis, so this exercises the path where the handshake cannot
 * be sent from inside hiredis's connect callback.
 *
 * The variable is read when the library is loaded: NGINX workers start
 * with a cleared environment.
 */

#define _GNU_SOURCE

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

struct redisAsyncContext;
typedef void (redisCallbackFn)(struct redisAsyncContext *, void *, void *);

typedef int (*smart_fault_argv_pt)(struct redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, int argc, const char **argv,
    const size_t *argvlen);

static int  smart_fault_on;


__attribute__((constructor)) static void
smart_fault_init(void)
{
    smart_fault_on = (getenv("SMART_FAULT_HIREDIS") != NULL);
}


int
redisAsyncCommandArgv(struct redisAsyncContext *ac, redisCallbackFn *fn,
    void *privdata, int argc, const char **argv, const size_t *argvlen)
{
    smart_fault_argv_pt  real;

    if (smart_fault_on) {
        return -1;                                  /* REDIS_ERR */
    }

    real = (smart_fault_argv_pt) dlsym(RTLD_NEXT, "redisAsyncCommandArgv");
    if (real == NULL) {
        return -1;
    }

    return real(ac, fn, privdata, argc, argv, argvlen);
}
