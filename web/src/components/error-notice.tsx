import { ApiError } from '../api/client.js';
import { SignInError } from '../auth/auth.js';

/** A failure as Rekey reported it: the message, the catalog code and a link to its page. */
export function ErrorNotice({ error }: { readonly error: unknown }) {
  if (error === null || error === undefined) return null;
  const code = error instanceof ApiError || error instanceof SignInError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="notice notice-error">
      <p className="notice-message">{message}</p>
      {code !== undefined && (
        <p className="notice-code">
          Code <strong data-testid="error-code">{code}</strong>:{' '}
          <a href={`/error?code=${code}`} target="_blank" rel="noreferrer">
            what it means and what to do
          </a>
        </p>
      )}
      {error instanceof ApiError && error.correlationId && (
        <p className="notice-meta">Correlation ID {error.correlationId}</p>
      )}
    </div>
  );
}
