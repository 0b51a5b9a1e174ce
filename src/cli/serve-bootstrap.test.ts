import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { adminPassword, adminUpn } from '../../test/support/rekey-harness.js';
import { createRekey, type Rekey } from '../app/create-rekey.js';
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import type { CliIo } from './context.js';
import { reportBootstrap } from './serve-command.js';

/*
 * REKEY_BOOTSTRAP_ADMIN_PASSWORD sets the first administrator's password on the first start. On
 * any later start it changes nothing; `rekey serve` must say so rather than ignore it silently.
 */

function captured(): CliIo & { readonly outLines: string[]; readonly errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { out: (t) => outLines.push(t), err: (t) => errLines.push(t), env: {}, outLines, errLines };
}

describe.each(dialects)('the bootstrap password on a later start, on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  beforeAll(async () => {
    // The first start: the harness gives REKEY_BOOTSTRAP_ADMIN_PASSWORD and it is used.
    started = await startCliTestRekey(dialect, 'rekey-serve-bootstrap-');
  });
  afterAll(async () => {
    await started?.close();
  });

  async function startAgain(env: Record<string, string>): Promise<Rekey> {
    const config = loadConfig({ ...started?.env, REKEY_LOG_LEVEL: 'silent', ...env });
    return createRekey(config, { logger: createLogger('silent') });
  }

  it('uses it on the first start, without a warning', () => {
    const first = started?.rekey;
    expect(first?.bootstrapAdminPasswordIgnored).toBe(false);
    if (!first) return;
    const io = captured();
    reportBootstrap(io, first.config, first);
    expect(io.errLines).toEqual([]);
  });

  it('warns on a later start that the tenant exists and the variable has no effect', async () => {
    const again = await startAgain({ REKEY_BOOTSTRAP_ADMIN_PASSWORD: 'Another-Start-Password-9!' });
    try {
      expect(again.bootstrapAdminPasswordIgnored).toBe(true);
      expect(again.generatedAdminPassword).toBeUndefined();
      const io = captured();
      reportBootstrap(io, again.config, again);
      expect(io.outLines).toEqual([]);
      const warning = io.errLines.join('\n');
      expect(warning).toContain(
        `warning: REKEY_BOOTSTRAP_ADMIN_PASSWORD is set, but the tenant "${again.config.tenantName}" already exists, so it has no effect`,
      );
      expect(warning).toContain('rekey users set-password <user>');
      // Nothing changed: the administrator still signs in with the first password only.
      expect(await started?.rekey.signInCode(adminUpn, adminPassword)).toBe(0);
      expect(await started?.rekey.signInCode(adminUpn, 'Another-Start-Password-9!')).toBe(50126);
    } finally {
      await again.close();
    }
  });

  it('says nothing on a later start without the variable', async () => {
    const again = await startAgain({});
    try {
      expect(again.bootstrapAdminPasswordIgnored).toBe(false);
      const io = captured();
      reportBootstrap(io, again.config, again);
      expect(io.outLines).toEqual([]);
      expect(io.errLines).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
