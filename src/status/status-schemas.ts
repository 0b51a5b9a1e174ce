import { type Static, Type } from 'typebox';
import {
  graphCollectionSchema,
  graphEntitySchema,
  nullable,
  openObject,
  responseArray,
  responseObject,
} from '../platform/http/response-schemas.js';

/*
 * Service status: the public `/status` (JSON form) and Graph's serviceAnnouncement resources,
 * `serviceHealth` (one per component) and `serviceHealthIssue` (one per incident).
 */

/** One component on the public page: no tenant data (no connector names, no user counts). */
const publicComponent = responseObject({
  id: Type.String(),
  displayName: Type.String(),
  status: Type.String(),
});

/** One incident on the public page. */
const publicIncident = responseObject({
  id: Type.String(),
  title: Type.String(),
  classification: Type.String(),
  status: Type.String(),
  startDateTime: Type.String(),
  endDateTime: nullable(Type.String()),
  isResolved: Type.Boolean(),
});

/** `GET /status` with Accept: application/json. */
export const publicStatusSchema = responseObject(
  {
    status: Type.String(),
    checkedDateTime: Type.String(),
    components: responseArray(publicComponent),
    incidents: responseArray(publicIncident),
  },
  'Service status without tenant data: each component and the incidents of the last 30 days',
);
export type PublicStatus = Static<typeof publicStatusSchema>;

/** Graph's serviceHealthIssuePost. */
const issuePost = responseObject({
  createdDateTime: Type.String(),
  postType: Type.String(),
  description: responseObject({ contentType: Type.String(), content: Type.String() }),
});

/** Graph's serviceHealthIssue: one incident Rekey opened. */
export const serviceHealthIssueSchema = responseObject(
  {
    id: Type.String(),
    title: Type.String(),
    impactDescription: Type.String(),
    classification: Type.String(),
    origin: Type.String(),
    status: Type.String(),
    service: Type.String(),
    feature: nullable(Type.String()),
    featureGroup: nullable(Type.String()),
    isResolved: Type.Boolean(),
    highImpact: nullable(Type.Boolean()),
    startDateTime: Type.String(),
    endDateTime: nullable(Type.String()),
    lastModifiedDateTime: Type.String(),
    /** Graph's `details`: key/value pairs (the code, users and requests affected). */
    details: responseArray(responseObject({ name: Type.String(), value: Type.String() })),
    posts: responseArray(issuePost),
  },
  'An incident (Graph serviceHealthIssue)',
);
export type ServiceHealthIssue = Static<typeof serviceHealthIssueSchema>;

/** Graph's serviceHealth: one component, with Rekey's measurements beside Graph's properties. */
export const serviceHealthSchema = responseObject(
  {
    id: Type.String(),
    service: Type.String(),
    status: Type.String(),
    /** What was measured, in words (Rekey's addition). */
    detail: Type.String(),
    /** The figures behind the status: queue depth and lag, connector calls (Rekey's addition). */
    figures: openObject,
  },
  'A component (Graph serviceHealth)',
);
export type ServiceHealth = Static<typeof serviceHealthSchema>;

export const healthOverviewsSchema = graphCollectionSchema(serviceHealthSchema, 'Every component');
export const issuesSchema = graphCollectionSchema(
  serviceHealthIssueSchema,
  'The incidents of the last 30 days',
);
export const issueSchema = graphEntitySchema(serviceHealthIssueSchema, 'One incident');
