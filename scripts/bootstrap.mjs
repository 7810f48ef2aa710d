// Makes a fresh clone runnable: installs dependencies when node_modules is missing or older
// than the lockfile, then builds the CLI (incremental, so a second run costs little). Plain JavaScript because it runs before TypeScript tooling is installed.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const marker = `${root}node_modules/.package-lock.json`;
const lockfile = `${root}package-lock.json`;
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lockfile).mtimeMs;
if (stale) {
  console.log('[bootstrap] installing dependencies (npm ci)');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
execSync('npx tsc -b packages/cli', { cwd: root, stdio: 'inherit' });
