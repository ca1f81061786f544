// The engine's layering, checked on its import statements (tests/helpers/layering.ts reads them,
// type-only and dynamic imports included):
// - no import cycle, between files or through a chain of them;
// - each folder imports only the layers below it (MAY_IMPORT): the catalog (SQLite) imports neither
//   the format readers, nor the job runner, nor the jobs; rpg/ and zoo/ work on arrays
//   (engine/tensors.ts), never on files, the catalog or the jobs; nothing below the service imports it;
// - the CLI reaches the engine through the contract: protocol.ts, errors.ts, report/ (its tables),
//   hosts/ (serve) and the service it sends requests to (service.ts, service-types.ts), nothing of
//   catalog/, pipeline/, formats/, rpg/, zoo/, jobs.ts or the other service-level files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineImports, groupOf, importCycles, layeringViolations } from './helpers/layering.js';
import { tempDir } from './helpers/tmp.js';

const ENGINE = fileURLToPath(new URL('../engine', import.meta.url));
const { files, edges } = engineImports(ENGINE);

test('the import scanner sees every kind of import: static, type-only, export … from, dynamic import()', () => {
  const dir = tempDir('paramzoo-layering-');
  mkdirSync(join(dir, 'sub'));
  const write = (file: string, text: string) => writeFileSync(join(dir, file), text);
  write('a.ts', "import { b } from './b.js';\nimport type { C } from './sub/c.js';\nexport { d } from './d.js';\n// import { z } from './z.js';\n");
  write('b.ts', "export const b = async () => (await import('./sub/c.js')).c;\nimport 'node:fs';\n");
  write('sub/c.ts', "export type C = number;\nexport const c = 1;\nimport { x } from 'some-package';\n");
  write('d.ts', 'export const d = 1;\n');
  const scanned = engineImports(dir);
  assert.deepEqual(scanned.files, ['a.ts', 'b.ts', 'd.ts', 'sub/c.ts']);
  assert.deepEqual(scanned.edges.map((e) => `${e.from} → ${e.to}`).sort(), ['a.ts → b.ts', 'a.ts → d.ts', 'a.ts → sub/c.ts', 'b.ts → sub/c.ts']);
});

test('every engine file belongs to a layer', () => {
  for (const file of files) assert.doesNotThrow(() => groupOf(file), file);
});

test('no import cycle in the engine', () => {
  const cycles = importCycles(files, edges);
  assert.deepEqual(
    cycles.map((c) => c.join(' → ')),
    [],
    'files that import each other, directly or through others',
  );
});

test('no import runs back up a layer (catalog, rpg, zoo, CLI and the rest)', () => {
  assert.deepEqual(layeringViolations(edges), []);
});

test('the rules catch what they are about (a cycle, the catalog importing formats, the CLI importing the catalog)', () => {
  assert.deepEqual(
    importCycles(
      ['a.ts', 'b.ts', 'c.ts'],
      [
        { from: 'a.ts', to: 'b.ts' },
        { from: 'b.ts', to: 'c.ts' },
        { from: 'c.ts', to: 'a.ts' },
      ],
    ),
    [['a.ts', 'b.ts', 'c.ts']],
  );
  const refused = [
    { from: 'catalog/zoos.ts', to: 'formats/index.ts' },
    { from: 'catalog/zoos.ts', to: 'jobs.ts' },
    { from: 'catalog/zoos.ts', to: 'pipeline/collect.ts' },
    { from: 'rpg/tokenizer.ts', to: 'formats/types.ts' },
    { from: 'rpg/tokenizer.ts', to: 'catalog/db.ts' },
    { from: 'rpg/tokenizer.ts', to: 'pipeline/stored.ts' },
    { from: 'cli/gc.ts', to: 'catalog/gc.ts' },
    { from: 'cli/export.ts', to: 'pipeline/export.ts' },
    { from: 'cli/inspect.ts', to: 'formats/index.ts' },
    { from: 'cli/zoo.ts', to: 'service-app.ts' },
    { from: 'pipeline/train.ts', to: 'service.ts' },
  ];
  for (const edge of refused) assert.equal(layeringViolations([edge]).length, 1, `${edge.from} → ${edge.to}`);
  assert.deepEqual(
    layeringViolations([
      { from: 'cli.ts', to: 'service.ts' },
      { from: 'pipeline/import.ts', to: 'formats/index.ts' },
    ]),
    [],
  );
});
