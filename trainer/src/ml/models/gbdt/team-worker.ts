import { workerData } from "node:worker_threads";
import type { FitLayout } from "./fit-layout.ts";
import { useKernelModule } from "./kernels.ts";
import type { WasmMemory } from "./memory.ts";
import { ThreadContext } from "./phases.ts";
import { serveTeam } from "./team.ts";

/** A GBDT fit's worker thread (team.ts): runs shares of the fit's phases on the shared memory. */
const { memory, layout, thread, kernels } = workerData as {
  memory: WasmMemory;
  layout: FitLayout;
  thread: number;
  /** The compiled kernel module, so this thread need not assemble and compile its own. */
  kernels: object;
};
useKernelModule(kernels);
serveTeam(new ThreadContext(memory, layout, thread));
