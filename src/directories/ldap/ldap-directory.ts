/**
 * An OpenLDAP directory as Rekey uses it: bind as the connector's service account, find users,
 * check a user's password by binding as the user (pass-through sign-in), and write passwords with
 * the RFC 3062 password-modify extended operation, as the user (a change, old password required)
 * or as the service account (an admin reset). Every bind and write carries the password-policy
 * control, so a refusal comes back with its precise reason.
 *
 * Connections are kept between calls (up to `maxIdleConnections`, each for `idleTimeoutMs`), so a
 * call pays for its TCP and TLS set-up only when no idle connection is left: every call binds
 * first, as the service account or as the user, so a kept connection carries nothing of the call
 * before. A kept connection the directory closed meanwhile (a restart) is noticed at the call's
 * first step, which then runs again once on a new connection. Nothing here throws for a directory
 * answer: every call returns a `DirectoryOutcome`, whose failure has its catalog code and
 * retryable flag, and whose trace lists each LDAP step (also given to the trace sink).
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, createSecureContext, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Attribute, BerWriter, Change, Client, type Entry } from 'ldapts';
import type { ProbeResult, TestStep, TestStepName } from '../../connectors/directory-ports.js';
import type { Clock } from '../../platform/clock.js';
import { getCatalogEntry } from '../../platform/errors/catalog.js';
import {
  type DirectoryFailure,
  type DirectoryFailureReason,
  type DirectoryOutcome,
  type DirectoryPurpose,
  mapDirectoryFailure,
} from '../directory-outcome.js';
import type {
  DirectoryCallContext,
  DirectoryTraceOperation,
  DirectoryTraceRecord,
  DirectoryTraceSink,
} from '../directory-trace.js';
import { refineActiveDirectoryError } from './active-directory-errors.js';
import { type ClassifiedLdapError, classifyLdapError, LdapConnectTimeoutError } from './ldap-errors.js';
import { PasswordPolicyControl, type PasswordPolicyResponse } from './password-policy-control.js';

export const passwordModifyOid = '1.3.6.1.4.1.4203.1.11.1';

/** The kinds of directory the client speaks to; they differ in how passwords are written and refused. */
export type LdapFlavor = 'openldap' | 'activeDirectory';

/** How to reach and bind to one directory. The bind password is used, never traced or returned. */
export interface LdapConnectorSettings {
  /**
   * `openldap` (the default): RFC 3062 password modify and the password-policy control.
   * `activeDirectory`: `unicodePwd` modifies and the sub-codes of AD's diagnostic messages.
   */
  readonly flavor?: LdapFlavor | undefined;
  /** `ldap://host[:port]` (with `startTls` for a protected connection) or `ldaps://host[:port]`. */
  readonly url: string;
  /** Upgrade an `ldap://` connection with StartTLS before binding. */
  readonly startTls: boolean;
  /** PEM certificate(s) to trust for the directory's TLS certificate; the system's CAs when absent. */
  readonly caCertificate?: string | undefined;
  /**
   * Check the directory's certificate and host name (default true). Turning it off is for a lab:
   * anyone on the path could then read every password written.
   */
  readonly checkCertificate?: boolean | undefined;
  readonly bindDn: string;
  readonly bindPassword: string;
  /** Where users are searched. */
  readonly baseDn: string;
  /** The filter that selects user entries (default `(objectClass=inetOrgPerson)`). */
  readonly userFilter?: string | undefined;
  /** Milliseconds to set up the TCP/TLS connection (default 5000). */
  readonly connectTimeoutMs?: number | undefined;
  /** Milliseconds to wait for each LDAP answer (default 10000). */
  readonly operationTimeoutMs?: number | undefined;
  /** Carried into the trace records. */
  readonly connectorId?: string | undefined;
  /** Connections kept open between calls (default 8; 0 opens one per call). */
  readonly maxIdleConnections?: number | undefined;
  /** Milliseconds an unused kept connection stays open (default 30000). */
  readonly idleTimeoutMs?: number | undefined;
}

export interface LdapDirectoryPorts {
  readonly clock: Clock;
  /** Receives each trace record as it is made; the same records are in every outcome's `trace`. */
  readonly traceSink?: DirectoryTraceSink | undefined;
}

