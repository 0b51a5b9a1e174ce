import type { CatalogEntry } from './catalog.js';

/**
 * The JSON explanation of one code, as `GET /error?code=N` (with Accept: application/json) and
 * `rekey errors --json` show it: the catalog entry without its transport details.
 */
export function describeCode(entry: CatalogEntry): Record<string, unknown> {
  return {
    code: entry.code,
    aadsts: entry.isEntraCode ? `AADSTS${entry.code}` : null,
    name: entry.name,
    message: entry.message,
    category: entry.category,
    httpStatus: entry.httpStatus,
    retryable: entry.retryable,
    remediation: entry.remediation,
  };
}
