import { type Static, Type } from 'typebox';
import { nullable, responseArray, responseObject } from '../platform/http/response-schemas.js';

/** One catalog code explained, as `GET /error?code=N` (JSON) and `rekey errors --json` show it. */
export const codeDescriptionSchema = responseObject(
  {
    code: Type.Integer(),
    /** `AADSTS<code>` where the number is Entra's own, else null. */
    aadsts: nullable(Type.String()),
    name: Type.String(),
    message: Type.String(),
    /** The family of the code: request, authentication, authorization, account, passwordPolicy, ... */
    category: Type.String(),
    httpStatus: Type.Integer(),
    retryable: Type.Boolean(),
    /** What to do about it, in order. */
    remediation: responseArray(Type.String()),
  },
  'One error code explained',
);
export type CodeDescription = Static<typeof codeDescriptionSchema>;
