import type { ProtoWriter } from "./protobuf-writer.ts";

/** TensorProto.DataType values the trainer writes and the scoring rewrite needs. */
export const DataType = { FLOAT: 1, INT64: 7, STRING: 8, BOOL: 9 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** Tensor type with a shape; a string dimension is symbolic (dim_param), e.g. "N" for the batch. */
export interface ValueInfo {
  name: string;
  elemType: DataTypeCode;
  shape: (number | string)[];
}

/** ValueInfoProto: a tensor value's name, element type and shape. */
export function writeValueInfo(w: ProtoWriter, info: ValueInfo): void {
  w.stringField(1, info.name);
  w.messageField(2, (type) =>
    type.messageField(1, (tensorType) => {
      tensorType.varintField(1, info.elemType);
      tensorType.messageField(2, (shape) => {
        for (const dim of info.shape) {
          shape.messageField(1, (d) => {
            if (typeof dim === "number") d.varintField(1, dim);
            else d.stringField(2, dim);
          });
        }
      });
    }),
  );
}
