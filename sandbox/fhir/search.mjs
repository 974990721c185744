// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Search parameters as received (URL query and form body) -> what the
// router and repository get, plus the parts of a search MemoryRepository
// ignores: _include/_revinclude, _elements/_summary, paging links.

import {
    convertToSearchableReferences,
    evalFhirPathTyped,
    getDataType,
    OperationOutcomeError,
    toTypedValue,
} from '@medplum/core';

import { isKnownResourceType, searchParam, SUPPORTED_PARAM_TYPES } from './definitions.mjs';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;
const MAX_INCLUDED = 1000;

/** A 400 (or other status) OperationOutcome error. */
export function fail(text, code = 'invalid', status = 400) {
    const err = new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code, details: { text } }],
    });
    err.httpStatus = status;
    return err;
}

const NOT_SUPPORTED = new Set([
    '_text', '_content', '_list', '_query', '_filter', '_contained', '_containedType',
    '_cursor', '_has', '_security-label', '_getpages', '_compartment',
]);
const IGNORED = new Set(['_', '_format', '_pretty', '_total']);
const SUMMARY_VALUES = new Set(['true', 'text', 'data', 'count', 'false']);

function nonNegativeInt(name, value) {
    if (!/^\d{1,9}$/.test(value)) fail_(`${name} must be a non-negative integer, got "${value}"`);
    return Number(value);
}

function fail_(text, code) {
    throw fail(text, code);
}

/** _count and _offset of params (last one wins), defaulted and capped. */
export function parsePaging(params) {
    let count = DEFAULT_COUNT;
    let offset = 0;
    for (const [k, v] of params) {
        if (k === '_count') count = Math.min(nonNegativeInt('_count', v), MAX_COUNT);
        if (k === '_offset') offset = nonNegativeInt('_offset', v);
    }
    const summaryCount = params.some(([k, v]) => k === '_summary' && v === 'count');
    return { count: summaryCount ? 0 : count, offset };
}

function parseInclude(kind, value, modifier) {
    if (modifier && modifier !== 'iterate' && modifier !== 'recurse') {
        fail_(`${kind}:${modifier} is not supported`, 'not-supported');
    }
    return value.split(',').map((piece) => {
        const parts = piece.split(':');
        if (parts.includes('*')) fail_(`${kind}=${piece}: wildcards are not supported`, 'not-supported');
        if (parts.length < 2 || parts.length > 3) {
            fail_(`${kind}=${piece}: expected Type:parameter or Type:parameter:Target`);
        }
        const [resourceType, code, targetType] = parts;
        if (!isKnownResourceType(resourceType)) fail_(`${kind}=${piece}: unknown resource type ${resourceType}`);
        const sp = searchParam(resourceType, code);
        if (sp?.type !== 'reference') fail_(`${kind}=${piece}: ${code} is not a reference parameter of ${resourceType}`);
        if (targetType !== undefined && !isKnownResourceType(targetType)) {
            fail_(`${kind}=${piece}: unknown target type ${targetType}`);
        }
        return { resourceType, code, targetType, iterate: Boolean(modifier) };
    });
}

/**
 * Check and translate the received parameters of a search on type.
 *   params  [[name, value], ...] as received (URL, then form body)
 *   opts.lenient  drop unknown/unsupported parameters instead of failing
 *   opts.paging   false for conditional interactions (no _count/_offset)
 * Returns { routerParams, count, offset, includes, revincludes, elements,
 * summary, pretty, ignored }.
 */
