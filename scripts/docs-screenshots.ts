/**
 * `npm run docs:screenshots`: starts the embedded mesh (`infermesh up`, from source, on free
 * ports in a temporary directory), opens its dashboard in headless Chromium, runs simulated
 * users who prefer variant b while the page watches, and writes PNG screenshots to docs/images/.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/infra/free-port.js';
import { buildGateway, launchChromium } from '../test/support/dashboard-browser.js';
import { printedDashboardUrls } from '../test/support/dashboard-url.js';
import { cleanEnv, CLI_ARGS, freeWorkerPort, startUp } from '../test/support/up-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGES = join(ROOT, 'docs/images');
/** Simulated requests per burst, and the bursts: the share chart gets a few steps to show. */
const REQUESTS_PER_BURST = 600;
const BURSTS = 4;
/** Milliseconds between bursts, so the page records shares over time. */
const PAUSE_MS = 3_000;

function simulate(gatewayUrl: string): Promise<void> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'simulate', '--gateway', gatewayUrl, '--model', 'demo', '--rates', 'a=0.05,b=0.15', '--requests', String(REQUESTS_PER_BURST), '--rate', '200'], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: 'ignore',
  });
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulate exited with ${code}`)))));
}

async function main(): Promise<void> {
  buildGateway();
  mkdirSync(IMAGES, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'infermesh-screenshots-'));
  const port = await freePort();
  const up = await startUp(['--dir', join(dir, 'up'), '--port', String(port), '--worker-port', String(await freeWorkerPort())], cleanEnv());
  const browser = await launchChromium();
  try {
    const [url] = printedDashboardUrls(up.output());
    if (url === undefined) throw new Error(`infermesh up printed no dashboard URL:\n${up.output()}`);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(url);
    await page.locator('tr[data-variant="b"]').waitFor();
    for (let burst = 0; burst < BURSTS; burst += 1) {
      await simulate(`http://127.0.0.1:${port}`);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    await page.locator('#connection.live').waitFor();
    await page.screenshot({ path: join(IMAGES, 'dashboard-experiment.png'), fullPage: true });
    await page.goto(new URL('/dashboard', url).href);
    await page.locator('#experiments tr[data-model="demo"]').waitFor();
    await page.setViewportSize({ width: 1360, height: 320 });
    await page.screenshot({ path: join(IMAGES, 'dashboard-index.png') });
    console.log(`wrote ${join(IMAGES, 'dashboard-experiment.png')} and dashboard-index.png`);
  } finally {
    await browser.close();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
