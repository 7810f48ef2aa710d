import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type ts from 'typescript';

/**
 * Files besides the sources that decide where an import resolves: compiler options,
 * package entry points (`exports` with the `source` condition) and installed packages.
 */
const RESOLUTION_INPUTS = ['tsconfig.json', 'tsconfig.base.json', 'package.json', 'package-lock.json'];

/** The TypeScript files of `folders` (relative to root), sorted, as absolute paths. */
export function listTypeScriptFiles(root: string, folders: readonly string[]): string[] {
  return folders
    .flatMap((folder) =>
      readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
        .filter((path) => path.endsWith('.ts') && !path.split('/').includes('node_modules'))
        .map((path) => join(root, folder, path)),
    )
    .sort();
}

/**
 * A hash of everything the import graph is made of: which files exist, the import
 * specifiers each one contains (found by TypeScript's import scanner, which reads no
 * further than the imports, so it is cheap), and the files that decide resolution.
 * Equal keys mean an equal graph, so a graph once found acyclic need not be built again
 * while only code other than imports changed.
 */
export function importGraphKey(typescript: typeof ts, root: string, files: readonly string[], tools: string): string {
  const hash = createHash('sha256').update(`${tools}\n`);
  const packageManifests = readdirSync(join(root, 'packages')).map((name) => join('packages', name, 'package.json'));
  for (const input of [...RESOLUTION_INPUTS, ...packageManifests]) {
    const path = join(root, input);
    hash.update(`${input}\0${existsSync(path) ? readFileSync(path, 'utf8') : ''}\0`);
  }
  for (const file of files) {
    const { importedFiles } = typescript.preProcessFile(readFileSync(file, 'utf8'), true, true);
    hash.update(`${relative(root, file)}\0${importedFiles.map((imported) => imported.fileName).join('\0')}\n`);
  }
  return hash.digest('hex').slice(0, 24);
}
