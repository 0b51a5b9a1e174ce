import { type Static, Type } from 'typebox';
import { nullable, responseArray, responseObject } from '../platform/http/response-schemas.js';

/** Another code named as related, with enough to label a link to it. */
const relatedCodeSchema = responseObject({
  code: Type.Integer(),
  aadsts: nullable(Type.String()),
  name: Type.String(),
});

/** One catalog code explained, as `GET /error?code=N` (JSON) and `rekey errors --json` show it. */
export const codeDescriptionSchema = responseObject(
  {
    code: Type.Integer(),
    /** `AADSTS<code>` where the number is Entra's own, else null. */
    aadsts: nullable(Type.String()),
    /** True where the number and its meaning are Entra's (an AADSTS code); false for Rekey's own codes. */
    entraCompatible: Type.Boolean(),
    name: Type.String(),
    message: Type.String(),
    /** The family of the code: request, authentication, authorization, account, passwordPolicy, ... */
    category: Type.String(),
    httpStatus: Type.Integer(),
    retryable: Type.Boolean(),
    /** Why it happens in Rekey; null only for a code that has no guidance yet. */
    cause: nullable(Type.String()),
    /** Who can fix it, most likely first: `user`, `administrator`, `time`. */
    fixedBy: responseArray(Type.String()),
    /** What to do about it, in order. */
    remediation: responseArray(Type.String()),
    /** Longer explanation, paragraph by paragraph (empty for most codes). */
    notes: responseArray(Type.String()),
    /** Codes worth reading beside this one: its causes, look-alikes, what follows it. */
    related: responseArray(relatedCodeSchema),
  },
  'One error code explained',
);
export type CodeDescription = Static<typeof codeDescriptionSchema>;
