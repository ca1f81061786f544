// The browser UI end to end, as a user drives it: Debian's Chromium through playwright-core against
// a real `paramzoo serve` child process on a fresh data folder. Screenshots of every view go to
// test-output/ui/ (git-ignored). Skipped, saying so, where no Chromium is installed.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runCli } from './helpers/cli.js';
import { accessibilityViolations, desktopContext, fillTrainForm, launchChromium, SHOTS, type Served, skipWithoutChromium, startServe, stopServe, watchedPage } from './helpers/ui.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';
import { webgpuAdapter } from './helpers/backends.js';

const skip = skipWithoutChromium;

let served: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dataDir = tempDir('paramzoo-ui-');
const downloads = tempDir('paramzoo-ui-downloads-');
const pageErrors: string[] = [];

afterEach(async (t) => {
  // What the page showed when a check failed.
  if (page && (t as unknown as { passed?: boolean }).passed === false)
    await page.screenshot({ path: join(SHOTS, `failed-${t.name.slice(0, 40).replace(/[^A-Za-z0-9]+/g, '-')}.png`), fullPage: true }).catch(() => undefined);
});

/** Serious and critical accessibility violations (axe-core) per screenshot, checked by the last test. */
const accessibility: { view: string; id: string; impact: string; help: string; nodes: string[] }[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  for (const v of await accessibilityViolations(page)) if (v.impact === 'serious' || v.impact === 'critical') accessibility.push({ view: name, ...v });
}

async function view(hash: string, heading: RegExp): Promise<void> {
  await page.goto(new URL(`/#/${hash}`, served.url).href);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

/** The number of painted pixels of the chart's canvas: a chart drawn with data paints many. */
async function paintedPixels(testid: string): Promise<number> {
  // Runs in the page; typed by shape (this project's TypeScript has no DOM types).
  return page
    .getByTestId(testid)
    .locator('canvas')
    .evaluate((element) => {
      const canvas = element as unknown as Canvas;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted += 1;
      return painted;
    });
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  served = await startServe(dataDir);
  browser = await launchChromium();
  context = await desktopContext(browser, { acceptDownloads: true });
  page = await watchedPage(context, pageErrors);
  page.on('dialog', (dialog) => void dialog.accept());
});

after(async () => {
  await browser?.close();
  await stopServe(served);
});

test('the page opened with the token connects, then takes the token out of the address bar', { skip }, async () => {
  await page.goto(served.url.href);
  await page.getByTestId('data-dir').filter({ hasText: dataDir }).waitFor();
  assert.ok(!page.url().includes('token'), page.url());
  await page.getByTestId('zoos-empty').waitFor();
  assert.match(await page.getByTestId('zoos-empty').innerText(), /Create one below|collect a built-in zoo/);
  await page.getByTestId('backend').filter({ hasNotText: '…' }).waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('backend').innerText(), /^(tensorflow|webgpu|wasm|cpu)$/);
  // wasm computes on every core by default: the status bar says on how many.
  if ((await page.getByTestId('backend').innerText()) === 'wasm') {
    assert.match(await page.getByTestId('backend-threads').innerText(), new RegExp(`· ${Math.min(8, availableParallelism())} threads?$`));
  }
  // The WebGPU adapter the engine found (looked for after engine.info answered): a hardware one is named in the
  // status bar; a software renderer (lavapipe on CI) only in the backend's "why?" notes, since wasm computes here.
  if (webgpuAdapter && !webgpuAdapter.software) {
    await page.getByTestId('gpu').waitFor();
    assert.equal(await page.getByTestId('gpu').innerText(), `GPU: ${webgpuAdapter.description.split(':')[0]!.trim()}`);
  } else if (webgpuAdapter) {
    const why = page.locator('footer .why');
    await page.waitForFunction("(document.querySelector('footer .why')?.getAttribute('title') ?? '').includes('software renderer')");
    assert.match((await why.getAttribute('title')) ?? '', new RegExp(`webgpu: the adapter is a software renderer \\(${webgpuAdapter.description.split(':')[0]}`));
    assert.equal(await page.getByTestId('gpu').count(), 0);
  } else assert.equal(await page.getByTestId('gpu').count(), 0);
  await shot('zoos-empty');
  // A reload reconnects without the token in the URL (kept for this tab only).
  await page.reload();
  await page.getByTestId('zoos-empty').waitFor();
});

