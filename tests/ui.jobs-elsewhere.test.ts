// The Jobs view tells a job another process runs on the same data folder (the CLI beside the app)
// from the app's own: Chromium against a real `paramzoo serve`, with a second process holding a
// running job in the same catalog. Screenshot in test-output/ui/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startHangingJob } from './helpers/hanging-job-process.js';
import { tempDir } from './helpers/tmp.js';
import { accessibilityViolations, desktopContext, launchChromium, SHOTS, type Served, serious, skipWithoutChromium, startServe, stopServe } from './helpers/ui.js';

const skip = skipWithoutChromium;
const dataDir = tempDir('paramzoo-ui-jobs-');
let served: Served;
let browser: Browser;
let page: Page;
let other: ChildProcess | undefined;

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  served = await startServe(dataDir);
  browser = await launchChromium();
  page = await (await desktopContext(browser)).newPage();
});

after(async () => {
  other?.kill('SIGKILL');
  await browser?.close();
  await stopServe(served);
});

test("Jobs view: a job another process runs is marked with its pid; the app's own jobs are not", { skip }, async () => {
  const started = await startHangingJob(dataDir);
  other = started.child;
  const { id } = started;
  await page.goto(served.url.href);
  await page.getByTestId('data-dir').waitFor();
  // a job of the app's own engine, started from the Collect view and left to finish
  await page.goto(new URL('/#/collect', served.url).href);
  await page.locator('input[name="zoo"]').fill('own');
  await page.locator('input[name="seeds"]').fill('1');
  await page.locator('input[name="checkpoints"]').fill('1');
  await page.locator('input[name="epochs"]').fill('1');
  await page.getByRole('button', { name: /^Collect 1 checkpoints/ }).click();
  await page.getByTestId('collect-progress').getByRole('heading', { name: 'Collecting (succeeded)' }).waitFor({ timeout: 120_000 });
  await page.goto(new URL('/#/jobs', served.url).href);
  await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
  const row = page.locator(`tr[data-job="${id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'running');
  const own = page.locator('tr[data-kind="collect"]');
  assert.equal(await own.count(), 1);
  assert.equal(await own.getByTestId('job-elsewhere').count(), 0, "the app's own job is not marked");
  const label = row.getByTestId('job-elsewhere');
  assert.equal((await label.innerText()).trim(), `another process · pid ${other!.pid}`);
  assert.match((await label.getAttribute('title')) ?? '', /another process on this data folder/);
  await page.screenshot({ path: join(SHOTS, 'jobs-another-process.png'), fullPage: true });
  assert.deepEqual(serious(await accessibilityViolations(page)), []);

  // the process ends: its job is reported interrupted, and still marked as the other process's
  other!.kill('SIGKILL');
  await page.locator(`tr[data-job="${id}"][data-status="interrupted"]`).waitFor({ timeout: 60_000 });
  assert.equal(await row.getByTestId('job-elsewhere').count(), 1);
});
