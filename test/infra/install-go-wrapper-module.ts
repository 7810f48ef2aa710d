import { spawnSync } from 'node:child_process';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraCacheDir } from './cache-dir.js';
import { compareVersions, inScratchDir, installOnce, MissingToolchainError, requireTool, runWithProgress, stderrLog, type ProgressLog } from './install-step.js';

/**
 * A HashiCorp agent built from a wrapper module, `scripts/infra/<id>/` (go.mod + go.sum only),
 * that requires it: its own module has `replace` directives, so `go install pkg@version` refuses it
 * (see install-go-binary.ts for the commands it accepts).
 */
export interface GoWrapperModuleSpec {
  /** Binary name, wrapper folder and cache folder: `<cache>/<id>/<version>/<id>`. */
  readonly id: string;
  /** Name as the binary's `version` output spells it ("Consul v1.22.6"). */
  readonly product: string;
  /** Release; must match the `require` line of the wrapper's go.mod. */
  readonly version: string;
  /** The name of the constant holding `version`, for the error when the two disagree. */
  readonly versionConstant: string;
  /** Module path, which is also the main package built. */
  readonly packagePath: string;
  /** Go release assumed when the go.mod has no `go` line. */
  readonly minimumGoFallback: string;
  readonly cgo: boolean;
  readonly buildTags?: string;
  /** Modules whose checksums only the committed go.sum holds (added to GONOSUMDB). */
  readonly uncheckedModules?: readonly string[];
  /** Checks another tool the build needs (throws MissingToolchainError). */
  readonly requireMore?: () => void;
}

/** Path of the cached binary of `spec` (it may not exist yet). */
export function goWrapperModuleBinaryPath(spec: GoWrapperModuleSpec, cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, spec.id, spec.version, spec.id);
}

/** Returns the path of a working binary of `spec`, building it with the local Go toolchain the first time (minutes). */
export async function ensureGoWrapperModuleBinary(spec: GoWrapperModuleSpec, log: ProgressLog = stderrLog): Promise<string> {
  const binary = goWrapperModuleBinaryPath(spec);
  const name = `${spec.id} ${spec.version}`;
  await installOnce({ name, target: binary, log, build: (partialPath) => buildFromWrapper(spec, partialPath, name, log) });
  return binary;
}

async function buildFromWrapper(spec: GoWrapperModuleSpec, outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const wrapperDir = fileURLToPath(new URL(`../../scripts/infra/${spec.id}/`, import.meta.url));
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
  await inScratchDir(`infermesh-${spec.id}-build-`, async (buildDir) => {
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
    throw new Error(`scripts/infra/${spec.id}/go.mod requires ${spec.id} ${required ?? '(none)'} but ${spec.versionConstant} is ${spec.version}`);
  }
  return goMod;
}
