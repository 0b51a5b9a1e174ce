import { Suspense } from 'react';
import { NavLink, Outlet } from 'react-router';
import { type AppArea, currentUser, signOut } from '../auth/auth.js';
import type { PageEntry } from '../pages.js';

const titles: Readonly<Record<AppArea, string>> = { portal: 'Rekey portal', myaccount: 'Rekey · My account' };

/** The frame of every signed-in page: the header, the navigation built from the page list, the page. */
export function Layout({ area, pages }: { readonly area: AppArea; readonly pages: readonly PageEntry[] }) {
  const user = currentUser();
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={`/${area}`}>
          {titles[area]}
        </a>
        <span className="whoami" data-testid="signed-in-user">
          {user?.userPrincipalName}
        </span>
        <button type="button" className="link-button" onClick={() => void signOut(area)}>
          Sign out
        </button>
      </header>
      <div className="body">
        {pages.some((page) => page.navLabel && page.path !== '') && (
          <nav aria-label="Portal pages" className="sidenav">
            <ul>
              {pages
                .filter((page) => page.navLabel !== undefined)
                .map((page) => (
                  <li key={page.path}>
                    <NavLink to={`/${area}/${page.path}`}>{page.navLabel}</NavLink>
                  </li>
                ))}
            </ul>
          </nav>
        )}
        <main className="content">
          <Suspense fallback={<p aria-live="polite">Loading…</p>}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </div>
  );
}
