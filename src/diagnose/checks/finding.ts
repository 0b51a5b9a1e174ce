import { findCatalogEntry } from '../../platform/errors/catalog.js';
import type { CheckName, Finding, FindingStatus } from '../diagnose-types.js';

/** A finding whose remediation is the catalog entry's of `code` (the one source of fixes). */
export function finding(
  check: CheckName,
  title: string,
  status: FindingStatus,
  code: number | null,
  evidence: readonly string[],
  extra: { readonly remediation?: readonly string[]; readonly data?: Readonly<Record<string, unknown>> } = {},
): Finding {
  const fromCatalog =
    code !== null && (status === 'fail' || status === 'warn')
      ? (findCatalogEntry(code)?.remediation ?? [])
      : [];
  return {
    check,
    title,
    status,
    code,
    evidence,
    remediation: [...(extra.remediation ?? []), ...fromCatalog],
    ...(extra.data ? { data: extra.data } : {}),
  };
}

/** `AADSTS120002 PasswordChangeInvalidNewPasswordWeak` for a code, or the bare number. */
export function describeCode(code: number): string {
  const entry = findCatalogEntry(code);
  return entry ? `AADSTS${code} ${entry.name}` : `code ${code}`;
}

/** The code at the start of an audit row's reason (`AADSTS120002: ...`), or undefined. */
export function codeOfReason(reason: string): number | undefined {
  const match = /^AADSTS(\d+):/.exec(reason);
  return match ? Number(match[1]) : undefined;
}

/** One `additionalDetails` value of an audit row, by key. */
export function auditDetail(additionalDetails: string, key: string): string | undefined {
  try {
    const details = JSON.parse(additionalDetails) as Array<{ key?: unknown; value?: unknown }>;
    const found = details.find((d) => d.key === key);
    return typeof found?.value === 'string' ? found.value : undefined;
  } catch {
    return undefined;
  }
}
