/*
 * The API's request and response types, taken from the server's own TypeBox schemas (type-only
 * imports: nothing of the server enters the bundle). A route whose schema changes changes these
 * types, so `npm run typecheck` fails wherever the portal reads what the API no longer sends.
 */
import type { Static } from 'typebox';
import type { GraphSubscribedSku } from '../../../src/licenses/license-schemas.js';
import type { lockoutViewSchema } from '../../../src/lockout/lockout-schemas.js';
import type {
  operationPageSchema,
  operationWithHistorySchema,
} from '../../../src/operations/operation-schemas.js';
import type {
  ChangePasswordBody,
  longRunningOperationSchema,
  PasswordResetResponse,
  PolicyEvaluation,
} from '../../../src/passwords/password-schemas.js';
import type { PolicyRuleId } from '../../../src/passwords/policy/rules.js';
import type { GraphErrorBody } from '../../../src/platform/http/response-schemas.js';
import type { SelectedSignIn } from '../../../src/sign-ins/sign-in-schemas.js';
import type { CreateUserBody, SelectedUser, UserEntity } from '../../../src/users/user-schemas.js';

export type {
  ChangePasswordBody,
  CreateUserBody,
  GraphErrorBody,
  PasswordResetResponse,
  PolicyEvaluation,
  PolicyRuleId,
};
export type User = SelectedUser;
export type { UserEntity };
export type SubscribedSku = GraphSubscribedSku;
export type SignIn = SelectedSignIn;
export type LockoutView = Static<typeof lockoutViewSchema>;
export type OperationPage = Static<typeof operationPageSchema>;
export type OperationWithHistory = Static<typeof operationWithHistorySchema>;
export type LongRunningOperation = Static<typeof longRunningOperationSchema>;

/** One page of a Graph collection, as the collection schemas describe it (`value` always sent). */
export interface GraphPage<Item> {
  readonly '@odata.count'?: number;
  readonly '@odata.nextLink'?: string;
  readonly value: readonly Item[];
}
