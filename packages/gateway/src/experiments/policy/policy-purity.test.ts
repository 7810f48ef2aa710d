import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const POLICY_ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));
const REPO = resolve(dirname(POLICY_ENTRY), '../../../../..');
/** The only package the policy core may import: the error types, through their side-effect-free entry. */
const ALLOWED_PACKAGES: Record<string, string> = { '@infermesh/shared/errors': join(REPO, 'packages/shared/src/errors/index.ts') };

/**
 * Every module reachable from `entry` through static and dynamic imports and re-exports,
 * read from the source (TypeScript's own import scanner): relative files are followed,
 * allowed packages are followed into their source, anything else is reported as it is named.
 */
function importGraph(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (ALLOWED_PACKAGES[specifier] !== undefined) pending.push(ALLOWED_PACKAGES[specifier]!);
      else external.add(specifier);
    }
  }
  return { files: [...files].map((file) => relative(REPO, file)).sort(), external: [...external].sort() };
}

test('the policy core imports no Node built-in (fs, net, http, …) and no package but the error types', () => {
  const { files, external } = importGraph(POLICY_ENTRY);
  assert.deepEqual(external, [], `the policy core reaches ${external.join(', ')}`);
  assert.ok(files.includes('packages/shared/src/errors/index.ts'), `the scan followed the allowed package: ${files.join(', ')}`);
  assert.ok(files.every((file) => file.startsWith('packages/gateway/src/experiments/policy/') || file.startsWith('packages/shared/src/errors/')), files.join(', '));
});

test('the scan sees what the policy must not do: a built-in, a package, a dynamic import or a re-export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'purity-'));
  writeFileSync(join(dir, 'index.ts'), "export * from './helper.js';\nimport { randomInt } from 'node:crypto';\nexport const x = randomInt(2);\n");
  writeFileSync(join(dir, 'helper.ts'), "export async function load() { return import('node:fs'); }\nexport type { Registry } from 'prom-client';\n");
  assert.deepEqual(importGraph(join(dir, 'index.ts')).external, ['node:crypto', 'node:fs', 'prom-client']);
});
