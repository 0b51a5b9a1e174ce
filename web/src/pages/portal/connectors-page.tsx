import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type {
  Connector,
  ConnectorHealth,
  ConnectorHealthWindow,
  ConnectorInput,
  ConnectorList,
  ConnectorSyncReport,
  ConnectorTestReport,
} from '../../api/admin-types.js';
import { callApi, getJson } from '../../api/client.js';
import { ConnectorLatencyChart } from '../../components/charts/lazy-charts.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { CodeLink, StateBadge, When } from './admin-kit/format.js';
import './admin-kit/admin.css';

/*
 * Connectors: the tenant's directory connectors (`GET /rekey/v1/connectors`, Global and Hybrid
 * Identity Administrators only: anyone else sees the server's 403 with its code), one's settings,
 * its health from the call trace (`GET .../{id}/health`), a connection test step by step with each
 * step's latency (`POST .../{id}/test`), a sync now (`POST .../{id}/sync`), removal
 * (`DELETE .../{id}`, after a confirmation), every connector's latency as a chart, and a form for
 * a new connector (`POST /rekey/v1/connectors`; the server names every problem of a bad one).
 * Attribute maps and timeouts keep their defaults here: the API and `rekey connectors` set them.
 */

interface NewConnectorForm {
  displayName: string;
  flavor: 'openldap' | 'activeDirectory';
  url: string;
  startTls: boolean;
  allowInsecure: boolean;
  caCertificate: string;
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  userFilter: string;
  writeback: boolean;
  syncIntervalSeconds: string;
}

const emptyForm: NewConnectorForm = {
  displayName: '',
  flavor: 'openldap',
  url: '',
  startTls: true,
  allowInsecure: false,
  caCertificate: '',
  bindDn: '',
  bindPassword: '',
  baseDn: '',
  userFilter: '',
  writeback: false,
  syncIntervalSeconds: '',
};

/** The create body: blank optional fields are left out, so the server's defaults apply. */
function inputOf(form: NewConnectorForm): ConnectorInput {
  const interval = form.syncIntervalSeconds.trim();
  return {
    displayName: form.displayName.trim(),
    flavor: form.flavor,
    url: form.url.trim(),
    startTls: form.startTls,
    allowInsecure: form.allowInsecure,
    ...(form.caCertificate.trim() ? { caCertificate: form.caCertificate } : {}),
    bindDn: form.bindDn.trim(),
    bindPassword: form.bindPassword,
    baseDn: form.baseDn.trim(),
    ...(form.userFilter.trim() ? { userFilter: form.userFilter.trim() } : {}),
    writeback: form.writeback,
    // Not a number goes as typed: the server names the problem with its code.
    ...(interval
      ? { syncIntervalSeconds: (Number.isNaN(Number(interval)) ? interval : Number(interval)) as number }
      : {}),
  };
}

