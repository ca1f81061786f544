// The engine's import graph, read from the sources (TypeScript's own import scanner: static,
// type-only, re-exports and dynamic import() with a literal path), and the layering rules it must
// keep. tests/layering.test.ts runs it on engine/; it takes any folder, so a rule can be checked
// against an older copy of the engine too.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** engine files by folder (or top-level file); everything else at the top of engine/ is the service level. */
export type Group = 'protocol' | 'errors' | 'tensors' | 'util' | 'blobs' | 'backend' | 'formats' | 'catalog' | 'rpg' | 'zoo' | 'report' | 'jobs' | 'pipeline' | 'service' | 'hosts' | 'cli';

export function groupOf(file: string): Group {
  const [first, second] = file.split('/');
  if (second !== undefined) {
    if (first === 'backend') return 'backend';
    if (first === 'formats' || first === 'catalog' || first === 'rpg' || first === 'zoo' || first === 'report' || first === 'pipeline' || first === 'hosts' || first === 'cli') return first;
    throw new Error(`engine/${file}: a folder the layering rules do not know; add it to tests/helpers/layering.ts`);
  }
  switch (first) {
    case 'protocol.ts':
      return 'protocol';
    case 'errors.ts':
      return 'errors';
    case 'tensors.ts':
      return 'tensors';
    case 'fsutil.ts':
    case 'timing.ts':
      return 'util';
    case 'blobs.ts':
      return 'blobs';
    case 'backend.ts':
    case 'tf.ts':
      return 'backend';
    case 'jobs.ts':
      return 'jobs';
    case 'cli.ts':
      return 'cli';
    default:
      return 'service';
  }
}

const ALL_BELOW_SERVICE: readonly Group[] = ['protocol', 'errors', 'tensors', 'util', 'blobs', 'backend', 'formats', 'catalog', 'rpg', 'zoo', 'report', 'jobs', 'pipeline'];

/**
 * What each group may import besides itself, lowest layer first. The layers: the contract and
 * shared data (protocol, errors, tensors, util: fsutil.ts, timing.ts); storage and compute that know nothing of jobs
 * (blobs, backend, formats, catalog, rpg, zoo, report); the job runner; the jobs (pipeline); the
 * service; the hosts and the CLI. No group imports one listed after it.
 */
export const MAY_IMPORT: Readonly<Record<Group, readonly Group[]>> = {
  protocol: [],
  errors: ['protocol'],
  tensors: ['protocol', 'errors'],
  util: [],
  blobs: ['protocol', 'errors', 'util'],
  backend: ['protocol', 'errors'],
  // files in, tensors out: no catalog, no jobs
  formats: ['protocol', 'errors', 'util', 'tensors'],
  // the SQLite layer, and all of it: no format readers, no job runner, no jobs
  catalog: ['protocol', 'errors', 'util', 'tensors', 'blobs'],
  // arrays in, arrays out: no files, no catalog, no jobs
  rpg: ['protocol', 'errors', 'util', 'tensors', 'backend'],
  zoo: ['protocol', 'errors', 'util', 'tensors', 'backend'],
  report: ['protocol', 'zoo'],
  jobs: ['protocol', 'errors', 'util', 'catalog'],
  pipeline: ALL_BELOW_SERVICE,
  service: ALL_BELOW_SERVICE,
  hosts: ['protocol', 'errors', 'jobs', 'service'],
  // the CLI reaches the engine through the contract: see CLI_SERVICE_FILES
  cli: ['protocol', 'errors', 'report', 'hosts', 'service'],
};

/**
 * The only service-level files the CLI may import: the service it runs requests on (its
 * interface, createEngineService and runJob). Everything else goes through requests.
 */
export const CLI_SERVICE_FILES: readonly string[] = ['service.ts', 'service-types.ts'];

export interface ImportEdge {
  from: string;
  to: string;
}

function sourceFiles(dir: string, root = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, root));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

/** `./x.js` from `engine/a/b.ts` → `a/x.ts` (relative to the engine folder), or null when it leaves it or is not a file. */
function resolveSpecifier(engineDir: string, from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(engineDir, dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  for (const candidate of candidates) {
    if (existsSync(candidate) && statSync(candidate).isFile()) {
      const rel = relative(engineDir, candidate);
      return rel.startsWith('..') ? null : rel.split(sep).join('/');
    }
  }
  return null;
}

/** Every import between engine files: static, type-only, `export … from` and dynamic import('…'). */
export function engineImports(engineDir: string): { files: string[]; edges: ImportEdge[] } {
  const files = sourceFiles(engineDir);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const text = readFileSync(join(engineDir, from), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const { fileName } of importedFiles) {
      const to = resolveSpecifier(engineDir, from, fileName);
      if (to !== null && to !== from && !edges.some((e) => e.from === from && e.to === to)) edges.push({ from, to });
    }
  }
  return { files, edges };
}

/** Import cycles (Tarjan's strongly connected components of two or more files), each as its files sorted. */
export function importCycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const { from, to } of edges) next.get(from)?.push(to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return cycles;
}

/** Imports that break MAY_IMPORT or CLI_SERVICE_FILES, as `engine/from → engine/to (why)`. */
export function layeringViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const source = groupOf(from);
    const target = groupOf(to);
    if (source === target) continue;
    if (!MAY_IMPORT[source].includes(target)) {
      out.push(`engine/${from} → engine/${to} (${source} may import ${MAY_IMPORT[source].join(', ') || 'nothing in engine/'}; not ${target})`);
    } else if (source === 'cli' && target === 'service' && !CLI_SERVICE_FILES.includes(to)) {
      out.push(`engine/${from} → engine/${to} (the CLI reaches the engine through requests; of the service level it may import ${CLI_SERVICE_FILES.join(', ')})`);
    }
  }
  return out;
}
