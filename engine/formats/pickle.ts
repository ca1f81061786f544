// A Python pickle reader (protocols 0–5) that builds plain data and never runs anything. A pickle
// names Python callables (GLOBAL) and asks to call them (REDUCE, NEWOBJ, INST, OBJ); here only
// callables on an allow-list are honoured, each by a small JS function that builds data. Any other
// call is refused with the callable's name.
import { CancelledError, EngineError } from '../errors.js';
import { DEFAULT_LIMITS, ReadLimitError, type ReadLimits } from './limits.js';

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
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object the pickle built from an allow-listed class (e.g. argparse.Namespace); BUILD stores its state here. */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly type: PyGlobal,
    readonly args: unknown[],
  ) {}
}

/** Values BUILD may set state on other than PyObject (e.g. a numpy dtype's byte order). */
export interface Buildable {
  setState(state: unknown): void;
}

function isBuildable(value: unknown): value is Buildable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Buildable>).setState === 'function';
}

/** Builds data for one allow-listed callable from its (already unpickled) arguments. */
export type AllowedCallable = (args: unknown[], source: string) => unknown;

export interface UnpickleOptions {
  /** file name for messages */
  source: string;
  /** `module.name` → data builder; everything else is refused when called */
  callables: ReadonlyMap<string, AllowedCallable>;
  /** resolves a persistent id (torch: storage references); refused when absent */
  persistentLoad?: (pid: unknown) => unknown;
  /** budgets (engine/formats/limits.ts); defaults when absent */
  limits?: Partial<ReadLimits>;
  /** checked every 65 536 opcodes */
  signal?: AbortSignal;
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
  [
    '_codecs.encode',
    (args, source) => {
      const [text, encoding] = args;
      if (typeof text !== 'string') throw new PickleError(source, '_codecs.encode got no string');
      if (encoding !== 'latin1' && encoding !== 'latin-1' && encoding !== 'iso-8859-1') {
        throw new PickleError(source, `_codecs.encode with encoding ${String(encoding)} is not supported`);
      }
      return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    },
  ],
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

/** Everyday names for what a refused global does, so the message reads as a user would search it. */
const ALIASES: Record<string, string> = { posix: 'os', nt: 'os' };

/** Estimated heap bytes of what an opcode allocates (a V8 Map is ~200 bytes, an array ~64, a slot ~16). */
const COST = { map: 200, array: 64, slot: 16, object: 96, string: 32 } as const;

function sizeOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value instanceof Map || value instanceof Set) return value.size;
  return 0;
}

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
  const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  const heapBudget = limits.pickleHeapFloor + limits.pickleHeapRatio * (data.length - start);
  let heap = 0;
  let opcodes = 0;
  /** nesting depth of every container built so far (primitives are depth 0) */
  const depths = new WeakMap<object, number>();
  /** containers already placed inside another: changing them afterwards could hide depth (or make a cycle) */
  const nested = new WeakSet<object>();
  const overLimit = (limit: keyof ReadLimits, problem: string) => new ReadLimitError(source, limit, problem);
  const charge = (bytes: number, what: string): void => {
    heap += bytes;
    if (heap > heapBudget) throw overLimit('pickleHeapRatio', `the pickle builds more than ${Math.floor(heapBudget)} bytes of values (${what}) from ${data.length - start} bytes`);
  };
  const depthOf = (value: unknown): number => (typeof value === 'object' && value !== null ? (depths.get(value) ?? 1) : 0);
  /** records `child` inside `parent`: depth checked, child sealed */
  const nest = (parent: object, child: unknown): void => {
    const childDepth = depthOf(child);
    if (childDepth > 0) nested.add(child as object);
    const depth = Math.max(depths.get(parent) ?? 1, childDepth + 1);
    if (depth > limits.pickleDepth) throw overLimit('pickleDepth', `the pickle nests containers more than ${limits.pickleDepth} deep`);
    depths.set(parent, depth);
  };
  const built = <T extends object>(container: T, items: Iterable<unknown>): T => {
    for (const item of items) nest(container, item);
    return container;
  };
  const mutable = (target: unknown): void => {
    if (typeof target === 'object' && target !== null && nested.has(target)) {
      throw fail('the pickle changes a container after placing it inside another (a cycle or a nesting trick); torch.save never does');
    }
  };

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
    charge(COST.string + 2 * (end - pos), 'text lines');
    const text = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const text = (n: number): string => {
    const raw = bytes(n);
    charge(COST.string + 2 * n, 'strings');
    try {
      return utf8.decode(raw);
    } catch {
      throw fail('a pickled string is not valid UTF-8');
    }
  };
  const copyBytes = (n: number): Uint8Array => {
    const raw = bytes(n);
    charge(COST.string + n, 'bytes');
    return raw.slice();
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
      const alias = Object.hasOwn(ALIASES, callable.module) ? ALIASES[callable.module] : undefined;
      const named = alias ? `${alias}.${callable.name}` : callable.qualifiedName;
      throw fail(
        `the checkpoint wants to call ${named}${alias ? ` (${callable.qualifiedName})` : ''}; ParamZoo never runs code from a checkpoint`,
        'only plain tensors, dicts and lists are read; save the weights alone with torch.save(model.state_dict(), path)',
      );
    }
    // Callables copy their arguments (list(x), dict(x), tuple(x)): charge the copy before it is made.
    let copied = args.length;
    for (const arg of args) copied += sizeOf(arg);
    charge(COST.object + COST.slot * copied, `${callable.qualifiedName} copying ${copied} items`);
    const result = allowed(args, source);
    if (typeof result === 'object' && result !== null && !(result instanceof Uint8Array)) {
      for (const arg of args) if (arg !== result) nest(result, arg);
    }
    return result;
  };
  const asInt = (value: unknown): number => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw fail('a memo index is not an integer');
    return value;
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) throw fail(`the pickle reads memo slot ${index}, which was never written: it is damaged`);
    return memo.get(index);
  };
  const longBytes = (n: number): Uint8Array => {
    if (n > limits.pickleIntBytes) throw overLimit('pickleIntBytes', `the pickle holds a ${n}-byte integer; checkpoints need at most ${limits.pickleIntBytes}`);
    return bytes(n);
  };
  const decodeLong = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0;
    // One hex parse (linear) rather than a shift per byte (quadratic).
    let value = BigInt(`0x${Buffer.from(raw).reverse().toString('hex')}`);
    if (raw[raw.length - 1]! & 0x80) value -= 1n << BigInt(raw.length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const parseIntText = (textValue: string): number | bigint => {
    const trimmed = textValue.replace(/L$/, '');
    if (trimmed.length > limits.pickleIntBytes * 2.5) {
      throw overLimit('pickleIntBytes', `the pickle holds a ${trimmed.length}-digit integer; checkpoints need at most ${Math.floor(limits.pickleIntBytes * 2.4)} digits`);
    }
    if (!/^[-+]?\d+$/.test(trimmed)) throw fail(`the pickle holds a malformed integer "${textValue.slice(0, 40)}"`);
    const value = BigInt(trimmed);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) throw fail('the pickle sets dict items on something that is not a dict');
    if (items.length % 2 !== 0) throw fail('the pickle sets a dict item without a value');
    mutable(target);
    charge(COST.slot * items.length, 'dict items');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (target.has(key)) throw fail(`the pickle sets dict key ${JSON.stringify(typeof key === 'bigint' ? String(key) : key) ?? String(key)} twice; Python never writes a dict that way`);
      nest(target, key);
      nest(target, items[i + 1]);
      target.set(key, items[i + 1]);
    }
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw fail('the pickle appends to something that is not a list');
    mutable(target);
    charge(COST.slot * items.length, 'list items');
    for (const item of items) {
      nest(target, item);
      target.push(item);
    }
  };

  const maxMarks = limits.pickleDepth;
  for (;;) {
    const opcode = data[need(1)]!;
    if (++opcodes > limits.pickleOpcodes) throw overLimit('pickleOpcodes', `the pickle runs more than ${limits.pickleOpcodes} opcodes`);
    if ((opcodes & 0xffff) === 0) {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new CancelledError(`reading ${source}`);
      // every opcode pushes at most one value: a slot each, charged in bulk
      charge(COST.slot * 0x10000, 'values on the stack and in the memo');
    }
    switch (opcode) {
      case 0x80:
        need(1);
        break; // PROTO
      case 0x95:
        need(8);
        break; // FRAME: framing only
      case 0x2e: {
        // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: // MARK
        if (marks.length >= maxMarks) throw overLimit('pickleDepth', `the pickle opens more than ${maxMarks} MARKs at once`);
        marks.push(stack.length);
        break;
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      case 0x7d:
        charge(COST.map, 'dicts');
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        charge(COST.array, 'lists');
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        charge(COST.array, 'tuples');
        stack.push(Object.freeze([]));
        break; // EMPTY_TUPLE
      case 0x8f:
        charge(COST.map, 'sets');
        stack.push(new Set());
        break; // EMPTY_SET
      case 0x74: {
        const items = popMark();
        charge(COST.array + COST.slot * items.length, 'tuples');
        stack.push(Object.freeze(built(items, items)));
        break;
      } // TUPLE
      case 0x85: {
        charge(COST.array, 'tuples');
        const a = [pop()];
        stack.push(Object.freeze(built(a, a)));
        break;
      } // TUPLE1
      case 0x86: {
        charge(COST.array, 'tuples');
        const b = pop();
        const a = pop();
        const t = [a, b];
        stack.push(Object.freeze(built(t, t)));
        break;
      } // TUPLE2
      case 0x87: {
        charge(COST.array, 'tuples');
        const c = pop();
        const b = pop();
        const a = pop();
        const t = [a, b, c];
        stack.push(Object.freeze(built(t, t)));
        break;
      } // TUPLE3
      case 0x6c: {
        const items = popMark();
        charge(COST.array + COST.slot * items.length, 'lists');
        stack.push(built(items, items));
        break;
      } // LIST
      case 0x64: {
        charge(COST.map, 'dicts');
        const dict = new Map();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      } // DICT
      case 0x91: {
        const items = popMark();
        charge(COST.map + COST.slot * items.length, 'sets');
        stack.push(built(new Set(items), items));
        break;
      } // FROZENSET
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const target = top();
        if (!(target instanceof Set)) throw fail('ADDITEMS on something that is not a set');
        mutable(target);
        charge(COST.slot * items.length, 'set items');
        for (const i of items) {
          nest(target, i);
          target.add(i);
        }
        break;
      }
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(view.getInt32(need(4), true));
        break; // BININT
      case 0x4b:
        stack.push(data[need(1)]!);
        break; // BININT1
      case 0x4d:
        stack.push(view.getUint16(need(2), true));
        break; // BININT2
      case 0x8a:
        stack.push(decodeLong(longBytes(data[need(1)]!)));
        break; // LONG1
      case 0x8b: {
        const n = view.getInt32(need(4), true);
        if (n < 0) throw fail('LONG4 with a negative length');
        stack.push(decodeLong(longBytes(n)));
        break;
      }
      case 0x49: {
        // INT (text; "01"/"00" are protocol-0 booleans)
        const value = line();
        stack.push(value === '01' ? true : value === '00' ? false : parseIntText(value));
        break;
      }
      case 0x4c:
        stack.push(parseIntText(line()));
        break; // LONG (text)
      case 0x47:
        stack.push(view.getFloat64(need(8), false));
        break; // BINFLOAT (big-endian)
      case 0x46: {
        const value = Number(line());
        if (Number.isNaN(value)) throw fail('malformed FLOAT');
        stack.push(value);
        break;
      }
      case 0x58:
        stack.push(text(view.getUint32(need(4), true)));
        break; // BINUNICODE
      case 0x8c:
        stack.push(text(data[need(1)]!));
        break; // SHORT_BINUNICODE
      case 0x8d:
        stack.push(text(u64()));
        break; // BINUNICODE8
      case 0x56:
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt(a ?? b ?? '0', 16))));
        break; // UNICODE
      case 0x54: {
        const n = view.getInt32(need(4), true);
        if (n < 0) throw fail('BINSTRING with a negative length');
        const raw = bytes(n);
        charge(COST.string + 2 * n, 'strings');
        stack.push(latin1.decode(raw));
        break;
      }
      case 0x55: {
        const raw = bytes(data[need(1)]!);
        charge(COST.string + 2 * raw.length, 'strings');
        stack.push(latin1.decode(raw));
        break;
      } // SHORT_BINSTRING
      case 0x53: {
        // STRING (repr text)
        const raw = line();
        const quote = raw[0];
        if ((quote !== "'" && quote !== '"') || raw[raw.length - 1] !== quote) throw fail('malformed STRING');
        stack.push(
          raw
            .slice(1, -1)
            .replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_, hex: string | undefined, c: string | undefined) =>
              hex ? String.fromCharCode(parseInt(hex, 16)) : c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : (c ?? ''),
            ),
        );
        break;
      }
      case 0x42:
        stack.push(copyBytes(view.getUint32(need(4), true)));
        break; // BINBYTES
      case 0x43:
        stack.push(copyBytes(data[need(1)]!));
        break; // SHORT_BINBYTES
      case 0x8e:
        stack.push(copyBytes(u64()));
        break; // BINBYTES8
      case 0x96:
        stack.push(copyBytes(u64()));
        break; // BYTEARRAY8
      case 0x70:
        memo.set(asInt(parseIntText(line())), top());
        break; // PUT
      case 0x71:
        memo.set(data[need(1)]!, top());
        break; // BINPUT
      case 0x72:
        memo.set(view.getUint32(need(4), true), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x67:
        stack.push(memoGet(asInt(parseIntText(line()))));
        break; // GET
      case 0x68:
        stack.push(memoGet(data[need(1)]!));
        break; // BINGET
      case 0x6a:
        stack.push(memoGet(view.getUint32(need(4), true)));
        break; // LONG_BINGET
      case 0x61: {
        const item = pop();
        appendItems(top(), [item]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        appendItems(top(), items);
        break;
      } // APPENDS
      case 0x73: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(new PyGlobal(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL without a module and name');
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) throw fail('REDUCE without an argument tuple');
        stack.push(call(callable, [...args], 'call'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) throw fail('NEWOBJ without an argument tuple');
        stack.push(call(cls, [...args], 'call'));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) throw fail('NEWOBJ_EX without an argument tuple');
        stack.push(call(cls, [...args], 'call'));
        break;
      }
      case 0x69: {
        // INST
        const module = line();
        const name = line();
        stack.push(call(new PyGlobal(module, name), popMark(), 'call'));
        break;
      }
      case 0x6f: {
        // OBJ
        const [cls, ...args] = popMark();
        stack.push(call(cls, args, 'call'));
        break;
      }
      case 0x62: {
        // BUILD: sets state on an object; nothing is called
        const state = pop();
        const target = top();
        mutable(target);
        if (typeof target === 'object' && target !== null) nest(target, state);
        if (target instanceof PyObject) target.state = state;
        else if (isBuildable(target)) target.setState(state);
        else if (target instanceof Map) dictAttributes.set(target, state);
        // Other targets (tensors' hooks) carry nothing the weights need.
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) throw fail('the pickle refers to external data (persistent id) where none is expected');
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x50: {
        // PERSID
        const pid = line();
        if (!options.persistentLoad) throw fail('the pickle refers to external data (persistent id) where none is expected');
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4
        throw fail('the pickle uses the copyreg extension registry, which checkpoints never need');
      case 0x97:
      case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        throw fail('the pickle uses out-of-band buffers (protocol 5), which torch.save never writes');
      default:
        throw fail(`the pickle holds unknown opcode 0x${opcode.toString(16).padStart(2, '0')} at byte ${pos - 1}: the file is damaged or not a pickle`);
    }
  }
}
