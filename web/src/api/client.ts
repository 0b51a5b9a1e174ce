import { accessToken, areaOf, forgetSession, signIn } from '../auth/auth.js';
import type { GraphErrorBody } from './types.js';

/*
 * Every call to Rekey's API: the bearer token from memory, JSON in and out, and Graph's error
 * envelope turned into an ApiError carrying the catalog code (shown with a link to /error?code=N).
 * A 401 means the token is gone or revoked: the app signs in again (silently while the server's
 * sign-in cookie lasts), unless the user's own password change just ended the session.
 */

let reauthenticationHeld = false;

/**
 * After the user's own password change, which ended every session of theirs (this page's token
 * too): a 401 from a request still in flight then must not take the page away to sign in before
 * the user has read that the change worked. The page offers to sign in again instead.
 */
export function holdReauthentication(): void {
  reauthenticationHeld = true;
}

/** A refused or failed API call, as Graph's envelope described it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The catalog code (`innerError.aadstsCode`), or undefined when the answer had none. */
    readonly code: number | undefined,
    message: string,
    readonly requestId: string | undefined,
    readonly correlationId: string | undefined,
  ) {
    super(message);
  }
}

/** The path and query of `url` (an absolute `@odata.nextLink` or `Location` of this origin, or a path). */
export function pathOf(url: string): string {
  const parsed = new URL(url, window.location.origin);
  return `${parsed.pathname}${parsed.search}`;
}

export interface ApiAnswer<T> {
  readonly body: T;
  readonly headers: Headers;
}

/** Sends a request with the bearer token; a refusal becomes an ApiError (a 401 signs in again). */
async function send(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Response> {
  const token = accessToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(pathOf(path), {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.ok) return response;
  if (response.status === 401) {
    forgetSession();
    if (!reauthenticationHeld)
      void signIn(areaOf(window.location.pathname), `${window.location.pathname}${window.location.search}`);
  }
  const text = await response.text();
  let envelope: GraphErrorBody['error'] | undefined;
  try {
    envelope = text ? (JSON.parse(text) as Partial<GraphErrorBody>).error : undefined;
  } catch {
    envelope = undefined;
  }
  throw new ApiError(
    response.status,
    envelope?.innerError?.aadstsCode,
    envelope?.message ?? `Rekey answered HTTP ${response.status}.`,
    envelope?.innerError?.['request-id'],
    envelope?.innerError?.['client-request-id'],
  );
}

/** Calls the API; resolves with the parsed body (undefined for 202/204 without one). */
export async function callApi<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const response = await send(method, path, body);
  const text = await response.text();
  return { body: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
}

/**
 * Saves what `path` answers as the file `fileName`, through the browser's own download: a plain
 * link could not carry the bearer token.
 */
export async function downloadApi(path: string, fileName: string): Promise<void> {
  const response = await send('GET', path);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** GET, resolving with the body: what TanStack Query's query functions call. */
export async function getJson<T>(path: string): Promise<T> {
  return (await callApi<T>('GET', path)).body;
}
