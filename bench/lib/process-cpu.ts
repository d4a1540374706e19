import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * The one workerd process this benchmark's Miniflare started (a child of this process); undefined where
 * there is no /proc or no single such child.
 */
export function workerdPid(): number | undefined {
  try {
    const out = execFileSync("pgrep", ["-P", String(process.pid), "workerd"], { encoding: "utf8" });
    const pids = out.split("\n").filter(Boolean).map(Number);
    return pids.length === 1 ? pids[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the process has run so far, all threads, in nanoseconds (the first field of each thread's
 * schedstat). Per request it moves far less than req/s when other work shares the machine.
 */
export function processCpuNs(pid: number): number {
  let total = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between listing and reading: its time is gone from the total either way.
    }
  }
  return total;
}

/**
 * CPU time of the process so far, including threads that have ended, in nanoseconds, from utime + stime
 * in /proc/PID/stat (clock ticks of 10 ms). For processes whose thread pools retire idle threads between
 * runs (uvicorn's), where summing the live threads' schedstat would lose the ended threads' time.
 */
export function processCpuNsWithEndedThreads(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  clockTicksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return (ticks * 1e9) / clockTicksPerSecond;
}
let clockTicksPerSecond: number | undefined;
