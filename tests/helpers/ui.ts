// What the browser UI tests share: a real `paramzoo serve` child process on a data folder, Debian's
// Chromium through playwright-core, and the axe-core accessibility scan.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { PROJECT_ROOT } from './cli.js';

export const CHROMIUM = process.env.PARAMZOO_CHROMIUM ?? '/usr/bin/chromium';
/** Where UI tests save screenshots (git-ignored). */
export const SHOTS = join(PROJECT_ROOT, 'test-output', 'ui');
/** node:test's `skip` for UI tests: false, or why they cannot run here. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set PARAMZOO_CHROMIUM)`;

export interface Served {
  child: ChildProcess;
  /** the address serve printed, with its token */
  url: URL;
  token: string;
}

/** Starts `paramzoo serve --port 0` on `dataDir` (with `env` added to this process's); resolves with the address it prints. */
export function startServe(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'paramzoo.js'), 'serve', '--port', '0', '--json', '--data', dataDir], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`paramzoo serve printed nothing in 30 s:\n${stderr}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      try {
        const printed = JSON.parse(stdout) as { url: string };
        clearTimeout(timer);
        const url = new URL(printed.url);
        resolve({ child, url, token: url.searchParams.get('token')! });
      } catch {
        // not the whole document yet
      }
    });
    child.on('exit', (code) => reject(new Error(`paramzoo serve exited ${code}:\n${stderr}`)));
  });
}

/** Stops a serve started by startServe and waits for it to exit. */
export async function stopServe(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null || served.child.signalCode !== null) return;
  served.child.kill('SIGTERM');
  await new Promise((resolve) => served.child.once('exit', resolve));
}

/** Headless Chromium as every UI test runs it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A desktop-sized browser context as the UI tests use it: the page's CSP bypassed (the accessibility
 * scan injects axe-core) and animations reduced. `options` adds to it (downloads, …).
 */
export function desktopContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 860 }, bypassCSP: true, reducedMotion: 'reduce', ...options });
}

/** A page of `context` whose uncaught errors are pushed to `pageErrors` (a test asserts it stays empty). */
export async function watchedPage(context: BrowserContext, pageErrors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

/** After a failed test: a full-page screenshot `failed-NAME.png` in SHOTS, to see what the user would have. */
export async function screenshotIfFailed(page: Page | undefined, t: unknown, name: string): Promise<void> {
  if (page && (t as { passed?: boolean }).passed === false) await page.screenshot({ path: join(SHOTS, `failed-${name}.png`), fullPage: true }).catch(() => undefined);
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** The page's accessibility violations (axe-core, injected once per page; needs a context with bypassCSP). */
export async function accessibilityViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } })
      .axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
}

/** Only the serious and critical ones, as "id: nodes". */
export function serious(violations: readonly Violation[]): string[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.join(', ')}`);
}

/**
 * Fills the Train view's form as a user would: zoo, preset, steps, then each named generator setting
 * (the "All generator settings" section opened), and waits for the summary line to say the preset.
 * The Train view must be open.
 */
export async function fillTrainForm(page: Page, form: { zoo: string; preset: string; steps: number; settings: readonly (readonly [string, string])[] }): Promise<void> {
  await page.locator('select[name="zoo"]').selectOption(form.zoo);
  await page.locator('select[name="preset"]').selectOption(form.preset);
  await page.locator('input[name="steps"]').fill(String(form.steps));
  await page
    .locator('details')
    .first()
    .evaluate((details) => {
      (details as unknown as { open: boolean }).open = true;
    });
  for (const [name, value] of form.settings) await page.locator(`input[name="${name}"]`).fill(value);
  await page.getByText(new RegExp(`preset ${form.preset} · ${form.steps} steps`)).waitFor();
}
