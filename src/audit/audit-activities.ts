/**
 * The audit catalog: every activity Rekey records in the directory audit log (Graph's
 * `directoryAudit`), keyed by a typed name. A service names the activity and the catalog supplies
 * what Graph shows for it (display name, category, operation type, logged-by service and the
 * type of its targets), so two places that record one activity cannot word it differently, and
 * the log generator of `rekey dev seed-logs` writes exactly what the services write.
 */

/** Graph's `directoryAudit.category` values that Rekey uses. */
export type AuditCategory =
  | 'UserManagement'
  | 'DirectoryManagement'
  | 'RoleManagement'
  | 'Policy'
  | 'ApplicationManagement';

/** Graph's `directoryAudit.loggedByService` values that Rekey uses. */
export type AuditLoggedByService =
  | 'Core Directory'
  | 'Self-service Password Management'
  | 'Authentication Methods';

/** Graph's `directoryAudit.operationType` values. */
export type AuditOperationType = 'Add' | 'Update' | 'Delete' | 'Assign' | 'Unassign' | 'Other';

/** Graph's `targetResource.type` values that Rekey uses. */
export type AuditTargetType = 'User' | 'Domain' | 'Policy' | 'Other';

/** What the audit log says about every row of one activity. */
export interface AuditActivity {
  /** `activityDisplayName`: what an auditor filters on, so it never changes once shipped. */
  readonly displayName: string;
  readonly category: AuditCategory;
  readonly operationType: AuditOperationType;
  readonly loggedByService: AuditLoggedByService;
  /** The `type` of every target of the activity. */
  readonly targetType: AuditTargetType;
}

