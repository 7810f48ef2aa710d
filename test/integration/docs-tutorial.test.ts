/**
 * docs/tutorial.md, run as a reader runs it: `infermesh up` where the tutorial says `npm start`,
 * then every other ```sh block in order, each in one bash session, against that mesh. A block
 * must exit 0 (it runs with `set -eo pipefail`, so every command in it must succeed), and each
 * `# …` line in a block must match what the commands before it printed: the same JSON keys (and
 * the same true/false values) for a JSON line, the same text around the `…` otherwise.
 *
 * The tutorial names `infermesh up`'s defaults; the test runs its mesh on free ports in a
 * temporary directory and rewrites exactly these in the commands it runs: the gateway port
 * 8080, the workers' ports 8001/8002 and 8011/8012, the directory `.infermesh/up`, and
 * `npx infermesh` (the source of this checkout, as the mesh itself runs, not a possibly stale build).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { freePort } from '../infra/free-port.js';
import { assertDashboardServes, printedDashboardUrls } from '../support/dashboard-url.js';
import { eventually } from '../support/load-generator.js';
import { cleanEnv, CLI_ARGS, freeWorkerPort, startUp, UP_WORKER_PORT_STEP, type UpProcess } from '../support/up-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `npx infermesh` as the test runs it: this checkout's CLI from source. */
const CLI_COMMAND = [process.execPath, ...CLI_ARGS].map((part) => `'${part}'`).join(' ');
const TUTORIAL = readFileSync(join(ROOT, 'docs/tutorial.md'), 'utf8');
/** The tutorial's shell blocks, in order. */
const BLOCKS = [...TUTORIAL.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);

/** `infermesh up`'s default ports (packages/cli/src/up/mesh-plan.ts): the gateway, and worker a's gRPC port. */
const DEFAULT_GATEWAY_PORT = 8080;
const DEFAULT_WORKER_PORT = 8001;
const WORKER_PORT_STEP = UP_WORKER_PORT_STEP;
/** `infermesh up`'s default directory, relative to the repository root. */
const DEFAULT_DIR = '.infermesh/up';
/** Milliseconds one block may run: the simulation sends 1,000 requests at 100/s; CLI calls compile on start. */
const BLOCK_TIMEOUT_MS = 150_000;

/** Commands that keep running until Ctrl-C: not allowed in a block the test runs. */
const FOLLOWS_FOREVER = /infermesh (events tail(?![^\n]*--limit)|simulate(?![^\n]*--requests))/;

interface Mesh {
  dir: string;
  gatewayPort: number;
  workerPort: number;
}

let tmp: string;
let mesh: Mesh;
let up: UpProcess | undefined;

/** A tutorial command as the test runs it: the defaults the tutorial names, replaced by this mesh's. */
function rewrite(text: string, { dir, gatewayPort, workerPort }: Mesh): string {
  const ports: Record<string, number> = {
    [DEFAULT_GATEWAY_PORT]: gatewayPort,
    [DEFAULT_WORKER_PORT]: workerPort,
    [DEFAULT_WORKER_PORT + 1]: workerPort + 1,
    [DEFAULT_WORKER_PORT + WORKER_PORT_STEP]: workerPort + WORKER_PORT_STEP,
    [DEFAULT_WORKER_PORT + WORKER_PORT_STEP + 1]: workerPort + WORKER_PORT_STEP + 1,
  };
  const rewritten = text
    .replaceAll('npx infermesh', CLI_COMMAND)
    .replaceAll(DEFAULT_DIR, dir)
    .replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (whole, host: string, port: string) => (ports[port] === undefined ? whole : `${host}:${ports[port]}`));
  // Nothing may reach a mesh or directory of the developer running the tests.
  assert.doesNotMatch(rewritten, /(localhost|127\.0\.0\.1):80\d\d\b/, `a default port is left in:\n${rewritten}`);
  assert.ok(!rewritten.includes('.infermesh/'), `a path under .infermesh/ is left in:\n${rewritten}`);
  return rewritten;
}

