import type { ConnectorConfig } from '../../connectors/directory-ports.js';
import type { OnPremisesWriter } from '../../passwords/password-operation.js';
import type { UserRow } from '../../platform/db/schema.js';
import { Codes } from '../../platform/errors/catalog.js';
import { RekeyError } from '../../platform/errors/rekey-error.js';
import {
  type DirectoryFailure,
  type DirectoryOutcome,
  describeDirectoryFailure,
  directoryFailureToError,
} from '../directory-outcome.js';
import type { DirectoryCallContext, DirectoryTraceRecord } from '../directory-trace.js';
import type { LdapDirectory } from './ldap-directory.js';

/** What the OpenLDAP writeback of one tenant needs. */
export interface LdapWritebackPorts {
  /** The client of a connector's directory. */
  openDirectory(connector: ConnectorConfig): LdapDirectory;
  /** The connector with its bind password opened, or undefined when it was removed. */
  openConnector(connectorId: string): Promise<ConnectorConfig | undefined>;
  /** Keeps the trace of each call (the connector trace); the records hold no secret. */
  recordTrace(records: readonly DirectoryTraceRecord[]): Promise<void>;
}

/** Whether a user came from a connector with a DN to write to: the writer's candidates. */
export function isSyncedUser(user: UserRow): boolean {
  return user.on_premises_connector_id !== null && user.on_premises_distinguished_name !== null;
}

/**
 * The failure as the operation keeps it: the code, and in its message what the directory said
 * (the reason, the password-policy error, the LDAP result code), which the operation's status
 * detail and the audit row's cause then carry. Never a password.
 */
function onPremisesError(failure: DirectoryFailure): RekeyError {
  const error = directoryFailureToError(failure);
  return new RekeyError(failure.code, {
    message: `${error.message} The directory said: ${describeDirectoryFailure(failure)}.`,
    ...(error.details ? { details: error.details } : {}),
  });
}

/**
 * The password operation's directory write for users synced from an OpenLDAP connector whose
 * `writeback` is on: a user's own change binds as the user with the current password and writes
 * with the password-modify operation; a reset (admin or self-service) writes as the service
 * account. Safe to repeat: a retry first asks whether the new password already binds, and takes a
 * bind as the write having happened (the attempt before may have died after the directory
 * accepted it). A connector without writeback refuses the change (120015); a removed one writes
 * nothing and the cloud commit goes on.
 */
export function createLdapWriteback(ports: LdapWritebackPorts): OnPremisesWriter {
  /** Keeps the trace, then gives the value or throws the failure's RekeyError. */
  async function settle<T>(outcome: DirectoryOutcome<T>): Promise<T> {
    await ports.recordTrace(outcome.trace);
    if (!outcome.ok) throw onPremisesError(outcome.failure);
    return outcome.value;
  }

  return {
    // Synchronous, so the connector's writeback flag is read in `write`: a synced user of a
    // connector without writeback takes the operation's external path and is refused there.
    appliesTo: isSyncedUser,

    async write({ operation, user, newPassword, currentPassword }) {
      const connectorId = user.on_premises_connector_id;
      const dn = user.on_premises_distinguished_name;
      if (connectorId === null || dn === null) return;
      const connector = await ports.openConnector(connectorId);
      // Removed: no directory owns the password any more (and none checks it at sign-in).
      if (!connector) return;
      // The directory checks this user's sign-ins (pass-through): a password only Rekey knew
      // would never work there, so without writeback a change is refused, not half made.
      if (!connector.writeback)
        throw new RekeyError(Codes.PasswordChangeADAdminActionRequired, {
          message: `The password of ${dn} lives in the directory of connector "${connector.displayName}", which does not write passwords back: change it in the directory, or turn writeback on.`,
        });
      const directory = ports.openDirectory(connector);
      const context: DirectoryCallContext = {
        correlationId: operation.correlation_id,
        operationId: operation.id,
      };
      // A later attempt may follow a write the directory did: a new password that binds is done.
      // Not on the first attempt, as a refused bind counts toward the directory's lockout.
      if (operation.attempts > 1 && (await settle(await directory.passwordBinds(dn, newPassword, context))))
        return;
      const selfChange = operation.kind === 'selfChange' || operation.kind === 'expiredChange';
      if (selfChange) {
        if (currentPassword === undefined)
          throw new RekeyError(Codes.PasswordChangeFailure, {
            message: "The operation lost the user's current password, which the directory needs.",
          });
        await settle(await directory.changePassword({ dn, currentPassword, newPassword }, context));
        return;
      }
      await settle(await directory.resetPassword({ dn, newPassword }, context));
    },
  };
}
