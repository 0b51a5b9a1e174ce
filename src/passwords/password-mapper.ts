import { describeOperationStatus } from '../operations/operation-mapper.js';
import type { PasswordOperationRow } from '../platform/db/schema.js';
import { metadataUrl } from '../platform/http/graph-envelope.js';
import type { EvaluateResult } from './password-policy-service.js';
import type { LongRunningOperation, PasswordResetResponse, PolicyEvaluation } from './password-schemas.js';

/** Graph's `longRunningOperation` resource of an operation. */
export function toLongRunningOperation(row: PasswordOperationRow, baseUrl: string): LongRunningOperation {
  return {
    '@odata.context': metadataUrl(baseUrl, 'microsoft.graph.longRunningOperation'),
    id: row.id,
    createdDateTime: row.created_at,
    lastActionDateTime: row.updated_at,
    resourceLocation: `${baseUrl}/v1.0/users/${row.user_id}`,
    status: graphOperationStatus(row),
    statusDetail: describeOperationStatus(row),
  };
}

/** The body of a reset's 202: empty, or Graph's `passwordResetResponse` when Rekey chose the password. */
export function toPasswordResetResponse(
  generatedPassword: string | undefined,
  baseUrl: string,
): PasswordResetResponse {
  return generatedPassword === undefined
    ? {}
    : {
        '@odata.context': metadataUrl(baseUrl, 'microsoft.graph.passwordResetResponse'),
        newPassword: generatedPassword,
      };
}

/** The dry run's answer. Named fields only: it never carries the password, whatever the service adds later. */
export function toPolicyEvaluation(result: EvaluateResult): PolicyEvaluation {
  return {
    valid: result.valid,
    failures: result.failures.map(({ rule, code, message }) => ({ rule, code, message })),
    passwordProtection: result.passwordProtection,
    rulesChecked: result.rulesChecked,
    user: result.user,
    historyChecked: result.historyChecked,
  };
}

/** Graph's `longRunningOperation` status of an operation state. */
export function graphOperationStatus(
  row: PasswordOperationRow,
): 'notStarted' | 'running' | 'succeeded' | 'failed' {
  switch (row.state) {
    case 'notStarted':
      return 'notStarted';
    case 'running':
    case 'retryScheduled':
      return 'running';
    case 'succeeded':
      return 'succeeded';
    case 'terminated':
      return 'failed';
    default: {
      const unreachable: never = row.state;
      return unreachable;
    }
  }
}

/** The `statusDetail` text: for a failure, the terminating code and the underlying cause. */
export { describeOperationStatus };
