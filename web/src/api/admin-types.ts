/*
 * The types of the administrators' settings, logs, operations, connectors, captures, diagnose,
 * health and report pages, taken (type-only) from the server's TypeBox schemas as types.ts does, so a route
 * whose answer changes fails `npm run typecheck` wherever the portal reads it.
 */
import type { Static } from 'typebox';
import type { SelectedDirectoryAudit } from '../../../src/audit/audit-schemas.js';
import type { CaptureInputBody, CaptureView } from '../../../src/captures/capture-schemas.js';
import type {
  ConnectorBody,
  ConnectorHealthBody,
  ConnectorHealthWindowBody,
  ConnectorInput,
  ConnectorListBody,
  ConnectorSyncReportBody,
  ConnectorTestReportBody,
} from '../../../src/connectors/connector-schemas.js';
import type { DiagnoseRequestBody, diagnoseReportSchema } from '../../../src/diagnose/diagnose-schemas.js';
import type { OperationView } from '../../../src/operations/operation-schemas.js';
import type { PasswordPolicyPatch, PasswordProtectionPatch } from '../../../src/passwords/policy/settings.js';
import type { OperationOutcomes, SignInActivity } from '../../../src/reports/report-schemas.js';
import type {
  PasswordPolicyPreview,
  PasswordPolicySettingsBody,
  PasswordProtectionPreview,
  PasswordProtectionSettingsBody,
  SmartLockoutPreview,
  SmartLockoutSettingsBody,
} from '../../../src/settings/settings-schemas.js';
import type { PublicStatus, ServiceHealth, ServiceHealthIssue } from '../../../src/status/status-schemas.js';

export type {
  CaptureInputBody as CaptureInput,
  CaptureView as Capture,
  ConnectorHealthBody as ConnectorHealth,
  ConnectorHealthWindowBody as ConnectorHealthWindow,
  ConnectorInput,
  ConnectorListBody as ConnectorList,
  ConnectorSyncReportBody as ConnectorSyncReport,
  ConnectorTestReportBody as ConnectorTestReport,
  DiagnoseRequestBody,
  OperationOutcomes,
  OperationView as Operation,
  PasswordPolicyPatch,
  PasswordPolicyPreview,
  PasswordPolicySettingsBody as PasswordPolicySettings,
  PasswordProtectionPatch,
  PasswordProtectionPreview,
  PasswordProtectionSettingsBody as PasswordProtectionSettings,
  PublicStatus,
  ServiceHealth,
  ServiceHealthIssue,
  SignInActivity,
  SmartLockoutPreview,
  SmartLockoutSettingsBody as SmartLockoutSettings,
};
export type Connector = ConnectorBody;
export type DirectoryAudit = SelectedDirectoryAudit;
export type DiagnoseReport = Static<typeof diagnoseReportSchema>;