export function prepareSearch(type, params, { lenient = false, paging = true } = {}) {
    const out = [];
    const ignored = [];
    const res = { includes: [], revincludes: [], elements: undefined, summary: undefined, pretty: false };
    const drop = (name, why, code = 'not-supported') => {
        if (!lenient) fail_(why, code);
        ignored.push(name);
    };

    for (const [key, value] of params) {
        const colon = key.indexOf(':');
        const name = colon >= 0 ? key.slice(0, colon) : key;
        const modifier = colon >= 0 ? key.slice(colon + 1) : '';

        if (name === '_count' || name === '_offset') {
            if (!paging) fail_(`${name} is not allowed here`);
            continue;                               // parsePaging()
        }
        if (name === '_pretty') {
            res.pretty = value === 'true';
            continue;
        }
        if (IGNORED.has(name)) continue;
        if (name === '_type') {
            drop(key, '_type is only meaningful for a system-level search');
            continue;
        }
        if (name === '_sort') {
            if (!paging) fail_('_sort is not allowed here');
            out.push([name, value]);
            continue;
        }
        if (name === '_summary') {
            if (!SUMMARY_VALUES.has(value)) fail_(`_summary=${value}: expected true, text, data, count or false`);
            res.summary = value;
            continue;
        }
        if (name === '_elements') {
            res.elements = value.split(',').map((s) => s.trim()).filter(Boolean);
            continue;
        }
        if (name === '_include' || name === '_revinclude') {
            if (!paging) fail_(`${name} is not allowed here`);
            const list = parseInclude(name, value, modifier);
            (name === '_include' ? res.includes : res.revincludes).push(...list);
            continue;
        }
        if (name.includes('.') || modifier.includes('.')) {
            drop(key, `Chained parameter ${key} is not supported by this server`);
            continue;
        }
        if (NOT_SUPPORTED.has(name)) {
            drop(key, `${name} is not supported by this server`);
            continue;
        }
        const sp = searchParam(type, name);
        if (!sp) {
            drop(key, `Unknown search parameter "${name}" for ${type}`, 'invalid');
            continue;
        }
        if (!SUPPORTED_PARAM_TYPES.has(sp.type)) {
            drop(key, `Search parameter "${name}" (type ${sp.type}) is not supported by this server`);
            continue;
        }
        if (value === '') fail_(`Search parameter "${key}" has an empty value`);

        if (modifier === '') {
            out.push([name, value]);
        } else if (modifier === 'missing') {
            if (value !== 'true' && value !== 'false') fail_(`${key} must be true or false`);
            out.push([key, value]);
        } else if (modifier === 'not' && (sp.type === 'token' || sp.type === 'reference')) {
            out.push([key, value]);
        } else if (modifier === 'contains' && (sp.type === 'string' || sp.type === 'uri')) {
            out.push([key, value]);
        } else if (sp.type === 'reference' && isKnownResourceType(modifier)) {
            // subject:Patient=123 -> subject=Patient/123
            if (sp.target?.length && !sp.target.includes(modifier)) {
                fail_(`${key}: ${name} cannot refer to ${modifier}`);
            }
            const typed = value.split(',').map((v) => (v.includes('/') ? v : `${modifier}/${v}`)).join(',');
            out.push([name, typed]);
        } else {
            drop(key, `Modifier :${modifier} on ${name} is not supported by this server`);
        }
    }

    const { count, offset } = paging ? parsePaging(params) : { count: undefined, offset: 0 };
    if (paging) {
        out.push(['_count', String(count)]);
        if (offset) out.push(['_offset', String(offset)]);
    }
    return { ...res, routerParams: out, count, offset, ignored };
}

/** [[k, v]] -> { k: v | [v, ...] } (what FhirRouter's POST _search takes). */
export function toRecord(params) {
    const rec = Object.create(null);
    for (const [k, v] of params) {
        if (k in rec) rec[k] = [rec[k]].flat().concat(v);
        else rec[k] = v;
    }
    return rec;
}

/**
 * Query string encoding for links and router URLs: percent-encode what
 * has to be (& = # % + | space, non-ASCII ...), keep / : , @ readable.
 */
export function encodeQuery(params) {
    const enc = (s) => encodeURIComponent(s)
        .replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%40/g, '@');
    return params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

// --- paging links ----------------------------------------------------------

/**
 * Bundle.link for a page: the received parameters in their order, with
 * _count set to the page size and _offset to the page's start.
 */
export function pageLinks(url, params, { count, offset, total }) {
    const at = (off) => {
        const out = [];
        let sawCount = false;
        let sawOffset = false;
        for (const [k, v] of params) {
            if (k === '_count') {
                if (!sawCount) out.push(['_count', String(count)]);
                sawCount = true;
            } else if (k === '_offset') {
                if (!sawOffset && off > 0) out.push(['_offset', String(off)]);
                sawOffset = true;
            } else {
                out.push([k, v]);
            }
        }
        if (!sawCount) out.push(['_count', String(count)]);
        if (!sawOffset && off > 0) out.push(['_offset', String(off)]);
        return `${url}?${encodeQuery(out)}`;
    };
    const links = [{ relation: 'self', url: at(offset) }];
    if (count > 0) {
        links.push({ relation: 'first', url: at(0) });
        if (offset > 0) links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
        if (offset + count < total) links.push({ relation: 'next', url: at(offset + count) });
        const last = total > 0 ? Math.floor((total - 1) / count) * count : 0;
        links.push({ relation: 'last', url: at(last) });
    }
    return links;
}

