import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, callApi, getJson } from '../../api/client.js';
import type {
  GraphPage,
  LockoutView,
  LongRunningOperation,
  OperationPage,
  PasswordResetResponse,
  SignIn,
  SubscribedSku,
  UserEntity,
} from '../../api/types.js';
import { CodeLink, formatTime, ResultCell } from '../../components/code-link.js';
import { ErrorNotice } from '../../components/error-notice.js';

const detailSelect = [
  'id',
  'displayName',
  'userPrincipalName',
  'accountEnabled',
  'userType',
  'createdDateTime',
  'deletedDateTime',
  'lastPasswordChangeDateTime',
  'signInSessionsValidFromDateTime',
  'passwordPolicies',
  'passwordProfile',
  'assignedLicenses',
  'directoryRoles',
  'onPremisesSyncEnabled',
  'onPremisesImmutableId',
  'onPremisesDistinguishedName',
  'onPremisesSamAccountName',
  'onPremisesLastSyncDateTime',
].join(',');

/** How often a running reset is read again, as its `Retry-After` asks. */
const watchIntervalMs = 1000;

function Fact({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** The latest moment either network stays locked, or null. */
function lockedUntil(lockout: LockoutView): string | null {
  const times = lockout.networks.flatMap((network) => (network.lockedUntil ? [network.lockedUntil] : []));
  return times.sort().at(-1) ?? null;
}

/** Watches a reset's long-running operation until it ends (Graph's Location of the 202). */
function OperationWatch({
  location,
  generatedPassword,
}: {
  readonly location: string;
  readonly generatedPassword?: string;
}) {
  const queryClient = useQueryClient();
  const operation = useQuery({
    queryKey: ['operation', location],
    queryFn: async () => {
      const answer = await getJson<LongRunningOperation>(location);
      if (answer.status === 'succeeded' || answer.status === 'failed') {
        void queryClient.invalidateQueries({ queryKey: ['user'] });
      }
      return answer;
    },
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === 'succeeded' || status === 'failed' ? false : watchIntervalMs;
    },
  });
  const status = operation.data?.status;
  const failedCode = /\b(\d{5,8})\b/.exec(operation.data?.statusDetail ?? '')?.[1];
  return (
    <div
      className={`notice ${status === 'failed' ? 'notice-error' : status === 'succeeded' ? 'notice-success' : 'notice-info'}`}
    >
      <p>
        Password reset: <strong data-testid="operation-status">{status ?? 'accepted'}</strong>
        {status !== 'succeeded' && status !== 'failed' && ' (watching…)'}
      </p>
      {generatedPassword && (
        <p>
          Temporary password (shown once): <code data-testid="generated-password">{generatedPassword}</code>
        </p>
      )}
      {operation.data?.statusDetail && (
        <p>
          {operation.data.statusDetail}
          {failedCode && (
            <>
              {' '}
              (code <CodeLink code={Number(failedCode)} />)
            </>
          )}
        </p>
      )}
      {operation.error && <ErrorNotice error={operation.error} />}
    </div>
  );
}

function DeletedUser({ id }: { readonly id: string }) {
  const queryClient = useQueryClient();
  const deleted = useQuery({
    queryKey: ['deletedUser', id],
    queryFn: () => getJson<UserEntity>(`/v1.0/directory/deletedItems/${id}`),
  });
  const restore = useMutation({
    mutationFn: () => callApi('POST', `/v1.0/directory/deletedItems/${id}/restore`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['user', id] }),
  });
  if (deleted.error) return <ErrorNotice error={deleted.error} />;
  if (!deleted.data) return <p>Loading…</p>;
  return (
    <>
      <h1>{deleted.data.displayName}</h1>
      <p>
        <span className="badge badge-bad">Deleted</span> on {formatTime(deleted.data.deletedDateTime)}. A
        deleted user cannot sign in; restoring brings back everything it had.
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={() => restore.mutate()}
          disabled={restore.isPending}
        >
          Restore user
        </button>
      </div>
      {restore.error && <ErrorNotice error={restore.error} />}
    </>
  );
}

