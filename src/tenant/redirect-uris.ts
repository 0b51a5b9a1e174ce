import { builtinRedirectUris, type RedirectPlatform } from './builtin-applications.js';
import type { StoredRedirectUri } from './redirect-uri-store.js';

/*
 * How a redirect URI of a request is matched against the registered ones. Three kinds:
 *
 * - a path (`/portal/callback`): the built-in portal's callbacks, on Rekey's own origin. The
 *   origins accepted are the one the authorize request arrived on (its scheme and Host, or
 *   X-Forwarded-Proto/-Host from a proxy trusted by REKEY_TRUST_PROXY) and REKEY_PUBLIC_URL's.
 *   A browser always names the server it talks to in Host, so a request cannot make Rekey send
 *   a code to another site this way;
 * - a loopback URI (`http://localhost`, `http://127.0.0.1`, `http://[::1]`): any port, the same
 *   path and query (RFC 8252 §7.3: a native client listens on a port it picks at run time);
 * - any other URI: exactly as registered.
 */

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Longest redirect URI accepted, registered or requested. */
export const maxRedirectUriLength = 512;

/** Whether `uri` is a loopback URI (http on localhost, 127.0.0.1 or ::1). */
function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && loopbackHosts.has(url.hostname);
}

function parseAbsolute(uri: string): URL | undefined {
  if (uri.length > maxRedirectUriLength) return undefined;
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Why `uri` cannot be registered for `platform`, or undefined when it can. */
export function redirectUriProblem(platform: RedirectPlatform, uri: string): string | undefined {
  if (uri.length === 0 || uri.length > maxRedirectUriLength)
    return `must be 1 to ${maxRedirectUriLength} characters`;
  if (uri.startsWith('/')) {
    if (platform !== 'spa') return 'a path is accepted only for the spa platform';
    return /^\/[A-Za-z0-9._~\-/]*$/.test(uri) && !uri.startsWith('//')
      ? undefined
      : 'a path must be plain (letters, digits, . _ ~ - /), without query or fragment';
  }
  const url = parseAbsolute(uri);
  if (!url) return 'must be an absolute http(s) URL or, for spa, a path';
  if (uri.includes('#')) return 'must not carry a fragment';
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.protocol === 'http:' && !isLoopback(url)) return 'http is accepted only for localhost';
  return undefined;
}

/** The built-in and stored redirect URIs of an application, by platform. */
export function redirectUrisOf(
  appId: string,
  stored: readonly StoredRedirectUri[],
): Record<RedirectPlatform, string[]> {
  const builtin = builtinRedirectUris[appId] ?? {};
  const result: Record<RedirectPlatform, string[]> = {
    spa: [...(builtin.spa ?? [])],
    web: [...(builtin.web ?? [])],
    publicClient: [...(builtin.publicClient ?? [])],
  };
  for (const entry of stored)
    if (!result[entry.platform].includes(entry.uri)) result[entry.platform].push(entry.uri);
  return result;
}

/**
 * The registered URI `requested` matches, or undefined: `requested` itself is where the code is
 * sent (a registered path matched only on one of `origins`).
 */
export function matchRedirectUri(
  registered: readonly string[],
  requested: string,
  origins: readonly string[],
): string | undefined {
  const url = parseAbsolute(requested);
  if (!url || requested.includes('#') || url.username || url.password) return undefined;
  for (const candidate of registered) {
    if (candidate.startsWith('/')) {
      if (origins.includes(url.origin) && requested === `${url.origin}${candidate}`) return candidate;
      continue;
    }
    if (candidate === requested) return candidate;
    const registeredUrl = parseAbsolute(candidate);
    if (
      registeredUrl &&
      isLoopback(registeredUrl) &&
      isLoopback(url) &&
      registeredUrl.hostname === url.hostname &&
      registeredUrl.pathname === url.pathname &&
      registeredUrl.search === url.search
    )
      return candidate;
  }
  return undefined;
}
