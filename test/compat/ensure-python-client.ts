import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraCacheDir } from '../infra/cache-dir.js';

const REQUIREMENTS = fileURLToPath(new URL('./requirements.txt', import.meta.url));
/** Written last, so a venv interrupted mid-install is rebuilt rather than trusted. */
const COMPLETE_MARKER = 'infermesh-installed';

/**
 * A Python virtualenv with the pinned third-party clients of requirements.txt, cached by the
 * requirements' hash outside the repository. Returns the venv's python.
 */
export function ensurePythonClient(log: (line: string) => void = () => undefined): string {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const venv = join(infraCacheDir(), 'python-clients', hash);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, COMPLETE_MARKER))) return python;
  rmSync(venv, { recursive: true, force: true });
  log(`installing Python test clients into ${venv}`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], { stdio: 'inherit' });
  writeFileSync(join(venv, COMPLETE_MARKER), new Date().toISOString());
  return python;
}
