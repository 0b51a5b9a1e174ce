import type { ComponentType } from 'react';

/*
 * Every page of the portal and of My account, in one list. Each page is its own module, loaded
 * when its route is first visited (its own JavaScript chunk). The paths are the ones
 * src/platform/errors/catalog-guidance.ts (portalPages) sends people to. To add a page, write
 * `pages/<area>/<name>-page.tsx` exporting `Page`, and add one line here (see web/README.md).
 */

export interface PageEntry {
  /** Under the area's root: `users` is `/portal/users`; may hold route parameters (`users/:id`). */
  readonly path: string;
  /** The navigation's label; pages without one (detail pages) are not in the navigation. */
  readonly navLabel?: string;
  readonly load: () => Promise<{ readonly Page: ComponentType }>;
}

/** The administrators' portal, under /portal. */
export const portalPages: readonly PageEntry[] = [
  { path: 'users', navLabel: 'Users', load: () => import('./pages/portal/users-page.js') },
  { path: 'users/:id', load: () => import('./pages/portal/user-detail-page.js') },
  {
    path: 'password-reset',
    navLabel: 'Password reset',
    load: () => import('./pages/portal/password-reset-page.js'),
  },
  {
    path: 'password-protection',
    navLabel: 'Password protection',
    load: () => import('./pages/portal/password-protection-page.js'),
  },
  {
    path: 'smart-lockout',
    navLabel: 'Smart lockout',
    load: () => import('./pages/portal/smart-lockout-page.js'),
  },
  { path: 'sign-ins', navLabel: 'Sign-ins', load: () => import('./pages/portal/sign-ins-page.js') },
  { path: 'audit-logs', navLabel: 'Audit logs', load: () => import('./pages/portal/audit-logs-page.js') },
  { path: 'operations', navLabel: 'Operations', load: () => import('./pages/portal/operations-page.js') },
  { path: 'connectors', navLabel: 'Connectors', load: () => import('./pages/portal/connectors-page.js') },
  { path: 'captures', navLabel: 'Captures', load: () => import('./pages/portal/captures-page.js') },
  { path: 'diagnose', navLabel: 'Diagnose and solve', load: () => import('./pages/portal/diagnose-page.js') },
  {
    path: 'service-health',
    navLabel: 'Service health',
    load: () => import('./pages/portal/service-health-page.js'),
  },
];

/** The end user's pages, under /myaccount. */
export const myAccountPages: readonly PageEntry[] = [
  { path: '', navLabel: 'Overview', load: () => import('./pages/myaccount/my-account-page.js') },
];
