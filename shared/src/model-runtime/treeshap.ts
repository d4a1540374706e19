/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent Individualized Feature
 * Attribution for Tree Ensembles", Algorithm 2): SHAP values of one tree in O(leaves · depth²), where
 * "feature j unknown" means averaging over both children weighted by training cover.
 * Pure functions on plain arrays: no Node APIs, so the edge runs the very same code.
 */

/** What TreeSHAP reads from a tree; typed arrays or plain arrays from a parsed package. */
export interface ShapTree {
  /** Split column per node; -1 marks a leaf. */
  feature: ArrayLike<number>;
  /** Go left when x <= threshold (float32 values compared with float32 inputs). */
  threshold: ArrayLike<number>;
  /** 1 when a missing (NaN) value goes left. */
  missingLeft: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  /** Leaf values (margin units). */
  value: ArrayLike<number>;
  /** Training hessian sum reaching each node; > 0. */
  cover: ArrayLike<number>;
}

export function goesLeft(tree: ShapTree, node: number, x: number): boolean {
  return x <= tree.threshold[node]! || (Number.isNaN(x) && tree.missingLeft[node] === 1);
}

export function leafIndex(tree: ShapTree, x: ArrayLike<number>): number {
  let node = 0;
  while (tree.feature[node]! >= 0) {
    node = goesLeft(tree, node, x[tree.feature[node]!]!) ? tree.left[node]! : tree.right[node]!;
  }
  return node;
}

/** Cover-weighted mean leaf value: the tree's output when no feature is known. */
export function expectedValue(tree: ShapTree, node = 0): number {
  if (tree.feature[node]! < 0) return tree.value[node]!;
  const l = tree.left[node]!;
  const r = tree.right[node]!;
  const cover = tree.cover[node]!;
  return (
    (tree.cover[l]! / cover) * expectedValue(tree, l) + (tree.cover[r]! / cover) * expectedValue(tree, r)
  );
}

export function depthOf(tree: ShapTree, node = 0): number {
  if (tree.feature[node]! < 0) return 0;
  return 1 + Math.max(depthOf(tree, tree.left[node]!), depthOf(tree, tree.right[node]!));
}

/**
 * Storage for the "unique path" of every recursion level (level d holds d+1 elements), reused across
 * rows and trees so explaining a row allocates nothing.
 */
export class ShapWorkspace {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
  /** 1/k: the path arithmetic divides by small integers, and multiplying is several times faster. */
  readonly reciprocal: Float64Array;
  readonly maxDepth: number;

  constructor(maxDepth: number) {
    this.maxDepth = maxDepth;
    const levels = maxDepth + 2;
    const size = ((levels + 1) * (levels + 2)) / 2;
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
    this.reciprocal = Float64Array.from({ length: levels + 2 }, (_, k) => 1 / k);
  }
}

/**
 * Adds the SHAP values of `tree` at row `x` (indexed by split column) to `phi`.
 * Σ phi over a tree = f(x) − expectedValue(tree), exactly up to rounding.
 */
export function treeShap(tree: ShapTree, x: ArrayLike<number>, phi: Float64Array, ws: ShapWorkspace): void {
  recurse(tree, x, phi, ws, 0, 0, 0, 1, 1, -1);
}

/**
 * `parent` is where the parent's path starts in the workspace, `depth` its length minus one; this
 * level's path is a copy placed right after it, extended with the edge into `node`.
 */
