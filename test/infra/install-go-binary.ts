import { spawnSync } from 'node:child_process';
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraCacheDir } from './cache-dir.js';
import { inScratchDir, installOnce, requireTool, runWithProgress, stderrLog, type ProgressLog } from './install-step.js';

/** A Go command installable with `go install <package>@<version>` (its module has no `replace` directives). */
export interface GoBinarySpec {
  /** Binary name, also the cache folder: `<cache>/<name>/<version>/<name>`. */
  readonly name: string;
  /** Package path of the command, e.g. github.com/bojand/ghz/cmd/ghz. */
  readonly packagePath: string;
  /** Module version, e.g. v0.120.0. */
  readonly version: string;
  /** Arguments that make the built binary exit 0 (a smoke test of the build). */
  readonly checkArgs: readonly string[];
}

/** Path of the cached binary of `spec` (it may not exist yet). */
export function goBinaryPath(spec: GoBinarySpec, cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, spec.name, spec.version, spec.name);
}

/** Returns the path of a working binary, building it from the Go module proxy the first time (a minute or two). */
export async function ensureGoBinary(spec: GoBinarySpec, log: ProgressLog = stderrLog): Promise<string> {
  const binary = goBinaryPath(spec);
  const name = `${spec.name} ${spec.version}`;
  await installOnce({ name, target: binary, log, build: (partialPath) => buildGoBinary(spec, partialPath, name, log) });
  return binary;
}

async function buildGoBinary(spec: GoBinarySpec, outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const goVersion = requireTool('go', ['env', 'GOVERSION'], `install Go to build ${spec.name} (go install ${spec.packagePath}@${spec.version})`);
  // A scratch directory as GOBIN and working directory: no go.mod of the repo (or a parent) is picked up, nothing lands in the repo.
  await inScratchDir(`infermesh-${spec.name}-build-`, async (buildDir) => {
    const logFile = `${outputPath}.build.log`;
    log(`${name}: building with ${goVersion} from the Go module proxy (first use only; log: ${logFile})`);
    await runWithProgress({
      name: `${name} build`,
      command: 'go',
      args: ['install', '-trimpath', '-ldflags=-s -w', `${spec.packagePath}@${spec.version}`],
      cwd: buildDir,
      env: { ...process.env, GOBIN: buildDir, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOWORK: 'off', GOFLAGS: '' },
      logFile,
      log,
    });
    await copyFile(join(buildDir, spec.name), outputPath);
    await chmod(outputPath, 0o755);
    const check = spawnSync(outputPath, [...spec.checkArgs], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`${name}: the built binary fails \`${spec.name} ${spec.checkArgs.join(' ')}\`: ${check.stdout}${check.stderr}`);
    await rm(logFile, { force: true });
  });
}
