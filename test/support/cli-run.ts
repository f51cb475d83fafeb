/**
 * Runs a command of this repository as a user would, as a child process with a clean
 * environment (nothing of the test runner's leaks in), collecting its output.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./server.js";

export const UPLOAD_BIN = join(ROOT, "bin/iot-upload.mjs");
export const DEVICE_BIN = join(ROOT, "bin/iot-device.mjs");
export const ROLLOUT_BIN = join(ROOT, "bin/iot-rollout.mjs");

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  finished: Promise<Finished>;
}

/** Starts a program in `cwd` (the repository by default) with only PATH, HOME and `env` in its environment. */
export function start(command: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Running {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, finished };
}

/** `node bin/iot-upload.mjs ...args`, started. */
export const startUpload = (args: string[], env: Record<string, string> = {}) =>
  start(process.execPath, [UPLOAD_BIN, ...args], env);

/** `node bin/iot-upload.mjs ...args`, run to the end. */
export const runUpload = (args: string[], env: Record<string, string> = {}) => startUpload(args, env).finished;

/** `node bin/iot-device.mjs ...args`, run to the end. */
export const runDevice = (args: string[], env: Record<string, string> = {}) =>
  start(process.execPath, [DEVICE_BIN, ...args], env).finished;

/** `node bin/iot-rollout.mjs ...args`, run to the end. */
export const runRollout = (args: string[], env: Record<string, string> = {}) =>
  start(process.execPath, [ROLLOUT_BIN, ...args], env).finished;
