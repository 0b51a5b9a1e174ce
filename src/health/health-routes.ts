import type { FastifyPluginAsync } from 'fastify';
import { type Db, isDatabaseReady } from '../platform/db/database.js';
import { RekeyError } from '../platform/errors/rekey-error.js';

/** `/healthz`: the process answers. `/readyz`: the database answers and its schema is current. */
export function healthRoutes(db: Db): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async () => {
      if (!(await isDatabaseReady(db))) throw new RekeyError(7700202);
      return { status: 'ready', database: db.dialect };
    });
  };
}
