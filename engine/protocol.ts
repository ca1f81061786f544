// The engine contract. Every host (CLI in-process, `paramzoo serve` over WebSocket, Electron's
// utility process over a MessagePort) speaks exactly these messages. Types only: this module
// imports nothing, so the renderer and preload can use it without pulling in Node.
// Tensors never cross this boundary: messages carry ids and paths; bulk data lives in files.

export type Id = string;

/** safetensors dtype names; every reader reports these. */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** On-disk family a checkpoint came in, and the family `export` writes by default. */
export type CheckpointFormat = 'safetensors' | 'pth' | 'peft';
/** Every CheckpointFormat: what export's 'format' may be. */
export const CHECKPOINT_FORMATS: readonly CheckpointFormat[] = ['safetensors', 'pth', 'peft'];

export interface TensorSignature {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface TensorSummary {
  dtype: DType;
  shape: number[];
  /** float64 sum of all values */
  sum: number;
  /** up to 4 first values in row-major order */
  first: number[];
}

export interface InspectResult {
  format: CheckpointFormat;
  /** how the tensors were laid out: a plain state_dict, a timm training checkpoint, a hub folder, a PEFT adapter */
  layout: CheckpointLayout;
  path: string;
  tensors: Record<string, TensorSummary>;
  /** set when a catalog id (checkpoint or generated model) was inspected */
  id?: Id;
  /** string metadata: safetensors `__metadata__`, timm config.json, PEFT adapter_config.json, training-checkpoint scalars */
  metadata: Record<string, string>;
}

export type CheckpointLayout = 'state_dict' | 'timm_training_checkpoint' | 'timm_hub' | 'peft_adapter';

export interface ZooSummary {
  name: string;
  checkpointCount: number;
  /** number of parameters (elements) per checkpoint; 0 while the zoo is empty */
  parameterCount: number;
  task: string | null;
  /** the user's evaluator command (zoos without a built-in task), null when none is set */
  evaluator: ZooEvaluator | null;
  createdAt: string;
}

/**
 * A command a user names to score a zoo without a built-in task: run on each original and each
 * generated model, exported to a file in the zoo's format whose path replaces `{checkpoint}`; the last
 * number of its stdout's last non-empty line is the accuracy (engine/zoo/evaluator-command.ts has the rules).
 */
export interface ZooEvaluator {
  /** as typed, e.g. `python eval.py {checkpoint}`; split into words (quotes '…' "…" group), never given to a shell */
  command: string;
  /** absolute folder the command runs in */
  cwd: string;
  /** per checkpoint; a command still running after it is stopped and the evaluation fails */
  timeoutSeconds: number;
}

export interface CheckpointRecord {
  id: Id;
  zoo: string;
  format: CheckpointFormat;
  layout: CheckpointLayout;
  source: string;
  sha256: string;
  permutationState: number;
  /** task condition (e.g. a 10-bit vector for a binary-task family), null when unconditioned */
  condition: number[] | null;
  metrics: Record<string, number>;
  metadata: Record<string, string>;
  createdAt: string;
}

export interface ZooDetail {
  name: string;
  task: string | null;
  evaluator: ZooEvaluator | null;
  signature: TensorSignature[];
  checkpoints: CheckpointRecord[];
}

export type JobKind = 'import' | 'export' | 'collect' | 'train' | 'generate' | 'evaluate' | 'demo';
/** 'interrupted': the process running the job died (found so when the catalog is next opened). */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface JobProgress {
  /** 0..1 */
  fraction: number;
  stage: string;
  /** seconds left, null until it can be estimated */
  etaSeconds: number | null;
  /** latest figures of the stage (loss, accuracy, tokens/s, …) */
  metrics: Record<string, number>;
}

export interface JobInfo {
  id: Id;
  kind: JobKind;
  status: JobStatus;
  progress: JobProgress;
  startedAt: string | null;
  finishedAt: string | null;
  error: EngineErrorInfo | null;
  createdAt?: string;
  /** the process that runs (or ran) the job; null for rows from before owners were recorded */
  ownerPid: number | null;
  /** true when that is not this engine's process: a job the CLI (or another engine) started on the same data folder */
  otherProcess: boolean;
  /** the job's result once it succeeded (ImportResult, ExportResult, …) */
  result?: unknown;
}

/**
 * Every error code the engine reports; stable, so hosts and scripts may branch on them. A new code
 * is added here first (EngineError's constructor takes only these).
 */
export type EngineErrorCode =
  // requests and their fields
  | 'bad_request'
  | 'bad_option'
  | 'bad_setting'
  | 'unknown_request'
  | 'bad_message'
  | 'usage'
  // jobs
  | 'cancelled'
  | 'interrupted'
  | 'failed'
  | 'internal'
  | 'job_not_found'
  // catalog, blobs, data folder
  | 'catalog_unavailable'
  | 'catalog_corrupt'
  | 'catalog_too_new'
  | 'blob_missing'
  | 'file_not_found'
  | 'output_exists'
  | 'bad_output'
  | 'no_download'
  | 'zoo_not_found'
  | 'zoo_exists'
  | 'zoo_not_empty'
  | 'zoo_busy'
  | 'zoo_changed'
  | 'zoo_without_task'
  | 'bad_zoo_name'
  | 'empty_zoo'
  | 'checkpoint_not_found'
  | 'model_not_found'
  | 'evaluation_not_found'
  | 'run_not_found'
  | 'run_not_trained'
  | 'run_not_saved'
  | 'run_busy'
  | 'run_zoo_mismatch'
  | 'nothing_to_import'
  | 'signature_mismatch'
  | 'mixed_conditions'
  | 'upload'
  // checkpoint files
  | 'checkpoint_unreadable'
  | 'checkpoint_too_complex'
  | 'checkpoint_unwritable'
  | 'safetensors_invalid'
  | 'torch_checkpoint_invalid'
  | 'pickle_refused'
  | 'peft_adapter_invalid'
  | 'read_limit_exceeded'
  // built-in tasks and datasets
  | 'dataset'
  | 'unknown_task'
  | 'bad_condition'
  | 'weights_mismatch'
  | 'weights_dtype'
  // a user's evaluator command: refused when set (evaluator_command), or failed on a checkpoint (evaluator_failed)
  | 'evaluator_command'
  | 'evaluator_failed'
  // the generator: config, state, training, sampling
  | 'config'
  | 'generator_config'
  | 'generator_state'
  | 'recurrent'
  | 'tokenizer'
  | 'condition'
  | 'training'
  | 'training_input'
  | 'training_diverged'
  | 'generate'
  | 'generation'
  | 'sampler_setting'
  // backends and serving
  | 'backend_unavailable'
  | 'port_in_use'
  | 'cannot_listen'
  // reported by the hosts' transports, not the engine ('error': a failure that arrived without a code)
  | 'no_token'
  | 'refused'
  | 'disconnected'
  | 'engine_restarted'
  | 'error';

/** What a failed request or job reports. `code` is stable; `message` names the file or request field and the fix. */
export interface EngineErrorInfo {
  code: EngineErrorCode;
  message: string;
  file?: string;
  hint?: string;
  /**
   * the request fields (params names) the message and hint are about, written there as 'field';
   * a host that names them otherwise (the CLI: flags) rewrites those, and a form can mark them
   */
  fields?: string[];
}

export interface ImportParams {
  zoo: string;
  /** checkpoint files, checkpoint folders (PEFT adapter, timm hub), or folders to scan for them */
  paths: string[];
  /** permutation state of the first imported checkpoint (the next ones count up); default: its index in the zoo */
  permutationState?: number;
  /**
   * one permutation state per checkpoint found, in the order found (e.g. the training run each came
   * from: 0,0,…,1,1,…); excludes `permutationState`
   */
  permutationStates?: number[];
  /** task condition stored with every imported checkpoint */
  condition?: number[];
}

export interface ImportResult {
  imported: { id: Id; source: string }[];
}

export interface ExportResult {
  path: string;
  format: CheckpointFormat;
  sha256: string;
}

/** The backends a request's 'backend' (and the CLI's --backend) may name. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The WebGPU adapter Dawn offers (the GPU, or a software renderer standing in for one). */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** a software renderer (lavapipe, SwiftShader, WARP): computes on the CPU, so never chosen unasked */
  software: boolean;
  /** the adapter's largest buffer and largest storage binding, requested for the device */
  maxBufferBytes: number;
  maxBindingBytes: number;
}

