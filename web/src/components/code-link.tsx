/** A catalog code with a link to its explanation (`/error?code=N`). */
export function CodeLink({ code }: { readonly code: number }) {
  return (
    <a href={`/error?code=${code}`} target="_blank" rel="noreferrer">
      {code}
    </a>
  );
}

/** A sign-in or operation result: "Success" or the failing code, linked. */
export function ResultCell({ errorCode }: { readonly errorCode: number }) {
  if (errorCode === 0) return <span className="badge badge-ok">Success</span>;
  return (
    <span>
      <span className="badge badge-bad">Failure</span> <CodeLink code={errorCode} />
    </span>
  );
}

/** An ISO time in the reader's locale, or a dash. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
