// The CLI's one option parser (node:util parseArgs): every command's flags, unknown flags named with
// their command, generate's --sampler-steps (and --steps refused), the global --threads, and engine
// errors, which name request fields, printed as the flags that set them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, UsageError } from '../engine/cli/args.js';
import type { CommandContext } from '../engine/cli/command.js';
import { COMMANDS } from '../engine/cli/commands.js';
import { backendParam } from '../engine/cli/commands-pipeline/options.js';
import { withFlags } from '../engine/cli/fields.js';
import { EngineError } from '../engine/errors.js';
import type { GenerateParams } from '../engine/protocol.js';
import { PRESETS } from '../engine/rpg/presets.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const command = (name: string) => COMMANDS.find((c) => c.name === name)!;

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, COMMANDS);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error;
  }
  assert.fail(`'${argv.join(' ')}' parsed`);
}

/** Runs a command's own code with a context that records the job it would start. */
async function paramsOf(argv: string[]): Promise<unknown> {
  const parsed = parseCommandLine(argv, COMMANDS);
  let sent: unknown;
  const ctx = {
    positionals: parsed.positionals,
    options: parsed.options,
    json: false,
    dataDir: '/nowhere',
    backend: parsed.options.backend as CommandContext['backend'],
    threads: parsed.options.threads === undefined ? undefined : Number(parsed.options.threads),
    service: () => assert.fail('no service'),
    print: () => {},
    async runJob(_method, params) {
      sent = params;
      return { models: [], zoos: [] };
    },
  } satisfies CommandContext;
  await parsed.command!.run(ctx);
  return sent;
}

test('words, options and values wherever they stand, as before', () => {
  const parsed = parseCommandLine(['--data', '/d', 'zoo', '--json', 'create', 'z1', '--task', 'digits-mlp'], COMMANDS);
  assert.equal(parsed.command?.name, 'zoo create');
  assert.deepEqual(parsed.positionals, ['z1']);
  assert.deepEqual({ ...parsed.options }, { data: '/d', json: true, task: 'digits-mlp' });
  const train = parseCommandLine(['train', 'zoo', '--set', 'lr=0.001', '--set=batch=2', '--steps', '5'], COMMANDS);
  assert.deepEqual(train.options.set, ['lr=0.001', 'batch=2']);
  assert.equal(train.options.steps, '5');
  assert.deepEqual(parseCommandLine(['import', 'z', '--', '--odd-name.pth'], COMMANDS).positionals, ['z', '--odd-name.pth']);
  assert.equal(parseCommandLine(['zoo'], COMMANDS).group, 'zoo');
});

test('an unknown flag is named with its command; a flag without its value is refused', () => {
  const unknown = usageError(['generate', 'run_1', '--bogus']);
  assert.equal(unknown.message, "'paramzoo generate' has no option --bogus");
  assert.match(unknown.hint!, /--sampler-steps/);
  assert.match(unknown.hint!, /paramzoo generate --help/);
  assert.match(usageError(['zoo', 'show', 'z', '-x']).message, /^'paramzoo zoo show' has no option -x$/);
  assert.match(usageError(['generate', 'run_1', '--count']).message, /--count needs a value/);
  assert.match(usageError(['generate', 'run_1', '--count', '--json']).message, /--count needs a value/);
  assert.match(usageError(['zoo', 'list', '--json=yes']).message, /--json takes no value/);
});

test('generate takes --sampler-steps; --steps (training steps) is refused with a pointer to it', async () => {
  assert.deepEqual(await paramsOf(['generate', 'run_1', '--sampler-steps', '30', '--sampler', 'ddim']), { run: 'run_1', samplerSteps: 30, sampler: 'ddim' } satisfies GenerateParams);
  const refused = usageError(['generate', 'run_1', '--steps', '30']);
  assert.match(refused.message, /'paramzoo generate' has no option --steps: .*training steps.*--sampler-steps/);
  assert.match(refused.hint!, /--sampler-steps 60/);
  // train keeps its --steps
  assert.deepEqual(await paramsOf(['train', 'z', '--steps', '30']), { zoo: 'z', steps: 30 });
});

test('--threads goes with --backend into the params of the jobs that compute', async () => {
  assert.deepEqual(await paramsOf(['generate', 'run_1', '--backend', 'cpu', '--threads', '4']), { run: 'run_1', backend: 'cpu', threads: 4 });
  assert.deepEqual(await paramsOf(['--threads', '2', 'evaluate', 'run_1']), { run: 'run_1', threads: 2 });
  assert.deepEqual(backendParam({ backend: undefined, threads: undefined } as CommandContext), {});
});

test('engine errors name request fields; the CLI prints the flags of the running command', () => {
  const error = new EngineError('sampler_setting', "'samplerSteps' does not apply to the ddpm sampler", {
    hint: "leave out 'samplerSteps', or choose 'sampler': ddim",
    fields: ['samplerSteps', 'sampler'],
  });
  assert.equal(withFlags(error.message, error.fields, command('generate')), '--sampler-steps does not apply to the ddpm sampler');
  assert.equal(withFlags(error.hint!, error.fields, command('generate')), 'leave out --sampler-steps, or choose --sampler ddim');
  // train sets these with --set: no flag of its own, so the engine's words stay
  assert.equal(withFlags(error.hint!, error.fields, command('train')), error.hint);
  // only the fields the error lists: a zoo named 'seed' is a value here, not the field
  assert.equal(withFlags("zoo 'seed': 'count' must be ≥ 1", ['count'], command('generate')), "zoo 'seed': --count must be ≥ 1");
  assert.equal(withFlags("'checkpointsPerSeed' must be ≥ 1", ['checkpointsPerSeed'], command('collect')), '--checkpoints must be ≥ 1');
});

test('from the command line: flags in messages, request fields in --json, --threads checked', async () => {
  const data = tempDir();
  const [count, ddpm, threads, bogus] = await Promise.all([
    runCli(['generate', 'run_0123456789abcdef', '--count', '0', '--data', data, '--json']),
    runCli(['generate', 'run_0123456789abcdef', '--sampler', 'ddpm', '--sampler-steps', '10', '--data', data, '--json']),
    runCli(['generate', 'run_0123456789abcdef', '--threads', '65', '--data', data]),
    runCli(['train', 'z', '--bogus', '--data', data]),
  ]);
  assert.equal(count.code, 1, count.stderr);
  assert.match(count.stderr, /^paramzoo: --count must be a whole number from 1 to 1000, not 0$/m);
  assert.match(count.stderr, /^hint: e\.g\. --count 10$/m);
  assert.deepEqual(JSON.parse(count.stdout).error, {
    code: 'bad_option',
    message: "'count' must be a whole number from 1 to 1000, not 0",
    hint: "e.g. 'count': 10",
    fields: ['count'],
  });
  assert.equal(ddpm.code, 1, ddpm.stderr);
  assert.match(ddpm.stderr, /--sampler-steps does not apply to the ddpm sampler/);
  assert.equal(JSON.parse(ddpm.stdout).error.code, 'sampler_setting');
  assert.equal(threads.code, 1);
  assert.match(threads.stderr, /--threads must be a whole number from 1 to 64, not '65'/);
  assert.equal(bogus.code, 1);
  assert.match(bogus.stderr, /'paramzoo train' has no option --bogus/);
});

test("train's help names every preset there is", () => {
  const line = command('train')
    .help.split('\n')
    .find((l) => l.trimStart().startsWith('--preset'))!;
  for (const name of Object.keys(PRESETS)) assert.match(line, new RegExp(`\\b${name}\\b`), `--preset help lacks '${name}'`);
});
