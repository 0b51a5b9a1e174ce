import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { errorPageCsp, renderErrorPage } from '../error-page/error-page-mapper.js';
import { Codes, getCatalogEntry } from '../platform/errors/catalog.js';

/*
 * The portal (/portal) and My account (/myaccount): the single-page app that `npm run build`
 * compiles from web/ into dist/webapp. Every path under the two roots answers index.html, so a deep
 * link (/portal/users/{id}) or a reload works; the app's router shows the page. The scripts and
 * styles under /assets carry a content hash in their names and are cached for a year.
 *
 * These routes are pages, not API: they are hidden from /openapi.json and answer HTML.
 */

/** The Content-Security-Policy of the app: nothing inline, nothing from another origin. */
export const webAppCsp = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'object-src': ["'none'"],
} as const;

/** The app's two roots; the redirect URIs of the portal client are `<root>/callback`. */
export const webAppRoots = ['/portal', '/myaccount'] as const;

/** dist/webapp of the package this file belongs to (the same from src/web and from its compiled copy in dist/web). */
export function defaultWebRoot(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return path.join(directory, 'dist', 'webapp');
}

export interface WebRoutesDeps {
  /** The built app (dist/webapp unless a test gives another directory). */
  readonly webRoot?: string;
  /** Whether Rekey serves HTTPS: then browsers are told to keep to it (Strict-Transport-Security). */
  readonly tls: boolean;
}

const hidden = { hide: true } as const;

/** Serves the built web app with strict security headers. */
export function webRoutes(deps: WebRoutesDeps): FastifyPluginAsync {
  const webRoot = deps.webRoot ?? defaultWebRoot();
  const indexFile = path.join(webRoot, 'index.html');

  /** 503 with the /error page of 7701600 when the app was never built. */
  function sendNotBuilt(reply: FastifyReply): FastifyReply {
    return reply
      .code(503)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', errorPageCsp)
      .send(renderErrorPage(getCatalogEntry(Codes.WebAppNotBuilt)));
  }

  return async (app) => {
    // Registered inside this plugin (not fastify-plugin wrapped), so the headers apply to the
    // app's routes only; the API's JSON answers keep their own.
    await app.register(fastifyHelmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: webAppCsp },
      referrerPolicy: { policy: 'same-origin' },
      // Only meaningful over HTTPS; a browser ignores it on plain HTTP, where it would only mislead.
      strictTransportSecurity: deps.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false,
      xFrameOptions: { action: 'deny' },
    });
    // preCompressed: the build writes a .gz beside every script and style sheet (web/vite.config.ts).
    await app.register(fastifyStatic, { root: webRoot, serve: false, preCompressed: true });

    app.get('/assets/*', { schema: hidden }, async (request, reply) => {
      if (!existsSync(indexFile)) return sendNotBuilt(reply);
      const file = (request.params as { '*': string })['*'];
      // Hashed names: a changed file gets a new name, so the old one may be kept forever.
      return reply.sendFile(path.posix.join('assets', file), { immutable: true, maxAge: '365d' });
    });

    const sendIndex = async (_request: unknown, reply: FastifyReply) => {
      let html: string;
      try {
        html = await readFile(indexFile, 'utf8');
      } catch {
        return sendNotBuilt(reply);
      }
      // Always revalidated: it names the current build's hashed assets.
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    };
    for (const root of webAppRoots) {
      app.get(root, { schema: hidden }, sendIndex);
      app.get(`${root}/*`, { schema: hidden }, sendIndex);
    }
  };
}
