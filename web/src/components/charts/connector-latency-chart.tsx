import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ConnectorHealth } from '../../api/admin-types.js';
import { colours } from './palette.js';

/** Each connector's directory-call latency (p50 and p99, last hour and last 24 hours). Loaded on its own. */
export default function ConnectorLatencyChart({ health }: { readonly health: readonly ConnectorHealth[] }) {
  const rows = health.map((entry) => ({
    label: entry.displayName,
    'p50, last hour': entry.lastHour.latencyMs.p50 ?? 0,
    'p99, last hour': entry.lastHour.latencyMs.p99 ?? 0,
    'p50, 24 hours': entry.lastDay.latencyMs.p50 ?? 0,
    'p99, 24 hours': entry.lastDay.latencyMs.p99 ?? 0,
  }));
  return (
    <figure className="chart-box" data-testid="latency-chart">
      <h2>Connector latency (ms)</h2>
      <figcaption className="visually-hidden">
        {health
          .map(
            (entry) =>
              `${entry.displayName}: p50 ${entry.lastDay.latencyMs.p50 ?? 'no'} ms, p99 ${entry.lastDay.latencyMs.p99 ?? 'no'} ms over 24 hours`,
          )
          .join('; ')}
      </figcaption>
      <div className="chart-area">
        <ResponsiveContainer>
          <BarChart data={rows}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            <Bar dataKey="p50, last hour" fill={colours.series[0]} isAnimationActive={false} />
            <Bar dataKey="p99, last hour" fill={colours.series[2]} isAnimationActive={false} />
            <Bar dataKey="p50, 24 hours" fill={colours.series[5]} isAnimationActive={false} />
            <Bar dataKey="p99, 24 hours" fill={colours.series[3]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
