import { ChurnError } from "#shared/errors.ts";
import { auditCommand } from "./commands/audit.ts";
import { keysCommand } from "./commands/keys.ts";
import { manifestCommand } from "./commands/manifest.ts";
import { predictCommand } from "./commands/predict.ts";
import { publishCommand } from "./commands/publish.ts";
import { synthCommand } from "./commands/synth.ts";
import { trainCommand } from "./commands/train.ts";
import { workerCommand } from "./commands/worker.ts";
import { type CliIo, type Command, parseFlags, UsageError } from "./flags.ts";

/** Subcommands by name. */
export const commands: Record<string, Command> = {
  train: trainCommand,
  predict: predictCommand,
  synth: synthCommand,
  manifest: manifestCommand,
  publish: publishCommand,
  audit: auditCommand,
  keys: keysCommand,
  worker: workerCommand,
};

export function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const list = Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join("\n");
  return `Usage: churn <command> [options]\n\nCommands:\n${list}\n\nRun "churn <command> --help" for a command's options.\n`;
}

/** Runs one CLI invocation and returns its exit code: 0 ok, 1 failure (ChurnError), 2 usage error. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(helpText());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(helpText());
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(`error: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  try {
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(`Usage: ${command.usage}\n`);
      return 0;
    }
    const { values, positionals } = parseFlags(command, rest);
    return await command.run(values, io, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof ChurnError) {
      io.err(`error [${error.code}]: ${error.message}\n`);
      return 1;
    }
    io.err(`error [INTERNAL]: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

/** Entry point for bin/churn.js. */
export async function runCli(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2));
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
};
