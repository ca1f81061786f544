// timm layouts inside a torch.save file: a plain state_dict, or a training checkpoint (weights
// under `state_dict` or `model`, EMA weights and optimizer state beside them, `module.` /
// `_orig_mod.` prefixes from DataParallel and torch.compile). Hub folders: timm-hub.ts.
import type { CheckpointLayout } from '../protocol.js';
import { PyObject, dictAttributes } from './pickle.js';

export interface Unwrapped<T> {
  layout: CheckpointLayout;
  tensors: Array<[string, T]>;
  metadata: Record<string, string>;
}

const WEIGHT_KEYS = ['state_dict', 'model'];
const WRAPPER_PREFIXES = ['module.', '_orig_mod.'];

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}

function stripWrapperPrefixes(name: string): string {
  for (let stripped = true; stripped; ) {
    stripped = false;
    for (const prefix of WRAPPER_PREFIXES) {
      if (name.startsWith(prefix)) {
        name = name.slice(prefix.length);
        stripped = true;
      }
    }
  }
  return name;
}

/**
 * Finds the weights in what torch.load would return: the root dict itself (a state_dict) or the
 * dict under `state_dict` / `model` (a training checkpoint, whose scalars become metadata).
 */
export function unwrapTorchObject<T>(root: unknown, isTensor: (value: unknown) => value is T, fail: (problem: string, hint?: string) => Error, metadataAttribute: string): Unwrapped<T> {
  if (!(root instanceof Map)) {
    throw fail(`holds a ${isTensor(root) ? 'single tensor' : Array.isArray(root) ? 'list' : typeof root}, not a dict of named tensors`, 'save the weights with torch.save(model.state_dict(), path)');
  }
  const tensorsOf = (dict: Map<unknown, unknown>): Array<[string, T]> => [...dict].filter((pair): pair is [string, T] => typeof pair[0] === 'string' && isTensor(pair[1]));
  const metadata: Record<string, string> = {};
  const attributes = dictAttributes.get(root);
  const saved = attributes instanceof Map ? attributes.get(metadataAttribute) : undefined;
  if (saved instanceof Map) for (const [key, value] of saved) if (typeof key === 'string' && typeof value === 'string') metadata[key] = value;

  const weightKey = WEIGHT_KEYS.find((key) => {
    const value = root.get(key);
    return value instanceof Map && tensorsOf(value).length > 0;
  });
  if (weightKey === undefined) {
    const tensors = tensorsOf(root);
    if (tensors.length === 0) throw fail('holds no tensors', 'save the weights with torch.save(model.state_dict(), path)');
    return { layout: 'state_dict', tensors, metadata };
  }

  const tensors: Array<[string, T]> = [];
  const seen = new Set<string>();
  for (const [rawName, tensor] of tensorsOf(root.get(weightKey) as Map<unknown, unknown>)) {
    const name = stripWrapperPrefixes(rawName);
    if (seen.has(name)) throw fail(`holds both "${rawName}" and another tensor named "${name}" once prefixes are removed`);
    seen.add(name);
    tensors.push([name, tensor]);
  }
  const ignored: string[] = [];
  for (const [key, value] of root) {
    if (typeof key !== 'string' || key === weightKey) continue;
    const text = scalarText(value);
    if (text !== undefined) metadata[key] = text;
    else if (value instanceof PyObject && value.state instanceof Map) {
      // argparse.Namespace: its scalar fields, as JSON
      const fields: Record<string, string | number | boolean> = {};
      for (const [field, fieldValue] of value.state) {
        if (typeof field === 'string' && (typeof fieldValue === 'string' || typeof fieldValue === 'number' || typeof fieldValue === 'boolean')) fields[field] = fieldValue;
      }
      metadata[key] = JSON.stringify(fields);
    } else if (key === 'state_dict_ema' && value instanceof Map) {
      metadata.state_dict_ema = `${tensorsOf(value).length} EMA tensors present, not loaded`;
    } else ignored.push(key);
  }
  if (ignored.length > 0) metadata.ignored = ignored.join(',');
  return { layout: 'timm_training_checkpoint', tensors, metadata };
}
