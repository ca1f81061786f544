// An evaluation in words: the bar (avg within 0.5, min within 1), models below the worst original,
// and whether generated models are new or near-copies of the originals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluationVerdict, heldOutVerdict } from '../engine/zoo/verdict.js';

const originals = { best: 92.89, avg: 92.39, min: 91.78 };

test('the bar is one-sided: within 0.5 on average and 1 on the minimum, or better', () => {
  const at = (avg: number, min: number) =>
    evaluationVerdict({
      originals,
      generated: { best: 93, avg, min },
      nearestIoU: { generated: null, noised: null },
      generatedModels: [],
    }).meetsBar;
  assert.equal(at(92.2, 91.11), true, 'the quick demo as measured');
  assert.equal(at(91.89, 90.78), true, 'exactly at the bar');
  assert.equal(at(91.88, 91.5), false, 'avg 0.51 below');
  assert.equal(at(92.5, 90.77), false, 'min 1.01 below');
  assert.equal(at(95, 95), true, 'better than the originals');
  assert.equal(evaluationVerdict({ originals, generated: { best: null, avg: null, min: null }, nearestIoU: { generated: null, noised: null }, generatedModels: [] }).meetsBar, null);
});

test('generated models below the worst original are named; short generators say so', () => {
  const input = {
    originals,
    generated: { best: 92, avg: 80, min: 45 },
    nearestIoU: { generated: 0.1, noised: 0.68 },
    generatedModels: [
      { id: 'gm_a', accuracy: 92 },
      { id: 'gm_b', accuracy: 45 },
      { id: null, accuracy: 91.7 },
    ],
  };
  const verdict = evaluationVerdict(input);
  assert.deepEqual(verdict.belowOriginals, ['gm_b', '#3']);
  assert.equal(verdict.meetsBar, false);
  assert.match(verdict.summary, /fall short of the originals .*needs more training/);
  assert.match(verdict.summary, /2 of 3 are below the worst original/);
  // A low IoU here means broken models, not new ones: novelty is not claimed below the bar.
  assert.equal(verdict.novelty, 'unknown');
  assert.match(verdict.summary, /judged once they reach the originals' accuracy/);
  const one = evaluationVerdict({ ...input, generatedModels: input.generatedModels.slice(0, 2) });
  assert.match(one.summary, /1 of 2 is below the worst original/);
});

test('new models share fewer mistakes with their nearest original than noised copies; otherwise near-copies', () => {
  const novelty = (generated: number, noised: number) =>
    evaluationVerdict({
      originals,
      generated: { best: 93, avg: 92.2, min: 91.1 },
      nearestIoU: { generated, noised },
      generatedModels: [],
    });
  const copies = novelty(0.935, 0.934); // the quick demo at 3000 steps
  assert.equal(copies.novelty, 'near-copies');
  assert.match(copies.summary, /near-copies: .*IoU 0\.935.*0\.934/);
  assert.equal(novelty(0.796, 0.837).novelty, 'new'); // the same zoo at 2000 steps
  assert.equal(novelty(0.83, 0.837).novelty, 'near-copies', 'within the margin is not new');
  assert.equal(evaluationVerdict({ originals, generated: originals, nearestIoU: { generated: null, noised: 0.5 }, generatedModels: [] }).novelty, 'unknown');
});

test('held-out tasks: one verdict over the tasks, against the 85% bar for unseen tasks', () => {
  const task = (originalsAvg: number, generatedAvg: number | null) => ({
    originals: { best: originalsAvg, avg: originalsAvg, min: originalsAvg },
    generated: { best: generatedAvg, avg: generatedAvg, min: generatedAvg },
    generatedModels: generatedAvg === null ? 0 : 3,
  });
  const short = heldOutVerdict([task(96, 98.89), task(95, 62), task(97, 82.4)]);
  assert.equal(short.tasks, 3);
  assert.equal(short.generatedModels, 9);
  assert.deepEqual(short.generated, { best: 98.89, avg: (98.89 + 62 + 82.4) / 3, min: 62 });
  assert.equal(short.originals.avg, 96);
  assert.equal(short.meetsBar, false);
  assert.equal(
    short.summary,
    "Held-out tasks (3 task vectors the generator never saw, 3 generated models each): generated avg 81.10, worst task 62.00 against the originals' 96.00; below the 85% bar for unseen tasks: the generator does not carry over to new tasks yet.",
  );
  assert.equal(heldOutVerdict([task(96, 85), task(95, 85)]).meetsBar, true, 'exactly at the bar');
  assert.equal(heldOutVerdict([task(96, 84.99)]).meetsBar, false);
  const none = heldOutVerdict([task(96, null)]);
  assert.equal(none.meetsBar, null);
  assert.match(none.summary, /No models were generated for the 1 held-out tasks/);
});
