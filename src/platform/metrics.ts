import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/*
 * Rekey's Prometheus metrics (prom-client), one registry per process: HTTP requests by route and
 * status with their duration, password operations by the state they reached and their code,
 * argon2id time, connector call latency by connector, operation and result, and the worker
 * queue's depth and lag (read from the database when scraped). `GET /metrics` serves them
 * (src/status/metrics-routes.ts); docs/status.md lists them.
 */

/** What the worker queue gauges read at each scrape. */
export type QueueReader = () => Promise<{ readonly due: number; readonly lagSeconds: number }>;

export interface RekeyMetrics {
  readonly registry: Registry;
  /** One answered HTTP request; `route` is the route's pattern (never the raw URL). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** One argon2id hash or verification. */
  observeHash(operation: 'hash' | 'verify', seconds: number): void;
  /** One directory call of a connector; `result` is success, ldapError or unreachable. */
  observeConnectorCall(connectorId: string, operation: string, result: string, seconds: number): void;
  /** A password operation reached `state` (with its code when it failed). */
  operationMoved(state: string, code: number | null): void;
  /** Where the queue gauges read from (the status service of the process's tenant). */
  readQueueFrom(reader: QueueReader): void;
}

/** Creates the registry of one process, with Node's default process metrics. */
export function createMetrics(): RekeyMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rekey_' });
  const requests = new Counter({
    name: 'rekey_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'rekey_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const operations = new Counter({
    name: 'rekey_password_operations_total',
    help: 'Password operations that reached a state in this process, by state and catalog code (0 without one).',
    labelNames: ['state', 'code'] as const,
    registers: [registry],
  });
  const hashSeconds = new Histogram({
    name: 'rekey_password_hash_duration_seconds',
    help: 'Time of one argon2id hash or verification, by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6],
    registers: [registry],
  });
  const connectorSeconds = new Histogram({
    name: 'rekey_connector_call_duration_seconds',
    help: 'Latency of one directory call of a connector, by connector id, LDAP operation and result.',
    labelNames: ['connector', 'operation', 'result'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  let readQueue: QueueReader | undefined;
  // Read once per scrape for both gauges.
  let pending: Promise<{ due: number; lagSeconds: number } | undefined> | undefined;
  const queueStats = () => {
    pending ??= (readQueue ? readQueue() : Promise.resolve(undefined))
      .catch(() => undefined)
      .finally(() => {
        setImmediate(() => {
          pending = undefined;
        });
      });
    return pending;
  };
  new Gauge({
    name: 'rekey_worker_queue_depth',
    help: 'Password operations due now and not held by a worker.',
    registers: [registry],
    async collect() {
      const stats = await queueStats();
      if (stats) this.set(stats.due);
    },
  });
  new Gauge({
    name: 'rekey_worker_queue_lag_seconds',
    help: 'How long the oldest due operation has waited for a worker (0 when none is due).',
    registers: [registry],
    async collect() {
      const stats = await queueStats();
      if (stats) this.set(stats.lagSeconds);
    },
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      requestSeconds.observe({ method, route }, seconds);
    },
    observeHash(operation, seconds) {
      hashSeconds.observe({ operation }, seconds);
    },
    observeConnectorCall(connector, operation, result, seconds) {
      connectorSeconds.observe({ connector, operation, result }, seconds);
    },
    operationMoved(state, code) {
      operations.inc({ state, code: String(code ?? 0) });
    },
    readQueueFrom(reader) {
      readQueue = reader;
    },
  };
}
