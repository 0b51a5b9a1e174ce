import { useEffect, useState } from 'react';
import { Outlet, useLocation } from 'react-router';
import { accessToken, areaOf, signIn } from '../auth/auth.js';
import { ErrorNotice } from './error-notice.js';

/** Renders its routes once signed in; otherwise leaves for the authorize endpoint. */
export function RequireSignIn() {
  const location = useLocation();
  const [error, setError] = useState<unknown>(null);
  const signedIn = accessToken() !== undefined;
  useEffect(() => {
    if (!signedIn) {
      signIn(areaOf(location.pathname), `${location.pathname}${location.search}`).catch(setError);
    }
  }, [signedIn, location.pathname, location.search]);
  if (signedIn) return <Outlet />;
  return (
    <main className="centered">
      {error ? <ErrorNotice error={error} /> : <p aria-live="polite">Signing in…</p>}
    </main>
  );
}
