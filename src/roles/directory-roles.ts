/** Directory role names Rekey understands, as Entra names them. */
export const directoryRoles = [
  'Global Administrator',
  'Privileged Role Administrator',
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
  'Hybrid Identity Administrator',
  'Password Administrator',
  'Directory Readers',
  'Guest Inviter',
  'Groups Administrator',
  'Message Center Reader',
  'User Experience Success Manager',
  'Usage Summary Reports Reader',
] as const;

export type DirectoryRole = (typeof directoryRoles)[number];

/** What Graph's role-definition API says about one role. */
export interface DirectoryRoleTemplate {
  /** Entra's well-known template id of the built-in role (also its definition id in Graph). */
  readonly templateId: string;
  /** What the role lets its holders do in Rekey, in Rekey's words. */
  readonly description: string;
}

/**
 * The one table of roles: Entra's template ids (from Entra's built-in roles reference) and what
 * each role allows here. Who may do what is decided in `src/users/authorization.ts`; the
 * role-management API beside this file publishes this table and stores assignments as names in
 * `users.roles`.
 * The `Record` type makes the compiler refuse a role without an entry.
 */
export const directoryRoleTemplates: Readonly<Record<DirectoryRole, DirectoryRoleTemplate>> = {
  'Global Administrator': {
    templateId: '62e90394-69f5-4237-9190-012177145e10',
    description:
      'Everything Rekey offers: users, passwords, policies, logs, settings and who holds which role.',
  },
  'Privileged Role Administrator': {
    templateId: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
    description:
      'Assigns and removes directory roles, Global Administrator included, and reads the directory.',
  },
  'Privileged Authentication Administrator': {
    templateId: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
    description:
      'Resets passwords, ends lockouts, changes, disables, deletes and restores any user, administrators included, and reads the directory.',
  },
  'Authentication Administrator': {
    templateId: 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
    description:
      'Resets passwords, ends lockouts, changes, disables, deletes and restores users with no role or only a reader role, Password Administrators and other Authentication Administrators; reads the directory.',
  },
  'Authentication Policy Administrator': {
    templateId: '0526716b-113d-4c15-b2c8-68e3c22b9f80',
    description: 'Changes the password policy, Password Protection and smart lockout settings.',
  },
  'User Administrator': {
    templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
    description:
      "Creates users; changes, disables, deletes, restores and resets the passwords of users up to Helpdesk, Groups and User Administrators; assigns users' licences; reads the directory.",
  },
  'Helpdesk Administrator': {
    templateId: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
    description:
      'Resets passwords and ends lockouts of users with no role or only a reader role, and of Helpdesk and Password Administrators; reads the directory.',
  },
  'Global Reader': {
    templateId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
    description: 'Reads everything a Global Administrator can see, including the logs, and changes nothing.',
  },
  'Reports Reader': {
    templateId: '4a5d8f65-41da-4de4-8968-e035b65339cf',
    description: 'Reads the sign-in log and the directory audit log.',
  },
  'Security Reader': {
    templateId: '5d6b6bb7-de71-4623-b4af-96380a352509',
    description: 'Reads the sign-in log and the directory audit log for security reviews.',
  },
  'Security Operator': {
    templateId: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
    description: 'Reads the sign-in log and the directory audit log to investigate incidents.',
  },
  'Security Administrator': {
    templateId: '194ae4cb-b126-40b2-bd5b-6091b380977d',
    description:
      'Reads the sign-in log and the directory audit log for security operations; federates domains and changes their federation.',
  },
  'Hybrid Identity Administrator': {
    templateId: '8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2',
    description:
      'Creates, changes, tests, synchronizes and removes the directory connectors to on-premises LDAP directories; federates domains and changes their federation.',
  },
  'Password Administrator': {
    templateId: '966707d0-3269-4727-9be2-8c3a10f19b9d',
    description:
      'Resets passwords and ends lockouts of users with no role, Directory Readers, Guest Inviters and other Password Administrators; reads the directory.',
  },
  'Directory Readers': {
    templateId: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
    description: 'Reads the directory (users, deleted users, role holders, lock state) and changes nothing.',
  },
  // The five roles below have no Rekey feature to grant yet. Rekey knows them so that assignments
  // carried over from Entra keep their names, and so that the reset and sensitive-action rules
  // protect their holders as Entra does.
  'Guest Inviter': {
    templateId: '95e79109-95c0-4d8e-aee3-d01accf2d47b',
    description:
      'Invites guest users. Rekey has no guest invitations, so the role grants nothing beyond what every user may do.',
  },
  'Groups Administrator': {
    templateId: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
    description:
      'Manages groups and their settings. Rekey has no groups yet, so the role grants nothing here.',
  },
  'Message Center Reader': {
    templateId: '790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b',
    description:
      "Reads the service's announcements to administrators. Rekey publishes none yet, so the role grants nothing here.",
  },
  'User Experience Success Manager': {
    templateId: '27460883-1df1-4691-b032-3b79643e5e63',
    description:
      'Reads adoption and usage reports and service announcements. Rekey has neither yet, so the role grants nothing here.',
  },
  'Usage Summary Reports Reader': {
    templateId: '75934031-6c7e-415a-99d7-48dbd49e875e',
    description:
      'Reads tenant-wide usage summaries, never per-user data. Rekey has no usage reports yet, so the role grants nothing here.',
  },
};

/** Finds a role by name, ignoring case as people type it ("reports reader"). */
export function directoryRoleByName(name: string): DirectoryRole | undefined {
  const wanted = name.trim().toLowerCase();
  return directoryRoles.find((role) => role.toLowerCase() === wanted);
}

/** Finds a role by its template id (any case), as Graph's role-definition ids name them. */
export function directoryRoleByTemplateId(templateId: string): DirectoryRole | undefined {
  const wanted = templateId.toLowerCase();
  return directoryRoles.find((role) => directoryRoleTemplates[role].templateId === wanted);
}

/** Whether `value` is the name of a role Rekey knows. */
export function isDirectoryRole(value: string): value is DirectoryRole {
  return (directoryRoles as readonly string[]).includes(value);
}

/** The roles Rekey knows in a stored `users.roles` value; other names are left out. */
export function parseRoles(json: string): DirectoryRole[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed)
    ? parsed.filter((r): r is DirectoryRole => typeof r === 'string' && isDirectoryRole(r))
    : [];
}