/** A directory entry with the attributes asked for, each as a list of strings (binary ones in base64). */
export interface DirectoryEntry {
  readonly dn: string;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** A user's password checked by the directory itself. */
export interface DirectorySignIn {
  readonly dn: string;
  /** Seconds until the password expires, when the directory warns of it. */
  readonly secondsBeforeExpiration: number | undefined;
  /** Binds left with an expired password, when the directory allows grace binds. */
  readonly graceBindsRemaining: number | undefined;
}

/** Where an Active Directory domain controller's changes stand, for an incremental sync. */
export interface DirectoryChangeState {
  /** The highest update sequence number the domain controller has committed (rootDSE). */
  readonly highestCommittedUsn: string;
  /** The invocation id of the domain controller's database, base64: it changes on a restore. */
  readonly invocationId: string;
  /** The domain controller's NTDS settings DN (rootDSE dsServiceName). */
  readonly dsServiceName: string;
}

/** A password the directory accepted. */
export interface DirectoryPasswordWrite {
  readonly dn: string;
  /** What the password-policy control said on success (a warning at most), if anything. */
  readonly ppolicy: PasswordPolicyResponse | undefined;
}

export interface LdapDirectory {
  /** Connects (with StartTLS when set) and binds as the service account: the connector works. */
  checkConnection(context: DirectoryCallContext): Promise<DirectoryOutcome<void>>;
  /** The entry at `dn`, as the service account sees it, or undefined when there is none. */
  findUserByDn(
    dn: string,
    context: DirectoryCallContext,
    attributes?: readonly string[],
  ): Promise<DirectoryOutcome<DirectoryEntry | undefined>>;
  /**
   * Users under the base DN matching the connector's user filter and, when given, `filter` too
   * (an LDAP filter string, such as `(uid=ann)`; escape values with ldapts's `EqualityFilter`).
   */
  findUsers(
    filter: string | undefined,
    context: DirectoryCallContext,
    options?: { readonly attributes?: readonly string[]; readonly sizeLimit?: number },
  ): Promise<DirectoryOutcome<readonly DirectoryEntry[]>>;
  /**
   * Every user under the base DN matching the connector's user filter and, when given, `filter`,
   * read with the paged-results control (RFC 2696) `pageSize` entries at a time: `onPage` gets
   * each page before the next is asked for, so a sync of any size holds one page in memory. The
   * value is the number of entries read. An error thrown by `onPage` ends the search and is
   * thrown again to the caller (it is Rekey's, not the directory's).
   */
  searchUsersPaged(
    filter: string | undefined,
    context: DirectoryCallContext,
    options: {
      readonly attributes: readonly string[];
      readonly pageSize?: number;
      /** Attributes whose values are binary (objectGUID): given in base64 instead of as text. */
      readonly binaryAttributes?: readonly string[];
      readonly onPage: (entries: readonly DirectoryEntry[]) => Promise<void>;
    },
  ): Promise<DirectoryOutcome<number>>;
  /**
   * The connection test: connect, StartTLS (skipped over ldaps:// or without startTls), bind as
   * the service account and a paged count of the users (up to `countLimit`), each step with its
   * result, code and latency. A step that fails ends the test; the steps after it are skipped.
   * Never fails as a whole: a directory's failure is a step's.
   */
  probe(context: DirectoryCallContext, options?: { readonly countLimit?: number }): Promise<ProbeResult>;
  /**
   * Active Directory only: the domain controller's highest committed USN and its database's
   * invocation id, read from the rootDSE and the NTDS settings object as the service account.
   */
  readChangeState(context: DirectoryCallContext): Promise<DirectoryOutcome<DirectoryChangeState>>;
  /**
   * Pass-through sign-in: binds as the user with the password-policy control, so the directory's
   * own password, lockout and expiry rules decide. Failure codes: 50126 wrong password (or no such
   * entry), 50144 expired or must change, 50053 locked on-premises (reason `accountLocked`),
   * 80001 unreachable, 80002 no answer in time, 80007 the directory's or connector's configuration.
   */
  signIn(
    dn: string,
    password: string,
    context: DirectoryCallContext,
  ): Promise<DirectoryOutcome<DirectorySignIn>>;
  /**
   * A user's own change: binds as the user with the current password, then writes the new one with
   * the password-modify operation, both with the password-policy control. An expired password is
   * still proven by the bind (the directory reports expiry only for a right password), and is
   * then changed through the service account with the old password given. Failure codes: 120000
   * wrong current password, 120004 refused by the directory's policy (`ppolicyError` says which
   * rule), 120014 locked or disabled, 120016 entry gone, 120015 rights or configuration, 120013
   * connectivity (retryable).
   */
  changePassword(
    request: { readonly dn: string; readonly currentPassword: string; readonly newPassword: string },
    context: DirectoryCallContext,
  ): Promise<DirectoryOutcome<DirectoryPasswordWrite>>;
  /** An admin reset: the service account writes the new password. Failure codes as for a change. */
  resetPassword(
    request: { readonly dn: string; readonly newPassword: string },
    context: DirectoryCallContext,
  ): Promise<DirectoryOutcome<DirectoryPasswordWrite>>;
  /**
   * Whether `password` already binds for `dn`: before retrying a write whose outcome is unknown
   * (the connection dropped after the request went out), a `true` means the write happened. An
   * expired or must-change password counts as binding (the directory checked it). A `false`
   * counts as a failed bind in the directory's lockout, so ask only when the outcome is unknown.
   * Failures use the writeback codes (120014 locked, 120013 connectivity...).
   */
  passwordBinds(
    dn: string,
    password: string,
    context: DirectoryCallContext,
  ): Promise<DirectoryOutcome<boolean>>;
  /** Closes the kept connections and keeps none from then on; calls still work, each on its own connection. */
  close(): Promise<void>;
}

/** Thrown inside a call to end it with a mapped failure; never leaves this module. */
class StepFailure extends Error {
  constructor(readonly failure: DirectoryFailure) {
    super(failure.reason);
  }
}

/** Encodes the RFC 3062 request value: SEQUENCE { userIdentity [0], oldPasswd [1], newPasswd [2] }, each optional. */
export function encodePasswordModifyRequest(request: {
  readonly userIdentity?: string | undefined;
  readonly oldPassword?: string | undefined;
  readonly newPassword?: string | undefined;
}): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  if (request.userIdentity !== undefined) writer.writeString(request.userIdentity, 0x80);
  if (request.oldPassword !== undefined) writer.writeString(request.oldPassword, 0x81);
  if (request.newPassword !== undefined) writer.writeString(request.newPassword, 0x82);
  writer.endSequence();
  return writer.buffer;
}

