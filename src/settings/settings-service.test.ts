import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import type { PolicySettings } from '../passwords/policy/index.js';
import { systemClock } from '../platform/clock.js';
import { systemContext } from '../platform/request-context.js';
import { createSettingsService } from './settings-service.js';

describe.each(dialects)('settings service on %s', (dialect) => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  it('tells its listener the new settings after a written change, and nothing after a change that changes nothing', async () => {
    const seen: PolicySettings[] = [];
    const settings = createSettingsService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock: systemClock,
      onChanged: (changed) => seen.push(changed),
    });
    const context = systemContext('settings-listener');
    await settings.updatePasswordProtection(context, { customBannedPasswords: ['quokka', 'wombat'] });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.passwordProtection.customBannedPasswords).toEqual(['quokka', 'wombat']);
    // The object handed over is the one later reads return, so what was built on it is reused.
    expect(await settings.getPolicySettings()).toBe(seen[0]);

    await settings.updatePasswordProtection(context, { customBannedPasswords: ['quokka', 'wombat'] });
    expect(seen).toHaveLength(1);
  });
});
