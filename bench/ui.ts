// The browser UI as a user meets it, timed: Debian's Chromium through playwright-core against a real
// `paramzoo serve` on a fresh temp data folder, driven the way tests/ui.app.test.ts drives it. A
// benchmark, not a test: it checks nothing, prints its config as JSON, a markdown table, and one JSON
// line of every figure.
//
//   node --import tsx bench/ui.ts [--keep] [--starts 3] [--idle-seconds 10] [--busy-seconds 20] [--train-steps 400] [--source] [--profile]
//
// Figures:
// 1. start: `paramzoo serve` spawned → the address printed (measured here) → the page navigated to it
//    → first-contentful-paint (Paint Timing, in the page) and the app connected (the data folder shown
//    in the status bar, polled every frame). Spawn → FCP adds the page's performance.timeOrigin to the
//    paint time and subtracts the spawn instant, both wall-clock milliseconds of this machine. Median
//    of --starts starts (min in brackets), each with a fresh browser context (cold cache).
// 2. Generate: click → the progress bar on screen → its first progress change → 100%, from a
//    MutationObserver in the page (performance.now() when the DOM changed, before the frame painting it).
//    The run it generates from is trained first through the CLI on the same data folder.
// 3. renderer/dist: bytes and gzip bytes (zlib default level) of its JS and CSS.
// 4. responsiveness: requestAnimationFrame gaps and 'longtask' entries in the page, --idle-seconds on
//    the Train view with no job, then --busy-seconds while a training job started from that view
//    streams its progress (loss chart, step counter); busy ÷ idle longest gap. Long animation frames
//    (Chromium's LoAF entries) name the scripts that held the worst frames.
// The engine runs compiled (dist/engine, built first when stale, as `npm ci` leaves it) unless --source.
// --profile: the page's CPU profile of the busy window (Chromium's profiler, which slows the page a
// little) saved as busy.cpuprofile in the temp folder (see --keep); the functions with the most self
// time go into the JSON line (the bundle is minified: object methods such as chart.js's keep their names).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT, runCliJson } from '../tests/helpers/cli.js';
import { CHROMIUM, fillTrainForm, launchChromium, type Served, startServe, stopServe } from '../tests/helpers/ui.js';

const { values } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    starts: { type: 'string', default: '3' },
    'idle-seconds': { type: 'string', default: '10' },
    'busy-seconds': { type: 'string', default: '20' },
    'train-steps': { type: 'string', default: '400' },
    source: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const starts = Number(values.starts);
const idleSeconds = Number(values['idle-seconds']);
const busySeconds = Number(values['busy-seconds']);
const trainSteps = Number(values['train-steps']);
/** The UI tests' small generator (tests/ui.app.test.ts): ~0.1 s a step on the 2-core machine. */
const SMALL_GENERATOR: [string, string][] = [
  ['denoiserChannels', '8, 8'],
  ['recurrentWidth', '32'],
  ['diffusionBatch', '8'],
  ['timeFeatures', '32'],
  ['saveEvery', '50'],
  ['checkEvery', '100'],
];
const work = mkdtempSync(join(tmpdir(), 'paramzoo-bench-ui-'));
const dataDir = join(work, 'data');
const log = (line: string) => console.error(`[${(performance.now() / 1000).toFixed(1)} s] ${line}`);

