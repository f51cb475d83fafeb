/** `npm run fleet -- ...`: the command line → FleetOptions, with the help text beside the flags it describes. */
import { parseArgs } from "node:util";
import { FleetError } from "./errors.js";
import { DEFAULTS, type FleetOptions, withDefaults } from "./options.js";
import { parseWaves, ROLLOUT_DEFAULTS, type RolloutEvidence, type RolloutPlan } from "./rollout-plan.js";

export interface FleetCommand {
  options: FleetOptions;
  /** Print the figures as one JSON object on stdout (progress still goes to stderr). */
  json: boolean;
}

export const HELP = `Usage: npm run fleet -- --devices N [options]

Simulates N ESP32s: each holds its own MQTT connection, is told of its config save and
of a firmware upload, fetches its config (If-None-Match), reports it applied it, and
reads the firmware header. Then waits for the fleet view (GET /api/devices) to show every
device current. Prints how long both took. Exits 1 unless every device converged and
was current in the fleet view, with no HTTP error and at most one storage write for
read records per device per 10 s.

  --devices N              simulated devices (required)
  --broker URL             use this broker (default: start a private Mosquitto)
  --server URL             use this server (default: start a private one; needs --broker and --key)
  --per-device-topics      devices subscribe to iotsupport/updates/configs/<mac>
                           (the private server is started with MQTT_DEVICE_TOPICS=true)
  --report http|mqtt|none  how devices report the config they applied (default ${DEFAULTS.report}):
                           PUT /files/status/<mac>.json, or QoS 1 to iotsupport/status/<mac>
                           (the private server is started with MQTT_STATUS_TOPICS=true)
  --device-tokens          each device gets its own token (POST /api/devices/{mac}/token, with
                           --token) and sends it (the private server runs DEVICE_AUTH=device)
  --shards N               child processes holding the devices (default: as few as the
                           open-file limit allows, one MQTT connection per device)
  --key PEM                RSA private key that signs the firmware (default: the private server's dev key)
  --token T                bearer token for PUT /api/configs, when the server requires one
  --server-pid P           count this server's open descriptors (automatic for a private server)
  --mqtt-version 4|5       device protocol (default ${DEFAULTS.mqttVersion}; 5 carries the etag property)
  --connect-concurrency N  devices connecting at once (default ${DEFAULTS.connectConcurrency})
  --save-concurrency N     config saves in flight (default ${DEFAULTS.saveConcurrency})
  --fetch-concurrency N    device HTTP requests in flight, fleet-wide (default ${DEFAULTS.fetchConcurrency})
  --firmware-bytes N       size of the uploaded firmware (default ${DEFAULTS.firmwareBytes})
  --timeout S              seconds for the whole fleet to converge (default ${DEFAULTS.timeoutSeconds}),
                           and with --rollout for the rollout to end, from its creation
  --view-timeout S         seconds, from the last save, for the fleet view to show every
                           device current (default ${DEFAULTS.viewTimeoutSeconds})
  --rollout                then one rollout (POST /api/rollouts) over every device, watched
                           until it completes or halts: prints each wave's time (release to
                           next release), the final state and counts, and the share of the
                           fleet whose config changed. Devices apply it and report ok, except
                           --fail-share of them (chosen by a hash of the MAC) that report failed
  --waves P1,...,100       the rollout's cumulative waves in % (default ${ROLLOUT_DEFAULTS.waves.join(",")})
  --fail-share F           share 0–1 of the devices that fail the rollout (default ${ROLLOUT_DEFAULTS.failShare})
  --evidence report|fetch  what counts as applied (default ${ROLLOUT_DEFAULTS.evidence}; with fetch a
                           device that fetched has applied, even if it then reports failed)
  --advance-percent N      advance_when.applied_percent (default ${ROLLOUT_DEFAULTS.appliedPercent})
  --halt-percent N         halt_when.failed_percent (default ${ROLLOUT_DEFAULTS.failedPercent})
  --within S               advance_when.within_s (default ${ROLLOUT_DEFAULTS.withinSeconds})
  --json                   print the figures as one JSON object
  -h, --help               this text
`;

