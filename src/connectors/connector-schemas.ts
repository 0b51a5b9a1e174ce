import { type Static, Type } from 'typebox';
import { nullable, openObject, responseArray, responseObject } from '../platform/http/response-schemas.js';

/*
 * What `/rekey/v1/connectors` answers: a connector (never its bind password, only
 * `bindPasswordSet`), a list of them, a connection test's report and a sync's outcome. The create
 * and PATCH bodies are checked by checkConnectorInput (connector-config.ts), not by a route schema,
 * so that one answer names every problem, semantic ones included; connectorInputSchema and
 * connectorPatchSchema describe them for /openapi.json and the portal. The static types are for the portal.
 */

const flavor = Type.Union([Type.Literal('openldap'), Type.Literal('activeDirectory')]);

/** The create body (every field of a PATCH is optional). */
export const connectorInputSchema = Type.Object(
  {
    displayName: Type.String({ maxLength: 256 }),
    flavor,
    /** `ldaps://host[:port]`, or `ldap://host[:port]` with `startTls` (or `allowInsecure`). */
    url: Type.String({ maxLength: 2048 }),
    startTls: Type.Optional(Type.Boolean()),
    /** Allows `ldap://` without StartTLS: the bind password then crosses the network in clear. */
    allowInsecure: Type.Optional(Type.Boolean()),
    /** PEM certificates to trust for the directory's TLS; null or absent: the system's CAs. */
    caCertificate: Type.Optional(nullable(Type.String())),
    bindDn: Type.String({ maxLength: 1024 }),
    /** Stored sealed with the secret key; never returned. */
    bindPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    baseDn: Type.String({ maxLength: 1024 }),
    userFilter: Type.Optional(Type.String({ maxLength: 4096 })),
    /** User property -> directory attribute; null stops syncing an optional property. */
    attributes: Type.Optional(Type.Record(Type.String(), nullable(Type.String()))),
    writeback: Type.Optional(Type.Boolean()),
    connectTimeoutMs: Type.Optional(Type.Integer()),
    operationTimeoutMs: Type.Optional(Type.Integer()),
    syncIntervalSeconds: Type.Optional(nullable(Type.Integer())),
  },
  { additionalProperties: false, description: 'A new directory connector' },
);
export type ConnectorInput = Static<typeof connectorInputSchema>;

/** A PATCH body: any of the create body's fields. */
export const connectorPatchSchema = Type.Partial(connectorInputSchema, {
  additionalProperties: false,
  description: 'The fields of a directory connector to change',
});
export type ConnectorPatch = Static<typeof connectorPatchSchema>;

/** One directory connector, as every route shows it. */
export const connectorSchema = responseObject(
  {
    id: Type.String(),
    displayName: Type.String(),
    flavor,
    url: Type.String(),
    startTls: Type.Boolean(),
    allowInsecure: Type.Boolean(),
    caCertificate: nullable(Type.String()),
    bindDn: Type.String(),
    /** Always true: a connector has a bind password, which is never shown. */
    bindPasswordSet: Type.Boolean(),
    baseDn: Type.String(),
    userFilter: Type.String(),
    attributes: Type.Record(Type.String(), Type.String()),
    writeback: Type.Boolean(),
    connectTimeoutMs: Type.Integer(),
    operationTimeoutMs: Type.Integer(),
    syncIntervalSeconds: nullable(Type.Integer()),
    createdDateTime: Type.String(),
    lastModifiedDateTime: Type.String(),
    lastSyncDateTime: nullable(Type.String()),
    /** The last sync's outcome (see the sync route), or null before the first. */
    lastSyncResult: nullable(openObject),
    lastTestDateTime: nullable(Type.String()),
    /** The last connection test's report, or null before the first. */
    lastTestResult: nullable(openObject),
  },
  'A directory connector; the bind password is never shown',
);
export type ConnectorBody = Static<typeof connectorSchema>;

/** `GET /rekey/v1/connectors`. */
export const connectorListSchema = responseObject(
  { value: responseArray(connectorSchema) },
  'Every directory connector of the tenant, by display name',
);
export type ConnectorListBody = Static<typeof connectorListSchema>;

const testStep = responseObject({
  step: Type.Union([
    Type.Literal('connect'),
    Type.Literal('startTls'),
    Type.Literal('bind'),
    Type.Literal('search'),
  ]),
  result: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('skipped')]),
  code: nullable(Type.Integer()),
  message: Type.String(),
  latencyMs: nullable(Type.Number()),
});

