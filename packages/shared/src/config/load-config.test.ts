import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InfermeshError } from '../errors/infermesh-error.js';
import { loadConfig } from './load-config.js';
import type { OptionSpec } from './option-spec.js';

const SPECS: OptionSpec[] = [
  { key: 'name', flag: 'name', env: 'T_NAME', type: 'string', required: true, description: 'name' },
  { key: 'port', flag: 'port', env: 'T_PORT', type: 'integer', minimum: 0, maximum: 65535, default: 8001, description: 'port' },
  { key: 'mode', flag: 'mode', env: 'T_MODE', type: 'string', values: ['a', 'b'], default: 'a', description: 'mode' },
  { key: 'verbose', flag: 'verbose', env: 'T_VERBOSE', type: 'boolean', default: false, description: 'verbose' },
];

test('layers defaults < config file < environment < flags < overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ name: 'from-file', port: 1, mode: 'b' }));
  assert.deepEqual(loadConfig(SPECS, { argv: ['--config', file] }), { name: 'from-file', port: 1, mode: 'b', verbose: false });
  assert.deepEqual(loadConfig(SPECS, { argv: ['--config', file], env: { T_PORT: '2' } }), { name: 'from-file', port: 2, mode: 'b', verbose: false });
  assert.deepEqual(loadConfig(SPECS, { argv: ['--config', file, '--port', '3', '--verbose'], env: { T_PORT: '2' } }), {
    name: 'from-file',
    port: 3,
    mode: 'b',
    verbose: true,
  });
  assert.deepEqual(loadConfig(SPECS, { argv: ['--name', 'x'], overrides: { port: 4 } }), { name: 'x', port: 4, mode: 'a', verbose: false });
});

test('fails fast naming the flag and variable of every bad value', () => {
  assert.throws(
    () => loadConfig(SPECS, { env: { T_PORT: '70000', T_MODE: 'c' } }),
    (error: InfermeshError) =>
      error.code === 'INVALID_CONFIG' &&
      /--name \(T_NAME\) is required/.test(error.message) &&
      /--port \(T_PORT\) must be <= 65535/.test(error.message) &&
      /--mode \(T_MODE\) must be one of a, b/.test(error.message),
  );
  assert.throws(() => loadConfig(SPECS, { argv: ['--name', 'x', '--bogus'] }), /Unknown option '--bogus'/);
  assert.throws(() => loadConfig(SPECS, { argv: ['--config', '/nonexistent.json'] }), /cannot read config file/);
});
