import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifySwagger from '@fastify/swagger';
import { Type } from 'typebox';
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

/** The document's outline; the paths and their schemas are passed through as they are. */
export const openApiDocumentSchema = responseObject(
  {
    openapi: Type.String(),
    info: responseObject({
      title: Type.String(),
      version: Type.String(),
      description: Type.Optional(Type.String()),
    }),
    servers: Type.Optional(responseArray(responseObject({ url: Type.String() }))),
    paths: openObject,
    components: Type.Optional(openObject),
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

/** Adds `GET /openapi.json`; the document is built on the first request and kept. */
export function addOpenApiRoute(app: RekeyApp): void {
  app.get(
    '/openapi.json',
    { schema: { response: { 200: openApiDocumentSchema, ...graphErrorResponses } } },
    async () => openApiDocumentOf(app),
  );
}

/** The generated document, typed as its outline. */
function openApiDocumentOf(app: RekeyApp) {
  const document = app.swagger() as unknown as {
    openapi: string;
    info: { title: string; version: string; description?: string };
    paths: Record<string, unknown>;
  };
  return document;
}
