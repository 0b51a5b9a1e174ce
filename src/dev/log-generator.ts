import { type AuditActivityName, auditActivities } from '../audit/audit-activities.js';
import { auditEventOf } from '../audit/audit-events.js';
import {
  type AuditTargetResource,
  auditTargetResource,
  failureReason,
  type ModifiedProperty,
} from '../audit/audit-service.js';
import { eventCatalog } from '../event-log/event-catalog.js';
import type { NewEvent } from '../event-log/event-log-service.js';
import { lockLogDetails } from '../lockout/lockout-policy.js';
import type {
  DirectoryAuditRow,
  EventLogTable,
  OperationKind,
  PasswordOperationRow,
  SignInRow,
  UsersTable,
} from '../platform/db/schema.js';
import { Codes, findCatalogEntry } from '../platform/errors/catalog.js';
import type { RequestContext } from '../platform/request-context.js';
import { signInEventsOf } from '../sign-ins/sign-in-log-service.js';
import { builtinApplications } from '../tenant/builtin-applications.js';
import { SeededRandom, timeOrderedId, WeightedPicker } from './seeded-random.js';

/*
 * Realistic synthetic sign-in and audit log rows, for measuring the log queries at scale
 * (`rekey dev seed-logs`, `npm run bench -- logs`). The rows are exactly what Rekey itself writes
 * (same columns, upn_key = lower(upn), failure text and remediation from the error catalog,
 * time-ordered UUIDv7 ids whose timestamps are the rows' own times), drawn from a deterministic
 * model of one tenant:
 *
 * - `users` people (UPNs in the tenant domain), whose activity is log-normal: most sign in a few
 *   times a day, a few dozen far more often;
 * - each person has a home address, one of a few office egress addresses, sometimes a VPN and a
 *   mobile IPv6 prefix, and mostly one user agent;
 * - sign-ins follow a working-day rhythm (busy 8-17 UTC on weekdays, quiet at night and at
 *   weekends); about 30% are silent token refreshes;
 * - a few noisy scripts with a stale password hammer the token endpoint day and night, getting
 *   50126 and, once locked out, 50053: about 3% of all rows;
 * - error codes in the proportions of a healthy tenant: mostly 0, then 50126, 50034, 50173,
 *   50055, 50053, 50057, and a rare 7700201;
 * - audits: the product's activities (password changes and resets, user management, policy and
 *   domain changes) with their categories, services, targets and initiators;
 * - the people as rows of `users` (cloud users, enabled, no password: nobody signs in as them), so
 *   the troubleshooter finds the account a sign-in or an audit names;
 * - every password change or reset audited comes with its password operation and the operation's
 *   steps (succeeded, or terminated with the refusal's code), as the operation engine writes them;
 * - the event log: the entries the services write beside those rows (5001 for a failed sign-in,
 *   5002 when it locked the account, and each audited activity's own entry, see audit-events.ts).
 *
 * Addresses come from ranges reserved for shared or documentation use (100.64.0.0/10,
 * 198.51.100.0/24, 192.0.2.0/24, 2001:db8::/32), so no row points at a real network.
 */

/** Bump whenever the rows generated for the same options change: the bench keys its cache on it. */
export const logGeneratorVersion = 2;

export interface LogModelOptions {
  readonly tenantId: string;
  /** The tenant's default domain: UPNs end in `@<tenantDomain>`. */
  readonly tenantDomain: string;
  /** People in the model (not rows in `users`: see docs/logs-scale.md). */
  readonly users: number;
  /** Rows are spread over the `days` days before `end`. */
  readonly days: number;
  readonly end: Date;
  /** The same seed (with the same other options) gives the same rows. */
  readonly seed: string;
}

/** A person of the model, as sign-in and audit rows name them. */
export interface ModelUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly homeAddress: string;
  readonly officeAddress: string;
  readonly vpnAddress: string | undefined;
  readonly mobilePrefix: string | undefined;
  readonly userAgent: string;
  readonly appIndex: number;
}

/** A script with a stale password that keeps signing in as its user. */
interface NoisyScript {
  readonly user: ModelUser;
  readonly address: string;
  readonly userAgent: string;
  readonly appIndex: number;
}

interface ModelApp {
  readonly appId: string;
  readonly displayName: string;
}

/** The built-in applications plus a few line-of-business apps that also use the token endpoint. */
export const modelApplications: readonly ModelApp[] = [
  ...builtinApplications,
  { appId: '5f0c2d1e-8a3b-4c6d-9e7f-1a2b3c4d5e6f', displayName: 'Timesheets' },
  { appId: '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', displayName: 'Helpdesk portal' },
  { appId: '3c4d5e6f-7a8b-4c9d-8e0f-a1b2c3d4e5f6', displayName: 'Payroll' },
  { appId: 'e1d2c3b4-a5f6-4e7d-9c8b-7a6f5e4d3c2b', displayName: 'VPN gateway' },
];
/** How often each app above is used by people. */
const appWeights = [25, 45, 10, 8, 7, 5];

