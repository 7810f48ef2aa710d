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

/** Consul release the tests run; must match the `require` line of scripts/infra/consul/go.mod. */
export const CONSUL_VERSION = '1.22.6';

/** The wrapper module (go.mod + go.sum only) that requires Consul and builds its main package. */
const WRAPPER_MODULE_DIR = fileURLToPath(new URL('../../scripts/infra/consul/', import.meta.url));

/** Go package built into the agent binary. */
const CONSUL_PACKAGE = 'github.com/hashicorp/consul';

/**
 * Consul's own submodules at the versions its go.mod requires (it builds them from local folders via replace):
 * the module proxy serves these two tags but the checksum database answers 404, so the committed go.sum is
 * their only checksum and go must not insist on a database lookup.
 */
const UNCHECKSUMMED_MODULES = ['github.com/hashicorp/consul/envoyextensions', 'github.com/hashicorp/consul/troubleshoot'];

/** Path of the cached Consul binary for CONSUL_VERSION (it may not exist yet). */
export function consulBinaryPath(cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, 'consul', CONSUL_VERSION, 'consul');
}

/** Returns the path of a working Consul binary, building it with the local Go toolchain the first time (minutes). */
export async function ensureConsul(log: ProgressLog = stderrLog): Promise<string> {
  const binary = consulBinaryPath();
  const name = `consul ${CONSUL_VERSION}`;
  const startedAt = Date.now();
  const { built } = await installOnce({
    name,
    target: binary,
    log,
    build: (partialPath) => buildConsul(partialPath, name, log),
  });
  if (built) log(`${name}: installed at ${binary} in ${formatElapsed(startedAt)}`);
  return binary;
}

async function buildConsul(outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const goMod = await readWrapperGoMod();
  const minimumGo = /^go (\S+)$/m.exec(goMod)?.[1] ?? '1.25.8';
  const hint = `install Go ${minimumGo} or newer to build Consul for the integration tests`;
  const goVersion = requireTool('go', ['env', 'GOVERSION'], hint);
  // Debian's golang package is far older; GOTOOLCHAIN=local forbids fetching a newer toolchain, so say so up front.
  if (compareVersions(goVersion.replace(/^go/, ''), minimumGo) < 0) {
    throw new MissingToolchainError('go', hint, `is ${goVersion}, too old`);
  }
  // Building in a scratch copy of the wrapper keeps go's go.mod/go.sum rewrites and any output out of the repo.
  const buildDir = await mkdtemp(join(tmpdir(), 'infermesh-consul-build-'));
  const unregisterBuildDir = removeAtExit(buildDir);
  try {
    await copyFile(join(WRAPPER_MODULE_DIR, 'go.mod'), join(buildDir, 'go.mod'));
    await copyFile(join(WRAPPER_MODULE_DIR, 'go.sum'), join(buildDir, 'go.sum'));
    const logFile = `${outputPath}.build.log`;
    log(`${name}: building with ${goVersion} (first use only: several minutes on 2 cores; log: ${logFile})`);
    await runWithProgress({
      name: `${name} build`,
      command: 'go',
      // -v names each package as it is compiled, which the heartbeat counts.
      args: ['build', '-v', '-trimpath', '-ldflags=-s -w', '-o', outputPath, CONSUL_PACKAGE],
      cwd: buildDir,
      env: {
        ...process.env,
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
        GOFLAGS: '-mod=mod',
        GOWORK: 'off',
        GONOSUMDB: [process.env.GONOSUMDB, ...UNCHECKSUMMED_MODULES].filter(Boolean).join(','),
      },
      logFile,
      log,
      describeProgress: (lines) => `${lines} packages and modules so far`,
    });
    const check = spawnSync(outputPath, ['version'], { encoding: 'utf8' });
    if (check.status !== 0 || !check.stdout.includes(`Consul v${CONSUL_VERSION}`)) {
      throw new Error(`${name}: the built binary does not report v${CONSUL_VERSION}: ${check.stdout}${check.stderr}`);
    }
    await rm(logFile, { force: true });
  } finally {
    unregisterBuildDir();
    await rm(buildDir, { recursive: true, force: true });
  }
}

async function readWrapperGoMod(): Promise<string> {
  const goMod = await readFile(join(WRAPPER_MODULE_DIR, 'go.mod'), 'utf8');
  const required = /^require github\.com\/hashicorp\/consul v(\S+)/m.exec(goMod)?.[1];
  if (required !== CONSUL_VERSION) {
    throw new Error(`scripts/infra/consul/go.mod requires consul ${required ?? '(none)'} but CONSUL_VERSION is ${CONSUL_VERSION}`);
  }
  return goMod;
}
