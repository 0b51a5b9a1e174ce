import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** A JSON object as the tests read it. */
export type Json = Record<string, unknown>;

/** The request headers that carry `token` as a bearer token. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** The inject() options of a form POST to the token endpoint of `tenant`. */
export function tokenRequestOptions(
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  tenant = 'example.com',
) {
  return {
    method: 'POST' as const,
    url: `/${tenant}/oauth2/v2.0/token`,
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  };
}

/**
 * The outcome of a token request as one number: 0 for success, else the first AADSTS code of the
 * OAuth error body. A failure without `error_codes` gives -1, so it can never pass for a success.
 */
export function signInCodeOf(response: LightMyRequestResponse): number {
  return response.statusCode === 200
    ? 0
    : (response.json<{ error_codes?: number[] }>().error_codes?.[0] ?? -1);
}

/** The AADSTS code of a Graph error envelope (`error.innerError.aadstsCode`). */
export function aadstsCodeOf(response: { json<T>(): T }): number {
  return response.json<{ error: { innerError: { aadstsCode: number } } }>().error.innerError.aadstsCode;
}

/** Asserts the status and the AADSTS code of a Graph error; returns its `innerError`. */
export function expectErrorCode(response: LightMyRequestResponse, status: number, code: number): Json {
  expect(response.statusCode, response.body).toBe(status);
  const inner = response.json<{ error: { innerError: Json } }>().error.innerError;
  expect(inner['aadstsCode']).toBe(code);
  return inner;
}
