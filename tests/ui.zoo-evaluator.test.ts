// The Zoo view's evaluator command form, as a user drives it: Debian's Chromium through playwright-core
// against a real `paramzoo serve` on a fresh data folder holding an imported PyTorch fixture (a zoo
// without a built-in task) and an empty built-in-task zoo. What the form stores is read back with the
// CLI on the same data folder. Screenshots go to test-output/ui/. Skipped where no Chromium is installed.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ZooDetail } from '../engine/protocol.js';
import { PROJECT_ROOT, runCliJson } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';
import { accessibilityViolations, desktopContext, launchChromium, SHOTS, type Served, screenshotIfFailed, serious, skipWithoutChromium, startServe, stopServe, watchedPage } from './helpers/ui.js';

const skip = skipWithoutChromium;

const dataDir = tempDir('paramzoo-ui-evaluator-');
let served: Served;
let address: URL;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** The zoo as stored in the catalog, read by the CLI (a separate process) on the same data folder. */
const stored = (zoo: string) => runCliJson<ZooDetail>(['zoo', 'show', zoo, '--data', dataDir]);

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A screenshot, and the serious or critical accessibility violations (axe-core) on the page. */
async function shot(name: string): Promise<string[]> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  return serious(await accessibilityViolations(page));
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  // A zoo of imported checkpoints (no built-in task to score them) and one of a built-in task.
  await runCliJson(['zoo', 'create', 'imported-cnn', '--data', dataDir]);
  await runCliJson(['import', 'imported-cnn', join(FIXTURES, 'tiny_cnn.pth'), '--data', dataDir]);
  await runCliJson(['zoo', 'create', 'digits', '--task', 'digits-mlp', '--data', dataDir]);
  served = await startServe(dataDir);
  address = served.url;
  browser = await launchChromium();
  page = await watchedPage(await desktopContext(browser), pageErrors);
});

afterEach((t) => screenshotIfFailed(page, t, 'zoo-evaluator'));

after(async () => {
  await browser?.close();
  await stopServe(served);
});