function recurse(
  tree: ShapTree,
  x: ArrayLike<number>,
  phi: Float64Array,
  ws: ShapWorkspace,
  node: number,
  parent: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  const path = parent + depth + 1;
  // Plain loops: copyWithin's call overhead dominates for paths this short.
  const { feature, zero, one, weight } = ws;
  for (let i = 0; i <= depth; i++) {
    feature[path + i] = feature[parent + i]!;
    zero[path + i] = zero[parent + i]!;
    one[path + i] = one[parent + i]!;
    weight[path + i] = weight[parent + i]!;
  }
  extendPath(ws, path, depth, zeroFraction, oneFraction, featureIndex);

  const split = tree.feature[node]!;
  if (split < 0) {
    const value = tree.value[node]!;
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(ws, path, depth, i);
      phi[ws.feature[path + i]!]! += w * (ws.one[path + i]! - ws.zero[path + i]!) * value;
    }
    return;
  }

  const left = tree.left[node]!;
  const right = tree.right[node]!;
  const hot = goesLeft(tree, node, x[split]!) ? left : right;
  const cold = hot === left ? right : left;
  const cover = tree.cover[node]!;
  let incomingZero = 1;
  let incomingOne = 1;
  let unique = depth;

  // A feature met again on the path: undo its earlier edge and redo it combined with this one.
  let k = 0;
  while (k <= unique && ws.feature[path + k] !== split) k++;
  if (k <= unique) {
    incomingZero = ws.zero[path + k]!;
    incomingOne = ws.one[path + k]!;
    unwindPath(ws, path, unique, k);
    unique--;
  }
  recurse(
    tree,
    x,
    phi,
    ws,
    hot,
    path,
    unique + 1,
    (tree.cover[hot]! / cover) * incomingZero,
    incomingOne,
    split,
  );
  recurse(tree, x, phi, ws, cold, path, unique + 1, (tree.cover[cold]! / cover) * incomingZero, 0, split);
}

/** Grows the path by one element, updating the permutation weights of all subset sizes. */
function extendPath(
  ws: ShapWorkspace,
  path: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  featureIndex: number,
): void {
  const { weight } = ws;
  const scale = ws.reciprocal[depth + 1]!;
  ws.feature[path + depth] = featureIndex;
  ws.zero[path + depth] = zeroFraction;
  ws.one[path + depth] = oneFraction;
  weight[path + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    weight[path + i + 1]! += oneFraction * weight[path + i]! * (i + 1) * scale;
    weight[path + i] = zeroFraction * weight[path + i]! * (depth - i) * scale;
  }
}

/** Removes element `index` from the path, inverting extendPath. */
function unwindPath(ws: ShapWorkspace, path: number, depth: number, index: number): void {
  const { weight, reciprocal } = ws;
  const oneFraction = ws.one[path + index]!;
  const zeroFraction = ws.zero[path + index]!;
  let nextOnePortion = weight[path + depth]!;
  if (oneFraction !== 0) {
    const up = (depth + 1) / oneFraction;
    const down = zeroFraction * reciprocal[depth + 1]!;
    for (let i = depth - 1; i >= 0; i--) {
      const previous = weight[path + i]!;
      weight[path + i] = nextOnePortion * up * reciprocal[i + 1]!;
      nextOnePortion = previous - weight[path + i]! * down * (depth - i);
    }
  } else {
    const up = (depth + 1) / zeroFraction;
    for (let i = depth - 1; i >= 0; i--) weight[path + i] = weight[path + i]! * up * reciprocal[depth - i]!;
  }
  for (let i = index; i < depth; i++) {
    ws.feature[path + i] = ws.feature[path + i + 1]!;
    ws.zero[path + i] = ws.zero[path + i + 1]!;
    ws.one[path + i] = ws.one[path + i + 1]!;
  }
}

/** Total permutation weight the path would have with element `index` unwound, without changing it. */
function unwoundPathSum(ws: ShapWorkspace, path: number, depth: number, index: number): number {
  const { weight, reciprocal } = ws;
  const oneFraction = ws.one[path + index]!;
  const zeroFraction = ws.zero[path + index]!;
  let nextOnePortion = weight[path + depth]!;
  let total = 0;
  if (oneFraction !== 0) {
    const inverseOne = 1 / oneFraction;
    for (let i = depth - 1; i >= 0; i--) {
      const share = nextOnePortion * inverseOne * reciprocal[i + 1]!;
      total += share;
      nextOnePortion = weight[path + i]! - share * zeroFraction * (depth - i);
    }
  } else {
    const inverseZero = 1 / zeroFraction;
    for (let i = depth - 1; i >= 0; i--) total += weight[path + i]! * inverseZero * reciprocal[depth - i]!;
  }
  return total * (depth + 1);
}
