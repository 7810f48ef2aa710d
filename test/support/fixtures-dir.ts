import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtures, type FixtureFile, type FixtureName } from '../fixtures/generate-fixtures.js';

/** Writes a fresh set of fixtures into a new temporary directory. */
export function freshFixtures(): Record<FixtureName, FixtureFile> & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'infermesh-fixtures-'));
  return { ...writeFixtures(dir), dir };
}
