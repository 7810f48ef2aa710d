import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { infraCacheDir } from './cache-dir.js';
import { fetchDebianPackages, upstreamOf } from './debian-packages.js';
import { inScratchDir, installOnce, stderrLog, type ProgressLog } from './install-step.js';

/**
 * wrk release the benchmarks drive HTTP saturation with, from Debian 12's `wrk` package. Any
 * Debian revision of this upstream version will do (a rebuild or security update replaces the
 * old revision on the mirror; the load loop does not change with it).
 */
export const WRK_VERSION = '4.1.0';

/** Debian package of wrk itself. */
const WRK_PACKAGE = 'wrk';

/**
 * wrk's scripting runtime: Debian links wrk against the shared LuaJIT library instead of
 * bundling it, so the library travels beside the binary and LD_LIBRARY_PATH points at it.
 */
const LUAJIT_PACKAGE = 'libluajit-5.1-2';

/** File name the wrk binary asks the dynamic loader for. */
const LUAJIT_SONAME = 'libluajit-5.1.so.2';

/** A cached wrk: the binary, and the environment it must run with. */
export interface WrkInstall {
  readonly binary: string;
  /** Directory holding the LuaJIT library; put it on LD_LIBRARY_PATH (see {@link wrkEnvironment}). */
  readonly libDir: string;
  readonly version: string;
}

/** Directory of the cached wrk for WRK_VERSION (it may not exist yet). */
export function wrkInstallDir(cacheDir: string = infraCacheDir()): string {
  return join(cacheDir, 'wrk', WRK_VERSION);
}

/** `env` plus LD_LIBRARY_PATH pointing at the LuaJIT library shipped beside wrk. */
export function wrkEnvironment(install: WrkInstall, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = env.LD_LIBRARY_PATH;
  return { ...env, LD_LIBRARY_PATH: inherited ? `${install.libDir}:${inherited}` : install.libDir };
}

/** Returns a working wrk, fetching Debian's wrk and LuaJIT packages the first time (seconds). */
export async function ensureWrk(log: ProgressLog = stderrLog): Promise<WrkInstall> {
  const dir = wrkInstallDir();
  const name = `wrk ${WRK_VERSION}`;
  await installOnce({ name, target: dir, log, build: (partialDir) => extractWrk(partialDir, name, log) });
  return { binary: join(dir, 'bin', 'wrk'), libDir: join(dir, 'lib'), version: WRK_VERSION };
}

/** Downloads both .debs without installing them (nothing lands in /usr) and copies out wrk and libluajit. */
async function extractWrk(outputDir: string, name: string, log: ProgressLog): Promise<void> {
  await inScratchDir('infermesh-wrk-', async (workDir) => {
    const logFile = `${outputDir}.install.log`;
    const { extracted } = await fetchDebianPackages({
      name,
      packages: [{ name: WRK_PACKAGE, accept: (version) => upstreamOf(version) === WRK_VERSION }, { name: LUAJIT_PACKAGE }],
      workDir,
      logFile,
      log,
      hint: `wrk comes from Debian's ${WRK_PACKAGE} package (Debian 12 has ${WRK_VERSION}); elsewhere put wrk ${WRK_VERSION} at ${join(outputDir.replace(/\.partial-.*$/, ''), 'bin', 'wrk')}`,
      pinnedIn: 'WRK_VERSION in test/infra/install-wrk.ts',
    });
    const library = await findFile(extracted, LUAJIT_SONAME);
    if (library === undefined) throw new Error(`${name}: ${LUAJIT_PACKAGE} holds no ${LUAJIT_SONAME}`);
    await mkdir(join(outputDir, 'bin'), { recursive: true });
    await mkdir(join(outputDir, 'lib'), { recursive: true });
    await copyFile(join(extracted, 'usr', 'bin', 'wrk'), join(outputDir, 'bin', 'wrk'));
    await chmod(join(outputDir, 'bin', 'wrk'), 0o755);
    // copyFile follows the package's soname symlink, so the real library lands under the soname.
    await copyFile(library, join(outputDir, 'lib', LUAJIT_SONAME));
    const install: WrkInstall = { binary: join(outputDir, 'bin', 'wrk'), libDir: join(outputDir, 'lib'), version: WRK_VERSION };
    const check = spawnSync(install.binary, ['-v'], { encoding: 'utf8', env: wrkEnvironment(install) });
    const reported = `${check.stdout}${check.stderr}`;
    if (!reported.includes(WRK_VERSION)) throw new Error(`${name}: the extracted binary does not report version ${WRK_VERSION}: ${reported}`);
    await rm(logFile, { force: true });
  });
}

/** Path of the first file (or symlink) named `name` under `dir`. */
async function findFile(dir: string, name: string): Promise<string | undefined> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const found = entries.find((entry) => entry.name === name && !entry.isDirectory());
  return found === undefined ? undefined : join(found.parentPath, found.name);
}
