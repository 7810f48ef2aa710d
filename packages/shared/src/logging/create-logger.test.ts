import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { LOG_FLUSH_INTERVAL_MS } from './create-logger.js';

const FIXTURE = fileURLToPath(new URL('./log-to-stdout.fixture.ts', import.meta.url));

/** Runs the fixture and collects its stdout lines until it exits or `stopWhen` holds (then kills it). */
function run(args: string[], stopWhen: (lines: string[]) => boolean = () => false): Promise<{ lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    const lines = () => text.split('\n').filter((line) => line !== '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (stopWhen(lines())) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ lines: lines() });
    });
  });
}

test('a line logged by a quiet process reaches stdout on its own, without more logging or an exit', async () => {
  const { lines } = await run(['1', 'wait'], (seen) => seen.length >= 1);
  assert.equal(lines.length, 1, 'the single buffered line was flushed by the timer (the process was killed only after it arrived)');
  const line = JSON.parse(lines[0]!) as { level: string; service: string; index: number; msg: string };
  assert.deepEqual([line.level, line.service, line.index, line.msg], ['info', 'fixture', 0, 'line']);
  assert.ok(LOG_FLUSH_INTERVAL_MS <= 1_000);
});

test('after a burst, the lines left in the buffer reach stdout on their own while the process stays quiet', async () => {
  const { lines } = await run(['5000', 'wait'], (seen) => seen.length >= 5_000);
  assert.equal(lines.length, 5_000, 'every line arrived before the test gave up (20 s) and killed the process');
});

test('buffered lines are all written when the process exits, or crashes', async () => {
  for (const then of ['exit', 'throw']) {
    const { lines } = await run(['5000', then]);
    const logged = lines.filter((line) => line.startsWith('{"level":"info"'));
    assert.equal(logged.length, 5_000, `${then}: every line written`);
    assert.deepEqual(
      logged.map((line) => (JSON.parse(line) as { index: number }).index),
      Array.from({ length: 5_000 }, (_, index) => index),
      `${then}: in order, none torn`,
    );
  }
});
