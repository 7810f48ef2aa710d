/** `npm run bench [-- name]`: runs every bench/*.bench.ts (or those whose name contains `name`) one after another. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(join(ROOT, 'bench'))
  .filter((file) => file.endsWith('.bench.ts') && (filters.length === 0 || filters.some((filter) => file.includes(filter))))
  .sort();
for (const bench of benches) {
  console.log(`\n=== ${bench}`);
  execFileSync(process.execPath, ['--import', 'tsx', '--conditions=source', join('bench', bench)], { cwd: ROOT, stdio: 'inherit' });
}
