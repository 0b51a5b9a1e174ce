import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';

/*
 * Checks every JSON reply of a route that declares response schemas, in every test that runs
 * Rekey through the harness:
 *   - the status has a schema (exact, `2xx`-style range or `default`);
 *   - what was sent is exactly what the handler returned: the schema-compiled serializer dropped,
 *     coerced or reordered nothing;
 *   - every property sent is named in the schema, except inside free-form objects (a schema with
 *     no named properties), so the schema is a complete contract for the OpenAPI document and the
 *     portal's types.
 * A violation does not change the reply; it is kept and fails the test that made the request
 * (see response-contract-setup.ts).
 */

/** Violations found since the last test ended. */
const violations: string[] = [];

/** Returns the violations found since the last call, and forgets them. */
export function takeContractViolations(): string[] {
  return violations.splice(0, violations.length);
}

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly const?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly content?: Readonly<Record<string, { readonly schema: JsonSchema }>>;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether `value` has one of the JSON types `schema` allows (no type: anything). */
function hasType(value: unknown, schema: JsonSchema): boolean {
  if (schema.const !== undefined) return value === schema.const;
  if (schema.type === undefined) return true;
  const allowed = typeof schema.type === 'string' ? [schema.type] : schema.type;
  const actual = jsonType(value);
  return allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
}

/** The places in `value` that `schema` does not describe. */
function undescribed(value: unknown, schema: JsonSchema, at: string): string[] {
  if (schema.anyOf) {
    let closest: string[] | undefined;
    for (const option of schema.anyOf) {
      if (!hasType(value, option)) continue;
      const problems = undescribed(value, option, at);
      if (problems.length === 0) return [];
      closest ??= problems;
    }
    return closest ?? [`${at || '/'} (${jsonType(value)}) matches no branch of its anyOf`];
  }
  if (!hasType(value, schema))
    return [`${at || '/'} is ${jsonType(value)}, the schema says ${String(schema.type)}`];
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.flatMap((item, index) => undescribed(item, items, `${at}/${index}`)) : [];
  }
  if (value === null || typeof value !== 'object') return [];
  const properties = schema.properties ?? {};
  const freeForm = Object.keys(properties).length === 0;
  const problems: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const named = properties[key];
    const additional = schema.additionalProperties;
    if (named) problems.push(...undescribed(inner, named, `${at}/${key}`));
    else if (typeof additional === 'object') problems.push(...undescribed(inner, additional, `${at}/${key}`));
    else if (!freeForm) problems.push(`${at}/${key} is not named in the schema`);
  }
  return problems;
}

/** The schema Fastify serializes this reply with: by status (exact, then `Nxx`, then default), then content type. */
function schemaOfReply(
  responses: Readonly<Record<string, JsonSchema>>,
  status: number,
  contentType: string,
): JsonSchema | undefined {
  const entry = responses[String(status)] ?? responses[`${String(status)[0]}xx`] ?? responses['default'];
  if (entry?.content === undefined) return entry;
  const mediaType = contentType.split(';')[0]?.trim() ?? '';
  return entry.content[mediaType]?.schema;
}

function describe(request: FastifyRequest, reply: FastifyReply): string {
  return `${request.method} ${request.routeOptions.url ?? request.url} -> ${reply.statusCode}`;
}

/** What each reply's handler returned, as JSON, until the reply is sent. */
const returned = new WeakMap<FastifyReply, string>();

/** The harness plugin that checks every reply against its route's response schemas. */
export function checkResponseContracts(): FastifyPluginAsync {
  return fastifyPlugin(async (app) => {
    app.addHook('preSerialization', async (_request, reply, payload) => {
      returned.set(reply, JSON.stringify(payload));
      return payload;
    });
    app.addHook('onSend', async (request, reply, payload) => {
      const responses = request.routeOptions.schema?.response as Record<string, JsonSchema> | undefined;
      if (responses === undefined) return payload;
      const contentType = String(reply.getHeader('content-type') ?? '');
      const schema = schemaOfReply(responses, reply.statusCode, contentType);
      if (schema === undefined) {
        violations.push(`${describe(request, reply)}: no response schema for this status (${contentType})`);
        return payload;
      }
      const expected = returned.get(reply);
      if (expected === undefined || typeof payload !== 'string') return payload;
      const sent = JSON.stringify(JSON.parse(payload));
      if (sent !== expected) {
        violations.push(
          `${describe(request, reply)}: the serializer changed the reply\n  returned ${expected}\n  sent     ${sent}`,
        );
      }
      for (const problem of undescribed(JSON.parse(expected), schema, '')) {
        violations.push(`${describe(request, reply)}: ${problem}`);
      }
      return payload;
    });
  });
}
