import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Operation, OperationOutcomes } from '../../api/admin-types.js';
import { getJson } from '../../api/client.js';
import type { OperationWithHistory } from '../../api/types.js';
import { OperationOutcomesChart } from '../../components/charts/lazy-charts.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { CodeLink, StateBadge, When } from './admin-kit/format.js';
import { Pager } from './admin-kit/pager.js';
import { useServerPages } from './admin-kit/paging.js';
import { type ReportRange, ReportRangePicker, reportRanges } from './admin-kit/report-range.js';
import './admin-kit/admin.css';

/*
 * Operations: password changes and resets as the engine ran them. The list is
 * `GET /rekey/v1/operations` (filters user, state, code, kind; keyset paging by the server), the
 * selected one's state timeline `GET /rekey/v1/operations/{id}`, and the outcomes chart
 * /rekey/v1/reports/operationOutcomes.
 */

const filterNames = ['user', 'state', 'code', 'kind'] as const;
type Filters = Record<(typeof filterNames)[number], string>;
const states = ['notStarted', 'running', 'retryScheduled', 'succeeded', 'terminated'];
const kinds = ['selfChange', 'expiredChange', 'adminReset', 'selfServiceReset'];

function Timeline({ id }: { readonly id: string }) {
  const operation = useQuery({
    queryKey: ['operation', id],
    queryFn: () => getJson<OperationWithHistory>(`/rekey/v1/operations/${encodeURIComponent(id)}`),
    // While it runs, follow it.
    refetchInterval: (query) =>
      query.state.data && ['succeeded', 'terminated'].includes(query.state.data.state) ? false : 2000,
  });
  if (operation.error) return <ErrorNotice error={operation.error} />;
  if (!operation.data) return <p aria-live="polite">Loading…</p>;
  const op = operation.data;
  return (
    <aside className="detail-panel" aria-labelledby="operation-detail" data-testid="operation-detail">
      <h2 id="operation-detail">Operation {op.kind}</h2>
      <dl className="facts">
        <dt>State</dt>
        <dd>
          <StateBadge value={op.state} /> (step {op.step}, {op.attempts} attempt{op.attempts === 1 ? '' : 's'}
          )
        </dd>
        <dt>User</dt>
        <dd>
          <Link to={`/portal/users/${op.userId}`}>{op.userPrincipalName ?? op.userId}</Link>
        </dd>
        <dt>Correlation ID</dt>
        <dd>{op.correlationId}</dd>
        <dt>Accepted</dt>
        <dd>
          <When at={op.createdDateTime} />
        </dd>
        <dt>Ended</dt>
        <dd>
          <When at={op.completedDateTime} />
        </dd>
        {op.error && (
          <>
            <dt>Failure</dt>
            <dd>
              <CodeLink code={op.error.code} /> {op.error.name}
              {op.error.detail ? `: ${op.error.detail}` : ''}
            </dd>
          </>
        )}
      </dl>
      <h3>Timeline</h3>
      <ol className="timeline" data-testid="operation-timeline">
        {op.history.map((event) => (
          <li
            key={`${event.at}-${event.state}-${event.step}-${event.code}`}
            className={event.code !== null ? 'fail' : undefined}
          >
            <When at={event.at} /> · <StateBadge value={event.state} /> {event.step}
            {event.code !== null && (
              <>
                {' '}
                · code <CodeLink code={event.code} />
                {event.retryable ? ' (will retry)' : ''}
              </>
            )}
            {event.detail && <div className="hint">{event.detail}</div>}
          </li>
        ))}
      </ol>
      <Link to={`/portal/diagnose?correlationId=${encodeURIComponent(op.correlationId)}`}>
        Diagnose this operation
      </Link>
    </aside>
  );
}

export function Page() {
  const [params, setParams] = useSearchParams();
  const applied = Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(applied);
  const [selected, setSelected] = useState<string | undefined>(params.get('id') ?? undefined);
  const [range, setRange] = useState<ReportRange>('7d');
  const query = new URLSearchParams({ top: '50' });
  for (const name of filterNames) if (applied[name]) query.set(name, applied[name]);
  const pages = useServerPages<Operation>('operations', `/rekey/v1/operations?${query.toString()}`);
  const outcomes = useQuery({
    queryKey: ['operationOutcomes', range],
    queryFn: () =>
      getJson<OperationOutcomes>(`/rekey/v1/reports/operationOutcomes?${reportRanges[range].query}`),
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSelected(undefined);
    const next = new URLSearchParams();
    for (const name of filterNames) if (form[name].trim()) next.set(name, form[name].trim());
    setParams(next);
  };
  const choice = (name: 'state' | 'kind', label: string, values: readonly string[]) => (
    <div className="field">
      <label htmlFor={`o-${name}`}>{label}</label>
      <select
        id={`o-${name}`}
        value={form[name]}
        onChange={(event) => setForm({ ...form, [name]: event.target.value })}
      >
        <option value="">Any</option>
        {values.map((value) => (
          <option key={value} value={value}>
            {value}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <section>
      <h1>Operations</h1>
      <form className="filters" onSubmit={apply} aria-label="Operation filters">
        <div className="field">
          <label htmlFor="o-user">User (object ID or user principal name)</label>
          <input
            id="o-user"
            value={form.user}
            onChange={(event) => setForm({ ...form, user: event.target.value })}
          />
        </div>
        {choice('state', 'State', states)}
        <div className="field">
          <label htmlFor="o-code">Error code</label>
          <input
            id="o-code"
            inputMode="numeric"
            value={form.code}
            onChange={(event) => setForm({ ...form, code: event.target.value })}
          />
        </div>
        {choice('kind', 'Kind', kinds)}
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <div className="split">
        <div>
          {pages.query.error ? <ErrorNotice error={pages.query.error} /> : null}
          {pages.query.isPending && <p aria-live="polite">Loading…</p>}
          {pages.query.isSuccess && pages.items.length === 0 && <p>No operation matches these filters.</p>}
          {pages.items.length > 0 && (
            <table data-testid="operations-table">
              <caption className="visually-hidden">Password operations, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Accepted</th>
                  <th scope="col">Kind</th>
                  <th scope="col">User</th>
                  <th scope="col">State</th>
                  <th scope="col">Code</th>
                </tr>
              </thead>
              <tbody>
                {pages.items.map((op) => (
                  <tr key={op.id} className={selected === op.id ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link-button" onClick={() => setSelected(op.id)}>
                        <When at={op.createdDateTime} />
                      </button>
                    </td>
                    <td>{op.kind}</td>
                    <td>{op.userPrincipalName ?? op.userId}</td>
                    <td>
                      <StateBadge value={op.state} />
                    </td>
                    <td>
                      <CodeLink code={op.error?.code} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager
            label="Operations"
            pageNumber={pages.pageNumber}
            hasPrevious={pages.hasPrevious}
            hasNext={pages.hasNext}
            onPrevious={pages.previous}
            onNext={pages.next}
            busy={pages.query.isFetching}
          />
        </div>
        {selected && <Timeline id={selected} />}
      </div>
      <h2>Outcomes</h2>
      <div className="toolbar">
        <ReportRangePicker value={range} onChange={setRange} />
      </div>
      {outcomes.error ? <ErrorNotice error={outcomes.error} /> : null}
      {outcomes.data && <OperationOutcomesChart outcomes={outcomes.data} />}
    </section>
  );
}
