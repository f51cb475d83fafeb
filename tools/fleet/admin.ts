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
import { FleetError, throwIfAborted } from "./errors.js";
import { type HttpRequest, type HttpResult, networkErrorKind, send, sendIdempotent } from "./http.js";
import type { HttpErrors } from "./http-errors.js";

const TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;

export interface Admin {
  /** Resolves once /api/health says the notification sink is connected; throws SETUP after 30 s. */
  waitUntilNotifying(signal?: AbortSignal): Promise<void>;
  saveConfig(mac: string, content: Record<string, unknown>): Promise<boolean>;
  uploadFirmware(key: KeyObject, filename: string, image: Buffer): Promise<boolean>;
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

  const call = async (operation: string, path: string, init: Omit<HttpRequest, "agent" | "timeoutMs">) => {
    let result: HttpResult;
    try {
      const url = new URL(path, base);
      // A PUT may be sent again after the keep-alive race. An upload may not (its signature is
      // accepted once), so it goes on a new connection, which cannot have been closed under it.
      result = await (init.method === "PUT"
        ? sendIdempotent(url, { ...init, agent, timeoutMs: TIMEOUT_MS }, { fresh, onRetry: errors.retried })
        : send(url, { ...init, agent: fresh, timeoutMs: TIMEOUT_MS }));
    } catch (error) {
      errors.record(operation, networkErrorKind(error), `${path}: ${String(error)}`);
      return false;
    }
    if (result.status === 200) return true;
    errors.record(operation, `status ${result.status}`, `${path}: ${result.body.toString("utf8", 0, 300)}`);
    return false;
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
    saveConfig(mac, content) {
      return call("config save", `/api/configs/${mac}`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", ...auth },
        body: Buffer.from(JSON.stringify({ content })),
      });
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
      return call("firmware upload", "/api/assets", {
        method: "POST",
        headers: { "Content-Type": body.contentType, ...auth },
        body: bytes,
      });
    },
    close() {
      agent.destroy();
      fresh.destroy();
    },
  };
}
