import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WORKER_OPTIONS } from '@infermesh/worker';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README reference table documents every worker option, flag and variable', () => {
  for (const option of WORKER_OPTIONS) {
    assert.ok(README.includes(`| \`--${option.flag}\` | \`${option.env}\` |`), `README lacks a row for --${option.flag} (${option.env})`);
  }
});
