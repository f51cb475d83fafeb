/**
 * The operator's side of the scenario: wait for the server to be ready to notify,
 * save a device's config, upload a signed firmware image. Each call says whether it
 * succeeded; a failure is recorded in the shared HTTP error log, never thrown, so one
 * refused save is a figure in the report rather than the end of the run.
 */
import type { KeyObject } from "node:crypto";
import { Agent } from "node:http";
import { multipartBody } from "../../src/cli/multipart-body.js";
import { signUpload } from "../../src/cli/signature.js";
import type { DeviceRow, DeviceSync } from "../../src/features/fleet/contract.js";
import type { RolloutView } from "../../src/features/rollouts/contract.js";
import { FleetError, throwIfAborted } from "./errors.js";
import { type HttpRequest, type HttpResult, networkErrorKind, send, sendIdempotent, statusKind } from "./http.js";
import type { HttpErrors } from "./http-errors.js";

const TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;

export interface Admin {
  /** Resolves once /api/health says the notification sink is connected; throws SETUP after 30 s. */
  waitUntilNotifying(signal?: AbortSignal): Promise<void>;
  saveConfig(mac: string, content: Record<string, unknown>): Promise<boolean>;
  uploadFirmware(key: KeyObject, filename: string, image: Buffer): Promise<boolean>;
  /**
   * HEAD /files/configs/<mac>.json: the ETag of the stored config, null when there is none
   * (404), undefined when the request failed (recorded as a "config HEAD" error).
   */
  storedEtag(mac: string): Promise<string | null | undefined>;
  /**
   * GET /api/devices (with `?sync=` when given): the fleet view's rows, undefined when the
   * request failed (recorded as a "fleet view" error).
   */
  listDevices(sync?: DeviceSync): Promise<DeviceRow[] | undefined>;
  /** POST /api/devices/{mac}/token: the device's own token (DEVICE_AUTH=device); undefined when refused. */
  issueDeviceToken(mac: string): Promise<string | undefined>;
  /** POST /api/rollouts with this body: the rollout (201), undefined when refused (recorded as a "rollout create" error). */
  createRollout(body: Record<string, unknown>): Promise<RolloutView | undefined>;
  /** GET /api/rollouts/{id}: undefined when the request failed (recorded as a "rollout view" error). */
  getRollout(id: string): Promise<RolloutView | undefined>;
  /** GET /metrics as text (open unless the server sets METRICS_TOKEN_HASHES); undefined when refused or failed. */
  metrics(): Promise<string | undefined>;
  /** Destroys the admin's keep-alive sockets. */
  close(): void;
}

