// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// oidc-provider storage for the lab: in memory on purpose (tokens, sessions
// and grants vanish with the process), with expiry and a bound, so the lab
// can run for days.  A deployment uses its real authorization server.

const MAX_ENTRIES = 100000;
const store = new Map();       // key -> { payload, expires }
const byUid = new Map();       // uid -> key
const byUserCode = new Map();  // userCode -> key
const grants = new Map();      // grantId -> Set of keys

function expired(entry) {
    return entry.expires !== undefined && entry.expires <= Date.now();
}

// removes an entry and its index entries, so that no map outgrows the store
function forget(key) {
    const entry = store.get(key);
    if (!entry) return;
    store.delete(key);
    const { uid, userCode, grantId } = entry.payload;
    if (uid && byUid.get(uid) === key) byUid.delete(uid);
    if (userCode && byUserCode.get(userCode) === key) byUserCode.delete(userCode);
    if (grantId && grants.has(grantId)) {
        const keys = grants.get(grantId);
        keys.delete(key);
        if (keys.size === 0) grants.delete(grantId);
    }
}

function evict() {
    for (const [key, entry] of store) {
        if (store.size < MAX_ENTRIES && !expired(entry)) break;
        forget(key);
    }
}

export class MemoryAdapter {
    constructor(model) { this.model = model; }

    key(id) { return `${this.model}:${id}`; }

    async upsert(id, payload, expiresIn) {
        const key = this.key(id);
        forget(key);
        evict();
        store.set(key, {
            payload: structuredClone(payload),
            expires: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
        });
        if (payload.uid) byUid.set(payload.uid, key);
        if (payload.userCode) byUserCode.set(payload.userCode, key);
        if (payload.grantId) {
            if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
            grants.get(payload.grantId).add(key);
        }
    }

    async find(id) { return this.get(this.key(id)); }

    async findByUid(uid) { return this.get(byUid.get(uid)); }

    async findByUserCode(code) { return this.get(byUserCode.get(code)); }

    get(key) {
        const entry = key && store.get(key);
        if (!entry) return undefined;
        if (expired(entry)) {
            forget(key);
            return undefined;
        }
        return structuredClone(entry.payload);
    }

    async consume(id) {
        const entry = store.get(this.key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) { forget(this.key(id)); }

    async revokeByGrantId(grantId) {
        for (const key of [...(grants.get(grantId) || [])]) forget(key);
        grants.delete(grantId);
    }
}