/** Returns undefined when help was asked for. Throws FleetError("USAGE") on a bad command line. */
export function parseFleetArgs(argv: string[]): FleetCommand | undefined {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    // parseArgs's own message names the flag ("Unknown option '--x'").
    throw new FleetError("USAGE", (error as Error).message, { cause: error });
  }
  if (values.help) return undefined;
  if (values.devices === undefined) throw new FleetError("USAGE", "--devices N is required");
  const rolloutOnly = ROLLOUT_FLAGS.filter((flag) => values[flag] !== undefined);
  if (!values.rollout && rolloutOnly.length > 0) {
    throw new FleetError("USAGE", `--${rolloutOnly[0]} needs --rollout`);
  }
  const options = withDefaults({
    devices: integer("--devices", values.devices),
    broker: values.broker,
    server: values.server,
    perDeviceTopics: values["per-device-topics"],
    key: values.key,
    token: values.token,
    serverPid: optionalInteger("--server-pid", values["server-pid"]),
    mqttVersion: optionalInteger("--mqtt-version", values["mqtt-version"]) as 4 | 5 | undefined,
    connectConcurrency: optionalInteger("--connect-concurrency", values["connect-concurrency"]),
    saveConcurrency: optionalInteger("--save-concurrency", values["save-concurrency"]),
    fetchConcurrency: optionalInteger("--fetch-concurrency", values["fetch-concurrency"]),
    firmwareBytes: optionalInteger("--firmware-bytes", values["firmware-bytes"]),
    timeoutSeconds: optionalNumber("--timeout", values.timeout),
    report: values.report as FleetOptions["report"] | undefined,
    shards: optionalInteger("--shards", values.shards),
    deviceTokens: values["device-tokens"],
    viewTimeoutSeconds: optionalNumber("--view-timeout", values["view-timeout"]),
    rollout: values.rollout ? rolloutPlan(values) : undefined,
  });
  return { options, json: values.json ?? false };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      devices: { type: "string" },
      broker: { type: "string" },
      server: { type: "string" },
      "per-device-topics": { type: "boolean" },
      key: { type: "string" },
      token: { type: "string" },
      "server-pid": { type: "string" },
      "mqtt-version": { type: "string" },
      "connect-concurrency": { type: "string" },
      "save-concurrency": { type: "string" },
      "fetch-concurrency": { type: "string" },
      "firmware-bytes": { type: "string" },
      timeout: { type: "string" },
      report: { type: "string" },
      shards: { type: "string" },
      "device-tokens": { type: "boolean" },
      "view-timeout": { type: "string" },
      rollout: { type: "boolean" },
      waves: { type: "string" },
      "fail-share": { type: "string" },
      evidence: { type: "string" },
      "advance-percent": { type: "string" },
      "halt-percent": { type: "string" },
      within: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

const ROLLOUT_FLAGS = ["waves", "fail-share", "evidence", "advance-percent", "halt-percent", "within"] as const;

function rolloutPlan(values: ReturnType<typeof parse>["values"]): RolloutPlan {
  return {
    waves: values.waves === undefined ? [...ROLLOUT_DEFAULTS.waves] : parseWaves(values.waves),
    failShare: optionalNumber("--fail-share", values["fail-share"]) ?? ROLLOUT_DEFAULTS.failShare,
    evidence: (values.evidence as RolloutEvidence | undefined) ?? ROLLOUT_DEFAULTS.evidence,
    appliedPercent: optionalInteger("--advance-percent", values["advance-percent"]) ?? ROLLOUT_DEFAULTS.appliedPercent,
    failedPercent: optionalInteger("--halt-percent", values["halt-percent"]) ?? ROLLOUT_DEFAULTS.failedPercent,
    withinSeconds: optionalInteger("--within", values.within) ?? ROLLOUT_DEFAULTS.withinSeconds,
  };
}

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new FleetError("USAGE", `${flag} must be a whole number, not "${text}"`);
  return Number(text);
}

const optionalInteger = (flag: string, text: string | undefined) =>
  text === undefined ? undefined : integer(flag, text);

function optionalNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new FleetError("USAGE", `${flag} must be a number, not "${text}"`);
  return value;
}
