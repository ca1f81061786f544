// The pickle reader: Python's own pickles of every protocol decode to the same data; hostile pickles are refused
// (nothing called, nothing huge allocated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_CALLABLES, PickleError, PyGlobal, unpickle } from '../engine/formats/pickle.js';
import { runTorch, skipWithoutTorch } from './helpers/torch.js';

/** the JSON shape both sides normalise to: dicts → objects, sets → sorted lists, bytes → {bytes: hex}, big ints → strings */
function normalise(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), normalise(v)]));
  if (value instanceof Set) return [...value].map(normalise).sort((a, b) => String(a).localeCompare(String(b)));
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (typeof value === 'bigint') return { int: value.toString() };
  if (Array.isArray(value)) return value.map(normalise);
  return value;
}

const options = { source: 'test.pkl', callables: BASE_CALLABLES };
const decode = (hex: string) => unpickle(Uint8Array.from(Buffer.from(hex, 'hex')), options).value;

test('pickles of protocols 0–5 written by Python decode to the same data', { skip: skipWithoutTorch() }, () => {
  const cases = runTorch<Array<{ protocol: number; hex: string; expected: unknown }>>(`
import json, pickle
from collections import OrderedDict
shared = [1, 2]
value = {'int': 5, 'neg': -70000, 'int32': 2**31 - 1, 'big': 2**70, 'negbig': -2**64 - 1, 'float': 1.5, 'tiny': -2.5e-300,
         'str': 'h\\u00e9llo \\u2713 back\\\\slash', 'bytes': b'\\x00\\xff\\n', 'list': [1, [2, 3]], 'tuple': (1, 'a'), 'none': None,
         'bools': [True, False], 'set': {1, 2}, 'frozen': frozenset({3}), 'ordered': OrderedDict([('b', 1), ('a', 2)]),
         'shared': [shared, shared], 'empty': {}, 3: 'int key'}
def norm(v):
    if isinstance(v, dict): return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)): return sorted((norm(x) for x in v), key=str)
    if isinstance(v, bytes): return {'bytes': v.hex()}
    if isinstance(v, (list, tuple)): return [norm(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return {'int': str(v)}
    return v
print(json.dumps([{'protocol': p, 'hex': pickle.dumps(value, protocol=p).hex(), 'expected': norm(value)} for p in range(6)]))
`);
  assert.equal(cases.length, 6);
  for (const { protocol, hex, expected } of cases) {
    assert.deepEqual(normalise(decode(hex)), expected, `protocol ${protocol}`);
  }
});

function refuses(hex: string, pattern: RegExp): void {
  assert.throws(
    () => decode(hex),
    (error: unknown) => {
      assert.ok(error instanceof PickleError, String(error));
      assert.match(error.message, pattern);
      assert.ok(error.message.startsWith('test.pkl: '));
      return true;
    },
  );
}

test('calls of globals outside the allow-list are refused, whichever opcode asks', () => {
  const ascii = (text: string) => Buffer.from(text, 'latin1').toString('hex');
  // GLOBAL + REDUCE
  refuses(`8002${ascii('cos\nsystem\n')}${ascii('X')}02000000${ascii('ls')}85${ascii('R.')}`, /wants to call os\.system/);
  // STACK_GLOBAL + REDUCE
  refuses(`80048c08${ascii('builtins')}8c04${ascii('eval')}938c01${ascii('1')}85${ascii('R.')}`, /builtins\.eval/);
  // NEWOBJ of a class
  refuses(`8002${ascii('csubprocess\nPopen\n)')}81${ascii('.')}`, /subprocess\.Popen/);
  // INST (protocol 0)
  refuses(ascii("(S'ls'\nios\nsystem\n."), /os\.system/);
  // OBJ
  refuses(ascii("(cposix\nsystem\nS'ls'\no."), /os\.system \(posix\.system\)/);
  // a global merely named is data, not a call
  const named = decode(`8002${ascii('cos\nsystem\n.')}`);
  assert.ok(named instanceof PyGlobal && named.qualifiedName === 'os.system');
});

test('damaged and oversized pickles are refused before anything is allocated', () => {
  refuses('8002' + '58' + 'f0ffffff' + '41', /ends early/); // BINUNICODE claiming 4 GiB
  refuses('8004' + '8d' + '0000000000000010', /larger than any file/); // BINUNICODE8 claiming 2^60
  refuses('8002' + '68' + '05' + '2e', /memo slot 5/); // BINGET of nothing
  refuses('8002' + 'ff', /unknown opcode 0xff/);
  refuses('8002' + '4b05', /ends early/); // no STOP
  refuses('8002' + '30' + '2e', /empty stack/);
  refuses('8002' + '4b01' + '51' + '2e', /external data/); // persistent id where none is expected
});
