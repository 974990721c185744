
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: is one FHIR resource in a patient's
 * compartment (smart_compartment.h, docs/scopes.md "Checked on the
 * response")?  It reads a document smart_tape_parse() has parsed.  Plain
 * C99: no NGINX headers.
 */

#include <string.h>

#include "smart_compartment.h"
#include "smart_fhir.h"


#define SMART_REF_HISTORY       "/_history/"
#define SMART_REF_HISTORY_LEN   (sizeof(SMART_REF_HISTORY) - 1)

/* the canonical URL a Reference.type may give instead of the type name */
#define SMART_REF_SD_PREFIX     "http://hl7.org/fhir/StructureDefinition/"
#define SMART_REF_SD_PREFIX_LEN (sizeof(SMART_REF_SD_PREFIX) - 1)

/*
 * The relative part "Type/id[/_history/vid]" of a reference; 0 when it is
 * one.
 */
static int
smart_ref_relative(const char *s, size_t n, smart_ref_t *ref)
{
    const char  *slash, *id, *hist, *end;

    end = s + n;
    slash = memchr(s, '/', n);
    if (slash == NULL) {
        return -1;
    }

    ref->type = smart_fhir_type_index(s, (size_t) (slash - s));
    if (ref->type < 0) {
        return -1;
    }

    id = slash + 1;
    hist = memchr(id, '/', (size_t) (end - id));

    if (hist != NULL) {
        if ((size_t) (end - hist) <= SMART_REF_HISTORY_LEN
            || memcmp(hist, SMART_REF_HISTORY, SMART_REF_HISTORY_LEN) != 0)
        {
            return -1;
        }

        ref->vid = hist + SMART_REF_HISTORY_LEN;
        ref->vid_len = (size_t) (end - ref->vid);

        if (!smart_fhir_valid_id(ref->vid, ref->vid_len)) {
            return -1;
        }

    } else {
        hist = end;
    }

    ref->id = id;
    ref->id_len = (size_t) (hist - id);

    return smart_fhir_valid_id(ref->id, ref->id_len) ? 0 : -1;
}


int
smart_ref_parse(const char *s, size_t n, const char *base, size_t base_len,
    smart_ref_t *ref)
{
    memset(ref, 0, sizeof(smart_ref_t));
    ref->type = -1;

    if (s == NULL) {
        return -1;
    }

    if (base_len > 0 && base[base_len - 1] == '/') {
        base_len--;
    }

    /* "BASE/" first: the base's own path never parses as Type/id */
    if (base_len > 0 && n > base_len + 1 && memcmp(s, base, base_len) == 0
        && s[base_len] == '/')
    {
        ref->absolute = 1;
        s += base_len + 1;
        n -= base_len + 1;
    }

    if (smart_ref_relative(s, n, ref) != 0) {
        memset(ref, 0, sizeof(smart_ref_t));
        ref->type = -1;
        return -1;
    }

    return 0;
}


int
smart_compartment_type(const smart_tape_node_t *resource)
{
    size_t       n;
    const char  *s;

    s = smart_tape_str(smart_tape_get(resource, "resourceType"), &n);

    return (s != NULL) ? smart_fhir_type_index(s, n) : -1;
}


static int
smart_compartment_is_patient(const smart_compartment_t *cx, const char *id,
    size_t len)
{
    return cx->patient != NULL && len == cx->patient_len
           && smart_fhir_valid_id(cx->patient, cx->patient_len)
           && memcmp(id, cx->patient, len) == 0;
}


/* Reference.type, when present, must name Patient. */
static int
smart_compartment_ref_type_ok(const smart_tape_node_t *type)
{
    const char  *s;
    size_t       n;

    if (type == NULL) {
        return 1;
    }

    s = smart_tape_str(type, &n);
    if (s == NULL) {
        return 0;
    }

    if (n > SMART_REF_SD_PREFIX_LEN
        && memcmp(s, SMART_REF_SD_PREFIX, SMART_REF_SD_PREFIX_LEN) == 0)
    {
        s += SMART_REF_SD_PREFIX_LEN;
        n -= SMART_REF_SD_PREFIX_LEN;
    }

    return smart_fhir_type_index(s, n) == SMART_FHIR_TYPE_PATIENT;
}


/* Is v a Reference to Patient/P (in any form smart_ref_parse() takes)? */
static int
smart_compartment_ref_is_patient(const smart_compartment_t *cx,
    const smart_tape_node_t *v)
{
    size_t        n;
    const char   *s;
    smart_ref_t   ref;

    s = smart_tape_str(smart_tape_get(v, "reference"), &n);
    if (s == NULL) {
        /* identifier or display only: names no one we can see */
        return 0;
    }

    if (smart_ref_parse(s, n, cx->base, cx->base_len, &ref) != 0
        || ref.type != SMART_FHIR_TYPE_PATIENT)
    {
        return 0;
    }

    return smart_compartment_ref_type_ok(smart_tape_get(v, "type"))
           && smart_compartment_is_patient(cx, ref.id, ref.id_len);
}


int
smart_element_any(const smart_tape_node_t *v, const char *path,
    int (*pred)(const smart_tape_node_t *element, const void *data),
    const void *data)
{
    size_t                    n;
    const char               *dot;
    const smart_tape_node_t  *e;

    if (smart_tape_is(v, SMART_TAPE_ARRAY)) {
        for (e = smart_tape_first(v); e != NULL; e = smart_tape_next(v, e)) {
            if (!smart_tape_is(e, SMART_TAPE_ARRAY)
                && smart_element_any(e, path, pred, data))
            {
                return 1;
            }
        }

        return 0;
    }

    if (v == NULL) {
        return 0;
    }

    if (*path == '\0') {
        return pred(v, data);
    }

    if (!smart_tape_is(v, SMART_TAPE_OBJECT)) {
        return 0;
    }

    dot = strchr(path, '.');
    n = (dot != NULL) ? (size_t) (dot - path) : strlen(path);

    return smart_element_any(smart_tape_getn(v, path, n),
                             (dot != NULL) ? dot + 1 : path + n, pred, data);
}


/* smart_element_any() predicate: v is a Reference to the patient. */
static int
smart_compartment_ref_pred(const smart_tape_node_t *v, const void *data)
{
    return smart_tape_is(v, SMART_TAPE_OBJECT)
           && smart_compartment_ref_is_patient(data, v);
}


/* Can a reference on this path of parameter cp name a Patient? */
static int
smart_compartment_path_counts(const smart_fhir_cparam_t *cp,
    const smart_fhir_cpath_t *path)
{
    size_t  i;

    if (path->resolve_type != NULL
        && strcmp(path->resolve_type, "Patient") != 0)
    {
        return 0;
    }

    for (i = 0; i < cp->ntargets; i++) {
        if (strcmp(cp->targets[i], "Patient") == 0) {
            return 1;
        }
    }

    return 0;
}


static smart_compartment_e
smart_compartment_by_refs(const smart_compartment_t *cx, int t,
    const smart_tape_node_t *resource)
{
    size_t                      i, k;
    const smart_fhir_type_t    *ty;
    const smart_fhir_cparam_t  *cp;

    ty = &smart_fhir_types[t];

    for (i = 0; i < ty->ncparams; i++) {
        cp = &ty->cparams[i];

        for (k = 0; k < cp->npaths; k++) {
            if (smart_compartment_path_counts(cp, &cp->paths[k])
                && smart_element_any(resource, cp->paths[k].element,
                                     smart_compartment_ref_pred, cx))
            {
                return SMART_COMPARTMENT_IN;
            }
        }
    }

    return SMART_COMPARTMENT_OUT;
}


smart_compartment_e
smart_compartment_check(const smart_compartment_t *cx,
    const smart_tape_node_t *resource)
{
    int          t;
    size_t       n;
    const char  *id;

    t = smart_compartment_type(resource);
    if (t < 0) {
        return SMART_COMPARTMENT_INVALID;
    }

    switch (smart_fhir_types[t].patient_data) {

    case SMART_FHIR_PD_NONE:
        return SMART_COMPARTMENT_NOT_PATIENT_DATA;

    case SMART_FHIR_PD_ANY_REF:
        return SMART_COMPARTMENT_UNPROVABLE;

    default:
        break;
    }

    if (t == SMART_FHIR_TYPE_PATIENT) {
        id = smart_tape_str(smart_tape_get(resource, "id"), &n);

        return (id != NULL && smart_compartment_is_patient(cx, id, n))
               ? SMART_COMPARTMENT_IN : SMART_COMPARTMENT_OUT;
    }

    return smart_compartment_by_refs(cx, t, resource);
}


const char *
smart_compartment_name(smart_compartment_e e)
{
    switch (e) {
    case SMART_COMPARTMENT_IN:
        return "in";
    case SMART_COMPARTMENT_OUT:
        return "out";
    case SMART_COMPARTMENT_NOT_PATIENT_DATA:
        return "not-patient-data";
    case SMART_COMPARTMENT_UNPROVABLE:
        return "unprovable";
    case SMART_COMPARTMENT_INVALID:
        return "invalid";
    }

    return "unknown";
}