function NewConnector({ onCreated }: { readonly onCreated: (connector: Connector) => void }) {
  const [form, setForm] = useState<NewConnectorForm>(emptyForm);
  const create = useMutation({
    mutationFn: async (body: ConnectorInput) =>
      (await callApi<Connector>('POST', '/rekey/v1/connectors', body)).body,
    onSuccess: (connector) => {
      setForm(emptyForm);
      onCreated(connector);
    },
  });
  const text = (name: keyof NewConnectorForm, label: string, hint?: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`n-${name}`}>{label}</label>
      <input
        id={`n-${name}`}
        type={type}
        autoComplete={type === 'password' ? 'new-password' : 'off'}
        value={String(form[name])}
        {...(hint ? { 'aria-describedby': `n-${name}-hint` } : {})}
        onChange={(event) => setForm({ ...form, [name]: event.target.value })}
      />
      {hint && (
        <small className="hint" id={`n-${name}-hint`}>
          {hint}
        </small>
      )}
    </div>
  );
  const check = (name: 'startTls' | 'allowInsecure' | 'writeback', label: string) => (
    <div className="field">
      <label>
        <input
          type="checkbox"
          checked={form[name]}
          onChange={(event) => setForm({ ...form, [name]: event.target.checked })}
        />{' '}
        {label}
      </label>
    </div>
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(inputOf(form));
  };
  return (
    <section aria-labelledby="new-connector" data-testid="new-connector">
      <h2 id="new-connector">New connector</h2>
      <form className="filters connector-form" onSubmit={submit} aria-labelledby="new-connector">
        {text('displayName', 'Name')}
        <div className="field">
          <label htmlFor="n-flavor">Directory</label>
          <select
            id="n-flavor"
            value={form.flavor}
            onChange={(event) =>
              setForm({ ...form, flavor: event.target.value as NewConnectorForm['flavor'] })
            }
          >
            <option value="openldap">OpenLDAP</option>
            <option value="activeDirectory">Active Directory</option>
          </select>
        </div>
        {text('url', 'URL', 'ldaps://host, or ldap://host with StartTLS')}
        {check('startTls', 'StartTLS')}
        {check(
          'allowInsecure',
          'Allow an unencrypted connection (the bind password crosses the network in clear)',
        )}
        <div className="field wide">
          <label htmlFor="n-caCertificate">CA certificate (PEM)</label>
          <textarea
            id="n-caCertificate"
            rows={3}
            value={form.caCertificate}
            aria-describedby="n-caCertificate-hint"
            onChange={(event) => setForm({ ...form, caCertificate: event.target.value })}
          />
          <small className="hint" id="n-caCertificate-hint">
            blank: the system's certificate authorities
          </small>
        </div>
        {text('bindDn', 'Bind DN', 'the service account')}
        {text('bindPassword', 'Bind password', 'kept encrypted; never shown again', 'password')}
        {text('baseDn', 'Base DN', 'where the users are')}
        {text('userFilter', 'User filter', "blank: the directory kind's default")}
        {check('writeback', 'Write password changes back to the directory')}
        {text('syncIntervalSeconds', 'Sync every (seconds)', 'blank: the default')}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            Add connector
          </button>
        </div>
      </form>
      {create.error ? <ErrorNotice error={create.error} /> : null}
    </section>
  );
}

function HealthWindow({ title, window }: { readonly title: string; readonly window: ConnectorHealthWindow }) {
  return (
    <div>
      <h4>{title}</h4>
      <dl className="facts">
        <dt>Calls</dt>
        <dd>
          {window.calls} ({window.succeeded} succeeded, {window.refused} refused, {window.failed} failed)
        </dd>
        <dt>Success rate</dt>
        <dd>{window.successRate === null ? '—' : `${(window.successRate * 100).toFixed(1)} %`}</dd>
        <dt>Latency</dt>
        <dd>
          p50 {window.latencyMs.p50 ?? '—'} ms, p99 {window.latencyMs.p99 ?? '—'} ms
        </dd>
        <dt>Last error</dt>
        <dd>
          {window.lastError ? (
            <>
              <When at={window.lastError.dateTime} /> {window.lastError.operation}:{' '}
              <CodeLink code={window.lastError.code} /> {window.lastError.reason ?? ''}{' '}
              {window.lastError.diagnostic ?? ''}
            </>
          ) : (
            'none'
          )}
        </dd>
        <dt>Last success</dt>
        <dd>
          {window.lastSuccess ? (
            <>
              <When at={window.lastSuccess.dateTime} /> {window.lastSuccess.operation}
            </>
          ) : (
            'none'
          )}
        </dd>
      </dl>
    </div>
  );
}

