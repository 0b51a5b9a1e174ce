import type { SignInRow } from '../platform/db/schema.js';
import type { SignIn } from './sign-in-schemas.js';

/** The Graph resource a token request is made for: Rekey issues tokens for Microsoft Graph's audience. */
const graphResource = { id: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' };

/**
 * Graph's `signIn` shape of a stored row. Rekey has no Conditional Access or risk engine, so
 * those properties carry the values Graph uses when nothing applied (`notApplied`, `none`).
 */
export function toGraphSignIn(row: SignInRow): SignIn {
  return {
    id: row.id,
    createdDateTime: row.created_at,
    userDisplayName: row.user_display_name,
    userPrincipalName: row.user_principal_name,
    userId: row.user_id,
    appId: row.app_id,
    appDisplayName: row.app_display_name,
    ipAddress: row.ip_address,
    clientAppUsed: row.client_app_used,
    userAgent: row.user_agent,
    correlationId: row.correlation_id,
    conditionalAccessStatus: 'notApplied',
    isInteractive: row.is_interactive === 1,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: 'none',
    riskState: 'none',
    riskEventTypes_v2: [],
    resourceDisplayName: graphResource.displayName,
    resourceId: graphResource.id,
    status: {
      errorCode: row.error_code,
      failureReason: row.failure_reason,
      additionalDetails: row.additional_details,
    },
    deviceDetail: {
      deviceId: '',
      displayName: '',
      operatingSystem: '',
      browser: '',
      isCompliant: false,
      isManaged: false,
      trustType: '',
    },
    location: { city: null, state: null, countryOrRegion: null, geoCoordinates: null },
    appliedConditionalAccessPolicies: [],
  };
}
