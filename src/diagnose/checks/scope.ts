import type { DiagnoseCheck } from '../diagnose-types.js';
import { describeCode, finding } from './finding.js';

/** Scope: one user or many, how many requests, since when (from the gathered failures). */
export const scopeCheck: DiagnoseCheck = {
  name: 'scope',
  async run(evidence) {
    const { failures, codeScope } = evidence;
    if (codeScope) {
      const lines = [
        `${codeScope.requests} sign-in(s) ended with ${describeCode(evidence.selectors.errorCode ?? 0)} since ${evidence.since}, from ${codeScope.users} user name(s).`,
        `${failures.length} failed request(s) with this code in all (sign-ins, refused changes, password operations).`,
        ...codeScope.mostAffected.map((u) => `${u.userPrincipalName}: ${u.requests} request(s)`),
      ];
      const users = new Set(failures.map((f) => f.userPrincipalName ?? '')).size;
      return finding(
        'scope',
        'Scope',
        failures.length === 0 ? 'ok' : users > 1 ? 'fail' : 'warn',
        evidence.selectors.errorCode ?? null,
        lines,
        { data: { ...codeScope } },
      );
    }
    if (failures.length === 0)
      return finding('scope', 'Scope', 'ok', null, [`No failed request matches since ${evidence.since}.`]);
    const users = [...new Set(failures.map((f) => f.userPrincipalName ?? '(unknown user)'))];
    const requests = new Set(failures.map((f) => f.correlationId)).size;
    return finding('scope', 'Scope', 'warn', null, [
      `${requests} failed request(s) of ${users.length} user(s) since ${evidence.since}: ${users.join(', ')}.`,
    ]);
  },
};
