import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aadstsCodeOf } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { getCatalogEntry, listCatalogEntries } from '../platform/errors/catalog.js';
import { explainCode, findGuidance } from '../platform/errors/catalog-guidance.js';

/** Text as the page escapes it (a step may hold `<upn>`), with `code spans` set as <code>. */
const asRendered = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The only elements the page uses; anything else in it would be text that escaped escaping. */
const pageElements = new Set(
  'html head meta title style body main h1 h2 span p dl dt dd ol ul li a code'.split(' '),
);

// The page reads only the catalog, so one database is enough.
describe('GET /error', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite');
  });
  afterAll(async () => rekey?.close());

  const get = (query: string, accept?: string) =>
    rekey.app.inject({ method: 'GET', url: `/error${query}`, headers: accept ? { accept } : {} });

  it('renders HTML by default: the cause, who can fix it, the steps, related codes linked, and the facts', async () => {
    const response = await get('?code=120013');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const explained = explainCode(getCatalogEntry(120013));
    const body = response.body;
    expect(body).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(body).toContain(
      '<h1>AADSTS120013 <span class="name">PasswordChangeOnPremisesConnectivityFailure</span></h1>',
    );
    expect(body).toContain(`<h2>Why it happens</h2>\n<p>${asRendered(explained.cause ?? '')}</p>`);
    expect(body).toContain('<dt>Who can fix it</dt><dd>time (it ends by itself), or an administrator</dd>');
    expect(body).toContain('<dt>Retryable</dt><dd>Yes');
    expect(body).toContain('<dt>HTTP status</dt><dd>503</dd>');
    expect(body).toContain('<dt>Code</dt><dd>Entra-compatible');
    for (const step of explained.steps) expect(body).toContain(`<li>${asRendered(step)}</li>`);
    expect(body).toContain('<code>rekey connectors test &#60;connector&#62;</code>');
    expect(body).toContain('<li><a href="/error?code=80001">AADSTS80001</a> OnPremiseStoreIsNotAvailable: ');
    expect(body.match(/<a href=/g)).toHaveLength(explained.related.length);
  });

  it('sends the page with a Content-Security-Policy that allows its own style and nothing else', async () => {
    const response = await get('?code=50053');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const style = /<style>([^<]*)<\/style>/.exec(response.body)?.[1] ?? '';
    expect(style.length).toBeGreaterThan(0);
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(response.body).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });

  it('is one h1 and h2 sections, escaping every text it shows (no element but its own)', async () => {
    for (const entry of listCatalogEntries()) {
      const body = (await get(`?code=${entry.code}`)).body;
      expect(body.match(/<h1>/g)).toHaveLength(1);
      expect(body).toContain('<h2>What to do</h2>');
      const tags = [...body.matchAll(/<\/?([a-z0-9!]+)/g)].map((m) => m[1] ?? '');
      expect(tags.filter((t) => t !== '!doctype' && !pageElements.has(t))).toEqual([]);
    }
  });

  it("explains 120008 as an operation's terminal state and where its cause is found", async () => {
    const body = (await get('?code=120008')).body;
    const explained = explainCode(getCatalogEntry(120008));
    expect(body).toContain('<h2>How it works</h2>');
    for (const note of explained.notes) expect(body).toContain(`<p>${asRendered(note)}</p>`);
    expect(body).toMatch(/ends in one of two final states: succeeded, or terminated/);
    expect(body).toContain('innerError.causeCode');
    expect(body).toContain('<code>rekey operations show &#60;id&#62;</code>');
    expect(body).toContain('<code>rekey diagnose --correlation-id &#60;id&#62;</code>');
    for (const cause of [120004, 120013, 120014, 120016, 120020])
      expect(body).toContain(`<a href="/error?code=${cause}">AADSTS${cause}</a>`);
  });

  it('says a Rekey code is Rekey’s own', async () => {
    const body = (await get('?code=7700501')).body;
    expect(body).toContain('<h1>7700501 <span class="name">PasswordChangeAccountLocked</span></h1>');
    expect(body).toContain('<dt>Code</dt><dd>Rekey’s own');
    expect(body).toContain('<a href="/error?code=50053">AADSTS50053</a>');
  });

  it.each([
    ['application/json', 'application/json'],
    ['a JSON-only list', 'application/json, */*;q=0.1'],
  ])('answers JSON for Accept: %s', async (_name, accept) => {
    const response = await get('?code=120008', accept);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const entry = getCatalogEntry(120008);
    const guidance = findGuidance(120008);
    expect(response.json()).toEqual({
      code: 120008,
      aadsts: 'AADSTS120008',
      entraCompatible: true,
      name: 'PasswordChangeAsyncJobStateTerminated',
      message: entry.message,
      category: 'passwordChange',
      httpStatus: 400,
      retryable: false,
      cause: guidance?.cause,
      fixedBy: ['user', 'administrator'],
      remediation: guidance?.steps,
      notes: guidance?.notes,
      related: guidance?.related.map((code) => ({
        code,
        aadsts: code < 7_700_000 ? `AADSTS${code}` : null,
        name: getCatalogEntry(code as 120004).name,
      })),
    });
  });

  it('prefers HTML when a browser accepts both', async () => {
    const response = await get('?code=50126', 'text/html,application/json;q=0.9');
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('accepts the AADSTS prefix, and Rekey codes without one', async () => {
    const prefixed = await get('?code=AADSTS50126', 'application/json');
    expect(prefixed.json().code).toBe(50126);
    const own = await get('?code=7700004', 'application/json');
    expect(own.json()).toMatchObject({
      code: 7700004,
      aadsts: null,
      entraCompatible: false,
      name: 'PayloadTooLarge',
      remediation: getCatalogEntry(7700004).remediation,
    });
  });

  it('explains every code in the catalog, and every related code it links resolves', async () => {
    for (const entry of listCatalogEntries()) {
      const response = await get(`?code=${entry.code}`, 'application/json');
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.name).toBe(entry.name);
      expect(body.cause).toEqual(expect.any(String));
      expect(body.fixedBy.length).toBeGreaterThan(0);
      expect(body.remediation.length).toBeGreaterThan(0);
      for (const related of body.related as Array<{ code: number; name: string }>) {
        const linked = await get(`?code=${related.code}`, 'application/json');
        expect(linked.json().name).toBe(related.name);
      }
    }
  });

  it('answers an unknown code with 404 7700008 in Graph’s envelope', async () => {
    for (const accept of [undefined, 'application/json']) {
      const response = await get('?code=AADSTS99999', accept);
      expect(response.statusCode).toBe(404);
      const body = response.json();
      expect(body.error.code).toBe('Request_ResourceNotFound');
      expect(body.error.innerError.aadstsCode).toBe(7700008);
      expect(body.error.message).toContain('AADSTS99999');
    }
  });

  it.each([
    ['no code', ''],
    ['letters', '?code=abc'],
    ['markup', '?code=%3Cscript%3E'],
    ['too many digits', '?code=1234567890'],
  ])('answers %s with 400 7700001', async (_name, query) => {
    const response = await get(query);
    expect(response.statusCode).toBe(400);
    expect(aadstsCodeOf(response)).toBe(7700001);
    expect(response.body).not.toContain('<script>');
  });
});
