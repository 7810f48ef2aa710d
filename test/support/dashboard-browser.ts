import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumEnvironment, ensureChromium } from '../infra/install-chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds the gateway, its dashboard script included (packages/gateway/web → dist/web, a
 * reference of the gateway's project), incrementally: a gateway run from source by tsx serves
 * the compiled script, and a single test file run alone must not depend on an earlier build.
 */
export function buildGateway(): void {
  execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-b', 'packages/gateway'], { cwd: ROOT, stdio: 'inherit' });
}

/** The cached Debian Chromium, headless, driven by playwright-core (which downloads nothing). */
export async function launchChromium(): Promise<Browser> {
  const install = await ensureChromium();
  return chromium.launch({ executablePath: install.executablePath, env: chromiumEnvironment(install), args: ['--no-sandbox'] });
}

/** What a page reported that a test should see: Content-Security-Policy violations and script errors. */
export interface PageProblems {
  violations: string[];
  errors: string[];
}

/** Collects CSP violations (the page's own `securitypolicyviolation` events and the console's reports) and uncaught errors. */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { violations: [], errors: [] };
  await page.exposeFunction('__reportViolation', (text: string) => problems.violations.push(text));
  // Runs in the page (as text: this file is compiled without the DOM's types).
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (event) => window.__reportViolation(event.violatedDirective + ' ' + event.blockedURI));" });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.violations.push(message.text());
  });
  page.on('pageerror', (error) => problems.errors.push(error.message));
  return problems;
}
