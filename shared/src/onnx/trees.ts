import type { DecodedNode } from "./model-proto.ts";
import { refuse } from "./refusal.ts";

/**
 * Checks a TreeEnsembleRegressor or TreeEnsembleClassifier's node lists and measures them: every tree must
 * be a tree (one root, each branch's children in the same tree, no node reached twice, so no cycle can
 * keep a record walking), and a record's work is the sum of the trees' depths. `maxNodes` is checked
 * before the lists are decoded.
 */
export function treeSteps(
  node: DecodedNode,
  label: string,
  maxNodes: number,
): { nodes: number; steps: number } {
  const list = (name: string) => node.attributes.find((a) => a.name === name);
  const count = list("nodes_nodeids")?.ints ?? 0;
  if (count > maxNodes) throw refuse(`${label} has ${count} tree nodes; at most ${maxNodes} are allowed`);
  const treeIds = list("nodes_treeids")?.readInts() ?? [];
  const nodeIds = list("nodes_nodeids")?.readInts() ?? [];
  const trueIds = list("nodes_truenodeids")?.readInts() ?? [];
  const falseIds = list("nodes_falsenodeids")?.readInts() ?? [];
  const modes = list("nodes_modes")?.readStrings() ?? [];
  if ([treeIds, trueIds, falseIds, modes].some((l) => l.length !== nodeIds.length))
    throw refuse(`${label}'s node lists (nodes_treeids, nodes_nodeids, nodes_modes, …) differ in length`);

  // Node positions per tree: children are named by node id within their tree.
  const trees = new Map<number, Map<number, number>>();
  nodeIds.forEach((id, k) => {
    const tree = treeIds[k]!;
    const members = trees.get(tree) ?? new Map<number, number>();
    trees.set(tree, members);
    if (members.has(id)) throw refuse(`${label} defines node ${id} of tree ${tree} twice`);
    members.set(id, k);
  });
  // Positions of each branch's two children (-1 for a leaf), and which nodes are someone's child.
  const left = new Int32Array(nodeIds.length).fill(-1);
  const right = new Int32Array(nodeIds.length).fill(-1);
  const isChild = new Uint8Array(nodeIds.length);
  nodeIds.forEach((id, k) => {
    if (modes[k] === "LEAF") return;
    const members = trees.get(treeIds[k]!)!;
    const child = (target: number) => {
      const position = members.get(target);
      if (position === undefined)
        throw refuse(`${label}: node ${id} of tree ${treeIds[k]} points to missing node ${target}`);
      isChild[position] = 1;
      return position;
    };
    left[k] = child(trueIds[k]!);
    right[k] = child(falseIds[k]!);
  });

  const seen = new Uint8Array(nodeIds.length);
  let steps = 0;
  for (const [tree, members] of trees) {
    const roots = [...members.values()].filter((k) => isChild[k] === 0);
    if (roots.length === 0) throw refuse(`${label}: tree ${tree} has no root (its nodes form a cycle)`);
    if (roots.length > 1) throw refuse(`${label}: tree ${tree} has ${roots.length} roots; a tree has one`);
    const stack = [roots[0]!, 1];
    let depth = 0;
    let reached = 0;
    while (stack.length > 0) {
      const level = stack.pop()!;
      const k = stack.pop()!;
      if (seen[k] === 1) throw refuse(`${label}: tree ${tree} reaches node ${nodeIds[k]} twice`);
      seen[k] = 1;
      reached++;
      if (level > depth) depth = level;
      if (left[k]! >= 0) stack.push(left[k]!, level + 1, right[k]!, level + 1);
    }
    if (reached !== members.size) throw refuse(`${label}: tree ${tree} has nodes its root does not reach`);
    steps += depth;
  }
  return { nodes: nodeIds.length, steps };
}
