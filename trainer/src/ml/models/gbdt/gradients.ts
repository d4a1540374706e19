/**
 * Logistic loss derivatives in the margin for rows [from, to), interleaved float32:
 * g = w (p − y), h = w p (1 − p) (at least 1e-16 w).
 */
export function logisticGradients(
  margin: Float64Array,
  y: ArrayLike<number>,
  weights: Float64Array,
  gradHess: Float32Array,
  from = 0,
  to = margin.length,
): void {
  for (let i = from; i < to; i++) {
    const p = 1 / (1 + Math.exp(-margin[i]!));
    const w = weights[i]!;
    gradHess[2 * i] = (p - (y[i] ? 1 : 0)) * w;
    gradHess[2 * i + 1] = Math.max(p * (1 - p), 1e-16) * w;
  }
}