test('Zoo view: set an evaluator command (refused, then saved), see it stored, clear it', { skip }, async () => {
  await page.goto(address.href);
  await page.getByTestId('zoo-table').getByRole('link', { name: 'imported-cnn' }).click();
  await page.getByRole('heading', { level: 1, name: /imported-cnn/ }).waitFor();
  const form = page.getByTestId('evaluator-form');
  await form.getByRole('heading', { name: 'Evaluator command' }).waitFor();
  const commandBox = form.getByRole('textbox', { name: 'Command' });
  const timeoutBox = form.getByRole('spinbutton', { name: /Timeout/ });
  assert.equal(await commandBox.getAttribute('placeholder'), 'python eval.py {checkpoint}');
  assert.equal(await commandBox.inputValue(), '');
  // The browser build gives the engine no folder of this machine: no working-folder field.
  assert.equal(await form.getByRole('textbox', { name: 'Working folder' }).count(), 0);
  assert.match(await form.innerText(), /runs in the engine's home folder/);
  assert.equal(await page.getByTestId('zoo-evaluator').count(), 0, 'no evaluator yet');
  assert.equal(await form.getByRole('button', { name: 'Clear' }).isDisabled(), true, 'nothing to clear yet');

  // A command without {checkpoint}: Enter submits, and the engine's message and hint show under the fields.
  await commandBox.fill('python eval.py --weights model.pt');
  await commandBox.press('Enter');
  const error = page.getByTestId('evaluator-error');
  await error.waitFor();
  const refusal = await error.innerText();
  assert.match(refusal, /evaluator command 'python eval\.py --weights model\.pt': no word contains \{checkpoint\}/);
  assert.match(refusal, /e\.g\. python eval\.py \{checkpoint\}/);
  assert.equal(await commandBox.getAttribute('aria-invalid'), 'true');
  assert.equal((await stored('imported-cnn')).evaluator, null, 'a refused command is not stored');
  const violations = await shot('zoo-evaluator-refused');

  // A timeout out of range: the engine names it, and the command field is no longer marked.
  await commandBox.fill('node -e "console.log(0.5)" {checkpoint}');
  await timeoutBox.fill('0');
  await timeoutBox.press('Enter');
  await error.filter({ hasText: /'timeoutSeconds' 0 must be a whole number of seconds from 1/ }).waitFor();
  assert.equal(await timeoutBox.getAttribute('aria-invalid'), 'true');
  assert.equal(await commandBox.getAttribute('aria-invalid'), 'false');

  // A good command: quotes group "console.log(0.5)" into one word; no shell runs it.
  await timeoutBox.fill('30');
  await commandBox.press('Enter');
  const shown = page.getByTestId('zoo-evaluator');
  await shown.waitFor();
  assert.match(await shown.innerText(), /node -e "console\.log\(0\.5\)" \{checkpoint\}\s+evaluator command/);
  assert.match((await shown.getAttribute('title')) ?? '', new RegExp(`runs in ${escaped(homedir())}, at most 30 s per checkpoint`));
  assert.equal(await error.count(), 0, 'the refusal is gone');
  assert.match(await page.getByTestId('evaluator-saved').innerText(), /^Saved/);
  assert.equal(await commandBox.inputValue(), 'node -e "console.log(0.5)" {checkpoint}');
  assert.deepEqual((await stored('imported-cnn')).evaluator, { command: 'node -e "console.log(0.5)" {checkpoint}', cwd: homedir(), timeoutSeconds: 30 });
  // A reload shows the stored command in the form.
  await page.reload();
  await shown.waitFor();
  assert.equal(await commandBox.inputValue(), 'node -e "console.log(0.5)" {checkpoint}');
  assert.equal(await timeoutBox.inputValue(), '30');
  violations.push(...(await shot('zoo-evaluator-set')));

  // Set from the terminal (it runs in the folder it was set from); saving a new timeout in the
  // browser keeps that folder, which the page cannot choose.
  const projectFolder = PROJECT_ROOT.replace(/[\\/]$/, '');
  await runCliJson(['zoo', 'set-evaluator', 'imported-cnn', 'node -e "console.log(0.75)" {checkpoint}', '--data', dataDir]);
  await page.reload();
  await shown.filter({ hasText: 'console.log(0.75)' }).waitFor();
  assert.match(await form.innerText(), new RegExp(`It runs in ${escaped(projectFolder)}: give`));
  await timeoutBox.fill('45');
  await timeoutBox.press('Enter');
  await shown.and(page.locator('[title*="at most 45 s"]')).waitFor();
  assert.deepEqual((await stored('imported-cnn')).evaluator, { command: 'node -e "console.log(0.75)" {checkpoint}', cwd: projectFolder, timeoutSeconds: 45 });

  // Clear: gone from the view, the form and the catalog.
  await form.getByRole('button', { name: 'Clear' }).click();
  await shown.waitFor({ state: 'detached' });
  assert.match(await page.getByTestId('evaluator-saved').innerText(), /^Cleared/);
  assert.equal(await commandBox.inputValue(), '');
  assert.equal(await form.getByRole('button', { name: 'Clear' }).isDisabled(), true);
  assert.equal((await stored('imported-cnn')).evaluator, null);

  // A zoo of a built-in task: the view says the task scores it, and offers no form.
  await page.goto(new URL('/#/zoo/digits', address).href);
  await page.getByTestId('evaluator-builtin').waitFor();
  assert.match(await page.getByTestId('evaluator-builtin').innerText(), /built-in task digits-mlp scores this zoo's checkpoints/);
  assert.equal(await page.getByTestId('evaluator-form').count(), 0);

  assert.deepEqual(violations, [], 'serious or critical accessibility violations');
  assert.deepEqual(pageErrors, []);
});
