import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { callApi, getJson, holdReauthentication } from '../../api/client.js';
import type {
  ChangePasswordBody,
  GraphPage,
  PolicyEvaluation,
  PolicyRuleId,
  SignIn,
  UserEntity,
} from '../../api/types.js';
import { signIn } from '../../auth/auth.js';
import { CodeLink, formatTime, ResultCell } from '../../components/code-link.js';
import { ErrorNotice } from '../../components/error-notice.js';

/** How long typing must pause before the policy engine is asked (one request per pause, not per key). */
const evaluateDelayMs = 300;

/**
 * The policy engine's verdict on `password` for the signed-in user, asked once typing pauses. Kept
 * in component state, not in the query cache: a password has no business in a cache key.
 */
function useLiveEvaluation(password: string): { verdict?: PolicyEvaluation; error?: unknown } {
  const [state, setState] = useState<{ verdict?: PolicyEvaluation; error?: unknown }>({});
  useEffect(() => {
    if (password === '') {
      setState({});
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      callApi<PolicyEvaluation>('POST', '/rekey/v1/me/passwordPolicy/evaluate', { password }).then(
        (answer) => current && setState({ verdict: answer.body }),
        (error: unknown) => current && setState({ error }),
      );
    }, evaluateDelayMs);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [password]);
  return state;
}

/** Each rule of the policy engine in words; typed by the engine's own rule ids, so a new rule fails typecheck here. */
const ruleLabels: Readonly<Record<PolicyRuleId, string>> = {
  unsupportedCharacters: 'Only characters Rekey accepts',
  length: 'Long enough',
  characterCategories: 'Mixes enough kinds of characters',
  containsUserName: 'Does not contain your name or user name',
  passwordProtection: 'No banned words',
  breached: 'Not found in known breaches',
  history: 'Not one of your recent passwords',
  minimumAge: 'Your last change was long enough ago',
};

function PolicyFeedback({ verdict }: { readonly verdict: PolicyEvaluation }) {
  const failed = new Set(verdict.failures.map((failure) => failure.rule));
  return (
    <div className="policy-feedback" aria-live="polite" data-testid="policy-feedback">
      <p>
        {verdict.valid ? (
          <span className="badge badge-ok">Rekey accepts this password</span>
        ) : (
          <span className="badge badge-bad">Rekey would refuse this password</span>
        )}
      </p>
      <ul className="rules">
        {verdict.rulesChecked.map((rule) => (
          <li key={rule} className={failed.has(rule) ? 'fail' : 'pass'}>
            {ruleLabels[rule as PolicyRuleId] ?? rule}
          </li>
        ))}
      </ul>
      {verdict.failures.map((failure) => (
        <p key={failure.rule} className="policy-failure">
          {failure.message} (code <CodeLink code={failure.code} />)
        </p>
      ))}
    </div>
  );
}

function ChangePasswordCard() {
  const ids = { current: useId(), next: useId(), confirm: useId() };
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const live = useLiveEvaluation(newPassword);
  const change = useMutation({
    mutationFn: (body: ChangePasswordBody) => callApi<undefined>('POST', '/v1.0/me/changePassword', body),
    // Nothing is read again: the change ended every session of the user, this page's token too.
    // The page stays to say so (a request still in flight gets a 401 and must not take it away),
    // and the user signs in again with the new password when they choose.
    onSuccess: () => {
      holdReauthentication();
      setCurrentPassword('');
      setNewPassword('');
      setConfirm('');
    },
  });
  const mismatch = confirm !== '' && confirm !== newPassword;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mismatch) return;
    change.mutate({ currentPassword, newPassword });
  };
  return (
    <section className="card" aria-labelledby="change-password-title">
      <h2 id="change-password-title">Change password</h2>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={ids.current}>Current password</label>
          <input
            id={ids.current}
            type="password"
            autoComplete="current-password"
            value={currentPassword}
            onChange={(event) => setCurrentPassword(event.target.value)}
            required
          />
        </div>
        <div className="field">
          <label htmlFor={ids.next}>New password</label>
          <input
            id={ids.next}
            type="password"
            autoComplete="new-password"
            value={newPassword}
            onChange={(event) => {
              setNewPassword(event.target.value);
              change.reset();
            }}
            required
          />
        </div>
        {live.verdict && <PolicyFeedback verdict={live.verdict} />}
        {live.error !== undefined && <ErrorNotice error={live.error} />}
        <div className="field">
          <label htmlFor={ids.confirm}>Confirm new password</label>
          <input
            id={ids.confirm}
            type="password"
            autoComplete="new-password"
            value={confirm}
            onChange={(event) => setConfirm(event.target.value)}
            aria-invalid={mismatch}
            required
          />
          {mismatch && <p className="field-error">The two new passwords differ.</p>}
        </div>
        <button
          type="submit"
          className="primary"
          disabled={
            change.isPending || currentPassword === '' || newPassword === '' || confirm !== newPassword
          }
        >
          {change.isPending ? 'Changing…' : 'Change password'}
        </button>
      </form>
      {change.error && <ErrorNotice error={change.error} />}
      {change.isSuccess && (
        <div role="status" className="notice notice-success">
          <p>
            Your password was changed. Your sessions have ended, here and on every other device: sign in again
            with the new password.
          </p>
          <button
            type="button"
            className="primary"
            onClick={() => void signIn('myaccount', `${window.location.pathname}${window.location.search}`)}
          >
            Sign in again
          </button>
        </div>
      )}
    </section>
  );
}

function RecentSignIns() {
  const signIns = useQuery({
    queryKey: ['me', 'signIns'],
    queryFn: () =>
      getJson<GraphPage<SignIn>>(
        '/rekey/v1/me/signIns?$top=10&$select=createdDateTime,appDisplayName,ipAddress,status,correlationId',
      ),
  });
  return (
    <section aria-labelledby="recent-sign-ins-title">
      <h2 id="recent-sign-ins-title">Your recent sign-ins</h2>
      {signIns.error && <ErrorNotice error={signIns.error} />}
      {signIns.data && signIns.data.value.length === 0 && <p>No sign-ins yet.</p>}
      {signIns.data && signIns.data.value.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Application</th>
              <th scope="col">IP address</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {signIns.data.value.map((row) => (
              <tr key={row.id}>
                <td>{formatTime(row.createdDateTime)}</td>
                <td>{row.appDisplayName ?? '—'}</td>
                <td>{row.ipAddress ?? '—'}</td>
                <td>
                  <ResultCell errorCode={row.status?.errorCode ?? 0} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** My account: who I am, change my password with live feedback, my recent sign-ins. */
export function Page() {
  const me = useQuery({
    queryKey: ['me'],
    queryFn: () =>
      getJson<UserEntity>('/v1.0/me?$select=id,displayName,userPrincipalName,lastPasswordChangeDateTime'),
  });
  return (
    <>
      <h1>My account</h1>
      {me.error && <ErrorNotice error={me.error} />}
      {me.data && (
        <dl className="facts">
          <dt>Name</dt>
          <dd>{me.data.displayName}</dd>
          <dt>User name</dt>
          <dd>{me.data.userPrincipalName}</dd>
          <dt>Password last changed</dt>
          <dd>{formatTime(me.data.lastPasswordChangeDateTime)}</dd>
        </dl>
      )}
      <ChangePasswordCard />
      <RecentSignIns />
    </>
  );
}
