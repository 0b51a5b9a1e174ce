import { writeFileSync } from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { Agent } from 'undici';
import { freePort } from './free-port.js';
import { startTestRekey, type TestRekey } from './rekey-harness.js';

/** A Rekey serving HTTPS on a free loopback port, and an HTTP agent that alone trusts it. */
export interface TlsTestRekey {
  readonly rekey: TestRekey;
  /** `localhost:<port>`, as clients name the host. */
  readonly host: string;
  readonly baseUrl: string;
  readonly agent: Agent;
  close(): Promise<void>;
}

/**
 * Starts Rekey over TLS with a throwaway self-signed certificate, for the tests that drive it
 * with unmodified client libraries (the Graph SDK, MSAL Node), which send tokens only over HTTPS.
 */
export async function startTlsTestRekey(): Promise<TlsTestRekey> {
  const port = await freePort();
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    notAfterDate: new Date(Date.now() + 86_400_000),
    keySize: 2048,
  });
  const host = `localhost:${port}`;
  const baseUrl = `https://${host}`;
  const rekey = await startTestRekey('sqlite', {
    env: {
      REKEY_TLS_CERT: 'pending',
      REKEY_TLS_KEY: 'pending',
      REKEY_PUBLIC_URL: baseUrl,
      REKEY_PORT: String(port),
    },
    beforeStart: (dataDir) => {
      const cert = path.join(dataDir, 'tls.crt');
      const key = path.join(dataDir, 'tls.key');
      writeFileSync(cert, pems.cert);
      writeFileSync(key, pems.private);
      return { REKEY_TLS_CERT: cert, REKEY_TLS_KEY: key };
    },
  });
  await rekey.app.listen({ port, host: '127.0.0.1' });
  const agent = new Agent({ connect: { ca: pems.cert } });
  return {
    rekey,
    host,
    baseUrl,
    agent,
    async close() {
      await agent.close();
      await rekey.close();
    },
  };
}