/** A block as a bash script whose `# …` lines print a marker, and the documented output each marker closes. */
function instrument(block: string): { script: string; documented: string[] } {
  const documented: string[] = [];
  const lines = block.split('\n').map((line) => {
    if (!line.startsWith('#')) return line;
    documented.push(line.replace(/^#\s*/, ''));
    return `printf '\\n@@documented-output-${documented.length - 1}@@\\n'`;
  });
  return { script: ['set -eo pipefail', ...lines].join('\n'), documented };
}

/** Checks what the commands before a `# …` line printed against it. */
function checkDocumented(expected: string, printed: string, where: string): void {
  if (expected.startsWith('{')) {
    for (const [, key] of expected.matchAll(/"([A-Za-z]+)":/g)) {
      assert.match(printed, new RegExp(`"${key}"\\s*:`), `${where}: the output lacks "${key}":\n${printed}`);
    }
    for (const [, key, value] of expected.matchAll(/"([A-Za-z]+)":(true|false)\b/g)) {
      assert.match(printed, new RegExp(`"${key}"\\s*:\\s*${value}\\b`), `${where}: the output lacks "${key}":${value}:\n${printed}`);
    }
    return;
  }
  let from = 0;
  for (const fragment of expected.split('…').filter((part) => part !== '')) {
    const at = printed.indexOf(fragment, from);
    assert.ok(at >= 0, `${where}: the output lacks '${fragment}' (documented as '${expected}'):\n${printed}`);
    from = at + fragment.length;
  }
}

/** Runs a script in bash from the repository root; resolves with its exit code and output. */
function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), BLOCK_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

interface ExperimentView {
  variants: { name: string; share: number }[];
}

async function shares(): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${mesh.gatewayPort}/v1/experiments/demo`);
  const view = (await response.json()) as ExperimentView;
  return new Map(view.variants.map((variant) => [variant.name, variant.share]));
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'docs-tutorial-'));
  mesh = { dir: join(tmp, 'up'), gatewayPort: await freePort(), workerPort: await freeWorkerPort() };
  up = await startUp(['--dir', mesh.dir, '--port', String(mesh.gatewayPort), '--worker-port', String(mesh.workerPort)], cleanEnv());
});

after(async () => {
  await up?.stop();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

test('the tutorial starts with `npm start` and every other block can run to its end', () => {
  assert.equal(BLOCKS[0]?.trim(), 'npm start', 'the first shell block starts the mesh');
  assert.ok(BLOCKS.length >= 8, `the tutorial has its steps (${BLOCKS.length} blocks)`);
  for (const [index, block] of BLOCKS.entries()) {
    if (index > 0) assert.ok(!block.includes('npm start'), `block ${index + 1} starts a second mesh`);
    for (const line of block.split('\n')) assert.doesNotMatch(line, FOLLOWS_FOREVER, `block ${index + 1} runs a command that never ends: ${line}`);
  }
});

test('the dashboard URL the mesh prints serves the page, its assets and its experiment', async () => {
  const urls = printedDashboardUrls(up!.output());
  assert.deepEqual(urls, [`http://127.0.0.1:${mesh.gatewayPort}/dashboard/demo`], up!.output());
  for (const url of urls) await assertDashboardServes(url);
});

test('the rewrite leaves a tutorial command that names other ports or paths alone, and refuses defaults it cannot map', () => {
  const sample = { dir: '/tmp/x/up', gatewayPort: 41_000, workerPort: 42_000 };
  assert.equal(rewrite('curl -s localhost:8080/v1 127.0.0.1:8011 localhost:9999 .infermesh/up/secrets.json', sample), 'curl -s localhost:41000/v1 127.0.0.1:42010 localhost:9999 /tmp/x/up/secrets.json');
  assert.throws(() => rewrite('curl localhost:8003/metrics', sample), /default port is left in/);
  assert.throws(() => rewrite('ls .infermesh/registry', sample), /under \.infermesh\/ is left in/);
});

test('every shell block of docs/tutorial.md runs in order against the mesh and prints what the tutorial shows', { timeout: BLOCK_TIMEOUT_MS * BLOCKS.length }, async () => {
  const env = cleanEnv();
  for (const [index, block] of BLOCKS.entries()) {
    if (index === 0) continue; // `npm start`: the mesh the before hook started
    const where = `block ${index + 1} (${block.split('\n')[0]!.slice(0, 80)})`;
    const { script, documented } = instrument(rewrite(block, mesh));
    const result = await runBash(script, env);
    assert.equal(result.code, 0, `${where} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    const chunks = result.stdout.split(/\n@@documented-output-\d+@@\n/);
    assert.equal(chunks.length, documented.length + 1, `${where}: every documented output was reached`);
    documented.forEach((expected, position) => checkDocumented(expected, chunks[position]!, `${where}, output #${position + 1}`));
    if (/infermesh simulate/.test(block)) {
      // What the tutorial says happens: users who convert three times as often make b win.
      await eventually('variant b to hold most of the traffic after the simulation', async () => {
        const current = await shares();
        return (current.get('b') ?? 0) > 0.5 && (current.get('b') ?? 0) > (current.get('a') ?? 1);
      }, 30_000, 250);
    }
  }
});