// ---- the UI bundle and the engine, as the tests and `npm ci` leave them ----

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(path)) if (name !== 'dist' && name !== 'node_modules') newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** renderer/dist rebuilt when missing or older than its sources (scripts/run-tests.js does the same before the UI tests). */
function buildUiIfStale(): boolean {
  const built = join(PROJECT_ROOT, 'renderer', 'dist', 'index.html');
  const sources = Math.max(newestMtime(join(PROJECT_ROOT, 'renderer')), newestMtime(join(PROJECT_ROOT, 'engine', 'protocol.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return false;
  log('building the UI (renderer/dist)…');
  const vite = join(PROJECT_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join('renderer', 'vite.config.ts'), '--logLevel', 'warn'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the UI build failed');
  return true;
}

function engineCompiled(): boolean {
  const check = `import('./scripts/engine-build.js').then((m) => process.exit(m.compiledCli() ? 0 : 1))`;
  return spawnSync(process.execPath, ['-e', check], { cwd: PROJECT_ROOT, stdio: 'ignore' }).status === 0;
}

function bundleSizes(): { kind: string; files: number; bytes: number; gzip: number }[] {
  const assets = join(PROJECT_ROOT, 'renderer', 'dist', 'assets');
  const rows = ['js', 'css'].map((kind) => ({ kind, files: 0, bytes: 0, gzip: 0 }));
  for (const name of readdirSync(assets)) {
    const row = rows.find((r) => name.endsWith(`.${r.kind}`));
    if (!row) continue;
    const bytes = readFileSync(join(assets, name));
    row.files += 1;
    row.bytes += bytes.length;
    row.gzip += gzipSync(bytes).length;
  }
  return [...rows, rows.reduce((t, r) => ({ kind: 'total', files: t.files + r.files, bytes: t.bytes + r.bytes, gzip: t.gzip + r.gzip }), { kind: 'total', files: 0, bytes: 0, gzip: 0 })];
}

// ---- paramzoo serve, as the UI tests start it (tests/helpers/ui.ts), timed ----

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with a page's performance.timeOrigin. */
const wallNow = () => performance.timeOrigin + performance.now();

interface TimedServe {
  served: Served;
  spawnedAt: number;
  printedAt: number;
}

async function startTimedServe(): Promise<TimedServe> {
  const spawnedAt = wallNow();
  const served = await startServe(dataDir, values.source ? { PARAMZOO_FROM_SOURCE: '1' } : {});
  return { served, spawnedAt, printedAt: wallNow() };
}

// ---- in the page (this project's TypeScript has no DOM types: what the page offers is typed by shape) ----

interface PerfEntry {
  name: string;
  entryType: string;
  startTime: number;
  duration: number;
}
interface LoafScript {
  invoker: string;
  sourceURL: string;
  sourceFunctionName: string;
  sourceCharPosition: number;
  duration: number;
}
interface PageGlobal {
  performance: { now(): number; timeOrigin: number; getEntriesByType(type: string): PerfEntry[] };
  requestAnimationFrame(callback: (time: number) => void): number;
  PerformanceObserver: new (
    callback: (list: { getEntries(): (PerfEntry & { scripts?: LoafScript[]; blockingDuration?: number })[] }) => void,
  ) => { observe(options: { type: string; buffered?: boolean }): void; disconnect(): void };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void; disconnect(): void };
  document: { body: unknown; addEventListener(type: string, listener: (event: { target: unknown }) => void, capture: boolean): void; querySelector(selector: string): PageElement | null };
  __benchGenerate?: GenerateTrace;
}
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
  parentElement: PageElement | null;
  querySelector(selector: string): PageElement | null;
}

interface StartFigures {
  spawnToUrl: number;
  urlToNavigation: number;
  navigationToFcp: number;
  spawnToFcp: number;
  navigationToConnected: number;
  spawnToConnected: number;
}

async function measureStart(browser: Browser): Promise<StartFigures> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const { served, spawnedAt, printedAt } = await startTimedServe();
  try {
    await page.goto(served.url.href);
    // The app has connected when the status bar shows the engine's data folder; polled every frame.
    const connected = (await (
      await page.waitForFunction(
        () => {
          const g = globalThis as unknown as PageGlobal;
          const text = g.document.querySelector('[data-testid="data-dir"]')?.textContent;
          return text && text !== '…' ? g.performance.now() : false;
        },
        undefined,
        { polling: 'raf', timeout: 60_000 },
      )
    ).jsonValue()) as number;
    const paint = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobal;
      const fcp = g.performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
      return { timeOrigin: g.performance.timeOrigin, fcp: fcp?.startTime ?? NaN };
    });
    return {
      spawnToUrl: printedAt - spawnedAt,
      urlToNavigation: paint.timeOrigin - printedAt,
      navigationToFcp: paint.fcp,
      spawnToFcp: paint.timeOrigin + paint.fcp - spawnedAt,
      navigationToConnected: connected,
      spawnToConnected: paint.timeOrigin + connected - spawnedAt,
    };
  } finally {
    await context.close();
    await stopServe(served);
  }
}

interface GenerateTrace {
  click: number | null;
  states: { t: number; frame: number | null; value: number; stage: string }[];
}

