
/*
 * Copyright (C) 2026 The ngx_smart_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * ngx_smart_module policy core: is one FHIR resource in a patient's
 * compartment (docs/scopes.md, "Checked on the response")?
 *
 * The proof is read off the resource itself, along the element paths of
 * the patient CompartmentDefinition in the generated tables
 * (smart_fhir_tables.h: cparams, paths, resolve_type), and only a literal
 * reference to Patient/P proves anything: a logical reference (identifier
 * only), a contained one ("#x"), one to another server, or one that does
 * not parse proves nothing.  The reference-string parser is public so that
 * every reader of references (the response check, the write checks) reads
 * them one way.  Plain C99 + jansson: no NGINX headers.
 */

#ifndef SMART_COMPARTMENT_H
#define SMART_COMPARTMENT_H

#include <stddef.h>

#include "smart_tape.h"


/* A literal reference, as smart_ref_parse() read it. */
typedef struct {
    int                      type;      /* index into smart_fhir_types[] */
    const char              *id;        /* into the parsed string */
    size_t                   id_len;
    const char              *vid;       /* NULL without "/_history/vid" */
    size_t                   vid_len;
    int                      absolute;  /* written on the base URL */
} smart_ref_t;


/*
 * Parses the reference string s[0..n) (no NUL needed) in one of the forms
 *
 *   Type/id                    Type an R4 resource type (case-sensitive)
 *   Type/id/_history/vid
 *   BASE/Type/id               BASE the server's own base URL, exactly as
 *   BASE/Type/id/_history/vid  the caller gives it
 *
 * where id and vid pass smart_fhir_valid_id().  base[0..base_len) is the
 * FHIR base URL the gateway serves ("https://ehr.example/fhir"; a trailing
 * '/' is ignored); base_len 0 accepts no absolute form.  The base is
 * compared byte for byte: another scheme, host, port or case is another
 * server.  Anything else (a contained "#x", "urn:uuid:...", another
 * server's URL, a query or fragment, an unknown type, an empty or extra
 * segment) returns -1 with *ref zeroed and type -1; 0 when parsed.
 */
int smart_ref_parse(const char *s, size_t n, const char *base,
    size_t base_len, smart_ref_t *ref);


/* Whose compartment: the patient, and the base for absolute references. */
typedef struct {
    const char              *patient;   /* a FHIR id (the token's claim) */
    size_t                   patient_len;
    const char              *base;      /* see smart_ref_parse(); may be
                                           NULL when base_len is 0 */
    size_t                   base_len;
} smart_compartment_t;


typedef enum {
    /* proven in the patient's compartment */
    SMART_COMPARTMENT_IN = 0,
    /* a patient-data type not proven the patient's: another patient's, or
       no one's the gateway can name (a Group subject, an identifier) */
    SMART_COMPARTMENT_OUT,
    /* a type that holds no patient's data (patient_data NONE: Medication,
       Practitioner, Organization, OperationOutcome, ...); the caller
       decides */
    SMART_COMPARTMENT_NOT_PATIENT_DATA,
    /* a type that may reference or hold any resource (patient_data
       ANY_REF: Binary, Bundle, Parameters, ...): its body alone cannot
       prove it the patient's; the caller decides (a Binary can be proven
       by reading the resource that points to it) */
    SMART_COMPARTMENT_UNPROVABLE,
    /* not a resource: not a JSON object, or resourceType absent, not a
       string, or not an R4 type */
    SMART_COMPARTMENT_INVALID
} smart_compartment_e;


/*
 * The type index of resource's resourceType, or -1 when resource is not an
 * object or its resourceType is absent, not a string or not an R4 type.
 */
int smart_compartment_type(const smart_tape_node_t *resource);

/*
 * Is resource in the compartment of cx->patient?
 *
 * Patient: IN when its id is the patient (Patient.link is not a way in:
 * a linked Patient is another patient's record).  Compartment types and
 * the types outside the compartment that reference a Patient
 * (patient_data COMPARTMENT and PATIENT_REF): IN when at least one element
 * path of at least one of the type's compartment parameters holds a
 * Reference whose "reference" is Patient/P in a form smart_ref_parse()
 * accepts, an array anywhere along the path counting by any element.  A
 * path that FHIRPath limits with ".where(resolve() is X)" counts only when
 * X is Patient, and a parameter only when Patient is among its targets.
 * A Reference whose "type" is present must say Patient (the type name or
 * its StructureDefinition URL).  BiologicallyDerivedProduct has no
 * compartment parameter and is never IN.
 *
 * Nothing is allocated; the walk is bounded by the generated paths.  A
 * cx->patient that is not a valid FHIR id proves nothing (OUT).
 */
smart_compartment_e smart_compartment_check(const smart_compartment_t *cx,
    const smart_tape_node_t *resource);

/*
 * Does one element at the dotted member path below v ("agent.who",
 * "component.code"; "" is v itself) satisfy pred(element, data)?  An array
 * counts by any element, at any step, the last one included; FHIR has no
 * arrays of arrays, so an array inside another holds nothing, and so does
 * a member name of 64 bytes or more.  pred is never given NULL.  The one
 * walk along the generated element paths: compartment references here,
 * granular restrictions in smart_restrict.c.
 */
int smart_element_any(const smart_tape_node_t *v, const char *path,
    int (*pred)(const smart_tape_node_t *element, const void *data),
    const void *data);

/* "in", "out", "not-patient-data", "unprovable", "invalid"; "unknown". */
const char *smart_compartment_name(smart_compartment_e e);

#endif /* SMART_COMPARTMENT_H */