test('without the token, or from another origin, the engine refuses the page', { skip }, async () => {
  const stranger = await browser.newContext();
  try {
    const bare = await stranger.newPage();
    await bare.goto(new URL('/', served.url).href);
    await bare.getByRole('heading', { name: 'Not connected to the engine' }).waitFor();
    await bare.screenshot({ path: join(SHOTS, 'refused-no-token.png') });

    // Another site on this machine that knows the token still cannot open the socket.
    const other: Server = createServer((_, response) => response.end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const port = (other.address() as { port: number }).port;
      const evil = await stranger.newPage();
      await evil.goto(`http://127.0.0.1:${port}/`);
      const outcome = await evil.evaluate(
        ([url, token]) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url!, ['paramzoo', `token.${token}`]);
            ws.onopen = () => resolve('open');
            ws.onclose = () => resolve('refused');
          }),
        [`ws://${served.url.host}/ws`, served.token],
      );
      assert.equal(outcome, 'refused');
    } finally {
      other.close();
    }
  } finally {
    await stranger.close();
  }
});

test('Zoos: create a zoo, import PyTorch fixtures by upload, see them in the Zoo view', { skip }, async () => {
  await view('zoos', /Zoos/);
  // An empty data folder: nothing to import into yet, and the page says what to do first.
  await page.getByTestId('import-needs-zoo').waitFor();
  assert.equal(await page.getByTestId('upload-files').isDisabled(), true, 'choosing files waits for a zoo');
  await page.getByLabel('Name').fill('cnn');
  await page.getByRole('button', { name: 'Create zoo' }).click();
  await page.getByTestId('zoo-table').getByRole('link', { name: 'cnn' }).waitFor();
  assert.equal(await page.getByTestId('import-needs-zoo').count(), 0);
  await page.getByTestId('upload-files').setInputFiles([join(FIXTURES, 'tiny_cnn.pth'), join(FIXTURES, 'tiny_cnn_legacy.pth')]);
  const progress = page.getByTestId('import-progress').getByRole('progressbar');
  await progress.and(page.locator('[aria-valuenow="100"]')).waitFor({ timeout: 30_000 });
  const row = page.getByTestId('zoo-table').getByRole('row').filter({ hasText: 'cnn' });
  await row.getByRole('cell', { name: '2', exact: true }).waitFor();
  await shot('zoos');
  assert.deepEqual(existsSync(join(dataDir, 'uploads')) ? (await import('node:fs')).readdirSync(join(dataDir, 'uploads')) : [], [], 'the upload was removed after the import');

  // A checkpoint that does not fit: the error names the file as chosen, with the fix.
  await page.getByTestId('upload-files').setInputFiles([join(FIXTURES, 'tiny_cnn_fp16.pth')]);
  await page
    .getByTestId('import-progress')
    .getByText(/^tiny_cnn_fp16\.pth does not fit zoo 'cnn'.*F16.*import this file into another zoo/)
    .waitFor({ timeout: 30_000 });
  await shot('zoos-import-error');

  // A PEFT DoRA adapter is a folder: uploaded with its relative paths.
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('dora');
  await page.getByRole('button', { name: 'Create zoo' }).click();
  await page.getByTestId('zoo-table').getByRole('link', { name: 'dora' }).waitFor();
  await page.getByLabel('Import into').selectOption('dora');
  await page.getByTestId('upload-folder').setInputFiles(join(FIXTURES, 'dora_tiny_llama'));
  await page.getByTestId('zoo-table').getByRole('row').filter({ hasText: 'dora' }).getByRole('cell', { name: '1', exact: true }).waitFor({ timeout: 30_000 });

  // Drag and drop onto the page.
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('dropped');
  await page.getByRole('button', { name: 'Create zoo' }).click();
  await page.getByTestId('zoo-table').getByRole('link', { name: 'dropped' }).waitFor();
  await page.getByLabel('Import into').selectOption('dropped');
  const bytes = readFileSync(join(FIXTURES, 'tiny_cnn_bf16.safetensors')).toString('base64');
  const dropped = await page.evaluateHandle(`(() => {
    const data = new DataTransfer();
    data.items.add(new File([Uint8Array.from(atob('${bytes}'), (c) => c.charCodeAt(0))], 'tiny_cnn_bf16.safetensors'));
    return data;
  })()`);
  await page.dispatchEvent('section.drop', 'drop', { dataTransfer: dropped });
  await page.getByTestId('zoo-table').getByRole('row').filter({ hasText: 'dropped' }).getByRole('cell', { name: '1', exact: true }).waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('zoo-table').getByRole('row').filter({ hasText: 'dropped' }).innerText(), /imported \(safetensors\)/);

  // Delete (confirmed), then free space: files written in the last minutes are kept.
  await page.getByRole('button', { name: 'Delete dora' }).click();
  await page.getByTestId('zoo-table').getByRole('link', { name: 'dora' }).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Free space' }).click();
  await page
    .getByTestId('freed')
    .filter({ hasText: /Nothing to free|Freed/ })
    .waitFor();

  await row.getByRole('link', { name: 'cnn' }).click();
  await page.getByTestId('checkpoint-table').waitFor();
  assert.equal(await page.getByTestId('checkpoint-table').locator('tbody tr').count(), 2);
  const tree = page.getByTestId('tensor-tree');
  await tree.getByRole('cell', { name: 'weight' }).first().waitFor();
  assert.ok((await tree.innerText()).includes('F32'));
  // Per-tensor statistics across the zoo fill in.
  await tree
    .getByRole('row')
    .filter({ hasText: 'running_var' })
    .first()
    .getByText(/^\d\.\d{4}$/)
    .first()
    .waitFor();
  await page.getByRole('button', { name: /Source/ }).click();
  await page
    .getByRole('columnheader', { name: /Source/ })
    .and(page.locator('[aria-sort="ascending"]'))
    .waitFor();
  await shot('zoo');
});

