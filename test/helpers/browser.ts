import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';

/**
 * Headless Chromium for the dashboard's end-to-end tests: Debian's `/usr/bin/chromium` driven by
 * playwright-core (which never downloads a browser). Without it the browser suites are skipped loudly, and in CI
 * (CI=true) they fail, like the service probes of test/global-setup.ts.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export function hasChromium(): boolean {
  const ok = fs.existsSync(CHROMIUM);
  if (!ok) {
    const line = `flowguard e2e: ${CHROMIUM} not found (apt-get install chromium)`;
    if (process.env.CI === 'true') throw new Error(`${line}: CI needs it`);
    console.warn(`\n!!! ${line}: the browser tests are SKIPPED. !!!\n`);
  }
  return ok;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--headless=new'],
  });
}

/** Build the dashboard from web/ into dist/web, so the test drives the current source. */
export async function buildDashboard(): Promise<void> {
  await build({ configFile: path.resolve('web/vite.config.ts'), logLevel: 'error' });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