export interface BackendInfo {
  /** the TensorFlow.js backend in use: tensorflow, webgpu, wasm or cpu */
  name: string;
  /** why better backends were not used, e.g. "@tensorflow/tfjs-node-gpu is not installed" */
  notes: string[];
  /** threads the backend computes on (wasm: XNNPACK's pool; absent where the backend manages its own) */
  threads?: number;
  /** true while no job has chosen the backend yet: the choice one will make, found without loading TensorFlow.js */
  planned?: boolean;
  /** the WebGPU adapter found (whether or not it was chosen), when one was looked for */
  adapter?: GpuAdapterInfo;
}

/** Request name → params and result. A request whose result is `{ job: JobInfo }` started a job. */
export interface Requests {
  'engine.info': { params: Record<string, never>; result: { version: string; dataDir: string; backend: BackendInfo | null } };
  inspect: { params: { path: string }; result: InspectResult };
  /** `task`: the built-in task a collected zoo was trained on (null for imported zoos) */
  'zoo.create': { params: { name: string; task?: string }; result: ZooSummary };
  'zoo.list': { params: Record<string, never>; result: ZooSummary[] };
  'zoo.show': { params: { name: string }; result: ZooDetail };
  /**
   * sets (or with `command` null, removes) the evaluator command of a zoo without a built-in task.
   * `cwd`: absolute folder it runs in (default: the engine's home folder); `timeoutSeconds` per checkpoint (default 600)
   */
  'zoo.setEvaluator': { params: { name: string; command: string | null; cwd?: string; timeoutSeconds?: number }; result: ZooSummary };
  /** all or nothing: if any file fails to read or does not fit the zoo, none is imported; the job's result is an ImportResult */
  import: { params: ImportParams; result: { job: JobInfo } };
  /** the job's result is an ExportResult */
  export: { params: { id: Id; out: string; format?: CheckpointFormat; force?: boolean }; result: { job: JobInfo } };
  'job.get': { params: { id: Id }; result: JobInfo };
  'job.list': { params: Record<string, never>; result: JobInfo[] };
  'job.cancel': { params: { id: Id }; result: JobInfo };
  /** pipeline jobs (engine/pipeline): their results are CollectJobResult, TrainJobResult, … */
  collect: { params: CollectParams; result: { job: JobInfo } };
  train: { params: TrainParams; result: { job: JobInfo } };
  generate: { params: GenerateParams; result: { job: JobInfo } };
  evaluate: { params: EvaluateParams; result: { job: JobInfo } };
  demo: { params: DemoParams; result: { job: JobInfo } };
}

