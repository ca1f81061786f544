// Every request's params checked where messages enter the engine (engine/hosts/connection.ts):
// one small schema per request, checked against engine/protocol.ts at compile time (a schema that
// drifts from its type, or a request without a schema, fails `tsc`). A bad message is answered with
// a typed 'bad_request' error naming the parameter, before any handler runs.
import type { ParamsOf, RequestName } from './protocol.js';
import { EngineError } from './errors.js';

export interface Schema<T> {
  readonly describe: string;
  readonly optional?: boolean;
  check(value: unknown, path: string): T;
}
type Infer<S> = S extends Schema<infer T> ? T : never;

function bad(path: string, expected: string, value: unknown): never {
  const shown = value === undefined ? 'nothing' : (JSON.stringify(value)?.slice(0, 60) ?? String(value));
  // A top-level field is one a host can name its own way (the CLI: a flag); nested paths stay as they are.
  const fields = /^\w+$/.test(path) ? [path] : [];
  throw new EngineError('bad_request', `'${path}' must be ${expected}, got ${shown}`, { hint: 'check the request parameters (engine/protocol.ts)', fields });
}

const schema = <T>(describe: string, check: (value: unknown, path: string) => T): Schema<T> => ({ describe, check });

export const s = {
  string: schema<string>('a string', (v, p) => (typeof v === 'string' ? v : bad(p, 'a string', v))),
  nonEmpty: schema<string>('a non-empty string', (v, p) => (typeof v === 'string' && v.length > 0 ? v : bad(p, 'a non-empty string', v))),
  number: schema<number>('a number', (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : bad(p, 'a finite number', v))),
  integer: schema<number>('an integer', (v, p) => (Number.isSafeInteger(v) ? (v as number) : bad(p, 'an integer', v))),
  boolean: schema<boolean>('true or false', (v, p) => (typeof v === 'boolean' ? v : bad(p, 'true or false', v))),
  unknown: schema<unknown>('anything', (v) => v),
  oneOf<const T extends string>(values: readonly T[]): Schema<T> {
    const describe = `one of ${values.join(', ')}`;
    return schema(describe, (v, p) => (values.includes(v as T) ? (v as T) : bad(p, describe, v)));
  },
  array<T>(item: Schema<T>): Schema<T[]> {
    const describe = `a list of ${item.describe}`;
    return schema(describe, (v, p) => (Array.isArray(v) ? v.map((x, i) => item.check(x, `${p}[${i}]`)) : bad(p, describe, v)));
  },
  record<T>(item: Schema<T>): Schema<Record<string, T>> {
    return schema('an object', (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(p, 'an object', v);
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(v as object)) out[k] = item.check(x, `${p}.${k}`);
      return out;
    });
  },
  optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
    return { describe: inner.describe, optional: true, check: (v, p) => (v === undefined ? undefined : inner.check(v, p)) };
  },
  /** an object with exactly these fields (an unknown field is refused: a typo never passes silently) */
  object<F extends Record<string, Schema<unknown>>>(fields: F): Schema<ObjectOf<F>> {
    return schema('an object', (v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(p, 'an object', v);
      const value = v as Record<string, unknown>;
      for (const key of Object.keys(value)) {
        if (!(key in fields)) throw new EngineError('bad_request', `the request has no parameter '${p ? `${p}.` : ''}${key}'`, { hint: `known: ${Object.keys(fields).join(', ') || 'none'}` });
      }
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(fields)) {
        const checked = field.check(value[key], p ? `${p}.${key}` : key);
        if (checked !== undefined) out[key] = checked;
      }
      return out as ObjectOf<F>;
    });
  },
};

