import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraCacheDir } from './cache-dir.js';
import {
  compareVersions,
  formatElapsed,
  installOnce,
  MissingToolchainError,
  requireTool,
  runWithProgress,
  stderrLog,
  type ProgressLog,
} from './install-step.js';
import { removeAtExit } from './managed-process.js';

/** Nomad release the tests run; must match the `require` line of scripts/infra/nomad/go.mod. */
export const NOMAD_VERSION = '1.10.5';

/** The wrapper module (go.mod + go.sum only) that requires Nomad and builds its main package. */
const WRAPPER_MODULE_DIR = fileURLToPath(new URL('../../scripts/infra/nomad/', import.meta.url));

/** Go package built into the agent binary. */
const NOMAD_PACKAGE = 'github.com/hashicorp/nomad';

/** Build tags of Nomad's own release builds: `hashicorpmetrics` selects the metrics library its code is written against. */
const BUILD_TAGS = 'hashicorpmetrics';

/** Path of the cached Nomad binary for NOMAD_VERSION (it may not exist yet). */
export function nomadBinaryPath(cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, 'nomad', NOMAD_VERSION, 'nomad');
}

/** Returns the path of a working Nomad binary, building it with the local Go toolchain the first time (minutes). */
export async function ensureNomad(log: ProgressLog = stderrLog): Promise<string> {
  const binary = nomadBinaryPath();
  const name = `nomad ${NOMAD_VERSION}`;
  const startedAt = Date.now();
  const { built } = await installOnce({
    name,
    target: binary,
    log,
    build: (partialPath) => buildNomad(partialPath, name, log),
  });
  if (built) log(`${name}: installed at ${binary} in ${formatElapsed(startedAt)}`);
  return binary;
}

async function buildNomad(outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const goMod = await readWrapperGoMod();
  const minimumGo = /^go (\S+)$/m.exec(goMod)?.[1] ?? '1.24.7';
  const hint = `install Go ${minimumGo} or newer to build Nomad for the integration tests`;
  const goVersion = requireTool('go', ['env', 'GOVERSION'], hint);
  // GOTOOLCHAIN=local forbids fetching a newer toolchain, so a too-old go must be reported up front.
  if (compareVersions(goVersion.replace(/^go/, ''), minimumGo) < 0) {
    throw new MissingToolchainError('go', hint, `is ${goVersion}, too old`);
  }
  // runc's libcontainer/nsenter is C: without cgo the package is excluded and the build fails.
  requireTool('gcc', ['--version'], 'install a C compiler (gcc): Nomad builds with cgo on Linux');
  // Building in a scratch copy of the wrapper keeps go's go.mod/go.sum rewrites and any output out of the repo.
  const buildDir = await mkdtemp(join(tmpdir(), 'infermesh-nomad-build-'));
  const unregisterBuildDir = removeAtExit(buildDir);
  try {
    await copyFile(join(WRAPPER_MODULE_DIR, 'go.mod'), join(buildDir, 'go.mod'));
    await copyFile(join(WRAPPER_MODULE_DIR, 'go.sum'), join(buildDir, 'go.sum'));
    const logFile = `${outputPath}.build.log`;
    log(`${name}: building with ${goVersion} (first use only: several minutes on 2 cores; log: ${logFile})`);
    await runWithProgress({
      name: `${name} build`,
      command: 'go',
      // -v names each package as it is compiled, which the heartbeat counts; -s -w drop debug info nobody reads here.
      args: ['build', '-v', '-tags', BUILD_TAGS, '-trimpath', '-ldflags=-s -w', '-o', outputPath, NOMAD_PACKAGE],
      cwd: buildDir,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '1', GOFLAGS: '-mod=mod', GOWORK: 'off' },
      logFile,
      log,
      describeProgress: (lines) => `${lines} packages and modules so far`,
    });
    const check = spawnSync(outputPath, ['version'], { encoding: 'utf8' });
    if (check.status !== 0 || !check.stdout.includes(`Nomad v${NOMAD_VERSION}`)) {
      throw new Error(`${name}: the built binary does not report v${NOMAD_VERSION}: ${check.stdout}${check.stderr}`);
    }
    await rm(logFile, { force: true });
  } finally {
    unregisterBuildDir();
    await rm(buildDir, { recursive: true, force: true });
  }
}

async function readWrapperGoMod(): Promise<string> {
  const goMod = await readFile(join(WRAPPER_MODULE_DIR, 'go.mod'), 'utf8');
  const required = /^require github\.com\/hashicorp\/nomad v(\S+)/m.exec(goMod)?.[1];
  if (required !== NOMAD_VERSION) {
    throw new Error(`scripts/infra/nomad/go.mod requires nomad ${required ?? '(none)'} but NOMAD_VERSION is ${NOMAD_VERSION}`);
  }
  return goMod;
}
