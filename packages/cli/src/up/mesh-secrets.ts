import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The demo mesh's feedback signing key and admin token. */
export interface MeshSecrets {
  feedbackKeys: string;
  adminToken: string;
}

/**
 * The secrets of the mesh in `dir`, made the first time and kept (readable by the owner only):
 * feedback tokens issued before a restart still count after it, and the admin token a user
 * copied keeps working.
 */
export function meshSecrets(dir: string): MeshSecrets {
  const file = join(dir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as MeshSecrets;
  mkdirSync(dir, { recursive: true });
  const secrets: MeshSecrets = { feedbackKeys: `demo:${randomBytes(32).toString('base64url')}`, adminToken: randomBytes(16).toString('hex') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}
