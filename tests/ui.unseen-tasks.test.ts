// A task-conditioned zoo (digits binary heads) in the app, as a user meets it: Debian's Chromium
// through playwright-core against a real `paramzoo serve`. Training shows, at each quality check,
// how one model per held-out task vector scores against the unseen-task bar; Compare shows the
// held-out line of the evaluation (3 models per held-out task). Screenshots go to test-output/ui/.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { runCliJson } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import {
  accessibilityViolations,
  desktopContext,
  fillTrainForm,
  launchChromium,
  SHOTS,
  type Served,
  screenshotIfFailed,
  serious,
  skipWithoutChromium,
  startServe,
  stopServe,
  watchedPage,
} from './helpers/ui.js';

const skip = skipWithoutChromium;

const dataDir = tempDir('paramzoo-ui-unseen-');
let served: Served;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<string[]> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  return serious(await accessibilityViolations(page));
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  // Untrained heads (0 epochs) of 2 seen tasks: enough to train on, quick to collect.
  await runCliJson(['collect', 'digits-binary', '--zoo', 'binary', '--seeds', '1', '--checkpoints', '1', '--epochs', '0', '--tasks', '2', '--data', dataDir]);
  served = await startServe(dataDir);
  browser = await launchChromium();
  page = await watchedPage(await desktopContext(browser), pageErrors);
});

afterEach((t) => screenshotIfFailed(page, t, 'unseen-tasks'));

after(async () => {
  await browser?.close();
  await stopServe(served);
});

test('Train: each quality check scores the held-out task vectors against the 85% bar', { skip }, async () => {
  // The address with the token first: the page keeps it for the views opened after.
  await page.goto(served.url.href);
  await page.getByTestId('zoo-table').getByRole('link', { name: 'binary', exact: true }).waitFor();
  await page.goto(new URL('/#/train', served.url).href);
  await page.getByRole('heading', { level: 1, name: /Train a generator/ }).waitFor();
  const settings = [
    ['denoiserChannels', '8, 8'],
    ['recurrentWidth', '32'],
    ['diffusionBatch', '8'],
    ['timeFeatures', '32'],
    ['samplerSteps', '10'],
    ['checkEvery', '5'],
    ['checkModels', '2'],
  ] as const;
  await fillTrainForm(page, { zoo: 'binary', preset: 'tiny-slim', steps: 10, settings });
  await page.getByRole('button', { name: 'Start training' }).click();
  await page.getByTestId('train-panel').locator('.badge.succeeded').first().waitFor({ timeout: 120_000 });
  const table = page.getByTestId('check-table');
  await table.locator('tbody tr').nth(1).waitFor({ timeout: 30_000 });
  assert.deepEqual(await table.locator('thead th').allInnerTexts(), [
    'Step',
    'Loss',
    'Generated avg',
    'Generated min',
    'Originals avg',
    'Originals min',
    'Within the bar',
    'Held-out tasks avg',
    'Worst held-out task',
  ]);
  const heldOut = table.getByTestId('check-held-out');
  assert.equal(await heldOut.count(), 2, 'a held-out figure at steps 5 and 10');
  for (const text of await heldOut.allInnerTexts()) assert.match(text, /^\d+\.\d\d$/);
  // 10 steps are far from the bar: shown as short of it
  assert.match((await heldOut.last().getAttribute('class')) ?? '', /error-text/);
  assert.match(await page.getByTestId('train-panel').innerText(), /One more model per held-out task vector .* 85% unseen-task bar/);
  assert.deepEqual(await shot('train-held-out'), []);
});

test('Compare: the evaluation says how the held-out tasks score, 3 models each, against the bar', { skip }, async () => {
  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  const { id } = db.prepare('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1').get() as { id: string };
  db.close();
  await page.goto(new URL(`/#/compare?run=${id}`, served.url).href);
  await page.getByRole('heading', { level: 1, name: /Compare/ }).waitFor();
  await page.getByRole('button', { name: 'Evaluate' }).click();
  const verdict = page.getByTestId('held-out-verdict');
  await verdict.waitFor({ timeout: 180_000 });
  assert.match(
    await verdict.innerText(),
    /^Held-out tasks \(20 task vectors the generator never saw, 3 generated models each\): generated avg \d+\.\d\d, worst task \d+\.\d\d against the originals' \d+\.\d\d; below the 85% bar/,
  );
  assert.match((await verdict.getAttribute('class')) ?? '', /error-text/);
  assert.deepEqual(await shot('compare-held-out'), []);
  assert.deepEqual(pageErrors, []);
});
