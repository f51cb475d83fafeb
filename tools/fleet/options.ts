/** What a fleet run is asked to do, with the defaults the CLI and in-process callers share. */
import { REPORT_MODES, type ReportMode } from "./device-report.js";
import { FleetError } from "./errors.js";
import { checkPlan, type RolloutPlan } from "./rollout-plan.js";

export interface FleetOptions {
  /** How many simulated devices, each with its own MQTT connection and MAC. */
  devices: number;
  /** An existing broker; without it a private Mosquitto is started. */
  broker?: string;
  /** An existing server; without it a private one is started on a temporary DATA_DIR. */
  server?: string;
  /** Devices subscribe to iotsupport/updates/configs/<mac> (and the private server publishes there). */
  perDeviceTopics: boolean;
  /** RSA private key (PEM) that signs the firmware upload; default: the private server's dev key. */
  key?: string;
  /** Bearer token for the admin API (PUT /api/configs) when the server requires one. */
  token?: string;
  /** PID of an external server, so its open descriptors can be counted. */
  serverPid?: number;
  /** MQTT protocol of the devices: 5 carries the `etag` user property that lets a device skip a fetch. */
  mqttVersion: 4 | 5;
  /** Devices connecting at once. */
  connectConcurrency: number;
  /** Config saves in flight at once. */
  saveConcurrency: number;
  /** Device HTTP requests in flight at once, across the fleet (one shared pool). */
  fetchConcurrency: number;
  /** Size of the uploaded firmware image. */
  firmwareBytes: number;
  /** Deadline for every device to converge, from the first save. */
  timeoutSeconds: number;
  /** How devices report the config they applied; mqtt needs the server's MQTT_STATUS_TOPICS=true. */
  report: ReportMode;
  /** Each device gets its own token (POST /api/devices/{mac}/token) and sends it; the private server runs DEVICE_AUTH=device. */
  deviceTokens: boolean;
  /** Deadline for the fleet view to show every device current, from the last save's response. */
  viewTimeoutSeconds: number;
  /** Child processes holding the devices; undefined: as few as the descriptor limit allows (shards.ts). */
  shards?: number;
  /**
   * Tests only: the first N devices report `failed` with an ETag they never held, so the
   * fleet view never shows them current and the run must fail saying so.
   */
  failingDevices: number;
  /** After the fleet converged: one rollout over every device (rollout-plan.ts); none by default. */
  rollout?: RolloutPlan;
  /** How the private server is started (default: the TypeScript entry point through tsx). */
  serverCommand?: { command: string; args: string[] };
}

export const DEFAULTS = {
  perDeviceTopics: false,
  mqttVersion: 5,
  connectConcurrency: 100,
  saveConcurrency: 50,
  fetchConcurrency: 64,
  firmwareBytes: 1024 * 1024,
  timeoutSeconds: 180,
  report: "http",
  deviceTokens: false,
  viewTimeoutSeconds: 120,
  failingDevices: 0,
} as const satisfies Partial<FleetOptions>;

/** The options with every default filled in; callers may pass only what they change. */
export function withDefaults(options: Partial<FleetOptions> & { devices: number }): FleetOptions {
  return { ...DEFAULTS, ...stripUndefined(options) };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Refuses combinations that cannot work, before anything is started: an external
 * server publishes to its own broker (which a private one would not be), and only
 * the simulator's own server has a development key the simulator can read.
 */
export function checkOptions(options: FleetOptions): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new FleetError("USAGE", `${name} must be a positive integer`);
  };
  positive("--devices", options.devices);
  // Three bytes of each MAC number the device (macOf).
  if (options.devices > 0xffffff) throw new FleetError("USAGE", "--devices must be at most 16777215");
  positive("--connect-concurrency", options.connectConcurrency);
  positive("--save-concurrency", options.saveConcurrency);
  positive("--fetch-concurrency", options.fetchConcurrency);
  positive("--firmware-bytes", options.firmwareBytes);
  if (!(options.timeoutSeconds > 0)) throw new FleetError("USAGE", "--timeout must be a positive number of seconds");
  if (!(options.viewTimeoutSeconds > 0))
    throw new FleetError("USAGE", "--view-timeout must be a positive number of seconds");
  if (!REPORT_MODES.includes(options.report))
    throw new FleetError("USAGE", `--report must be one of ${REPORT_MODES.join(", ")}`);
  if (options.shards !== undefined) {
    positive("--shards", options.shards);
    if (options.shards > options.devices) throw new FleetError("USAGE", "--shards must be at most --devices");
  }
  if (options.rollout) {
    checkPlan(options.rollout);
    if (options.report === "none" && options.rollout.evidence === "report") {
      throw new FleetError("USAGE", "--rollout with --report none needs --evidence fetch: no device would report");
    }
  }
  if (options.mqttVersion !== 4 && options.mqttVersion !== 5)
    throw new FleetError("USAGE", "--mqtt-version must be 4 or 5");
  for (const [flag, url] of [
    ["--broker", options.broker],
    ["--server", options.server],
  ] as const) {
    if (url !== undefined && !URL.canParse(url)) throw new FleetError("USAGE", `${flag} is not a URL: ${url}`);
  }
  if (options.server !== undefined && options.broker === undefined) {
    throw new FleetError("USAGE", "--server needs --broker: the devices must listen where that server publishes");
  }
  if (options.server !== undefined && options.key === undefined) {
    throw new FleetError("USAGE", "--server needs --key: the firmware upload is signed with that server's key");
  }
}
