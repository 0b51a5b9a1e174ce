import type { CatalogEntry } from '../platform/errors/catalog.js';
import type { CodeDescription } from './error-page-schemas.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The JSON explanation of one code, as `/error` and `rekey errors` show it. */
export function describeCode(entry: CatalogEntry): CodeDescription {
  return {
    code: entry.code,
    aadsts: entry.isEntraCode ? `AADSTS${entry.code}` : null,
    name: entry.name,
    message: entry.message,
    category: entry.category,
    httpStatus: entry.httpStatus,
    retryable: entry.retryable,
    remediation: [...entry.remediation],
  };
}

/** The HTML page explaining one code. */
export function renderErrorPage(entry: CatalogEntry): string {
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