test('Collect: a tiny digits-mlp zoo with progress', { skip }, async () => {
  await view('collect', /Collect/);
  await page.getByLabel('Zoo name').fill('digits');
  await page.getByLabel('Seeds').fill('2');
  await page.getByLabel('Checkpoints per seed').fill('3');
  await page.getByLabel('Epochs').fill('2');
  await page.getByRole('button', { name: /Collect 6 checkpoints/ }).click();
  await page.getByTestId('collect-progress').waitFor();
  await shot('collect-running');
  await page
    .getByTestId('collect-progress')
    .getByText(/6 checkpoints · accuracy best/)
    .waitFor({ timeout: 120_000 });
  await shot('collect');
});

async function startTraining(steps: number): Promise<void> {
  await view('train', /Train a generator/);
  // Small enough for a 2-core machine: ~0.1 s a step.
  const settings = [
    ['denoiserChannels', '8, 8'],
    ['recurrentWidth', '32'],
    ['diffusionBatch', '8'],
    ['timeFeatures', '32'],
    ['saveEvery', '5'],
    ['checkEvery', '10'],
  ] as const;
  await fillTrainForm(page, { zoo: 'digits', preset: 'tiny-slim', steps, settings });
  await page.getByRole('button', { name: 'Start training' }).click();
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function lossPoints(): Promise<number> {
  return Number((await page.getByTestId('loss-points').innerText()).split(' ')[0]);
}

test("Train: a bad setting shows the engine's error inline; a few steps draw the loss chart", { skip }, async () => {
  await view('train', /Train a generator/);
  await page.getByText('All generator settings').click();
  await page.locator('input[name="kernelSize"]').fill('4');
  await page
    .getByTestId('settings-error')
    .filter({ hasText: /kernelSize.*odd/ })
    .waitFor();
  assert.ok(await page.getByRole('button', { name: 'Start training' }).isDisabled());
  await page.locator('input[name="kernelSize"]').fill('');
  await page.getByTestId('settings-error').waitFor({ state: 'detached' });

  await startTraining(30);
  await page.getByTestId('loss-chart').waitFor({ timeout: 60_000 });
  const early = await lossPoints();
  await until(async () => (await lossPoints()) > early, 60_000);
  await shot('train-running');
  await page.getByTestId('train-panel').locator('.badge.succeeded').first().waitFor({ timeout: 120_000 });
  assert.ok((await lossPoints()) >= 30, `${await lossPoints()} loss points after 30 steps`);
  assert.ok((await paintedPixels('loss-chart')) > 1000);
  // Quality checks at steps 10, 20 and 30: generated models scored on the check split beside the originals.
  const checkRows = page.getByTestId('check-table').locator('tbody tr');
  await until(async () => (await checkRows.count()) === 3, 30_000);
  assert.deepEqual(await checkRows.locator('td:first-child').allInnerTexts(), ['10', '20', '30']);
  assert.match(await checkRows.last().innerText(), /not yet/);
  await page.getByTestId('continue-steps').waitFor();
  await shot('train');
});

test('Generate: one click, the progress reaches 100%, the models are listed', { skip }, async () => {
  await view('generate', /Generate models/);
  await page.getByText('Settings', { exact: true }).click();
  await page.getByLabel('Count').fill('3');
  await page.getByLabel('Sampler steps').fill('10');
  await page.getByRole('button', { name: 'Generate 3 models' }).click();
  await page.getByRole('progressbar', { name: 'generation progress' }).and(page.locator('[aria-valuenow="100"]')).waitFor({ timeout: 120_000 });
  await page.getByTestId('model-table').locator('tbody tr').nth(2).waitFor({ timeout: 10_000 });
  // each model names the training step its generator was at (the run trained 30 steps above)
  assert.deepEqual(await page.getByTestId('model-table').locator('tbody tr td:nth-child(2)').allInnerTexts(), ['30', '30', '30']);
  await shot('generate');
});

test('Compare: evaluate the run; the accuracy and similarity charts are drawn with data', { skip }, async () => {
  await view('compare', /Compare/);
  await page.getByRole('button', { name: 'Evaluate' }).click();
  await page.getByTestId('compare-panel').waitFor({ timeout: 180_000 });
  const text = await page.getByTestId('compare-panel').innerText();
  assert.match(text, /originals\s+\d+\.\d+ %/);
  assert.match(text, /generated\s+\d+\.\d+ %/);
  await page.waitForTimeout(300);
  assert.ok((await paintedPixels('accuracy-chart')) > 1000, 'accuracy bars drawn');
  assert.ok((await paintedPixels('similarity-chart')) > 1000, 'similarity scatter drawn');
  await page.getByTestId('layers-panel').waitFor();
  assert.ok((await paintedPixels('layer-chart')) > 1000, 'per-layer statistics drawn');
  await shot('compare');
});

test('Export: the browser downloads the file, and it re-imports equal to the stored model', { skip }, async () => {
  await view('export', /Export a model/);
  const generated = page.locator('select[name="model"] optgroup[label="Generated"] option').first();
  await generated.waitFor({ state: 'attached' });
  const model = (await generated.getAttribute('value'))!;
  assert.match(model, /^gm_/);
  await page.locator('select[name="model"]').selectOption(model);
  await page.getByLabel('Format').selectOption('safetensors');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByRole('button', { name: 'Download' }).click()]);
  const saved = join(downloads, download.suggestedFilename());
  await download.saveAs(saved);
  await page.getByTestId('downloaded').waitFor();
  const sha = await page.getByTestId('export-sha').innerText();
  assert.equal(createHash('sha256').update(readFileSync(saved)).digest('hex'), sha);
  await shot('export');
  const stored = await runCli(['inspect', model, '--json', '--data', dataDir]);
  const file = await runCli(['inspect', saved, '--json']);
  assert.equal(stored.code, 0, stored.stderr);
  assert.equal(file.code, 0, file.stderr);
  assert.deepEqual(JSON.parse(file.stdout).tensors, JSON.parse(stored.stdout).tensors);
});