/** Records, from the next click on, every change of the generation progress bar (value or stage text). */
async function traceGenerate(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobal;
    const trace: GenerateTrace = { click: null, states: [] };
    g.__benchGenerate = trace;
    g.document.addEventListener('click', () => (trace.click ??= g.performance.now()), true);
    let last = '';
    const read = () => {
      const bar = g.document.querySelector('[role="progressbar"][aria-label="generation progress"]');
      if (!bar || trace.click === null) return;
      const value = Number(bar.getAttribute('aria-valuenow'));
      const stage = bar.parentElement?.querySelector('.stage')?.textContent ?? '';
      if (`${value}|${stage}` === last) return;
      last = `${value}|${stage}`;
      const state = { t: g.performance.now(), frame: null as number | null, value, stage };
      trace.states.push(state);
      // The frame that paints it starts at this rAF time.
      g.requestAnimationFrame((time) => (state.frame = time));
    };
    new g.MutationObserver(read).observe(g.document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

interface FrameFigures {
  seconds: number;
  frames: number;
  longestGap: number;
  p99Gap: number;
  over50: number;
  over100: number;
  longTasks: number;
  longTaskMs: number;
  longestTask: number;
  worstFrames: { duration: number; blocking: number; scripts: string[] }[];
}

/** requestAnimationFrame gaps and long tasks in the page for `seconds`. */
function measureFrames(page: Page, seconds: number): Promise<FrameFigures> {
  return page.evaluate((seconds) => {
    const g = globalThis as unknown as PageGlobal;
    return new Promise<FrameFigures>((resolve) => {
      const gaps: number[] = [];
      const tasks: number[] = [];
      const frames: { duration: number; blocking: number; scripts: string[] }[] = [];
      const longTasks = new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push(e.duration);
      });
      longTasks.observe({ type: 'longtask' });
      const loaf = new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          frames.push({
            duration: e.duration,
            blocking: e.blockingDuration ?? 0,
            scripts: [...(e.scripts ?? [])]
              .sort((a, b) => b.duration - a.duration)
              .slice(0, 3)
              .map((s) => `${s.invoker} → ${s.sourceFunctionName || '(anonymous)'} @${s.sourceURL.split('/').pop()}:${s.sourceCharPosition} ${Math.round(s.duration)} ms`),
          });
        }
      });
      try {
        loaf.observe({ type: 'long-animation-frame' });
      } catch {
        // no LoAF in this browser
      }
      const end = g.performance.now() + seconds * 1000;
      let last: number | null = null;
      const tick = (time: number) => {
        if (last !== null) gaps.push(time - last);
        last = time;
        if (time < end) {
          g.requestAnimationFrame(tick);
          return;
        }
        longTasks.disconnect();
        loaf.disconnect();
        const sorted = [...gaps].sort((a, b) => a - b);
        resolve({
          seconds,
          frames: gaps.length,
          longestGap: sorted.at(-1) ?? NaN,
          p99Gap: sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN,
          over50: gaps.filter((x) => x > 50).length,
          over100: gaps.filter((x) => x > 100).length,
          longTasks: tasks.length,
          longTaskMs: tasks.reduce((a, b) => a + b, 0),
          longestTask: Math.max(0, ...tasks),
          worstFrames: frames.sort((a, b) => b.duration - a.duration).slice(0, 3),
        });
      };
      g.requestAnimationFrame(tick);
    });
  }, seconds);
}

async function view(page: Page, base: URL, hash: string, heading: RegExp): Promise<void> {
  await page.goto(new URL(`/#/${hash}`, base).href);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The profile saved, and the 15 functions with the most self time (ms), by name and place. */
function topSelfTime(profile: CpuProfile): { fn: string; ms: number }[] {
  writeFileSync(join(work, 'busy.cpuprofile'), JSON.stringify(profile));
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byNode.get(id)!;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop() || ''}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([fn, ms]) => ({ fn, ms: Math.round(ms) }));
}

