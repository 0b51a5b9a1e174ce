import { describe, expect, it } from 'vitest';
import { type DirectoryRole, directoryRoles } from '../roles/directory-roles.js';
import {
  assertMayCheckPasswordHistory,
  isSelf,
  matrixCell,
  mayActOn,
  passwordResetMatrix,
  refusalToActOn,
  rolesThatMay,
  sensitiveActionMatrix,
  type UserAction,
} from './authorization.js';

/*
 * Entra's two tables, copied here on their own from the reference (not from the module), one line
 * per row of the published table: Y = may, - = may not. Every cell is checked twice: against the
 * data the module holds, and through the decision the routes and services ask for.
 */

const resetColumns: readonly DirectoryRole[] = [
  'Password Administrator',
  'Helpdesk Administrator',
  'Authentication Administrator',
  'User Administrator',
  'Privileged Authentication Administrator',
  'Global Administrator',
];

// biome-ignore format: the reference's table, row by row
const resetTable: ReadonlyArray<readonly [string, string]> = [
  //                                          Pass Help Auth User PAuth Glob
  ['none',                                    'Y    Y    Y    Y    Y     Y'],
  ['Directory Readers',                       'Y    Y    Y    Y    Y     Y'],
  ['Guest Inviter',                           'Y    Y    Y    Y    Y     Y'],
  ['Password Administrator',                  'Y    Y    Y    Y    Y     Y'],
  ['Helpdesk Administrator',                  '-    Y    -    Y    Y     Y'],
  ['Message Center Reader',                   '-    Y    Y    Y    Y     Y'],
  ['Reports Reader',                          '-    Y    Y    Y    Y     Y'],
  ['User Experience Success Manager',         '-    Y    Y    Y    Y     Y'],
  ['Usage Summary Reports Reader',            '-    Y    Y    Y    Y     Y'],
  ['Authentication Administrator',            '-    -    Y    -    Y     Y'],
  ['Groups Administrator',                    '-    -    -    Y    Y     Y'],
  ['User Administrator',                      '-    -    -    Y    Y     Y'],
  ['Privileged Authentication Administrator', '-    -    -    -    Y     Y'],
  ['Privileged Role Administrator',           '-    -    -    -    Y     Y'],
  ['Global Administrator',                    '-    -    -    -    Y     Y'],
  ['any other role',                          '-    -    -    -    Y     Y'],
];

const sensitiveColumns: readonly DirectoryRole[] = [
  'Authentication Administrator',
  'User Administrator',
  'Privileged Authentication Administrator',
  'Global Administrator',
];

// biome-ignore format: the reference's table, row by row
const sensitiveTable: ReadonlyArray<readonly [readonly string[], string]> = [
  //                                                                      Auth User PAuth Glob
  [['none', 'Directory Readers', 'Guest Inviter', 'Password Administrator',
    'Message Center Reader', 'Reports Reader', 'User Experience Success Manager',
    'Usage Summary Reports Reader'],                                      'Y    Y    Y     Y'],
  [['Authentication Administrator'],                                      'Y    -    Y     Y'],
  [['Helpdesk Administrator', 'Groups Administrator', 'User Administrator'], '-    Y    Y     Y'],
  [['Privileged Authentication Administrator', 'Privileged Role Administrator',
    'Global Administrator', 'any other role'],                            '-    -    Y     Y'],
];

/** The roles Rekey knows that neither table names: the "any other role" rows apply to them. */
const otherRoles = [
  'Authentication Policy Administrator',
  'Global Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
  'Hybrid Identity Administrator',
];

function cellsOf(line: string): Array<'yes' | 'no'> {
  return line.split(/\s+/).map((cell) => (cell === 'Y' ? 'yes' : 'no'));
}

/** The target role sets a row stands for: none, the role itself, or every role no row names. */
function targetsOf(row: string): string[][] {
  if (row === 'none') return [[]];
  if (row === 'any other role') return [...otherRoles.map((role) => [role]), ['Contoso Custom Role']];
  return [[row]];
}

const resetActions: readonly UserAction[] = ['resetPassword', 'unlock', 'revokeSessions'];
const sensitiveActions: readonly UserAction[] = [
  'updateUser',
  'disable',
  'enable',
  'delete',
  'restore',
  'purge',
];

/** The columns of its table an action leaves out (see the module's comment). */
function excluded(action: UserAction, caller: DirectoryRole): boolean {
  if (action === 'revokeSessions') return caller === 'Password Administrator';
  if (action === 'purge')
    return caller === 'Authentication Administrator' || caller === 'Privileged Authentication Administrator';
  return false;
}

