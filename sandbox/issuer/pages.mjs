// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// The issuer's two HTML pages (sign-in and consent).  Plain forms, so a
// person with a browser and a scripted client (sandbox/lib/smart-client.mjs)
// drive them the same way.

export function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({
        '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    })[c]);
}

function page(title, body) {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}
code{background:#eee;padding:0 .2em}</style></head>
<body><p><strong>ngx_smart_module sandbox issuer</strong> (synthetic data, loopback only)</p>
${body}</body></html>
`;
}

export function loginPage(uid, client, accounts, error) {
    const options = Object.entries(accounts).map(([id, a]) =>
        `<option value="${escapeHtml(id)}">${escapeHtml(a.name)} (${escapeHtml(id)})</option>`)
        .join('');
    return page('Sign in', `<h1>Sign in to ${escapeHtml(client?.clientName || client?.clientId || '')}</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Account <select name="login">${options}</select></label>
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="deny">Cancel</button>
</form>`);
}

export function consentPage(uid, client, params, details) {
    const scopes = [
        ...(details.missingOIDCScope || []),
        ...Object.values(details.missingResourceScopes || {}).flat(),
    ];
    const items = scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
    return page('Authorize', `<h1>${escapeHtml(client?.clientName || params.client_id)}</h1>
<p>asks for:</p><ul>${items}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`);
}
