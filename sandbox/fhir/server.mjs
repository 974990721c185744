#!/usr/bin/env node
// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// The lab's upstream FHIR R4 server: @medplum/fhir-router's FhirRouter over
// an in-memory repository, seeded from a Bundle, on 127.0.0.1 only.
//
//   node sandbox/fhir/server.mjs --port N [--seed BUNDLE.json]
//        [--request-log FILE] [--base-path /fhir] [--max-body-bytes N]
//
// See README.md next to this file.

import { createWriteStream, openSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import { FhirRouter } from '@medplum/fhir-router';

import { loadDefinitions } from './definitions.mjs';
import { createHandler } from './handler.mjs';
import { SandboxRepository } from './repository.mjs';
import { loadSeed, SeedError } from './seed.mjs';

const USAGE = `usage: node sandbox/fhir/server.mjs --port N [--seed BUNDLE.json]
       [--request-log FILE] [--base-path /fhir] [--max-body-bytes N] [--quiet]

  --port N            TCP port on 127.0.0.1 (0: any free port; the port is printed)
  --seed FILE         a transaction, batch or collection Bundle to load at start;
                      every entry is stored under its own id (update semantics)
  --request-log FILE  append one NDJSON line per FHIR request:
                      {"t","method","url","status","cid"?,"ms"}
  --base-path PATH    where the FHIR base is (default /fhir; "/" for the root)
  --max-body-bytes N  request body limit (default 10485760); larger bodies get 413
  --quiet             no per-request line on stdout`;

function usage(message) {
    if (message) process.stderr.write(`fhir-server: ${message}\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
}

function parseOptions(argv) {
    let values;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                port: { type: 'string' },
                seed: { type: 'string' },
                'request-log': { type: 'string' },
                'base-path': { type: 'string', default: '/fhir' },
                'max-body-bytes': { type: 'string', default: String(10 * 1024 * 1024) },
                quiet: { type: 'boolean', default: false },
                help: { type: 'boolean', short: 'h', default: false },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (err) {
        usage(err.message);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    if (values.port === undefined) usage('--port is required');
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) usage(`bad --port ${values.port}`);
    const maxBody = values['max-body-bytes'];
    if (!/^\d{1,12}$/.test(maxBody) || Number(maxBody) < 1) usage(`bad --max-body-bytes ${maxBody}`);
    let basePath = values['base-path'];
    if (!/^\/?([A-Za-z0-9._~-]+\/?)*$/.test(basePath)) usage(`bad --base-path ${basePath}`);
    basePath = `/${basePath.split('/').filter(Boolean).join('/')}`;
    if (basePath === '/') basePath = '';
    return {
        port: Number(values.port),
        seed: values.seed,
        requestLog: values['request-log'],
        basePath,
        maxBodyBytes: Number(maxBody),
        quiet: values.quiet,
    };
}

async function main() {
    const opts = parseOptions(process.argv.slice(2));
    const t0 = Date.now();

    loadDefinitions();
    const repo = new SandboxRepository();
    const router = new FhirRouter();

    if (opts.seed) {
        try {
            const n = await loadSeed(repo, opts.seed);
            process.stdout.write(`fhir-server: seeded ${n} resources from ${opts.seed}\n`);
        } catch (err) {
            process.stderr.write(`fhir-server: ${err instanceof SeedError ? err.message : `seed failed: ${err?.message ?? err}`}\n`);
            process.exit(1);
        }
    }

    let logStream;
    if (opts.requestLog) {
        let fd;
        try {
            fd = openSync(opts.requestLog, 'a');
        } catch (err) {
            process.stderr.write(`fhir-server: cannot open the request log: ${err.message}\n`);
            process.exit(1);
        }
        // the stream owns fd from here (autoClose): it closes it on error
        logStream = createWriteStream(opts.requestLog, { fd, flags: 'a' });
        logStream.on('error', (err) => {
            process.stderr.write(`fhir-server: request log: ${err.message}\n`);
            logStream = undefined;
        });
    }

    let server;
    const onRequest = ({ req, res, started, ms, healthz }) => {
        const line = {
            t: started.toISOString(),
            method: req.method,
            url: req.url,
            status: res.statusCode,
        };
        const cid = req.headers['x-correlation-id'];
        if (typeof cid === 'string' && cid) line.cid = cid;
        if (!res.writableFinished) line.aborted = true;
        line.ms = Math.round(ms * 10) / 10;
        // /healthz is the lab's readiness probe, not a FHIR request: it
        // stays out of the request log the tests read
        if (logStream && !healthz) logStream.write(`${JSON.stringify(line)}\n`);
        if (!opts.quiet) {
            process.stdout.write(`${line.t} ${line.method} ${line.url} ${line.status} ${line.ms}ms`
                + `${line.cid ? ` cid=${line.cid}` : ''}${line.aborted ? ' aborted' : ''}\n`);
        }
    };

    const handler = createHandler({
        repo,
        router,
        basePath: opts.basePath,
        port: () => server.address()?.port ?? opts.port,
        maxBodyBytes: opts.maxBodyBytes,
        startedAt: new Date().toISOString(),
        onRequest,
    });

    server = http.createServer(handler);
    // longer than NGINX's upstream keepalive_timeout (60 s), so NGINX
    // closes idle upstream connections first and never reuses one this
    // side is closing
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 60_000;

    server.on('error', (err) => {
        process.stderr.write(`fhir-server: cannot listen on 127.0.0.1:${opts.port}: ${err.message}\n`);
        process.exit(1);
    });
    server.on('clientError', (err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else socket.destroy();
    });

    server.listen(opts.port, '127.0.0.1', () => {
        const { port } = server.address();
        process.stdout.write(`fhir-server: listening on http://127.0.0.1:${port}${opts.basePath} `
            + `(${repo.count()} resources, ready in ${Date.now() - t0} ms)\n`);
    });

    let stopping = false;
    const shutdown = (signal) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`fhir-server: ${signal}, shutting down\n`);
        const force = setTimeout(() => process.exit(0), 5000);
        force.unref();
        server.close(() => {
            if (logStream) logStream.end(() => process.exit(0));
            else process.exit(0);
        });
        server.closeIdleConnections();
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
    process.stderr.write(`fhir-server: ${err?.stack ?? err}\n`);
    process.exit(1);
});