function TestReport({ report }: { readonly report: ConnectorTestReport }) {
  return (
    <div
      className={`notice ${report.success ? 'notice-success' : 'notice-error'}`}
      data-testid="test-report"
      role="status"
    >
      <p>
        <strong>{report.success ? 'The connection test passed.' : 'The connection test failed.'}</strong>{' '}
        {report.usersFound !== null && `${report.usersFound} user(s) found.`}
      </p>
      <table>
        <caption className="visually-hidden">Steps of the connection test</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Result</th>
            <th scope="col">Latency</th>
            <th scope="col">Code</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {report.steps.map((step) => (
            <tr key={step.step}>
              <td>{step.step}</td>
              <td>
                <StateBadge value={step.result} />
              </td>
              <td>{step.latencyMs === null ? '—' : `${Math.round(step.latencyMs)} ms`}</td>
              <td>
                <CodeLink code={step.code} />
              </td>
              <td>{step.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Detail({ connector, onRemoved }: { readonly connector: Connector; readonly onRemoved: () => void }) {
  const client = useQueryClient();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const path = `/rekey/v1/connectors/${encodeURIComponent(connector.id)}`;
  const sync = useMutation({
    mutationFn: async () => (await callApi<ConnectorSyncReport>('POST', `${path}/sync`)).body,
    onSettled: () => client.invalidateQueries({ queryKey: ['connectors'] }),
  });
  const remove = useMutation({
    mutationFn: () => callApi('DELETE', path),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['connectors'] });
      onRemoved();
    },
  });
  const health = useQuery({
    queryKey: ['connectorHealth', connector.id],
    queryFn: () =>
      getJson<ConnectorHealth>(`/rekey/v1/connectors/${encodeURIComponent(connector.id)}/health`),
  });
  const test = useMutation({
    mutationFn: async () =>
      (
        await callApi<ConnectorTestReport>(
          'POST',
          `/rekey/v1/connectors/${encodeURIComponent(connector.id)}/test`,
        )
      ).body,
    onSettled: () => {
      void client.invalidateQueries({ queryKey: ['connectorHealth', connector.id] });
      void client.invalidateQueries({ queryKey: ['connectors'] });
    },
  });
  return (
    <section className="detail-panel" aria-labelledby="connector-detail" data-testid="connector-detail">
      <h2 id="connector-detail">{connector.displayName}</h2>
      <dl className="facts">
        <dt>Directory</dt>
        <dd>{connector.flavor === 'activeDirectory' ? 'Active Directory' : 'OpenLDAP'}</dd>
        <dt>URL</dt>
        <dd>
          {connector.url}
          {connector.startTls ? ' (StartTLS)' : ''}
          {connector.allowInsecure ? ' (unencrypted allowed)' : ''}
        </dd>
        <dt>Bind DN</dt>
        <dd>{connector.bindDn}</dd>
        <dt>Base DN</dt>
        <dd>{connector.baseDn}</dd>
        <dt>User filter</dt>
        <dd>{connector.userFilter}</dd>
        <dt>Password writeback</dt>
        <dd>{connector.writeback ? 'On' : 'Off'}</dd>
        <dt>Sync</dt>
        <dd>
          {connector.syncIntervalSeconds === null ? 'manual' : `every ${connector.syncIntervalSeconds} s`},
          last run <When at={connector.lastSyncDateTime} />
        </dd>
        <dt>Last test</dt>
        <dd>
          <When at={connector.lastTestDateTime} />
        </dd>
      </dl>
      <div className="actions">
        <button type="button" className="primary" onClick={() => test.mutate()} disabled={test.isPending}>
          {test.isPending ? 'Testing…' : 'Test the connection'}
        </button>
        <button type="button" onClick={() => sync.mutate()} disabled={sync.isPending}>
          {sync.isPending ? 'Syncing…' : 'Sync now'}
        </button>
        {confirmRemove ? (
          <button
            type="button"
            className="danger"
            onClick={() => {
              setConfirmRemove(false);
              remove.mutate();
            }}
          >
            Confirm removal
          </button>
        ) : null}
        {confirmRemove ? (
          <button type="button" onClick={() => setConfirmRemove(false)}>
            Cancel
          </button>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirmRemove(true)}>
            Remove connector
          </button>
        )}
      </div>
      {test.error ? <ErrorNotice error={test.error} /> : null}
      {sync.error ? <ErrorNotice error={sync.error} /> : null}
      {remove.error ? <ErrorNotice error={remove.error} /> : null}
      {sync.data && (
        <p role="status" data-testid="sync-result">
          Sync {sync.data.mode}: <StateBadge value={sync.data.result} /> {sync.data.counts.seen} seen,{' '}
          {sync.data.counts.created} created, {sync.data.counts.updated} updated, {sync.data.counts.deleted}{' '}
          deleted, {sync.data.counts.failed} failed
          {sync.data.code !== null && (
            <>
              {' '}
              <CodeLink code={sync.data.code} />
            </>
          )}
          {sync.data.message ? ` · ${sync.data.message}` : ''}
        </p>
      )}
      {test.data && <TestReport report={test.data} />}
      <h3>Health</h3>
      {health.error ? <ErrorNotice error={health.error} /> : null}
      {health.data && (
        <div className="grid-2" data-testid="connector-health">
          <HealthWindow title="Last hour" window={health.data.lastHour} />
          <HealthWindow title="Last 24 hours" window={health.data.lastDay} />
        </div>
      )}
    </section>
  );
}

export function Page() {
  const connectors = useQuery({
    queryKey: ['connectors'],
    queryFn: () => getJson<ConnectorList>('/rekey/v1/connectors'),
  });
  const [selected, setSelected] = useState<string | undefined>();
  const list = connectors.data?.value ?? [];
  const healths = useQueries({
    queries: list.map((connector) => ({
      queryKey: ['connectorHealth', connector.id],
      queryFn: () =>
        getJson<ConnectorHealth>(`/rekey/v1/connectors/${encodeURIComponent(connector.id)}/health`),
    })),
  });
  const loadedHealth = healths.flatMap((health) => (health.data ? [health.data] : []));
  const current = list.find((connector) => connector.id === selected);
  const client = useQueryClient();
  const [adding, setAdding] = useState(false);
  return (
    <section>
      <h1>Connectors</h1>
      <p className="lead">
        The on-premises directories Rekey imports users from and writes passwords back to.
      </p>
      {connectors.error ? <ErrorNotice error={connectors.error} /> : null}
      {connectors.isPending && <p aria-live="polite">Loading…</p>}
      {connectors.isSuccess && list.length === 0 && (
        <p>No connector yet. Add one here, with `rekey connectors add` or with POST /rekey/v1/connectors.</p>
      )}
      <div className="actions">
        <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>
          New connector
        </button>
      </div>
      {adding && (
        <NewConnector
          onCreated={(connector) => {
            setAdding(false);
            setSelected(connector.id);
            void client.invalidateQueries({ queryKey: ['connectors'] });
          }}
        />
      )}
      {list.length > 0 && (
        <div className="split">
          <table data-testid="connectors-table">
            <caption className="visually-hidden">Directory connectors</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">URL</th>
                <th scope="col">Last test</th>
                <th scope="col">Last sync</th>
              </tr>
            </thead>
            <tbody>
              {list.map((connector) => (
                <tr key={connector.id} className={selected === connector.id ? 'selected' : undefined}>
                  <td>
                    <button type="button" className="link-button" onClick={() => setSelected(connector.id)}>
                      {connector.displayName}
                    </button>
                  </td>
                  <td>{connector.url}</td>
                  <td>
                    {connector.lastTestResult ? (
                      <StateBadge
                        value={
                          (connector.lastTestResult as { success?: boolean }).success ? 'success' : 'failure'
                        }
                      />
                    ) : (
                      'never'
                    )}
                  </td>
                  <td>
                    {connector.lastSyncResult ? (
                      <StateBadge
                        value={String((connector.lastSyncResult as { result?: string }).result ?? 'unknown')}
                      />
                    ) : (
                      'never'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {current && (
            <Detail key={current.id} connector={current} onRemoved={() => setSelected(undefined)} />
          )}
        </div>
      )}
      {loadedHealth.length > 0 && <ConnectorLatencyChart health={loadedHealth} />}
    </section>
  );
}
