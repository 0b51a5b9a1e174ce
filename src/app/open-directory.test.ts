import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliTestRekey, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { adminUpn } from '../../test/support/rekey-harness.js';
import { loadConfig } from '../platform/config.js';
import { isDatabaseReady, openDatabase } from '../platform/db/database.js';
import { isRekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { toRoleAssignment } from '../roles/role-service.js';
import { type Directory, openDirectory } from './open-directory.js';

/*
 * The CLI opens the directory through the same composition root as the server (createServices).
 * These tests hold it to what the server's services do, where the two used to differ.
 */

describe.each(dialects)('openDirectory on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let directory: Directory;
  const frozenAt = new Date('2031-03-04T05:06:07.089Z');

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-open-directory-');
    directory = await openDirectory(loadConfig(started.env), {
      logger: createLogger('silent'),
      clock: { now: () => new Date(frozenAt) },
    });
  });
  afterAll(async () => {
    await directory?.close();
    await started?.close();
  });

  it('compiles the banned-term matcher when Password Protection changes, as the server does', async () => {
    const matcherFor = vi.spyOn(directory.policyEngine, 'matcherFor');
    try {
      const { settings } = await directory.settings.updatePasswordProtection(systemContext('drift-test'), {
        customBannedPasswords: ['quokka'],
      });
      // Compiled on the administrator's change, before anyone's password is judged.
      expect(matcherFor).toHaveBeenCalledTimes(1);
      expect(matcherFor.mock.calls[0]?.[0]).toMatchObject({
        customBannedPasswords: settings.customBannedPasswords,
      });
    } finally {
      matcherFor.mockRestore();
    }
    const judged = await directory.passwordPolicy.evaluate(systemContext('drift-test'), {
      password: 'Quokka-Quokka-1!',
      checkHistory: false,
    });
    expect(judged.passwordProtection.matchedTerms).toContain('quokka');
  });

  it('audits a refused role change at the directory’s time, through the one role service', async () => {
    const admin = await directory.users.getUser(adminUpn);
    // The only Global Administrator cannot lose the role; the refusal is audited by the role
    // service with its own clock, which the CLI used to build apart with the system clock.
    const refusal = await directory.roles
      .remove(systemContext('drift-test-roles'), toRoleAssignment('Global Administrator', admin.id).id)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isRekeyError(refusal) && refusal.code).toBe(7700106);
    const audit = await directory.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_at', 'activity_display_name', 'result'])
      .where('correlation_id', '=', 'drift-test-roles')
      .executeTakeFirst();
    expect(audit).toEqual({
      activity_at: frozenAt.toISOString(),
      activity_display_name: 'Remove member from role',
      result: 'failure',
    });
  });
});

describe('openDirectory on a database Rekey has not prepared', () => {
  it('refuses with 7700202, and neither migrates nor writes a secret key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rekey-open-directory-empty-'));
    try {
      const url = `sqlite:${path.join(dir, 'empty.sqlite')}`;
      const config = loadConfig({ REKEY_DATABASE_URL: url, REKEY_DATA_DIR: dir, REKEY_LOG_LEVEL: 'silent' });
      const failure = await openDirectory(config, { logger: createLogger('silent') }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isRekeyError(failure) && failure.code).toBe(7700202);
      expect(existsSync(path.join(dir, 'secret.key'))).toBe(false);
      const db = openDatabase(url);
      try {
        expect(await isDatabaseReady(db)).toBe(false);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
