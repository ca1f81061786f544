// Collects built-in zoos on the chosen backend and prints, per zoo, the settings, the wall time
// and the originals' accuracy best/avg/min, plus the noise baseline of evaluateZoo.
// Usage: node --import tsx bench/zoo-collect.ts [TASK...] [--backend wasm|cpu] [--seeds N]
//        [--checkpoints K] [--epochs E] [--subset N] [--tasks N] [--lr X] [--batch B] [--no-noise]
import { initBackend, type BackendName } from '../engine/backend.js';
import { collectZoo, evaluateZoo, listTaskIds, type CollectedCheckpoint, type CollectOptions } from '../engine/zoo/index.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const numberFlag = (name: string): number | undefined => (flag(name) === undefined ? undefined : Number(flag(name)));
const valueFlags = new Set(['backend', 'seeds', 'checkpoints', 'epochs', 'subset', 'tasks', 'lr', 'batch']);
const taskIds = args.filter((a, i) => !a.startsWith('--') && !valueFlags.has(args[i - 1]?.slice(2) ?? ''));
const backend = await initBackend((flag('backend') ?? 'wasm') as BackendName);
console.log(`backend ${backend.name}`);

for (const taskId of taskIds.length ? taskIds : listTaskIds()) {
  const options: Partial<CollectOptions> = { seed: 0 };
  const set = <K extends keyof CollectOptions>(key: K, value: CollectOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('seeds', numberFlag('seeds'));
  set('checkpointsPerSeed', numberFlag('checkpoints'));
  set('epochs', numberFlag('epochs'));
  set('trainSubset', numberFlag('subset'));
  set('tasks', numberFlag('tasks'));
  set('lr', numberFlag('lr'));
  set('batchSize', numberFlag('batch'));
  const zoo: CollectedCheckpoint[] = [];
  const heldOut: CollectedCheckpoint[] = [];
  const result = await collectZoo(taskId, options, {
    onCheckpoint: (ck) => void (ck.role === 'zoo' ? zoo : heldOut).push(ck),
  });
  const { accuracy: a, settings } = result;
  console.log(
    `${taskId}: ${result.checkpoints} checkpoints (+${result.heldOutCheckpoints} held out) in ${result.seconds.toFixed(1)} s on ${backend.name}; ` +
      `originals best ${a.best?.toFixed(2)} avg ${a.avg?.toFixed(2)} min ${a.min?.toFixed(2)}; settings ${JSON.stringify(settings)}`,
  );
  if (args.includes('--no-noise')) continue;
  const toModel = (ck: CollectedCheckpoint, i: number) => ({ id: `ck${i}`, weights: ck.tensors, condition: ck.condition });
  const evaluation = await evaluateZoo({ zoo: taskId, task: taskId, originals: zoo.map(toModel), generated: [] });
  for (const level of evaluation.details.noise) {
    console.log(`  noise ${level.level}: accuracy avg ${level.accuracy.avg?.toFixed(2)} min ${level.accuracy.min?.toFixed(2)}, nearest IoU ${level.nearestIoU?.toFixed(3)}`);
  }
  const pairs = evaluation.details.originalsIoU;
  console.log(`  IoU between originals: mean ${pairs.mean?.toFixed(3)} min ${pairs.min?.toFixed(3)} max ${pairs.max?.toFixed(3)}; evaluate ${evaluation.seconds.total?.toFixed(1)} s`);
}
