import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { SignInActivity } from '../../api/admin-types.js';
import { getJson } from '../../api/client.js';
import type { SignIn } from '../../api/types.js';
import { SignInActivityChart } from '../../components/charts/lazy-charts.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { CodeLink, localToIso, odataString, When } from './admin-kit/format.js';
import { Pager } from './admin-kit/pager.js';
import { useServerPages } from './admin-kit/paging.js';
import { type ReportRange, ReportRangePicker, reportRanges } from './admin-kit/report-range.js';
import './admin-kit/admin.css';

/*
 * Sign-ins: Graph's `GET /v1.0/auditLogs/signIns` with its filters as form fields, paged by the
 * server ($top, then @odata.nextLink), a detail panel for the selected sign-in (correlation ID,
 * code, a link to diagnose it), and the charts of /rekey/v1/reports/signInActivity. The filters
 * live in the address (?user=...&code=...), so other pages link to a filtered view.
 */

const pageSize = 50;
const filterNames = ['user', 'status', 'code', 'from', 'to', 'app', 'ip', 'correlationId'] as const;
type Filters = Record<(typeof filterNames)[number], string>;

function readFilters(params: URLSearchParams): Filters {
  return Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ''])) as Filters;
}

/** The OData `$filter` of the form's fields (every field optional, combined with and). */
function signInFilter(filters: Filters): string {
  const terms: string[] = [];
  if (filters.user.trim()) terms.push(`startswith(userPrincipalName, ${odataString(filters.user.trim())})`);
  if (filters.code.trim()) terms.push(`status/errorCode eq ${Number(filters.code.trim())}`);
  else if (filters.status === 'success') terms.push('status/errorCode eq 0');
  else if (filters.status === 'failure') terms.push('status/errorCode ne 0');
  const from = localToIso(filters.from);
  const to = localToIso(filters.to);
  if (from) terms.push(`createdDateTime ge ${from}`);
  if (to) terms.push(`createdDateTime lt ${to}`);
  if (filters.app.trim()) terms.push(`startswith(appDisplayName, ${odataString(filters.app.trim())})`);
  if (filters.ip.trim()) terms.push(`startswith(ipAddress, ${odataString(filters.ip.trim())})`);
  if (filters.correlationId.trim())
    terms.push(`correlationId eq ${odataString(filters.correlationId.trim())}`);
  return terms.join(' and ');
}

function Field(props: {
  readonly name: keyof Filters;
  readonly label: string;
  readonly filters: Filters;
  readonly set: (filters: Filters) => void;
  readonly type?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={`f-${props.name}`}>{props.label}</label>
      <input
        id={`f-${props.name}`}
        type={props.type ?? 'text'}
        value={props.filters[props.name]}
        onChange={(event) => props.set({ ...props.filters, [props.name]: event.target.value })}
      />
    </div>
  );
}

function diagnoseLink(signIn: SignIn): string {
  const params = new URLSearchParams();
  if (signIn.correlationId) params.set('correlationId', signIn.correlationId);
  if (signIn.userPrincipalName) params.set('userPrincipalName', signIn.userPrincipalName);
  if (signIn.createdDateTime)
    params.set('since', new Date(Date.parse(signIn.createdDateTime) - 3_600_000).toISOString());
  return `/portal/diagnose?${params.toString()}`;
}

function Detail({ signIn, onClose }: { readonly signIn: SignIn; readonly onClose: () => void }) {
  const code = signIn.status?.errorCode;
  return (
    <aside className="detail-panel" aria-labelledby="sign-in-detail" data-testid="sign-in-detail">
      <h2 id="sign-in-detail">Sign-in details</h2>
      <dl className="facts">
        <dt>Date</dt>
        <dd>
          <When at={signIn.createdDateTime} />
        </dd>
        <dt>User</dt>
        <dd>{signIn.userPrincipalName}</dd>
        <dt>Result</dt>
        <dd>
          {code === 0 ? 'Success' : 'Failure'} <CodeLink code={code} />
        </dd>
        {code !== 0 && (
          <>
            <dt>Reason</dt>
            <dd>{signIn.status?.failureReason ?? '—'}</dd>
          </>
        )}
        {signIn.status?.additionalDetails && (
          <>
            <dt>Details</dt>
            <dd>{signIn.status.additionalDetails}</dd>
          </>
        )}
        <dt>Correlation ID</dt>
        <dd data-testid="correlation-id">{signIn.correlationId}</dd>
        <dt>Request ID</dt>
        <dd>{signIn.id}</dd>
        <dt>Application</dt>
        <dd>
          {signIn.appDisplayName ?? '—'} ({signIn.appId})
        </dd>
        <dt>Client</dt>
        <dd>{signIn.clientAppUsed}</dd>
        <dt>IP address</dt>
        <dd>{signIn.ipAddress}</dd>
        <dt>User agent</dt>
        <dd>{signIn.userAgent ?? '—'}</dd>
        <dt>Interactive</dt>
        <dd>{signIn.isInteractive ? 'Yes' : 'No'}</dd>
      </dl>
      <div className="actions">
        <Link className="button-link" to={diagnoseLink(signIn)} data-testid="diagnose-link">
          Diagnose this sign-in
        </Link>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </aside>
  );
}

