import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraCacheDir } from './cache-dir.js';
import { fetchDebianPackages, offeredVersions } from './debian-packages.js';
import { inScratchDir, installOnce, stderrLog, type ProgressLog } from './install-step.js';

/** Debian's headless Chromium: the browser the dashboard's tests drive (no X server, no GPU). */
const BROWSER_PACKAGE = 'chromium-headless-shell';

/** Its resources (locales, .pak files); Debian requires the same version as the browser. */
const COMMON_PACKAGE = 'chromium-common';

/**
 * Libraries the browser links against that a slim image lacks (verified on this project's image
 * with `ldd`); each unpacked beside the browser instead of installed, so nothing lands in /usr.
 */
const LIBRARY_PACKAGES = [
  'libopenh264-7', 'libdouble-conversion3', 'libopus0', 'libharfbuzz-subset0', 'libxnvctrl0', 'libpulse0', 'libflac12', 'libminizip1',
  'libopenjp2-7', 'libogg0', 'libsndfile1', 'libasyncns0', 'libvorbis0a', 'libvorbisenc2', 'libmpg123-0', 'libmp3lame0',
] as const;

/** Where the browser binary sits inside the unpacked packages. */
const PACKAGED_BINARY = 'usr/lib/chromium/chromium-headless-shell';

/** A cached Chromium: the binary and the environment it must run with. */
export interface ChromiumInstall {
  readonly executablePath: string;
  readonly version: string;
  /** Directories of the unpacked libraries; put them on LD_LIBRARY_PATH (see {@link chromiumEnvironment}). */
  readonly libraryPath: string;
}

/** Directory holding every cached Chromium version. */
function chromiumRoot(cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, 'chromium');
}

function installAt(dir: string, version: string): ChromiumInstall {
  const libraryPath = ['usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu/pulseaudio', 'usr/lib/chromium'].map((sub) => join(dir, sub)).join(':');
  return { executablePath: join(dir, PACKAGED_BINARY), version, libraryPath };
}

/** `env` plus LD_LIBRARY_PATH pointing at the libraries unpacked beside the browser. */
export function chromiumEnvironment(install: ChromiumInstall, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const inherited = env.LD_LIBRARY_PATH;
  const base = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return { ...base, LD_LIBRARY_PATH: inherited ? `${install.libraryPath}:${inherited}` : install.libraryPath };
}

/**
 * Returns a working headless Chromium, unpacking Debian's packages into the cache the first time
 * (about 100 MB, tens of seconds). Any cached version is reused: the tests need a browser, not a
 * particular build, so a security update on the mirror does not cost another download.
 */
export async function ensureChromium(log: ProgressLog = stderrLog): Promise<ChromiumInstall> {
  const root = chromiumRoot();
  const cached = existsSync(root) ? (await readdir(root)).filter((name) => !name.includes('.')).sort().reverse() : [];
  const reusable = cached.map((version) => installAt(join(root, version), version)).find((install) => existsSync(install.executablePath));
  if (reusable !== undefined) return reusable;
  const version = offeredVersions(BROWSER_PACKAGE)[0];
  if (version === undefined) throw new Error(`chromium: apt offers no ${BROWSER_PACKAGE}; run 'apt-get update' as root and retry`);
  const dir = join(root, version.replace(/[^A-Za-z0-9_-]/g, '_'));
  const name = `chromium ${version}`;
  await installOnce({ name, target: dir, log, build: (partialDir) => unpackChromium(partialDir, version, name, log) });
  return installAt(dir, version);
}

async function unpackChromium(outputDir: string, version: string, name: string, log: ProgressLog): Promise<void> {
  await inScratchDir('infermesh-chromium-', async (workDir) => {
    const logFile = `${outputDir}.install.log`;
    const { extracted } = await fetchDebianPackages({
      name,
      packages: [
        { name: BROWSER_PACKAGE, accept: (offered) => offered === version },
        { name: COMMON_PACKAGE, accept: (offered) => offered === version },
        ...LIBRARY_PACKAGES.map((pkg) => ({ name: pkg })),
      ],
      workDir,
      logFile,
      log,
      hint: `the browser tests unpack Debian's ${BROWSER_PACKAGE}; on another distribution install Chromium and extend test/infra/install-chromium.ts`,
      pinnedIn: 'test/infra/install-chromium.ts',
    });
    await cp(extracted, outputDir, { recursive: true, verbatimSymlinks: true });
    const install = installAt(outputDir, version);
    const missing = spawnSync('ldd', [install.executablePath], { encoding: 'utf8', env: chromiumEnvironment(install) })
      .stdout.split('\n')
      .filter((line) => line.includes('not found'))
      .map((line) => line.trim().split(' ')[0]);
    if (missing.length > 0) throw new Error(`${name}: the browser still lacks ${missing.join(', ')}; add the Debian packages holding them to LIBRARY_PACKAGES in test/infra/install-chromium.ts`);
    const check = spawnSync(install.executablePath, ['--version'], { encoding: 'utf8', env: chromiumEnvironment(install) });
    if (check.status !== 0) throw new Error(`${name}: the unpacked browser does not start: ${check.stdout}${check.stderr}`);
    await rm(logFile, { force: true });
  });
}