const userAgents: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'rekey-cli/0.1.0 node/20.19.0',
  'MSAL.Python/1.28.0 (Linux)',
  'Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.2',
];
const userAgentWeights = [30, 15, 14, 6, 10, 8, 7, 5, 5];
const scriptUserAgents: readonly string[] = [
  'python-requests/2.31.0',
  'curl/8.5.0',
  'Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4291',
  'Go-http-client/1.1',
];

const firstNames: readonly string[] = [
  'Ada',
  'Alan',
  'Alice',
  'Amara',
  'Anders',
  'Anika',
  'Arjun',
  'Astrid',
  'Beatriz',
  'Ben',
  'Bianca',
  'Carlos',
  'Chen',
  'Chloe',
  'Dana',
  'David',
  'Diego',
  'Elena',
  'Emeka',
  'Emma',
  'Erik',
  'Fatima',
  'Felix',
  'Grace',
  'Hana',
  'Hugo',
  'Ines',
  'Ivan',
  'Jamal',
  'Jana',
  'Javier',
  'Jonas',
  'Julia',
  'Kai',
  'Kenji',
  'Lara',
  'Leila',
  'Liam',
  'Lina',
  'Lucas',
  'Maya',
  'Mateo',
  'Mei',
  'Mia',
  'Nadia',
  'Noah',
  'Nora',
  'Olga',
  'Omar',
  'Paul',
  'Priya',
  'Rafael',
  'Rosa',
  'Sam',
  'Sara',
  'Sofia',
  'Tariq',
  'Tomas',
  'Uma',
  'Victor',
  'Wei',
  'Yara',
  'Yusuf',
  'Zoe',
];
const lastNames: readonly string[] = [
  'Abara',
  'Andersen',
  'Bakker',
  'Bianchi',
  'Costa',
  'Dubois',
  'Eriksson',
  'Fernandes',
  'Fischer',
  'Garcia',
  'Haddad',
  'Hoffmann',
  'Ibrahim',
  'Ito',
  'Jansen',
  'Kaur',
  'Kim',
  'Kowalski',
  'Larsen',
  'Lopez',
  'Martin',
  'Meyer',
  'Moreau',
  'Nakamura',
  'Nguyen',
  'Novak',
  'Okafor',
  'Olsen',
  'Park',
  'Patel',
  'Petrov',
  'Quinn',
  'Rossi',
  'Santos',
  'Schmidt',
  'Silva',
  'Singh',
  'Sorensen',
  'Tanaka',
  'Torres',
  'Varga',
  'Wagner',
  'Wang',
  'Weber',
  'Yilmaz',
  'Zhang',
];

/** The token endpoint logs every password and refresh grant as this (see sign-in-service.ts). */
const clientAppUsed = 'Mobile Apps and Desktop clients';
const minuteMs = 60_000;
const dayMs = 86_400_000;

/** Relative sign-in activity per UTC hour on a working day: a morning peak, a lunch dip, quiet nights. */
const hourlyRhythm = [
  0.06, 0.04, 0.04, 0.04, 0.06, 0.12, 0.3, 0.65, 1.0, 1.15, 1.05, 1.0, 0.8, 0.95, 1.0, 0.95, 0.85, 0.65, 0.45,
  0.32, 0.25, 0.18, 0.12, 0.08,
];
const weekendFactor = 0.22;
/** Share of all sign-in rows made by the noisy scripts. */
const noisyShare = 0.03;
const noisyScripts = 4;
/** Share of people with directory roles, who appear as initiators of administrative audits. */
const administratorCount = 12;

/** The people, apps and scripts rows are drawn from; built once from the seed. */
export interface LogModel {
  readonly options: LogModelOptions;
  readonly users: readonly ModelUser[];
  readonly administrators: readonly ModelUser[];
  readonly startMs: number;
  readonly endMs: number;
  /** Picks a person in proportion to how active they are. */
  readonly activity: WeightedPicker;
  readonly scripts: readonly NoisyScript[];
}

function ipv4(a: number, b: number, c: number, d: number): string {
  return `${a}.${b}.${c}.${d}`;
}

