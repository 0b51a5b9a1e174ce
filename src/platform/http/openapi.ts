import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifySwagger from '@fastify/swagger';
import { type Static, Type } from 'typebox';
import type { RekeyApp } from './app.js';
import { graphErrorResponses, openObject, responseArray, responseObject } from './response-schemas.js';

/*
 * `GET /openapi.json`: the OpenAPI 3.1 document @fastify/swagger builds from the routes' own
 * schemas (params, querystring, headers, body and every response). Nothing in it is written by
 * hand but the title, version and description, which come from package.json.
 */

/** The OpenAPI version of the document; 3.1 takes the routes' JSON Schemas as they are. */
export const openApiVersion = '3.1.0';

interface PackageInfo {
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

/** Rekey's package.json, found by walking up from this file, so it is the same from src/ and dist/. */
function readPackageInfo(): PackageInfo {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(directory, 'package.json');
    if (existsSync(file)) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PackageInfo>;
      return {
        name: parsed.name ?? 'rekey',
        version: parsed.version ?? '0.0.0',
        description: parsed.description ?? '',
      };
    }
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error('Rekey cannot find its package root (package.json)');
    directory = parent;
  }
}

/**
 * The document's outline; the paths and their schemas are passed through as they are. Only
 * `openapi` and `info` are required here: the serializer writes required properties first, and
 * the generator writes `components` before `paths` and `servers`.
 */
export const openApiDocumentSchema = responseObject(
  {
    openapi: Type.String(),
    info: responseObject({
      title: Type.String(),
      version: Type.String(),
      description: Type.Optional(Type.String()),
    }),
    components: Type.Optional(openObject),
    paths: Type.Optional(openObject),
    servers: Type.Optional(responseArray(responseObject({ url: Type.String() }))),
  },
  'OpenAPI document of this Rekey',
);

/**
 * Starts collecting routes for the document. Call before any route is registered: the generator
 * sees only routes added after it.
 */
export async function registerOpenApiGenerator(app: RekeyApp, publicUrl: string): Promise<void> {
  const info = readPackageInfo();
  await app.register(fastifySwagger, {
    openapi: {
      openapi: openApiVersion,
      info: { title: info.name, version: info.version, description: info.description },
      servers: [{ url: publicUrl }],
    },
  });
}

/** Adds `GET /openapi.json`; the generator builds the document on the first request and keeps it. */
export function addOpenApiRoute(app: RekeyApp): void {
  app.get(
    '/openapi.json',
    { schema: { response: { 200: openApiDocumentSchema, ...graphErrorResponses } } },
    // The generator's type covers Swagger 2.0 too; configured for OpenAPI 3, it has this outline.
    async () => app.swagger() as unknown as Static<typeof openApiDocumentSchema>,
  );
}
