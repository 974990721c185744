
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: a strict JSON parser that builds no tree
 * (smart_tape.h).  One pass over the text with an explicit stack of open
 * containers: no recursion, whatever the text.  Plain C: no NGINX
 * headers.
 */

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#endif

#include "smart_tape.h"


#define SMART_TAPE_LEN_MAX      ((size_t) UINT32_MAX - 1)

/* objects with more members are checked for repeats by sorting */
#define SMART_TAPE_PAIRWISE_MAX 32

/* byte classes inside a string */
#define SMART_TAPE_C_PLAIN      0
#define SMART_TAPE_C_END        1       /* '"' */
#define SMART_TAPE_C_ESCAPE     2       /* '\\' */
#define SMART_TAPE_C_CONTROL    3       /* below 0x20 */
#define SMART_TAPE_C_HIGH       4       /* 0x80 and above */


typedef struct {
    smart_tape_t            *t;
    const unsigned char     *p;
    size_t                   len;
    size_t                   i;
    size_t                  *stack;     /* node index of each open
                                           container */
    unsigned                 depth;
    unsigned                 max_depth;
    const char              *key;       /* the name of the member whose
                                           value comes next, NULL in an
                                           array */
    uint32_t                 key_len;
    int                      fail;      /* why smart_tape_push() failed */
} smart_tape_parser_t;


/*
 * The class of each byte inside a string: 0 plain, 1 '"', 2 '\\',
 * 3 a control character, 4 the first byte of a UTF-8 sequence (or not
 * UTF-8).
 */
static const unsigned char  smart_tape_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};


static inline void
smart_tape_ws(smart_tape_parser_t *ps)
{
    size_t               i;
    const unsigned char *p;

    p = ps->p;

    if (ps->i < ps->len && p[ps->i] > ' ') {
        return;                 /* compact JSON: most calls */
    }

    for (i = ps->i;
         i < ps->len && p[i] <= ' '
         && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t');
         i++)
    {
        /* void */
    }

    ps->i = i;
}


#define SMART_TAPE_ONES         0x0101010101010101ULL
#define SMART_TAPE_HIGHS        0x8080808080808080ULL


/*
 * How many of the bytes at p[0..n) are plain string bytes (not '"',
 * '\\', a control character or a byte above 0x7f) before the first that is
 * not, looked at 16 (SSE2) or 8 bytes at a time; a short or flagged word
 * stops the run there and leaves the rest to the byte loop, which decides
 * every byte the word tests flag (they may flag a plain byte next to a
 * special one, never miss a special one).
 */