/** Builds the tenant's people and scripts, deterministically from `options.seed`. */
export function buildLogModel(options: LogModelOptions): LogModel {
  if (!(Number.isSafeInteger(options.users) && options.users >= 1)) {
    throw new RangeError('the model needs at least one user');
  }
  const random = new SeededRandom(`${options.seed}:people`);
  const offices = [1, 2, 3, 4, 5].map((n) => ipv4(198, 51, 100, 10 * n + random.below(10)));
  const vpnAddresses = Array.from({ length: 16 }, () => ipv4(192, 0, 2, 1 + random.below(254)));
  const agentPicker = new WeightedPicker(userAgentWeights);
  const appPicker = new WeightedPicker(appWeights);
  const taken = new Map<string, number>();
  const users: ModelUser[] = [];
  const weights: number[] = [];
  for (let index = 0; index < options.users; index += 1) {
    const first = random.pick(firstNames);
    const last = random.pick(lastNames);
    const base = `${first}.${last}`;
    const seen = taken.get(base.toLowerCase()) ?? 0;
    taken.set(base.toLowerCase(), seen + 1);
    const alias = seen === 0 ? base : `${base}${seen + 1}`;
    // Most tenants lower-case their UPNs; some keep the capitals the HR system gave them, which
    // is what upn_key and case-insensitive `userPrincipalName eq` exist for.
    const local = random.next() < 0.8 ? alias.toLowerCase() : alias;
    users.push({
      id: random.guid(),
      userPrincipalName: `${local}@${options.tenantDomain}`,
      displayName: seen === 0 ? `${first} ${last}` : `${first} ${last} (${seen + 1})`,
      homeAddress: ipv4(100, 64 + random.below(64), random.below(256), 1 + random.below(254)),
      officeAddress: random.pick(offices),
      vpnAddress: random.next() < 0.3 ? random.pick(vpnAddresses) : undefined,
      mobilePrefix:
        random.next() < 0.5
          ? `2001:db8:${random.below(0x10000).toString(16)}:${random.below(0x10000).toString(16)}`
          : undefined,
      userAgent: userAgents[agentPicker.pick(random)] ?? '',
      appIndex: appPicker.pick(random),
    });
    // Log-normal activity: a median person, and a long tail of very active ones.
    weights.push(Math.exp(random.gaussian() * 1.1));
  }
  const administrators = users.slice(0, Math.min(administratorCount, users.length));
  const scripts = Array.from({ length: noisyScripts }, (): NoisyScript => {
    const user = random.pick(users);
    return {
      user,
      // Scripts run on servers: one fixed address each, in an office or data-centre range.
      address: ipv4(198, 51, 100, 200 + random.below(50)),
      userAgent: random.pick(scriptUserAgents),
      appIndex: random.next() < 0.5 ? 0 : 2 + random.below(modelApplications.length - 2),
    };
  });
  const endMs = options.end.getTime();
  return {
    options,
    users,
    administrators,
    startMs: endMs - options.days * dayMs,
    endMs,
    activity: new WeightedPicker(weights),
    scripts,
  };
}

/** Human activity at `ms` relative to the busiest hour: the day/night and week rhythm. */
function humanRhythm(ms: number): number {
  const date = new Date(ms);
  const hour = date.getUTCHours();
  const minute = date.getUTCMinutes();
  const here = hourlyRhythm[hour] ?? 0;
  const next = hourlyRhythm[(hour + 1) % 24] ?? 0;
  const level = here + ((next - here) * minute) / 60;
  const weekday = date.getUTCDay();
  return weekday === 0 || weekday === 6 ? level * weekendFactor : level;
}

/**
 * Row times in increasing order over the model's window: `count` quantiles of a per-minute
 * density made of the human rhythm plus a constant script rate (scripts do not sleep). Each time
 * comes with the probability that a row at that minute is a script's.
 */
class TimeLine {
  private readonly cumulative: Float64Array;
  private readonly scriptProbability: Float64Array;
  private bucket = 0;

  constructor(
    private readonly startMs: number,
    endMs: number,
    private readonly count: number,
    scriptShare: number,
  ) {
    const buckets = Math.max(1, Math.ceil((endMs - startMs) / minuteMs));
    const human = new Float64Array(buckets);
    let humanTotal = 0;
    for (let b = 0; b < buckets; b += 1) {
      human[b] = humanRhythm(startMs + b * minuteMs + minuteMs / 2);
      humanTotal += human[b] ?? 0;
    }
    this.cumulative = new Float64Array(buckets);
    this.scriptProbability = new Float64Array(buckets);
    let sum = 0;
    for (let b = 0; b < buckets; b += 1) {
      const humanRate = ((1 - scriptShare) * (human[b] ?? 0)) / humanTotal;
      const scriptRate = scriptShare / buckets;
      const rate = humanRate + scriptRate;
      sum += rate;
      this.cumulative[b] = sum;
      this.scriptProbability[b] = rate > 0 ? scriptRate / rate : 0;
    }
    // Rounding can leave the last sum a hair under 1; every quantile must land in a bucket.
    this.cumulative[buckets - 1] = Number.POSITIVE_INFINITY;
  }

  /** The time of row `index` (0-based, called in increasing order), and the script probability there. */
  at(index: number, jitter: number): { readonly ms: number; readonly scriptProbability: number } {
    const quantile = (index + jitter) / this.count;
    while ((this.cumulative[this.bucket] ?? Number.POSITIVE_INFINITY) <= quantile) this.bucket += 1;
    const before = this.bucket === 0 ? 0 : (this.cumulative[this.bucket - 1] ?? 0);
    const after = this.cumulative[this.bucket] ?? Number.POSITIVE_INFINITY;
    const within = Number.isFinite(after) && after > before ? (quantile - before) / (after - before) : jitter;
    return {
      ms: Math.floor(this.startMs + (this.bucket + Math.min(within, 0.999999)) * minuteMs),
      scriptProbability: this.scriptProbability[this.bucket] ?? 0,
    };
  }
}

