import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from './command-catalog.js';

test('every listed command loads the module of that name: its help is the usage of `infermesh <name>`', async () => {
  assert.equal(new Set(COMMANDS.map((entry) => entry.name)).size, COMMANDS.length, 'names are unique');
  for (const entry of COMMANDS) {
    const command = await entry.load();
    assert.match(command.help(), new RegExp(`^Usage: infermesh ${entry.name}\\b`), entry.name);
    assert.ok(entry.summary.length > 0);
  }
});
