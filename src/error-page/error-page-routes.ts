import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { Codes, findCatalogEntry } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { RekeyApp } from '../platform/http/app.js';
import { graphErrorResponses } from '../platform/http/response-schemas.js';
import { describeCode, errorPageCsp, renderErrorPage } from './error-page-mapper.js';
import { codeDescriptionSchema } from './error-page-schemas.js';

/** `GET /error?code=N`: explains any catalog code, in HTML or (with Accept: application/json) JSON. */
export function errorPageRoutes(): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.get(
      '/error',
      {
        schema: {
          querystring: Type.Object({ code: Type.String({ pattern: '^(AADSTS)?[0-9]{1,9}$' }) }),
          response: {
            200: {
              description: 'The code explained: an HTML page, or JSON when only JSON is accepted',
              content: {
                'application/json': { schema: codeDescriptionSchema },
                'text/html': { schema: Type.String() },
              },
            },
            ...graphErrorResponses,
          },
        },
      },
      async (request, reply) => {
        const entry = findCatalogEntry(Number(request.query.code.replace(/^AADSTS/, '')));
        if (!entry)
          throw new RekeyError(Codes.ResourceNotFound, {
            message: `Rekey does not define the code ${request.query.code}.`,
          });
        const accept = request.headers.accept ?? '';
        if (accept.includes('application/json') && !accept.includes('text/html')) return describeCode(entry);
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', errorPageCsp)
          .header('x-content-type-options', 'nosniff')
          .send(renderErrorPage(entry));
      },
    );
  };
}
