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

function evict() {
    for (const [key, entry] of store) {
        if (store.size < MAX_ENTRIES && !expired(entry)) break;
        store.delete(key);
    }
}

export class MemoryAdapter {
    constructor(model) { this.model = model; }

    key(id) { return `${this.model}:${id}`; }

    async upsert(id, payload, expiresIn) {
        const key = this.key(id);
        store.delete(key);
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
            store.delete(key);
            return undefined;
        }
        return structuredClone(entry.payload);
    }

    async consume(id) {
        const entry = store.get(this.key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) { store.delete(this.key(id)); }

    async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) || []) store.delete(key);
        grants.delete(grantId);
    }
}
