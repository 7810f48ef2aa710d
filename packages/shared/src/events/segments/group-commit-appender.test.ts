import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GroupCommitAppender } from './group-commit-appender.js';
import { SegmentNaming } from './segment-files.js';

/** A fresh directory, removed when the file's tests are done. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'appender-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const naming = new SegmentNaming('part-', '.log');

function appender(dir: string, maxSegmentBytes: number, commits: { segment: number; size: number; count: number }[], sealed: number[] = []) {
  return new GroupCommitAppender({
    dir,
    fileName: (segment) => naming.fileName(segment),
    firstSegment: 1,
    maxSegmentBytes,
    fsync: false,
    now: () => 0,
    onCommitted: (segment, size, tags) => commits.push({ segment, size, count: tags.length }),
    onSealed: (segment) => sealed.push(segment),
  });
}

const lineOf = (index: number) => `{"n":${index}}\n`;

test('concurrent appends are batched into few writes, and each resolves only once its line is in the file', async () => {
  const dir = tempDir();
  const commits: { segment: number; size: number; count: number }[] = [];
  const log = appender(dir, 1024 ** 2, commits);
  const file = join(dir, naming.fileName(1));
  const appends = Array.from({ length: 1_000 }, (_, index) =>
    log.append(lineOf(index), Buffer.byteLength(lineOf(index)), 'x').then(() => {
      assert.ok(readFileSync(file, 'utf8').includes(lineOf(index)), `line ${index} is written when its append resolves`);
    }),
  );
  await Promise.all(appends);
  // The first append starts a write at once; the other 999, made meanwhile, share the next one.
  assert.ok(commits.length <= 3, `${commits.length} writes for 1,000 appends`);
  assert.equal(commits.reduce((sum, commit) => sum + commit.count, 0), 1_000);
  assert.equal(readFileSync(file, 'utf8'), Array.from({ length: 1_000 }, (_, index) => lineOf(index)).join(''));
  await log.close();
});

test('segments roll at the size limit, never split a batch, and keep the order', async () => {
  const dir = tempDir();
  const commits: { segment: number; size: number; count: number }[] = [];
  const sealed: number[] = [];
  const log = appender(dir, 100, commits, sealed);
  for (let index = 0; index < 60; index += 1) await log.append(lineOf(index), Buffer.byteLength(lineOf(index)), 'x');
  await log.close();
  const files = readdirSync(dir).sort();
  assert.ok(files.length >= 6, `${files.length} segments`);
  assert.deepEqual(files, files.map((_, index) => naming.fileName(index + 1)));
  for (const name of files) assert.ok(statSync(join(dir, name)).size <= 100, `${name} stays within the limit`);
  assert.equal(files.map((name) => readFileSync(join(dir, name), 'utf8')).join(''), Array.from({ length: 60 }, (_, index) => lineOf(index)).join(''));
  assert.deepEqual(sealed, files.map((_, index) => index + 1), 'every segment is sealed, the last one by close()');
});

test('requestSeal closes the active segment; the next append opens a new one; close refuses more appends', async () => {
  const dir = tempDir();
  const sealed: number[] = [];
  const log = appender(dir, 1024, [], sealed);
  await log.append(lineOf(1), 8, 'x');
  assert.equal(log.activeSegment, 1);
  log.requestSeal();
  await log.append(lineOf(2), 8, 'x');
  assert.deepEqual(sealed, [1]);
  assert.equal(log.activeSegment, 2);
  await log.close();
  assert.throws(() => log.append(lineOf(3), 8, 'x'), /closed/);
  assert.deepEqual(readdirSync(dir).sort(), [naming.fileName(1), naming.fileName(2)]);
});

test('a write the disk refuses (ENOSPC) resolves its appends, reports their tags, seals the segment, and the next write goes to a new one', async () => {
  const dir = tempDir();
  // Segment 1 is Linux's /dev/full: opening it succeeds and every write fails with ENOSPC, as on a full disk.
  symlinkSync('/dev/full', join(dir, naming.fileName(1)));
  const commits: { segment: number; size: number; count: number }[] = [];
  const failures: { code: string | undefined; tags: readonly string[] }[] = [];
  const sealed: number[] = [];
  const log = new GroupCommitAppender({
    dir,
    fileName: (segment) => naming.fileName(segment),
    firstSegment: 1,
    maxSegmentBytes: 1024,
    fsync: false,
    now: () => 0,
    onCommitted: (segment, size, tags) => commits.push({ segment, size, count: tags.length }),
    onWriteFailed: (error, tags) => failures.push({ code: (error as NodeJS.ErrnoException).code, tags }),
    onSealed: (segment) => sealed.push(segment),
  });
  await Promise.all([log.append(lineOf(1), 8, 'a'), log.append(lineOf(2), 8, 'b')]);
  assert.deepEqual(failures, [{ code: 'ENOSPC', tags: ['a', 'b'] }]);
  assert.deepEqual(commits, []);
  assert.deepEqual(sealed, [1]);
  await log.append(lineOf(3), 8, 'c');
  assert.deepEqual(commits, [{ segment: 2, size: 8, count: 1 }]);
  assert.equal(readFileSync(join(dir, naming.fileName(2)), 'utf8'), lineOf(3));
  await log.close();
});
