import { type LicensesByUser, toGraphUser } from '../../users/user-mapper.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { finding } from './finding.js';

/** The properties the seed's `Get-AzureADUser | Select AccountEnabled, PasswordPolicies` step reads, and more. */
const selected = [
  'id',
  'userPrincipalName',
  'accountEnabled',
  'passwordPolicies',
  'passwordProfile',
  'lastPasswordChangeDateTime',
  'onPremisesSyncEnabled',
  'onPremisesImmutableId',
  'onPremisesDistinguishedName',
  'onPremisesSamAccountName',
  'onPremisesLastSyncDateTime',
  'userType',
  'assignedLicenses',
  'createdDateTime',
] as const;

/** The directory object, Graph-style, with the user's licences. */
export const directoryObjectCheck = (deps: {
  readonly licencesOf: (userId: string) => Promise<LicensesByUser>;
}): DiagnoseCheck => ({
  name: 'directoryObject',
  async run(evidence) {
    const user = evidence.user;
    if (!user)
      return finding('directoryObject', 'Directory object', 'skipped', null, [
        'No single user is concerned.',
      ]);
    const graph = toGraphUser(user, await deps.licencesOf(user.id)) as unknown as Record<string, unknown>;
    const object: Record<string, unknown> = {};
    for (const name of selected) object[name] = graph[name] ?? null;
    object['deletedDateTime'] = user.deleted_at;
    const lines = Object.entries(object).map(([name, value]) => `${name}: ${JSON.stringify(value)}`);
    return finding('directoryObject', 'Directory object', 'ok', null, lines, { data: { user: object } });
  },
});
