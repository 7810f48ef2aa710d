import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infraCacheDir } from './cache-dir.js';
import { formatElapsed, installOnce, requireTool, runWithProgress, stderrLog, type ProgressLog } from './install-step.js';
import { removeAtExit } from './managed-process.js';

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
  const startedAt = Date.now();
  const { built } = await installOnce({
    name,
    target: binary,
    log,
    build: (partialPath) => extractPromtool(partialPath, name, log),
  });
  if (built) log(`${name}: installed at ${binary} in ${formatElapsed(startedAt)}`);
  return binary;
}

/**
 * Downloads the .deb without installing it (no root needed, nothing lands in /usr) and copies
 * promtool out of it. The package also holds the Prometheus server, which we do not keep.
 */
async function extractPromtool(outputPath: string, name: string, log: ProgressLog): Promise<void> {
  const hint = `promtool comes from Debian's ${DEBIAN_PACKAGE} package (Debian 12 has ${PROMTOOL_VERSION}); elsewhere put a promtool ${PROMTOOL_VERSION} binary at ${outputPath.replace(/\.partial-.*$/, '')}`;
  requireTool('apt-get', ['--version'], hint);
  requireTool('dpkg-deb', ['--version'], hint);
  const workDir = await mkdtemp(join(tmpdir(), 'infermesh-promtool-'));
  const unregisterWorkDir = removeAtExit(workDir);
  try {
    const logFile = `${outputPath}.install.log`;
    const packageVersion = await findPackageVersion(name, workDir, logFile, log);
    log(`${name}: downloading ${DEBIAN_PACKAGE} ${packageVersion} (first use only; log: ${logFile})`);
    await runWithProgress({ name: `${name} download`, command: 'apt-get', args: ['download', `${DEBIAN_PACKAGE}=${packageVersion}`], cwd: workDir, env: process.env, logFile, log });
    const deb = (await readdir(workDir)).find((file) => file.endsWith('.deb'));
    if (deb === undefined) throw new Error(`${name}: apt-get download finished but left no .deb in ${workDir}`);
    const extracted = join(workDir, 'extracted');
    await mkdir(extracted);
    await runWithProgress({ name: `${name} unpack`, command: 'dpkg-deb', args: ['-x', deb, extracted], cwd: workDir, env: process.env, logFile, log });
    await copyFile(join(extracted, PACKAGED_BINARY), outputPath);
    await chmod(outputPath, 0o755);
    const check = spawnSync(outputPath, ['--version'], { encoding: 'utf8' });
    const reported = `${check.stdout}${check.stderr}`;
    if (check.status !== 0 || !reported.includes(`version ${PROMTOOL_VERSION}`)) {
      throw new Error(`${name}: the extracted binary does not report version ${PROMTOOL_VERSION}: ${reported}`);
    }
    await rm(logFile, { force: true });
  } finally {
    unregisterWorkDir();
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The newest Debian revision of PROMTOOL_VERSION the configured mirrors offer. A fresh machine
 * may have no package lists yet, or lists older than the mirror: then one `apt-get update` (root only).
 */
async function findPackageVersion(name: string, workDir: string, logFile: string, log: ProgressLog): Promise<string> {
  const found = matchingVersion();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`${name}: apt knows no ${DEBIAN_PACKAGE} ${PROMTOOL_VERSION} (offered: ${offeredVersions().join(', ') || 'none'}); run 'apt-get update' as root and retry`);
  }
  log(`${name}: apt knows no ${DEBIAN_PACKAGE} ${PROMTOOL_VERSION} yet; running apt-get update once`);
  await runWithProgress({ name: `${name} apt-get update`, command: 'apt-get', args: ['update'], cwd: workDir, env: process.env, logFile, log });
  const afterUpdate = matchingVersion();
  if (afterUpdate === undefined) {
    throw new Error(`${name}: Debian's mirrors offer no ${DEBIAN_PACKAGE} ${PROMTOOL_VERSION} (offered: ${offeredVersions().join(', ') || 'none'}); update PROMTOOL_VERSION in test/infra/install-promtool.ts`);
  }
  return afterUpdate;
}

function matchingVersion(): string | undefined {
  // "2.42.0+ds-5+deb12u1": the upstream version ends at the repack suffix or the Debian revision.
  return offeredVersions().find((version) => version.replace(/^\d+:/, '').split(/[+~-]/)[0] === PROMTOOL_VERSION);
}

/** Versions of the package that apt can download, newest first (`apt-cache madison` order). */
function offeredVersions(): string[] {
  const result = spawnSync('apt-cache', ['madison', DEBIAN_PACKAGE], { encoding: 'utf8' });
  if (result.status !== 0) return [];
  return [...new Set(result.stdout.split('\n').map((line) => line.split('|')[1]?.trim()).filter((version): version is string => !!version))];
}