describe('the password reset table', () => {
  it('holds the reference table: the same rows in the same order, cell for cell', () => {
    expect(passwordResetMatrix.callers).toEqual(resetColumns);
    expect(passwordResetMatrix.rows.map((row) => [row.targets, row.cells])).toEqual(
      resetTable.map(([target, line]) => [[target], cellsOf(line)]),
    );
  });

  describe.each(resetTable)('row %s', (row, line) => {
    const cells = cellsOf(line);
    it.each(resetColumns.map((caller, column) => [caller, cells[column]] as const))(
      'column %s: %s',
      (caller, cell) => {
        for (const targetRoles of targetsOf(row)) {
          const lookedUp = targetRoles[0] ?? 'none';
          expect(matrixCell(passwordResetMatrix, caller, lookedUp), `${caller} on ${lookedUp}`).toBe(cell);
          for (const action of resetActions) {
            const expected = cell === 'yes' && !excluded(action, caller);
            expect(mayActOn(action, [caller], targetRoles), `${action}: ${caller} on ${lookedUp}`).toBe(
              expected,
            );
          }
        }
      },
    );
  });
});

describe('the sensitive actions table', () => {
  it('holds the reference table: the same rows in the same order, cell for cell', () => {
    expect(sensitiveActionMatrix.callers).toEqual(sensitiveColumns);
    expect(sensitiveActionMatrix.rows.map((row) => [row.targets, row.cells])).toEqual(
      sensitiveTable.map(([targets, line]) => [targets, cellsOf(line)]),
    );
  });

  describe.each(sensitiveTable.map(([targets, line]) => [targets.join(', '), targets, line] as const))(
    'row %s',
    (_name, targets, line) => {
      const cells = cellsOf(line);
      it.each(sensitiveColumns.map((caller, column) => [caller, cells[column]] as const))(
        'column %s: %s',
        (caller, cell) => {
          for (const row of targets) {
            for (const targetRoles of targetsOf(row)) {
              const lookedUp = targetRoles[0] ?? 'none';
              expect(matrixCell(sensitiveActionMatrix, caller, lookedUp), `${caller} on ${lookedUp}`).toBe(
                cell,
              );
              for (const action of sensitiveActions) {
                const expected = cell === 'yes' && !excluded(action, caller);
                expect(mayActOn(action, [caller], targetRoles), `${action}: ${caller} on ${lookedUp}`).toBe(
                  expected,
                );
              }
            }
          }
        },
      );
    },
  );
});

describe('reading the tables', () => {
  it('names every role Rekey knows in a row of each table, or treats it as "any other role"', () => {
    const named = (rows: ReadonlyArray<{ readonly targets: readonly string[] }>) =>
      new Set(rows.flatMap((row) => row.targets));
    for (const matrix of [passwordResetMatrix, sensitiveActionMatrix]) {
      const rows = named(matrix.rows);
      const unnamed = directoryRoles.filter((role) => !rows.has(role));
      expect(unnamed).toEqual(otherRoles);
      // Each role in one row only, and exactly one row for no role and one for any other.
      expect(matrix.rows.flatMap((row) => row.targets)).toHaveLength(rows.size);
      expect(rows.has('none') && rows.has('any other role')).toBe(true);
    }
  });

  it('needs every role of a target allowed, by one and the same role of the caller', () => {
    const helpdesk: DirectoryRole[] = ['Helpdesk Administrator'];
    expect(mayActOn('resetPassword', helpdesk, ['Password Administrator', 'Helpdesk Administrator'])).toBe(
      true,
    );
    expect(
      mayActOn('resetPassword', helpdesk, ['Helpdesk Administrator', 'Authentication Administrator']),
    ).toBe(false);
    expect(
      mayActOn('resetPassword', ['Password Administrator'], ['Directory Readers', 'Reports Reader']),
    ).toBe(false);
    // Two roles of the caller that each cover half of the target's roles do not add up.
    const both: DirectoryRole[] = ['Helpdesk Administrator', 'Authentication Administrator'];
    expect(mayActOn('resetPassword', both, ['Helpdesk Administrator', 'Authentication Administrator'])).toBe(
      false,
    );
    expect(mayActOn('resetPassword', both, ['Helpdesk Administrator'])).toBe(true);
    expect(mayActOn('resetPassword', both, ['Authentication Administrator'])).toBe(true);
    // A caller with no role of the table, or no role at all, may not.
    expect(mayActOn('resetPassword', ['Global Reader'], [])).toBe(false);
    expect(mayActOn('disable', [], [])).toBe(false);
  });

  it('lists the roles each action admits, for the route guards', () => {
    expect(rolesThatMay('resetPassword')).toEqual(resetColumns);
    expect(rolesThatMay('unlock')).toEqual(resetColumns);
    expect(rolesThatMay('revokeSessions')).toEqual(
      resetColumns.filter((r) => r !== 'Password Administrator'),
    );
    for (const action of ['updateUser', 'disable', 'enable', 'delete', 'restore'] as const) {
      expect(rolesThatMay(action)).toEqual(sensitiveColumns);
    }
    expect(rolesThatMay('purge')).toEqual(['User Administrator', 'Global Administrator']);
  });
});

