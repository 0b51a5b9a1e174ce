import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { type AppArea, completeSignIn, signedOutState } from '../auth/auth.js';
import { ErrorNotice } from './error-notice.js';

/** `/portal/callback` and `/myaccount/callback`: where the authorize endpoint sends the browser back. */
export function CallbackPage({ area }: { readonly area: AppArea }) {
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const params = new URLSearchParams(window.location.search);
  const signedOut = params.get('state') === signedOutState && !params.has('code') && !params.has('error');
  useEffect(() => {
    if (signedOut) return;
    completeSignIn(area, window.location.search).then(
      (returnTo) => navigate(returnTo, { replace: true }),
      setError,
    );
  }, [area, navigate, signedOut]);
  if (signedOut) {
    return (
      <main className="centered">
        <h1>Signed out</h1>
        <p>You have signed out of Rekey in this browser.</p>
        <a href={`/${area}`}>Sign in again</a>
      </main>
    );
  }
  return (
    <main className="centered">
      <h1>Rekey</h1>
      {error ? (
        <>
          <ErrorNotice error={error} />
          <a href={`/${area}`}>Sign in again</a>
        </>
      ) : (
        <p aria-live="polite">Completing sign-in…</p>
      )}
    </main>
  );
}
