import { spawnSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool, runWithProgress, type ProgressLog } from './install-step.js';

/** One Debian package to fetch, and which of the versions the mirrors offer will do (the newest accepted is taken). */
export interface DebianPackageRequest {
  readonly name: string;
  /** Default: any version. */
  readonly accept?: (version: string) => boolean;
}

/** Where and how fetchDebianPackages works, and what it says on the way. */
export interface FetchDebianPackagesOptions {
  /** For progress lines and errors, e.g. "wrk 4.1.0". */
  readonly name: string;
  readonly packages: readonly DebianPackageRequest[];
  /** A scratch directory: the .debs are downloaded here and unpacked into `<workDir>/extracted`. */
  readonly workDir: string;
  readonly logFile: string;
  readonly log: ProgressLog;
  /** What to do where apt is missing (another distribution). */
  readonly hint: string;
  /** Where the error tells the reader to change a pinned version when the mirrors offer none that fits. */
  readonly pinnedIn: string;
}

/** The packages fetched: the directory they were unpacked into, and the version taken of each. */
export interface FetchedDebianPackages {
  readonly extracted: string;
  readonly versions: ReadonlyMap<string, string>;
}

/**
 * Downloads Debian packages without installing them (nothing lands in /usr) and unpacks them all
 * into one directory. A fresh machine may have no package lists, or lists older than the mirror:
 * then one `apt-get update` (root only) before giving up.
 */
export async function fetchDebianPackages(options: FetchDebianPackagesOptions): Promise<FetchedDebianPackages> {
  const { name, packages, workDir, logFile, log } = options;
  requireTool('apt-get', ['--version'], options.hint);
  requireTool('dpkg-deb', ['--version'], options.hint);
  let versions = chooseVersions(packages);
  if (versions.size < packages.length) {
    if (process.getuid?.() !== 0) throw new Error(`${name}: ${describeMissing(packages, versions)}; run 'apt-get update' as root and retry`);
    log(`${name}: apt lists lack ${packages.filter((request) => !versions.has(request.name)).map((request) => request.name).join(', ')}; running apt-get update once`);
    await runWithProgress({ name: `${name} apt-get update`, command: 'apt-get', args: ['update'], cwd: workDir, env: process.env, logFile, log });
    versions = chooseVersions(packages);
    if (versions.size < packages.length) throw new Error(`${name}: ${describeMissing(packages, versions)}; update the pinned version in ${options.pinnedIn}`);
  }
  const wanted = [...versions].map(([pkg, version]) => `${pkg}=${version}`);
  log(`${name}: downloading ${wanted.join(' ')} (first use only; log: ${logFile})`);
  await runWithProgress({ name: `${name} download`, command: 'apt-get', args: ['download', ...wanted], cwd: workDir, env: process.env, logFile, log });
  const extracted = join(workDir, 'extracted');
  await mkdir(extracted, { recursive: true });
  const debs = (await readdir(workDir)).filter((file) => file.endsWith('.deb'));
  if (debs.length < packages.length) throw new Error(`${name}: apt-get download left ${debs.length} .deb files in ${workDir}, expected ${packages.length}`);
  for (const deb of debs) {
    await runWithProgress({ name: `${name} unpack`, command: 'dpkg-deb', args: ['-x', deb, extracted], cwd: workDir, env: process.env, logFile, log });
  }
  return { extracted, versions };
}

/** "4.1.0-3+b2" → "4.1.0": the upstream version ends at the Debian revision or a repack suffix (an epoch is dropped). */
export function upstreamOf(version: string): string {
  return version.replace(/^\d+:/, '').split(/[+~-]/)[0] ?? version;
}

/** Versions of `pkg` that apt can download, newest first (`apt-cache madison` order). */
export function offeredVersions(pkg: string): string[] {
  const result = spawnSync('apt-cache', ['madison', pkg], { encoding: 'utf8' });
  if (result.status !== 0) return [];
  return [...new Set(result.stdout.split('\n').map((line) => line.split('|')[1]?.trim()).filter((version): version is string => !!version))];
}

function chooseVersions(packages: readonly DebianPackageRequest[]): Map<string, string> {
  const chosen = new Map<string, string>();
  for (const request of packages) {
    const version = offeredVersions(request.name).find((offered) => request.accept?.(offered) ?? true);
    if (version !== undefined) chosen.set(request.name, version);
  }
  return chosen;
}

function describeMissing(packages: readonly DebianPackageRequest[], chosen: ReadonlyMap<string, string>): string {
  const missing = packages.filter((request) => !chosen.has(request.name));
  return `apt offers no fitting version of ${missing.map((request) => `${request.name} (offered: ${offeredVersions(request.name).join(', ') || 'none'})`).join(', ')}`;
}
