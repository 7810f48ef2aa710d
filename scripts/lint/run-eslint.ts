import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { infraCacheDir } from '../../test/infra/cache-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG_FILE = join(ROOT, 'eslint.config.js');

/** What ESLint found. */
export interface EslintOutcome {
  ok: boolean;
  files: number;
  /** Formatted problems (empty when there are none). */
  report: string;
}

/**
 * ESLint's cache file, outside the repo and named after everything that decides results
 * besides the files themselves. ESLint invalidates its cache on config changes, but it
 * cannot see inside the rules of eslint.config.js's own plugin, so the file's text is hashed.
 */
async function cacheLocation(): Promise<string> {
  const require = createRequire(import.meta.url);
  const { version: parserVersion } = require('typescript-eslint/package.json') as { version: string };
  const key = createHash('sha256').update(`${ESLint.version}\n${parserVersion}\n${readFileSync(CONFIG_FILE, 'utf8')}`).digest('hex').slice(0, 16);
  const dir = join(infraCacheDir(), 'eslint');
  await mkdir(dir, { recursive: true });
  // Caches of earlier configs are never read again.
  for (const stale of (await readdir(dir)).filter((name) => name !== `${key}.json`)) await rm(join(dir, stale), { force: true });
  return join(dir, `${key}.json`);
}

/**
 * Lines for problems an eslint-disable comment hid without saying why (`-- reason`): a
 * skipped test, like any other exception to a rule, must carry its reason.
 */
function unexplainedSuppressions(results: ESLint.LintResult[]): string[] {
  return results.flatMap((result) =>
    result.suppressedMessages
      .filter((message) => message.suppressions.some((suppression) => suppression.kind === 'directive' && suppression.justification.trim() === ''))
      .map((message) => `${relative(ROOT, result.filePath)}:${message.line}:${message.column}  ${message.ruleId ?? 'eslint'} is disabled without a reason: end the comment with \` -- <why>\``),
  );
}

/** Lints every file eslint.config.js does not ignore; warnings fail as errors do. */
export async function runEslint(): Promise<EslintOutcome> {
  const eslint = new ESLint({ cwd: ROOT, cache: true, cacheLocation: await cacheLocation(), cacheStrategy: 'content' });
  const results = await eslint.lintFiles(['.']).catch((error: unknown) => {
    // A file deleted between ESLint listing and reading it (an editor's or a test's scratch file): list again.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return eslint.lintFiles(['.']);
    throw error;
  });
  const problems = results.filter((result) => result.errorCount + result.warningCount > 0);
  const formatted = problems.length === 0 ? '' : await (await eslint.loadFormatter('stylish')).format(problems);
  const unexplained = unexplainedSuppressions(results);
  const report = [formatted.trim(), ...unexplained].filter((part) => part !== '').join('\n');
  return { ok: report === '', files: results.length, report };
}
