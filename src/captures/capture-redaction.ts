/*
 * What a capture stores of an exchange, and what it never stores. Redaction happens before
 * anything is written, on parsed values, never on raw text that could not be parsed:
 *   - headers: Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any header whose name
 *     says token, secret, password or key (`x-api-key`), keep only their name;
 *   - JSON and form bodies: every field whose name is a secret's (see isSecretName), at any depth,
 *     becomes "[redacted]"; so does every string that looks like a JWT, wherever it is;
 *   - query strings: the same names, and JWT-looking values;
 *   - a body that is neither JSON, a form nor text (a ZIP) keeps only its size; JSON that does
 *     not parse keeps nothing. Text (an HTML page) is kept, with `name=value` and `"name":"value"`
 *     pairs of secret names masked.
 * Bodies are cut after redaction, so a cut can never expose half a secret, and the cut is marked.
 */

/** What replaces a secret value. */
export const redacted = '[redacted]';

/** Names (compared in lower case) that are secrets even though they do not say so. */
const secretNames = new Set([
  'code',
  'code_verifier',
  'assertion',
  'client_assertion',
  'pwd',
  'otp',
  'authorization',
  'cookie',
  'set-cookie',
  'proxy-authorization',
]);

/** Parts of a name that make it a secret's: `newPassword`, `client_secret`, `refresh_token`, `bindPassword`. */
const secretParts = ['password', 'passwd', 'secret', 'token', 'credential', 'assertion', 'api-key', 'apikey'];

/** Names that match a secret's part but hold none, kept because they explain a failure. */
const notSecrets = new Set([
  'passwordpolicies',
  'lastpasswordchangedatetime',
  'passwordchangeurl',
  'token_type',
  'skiptoken',
  '$skiptoken',
  'bindpasswordset',
]);

/** Whether a field, parameter or header of this name holds a secret (case-insensitive). */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (notSecrets.has(lower)) return false;
  if (secretNames.has(lower)) return true;
  return secretParts.some((part) => lower.includes(part));
}

/** Three base64url segments, the first a JSON header: a JWT (an access or ID token). */
const jwtPattern = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

function scrubString(value: string): string {
  return value.replace(jwtPattern, redacted);
}

/** Objects whose `code` is an error's name or number, never an OAuth authorization code. */
const errorObjects = new Set(['error', 'innererror', 'statusdetail', 'verdict']);

/**
 * `value` with every secret field (at any depth) and every JWT-looking string redacted. A secret
 * name over an object is looked into rather than blanked (`passwordProfile` keeps
 * `forceChangePasswordNextSignIn`, its `password` goes); over anything else, the value goes. A
 * `code` is an OAuth authorization code unless it is a number or sits in an error object (Graph's
 * `error.code` names the error: kept, it is what a reader of the capture looks for).
 */
export function redactJson(value: unknown, parentKey = ''): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, parentKey));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const isPlainObject = inner !== null && typeof inner === 'object' && !Array.isArray(inner);
      const isBlank = inner === null || inner === undefined || typeof inner === 'boolean';
      const isErrorCode =
        key.toLowerCase() === 'code' &&
        (typeof inner === 'number' || errorObjects.has(parentKey.toLowerCase()));
      out[key] =
        isSecretName(key) && !isPlainObject && !isBlank && !isErrorCode ? redacted : redactJson(inner, key);
    }
    return out;
  }
  return value;
}

/** A HAR name/value pair. */
export interface HarPair {
  readonly name: string;
  readonly value: string;
}

/** Headers as HAR pairs, secrets redacted; a header given several times is several pairs. */
export function redactHeaders(headers: Readonly<Record<string, unknown>>): HarPair[] {
  const pairs: HarPair[] = [];
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
    for (const value of values)
      pairs.push({ name, value: isSecretName(name) ? redacted : scrubString(value) });
  }
  return pairs;
}

/** The query string of `url` as HAR pairs, and the URL rebuilt with the same redaction. */
export function redactUrl(publicUrl: string, url: string): { url: string; queryString: HarPair[] } {
  const parsed = new URL(url, publicUrl);
  const queryString: HarPair[] = [];
  const kept = new URLSearchParams();
  for (const [name, value] of parsed.searchParams) {
    const safe = isSecretName(name) ? redacted : scrubString(value);
    queryString.push({ name, value: safe });
    kept.append(name, safe);
  }
  parsed.search = queryString.length === 0 ? '' : `?${kept.toString()}`;
  return { url: parsed.toString(), queryString };
}

