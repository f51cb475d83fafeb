/**
 * `npm run fleet -- --devices N ...`: parses the command line, runs the fleet, prints
 * the report (text, or one JSON object with --json) on stdout and progress on stderr.
 * Exit 0 when every device converged with no HTTP error, 1 when not, 2 on a usage
 * error, 3 when the broker or server could not be set up, 130 on Ctrl-C. Ctrl-C and
 * SIGTERM abort the run, which still stops everything it started before exiting.
 */
import { HELP, parseFleetArgs } from "./args.js";
import { isFleetError } from "./errors.js";
import { runFleet } from "./fleet.js";
import { formatReport } from "./format.js";

const EXIT = { OK: 0, FAILED: 1, USAGE: 2, SETUP: 3, INTERRUPTED: 130 } as const;

async function main(argv: string[]): Promise<number> {
  let command: ReturnType<typeof parseFleetArgs>;
  try {
    command = parseFleetArgs(argv);
  } catch (error) {
    process.stderr.write(`fleet: ${(error as Error).message}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (!command) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const interrupt = (signal: NodeJS.Signals) => {
    interrupts++;
    // A second Ctrl-C means "now": the private broker and server got the same signal from the terminal.
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED);
    process.stderr.write(`fleet: ${signal}: stopping and cleaning up (again to quit at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);

  try {
    const report = await runFleet(command.options, {
      signal: controller.signal,
      log: (line) => process.stderr.write(`fleet: ${line}\n`),
    });
    process.stdout.write(command.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return report.ok ? EXIT.OK : EXIT.FAILED;
  } catch (error) {
    if (isFleetError(error)) {
      process.stderr.write(`fleet: ${error.message}\n`);
      if (error.code === "USAGE") return EXIT.USAGE;
      if (error.code === "ABORTED") return EXIT.INTERRUPTED;
      return EXIT.SETUP;
    }
    process.stderr.write(
      `fleet: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.FAILED;
  }
}

// process.exitCode rather than exit(): stdout is flushed first (a JSON report piped to a file is never cut).
process.exitCode = await main(process.argv.slice(2));
