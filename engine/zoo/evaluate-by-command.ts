// A zoo without a built-in task judged by its evaluator command: every original and every generated
// model scored by the same command, into the same ZooEvaluation (best/avg/min, verdict) a built-in
// task gives. The command reports an accuracy only, no per-sample mistakes, so there is no
// misclassified-set similarity and no noise baseline: novelty stays 'unknown', and the verdict says so.
import { CancelledError } from '../errors.js';
import type { JobProgress } from '../protocol.js';
import { stageTimer } from '../timing.js';
import { summarize } from './accuracy.js';
import type { ModelResult, ZooEvaluation } from './evaluate.js';
import { evaluationVerdict } from './verdict.js';

/** `task` of an evaluation scored by a zoo's evaluator command. */
export const COMMAND_TASK = 'command';

export interface EvaluateByCommandInput {
  zoo: string;
  /** the command as the user gave it (reported with the results) */
  command: string;
  originals: { id: string }[];
  generated: { id: string }[];
  /** scores one model (runs the command on it); accuracy in percent */
  score(id: string): Promise<number>;
  signal?: AbortSignal;
  onProgress?(progress: JobProgress): void;
}

export async function evaluateZooByCommand(input: EvaluateByCommandInput): Promise<ZooEvaluation> {
  const total = input.originals.length + input.generated.length;
  const started = performance.now();
  const seconds: Record<string, number> = {};
  const timed = stageTimer(seconds);
  let done = 0;

  const run = async (models: { id: string }[], stage: string): Promise<ModelResult[]> => {
    const results: ModelResult[] = [];
    for (const model of models) {
      if (input.signal?.aborted) throw new CancelledError(`evaluating zoo '${input.zoo}'`);
      const accuracy = await input.score(model.id);
      results.push({ id: model.id, accuracy, loss: null, condition: null, nearestIoU: null, nearestOriginal: null });
      done += 1;
      const fraction = done / total;
      const elapsed = (performance.now() - started) / 1000;
      input.onProgress?.({ fraction, stage, etaSeconds: (elapsed * (1 - fraction)) / fraction, metrics: { evaluated: done, accuracy } });
    }
    return results;
  };

  const originals = await timed('originals', () => run(input.originals, 'evaluator command on originals'));
  const generated = await timed('generated', () => run(input.generated, 'evaluator command on generated models'));
  seconds.total = (performance.now() - started) / 1000;

  const originalsSummary = summarize(originals.map((m) => m.accuracy));
  const generatedSummary = summarize(generated.map((m) => m.accuracy));
  const nearestIoU = { generated: null, noised: null };
  const verdict = evaluationVerdict({ originals: originalsSummary, generated: generatedSummary, nearestIoU, generatedModels: generated });
  if (verdict.meetsBar === true) {
    verdict.summary += ' Whether they are new models or near-copies is not judged: the evaluator command reports accuracies, not which samples each model gets wrong.';
  }
  return {
    zoo: input.zoo,
    task: COMMAND_TASK,
    evaluator: input.command,
    originals: originalsSummary,
    generated: generatedSummary,
    nearestIoU,
    verdict,
    seconds,
    details: {
      originals,
      generated,
      noise: [],
      noisedLevel: null,
      originalsIoU: { max: null, mean: null, min: null },
      noisedOriginals: 0,
    },
  };
}
