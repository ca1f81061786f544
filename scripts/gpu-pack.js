#!/usr/bin/env node
// Packs what a GPU machine needs to run ParamZoo's speed benches on WebGPU, into one compressed
// file small enough for the device tool to carry (64 MiB with the working tree): the machine may
// have no Node, no npm and no Vulkan loader. Writes build/gpu-pack.tgz holding gpu-pack/:
//   node                   this Node binary (the benches run on it)
//   train.mjs, generate.mjs bench/rpg-train.ts and bench/rpg-generate.ts bundled into one file each
//                          (TensorFlow.js with its WebGPU backend inside; Dawn's binding beside them)
//   node_modules/webgpu/   Dawn's Node binding, this platform's dawn.node only
//   lib/libvulkan.so.1     the Vulkan loader (Dawn opens it; a compute-only driver install may lack it)
//   run.sh                 finds or writes the NVIDIA Vulkan ICD, then runs the benches into $OUT
// Usage: node scripts/gpu-pack.js   then, on the device: tar xzf build/gpu-pack.tgz -C /tmp && /tmp/gpu-pack/run.sh
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'build', 'gpu-pack');
const PLATFORM = `${process.platform}-${process.arch}`;

if (process.platform !== 'linux') {
  console.error('gpu-pack: builds the Linux pack only (the device machines run Linux)');
  process.exit(1);
}
rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'lib'), { recursive: true });

for (const [name, entry] of [
  ['train.mjs', 'bench/rpg-train.ts'],
  ['generate.mjs', 'bench/rpg-generate.ts'],
]) {
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile: join(OUT, name),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dawn's binding is native (copied beside the bundle); the other backends are never chosen there.
    external: ['webgpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'better-sqlite3'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

const dawn = join(ROOT, 'node_modules', 'webgpu');
const dawnOut = join(OUT, 'node_modules', 'webgpu');
mkdirSync(join(dawnOut, 'dist'), { recursive: true });
for (const file of ['index.js', 'package.json']) copyFileSync(join(dawn, file), join(dawnOut, file));
cpSync(join(dawn, 'dist', PLATFORM), join(dawnOut, 'dist', PLATFORM), { recursive: true });

copyFileSync(process.execPath, join(OUT, 'node'));
const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].find(existsSync);
if (loader) copyFileSync(loader, join(OUT, 'lib', 'libvulkan.so.1'));
else console.warn('gpu-pack: no libvulkan.so.1 here to carry (apt-get install libvulkan1); the device must have its own');

writeFileSync(
  join(OUT, 'run.sh'),
  `#!/usr/bin/env bash
# On the GPU machine: report what Vulkan sees, then the benches on WebGPU (and, for scale, the same
# step count on nothing else: that machine has no PyTorch). Output goes to \${OUT:-.}.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="\${OUT:-$here/out}"; mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "== machine"; uname -a; nvidia-smi 2>&1 | head -15
  echo "== Vulkan ICDs"; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  echo "== NVIDIA GL/Vulkan libraries"; ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia* /usr/lib/x86_64-linux-gnu/libnvidia-glvkspirv* 2>&1
} >"$out/machine.txt" 2>&1
# A driver mounted for compute only has no ICD file: point the loader at the NVIDIA library if it is there.
if ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  lib="$(ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 2>/dev/null | head -1)"
  if [ -n "$lib" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\\n' "$lib" >"$here/nvidia_icd.json"
    export VK_ICD_FILENAMES="$here/nvidia_icd.json"
    echo "wrote an ICD for $lib" >>"$out/machine.txt"
  fi
fi
cd "$here"
./node -e "import('./node_modules/webgpu/index.js').then(({create}) => create([]).requestAdapter({powerPreference: 'high-performance'})).then((a) => console.log(JSON.stringify(a && {info: {vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description, fallback: a.info.isFallbackAdapter}, maxBufferSize: a.limits.maxBufferSize, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize})))" >"$out/adapter.json" 2>"$out/adapter.err"
cat "$out/adapter.json"
# tiny and small presets, ms per step (steps: \${STEPS:-30}); then 10 models of the ~1M zoo, DDIM 60 and 20
timeout \${TRAIN_SECONDS:-240} ./node train.mjs webgpu \${STEPS:-30} >"$out/train.txt" 2>&1; echo "train exit $?" >>"$out/train.txt"
timeout \${GENERATE_SECONDS:-240} ./node generate.mjs timing webgpu >"$out/generate.txt" 2>&1; echo "generate exit $?" >>"$out/generate.txt"
tail -n 8 "$out/train.txt" "$out/generate.txt"
`,
);
chmodSync(join(OUT, 'run.sh'), 0o755);

const tarball = join(ROOT, 'build', 'gpu-pack.tgz');
execFileSync('tar', ['czf', tarball, '-C', dirname(OUT), 'gpu-pack']);
console.log(`gpu-pack: ${tarball} (${(statSync(tarball).size / 2 ** 20).toFixed(1)} MiB); on the device: tar xzf build/gpu-pack.tgz -C /tmp && /tmp/gpu-pack/run.sh`);
