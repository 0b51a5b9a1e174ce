import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { bearer } from '../../test/support/http-helpers.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { makeSigningCertificate } from '../../test/support/signing-certificate.js';

/*
 * `rekey domains`: the tenant's domains through the same services as /v1.0/domains, on both
 * databases: list, show with a federation made through the API, add (audited), and refusals
 * with their codes.
 */

describe.each(dialects)('rekey domains on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-domains-cli-');
    ({ rekey, env } = started);
  });
  afterAll(async () => {
    await started?.close();
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);

  it('adds a managed and a federated domain, lists them and shows one with its federation', async () => {
    const added = await cli('domains', 'add', 'Fabrikam.example');
    expect(added.code, added.err).toBe(0);
    expect(added.out).toBe('Added fabrikam.example (Managed, verified).');
    const federated = await cli('domains', 'add', 'partner.example', '--federated', '--json');
    expect(federated.code, federated.err).toBe(0);
    expect(JSON.parse(federated.out)).toMatchObject({
      id: 'partner.example',
      authenticationType: 'Federated',
    });
    const audits = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'result'])
      .where('activity_display_name', '=', 'Add verified domain to company')
      .execute();
    expect(audits).toHaveLength(2);

    const list = await cli('domains', 'list');
    expect(list.code, list.err).toBe(0);
    expect(list.out.split('\n')).toEqual([
      'example.com  Managed, default, initial, verified',
      'fabrikam.example  Managed, verified',
      'partner.example  Federated, verified',
    ]);
    // A domain added as federated has its federation, with nothing set yet.
    const before = await cli('domains', 'show', 'partner.example');
    expect(before.out).toContain('issuer: (not set)');

    const admin = await rekey.adminToken();
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/domains/fabrikam.example/federationConfiguration',
      headers: bearer(admin),
      payload: {
        '@odata.type': '#microsoft.graph.internalDomainFederation',
        displayName: 'Fabrikam AD FS',
        issuerUri: 'http://fabrikam.example/adfs/services/trust',
        signingCertificate: makeSigningCertificate('sts.fabrikam.example'),
        passiveSignInUri: 'https://sts.fabrikam.example/adfs/ls',
        preferredAuthenticationProtocol: 'wsFed',
        passwordResetUri: 'https://sts.fabrikam.example/adfs/portal/updatepassword',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    // Federating a managed domain through the API: the CLI shows the same.
    const shown = await cli('domains', 'show', 'FABRIKAM.example');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain('fabrikam.example: Federated');
    expect(shown.out).toContain('Fabrikam AD FS');
    expect(shown.out).toContain('password page: https://sts.fabrikam.example/adfs/portal/updatepassword');
    const json = JSON.parse((await cli('domains', 'show', 'fabrikam.example', '--json')).out) as {
      federationConfiguration: Array<{ issuerUri: string }>;
    };
    expect(json.federationConfiguration.map((f) => f.issuerUri)).toEqual([
      'http://fabrikam.example/adfs/services/trust',
    ]);
  });

  it('refuses what the API refuses, with the catalog code', async () => {
    const unknown = await cli('domains', 'show', 'nowhere.example');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('7700008');
    const bad = await cli('domains', 'add', 'not a domain');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('7700001');
    const managedUrl = await cli(
      'domains',
      'add',
      'x.example',
      '--password-change-url',
      'https://x.example/pw',
    );
    expect(managedUrl.code).toBe(1);
    expect(managedUrl.err).toContain('--password-change-url');
    const taken = await cli('domains', 'add', 'fabrikam.example');
    expect(taken.code).toBe(1);
    expect(taken.err).toContain('7700010');
  });
});
