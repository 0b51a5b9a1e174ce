import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { type AppArea, completeSignIn } from '../auth/auth.js';
import { ErrorNotice } from './error-notice.js';

/** `/portal/callback` and `/myaccount/callback`: where the authorize endpoint sends the browser back. */
export function CallbackPage({ area }: { readonly area: AppArea }) {
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    completeSignIn(area, window.location.search).then(
      (returnTo) => navigate(returnTo, { replace: true }),
      setError,
    );
  }, [area, navigate]);
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
