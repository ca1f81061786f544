// The demo job: collect → train → generate 10 → evaluate → report, on the embedded default
// (--quick: the digits MLP zoo, minutes on a 2-core machine) or on MNIST zoos. Each part is the
// same function its own job runs, called in sequence inside this one job (the job runner runs one
// job at a time, so a job cannot wait for another).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CollectParams, DemoJobResult, DemoParams, Id, RunCheck, ZooEvaluationInfo } from '../protocol.js';
import type { BlobStore } from '../blobs.js';
import { stageTimer } from '../timing.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { findZoo } from '../catalog/zoos.js';
import { listRunChecks } from '../catalog/run-checks.js';
import { getRun } from '../catalog/runs.js';
import { renderReport } from '../report/html.js';
import { evaluationTable } from '../report/table.js';
import type { ZooEvaluation } from '../zoo/index.js';
import type { RpgConfig } from '../rpg/config.js';
import { useBackend } from './backend.js';
import { runCollect } from './collect.js';
import { runEvaluate } from './evaluate.js';
import { runGenerate } from './generate.js';
import { subContext } from './progress.js';
import { runTrain } from './train.js';

export interface DemoZooPlan {
  zoo: string;
  collect: Omit<CollectParams, 'zoo' | 'backend'>;
  /** a preset of engine/rpg/presets.ts, and settings over it */
  train: { preset: string; set?: Partial<RpgConfig> };
  /** share of the demo's progress bar (≈ share of its time) */
  weight: number;
}

/**
 * --quick: the digits MLP zoo (3 seeds × 10 checkpoints, 4,810 parameters) and a slim generator.
 * Measured on the 2-core dev machine, wasm backend (single-threaded then), 1000 steps unless the
 * line says otherwise (generated avg accuracy of 10):
 *   token 64 (76 tokens), LSTM width 64, denoiser 16-32-16, lr 1e-3…1e-2: 46–140 ms/step, 9–12% (chance)
 *   token 256 (21 tokens), width 128, denoiser 16-32-16, lr 1e-3, diffusion batch 16: 86 ms/step, 9.5%
 *   token 256, width 256, denoiser 16-32-16, lr 3e-3: 89 ms/step, 36.6%
 *   token 256, width 128, denoiser 16-32-16, lr 1e-2: 78 ms/step, 62.2% (originals 92.4%)
 *   the same, 2000 steps: 91.40 / min 89.56, nearest IoU 0.796 (noised copies 0.837)
 *   the same, 3000 steps (chosen, 74 ms/step): 92.20 / min 91.11 (originals 92.39 / 91.78), IoU 0.935 (noised 0.934)
 * (All of the above with the earlier per-position LayerNorm denoiser and residual LSTM.) With the
 * BatchNorm1d denoiser and the torch.nn.LSTM-style stack, the same plan and 3000 steps: generated
 * 93.11 / 92.13 / 91.33 (originals 92.89 / 92.39 / 91.78), nearest IoU 0.912 (noised copies 0.934);
 * with the hand-written BatchNorm gradient (same maths, other rounding): 92.89 / 92.29 / 91.78, IoU 0.921 (0.989).
 * The whole quick demo with these 3000 steps, threaded wasm on both cores: 5 min 11 s, of which train
 * 299 s (≈ 100 ms/step; README "What to expect").
 * The prototype width must exceed the number of distinct tokens (21 positions × 3 permutation
 * states = 63): with 76 tokens of 64 values even a one-checkpoint zoo was not reproduced (a linear
 * readout of ≤ 64-wide prototypes cannot give 76+ different tokens).
 */
export const QUICK_PLAN: DemoZooPlan[] = [{ zoo: 'digits-mlp-demo', collect: { task: 'digits-mlp' }, train: { preset: 'digits' }, weight: 1 }];

/**
 * The full demo: MNIST zoos, with the quick demo's recipe scaled by the rule above (prototype width
 * above tokens × permutation states): tokens of 1024, so mnist-mlp's 25,450 parameters are 28 tokens
 * (× 3 states = 84 < 128) and mnist-cnn's 9,172 are 10 (30 < 128).
 * Measured on the 2-core dev machine, wasm, after the fidelity fixes (BatchNorm denoiser, LSTM stack):
 *   mnist-mlp (originals 95.82 / 95.52 / 95.26): 4000 steps 670 s → 95.22 / 94.39 / 92.64;
 *     6000 steps 1031 s (0.17 s/step) → 95.66 / 95.25 / 94.25: avg within the bar, min 0.01 short of it.
 *   mnist-cnn (originals 98.71 / 98.12 / 96.88), the 'mnist' preset, 6000 steps 1140 s (0.19 s/step, other work
 *     running) → 98.63 / 98.33 / 97.70 with BatchNorm statistics measured (generate's default), within the bar;
 *     98.52 / 96.32 / 92.04 with the generated statistics (bench/batchnorm-reestimate.ts, seeds 1–10).
 */
