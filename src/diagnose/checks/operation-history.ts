import type { DiagnoseCheck } from '../diagnose-types.js';
import { describeCode, finding } from './finding.js';

/** Operation history: the password operations in the window, newest first, with their causes. */
export const operationHistoryCheck: DiagnoseCheck = {
  name: 'operationHistory',
  async run(evidence) {
    const ops = evidence.operations;
    if (ops.length === 0)
      return finding('operationHistory', 'Operation history', 'ok', null, [
        'No password operation in the window.',
      ]);
    const lines = ops
      .slice(0, 10)
      .map(
        (o) =>
          `${o.created_at} ${o.kind} ${o.id}: ${o.state} at step ${o.step} after ${o.attempts} attempt(s)${o.error_code === null ? '' : `, ${o.state === 'terminated' ? 'ended by' : 'last failure'} ${describeCode(o.error_code)}`}${o.error_detail ? ` (${o.error_detail})` : ''}`,
      );
    const newest = ops[0];
    const failed = newest && (newest.state === 'terminated' || newest.state === 'retryScheduled');
    return finding(
      'operationHistory',
      'Operation history',
      failed ? (newest.state === 'terminated' ? 'fail' : 'warn') : 'ok',
      failed ? newest.error_code : null,
      lines,
      {
        ...(failed && newest.state === 'terminated'
          ? {
              remediation: [
                'The caller was answered AADSTS120008: the operation ended; the cause below it is what to fix.',
              ],
            }
          : {}),
      },
    );
  },
};
