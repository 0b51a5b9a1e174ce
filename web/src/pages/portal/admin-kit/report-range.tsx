/** The window of a chart: the last day by hour, or the last week or month by day. */
export const reportRanges = {
  '24h': { label: 'Last 24 hours', query: 'since=24h&interval=hour' },
  '7d': { label: 'Last 7 days', query: 'since=7d&interval=day' },
  '30d': { label: 'Last 30 days', query: 'since=30d&interval=day' },
} as const;

export type ReportRange = keyof typeof reportRanges;

export function ReportRangePicker(props: {
  readonly value: ReportRange;
  readonly onChange: (range: ReportRange) => void;
}) {
  return (
    <div className="field">
      <label htmlFor="chart-range">Chart window</label>
      <select
        id="chart-range"
        value={props.value}
        onChange={(event) => props.onChange(event.target.value as ReportRange)}
      >
        {Object.entries(reportRanges).map(([key, range]) => (
          <option key={key} value={key}>
            {range.label}
          </option>
        ))}
      </select>
    </div>
  );
}