/** Sequence numbers within one millisecond, so ids made in time order stay in that order. */
class IdClock {
  private lastMs = -1;
  private sequence = 0;

  constructor(private readonly random: SeededRandom) {}

  next(ms: number): string {
    if (ms === this.lastMs) this.sequence += 1;
    else {
      this.lastMs = ms;
      this.sequence = 0;
    }
    return timeOrderedId(ms, this.sequence, this.random);
  }
}

function failureOf(code: number): { failure_reason: string | null; additional_details: string | null } {
  if (code === 0) return { failure_reason: null, additional_details: null };
  const entry = findCatalogEntry(code);
  if (!entry) throw new Error(`the generator uses ${code}, which is not in the catalog`);
  return { failure_reason: entry.message, additional_details: entry.remediation[0] ?? null };
}

/** Catalog text per code, looked up once rather than per row. */
const failureText = new Map<number, ReturnType<typeof failureOf>>(
  [
    0,
    Codes.UserAccountNotFound,
    Codes.IdsLocked,
    Codes.InvalidPasswordExpiredPassword,
    Codes.UserDisabled,
    Codes.InvalidUserNameOrPassword,
    Codes.FreshTokenNeeded,
    Codes.InternalError,
  ].map((code) => [code, failureOf(code)]),
);

function failure(code: number): ReturnType<typeof failureOf> {
  return failureText.get(code) ?? failureOf(code);
}

/** Day of the week (0 = Sunday) of a Unix time in milliseconds, in UTC; 1970-01-01 was a Thursday. */
function weekdayOf(ms: number): number {
  return (Math.floor(ms / dayMs) + 4) % 7;
}

/** A 50053 row: the sign-in service describes the lock that refused it (lockLogDetails). */
function lockedText(random: SeededRandom, ms: number): ReturnType<typeof failureOf> {
  const lockoutCount = 1 + random.below(4);
  const lockedByThisAttempt = random.next() < 0.1;
  return {
    failure_reason: failure(Codes.IdsLocked).failure_reason,
    additional_details: lockLogDetails({
      network: random.next() < 0.7 ? 'unfamiliar' : 'familiar',
      // The lock was set a little earlier and lasts 60 s, growing with each lockout in a row.
      lockedUntil: new Date(ms + 1000 * (10 + random.below(60 * lockoutCount))).toISOString(),
      failureCount: 10,
      lockoutCount,
      lockedByThisAttempt,
    }),
  };
}

function addressOf(user: ModelUser, random: SeededRandom, ms: number): string {
  const roll = random.next();
  const weekday = weekdayOf(ms);
  const workday = weekday !== 0 && weekday !== 6;
  if (workday && roll < 0.55) return user.officeAddress;
  if (roll < 0.62 && user.vpnAddress) return user.vpnAddress;
  if (roll < 0.75 && user.mobilePrefix) {
    return `${user.mobilePrefix}:${random.below(0x10000).toString(16)}:${random.below(0x10000).toString(16)}:${random.below(0x10000).toString(16)}:${random.below(0x10000).toString(16)}`;
  }
  return user.homeAddress;
}

/** A made-up sign-in name for 50034: a typo of a real one, or someone guessing. */
function unknownUpn(model: LogModel, random: SeededRandom): string {
  const roll = random.next();
  const domain = model.options.tenantDomain;
  if (roll < 0.5) {
    const real = random.pick(model.users).userPrincipalName;
    const at = real.indexOf('@');
    const cut = 1 + random.below(Math.max(1, at - 1));
    return `${real.slice(0, cut)}${real.slice(cut + 1)}`;
  }
  if (roll < 0.8)
    return `${random.pick(['admin', 'administrator', 'test', 'info', 'root', 'backup', 'scanner'])}@${domain}`;
  return `${random.pick(firstNames).toLowerCase()}@${random.pick(['gmail.test', 'outlook.test', domain.replace(/^[^.]*/, 'old')])}`;
}

/**
 * Generates `count` sign-in rows in time order, `batchSize` at a time. The same model and count
 * give the same rows.
 */
