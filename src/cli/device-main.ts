/**
 * iot-device: issue, rotate and revoke per-device tokens. `runDevice` takes every outside
 * dependency as an argument and returns the exit status; `main` wires it to this process.
 * The device token goes to stdout once and nowhere else: not to stderr, not into an error.
 */
import { VERSION } from "../version.js";
import type { AdminCliDeps } from "./admin-args.js";
import { adminServerOf } from "./admin-token.js";
import { type DeviceCommand, type DeviceOptions, parseDeviceCommand } from "./device-args.js";
import { DEVICE_USAGE } from "./device-help.js";
import { type DeviceTarget, issueToken, revokeTokens } from "./device-request.js";
import { EXIT } from "./errors.js";
import { reportFailure, reportUsage } from "./report.js";

export type DeviceCliDeps = AdminCliDeps;

const NAME = "iot-device";

export async function runDevice(deps: DeviceCliDeps): Promise<number> {
  let command: DeviceCommand;
  try {
    command = parseDeviceCommand(deps.argv, deps.env);
  } catch (error) {
    return reportUsage(NAME, error, DEVICE_USAGE, deps.stderr);
  }
  if (command.kind === "help") {
    deps.stdout(DEVICE_USAGE);
    return EXIT.OK;
  }
  if (command.kind === "version") {
    deps.stdout(`${NAME} ${VERSION}\n`);
    return EXIT.OK;
  }
  try {
    await carryOut(command.options, deps);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(NAME, error, deps.stderr);
  }
}

async function carryOut(options: DeviceOptions, deps: DeviceCliDeps): Promise<void> {
  const server = await adminServerOf(options, { name: NAME, platform: deps.platform, stderr: deps.stderr });
  const target: DeviceTarget = { ...server, mac: options.mac };
  const { mac } = options;
  if (options.action === "revoke") {
    await revokeTokens(target, deps);
    deps.stdout(
      options.json
        ? `${JSON.stringify({ mac_address: mac, revoked: true })}\n`
        : `revoked every token of ${mac}: it can no longer read its config (on every server sharing the storage within 1 s)\n`,
    );
    return;
  }
  const issued = await issueToken(target, deps);
  if (options.json) {
    deps.stdout(`${JSON.stringify(issued)}\n`);
    return;
  }
  deps.stdout(
    `token for ${mac}, issued ${issued.issued_at} (shown only here; the server keeps its hash):\n` +
      `${issued.token}\n` +
      `The device sends it as the header "Authorization: Bearer <token>" when it reads /files/configs/${mac}.json; a token it had before works until it first uses this one.\n`,
  );
}

/** The command in this process: real stdio, fetch and clock. */
export async function main(argv = process.argv.slice(2)): Promise<number> {
  return runDevice({
    argv,
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    fetch: globalThis.fetch,
    clock: () => new Date(),
    platform: process.platform,
  });
}
