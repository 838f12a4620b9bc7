// Launch the system Chromium through playwright-core with the flags that give headless WebGPU
// (SwiftShader) and keep it off the network. See ../../shared/docs/ENVIRONMENT.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const QUIET = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--password-store=basic',
];

/** Returns { context, close }. webgpu=false launches without --enable-unsafe-webgpu. */
export async function launch({ webgpu = true, extraArgs = [] } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cskd-chromium-'));
  const args = ['--headless=new', ...QUIET, ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu']), ...extraArgs];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true, // the real switch is --headless=new in args
    ignoreDefaultArgs: ['--headless'],
    args,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` in the page until it returns a truthy value (which is returned). Fails at once when an
 * uncaught page error was recorded in `errors` (an array filled by a 'pageerror' listener), instead of
 * waiting out the timeout — a module that fails to load never sets the flag being waited for.
 */
export async function waitInPage(page, fn, arg, { timeout = 60_000, errors = [], what = 'condition', interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const pageErrors = errors.filter((e) => e.startsWith('pageerror'));
    if (pageErrors.length) throw new Error(`page error while waiting for ${what}: ${pageErrors.join('; ')}`);
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
