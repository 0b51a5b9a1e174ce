import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRekey, type TestRekey } from '../../../test/support/rekey-harness.js';
import type { RekeyApp } from './app.js';
import { graphErrorResponses, oauthErrorResponses } from './response-schemas.js';
import { type RegisteredRoute, undeclaredResponses } from './route-contracts.js';

// The routes and their schemas do not depend on the database, so one is enough.

const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

interface OpenApiOperation {
  readonly responses: Readonly<
    Record<string, { readonly description: string; readonly content?: Record<string, { schema: object }> }>
  >;
}
interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
}

/**
 * The routes a client calls: Fastify adds a HEAD for every GET, which the document leaves out, and
 * the web app's pages and assets (src/web) are HTML and files, hidden from the API's document.
 */
function callableRoutes(app: RekeyApp): RegisteredRoute[] {
  return app.registeredRoutes.filter(
    (route) => route.method !== 'HEAD' && (route.schema as { hide?: boolean } | undefined)?.hide !== true,
  );
}

/** `/v1.0/users/:id` as OpenAPI writes it: `/v1.0/users/{id}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('response schemas and /openapi.json', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite');
  });
  afterAll(async () => rekey?.close());

  it('has every route declare a 2xx schema and its error envelope for 4xx and 5xx', () => {
    const routes = callableRoutes(rekey.app);
    // Graph, the token endpoint and discovery, Rekey's own API, health, /error and /openapi.json.
    for (const url of [
      '/v1.0/users',
      '/:tenant/oauth2/v2.0/token',
      '/:tenant/v2.0/.well-known/openid-configuration',
      '/rekey/v1/settings/passwordPolicy',
      '/healthz',
      '/error',
      '/openapi.json',
    ]) {
      expect(routes.map((route) => route.url)).toContain(url);
    }
    expect(routes.length).toBeGreaterThanOrEqual(40);
    const undeclared = routes
      .map((route) => ({ route: `${route.method} ${route.url}`, problems: undeclaredResponses(route) }))
      .filter((entry) => entry.problems.length > 0);
    expect(undeclared).toEqual([]);
    const token = routes.find((route) => route.url === '/:tenant/oauth2/v2.0/token');
    expect(token?.errorFormat).toBe('oauth');
  });

  it('serves OpenAPI 3.x with the title and version of package.json', async () => {
    const response = await rekey.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const document = JSON.parse(response.body) as OpenApiDocument;
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(document.info).toMatchObject({ title: packageJson.name, version: packageJson.version });
    expect(typeof document.paths).toBe('object');
  });

  it('lists every route, and nothing else, with each response it declares', async () => {
    const document = (
      await rekey.app.inject({ method: 'GET', url: '/openapi.json' })
    ).json<OpenApiDocument>();
    const routes = callableRoutes(rekey.app);
    const listed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(routes.map((route) => `${route.method} ${openApiPath(route.url)}`).sort());
    for (const route of routes) {
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      const declared = Object.keys((route.schema?.response ?? {}) as object);
      const where = `${route.method} ${route.url}`;
      expect(Object.keys(operation?.responses ?? {}).sort(), where).toEqual(
        declared.map((status) => status.toUpperCase()).sort(),
      );
      for (const [status, answer] of Object.entries(operation?.responses ?? {})) {
        expect(typeof answer.description, `${where} ${status}`).toBe('string');
        // No content: 204, and the redirects of the browser sign-in (their Location is the answer).
        if (status === '204' || status === '302' || status === '303') {
          expect(answer.content, `${where} ${status}`).toBeUndefined();
          continue;
        }
        // JSON, an archive (the support bundle) described as binary, or the sign-in pages' HTML
        // and the script of their form_post answer.
        const json =
          answer.content?.['application/json']?.schema ??
          answer.content?.['application/zip']?.schema ??
          answer.content?.['text/html']?.schema ??
          answer.content?.['text/javascript']?.schema;
        expect(json, `${where} ${status}`).toBeTypeOf('object');
      }
      for (const range of ['4XX', '5XX']) {
        const error = operation?.responses[range]?.content?.['application/json']?.schema as
          | { properties?: Record<string, unknown> }
          | undefined;
        const envelope = route.errorFormat === 'oauth' ? 'error_codes' : 'error';
        expect(Object.keys(error?.properties ?? {}), `${where} ${range}`).toContain(envelope);
      }
    }
  });

  it('documents the schemas themselves: the user entity names its properties', async () => {
    const document = (
      await rekey.app.inject({ method: 'GET', url: '/openapi.json' })
    ).json<OpenApiDocument>();
    const user = document.paths['/v1.0/users/{id}']?.['get']?.responses['200']?.content?.['application/json']
      ?.schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
    expect(Object.keys(user?.properties ?? {})).toEqual(
      expect.arrayContaining([
        '@odata.context',
        'id',
        'userPrincipalName',
        'accountEnabled',
        'passwordProfile',
      ]),
    );
    expect(user?.required).toEqual(['@odata.context', 'id']);
  });
});

describe('the route walk', () => {
  let rekey: TestRekey;
  /** Test-only routes that leave out what the walk looks for. */
  const undeclaredRoutes = (): FastifyPluginAsync => async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get('/test/no-schema', async () => ({ ok: true }));
    app.get(
      '/test/no-errors',
      { schema: { response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
      async () => ({
        ok: true,
      }),
    );
    app.get(
      '/test/wrong-envelope',
      { schema: { response: { 200: Type.Object({}), ...oauthErrorResponses } } },
      () => ({}),
    );
    app.get('/test/no-success', { schema: { response: { ...graphErrorResponses } } }, async () => undefined);
  };
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite', { plugins: [undeclaredRoutes] });
  });
  afterAll(async () => rekey?.close());

  it('names each route that does not declare its responses', () => {
    const problems = Object.fromEntries(
      rekey.app.registeredRoutes
        .filter((route) => route.method === 'GET' && route.url.startsWith('/test/'))
        .map((route) => [route.url, undeclaredResponses(route)]),
    );
    expect(problems).toEqual({
      '/test/no-schema': ['no response schema'],
      '/test/no-errors': ['4xx is not the graph error envelope', '5xx is not the graph error envelope'],
      '/test/wrong-envelope': ['4xx is not the graph error envelope', '5xx is not the graph error envelope'],
      '/test/no-success': ['no schema for a 2xx status'],
    });
  });
});
