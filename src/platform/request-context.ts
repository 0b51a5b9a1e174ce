/** Who is acting: the signed-in user and the application they signed in through. */
export interface Actor {
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly appId: string;
  readonly appDisplayName: string;
}

/** What services need to know about the request that called them, without knowing about HTTP. */
export interface RequestContext {
  readonly correlationId: string;
  readonly ipAddress: string;
  readonly userAgent: string | undefined;
  readonly actor: Actor | undefined;
}

/** A context for work that no request started (bootstrap, the worker, the CLI). */
export function systemContext(correlationId: string): RequestContext {
  return { correlationId, ipAddress: '127.0.0.1', userAgent: undefined, actor: undefined };
}
