import { type ComponentProps, lazy, Suspense } from 'react';

/*
 * The charts, each loaded on first render (recharts and the chart code are their own chunks), so
 * a page without charts, the users page first, never downloads them.
 */

const SignInActivity = lazy(() => import('./sign-in-activity-chart.js'));
const OperationOutcomes = lazy(() => import('./operation-outcomes-chart.js'));
const ConnectorLatency = lazy(() => import('./connector-latency-chart.js'));

const fallback = <p aria-live="polite">Loading chart…</p>;

export function SignInActivityChart(props: ComponentProps<typeof SignInActivity>) {
  return (
    <Suspense fallback={fallback}>
      <SignInActivity {...props} />
    </Suspense>
  );
}

export function OperationOutcomesChart(props: ComponentProps<typeof OperationOutcomes>) {
  return (
    <Suspense fallback={fallback}>
      <OperationOutcomes {...props} />
    </Suspense>
  );
}

export function ConnectorLatencyChart(props: ComponentProps<typeof ConnectorLatency>) {
  return (
    <Suspense fallback={fallback}>
      <ConnectorLatency {...props} />
    </Suspense>
  );
}
