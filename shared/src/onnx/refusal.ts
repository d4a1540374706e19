import { ChurnError } from "../errors.ts";

/** A published model the safety check turns away; the message names the node, operator or tensor. */
export const refuse = (message: string): ChurnError =>
  new ChurnError("INVALID_MODEL", `Model refused: ${message}`);
