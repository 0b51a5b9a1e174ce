import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { SignInActivity } from '../../api/admin-types.js';
import { bucketLabel, colours } from './palette.js';

/*
 * Sign-ins over time: by result (stacked bars) and the most frequent error codes (lines). Loaded
 * on its own (React.lazy), so recharts is in no page's first chunk.
 */

/** How many codes get their own line; the rest are summed as "other". */
const topCodes = 5;

export default function SignInActivityChart({ activity }: { readonly activity: SignInActivity }) {
  const codes = activity.errorCodes.slice(0, topCodes);
  const rows = activity.buckets.map((bucket) => {
    const row: Record<string, number | string> = {
      label: bucketLabel(bucket.startDateTime, activity.interval),
      Succeeded: bucket.succeeded,
      Failed: bucket.failed,
    };
    let other = bucket.failed;
    for (const code of codes) {
      const count = bucket.errorCodes.find((entry) => entry.errorCode === code.errorCode)?.count ?? 0;
      row[`${code.errorCode} ${code.name}`] = count;
      other -= count;
    }
    if (activity.errorCodes.length > topCodes) row['Other codes'] = other;
    return row;
  });
  const total = activity.buckets.reduce((sum, b) => sum + b.succeeded + b.failed, 0);
  const failed = activity.buckets.reduce((sum, b) => sum + b.failed, 0);
  return (
    <div className="grid-2" data-testid="sign-in-charts">
      <figure className="chart-box">
        <h2>Sign-ins by result</h2>
        <figcaption className="visually-hidden">
          {total} sign-ins, {failed} failed, per {activity.interval}
        </figcaption>
        <div className="chart-area">
          <ResponsiveContainer>
            <BarChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="label" minTickGap={16} />
              <YAxis allowDecimals={false} />
              <Tooltip />
              <Legend />
              <Bar dataKey="Succeeded" stackId="result" fill={colours.success} isAnimationActive={false} />
              <Bar dataKey="Failed" stackId="result" fill={colours.failure} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </figure>
      <figure className="chart-box">
        <h2>Failures by error code</h2>
        <figcaption className="visually-hidden">
          {codes.map((code) => `${code.errorCode} ${code.name}: ${code.count}`).join('; ') || 'No failures'}
        </figcaption>
        <div className="chart-area">
          <ResponsiveContainer>
            <LineChart data={rows}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="label" minTickGap={16} />
              <YAxis allowDecimals={false} />
              <Tooltip />
              <Legend />
              {codes.map((code, index) => (
                <Line
                  key={code.errorCode}
                  type="monotone"
                  dataKey={`${code.errorCode} ${code.name}`}
                  stroke={colours.series[index % colours.series.length]}
                  dot={false}
                  isAnimationActive={false}
                />
              ))}
              {activity.errorCodes.length > topCodes && (
                <Line
                  type="monotone"
                  dataKey="Other codes"
                  stroke={colours.series[6]}
                  dot={false}
                  isAnimationActive={false}
                />
              )}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </figure>
    </div>
  );
}