type OptionalKeys<F> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];
type RequiredKeys<F> = Exclude<keyof F, OptionalKeys<F>>;
type Flatten<T> = { [K in keyof T]: T[K] };
type ObjectOf<F> = Flatten<{ [K in RequiredKeys<F>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined> }>;

const none = s.object({});
const id = s.object({ id: s.nonEmpty });
const backend = s.optional(s.string);
const threads = s.optional(s.integer);
const bits = s.array(s.integer);
const format = s.oneOf(['safetensors', 'pth', 'peft']);
const optionalInt = s.optional(s.integer);
/** a non-empty string, or null to remove what it sets */
const stringOrNull = schema<string | null>('a non-empty string or null', (v, p) => (v === null ? null : s.nonEmpty.check(v, p)));

export const PARAMS = {
  'engine.info': none,
  'engine.backend': none,
  'engine.gpu': none,
  inspect: s.object({ path: s.nonEmpty }),
  'zoo.create': s.object({ name: s.nonEmpty, task: s.optional(s.string) }),
  'zoo.list': none,
  'zoo.show': s.object({ name: s.nonEmpty }),
  'zoo.rename': s.object({ name: s.nonEmpty, to: s.nonEmpty }),
  'zoo.setEvaluator': s.object({ name: s.nonEmpty, command: stringOrNull, cwd: s.optional(s.nonEmpty), timeoutSeconds: optionalInt }),
  'zoo.delete': s.object({ name: s.nonEmpty }),
  'zoo.usage': none,
  'zoo.stats': s.object({ name: s.nonEmpty }),
  'checkpoint.delete': s.object({ ids: s.array(s.nonEmpty) }),
  import: s.object({ zoo: s.nonEmpty, paths: s.array(s.nonEmpty), permutationState: optionalInt, permutationStates: s.optional(s.array(s.integer)), condition: s.optional(bits) }),
  export: s.object({ id: s.nonEmpty, out: s.nonEmpty, format: s.optional(format), force: s.optional(s.boolean) }),
  'job.get': id,
  'job.list': none,
  'job.cancel': id,
  collect: s.object({
    task: s.nonEmpty,
    zoo: s.nonEmpty,
    seeds: optionalInt,
    checkpointsPerSeed: optionalInt,
    epochs: optionalInt,
    batchSize: optionalInt,
    lr: s.optional(s.number),
    seed: optionalInt,
    trainSubset: optionalInt,
    tasks: optionalInt,
    backend,
    threads,
  }),
  train: s.object({ zoo: s.nonEmpty, preset: s.optional(s.string), steps: optionalInt, set: s.optional(s.record(s.unknown)), resume: s.optional(s.nonEmpty), backend, threads }),
  generate: s.object({
    run: s.nonEmpty,
    count: optionalInt,
    seed: optionalInt,
    sampler: s.optional(s.oneOf(['ddpm', 'ddim'])),
    samplerSteps: optionalInt,
    condition: s.optional(bits),
    mode: s.optional(s.oneOf(['sequential', 'partial', 'full'])),
    batchNorm: s.optional(s.oneOf(['reestimate', 'generated'])),
    backend,
    threads,
  }),
  evaluate: s.object({ run: s.optional(s.nonEmpty), zoo: s.optional(s.nonEmpty), originals: s.optional(s.nonEmpty), backend, threads }),
  demo: s.object({ quick: s.optional(s.boolean), out: s.optional(s.string), backend, threads }),
  'task.list': none,
  'run.list': s.object({ zoo: s.optional(s.nonEmpty) }),
  'run.show': id,
  'run.delete': id,
  'run.stats': id,
  'model.list': s.object({ run: s.optional(s.nonEmpty) }),
  'evaluation.list': s.object({ run: s.optional(s.nonEmpty) }),
  'evaluation.get': id,
  'generator.settings': none,
  'generator.validate': s.object({ preset: s.optional(s.string), set: s.optional(s.record(s.unknown)), zoo: s.optional(s.nonEmpty) }),
  'storage.gc': s.object({ dryRun: s.optional(s.boolean), graceMinutes: s.optional(s.number) }),
  'upload.begin': s.object({ files: s.array(s.object({ path: s.string, size: s.integer })) }),
  'upload.import': s.object({ upload: s.nonEmpty, zoo: s.nonEmpty, permutationState: optionalInt, condition: s.optional(bits) }),
  'upload.cancel': s.object({ upload: s.nonEmpty }),
  'download.export': s.object({ id: s.nonEmpty, format: s.optional(format) }),
  'download.ticket': s.object({ job: s.nonEmpty }),
} as const;

// Compile-time: every request has a schema, and each schema's type is exactly its params' type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mismatched = { [N in RequestName]: N extends keyof typeof PARAMS ? (Same<Infer<(typeof PARAMS)[N]>, ParamsOf<N>> extends true ? never : N) : N }[RequestName];
/** `tsc` names the requests whose schema is missing or differs from engine/protocol.ts ("… does not satisfy the constraint 'never'"). */
// biome-ignore lint/correctness/noUnusedVariables: the type parameter is the check
function schemasMatchProtocol<Requests extends never>(): void {}
schemasMatchProtocol<Mismatched>();

/** The request's params checked against its schema (a request without one passes as sent). */
export function checkParams(method: string, params: unknown): unknown {
  const found = (PARAMS as Record<string, Schema<unknown>>)[method];
  return found ? found.check(params ?? {}, '') : params;
}
