import { useQuery } from '@tanstack/react-query';
import type { ServiceHealth, ServiceHealthIssue } from '../../api/admin-types.js';
import { getJson } from '../../api/client.js';
import type { GraphPage as Collection } from '../../api/types.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { StateBadge, When } from './admin-kit/format.js';
import './admin-kit/admin.css';

/*
 * Service health: each component's status with what was measured
 * (`GET /v1.0/admin/serviceAnnouncement/healthOverviews`) and the incidents of the last 30 days
 * with their posts (`GET /v1.0/admin/serviceAnnouncement/issues`). Refreshed every 30 seconds.
 */

function Incident({ issue }: { readonly issue: ServiceHealthIssue }) {
  return (
    <article className="finding" aria-labelledby={`issue-${issue.id}`}>
      <h3 id={`issue-${issue.id}`}>
        <StateBadge value={issue.isResolved ? 'resolved' : issue.status} /> {issue.title}
      </h3>
      <p>{issue.impactDescription}</p>
      <p className="hint">
        {issue.classification} · {issue.service}
        {issue.feature ? ` · ${issue.feature}` : ''} · started <When at={issue.startDateTime} />
        {issue.endDateTime && (
          <>
            {' '}
            · ended <When at={issue.endDateTime} />
          </>
        )}
      </p>
      {issue.details.length > 0 && (
        <dl className="facts">
          {issue.details.map((detail) => (
            <div className="contents" key={detail.name}>
              <dt>{detail.name}</dt>
              <dd>{detail.value}</dd>
            </div>
          ))}
        </dl>
      )}
      {issue.posts.length > 0 && (
        <ol className="timeline">
          {issue.posts.map((post) => (
            <li key={`${post.createdDateTime}-${post.postType}`}>
              <When at={post.createdDateTime} /> · {post.postType}
              <div>{post.description.content}</div>
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

export function Page() {
  const components = useQuery({
    queryKey: ['healthOverviews'],
    queryFn: () => getJson<Collection<ServiceHealth>>('/v1.0/admin/serviceAnnouncement/healthOverviews'),
    refetchInterval: 30_000,
  });
  const issues = useQuery({
    queryKey: ['serviceIssues'],
    queryFn: () => getJson<Collection<ServiceHealthIssue>>('/v1.0/admin/serviceAnnouncement/issues'),
    refetchInterval: 30_000,
  });
  const open = issues.data?.value.filter((issue) => !issue.isResolved) ?? [];
  const closed = issues.data?.value.filter((issue) => issue.isResolved) ?? [];
  return (
    <section>
      <h1>Service health</h1>
      <p className="lead">
        What Rekey measures of itself and of each directory connector. The public summary, without tenant
        data, is at <a href="/status">/status</a>.
      </p>
      <h2>Components</h2>
      {components.error ? <ErrorNotice error={components.error} /> : null}
      {components.isPending && <p aria-live="polite">Loading…</p>}
      {components.data && (
        <table data-testid="components-table">
          <caption className="visually-hidden">Components and their status</caption>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">Status</th>
              <th scope="col">What was measured</th>
            </tr>
          </thead>
          <tbody>
            {components.data.value.map((component) => (
              <tr key={component.id}>
                <td>{component.service}</td>
                <td>
                  <StateBadge value={component.status} />
                </td>
                <td>{component.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Open incidents</h2>
      {issues.error ? <ErrorNotice error={issues.error} /> : null}
      {issues.data && open.length === 0 && <p data-testid="no-open-incidents">No open incident.</p>}
      {open.map((issue) => (
        <Incident key={issue.id} issue={issue} />
      ))}
      {closed.length > 0 && (
        <>
          <h2>Resolved in the last 30 days</h2>
          {closed.map((issue) => (
            <Incident key={issue.id} issue={issue} />
          ))}
        </>
      )}
    </section>
  );
}
