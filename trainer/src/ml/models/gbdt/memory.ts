/**
 * The part of the WebAssembly JavaScript API the trainer uses, typed here because the trainer's
 * type-check has neither the DOM nor the worker globals that declare it.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
export const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const PAGE = 65_536;
/** WebAssembly memory is at most 4 GiB (65,536 pages). */
const MAX_PAGES = 65_536;

/**
 * One fit's working memory: a shared WebAssembly memory holding the binned matrix, row index, gradients,
 * margins and histograms, so the kernels (kernels.ts) and every thread of the team (team.ts) read the same
 * bytes without copies. Allocation is a bump pointer; nothing is freed before the fit ends (the grower
 * pools histograms). Growing a shared memory never detaches its buffer, so views made earlier stay valid.
 */
export class TrainingMemory {
  readonly memory: WasmMemory;
  private top = 64; // offset 0 stays unused: a zero pointer is never a live allocation

  constructor(bytes: number) {
    this.memory = new wasm.Memory({
      initial: Math.min(MAX_PAGES, Math.max(1, Math.ceil((bytes + 64) / PAGE))),
      maximum: MAX_PAGES,
      shared: true,
    });
  }

  /** Reserves `bytes` (16-byte aligned, zero-filled) and returns its byte offset. */
  allocate(bytes: number): number {
    const at = (this.top + 15) & ~15;
    const end = at + bytes;
    if (end > MAX_PAGES * PAGE) throw new WorkingMemoryExhausted(end);
    const pages = this.memory.buffer.byteLength / PAGE;
    const needed = Math.ceil(end / PAGE) - pages;
    // Grow by at least a quarter, so a run of small allocations does not grow page by page.
    if (needed > 0) this.memory.grow(Math.min(Math.max(needed, Math.ceil(pages / 4)), MAX_PAGES - pages));
    this.top = end;
    return at;
  }
}

/**
 * A fit needing more than a WebAssembly memory holds (4 GiB). Plain RangeError here, so worker threads
 * load no error machinery; the booster reports it as PAYLOAD_TOO_LARGE.
 */
export class WorkingMemoryExhausted extends RangeError {
  constructor(bytes: number) {
    super(
      `Gradient-boosted trees need more than 4 GiB of working memory here (${bytes} bytes): use fewer rows or columns`,
    );
    this.name = "WorkingMemoryExhausted";
  }
}

type TypedArrayClass<T> = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => T;

/** A typed view of `length` elements at byte offset `at` of a shared memory. */
export function view<T>(memory: WasmMemory, Kind: TypedArrayClass<T>, at: number, length: number): T {
  return new Kind(memory.buffer as unknown as SharedArrayBuffer, at, length);
}
