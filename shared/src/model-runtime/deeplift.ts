/**
 * Exact additive attributions for a one-hidden-layer ReLU network, margin = w2 · relu(W1 x + b1) + b2,
 * by DeepLIFT's rescale rule against a reference row r (the mean encoded training row). Hidden unit j
 * passes on the share s_j = w2_j · (relu(z_j) − relu(z0_j)) / (z_j − z0_j) of its input change (w2_j or 0
 * when z and z0 sit on the same side of zero), so encoded column k gets Σ_j s_j · W1_jk · (x_k − r_k).
 * Summed over columns this is Σ_j w2_j · (relu(z_j) − relu(z0_j)) = margin − margin(r) for every row:
 * additive by construction. It is not a Shapley value: features meeting inside a unit share its change
 * in proportion to their input, not by averaging over orders.
 *
 * Shared by the trainer and the edge, so both explain with the same arithmetic. Weights are float32 values.
 */
export interface ReluNet {
  hidden: number;
  width: number;
  /** hidden x width, row-major. */
  w1: ArrayLike<number>;
  b1: ArrayLike<number>;
  w2: ArrayLike<number>;
  b2: number;
  /** The reference row (width values). */
  reference: ArrayLike<number>;
}

export interface CompiledReluNet {
  net: ReluNet;
  /** Pre-activations at the reference row. */
  z0: Float64Array;
  /** margin(reference). */
  baseMargin: number;
  /** Per-row scratch: pre-activations and unit shares. */
  z: Float64Array;
  share: Float64Array;
}

export function compileReluNet(net: ReluNet): CompiledReluNet {
  const z0 = new Float64Array(net.hidden);
  preActivations(net, net.reference, 0, z0);
  let baseMargin = net.b2;
  for (let j = 0; j < net.hidden; j++) baseMargin += net.w2[j]! * Math.max(z0[j]!, 0);
  return { net, z0, baseMargin, z: new Float64Array(net.hidden), share: new Float64Array(net.hidden) };
}

/**
 * Adds the row's contributions into `out[at + columnFeature[k]]` and returns its margin (float64 from the
 * float32 weights). `x` holds the encoded row at `offset`.
 */
export function explainReluRow(
  c: CompiledReluNet,
  x: ArrayLike<number>,
  offset: number,
  columnFeature: ArrayLike<number>,
  out: Float64Array,
  at: number,
): number {
  const { net, z0, z, share } = c;
  const { hidden: h, width, w1, w2 } = net;
  preActivations(net, x, offset, z);
  let margin = c.baseMargin;
  for (let j = 0; j < h; j++) {
    const a = z[j]!;
    const a0 = z0[j]!;
    const delta = Math.max(a, 0) - Math.max(a0, 0);
    margin += w2[j]! * delta;
    share[j] = a > 0 && a0 > 0 ? w2[j]! : a <= 0 && a0 <= 0 ? 0 : (w2[j]! * delta) / (a - a0);
  }
  for (let k = 0; k < width; k++) {
    const dx = x[offset + k]! - net.reference[k]!;
    if (dx === 0) continue;
    let s = 0;
    for (let j = 0; j < h; j++) s += share[j]! * w1[j * width + k]!;
    out[at + columnFeature[k]!]! += s * dx;
  }
  return margin;
}

/** z = W1 · x + b1 for the row of `x` at `offset`, float64 sums of the float32 products. */
export function preActivations(net: ReluNet, x: ArrayLike<number>, offset: number, z: Float64Array): void {
  const { hidden: h, width, w1, b1 } = net;
  for (let j = 0; j < h; j++) z[j] = b1[j]!;
  for (let k = 0; k < width; k++) {
    const v = x[offset + k]!;
    if (v === 0) continue;
    for (let j = 0; j < h; j++) z[j]! += w1[j * width + k]! * v;
  }
}
