import { spawnSync } from 'node:child_process';
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraCacheDir } from './cache-dir.js';
import { fetchDebianPackages, upstreamOf } from './debian-packages.js';
import { inScratchDir, installOnce, stderrLog, type ProgressLog } from './install-step.js';

/**
 * Prometheus release whose `promtool check metrics` the tests run. It comes from Debian 12's
 * `prometheus` package; any Debian revision of this upstream version will do (a security
 * update replaces the old revision on the mirror, and promtool's lint rules do not change with it).
 */
export const PROMTOOL_VERSION = '2.42.0';

/** Debian package that ships /usr/bin/promtool. */
const DEBIAN_PACKAGE = 'prometheus';

/** Where the package puts the binary, inside the extracted .deb. */
const PACKAGED_BINARY = 'usr/bin/promtool';

/** Path of the cached promtool for PROMTOOL_VERSION (it may not exist yet). */
export function promtoolBinaryPath(cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, 'promtool', PROMTOOL_VERSION, 'promtool');
}

/** Returns the path of a working promtool, fetching Debian's prometheus package the first time (seconds). */
export async function ensurePromtool(log: ProgressLog = stderrLog): Promise<string> {
  const binary = promtoolBinaryPath();
  const name = `promtool ${PROMTOOL_VERSION}`;
  await installOnce({ name, target: binary, log, build: (partialPath) => extractPromtool(partialPath, name, log) });
  return binary;
}

/**
 * Downloads the .deb without installing it (no root needed, nothing lands in /usr) and copies
 * promtool out of it. The package also holds the Prometheus server, which we do not keep.
 */
async function extractPromtool(outputPath: string, name: string, log: ProgressLog): Promise<void> {
  await inScratchDir('infermesh-promtool-', async (workDir) => {
    const logFile = `${outputPath}.install.log`;
    const { extracted } = await fetchDebianPackages({
      name,
      // "2.42.0+ds-5+deb12u1": any Debian revision of the upstream version.
      packages: [{ name: DEBIAN_PACKAGE, accept: (version) => upstreamOf(version) === PROMTOOL_VERSION }],
      workDir,
      logFile,
      log,
      hint: `promtool comes from Debian's ${DEBIAN_PACKAGE} package (Debian 12 has ${PROMTOOL_VERSION}); elsewhere put a promtool ${PROMTOOL_VERSION} binary at ${outputPath.replace(/\.partial-.*$/, '')}`,
      pinnedIn: 'PROMTOOL_VERSION in test/infra/install-promtool.ts',
    });
    await copyFile(join(extracted, PACKAGED_BINARY), outputPath);
    await chmod(outputPath, 0o755);
    const check = spawnSync(outputPath, ['--version'], { encoding: 'utf8' });
    const reported = `${check.stdout}${check.stderr}`;
    if (check.status !== 0 || !reported.includes(`version ${PROMTOOL_VERSION}`)) {
      throw new Error(`${name}: the extracted binary does not report version ${PROMTOOL_VERSION}: ${reported}`);
    }
    await rm(logFile, { force: true });
  });
}
