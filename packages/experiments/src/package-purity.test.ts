import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const ENTRY = fileURLToPath(new URL('./index.ts', import.meta.url));
const SOURCE_DIR = dirname(ENTRY);
const REPO = resolve(SOURCE_DIR, '../../..');
const SHARED = join(REPO, 'packages/shared');

/**
 * The side-effect-free entries of @infermesh/shared the package may load: followed into their
 * source (as package.json's `source` condition names it), so what they import is checked too.
 */
const SHARED_SUBPATHS = ['errors', 'contract', 'pools', 'validation'];
/** Packages loaded but not followed: JSON Schema validation has no I/O of its own. */
const ALLOWED_EXTERNAL = new Set(['ajv']);
/** Packages the source may name in `import type`/`export type` only: erased, so never loaded. */
const TYPE_ONLY = new Set(['@infermesh/shared']);

const sharedExports = (JSON.parse(readFileSync(join(SHARED, 'package.json'), 'utf8')) as { exports: Record<string, { source: string }> }).exports;
const FOLLOWED: Record<string, string> = Object.fromEntries(SHARED_SUBPATHS.map((name) => [`@infermesh/shared/${name}`, join(SHARED, sharedExports[`./${name}`]!.source)]));

/** The modules a file names: static imports and re-exports (with whether they are erased), and dynamic imports. */
function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // Only `import type` is erased: with verbatimModuleSyntax `import { type X }` still loads the module.
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      found.push({ specifier: argument !== undefined && ts.isStringLiteralLike(argument) ? argument.text : '<computed import>', typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Every module reachable from `entry` through static and dynamic imports and re-exports, read
 * from the source: relative files and the shared subpaths are followed, allowed packages and
 * type-only imports of TYPE_ONLY are accepted, anything else is reported as it is named.
 */
function importGraph(entry: string): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (FOLLOWED[specifier] !== undefined) pending.push(FOLLOWED[specifier]!);
      else if (!ALLOWED_EXTERNAL.has(specifier) && !(typeOnly && TYPE_ONLY.has(specifier))) external.add(specifier);
    }
  }
  return { files: [...files].map((file) => relative(REPO, file)).sort(), external: [...external].sort() };
}

test('the experiments package imports no Node built-in (fs, net, http, …), no I/O client and of shared only its side-effect-free entries', () => {
  const { files, external } = importGraph(ENTRY);
  assert.deepEqual(external, [], `the experiments package reaches ${external.join(', ')}`);
  const sharedFolders = SHARED_SUBPATHS.map((name) => `packages/shared/src/${name}/`);
  const outside = files.filter((file) => !file.startsWith('packages/experiments/src/') && !sharedFolders.some((folder) => file.startsWith(folder)));
  assert.deepEqual(outside, [], 'files reached outside the package and the allowed shared entries');
  assert.ok(files.includes('packages/shared/src/errors/index.ts') && files.includes('packages/shared/src/pools/pool-config.ts'), `the scan followed the shared entries: ${files.join(', ')}`);
});

test('the scan covers the whole package: every source file is reachable from its entry', () => {
  const { files } = importGraph(ENTRY);
  const sources = readdirSync(SOURCE_DIR, { recursive: true, encoding: 'utf8' })
    // Test fixtures (fast-check arbitraries) are built into no package, as tests are not.
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.fixture.ts'))
    .map((path) => relative(REPO, join(SOURCE_DIR, path)));
  assert.deepEqual(sources.filter((file) => !files.includes(file)), []);
});

test('the scan sees what the package must not do: a built-in, a package, a dynamic import, a type re-export of another package, an inline-type import of shared (which loads it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'purity-'));
  writeFileSync(join(dir, 'index.ts'), "export * from './helper.js';\nimport { randomInt } from 'node:crypto';\nimport type { Logger } from '@infermesh/shared';\nexport const x = randomInt(2);\n");
  writeFileSync(
    join(dir, 'helper.ts'),
    "export async function load() { return import('node:fs'); }\nexport type { Registry } from 'prom-client';\nimport { type EventInput } from '@infermesh/shared';\nimport { Ajv } from 'ajv';\n",
  );
  assert.deepEqual(importGraph(join(dir, 'index.ts')).external, ['@infermesh/shared', 'node:crypto', 'node:fs', 'prom-client']);
});