test('Jobs: a reload mid-training re-attaches to the running job; cancel stops it', { skip }, async () => {
  await startTraining(5000);
  await until(async () => Number(await page.getByTestId('train-step').innerText()) >= 3, 60_000);
  await page.reload();
  await page.getByRole('heading', { level: 1, name: /Train a generator/ }).waitFor();
  const before = await page.getByTestId('train-step').innerText();
  await until(async () => Number(await page.getByTestId('train-step').innerText()) > Number(before), 30_000);
  await page.getByTestId('loss-chart').waitFor();
  await shot('train-reattached');

  await view('jobs', /Jobs/);
  const running = page.locator('tr[data-kind="train"][data-status="running"]');
  await running.waitFor();
  await shot('jobs-running');
  await running.getByRole('button', { name: /Cancel/ }).click();
  await page.locator('tr[data-kind="train"][data-status="cancelled"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('tr[data-status="running"]').count(), 0);
  await shot('jobs');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
});

test('dark mode follows the system; the keyboard reaches the views', { skip }, async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await view('compare', /Compare/);
  await page.getByTestId('compare-panel').waitFor();
  await page.reload();
  await page.getByTestId('compare-panel').waitFor();
  const background = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
  assert.equal(background, 'rgb(15, 18, 22)');
  await page.waitForTimeout(300);
  await shot('compare-dark');
  await page.keyboard.press('Alt+3');
  await page.getByRole('heading', { level: 1, name: /Train a generator/ }).waitFor();
  await page.keyboard.press('Control+e');
  await page.getByRole('heading', { level: 1, name: /Export a model/ }).waitFor();
  await shot('export-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('accessibility: no serious or critical axe-core violation in any view', { skip }, () => {
  assert.ok(existsSync(join(SHOTS, 'jobs.png')), 'the views were visited');
  assert.deepEqual(accessibility, []);
});
