import { type Attribute, DataType, type Graph, type Node, type Tensor, type ValueInfo } from "./model.ts";

/** Versions the exported graphs target; onnx 1.12's checker and onnxruntime accept them. */
export const IR_VERSION = 8;
export const OPSET = 17;
export const ML_DOMAIN = "ai.onnx.ml";
export const ML_OPSET = 3;
export const BATCH = "N";

/**
 * Accumulates nodes and float32 constants. Internal value names contain ':' which feature names never do,
 * so they cannot collide with graph inputs.
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly valueInfo: ValueInfo[] = [];
  private counter = 0;

  input(info: ValueInfo): string {
    this.inputs.push(info);
    return info.name;
  }

  output(info: ValueInfo): void {
    this.outputs.push(info);
  }

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({
      name: `const:${name}`,
      dataType: DataType.FLOAT,
      dims,
      values: Float32Array.from(values),
    });
    return `const:${name}`;
  }

  int64s(name: string, dims: number[], values: number[]): string {
    this.initializers.push({ name: `const:${name}`, dataType: DataType.INT64, dims, values });
    return `const:${name}`;
  }

  /** Adds a node with one output; `output` names it explicitly (graph outputs), else a unique name is made. */
  op(
    opType: string,
    inputs: string[],
    options: { attributes?: Attribute[]; domain?: string; output?: string; hint?: string } = {},
  ): string {
    const id = this.counter++;
    const output = options.output ?? `${options.hint ?? opType.toLowerCase()}:${id}`;
    this.nodes.push({
      opType,
      name: `${opType}_${id}`,
      inputs,
      outputs: [output],
      ...(options.domain ? { domain: options.domain } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
    });
    return output;
  }

  build(name: string): Graph {
    return {
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
      valueInfo: this.valueInfo,
    };
  }
}
