declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

/** Bytes bundled as data (wrangler's default rule for `.bin`). */
declare module "*.bin" {
  const data: ArrayBuffer;
  export default data;
}
