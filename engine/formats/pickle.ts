// A Python pickle reader (protocols 0–5) that builds plain data and never runs anything. A pickle
// names Python callables (GLOBAL) and asks to call them (REDUCE, NEWOBJ, INST, OBJ); here only
// callables on an allow-list are honoured, each by a small JS function that builds data. Any other
// call is refused with the callable's name.
import { EngineError } from '../errors.js';

export class PickleError extends EngineError {
  /** true when the pickle simply ran out of bytes (a reader holding only a window of the file may retry with more) */
  readonly truncated: boolean;
  constructor(file: string, problem: string, hint = 'the checkpoint is damaged or was not written by torch.save; re-save it with torch.save(model.state_dict(), path)', truncated = false) {
    super('pickle_refused', `${file}: ${problem}`, { file, hint });
    this.truncated = truncated;
  }
}

/** Attributes BUILD set on dicts (an OrderedDict's `__dict__`, e.g. torch's `_metadata`), kept aside from the items. */
export const dictAttributes = new WeakMap<Map<unknown, unknown>, unknown>();

/** A Python global named by the pickle (`module.name`): data, never resolved to anything callable. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object the pickle built from an allow-listed class (e.g. argparse.Namespace); BUILD stores its state here. */
export class PyObject {
  state: unknown = undefined;
  constructor(readonly type: PyGlobal, readonly args: unknown[]) {}
}

/** Values BUILD may set state on other than PyObject (e.g. a numpy dtype's byte order). */
export interface Buildable {
  setState(state: unknown): void;
}

function isBuildable(value: unknown): value is Buildable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Buildable>).setState === 'function';
}

/** A Python tuple: a frozen array, so dict keys and lists stay distinguishable when it matters. */
export type PyTuple = readonly unknown[];

/** Builds data for one allow-listed callable from its (already unpickled) arguments. */
export type AllowedCallable = (args: unknown[], source: string) => unknown;

export interface UnpickleOptions {
  /** file name for messages */
  source: string;
  /** `module.name` → data builder; everything else is refused when called */
  callables: ReadonlyMap<string, AllowedCallable>;
  /** resolves a persistent id (torch: storage references); refused when absent */
  persistentLoad?: (pid: unknown) => unknown;
}

/** The allow-list every checkpoint may use: containers, argparse.Namespace, protocol-2 bytes. */
export const BASE_CALLABLES: ReadonlyMap<string, AllowedCallable> = new Map<string, AllowedCallable>([
  ['collections.OrderedDict', (args) => dictFrom(args[0])],
  ['builtins.dict', (args) => dictFrom(args[0])],
  ['__builtin__.dict', (args) => dictFrom(args[0])],
  ['builtins.set', (args) => new Set(iterableArg(args[0]))],
  ['__builtin__.set', (args) => new Set(iterableArg(args[0]))],
  ['builtins.frozenset', (args) => new Set(iterableArg(args[0]))],
  ['__builtin__.frozenset', (args) => new Set(iterableArg(args[0]))],
  ['builtins.slice', (args) => ({ slice: args.slice(0, 3) })],
  ['builtins.list', (args) => [...iterableArg(args[0])]],
  ['builtins.tuple', (args) => Object.freeze([...iterableArg(args[0])])],
  ['builtins.bytearray', (args) => (args[0] instanceof Uint8Array ? args[0] : new Uint8Array())],
  ['argparse.Namespace', (args) => new PyObject(new PyGlobal('argparse', 'Namespace'), args)],
  // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1'): the string's code points are the bytes.
  ['_codecs.encode', (args, source) => {
    const [text, encoding] = args;
    if (typeof text !== 'string') throw new PickleError(source, '_codecs.encode got no string');
    if (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== 'iso-8859-1') {
      throw new PickleError(source, `_codecs.encode with encoding ${String(encoding)} is not supported`);
    }
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  }],
]);

