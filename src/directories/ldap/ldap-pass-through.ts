import type { CredentialSubject, PassThroughResult, PassThroughVerifier } from '../../auth/password-check.js';
import type { ConnectorConfig } from '../../connectors/directory-ports.js';
import { describeDirectoryFailure, directoryFailureToError } from '../directory-outcome.js';
import type { DirectoryTraceRecord } from '../directory-trace.js';
import type { LdapDirectory } from './ldap-directory.js';

/** What the OpenLDAP pass-through of one tenant needs. */
export interface LdapPassThroughPorts {
  /** The client of a connector's directory. */
  openDirectory(connector: ConnectorConfig): LdapDirectory;
  /** The connector with its bind password opened, or undefined when it was removed. */
  openConnector(connectorId: string): Promise<ConnectorConfig | undefined>;
  /** Keeps the trace of each bind (the connector trace); the records hold no secret. */
  recordTrace(records: readonly DirectoryTraceRecord[]): Promise<void>;
}

/**
 * Pass-through sign-in for users synced from an OpenLDAP connector, with or without writeback:
 * the directory owns their password, so it is checked by binding as the user (with the
 * password-policy control), and the directory's own lockout and expiry apply. A user whose
 * connector was removed has no directory to ask: the stored hash decides (none until a reset).
 */
export function createLdapPassThrough(ports: LdapPassThroughPorts): PassThroughVerifier {
  return {
    appliesTo: (subject: CredentialSubject) =>
      typeof subject.on_premises_connector_id === 'string' &&
      typeof subject.on_premises_distinguished_name === 'string',

    async verify(subject, password, correlationId): Promise<PassThroughResult> {
      const connectorId = subject.on_premises_connector_id;
      const dn = subject.on_premises_distinguished_name;
      if (typeof connectorId !== 'string' || typeof dn !== 'string') return { outcome: 'wrongPassword' };
      const connector = await ports.openConnector(connectorId);
      if (!connector) return { outcome: 'noDirectory' };
      const outcome = await ports.openDirectory(connector).signIn(dn, password, { correlationId });
      await ports.recordTrace(outcome.trace);
      if (outcome.ok) return { outcome: 'verified' };
      const { failure } = outcome;
      if (failure.reason === 'invalidCredentials' || failure.reason === 'entryNotFound')
        return { outcome: 'wrongPassword' };
      return {
        outcome: 'refused',
        error: directoryFailureToError(failure),
        // The directory reports these only for a right password.
        passwordProven:
          failure.reason === 'passwordExpired' ||
          failure.reason === 'changeAfterReset' ||
          failure.reason === 'mustChangePassword',
        onPremisesCause: describeDirectoryFailure(failure),
      };
    },
  };
}
