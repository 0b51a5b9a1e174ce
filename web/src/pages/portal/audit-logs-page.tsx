import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { DirectoryAudit } from '../../api/admin-types.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { localToIso, odataString, StateBadge, When } from './admin-kit/format.js';
import { Pager } from './admin-kit/pager.js';
import { useServerPages } from './admin-kit/paging.js';
import './admin-kit/admin.css';

/*
 * Audit logs: Graph's `GET /v1.0/auditLogs/directoryAudits` with its filters as form fields, paged
 * by the server, and a detail panel (who did what to whom, what changed, the correlation ID with a
 * link to diagnose the request). The filters live in the address.
 */

const pageSize = 50;
const filterNames = [
  'activity',
  'category',
  'result',
  'initiatedBy',
  'target',
  'correlationId',
  'from',
  'to',
] as const;
type Filters = Record<(typeof filterNames)[number], string>;

function auditFilter(filters: Filters): string {
  const terms: string[] = [];
  if (filters.activity.trim())
    terms.push(`startswith(activityDisplayName, ${odataString(filters.activity.trim())})`);
  if (filters.category.trim()) terms.push(`category eq ${odataString(filters.category.trim())}`);
  if (filters.result) terms.push(`result eq ${odataString(filters.result)}`);
  if (filters.initiatedBy.trim())
    terms.push(`startswith(initiatedBy/user/userPrincipalName, ${odataString(filters.initiatedBy.trim())})`);
  if (filters.target.trim())
    terms.push(`targetResources/any(t: t/id eq ${odataString(filters.target.trim())})`);
  if (filters.correlationId.trim())
    terms.push(`correlationId eq ${odataString(filters.correlationId.trim())}`);
  const from = localToIso(filters.from);
  const to = localToIso(filters.to);
  if (from) terms.push(`activityDateTime ge ${from}`);
  if (to) terms.push(`activityDateTime lt ${to}`);
  return terms.join(' and ');
}

function initiator(audit: DirectoryAudit): string {
  const by = audit.initiatedBy;
  return by?.user?.userPrincipalName ?? by?.app?.displayName ?? by?.user?.id ?? '—';
}

function Detail({ audit, onClose }: { readonly audit: DirectoryAudit; readonly onClose: () => void }) {
  return (
    <aside className="detail-panel" aria-labelledby="audit-detail" data-testid="audit-detail">
      <h2 id="audit-detail">Audit details</h2>
      <dl className="facts">
        <dt>Date</dt>
        <dd>
          <When at={audit.activityDateTime} />
        </dd>
        <dt>Activity</dt>
        <dd>{audit.activityDisplayName}</dd>
        <dt>Category</dt>
        <dd>{audit.category}</dd>
        <dt>Result</dt>
        <dd>
          <StateBadge value={audit.result ?? ''} /> {audit.resultReason}
        </dd>
        <dt>Initiated by</dt>
        <dd>{initiator(audit)}</dd>
        <dt>Correlation ID</dt>
        <dd>{audit.correlationId}</dd>
        <dt>Service</dt>
        <dd>{audit.loggedByService}</dd>
      </dl>
      {(audit.targetResources ?? []).map((target) => (
        <div key={target.id}>
          <h3>
            Target: {target.userPrincipalName ?? target.displayName ?? target.id} ({target.type})
          </h3>
          {target.modifiedProperties.length > 0 && (
            <table>
              <caption className="visually-hidden">What changed</caption>
              <thead>
                <tr>
                  <th scope="col">Property</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {target.modifiedProperties.map((property) => (
                  <tr key={property.displayName}>
                    <td>{property.displayName}</td>
                    <td>{property.oldValue ?? '—'}</td>
                    <td>{property.newValue ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
      {(audit.additionalDetails ?? []).length > 0 && (
        <dl className="facts">
          {(audit.additionalDetails ?? []).map((detail) => (
            <div key={detail.key} className="contents">
              <dt>{detail.key}</dt>
              <dd>{detail.value}</dd>
            </div>
          ))}
        </dl>
      )}
      <div className="actions">
        {audit.correlationId && (
          <Link
            className="button-link"
            to={`/portal/diagnose?correlationId=${encodeURIComponent(audit.correlationId)}`}
          >
            Diagnose this request
          </Link>
        )}
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </aside>
  );
}

export function Page() {
  const [params, setParams] = useSearchParams();
  const applied = Object.fromEntries(filterNames.map((name) => [name, params.get(name) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(applied);
  const [selected, setSelected] = useState<DirectoryAudit | undefined>();
  const filter = auditFilter(applied);
  const pages = useServerPages<DirectoryAudit>(
    'directoryAudits',
    `/v1.0/auditLogs/directoryAudits?$top=${pageSize}${filter ? `&$filter=${encodeURIComponent(filter)}` : ''}`,
  );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setSelected(undefined);
    const next = new URLSearchParams();
    for (const name of filterNames) if (form[name].trim()) next.set(name, form[name].trim());
    setParams(next);
  };
  const text = (name: keyof Filters, label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`a-${name}`}>{label}</label>
      <input
        id={`a-${name}`}
        type={type}
        value={form[name]}
        onChange={(event) => setForm({ ...form, [name]: event.target.value })}
      />
    </div>
  );
  return (
    <section>
      <h1>Audit logs</h1>
      <form className="filters" onSubmit={apply} aria-label="Audit filters">
        {text('activity', 'Activity (starts with)')}
        {text('category', 'Category')}
        <div className="field">
          <label htmlFor="a-result">Result</label>
          <select
            id="a-result"
            value={form.result}
            onChange={(event) => setForm({ ...form, result: event.target.value })}
          >
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="timeout">Timeout</option>
          </select>
        </div>
        {text('initiatedBy', 'Initiated by (starts with)')}
        {text('target', 'Target object ID')}
        {text('correlationId', 'Correlation ID')}
        {text('from', 'From', 'datetime-local')}
        {text('to', 'Until', 'datetime-local')}
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <div className="split">
        <div>
          {pages.query.error ? <ErrorNotice error={pages.query.error} /> : null}
          {pages.query.isPending && <p aria-live="polite">Loading…</p>}
          {pages.query.isSuccess && pages.items.length === 0 && <p>No audit entry matches these filters.</p>}
          {pages.items.length > 0 && (
            <table data-testid="audits-table">
              <caption className="visually-hidden">Audit entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Activity</th>
                  <th scope="col">Initiated by</th>
                  <th scope="col">Target</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {pages.items.map((audit) => (
                  <tr key={audit.id} className={selected?.id === audit.id ? 'selected' : undefined}>
                    <td>
                      <button type="button" className="link-button" onClick={() => setSelected(audit)}>
                        <When at={audit.activityDateTime} />
                      </button>
                    </td>
                    <td>{audit.activityDisplayName}</td>
                    <td>{initiator(audit)}</td>
                    <td>
                      {(audit.targetResources ?? [])
                        .map((t) => t.userPrincipalName ?? t.displayName ?? t.id)
                        .join(', ')}
                    </td>
                    <td>
                      <StateBadge value={audit.result ?? ''} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager
            label="Audit entries"
            pageNumber={pages.pageNumber}
            hasPrevious={pages.hasPrevious}
            hasNext={pages.hasNext}
            onPrevious={pages.previous}
            onNext={pages.next}
            busy={pages.query.isFetching}
          />
        </div>
        {selected && <Detail audit={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </section>
  );
}
