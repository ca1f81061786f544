// Preloaded into a CLI process (NODE_OPTIONS=--require …) by tests/engine.tf-on-first-use.test.ts:
// at exit, writes to stderr how many TensorFlow.js modules Node's module cache holds (tfjs loads as
// CommonJS in Node, so every one of its files passes through require.cache).
process.on('exit', () => {
  const count = Object.keys(require.cache).filter((path) => /[\\/]@tensorflow[\\/]/.test(path)).length;
  process.stderr.write(`\n[tensorflow-modules ${count}]\n`);
});
