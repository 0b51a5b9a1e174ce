/** The charts' colours: distinguishable, and with text contrast against white. */
export const colours = {
  success: '#107c10',
  failure: '#a4262c',
  progress: '#8a6d00',
  series: ['#0b57b0', '#a4262c', '#8764b8', '#c239b3', '#8a6d00', '#00726d', '#605e5c'],
} as const;

/** An axis label for a bucket start: the hour for hourly buckets, the date for daily ones. */
export function bucketLabel(iso: string, interval: 'hour' | 'day'): string {
  const date = new Date(iso);
  return interval === 'hour'
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
