/** Exponential moving average with bias correction (TensorBoard's smoothing): weight 0 = raw. */
export function smooth(values: number[], weight: number): number[] {
  let last = 0;
  let debias = 0;
  return values.map((v) => {
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    return debias === 0 ? v : last / debias;
  });
}
