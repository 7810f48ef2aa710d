/**
 * Fails on any import cycle in the repo's TypeScript (packages/*\/src, test, scripts, bench),
 * found by madge. Type-only imports count: a cycle of types still ties two modules together,
 * and breaking it (a type in its own file) is cheap. Imports between packages are followed
 * through their `source` entry points, so a cycle across packages is found too. An import
 * madge cannot resolve fails the check as well: it would be a silent hole in the graph.
 * From the same graph, it fails on folders of one package that import each other
 * (scripts/lint/folder-cycles.ts): one folder per domain concept only helps while the
 * concepts depend on each other one way.
 * madge parses every file (several seconds), so an acyclic result is remembered under a key
 * of the graph's inputs (scripts/lint/import-graph-key.ts): while no import changes, the
 * check costs a scan of the import lines. `--no-cache` forces a full run.
 * Run by scripts/lint.ts; runnable alone: `npx tsx scripts/lint/check-import-cycles.ts`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type ts from 'typescript';
import { infraCacheDir } from '../../test/infra/cache-dir.js';
import { findFolderCycles, type FolderCycle } from './folder-cycles.js';
import { importGraphKey, listTypeScriptFiles } from './import-graph-key.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Folders whose TypeScript is checked, besides each package's src/. */
const ROOT_FOLDERS = ['test', 'scripts', 'bench'];

/** Names what the check covers besides file cycles: a remembered result from before it was added must not pass for it. */
const FOLDER_CHECK = 'folder cycles 1';

/** The part of madge's result this check reads (madge ships no types). */
interface MadgeResult {
  obj(): Record<string, string[]>;
  circular(): string[][];
  warnings(): { skipped: string[] };
}

/** The part of madge's options this check sets. */
interface MadgeConfig {
  baseDir: string;
  fileExtensions: string[];
  tsConfig: { options: ts.CompilerOptions };
}

// Loaded with require: an ESM import of these CommonJS packages first scans all of typescript.js
// (9 MB) for its export names, which costs about a second.
const require = createRequire(import.meta.url);
const typescript = require('typescript') as typeof ts;
const { version: MADGE_VERSION } = require('madge/package.json') as { version: string };

/**
 * The root tsconfig's compiler options, parsed by TypeScript itself. madge's own `--ts-config`
 * re-reads parsed options as raw JSON and silently loses `moduleResolution` and
 * `customConditions`, after which `@infermesh/*` imports go unresolved; handing over parsed
 * options (`{ options }`) makes its resolver use them as they are.
 */
function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.json');
  const file = typescript.readConfigFile(configPath, (path) => typescript.sys.readFile(path));
  if (file.error !== undefined) throw new Error(typescript.flattenDiagnosticMessageText(file.error.messageText, '\n'));
  return typescript.parseJsonConfigFileContent(file.config, typescript.sys, ROOT, undefined, configPath).options;
}

/** Folders checked, relative to the root: each package's src/ and ROOT_FOLDERS. */
function checkedFolders(): string[] {
  const packageSources = readdirSync(join(ROOT, 'packages'))
    .map((name) => join('packages', name, 'src'))
    .filter((folder) => existsSync(join(ROOT, folder)));
  return [...packageSources, ...ROOT_FOLDERS];
}

/** Import cycles, folder cycles and unresolved imports among the TypeScript files of `folders`. */
async function findImportCycles(folders: readonly string[]): Promise<{ files: number; cycles: string[][]; folderCycles: FolderCycle[]; unresolved: string[] }> {
  // Loaded only when the graph is built: it takes a second to load.
  const madge = require('madge') as (paths: string[], config: MadgeConfig) => Promise<MadgeResult>;
  const result = await madge(folders.map((folder) => join(ROOT, folder)), {
    baseDir: ROOT,
    fileExtensions: ['ts'],
    tsConfig: { options: compilerOptions() },
  });
  const graph = result.obj();
  return { files: Object.keys(graph).length, cycles: result.circular(), folderCycles: findFolderCycles(graph), unresolved: result.warnings().skipped };
}

/** Remembers that the graph under `key` is acyclic, forgetting earlier graphs. */
async function rememberAcyclic(dir: string, key: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const stale of (await readdir(dir)).filter((name) => name !== key)) await rm(join(dir, stale), { force: true });
  await writeFile(join(dir, key), '');
}

/** Seconds since this process started: loading TypeScript and madge is part of the cost. */
function elapsed(): string {
  return `${(performance.now() / 1000).toFixed(1)} s`;
}

async function main(): Promise<number> {
  const folders = checkedFolders();
  const sources = listTypeScriptFiles(ROOT, folders);
  const key = importGraphKey(typescript, ROOT, sources, `madge ${MADGE_VERSION}, typescript ${typescript.version}, ${FOLDER_CHECK}`);
  const cacheDir = join(infraCacheDir(), 'import-cycles');
  if (!process.argv.includes('--no-cache') && existsSync(join(cacheDir, key))) {
    process.stdout.write(`[lint] import cycles: none among ${sources.length} files (imports unchanged since the last full check; ${elapsed()})\n`);
    return 0;
  }
  const { files, cycles, folderCycles, unresolved } = await findImportCycles(folders);
  for (const cycle of cycles) process.stdout.write(`import cycle: ${[...cycle, cycle[0]].join(' → ')}\n`);
  for (const { root, steps } of folderCycles) {
    process.stdout.write(`folder cycle in ${root}: ${[...steps.map((step) => step.from), steps[0]!.from].join('/ → ')}/\n`);
    for (const step of steps) process.stdout.write(`  ${step.from}/ → ${step.to}/: ${step.file} imports ${step.imports}\n`);
  }
  for (const specifier of unresolved) process.stdout.write(`import not resolved (so not checked for cycles): ${specifier}\n`);
  if (cycles.length > 0 || folderCycles.length > 0 || unresolved.length > 0) {
    process.stdout.write(
      `[lint] import cycles: FAILED, ${cycles.length} cycles, ${folderCycles.length} folder cycles, ${unresolved.length} unresolved imports among ${files} files (${elapsed()})\n`,
    );
    if (cycles.length > 0) process.stdout.write('[lint] break a cycle by moving what both sides need (often a type) into a file of its own\n');
    if (folderCycles.length > 0) process.stdout.write('[lint] break a folder cycle by moving what one folder needs from the other to where both can depend on it (a shared folder, shared, or experiments)\n');
    return 1;
  }
  await rememberAcyclic(cacheDir, key);
  process.stdout.write(`[lint] import cycles: none among ${files} files, no folder cycle (${elapsed()})\n`);
  return 0;
}

process.exitCode = await main();
