import type { PublicStatus, ServiceHealth, ServiceHealthIssue } from './status-schemas.js';
import type { ComponentHealth, HealthStatus, Incident } from './status-service.js';

/** A component as Graph's serviceHealth shows it. */
export function toServiceHealth(component: ComponentHealth): ServiceHealth {
  return {
    id: component.id,
    service: component.displayName,
    status: component.status,
    detail: component.detail,
    figures: { ...component.figures },
  };
}

/** An incident as Graph's serviceHealthIssue shows it. */
export function toServiceHealthIssue(incident: Incident): ServiceHealthIssue {
  return {
    id: incident.id,
    title: incident.title,
    impactDescription: incident.impact_description,
    classification: incident.classification,
    // Rekey found it itself, in the customer's own deployment.
    origin: 'customer',
    status: incident.status,
    service: incident.service,
    feature: incident.rule,
    featureGroup: null,
    isResolved: incident.is_resolved === 1,
    highImpact: null,
    startDateTime: incident.start_at,
    endDateTime: incident.end_at,
    lastModifiedDateTime: incident.last_modified_at,
    details: [
      { name: 'errorCode', value: String(incident.error_code) },
      { name: 'usersAffected', value: String(incident.users_affected) },
      { name: 'requestsAffected', value: String(incident.requests_affected) },
    ],
    posts: incident.posts.map((post) => ({
      createdDateTime: post.createdAt,
      postType: post.postType,
      description: { contentType: 'text', content: post.description },
    })),
  };
}

/**
 * The public status: components and incidents without tenant data. Connectors are one
 * component ("Directory connectors", the worst of them), incidents show no figures.
 */
export function toPublicStatus(
  components: readonly ComponentHealth[],
  incidents: readonly Incident[],
  overall: HealthStatus,
  at: string,
): PublicStatus {
  const connectors = components.filter((c) => c.kind === 'connector');
  const rank = (s: string) => (s === 'serviceInterruption' ? 2 : s === 'serviceDegradation' ? 1 : 0);
  const shown = components
    .filter((c) => c.kind !== 'connector')
    .map((c) => ({ id: c.id, displayName: c.displayName, status: c.status as string }));
  if (connectors.length > 0) {
    const worst = connectors.reduce((a, b) => (rank(b.status) > rank(a.status) ? b : a));
    shown.push({ id: 'connectors', displayName: 'Directory connectors', status: worst.status });
  }
  return {
    status: overall,
    checkedDateTime: at,
    components: shown,
    incidents: incidents.map((i) => ({
      id: i.id,
      title: i.title,
      classification: i.classification,
      status: i.status,
      startDateTime: i.start_at,
      endDateTime: i.end_at,
      isResolved: i.is_resolved === 1,
    })),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const labels: Readonly<Record<string, string>> = {
  serviceOperational: 'Operational',
  serviceDegradation: 'Degraded',
  serviceInterruption: 'Interrupted',
  serviceRestored: 'Restored',
};

/** The status page: plain HTML with a style element and no script, so a strict CSP serves it. */
export function renderStatusPage(status: PublicStatus): string {
  const label = (s: string) => labels[s] ?? s;
  const rows = status.components
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.displayName)}</td><td class="${escapeHtml(c.status)}">${escapeHtml(label(c.status))}</td></tr>`,
    )
    .join('');
  const open = status.incidents.filter((i) => !i.isResolved);
  const past = status.incidents.filter((i) => i.isResolved);
  const incident = (i: PublicStatus['incidents'][number]) =>
    `<li><strong>${escapeHtml(i.title)}</strong> (${escapeHtml(i.id)}, ${escapeHtml(i.classification)}): ${escapeHtml(label(i.status))} since ${escapeHtml(i.startDateTime)}${i.endDateTime ? `, ended ${escapeHtml(i.endDateTime)}` : ''}</li>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rekey status: ${escapeHtml(label(status.status))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1f24}
table{border-collapse:collapse;width:100%}td{padding:.4rem .6rem;border-bottom:1px solid #d0d7de}
.serviceOperational,.serviceRestored{color:#1a7f37}.serviceDegradation{color:#9a6700}.serviceInterruption{color:#cf222e}.meta{color:#57606a}</style></head>
<body><h1>Rekey status</h1><p class="${escapeHtml(status.status)}"><strong>${escapeHtml(label(status.status))}</strong></p>
<table><tbody>${rows}</tbody></table>
<h2>Open incidents</h2>${open.length === 0 ? '<p>None.</p>' : `<ul>${open.map(incident).join('')}</ul>`}
<h2>Past 30 days</h2>${past.length === 0 ? '<p>None.</p>' : `<ul>${past.map(incident).join('')}</ul>`}
<p class="meta">Checked ${escapeHtml(status.checkedDateTime)}. Administrators see each connector and the users affected at /v1.0/admin/serviceAnnouncement.</p></body></html>`;
}
