import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { type CatalogEntry, findCatalogEntry } from '../platform/errors/catalog.js';
import { describeCode } from '../platform/errors/describe-code.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderHtml(entry: CatalogEntry): string {
  const steps = entry.remediation.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  const label = entry.isEntraCode ? `AADSTS${entry.code}` : String(entry.code);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${label} ${escapeHtml(entry.name)} · Rekey</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1f24}
code{background:#f2f4f7;padding:.1rem .3rem;border-radius:4px}.meta{color:#57606a}</style></head>
<body><h1>${label}</h1><p><strong>${escapeHtml(entry.name)}</strong></p><p>${escapeHtml(entry.message)}</p>
<p class="meta">Category: ${entry.category} · HTTP ${entry.httpStatus} · ${entry.retryable ? 'retrying may help' : 'retrying will not help without a change'}</p>
<h2>What to do</h2><ol>${steps}</ol></body></html>`;
}

/** `GET /error?code=N`: explains any catalog code, in HTML or (with Accept: application/json) JSON. */
export function errorPageRoutes(): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/error',
      { schema: { querystring: Type.Object({ code: Type.String({ pattern: '^(AADSTS)?[0-9]{1,9}$' }) }) } },
      async (request, reply) => {
        const entry = findCatalogEntry(Number(request.query.code.replace(/^AADSTS/, '')));
        if (!entry)
          throw new RekeyError(7700008, { message: `Rekey does not define the code ${request.query.code}.` });
        const accept = request.headers.accept ?? '';
        if (accept.includes('application/json') && !accept.includes('text/html')) return describeCode(entry);
        return reply.type('text/html; charset=utf-8').send(renderHtml(entry));
      },
    );
  };
}
