import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A fresh self-signed token-signing certificate, as a federation's `signingCertificate` is given:
 * the base64 of its DER, without PEM armour. Made by the openssl command line, a real X.509
 * certificate that Rekey's check parses.
 */
export function makeSigningCertificate(commonName: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rekey-signing-'));
  try {
    const pem = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        pem,
        '-days',
        '30',
        '-subj',
        `/CN=${commonName}`,
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(pem, 'utf8')
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
