import type { DiagnoseCheck } from '../diagnose-types.js';
import { describeCode, finding } from './finding.js';

/**
 * The request's timeline: its sign-in and audit rows, the operation's steps and the connector
 * calls, for the correlation ID asked about or, without one, for the newest failed request.
 */
export const correlationTimelineCheck: DiagnoseCheck = {
  name: 'correlationTimeline',
  async run(evidence) {
    const focus = evidence.selectors.correlationId ?? evidence.failures[0]?.correlationId;
    if (focus === undefined)
      return finding('correlationTimeline', 'Correlation timeline', 'skipped', null, [
        'No correlation ID was given and no failed request was found to follow.',
      ]);
    const lines: string[] = [`Correlation ID ${focus}:`];
    const operations = evidence.operations.filter((o) => o.correlation_id === focus);
    const opIds = new Set(operations.map((o) => o.id));
    for (const s of evidence.signIns.filter((s) => s.correlation_id === focus))
      lines.push(
        `${s.created_at} sign-in of ${s.user_principal_name}: ${s.error_code === 0 ? 'success' : describeCode(s.error_code)}`,
      );
    for (const a of evidence.audits.filter((a) => a.correlation_id === focus))
      lines.push(
        `${a.activity_at} audit "${a.activity_display_name}": ${a.result}${a.result_reason ? ` (${a.result_reason})` : ''}`,
      );
    for (const e of evidence.operationEvents.filter((e) => opIds.has(e.operation_id)))
      lines.push(
        `${e.at} operation ${e.operation_id.slice(0, 8)} ${e.state} at step ${e.step}${e.code === null ? '' : ` with ${describeCode(e.code)}${e.retryable ? ' (retryable)' : ''}`}${e.detail ? `: ${e.detail}` : ''}`,
      );
    for (const c of evidence.connectorCalls.filter((c) => opIds.has(c.operation_id ?? '')))
      lines.push(
        `${c.at} directory ${c.operation}${c.dn ? ` ${c.dn}` : ''}: LDAP result ${c.ldap_result_code ?? 'none'}${c.ppolicy_error ? `, password policy: ${c.ppolicy_error}` : ''}${c.diagnostic ? `, "${c.diagnostic}"` : ''} (${c.latency_ms} ms)`,
      );
    const failed = evidence.failures.filter((f) => f.correlationId === focus);
    if (lines.length === 1) {
      lines.push('Nothing was recorded under this correlation ID in the window.');
      return finding('correlationTimeline', 'Correlation timeline', 'warn', null, lines);
    }
    const root = failed[0]?.rootCode ?? null;
    return finding(
      'correlationTimeline',
      'Correlation timeline',
      failed.length > 0 ? 'fail' : 'ok',
      root,
      lines,
      {
        data: { correlationId: focus },
      },
    );
  },
};
