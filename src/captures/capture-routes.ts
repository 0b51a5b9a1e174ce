import type { FastifyPluginAsync } from 'fastify';
import { type AuthGuard, contextOf } from '../auth/guard.js';
import type { Clock } from '../platform/clock.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { captureAdministrationRoles, captureReaderRoles } from '../users/authorization.js';
import { toCaptureView } from './capture-mapper.js';
import {
  captureIdParams,
  captureInputSchema,
  captureListSchema,
  captureSchema,
  harSchema,
} from './capture-schemas.js';
import type { CaptureService } from './capture-service.js';

/*
 * `/rekey/v1/captures` (docs/captures.md):
 *   POST   /rekey/v1/captures            start one (captureAdministrationRoles); 201 + Location
 *   GET    /rekey/v1/captures            list, newest first (captureReaderRoles)
 *   GET    /rekey/v1/captures/{id}       one (captureReaderRoles)
 *   GET    /rekey/v1/captures/{id}/har   its HAR 1.2 document (captureReaderRoles)
 *   DELETE /rekey/v1/captures/{id}       stop it now; its entries stay (captureAdministrationRoles)
 */

export function captureRoutes(deps: {
  readonly guard: AuthGuard;
  readonly captures: CaptureService;
  readonly clock: Clock;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  const { guard, captures, clock, publicUrl } = deps;
  const base = '/rekey/v1/captures';
  const administer = guard.requireRole(captureAdministrationRoles);
  const read = guard.requireRole(captureReaderRoles);

  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;

    app.post(
      base,
      {
        preHandler: administer,
        schema: { body: captureInputSchema, response: { 201: captureSchema, ...graphErrorResponses } },
      },
      async (request, reply) => {
        const created = await captures.start(contextOf(request), request.body);
        reply.status(201).header('location', `${publicUrl}${base}/${created.id}`);
        return toCaptureView(created, clock.now());
      },
    );

    app.get(
      base,
      { preHandler: read, schema: { response: { 200: captureListSchema, ...graphErrorResponses } } },
      async () => {
        const now = clock.now();
        return { value: (await captures.list()).map((capture) => toCaptureView(capture, now)) };
      },
    );

    app.get(
      `${base}/:id`,
      {
        preHandler: read,
        schema: { params: captureIdParams, response: { 200: captureSchema, ...graphErrorResponses } },
      },
      async (request) => toCaptureView(await captures.get(request.params.id), clock.now()),
    );

    app.get(
      `${base}/:id/har`,
      {
        preHandler: read,
        schema: { params: captureIdParams, response: { 200: harSchema, ...graphErrorResponses } },
      },
      async (request, reply) => {
        const { capture, har } = await captures.har(request.params.id);
        reply.header('content-disposition', `attachment; filename="rekey-capture-${capture.id}.har"`);
        return har;
      },
    );

    app.delete(
      `${base}/:id`,
      {
        preHandler: administer,
        schema: { params: captureIdParams, response: { 200: captureSchema, ...graphErrorResponses } },
      },
      async (request) =>
        toCaptureView(await captures.stop(contextOf(request), request.params.id), clock.now()),
    );
  };
}