// --- _elements / _summary ----------------------------------------------------

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/** The resource reduced per _summary / _elements, or itself. */
export function subset(resource, { summary, elements }) {
    if ((!summary || summary === 'false' || summary === 'count') && !elements) return resource;
    let schema;
    try {
        schema = getDataType(resource.resourceType);
    } catch {
        return resource;
    }
    const summaryProps = schema.summaryProperties ?? new Set();
    const mandatory = schema.mandatoryProperties ?? new Set();
    const names = new Set(Object.keys(schema.elements ?? {}).map((k) => k.replace('[x]', '')));
    const baseName = (key) => {
        const k = key.startsWith('_') ? key.slice(1) : key;
        if (names.has(k)) return k;
        for (const n of names) {
            if (k.startsWith(n) && /[A-Z]/.test(k[n.length] ?? '')) return n;
        }
        return k;
    };
    let keep;
    if (elements) {
        const wanted = new Set(elements);
        keep = (b) => wanted.has(b) || mandatory.has(b);
    } else if (summary === 'true') {
        keep = (b) => summaryProps.has(b);
    } else if (summary === 'text') {
        keep = (b) => b === 'text' || mandatory.has(b);
    } else {
        keep = (b) => b !== 'text';                 // data
    }
    const out = { resourceType: resource.resourceType };
    for (const [k, v] of Object.entries(resource)) {
        if (k === 'resourceType') continue;
        const b = baseName(k);
        if (b === 'id' || b === 'meta' || keep(b)) out[k] = v;
    }
    out.meta = { ...(resource.meta ?? {}) };
    out.meta.tag = [...(out.meta.tag ?? []), SUBSETTED];
    return out;
}

// --- _include / _revinclude ----------------------------------------------------

/**
 * The resources _include/_revinclude add to a page of matches (clones),
 * without the matches themselves and without duplicates.
 */
export async function resolveIncludes(repo, matches, includes, revincludes) {
    if (!includes.length && !revincludes.length) return [];
    const key = (r) => `${r.resourceType}/${r.id}`;
    const seen = new Set(matches.map(key));
    const out = [];
    let frontier = matches;
    for (let round = 0; round < 5 && frontier.length && out.length < MAX_INCLUDED; round++) {
        const next = [];
        const add = (r) => {
            if (seen.has(key(r)) || out.length >= MAX_INCLUDED) return;
            seen.add(key(r));
            out.push(r);
            next.push(r);
        };
        for (const inc of includes) {
            if (round > 0 && !inc.iterate) continue;
            const sp = searchParam(inc.resourceType, inc.code);
            for (const r of frontier) {
                if (r.resourceType !== inc.resourceType) continue;
                let refs = [];
                try {
                    refs = convertToSearchableReferences(evalFhirPathTyped(sp.expression, [toTypedValue(r)]));
                } catch {
                    refs = [];
                }
                for (const ref of refs) {
                    const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref ?? '');
                    if (!m || !isKnownResourceType(m[1])) continue;
                    if (inc.targetType && m[1] !== inc.targetType) continue;
                    if (seen.has(ref)) continue;
                    try {
                        add(await repo.readResource(m[1], m[2]));
                    } catch {
                        // dangling or deleted reference: nothing to include
                    }
                }
            }
        }
        for (const rev of revincludes) {
            if (round > 0 && !rev.iterate) continue;
            const sp = searchParam(rev.resourceType, rev.code);
            const refs = frontier
                .filter((r) => !sp.target?.length || sp.target.includes(r.resourceType))
                .map(key);
            if (!refs.length) continue;
            const bundle = await repo.search({
                resourceType: rev.resourceType,
                filters: [{ code: rev.code, operator: 'eq', value: refs.join(',') }],
            });
            for (const e of bundle.entry ?? []) add(e.resource);
        }
        frontier = next;
    }
    return out;
}
