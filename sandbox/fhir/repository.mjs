// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// @medplum/fhir-router's MemoryRepository with what the sandbox server
// needs on top (FhirRouter and its batch processor call these methods, so
// the additions apply to every route and to bundle entries alike):
//
//  * validation of every stored resource (validate.mjs), unknown resource
//    types refused with 400;
//  * sequential version ids ("1", "2", ...) and server-set
//    meta.lastUpdated: MemoryRepository keeps a client's meta.versionId and
//    meta.lastUpdated on create and uses UUID version ids;
//  * deleted resources remembered: read and vread answer 410 Gone, history
//    still works and shows the delete, an update re-creates;
//  * history without MemoryRepository's in-place reverse() (which flips
//    the stored history on every call), with _count/_offset, type-level and
//    system-level history;
//  * search: bare ids in reference parameters ("patient=syn-0001") become
//    typed references as FHIR allows (MemoryRepository compares reference
//    strings exactly, so they matched nothing); absolute references are
//    made relative; unknown parameters are refused instead of matching
//    nothing; a multi-key _sort in the right order; Patient compartment
//    searches; results in insertion order, so paging is stable;
//  * withTransaction() that rolls back: a snapshot of the maps, restored
//    when the callback throws (MemoryRepository just runs the callback).

import {
    OperationOutcomeError,
    Operator,
    badRequest,
    deepClone,
    evalFhirPathTyped,
    gone,
    matchesSearchRequest,
    notFound,
    splitSearchOnComma,
    toTypedValue,
} from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';

import { isKnownResourceType, searchParam } from './definitions.mjs';
import { validateForWrite } from './validate.mjs';

const RESULT_PARAMS = new Set(['_id', '_lastUpdated']);

export function unknownType(type) {
    return new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{
            severity: 'error',
            code: 'not-supported',
            details: { text: `Unknown resource type "${type}" (not an R4 resource)` },
        }],
    });
}

function assertType(type) {
    if (!isKnownResourceType(type)) throw unknownType(type);
}

/**
 * Reference search values as the in-memory matcher needs them: a bare id
 * becomes one typed reference per target type of the parameter, an
 * absolute URL ending in Type/id becomes Type/id.  Returns the new value.
 */