/** `POST /rekey/v1/connectors/{id}/test`. */
export const connectorTestReportSchema = responseObject(
  {
    connectorId: Type.String(),
    testedDateTime: Type.String(),
    /** True when every step that ran succeeded. */
    success: Type.Boolean(),
    steps: responseArray(testStep),
    usersFound: nullable(Type.Integer()),
  },
  'What a connection test found, step by step',
);
export type ConnectorTestReportBody = Static<typeof connectorTestReportSchema>;

/** `POST /rekey/v1/connectors/{id}/sync`. */
export const connectorSyncReportSchema = responseObject(
  {
    connectorId: Type.String(),
    result: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
    mode: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
    startedDateTime: Type.String(),
    finishedDateTime: Type.String(),
    counts: responseObject({
      seen: Type.Integer(),
      created: Type.Integer(),
      updated: Type.Integer(),
      deleted: Type.Integer(),
      unchanged: Type.Integer(),
      failed: Type.Integer(),
    }),
    code: nullable(Type.Integer()),
    message: nullable(Type.String()),
  },
  'What one sync run did',
);
export type ConnectorSyncReportBody = Static<typeof connectorSyncReportSchema>;

/** One LDAP operation of the connector trace: what was done, to which DN, what came back; never a secret. */
export const connectorCallSchema = responseObject({
  connectorId: nullable(Type.String()),
  operationId: nullable(Type.String()),
  /** connect, startTls, serviceBind, userBind, search, passwordModify. */
  operation: Type.String(),
  dn: nullable(Type.String()),
  /** The LDAP result code; null when no LDAP answer came (a network failure). */
  ldapResultCode: nullable(Type.Integer()),
  /** The password-policy control's error (passwordTooShort, passwordInHistory, accountLocked...). */
  ppolicyError: nullable(Type.String()),
  diagnostic: nullable(Type.String()),
  latencyMs: Type.Integer(),
  correlationId: Type.String(),
  at: Type.String(),
  /** success, refused (the directory said no for the user's own reason) or error; see connector health. */
  outcome: nullable(Type.String()),
  /** Why the operation failed (invalidCredentials, passwordPolicy, unreachable...); null on success. */
  reason: nullable(Type.String()),
  /** The catalog code of the failure, for the call's purpose; null on success. */
  code: nullable(Type.Integer()),
});

/** `GET /rekey/v1/operations/{id}/connectorCalls`: the connector calls of one password operation, oldest first. */
export const connectorCallListSchema = responseObject(
  { value: responseArray(connectorCallSchema) },
  'The directory calls a password operation made',
);

/** A call connector health names: the last error, or the last success. */
const healthCallSchema = responseObject({
  dateTime: Type.String(),
  /** connect, startTls, serviceBind, userBind, search, passwordModify. */
  operation: Type.String(),
  /** success, refused (the directory said no for the user's own reason) or error. */
  outcome: nullable(Type.String()),
  /** The catalog code of a failure, for the call's purpose (120013, 80001, 120015...). */
  code: nullable(Type.Integer()),
  /** unreachable, timeout, tlsFailure, serviceBindFailed, invalidCredentials... */
  reason: nullable(Type.String()),
  ldapResultCode: nullable(Type.Integer()),
  ppolicyError: nullable(Type.String()),
  /** The server's diagnostic text, or the network error's code (ECONNREFUSED...). */
  diagnostic: nullable(Type.String()),
  dn: nullable(Type.String()),
  latencyMs: Type.Integer(),
  correlationId: Type.String(),
  /** The password operation the call served, if any. */
  operationId: nullable(Type.String()),
});

/** A connector's calls over one window (the last hour, or the last 24 hours). */
const healthWindowSchema = responseObject({
  /** The window's start (inclusive); it ends when the health was read. */
  sinceDateTime: Type.String(),
  calls: Type.Integer(),
  succeeded: Type.Integer(),
  refused: Type.Integer(),
  failed: Type.Integer(),
  /** (succeeded + refused) / calls, to four decimals; null without calls. */
  successRate: nullable(Type.Number()),
  latencyMs: responseObject({ p50: nullable(Type.Integer()), p99: nullable(Type.Integer()) }),
  lastError: nullable(healthCallSchema),
  lastSuccess: nullable(healthCallSchema),
});

/** `GET /rekey/v1/connectors/{id}/health`. */
export const connectorHealthSchema = responseObject(
  {
    connectorId: Type.String(),
    displayName: Type.String(),
    generatedDateTime: Type.String(),
    lastHour: healthWindowSchema,
    lastDay: healthWindowSchema,
  },
  "A connector's health, from the trace of its directory calls",
);
export type ConnectorHealthBody = Static<typeof connectorHealthSchema>;
export type ConnectorHealthWindowBody = Static<typeof healthWindowSchema>;