// ---- The pipeline: collect → train → generate → evaluate (→ demo report) ----

/**
 * `backend`: the TensorFlow.js backend the job should use (tensorflow, webgpu, wasm, cpu); default: the best
 * that loads. `threads`: how many threads it computes on (1…64); default: the backend's choice.
 */
export interface CollectParams {
  task: string;
  zoo: string;
  seeds?: number;
  checkpointsPerSeed?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  trainSubset?: number;
  /** task-conditioned families: how many seen task vectors */
  tasks?: number;
  backend?: string;
  threads?: number;
}

export interface AccuracySummaryInfo {
  best: number | null;
  avg: number | null;
  min: number | null;
}

export interface CollectJobResult {
  zoo: string;
  /** the companion zoo of held-out task models (task-conditioned families), else null */
  heldOutZoo: string | null;
  task: string;
  backend: string;
  checkpoints: number;
  heldOutCheckpoints: number;
  accuracy: AccuracySummaryInfo;
  settings: Record<string, unknown>;
  seconds: number;
}

export interface TrainParams {
  zoo: string;
  preset?: string;
  steps?: number;
  /** generator config overrides (engine/rpg/config.ts field names) */
  set?: Record<string, unknown>;
  /** continue this run from its last save */
  resume?: Id;
  backend?: string;
  threads?: number;
}

export interface TrainJobResult {
  run: Id;
  zoo: string;
  /** the step training ended at */
  steps: number;
  /** a quality check found the models within the bar before the configured steps */
  stoppedEarly: boolean;
  /** the last quality check (null when checks are off) */
  lastCheck: RunCheck | null;
  /** what was expected before it started */
  estimate: TrainingEstimate;
  finalLoss: number;
  secondsPerStep: number;
  config: Record<string, unknown>;
  backend: string;
}

export interface GenerateParams {
  run: Id;
  count?: number;
  seed?: number;
  sampler?: 'ddpm' | 'ddim';
  /** DDIM steps (default: the run's samplerSteps); refused with DDPM, which always takes every diffusion step */
  samplerSteps?: number;
  /** task vector (0/1 per class) for task-conditioned runs */
  condition?: number[];
  mode?: 'sequential' | 'partial' | 'full';
  /**
   * Models of a built-in task with BatchNorm layers: 'reestimate' (default) measures their running
   * statistics on training images, as PyTorch's update_bn; 'generated' keeps the generated values.
   */
  batchNorm?: 'reestimate' | 'generated';
  backend?: string;
  threads?: number;
}

