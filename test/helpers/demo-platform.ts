import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";

/**
 * The whole platform as `npm start` runs it (control plane, edge, a demo tenant with a small trained model)
 * in a temp dir of its own, for the enclosing describe block: started before its tests, stopped and
 * removed after them. Returns a getter, as the platform exists only once the block's tests run.
 */
export function demoPlatform(prefix: string): () => Platform {
  let dir: string | undefined;
  let platform: Platform | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    platform = await startPlatform({
      dataDir: join(dir, "data"),
      controlPlanePort: 0,
      edgePort: 0,
      demoRows: 1200,
      demoTimeBudget: 5,
    });
  });
  afterAll(async () => {
    await platform?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!platform) throw new Error("the platform is not started yet");
    return platform;
  };
}
