// Makes the self-signed certificate pair TLS endpoints use when they name none of their own (openssl, once per data directory).
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CertificatePair } from './render.js';

const run = promisify(execFile);

/**
 * `DIR/self-signed.crt` and `DIR/self-signed.key`, generated on first use
 * (P-256, CN=reactor, SAN localhost and 127.0.0.1, ten years) and kept, so
 * clients that pinned it keep working across restarts. Written under
 * temporary names and renamed, so a crash never leaves half a pair.
 */
export async function ensureSelfSignedPair(dir: string, openssl = 'openssl'): Promise<CertificatePair> {
  const pair = { certificate: join(dir, 'self-signed.crt'), key: join(dir, 'self-signed.key') };
  if (existsSync(pair.certificate) && existsSync(pair.key)) return pair;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmpCert = `${pair.certificate}.${process.pid}.tmp`;
  const tmpKey = `${pair.key}.${process.pid}.tmp`;
  try {
    await run(openssl, [
      'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', tmpKey, '-out', tmpCert, '-days', '3650', '-subj', '/CN=reactor',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    chmodSync(tmpKey, 0o600);
    renameSync(tmpKey, pair.key);
    renameSync(tmpCert, pair.certificate);
  } catch (error) {
    rmSync(tmpCert, { force: true });
    rmSync(tmpKey, { force: true });
    const message = (error as { stderr?: string; message: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`openssl could not make a self-signed certificate: ${message.split('\n')[0]}`);
  }
  return pair;
}