export interface GenerateJobResult {
  run: Id;
  backend: string;
  /** training images each model's BatchNorm statistics were measured on; null where kept as generated (or none) */
  batchNormImages: number | null;
  models: { id: Id; seed: number; sha256: string; seconds: number; permutationState: number; condition: number[] | null }[];
}

/**
 * Either a run (its zoo's originals against its generated models), or two zoos: the checkpoints of
 * `zoo` (e.g. models generated by another program and imported) judged against the originals of
 * zoo `originals`, on the built-in task of either zoo (else the evaluator command of `originals`, else of `zoo`).
 */
export interface EvaluateParams {
  run?: Id;
  zoo?: string;
  originals?: string;
  backend?: string;
  threads?: number;
}

/** One zoo's evaluation (engine/zoo/evaluate.ts ZooEvaluation); accuracies in percent. */
export interface ZooEvaluationInfo {
  zoo: string;
  /** the built-in task, or 'command' when the zoo's evaluator command scored the models */
  task: string;
  /** the evaluator command that scored the models (task 'command') */
  evaluator?: string;
  originals: AccuracySummaryInfo;
  generated: AccuracySummaryInfo;
  nearestIoU: { generated: number | null; noised: number | null };
  /** engine/zoo/verdict.ts: the bar met or not, models below the worst original, new models or near-copies */
  verdict?: { meetsBar: boolean | null; belowOriginals: string[]; novelty: 'new' | 'near-copies' | 'unknown'; summary: string };
  /** training images the generated models' BatchNorm statistics were measured on (absent: as generated, or no BatchNorm) */
  batchNormImages?: number;
  /**
   * task-conditioned zoos (engine/zoo/verdict.ts): held-out task vectors, averaged per task, against the
   * unseen-task bar; generatedModels is absent from evaluations stored before it was counted
   */
  heldOutTasks?: { tasks: number; generatedModels?: number; originals: AccuracySummaryInfo; generated: AccuracySummaryInfo; meetsBar: boolean | null; summary: string };
  seconds: Record<string, number>;
  details?: unknown;
}

export interface EvaluateJobResult {
  /** the stored evaluation (null for a zoo-against-zoo evaluation, which belongs to no run) */
  evaluation: Id | null;
  run: Id | null;
  zoos: ZooEvaluationInfo[];
  /** a run's models generated at earlier steps of its training (before it was continued): not scored */
  earlierModels?: { count: number; steps: number[] };
}

export interface DemoParams {
  /** the digits MLP zoo with a small generator (minutes); otherwise MNIST zoos */
  quick?: boolean;
  /** folder for report.html; default <data>/reports/<timestamp>/ */
  out?: string;
  backend?: string;
  threads?: number;
}

export interface DemoJobResult {
  zoos: ZooEvaluationInfo[];
  /** path of report.html */
  report: string;
  runs: Id[];
  /** the terminal table (engine/report/table.ts) */
  table: string;
  seconds: Record<string, number>;
}

export type RequestName = keyof Requests;
export type ParamsOf<N extends RequestName> = Requests[N]['params'];
export type ResultOf<N extends RequestName> = Requests[N]['result'];

export type EngineEvent =
  | { type: 'job.progress'; job: JobInfo }
  | { type: 'job.finished'; job: JobInfo; result: unknown }
  | { type: 'job.failed'; job: JobInfo }
  | { type: 'catalog.changed'; what: 'zoos' | 'checkpoints' | 'runs' | 'models' | 'evaluations'; zoo?: string };

/** Wire messages, identical on every transport. */
export type ClientMessage = { id: number; method: RequestName; params: unknown };
export type ServerMessage = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: EngineErrorInfo } | { event: EngineEvent };

// ---- What the app's views need (engine/service-app.ts): runs, models, evaluations, zoo edits,
// generator settings, uploads and downloads. Declaration merging adds them to `Requests`. ----

export type RunStatusName = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface RunSummary {
  id: Id;
  zoo: string;
  status: RunStatusName;
  /** the step of the last saved generator state */
  step: number;
  /** the steps the run was configured for */
  steps: number;
  preset: string | null;
  backend: string;
  /** the last loss of the saved curve, null before the first save */
  finalLoss: number | null;
  /** the job training it (running or last), null when unknown */
  job: Id | null;
  models: number;
  createdAt: string;
  updatedAt: string;
}

