// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Prints an access token from the lab's issuer for one persona, for your
// own requests:
//   TOKEN=$(node sandbox/token.mjs patient-app)
//   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/fhir/Patient/syn-0001
// Options: --client-credentials (instead of the persona's sign-in),
//          --json (the whole token response), --env FILE (default build/lab/lab.env)

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadLab, personas } from './lib/lab.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let args;
try {
    args = parseArgs({
        allowPositionals: true,
        options: {
            'client-credentials': { type: 'boolean', default: false },
            json: { type: 'boolean', default: false },
            env: { type: 'string', default: join(here, '..', 'build', 'lab', 'lab.env') },
        },
    });
} catch (e) {
    process.stderr.write(`token: ${e.message}\n`);
    process.exit(2);
}
const ids = personas.personas.map((p) => p.id);
if (args.positionals.length !== 1 || !ids.includes(args.positionals[0])) {
    process.stderr.write(`usage: node sandbox/token.mjs [--client-credentials] [--json] PERSONA\n`
        + `personas: ${ids.join(', ')}\n`);
    process.exit(2);
}
try {
    const lab = loadLab(args.values.env);
    const t = await lab.token(args.positionals[0],
        args.values['client-credentials'] ? { grant: 'client_credentials' } : {});
    process.stdout.write(args.values.json ? `${JSON.stringify(t, null, 2)}\n` : `${t.access_token}\n`);
} catch (e) {
    process.stderr.write(`token: ${e.message}\n`);
    process.exit(1);
}
