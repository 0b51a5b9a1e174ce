/** Directory role names Rekey understands, as Entra names them. */
export const directoryRoles = [
  'Global Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
  'Authentication Policy Administrator',
  'User Administrator',
  'Helpdesk Administrator',
  'Global Reader',
  'Reports Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
] as const;

export type DirectoryRole = (typeof directoryRoles)[number];

/** Roles that may reset other users' passwords (Graph's resetPassword requirement). */
export const passwordResetRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
];

/** Roles that may also reset the passwords of users who hold a directory role. */
export const privilegedPasswordResetRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Privileged Authentication Administrator',
];

/** Roles that may create, change and delete users. */
export const userAdministrationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'User Administrator',
];

/** Roles that may read the whole directory. */
export const directoryReaderRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Global Reader',
  'User Administrator',
  'Helpdesk Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
];

/**
 * Roles that may read the sign-in and audit logs (`/v1.0/auditLogs/...`), the roles Entra names
 * for reading them. The user administrators are not among them: the logs show every account's
 * activity, administrators' included, which is more than managing users needs.
 */
export const logReaderRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Global Reader',
  'Reports Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
];

/** Roles that may change the tenant's password policy and Password Protection settings. */
export const passwordPolicyAdministrationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Authentication Policy Administrator',
];

/** Roles that may read those settings: the directory readers and the policy administrators. */
export const passwordPolicyReaderRoles: readonly DirectoryRole[] = [
  ...directoryReaderRoles,
  'Authentication Policy Administrator',
];

/**
 * Roles that may dry-run a password against the policy (`/rekey/v1/passwordPolicy/evaluate`):
 * the policy administrators and those who reset passwords, who need to explain a refusal.
 */
export const passwordPolicyEvaluationRoles: readonly DirectoryRole[] = [
  'Global Administrator',
  'Authentication Policy Administrator',
  'Privileged Authentication Administrator',
  'Authentication Administrator',
];

export function isDirectoryRole(value: string): value is DirectoryRole {
  return (directoryRoles as readonly string[]).includes(value);
}

export function parseRoles(json: string): DirectoryRole[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed)
    ? parsed.filter((r): r is DirectoryRole => typeof r === 'string' && isDirectoryRole(r))
    : [];
}

export function hasAnyRole(roles: readonly string[], allowed: readonly DirectoryRole[]): boolean {
  return roles.some((role) => (allowed as readonly string[]).includes(role));
}
