import { type Dispatcher, request as undiciRequest } from 'undici';

/** One HTTP request the benchmark sends; always to a loopback address. */
export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Statuses that count as success; anything else fails the run loudly. */
  readonly expect: readonly number[];
  /** Aborts the request with the rest of the run (first failure, SIGINT, hard deadline). */
  readonly signal?: AbortSignal;
  /** Upper bound for this one request, so no loop can hang on a stuck server. */
  readonly timeoutMs?: number;
}

/** A fully read response. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

const defaultTimeoutMs = 30_000;
const maxBodyInMessage = 2_000;

/** A response with a status the benchmark did not expect; its message names the request and body. */
export class UnexpectedResponseError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(request: HttpRequest, status: number, body: string) {
    const shownBody = body.length > maxBodyInMessage ? `${body.slice(0, maxBodyInMessage)}…` : body;
    super(
      `${request.method} ${request.url} returned ${status}, expected ${request.expect.join(' or ')}; body: ${shownBody || '(empty)'}`,
    );
    this.name = 'UnexpectedResponseError';
    this.status = status;
    this.body = body;
  }
}

/** Only loopback traffic is allowed from this harness; a typo in a target URL must not leave the box. */
function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to send benchmark traffic to ${url}: only loopback addresses are allowed`);
  }
}

/**
 * Sends `request` with undici's `request` (not fetch: the load generator shares the cores with the
 * server it measures, and fetch's WHATWG layers cost several times more CPU per request), reads
 * the whole body so the keep-alive connection is reusable, and throws
 * {@link UnexpectedResponseError} unless the status is one of `expect`.
 */
export async function send(request: HttpRequest): Promise<HttpReply> {
  assertLoopback(request.url);
  const timeout = AbortSignal.timeout(request.timeoutMs ?? defaultTimeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let response: Dispatcher.ResponseData;
  try {
    response = await undiciRequest(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal,
      // undici's own limits (300 s for the headers) would end a long call, such as a full sync of
      // 100,000 users on a loaded machine, before the request's own timeout.
      ...(request.timeoutMs === undefined
        ? {}
        : { headersTimeout: request.timeoutMs, bodyTimeout: request.timeoutMs }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${request.method} ${request.url} failed: ${message}`, { cause: error });
  }
  const body = await response.body.text();
  if (!request.expect.includes(response.statusCode))
    throw new UnexpectedResponseError(request, response.statusCode, body);
  return { status: response.statusCode, headers: response.headers, body };
}

/** Parses `reply` as a JSON object and returns its string field `name`, failing loudly otherwise. */
export function jsonStringField(reply: HttpReply, name: string, what: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body);
  } catch {
    throw new Error(`${what}: response is not JSON: ${reply.body.slice(0, maxBodyInMessage)}`);
  }
  const value = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, name) : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${what}: response has no string "${name}": ${reply.body.slice(0, maxBodyInMessage)}`);
  }
  return value;
}

/**
 * Polls `url` until it answers 200, the child dies, or `timeoutMs` passes. Used to wait for a server
 * child to be ready; connection errors are expected while it starts and are retried.
 */
export async function waitForOk(
  url: string,
  timeoutMs: number,
  stillRunning: () => boolean,
  describeFailure: () => string,
): Promise<void> {
  assertLoopback(url);
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    if (!stillRunning()) throw new Error(`server exited before ${url} answered 200\n${describeFailure()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200) return;
      last = `status ${response.status}: ${body.slice(0, 200)}`;
    } catch (error) {
      last = error instanceof Error ? String(error.cause ?? error.message) : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${describeFailure()}`);
}
