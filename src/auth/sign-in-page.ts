import { createHash } from 'node:crypto';
import { codeLabel } from '../error-page/error-page-mapper.js';
import type { RekeyError } from '../platform/errors/rekey-error.js';
import type { ClientResponse, SignInPageModel } from './authorize-service.js';

/*
 * Rekey's sign-in pages, rendered on the server: the credentials form, the password change step,
 * the form_post answer, the signed-out page and the error page of the browser flow. No page has
 * inline script; the one style element is allowed by its hash, as the /error page's is.
 */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pageStyle =
  'body{font-family:system-ui,sans-serif;background:#f3f5f7;color:#1b1f24;margin:0;line-height:1.5}' +
  'main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}' +
  'h1{font-size:1.4rem;margin:0 0 .3rem}p.app{color:#424a53;margin:0 0 1.2rem}' +
  'label{display:block;font-weight:600;margin:.8rem 0 .2rem}' +
  'input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #8c959f;border-radius:4px;font-size:1rem}' +
  'button{margin-top:1.2rem;width:100%;padding:.6rem;background:#0a58ca;color:#fff;border:0;border-radius:4px;font-size:1rem;cursor:pointer}' +
  'button:focus,input:focus,a:focus{outline:2px solid #0a58ca;outline-offset:2px}' +
  '.error{background:#fff0f0;border:1px solid #d1242f;border-radius:4px;padding:.6rem .8rem;margin:0 0 1rem}' +
  '.error code{font-weight:600}a{color:#0a58ca}';

const styleHash = `'sha256-${createHash('sha256').update(pageStyle).digest('base64')}'`;

/** The script that submits a form_post answer (served by the routes; no inline script). */
export const formPostScript =
  "document.addEventListener('DOMContentLoaded',function(){document.forms[0].submit();});\n";

/** Where the routes serve formPostScript. */
export const formPostScriptPath = '/oauth2/form-post.js';

/**
 * The Content-Security-Policy of a page: its style by hash, no script (except the form_post
 * page's own file), forms only to Rekey itself and, where the page is the step before it, the
 * client's origin (a browser applies form-action to the redirect a form post answers with).
 */
export function pageCsp(
  options: { readonly formTargets?: readonly string[]; readonly script?: boolean } = {},
): string {
  const formAction = options.formTargets ? ["'self'", ...options.formTargets].join(' ') : "'none'";
  return [
    "default-src 'none'",
    `style-src ${styleHash}`,
    `script-src ${options.script ? "'self'" : "'none'"}`,
    `form-action ${formAction}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function layout(title: string, body: string, scriptPath?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} - Rekey</title><style>${pageStyle}</style>${scriptPath ? `<script src="${escapeHtml(scriptPath)}" defer></script>` : ''}</head><body><main>${body}</main></body></html>`;
}

/** The refusal box: the code, a plain sentence and the link to its page. */
function errorBox(error: RekeyError, publicPath: string): string {
  const label = codeLabel(error.entry);
  return `<div class="error" role="alert"><p><code>${escapeHtml(label)}</code> ${escapeHtml(error.message)}</p><p><a href="${escapeHtml(`${publicPath}/error?code=${error.code}`)}">What does ${escapeHtml(label)} mean?</a></p></div>`;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
}

/** The credentials form or the password change step. `basePath` is '' (pages link to /error). */
export function renderSignInPage(page: SignInPageModel, basePath = ''): string {
  const tenant = encodeURIComponent(page.tenantSegment);
  const error = page.error ? errorBox(page.error, basePath) : '';
  const common = hidden('transaction', page.transactionId) + hidden('csrf_token', page.csrfToken);
  if (page.step === 'credentials') {
    return layout(
      'Sign in',
      `<h1>Sign in</h1><p class="app">to ${escapeHtml(page.applicationName)}</p>${error}` +
        `<form method="post" action="${basePath}/${tenant}/oauth2/v2.0/authorize">${common}` +
        `<label for="username">User name</label><input id="username" name="username" type="email" autocomplete="username" required value="${escapeHtml(page.username)}"${page.username ? '' : ' autofocus'}>` +
        `<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required${page.username ? ' autofocus' : ''}>` +
        '<button type="submit">Sign in</button></form>',
    );
  }
  return layout(
    'Change your password',
    `<h1>Change your password</h1><p class="app">${escapeHtml(page.username)} must choose a new password before signing in to ${escapeHtml(page.applicationName)}.</p>${error}` +
      `<form method="post" action="${basePath}/${tenant}/oauth2/v2.0/authorize/password">${common}` +
      `<input type="text" name="username" autocomplete="username" value="${escapeHtml(page.username)}" hidden>` +
      '<label for="new_password">New password</label><input id="new_password" name="new_password" type="password" autocomplete="new-password" required autofocus>' +
      '<label for="confirm_password">Confirm the new password</label><input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>' +
      '<button type="submit">Change password and sign in</button></form>',
  );
}

/** The form_post answer (OAuth 2.0 Form Post Response Mode): a form the script submits. */
export function renderFormPost(response: ClientResponse): string {
  const fields = Object.entries(response.params)
    .map(([name, value]) => hidden(escapeHtml(name), value))
    .join('');
  return layout(
    'Signing in',
    `<h1>Signing in</h1><form method="post" action="${escapeHtml(response.redirectUri)}">${fields}<p>If nothing happens, continue:</p><button type="submit">Continue</button></form>`,
    formPostScriptPath,
  );
}

/** The page after a sign-out without a registered place to return to. */
export function renderSignedOut(): string {
  return layout(
    'Signed out',
    '<h1>Signed out</h1><p>You have signed out of Rekey in this browser. You can close this window.</p>',
  );
}

/** An error of the browser flow that cannot go back to the client. */
export function renderFlowError(error: RekeyError): string {
  return layout('Sign-in problem', `<h1>Sign-in problem</h1>${errorBox(error, '')}`);
}
