import { type FormEvent, useEffect, useState } from 'react';
import type { PasswordPolicyPreview, PasswordPolicySettings } from '../../api/admin-types.js';
import {
  changedFields,
  PreviewPanel,
  SettingsActions,
  SettingsFrame,
  useSettings,
} from './admin-kit/settings.js';
import './admin-kit/admin.css';

/*
 * Password reset settings: the password policy every change and reset is judged by (length,
 * categories, history, age, expiry). GET/PATCH /rekey/v1/settings/passwordPolicy; the preview
 * names the users whose password would expire at once.
 */

type Draft = Record<keyof PasswordPolicySettings, string>;

const fields: ReadonlyArray<{
  readonly name: Exclude<keyof PasswordPolicySettings, 'maximumAgeDays'>;
  readonly label: string;
  readonly hint: string;
}> = [
  { name: 'minLength', label: 'Minimum length', hint: '4 to 256 characters' },
  { name: 'maxLength', label: 'Maximum length', hint: 'up to 256, at least the minimum' },
  {
    name: 'requiredCategories',
    label: 'Character categories required',
    hint: '1 to 4 of lower case, upper case, digits, symbols',
  },
  {
    name: 'historyCountOnChange',
    label: 'Passwords remembered on a change',
    hint: '0 to 24; 1 refuses the current password',
  },
  {
    name: 'historyCountOnReset',
    label: 'Passwords remembered on a reset',
    hint: "0 to 24; 0 lets an administrator's reset set the current one again",
  },
  { name: 'minimumAgeDays', label: 'Minimum age (days)', hint: '0 to 730; resets are exempt' },
  { name: 'expiryWarningDays', label: 'Warn before expiry (days)', hint: '0 to 90' },
];

function toDraft(settings: PasswordPolicySettings): Draft {
  return {
    minLength: String(settings.minLength),
    maxLength: String(settings.maxLength),
    requiredCategories: String(settings.requiredCategories),
    historyCountOnChange: String(settings.historyCountOnChange),
    historyCountOnReset: String(settings.historyCountOnReset),
    minimumAgeDays: String(settings.minimumAgeDays),
    maximumAgeDays: settings.maximumAgeDays === null ? '' : String(settings.maximumAgeDays),
    expiryWarningDays: String(settings.expiryWarningDays),
  };
}

/** The draft as settings; a field that is not a number goes as typed, for the server to name. */
function fromDraft(draft: Draft): PasswordPolicySettings {
  const num = (text: string) => (text.trim() === '' || Number.isNaN(Number(text)) ? text : Number(text));
  return {
    ...(Object.fromEntries(
      Object.entries(draft).map(([name, text]) => [name, num(text)]),
    ) as unknown as PasswordPolicySettings),
    maximumAgeDays: draft.maximumAgeDays.trim() === '' ? null : (num(draft.maximumAgeDays) as number),
  };
}

export function Page() {
  const { settings, mayChange, mayChangeKnown, preview, save } = useSettings<
    PasswordPolicySettings,
    PasswordPolicyPreview
  >('/rekey/v1/settings/passwordPolicy');
  const [draft, setDraft] = useState<Draft | undefined>();
  useEffect(() => {
    if (settings.data) setDraft(toDraft(settings.data));
  }, [settings.data]);
  const patch = settings.data && draft ? changedFields(settings.data, fromDraft(draft)) : {};
  const dirty = Object.keys(patch).length > 0;
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (mayChange && dirty) save.mutate(patch);
  };
  const impact = preview.data?.impact;
  return (
    <SettingsFrame
      title="Password reset"
      intro="The password policy every change and administrator's reset is checked against: length, character categories, history, age and expiry."
      error={settings.error}
      loading={settings.isPending}
      mayChange={mayChange}
      mayChangeKnown={mayChangeKnown}
    >
      {draft && (
        <form className="card settings-form" onSubmit={submit} aria-label="Password policy">
          {fields.map((field) => (
            <div className="field" key={field.name}>
              <label htmlFor={field.name}>{field.label}</label>
              <input
                id={field.name}
                inputMode="numeric"
                value={draft[field.name]}
                readOnly={!mayChange}
                aria-describedby={`${field.name}-hint`}
                onChange={(event) => setDraft({ ...draft, [field.name]: event.target.value })}
              />
              <small id={`${field.name}-hint`} className="hint">
                {field.hint}
              </small>
            </div>
          ))}
          <div className="field">
            <label htmlFor="maximumAgeDays">Passwords expire after (days)</label>
            <input
              id="maximumAgeDays"
              inputMode="numeric"
              value={draft.maximumAgeDays}
              readOnly={!mayChange}
              aria-describedby="maximumAgeDays-hint"
              onChange={(event) => setDraft({ ...draft, maximumAgeDays: event.target.value })}
            />
            <small id="maximumAgeDays-hint" className="hint">
              1 to 730, more than the minimum age; empty: passwords never expire
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
              Users whose password would expire at once: <strong>{impact.usersExpiredImmediately}</strong>
              {impact.sample.length > 0 &&
                ` (${impact.sample.join(', ')}${impact.usersExpiredImmediately > impact.sample.length ? ', …' : ''})`}
            </li>
            <li>Users entering the expiry warning window: {impact.usersEnteringWarningWindow}</li>
            <li>Users whose password would no longer be expired: {impact.usersNoLongerExpired}</li>
            {impact.appliesAtNextChange.length > 0 && (
              <li>Applies to passwords set from now on: {impact.appliesAtNextChange.join(', ')}</li>
            )}
          </ul>
          <p className="hint">{impact.note}</p>
        </PreviewPanel>
      )}
    </SettingsFrame>
  );
}
