import type { SmartLockoutSettings } from '../../lockout/lockout-policy.js';
import type { DiagnoseCheck } from '../diagnose-types.js';
import { describeCode, finding } from './finding.js';

/** Lockout and sign-in activity: the recent sign-ins by outcome, and the lockout settings. */
export function lockoutActivityCheck(ports: {
  readonly smartLockout: () => Promise<SmartLockoutSettings>;
}): DiagnoseCheck {
  return {
    name: 'lockoutAndSignIns',
    async run(evidence) {
      const settings = await ports.smartLockout();
      const counts = new Map<number, number>();
      for (const s of evidence.signIns) counts.set(s.error_code, (counts.get(s.error_code) ?? 0) + 1);
      const failures = [...counts.entries()].filter(([code]) => code !== 0).sort((a, b) => b[1] - a[1]);
      const lines = [
        `${evidence.signIns.length} sign-in(s) looked at since ${evidence.since}: ${counts.get(0) ?? 0} succeeded.`,
        ...failures.map(([code, count]) => `${count} × ${describeCode(code)}`),
        `Smart lockout locks after ${settings.lockoutThreshold} failed attempts for ${settings.lockoutDurationInSeconds} s at first.`,
      ];
      const last = evidence.signIns[0];
      if (last && last.error_code !== 0 && last.additional_details)
        lines.push(`Newest failure: ${last.additional_details}`);
      const locked = failures.find(([code]) => code === 50053);
      const status = locked
        ? 'fail'
        : failures.length > 0
          ? 'warn'
          : evidence.signIns.length === 0
            ? 'skipped'
            : 'ok';
      return finding(
        'lockoutAndSignIns',
        'Lockout and sign-in activity',
        status,
        locked ? 50053 : (failures[0]?.[0] ?? null),
        lines,
        {
          data: { byCode: Object.fromEntries(counts) },
        },
      );
    },
  };
}
