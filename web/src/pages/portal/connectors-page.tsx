import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type {
  Connector,
  ConnectorHealth,
  ConnectorHealthWindow,
  ConnectorList,
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
 * step's latency (`POST .../{id}/test`), and every connector's latency as a chart.
 */

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

function Detail({ connector }: { readonly connector: Connector }) {
  const client = useQueryClient();
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
      </div>
      {test.error ? <ErrorNotice error={test.error} /> : null}
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
  return (
    <section>
      <h1>Connectors</h1>
      <p className="lead">
        The on-premises directories Rekey imports users from and writes passwords back to.
      </p>
      {connectors.error ? <ErrorNotice error={connectors.error} /> : null}
      {connectors.isPending && <p aria-live="polite">Loading…</p>}
      {connectors.isSuccess && list.length === 0 && (
        <p>No connector yet. Add one with `rekey connectors add` or POST /rekey/v1/connectors.</p>
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
          {current && <Detail connector={current} />}
        </div>
      )}
      {loadedHealth.length > 0 && <ConnectorLatencyChart health={loadedHealth} />}
    </section>
  );
}
