import formBody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RekeyApp } from '../platform/http/app.js';
import { oauthErrorResponses } from '../platform/http/response-schemas.js';
import type { AuthorizeService, BrowserOutcome } from './authorize-service.js';
import { ssoSessionLifetimeSeconds } from './authorize-service.js';
import { contextOf } from './guard.js';
import {
  formPostScript,
  formPostScriptPath,
  pageCsp,
  renderFlowError,
  renderFormPost,
  renderSignedOut,
  renderSignInPage,
} from './sign-in-page.js';

/*
 * The browser sign-in over HTTP: the authorize endpoint and Rekey's sign-in page, its password
 * change step, and sign-out. Cookies (all HttpOnly, SameSite=Lax, Secure when the request came
 * over https or REKEY_PUBLIC_URL is https):
 *   - `rekey_sso`: the SSO session, Path=/, for ssoSessionLifetimeSeconds;
 *   - `rekey_signin`: binds sign-in transactions to this browser (a session cookie).
 * Every page carries its own Content-Security-Policy (no inline script) and the security
 * headers below; none of these routes answers another origin's script (no CORS: the portal
 * calls the token endpoint from Rekey's own origin).
 */

/** Cookie names, as the portal and the docs know them. */
export const ssoCookieName = 'rekey_sso';
export const browserCookieName = 'rekey_signin';

const tenantParams = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 256 }) });
const stringMap = Type.Record(Type.String(), Type.String({ maxLength: 4096 }));
const htmlResponse = (description: string) => ({
  description,
  content: { 'text/html': { schema: Type.String() } },
});
const redirectResponse = { description: 'Back to the client (Location)', type: 'null' } as const;

/**
 * The value of cookie `name` in a Cookie header. Rekey's cookie values are base64url, so they
 * need no decoding; a value with anything else in it is not Rekey's and is ignored.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    if (/^[A-Za-z0-9_-]{1,256}$/.test(value)) return value;
  }
  return undefined;
}

/** The origin of a URL, or of `publicUrl`. */
function originOf(url: string): string {
  return new URL(url).origin;
}

