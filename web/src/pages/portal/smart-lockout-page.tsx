import { type FormEvent, useEffect, useState } from 'react';
import type { SmartLockoutPreview, SmartLockoutSettings } from '../../api/admin-types.js';
import {
  changedFields,
  PreviewPanel,
  SettingsActions,
  SettingsFrame,
  useSettings,
} from './admin-kit/settings.js';
import './admin-kit/admin.css';

/*
 * Smart lockout: how many counted wrong passwords lock an account, and for how long the first
 * lockout lasts. GET/PATCH /rekey/v1/settings/smartLockout; the preview counts who is locked now.
 */

type Draft = Record<keyof SmartLockoutSettings, string>;

function fromDraft(draft: Draft): SmartLockoutSettings {
  const num = (text: string) => (text.trim() === '' || Number.isNaN(Number(text)) ? text : Number(text));
  return {
    lockoutThreshold: num(draft.lockoutThreshold) as number,
    lockoutDurationInSeconds: num(draft.lockoutDurationInSeconds) as number,
  };
}

export function Page() {
  const { settings, mayChange, mayChangeKnown, preview, save } = useSettings<
    SmartLockoutSettings,
    SmartLockoutPreview
  >('/rekey/v1/settings/smartLockout');
  const [draft, setDraft] = useState<Draft | undefined>();
  useEffect(() => {
    if (settings.data)
      setDraft({
        lockoutThreshold: String(settings.data.lockoutThreshold),
        lockoutDurationInSeconds: String(settings.data.lockoutDurationInSeconds),
      });
  }, [settings.data]);
  const patch = settings.data && draft ? changedFields(settings.data, fromDraft(draft)) : {};
  const dirty = Object.keys(patch).length > 0;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mayChange && dirty) save.mutate(patch);
  };
  return (
    <SettingsFrame
      title="Smart lockout"
      intro="Locks an account after repeated wrong passwords from unfamiliar networks, for longer each time, while the owner can still sign in from familiar ones."
      error={settings.error}
      loading={settings.isPending}
      mayChange={mayChange}
      mayChangeKnown={mayChangeKnown}
    >
      {draft && (
        <form className="card settings-form" onSubmit={submit} aria-label="Smart lockout">
          <div className="field">
            <label htmlFor="lockoutThreshold">Lockout threshold</label>
            <input
              id="lockoutThreshold"
              inputMode="numeric"
              value={draft.lockoutThreshold}
              readOnly={!mayChange}
              aria-describedby="threshold-hint"
              onChange={(event) => setDraft({ ...draft, lockoutThreshold: event.target.value })}
            />
            <small id="threshold-hint" className="hint">
              Counted wrong passwords that lock the account: 1 to 100
            </small>
          </div>
          <div className="field">
            <label htmlFor="lockoutDurationInSeconds">Lockout duration (seconds)</label>
            <input
              id="lockoutDurationInSeconds"
              inputMode="numeric"
              value={draft.lockoutDurationInSeconds}
              readOnly={!mayChange}
              aria-describedby="duration-hint"
              onChange={(event) => setDraft({ ...draft, lockoutDurationInSeconds: event.target.value })}
            />
            <small id="duration-hint" className="hint">
              How long the first lockout lasts: 5 to 86400; later ones last longer
            </small>
          </div>
          <SettingsActions
            mayChange={mayChange}
            dirty={dirty}
            onPreview={() => preview.mutate(patch)}
            previewing={preview.isPending}
            saving={save.isPending}
            saved={save.isSuccess}
            error={preview.error ?? save.error}
          />
        </form>
      )}
      {preview.data && (
        <PreviewPanel changes={preview.data.changes}>
          <p>
            Accounts locked right now: <strong>{preview.data.impact.usersLockedNow}</strong>
          </p>
          <p className="hint">{preview.data.impact.note}</p>
        </PreviewPanel>
      )}
    </SettingsFrame>
  );
}
