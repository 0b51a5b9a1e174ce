import type { FastifySchema } from 'fastify';
import type { ErrorFormat } from './error-response.js';
import { graphErrorSchema, oauthErrorSchema } from './response-schemas.js';

/*
 * Every route declares what it answers: a schema for its success status and the error envelope
 * of its format for 4xx and 5xx. `buildApp` records each route as it is added, so a test can walk
 * them all and name any route that does not (the app itself still starts, as test-only routes
 * need not declare anything).
 */

/** A route as it was added to the app. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
  /** How the route renders errors (Graph's envelope unless it says `oauth`). */
  readonly errorFormat: ErrorFormat;
}

const successStatus = /^(2\d\d|2xx)$/;

/** What `route` fails to declare about its responses; empty when it declares everything. */
export function undeclaredResponses(route: RegisteredRoute): string[] {
  const response = route.schema?.response as Readonly<Record<string, unknown>> | undefined;
  if (response === undefined) return ['no response schema'];
  const problems: string[] = [];
  if (!Object.keys(response).some((status) => successStatus.test(status))) {
    problems.push('no schema for a 2xx status');
  }
  const envelope = route.errorFormat === 'oauth' ? oauthErrorSchema : graphErrorSchema;
  for (const range of ['4xx', '5xx']) {
    if (response[range] !== envelope) {
      problems.push(`${range} is not the ${route.errorFormat} error envelope`);
    }
  }
  return problems;
}
