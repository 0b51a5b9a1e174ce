/** Applications every tenant has, with fixed ids so that clients can be configured once. */
export const builtinApplications = [
  { appId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20', displayName: 'Rekey CLI' },
  { appId: '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45', displayName: 'Rekey portal' },
] as const;

/** The platforms of Graph's application resource that hold redirect URIs. */
export type RedirectPlatform = 'spa' | 'web' | 'publicClient';

/**
 * The redirect URIs the built-in applications always have, beside any an administrator adds. A
 * path (`/portal/callback`) is a URI on the origin the authorize request itself arrived on (or
 * REKEY_PUBLIC_URL's), so the portal works whatever name Rekey is reached by; `http://localhost`
 * is a loopback URI for native clients, matched on any port (RFC 8252 §7.3).
 */
export const builtinRedirectUris: Readonly<
  Record<string, Readonly<Partial<Record<RedirectPlatform, readonly string[]>>>>
> = {
  '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20': { publicClient: ['http://localhost'] },
  '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45': { spa: ['/portal/callback', '/myaccount/callback'] },
};
