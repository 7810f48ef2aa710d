import { spawnSync } from 'node:child_process';
import { chmod, copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraCacheDir } from './cache-dir.js';
import { compareVersions, inScratchDir, installOnce, MissingToolchainError, requireTool, runWithProgress, stderrLog, type ProgressLog } from './install-step.js';

/** A Go command installable with `go install <package>@<version>` (its module has no `replace` directives). */
export interface GoInstallSpec {
  readonly kind: 'go-install';
  /** Binary name, also the cache folder: `<cache>/<name>/<version>/<name>`. */
  readonly name: string;
  /** Package path of the command, e.g. github.com/bojand/ghz/cmd/ghz. */
  readonly packagePath: string;
  /** Module version, e.g. v0.120.0. */
  readonly version: string;
  /** Arguments that make the built binary exit 0 (a smoke test of the build). */
  readonly checkArgs: readonly string[];
}

/**
 * A HashiCorp agent built from a wrapper module, `scripts/infra/<name>/` (go.mod + go.sum only),
 * that requires it: its own go.mod has `replace` directives, so `go install` refuses it.
 */
export interface GoWrapperModuleSpec {
  readonly kind: 'wrapper-module';
  /** Binary name, wrapper folder and cache folder: `<cache>/<name>/<version>/<name>`. */
  readonly name: string;
  /** Module path, which is also the main package built. */
  readonly packagePath: string;
  /** Release; must match the `require` line of the wrapper's go.mod and be held by `<NAME>_VERSION`. */
  readonly version: string;
  /** Name as the binary's `version` output spells it ("Consul v1.22.6"). */
  readonly product: string;
  /** Go release assumed when the go.mod has no `go` line. */
  readonly minimumGoFallback: string;
  readonly cgo: boolean;
  readonly buildTags?: string;
  /** Modules whose checksums only the committed go.sum holds (added to GONOSUMDB). */
  readonly uncheckedModules?: readonly string[];
  /** Checks another tool the build needs (throws MissingToolchainError). */
  readonly requireMore?: () => void;
}

/** A Go binary the tests or benchmarks run, and how it is built. */
export type GoBinarySpec = GoInstallSpec | GoWrapperModuleSpec;

/** Path of the cached binary of `spec` (it may not exist yet). */
export function goBinaryPath(spec: GoBinarySpec, cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, spec.name, spec.version, spec.name);
}

/** Returns the path of a working binary, building it with the local Go toolchain the first time (a minute or two; an agent several). */
export async function ensureGoBinary(spec: GoBinarySpec, log: ProgressLog = stderrLog): Promise<string> {
  const binary = goBinaryPath(spec);
  const name = `${spec.name} ${spec.version}`;
  const build = spec.kind === 'go-install' ? (partialPath: string) => goInstall(spec, partialPath, name, log) : (partialPath: string) => buildFromWrapper(spec, partialPath, name, log);
  await installOnce({ name, target: binary, log, build });
  return binary;
}

async function goInstall(spec: GoInstallSpec, outputPath: string, name: string, log: ProgressLog): Promise<void> {
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

async function buildFromWrapper(spec: GoWrapperModuleSpec, outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const wrapperDir = fileURLToPath(new URL(`../../scripts/infra/${spec.name}/`, import.meta.url));
  const goMod = await readWrapperGoMod(spec, wrapperDir);
  const minimumGo = /^go (\S+)$/m.exec(goMod)?.[1] ?? spec.minimumGoFallback;
  const hint = `install Go ${minimumGo} or newer to build ${spec.product} for the integration tests`;
  const goVersion = requireTool('go', ['env', 'GOVERSION'], hint);
  // Debian's golang package is far older; GOTOOLCHAIN=local forbids fetching a newer toolchain, so say so up front.
  if (compareVersions(goVersion.replace(/^go/, ''), minimumGo) < 0) {
    throw new MissingToolchainError('go', hint, `is ${goVersion}, too old`);
  }
  spec.requireMore?.();
  // Building in a scratch copy of the wrapper keeps go's go.mod/go.sum rewrites and any output out of the repo.
  await inScratchDir(`infermesh-${spec.name}-build-`, async (buildDir) => {
    await copyFile(join(wrapperDir, 'go.mod'), join(buildDir, 'go.mod'));
    await copyFile(join(wrapperDir, 'go.sum'), join(buildDir, 'go.sum'));
    const logFile = `${outputPath}.build.log`;
    log(`${name}: building with ${goVersion} (first use only: several minutes on 2 cores; log: ${logFile})`);
    const tags = spec.buildTags === undefined ? [] : ['-tags', spec.buildTags];
    const noSumDb = spec.uncheckedModules === undefined ? {} : { GONOSUMDB: [process.env.GONOSUMDB, ...spec.uncheckedModules].filter(Boolean).join(',') };
    await runWithProgress({
      name: `${name} build`,
      command: 'go',
      // -v names each package as it is compiled, which the heartbeat counts; -s -w drop debug info nobody reads here.
      args: ['build', '-v', ...tags, '-trimpath', '-ldflags=-s -w', '-o', outputPath, spec.packagePath],
      cwd: buildDir,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: spec.cgo ? '1' : '0', GOFLAGS: '-mod=mod', GOWORK: 'off', ...noSumDb },
      logFile,
      log,
      describeProgress: (lines) => `${lines} packages and modules so far`,
    });
    const check = spawnSync(outputPath, ['version'], { encoding: 'utf8' });
    if (check.status !== 0 || !check.stdout.includes(`${spec.product} v${spec.version}`)) {
      throw new Error(`${name}: the built binary does not report v${spec.version}: ${check.stdout}${check.stderr}`);
    }
    await rm(logFile, { force: true });
  });
}

/** The wrapper's go.mod, once it is seen to require `spec.version`. */
async function readWrapperGoMod(spec: GoWrapperModuleSpec, wrapperDir: string): Promise<string> {
  const goMod = await readFile(join(wrapperDir, 'go.mod'), 'utf8');
  const requireLine = new RegExp(`^require ${spec.packagePath.replace(/[.]/g, '\\.')} v(\\S+)`, 'm');
  const required = requireLine.exec(goMod)?.[1];
  if (required !== spec.version) {
    throw new Error(`scripts/infra/${spec.name}/go.mod requires ${spec.name} ${required ?? '(none)'} but ${spec.name.toUpperCase()}_VERSION is ${spec.version}`);
  }
  return goMod;
}