export interface GeneratedModelInfo {
  id: Id;
  run: Id;
  zoo: string;
  seed: number;
  condition: number[] | null;
  sampler: string;
  steps: number;
  permutationState: number;
  sha256: string;
  seconds: number | null;
  /** the run's training step its generator was at (null: generated before ParamZoo recorded it) */
  runStep: number | null;
  /** training images its BatchNorm running statistics were measured on; null: as generated (or no BatchNorm) */
  batchNormImages: number | null;
  /** accuracy (percent), loss, nearestIoU once evaluated */
  metrics: Record<string, number>;
  createdAt: string;
}

export interface EvaluationRecord {
  id: Id;
  run: Id;
  zoos: ZooEvaluationInfo[];
  createdAt: string;
}

/** Weight-space checks of a zoo without a task: statistics against the originals' range, distance to the nearest original. */
export interface RunCheckWeights {
  /** generated tensors compared (per model) */
  tensors: number;
  /** (model, tensor) pairs whose mean or std falls outside the originals' range (widened by 10% of its width) */
  outOfRange: number;
  /** up to 10 names of tensors out of range in some model */
  outOfRangeNames: string[];
  /** per check model: distance to the nearest original, in normalised token space */
  nearestDistance: number[];
  /** median distance from an original to its nearest other original (null with one original) */
  originalSpacing: number | null;
}

/** One quality check of a run while it trained: a few generated models judged against the originals. */
export interface RunCheck {
  step: number;
  /** training loss at that step */
  loss: number | null;
  /** models generated for the check */
  models: number;
  seconds: number;
  /** 'check': scored on the task's check split (a validation slice of train, never the test split); null without a task */
  split: 'check' | null;
  /** per check model, percent on the check split (task zoos) */
  accuracies: number[] | null;
  /** the originals on the same split */
  originals: { best: number; avg: number; min: number } | null;
  /** generated avg ≥ originals' avg − 0.5 and min ≥ originals' min − 1, on the check split */
  withinBar: boolean | null;
  weights: RunCheckWeights | null;
  /**
   * task-conditioned zoos: one model per held-out task vector (seed 1), percent on the check split,
   * the unseen-task bar (percent) and whether they average it; absent for other zoos and older checks
   */
  heldOut?: { accuracies: number[]; bar: number; meetsBar: boolean };
}

/** How long training will take on this machine, before it starts (engine/pipeline/estimate.ts). */
export interface TrainingEstimate {
  /** steps left to train */
  steps: number;
  secondsPerStep: number;
  /** all of it, quality checks included */
  seconds: number;
  /** FLOPs of one training step */
  stepFlops: number;
  /** what the estimate rests on, in words */
  basis: string;
}

export interface RunDetail extends RunSummary {
  config: Record<string, unknown>;
  /** loss per step up to the last save (live steps arrive as job.progress metrics) */
  lossCurve: number[];
  /** [step, loss] reported by progress events after the last save, while this engine trains the run (about one a second) */
  recentLoss: [number, number][];
  generated: GeneratedModelInfo[];
  evaluations: EvaluationRecord[];
  /** quality checks made while it trained, by step */
  checks: RunCheck[];
}

/** One generator setting, described by the engine so the UI draws its form from it. */
export interface SettingField {
  name: string;
  type: 'integer' | 'number' | 'choice' | 'integer-list' | 'boolean';
  /** inclusive bounds where they exist */
  min?: number;
  max?: number;
  choices?: string[];
  default: unknown;
  /** one line: what it does */
  help: string;
  /** 'model' | 'diffusion' | 'training' | 'sampling' */
  group: string;
}

export interface GeneratorSettings {
  fields: SettingField[];
  /** the built-in config (engine/rpg/config.ts DEFAULT_CONFIG) */
  defaults: Record<string, unknown>;
  /** each preset's complete config */
  presets: { name: string; config: Record<string, unknown> }[];
  /** the preset a zoo of this many parameters gets by default */
  presetForParameters: { below: number; preset: string }[];
}

export interface TaskInfo {
  id: string;
  dataset: string;
  description: string;
  conditioned: boolean;
  defaults: Record<string, number>;
}

/** A file of an upload: its path relative to the upload's root ('/'-separated) and its size in bytes. */
export interface UploadFile {
  path: string;
  size: number;
}

