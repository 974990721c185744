// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// GET [base]/metadata: a CapabilityStatement built from the R4 definitions
// the server loaded, listing what this server actually does (search
// parameters only of the types the in-memory matcher implements).  SMART
// security (oauth-uris) is not here: the gateway and the issuer handle it.

import { allResourceTypes, searchParams, SUPPORTED_PARAM_TYPES } from './definitions.mjs';

const TYPE_INTERACTIONS = [
    'read', 'vread', 'update', 'patch', 'delete',
    'history-instance', 'history-type', 'create', 'search-type',
];

let cached;

function build(startedAt) {
    const resource = allResourceTypes()
        .filter((type) => type !== 'Parameters')
        .map((type) => {
            const params = Object.values(searchParams(type))
                .filter((sp) => SUPPORTED_PARAM_TYPES.has(sp.type) && sp.code !== '_compartment')
                .sort((a, b) => a.code.localeCompare(b.code));
            const r = {
                type,
                profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
                interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
                versioning: 'versioned-update',
                readHistory: true,
                updateCreate: true,
                conditionalCreate: true,
                conditionalRead: 'not-supported',
                conditionalUpdate: true,
                conditionalDelete: 'single',
                referencePolicy: ['literal', 'local'],
                searchInclude: params.filter((sp) => sp.type === 'reference').map((sp) => `${type}:${sp.code}`),
                searchParam: params.map((sp) => ({
                    name: sp.code,
                    ...(sp.url ? { definition: sp.url } : {}),
                    type: sp.type,
                })),
            };
            if (type === 'Patient') {
                r.operation = [{
                    name: 'everything',
                    definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                }];
            }
            return r;
        });
    return {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: startedAt,
        publisher: 'ngx_smart_module sandbox',
        kind: 'instance',
        software: {
            name: 'ngx_smart_module sandbox FHIR server (@medplum/fhir-router 4.5.2, in memory)',
            version: '1.0.0',
        },
        fhirVersion: '4.0.1',
        format: ['json', 'application/fhir+json'],
        patchFormat: ['application/json-patch+json'],
        rest: [{
            mode: 'server',
            documentation: 'Synthetic data only. Search: token, reference, string, uri and date '
                + 'parameters; _count (default 20, at most 100), _offset, _sort, _include, '
                + '_revinclude, _elements, _summary; Patient compartment searches.',
            resource,
            interaction: [
                { code: 'transaction' },
                { code: 'batch' },
                { code: 'search-system' },
                { code: 'history-system' },
            ],
            searchParam: [
                { name: '_count', type: 'number' },
                { name: '_offset', type: 'number' },
                { name: '_sort', type: 'string' },
            ],
            compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
        }],
    };
}

/** The CapabilityStatement for a server whose base URL is base. */
export function capabilityStatement(base, startedAt) {
    cached ??= build(startedAt);
    return {
        ...cached,
        implementation: {
            description: 'Sandbox FHIR R4 server of the ngx_smart_module lab (synthetic data, in memory)',
            url: base,
        },
    };
}
