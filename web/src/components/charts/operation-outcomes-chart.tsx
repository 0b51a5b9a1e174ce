import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { OperationOutcomes } from '../../api/admin-types.js';
import { bucketLabel, colours } from './palette.js';

/** Password operations over time, by outcome (stacked bars). Loaded on its own (React.lazy). */
export default function OperationOutcomesChart({ outcomes }: { readonly outcomes: OperationOutcomes }) {
  const rows = outcomes.buckets.map((bucket) => ({
    label: bucketLabel(bucket.startDateTime, outcomes.interval),
    Succeeded: bucket.succeeded,
    Terminated: bucket.terminated,
    'In progress': bucket.inProgress,
  }));
  const sum = (pick: (b: OperationOutcomes['buckets'][number]) => number) =>
    outcomes.buckets.reduce((total, bucket) => total + pick(bucket), 0);
  return (
    <figure className="chart-box" data-testid="operation-chart">
      <h2>Operations by outcome</h2>
      <figcaption className="visually-hidden">
        {sum((b) => b.succeeded)} succeeded, {sum((b) => b.terminated)} terminated, {sum((b) => b.inProgress)}{' '}
        in progress, per {outcomes.interval}
      </figcaption>
      <div className="chart-area">
        <ResponsiveContainer>
          <BarChart data={rows}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" minTickGap={16} />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            <Bar dataKey="Succeeded" stackId="o" fill={colours.success} isAnimationActive={false} />
            <Bar dataKey="Terminated" stackId="o" fill={colours.failure} isAnimationActive={false} />
            <Bar dataKey="In progress" stackId="o" fill={colours.progress} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