export function Page() {
  const [params, setParams] = useSearchParams();
  const applied = readFilters(params);
  const [form, setForm] = useState<Filters>(applied);
  const [selected, setSelected] = useState<SignIn | undefined>();
  const [range, setRange] = useState<ReportRange>('24h');
  const filter = signInFilter(applied);
  const firstUrl = `/v1.0/auditLogs/signIns?$top=${pageSize}${filter ? `&$filter=${encodeURIComponent(filter)}` : ''}`;
  const pages = useServerPages<SignIn>('signIns', firstUrl);
  const activity = useQuery({
    queryKey: ['signInActivity', range],
    queryFn: () => getJson<SignInActivity>(`/rekey/v1/reports/signInActivity?${reportRanges[range].query}`),
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSelected(undefined);
    const next = new URLSearchParams();
    for (const name of filterNames) if (form[name].trim()) next.set(name, form[name].trim());
    setParams(next);
  };
  return (
    <section>
      <h1>Sign-ins</h1>
      <form className="filters" onSubmit={apply} aria-label="Sign-in filters">
        <Field name="user" label="User (starts with)" filters={form} set={setForm} />
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select
            id="f-status"
            value={form.status}
            onChange={(event) => setForm({ ...form, status: event.target.value })}
          >
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
          </select>
        </div>
        <Field name="code" label="Error code" filters={form} set={setForm} />
        <Field name="from" label="From" type="datetime-local" filters={form} set={setForm} />
        <Field name="to" label="Until" type="datetime-local" filters={form} set={setForm} />
        <Field name="app" label="Application (starts with)" filters={form} set={setForm} />
        <Field name="ip" label="IP address (starts with)" filters={form} set={setForm} />
        <Field name="correlationId" label="Correlation ID" filters={form} set={setForm} />
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <div className="split">
        <div>
          {pages.query.error ? <ErrorNotice error={pages.query.error} /> : null}
          {pages.query.isPending && <p aria-live="polite">Loading…</p>}
          {pages.query.isSuccess && pages.items.length === 0 && <p>No sign-in matches these filters.</p>}
          {pages.items.length > 0 && (
            <table data-testid="sign-ins-table">
              <caption className="visually-hidden">Sign-ins, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">User</th>
                  <th scope="col">Application</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {pages.items.map((signIn) => (
                  <tr key={signIn.id} className={selected?.id === signIn.id ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link-button" onClick={() => setSelected(signIn)}>
                        <When at={signIn.createdDateTime} />
                      </button>
                    </td>
                    <td>{signIn.userPrincipalName}</td>
                    <td>{signIn.appDisplayName ?? signIn.appId}</td>
                    <td>{signIn.ipAddress}</td>
                    <td>
                      {signIn.status?.errorCode === 0 ? (
                        <span className="badge badge-ok">Success</span>
                      ) : (
                        <>
                          <span className="badge badge-bad">Failure</span>{' '}
                          <CodeLink code={signIn.status?.errorCode} />
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager
            label="Sign-ins"
            pageNumber={pages.pageNumber}
            hasPrevious={pages.hasPrevious}
            hasNext={pages.hasNext}
            onPrevious={pages.previous}
            onNext={pages.next}
            busy={pages.query.isFetching}
          />
        </div>
        {selected && <Detail signIn={selected} onClose={() => setSelected(undefined)} />}
      </div>
      <h2>Activity</h2>
      <div className="toolbar">
        <ReportRangePicker value={range} onChange={setRange} />
      </div>
      {activity.error ? <ErrorNotice error={activity.error} /> : null}
      {activity.data && <SignInActivityChart activity={activity.data} />}
    </section>
  );
}