/**
 * Binary upload frames (≤ 1 MiB each): a 4-byte little-endian length N, then N bytes of UTF-8 JSON
 * `UploadChunkHeader`, then the bytes of the file from `offset` on. Chunks of a file arrive in order.
 */
export interface UploadChunkHeader {
  upload: Id;
  /** index into the upload's files */
  file: number;
  offset: number;
}

/** One tensor's values pooled over every checkpoint of a zoo. */
export interface TensorStats {
  name: string;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** std over the checkpoints of each checkpoint's mean: how much the zoo varies in this tensor */
  spread: number;
}

export interface ZooUsage {
  /** bytes of the distinct stored files its checkpoints reference (shared files counted once per zoo) */
  bytes: number;
  /** the source formats of its checkpoints */
  formats: CheckpointFormat[];
}

export interface Requests {
  /** per zoo name: stored bytes and source formats (the Zoos list's size and source columns) */
  'zoo.usage': { params: Record<string, never>; result: Record<string, ZooUsage> };
  /**
   * "free space": deletes the blobs no row and no live job holds (the one garbage collector); `graceMinutes` keeps recent
   * writes. `removed` counts the blobs deleted (or that would be, with dryRun), `blobs` lists their sha256.
   */
  'storage.gc': { params: { dryRun?: boolean; graceMinutes?: number }; result: { removed: number; bytesFreed: number; kept: number; blobs: string[]; tempsRemoved: number } };
  /** per-tensor statistics across a run's generated models (the Compare view sets them beside zoo.stats) */
  'run.stats': { params: { id: Id }; result: { run: Id; models: number; tensors: TensorStats[] } };
  /** per-tensor statistics across a zoo's checkpoints (cached until the zoo changes) */
  'zoo.stats': { params: { name: string }; result: { zoo: string; checkpoints: number; tensors: TensorStats[] } };
  /** the backend compute jobs use, chosen (and TensorFlow.js loaded) now if no job chose it yet */
  'engine.backend': { params: Record<string, never>; result: BackendInfo };
  /** the WebGPU adapter Dawn finds (looked for once per engine, without loading TensorFlow.js), or why there is none */
  'engine.gpu': { params: Record<string, never>; result: { adapter: GpuAdapterInfo | null; problem: string | null } };
  'task.list': { params: Record<string, never>; result: TaskInfo[] };
  /** renames a zoo; its checkpoints, runs and models follow */
  'zoo.rename': { params: { name: string; to: string }; result: ZooSummary };
  /** removes the zoo's rows (checkpoints, runs, models, evaluations); blobs are freed by gc */
  'zoo.delete': { params: { name: string }; result: { deleted: string } };
  'checkpoint.delete': { params: { ids: Id[] }; result: { deleted: number } };
  'run.list': { params: { zoo?: string }; result: RunSummary[] };
  'run.show': { params: { id: Id }; result: RunDetail };
  'run.delete': { params: { id: Id }; result: { deleted: Id } };
  'model.list': { params: { run?: Id }; result: GeneratedModelInfo[] };
  'evaluation.list': { params: { run?: Id }; result: EvaluationRecord[] };
  'evaluation.get': { params: { id: Id }; result: EvaluationRecord };
  'generator.settings': { params: Record<string, never>; result: GeneratorSettings };
  /** preset + overrides → the complete config, or the engine's error naming the setting */
  'generator.validate': { params: { preset?: string; set?: Record<string, unknown>; zoo?: string }; result: { config: Record<string, unknown>; estimate: TrainingEstimate | null } };
  /** announces an upload; its chunks follow as binary frames */
  'upload.begin': { params: { files: UploadFile[] }; result: { upload: Id; maxChunkBytes: number } };
  /** once every byte arrived: imports the upload's top-level files and folders into a zoo (a job), then removes the upload */
  'upload.import': {
    params: { upload: Id; zoo: string; permutationState?: number; condition?: number[] };
    result: { job: JobInfo /** where the files lie on the engine: error messages name files under it */; dir: string };
  };
  'upload.cancel': { params: { upload: Id }; result: { cancelled: Id } };
  /** exports a model into the engine's downloads folder (a job; result an ExportResult) for `download.ticket` */
  'download.export': { params: { id: Id; format?: CheckpointFormat }; result: { job: JobInfo } };
  /** a one-time URL (relative to the server) for a finished download.export job's file */
  'download.ticket': { params: { job: Id }; result: { url: string; name: string; size: number } };
}
