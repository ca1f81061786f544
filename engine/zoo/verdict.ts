// What an evaluation means, in words a user can act on (RPG.md "How results are judged"):
// - the bar: generated avg within 0.5 points of the originals' avg, generated min within 1 point of
//   theirs (one-sided: better is fine);
// - which generated models fall below the worst original (an undertrained generator shows here first);
// - new models or near-copies: generated models are "new" only when they share fewer mistakes with
//   their nearest original than noised copies of the originals at equal accuracy do (the
//   memorisation critique of parameter diffusion, Zeng et al. 2025).
import { summarize, type AccuracySummary } from './accuracy.js';

export const BAR_AVG_POINTS = 0.5;
export const BAR_MIN_POINTS = 1;
/** generated IoU must be this much below the noised copies' to count as new models */
export const NOVELTY_MARGIN = 0.02;

export type Novelty = 'new' | 'near-copies' | 'unknown';

export interface EvaluationVerdict {
  /** generated avg ≥ originals avg − 0.5 and generated min ≥ originals min − 1 */
  meetsBar: boolean | null;
  /** ids (or indexes, for models without an id) of generated models below the originals' minimum */
  belowOriginals: string[];
  novelty: Novelty;
  /** one or two sentences saying all of the above */
  summary: string;
}

export interface VerdictInput {
  originals: AccuracySummary;
  generated: AccuracySummary;
  nearestIoU: { generated: number | null; noised: number | null };
  generatedModels: { id: string | null; accuracy: number }[];
}

export function evaluationVerdict(input: VerdictInput): EvaluationVerdict {
  const { originals, generated, nearestIoU } = input;
  const known = originals.avg !== null && originals.min !== null && generated.avg !== null && generated.min !== null;
  const meetsBar = known ? generated.avg! >= originals.avg! - BAR_AVG_POINTS && generated.min! >= originals.min! - BAR_MIN_POINTS : null;
  const belowOriginals =
    originals.min === null
      ? []
      : input.generatedModels
          .map((m, i) => ({ name: m.id ?? `#${i + 1}`, accuracy: m.accuracy }))
          .filter((m) => m.accuracy < originals.min!)
          .map((m) => m.name);
  // Similarity is compared at equal accuracy: models that miss the bar are not yet comparable with
  // noised originals (a broken model shares few mistakes with anything), so no novelty is claimed.
  const novelty: Novelty =
    nearestIoU.generated === null || nearestIoU.noised === null || meetsBar !== true ? 'unknown' : nearestIoU.generated < nearestIoU.noised - NOVELTY_MARGIN ? 'new' : 'near-copies';

  const sentences: string[] = [];
  if (meetsBar === null) sentences.push('Nothing to compare yet.');
  else if (meetsBar)
    sentences.push(
      `Generated models are as good as the originals (avg ${generated.avg!.toFixed(2)} vs ${originals.avg!.toFixed(2)}, min ${generated.min!.toFixed(2)} vs ${originals.min!.toFixed(2)}).`,
    );
  else
    sentences.push(
      `Generated models fall short of the originals (avg ${generated.avg!.toFixed(2)} vs ${originals.avg!.toFixed(2)}, min ${generated.min!.toFixed(2)} vs ${originals.min!.toFixed(2)}): the generator needs more training before its models are used.`,
    );
  if (belowOriginals.length > 0) sentences.push(`${belowOriginals.length} of ${input.generatedModels.length} ${belowOriginals.length === 1 ? 'is' : 'are'} below the worst original.`);
  if (meetsBar === false) sentences.push("Whether they are new models or near-copies is judged once they reach the originals' accuracy.");
  if (novelty === 'new')
    sentences.push(
      `They are new models: they share fewer mistakes with their nearest original (IoU ${nearestIoU.generated!.toFixed(3)}) than noised copies of the originals at equal accuracy (${nearestIoU.noised!.toFixed(3)}).`,
    );
  else if (novelty === 'near-copies')
    sentences.push(
      `They are near-copies: they share as many mistakes with their nearest original (IoU ${nearestIoU.generated!.toFixed(3)}) as noised copies of the originals at equal accuracy (${nearestIoU.noised!.toFixed(3)}).`,
    );
  return { meetsBar, belowOriginals, novelty, summary: sentences.join(' ') };
}

/** Unseen tasks (RPG.md): generated models for held-out task vectors should average at least this accuracy (%). */
export const HELD_OUT_BAR_PERCENT = 85;

export interface HeldOutVerdict {
  /** held-out task vectors scored */
  tasks: number;
  /** generated models scored over all of them */
  generatedModels: number;
  /** over tasks, of each task's average accuracy */
  originals: AccuracySummary;
  generated: AccuracySummary;
  /** generated avg ≥ HELD_OUT_BAR_PERCENT (null: nothing generated) */
  meetsBar: boolean | null;
  summary: string;
}

/** One verdict over the held-out task vectors, from each task's originals and generated averages. */
export function heldOutVerdict(perTask: readonly { originals: AccuracySummary; generated: AccuracySummary; generatedModels: number }[]): HeldOutVerdict {
  const averages = (side: 'originals' | 'generated') => perTask.flatMap((t) => (t[side].avg === null ? [] : [t[side].avg!]));
  const originals = summarize(averages('originals'));
  const generated = summarize(averages('generated'));
  const meetsBar = generated.avg === null ? null : generated.avg >= HELD_OUT_BAR_PERCENT;
  const against = originals.avg === null ? '' : ` against the originals' ${originals.avg.toFixed(2)}`;
  const generatedModels = perTask.reduce((sum, t) => sum + t.generatedModels, 0);
  const each = generatedModels % perTask.length === 0 ? `${generatedModels / perTask.length} generated models each` : `${generatedModels} generated models`;
  const summary =
    generated.avg === null
      ? `No models were generated for the ${perTask.length} held-out tasks.`
      : `Held-out tasks (${perTask.length} task vectors the generator never saw, ${each}): generated avg ${generated.avg.toFixed(2)}, worst task ${generated.min!.toFixed(2)}${against}; ` +
        (meetsBar ? `at or above the ${HELD_OUT_BAR_PERCENT}% bar for unseen tasks.` : `below the ${HELD_OUT_BAR_PERCENT}% bar for unseen tasks: the generator does not carry over to new tasks yet.`);
  return { tasks: perTask.length, generatedModels, originals, generated, meetsBar, summary };
}
