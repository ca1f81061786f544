// Seeded pseudo-random numbers for RPG: reproducible initialisation, noise and token sampling.
// mulberry32 for uniforms (32-bit state, fast, passes the statistical tests that matter here) and
// Box-Muller for normals. The state is two numbers, so a run can be saved and resumed exactly.

const TWO_POW_32 = 4294967296;

export class Rng {
  private s: number;
  /** the second Box-Muller value, kept for the next normal() call; NaN when none is cached */
  private spare = Number.NaN;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    // Mix the seed so that nearby seeds (0, 1, 2, …) start far apart.
    this.s = Math.imul((Math.trunc(seed) ^ 0x9e3779b9) >>> 0, 0x85ebca6b) >>> 0;
  }

  /** uniform in [0, 1), 32 bits of resolution */
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_POW_32;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** standard normal N(0, 1) */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = Number.NaN;
      return z;
    }
    // 1 − u keeps the logarithm's argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  fillNormal(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }

  fillUniform(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform();
  }

  /** k distinct integers from [0, n), in random order (partial Fisher-Yates) */
  sampleWithoutReplacement(n: number, k: number): Int32Array {
    if (k > n) throw new RangeError(`cannot draw ${k} distinct values from ${n}`);
    const pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }

  /** JSON-safe snapshot: [state word] or [state word, cached second normal] */
  state(): number[] {
    return Number.isNaN(this.spare) ? [this.s] : [this.s, this.spare];
  }

  static fromState(s: number[]): Rng {
    const [word, spare] = s;
    if (word === undefined || !Number.isInteger(word) || word < 0 || word >= TWO_POW_32 || s.length > 2) {
      throw new RangeError(`not an Rng state: ${JSON.stringify(s)}`);
    }
    const rng = new Rng(0);
    rng.s = word;
    rng.spare = spare === undefined ? Number.NaN : spare;
    return rng;
  }
}
