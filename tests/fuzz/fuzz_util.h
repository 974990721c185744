
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Helpers shared by the libFuzzer targets: a check that aborts (libFuzzer
 * reports the input), and copies of input parts into buffers of their exact
 * size so that AddressSanitizer catches any read past a length.
 */

#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


static inline void
fuzz_check(int ok)
{
    if (!ok) {
        abort();
    }
}


/* n bytes, never NUL-terminated: the code under test must honour n */
static inline char *
fuzz_dup_exact(const uint8_t *p, size_t n)
{
    char  *d;

    d = malloc(n > 0 ? n : 1);
    fuzz_check(d != NULL);

    if (n > 0) {
        memcpy(d, p, n);
    }

    return d;
}


/* n bytes and a NUL */
static inline char *
fuzz_dup_cstr(const uint8_t *p, size_t n)
{
    char  *d;

    d = malloc(n + 1);
    fuzz_check(d != NULL);

    if (n > 0) {
        memcpy(d, p, n);
    }

    d[n] = '\0';

    return d;
}

#endif /* FUZZ_UTIL_H */