static inline size_t
smart_tape_plain_run(const unsigned char *p, size_t n)
{
    size_t    i;
    uint64_t  w, q, b;

    i = 0;

#if defined(__SSE2__) && defined(__GNUC__)
    {
        int      m;
        __m128i  v, x;

        while (n - i >= 16) {
            v = _mm_loadu_si128((const __m128i *) (const void *) (p + i));

            /* signed: a byte above 0x7f is below 0x20 too */
            x = _mm_or_si128(_mm_or_si128(
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
            m = _mm_movemask_epi8(x);

            if (m != 0) {
                return i + (size_t) __builtin_ctz((unsigned) m);
            }

            i += 16;
        }
    }
#endif

    while (n - i >= 8) {
        memcpy(&w, p + i, sizeof(uint64_t));

        q = w ^ (SMART_TAPE_ONES * '"');
        b = w ^ (SMART_TAPE_ONES * '\\');

        if ((((q - SMART_TAPE_ONES) & ~q) | ((b - SMART_TAPE_ONES) & ~b)
             | ((w - SMART_TAPE_ONES * 0x20) & ~w) | w)
            & SMART_TAPE_HIGHS)
        {
            break;
        }

        i += 8;
    }

    return i;
}


/*
 * Room for more nodes: the array doubled (the caller's stock copied to
 * the heap the first time), never beyond what a document of the text's
 * length can hold: every value but the first takes a byte of its own and
 * a ',' or a closing bracket, so len bytes of JSON hold at most
 * (len + 1) / 2 values.  A text that needs more (unclosed brackets,
 * "[[[[") is not JSON.
 */
static int
smart_tape_grow(smart_tape_parser_t *ps)
{
    size_t              cap, most;
    smart_tape_t       *t;
    smart_tape_node_t  *nodes;

    t = ps->t;
    most = ps->len / 2 + 1;

    if (t->n >= most) {
        ps->fail = SMART_TAPE_BAD;
        return SMART_TAPE_BAD;
    }

    cap = (t->cap == 0) ? 64 + ps->len / 16 : t->cap * 2;

    if (cap > most) {
        cap = most;
    }

    if (t->nodes != NULL && t->nodes == t->stock) {
        nodes = malloc(cap * sizeof(smart_tape_node_t));
        if (nodes != NULL) {
            memcpy(nodes, t->nodes, t->n * sizeof(smart_tape_node_t));
        }

    } else {
        nodes = realloc(t->nodes, cap * sizeof(smart_tape_node_t));
    }

    if (nodes == NULL) {
        ps->fail = SMART_TAPE_NOMEM;
        return SMART_TAPE_NOMEM;
    }

    t->nodes = nodes;
    t->cap = cap;

    return SMART_TAPE_OK;
}


/*
 * A new node of type at the current offset, the value of the member
 * named last (if any); NULL with ps->fail set when there is no room.
 */
static inline smart_tape_node_t *
smart_tape_push(smart_tape_parser_t *ps, uint8_t type)
{
    smart_tape_t       *t;
    smart_tape_node_t  *v;

    t = ps->t;

    if (t->n == t->cap && smart_tape_grow(ps) != SMART_TAPE_OK) {
        return NULL;
    }

    v = &t->nodes[t->n++];
    v->str = NULL;
    v->key = ps->key;
    v->len = 0;
    v->key_len = ps->key_len;
    v->skip = 1;
    v->count = 0;
    v->start = (uint32_t) ps->i;
    v->end = (uint32_t) ps->i;
    v->type = type;

    ps->key = NULL;
    ps->key_len = 0;

    return v;
}


/*
 * The length of the UTF-8 sequence at p[0..n) (its first byte 0x80 or
 * above), 0 when it is not strict UTF-8: RFC 3629's table, as jansson
 * checks it.
 */
static size_t
smart_tape_utf8(const unsigned char *p, size_t n)
{
    size_t         k, need;
    unsigned char  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (p[0] < 0xc2) {
        return 0;

    } else if (p[0] < 0xe0) {
        need = 2;

    } else if (p[0] < 0xf0) {
        need = 3;
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;      /* overlong */
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;      /* surrogates */

    } else if (p[0] < 0xf5) {
        need = 4;
        lo = (p[0] == 0xf0) ? 0x90 : 0x80;      /* overlong */
        hi = (p[0] == 0xf4) ? 0x8f : 0xbf;      /* above U+10FFFF */

    } else {
        return 0;
    }

    if (n < need || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (k = 2; k < need; k++) {
        if (p[k] < 0x80 || p[k] > 0xbf) {
            return 0;
        }
    }

    return need;
}


/* The value of 4 hex digits at p[0..4), -1 when one is not. */
static long
smart_tape_hex4(const unsigned char *p)
{
    long     v;
    size_t   k;
    int      d;

    v = 0;

    for (k = 0; k < 4; k++) {
        if (p[k] >= '0' && p[k] <= '9') {
            d = p[k] - '0';

        } else if ((p[k] | 0x20) >= 'a' && (p[k] | 0x20) <= 'f') {
            d = (p[k] | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        v = v * 16 + d;
    }

    return v;
}


/*
 * The \u escape at p[0..n) (p[0] is 'u'): the code point in *cp and the
 * bytes it takes (5, or 11 for a surrogate pair), 0 when it is not one
 * jansson takes.
 */
static size_t
smart_tape_unicode(const unsigned char *p, size_t n, long *cp)
{
    long  hi, lo;

    if (n < 5 || (hi = smart_tape_hex4(p + 1)) < 0 || hi == 0) {
        return 0;
    }

    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return 0;
    }

    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return 5;
    }

    if (n < 11 || p[5] != '\\' || p[6] != 'u'
        || (lo = smart_tape_hex4(p + 7)) < 0xdc00 || lo > 0xdfff)
    {
        return 0;
    }

    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);

    return 11;
}


/* Writes code point cp as UTF-8 at d; the bytes written. */
static size_t
smart_tape_put_utf8(char *d, long cp)
{
    if (cp < 0x80) {
        d[0] = (char) cp;
        return 1;
    }

    if (cp < 0x800) {
        d[0] = (char) (0xc0 | (cp >> 6));
        d[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        d[0] = (char) (0xe0 | (cp >> 12));
        d[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }

    d[0] = (char) (0xf0 | (cp >> 18));
    d[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char) (0x80 | (cp & 0x3f));

    return 4;
}


/*
 * One escape at p[0..n) (p[0] is the byte after the backslash): the bytes
 * it takes, 0 when it is not valid; its decoded bytes go to d (when not
 * NULL), their count to *dn.
 */
static size_t
smart_tape_escape(const unsigned char *p, size_t n, char *d, size_t *dn)
{
    long         cp;
    size_t       used;
    const char  *from, *to;

    static const char  *simple = "\"\\/bfnrt";
    static const char  *value = "\"\\/\b\f\n\r\t";

    if (n == 0) {
        return 0;
    }

    if (p[0] == 'u') {
        used = smart_tape_unicode(p, n, &cp);

        if (used > 0 && d != NULL) {
            *dn = smart_tape_put_utf8(d, cp);
        }

        return used;
    }

    from = (p[0] != '\0') ? strchr(simple, p[0]) : NULL;
    if (from == NULL) {
        return 0;
    }

    to = value + (from - simple);

    if (d != NULL) {
        *d = *to;
        *dn = 1;
    }

    return 1;
}


/*
 * Decodes the escaped string s[0..n) (valid) into the decoded buffer:
 * *out and *out_len.
 */
static int
smart_tape_decode(smart_tape_parser_t *ps, const unsigned char *s, size_t n,
    const char **out, uint32_t *out_len)
{
    char          *d, *from;
    size_t         k, dn;
    smart_tape_t  *t;

    t = ps->t;

    if (t->decoded == NULL) {
        t->decoded = malloc(ps->len);
        if (t->decoded == NULL) {
            return SMART_TAPE_NOMEM;
        }
    }

    from = t->decoded + t->used;
    d = from;

    for (k = 0; k < n; /* void */) {
        if (s[k] != '\\') {
            *d++ = (char) s[k++];
            continue;
        }

        dn = 0;
        k += 1 + smart_tape_escape(s + k + 1, n - k - 1, d, &dn);
        d += dn;
    }

    *out = from;
    *out_len = (uint32_t) (d - from);
    t->used += *out_len;

    return SMART_TAPE_OK;
}


/*
 * The rest of the string whose bytes from start are plain up to i (a
 * byte that is not, or the end of the text): escapes and UTF-8 checked,
 * *s and *n as for smart_tape_scan().
 */
static int
smart_tape_scan_rest(smart_tape_parser_t *ps, size_t start, size_t i,
    const char **s, uint32_t *n)
{
    size_t               k, len;
    int                  escaped;
    const unsigned char *p;

    p = ps->p;
    len = ps->len;
    escaped = 0;

    for ( ;; ) {
        if (i >= len) {
            return SMART_TAPE_BAD;
        }

        switch (smart_tape_class[p[i]]) {

        case SMART_TAPE_C_END:
            goto done;

        case SMART_TAPE_C_PLAIN:
            /* flagged with a special byte in the same word */
            i++;
            break;

        case SMART_TAPE_C_ESCAPE:
            k = smart_tape_escape(p + i + 1, len - i - 1, NULL, NULL);
            if (k == 0) {
                return SMART_TAPE_BAD;
            }

            escaped = 1;
            i += 1 + k;
            break;

        case SMART_TAPE_C_HIGH:
            k = smart_tape_utf8(p + i, len - i);
            if (k == 0) {
                return SMART_TAPE_BAD;
            }

            i += k;
            break;

        default:
            return SMART_TAPE_BAD;
        }

        if (i < len) {
            i += smart_tape_plain_run(p + i, len - i);
        }
    }

done:

    ps->i = i + 1;

    if (escaped) {
        return smart_tape_decode(ps, p + start, i - start, s, n);
    }

    *s = (const char *) p + start;
    *n = (uint32_t) (i - start);

    return SMART_TAPE_OK;
}


/*
 * The string at the current '"' (a value or a member's name), checked and
 * decoded: *s and *n; the offset moves past its closing '"'.  Inline: the
 * common string, plain bytes up to its '"'; the rest in the function
 * above.
 */
static inline int
smart_tape_scan(smart_tape_parser_t *ps, const char **s, uint32_t *n)
{
    size_t               i, start;
    const unsigned char *p;

    p = ps->p;
    start = ps->i + 1;
    i = start + smart_tape_plain_run(p + start, ps->len - start);

    if (i < ps->len && p[i] == '"') {
        ps->i = i + 1;
        *s = (const char *) p + start;
        *n = (uint32_t) (i - start);

        return SMART_TAPE_OK;
    }

    return smart_tape_scan_rest(ps, start, i, s, n);
}


/* A string value at the current '"'. */
static int
smart_tape_string(smart_tape_parser_t *ps)
{
    int                 rc;
    smart_tape_node_t  *v;

    v = smart_tape_push(ps, SMART_TAPE_STRING);
    if (v == NULL) {
        return ps->fail;
    }

    rc = smart_tape_scan(ps, &v->str, &v->len);
    v->end = (uint32_t) ps->i;

    return rc;
}


static size_t
smart_tape_digits(const unsigned char *p, size_t len, size_t i)
{
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        i++;
    }

    return i;
}


/* A number (RFC 8259 section 6) at the current offset. */
static int
smart_tape_number(smart_tape_parser_t *ps)
{
    size_t               i, k;
    const unsigned char *p;
    smart_tape_node_t   *v;

    p = ps->p;
    i = ps->i;

    if (p[i] == '-') {
        i++;
    }

    if (i < ps->len && p[i] == '0') {
        i++;

    } else {
        k = smart_tape_digits(p, ps->len, i);
        if (k == i) {
            return SMART_TAPE_BAD;
        }

        i = k;
    }

    if (i < ps->len && p[i] == '.') {
        k = smart_tape_digits(p, ps->len, i + 1);
        if (k == i + 1) {
            return SMART_TAPE_BAD;
        }

        i = k;
    }

    if (i < ps->len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < ps->len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        k = smart_tape_digits(p, ps->len, i);
        if (k == i) {
            return SMART_TAPE_BAD;
        }

        i = k;
    }

    v = smart_tape_push(ps, SMART_TAPE_NUMBER);
    if (v == NULL) {
        return ps->fail;
    }

    v->str = (const char *) p + ps->i;
    v->len = (uint32_t) (i - ps->i);
    v->end = (uint32_t) i;
    ps->i = i;

    return SMART_TAPE_OK;
}


static int
smart_tape_literal(smart_tape_parser_t *ps, const char *word, uint8_t type)
{
    size_t              n;
    smart_tape_node_t  *v;

    n = strlen(word);

    if (ps->len - ps->i < n || memcmp(ps->p + ps->i, word, n) != 0) {
        return SMART_TAPE_BAD;
    }

    v = smart_tape_push(ps, type);
    if (v == NULL) {
        return ps->fail;
    }

    ps->i += n;
    v->end = (uint32_t) ps->i;

    return SMART_TAPE_OK;
}


static int
smart_tape_key_cmp(const void *a, const void *b)
{
    int                       rc;
    const smart_tape_node_t  *x, *y;

    x = *(const smart_tape_node_t *const *) a;
    y = *(const smart_tape_node_t *const *) b;

    rc = memcmp(x->key, y->key,
                (x->key_len < y->key_len) ? x->key_len : y->key_len);

    return (rc != 0) ? rc : (x->key_len > y->key_len)
                            - (x->key_len < y->key_len);
}


static int
smart_tape_same_key(const smart_tape_node_t *x, const smart_tape_node_t *y)
{
    return x->key_len == y->key_len
           && memcmp(x->key, y->key, x->key_len) == 0;
}


/* A member name's length and three of its bytes: equal for equal names. */
static uint64_t
smart_tape_key_tag(const smart_tape_node_t *k)
{
    const unsigned char  *s;

    if (k->key_len == 0) {
        return 0;
    }

    s = (const unsigned char *) k->key;

    return ((uint64_t) k->key_len << 32) | ((uint64_t) s[0] << 16)
           | ((uint64_t) s[k->key_len / 2] << 8) | s[k->key_len - 1];
}


/*
 * Repeated member names of the object just closed: pairwise on tags for
 * small objects, by sorting their keys for large ones (no quadratic time
 * for a hostile object with many members).
 */
static int
smart_tape_repeats(const smart_tape_node_t *obj)
{
    int                        rc;
    size_t                     i, j, n;
    uint64_t                   tag[SMART_TAPE_PAIRWISE_MAX];
    const smart_tape_node_t   *k, **keys, *small[SMART_TAPE_PAIRWISE_MAX];

    n = obj->count;

    if (n <= SMART_TAPE_PAIRWISE_MAX) {
        for (k = obj + 1, i = 0; i < n; i++, k += k->skip) {
            small[i] = k;
            tag[i] = smart_tape_key_tag(k);

            for (j = 0; j < i; j++) {
                if (tag[j] == tag[i] && smart_tape_same_key(small[j], k)) {
                    return SMART_TAPE_BAD;
                }
            }
        }

        return SMART_TAPE_OK;
    }

    keys = malloc(n * sizeof(smart_tape_node_t *));
    if (keys == NULL) {
        return SMART_TAPE_NOMEM;
    }

    for (k = obj + 1, i = 0; i < n; i++, k += k->skip) {
        keys[i] = k;
    }

    qsort(keys, n, sizeof(smart_tape_node_t *), smart_tape_key_cmp);

    rc = SMART_TAPE_OK;

    for (i = 1; i < n; i++) {
        if (smart_tape_same_key(keys[i - 1], keys[i])) {
            rc = SMART_TAPE_BAD;
            break;
        }
    }

    free(keys);

    return rc;
}


/* Opens an object or an array at the current offset. */
static int
smart_tape_open(smart_tape_parser_t *ps, uint8_t type)
{
    if (ps->depth == ps->max_depth) {
        return SMART_TAPE_DEEP;
    }

    if (smart_tape_push(ps, type) == NULL) {
        return ps->fail;
    }

    ps->stack[ps->depth++] = ps->t->n - 1;
    ps->i++;

    smart_tape_ws(ps);

    return SMART_TAPE_OK;
}


/* Closes the innermost container at the current '}' or ']'. */
static int
smart_tape_close(smart_tape_parser_t *ps)
{
    size_t              at;
    smart_tape_node_t  *c;

    at = ps->stack[--ps->depth];
    c = &ps->t->nodes[at];
    c->skip = (uint32_t) (ps->t->n - at);
    c->end = (uint32_t) (++ps->i);

    return (c->type == SMART_TAPE_OBJECT) ? smart_tape_repeats(c)
                                          : SMART_TAPE_OK;
}


/* A member's name and its ':' at the offset; white space after it. */
static int
smart_tape_name(smart_tape_parser_t *ps)
{
    int  rc;

    if (ps->i >= ps->len || ps->p[ps->i] != '"') {
        return SMART_TAPE_BAD;
    }

    rc = smart_tape_scan(ps, &ps->key, &ps->key_len);
    if (rc != SMART_TAPE_OK) {
        return rc;
    }

    smart_tape_ws(ps);

    if (ps->i >= ps->len || ps->p[ps->i] != ':') {
        return SMART_TAPE_BAD;
    }

    ps->i++;
    smart_tape_ws(ps);

    return SMART_TAPE_OK;
}


/* One scalar value at the offset. */
static int
smart_tape_scalar(smart_tape_parser_t *ps)
{
    switch (ps->p[ps->i]) {

    case '"':
        return smart_tape_string(ps);

    case 't':
        return smart_tape_literal(ps, "true", SMART_TAPE_TRUE);

    case 'f':
        return smart_tape_literal(ps, "false", SMART_TAPE_FALSE);

    case 'n':
        return smart_tape_literal(ps, "null", SMART_TAPE_NULL);

    default:
        return smart_tape_number(ps);
    }
}


/*
 * The document, in one loop over four states: a value is expected
 * ("value"), a value has ended inside the innermost container ("after"),
 * that container ends ("close"), an object's member begins ("member").
 * White space has been skipped on entry to each.
 */
static int
smart_tape_run(smart_tape_parser_t *ps)
{
    int                  rc;
    unsigned char        c;
    smart_tape_node_t   *top;

    smart_tape_ws(ps);

    if (ps->i >= ps->len || (ps->p[ps->i] != '{' && ps->p[ps->i] != '[')) {
        return SMART_TAPE_BAD;
    }

value:

    if (ps->i >= ps->len) {
        return SMART_TAPE_BAD;
    }

    c = ps->p[ps->i];

    if (c == '{' || c == '[') {
        rc = smart_tape_open(ps, (c == '{') ? SMART_TAPE_OBJECT
                                            : SMART_TAPE_ARRAY);
        if (rc != SMART_TAPE_OK) {
            return rc;
        }

        if (ps->i < ps->len && ps->p[ps->i] == c + 2) {
            /* '{' + 2 is '}', '[' + 2 is ']': empty */
            goto close;
        }

        top = &ps->t->nodes[ps->t->n - 1];
        top->count++;

        if (c == '{') {
            goto member;
        }

        goto value;
    }

    rc = smart_tape_scalar(ps);
    if (rc != SMART_TAPE_OK) {
        return rc;
    }

after:

    smart_tape_ws(ps);

    if (ps->i >= ps->len) {
        return SMART_TAPE_BAD;
    }

    top = &ps->t->nodes[ps->stack[ps->depth - 1]];
    c = ps->p[ps->i];

    if (c == ',') {
        ps->i++;
        smart_tape_ws(ps);
        top->count++;

        if (top->type == SMART_TAPE_OBJECT) {
            goto member;
        }

        goto value;
    }

    if (c != ((top->type == SMART_TAPE_OBJECT) ? '}' : ']')) {
        return SMART_TAPE_BAD;
    }

close:

    rc = smart_tape_close(ps);
    if (rc != SMART_TAPE_OK) {
        return rc;
    }

    if (ps->depth > 0) {
        goto after;
    }

    smart_tape_ws(ps);

    return (ps->i == ps->len) ? SMART_TAPE_OK : SMART_TAPE_BAD;

member:

    rc = smart_tape_name(ps);
    if (rc != SMART_TAPE_OK) {
        return rc;
    }

    goto value;
}


int
smart_tape_parse(smart_tape_t *t, const char *p, size_t len,
    unsigned max_depth)
{
    return smart_tape_parse_in(t, p, len, max_depth, NULL, 0);
}


int
smart_tape_parse_in(smart_tape_t *t, const char *p, size_t len,
    unsigned max_depth, smart_tape_node_t *stock, size_t nstock)
{
    int                  rc;
    size_t               stack[128], *heap;
    smart_tape_parser_t  ps;

    memset(t, 0, sizeof(smart_tape_t));

    if (stock != NULL && nstock > 0) {
        t->nodes = stock;
        t->stock = stock;
        t->cap = nstock;
    }

    if (p == NULL || len == 0 || len > SMART_TAPE_LEN_MAX) {
        return SMART_TAPE_BAD;
    }

    heap = NULL;

    if (max_depth > sizeof(stack) / sizeof(stack[0])) {
        /* a deep bound: the stack grows no larger than the text */
        if (max_depth > len) {
            max_depth = (unsigned) len;
        }

        heap = malloc(max_depth * sizeof(size_t));
        if (heap == NULL) {
            return SMART_TAPE_NOMEM;
        }
    }

    memset(&ps, 0, sizeof(smart_tape_parser_t));
    ps.t = t;
    ps.p = (const unsigned char *) p;
    ps.len = len;
    ps.stack = (heap != NULL) ? heap : stack;
    ps.max_depth = max_depth;

    rc = smart_tape_run(&ps);

    free(heap);

    if (rc != SMART_TAPE_OK) {
        smart_tape_free(t);
    }

    return rc;
}


void
smart_tape_free(smart_tape_t *t)
{
    if (t != NULL) {
        if (t->nodes != t->stock) {
            free(t->nodes);
        }

        free(t->decoded);
        memset(t, 0, sizeof(smart_tape_t));
    }
}


const smart_tape_node_t *
smart_tape_root(const smart_tape_t *t)
{
    return (t != NULL && t->n > 0) ? &t->nodes[0] : NULL;
}


const smart_tape_node_t *
smart_tape_getn(const smart_tape_node_t *obj, const char *name, size_t n)
{
    size_t                    i;
    const smart_tape_node_t  *v;

    if (!smart_tape_is(obj, SMART_TAPE_OBJECT)) {
        return NULL;
    }

    for (v = obj + 1, i = 0; i < obj->count; i++, v += v->skip) {
        if (v->key_len == n && memcmp(v->key, name, n) == 0) {
            return v;
        }
    }

    return NULL;
}


const smart_tape_node_t *
smart_tape_get(const smart_tape_node_t *obj, const char *name)
{
    return smart_tape_getn(obj, name, strlen(name));
}


/* The first child of a container of type, NULL when empty or not one. */
static const smart_tape_node_t *
smart_tape_child(const smart_tape_node_t *c, int type)
{
    return (smart_tape_is(c, type) && c->count > 0) ? c + 1 : NULL;
}


/* The child after v in a container of type, NULL after the last. */
static const smart_tape_node_t *
smart_tape_sibling(const smart_tape_node_t *c, const smart_tape_node_t *v,
    int type)
{
    if (v == NULL || !smart_tape_is(c, type)) {
        return NULL;
    }

    v += v->skip;

    return (v < c + c->skip) ? v : NULL;
}


const smart_tape_node_t *
smart_tape_first(const smart_tape_node_t *arr)
{
    return smart_tape_child(arr, SMART_TAPE_ARRAY);
}


const smart_tape_node_t *
smart_tape_next(const smart_tape_node_t *arr, const smart_tape_node_t *v)
{
    return smart_tape_sibling(arr, v, SMART_TAPE_ARRAY);
}


const smart_tape_node_t *
smart_tape_member_first(const smart_tape_node_t *obj)
{
    return smart_tape_child(obj, SMART_TAPE_OBJECT);
}


const smart_tape_node_t *
smart_tape_member_next(const smart_tape_node_t *obj,
    const smart_tape_node_t *v)
{
    return smart_tape_sibling(obj, v, SMART_TAPE_OBJECT);
}


const char *
smart_tape_member_name(const smart_tape_node_t *v, size_t *n)
{
    if (v == NULL || v->key == NULL) {
        *n = 0;
        return NULL;
    }

    *n = v->key_len;

    return v->key;
}


size_t
smart_tape_count(const smart_tape_node_t *v)
{
    return (smart_tape_is(v, SMART_TAPE_OBJECT)
            || smart_tape_is(v, SMART_TAPE_ARRAY))
           ? v->count : 0;
}


const char *
smart_tape_str(const smart_tape_node_t *v, size_t *n)
{
    if (!smart_tape_is(v, SMART_TAPE_STRING)) {
        *n = 0;
        return NULL;
    }

    *n = v->len;

    return v->str;
}


int
smart_tape_str_is(const smart_tape_node_t *v, const char *s)
{
    size_t  n;

    n = strlen(s);

    return smart_tape_is(v, SMART_TAPE_STRING) && v->len == n
           && memcmp(v->str, s, n) == 0;
}
