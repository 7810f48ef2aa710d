/**
 * Turns the bench's own front programs (bench/fronts/*.ts) into plain JavaScript in a scratch
 * directory, so the measured processes run on bare `node` like the gateway's built CLI does:
 * no TypeScript loader in any process whose CPU is compared.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FRONTS_DIR = join(ROOT, 'bench', 'fronts');

/** Transpiles every bench/fronts/*.ts into `outDir` (an ES module package whose node_modules is the repo's); returns outDir. */
export function compileFronts(outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  // Bare imports (express, @grpc/grpc-js) resolve from the file's directory upwards: point it at the repo's packages.
  symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  for (const file of readdirSync(FRONTS_DIR).filter((name) => name.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(FRONTS_DIR, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    writeFileSync(join(outDir, file.replace(/\.ts$/, '.js')), outputText);
  }
  return outDir;
}
