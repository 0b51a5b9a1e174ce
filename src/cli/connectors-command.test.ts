import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { registerConnectorsCommand } from './connectors-command.js';

/*
 * `rekey connectors` on both databases: add with the password from a file, an environment
 * variable or a prompt (never an option's value), list, show, remove, and refusals in the words of
 * the options typed.
 */

const bindPassword = 'Cli-Bind-Secret-4K';

describe.each(dialects)('rekey connectors on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;
  let passwordFile: string;

  beforeAll(async () => {
    started = await startCliTestRekey(dialect, 'rekey-connectors-cli-');
    ({ rekey, env } = started);
    passwordFile = path.join(started.dir, 'bind-password');
    writeFileSync(passwordFile, `${bindPassword}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await started?.close();
  });

  const cli = (...args: string[]): Promise<CliRun> => runRekeyCli(env, args);
  const required = (name: string) => [
    '--display-name',
    name,
    '--url',
    'ldap://ldap.example.com',
    '--start-tls',
    '--bind-dn',
    'cn=rekey,ou=services,dc=example,dc=com',
    '--base-dn',
    'ou=people,dc=example,dc=com',
  ];

  it('adds a connector with the password from a file, then lists, shows and removes it', async () => {
    const added = await cli(
      'connectors',
      'add',
      ...required('Head office'),
      '--bind-password-file',
      passwordFile,
      '--attribute',
      'userPrincipalName=uid',
      '--attribute',
      'surname=',
      '--sync-interval-seconds',
      'never',
      '--json',
    );
    expect(added.code, added.err).toBe(0);
    const created = JSON.parse(added.out) as Record<string, unknown>;
    expect(created).toMatchObject({
      displayName: 'Head office',
      url: 'ldap://ldap.example.com',
      startTls: true,
      bindPasswordSet: true,
      syncIntervalSeconds: null,
    });
    expect(created['attributes']).toMatchObject({ userPrincipalName: 'uid' });
    expect(created['attributes']).not.toHaveProperty('surname');
    const id = String(created['id']);
    expect((await rekey.connectors.openConnectorConfig(id)).bindPassword).toBe(bindPassword);

    const list = await cli('connectors', 'list');
    expect(list.code, list.err).toBe(0);
    expect(list.out).toContain(
      `${id}  Head office  openldap  ldap://ldap.example.com  writeback off  last sync never`,
    );

    const shown = await cli('connectors', 'show', 'head office');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain('  encryption: StartTLS');
    expect(shown.out).toContain('  bindPassword: set (never shown)');
    for (const run of [added, list, shown]) expect(run.out + run.err).not.toContain(bindPassword);

    // The CLI tests through the OpenLDAP client: ldap.example.com does not answer, so the connect
    // step fails, the others are skipped, and the command exits 1 (7700801 without a client is
    // held by connector-routes.test.ts; the steps against a real slapd by connector-sync.test.ts).
    const tested = await cli('connectors', 'test', id);
    expect(tested.code, tested.err).toBe(1);
    expect(tested.out).toContain('connect: failure [120013]');
    expect(tested.out).toContain('bind: skipped');
    expect(tested.out).toContain('The connector failed the test');
    expect(tested.out + tested.err).not.toContain(bindPassword);

    const removed = await cli('connectors', 'remove', id);
    expect(removed).toMatchObject({ code: 0, out: `Removed Head office (${id}).` });
    const gone = await cli('connectors', 'show', id);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('error 7700008 ResourceNotFound');
    const audits = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'initiated_by', 'target_resources'])
      .where('activity_display_name', 'in', ['Add directory connector', 'Delete directory connector'])
      .execute();
    expect(audits.map((row) => row.activity_display_name).sort()).toEqual([
      'Add directory connector',
      'Delete directory connector',
    ]);
    expect(JSON.stringify(audits)).not.toContain(bindPassword);
  });

  it('reads the password from the variable --bind-password-env names', async () => {
    const run = await runRekeyCli({ ...env, LDAP_BIND_PASSWORD: bindPassword }, [
      'connectors',
      'add',
      ...required('From the environment'),
      '--bind-password-env',
      'LDAP_BIND_PASSWORD',
      '--json',
    ]);
    expect(run.code, run.err).toBe(0);
    const id = String((JSON.parse(run.out) as Record<string, unknown>)['id']);
    expect((await rekey.connectors.openConnectorConfig(id)).bindPassword).toBe(bindPassword);
    const unset = await cli(
      'connectors',
      'add',
      ...required('Unset'),
      '--bind-password-env',
      'NOT_SET_ANYWHERE',
    );
    expect(unset.code).toBe(1);
    expect(unset.err).toContain('--bind-password-env must name an environment variable that is set');
  });

  it('reads the password typed at a terminal when neither option gives it', async () => {
    const stdin = new PassThrough();
    const out: string[] = [];
    const program = new Command('rekey').exitOverride();
    registerConnectorsCommand(
      program,
      { out: (text) => out.push(text), err: () => {}, env },
      {
        stdin,
        interactive: true,
      },
    );
    stdin.end(`${bindPassword}\n`);
    await program.parseAsync(['node', 'rekey', 'connectors', 'add', ...required('Typed'), '--json']);
    const id = String((JSON.parse(out.join('\n')) as Record<string, unknown>)['id']);
    expect((await rekey.connectors.openConnectorConfig(id)).bindPassword).toBe(bindPassword);
  });

  it('has no option that takes the password itself, and says where it comes from', async () => {
    const help = await cli('connectors', 'add', '--help');
    expect(help.out).toContain('--bind-password-file <file>');
    expect(help.out).toContain('--bind-password-env <variable>');
    expect(help.out).toMatch(/never give it on the command line/);
    expect(help.out).not.toMatch(/--bind-password </);
    const without = await cli('connectors', 'add', ...required('No password'));
    expect(without.code).toBe(1);
    expect(without.err).toContain(
      'No bind password: give --bind-password-file <file> or --bind-password-env <variable>',
    );
  });

  it('names every bad option at once, as the options typed', async () => {
    const run = await cli(
      'connectors',
      'add',
      '--display-name',
      'Bad',
      '--url',
      'ldap://ldap.example.com',
      '--bind-dn',
      'not a dn',
      '--base-dn',
      'dc=example,dc=com',
      '--attribute',
      'shoeSize=size',
      '--connect-timeout-ms',
      'soon',
      '--bind-password-file',
      passwordFile,
    );
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^error 7700001 RequestValidationFailed: /);
    for (const option of ['--url ', '--bind-dn ', '--attribute ', '--connect-timeout-ms ']) {
      expect(run.err).toContain(option);
    }
    expect(run.err).toContain('"options":["--bind-dn","--attribute","--connect-timeout-ms","--url"]');
    expect(run.err).not.toContain(bindPassword);
  });
});
