// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// The HTTP side of the sandbox FHIR server: node:http requests in,
// FhirRouter (from @medplum/fhir-router) for the FHIR interactions, and
// around it what a real FHIR server sends and the gateway relies on:
// absolute paging links built from X-Forwarded-Proto/-Host, ETag,
// Last-Modified and Location headers, If-Match / If-None-Match,
// OperationOutcome errors with proper statuses (never a stack trace),
// 405/406/413/415, the CapabilityStatement and /healthz.

import { randomUUID } from 'node:crypto';

import {
    OperationOutcomeError,
    badRequest,
    deepClone,
    getStatus,
    isOk,
    parseSearchRequest,
} from '@medplum/core';

import { capabilityStatement } from './capability.mjs';
import { compartmentParams, compartmentTypes, isKnownResourceType } from './definitions.mjs';
import { sortResources, unknownType } from './repository.mjs';
import {
    encodeQuery,
    fail,
    pageLinks,
    parsePaging,
    prepareSearch,
    resolveIncludes,
    subset,
    toRecord,
} from './search.mjs';
import { isValidId } from './validate.mjs';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_TYPES = new Set(['', 'application/fhir+json', 'application/json', 'application/json+fhir', 'text/json']);
const PATCH_TYPES = new Set(['', 'application/json-patch+json', 'application/json']);
const FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
const ACCEPTABLE = new Set([...FORMATS, '*/*', 'application/*', 'text/*']);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const STATUS_TEXT = {
    200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request',
    403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
    412: 'Precondition Failed', 422: 'Unprocessable Entity', 500: 'Internal Server Error',
};

// --- outcomes ---------------------------------------------------------------

