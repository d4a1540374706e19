import { buildEdge } from "./lib/edge-build.ts";

const size = await buildEdge();
console.log(
  `edge bundle built: ${size.totalKiB} KiB total, ${size.gzipKiB} KiB gzip (limit 10240 KiB; target 4096 KiB)`,
);
