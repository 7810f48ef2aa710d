/**
 * Generates TypeScript types for proto/ into packages/shared/src/generated.
 * `--check` regenerates into a temporary directory and fails if the committed types differ,
 * so a .proto change without regenerated types breaks the test run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(ROOT, 'packages/shared/src/generated');
/** The .proto files the project serves, relative to proto/. */
const PROTO_FILES = ['inference/grpc_predict_v2.proto', 'grpc/health/v1/health.proto'];

/** Options kept identical to PROTO_LOADER_OPTIONS in packages/shared/src/proto/proto-loader-options.ts. */
const GENERATOR_FLAGS = [
  '--longs=String',
  '--enums=String',
  '--defaults',
  '--oneofs',
  '--grpcLib=@grpc/grpc-js',
  '--importFileExtension=.js',
];

function generate(outDir: string): void {
  const bin = join(ROOT, 'node_modules/.bin/proto-loader-gen-types');
  // Relative include paths: the generator writes them into each file's header, and absolute
  // ones would make the --check fail in every other checkout.
  execFileSync(bin, [...GENERATOR_FLAGS, '-I', 'proto', '-O', outDir, ...PROTO_FILES], { stdio: 'inherit', cwd: ROOT });
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .sort();
}

function staleFiles(expectedDir: string, actualDir: string): string[] {
  const expected = listFiles(expectedDir);
  const actual = new Set(listFiles(actualDir));
  const stale = expected.filter(
    (file) => !actual.has(file) || readFileSync(join(expectedDir, file), 'utf8') !== readFileSync(join(actualDir, file), 'utf8'),
  );
  const extra = [...actual].filter((file) => !expected.includes(file));
  return [...stale, ...extra];
}

const tempDir = mkdtempSync(join(tmpdir(), 'infermesh-proto-'));
try {
  generate(tempDir);
  if (process.argv.includes('--check')) {
    const stale = staleFiles(tempDir, OUT_DIR);
    if (stale.length > 0) {
      console.error(`Generated proto types are stale (${stale.join(', ')}); run \`npm run gen:proto\` and commit the result.`);
      process.exit(1);
    }
    console.log(`proto types are current (${relative(ROOT, OUT_DIR)})`);
  } else {
    rmSync(OUT_DIR, { recursive: true, force: true });
    cpSync(tempDir, OUT_DIR, { recursive: true });
    console.log(`wrote ${listFiles(OUT_DIR).length} files to ${relative(ROOT, OUT_DIR)}`);
  }
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}
