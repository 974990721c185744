// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Starts a private lab for a test file: its own directory under build/,
// five free consecutive loopback ports, stopped again by stop().

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { loadLab } from '../lib/lab.mjs';

const run = promisify(execFile);
const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function portFree(port) {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.once('error', () => resolve(false));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
}

async function freeBase() {
    for (let tries = 0; tries < 200; tries++) {
        const base = 20000 + Math.floor(Math.random() * 40000);
        let ok = true;
        for (let p = base; p < base + 5 && ok; p++) ok = await portFree(p);
        if (ok) return base;
    }
    throw new Error('no five free consecutive ports');
}

export async function startLab(name) {
    const dir = join(top, 'build', `lab-${name}`);
    const base = await freeBase();
    const env = { ...process.env, SMART_LAB_DIR: dir, SMART_LAB_PORT_BASE: String(base) };
    const lab = { dir, env, base };
    lab.cmd = async (what) => {
        try {
            return await run(join(top, 'sandbox', 'lab'), [what], { env, timeout: 120000 });
        } catch (e) {
            throw new Error(`sandbox/lab ${what} failed: ${e.stderr || e.message}`);
        }
    };
    // a run that was interrupted left its daemons (Redis, NGINX) behind:
    // stop them through their pidfiles before the directory goes
    await lab.cmd('down').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    lab.stop = () => lab.cmd('down');
    try {
        await lab.cmd('up');
    } catch (e) {
        await lab.stop().catch(() => {});
        throw e;
    }
    lab.lab = loadLab(join(dir, 'lab.env'));
    return lab;
}