export function normalizeReferenceValue(param, value) {
    return splitSearchOnComma(value).map((v) => {
        const abs = /^https?:\/\/[^?#]*\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(v);
        if (abs && isKnownResourceType(abs[1])) return `${abs[1]}/${abs[2]}`;
        if (v !== '' && !v.includes('/') && !v.includes(':') && !v.includes('|')
            && param.target?.length) {
            return param.target.map((t) => `${t}/${v}`).join(',');
        }
        return v.replace(/,/g, '\\,');
    }).join(',');
}

function normalizeSearchRequest(sr) {
    for (const f of sr.filters ?? []) {
        const param = searchParam(sr.resourceType, f.code);
        if (!param) {
            throw new OperationOutcomeError(badRequest(
                `Unknown or unsupported search parameter "${f.code}" for ${sr.resourceType}`));
        }
        if (param.type === 'reference' && f.operator !== Operator.MISSING
            && f.operator !== Operator.PRESENT) {
            f.value = normalizeReferenceValue(param, f.value);
        }
    }
    for (const rule of sr.sortRules ?? []) {
        if (!searchParam(sr.resourceType, rule.code) && !RESULT_PARAMS.has(rule.code)) {
            throw new OperationOutcomeError(badRequest(
                `Unknown _sort parameter "${rule.code}" for ${sr.resourceType}`));
        }
    }
    return sr;
}

// --- sorting ---------------------------------------------------------------

function scalar(v) {
    if (v === null || v === undefined) return undefined;
    if (typeof v === 'string' || typeof v === 'number') return v;
    if (typeof v === 'boolean') return String(v);
    if (typeof v !== 'object') return undefined;
    if ('start' in v || 'end' in v) return v.start ?? v.end;
    if (Array.isArray(v.coding)) return v.coding[0]?.code ?? v.text;
    if ('code' in v && typeof v.code === 'string') return v.code;
    if ('family' in v || 'given' in v) return [v.family, ...(v.given ?? [])].filter(Boolean).join(' ');
    if ('reference' in v) return v.reference;
    if ('value' in v) return v.value;
    return JSON.stringify(v);
}

function sortKey(resource, code) {
    const sp = searchParam(resource.resourceType, code);
    if (!sp?.expression) return undefined;
    let values;
    try {
        values = evalFhirPathTyped(sp.expression, [toTypedValue(resource)]);
    } catch {
        return undefined;
    }
    for (const tv of values) {
        const s = scalar(tv.value);
        if (s !== undefined) return typeof s === 'string' ? s.toLowerCase() : s;
    }
    return undefined;
}

export function sortResources(resources, rules) {
    const keyed = resources.map((r) => ({ r, keys: rules.map((rule) => sortKey(r, rule.code)) }));
    keyed.sort((a, b) => {
        for (let i = 0; i < rules.length; i++) {
            const x = a.keys[i];
            const y = b.keys[i];
            if (x === y) continue;
            if (x === undefined) return 1;          // missing values last
            if (y === undefined) return -1;
            const c = x < y ? -1 : 1;
            return rules[i].descending ? -c : c;
        }
        return 0;
    });
    return keyed.map((k) => k.r);
}

// --- the repository ----------------------------------------------------------

export class SandboxRepository extends MemoryRepository {
    constructor() {
        super();
        this.tombstones = new Map();        // "Type/id" -> { versionId, lastUpdated } while deleted
        this.deletions = new Map();         // "Type/id" -> [{ versionId, lastUpdated }] every delete
        this.versions = new Map();          // "Type/id" -> last version number
        this.txDepth = 0;
    }

    count() {
        let n = 0;
        for (const m of this.resources.values()) n += m.size;
        return n;
    }

    exists(type, id) {
        return Boolean(this.resources.get(type)?.has(id));
    }

    isDeleted(type, id) {
        return !this.exists(type, id) && this.tombstones.has(`${type}/${id}`);
    }

    async createResource(resource, options) {
        const r = deepClone(resource);
        validateForWrite(r);
        if (!r.id) r.id = this.generateId();
        r.meta = { ...(r.meta ?? {}) };
        const key = `${r.resourceType}/${r.id}`;
        const version = (this.versions.get(key) ?? 0) + 1;
        r.meta.versionId = String(version);
        r.meta.lastUpdated = new Date().toISOString();
        const saved = await super.createResource(r, options);
        this.versions.set(key, version);
        this.tombstones.delete(key);
        return saved;
    }

    async updateResource(resource, options) {
        if (resource && typeof resource === 'object') assertType(resource.resourceType);
        return super.updateResource(resource, options);
    }

    async patchResource(type, id, patch) {
        assertType(type);
        if (!Array.isArray(patch)) throw new OperationOutcomeError(badRequest('Patch body must be an array'));
        for (const [i, op] of patch.entries()) {
            if (op === null || typeof op !== 'object' || typeof op.path !== 'string') {
                throw new OperationOutcomeError(badRequest(`Patch operation ${i} needs an op and a path`));
            }
            const touches = (p) => p === '' || p === '/id' || p === '/resourceType';
            if ((op.op !== 'test' && touches(op.path)) || (op.op === 'move' && touches(op.from))) {
                throw new OperationOutcomeError(badRequest('A patch may not change resourceType or id'));
            }
        }
        // MemoryRepository: read, apply (rfc6902), updateResource()
        return super.patchResource(type, id, patch);
    }

    async readResource(type, id) {
        assertType(type);
        const r = this.resources.get(type)?.get(id);
        if (!r) {
            if (this.tombstones.has(`${type}/${id}`)) throw deletedError(type, id);
            throw new OperationOutcomeError(notFound);
        }
        return deepClone(r);
    }

    async readReference(reference) {
        const parts = reference?.reference?.split('/');
        if (parts?.length !== 2) throw new OperationOutcomeError(badRequest('Invalid reference'));
        return this.readResource(parts[0], parts[1]);
    }

    async deleteResource(type, id) {
        assertType(type);
        const key = `${type}/${id}`;
        if (!this.exists(type, id)) {
            if (this.tombstones.has(key)) return;       // deleting twice is fine
            throw new OperationOutcomeError(notFound);
        }
        this.resources.get(type).delete(id);
        const version = (this.versions.get(key) ?? 0) + 1;
        this.versions.set(key, version);
        const t = { versionId: String(version), lastUpdated: new Date().toISOString() };
        this.tombstones.set(key, t);
        this.deletions.set(key, [...(this.deletions.get(key) ?? []), t]);
    }

    // -- history --------------------------------------------------------------

    historyEntries(type, id) {
        const versions = this.history.get(type)?.get(id) ?? [];
        const entries = versions.map((v) => ({
            resource: deepClone(v),
            request: v.meta.versionId === '1'
                ? { method: 'POST', url: type }
                : { method: 'PUT', url: `${type}/${id}` },
            response: {
                status: v.meta.versionId === '1' ? '201 Created' : '200 OK',
                etag: `W/"${v.meta.versionId}"`,
                lastModified: v.meta.lastUpdated,
            },
        }));
        for (const t of this.deletions.get(`${type}/${id}`) ?? []) {
            entries.push({
                request: { method: 'DELETE', url: `${type}/${id}` },
                response: { status: '204 No Content', etag: `W/"${t.versionId}"`, lastModified: t.lastUpdated },
            });
        }
        const vnum = (e) => Number(e.response.etag.slice(3, -1));
        entries.sort((a, b) => vnum(a) - vnum(b));
        return entries;             // oldest first
    }

    async readHistory(type, id, options) {
        assertType(type);
        if (!this.history.get(type)?.has(id)) throw new OperationOutcomeError(notFound);
        return historyBundle(this.historyEntries(type, id).reverse(), options);
    }

    /** Type-level (type given) or system-level history, newest first. */
    async readManyHistory(type, options) {
        if (type !== undefined) assertType(type);
        const all = [];
        for (const [t, byId] of this.history) {
            if (type !== undefined && t !== type) continue;
            for (const id of byId.keys()) all.push(...this.historyEntries(t, id));
        }
        const when = (e) => e.response.lastModified ?? '';
        all.sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : 0));
        return historyBundle(all, options);
    }

    async readVersion(type, id, vid) {
        assertType(type);
        const versions = this.history.get(type)?.get(id);
        if (!versions) throw new OperationOutcomeError(notFound);
        const v = versions.find((x) => x.meta?.versionId === vid);
        if (v) return deepClone(v);
        if ((this.deletions.get(`${type}/${id}`) ?? []).some((t) => t.versionId === vid)) {
            throw deletedError(type, id);
        }
        throw new OperationOutcomeError(notFound);
    }

    // -- search ---------------------------------------------------------------

    /**
     * searchRequest may carry `compartment: { ref: 'Patient/x', params:
     * [...] }` (set by the HTTP layer for Patient/x/Type searches): then a
     * resource must also reference the patient through one of the params.
     */
    async search(searchRequest) {
        const sr = searchRequest;
        if (sr.resourceType === 'MultipleTypes') {
            throw new OperationOutcomeError(badRequest(
                'System-level search is only supported as GET [base]?_type=...'));
        }
        assertType(sr.resourceType);
        normalizeSearchRequest(sr);
        const matches = this.matchAll(sr);
        const total = matches.length;
        const offset = sr.offset ?? 0;
        const page = sr.count === undefined
            ? matches.slice(offset)
            : matches.slice(offset, offset + Math.max(0, sr.count));
        return {
            resourceType: 'Bundle',
            type: 'searchset',
            total,
            ...(page.length ? { entry: page.map((r) => ({ resource: deepClone(r) })) } : {}),
        };
    }

    /** All matches of a search request, sorted, not cloned (do not modify). */
    searchAll(searchRequest) {
        assertType(searchRequest.resourceType);
        return this.matchAll(normalizeSearchRequest(searchRequest));
    }

    /** All matches of a (normalized) search request, sorted, not cloned. */
    matchAll(sr) {
        const stored = this.resources.get(sr.resourceType) ?? new Map();
        const comp = sr.compartment;
        const compRequests = comp?.params.map((code) => ({
            resourceType: sr.resourceType,
            filters: [{ code, operator: Operator.EQUALS, value: comp.ref }],
        }));
        let matches = [];
        for (const r of stored.values()) {
            if (compRequests) {
                const selfPatient = sr.resourceType === 'Patient' && `Patient/${r.id}` === comp.ref;
                if (!selfPatient && !compRequests.some((c) => matchesSearchRequest(r, c))) continue;
            }
            if (matchesSearchRequest(r, sr)) matches.push(r);
        }
        if (sr.sortRules?.length) matches = sortResources(matches, sr.sortRules);
        return matches;
    }

    // -- transactions -----------------------------------------------------------

    async withTransaction(callback) {
        if (this.txDepth > 0) return callback(undefined);
        const snapshot = this.snapshot();
        this.txDepth++;
        try {
            return await callback(undefined);
        } catch (err) {
            this.restore(snapshot);
            throw err;
        } finally {
            this.txDepth--;
        }
    }

    snapshot() {
        return {
            resources: [...this.resources].map(([t, m]) => [t, new Map(m)]),
            history: [...this.history].map(([t, m]) => [t, new Map([...m].map(([id, a]) => [id, a.slice()]))]),
            tombstones: new Map(this.tombstones),
            deletions: new Map(this.deletions),
            versions: new Map(this.versions),
        };
    }

    restore(s) {
        this.resources.clear();
        for (const [t, m] of s.resources) this.resources.set(t, m);
        this.history.clear();
        for (const [t, m] of s.history) this.history.set(t, m);
        this.tombstones = s.tombstones;
        this.deletions = s.deletions;
        this.versions = s.versions;
    }
}

function deletedError(type, id) {
    return new OperationOutcomeError({
        ...gone,
        issue: [{ ...gone.issue[0], details: { text: `${type}/${id} has been deleted` } }],
    });
}

function historyBundle(entries, options) {
    const offset = options?.offset ?? 0;
    const page = options?.limit === undefined
        ? entries.slice(offset)
        : entries.slice(offset, offset + options.limit);
    return {
        resourceType: 'Bundle',
        type: 'history',
        total: entries.length,
        ...(page.length ? { entry: page } : {}),
    };
}
