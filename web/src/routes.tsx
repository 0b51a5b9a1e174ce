import { Navigate, type RouteObject } from 'react-router';
import type { AppArea } from './auth/auth.js';
import { CallbackPage } from './components/callback-page.js';
import { Layout } from './components/layout.js';
import { RequireSignIn } from './components/require-sign-in.js';
import { myAccountPages, type PageEntry, portalPages } from './pages.js';

/** The routes of one area: its callback, and its pages behind sign-in, each loaded on first visit. */
function areaRoutes(area: AppArea, pages: readonly PageEntry[], home: string): RouteObject {
  return {
    path: `/${area}`,
    children: [
      { path: 'callback', element: <CallbackPage area={area} /> },
      {
        element: <RequireSignIn />,
        children: [
          {
            element: <Layout area={area} pages={pages} />,
            children: [
              ...(home === '' ? [] : [{ index: true, element: <Navigate to={home} replace /> }]),
              ...pages.map((page) => ({
                ...(page.path === '' ? { index: true as const } : { path: page.path }),
                lazy: async () => ({ Component: (await page.load()).Page }),
              })),
            ],
          },
        ],
      },
    ],
  };
}

function NotFound() {
  return (
    <main className="centered">
      <h1>Page not found</h1>
      <p>
        Go to the <a href="/portal">portal</a> or to <a href="/myaccount">My account</a>.
      </p>
    </main>
  );
}

export const routes: RouteObject[] = [
  areaRoutes('portal', portalPages, 'users'),
  areaRoutes('myaccount', myAccountPages, ''),
  { path: '*', element: <NotFound /> },
];