export function* generateSignIns(
  model: LogModel,
  count: number,
  batchSize: number,
): Generator<SignInRow[], void, undefined> {
  const random = new SeededRandom(`${model.options.seed}:sign-ins:${count}`);
  const ids = new IdClock(random);
  const timeline = new TimeLine(model.startMs, model.endMs, count, noisyShare);
  const appPicker = new WeightedPicker(appWeights);
  const tenantId = model.options.tenantId;
  let batch: SignInRow[] = [];
  for (let index = 0; index < count; index += 1) {
    const { ms, scriptProbability } = timeline.at(index, random.next());
    const createdAt = new Date(ms).toISOString();
    let user: ModelUser | undefined;
    let upn: string;
    let address: string;
    let agent: string;
    let appIndex: number;
    let interactive = 1;
    let code = 0;
    if (random.next() < scriptProbability) {
      const script = random.pick(model.scripts);
      user = script.user;
      upn = user.userPrincipalName;
      address = script.address;
      agent = script.userAgent;
      appIndex = script.appIndex;
      // Smart lockout turns most of a script's attempts into 50053 once it has locked the account.
      code = random.next() < 0.35 ? Codes.InvalidUserNameOrPassword : Codes.IdsLocked;
    } else {
      const roll = random.next();
      if (roll < 0.008) {
        user = undefined;
        upn = unknownUpn(model, random);
        code = Codes.UserAccountNotFound;
      } else {
        user = model.users[model.activity.pick(random)];
        if (!user) throw new Error('activity picked no user');
        upn = user.userPrincipalName;
        if (roll < 0.3) {
          // A silent token refresh; it fails once the session was revoked or the token expired.
          interactive = 0;
          code = random.next() < 0.02 ? Codes.FreshTokenNeeded : 0;
        } else {
          const outcome = random.next();
          if (outcome < 0.045) code = Codes.InvalidUserNameOrPassword;
          else if (outcome < 0.05) code = Codes.InvalidPasswordExpiredPassword;
          else if (outcome < 0.0525) code = Codes.IdsLocked;
          else if (outcome < 0.054) code = Codes.UserDisabled;
          else if (outcome < 0.05405) code = Codes.InternalError;
        }
      }
      address = user
        ? addressOf(user, random, ms)
        : ipv4(100, 64 + random.below(64), random.below(256), 1 + random.below(254));
      agent = user && random.next() < 0.85 ? user.userAgent : random.pick(userAgents);
      appIndex = user && random.next() < 0.7 ? user.appIndex : appPicker.pick(random);
    }
    const app = modelApplications[appIndex] ?? modelApplications[0];
    const text = code === Codes.IdsLocked ? lockedText(random, ms) : failure(code);
    batch.push({
      id: ids.next(ms),
      tenant_id: tenantId,
      created_at: createdAt,
      user_id: user?.id ?? null,
      user_principal_name: upn,
      upn_key: upn.toLowerCase(),
      user_display_name: user?.displayName ?? null,
      app_id: app?.appId ?? '',
      app_display_name: app?.displayName ?? null,
      client_app_used: clientAppUsed,
      ip_address: address,
      user_agent: agent,
      correlation_id: random.guid(),
      is_interactive: interactive === 1 ? 1 : 0,
      error_code: code,
      failure_reason: text.failure_reason,
      additional_details: text.additional_details,
    });
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A step of an operation's history, as password_operation_events holds it (its id is the database's). */
export interface GeneratedOperationEvent {
  readonly operation_id: string;
  readonly at: string;
  readonly state: PasswordOperationRow['state'];
  readonly step: string;
  readonly detail: string | null;
  readonly code: number | null;
  readonly retryable: 0 | 1 | null;
}

/** A password operation with its history, as the operation engine writes a cloud-only one. */
export interface GeneratedOperation {
  readonly row: PasswordOperationRow;
  readonly events: readonly GeneratedOperationEvent[];
}

/** An event-log row, as recordEvents writes it. */
export type GeneratedEvent = EventLogTable;

/**
 * One audit row and what goes with it: its target rows (directory_audit_targets), the event-log
 * entry recordAudit writes beside it, and for a password change or reset its operation.
 */
export interface GeneratedAudit {
  readonly row: DirectoryAuditRow;
  readonly targetIds: readonly string[];
  readonly event: GeneratedEvent | undefined;
  readonly operation: GeneratedOperation | undefined;
}

/**
 * Event-log rows of `NewEvent`s, exactly as recordEvents makes them (channel, level and source
 * from the catalog, the same truncations), with time-ordered ids at each entry's own time.
 */
class EventRows {
  private readonly ids: IdClock;

  constructor(
    private readonly tenantId: string,
    random: SeededRandom,
  ) {
    this.ids = new IdClock(random);
  }

  row(event: NewEvent): GeneratedEvent {
    const definition = eventCatalog[event.eventId];
    return {
      id: this.ids.next(Date.parse(event.at)),
      tenant_id: this.tenantId,
      created_at: event.at,
      channel: definition.channel,
      level: definition.level,
      event_id: event.eventId,
      source: definition.source,
      message: event.message.slice(0, 4000),
      correlation_id: event.correlationId?.slice(0, 64) ?? null,
      user_id: event.userId ?? null,
      details: JSON.stringify(event.details ?? {}),
    };
  }
}

/** Share of failed password sign-ins (50126) that were the one that locked the account (5002). */
const lockingShare = 0.03;

/**
 * A mapper from generated sign-in batches to the event-log rows the sign-in log writes with them
 * (signInEventsOf: 5001 for every failure, 5002 also for the attempt that locked the account).
 * Deterministic: call it on the batches in the order generateSignIns yields them.
 */
export function createSignInEventMapper(model: LogModel): (rows: readonly SignInRow[]) => GeneratedEvent[] {
  const random = new SeededRandom(`${model.options.seed}:sign-in-events`);
  const events = new EventRows(model.options.tenantId, random);
  return (rows) => {
    const out: GeneratedEvent[] = [];
    for (const row of rows) {
      if (row.error_code === 0) continue;
      const lockedNow = row.error_code === Codes.InvalidUserNameOrPassword && random.next() < lockingShare;
      for (const event of signInEventsOf(row, lockedNow)) out.push(events.row(event));
    }
    return out;
  };
}

/**
 * The model's people as rows of `users`: enabled cloud users of the tenant, created at the start
 * of the window, without a credential (nobody signs in as them; the sign-in log says they did).
 */
export function generateUsers(model: LogModel): UsersTable[] {
  const at = new Date(model.startMs).toISOString();
  const administrators = new Set(model.administrators.map((user) => user.id));
  return model.users.map((user) => {
    const [local = ''] = user.userPrincipalName.split('@');
    const [givenName = null, surname = null] = user.displayName.split(' ');
    return {
      id: user.id,
      tenant_id: model.options.tenantId,
      user_principal_name: user.userPrincipalName,
      upn_key: user.userPrincipalName.toLowerCase(),
      display_name: user.displayName,
      given_name: givenName,
      surname,
      mail: user.userPrincipalName,
      mail_nickname: local,
      job_title: null,
      usage_location: null,
      account_enabled: 1,
      password_policies: null,
      force_change_password_next_sign_in: 0,
      force_change_password_next_sign_in_with_mfa: 0,
      last_password_change_at: at,
      user_type: 'Member',
      roles: JSON.stringify(administrators.has(user.id) ? ['Helpdesk Administrator'] : []),
      session_version: 1,
      sign_in_sessions_valid_from: at,
      on_premises_sync_enabled: null,
      on_premises_immutable_id: null,
      on_premises_distinguished_name: null,
      on_premises_sam_account_name: null,
      on_premises_last_sync_at: null,
      on_premises_connector_id: null,
      created_at: at,
      updated_at: at,
      deleted_at: null,
    };
  });
}

/** The operation kind of each audited password activity. */
const operationKinds: Partial<Record<AuditActivityName, OperationKind>> = {
  changePasswordSelfService: 'selfChange',
  resetPasswordSelfService: 'selfServiceReset',
  resetPasswordByAdmin: 'adminReset',
};

/**
 * The operation behind a password change or reset audited at `ms`: begun a moment before (the
 * hash), then succeeded, or terminated at its validate step with the refusal's code, with the
 * three history entries runNow writes for a cloud-only operation.
 */
function operationOf(
  audit: DirectoryAuditRow,
  id: string,
  kind: OperationKind,
  userId: string,
  requestedBy: { userId: string | null; appId: string | null },
  failureCode: number | undefined,
  createdMs: number,
  ms: number,
): GeneratedOperation {
  const created = new Date(createdMs).toISOString();
  const at = new Date(ms).toISOString();
  const entry = failureCode === undefined ? undefined : findCatalogEntry(failureCode);
  const row: PasswordOperationRow = {
    id,
    tenant_id: audit.tenant_id,
    user_id: userId,
    kind,
    requested_by_user_id: requestedBy.userId,
    requested_by_app_id: requestedBy.appId,
    correlation_id: audit.correlation_id,
    idempotency_key: null,
    idempotency_fingerprint: null,
    state: entry ? 'terminated' : 'succeeded',
    step: entry ? 'validate' : 'completed',
    attempts: 1,
    next_attempt_at: created,
    deadline_at: new Date(createdMs + 5 * 60_000).toISOString(),
    lease_owner: null,
    lease_expires_at: null,
    error_code: entry ? (failureCode ?? null) : null,
    error_retryable: entry ? (entry.retryable ? 1 : 0) : null,
    error_detail: entry ? entry.message : null,
    secret_ciphertext: null,
    force_change: kind === 'adminReset' ? 1 : 0,
    created_at: created,
    updated_at: at,
    completed_at: at,
  };
  const step = (
    state: GeneratedOperationEvent['state'],
    stepName: string,
    when: string,
    detail: string | null,
  ): GeneratedOperationEvent => ({
    operation_id: id,
    at: when,
    state,
    step: stepName,
    detail,
    code: null,
    retryable: null,
  });
  const events: GeneratedOperationEvent[] = [
    step('notStarted', 'accepted', created, null),
    step('running', 'validate', at, 'attempt 1'),
    entry
      ? {
          ...step('terminated', 'validate', at, entry.message),
          code: failureCode ?? null,
          retryable: entry.retryable ? 1 : 0,
        }
      : step('succeeded', 'completed', at, null),
  ];
  return { row, events };
}

/** Who starts an activity: the target themself, an administrator, or Rekey (the CLI / worker). */
type Initiator = 'self' | 'admin' | 'system';

/** How often an activity of the catalog happens, and who starts it. */
interface GeneratedActivity {
  readonly name: AuditActivityName;
  readonly weight: number;
  readonly initiator: Initiator;
  /** Share of failures (password changes refused by policy or a wrong current password). */
  readonly failureShare?: number;
}

/** The activities Rekey audits (from the audit catalog), in proportions of a busy tenant. */
const generatedActivities: readonly GeneratedActivity[] = [
  { name: 'changePasswordSelfService', weight: 42, initiator: 'self', failureShare: 0.12 },
  { name: 'resetPasswordSelfService', weight: 9, initiator: 'self', failureShare: 0.05 },
  { name: 'resetPasswordByAdmin', weight: 10, initiator: 'admin', failureShare: 0.02 },
  { name: 'evaluatePasswordAgainstHistory', weight: 7, initiator: 'admin' },
  { name: 'updateUser', weight: 12, initiator: 'admin' },
  { name: 'addUser', weight: 6, initiator: 'admin' },
  { name: 'disableAccount', weight: 2, initiator: 'admin' },
  { name: 'enableAccount', weight: 1.5, initiator: 'admin' },
  { name: 'setForceChangeUserPassword', weight: 3, initiator: 'admin' },
  { name: 'deleteUser', weight: 1, initiator: 'admin' },
  { name: 'restoreUser', weight: 0.3, initiator: 'admin' },
  { name: 'hardDeleteUser', weight: 0.2, initiator: 'admin' },
  { name: 'passwordProtectionAuditOnlyResult', weight: 5, initiator: 'self' },
  { name: 'updatePasswordPolicy', weight: 0.05, initiator: 'admin' },
  { name: 'updatePasswordProtectionPolicy', weight: 0.05, initiator: 'admin' },
  { name: 'addVerifiedDomain', weight: 0.01, initiator: 'admin' },
];

/** Why a password change or reset failed, as the operation service words resultReason. */
const changeFailureCodes = [
  Codes.PasswordChangeIncorrectCurrentPassword,
  Codes.PasswordChangeInvalidNewPasswordWeak,
  Codes.PasswordChangeInvalidNewPasswordContainsMemberName,
  Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy,
  Codes.PasswordChangeAccountLocked,
] as const;

function resultReasonFor(code: number): string {
  const entry = findCatalogEntry(code);
  if (!entry) throw new Error(`the generator uses ${code}, which is not in the catalog`);
  return failureReason(entry);
}
const changeFailureReasons = new Map<number, string>(
  changeFailureCodes.map((code) => [code, resultReasonFor(code)]),
);

function userTarget(
  activity: AuditActivityName,
  user: ModelUser,
  modifiedProperties: readonly ModifiedProperty[] = [],
): AuditTargetResource {
  return auditTargetResource(activity, {
    id: user.id,
    displayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
    modifiedProperties,
  });
}

function modified(displayName: string, oldValue: unknown, newValue: unknown): ModifiedProperty {
  return { displayName, oldValue: JSON.stringify(oldValue), newValue: JSON.stringify(newValue) };
}

/**
 * Generates `count` directory audit rows in time order, `batchSize` at a time, with the JSON
 * documents shaped exactly as recordAudit writes them.
 */
export function* generateAudits(
  model: LogModel,
  count: number,
  batchSize: number,
): Generator<GeneratedAudit[], void, undefined> {
  const random = new SeededRandom(`${model.options.seed}:audits:${count}`);
  const ids = new IdClock(random);
  const timeline = new TimeLine(model.startMs, model.endMs, count, 0);
  const picker = new WeightedPicker(generatedActivities.map((activity) => activity.weight));
  const portal = modelApplications[1] ?? { appId: '', displayName: '' };
  const cli = modelApplications[0] ?? { appId: '', displayName: '' };
  const tenantId = model.options.tenantId;
  const events = new EventRows(tenantId, new SeededRandom(`${model.options.seed}:audit-events:${count}`));
  let batch: GeneratedAudit[] = [];
  for (let index = 0; index < count; index += 1) {
    const { ms } = timeline.at(index, random.next());
    const generated = generatedActivities[picker.pick(random)];
    if (!generated) throw new Error('no activity picked');
    const name = generated.name;
    const activity = auditActivities[name];
    const subject = model.users[model.activity.pick(random)];
    if (!subject) throw new Error('activity picked no user');
    const failed = generated.failureShare !== undefined && random.next() < generated.failureShare;
    // Administrative work is done through the portal, some of it from the CLI with no actor.
    let initiator: Initiator = generated.initiator;
    if (initiator === 'admin' && random.next() < 0.1) initiator = 'system';
    const actorUser =
      initiator === 'self' ? subject : initiator === 'admin' ? random.pick(model.administrators) : undefined;
    const app = initiator === 'self' && random.next() < 0.3 ? cli : portal;
    const ipAddress = actorUser ? addressOf(actorUser, random, ms) : '127.0.0.1';
    const initiatedBy = actorUser
      ? {
          user: {
            id: actorUser.id,
            displayName: actorUser.displayName,
            userPrincipalName: actorUser.userPrincipalName,
            ipAddress,
          },
          app: { appId: app.appId, displayName: app.displayName },
        }
      : { user: null, app: { appId: null, displayName: 'Rekey' } };
    let targets: AuditTargetResource[];
    let targetIds: string[];
    let additionalDetails: { key: string; value: string }[] = [];
    let resultReason = '';
    let failureCode: number | undefined;
    if (activity.targetType === 'Policy') {
      const id = name === 'updatePasswordPolicy' ? 'passwordPolicy' : 'passwordProtection';
      targets = [
        auditTargetResource(name, {
          id,
          displayName: id === 'passwordPolicy' ? 'Password policy' : 'Password protection',
          userPrincipalName: null,
          modifiedProperties: [modified('minimumLength', 12, 14)],
        }),
      ];
      targetIds = [id];
      additionalDetails = [{ key: 'settingsVersion', value: String(2 + random.below(20)) }];
    } else if (activity.targetType === 'Domain') {
      const domain = `branch${random.below(100)}.${model.options.tenantDomain}`;
      targets = [
        auditTargetResource(name, {
          id: domain,
          displayName: domain,
          userPrincipalName: null,
          modifiedProperties: [modified('AuthenticationType', null, 'Managed')],
        }),
      ];
      targetIds = [domain];
    } else {
      let properties: ModifiedProperty[] = [];
      if (name === 'updateUser') properties = [modified('JobTitle', null, 'Analyst')];
      else if (name === 'disableAccount') properties = [modified('AccountEnabled', true, false)];
      else if (name === 'enableAccount') properties = [modified('AccountEnabled', false, true)];
      else if (name === 'setForceChangeUserPassword') {
        properties = [modified('ForceChangePasswordNextSignIn', false, true)];
      }
      targets = [userTarget(name, subject, properties)];
      targetIds = [subject.id];
      if (failed) {
        failureCode = random.pick(changeFailureCodes);
        resultReason = changeFailureReasons.get(failureCode) ?? '';
      } else if (activity.loggedByService === 'Self-service Password Management') {
        additionalDetails = [{ key: 'operationId', value: random.guid() }];
      } else if (name === 'evaluatePasswordAgainstHistory') {
        const reused = random.next() < 0.2;
        resultReason = reused
          ? "The password given is one of the user's recent passwords."
          : "The password given is none of the user's recent passwords.";
        additionalDetails = [
          { key: 'historyEntriesCompared', value: String(1 + random.below(24)) },
          { key: 'matchedHistory', value: String(reused) },
        ];
      } else if (name === 'passwordProtectionAuditOnlyResult') {
        const score = random.below(5);
        resultReason = `Password Protection is in Audit mode: the password scored ${score} of the 5 points needed and would have been refused (AADSTS120018); it was accepted.`;
        additionalDetails = [
          { key: 'operation', value: random.pick(['change', 'reset', 'create']) },
          { key: 'score', value: String(score) },
          { key: 'requiredScore', value: '5' },
          { key: 'matchedSources', value: 'global' },
          { key: 'matchedTermCount', value: String(1 + random.below(3)) },
        ];
      }
    }
    const row: DirectoryAuditRow = {
      id: ids.next(ms),
      tenant_id: tenantId,
      activity_at: new Date(ms).toISOString(),
      activity_display_name: activity.displayName,
      category: activity.category,
      correlation_id: random.guid(),
      logged_by_service: activity.loggedByService,
      operation_type: activity.operationType,
      result: failed ? 'failure' : 'success',
      result_reason: resultReason,
      initiated_by_user_id: actorUser?.id ?? null,
      initiated_by_upn: actorUser?.userPrincipalName ?? null,
      initiated_by_app_id: actorUser ? app.appId : null,
      initiated_by: JSON.stringify(initiatedBy),
      target_resources: JSON.stringify(targets),
      additional_details: JSON.stringify(additionalDetails),
    };
    // The event-log entry recordAudit writes with the row, from the same entry and context.
    const context: RequestContext = {
      correlationId: row.correlation_id,
      ipAddress,
      userAgent: undefined,
      actor: actorUser
        ? {
            userId: actorUser.id,
            userPrincipalName: actorUser.userPrincipalName,
            displayName: actorUser.displayName,
            roles: [],
            appId: app.appId,
            appDisplayName: app.displayName,
          }
        : undefined,
    };
    const newEvent = auditEventOf(
      context,
      { activity: name, result: row.result, resultReason, targets, additionalDetails },
      row.activity_at,
    );
    const kind = operationKinds[name];
    const operationId = additionalDetails.find((detail) => detail.key === 'operationId')?.value;
    batch.push({
      row,
      targetIds,
      event: newEvent ? events.row(newEvent) : undefined,
      operation:
        kind === undefined
          ? undefined
          : operationOf(
              row,
              operationId ?? random.guid(),
              kind,
              subject.id,
              { userId: actorUser?.id ?? null, appId: actorUser ? app.appId : null },
              failureCode,
              // The operation began a moment before its audit row: the hash and the policy checks.
              ms - 40 - random.below(400),
              ms,
            ),
    });
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
