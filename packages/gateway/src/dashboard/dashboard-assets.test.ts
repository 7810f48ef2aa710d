import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { DashboardAssets, DASHBOARD_STYLE_DIR } from './dashboard-assets.js';

function assetDirs() {
  const root = mkdtempSync(join(tmpdir(), 'infermesh-assets-'));
  for (const sub of ['scripts', 'styles']) mkdirSync(join(root, sub));
  writeFileSync(join(root, 'scripts', 'dashboard.js'), 'export {};');
  writeFileSync(join(root, 'styles', 'dashboard.css'), 'body {}');
  writeFileSync(join(root, 'secret.js'), 'no');
  return { scripts: pathToFileURL(join(root, 'scripts') + '/'), styles: pathToFileURL(join(root, 'styles') + '/') };
}

test('scripts come from the compiled folder and styles from the source folder, each with its type', async () => {
  const assets = new DashboardAssets(assetDirs());
  assert.deepEqual(await assets.get('dashboard.js'), { body: 'export {};', contentType: 'text/javascript; charset=utf-8' });
  assert.deepEqual(await assets.get('dashboard.css'), { body: 'body {}', contentType: 'text/css; charset=utf-8' });
});

test('a name outside the asset folders, or not an asset, is not found; an unbuilt script says how to build it', async () => {
  const assets = new DashboardAssets(assetDirs());
  for (const name of ['../secret.js', '..%2Fsecret.js', 'dashboard.js.map', 'Dashboard.js', 'other.js', '.css']) await assert.rejects(assets.get(name), { code: 'ROUTE_NOT_FOUND' }, name);
  const unbuilt = new DashboardAssets({ scripts: new URL('file:///nonexistent/'), styles: DASHBOARD_STYLE_DIR });
  await assert.rejects(unbuilt.get('dashboard.js'), (error: Error) => /not built.*npm run build/.test(error.message));
});

test('the default folders are the package\'s own, found the same way from src/ and dist/', async () => {
  assert.match((await new DashboardAssets().get('dashboard.css')).body, /Content-Security-Policy|style-src/);
});
