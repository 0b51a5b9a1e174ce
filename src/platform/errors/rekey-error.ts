import { type CatalogEntry, type ErrorCode, getCatalogEntry } from './catalog.js';

/** Extra, safe-to-show facts about one failure (field names, rule ids, the operation id...). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The one error class of Rekey. Everything a caller may see comes from the catalog entry; the
 * `details` are shown too, so they must never hold secrets. `cause` is logged, never shown.
 */
export class RekeyError extends Error {
  declare readonly entry: CatalogEntry;
  readonly details: ErrorDetails | undefined;
  /** For a refusal that ends by itself (429, 503): the seconds to wait, sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    options: { details?: ErrorDetails; message?: string; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    const entry = getCatalogEntry(code);
    super(options.message ?? entry.message, { cause: options.cause });
    this.name = 'RekeyError';
    // Not enumerable: loggers walk an error's enumerable properties and try to annotate any
    // object with a `message`, which throws on the frozen catalog entry.
    Object.defineProperty(this, 'entry', { value: entry, enumerable: false });
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get code(): number {
    return this.entry.code;
  }

  get httpStatus(): number {
    return this.entry.httpStatus;
  }
}

export function isRekeyError(error: unknown): error is RekeyError {
  return error instanceof RekeyError;
}