const looksLikeStack = (s) => /\n\s*at |\bat \S+ \(|node_modules|\.m?js:\d+/.test(s);

function scrub(text) {
    const s = String(text);
    return (looksLikeStack(s) ? s.split('\n')[0].replace(/\(.*\)$/, '') : s).slice(0, 2000);
}

/** A response-safe copy of an OperationOutcome (no ids, no stack traces). */
export function cleanOutcome(oo) {
    const issue = (Array.isArray(oo?.issue) ? oo.issue : []).map((i) => {
        const x = { severity: i.severity ?? 'error', code: i.code ?? 'processing' };
        if (i.details?.text || i.details?.coding) {
            x.details = {
                ...(i.details.coding ? { coding: i.details.coding } : {}),
                ...(i.details.text ? { text: scrub(i.details.text) } : {}),
            };
        }
        if (typeof i.diagnostics === 'string' && !looksLikeStack(i.diagnostics)) {
            x.diagnostics = i.diagnostics.slice(0, 2000);
        }
        if (Array.isArray(i.expression)) x.expression = i.expression;
        return x;
    });
    return {
        resourceType: 'OperationOutcome',
        issue: issue.length ? issue : [{ severity: 'error', code: 'processing' }],
    };
}

function informational(text) {
    return {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', details: { text } }],
    };
}

function withHeaders(err, headers) {
    err.headers = headers;
    return err;
}

function preconditionFailed(text) {
    return fail(text, 'conflict', 412);
}

// --- request helpers ----------------------------------------------------------

function first(h) {
    const v = Array.isArray(h) ? h[0] : h;
    return typeof v === 'string' ? v.split(',')[0].trim() : undefined;
}

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The base URL links point at: X-Forwarded-Proto + X-Forwarded-Host (and
 * X-Forwarded-Port when the host has none), else Host, else the address
 * the server listens on; then the base path.
 */
export function requestBase(req, port, basePath) {
    let proto = first(req.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto !== 'http' && proto !== 'https') proto = 'http';
    let host = first(req.headers['x-forwarded-host']);
    if (host && HOST_RE.test(host)) {
        const fport = first(req.headers['x-forwarded-port']);
        const hasPort = /:\d+$/.test(host);
        if (!hasPort && fport && /^\d{1,5}$/.test(fport)
            && !(proto === 'http' && fport === '80') && !(proto === 'https' && fport === '443')) {
            host = `${host}:${fport}`;
        }
    } else {
        host = req.headers.host;
        if (!host || !HOST_RE.test(host)) host = `127.0.0.1:${port}`;
    }
    return `${proto}://${host}${basePath}`;
}

function contentType(req) {
    return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

function parsePrefer(h) {
    const out = {};
    for (const part of String(h ?? '').split(/[,;]/)) {
        const [k, v] = part.split('=').map((s) => s?.trim());
        if (k && v) out[k.toLowerCase()] = v.replace(/^"|"$/g, '');
    }
    return out;
}

/** Entity tags of an If-Match / If-None-Match header: version ids or '*'. */
function parseEtags(h) {
    return String(h).split(',').map((t) => t.trim().replace(/^W\//i, '').replace(/^"(.*)"$/, '$1'))
        .filter(Boolean);
}

function readBody(req, limit) {
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers['content-length']);
        let tooLarge = Number.isFinite(declared) && declared > limit;
        if (tooLarge) {
            // refused before the body is read (Node answers Expect:
            // 100-continue by itself); what was sent is drained unread
            req.resume();
            reject(withHeaders(fail(`The request body is larger than ${limit} bytes`, 'too-long', 413),
                { Connection: 'close' }));
            return;
        }
        const chunks = [];
        let size = 0;
        req.on('data', (chunk) => {
            if (tooLarge) return;                           // drain, keep nothing
            size += chunk.length;
            if (size > limit) {
                tooLarge = true;
                chunks.length = 0;
            } else {
                chunks.push(chunk);
            }
        });
        req.on('end', () => {
            if (tooLarge) {
                reject(withHeaders(fail(`The request body is larger than ${limit} bytes`, 'too-long', 413),
                    { Connection: 'close' }));
            } else {
                resolve(Buffer.concat(chunks));
            }
        });
        req.on('error', reject);
    });
}

function httpDate(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? undefined : d.toUTCString();
}

// --- the handler ----------------------------------------------------------------

/**
 * options: repo (SandboxRepository), router (FhirRouter), basePath ("/fhir"
 * or ""), port() (the listening port), maxBodyBytes, startedAt (ISO),
 * onRequest({ req, res, started, ms }) called when a response is done.
 */
export function createHandler(options) {
    const { repo, router, basePath, port, maxBodyBytes, startedAt, onRequest } = options;
    const baseSegs = basePath.split('/').filter(Boolean);

    // ---- sending

    function send(ctx, status, body, headers = {}) {
        const text = JSON.stringify(body, null, ctx.pretty ? 2 : undefined);
        ctx.res.writeHead(status, {
            'Content-Type': FHIR_JSON,
            'Content-Length': Buffer.byteLength(text),
            ...headers,
        });
        ctx.res.end(text);
    }

    function resourceHeaders(ctx, resource, { location = false } = {}) {
        const h = {};
        const v = resource?.meta?.versionId;
        if (v) h.ETag = `W/"${v}"`;
        const lm = resource?.meta?.lastUpdated && httpDate(resource.meta.lastUpdated);
        if (lm) h['Last-Modified'] = lm;
        if (location && v) h.Location = `${ctx.base}/${resource.resourceType}/${resource.id}/_history/${v}`;
        return h;
    }

    /** read / vread: 304 on a matching If-None-Match or If-Modified-Since. */
    function sendRead(ctx, resource) {
        const headers = resourceHeaders(ctx, resource);
        const inm = ctx.req.headers['if-none-match'];
        const ims = ctx.req.headers['if-modified-since'];
        let notModified = false;
        if (inm) {
            const tags = parseEtags(inm);
            notModified = tags.includes('*') || tags.includes(resource.meta?.versionId);
        } else if (ims && resource.meta?.lastUpdated) {
            const since = Date.parse(ims);
            const last = Math.floor(Date.parse(resource.meta.lastUpdated) / 1000) * 1000;
            notModified = !Number.isNaN(since) && last <= since;
        }
        if (notModified) {
            ctx.res.writeHead(304, headers);
            ctx.res.end();
            return;
        }
        const sub = readSubset(ctx);
        send(ctx, 200, sub ? subset(resource, sub) : resource, headers);
    }

    function readSubset(ctx) {
        let summary;
        let elements;
        for (const [k, v] of ctx.params) {
            if (k === '_summary') {
                if (!['true', 'text', 'data', 'false'].includes(v)) throw fail(`_summary=${v} is not supported on a read`);
                summary = v;
            }
            if (k === '_elements') elements = v.split(',').map((s) => s.trim()).filter(Boolean);
        }
        return summary || elements ? { summary, elements } : undefined;
    }

    /** create / update / patch: Location, ETag, Last-Modified; Prefer: return=. */
    function sendWrite(ctx, status, resource) {
        const headers = resourceHeaders(ctx, resource, { location: true });
        const ret = ctx.prefer.return;
        if (ret === 'minimal') {
            ctx.res.writeHead(status, { ...headers, 'Content-Length': 0 });
            ctx.res.end();
        } else if (ret === 'OperationOutcome') {
            send(ctx, status, informational(`${resource.resourceType}/${resource.id} version ${resource.meta?.versionId} stored`), headers);
        } else {
            send(ctx, status, resource, headers);
        }
    }

    function sendError(ctx, err) {
        if (ctx.res.headersSent) {
            ctx.res.destroy();
            return;
        }
        if (err instanceof OperationOutcomeError) {
            const status = err.httpStatus ?? getStatus(err.outcome);
            if (status >= 500) console.error(`fhir-server: ${ctx.req.method} ${ctx.req.url}: ${JSON.stringify(err.outcome)}`);
            send(ctx, status, cleanOutcome(err.outcome), err.headers ?? {});
            return;
        }
        console.error(`fhir-server: internal error on ${ctx.req.method} ${ctx.req.url}: ${err?.stack ?? err}`);
        send(ctx, 500, {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'exception', details: { text: 'Internal server error' } }],
        });
    }

    // ---- bodies

    function jsonBody(ctx, allowed = JSON_TYPES) {
        const ct = contentType(ctx.req);
        if (!allowed.has(ct)) {
            throw fail(`Unsupported Content-Type "${ct}": this server takes application/fhir+json`, 'not-supported', 415);
        }
        if (!ctx.body?.length) throw fail('The request has no body', 'required');
        try {
            return JSON.parse(ctx.body.toString('utf8').replace(/^\uFEFF/, ''));
        } catch (err) {
            throw fail(`The request body is not valid JSON: ${err.message}`, 'structure');
        }
    }

    function resourceBody(ctx, type) {
        const r = jsonBody(ctx);
        if (r === null || typeof r !== 'object' || Array.isArray(r)) {
            throw fail('The request body is not a FHIR resource (a JSON object was expected)', 'structure');
        }
        if (r.resourceType === undefined) throw fail('The resource has no resourceType', 'required');
        if (typeof r.resourceType !== 'string' || !isKnownResourceType(r.resourceType)) {
            throw fail(`Unknown resource type ${JSON.stringify(r.resourceType)} in the body`, 'not-supported');
        }
        if (r.resourceType !== type) {
            throw fail(`The body is a ${r.resourceType} but the URL is for ${type}`, 'invalid');
        }
        return r;
    }

    function patchBody(ctx) {
        const ct = contentType(ctx.req);
        if (ct === 'application/fhir+json' || ct === 'application/json+fhir') {
            throw fail('FHIRPath Patch is not supported: send a JSON Patch (application/json-patch+json)',
                'not-supported', 415);
        }
        const ops = jsonBody(ctx, PATCH_TYPES);
        if (!Array.isArray(ops)) throw fail('A JSON Patch body must be an array of operations', 'structure');
        return ops;
    }

    function formParams(ctx) {
        if (!ctx.body?.length) return [];
        if (contentType(ctx.req) !== 'application/x-www-form-urlencoded') {
            throw fail('POST _search takes an application/x-www-form-urlencoded body', 'not-supported', 415);
        }
        return [...new URLSearchParams(ctx.body.toString('utf8'))];
    }

    // ---- router

    async function callRouter(method, url, { body, headers } = {}) {
        const [outcome, resource] = await router.handleRequest({
            method,
            url,
            pathname: '',
            params: Object.create(null),
            query: Object.create(null),
            body,
            headers: headers ?? {},
            config: {},
        }, repo);
        if (!isOk(outcome)) throw new OperationOutcomeError(outcome);
        return [outcome, resource];
    }

    // ---- preconditions

    async function checkIfMatch(ctx, type, current) {
        const header = ctx.req.headers['if-match'];
        if (!header) return;
        if (!current) throw preconditionFailed(`If-Match: ${type} has no current version to match`);
        const tags = parseEtags(header);
        const v = current.meta?.versionId;
        if (!tags.includes('*') && !tags.includes(v)) {
            throw preconditionFailed(`If-Match ${header} does not match the current version W/"${v}" of ${type}/${current.id}`);
        }
    }

    async function currentOf(type, id) {
        return repo.exists(type, id) ? repo.readResource(type, id) : undefined;
    }

    /** The (at most 2) matches of conditional criteria. */
    function conditional(ctx, type, what) {
        const prep = prepareSearch(type, ctx.params, { paging: false });
        if (!prep.routerParams.length) throw fail(`A conditional ${what} needs search parameters`);
        const matches = repo.searchAll(parseSearchRequest(type, toRecord(prep.routerParams)));
        if (matches.length > 1) {
            throw fail(`The conditional ${what} criteria match ${matches.length} resources`, 'multiple-matches', 412);
        }
        return { query: encodeQuery(prep.routerParams), match: matches[0] && deepClone(matches[0]) };
    }

    // ---- interactions

    async function read(ctx, type, id) {
        const [, resource] = await callRouter('GET', `${type}/${id}`);
        sendRead(ctx, resource);
    }

    async function vread(ctx, type, id, vid) {
        const [, resource] = await callRouter('GET', `${type}/${id}/_history/${vid}`);
        sendRead(ctx, resource);
    }

    async function create(ctx, type) {
        const resource = resourceBody(ctx, type);
        delete resource.id;                          // the server assigns ids
        const headers = {};
        const ine = ctx.req.headers['if-none-exist'];
        if (ine) {
            const q = String(ine).includes('?') ? String(ine).slice(String(ine).indexOf('?') + 1) : String(ine);
            const prep = prepareSearch(type, [...new URLSearchParams(q)], { paging: false });
            if (!prep.routerParams.length) throw fail('If-None-Exist has no search parameters');
            headers['if-none-exist'] = encodeQuery(prep.routerParams);
        }
        const [outcome, saved] = await callRouter('POST', type, { body: resource, headers });
        sendWrite(ctx, getStatus(outcome), saved);
    }

    async function update(ctx, type, id) {
        const resource = resourceBody(ctx, type);
        if (resource.id === undefined) throw fail(`An update needs the id in the body (${id})`, 'required');
        if (resource.id !== id) throw fail(`The id in the body (${resource.id}) does not match the URL (${id})`);
        const current = await currentOf(type, id);
        await checkIfMatch(ctx, type, current);
        const [, saved] = await callRouter('PUT', `${type}/${id}`, { body: resource });
        sendWrite(ctx, current ? 200 : 201, saved);
    }

    async function conditionalUpdate(ctx, type) {
        const resource = resourceBody(ctx, type);
        const { query, match } = conditional(ctx, type, 'update');
        await checkIfMatch(ctx, type, match);
        if (match && resource.id !== undefined && resource.id !== match.id) {
            throw fail(`The id in the body (${resource.id}) is not the one the criteria match (${match.id})`);
        }
        const [outcome, saved] = await callRouter('PUT', `${type}?${query}`, { body: resource });
        sendWrite(ctx, getStatus(outcome), saved);
    }

    async function patch(ctx, type, id) {
        const ops = patchBody(ctx);
        await checkIfMatch(ctx, type, await currentOf(type, id));
        const [, saved] = await callRouter('PATCH', `${type}/${id}`, { body: ops });
        sendWrite(ctx, 200, saved);
    }

    async function conditionalPatch(ctx, type) {
        const ops = patchBody(ctx);
        const { query, match } = conditional(ctx, type, 'patch');
        await checkIfMatch(ctx, type, match);
        const [, saved] = await callRouter('PATCH', `${type}?${query}`, { body: ops });
        sendWrite(ctx, 200, saved);
    }

    async function remove(ctx, type, id) {
        await checkIfMatch(ctx, type, await currentOf(type, id));
        await callRouter('DELETE', `${type}/${id}`);
        send(ctx, 200, informational(`Deleted ${type}/${id}`));
    }

    async function conditionalRemove(ctx, type) {
        const { query, match } = conditional(ctx, type, 'delete');
        await checkIfMatch(ctx, type, match);
        await callRouter('DELETE', `${type}?${query}`);
        send(ctx, 200, informational(match ? `Deleted ${type}/${match.id}` : 'No resource matched; nothing deleted'));
    }

    // ---- search

    async function sendSearchset(ctx, { url, params, prep, page, total, count, offset }) {
        const entry = page.map((r) => ({
            fullUrl: `${ctx.base}/${r.resourceType}/${r.id}`,
            resource: subset(r, prep),
            search: { mode: 'match' },
        }));
        for (const r of await resolveIncludes(repo, page, prep.includes, prep.revincludes)) {
            entry.push({ fullUrl: `${ctx.base}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'include' } });
        }
        if (prep.ignored.length) {
            entry.push({
                resource: {
                    resourceType: 'OperationOutcome',
                    issue: [{
                        severity: 'warning',
                        code: 'not-supported',
                        details: { text: `Ignored (Prefer: handling=lenient): ${prep.ignored.join(', ')}` },
                    }],
                },
                search: { mode: 'outcome' },
            });
        }
        send(ctx, 200, {
            resourceType: 'Bundle',
            id: randomUUID(),
            meta: { lastUpdated: new Date().toISOString() },
            type: 'searchset',
            total,
            link: pageLinks(url, params, { count, offset, total }),
            ...(entry.length ? { entry } : {}),
        });
    }

    /** GET [type]?... and POST [type]/_search (URL and body parameters combined). */
    async function typeSearch(ctx, type, params, byPost) {
        const prep = prepareSearch(type, params, { lenient: ctx.prefer.handling === 'lenient' });
        const [, bundle] = byPost
            ? await callRouter('POST', `${type}/_search`, { body: toRecord(prep.routerParams) })
            : await callRouter('GET', `${type}?${encodeQuery(prep.routerParams)}`);
        await sendSearchset(ctx, {
            url: `${ctx.base}/${type}`,
            params,
            prep,
            page: (bundle.entry ?? []).map((e) => e.resource),
            total: bundle.total ?? 0,
            count: prep.count,
            offset: prep.offset,
        });
    }

    /**
     * Searches over several types: system search (?_type=), Patient
     * compartment (Patient/id/* and Patient/id/Type) and $everything.
     */
    async function multiSearch(ctx, { types, params, linkParams, url, compartmentRef }) {
        const lenient = ctx.prefer.handling === 'lenient';
        const { count, offset } = parsePaging(params);
        let all = [];
        let prep;
        let sortRules;
        for (const type of types) {
            if (compartmentRef && !compartmentParams(type) && type !== 'Patient') continue;
            prep = prepareSearch(type, params, { lenient });
            const criteria = prep.routerParams.filter(([k]) => k !== '_count' && k !== '_offset');
            const sr = parseSearchRequest(type, toRecord(criteria));
            if (compartmentRef) sr.compartment = { ref: compartmentRef, params: compartmentParams(type) ?? [] };
            sortRules = sr.sortRules;
            all = all.concat(repo.searchAll(sr));
        }
        if (!prep) prep = prepareSearch(types[0] ?? 'Patient', [], {});
        if (types.length > 1 && sortRules?.length) all = sortResources(all, sortRules);
        const page = all.slice(offset, offset + count).map((r) => deepClone(r));
        await sendSearchset(ctx, { url, params: linkParams ?? params, prep, page, total: all.length, count, offset });
    }

    function typesOf(params) {
        const types = [];
        for (const [k, v] of params) {
            if (k !== '_type') continue;
            for (const t of v.split(',').map((s) => s.trim()).filter(Boolean)) {
                if (!isKnownResourceType(t)) throw unknownType(t);
                if (!types.includes(t)) types.push(t);
            }
        }
        return types;
    }

    async function systemSearch(ctx, params) {
        const types = typesOf(params);
        if (!types.length) {
            throw fail('A system-level search needs _type (for example ?_type=Patient,Observation)', 'not-supported');
        }
        await multiSearch(ctx, {
            types,
            params: params.filter(([k]) => k !== '_type'),
            linkParams: params,
            url: ctx.base,
        });
    }

    async function compartmentSearch(ctx, id, target, params) {
        let types;
        if (target === '*') {
            types = ['Patient', ...compartmentTypes().filter((t) => t !== 'Patient')];
        } else {
            if (!compartmentParams(target)) {
                throw fail(`${target} is not in the Patient compartment`, 'not-supported');
            }
            types = [target];
        }
        await multiSearch(ctx, {
            types,
            params,
            url: `${ctx.base}/Patient/${id}/${target}`,
            compartmentRef: `Patient/${id}`,
        });
    }

    async function everything(ctx, id) {
        await repo.readResource('Patient', id);                 // 404 / 410
        const only = typesOf(ctx.params);
        const types = ['Patient', ...compartmentTypes().filter((t) => t !== 'Patient')]
            .filter((t) => !only.length || only.includes(t));
        const params = ctx.params.filter(([k]) => k === '_count' || k === '_offset');
        const other = ctx.params.find(([k]) => !['_count', '_offset', '_type', '_format', '_pretty'].includes(k));
        if (other) throw fail(`$everything does not support the parameter ${other[0]} here`, 'not-supported');
        await multiSearch(ctx, {
            types,
            params,
            linkParams: ctx.params,
            url: `${ctx.base}/Patient/${id}/$everything`,
            compartmentRef: `Patient/${id}`,
        });
    }

    // ---- history

    function historyPaging(ctx) {
        for (const [k] of ctx.params) {
            if (!['_count', '_offset', '_format', '_pretty'].includes(k)) {
                throw fail(`History parameter ${k} is not supported by this server`, 'not-supported');
            }
        }
        return parsePaging(ctx.params);
    }

    function sendHistory(ctx, bundle, url, { count, offset }) {
        const entry = (bundle.entry ?? []).map((e) => {
            const ref = e.resource ? `${e.resource.resourceType}/${e.resource.id}` : e.request?.url;
            return ref ? { fullUrl: `${ctx.base}/${ref}`, ...e } : e;
        });
        send(ctx, 200, {
            resourceType: 'Bundle',
            id: randomUUID(),
            meta: { lastUpdated: new Date().toISOString() },
            type: 'history',
            total: bundle.total ?? 0,
            link: pageLinks(url, ctx.params, { count, offset, total: bundle.total ?? 0 }),
            ...(entry.length ? { entry } : {}),
        });
    }

    async function instanceHistory(ctx, type, id) {
        const paging = historyPaging(ctx);
        const [, bundle] = await callRouter('GET',
            `${type}/${id}/_history?_count=${paging.count}&_offset=${paging.offset}`);
        sendHistory(ctx, bundle, `${ctx.base}/${type}/${id}/_history`, paging);
    }

    async function manyHistory(ctx, type) {
        const paging = historyPaging(ctx);
        const bundle = await repo.readManyHistory(type, { offset: paging.offset, limit: paging.count });
        sendHistory(ctx, bundle, `${ctx.base}${type ? `/${type}` : ''}/_history`, paging);
    }

    // ---- batch / transaction

    function relativeUrl(u) {
        let s = String(u);
        if (/^https?:\/\//i.test(s)) {
            try {
                const parsed = new URL(s);
                s = parsed.pathname + parsed.search;
            } catch {
                return s;
            }
        }
        s = s.replace(/^\/+/, '/');
        if (basePath && (s === basePath || s.startsWith(`${basePath}/`) || s.startsWith(`${basePath}?`))) {
            s = s.slice(basePath.length);
        }
        return s.replace(/^\/+/, '');
    }

    async function batch(ctx) {
        const bundle = jsonBody(ctx);
        if (bundle?.resourceType !== 'Bundle') throw fail('POST to the base takes a batch or transaction Bundle');
        if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
            throw fail(`Bundle.type must be batch or transaction, not ${JSON.stringify(bundle.type)}`);
        }
        if (!Array.isArray(bundle.entry) || !bundle.entry.length) throw fail('The Bundle has no entries');
        for (const e of bundle.entry) {
            if (e?.request?.url) e.request.url = relativeUrl(e.request.url);
            if (e?.request?.method === 'POST' && e.resource && typeof e.resource === 'object') delete e.resource.id;
        }
        const run = async () => {
            const [, result] = await callRouter('POST', '', { body: bundle });
            if (bundle.type === 'transaction') {
                const i = (result.entry ?? []).findIndex((e) => Number.parseInt(e?.response?.status, 10) >= 400);
                if (i >= 0) {
                    const failed = result.entry[i].response;
                    const oo = cleanOutcome(failed.outcome ?? badRequest('The entry failed'));
                    oo.issue = oo.issue.map((x) => ({ ...x, expression: [`Bundle.entry[${i}]`, ...(x.expression ?? [])] }));
                    const err = new OperationOutcomeError(oo);
                    err.httpStatus = Number.parseInt(failed.status, 10);
                    throw err;
                }
            }
            return result;
        };
        const result = bundle.type === 'transaction' ? await repo.withTransaction(run) : await run();
        const entries = (result.entry ?? []).map((e, i) => {
            if (!e?.response) return e;
            const write = ['POST', 'PUT', 'PATCH'].includes(bundle.entry[i]?.request?.method);
            const response = { ...e.response };
            const st = Number.parseInt(response.status, 10);
            response.status = `${st} ${STATUS_TEXT[st] ?? ''}`.trim();
            const r = e.resource;
            let fullUrl;
            if (r?.id && r.meta?.versionId && r.resourceType !== 'Bundle') {
                fullUrl = `${ctx.base}/${r.resourceType}/${r.id}`;
                if (write) response.location = `${r.resourceType}/${r.id}/_history/${r.meta.versionId}`;
                else delete response.location;
                response.etag = `W/"${r.meta.versionId}"`;
                response.lastModified = r.meta.lastUpdated;
            } else {
                delete response.location;
            }
            if (st < 400) delete response.outcome;
            else response.outcome = cleanOutcome(response.outcome);
            return { ...(fullUrl ? { fullUrl } : {}), ...(r ? { resource: r } : {}), response };
        });
        send(ctx, 200, {
            resourceType: 'Bundle',
            id: randomUUID(),
            meta: { lastUpdated: new Date().toISOString() },
            type: result.type,
            entry: entries,
        });
    }

    // ---- routing

    function only(ctx, handlers) {
        const h = handlers[ctx.method];
        if (h) return h();
        const allow = Object.keys(handlers);
        if (allow.includes('GET')) allow.splice(1, 0, 'HEAD');
        throw withHeaders(
            fail(`${ctx.req.method} is not allowed on ${ctx.path} (allowed: ${allow.join(', ')})`, 'not-supported', 405),
            { Allow: allow.join(', ') });
    }

    function checkId(id, what = 'id') {
        if (!isValidId(id)) throw fail(`Invalid ${what} "${id}" (1 to 64 of A-Z a-z 0-9 - .)`);
        return id;
    }

    function checkFormat(ctx) {
        for (const [k, v] of ctx.params) {
            if (k === '_format' && !FORMATS.has(v.toLowerCase())) {
                throw fail(`_format=${v}: this server speaks JSON only`, 'not-supported', 406);
            }
        }
        const accept = ctx.req.headers.accept;
        if (accept) {
            const types = String(accept).split(',').map((t) => t.split(';')[0].trim().toLowerCase());
            if (!types.some((t) => ACCEPTABLE.has(t))) {
                throw fail(`Accept: ${accept}: this server speaks application/fhir+json only`, 'not-supported', 406);
            }
        }
    }

    async function route(ctx, s) {
        const n = s.length;
        const op = s.find((x) => x.startsWith('$'));
        if (op) {
            if (n === 3 && s[0] === 'Patient' && op === '$everything' && s[2] === op) {
                checkId(s[1]);
                return only(ctx, { GET: () => everything(ctx, s[1]) });
            }
            throw fail(`The operation ${op} is not supported by this server`, 'not-supported');
        }
        if (n === 0) {
            return only(ctx, { GET: () => systemSearch(ctx, ctx.params), POST: () => batch(ctx) });
        }
        if (n === 1 && s[0] === 'metadata') {
            return only(ctx, { GET: () => send(ctx, 200, capabilityStatement(ctx.base, startedAt)) });
        }
        if (n === 1 && s[0] === '_history') return only(ctx, { GET: () => manyHistory(ctx, undefined) });
        if (n === 1 && s[0] === '_search') {
            return only(ctx, { POST: () => systemSearch(ctx, [...ctx.params, ...formParams(ctx)]) });
        }
        const type = s[0];
        if (!isKnownResourceType(type)) throw unknownType(type);
        if (n === 1) {
            return only(ctx, {
                GET: () => typeSearch(ctx, type, ctx.params, false),
                POST: () => create(ctx, type),
                PUT: () => conditionalUpdate(ctx, type),
                PATCH: () => conditionalPatch(ctx, type),
                DELETE: () => conditionalRemove(ctx, type),
            });
        }
        if (n === 2 && s[1] === '_search') {
            return only(ctx, { POST: () => typeSearch(ctx, type, [...ctx.params, ...formParams(ctx)], true) });
        }
        if (n === 2 && s[1] === '_history') return only(ctx, { GET: () => manyHistory(ctx, type) });
        const id = checkId(s[1]);
        if (n === 2) {
            return only(ctx, {
                GET: () => read(ctx, type, id),
                PUT: () => update(ctx, type, id),
                PATCH: () => patch(ctx, type, id),
                DELETE: () => remove(ctx, type, id),
            });
        }
        if (n === 3 && s[2] === '_history') return only(ctx, { GET: () => instanceHistory(ctx, type, id) });
        if (n === 4 && s[2] === '_history') {
            const vid = checkId(s[3], 'version id');
            return only(ctx, { GET: () => vread(ctx, type, id, vid) });
        }
        if (type === 'Patient' && (n === 3 || (n === 4 && s[3] === '_search'))) {
            const target = s[2];
            if (target !== '*' && !isKnownResourceType(target)) throw unknownType(target);
            if (n === 3) return only(ctx, { GET: () => compartmentSearch(ctx, id, target, ctx.params) });
            return only(ctx, {
                POST: () => compartmentSearch(ctx, id, target, [...ctx.params, ...formParams(ctx)]),
            });
        }
        throw fail(`There is nothing at ${ctx.path}`, 'not-found', 404);
    }

    async function dispatch(ctx) {
        const { req, res } = ctx;
        let raw = req.url ?? '/';
        if (/^https?:\/\//i.test(raw)) {
            try {
                const u = new URL(raw);
                raw = u.pathname + u.search;
            } catch {
                throw fail('Malformed request URL');
            }
        }
        const q = raw.indexOf('?');
        const pathPart = q >= 0 ? raw.slice(0, q) : raw;
        const queryPart = (q >= 0 ? raw.slice(q + 1) : '').split('#')[0];
        let segs;
        try {
            segs = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
        } catch {
            throw fail('Malformed percent-encoding in the path');
        }
        ctx.path = pathPart;

        if (segs.length === 1 && segs[0] === 'healthz' && !(baseSegs.length === 1 && baseSegs[0] === 'healthz')) {
            ctx.healthz = true;
            if (req.method !== 'GET' && req.method !== 'HEAD') {
                throw withHeaders(fail('GET /healthz only', 'not-supported', 405), { Allow: 'GET, HEAD' });
            }
            const text = JSON.stringify({ status: 'ok', resources: repo.count() });
            res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
            res.end(text);
            return;
        }
        if (baseSegs.some((b, i) => segs[i] !== b)) {
            throw fail(`There is no FHIR endpoint at ${pathPart}; the FHIR base is ${basePath || '/'}`, 'not-found', 404);
        }
        if (!METHODS.includes(req.method)) {
            throw withHeaders(fail(`Method ${req.method} is not supported`, 'not-supported', 405),
                { Allow: METHODS.join(', ') });
        }
        ctx.params = [...new URLSearchParams(queryPart)];
        ctx.pretty = ctx.params.some(([k, v]) => k === '_pretty' && v === 'true');
        ctx.method = req.method === 'HEAD' ? 'GET' : req.method;
        ctx.prefer = parsePrefer(req.headers.prefer);
        ctx.base = requestBase(req, port(), basePath);
        if (['POST', 'PUT', 'PATCH'].includes(req.method)) ctx.body = await readBody(req, maxBodyBytes);
        checkFormat(ctx);
        await route(ctx, segs.slice(baseSegs.length));
    }

    return async function handle(req, res) {
        const started = new Date();
        const t0 = process.hrtime.bigint();
        const ctx = { req, res, params: [], prefer: {}, pretty: false };
        res.on('close', () => {
            onRequest?.({ req, res, started, healthz: Boolean(ctx.healthz), ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        });
        try {
            await dispatch(ctx);
        } catch (err) {
            try {
                sendError(ctx, err);
            } catch (err2) {
                console.error(`fhir-server: could not send an error response: ${err2?.message ?? err2}`);
                res.destroy();
            }
        }
    };
}
