// `paramzoo demo --quick` end to end through the real CLI, then what a user does with its results:
// look at the report, export a generated model and inspect it, generate again with the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ExportResult, InspectResult, ZooDetail } from '../../engine/protocol.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

interface Summary {
  best: number;
  avg: number;
  min: number;
}
interface DemoJson {
  zoos: { zoo: string; task: string; originals: Summary; generated: Summary; nearestIoU: { generated: number; noised: number }; seconds: Record<string, number> }[];
  report: string;
  runs: string[];
}

const data = tempDir('paramzoo-demo-');
const out = join(data, 'my-report');
let demo: DemoJson;

test('demo --quick runs collect → train → generate → evaluate → report, generated models as good as the originals', async () => {
  const run = await runCli(['demo', '--quick', '--json', '--data', data, '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  demo = JSON.parse(run.stdout) as DemoJson;
  assert.equal(demo.zoos.length, 1);
  const [zoo] = demo.zoos;
  assert.equal(zoo!.task, 'digits-mlp');
  // The demo is seeded end to end, so it asserts the README's bar (RPG.md "How results are judged"):
  // generated avg within 0.5 points of the originals' avg, generated min within 1 point of theirs.
  // Its wall time is a figure for bench/, not an assertion (machines differ up to 2x).
  console.log(`demo --quick: generated ${JSON.stringify(zoo!.generated)}, originals ${JSON.stringify(zoo!.originals)}, stages ${JSON.stringify(zoo!.seconds)}`);
  assert.ok(zoo!.originals.avg > 85, `originals avg ${zoo!.originals.avg}`);
  assert.ok(zoo!.generated.avg! >= zoo!.originals.avg - 0.5, `generated avg ${zoo!.generated.avg}% is more than 0.5 below the originals' ${zoo!.originals.avg}%`);
  assert.ok(zoo!.generated.min! >= zoo!.originals.min - 1, `generated min ${zoo!.generated.min}% is more than 1 below the originals' ${zoo!.originals.min}%`);
  assert.ok(zoo!.nearestIoU.generated > 0 && zoo!.nearestIoU.noised > 0);
});

test('the report is written where asked and carries the charts data', () => {
  assert.equal(demo.report, join(out, 'report.html'));
  assert.ok(existsSync(demo.report));
  const html = readFileSync(demo.report, 'utf8');
  const zoo = demo.zoos[0]!.zoo;
  assert.match(html, new RegExp(zoo));
  for (const chart of ['acc-0', 'iou-0', 'loss-0']) assert.ok(html.includes(`id="${chart}"`), `chart ${chart} missing`);
  // The data the charts draw, embedded as JSON: accuracies, the IoU scatter with its noise baseline, the loss curve.
  const embedded = (name: string) => JSON.parse(html.match(new RegExp(`^const ${name} = (.*);$`, 'm'))![1]!) as unknown;
  const zoos = embedded('zoos') as { generated: Summary; details: { generated: { accuracy: number; nearestIoU: number }[]; noise: { level: number }[] } }[];
  assert.equal(zoos[0]!.generated.avg, demo.zoos[0]!.generated.avg);
  assert.equal(zoos[0]!.details.generated.length, 10);
  assert.ok(zoos[0]!.details.generated.every((m) => m.nearestIoU > 0 && m.accuracy >= 0));
  assert.ok(zoos[0]!.details.noise.length >= 3);
  const curves = embedded('lossCurves') as Record<string, [number, number][]>;
  assert.ok(curves[zoo]!.length >= 100);
  assert.deepEqual(curves[zoo]![0]![0], 1);
});

test('the catalog holds the zoo, the run, 10 generated models and the evaluation', async () => {
  const zoo = demo.zoos[0]!.zoo;
  const shown = await runCliJson<ZooDetail>(['zoo', 'show', zoo, '--data', data]);
  assert.equal(shown.task, 'digits-mlp');
  assert.equal(shown.checkpoints.length, 30);
  assert.ok(shown.checkpoints.every((c) => c.format === 'safetensors' && c.metrics.accuracy! > 50 && /^builtin:digits-mlp\/seed\d\/ck\d+$/.test(c.source)));
  assert.deepEqual([...new Set(shown.checkpoints.map((c) => c.permutationState))], [0, 1, 2]);
  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true });
  try {
    const run = db.prepare('SELECT * FROM runs WHERE id = ?').get(demo.runs[0]) as { status: string; step: number; loss_curve: string; generator_sha256: string; config: string };
    assert.equal(run.status, 'succeeded');
    const config = JSON.parse(run.config) as { steps: number };
    assert.equal(run.step, config.steps);
    assert.equal((JSON.parse(run.loss_curve) as number[]).length, config.steps);
    assert.ok(existsSync(join(data, 'blobs', run.generator_sha256.slice(0, 2), run.generator_sha256)));
    const models = db.prepare('SELECT COUNT(*) AS n FROM generated_models WHERE run_id = ?').get(demo.runs[0]) as { n: number };
    assert.equal(models.n, 10);
    const evaluations = db.prepare('SELECT result FROM evaluations WHERE run_id = ?').all(demo.runs[0]) as { result: string }[];
    assert.equal(evaluations.length, 1);
    assert.equal((JSON.parse(evaluations[0]!.result) as DemoJson).zoos[0]!.generated.avg, demo.zoos[0]!.generated.avg);
  } finally {
    db.close();
  }
});

test('a generated model exports as safetensors with the zoo tensors and inspects by id and by file', async () => {
  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true });
  const { id } = db.prepare('SELECT id FROM generated_models WHERE run_id = ? LIMIT 1').get(demo.runs[0]) as { id: string };
  db.close();
  const file = join(data, 'generated.safetensors');
  const exported = await runCliJson<ExportResult>(['export', id, '--out', file, '--data', data]);
  assert.equal(exported.format, 'safetensors');
  const byFile = await runCliJson<InspectResult>(['inspect', file]);
  const byId = await runCliJson<InspectResult>(['inspect', id, '--data', data]);
  assert.deepEqual(Object.keys(byFile.tensors), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  assert.deepEqual(byFile.tensors['fc1.weight']!.shape, [64, 64]);
  assert.equal(byFile.tensors['fc1.weight']!.dtype, 'F32');
  for (const name of Object.keys(byFile.tensors)) assert.equal(byFile.tensors[name]!.sum, byId.tensors[name]!.sum);
});

test('generate is deterministic: the same run and seed give the same sha256', async () => {
  type Generated = { models: { id: string; seed: number; sha256: string }[] };
  const a = await runCliJson<Generated>(['generate', demo.runs[0]!, '--count', '2', '--seed', '7', '--data', data]);
  const b = await runCliJson<Generated>(['generate', demo.runs[0]!, '--count', '1', '--seed', '7', '--data', data]);
  assert.equal(a.models.length, 2);
  assert.notEqual(a.models[0]!.id, b.models[0]!.id);
  assert.equal(a.models[0]!.sha256, b.models[0]!.sha256);
  assert.notEqual(a.models[0]!.sha256, a.models[1]!.sha256, 'another seed gives another model');
});