// ---- the run ----

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  chromium: execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
  loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
};
let browser: Browser | undefined;
let served: Served | undefined;
try {
  const uiBuilt = buildUiIfStale();
  if (!values.source && !engineCompiled()) {
    log('compiling the engine (dist/engine)…');
    execFileSync(process.execPath, ['scripts/engine-build.js'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const engine = values.source ? 'sources through tsx (--source)' : engineCompiled() ? 'compiled (dist/engine)' : 'sources through tsx (the compiled engine went stale)';
  const config = {
    starts,
    idleSeconds,
    busySeconds,
    trainSteps,
    generator: Object.fromEntries([['preset', 'tiny-slim'], ...SMALL_GENERATOR]),
    generate: { count: 3, samplerSteps: 10 },
    engine,
    uiBuilt,
    dataDir,
    machine,
  };
  console.log(JSON.stringify({ config }));

  // A zoo and a trained run on the data folder, through the CLI (as the UI tests' zoo comes from Collect).
  log('collecting a digits-mlp zoo (2 seeds × 3 checkpoints, 1 epoch) and training 10 steps through the CLI…');
  await runCliJson(['collect', 'digits-mlp', '--zoo', 'digits', '--seeds', '2', '--checkpoints', '3', '--epochs', '1', '--data', dataDir]);
  await runCliJson([
    'train',
    'digits',
    '--preset',
    'tiny-slim',
    '--steps',
    '10',
    ...SMALL_GENERATOR.filter(([k]) => k !== 'checkEvery').flatMap(([k, v]) => ['--set', `${k}=${v.replace(/ /g, '')}`]),
    '--set',
    'checkEvery=0',
    '--data',
    dataDir,
  ]);

  browser = await launchChromium();

  // 1. start to first paint
  const startRuns: StartFigures[] = [];
  for (let i = 0; i < starts; i++) {
    log(`start ${i + 1}/${starts}: paramzoo serve → first paint…`);
    startRuns.push(await measureStart(browser));
  }

  // 2. Generate: click → progress on screen
  served = (await startTimedServe()).served;
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  // tsx compiles this file keeping function names through an __name helper, which the page functions below then call.
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(served.url.href);
  await page.getByTestId('data-dir').filter({ hasText: dataDir }).waitFor();
  await view(page, served.url, 'generate', /Generate models/);
  await page.getByText('Settings', { exact: true }).click();
  await page.getByLabel('Count').fill('3');
  await page.getByLabel('Sampler steps').fill('10');
  await traceGenerate(page);
  log('Generate: clicking…');
  await page.getByRole('button', { name: 'Generate 3 models' }).click();
  await page.getByRole('progressbar', { name: 'generation progress' }).and(page.locator('[aria-valuenow="100"]')).waitFor({ timeout: 120_000 });
  const trace = (await page.evaluate(() => (globalThis as unknown as PageGlobal).__benchGenerate!)) as GenerateTrace;
  const click = trace.click!;
  const shown = trace.states[0];
  const firstChange = trace.states[1];
  const firstFraction = trace.states.find((s) => s.value > 0 && s.value < 100) ?? trace.states.find((s) => s.value > 0);
  const done = trace.states.find((s) => s.value === 100);
  const since = (s: { t: number; frame: number | null } | undefined) => (s ? { dom: s.t - click, frame: s.frame === null ? null : s.frame - click } : null);
  const generate = {
    shown: since(shown),
    firstChange: since(firstChange),
    firstFraction: since(firstFraction),
    done: since(done),
    states: trace.states.slice(0, 6).map((s) => ({ ms: Math.round(s.t - click), value: s.value, stage: s.stage })),
    changes: trace.states.length,
  };

  // 3. the bundle
  const bundle = bundleSizes();

  // 4. frames: idle on the Train view, then while a training job started there streams progress
  await view(page, served.url, 'train', /Train a generator/);
  await fillTrainForm(page, { zoo: 'digits', preset: 'tiny-slim', steps: trainSteps, settings: SMALL_GENERATOR });
  log(`idle: ${idleSeconds} s of frames on the Train view, no job…`);
  const idle = await measureFrames(page, idleSeconds);
  await page.getByRole('button', { name: 'Start training' }).click();
  // Measured once steps stream (not while the worker loads TensorFlow.js and the zoo).
  await page.waitForFunction(() => Number((globalThis as unknown as PageGlobal).document.querySelector('[data-testid="train-step"]')?.textContent) >= 2, undefined, { timeout: 120_000 });
  const stepBefore = Number(await page.getByTestId('train-step').innerText());
  log(`busy: ${busySeconds} s of frames while training streams progress (step ${stepBefore})…`);
  const profiler = values.profile ? await context.newCDPSession(page) : null;
  if (profiler) {
    await profiler.send('Profiler.enable');
    await profiler.send('Profiler.start');
  }
  const busy = await measureFrames(page, busySeconds);
  const profile = profiler ? topSelfTime((await profiler.send('Profiler.stop')).profile as CpuProfile) : null;
  const stepAfter = Number(await page.getByTestId('train-step').innerText());
  const lossPoints = Number((await page.getByTestId('loss-points').innerText()).split(' ')[0]);
  await page
    .getByTestId('cancel-train')
    .click()
    .catch(() => undefined);
  await page
    .getByTestId('train-panel')
    .locator('.badge.cancelled, .badge.succeeded')
    .first()
    .waitFor({ timeout: 30_000 })
    .catch(() => undefined);
  await context.close();

  // ---- print ----
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const ms = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${Math.round(x)} ms`);
  const startCell = (key: keyof StartFigures) => {
    const xs = startRuns.map((r) => r[key]);
    return `${ms(median(xs))} (${ms(Math.min(...xs))})`;
  };
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const frameRow = (label: string, f: FrameFigures) =>
    `| ${label} | ${f.seconds} s, ${f.frames} frames | ${ms(f.longestGap)} | ${ms(f.p99Gap)} | ${f.over50} | ${f.over100} | ${f.longTasks} (${ms(f.longTaskMs)}, longest ${ms(f.longestTask)}) |`;
  const lines = [
    `**Start** (median of ${starts} starts, min in brackets; engine ${engine})`,
    '',
    '| figure | time |',
    '| --- | --- |',
    `| spawn → address printed | ${startCell('spawnToUrl')} |`,
    `| address printed → navigation start | ${startCell('urlToNavigation')} |`,
    `| navigation → first-contentful-paint | ${startCell('navigationToFcp')} |`,
    `| **spawn → first-contentful-paint** | ${startCell('spawnToFcp')} |`,
    `| navigation → connected (data folder shown) | ${startCell('navigationToConnected')} |`,
    `| spawn → connected | ${startCell('spawnToConnected')} |`,
    '',
    `**Generate** (3 models, DDIM 10, tiny-slim run of 10 steps; DOM change / the frame that paints it)`,
    '',
    '| click → | time |',
    '| --- | --- |',
    `| progress bar on screen ('${shown?.stage ?? '?'}', ${shown?.value ?? '?'}%) | ${ms(generate.shown?.dom)} / ${ms(generate.shown?.frame)} |`,
    `| first progress change ('${firstChange?.stage ?? '?'}', ${firstChange?.value ?? '?'}%) | ${ms(generate.firstChange?.dom)} / ${ms(generate.firstChange?.frame)} |`,
    `| first fraction > 0 ('${firstFraction?.stage ?? '?'}', ${firstFraction?.value ?? '?'}%) | ${ms(generate.firstFraction?.dom)} / ${ms(generate.firstFraction?.frame)} |`,
    `| 100% | ${ms(generate.done?.dom)} / ${ms(generate.done?.frame)} |`,
    '',
    '**Renderer bundle** (renderer/dist/assets; gzip: zlib default level)',
    '',
    '| | files | bytes | gzip |',
    '| --- | --- | --- | --- |',
    ...bundle.map((b) => `| ${b.kind === 'total' ? '**JS + CSS**' : b.kind.toUpperCase()} | ${b.files} | ${b.bytes} (${kib(b.bytes)}) | ${b.gzip} (${kib(b.gzip)}) |`),
    '',
    `**Frames on the Train view** (requestAnimationFrame gaps; training ${trainSteps}-step job: steps ${stepBefore} → ${stepAfter} while measured, ${lossPoints} loss points)`,
    '',
    '| while | measured | longest gap | p99 gap | gaps > 50 ms | gaps > 100 ms | long tasks (total, longest) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    frameRow('no job (baseline)', idle),
    frameRow('training streams progress', busy),
    `| busy ÷ idle | | ${(busy.longestGap / idle.longestGap).toFixed(2)}× | ${(busy.p99Gap / idle.p99Gap).toFixed(2)}× | | | |`,
  ];
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      start: startRuns,
      generate,
      bundle,
      frames: { idle, busy, stepBefore, stepAfter, lossPoints },
      ...(profile ? { busyProfile: profile } : {}),
      pageErrors,
      loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
    }),
  );
} finally {
  await browser?.close().catch(() => undefined);
  if (served) await stopServe(served);
  if (values.keep) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
