import { type Static, Type } from 'typebox';
import { responseObject } from '../platform/http/response-schemas.js';

/** `GET /healthz`: the process answers. */
export const livenessSchema = responseObject({ status: Type.Literal('ok') }, 'The process answers');
export type Liveness = Static<typeof livenessSchema>;

/** `GET /readyz`: the database answers and its schema is current. */
export const readinessSchema = responseObject(
  {
    status: Type.Literal('ready'),
    database: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  },
  'The database answers and its schema is current',
);
export type Readiness = Static<typeof readinessSchema>;
