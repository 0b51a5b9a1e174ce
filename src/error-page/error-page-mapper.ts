import { createHash } from 'node:crypto';
import { type CatalogEntry, findCatalogEntry } from '../platform/errors/catalog.js';
import { type ExplainedCode, explainCode, type Fixer } from '../platform/errors/catalog-guidance.js';
import type { CodeDescription } from './error-page-schemas.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `AADSTS50126` for a code Entra also uses, the bare number for Rekey's own. */
export function codeLabel(entry: CatalogEntry): string {
  return entry.isEntraCode ? `AADSTS${entry.code}` : String(entry.code);
}

/** Who can fix it, in words: "the user, or an administrator". */
export function fixersInWords(fixedBy: readonly Fixer[]): string {
  const words: Record<Fixer, string> = {
    user: 'the user',
    administrator: 'an administrator',
    time: 'time (it ends by itself)',
  };
  return fixedBy.map((f) => words[f]).join(', or ') || 'not stated yet';
}

/** The related codes that are in the catalog, as entries (a related code is always there: a test holds it). */
function relatedEntries(explained: ExplainedCode): CatalogEntry[] {
  return explained.related.flatMap((code) => findCatalogEntry(code) ?? []);
}

/** The JSON explanation of one code, as `/error` and `rekey errors` show it. */
export function describeCode(entry: CatalogEntry): CodeDescription {
  const explained = explainCode(entry);
  return {
    code: entry.code,
    aadsts: entry.isEntraCode ? `AADSTS${entry.code}` : null,
    entraCompatible: entry.isEntraCode,
    name: entry.name,
    message: entry.message,
    category: entry.category,
    httpStatus: entry.httpStatus,
    retryable: entry.retryable,
    cause: explained.cause,
    fixedBy: [...explained.fixedBy],
    remediation: [...explained.steps],
    notes: [...explained.notes],
    related: relatedEntries(explained).map((r) => ({
      code: r.code,
      aadsts: r.isEntraCode ? `AADSTS${r.code}` : null,
      name: r.name,
    })),
  };
}

/** Escaped text, with each `code span` of a step set as <code>. */
function richText(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/*
 * The page's only style. It is sent in a <style> element and allowed by its hash in the page's
 * Content-Security-Policy, so the page needs no other request and still runs under a policy that
 * allows no inline script and no other inline style.
 */
const pageStyle =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1f24;background:#fff}' +
  'h1{font-size:1.6rem;margin-bottom:.2rem}h1 .name{display:block;font-size:1rem;font-weight:600;color:#424a53}' +
  'code{background:#eef1f4;padding:.05rem .3rem;border-radius:4px;font-size:.92em}' +
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}' +
  'a{color:#0a58ca}a:focus{outline:2px solid #0a58ca;outline-offset:2px}.lead{font-size:1.1rem}';

/** The Content-Security-Policy of the page: nothing but its own style element. */
export const errorPageCsp = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(pageStyle).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The HTML page explaining one code. */
export function renderErrorPage(entry: CatalogEntry): string {
  const explained = explainCode(entry);
  const label = codeLabel(entry);
  const steps = explained.steps.map((s) => `<li>${richText(s)}</li>`).join('');
  const notes = explained.notes.map((n) => `<p>${richText(n)}</p>`).join('');
  const related = relatedEntries(explained)
    .map(
      (r) =>
        `<li><a href="/error?code=${r.code}">${codeLabel(r)}</a> ${escapeHtml(r.name)}: ${escapeHtml(r.message)}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${label} ${escapeHtml(entry.name)} · Rekey</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${pageStyle}</style></head>
<body><main>
<h1>${label} <span class="name">${escapeHtml(entry.name)}</span></h1>
<p class="lead">${escapeHtml(entry.message)}</p>
<dl>
<dt>Who can fix it</dt><dd>${escapeHtml(fixersInWords(explained.fixedBy))}</dd>
<dt>Retryable</dt><dd>${entry.retryable ? 'Yes: the same request may succeed later' : 'No: retrying will not help until something changes'}</dd>
<dt>HTTP status</dt><dd>${entry.httpStatus}</dd>
<dt>Category</dt><dd>${escapeHtml(entry.category)}</dd>
<dt>Code</dt><dd>${entry.isEntraCode ? 'Entra-compatible: the same number and meaning as Entra ID’s AADSTS code' : 'Rekey’s own (7700000 and up)'}</dd>
</dl>
${explained.cause === null ? '' : `<h2>Why it happens</h2>\n<p>${richText(explained.cause)}</p>\n`}${notes === '' ? '' : `<h2>How it works</h2>\n${notes}\n`}<h2>What to do</h2>
<ol>${steps}</ol>
${related === '' ? '' : `<h2>Related codes</h2>\n<ul>${related}</ul>\n`}</main></body></html>
`;
}