export function authorizeRoutes(deps: {
  readonly authorize: AuthorizeService;
  readonly publicUrl: string;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin as unknown as RekeyApp;
    app.removeContentTypeParser('application/json');
    await app.register(formBody, { bodyLimit: 16 * 1024 });
    const publicOrigin = originOf(deps.publicUrl);
    const publicIsHttps = deps.publicUrl.startsWith('https:');

    /** The origin the request arrived on (scheme and Host, or a trusted proxy's forwarded ones). */
    function requestOrigin(request: FastifyRequest): string | undefined {
      try {
        return new URL(`${request.protocol}://${request.host}`).origin;
      } catch {
        return undefined;
      }
    }

    function origins(request: FastifyRequest): string[] {
      const own = requestOrigin(request);
      return own === undefined || own === publicOrigin ? [publicOrigin] : [publicOrigin, own];
    }

    function isSecure(request: FastifyRequest): boolean {
      return request.protocol === 'https' || publicIsHttps;
    }

    function cookies(request: FastifyRequest) {
      return {
        ssoToken: cookieValue(request.headers.cookie, ssoCookieName),
        browserToken: cookieValue(request.headers.cookie, browserCookieName),
      };
    }

    function setCookie(
      request: FastifyRequest,
      reply: FastifyReply,
      name: string,
      value: string,
      maxAge?: number,
    ) {
      const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax'];
      if (isSecure(request)) attributes.push('Secure');
      if (maxAge !== undefined) attributes.push(`Max-Age=${maxAge}`);
      reply.header('set-cookie', [`${name}=${value}`, ...attributes].join('; '));
    }

    /** The security headers of every answer of these routes. */
    function secure(request: FastifyRequest, reply: FastifyReply, csp: string): FastifyReply {
      reply
        .header('content-security-policy', csp)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'no-referrer')
        .header('cross-origin-opener-policy', 'same-origin')
        .header('cross-origin-resource-policy', 'same-origin')
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache');
      if (isSecure(request)) reply.header('strict-transport-security', 'max-age=31536000');
      return reply;
    }

    function html(request: FastifyRequest, reply: FastifyReply, status: number, body: string, csp: string) {
      return secure(request, reply, csp).status(status).type('text/html; charset=utf-8').send(body);
    }

    /** Renders what the service decided. */
    function answer(request: FastifyRequest, reply: FastifyReply, outcome: BrowserOutcome) {
      switch (outcome.kind) {
        case 'respond': {
          if (outcome.ssoToken !== undefined)
            setCookie(request, reply, ssoCookieName, outcome.ssoToken, ssoSessionLifetimeSeconds);
          const { response } = outcome;
          if (response.responseMode === 'form_post')
            return html(
              request,
              reply,
              200,
              renderFormPost(response),
              pageCsp({ formTargets: [originOf(response.redirectUri)], script: true }),
            );
          const location = new URL(response.redirectUri);
          for (const [name, value] of Object.entries(response.params)) location.searchParams.set(name, value);
          // 303 after a form post, so the browser follows with GET; 302 otherwise.
          return secure(request, reply, pageCsp())
            .status(request.method === 'POST' ? 303 : 302)
            .header('location', location.toString())
            .send();
        }
        case 'page': {
          if (outcome.browserToken !== undefined)
            setCookie(request, reply, browserCookieName, outcome.browserToken);
          const status = outcome.page.error ? outcome.page.error.entry.httpStatus : 200;
          return html(
            request,
            reply,
            status,
            renderSignInPage(outcome.page),
            pageCsp({ formTargets: [outcome.page.redirectOrigin] }),
          );
        }
        case 'error':
          return html(
            request,
            reply,
            outcome.error.entry.httpStatus,
            renderFlowError(outcome.error),
            pageCsp(),
          );
        case 'signedOut':
          return html(request, reply, 200, renderSignedOut(), pageCsp());
        default: {
          const never: never = outcome;
          return never;
        }
      }
    }

    app.get(
      '/:tenant/oauth2/v2.0/authorize',
      {
        schema: {
          params: tenantParams,
          querystring: stringMap,
          response: {
            200: htmlResponse("Rekey's sign-in page, or a form_post answer"),
            302: redirectResponse,
            ...oauthErrorResponses,
          },
        },
        config: { errorFormat: 'oauth' },
      },
      async (request, reply) => {
        const outcome = await deps.authorize.authorize(
          contextOf(request),
          request.params.tenant,
          request.query,
          origins(request),
          cookies(request),
        );
        return answer(request, reply, outcome);
      },
    );

    app.post(
      '/:tenant/oauth2/v2.0/authorize',
      {
        schema: {
          consumes: ['application/x-www-form-urlencoded'],
          params: tenantParams,
          body: stringMap,
          response: {
            200: htmlResponse(
              'The sign-in page again (a refusal), the password change step, or a form_post answer',
            ),
            303: redirectResponse,
            ...oauthErrorResponses,
          },
        },
        config: { errorFormat: 'oauth' },
      },
      async (request, reply) =>
        answer(
          request,
          reply,
          await deps.authorize.submitCredentials(
            contextOf(request),
            request.body,
            cookies(request).browserToken,
          ),
        ),
    );

    app.post(
      '/:tenant/oauth2/v2.0/authorize/password',
      {
        schema: {
          consumes: ['application/x-www-form-urlencoded'],
          params: tenantParams,
          body: stringMap,
          response: {
            200: htmlResponse('The password change step again (a refusal), or a form_post answer'),
            303: redirectResponse,
            ...oauthErrorResponses,
          },
        },
        config: { errorFormat: 'oauth' },
      },
      async (request, reply) =>
        answer(
          request,
          reply,
          await deps.authorize.submitPasswordChange(
            contextOf(request),
            request.body,
            cookies(request).browserToken,
          ),
        ),
    );

    app.get(
      '/:tenant/oauth2/v2.0/logout',
      {
        schema: {
          params: tenantParams,
          querystring: stringMap,
          response: { 200: htmlResponse('Signed out'), 302: redirectResponse, ...oauthErrorResponses },
        },
        config: { errorFormat: 'oauth' },
      },
      async (request, reply) => {
        const outcome = await deps.authorize.logout(
          request.params.tenant,
          request.query,
          origins(request),
          cookies(request).ssoToken,
        );
        // The cookie goes whatever happens next.
        setCookie(request, reply, ssoCookieName, '', 0);
        if (outcome.kind === 'redirect')
          return secure(request, reply, pageCsp()).status(302).header('location', outcome.location).send();
        return answer(request, reply, outcome);
      },
    );

    app.get(
      formPostScriptPath,
      {
        schema: {
          response: {
            200: {
              description: 'The script that submits a form_post answer',
              content: { 'text/javascript': { schema: Type.String() } },
            },
            ...oauthErrorResponses,
          },
        },
        config: { errorFormat: 'oauth' },
      },
      async (_request, reply) =>
        reply
          .type('text/javascript; charset=utf-8')
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'public, max-age=3600')
          .send(formPostScript),
    );
  };
}
