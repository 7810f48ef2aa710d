import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WORKER_OPTIONS } from '@infermesh/worker';
import { GATEWAY_OPTIONS } from '@infermesh/gateway';
import { AGGREGATOR_OPTIONS } from '@infermesh/aggregator';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README reference table documents every worker option, flag and variable', () => {
  for (const option of WORKER_OPTIONS) {
    assert.ok(README.includes(`| \`--${option.flag}\` | \`${option.env}\` |`), `README lacks a row for --${option.flag} (${option.env})`);
  }
});

test('the README reference table documents every gateway option, flag and variable', () => {
  for (const option of GATEWAY_OPTIONS) {
    assert.ok(README.includes(`| \`--${option.flag}\` | \`${option.env}\` |`), `README lacks a row for gateway --${option.flag} (${option.env})`);
  }
});

test("the README's gateway table gives each default the option has", () => {
  for (const option of GATEWAY_OPTIONS.filter((spec) => spec.default !== undefined)) {
    const prefix = `| \`--${option.flag}\` | \`${option.env}\` | `;
    const row = README.split('\n').find((line) => line.startsWith(prefix));
    assert.ok(row !== undefined, `README lacks a row for gateway --${option.flag}`);
    const cell = row.slice(prefix.length).split(' | ')[0]!;
    assert.ok(cell.includes(`\`${String(option.default)}\``), `README gives --${option.flag} the default ${cell}, the option has ${String(option.default)}`);
  }
});

test('the README reference table documents every aggregator option, flag and variable', () => {
  const start = README.indexOf('## Configuration reference: `infermesh aggregate`');
  assert.notEqual(start, -1, 'README lacks the aggregator reference section');
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  for (const option of AGGREGATOR_OPTIONS) {
    assert.ok(section.includes(`| \`--${option.flag}\` | \`${option.env}\` |`), `README lacks a row for aggregate --${option.flag} (${option.env})`);
  }
});
