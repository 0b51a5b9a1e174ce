import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RekeyApp } from '../../src/platform/http/app.js';
import { graphErrorResponses, responseObject } from '../../src/platform/http/response-schemas.js';
import { startTestRekey, type TestRekey } from './rekey-harness.js';
import { takeContractViolations } from './response-contract.js';

/*
 * The harness's response check (response-contract.ts) against routes that get their schemas
 * wrong in each way it looks for. Every test takes the violations it caused, so the check's own
 * afterEach finds none left.
 */

const routes = (): FastifyPluginAsync => async (plugin) => {
  const app = plugin as unknown as RekeyApp;
  const errors = graphErrorResponses;
  // A closed schema: the serializer silently drops `extra`.
  app.get(
    '/test/drops',
    {
      schema: {
        response: { 200: Type.Object({ id: Type.String() }, { additionalProperties: false }), ...errors },
      },
    },
    async () => ({ id: 'a', extra: 1 }) as { id: string },
  );
  // A number declared as a string: the serializer turns it into one.
  app.get(
    '/test/coerces',
    { schema: { response: { 200: responseObject({ count: Type.String() }), ...errors } } },
    async () => ({ count: 7 }) as unknown as { count: string },
  );
  // An optional property before a required one: the serializer moves it after.
  app.get(
    '/test/reorders',
    {
      schema: {
        response: {
          200: responseObject({ note: Type.Optional(Type.String()), id: Type.String() }),
          ...errors,
        },
      },
    },
    async () => ({ note: 'first', id: 'a' }),
  );
  // An open schema that does not name everything it sends.
  app.get(
    '/test/unnamed',
    { schema: { response: { 200: responseObject({ id: Type.String() }), ...errors } } },
    async () => ({ id: 'a', undocumented: true }),
  );
  // A status the route does not declare.
  app.get(
    '/test/undeclared-status',
    { schema: { response: { 200: responseObject({ id: Type.String() }), ...errors } } },
    async (_request, reply) => reply.status(201).send({ id: 'a' }),
  );
  // Everything declared and sent as declared.
  app.get(
    '/test/good',
    {
      schema: {
        response: { 200: responseObject({ id: Type.String(), tags: Type.Array(Type.String()) }), ...errors },
      },
    },
    async () => ({ id: 'a', tags: ['x'] }),
  );
};

describe('the harness response check', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite', { plugins: [routes] });
  });
  afterAll(async () => rekey?.close());

  const get = async (url: string) => {
    const response = await rekey.app.inject({ method: 'GET', url });
    return { response, violations: takeContractViolations() };
  };

  it('reports a property the serializer dropped', async () => {
    const { response, violations } = await get('/test/drops');
    expect(response.json()).toEqual({ id: 'a' });
    expect(violations).toEqual([
      expect.stringContaining('GET /test/drops -> 200: the serializer changed the reply'),
      'GET /test/drops -> 200: /extra is not named in the schema',
    ]);
  });

  it('reports a value the serializer coerced', async () => {
    const { violations } = await get('/test/coerces');
    expect(violations.join('\n')).toContain('the serializer changed the reply');
    expect(violations.join('\n')).toContain('/count is integer, the schema says string');
  });

  it('reports properties the serializer reordered', async () => {
    const { response, violations } = await get('/test/reorders');
    expect(Object.keys(response.json())).toEqual(['id', 'note']);
    expect(violations).toEqual([expect.stringContaining('the serializer changed the reply')]);
  });

  it('reports a property the schema does not name', async () => {
    const { response, violations } = await get('/test/unnamed');
    expect(response.json()).toEqual({ id: 'a', undocumented: true });
    expect(violations).toEqual(['GET /test/unnamed -> 200: /undocumented is not named in the schema']);
  });

  it('reports a status without a schema', async () => {
    const { violations } = await get('/test/undeclared-status');
    expect(violations).toEqual([
      expect.stringContaining('GET /test/undeclared-status -> 201: no response schema'),
    ]);
  });

  it('reports nothing for a reply that matches its schema, or an error in the declared envelope', async () => {
    expect((await get('/test/good')).violations).toEqual([]);
    const missing = await rekey.app.inject({ method: 'GET', url: '/v1.0/users/nobody@example.com' });
    expect(missing.statusCode).toBe(401);
    expect(takeContractViolations()).toEqual([]);
  });
});
