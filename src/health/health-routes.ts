import type { FastifyPluginAsync } from 'fastify';
import { type Db, isDatabaseReady } from '../platform/db/database.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { livenessSchema, readinessSchema } from './health-schemas.js';

/** `/healthz`: the process answers. `/readyz`: the database answers and its schema is current. */
export function healthRoutes(db: Db): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/healthz',
      { schema: { response: { 200: livenessSchema, ...graphErrorResponses } } },
      async () => ({
        status: 'ok' as const,
      }),
    );
    app.get(
      '/readyz',
      { schema: { response: { 200: readinessSchema, ...graphErrorResponses } } },
      async () => {
        if (!(await isDatabaseReady(db))) throw new RekeyError(Codes.DatabaseUnavailable);
        return { status: 'ready' as const, database: db.dialect };
      },
    );
  };
}
