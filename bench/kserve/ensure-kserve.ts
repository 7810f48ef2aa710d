/**
 * The Python virtualenv of the KServe peer: KServe's model server and onnxruntime at the pins of
 * bench/kserve/requirements.txt, cached by the requirements' hash outside the repository (the
 * same scheme as test/compat/ensure-python-client.ts). Optional: the bench reports KServe's
 * series as not available, with the reason, when this fails.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { infraCacheDir } from '../../test/infra/cache-dir.js';

const run = promisify(execFile);
const REQUIREMENTS = fileURLToPath(new URL('./requirements.txt', import.meta.url));
/** The custom KServe model serving an ONNX file. */
export const KSERVE_SERVER_SCRIPT = fileURLToPath(new URL('./onnx_model_server.py', import.meta.url));
/** Written last, so a venv interrupted mid-install is rebuilt rather than trusted. */
const COMPLETE_MARKER = 'infermesh-installed';
/** Largest pip output kept for an error message, bytes. */
const PIP_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The KServe release pinned in requirements.txt, for the report. */
export function pinnedVersion(pkg: string): string | undefined {
  const line = readFileSync(REQUIREMENTS, 'utf8')
    .split('\n')
    .find((text) => text.toLowerCase().startsWith(`${pkg.toLowerCase()}==`));
  return line?.split('==')[1]?.trim();
}

/** Returns the venv's python, creating the venv the first time (about a minute of pip). */
export async function ensureKServe(log: (line: string) => void): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const venv = join(infraCacheDir(), 'kserve-venv', hash);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, COMPLETE_MARKER))) return python;
  rmSync(venv, { recursive: true, force: true });
  log(`installing KServe ${pinnedVersion('kserve') ?? ''} and onnxruntime into ${venv} (first use only)`);
  await run('python3', ['-m', 'venv', venv]);
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], { maxBuffer: PIP_OUTPUT_BYTES });
  writeFileSync(join(venv, COMPLETE_MARKER), new Date().toISOString());
  return python;
}
