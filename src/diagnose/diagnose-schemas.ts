import { type Static, Type } from 'typebox';
import { nullable, openObject, responseArray, responseObject } from '../platform/http/response-schemas.js';

/** The body of `POST /rekey/v1/diagnose` and `POST /rekey/v1/supportBundles`: any of the selectors, at least one. */
export const diagnoseRequestSchema = Type.Object(
  {
    userPrincipalName: Type.Optional(Type.String({ minLength: 3, maxLength: 256 })),
    correlationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    errorCode: Type.Optional(Type.Integer({ minimum: 1, maximum: 99_999_999 })),
    /** ISO 8601, or a duration back from now (24h, 7d, 30m). */
    since: Type.Optional(Type.String({ minLength: 2, maxLength: 40 })),
  },
  { additionalProperties: false, description: 'What to diagnose: a user, a request, a code, in a window' },
);
export type DiagnoseRequestBody = Static<typeof diagnoseRequestSchema>;

const findingSchema = responseObject({
  check: Type.String(),
  title: Type.String(),
  status: Type.Union([
    Type.Literal('ok'),
    Type.Literal('warn'),
    Type.Literal('fail'),
    Type.Literal('skipped'),
  ]),
  code: nullable(Type.Integer()),
  evidence: responseArray(Type.String()),
  remediation: responseArray(Type.String()),
  data: Type.Optional(openObject),
});

const timelineSchema = responseObject({
  at: Type.String(),
  source: Type.String(),
  correlationId: Type.String(),
  code: nullable(Type.Integer()),
  summary: Type.String(),
});

/** The troubleshooter's report (architecture §7). */
export const diagnoseReportSchema = responseObject(
  {
    generatedDateTime: Type.String(),
    selectors: responseObject({
      userPrincipalName: nullable(Type.String()),
      correlationId: nullable(Type.String()),
      errorCode: nullable(Type.Integer()),
      since: Type.String(),
    }),
    verdict: responseObject({
      code: nullable(Type.Integer()),
      name: nullable(Type.String()),
      confidence: Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')]),
      summary: Type.String(),
      symptomCode: nullable(Type.Integer()),
    }),
    scope: responseObject({
      usersAffected: Type.Integer(),
      requests: Type.Integer(),
      firstSeen: nullable(Type.String()),
      lastSeen: nullable(Type.String()),
      mostAffected: responseArray(
        responseObject({ userPrincipalName: Type.String(), requests: Type.Integer() }),
      ),
    }),
    findings: responseArray(findingSchema),
    timeline: responseArray(timelineSchema),
  },
  'The root cause of a failure, the evidence in the order of the troubleshooting steps, and the fix',
);