/** Masks `name=value`, `"name": "value"` and `name: value` pairs of secret names in free text. */
function scrubText(text: string): string {
  return scrubString(text)
    .replace(/("([A-Za-z0-9_.-]+)"\s*:\s*)"(?:[^"\\]|\\.)*"/g, (all, head: string, name: string) =>
      isSecretName(name) ? `${head}"${redacted}"` : all,
    )
    .replace(/\b([A-Za-z0-9_.-]+)=([^&\s"'<>]*)/g, (all, name: string) =>
      isSecretName(name) ? `${name}=${redacted}` : all,
    );
}

/** A body as stored: its text (redacted, maybe cut), its size, and whether it was cut. */
export interface CapturedBody {
  readonly mimeType: string;
  readonly text: string | undefined;
  readonly size: number;
  readonly truncated: boolean;
  /** Form parameters (HAR `postData.params`), redacted. */
  readonly params?: HarPair[];
  /** Why nothing was kept, when nothing was. */
  readonly comment?: string;
}

/** Cuts `text` to `limit` UTF-16 units, with a marker that says how much there was. */
export function truncateText(text: string, limit: number): { text: string; truncated: boolean } {
  if (text.length <= limit) return { text, truncated: false };
  return {
    text: `${text.slice(0, limit)}\n[truncated by Rekey: ${text.length - limit} more characters of ${text.length}]`,
    truncated: true,
  };
}

function isJsonType(mimeType: string): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(mimeType);
}

function isTextType(mimeType: string): boolean {
  return /^text\//i.test(mimeType) || /^application\/(?:xml|javascript)\b/i.test(mimeType);
}

/**
 * A request body as Fastify parsed it (an object for JSON and forms; undefined when there was
 * none or it did not parse), redacted and cut to `limit` characters.
 */
export function captureRequestBody(body: unknown, mimeType: string, limit: number): CapturedBody | undefined {
  if (body === undefined || body === null) return undefined;
  if (/^application\/x-www-form-urlencoded\b/i.test(mimeType) && typeof body === 'object') {
    const params: HarPair[] = [];
    const form = new URLSearchParams();
    for (const [name, raw] of Object.entries(body as Record<string, unknown>)) {
      for (const value of Array.isArray(raw) ? raw : [raw]) {
        const safe = isSecretName(name) ? redacted : scrubString(String(value));
        params.push({ name, value: safe });
        form.append(name, safe);
      }
    }
    const text = form.toString();
    const cut = truncateText(text, limit);
    return { mimeType, text: cut.text, size: text.length, truncated: cut.truncated, params };
  }
  if (typeof body === 'string') {
    const cut = truncateText(scrubText(body), limit);
    return { mimeType, text: cut.text, size: body.length, truncated: cut.truncated };
  }
  if (Buffer.isBuffer(body))
    return {
      mimeType,
      text: undefined,
      size: body.length,
      truncated: false,
      comment: 'binary body not kept',
    };
  const text = JSON.stringify(redactJson(body));
  const cut = truncateText(text, limit);
  return { mimeType, text: cut.text, size: text.length, truncated: cut.truncated };
}

/** A response payload as onSend sees it (a string, a Buffer, a stream or nothing), redacted and cut. */
export function captureResponseBody(payload: unknown, mimeType: string, limit: number): CapturedBody {
  if (payload === undefined || payload === null || payload === '')
    return { mimeType, text: undefined, size: 0, truncated: false };
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload))
    return { mimeType, text: undefined, size: -1, truncated: false, comment: 'streamed body not kept' };
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (isJsonType(mimeType)) {
    try {
      const text = JSON.stringify(redactJson(JSON.parse(String(payload))));
      const cut = truncateText(text, limit);
      return { mimeType, text: cut.text, size, truncated: cut.truncated };
    } catch {
      return {
        mimeType,
        text: undefined,
        size,
        truncated: false,
        comment: 'JSON that does not parse; not kept',
      };
    }
  }
  if (isTextType(mimeType) || (typeof payload === 'string' && mimeType === '')) {
    const cut = truncateText(scrubText(String(payload)), limit);
    return { mimeType, text: cut.text, size, truncated: cut.truncated };
  }
  return { mimeType, text: undefined, size, truncated: false, comment: 'binary body not kept' };
}