export const auditActivities = {
  // --- Users -------------------------------------------------------------------------------------
  /** A user created through Graph's POST /users or `rekey users create`. */
  addUser: {
    displayName: 'Add user',
    category: 'UserManagement',
    operationType: 'Add',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** Profile or policy properties of a user changed. */
  updateUser: {
    displayName: 'Update user',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  disableAccount: {
    displayName: 'Disable account',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  enableAccount: {
    displayName: 'Enable account',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** forceChangePasswordNextSignIn (or its MFA variant) set or cleared by an administrator. */
  setForceChangeUserPassword: {
    displayName: 'Set force change user password',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** A soft delete: the user can be restored from deletedItems. */
  /** An administrator revoked every sign-in session of a user (POST /users/{id}/revokeSignInSessions). */
  revokeSignInSessions: {
    displayName: 'Revoke sign-in sessions',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  deleteUser: {
    displayName: 'Delete user',
    category: 'UserManagement',
    operationType: 'Delete',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  restoreUser: {
    displayName: 'Restore user',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** A soft-deleted user purged for good. */
  hardDeleteUser: {
    displayName: 'Hard delete user',
    category: 'UserManagement',
    operationType: 'Delete',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /**
   * A spent refresh token was presented again, so Rekey revoked every refresh and access token
   * descended from the same sign-in (refresh-token rotation, RFC 9700).
   */
  revokeTokenFamilyOnReuse: {
    displayName: 'Revoke sign-in session after refresh token reuse',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** Licences assigned to or removed from a user, or a refusal that a licence decided. */
  changeUserLicense: {
    displayName: 'Change user license',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  /** An administrator ended a user's smart lockout. */
  unlockUserAccount: {
    displayName: 'Unlock user account',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },

  // --- Roles ---------------------------------------------------------------------------------------
  addMemberToRole: {
    displayName: 'Add member to role',
    category: 'RoleManagement',
    operationType: 'Assign',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },
  removeMemberFromRole: {
    displayName: 'Remove member from role',
    category: 'RoleManagement',
    operationType: 'Unassign',
    loggedByService: 'Core Directory',
    targetType: 'User',
  },

  // --- Passwords -----------------------------------------------------------------------------------
  /** A user changed their own password (expired or not). */
  changePasswordSelfService: {
    displayName: 'Change password (self-service)',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Self-service Password Management',
    targetType: 'User',
  },
  /** A user reset their forgotten password. */
  resetPasswordSelfService: {
    displayName: 'Reset password (self-service)',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Self-service Password Management',
    targetType: 'User',
  },
  resetPasswordByAdmin: {
    displayName: 'Reset password (by admin)',
    category: 'UserManagement',
    operationType: 'Update',
    loggedByService: 'Self-service Password Management',
    targetType: 'User',
  },
  /** An administrator asked whether a password is one of a user's recent ones. */
  evaluatePasswordAgainstHistory: {
    displayName: 'Evaluate password against password history',
    category: 'UserManagement',
    operationType: 'Other',
    loggedByService: 'Authentication Methods',
    targetType: 'User',
  },
  /** Password Protection in Audit mode accepted a password it would have refused. */
  passwordProtectionAuditOnlyResult: {
    displayName: 'Password Protection audit-only result',
    category: 'Policy',
    operationType: 'Other',
    loggedByService: 'Authentication Methods',
    targetType: 'User',
  },

  // --- Policies ------------------------------------------------------------------------------------
  updatePasswordPolicy: {
    displayName: 'Update password policy',
    category: 'Policy',
    operationType: 'Update',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },
  updatePasswordProtectionPolicy: {
    displayName: 'Update password protection policy',
    category: 'Policy',
    operationType: 'Update',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },
  updateSmartLockoutPolicy: {
    displayName: 'Update smart lockout policy',
    category: 'Policy',
    operationType: 'Update',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },
  /** `signInErrorDisclosure`: what a refused sign-in tells a caller. */
  updateSignInPolicy: {
    displayName: 'Update sign-in error disclosure policy',
    category: 'Policy',
    operationType: 'Update',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },
  /** The first import of a breached-password list into this data directory. */
  importBreachedPasswordList: {
    displayName: 'Import breached password list',
    category: 'Policy',
    operationType: 'Add',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },
  /**
   * An import that replaced an imported list: the same display name as the first import (an
   * auditor filters on one name), told apart by its operation type.
   */
  replaceBreachedPasswordList: {
    displayName: 'Import breached password list',
    category: 'Policy',
    operationType: 'Update',
    loggedByService: 'Authentication Methods',
    targetType: 'Policy',
  },

  // --- Directory -----------------------------------------------------------------------------------
  addVerifiedDomain: {
    displayName: 'Add verified domain to company',
    category: 'DirectoryManagement',
    operationType: 'Add',
    loggedByService: 'Core Directory',
    targetType: 'Domain',
  },
  /** A domain became federated or managed (its federation created or deleted). */
  setDomainAuthentication: {
    displayName: 'Set domain authentication',
    category: 'DirectoryManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Domain',
  },
  /** A domain's federation configuration created or changed. */
  setFederationSettingsOnDomain: {
    displayName: 'Set federation settings on domain',
    category: 'DirectoryManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Domain',
  },
  /** A tenant's subscription to a SKU added or changed (units, status, given to new users). */
  updateSubscription: {
    displayName: 'Update subscription',
    category: 'DirectoryManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** A directory connector created (`POST /rekey/v1/connectors`, `rekey connectors add`). */
  addDirectoryConnector: {
    displayName: 'Add directory connector',
    category: 'DirectoryManagement',
    operationType: 'Add',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** A connector's settings changed; a new bind password is named, never shown. */
  updateDirectoryConnector: {
    displayName: 'Update directory connector',
    category: 'DirectoryManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  deleteDirectoryConnector: {
    displayName: 'Delete directory connector',
    category: 'DirectoryManagement',
    operationType: 'Delete',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** One sync run of a connector (asked for or scheduled), with its mode and counts. */
  synchronizeDirectoryConnector: {
    displayName: 'Synchronize directory connector',
    category: 'DirectoryManagement',
    operationType: 'Other',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** An application's redirect URIs changed (PATCH /v1.0/applications/{appId}). */
  updateApplication: {
    displayName: 'Update application',
    category: 'ApplicationManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** Sign-in and audit rows past the retention period deleted on an operator's request. */
  purgeLogsPastRetention: {
    displayName: 'Purge logs past retention',
    category: 'DirectoryManagement',
    operationType: 'Delete',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** An HTTP exchange capture started (`POST /rekey/v1/captures`, `rekey captures start`, or the header). */
  startHttpCapture: {
    displayName: 'Start HTTP capture',
    category: 'DirectoryManagement',
    operationType: 'Add',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
  /** A capture stopped before its window ended. */
  stopHttpCapture: {
    displayName: 'Stop HTTP capture',
    category: 'DirectoryManagement',
    operationType: 'Update',
    loggedByService: 'Core Directory',
    targetType: 'Other',
  },
} as const satisfies Record<string, AuditActivity>;

/** The typed name of an activity in the catalog. */
export type AuditActivityName = keyof typeof auditActivities;

/** Every activity, with its name, in catalog order. */
export function listAuditActivities(): Array<AuditActivity & { readonly name: AuditActivityName }> {
  return (Object.keys(auditActivities) as AuditActivityName[]).map((name) => ({
    name,
    ...auditActivities[name],
  }));
}
