import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds the console unless console/dist is newer than its sources, then starts Debian's chromium headless. */
export async function launchBrowser(): Promise<Browser> {
  await buildConsole('stale');
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-default-apps', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** A fresh browser profile signed in with `token`; waits until the live feed is live. */
export async function signIn(browser: Browser, baseURL: string, token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-testid="live-status"]', { hasText: 'live' }).waitFor({ timeout: 10_000 });
  return { context, page };
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Installs a MutationObserver that records (in ms since the epoch, the
 * node's clock on this machine) when `selector`'s text first equals each
 * awaited value: the moment the DOM shows it.
 */
export async function installTextWatch(page: Page): Promise<void> {
  // A string, not a function: tsx's name helpers do not exist in the page.
  await page.evaluate(`(() => {
    window.__seen = {};
    window.__want = [];
    const check = () => {
      for (const { selector, text } of window.__want) {
        const key = selector + '|' + text;
        if (window.__seen[key]) continue;
        if (document.querySelector(selector)?.textContent?.trim() === text) window.__seen[key] = Date.now();
      }
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
}

/** Starts watching for `text` in `selector` (call before making the change). */
export async function watchFor(page: Page, selector: string, text: string): Promise<void> {
  await page.evaluate(({ selector, text }) => (window as unknown as { __want: Array<{ selector: string; text: string }> }).__want.push({ selector, text }), { selector, text });
}

/** When the DOM showed it (waits up to `timeoutMs`). */
export async function seenAt(page: Page, selector: string, text: string, timeoutMs = 5_000): Promise<number> {
  const key = `${selector}|${text}`;
  const handle = await page.waitForFunction((k) => (window as unknown as { __seen: Record<string, number> }).__seen[k], key, { timeout: timeoutMs, polling: 20 });
  return (await handle.jsonValue()) as number;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any; text: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The API over the real HTTP server, as a script or the console would call it. */
export function http(base: string, token: string): Call {
  return async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };
}
