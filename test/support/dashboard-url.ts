import assert from 'node:assert/strict';
import { DASHBOARD_PREFIX } from '../../packages/cli/src/up/welcome.js';

/** The dashboard URLs a mesh's welcome printed. */
export function printedDashboardUrls(output: string): string[] {
  return output.split('\n').flatMap((line) => (line.startsWith(DASHBOARD_PREFIX) ? [line.slice(DASHBOARD_PREFIX.length).trim()] : []));
}

/** Checks `url` serves the dashboard as a browser would load it: the page under its CSP, then each script and stylesheet it names. */
export async function assertDashboardServes(url: string): Promise<void> {
  const page = await fetch(url);
  assert.equal(page.status, 200, `${url} answered ${page.status}`);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/, url);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/, url);
  const html = await page.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((match) => new URL(match[1]!, url).href);
  assert.ok(assets.length >= 2, `the page names its script and stylesheet:\n${html}`);
  for (const asset of assets) {
    const response = await fetch(asset);
    assert.equal(response.status, 200, `${asset} answered ${response.status}: ${await response.text()}`);
  }
  const model = /\/dashboard\/([^/]+)$/.exec(new URL(url).pathname)?.[1];
  if (model !== undefined) {
    const experiment = await fetch(new URL(`/v1/experiments/${model}`, url));
    assert.equal(experiment.status, 200, `the page's model ${model} has an experiment`);
  }
}
