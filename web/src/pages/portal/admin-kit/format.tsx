/** A time as the administrator's browser writes it, with the exact UTC value on hover. */
export function When({ at }: { readonly at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {Number.isNaN(date.getTime()) ? at : date.toLocaleString()}
    </time>
  );
}

/** A catalog code linked to its page (/error?code=N); 0 reads as success. */
export function CodeLink({ code }: { readonly code: number | null | undefined }) {
  if (code === null || code === undefined) return <span className="muted">—</span>;
  if (code === 0) return <span className="badge badge-ok">Success</span>;
  return (
    <a href={`/error?code=${code}`} target="_blank" rel="noreferrer" data-testid="code-link">
      {code}
    </a>
  );
}

/** A state or result as a coloured badge. */
export function StateBadge({ value }: { readonly value: string }) {
  const good = ['succeeded', 'success', 'ok', 'serviceOperational', 'operational', 'resolved'];
  const bad = [
    'terminated',
    'failure',
    'fail',
    'serviceDegradation',
    'serviceInterruption',
    'degraded',
    'down',
  ];
  const tone = good.includes(value) ? 'badge-ok' : bad.includes(value) ? 'badge-bad' : 'badge-muted';
  return <span className={`badge ${tone}`}>{value}</span>;
}

/** A string literal of an OData `$filter` (single quotes doubled). */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A `datetime-local` input's value (local time, no zone) as ISO 8601 UTC, or undefined. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
