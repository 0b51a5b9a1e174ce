import { type FormEvent, useEffect, useState } from 'react';
import type { PasswordProtectionPreview, PasswordProtectionSettings } from '../../api/admin-types.js';
import {
  changedFields,
  PreviewPanel,
  SettingsActions,
  SettingsFrame,
  useSettings,
} from './admin-kit/settings.js';
import './admin-kit/admin.css';

/*
 * Password protection: the banned-password check (on or off, enforced or audit only), the tenant's
 * custom banned list, and whether the tenant name counts as banned. GET/PATCH
 * /rekey/v1/settings/passwordProtection; the preview shows the terms added and removed before
 * anything is saved. The server checks every term (4 to 16 characters, at most 1000, unique).
 */

interface Draft {
  readonly enabled: boolean;
  readonly mode: PasswordProtectionSettings['mode'];
  readonly checkTenantName: boolean;
  /** One term a line, as typed. */
  readonly terms: string;
}

function toDraft(settings: PasswordProtectionSettings): Draft {
  return {
    enabled: settings.enabled,
    mode: settings.mode,
    checkTenantName: settings.checkTenantName,
    terms: settings.customBannedPasswords.join('\n'),
  };
}

function fromDraft(draft: Draft): PasswordProtectionSettings {
  return {
    enabled: draft.enabled,
    mode: draft.mode,
    checkTenantName: draft.checkTenantName,
    customBannedPasswords: draft.terms
      .split('\n')
      .map((term) => term.trim())
      .filter((term) => term !== ''),
  };
}

export function Page() {
  const { settings, mayChange, mayChangeKnown, preview, save } = useSettings<
    PasswordProtectionSettings,
    PasswordProtectionPreview
  >('/rekey/v1/settings/passwordProtection');
  const [draft, setDraft] = useState<Draft | undefined>();
  useEffect(() => {
    if (settings.data) setDraft(toDraft(settings.data));
  }, [settings.data]);
  const patch = settings.data && draft ? changedFields(settings.data, fromDraft(draft)) : {};
  const dirty = Object.keys(patch).length > 0;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mayChange && dirty) save.mutate(patch);
  };
  const impact = preview.data?.impact;
  return (
    <SettingsFrame
      title="Password protection"
      intro="Refuses passwords built on commonly used or banned terms. The global list is Rekey's; the custom list is this tenant's own."
      error={settings.error}
      loading={settings.isPending}
      mayChange={mayChange}
      mayChangeKnown={mayChangeKnown}
    >
      {draft && (
        <form className="card settings-form" onSubmit={submit} aria-label="Password protection">
          <div className="field">
            <label>
              <input
                type="checkbox"
                className="inline"
                checked={draft.enabled}
                disabled={!mayChange}
                onChange={(event) => setDraft({ ...draft, enabled: event.target.checked })}
              />{' '}
              Check new passwords against the banned lists
            </label>
          </div>
          <div className="field">
            <label htmlFor="mode">Mode</label>
            <select
              id="mode"
              value={draft.mode}
              disabled={!mayChange}
              onChange={(event) => setDraft({ ...draft, mode: event.target.value as Draft['mode'] })}
            >
              <option value="Enforced">Enforced: refuse a banned password</option>
              <option value="Audit">Audit: accept it, and log that it would have been refused</option>
            </select>
          </div>
          <div className="field">
            <label>
              <input
                type="checkbox"
                className="inline"
                checked={draft.checkTenantName}
                disabled={!mayChange}
                onChange={(event) => setDraft({ ...draft, checkTenantName: event.target.checked })}
              />{' '}
              Count the tenant's name as a banned term
            </label>
          </div>
          <div className="field">
            <label htmlFor="terms">Custom banned passwords (one term a line)</label>
            <textarea
              id="terms"
              value={draft.terms}
              readOnly={!mayChange}
              aria-describedby="terms-hint"
              onChange={(event) => setDraft({ ...draft, terms: event.target.value })}
            />
            <small id="terms-hint" className="hint">
              At most 1000 terms, each 4 to 16 characters; case and common substitutions (0 for o, @ for a)
              are matched too.
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
      {preview.data && impact && (
        <PreviewPanel changes={preview.data.changes}>
          <ul className="impact">
            <li>
              Custom terms: {impact.customBannedPasswords.before} now, {impact.customBannedPasswords.after}{' '}
              after saving
            </li>
            {impact.customBannedPasswords.added.length > 0 && (
              <li data-testid="terms-added">Added: {impact.customBannedPasswords.added.join(', ')}</li>
            )}
            {impact.customBannedPasswords.removed.length > 0 && (
              <li>Removed: {impact.customBannedPasswords.removed.join(', ')}</li>
            )}
            <li>Terms on Rekey's global list: {impact.globalBannedTerms}</li>
          </ul>
          <p className="hint">{impact.note}</p>
        </PreviewPanel>
      )}
    </SettingsFrame>
  );
}
