// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Validation of every resource the server stores (create, update, patch,
// batch/transaction entries and the seed).  Neither FhirRouter nor
// MemoryRepository validates; @medplum/core's validateResource checks
// structure, cardinality, primitive formats and invariants but not
// terminology.  On top of it this checks required bindings whose value set
// can be expanded from the shipped R4 definitions: a `code` element such as
// MedicationStatement.status must be one of the value set's codes, and a
// Coding (alone or in a CodeableConcept) whose system the value set uses
// must carry one of that system's codes in the value set.

import {
    OperationOutcomeError,
    crawlTypedValue,
    toTypedValue,
    validateResource,
} from '@medplum/core';

import { isKnownResourceType, valueSetCodes } from './definitions.mjs';

function invalid(text, expression, code = 'invalid') {
    return new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{
            severity: 'error',
            code,
            details: { text },
            ...(expression ? { expression: [expression] } : {}),
        }],
    });
}

/** FHIR R4 id syntax. */
export function isValidId(id) {
    return typeof id === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(id);
}

/** Throws OperationOutcomeError (400) unless resource may be stored. */
export function validateForWrite(resource) {
    if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
        throw invalid('The body is not a FHIR resource (a JSON object was expected)');
    }
    if (typeof resource.resourceType !== 'string' || resource.resourceType === '') {
        throw invalid('Missing resourceType', 'resourceType', 'required');
    }
    if (!isKnownResourceType(resource.resourceType)) {
        throw invalid(`Unknown resource type "${resource.resourceType}" (not an R4 resource)`,
            'resourceType', 'not-supported');
    }
    if (resource.id !== undefined && !isValidId(resource.id)) {
        throw invalid('Invalid id: 1 to 64 characters from A-Z a-z 0-9 - .', 'id', 'value');
    }
    try {
        validateResource(resource);
    } catch (err) {
        if (err instanceof OperationOutcomeError) throw err;
        throw invalid(`Resource could not be validated: ${err?.message ?? err}`);
    }
    const issues = bindingIssues(resource);
    if (issues.length) {
        throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
    }
}

function bindingIssues(resource) {
    const issues = [];
    const visitor = {
        visitProperty(_parent, key, _path, propertyValues, schema) {
            const binding = schema.elements[key]?.binding;
            if (binding?.strength !== 'required' || !binding.valueSet) return;
            const codes = valueSetCodes(binding.valueSet);
            if (!codes) return;
            for (const pv of propertyValues) {
                for (const v of [pv].flat()) {
                    if (v?.value !== undefined) checkValue(v, codes, binding.valueSet, issues);
                }
            }
        },
    };
    try {
        crawlTypedValue(toTypedValue(resource), visitor);
    } catch {
        // the structural validation above is authoritative; a crawler
        // failure on an odd but valid resource must not reject it
    }
    return issues;
}

function checkValue(v, codes, valueSet, issues) {
    const vs = valueSet.split('|')[0];
    const bad = (code) => issues.push({
        severity: 'error',
        code: 'code-invalid',
        details: { text: `Value "${code}" is not in the required value set ${vs}` },
        expression: [v.path],
    });
    if (v.type === 'code' && typeof v.value === 'string') {
        for (const set of codes.values()) {
            if (set.has(v.value)) return;
        }
        bad(v.value);
        return;
    }
    const codings = v.type === 'Coding' ? [v.value]
        : v.type === 'CodeableConcept' ? (v.value.coding ?? []) : [];
    for (const c of codings) {
        const set = c?.system ? codes.get(c.system) : undefined;
        if (set && c.code !== undefined && !set.has(c.code)) bad(c.code);
    }
}
