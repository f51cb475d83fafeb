/** iot-rollout's usage texts: the command's, and each subcommand's (`iot-rollout create --help`). */
import type { RolloutCommandName } from "./rollout-args.js";
import { MAX_MISSES } from "./rollout-watch.js";

const CONNECTION = `Connection (every command):
  --server URL              the server's base URL, e.g. http://localhost:3201
                            (default: $IOT_SERVER_URL)
  --admin-token-file PATH   read the admin token from this file; otherwise from
                            $IOT_ADMIN_TOKEN. Never on the command line, where
                            \`ps\` shows it to everyone. Without either, requests
                            carry no token.
  --json                    print the server's rollout(s) as JSON on stdout
  -h, --help                print this help (iot-rollout <command> --help: that command's)
  --version                 print the version`;

const EXIT_STATUS = `Exit status (on failure stdout is empty and stderr says why):
  0  done (status --watch: the rollout completed)
  1  the server refused (its error line, what it means and the correlation id are printed)
  2  bad arguments, or a file or the admin token (file) cannot be used
  3  the server could not be reached, or the connection broke
  4  status --watch only: the rollout ended without completing (halted, aborted or rolled_back)`;

const GENERAL = `Usage: iot-rollout create --name NAME --patch JSON --targets all --waves 1,10,50,100 ...
       iot-rollout list
       iot-rollout status ID [--watch [--interval S]]
       iot-rollout pause|resume|abort|rollback ID

Releases a config change (a JSON merge patch; a firmware update is a patch naming the new
image) to a fleet in cumulative waves on an IoT Support server (/api/rollouts): the next
wave when enough released devices applied it, a halt when too many failed, a rollback that
puts every released device's previous config back.

Commands:
  create     start a rollout (its first wave is released at once)
  list       every rollout, newest first
  status ID  one rollout; --watch follows it until it ends
  pause ID   release no further wave (running → paused)
  resume ID  paused → running
  abort ID   stop for good (running or paused → aborted); configs stay as they are
  rollback ID  put back each released device's previous config (paused, halted, aborted
             or completed → rolled_back); prints the devices left alone

${CONNECTION}

${EXIT_STATUS}
`;

const CREATE = `Usage: iot-rollout create --name NAME (--patch JSON | --patch-file FILE)
         (--targets all|MAC,MAC,... | --targets-file FILE) --waves P1,...,100
         --advance-applied PERCENT --within SECONDS --halt-failed PERCENT [--evidence report|fetch]

Starts a rollout: POST /api/rollouts. Prints its id and a summary (with --json, the rollout).

  --name NAME               what the rollout is called in lists and on the watch
  --patch JSON              the JSON merge patch (RFC 7386) for each target's config,
                            e.g. '{"firmware": {"version": "1.4.2", "url": "..."}}'
  --patch-file FILE         the same, read from FILE
  --targets all             every device with a config, in MAC order
  --targets MAC,MAC,...     these devices, released in this order (aa-bb-cc-dd-ee-ff)
  --targets-file FILE       MACs separated by commas, spaces or lines; # starts a comment
  --waves P1,...,100        cumulative percentages of the targets, strictly increasing,
                            ending at 100: wave k releases the first ceil(Pk × N / 100)
  --advance-applied PERCENT the next wave is released once this share of the released
                            devices applied the change
  --within SECONDS          a released device that has not applied by then counts failed
  --halt-failed PERCENT     the rollout halts once this share of the released devices failed
  --evidence report|fetch   what counts as applied: the device reports state ok with the
                            new config's ETag (report, the default), or fetches it (fetch)

${CONNECTION}

${EXIT_STATUS}
`;

const STATUS = `Usage: iot-rollout status ID [--watch [--interval S]] [--json]

Shows one rollout: GET /api/rollouts/ID.

  --watch        follow it until it is completed, halted, aborted or rolled_back. On a
                 terminal, redrawn in place: one row per wave and a bar of the targets
                 (# applied, x failed, - pending, . not released). Otherwise one line per
                 change, e.g.
                 2026-07-04T12:00:09Z wave 2/4 10% released 100 applied 80 failed 3 pending 17 state running
                 With --json, one JSON object per change. A poll that fails because the
                 server is unreachable or busy is retried (${MAX_MISSES} in a row end the watch).
  --interval S   seconds between polls, 0.2 to 3600 (default 1)

${CONNECTION}

${EXIT_STATUS}
`;

const ACTION = (name: string, what: string) => `Usage: iot-rollout ${name} ID [--json]

${what}

${CONNECTION}

${EXIT_STATUS}
`;

export const ROLLOUT_USAGE: Record<RolloutCommandName | "general", string> = {
  general: GENERAL,
  create: CREATE,
  list: ACTION("list", "Lists every rollout, newest first: GET /api/rollouts.").replace(" ID", ""),
  status: STATUS,
  pause: ACTION("pause", "Releases no further wave until resumed (running → paused): POST /api/rollouts/ID/pause."),
  resume: ACTION("resume", "Lets a paused rollout go on (paused → running): POST /api/rollouts/ID/resume."),
  abort: ACTION(
    "abort",
    "Stops a running or paused rollout for good (→ aborted); configs already released stay.\nPOST /api/rollouts/ID/abort. A rollback may follow.",
  ),
  rollback: ACTION(
    "rollback",
    "Puts back each released device's previous config, with its notification (paused, halted,\naborted or completed → rolled_back): POST /api/rollouts/ID/rollback. A device whose config\nchanged after the rollout wrote it is left alone and listed as skipped.",
  ),
};
