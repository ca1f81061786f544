// Does the engine answer while it trains? A training job runs through the engine service while a
// cheap request (zoo.list, engine.info, job.list in turn) is sent every 100 ms; the latency of
// each, from the moment it was due to its answer, gives p50/p95/max. The same run measures the
// compute worker (the default: jobs compute in a worker thread) and the baseline with the job on the
// engine's own thread ('inline'), so the figures are a ratio on the same machine at the same time.
// A request is timed from when it was due, not from when the timer fired: a timer held back by a
// training step on the engine's thread counts its wait, as a client's request arriving then would.
// A third row, 'idle', sends the same requests to a service with no job for a few seconds: the floor
// this machine gives at this moment (on a shared machine other processes' load shows up there).
// Prints its config as JSON, a markdown table, and a JSON document of every figure.
//
//   node --import tsx bench/responsiveness.ts [--steps 100] [--interval 100] [--places idle,worker,inline] [--idle-seconds 10]
//                                             [--preset tiny | --set JSON] [--backend wasm] [--threads N]
// The default generator is the quick demo's (engine/pipeline/demo.ts), whose steps take about 100 ms
// on the 2-core dev machine; --preset tiny gives the tiny preset's steps (seconds each there).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ComputePlace } from '../engine/compute.js';
import type { RequestName, TrainJobResult } from '../engine/protocol.js';
import { createEngineService, runJob, type EngineService } from '../engine/service.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '100' },
    interval: { type: 'string', default: '100' },
    places: { type: 'string', default: 'idle,worker,inline' },
    'idle-seconds': { type: 'string', default: '10' },
    preset: { type: 'string' },
    set: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
  },
});
const steps = Number(values.steps);
const intervalMs = Number(values.interval);
type Place = ComputePlace | 'idle';
const places = values.places.split(',') as Place[];
const idleSeconds = Number(values['idle-seconds']);
const threads = values.threads === undefined ? undefined : Number(values.threads);
const set = values.set ? (JSON.parse(values.set) as Record<string, unknown>) : undefined;
/** default: the quick demo's generator (engine/pipeline/demo.ts QUICK_PLAN) */
const preset = values.preset ?? 'digits';
const config = {
  steps,
  intervalMs,
  places,
  idleSeconds,
  preset,
  set: set ?? null,
  backend: values.backend,
  threads: threads ?? '(every core)',
  zoo: 'digits-mlp, 1 seed × 4 checkpoints, 0 epochs',
  requests: ['zoo.list', 'engine.info', 'job.list'],
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
};
console.log(JSON.stringify({ config }));

interface Figures {
  place: Place;
  requests: number;
  p50: number;
  p95: number;
  max: number;
  msPerStep: number | null;
  finalLoss: number | null;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const sleepUntil = (at: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

/** Sends a request every interval from `start` until `ended()`, each timed from when it was due. */
async function requestLatencies(service: EngineService, start: number, ended: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  const answers: Promise<unknown>[] = [];
  const requests: RequestName[] = ['zoo.list', 'engine.info', 'job.list'];
  for (let k = 0; !ended(); ) {
    await sleepUntil(start + k * intervalMs);
    // Every request due by now is sent now, each timed from when it was due: a thread held by a
    // training step answers them all late, as a client sending every interval would see.
    for (; start + k * intervalMs <= performance.now(); k++) {
      const due = start + k * intervalMs;
      answers.push(service.request(requests[k % requests.length]!, {} as never).then(() => latencies.push(performance.now() - due)));
    }
  }
  await Promise.all(answers);
  return latencies.sort((a, b) => a - b);
}

async function measure(place: Place): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paramzoo-responsiveness-'));
  const service = createEngineService({ dataDir, compute: place === 'idle' ? 'worker' : place });
  try {
    if (place === 'idle') {
      const until = performance.now() + idleSeconds * 1000;
      const sorted = await requestLatencies(service, performance.now(), () => performance.now() >= until);
      return { place, requests: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? NaN, msPerStep: null, finalLoss: null };
    }
    await runJob(service, 'collect', { task: 'digits-mlp', zoo: 'digits', seeds: 1, checkpointsPerSeed: 4, epochs: 0, backend: values.backend, ...(threads ? { threads } : {}) });
    /** when the first training step was reported: requests are due from then on */
    let training: number | null = null;
    const train = runJob(service, 'train', { zoo: 'digits', steps, backend: values.backend, ...(threads ? { threads } : {}), preset, ...(set ? { set } : {}) }, (progress) => {
      if (typeof progress.metrics.step === 'number') training ??= performance.now();
    }) as Promise<TrainJobResult>;
    let ended = false;
    void train.finally(() => (ended = true)).catch(() => undefined);
    // Measure from the first training step on (not while the zoo is read and TensorFlow.js loads).
    // (On the engine's thread this loop itself waits for the step to end; the requests due meanwhile count from their due time.)
    while (training === null && !ended) await new Promise((resolve) => setTimeout(resolve, 20));
    const sorted = await requestLatencies(service, training ?? performance.now(), () => ended);
    const result = await train;
    return { place, requests: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? NaN, msPerStep: result.secondsPerStep * 1000, finalLoss: result.finalLoss };
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const figures: Figures[] = [];
for (const place of places) {
  console.error(
    place === 'idle'
      ? `idle: requests every ${intervalMs} ms for ${idleSeconds} s, no job running…`
      : `${place}: collecting the zoo, then training ${steps} steps while requests are sent every ${intervalMs} ms…`,
  );
  const measured = await measure(place);
  figures.push(measured);
  console.error(
    `${place}: ${measured.requests} requests, p50 ${measured.p50.toFixed(1)} ms, p95 ${measured.p95.toFixed(1)} ms, max ${measured.max.toFixed(1)} ms${measured.msPerStep === null ? '' : `; ${measured.msPerStep.toFixed(0)} ms/step`}`,
  );
}

const ms = (x: number) => x.toFixed(1);
const lines = ['| while | requests | p50 ms | p95 ms | max ms | training ms/step | final loss |', '| --- | --- | --- | --- | --- | --- | --- |'];
const LABELS: Record<Place, string> = { idle: 'no job (the floor)', worker: 'training, in the compute worker', inline: "training, on the engine's thread" };
for (const f of figures) lines.push(`| ${LABELS[f.place]} | ${f.requests} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.max)} | ${f.msPerStep?.toFixed(0) ?? ''} | ${f.finalLoss?.toPrecision(6) ?? ''} |`);
const worker = figures.find((f) => f.place === 'worker');
const inline = figures.find((f) => f.place === 'inline');
if (worker && inline) {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  lines.push(
    `| inline ÷ worker | | ${ratio(inline.p50, worker.p50)} | ${ratio(inline.p95, worker.p95)} | ${ratio(inline.max, worker.max)} | ${(inline.msPerStep! / worker.msPerStep!).toFixed(2)}× | ${inline.finalLoss === worker.finalLoss ? 'same' : 'differs'} |`,
  );
}
console.log(lines.join('\n'));
console.log(JSON.stringify({ figures }));
