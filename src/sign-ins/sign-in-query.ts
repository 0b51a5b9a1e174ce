import type { FieldMap, FilterableProperty, ResourceDescription } from '../platform/odata/index.js';

/*
 * What `GET /v1.0/auditLogs/signIns` (and `rekey logs export signins --filter`) accept, and how
 * each property reaches the `sign_ins` table. The filterable properties and operators follow
 * Graph's documentation of signIn; the ones an administrator filters by most (time, user,
 * correlation ID, error code) are served by an index, see docs/logs.md.
 */

/** Every property of Rekey's Graph `signIn`, in output order (see toGraphSignIn). */
const signInProperties = [
  'id',
  'createdDateTime',
  'userDisplayName',
  'userPrincipalName',
  'userId',
  'appId',
  'appDisplayName',
  'ipAddress',
  'clientAppUsed',
  'userAgent',
  'correlationId',
  'conditionalAccessStatus',
  'isInteractive',
  'riskDetail',
  'riskLevelAggregated',
  'riskLevelDuringSignIn',
  'riskState',
  'riskEventTypes_v2',
  'resourceDisplayName',
  'resourceId',
  'status',
  'deviceDetail',
  'location',
  'appliedConditionalAccessPolicies',
] as const;

const text: FilterableProperty = { type: 'string', operators: ['eq', 'startswith'] };
const time: FilterableProperty = { type: 'datetime', operators: ['eq', 'ge', 'le', 'gt', 'lt'] };

/**
 * Newest first unless `$orderby=createdDateTime asc`; `$top` at most 1000, which is also the
 * default, as in Graph.
 */
export const signInsResource: ResourceDescription = {
  name: 'signIns',
  properties: Object.fromEntries(signInProperties.map((name) => [name, 'default'])),
  filter: {
    properties: {
      id: { type: 'guid', operators: ['eq'] },
      createdDateTime: time,
      userPrincipalName: text,
      // Null on a sign-in for a user name nobody has (50034): `userId eq null` finds those.
      userDisplayName: { ...text, nullable: true },
      userId: { type: 'guid', operators: ['eq'], nullable: true },
      appId: { type: 'guid', operators: ['eq'] },
      appDisplayName: { ...text, nullable: true },
      ipAddress: text,
      clientAppUsed: { type: 'string', operators: ['eq'] },
      correlationId: { type: 'string', operators: ['eq'] },
      isInteractive: { type: 'boolean', operators: ['eq'] },
      'status/errorCode': { type: 'number', operators: ['eq', 'ne'] },
    },
  },
  orderBy: ['createdDateTime'],
  defaultOrderBy: [{ property: 'createdDateTime', direction: 'desc' }],
  key: 'id',
  top: { default: 1000, max: 1000 },
  count: true,
};

/** How each filterable or sortable sign-in property maps to SQL. */
export const signInFields: FieldMap = {
  fields: {
    id: { column: 'sign_ins.id' },
    createdDateTime: { column: 'sign_ins.created_at' },
    // upn_key is the UPN lower-cased by the application, and indexed.
    userPrincipalName: {
      column: 'sign_ins.user_principal_name',
      caseInsensitive: true,
      lowerColumn: 'sign_ins.upn_key',
    },
    userDisplayName: { column: 'sign_ins.user_display_name', caseInsensitive: true, nullable: true },
    userId: { column: 'sign_ins.user_id', nullable: true },
    appId: { column: 'sign_ins.app_id' },
    appDisplayName: { column: 'sign_ins.app_display_name', caseInsensitive: true, nullable: true },
    ipAddress: { column: 'sign_ins.ip_address' },
    clientAppUsed: { column: 'sign_ins.client_app_used', caseInsensitive: true },
    correlationId: { column: 'sign_ins.correlation_id' },
    isInteractive: { column: 'sign_ins.is_interactive' },
    'status/errorCode': { column: 'sign_ins.error_code' },
  },
};