// Both zoos train the 'mnist' preset (engine/rpg/presets.ts), the recipe measured best on them (README,
// "What to expect"): tokens of 1024, LSTM 1×128, diffusion batch 32, 6000 steps. On MNIST CNN (generated
// statistics) it gave 95.45 avg at 4000 steps, where tokens of 256 with LSTM 1×256 and batch 64 gave 62.06.
export const FULL_PLAN: DemoZooPlan[] = [
  { zoo: 'mnist-mlp-demo', collect: { task: 'mnist-mlp' }, train: { preset: 'mnist' }, weight: 1 },
  { zoo: 'mnist-cnn-demo', collect: { task: 'mnist-cnn' }, train: { preset: 'mnist' }, weight: 1 },
];

/** `name`, or `name-2`, `name-3`, … when a zoo of that name exists already (a second demo in the same data folder). */
function freeZooName(catalog: Catalog, name: string): string {
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? name : `${name}-${i}`;
    if (!findZoo(catalog.db, candidate) && !findZoo(catalog.db, `${candidate}-heldout`)) return candidate;
  }
}

export function defaultReportFolder(dataDir: string, at = new Date()): string {
  return join(dataDir, 'reports', at.toISOString().replace(/[:.]/g, '-'));
}

/** `plan` replaces the built-in plans (benchmarks measuring other settings). */
export async function runDemo(catalog: Catalog, blobs: BlobStore, params: DemoParams, ctx: JobContext, plan = params.quick ? QUICK_PLAN : FULL_PLAN): Promise<DemoJobResult> {
  const backend = await useBackend(params.backend, params.threads);
  const totalWeight = plan.reduce((n, p) => n + p.weight, 0);
  const evaluations: ZooEvaluation[] = [];
  const lossCurves: Record<string, [number, number][]> = {};
  const configs: Record<string, unknown> = {};
  const checks: Record<string, RunCheck[]> = {};
  const runs: Id[] = [];
  const seconds: Record<string, number> = {};
  const timed = stageTimer(seconds);
  const backendParam = { ...(params.backend ? { backend: params.backend } : {}), ...(params.threads !== undefined ? { threads: params.threads } : {}) };
  let done = 0;
  for (const zooPlan of plan) {
    const from = done / totalWeight;
    const span = zooPlan.weight / totalWeight;
    // Shares of a zoo's progress bar: collect 5%, train 80%, generate 5%, evaluate 10%. Not measured
    // shares: the quick demo spends ≈ 96% of its time training (train 299 s of 311 s), the full
    // demo's mnist-cnn ≈ 30% collecting (collect 219 s, train 460 s); this splits the difference.
    const part = (a: number, b: number, what: string) => subContext(ctx, from + span * a, from + span * b, `${what}: `);
    const zoo = freeZooName(catalog, zooPlan.zoo);
    const collected = await timed('collect', () => runCollect(catalog, blobs, { ...zooPlan.collect, zoo, ...backendParam }, part(0, 0.05, `collect ${zoo}`)));
    const trained = await timed('train', () =>
      runTrain(catalog, blobs, { zoo, preset: zooPlan.train.preset, ...(zooPlan.train.set ? { set: zooPlan.train.set } : {}), ...backendParam }, part(0.05, 0.85, `train ${zoo}`)),
    );
    runs.push(trained.run);
    const generateStart = performance.now();
    await timed('generate', () => runGenerate(catalog, blobs, { run: trained.run, count: 10, seed: 0, ...backendParam }, part(0.85, 0.9, `generate ${zoo}`)));
    const generateSeconds = (performance.now() - generateStart) / 1000;
    const evaluated = await timed('evaluate', () => runEvaluate(catalog, blobs, { run: trained.run, ...backendParam }, part(0.9, 1, `evaluate ${zoo}`)));
    for (const evaluation of evaluated.zoos as ZooEvaluation[]) {
      evaluation.seconds = { collect: collected.seconds, train: trained.secondsPerStep * trained.steps, generate: generateSeconds, ...evaluation.seconds };
      evaluations.push(evaluation);
    }
    const run = getRun(catalog.db, trained.run);
    lossCurves[zoo] = run.lossCurve.map((loss, i): [number, number] => [i + 1, loss]);
    checks[zoo] = listRunChecks(catalog.db, trained.run);
    configs[zoo] = trained.config;
    done += zooPlan.weight;
  }

  const folder = resolve(params.out ?? defaultReportFolder(catalog.dataDir));
  mkdirSync(folder, { recursive: true });
  const report = join(folder, 'report.html');
  const createdAt = new Date().toISOString();
  writeFileSync(report, renderReport({ title: `ParamZoo demo${params.quick ? ' (quick)' : ''}`, createdAt, backend: backend.name, zoos: evaluations, lossCurves, configs, checks }));
  return { zoos: evaluations as ZooEvaluationInfo[], report, runs, table: evaluationTable(evaluations), seconds };
}