/** An entry's attributes as strings: those asked for as binary in base64, the others as UTF-8 text. */
function entryFrom(entry: Entry, binaryAttributes: readonly string[] = []): DirectoryEntry {
  const binary = new Set(binaryAttributes.map((name) => name.toLowerCase()));
  const attributes: Record<string, readonly string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = Array.isArray(value) ? value : [value];
    const encoding = binary.has(name.toLowerCase()) ? 'base64' : 'utf8';
    attributes[name] = values.map((v) => (Buffer.isBuffer(v) ? v.toString(encoding) : String(v)));
  }
  return { dn: entry.dn, attributes };
}

/** Active Directory's form of a password value: the password in double quotes, UTF-16LE. */
export function unicodePwdValue(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** Failures after which a connection is not kept: it may be closed, or hold an answer still to come. */
const connectionLost: ReadonlySet<DirectoryFailureReason> = new Set([
  'unreachable',
  'timeout',
  'tlsFailure',
  'serverBusy',
  'unexpected',
]);

interface KeptConnection {
  readonly client: Client;
  /** The TCP (or, for ldaps://, TLS) socket Rekey opened and gave to ldapts. */
  readonly socket: Socket;
}

/**
 * Open connections between calls, most recently used first. A kept connection holds no reference
 * on the event loop (a process with nothing else to do exits), closes itself after `idleMs`
 * unused, and leaves the pool when the directory closes it.
 */
class IdleConnections {
  private readonly idle: { readonly kept: KeptConnection; readonly forget: () => void }[] = [];
  private closed = false;

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
  ) {}

  /** A kept connection, still open, or undefined. */
  take(): KeptConnection | undefined {
    for (;;) {
      const entry = this.idle.shift();
      if (!entry) return undefined;
      entry.forget();
      const { client, socket } = entry.kept;
      if (socket.destroyed || !client.isConnected) {
        socket.destroy();
        continue;
      }
      socket.ref();
      return entry.kept;
    }
  }

  /** Keeps a connection for the next call; false (the caller closes it) when the pool is full or closed. */
  put(kept: KeptConnection): boolean {
    if (this.closed || this.idle.length >= this.max || kept.socket.destroyed) return false;
    const drop = () => {
      const index = this.idle.indexOf(entry);
      if (index >= 0) this.idle.splice(index, 1);
      forget();
      endConnection(kept);
    };
    const timer = setTimeout(drop, this.idleMs);
    timer.unref();
    kept.socket.once('close', drop);
    const forget = () => {
      clearTimeout(timer);
      kept.socket.off('close', drop);
    };
    const entry = { kept, forget };
    kept.socket.unref();
    this.idle.unshift(entry);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = this.idle.splice(0);
    for (const entry of entries) entry.forget();
    await Promise.all(entries.map((entry) => endConnection(entry.kept)));
  }
}

/** Unbinds politely, then makes sure the socket is gone. */
async function endConnection({ client, socket }: KeptConnection): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // Closed already.
  }
  socket.destroy();
}

