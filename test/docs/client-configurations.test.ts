// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are source text that contains templates
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './doc-commands.js';

/*
 * The README's "Using Rekey from client libraries" names one configuration per library; the tests
 * that drive those libraries against Rekey must use that same configuration. Each setting that
 * makes the configuration work is listed once here, as it is written in the README's code block,
 * and as the test writes it (the test has a TLS server and its own names for host and tenant).
 */

const readme = readFileSync(new URL('README.md', repoRoot), 'utf8');
const section = readme.slice(
  readme.indexOf('### Using Rekey from client libraries'),
  readme.indexOf('\n### ', readme.indexOf('### Using Rekey from client libraries') + 1),
);
const codeBlocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');

function codeBlockImporting(library: string): string {
  return codeBlocks.find((block) => block.includes(`from '${library}'`)) ?? '';
}

const libraries = [
  {
    library: '@azure/msal-node',
    test: 'test/msal-node.test.ts',
    settings: [
      { readme: 'new PublicClientApplication({', test: 'new PublicClientApplication({' },
      { readme: "clientId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20'", test: 'clientId: cliClientId' },
      {
        readme: 'const authority = `https://rekey.example.com/${tenantId}`',
        test: 'const authority = `${baseUrl}/${rekey.tenant.id}`',
      },
      { readme: "knownAuthorities: ['rekey.example.com']", test: 'knownAuthorities: [host]' },
      {
        readme: '`${authority}/v2.0/.well-known/openid-configuration`',
        test: '`${authority}/v2.0/.well-known/openid-configuration`',
      },
      {
        readme: 'authorityMetadata: JSON.stringify(metadata)',
        test: 'authorityMetadata: JSON.stringify(discovery.body)',
      },
      { readme: 'protocolMode: ProtocolMode.OIDC', test: 'protocolMode: ProtocolMode.OIDC' },
      { readme: 'msal.acquireTokenByUsernamePassword({', test: 'msal.acquireTokenByUsernamePassword({' },
      { readme: "scopes: ['https://graph.microsoft.com/.default']", test: 'scopes: [graphDefault]' },
      {
        readme: 'msal.acquireTokenSilent({ account, scopes:',
        test: 'msal.acquireTokenSilent({ account, scopes:',
      },
    ],
  },
  {
    library: 'openid-client',
    test: 'test/openid-client.test.ts',
    settings: [
      { readme: 'client.discovery(', test: 'client.discovery(' },
      {
        readme: 'new URL(`https://rekey.example.com/${tenantId}/v2.0`)',
        test: 'new URL(`${baseUrl}/${rekey.tenant.id}/v2.0`)',
      },
      {
        readme: "'2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20',\n  undefined,\n  client.None()",
        test: 'cliClientId,\n      undefined,\n      client.None()',
      },
      {
        readme: "client.genericGrantRequest(config, 'password', {",
        test: "client.genericGrantRequest(config, 'password', {",
      },
      {
        readme: "scope: 'https://graph.microsoft.com/.default openid offline_access'",
        test: "const graphScopes = 'https://graph.microsoft.com/.default openid offline_access'",
      },
      { readme: 'client.refreshTokenGrant(config, ', test: 'client.refreshTokenGrant(config, ' },
    ],
  },
];

describe("the README's client-library configurations", () => {
  it('are found in the README', () => {
    for (const { library } of libraries) expect(codeBlockImporting(library), library).not.toBe('');
  });

  it.each(libraries)(
    '$library: the README block and $test use the same settings',
    ({ library, test, settings }) => {
      const block = codeBlockImporting(library);
      const source = readFileSync(new URL(test, repoRoot), 'utf8');
      for (const setting of settings) {
        expect(block, `README: ${setting.readme}`).toContain(setting.readme);
        expect(source, `${test}: ${setting.test}`).toContain(setting.test);
      }
    },
  );
});