export function createAdmin(
  serverUrl: string,
  token: string | undefined,
  concurrency: number,
  errors: HttpErrors,
): Admin {
  const base = new URL(serverUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  // A new connection per request, none left open: for health polls (they come before the server's
  // descriptors are first counted), the upload, and a PUT sent again after the keep-alive race.
  const fresh = new Agent({ keepAlive: false });
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

  /** The answer when its status is one of `ok`; any other outcome is recorded here, once, as undefined. */
  const call = async (
    operation: string,
    path: string,
    init: Omit<HttpRequest, "agent" | "timeoutMs">,
    ok: (status: number) => boolean = (status) => status === 200,
  ): Promise<HttpResult | undefined> => {
    const started = performance.now();
    const after = () => `${path} after ${Math.round(performance.now() - started)} ms`;
    let result: HttpResult;
    try {
      const url = new URL(path, base);
      // GET, HEAD and PUT may be sent again after the keep-alive race. An upload may not (its signature
      // is accepted once), so it goes on a new connection, which cannot have been closed under it.
      result = await (init.method === "POST"
        ? send(url, { ...init, agent: fresh, timeoutMs: TIMEOUT_MS })
        : sendIdempotent(url, { ...init, agent, timeoutMs: TIMEOUT_MS }, { fresh, onRetry: errors.retried }));
    } catch (error) {
      errors.record(operation, networkErrorKind(error), `${after()}: ${String(error)}`);
      return undefined;
    }
    if (ok(result.status)) return result;
    errors.record(operation, statusKind(result), `${after()}: ${result.body.toString("utf8", 0, 300)}`);
    return undefined;
  };

  const rolloutOf = (operation: string, result: HttpResult): RolloutView | undefined => {
    try {
      return JSON.parse(result.body.toString("utf8")) as RolloutView;
    } catch (error) {
      errors.record(operation, "not JSON", String(error));
      return undefined;
    }
  };

  return {
    async waitUntilNotifying(signal) {
      const deadline = performance.now() + READY_TIMEOUT_MS;
      let last = "no answer yet";
      while (performance.now() < deadline) {
        throwIfAborted(signal);
        try {
          const result = await send(new URL("/api/health", base), { agent: fresh, timeoutMs: 5000 });
          const health = JSON.parse(result.body.toString("utf8")) as { notifications?: { ready?: boolean } };
          if (health.notifications?.ready) return;
          last = `health says ${result.body.toString("utf8", 0, 300)}`;
        } catch (error) {
          last = String(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new FleetError("SETUP", `the server's notifications were not ready within 30 s (${last})`);
    },
    async saveConfig(mac, content) {
      const result = await call("config save", `/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", ...auth },
        body: Buffer.from(JSON.stringify({ content })),
      });
      return result !== undefined;
    },
    async storedEtag(mac) {
      const result = await call(
        "config HEAD",
        `/files/configs/${mac}.json`,
        { method: "HEAD" },
        (status) => status === 200 || status === 404,
      );
      if (!result) return undefined;
      const etag = result.headers.etag;
      return result.status === 200 && typeof etag === "string" ? etag : null;
    },
    async listDevices(sync) {
      const result = await call("fleet view", `/api/devices${sync ? `?sync=${sync}` : ""}`, { headers: auth });
      if (!result) return undefined;
      try {
        return (JSON.parse(result.body.toString("utf8")) as { devices: DeviceRow[] }).devices;
      } catch (error) {
        errors.record("fleet view", "not JSON", String(error));
        return undefined;
      }
    },
    async issueDeviceToken(mac) {
      const result = await call(
        "device token",
        `/api/devices/${mac}/token`,
        { method: "POST", headers: auth },
        (status) => status === 201,
      );
      if (!result) return undefined;
      const { token } = JSON.parse(result.body.toString("utf8")) as { token?: unknown };
      return typeof token === "string" ? token : undefined;
    },
    async createRollout(body) {
      const result = await call(
        "rollout create",
        "/api/rollouts",
        {
          method: "POST",
          headers: { "Content-Type": "application/json", ...auth },
          body: Buffer.from(JSON.stringify(body)),
        },
        (status) => status === 201,
      );
      return result && rolloutOf("rollout create", result);
    },
    async getRollout(id) {
      const result = await call("rollout view", `/api/rollouts/${encodeURIComponent(id)}`, { headers: auth });
      return result && rolloutOf("rollout view", result);
    },
    async metrics() {
      // Not through `call`: a server without metrics is a figure ("n/a"), not an HTTP error of the run.
      try {
        const result = await send(new URL("/metrics", base), { agent: fresh, timeoutMs: TIMEOUT_MS });
        return result.status === 200 ? result.body.toString("utf8") : undefined;
      } catch (error) {
        errors.record("metrics", networkErrorKind(error), String(error));
        return undefined;
      }
    },
    async uploadFirmware(key, filename, image) {
      // Signed at the last moment: the server accepts a timestamp only within its tolerance, and each signature once.
      const timestamp = new Date().toISOString();
      // Version 1, as devices' tooling signs: over the timestamp alone (filename and hash are not part of it).
      const signature = signUpload(key, 1, { timestamp, filename, sha256: "" });
      const body = multipartBody({
        fields: [
          ["timestamp", timestamp],
          ["signature", signature],
        ],
        filename,
        fileSize: image.length,
        fileChunks: async function* () {
          yield image;
        },
      });
      // Collected in memory (the image is generated, not read from a file): no progress to show, no read to fail.
      const ignore = () => {};
      const bytes = Buffer.from(await new Response(body.stream(ignore, ignore)).arrayBuffer());
      const result = await call("firmware upload", "/api/assets", {
        method: "POST",
        headers: { "Content-Type": body.contentType, ...auth },
        body: bytes,
      });
      return result !== undefined;
    },
    close() {
      agent.destroy();
      fresh.destroy();
    },
  };
}
