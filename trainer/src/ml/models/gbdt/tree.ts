/**
 * A regression tree as parallel arrays indexed by node id (root = 0, children after their parent).
 * Internal node n sends x to `left[n]` when `x <= threshold[n]`, NaN to `left[n]` iff `missingLeft[n]`;
 * leaves have `column[n] = -1`. This is exactly the ONNX TreeEnsembleRegressor BRANCH_LEQ rule.
 */
export interface Tree {
  column: Int32Array;
  /** float32 data values; comparisons are made on float32 inputs. */
  threshold: Float32Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf values, learning rate applied, float32-rounded; 0 on internal nodes. */
  value: Float32Array;
  /** Hessian sum of the training rows reaching the node (TreeSHAP's cover). */
  cover: Float64Array;
  /** Loss reduction of the split; 0 on leaves. */
  gain: Float64Array;
}

/** Leaf reached by row `row` of a column-major float32 matrix (one array per column). */
export function leafOf(tree: Tree, columns: readonly Float32Array[], row: number): number {
  const { column, threshold, missingLeft, left, right } = tree;
  let n = 0;
  while (column[n]! >= 0) {
    const x = columns[column[n]!]![row]!;
    const goLeft = x <= threshold[n]! || (Number.isNaN(x) && missingLeft[n] === 1);
    n = goLeft ? left[n]! : right[n]!;
  }
  return n;
}

/**
 * Margins in float32 arithmetic, trees summed in order and the base score added last, as
 * onnxruntime's TreeEnsembleRegressor does for float inputs.
 */
export function predictMargins(
  trees: readonly Tree[],
  baseScore: number,
  columns: readonly Float32Array[],
  rows: number,
): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let t = 0; t < trees.length; t++) {
      const tree = trees[t]!;
      sum = Math.fround(sum + tree.value[leafOf(tree, columns, r)]!);
    }
    out[r] = Math.fround(sum + baseScore);
  }
  return out;
}

export function leafCount(tree: Tree): number {
  let leaves = 0;
  for (let n = 0; n < tree.column.length; n++) if (tree.column[n]! < 0) leaves++;
  return leaves;
}

export function treeDepth(tree: Tree, node = 0): number {
  if (tree.column[node]! < 0) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]!), treeDepth(tree, tree.right[node]!));
}
