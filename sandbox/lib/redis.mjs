// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Just enough of a Redis client (RESP2 over one socket) for the tour and
// the end-to-end tests to read the audit stream back.

import net from 'node:net';

function parse(buf, pos) {
    const nl = buf.indexOf('\r\n', pos);
    if (nl < 0) return null;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString('utf8', pos + 1, nl);
    let at = nl + 2;

    switch (type) {
    case '+': return { value: line, at };
    case '-': return { value: new Error(line), at };
    case ':': return { value: Number(line), at };
    case '$': {
        const n = Number(line);
        if (n < 0) return { value: null, at };
        if (buf.length < at + n + 2) return null;
        return { value: buf.toString('utf8', at, at + n), at: at + n + 2 };
    }
    case '*': {
        const n = Number(line);
        if (n < 0) return { value: null, at };
        const items = [];
        for (let i = 0; i < n; i++) {
            const r = parse(buf, at);
            if (r === null) return null;
            items.push(r.value);
            at = r.at;
        }
        return { value: items, at };
    }
    default:
        throw new Error(`redis: unexpected reply type ${type}`);
    }
}

export function redisCommand(port, args, { host = '127.0.0.1', timeoutMs = 3000 } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, host);
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error('redis: timeout'));
        }, timeoutMs);

        sock.on('connect', () => {
            let out = `*${args.length}\r\n`;
            for (const a of args) {
                const s = String(a);
                out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
            }
            sock.write(out);
        });
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            const r = parse(buf, 0);
            if (r !== null) {
                clearTimeout(timer);
                sock.end();
                if (r.value instanceof Error) reject(r.value);
                else resolve(r.value);
            }
        });
        sock.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
    });
}

// XRANGE entries as objects: { id, fields: { name: value } }
export async function auditRecords(port, stream = 'smart:audit') {
    const entries = await redisCommand(port, ['XRANGE', stream, '-', '+']);
    return entries.map(([id, kv]) => {
        const fields = {};
        for (let i = 0; i + 1 < kv.length; i += 2) fields[kv[i]] = kv[i + 1];
        return { id, fields };
    });
}