function iterableArg(value: unknown): Iterable<unknown> {
  if (value === undefined) return [];
  if (Array.isArray(value) || value instanceof Set) return value;
  if (value instanceof Map) return value.keys();
  return [];
}

function dictFrom(value: unknown): Map<unknown, unknown> {
  const dict = new Map<unknown, unknown>();
  if (value instanceof Map) for (const [k, v] of value) dict.set(k, v);
  else if (Array.isArray(value)) for (const pair of value) if (Array.isArray(pair) && pair.length === 2) dict.set(pair[0], pair[1]);
  return dict;
}

const MARK = Symbol('mark');

/** Everyday names for what a refused global does, so the message reads as a user would search it. */
const ALIASES: Record<string, string> = { posix: 'os', nt: 'os' };

/**
 * Unpickles `data` starting at `start`; returns the value and the offset after STOP (legacy torch
 * files hold several pickles back to back).
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const { source, callables } = options;
  const fail = (problem: string, hint?: string) => new PickleError(source, problem, hint);
  const truncated = (problem: string) => new PickleError(source, problem, 'copy the checkpoint again from its source', true);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > data.length) {
      throw truncated(`the pickle ends early at byte ${pos} (wanted ${n} more bytes): the file is truncated or damaged`);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const bytes = (n: number): Uint8Array => {
    const at = need(n);
    return data.subarray(at, at + n);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw truncated('the pickle ends inside a text line: the file is truncated');
    const text = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const text = (n: number): string => {
    const raw = bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw fail('a pickled string is not valid UTF-8');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) throw fail('the pickle pops an empty stack: it is damaged');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw fail('the pickle reads an empty stack: it is damaged');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) throw fail('the pickle closes a MARK it never opened: it is damaged');
    return stack.splice(mark);
  };
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`a pickled length of ${value} bytes is larger than any file`);
    return Number(value);
  };
  const call = (callable: unknown, args: unknown[], how: string): unknown => {
    if (!(callable instanceof PyGlobal)) throw fail(`the pickle ${how}s something that is not a named global`);
    const allowed = callables.get(callable.qualifiedName);
    if (!allowed) {
      const alias = ALIASES[callable.module];
      const named = alias ? `${alias}.${callable.name}` : callable.qualifiedName;
      throw fail(`the checkpoint wants to call ${named}${alias ? ` (${callable.qualifiedName})` : ''}; ParamZoo never runs code from a checkpoint`,
        'only plain tensors, dicts and lists are read; save the weights alone with torch.save(model.state_dict(), path)');
    }
    return allowed(args, source);
  };
  const asInt = (value: unknown): number => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw fail('a memo index is not an integer');
    return value;
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) throw fail(`the pickle reads memo slot ${index}, which was never written: it is damaged`);
    return memo.get(index);
  };
  const decodeLong = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[raw.length - 1]! & 0x80) value -= 1n << BigInt(raw.length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const parseIntText = (textValue: string): number | bigint => {
    const trimmed = textValue.replace(/L$/, '');
    if (!/^[-+]?\d+$/.test(trimmed)) throw fail(`the pickle holds a malformed integer "${textValue}"`);
    const value = BigInt(trimmed);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) throw fail('the pickle sets dict items on something that is not a dict');
    if (items.length % 2 !== 0) throw fail('the pickle sets a dict item without a value');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw fail('the pickle appends to something that is not a list');
    for (const item of items) target.push(item);
  };

  for (;;) {
    const opcode = data[need(1)]!;
    switch (opcode) {
      case 0x80: need(1); break; // PROTO
      case 0x95: need(8); break; // FRAME: framing only
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const dict = new Map(); setItems(dict, popMark()); stack.push(dict); break; } // DICT
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x90: { const items = popMark(); const target = top(); if (!(target instanceof Set)) throw fail('ADDITEMS on something that is not a set'); for (const i of items) target.add(i); break; }
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(data[need(1)]!); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(data[need(1)]!))); break; // LONG1
      case 0x8b: { const n = view.getInt32(need(4), true); if (n < 0) throw fail('LONG4 with a negative length'); stack.push(decodeLong(bytes(n))); break; }
      case 0x49: { // INT (text; "01"/"00" are protocol-0 booleans)
        const value = line();
        stack.push(value === '01' ? true : value === '00' ? false : parseIntText(value));
        break;
      }
      case 0x4c: stack.push(parseIntText(line())); break; // LONG (text)
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x46: { const value = Number(line()); if (Number.isNaN(value)) throw fail('malformed FLOAT'); stack.push(value); break; }
      case 0x58: stack.push(text(view.getUint32(need(4), true))); break; // BINUNICODE
      case 0x8c: stack.push(text(data[need(1)]!)); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt(a ?? b ?? '0', 16)))); break; // UNICODE
      case 0x54: { const n = view.getInt32(need(4), true); if (n < 0) throw fail('BINSTRING with a negative length'); stack.push(latin1.decode(bytes(n))); break; }
      case 0x55: stack.push(latin1.decode(bytes(data[need(1)]!))); break; // SHORT_BINSTRING
      case 0x53: { // STRING (repr text)
        const raw = line();
        const quote = raw[0];
        if ((quote !== "'" && quote !== '"') || raw[raw.length - 1] !== quote) throw fail('malformed STRING');
        stack.push(raw.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_, hex: string | undefined, c: string | undefined) =>
          hex ? String.fromCharCode(parseInt(hex, 16)) : c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c ?? ''));
        break;
      }
      case 0x42: stack.push(bytes(view.getUint32(need(4), true)).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(data[need(1)]!).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x70: memo.set(asInt(parseIntText(line())), top()); break; // PUT
      case 0x71: memo.set(data[need(1)]!, top()); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(memoGet(asInt(parseIntText(line())))); break; // GET
      case 0x68: stack.push(memoGet(data[need(1)]!)); break; // BINGET
      case 0x6a: stack.push(memoGet(view.getUint32(need(4), true))); break; // LONG_BINGET
      case 0x61: { const item = pop(); appendItems(top(), [item]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x63: { const module = line(); const name = line(); stack.push(new PyGlobal(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL without a module and name');
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) throw fail('REDUCE without an argument tuple');
        stack.push(call(callable, [...args], 'call'));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) throw fail('NEWOBJ without an argument tuple');
        stack.push(call(cls, [...args], 'call'));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) throw fail('NEWOBJ_EX without an argument tuple');
        stack.push(call(cls, [...args], 'call'));
        break;
      }
      case 0x69: { // INST
        const module = line();
        const name = line();
        stack.push(call(new PyGlobal(module, name), popMark(), 'call'));
        break;
      }
      case 0x6f: { // OBJ
        const [cls, ...args] = popMark();
        stack.push(call(cls, args, 'call'));
        break;
      }
      case 0x62: { // BUILD: sets state on an object; nothing is called
        const state = pop();
        const target = top();
        if (target instanceof PyObject) target.state = state;
        else if (isBuildable(target)) target.setState(state);
        else if (target instanceof Map) dictAttributes.set(target, state);
        // Other targets (tensors' hooks) carry nothing the weights need.
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) throw fail('the pickle refers to external data (persistent id) where none is expected');
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        if (!options.persistentLoad) throw fail('the pickle refers to external data (persistent id) where none is expected');
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x82: case 0x83: case 0x84: // EXT1/2/4
        throw fail('the pickle uses the copyreg extension registry, which checkpoints never need');
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        throw fail('the pickle uses out-of-band buffers (protocol 5), which torch.save never writes');
      default:
        throw fail(`the pickle holds unknown opcode 0x${opcode.toString(16).padStart(2, '0')} at byte ${pos - 1}: the file is damaged or not a pickle`);
    }
  }
}
