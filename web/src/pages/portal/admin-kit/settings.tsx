import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError, callApi, getJson } from '../../../api/client.js';
import { ErrorNotice } from '../../../components/error-notice.js';

/*
 * What the three settings pages share: read the settings, find out whether the signed-in
 * administrator may change them, preview a change (`?preview=true`: what would change and whom it
 * would affect; nothing is applied) and save it. The server checks every field and answers one
 * 7700001 naming each bad one; the page shows that answer as it came (message, code, link).
 *
 * Whether the administrator may change the settings is asked of the server itself: the preview of
 * no change at all takes the same role as a change, so its 403 means "read only" (the server
 * enforces it on every save anyway).
 */

export interface SettingsChange {
  readonly field: string;
  readonly oldValue: unknown;
  readonly newValue: unknown;
}

export interface Previewed {
  readonly changes: readonly SettingsChange[];
}

/** The fields of `draft` whose value differs from `current` (what a PATCH needs to send). */
export function changedFields<T extends object>(current: T, draft: T): Partial<T> {
  const patch: Partial<T> = {};
  for (const key of Object.keys(draft) as Array<keyof T>) {
    if (JSON.stringify(draft[key]) !== JSON.stringify(current[key])) patch[key] = draft[key];
  }
  return patch;
}

export function useSettings<Settings extends object, Preview extends Previewed>(path: string) {
  const client = useQueryClient();
  const settings = useQuery({ queryKey: ['settings', path], queryFn: () => getJson<Settings>(path) });
  const mayChange = useQuery({
    queryKey: ['settings-may-change', path],
    queryFn: async () => {
      try {
        await callApi('PATCH', `${path}?preview=true`, {});
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 403) return false;
        throw error;
      }
    },
  });
  const preview = useMutation({
    mutationFn: async (patch: Partial<Settings>) =>
      (await callApi<Preview>('PATCH', `${path}?preview=true`, patch)).body,
  });
  const save = useMutation({
    mutationFn: async (patch: Partial<Settings>) => (await callApi<Settings>('PATCH', path, patch)).body,
    onSuccess: (saved) => {
      client.setQueryData(['settings', path], saved);
      preview.reset();
    },
  });
  return { settings, mayChange: mayChange.data === true, mayChangeKnown: mayChange.isSuccess, preview, save };
}

function show(value: unknown): string {
  if (value === null) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : value.join(', ');
  return String(value);
}

/** The table of a preview's changed fields, then what the page says about the impact. */
export function PreviewPanel({
  changes,
  children,
}: {
  readonly changes: readonly SettingsChange[];
  readonly children?: ReactNode;
}) {
  return (
    <section className="card preview" aria-labelledby="preview-heading" data-testid="settings-preview">
      <h2 id="preview-heading">Impact preview (nothing is saved yet)</h2>
      {changes.length === 0 ? (
        <p>Nothing would change.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Settings that would change</caption>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">Now</th>
              <th scope="col">After saving</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((change) => (
              <tr key={change.field}>
                <td>{change.field}</td>
                <td>{show(change.oldValue)}</td>
                <td>{show(change.newValue)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {children}
    </section>
  );
}

/** The frame of a settings page: the title, loading and errors, the read-only note, the form. */
export function SettingsFrame(props: {
  readonly title: string;
  readonly intro: ReactNode;
  readonly error: unknown;
  readonly loading: boolean;
  readonly mayChange: boolean;
  readonly mayChangeKnown: boolean;
  readonly children: ReactNode;
}) {
  return (
    <section>
      <h1>{props.title}</h1>
      <p className="lead">{props.intro}</p>
      {props.error ? <ErrorNotice error={props.error} /> : null}
      {props.loading && <p aria-live="polite">Loading…</p>}
      {props.mayChangeKnown && !props.mayChange && (
        <p className="notice notice-info" data-testid="read-only">
          You can read these settings; changing them takes a Global Administrator or an Authentication Policy
          Administrator.
        </p>
      )}
      {props.children}
    </section>
  );
}

/** Preview and Save (the form's submit button), with what each answered. */
export function SettingsActions(props: {
  readonly mayChange: boolean;
  readonly dirty: boolean;
  readonly onPreview: () => void;
  readonly previewing: boolean;
  readonly saving: boolean;
  readonly saved: boolean;
  readonly error: unknown;
}) {
  if (!props.mayChange) return null;
  return (
    <>
      <div className="actions">
        <button
          type="button"
          className="secondary"
          onClick={props.onPreview}
          disabled={!props.dirty || props.previewing}
        >
          {props.previewing ? 'Previewing…' : 'Preview impact'}
        </button>
        <button type="submit" className="primary" disabled={!props.dirty || props.saving}>
          {props.saving ? 'Saving…' : 'Save'}
        </button>
      </div>
      {props.error ? <ErrorNotice error={props.error} /> : null}
      {props.saved && !props.dirty && (
        <p className="notice notice-success" role="status">
          Saved.
        </p>
      )}
    </>
  );
}
