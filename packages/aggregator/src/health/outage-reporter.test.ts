import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '@infermesh/shared';
import { OUTAGE_ERROR_AFTER_MS, OutageReporter } from './outage-reporter.js';

/** A reporter on a fake clock whose log lines and upstream changes are captured. */
function setup() {
  let clock = 1_800_000_000_000;
  const lines: { level: string; msg: string; downForMs?: number; failures?: number }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const changes: boolean[] = [];
  const reporter = new OutageReporter({ what: 'Consul', logger: createLogger({ service: 'test', level: 'debug', destination }), now: () => clock, onChange: (up) => changes.push(up) });
  return { reporter, lines, changes, advance: (ms: number) => (clock += ms) };
}

test('an outage is one WARN when it starts, one ERROR once it lasted a minute, one INFO when it ends, however many attempts fail', () => {
  const { reporter, lines, changes, advance } = setup();
  reporter.succeeded();
  assert.equal(lines.length, 0, 'success without an outage logs nothing');
  for (let attempt = 0; attempt < 40; attempt += 1) {
    reporter.failed(new Error('connect ECONNREFUSED'));
    assert.equal(reporter.down, true);
    advance(2_000);
  }
  // 40 attempts 2 s apart: the ERROR came at the attempt 60 s after the first.
  assert.deepEqual(lines.map((line) => line.level), ['warn', 'error']);
  assert.ok(lines[1]!.downForMs! >= OUTAGE_ERROR_AFTER_MS);
  reporter.succeeded();
  reporter.succeeded();
  assert.equal(reporter.down, false);
  assert.deepEqual(lines.map((line) => line.level), ['warn', 'error', 'info']);
  assert.equal(lines[2]!.failures, 40);
  assert.deepEqual(changes, [true, false, true], 'the upstream gauge is told of each change once');
});

test('a short outage is WARN then INFO, never ERROR; the next outage is reported afresh', () => {
  const { reporter, lines, advance } = setup();
  for (const length of [3, 5]) {
    for (let attempt = 0; attempt < length; attempt += 1) {
      reporter.failed('refused');
      advance(OUTAGE_ERROR_AFTER_MS / 10);
    }
    reporter.succeeded();
  }
  assert.deepEqual(lines.map((line) => line.level), ['warn', 'info', 'warn', 'info']);
  assert.deepEqual(lines.map((line) => line.failures).filter((count) => count !== undefined), [3, 5]);
});
