/**
 * The README's quick start, run as a newcomer runs it: a fresh copy of the repository (the
 * files a clone would have, no node_modules, no build), `npm ci`, then the README's commands
 * exactly as written — `npm start`, and every command of the quick start's second block, plus
 * every command `npm start` prints — each of which must succeed. (connect-es runs its README
 * example as a test for the same reason: a README that does not work is the first bug a user meets.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { assertDashboardServes, printedDashboardUrls } from '../support/dashboard-url.js';
import { eventually } from '../support/load-generator.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Ports the quick start names: the commands are run as written, so these must be free. */
const QUICK_START_PORTS = [8080, 8001, 8002];
/** `npm ci` plus the first build may take this long on a cold, busy machine. */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickStart = /## Quick start\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
/** The quick start's shell blocks, each as its commands (continuation lines joined) and the output each documents. */
const blocks = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => commandsOf(match[1]!));

let copy: string;
let mesh: ChildProcess | undefined;
let meshOutput = '';

interface DocumentedCommand {
  command: string;
  /** The `# …` line right after it, when it shows the output. */
  documented?: string;
}

function commandsOf(block: string): DocumentedCommand[] {
  const commands: DocumentedCommand[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('#')) {
      const last = commands[commands.length - 1];
      if (last !== undefined && last.documented === undefined) last.documented = line.replace(/^#\s*/, '');
      continue;
    }
    if (line.trim() === '') continue;
    pending += line.endsWith('\\') ? `${line.slice(0, -1)} ` : line;
    if (!line.endsWith('\\')) {
      commands.push({ command: pending.replace(/\s+#\s.*$/, '').trim() });
      pending = '';
    }
  }
  return commands;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => socket.destroy() && resolve(false));
    socket.once('error', () => resolve(true));
  });
}

const PREDICTION = JSON.stringify({ entity: { userId: 'readme' }, inputs: { recency: 0.5, frequency: 1, monetary: 2, tenure: 0.1 } });

/** Commands that keep running until Ctrl-C (they follow a stream, or simulate until stopped). */
const FOLLOWING = /infermesh (events tail(?!.*--limit)|simulate(?!.*--requests))/;

/** Runs a command that keeps running: it must print a line of output and still be running; then it is stopped as a user would (Ctrl-C). */
async function followsAndPrints(command: string): Promise<void> {
  const child = spawn('bash', ['-c', command], { cwd: copy, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await eventually(`\`${command}\` to print something`, async () => {
      assert.equal(child.exitCode, null, `\`${command}\` exited ${child.exitCode}:\n${output}`);
      // Traffic while it follows: a stream shows new events, as the user's own requests would make.
      await fetch('http://127.0.0.1:8080/v1/models/demo/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: PREDICTION }).catch(() => undefined);
      return output.trim() !== '';
    }, 60_000, 500);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
  }
}

function run(command: string): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('bash', ['-c', command], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    const failure = error as { status: number; stdout: string; stderr: string };
    return { code: failure.status ?? 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

before(async () => {
  for (const port of QUICK_START_PORTS) assert.ok(await portFree(port), `port ${port} is taken: the quick start's commands name it, so this test needs it free`);
  copy = mkdtempSync(join(tmpdir(), 'readme-quickstart-'));
  // What a clone holds: tracked files plus new files not ignored, as the working tree has them.
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    try {
      cpSync(join(ROOT, file), join(copy, file), { preserveTimestamps: true });
    } catch {
      // Deleted in the working tree but still tracked: a clone of the committed change would not have it either.
    }
  }
  execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, stdio: 'ignore', timeout: INSTALL_TIMEOUT_MS });
});

after(async () => {
  if (mesh !== undefined && mesh.exitCode === null) {
    process.kill(-mesh.pid!, 'SIGINT');
    await new Promise((resolve) => mesh!.once('exit', resolve));
  }
  if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
});

test('the quick start has the two commands the project promises: npm start and npm test', () => {
  assert.deepEqual(blocks[0]?.map((entry) => entry.command), ['npm start', 'npm test']);
  assert.ok(blocks.length >= 2, 'a second block shows what to do with the running mesh');
});

test('`npm start` from a fresh clone brings the mesh up, and every README quick-start command and every command it prints works as written', { timeout: INSTALL_TIMEOUT_MS }, async () => {
  mesh = spawn('npm', ['start'], { cwd: copy, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  mesh.stdout!.on('data', (chunk: Buffer) => (meshOutput += chunk.toString()));
  mesh.stderr!.on('data', (chunk: Buffer) => (meshOutput += chunk.toString()));
  // `npm start` prints what to try once the mesh answers: that is when a newcomer starts typing.
  await eventually('npm start to print the commands to try', () => {
    assert.equal(mesh!.exitCode, null, `npm start exited:\n${meshOutput}`);
    return /^Ctrl-C stops the mesh/m.test(meshOutput);
  }, INSTALL_TIMEOUT_MS);
  const printedCommands = [...meshOutput.matchAll(/^ {2}\$ (.*)$/gm)].map((match) => ({ command: match[1]!, documented: undefined }));
  assert.ok(printedCommands.length >= 5, `npm start printed commands to try:\n${meshOutput}`);
  // The dashboard's URL, to open in a browser: the built gateway of a fresh clone serves it.
  const dashboards = printedDashboardUrls(meshOutput);
  assert.equal(dashboards.length, 1, `npm start printed the dashboard's URL:\n${meshOutput}`);
  for (const url of dashboards) await assertDashboardServes(url);
  // Commands run one by one, as typed into one terminal: a variable set by one is there for the next.
  const assignments: string[] = [];
  for (const { command, documented } of [...blocks.slice(1).flat(), ...printedCommands]) {
    if (FOLLOWING.test(command)) {
      await followsAndPrints(command);
      continue;
    }
    const result = run([...assignments, command].join('\n'));
    if (/^[A-Z_]+=/.test(command)) {
      assignments.push(command);
      assert.equal(result.code, 0, `\`${command}\` failed`);
      continue;
    }
    assert.equal(result.code, 0, `\`${command}\` failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
    assert.notEqual(result.stdout.trim(), '', `\`${command}\` printed nothing`);
    if (documented?.startsWith('{')) {
      // The README shows the shape of the answer: the same fields must be there.
      const expectedKeys = [...documented.matchAll(/"([A-Za-z]+)":/g)].map((match) => match[1]!);
      const answer = JSON.parse(result.stdout) as Record<string, unknown>;
      for (const key of expectedKeys) assert.ok(key in answer || JSON.stringify(answer).includes(`"${key}"`), `\`${command}\` answered without "${key}": ${result.stdout}`);
    }
  }
});
