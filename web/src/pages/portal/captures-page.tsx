import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { Capture, CaptureInput } from '../../api/admin-types.js';
import { callApi, downloadApi, getJson } from '../../api/client.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { StateBadge, When } from './admin-kit/format.js';
import './admin-kit/admin.css';

/*
 * Captures: start recording the API exchanges of a user or of a correlation ID for a while
 * (`POST /rekey/v1/captures`), watch them fill (`GET /rekey/v1/captures`, every 10 seconds), stop
 * one early (`DELETE /rekey/v1/captures/{id}`) and download one as a HAR file
 * (`GET /rekey/v1/captures/{id}/har`), redacted by the server. See docs/captures.md.
 */

type Target = 'userPrincipalName' | 'correlationId';

function targetOf(capture: Capture): string {
  if (capture.target === 'user') return capture.userPrincipalName ?? capture.userId ?? '';
  if (capture.target === 'correlationId') return `correlation ID ${capture.correlationId ?? ''}`;
  return `marked requests of ${capture.createdBy?.userPrincipalName ?? 'an administrator'}`;
}

export function Page() {
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<Target>('userPrincipalName');
  const [value, setValue] = useState('');
  const [minutes, setMinutes] = useState('30');
  const list = useQuery({
    queryKey: ['captures'],
    queryFn: () => getJson<{ value: Capture[] }>('/rekey/v1/captures'),
    refetchInterval: 10_000,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['captures'] });
  const start = useMutation({
    mutationFn: async (body: CaptureInput) =>
      (await callApi<Capture>('POST', '/rekey/v1/captures', body)).body,
    onSuccess: () => {
      setValue('');
      return refresh();
    },
  });
  const stop = useMutation({
    mutationFn: (id: string) => callApi<Capture>('DELETE', `/rekey/v1/captures/${id}`),
    onSuccess: refresh,
  });
  const download = useMutation({
    mutationFn: (id: string) => downloadApi(`/rekey/v1/captures/${id}/har`, `rekey-capture-${id}.har`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    // Sent as typed: the server names what is wrong with its code.
    start.mutate({ [target]: value.trim(), durationMinutes: Number(minutes) } as CaptureInput);
  };
  return (
    <section>
      <h1>Captures</h1>
      <p className="lead">
        Record what a user's apps, or one request's retries, send to Rekey and what it answers, for up to a
        day. Passwords, tokens, cookies and secrets are removed before anything is kept. Download a capture as
        a HAR file for any HAR viewer, or add it to a support bundle.
      </p>
      <form className="filters" onSubmit={submit} aria-label="Start a capture">
        <div className="field">
          <label htmlFor="c-target">Record</label>
          <select id="c-target" value={target} onChange={(event) => setTarget(event.target.value as Target)}>
            <option value="userPrincipalName">a user</option>
            <option value="correlationId">a correlation ID</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="c-value">
            {target === 'userPrincipalName' ? 'User principal name' : 'Correlation ID'}
          </label>
          <input id="c-value" value={value} onChange={(event) => setValue(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="c-minutes">Minutes</label>
          <input
            id="c-minutes"
            inputMode="numeric"
            value={minutes}
            aria-describedby="c-minutes-hint"
            onChange={(event) => setMinutes(event.target.value)}
          />
          <small className="hint" id="c-minutes-hint">
            1 to 1440
          </small>
        </div>
        <button type="submit" className="primary" disabled={start.isPending}>
          Start capture
        </button>
      </form>
      {start.error ? <ErrorNotice error={start.error} /> : null}
      {stop.error ? <ErrorNotice error={stop.error} /> : null}
      {download.error ? <ErrorNotice error={download.error} /> : null}
      {list.error ? <ErrorNotice error={list.error} /> : null}
      {list.isPending && <p aria-live="polite">Loading…</p>}
      {list.data && list.data.value.length === 0 && <p>No capture yet.</p>}
      {list.data && list.data.value.length > 0 && (
        <table data-testid="captures-table">
          <caption className="visually-hidden">Captures, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Records</th>
              <th scope="col">Status</th>
              <th scope="col">Until</th>
              <th scope="col">Exchanges</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data.value.map((capture) => (
              <tr key={capture.id}>
                <td>
                  <When at={capture.createdDateTime} />
                </td>
                <td>{targetOf(capture)}</td>
                <td>
                  <StateBadge value={capture.status} />
                </td>
                <td>
                  <When at={capture.stoppedDateTime ?? capture.endDateTime} />
                </td>
                <td data-testid="entry-count">
                  {capture.entryCount}
                  {capture.droppedCount > 0 ? ` (+${capture.droppedCount} not kept)` : ''}
                </td>
                <td>
                  <button
                    type="button"
                    onClick={() => download.mutate(capture.id)}
                    aria-label={`Download HAR of the capture of ${targetOf(capture)}`}
                  >
                    Download HAR
                  </button>{' '}
                  {capture.status === 'recording' && (
                    <button
                      type="button"
                      onClick={() => stop.mutate(capture.id)}
                      disabled={stop.isPending}
                      aria-label={`Stop the capture of ${targetOf(capture)}`}
                    >
                      Stop
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