/** Creates the client of one OpenLDAP directory. Throws at once on a URL that is not ldap:// or ldaps://. */
export function createLdapDirectory(
  settings: LdapConnectorSettings,
  ports: LdapDirectoryPorts,
): LdapDirectory {
  const url = new URL(settings.url);
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
    throw new Error(`a directory URL must start with ldap:// or ldaps://, not ${url.protocol}//`);
  }
  const isLdaps = url.protocol === 'ldaps:';
  const host = url.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = url.port ? Number(url.port) : isLdaps ? 636 : 389;
  const connectTimeoutMs = settings.connectTimeoutMs ?? 5_000;
  const operationTimeoutMs = settings.operationTimeoutMs ?? 10_000;
  const isActiveDirectory = settings.flavor === 'activeDirectory';
  const userFilter =
    settings.userFilter ??
    (isActiveDirectory ? '(&(objectCategory=person)(objectClass=user))' : '(objectClass=inetOrgPerson)');
  const tlsOptions: ConnectionOptions = {
    host,
    // SNI takes a host name only; a certificate for an IP address is checked against its IP SAN.
    ...(isIP(host) ? {} : { servername: host }),
    rejectUnauthorized: settings.checkCertificate !== false,
    // Built once: parsing the trusted certificates for every connection costs more than the handshake.
    ...(settings.caCertificate
      ? { secureContext: createSecureContext({ ca: [settings.caCertificate] }) }
      : {}),
  };
  const pool = new IdleConnections(settings.maxIdleConnections ?? 8, settings.idleTimeoutMs ?? 30_000);

  /**
   * Runs one call on a kept connection or a new one, given back (or closed) at the end. A kept
   * connection that turns out closed at the first step is the directory's restart, not its answer:
   * the call runs again on a new connection, and the trace keeps only that run.
   */
  async function runCall<T>(
    purpose: DirectoryPurpose,
    context: DirectoryCallContext,
    body: (session: Session) => Promise<T>,
  ): Promise<DirectoryOutcome<T>> {
    let run = await runSession(new Session(purpose, context, [], true), body);
    if (run.staleConnection) run = await runSession(new Session(purpose, context, [], false), body);
    for (const record of run.outcome.trace) ports.traceSink?.(record);
    return run.outcome;
  }

  async function runSession<T>(
    session: Session,
    body: (session: Session) => Promise<T>,
  ): Promise<{ readonly outcome: DirectoryOutcome<T>; readonly staleConnection: boolean }> {
    const { trace } = session;
    try {
      const value = await body(session);
      return { outcome: { ok: true, value, trace }, staleConnection: false };
    } catch (error) {
      if (error instanceof StepFailure)
        return {
          outcome: { ok: false, failure: error.failure, trace },
          staleConnection: session.foundStale(),
        };
      // A bug of ours, not an answer of the directory's: say so rather than guess a code.
      const failure = mapDirectoryFailure(session.purpose, 'unexpected', {
        diagnostic: error instanceof Error ? error.message : String(error),
      });
      return { outcome: { ok: false, failure, trace }, staleConnection: false };
    } finally {
      await session.close();
    }
  }

  /** One connection and the trace of what was done on it. */
  class Session {
    private client: Client | undefined;
    private socket: Socket | undefined;
    /** The connection was kept from an earlier call. */
    private reused = false;
    /** A bind succeeded in this session: until then a kept connection carries the last call's identity. */
    private bound = false;
    /** A step failed in a way that leaves the connection unfit to keep (closed, timed out, garbled). */
    private broken = false;
    private steps = 0;
    private firstStepUnreachable = false;

    /** `mayReuse`: take a kept connection and give it back at the end; false for a fresh one closed after. */
    constructor(
      readonly purpose: DirectoryPurpose,
      private readonly context: DirectoryCallContext,
      readonly trace: DirectoryTraceRecord[],
      private readonly mayReuse: boolean,
    ) {}

    /** Whether the call failed because its kept connection had been closed before it started. */
    foundStale(): boolean {
      return this.reused && this.firstStepUnreachable;
    }

    private record(
      operation: DirectoryTraceOperation,
      dn: string | undefined,
      startedAt: Date,
      startedMs: number,
      resultCode: number | undefined,
      diagnostic: string | undefined,
      ppolicy: PasswordPolicyResponse | undefined,
      failure?: ClassifiedLdapError,
    ): void {
      const record: DirectoryTraceRecord = {
        operation,
        dn,
        resultCode,
        diagnostic,
        ppolicy,
        failure: failure
          ? {
              reason: failure.reason,
              code: mapDirectoryFailure(this.purpose, failure.reason, { ppolicy }).code,
            }
          : undefined,
        startedAt,
        latencyMs: Math.round((performance.now() - startedMs) * 1000) / 1000,
        correlationId: this.context.correlationId,
        connectorId: settings.connectorId,
        operationId: this.context.operationId,
      };
      this.trace.push(record);
    }

    /**
     * Runs one LDAP step and traces it. On failure, either throws the mapped failure, or (with
     * `tolerate`) returns the classified error for the caller to decide.
     */
    async step<T>(
      operation: DirectoryTraceOperation,
      dn: string | undefined,
      run: (control: PasswordPolicyControl) => Promise<T>,
    ): Promise<
      | { readonly ok: true; readonly value: T; readonly ppolicy: PasswordPolicyResponse | undefined }
      | {
          readonly ok: false;
          readonly error: ClassifiedLdapError;
          readonly ppolicy: PasswordPolicyResponse | undefined;
        }
    > {
      // A kept connection is bound as whoever the last call bound as: nothing but a bind may use it first.
      if (this.reused && !this.bound && operation !== 'userBind' && operation !== 'serviceBind')
        throw new Error(`a ${operation} on a kept connection before any bind`);
      const isFirstStep = this.steps === 0;
      this.steps += 1;
      // A fresh control per request: ldapts parses the response control into it (see the control's comment).
      const control = new PasswordPolicyControl();
      const startedAt = ports.clock.now();
      const startedMs = performance.now();
      try {
        const value = await run(control);
        this.record(operation, dn, startedAt, startedMs, 0, undefined, control.response);
        if (operation === 'userBind' || operation === 'serviceBind') this.bound = true;
        return { ok: true, value, ppolicy: control.response };
      } catch (error) {
        const plain = classifyLdapError(error, operation, control.response);
        const classified = isActiveDirectory ? refineActiveDirectoryError(plain, operation) : plain;
        if (connectionLost.has(classified.reason)) this.broken = true;
        if (isFirstStep && classified.reason === 'unreachable') this.firstStepUnreachable = true;
        // A failed bind leaves the connection anonymous (RFC 4511 §4.2.1), not as the last call's identity.
        if (operation === 'userBind' || operation === 'serviceBind') this.bound = true;
        this.record(
          operation,
          dn,
          startedAt,
          startedMs,
          classified.ldapResultCode,
          classified.diagnostic,
          control.response,
          classified,
        );
        return { ok: false, error: classified, ppolicy: control.response };
      }
    }

    /** Fails the call with `error` mapped for this call's purpose. */
    fail(error: ClassifiedLdapError, ppolicy: PasswordPolicyResponse | undefined): never {
      throw new StepFailure(
        mapDirectoryFailure(this.purpose, error.reason, {
          ldapResultCode: error.ldapResultCode,
          ppolicy,
          diagnostic: error.diagnostic,
          directoryCode: error.directoryCode,
          detail: error.detail,
        }),
      );
    }

    /** Fails the call with a reason found by Rekey itself (no LDAP error behind it). */
    failWith(reason: ClassifiedLdapError['reason'], ppolicy?: PasswordPolicyResponse): never {
      throw new StepFailure(mapDirectoryFailure(this.purpose, reason, { ppolicy }));
    }

    /** The connected client: a kept connection, or a new one (upgraded with StartTLS) on first use. */
    async connected(): Promise<Client> {
      if (this.client) return this.client;
      const kept = this.mayReuse ? pool.take() : undefined;
      if (kept) {
        this.client = kept.client;
        this.socket = kept.socket;
        this.reused = true;
        return kept.client;
      }
      const result = await this.step('connect', undefined, async () => {
        const client = await this.openClient();
        if (settings.startTls && !isLdaps) await this.upgrade(client);
        return client;
      });
      if (!result.ok) this.fail(result.error, result.ppolicy);
      return result.value;
    }

    /** Opens the TCP (or TLS, for ldaps://) connection and hands it to an ldapts client; no StartTLS. */
    async openClient(): Promise<Client> {
      const socket = await openSocket();
      this.socket = socket;
      let isSocketTaken = false;
      // Rekey opens the socket itself, so the connect has its own timeout and trace step; ldapts
      // takes it as an established connection. A second call means ldapts lost the connection
      // and is reconnecting: refuse, so the step fails as unreachable instead of hanging.
      const takeSocket = (): Socket => {
        if (isSocketTaken) throw new Error('connection closed');
        isSocketTaken = true;
        return socket;
      };
      const client = new Client({
        url: settings.url,
        timeout: operationTimeoutMs,
        connectTimeout: connectTimeoutMs,
        createConnection: takeSocket,
        ...(isLdaps ? { createSecureConnection: () => takeSocket() as TLSSocket } : {}),
      });
      this.client = client;
      return client;
    }

    /** Upgrades an open ldap:// connection with StartTLS. */
    async upgrade(client: Client): Promise<void> {
      // ldapts bounds the StartTLS request but not the TLS handshake after it.
      await withTimeout(client.startTLS({ ...tlsOptions }), operationTimeoutMs);
    }

    /** Binds as the service account; a refusal fails the call (120015 / 80007). */
    async bindAsService(): Promise<void> {
      const client = await this.connected();
      const result = await this.step('serviceBind', settings.bindDn, () =>
        client.bind(settings.bindDn, settings.bindPassword),
      );
      if (!result.ok) this.fail(result.error, result.ppolicy);
    }

    /**
     * Binds as a user (on OpenLDAP with the password-policy control; Active Directory says why in
     * its diagnostic instead); returns the outcome for the caller to judge.
     */
    async bindAsUser(dn: string, password: string) {
      const client = await this.connected();
      return this.step('userBind', dn, (control) =>
        isActiveDirectory ? client.bind(dn, password) : client.bind(dn, password, control),
      );
    }

    /** Whether the entry at `dn` exists, searched as whoever is bound. */
    async entryExists(dn: string): Promise<boolean> {
      const client = await this.connected();
      const result = await this.step('search', dn, () =>
        client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }),
      );
      if (result.ok) return result.value.searchEntries.length > 0;
      if (result.error.reason === 'entryNotFound') return false;
      return this.fail(result.error, result.ppolicy);
    }

    async modifyPassword(
      dn: string,
      request: {
        readonly userIdentity?: string;
        readonly oldPassword?: string;
        readonly newPassword: string;
      },
    ): Promise<DirectoryPasswordWrite> {
      const client = await this.connected();
      const result = await this.step('passwordModify', dn, (control) =>
        client.exop(passwordModifyOid, encodePasswordModifyRequest(request), control),
      );
      if (!result.ok) return this.fail(result.error, result.ppolicy);
      return { dn, ppolicy: result.ppolicy };
    }

    /**
     * Active Directory's password write, an ordinary modify of `unicodePwd`: with the current
     * password, delete it and add the new one (a change, which the directory checks against the
     * old value and the history); without it, replace (a reset, which needs the right to).
     */
    async modifyUnicodePwd(
      dn: string,
      request: { readonly oldPassword?: string; readonly newPassword: string },
    ): Promise<DirectoryPasswordWrite> {
      const client = await this.connected();
      const value = (password: string) =>
        new Attribute({ type: 'unicodePwd', values: [unicodePwdValue(password)] });
      const changes =
        request.oldPassword === undefined
          ? [new Change({ operation: 'replace', modification: value(request.newPassword) })]
          : [
              new Change({ operation: 'delete', modification: value(request.oldPassword) }),
              new Change({ operation: 'add', modification: value(request.newPassword) }),
            ];
      const result = await this.step('passwordModify', dn, () => client.modify(dn, changes));
      if (!result.ok) return this.fail(result.error, result.ppolicy);
      return { dn, ppolicy: undefined };
    }

    async close(): Promise<void> {
      const client = this.client;
      const socket = this.socket;
      this.client = undefined;
      this.socket = undefined;
      if (
        client &&
        socket &&
        this.mayReuse &&
        !this.broken &&
        client.isConnected &&
        pool.put({ client, socket })
      )
        return;
      try {
        await client?.unbind();
      } catch {
        // The connection is gone already; nothing to close.
      }
      // A socket ldapts never took (a call that failed before its first operation) is ours to end.
      socket?.destroy();
    }
  }

  /** Rejects with a timeout error when `promise` has not settled within `ms`. */
  function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`StartTLS: no TLS connection within ${ms} ms (timed out)`)),
        ms,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  function openSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket: Socket = isLdaps ? tlsConnect({ ...tlsOptions, port }) : netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LdapConnectTimeoutError(connectTimeoutMs));
      }, connectTimeoutMs);
      socket.once(isLdaps ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      });
    });
  }

  /** An empty password makes a simple bind anonymous (RFC 4513 §5.1.2), which "succeeds": never send one. */
  function isBindablePassword(password: string): boolean {
    return password.length > 0;
  }

  return {
    checkConnection: (context) =>
      runCall('writeback', context, async (session) => {
        await session.bindAsService();
      }),

    findUserByDn: (dn, context, attributes) =>
      runCall('writeback', context, async (session) => {
        await session.bindAsService();
        const client = await session.connected();
        const result = await session.step('search', dn, () =>
          client.search(dn, {
            scope: 'base',
            filter: userFilter,
            ...(attributes ? { attributes: [...attributes] } : {}),
          }),
        );
        if (!result.ok) {
          if (result.error.reason === 'entryNotFound') return undefined;
          return session.fail(result.error, result.ppolicy);
        }
        const entry = result.value.searchEntries[0];
        return entry ? entryFrom(entry) : undefined;
      }),

    findUsers: (filter, context, options = {}) =>
      runCall('writeback', context, async (session) => {
        await session.bindAsService();
        const client = await session.connected();
        const result = await session.step('search', settings.baseDn, () =>
          client.search(settings.baseDn, {
            scope: 'sub',
            filter: filter ? `(&${userFilter}${filter})` : userFilter,
            ...(options.attributes ? { attributes: [...options.attributes] } : {}),
            ...(options.sizeLimit ? { sizeLimit: options.sizeLimit } : {}),
          }),
        );
        if (!result.ok) return session.fail(result.error, result.ppolicy);
        return result.value.searchEntries.map((entry) => entryFrom(entry));
      }),

    searchUsersPaged: async (filter, context, options) => {
      // Rekey's own error from onPage, kept apart so it is not mistaken for the directory's.
      let pageError: { readonly error: unknown } | undefined;
      const outcome = await runCall('writeback', context, async (session) => {
        await session.bindAsService();
        const client = await session.connected();
        const pages = client
          .searchPaginated(settings.baseDn, {
            scope: 'sub',
            filter: filter ? `(&${userFilter}${filter})` : userFilter,
            attributes: [...options.attributes],
            ...(options.binaryAttributes ? { explicitBufferAttributes: [...options.binaryAttributes] } : {}),
            paged: { pageSize: options.pageSize ?? 500 },
          })
          [Symbol.asyncIterator]();
        let read = 0;
        const nextPage = () => session.step('search', settings.baseDn, () => pages.next());
        let coming = nextPage();
        for (;;) {
          const page = await coming;
          if (!page.ok) return session.fail(page.error, page.ppolicy);
          if (page.value.done) break;
          const entries = page.value.value.searchEntries.map((entry) =>
            entryFrom(entry, options.binaryAttributes),
          );
          read += entries.length;
          // The directory reads the next page while this one is written (a step never rejects:
          // a failure is its outcome, met at the top of the loop).
          coming = nextPage();
          try {
            await options.onPage(entries);
          } catch (error) {
            pageError = { error };
            await coming;
            await pages.return?.(undefined);
            throw error;
          }
        }
        return read;
      });
      if (pageError) throw pageError.error;
      return outcome;
    },

    probe: async (context, options = {}) => {
      const countLimit = options.countLimit ?? 10_000;
      const trace: DirectoryTraceRecord[] = [];
      // A new connection every time: the test is of connecting, too.
      const session = new Session('writeback', context, trace, false);
      const steps: TestStep[] = [];
      let failed = false;
      let usersFound: number | null = null;
      const skip = (step: TestStepName, message: string) =>
        steps.push({ step, result: 'skipped', code: null, message, latencyMs: null });
      async function run<T>(
        step: TestStepName,
        operation: DirectoryTraceOperation,
        dn: string | undefined,
        body: () => Promise<T>,
        describe: (value: T) => string,
      ): Promise<T | undefined> {
        if (failed) {
          skip(step, 'Not run: an earlier step failed.');
          return undefined;
        }
        const started = performance.now();
        const result = await session.step(operation, dn, body);
        const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
        if (result.ok) {
          steps.push({ step, result: 'success', code: null, message: describe(result.value), latencyMs });
          return result.value;
        }
        failed = true;
        const failure = mapDirectoryFailure('writeback', result.error.reason, {
          ldapResultCode: result.error.ldapResultCode,
          ppolicy: result.ppolicy,
          diagnostic: result.error.diagnostic,
          directoryCode: result.error.directoryCode,
          detail: result.error.detail,
        });
        const said = failure.diagnostic ? ` The directory said: ${failure.diagnostic}.` : '';
        steps.push({
          step,
          result: 'failure',
          code: failure.code,
          message: `${getCatalogEntry(failure.code).message} (${failure.reason}).${said}`,
          latencyMs,
        });
        return undefined;
      }
      try {
        const client = await run(
          'connect',
          'connect',
          undefined,
          () => session.openClient(),
          () => `Connected to ${host}:${port}${isLdaps ? ' over TLS' : ''}.`,
        );
        if (settings.startTls && !isLdaps) {
          await run(
            'startTls',
            'startTls',
            undefined,
            () => (client ? session.upgrade(client) : Promise.resolve()),
            () => 'The connection is encrypted with StartTLS.',
          );
        } else {
          skip('startTls', isLdaps ? 'Not needed: ldaps:// is encrypted from the start.' : 'Not asked for.');
        }
        await run(
          'bind',
          'serviceBind',
          settings.bindDn,
          () => (client ? client.bind(settings.bindDn, settings.bindPassword) : Promise.resolve()),
          () => `Bound as ${settings.bindDn}.`,
        );
        usersFound =
          (await run(
            'search',
            'search',
            settings.baseDn,
            async () => {
              if (!client) return 0;
              let count = 0;
              for await (const page of client.searchPaginated(settings.baseDn, {
                scope: 'sub',
                filter: userFilter,
                attributes: ['1.1'],
                paged: { pageSize: 500 },
              })) {
                count += page.searchEntries.length;
                if (count >= countLimit) break;
              }
              return count;
            },
            (count) =>
              count >= countLimit
                ? `Found at least ${count} users under ${settings.baseDn} (counting stopped there).`
                : `Found ${count} users under ${settings.baseDn} with the filter ${userFilter}.`,
          )) ?? null;
      } finally {
        await session.close();
        for (const record of trace) ports.traceSink?.(record);
      }
      return { steps, usersFound, trace };
    },

    readChangeState: (context) =>
      runCall('writeback', context, async (session) => {
        await session.bindAsService();
        const client = await session.connected();
        const root = await session.step('search', '', () =>
          client.search('', {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: ['highestCommittedUSN', 'dsServiceName'],
          }),
        );
        if (!root.ok) return session.fail(root.error, root.ppolicy);
        const rootEntry = root.value.searchEntries[0];
        const highestCommittedUsn = String(rootEntry?.['highestCommittedUSN'] ?? '');
        const dsServiceName = String(rootEntry?.['dsServiceName'] ?? '');
        if (!/^\d+$/.test(highestCommittedUsn) || dsServiceName === '') {
          throw new Error(
            'the rootDSE has no highestCommittedUSN or dsServiceName: is this an Active Directory domain controller?',
          );
        }
        const settingsEntry = await session.step('search', dsServiceName, () =>
          client.search(dsServiceName, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: ['invocationId'],
            explicitBufferAttributes: ['invocationId'],
          }),
        );
        if (!settingsEntry.ok) return session.fail(settingsEntry.error, settingsEntry.ppolicy);
        const invocation = settingsEntry.value.searchEntries[0]?.['invocationId'];
        const invocationId = Buffer.isBuffer(invocation) ? invocation.toString('base64') : '';
        if (invocationId === '')
          throw new Error(`${dsServiceName} has no invocationId the service account can read`);
        return { highestCommittedUsn, invocationId, dsServiceName };
      }),

    signIn: (dn, password, context) =>
      runCall('signIn', context, async (session) => {
        if (!isBindablePassword(password)) return session.failWith('invalidCredentials');
        const bound = await session.bindAsUser(dn, password);
        if (!bound.ok) return session.fail(bound.error, bound.ppolicy);
        // The bind succeeded, but the directory allows nothing but a password change until then.
        if (bound.ppolicy?.error === 'changeAfterReset')
          return session.failWith('changeAfterReset', bound.ppolicy);
        return {
          dn,
          secondsBeforeExpiration: bound.ppolicy?.timeBeforeExpiration,
          graceBindsRemaining: bound.ppolicy?.graceAuthNsRemaining,
        };
      }),

    changePassword: (request, context) =>
      runCall('writeback', context, async (session) => {
        if (!isBindablePassword(request.currentPassword)) return session.failWith('invalidCredentials');
        const bound = await session.bindAsUser(request.dn, request.currentPassword);
        if (isActiveDirectory) {
          const change = { oldPassword: request.currentPassword, newPassword: request.newPassword };
          if (bound.ok) return session.modifyUnicodePwd(request.dn, change);
          const { reason } = bound.error;
          if (reason === 'passwordExpired' || reason === 'mustChangePassword') {
            // Said only for a right password, and such a user cannot bind: the service account
            // sends the same delete-and-add, which the domain controller checks against the old
            // value itself (changing a password needs no right beyond reading the entry).
            await session.bindAsService();
            return session.modifyUnicodePwd(request.dn, change);
          }
          if (reason === 'invalidCredentials') {
            // Active Directory answers 52e for a DN that is not there too: ask the service account.
            await session.bindAsService();
            if (!(await session.entryExists(request.dn))) return session.failWith('entryNotFound');
          }
          return session.fail(bound.error, bound.ppolicy);
        }
        if (bound.ok) {
          return session.modifyPassword(request.dn, {
            oldPassword: request.currentPassword,
            newPassword: request.newPassword,
          });
        }
        if (bound.error.reason === 'passwordExpired') {
          // The directory says "expired" only for a right password, and an expired password cannot
          // bind to change itself: the service account writes it, giving the old one as proof.
          await session.bindAsService();
          return session.modifyPassword(request.dn, {
            userIdentity: request.dn,
            oldPassword: request.currentPassword,
            newPassword: request.newPassword,
          });
        }
        if (bound.error.reason === 'invalidCredentials') {
          // A bind to a DN that is not there fails as a wrong password does: ask the service account.
          await session.bindAsService();
          if (!(await session.entryExists(request.dn))) return session.failWith('entryNotFound');
        }
        return session.fail(bound.error, bound.ppolicy);
      }),

    resetPassword: (request, context) =>
      runCall('writeback', context, async (session) => {
        await session.bindAsService();
        if (isActiveDirectory)
          return session.modifyUnicodePwd(request.dn, { newPassword: request.newPassword });
        return session.modifyPassword(request.dn, {
          userIdentity: request.dn,
          newPassword: request.newPassword,
        });
      }),

    close: () => pool.close(),

    passwordBinds: (dn, password, context) =>
      runCall('writeback', context, async (session) => {
        if (!isBindablePassword(password)) return false;
        const bound = await session.bindAsUser(dn, password);
        if (bound.ok) return true;
        if (bound.error.reason === 'passwordExpired' || bound.error.reason === 'changeAfterReset')
          return true;
        // Active Directory's 530, 531, 533, 701 and 773 come only with a right password (775
        // comes with any, so a locked account fails below).
        if (
          isActiveDirectory &&
          (bound.error.reason === 'mustChangePassword' ||
            bound.error.reason === 'accountDisabled' ||
            bound.error.reason === 'logonHours' ||
            bound.error.reason === 'workstationRestricted')
        )
          return true;
        if (bound.error.reason === 'invalidCredentials') return false;
        return session.fail(bound.error, bound.ppolicy);
      }),
  };
}
