import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { callApi, getJson } from '../../api/client.js';
import type { CreateUserBody, GraphPage, User, UserEntity } from '../../api/types.js';
import { ErrorNotice } from '../../components/error-notice.js';

/** Rows per page; the server pages (`$top`, then `@odata.nextLink`), the browser never holds more. */
const pageSize = 25;
const listSelect = 'id,displayName,userPrincipalName,accountEnabled,userType,onPremisesSyncEnabled';

type Status = 'all' | 'enabled' | 'disabled';
type UserKind = 'all' | 'Member' | 'Guest';

/** An OData string literal: quotes doubled, as OData escapes them. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The `$filter` of the search box and the filters; undefined for none. */
export function usersFilter(search: string, status: Status, kind: UserKind): string | undefined {
  const parts: string[] = [];
  const term = search.trim();
  if (term !== '') {
    parts.push(
      `(startswith(displayName,${literal(term)}) or startswith(userPrincipalName,${literal(term)}))`,
    );
  }
  if (status !== 'all') parts.push(`accountEnabled eq ${status === 'enabled'}`);
  if (kind !== 'all') parts.push(`userType eq ${literal(kind)}`);
  return parts.length === 0 ? undefined : parts.join(' and ');
}

function firstPageUrl(filter: string | undefined): string {
  const query = new URLSearchParams({ $top: String(pageSize), $select: listSelect, $count: 'true' });
  if (filter) query.set('$filter', filter);
  return `/v1.0/users?${query.toString()}`;
}

function CreateUserForm({ onCreated }: { readonly onCreated: (user: UserEntity) => void }) {
  const ids = { name: useId(), alias: useId(), upn: useId(), password: useId(), force: useId() };
  const [displayName, setDisplayName] = useState('');
  const [alias, setAlias] = useState('');
  const [upn, setUpn] = useState('');
  const [password, setPassword] = useState('');
  const [forceChange, setForceChange] = useState(true);
  const create = useMutation({
    mutationFn: async (body: CreateUserBody) => (await callApi<UserEntity>('POST', '/v1.0/users', body)).body,
    onSuccess: onCreated,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      accountEnabled: true,
      displayName,
      mailNickname: alias || upn.split('@')[0] || '',
      userPrincipalName: upn,
      passwordProfile: { password, forceChangePasswordNextSignIn: forceChange },
    });
  };
  return (
    <form className="card" onSubmit={submit} aria-label="New user">
      <h2>New user</h2>
      <div className="field">
        <label htmlFor={ids.name}>Display name</label>
        <input id={ids.name} value={displayName} onChange={(e) => setDisplayName(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor={ids.upn}>User principal name</label>
        <input
          id={ids.upn}
          value={upn}
          onChange={(e) => setUpn(e.target.value)}
          placeholder="name@example.com"
          required
        />
      </div>
      <div className="field">
        <label htmlFor={ids.alias}>Mail nickname (optional)</label>
        <input id={ids.alias} value={alias} onChange={(e) => setAlias(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.password}>Initial password</label>
        <input
          id={ids.password}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </div>
      <div className="field checkbox">
        <input
          id={ids.force}
          type="checkbox"
          checked={forceChange}
          onChange={(e) => setForceChange(e.target.checked)}
        />
        <label htmlFor={ids.force}>Require a new password at first sign-in</label>
      </div>
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create user'}
      </button>
      {create.error && <ErrorNotice error={create.error} />}
    </form>
  );
}

/** Users: search, filter, server-side paging, create. */
export function Page() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const ids = { search: useId(), status: useId(), kind: useId() };
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<Status>('all');
  const [kind, setKind] = useState<UserKind>('all');
  const [creating, setCreating] = useState(false);
  // The pages visited so far: the first page's URL, then each `@odata.nextLink` followed.
  const [pages, setPages] = useState<string[]>([firstPageUrl(undefined)]);
  const current = pages[pages.length - 1] ?? firstPageUrl(undefined);
  const users = useQuery({
    queryKey: ['users', current],
    queryFn: () => getJson<GraphPage<User>>(current),
    placeholderData: keepPreviousData,
  });
  const applyFilters = (event: FormEvent) => {
    event.preventDefault();
    setPages([firstPageUrl(usersFilter(search, status, kind))]);
  };
  const total = users.data?.['@odata.count'];
  const nextLink = users.data?.['@odata.nextLink'];
  return (
    <>
      <h1>Users</h1>
      <form className="toolbar" onSubmit={applyFilters} aria-label="Search users">
        <div>
          <label htmlFor={ids.search}>Search</label>
          <input
            id={ids.search}
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Name or user name starts with…"
          />
        </div>
        <div>
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={status} onChange={(e) => setStatus(e.target.value as Status)}>
            <option value="all">All</option>
            <option value="enabled">Enabled</option>
            <option value="disabled">Disabled</option>
          </select>
        </div>
        <div>
          <label htmlFor={ids.kind}>User type</label>
          <select id={ids.kind} value={kind} onChange={(e) => setKind(e.target.value as UserKind)}>
            <option value="all">All</option>
            <option value="Member">Member</option>
            <option value="Guest">Guest</option>
          </select>
        </div>
        <button type="submit" className="secondary">
          Apply
        </button>
        <button type="button" className="primary" onClick={() => setCreating((open) => !open)}>
          New user
        </button>
      </form>
      {creating && (
        <CreateUserForm
          onCreated={(user) => {
            void queryClient.invalidateQueries({ queryKey: ['users'] });
            navigate(`/portal/users/${user.id}`);
          }}
        />
      )}
      {users.error && <ErrorNotice error={users.error} />}
      {users.data && (
        <>
          <p aria-live="polite">
            {total !== undefined ? `${total} users` : ''}
            {users.isFetching ? ' (loading…)' : ''}
          </p>
          <table data-testid="users-table">
            <thead>
              <tr>
                <th scope="col">Display name</th>
                <th scope="col">User principal name</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {users.data.value.map((user) => (
                <tr key={user.id}>
                  <td>
                    <Link to={`/portal/users/${user.id}`}>{user.displayName}</Link>
                  </td>
                  <td>{user.userPrincipalName}</td>
                  <td>
                    {user.accountEnabled ? (
                      <span className="badge badge-ok">Enabled</span>
                    ) : (
                      <span className="badge badge-muted">Disabled</span>
                    )}
                  </td>
                  <td>{user.userType}</td>
                  <td>{user.onPremisesSyncEnabled ? 'On-premises' : 'Cloud'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <button
              type="button"
              className="secondary"
              disabled={pages.length < 2}
              onClick={() => setPages((visited) => visited.slice(0, -1))}
            >
              Previous
            </button>
            <span>Page {pages.length}</span>
            <button
              type="button"
              className="secondary"
              disabled={nextLink === undefined}
              onClick={() => nextLink && setPages((visited) => [...visited, nextLink])}
            >
              Next
            </button>
          </div>
        </>
      )}
    </>
  );
}