describe('refusals', () => {
  const actor = (roles: string[], userId = 'caller') => ({ userId, roles });
  const user = (roles: string[], id = 'target') => ({ id, roles: JSON.stringify(roles) });

  it('refuses one’s own reset and unlock with 7700104 and own delete with 7700107, before the table', () => {
    const ga = actor(['Global Administrator'], 'me');
    const me = user(['Global Administrator'], 'me');
    expect(refusalToActOn('resetPassword', ga, me)?.code).toBe(7700104);
    const unlock = refusalToActOn('unlock', ga, me);
    expect(unlock?.code).toBe(7700104);
    expect(unlock?.message).toContain('unlock');
    expect(refusalToActOn('delete', ga, me)?.code).toBe(7700107);
    expect(refusalToActOn('revokeSessions', ga, me)).toBeUndefined();
    expect(refusalToActOn('updateUser', ga, me)).toBeUndefined();
  });

  it('lets the operator at the CLI (no actor) do anything', () => {
    for (const action of [...resetActions, ...sensitiveActions]) {
      expect(refusalToActOn(action, undefined, user(['Global Administrator']))).toBeUndefined();
    }
  });

  it('names the roles that would be allowed and the target’s roles', () => {
    const refusal = refusalToActOn(
      'resetPassword',
      actor(['Password Administrator']),
      user(['Helpdesk Administrator']),
    );
    expect(refusal?.code).toBe(7700103);
    expect(refusal?.details).toEqual({
      requiredRoles: [
        'Helpdesk Administrator',
        'User Administrator',
        'Privileged Authentication Administrator',
        'Global Administrator',
      ],
      targetRoles: ['Helpdesk Administrator'],
    });
    expect(refusal?.message).toBe(
      'Only a Helpdesk Administrator, User Administrator, Privileged Authentication Administrator or Global Administrator may reset the password of a user who holds the Helpdesk Administrator role.',
    );
    const outsider = refusalToActOn('disable', actor(['Helpdesk Administrator']), user([]));
    expect(outsider?.code).toBe(7700103);
    expect(outsider?.details).toEqual({ requiredRoles: sensitiveColumns });
  });

  it('treats a stored role name Rekey does not know as "any other role"', () => {
    const custom = user(['Contoso Custom Role']);
    expect(refusalToActOn('resetPassword', actor(['User Administrator']), custom)?.details).toMatchObject({
      targetRoles: ['Contoso Custom Role'],
    });
    expect(
      refusalToActOn('resetPassword', actor(['Privileged Authentication Administrator']), custom),
    ).toBeUndefined();
  });

  it('lets whoever may reset a user compare passwords with that user’s history, and the user themselves', () => {
    expect(() => assertMayCheckPasswordHistory(actor(['Helpdesk Administrator']), user([]))).not.toThrow();
    expect(() =>
      assertMayCheckPasswordHistory(actor([], 'me'), user(['Global Administrator'], 'me')),
    ).not.toThrow();
    expect(() =>
      assertMayCheckPasswordHistory(actor(['Helpdesk Administrator']), user(['User Administrator'])),
    ).toThrow(expect.objectContaining({ code: 7700103 }));
  });

  it('recognises one’s own account by id or by user principal name in any case', () => {
    const me = { userId: 'a1', userPrincipalName: 'Ada@Example.com' };
    expect(isSelf(me, 'a1')).toBe(true);
    expect(isSelf(me, 'ADA@example.COM')).toBe(true);
    expect(isSelf(me, 'a2')).toBe(false);
  });
});