/** Users > user: sign-in status, licences, on-premises attributes, recent operations, and the actions. */
export function Page() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const [reset, setReset] = useState<{ location: string; generatedPassword?: string }>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [done, setDone] = useState<string>();

  const user = useQuery({
    queryKey: ['user', id],
    queryFn: () => getJson<UserEntity>(`/v1.0/users/${id}?$select=${detailSelect}`),
  });
  const lockout = useQuery({
    queryKey: ['user', id, 'lockout'],
    queryFn: () => getJson<LockoutView>(`/rekey/v1/users/${id}/lockout`),
    enabled: user.isSuccess,
  });
  const lastSignIn = useQuery({
    queryKey: ['user', id, 'lastSignIn'],
    queryFn: () =>
      getJson<GraphPage<SignIn>>(
        `/v1.0/auditLogs/signIns?$top=1&$filter=${encodeURIComponent(`userId eq ${id} and status/errorCode eq 0`)}`,
      ),
    enabled: user.isSuccess,
  });
  const operations = useQuery({
    queryKey: ['user', id, 'operations'],
    queryFn: () => getJson<OperationPage>(`/rekey/v1/operations?user=${encodeURIComponent(id)}&top=5`),
    enabled: user.isSuccess,
  });
  const skus = useQuery({
    queryKey: ['subscribedSkus'],
    queryFn: () => getJson<GraphPage<SubscribedSku>>('/v1.0/subscribedSkus'),
    enabled: user.isSuccess,
    staleTime: 5 * 60_000,
  });

  const act = useMutation({
    mutationFn: async (action: { label: string; run: () => Promise<unknown> }) => {
      await action.run();
      return action.label;
    },
    onMutate: () => setDone(undefined),
    onSuccess: (label) => {
      setDone(label);
      void queryClient.invalidateQueries({ queryKey: ['user', id] });
    },
  });
  const resetPassword = useMutation({
    mutationFn: () =>
      callApi<PasswordResetResponse>(
        'POST',
        `/v1.0/users/${id}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword`,
        {},
      ),
    onSuccess: (answer) => {
      const location = answer.headers.get('location');
      if (location) {
        setReset({
          location,
          ...(answer.body?.newPassword ? { generatedPassword: answer.body.newPassword } : {}),
        });
      }
    },
  });

  if (user.error instanceof ApiError && user.error.status === 404) return <DeletedUser id={id} />;
  if (user.error) return <ErrorNotice error={user.error} />;
  if (!user.data) return <p aria-live="polite">Loading…</p>;
  const u = user.data;
  const locked = lockout.data?.locked === true;
  const skuName = (skuId: string) =>
    skus.data?.value.find((sku) => sku.skuId === skuId)?.skuPartNumber ?? skuId;
  const last = lastSignIn.data?.value[0];

  return (
    <>
      <p>
        <Link to="/portal/users">Users</Link> &gt; {u.displayName}
      </p>
      <h1>{u.displayName}</h1>
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={() => resetPassword.mutate()}
          disabled={resetPassword.isPending}
        >
          Reset password
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!locked || act.isPending}
          onClick={() =>
            act.mutate({ label: 'Unlocked', run: () => callApi('POST', `/rekey/v1/users/${id}/unlock`) })
          }
        >
          Unlock
        </button>
        <button
          type="button"
          className="secondary"
          disabled={act.isPending}
          onClick={() =>
            act.mutate({
              label: u.accountEnabled ? 'Disabled' : 'Enabled',
              run: () => callApi('PATCH', `/v1.0/users/${id}`, { accountEnabled: !u.accountEnabled }),
            })
          }
        >
          {u.accountEnabled ? 'Disable sign-in' : 'Enable sign-in'}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={act.isPending}
          onClick={() =>
            act.mutate({
              label: 'Sessions revoked',
              run: () => callApi('POST', `/v1.0/users/${id}/revokeSignInSessions`),
            })
          }
        >
          Revoke sessions
        </button>
        {confirmDelete ? (
          <button
            type="button"
            className="danger"
            onClick={() => {
              setConfirmDelete(false);
              act.mutate({ label: 'Deleted', run: () => callApi('DELETE', `/v1.0/users/${id}`) });
            }}
          >
            Confirm delete
          </button>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete user
          </button>
        )}
      </div>
      {done && (
        <div role="status" className="notice notice-success">
          {done}.
        </div>
      )}
      {act.error && <ErrorNotice error={act.error} />}
      {resetPassword.error && <ErrorNotice error={resetPassword.error} />}
      {reset && <OperationWatch key={reset.location} {...reset} />}

      <h2>Sign-in status</h2>
      <dl className="facts" data-testid="sign-in-status">
        <Fact label="User principal name">{u.userPrincipalName}</Fact>
        <Fact label="Account">
          {u.accountEnabled ? (
            <span className="badge badge-ok">Enabled</span>
          ) : (
            <span className="badge badge-muted">Disabled</span>
          )}
        </Fact>
        <Fact label="Lockout">
          {lockout.error ? (
            <ErrorNotice error={lockout.error} />
          ) : locked && lockout.data ? (
            <span data-testid="lock-state">
              <span className="badge badge-bad">Locked</span> until {formatTime(lockedUntil(lockout.data))}
            </span>
          ) : (
            <span data-testid="lock-state">{lockout.data ? 'Not locked' : '…'}</span>
          )}
        </Fact>
        <Fact label="Last successful sign-in">
          {lastSignIn.error ? 'Not visible to you' : last ? formatTime(last.createdDateTime) : 'Never'}
        </Fact>
        <Fact label="Last password change">{formatTime(u.lastPasswordChangeDateTime)}</Fact>
        <Fact label="Must change password">
          {u.passwordProfile?.forceChangePasswordNextSignIn ? 'Yes' : 'No'}
        </Fact>
        <Fact label="Sessions valid from">{formatTime(u.signInSessionsValidFromDateTime)}</Fact>
        <Fact label="Password policies">{u.passwordPolicies ?? 'None'}</Fact>
        <Fact label="Roles">{u.directoryRoles?.length ? u.directoryRoles.join(', ') : 'None'}</Fact>
        <Fact label="Licences">
          {u.assignedLicenses?.length ? u.assignedLicenses.map((l) => skuName(l.skuId)).join(', ') : 'None'}
        </Fact>
        <Fact label="Created">{formatTime(u.createdDateTime)}</Fact>
      </dl>

      <h2>On-premises</h2>
      {u.onPremisesSyncEnabled ? (
        <dl className="facts">
          <Fact label="Distinguished name">{u.onPremisesDistinguishedName ?? '—'}</Fact>
          <Fact label="sAMAccountName">{u.onPremisesSamAccountName ?? '—'}</Fact>
          <Fact label="Immutable ID">{u.onPremisesImmutableId ?? '—'}</Fact>
          <Fact label="Last sync">{formatTime(u.onPremisesLastSyncDateTime)}</Fact>
        </dl>
      ) : (
        <p>A cloud user: no on-premises directory holds this account.</p>
      )}

      <h2>Recent password operations</h2>
      {operations.error && <ErrorNotice error={operations.error} />}
      {operations.data && (operations.data.value ?? []).length === 0 && <p>None.</p>}
      {operations.data && (operations.data.value ?? []).length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Accepted</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Step</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {(operations.data.value ?? []).map((operation) => (
              <tr key={operation.id}>
                <td>{formatTime(operation.createdDateTime)}</td>
                <td>{operation.kind}</td>
                <td>{operation.state}</td>
                <td>{operation.step}</td>
                <td>{operation.error ? <ResultCell errorCode={operation.error.code} /> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
