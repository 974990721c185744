// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Loading a seed Bundle (transaction, batch or collection) into the
// repository: every entry is stored under its own id with update (PUT)
// semantics and validated like any write.  The first bad entry stops the
// load with a SeedError naming the entry and the reason.

import { readFileSync } from 'node:fs';

export class SeedError extends Error {}

export function outcomeText(err) {
    const issues = err?.outcome?.issue;
    if (Array.isArray(issues) && issues.length) {
        return issues.map((i) => {
            const where = i.expression?.length ? ` (${i.expression.join(', ')})` : '';
            return `${i.details?.text ?? i.diagnostics ?? i.code}${where}`;
        }).join('; ');
    }
    return err?.message ?? String(err);
}

/** Load file into repo; returns the number of resources stored. */
export async function loadSeed(repo, file) {
    let text;
    try {
        text = readFileSync(file, 'utf8');
    } catch (err) {
        throw new SeedError(`cannot read seed file ${file}: ${err.message}`);
    }
    let bundle;
    try {
        bundle = JSON.parse(text);
    } catch (err) {
        throw new SeedError(`seed file ${file} is not valid JSON: ${err.message}`);
    }
    if (bundle?.resourceType !== 'Bundle') {
        throw new SeedError(`seed file ${file} is not a FHIR Bundle (resourceType ${JSON.stringify(bundle?.resourceType)})`);
    }
    const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
    let n = 0;
    for (const [i, entry] of entries.entries()) {
        const r = entry?.resource;
        const label = r?.resourceType && r?.id
            ? `entry ${i} (${r.resourceType}/${r.id})`
            : `entry ${i}${entry?.fullUrl ? ` (${entry.fullUrl})` : ''}`;
        const bad = (why) => new SeedError(`seed ${file}: ${label}: ${why}`);
        if (!r || typeof r !== 'object') throw bad('no resource');
        const method = entry.request?.method;
        if (method !== undefined && method !== 'PUT' && method !== 'POST') {
            throw bad(`request.method ${method}: only PUT or POST entries can seed`);
        }
        if (!r.id) throw bad('the resource has no id (seed resources keep their ids)');
        if (method === 'PUT' && entry.request.url) {
            const url = String(entry.request.url).split('?')[0].replace(/^\/+/, '');
            if (url !== `${r.resourceType}/${r.id}`) {
                throw bad(`request.url ${entry.request.url} does not match the resource (${r.resourceType}/${r.id})`);
            }
        }
        try {
            await repo.updateResource(r);
        } catch (err) {
            throw bad(outcomeText(err));
        }
        n++;
    }
    return n;
}
