/**
 * The HTTP side of every simulated device, shared by the whole fleet: one keep-alive
 * pool for config reads (a device's own connection would cost a socket per device),
 * one pool that never reuses a socket for firmware header reads (an OTA check reads
 * the image header and hangs up), and one limiter over all of them. Status reports go
 * through the keep-alive pool too.
 */
import { Agent } from "node:http";
import { type HttpResult, networkErrorKind, send, sendIdempotent, statusKind } from "./http.js";
import type { HttpErrors } from "./http-errors.js";
import { createLimiter } from "./limit.js";

/** What an ESP-IDF OTA check reads before deciding whether to download the whole image. */
export const HEADER_BYTES = 1024;
const TIMEOUT_MS = 30_000;

export type ConfigOutcome =
  /** `marked`: the body holds the rollout's marker (rollout-plan.ts), i.e. this is the rollout's config. */
  | { status: 200; etag: string | undefined; marked: boolean }
  | { status: 304 }
  /** No config stored for this MAC: the answer to a check, never to an announcement (that is an error). */
  | { status: 404 }
  | { status: "error" };

export interface DeviceHttp {
  /**
   * GET /files/configs/<mac>.json, conditional on the ETag the device holds. `announced`: a
   * notification said the config was saved, so 404 is an error; otherwise (the check after a
   * reconnect) 404 is the server's true answer for a device whose config is not saved yet.
   */
  fetchConfig(mac: string, etag: string | undefined, announced: boolean, token?: string): Promise<ConfigOutcome>;
  /** PUT /files/status/<mac>.json with the report's JSON; true on 204. */
  reportStatus(mac: string, body: Buffer, token?: string): Promise<boolean>;
  /** GET /files/assets/<name> with Range: bytes=0-1023; true when the header arrived. */
  readFirmwareHeader(filename: string, token?: string): Promise<boolean>;
  /** Destroys every socket the pools hold, so the server sees them all closed. */
  close(): void;
}

export function createDeviceHttp(
  serverUrl: string,
  concurrency: number,
  errors: HttpErrors,
  rolloutMarker?: string,
): DeviceHttp {
  const base = new URL(serverUrl);
  const marker = rolloutMarker === undefined ? undefined : Buffer.from(rolloutMarker);
  const limiter = createLimiter(concurrency);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: concurrency });
  const oneShot = new Agent({ keepAlive: false, maxSockets: concurrency });

  /** Runs one exchange in the limiter; any failure is recorded here, once, and reported as undefined. */
  const exchange = async (
    operation: string,
    path: string,
    run: (url: URL) => Promise<HttpResult>,
    ok: (status: number) => boolean,
  ): Promise<HttpResult | undefined> => {
    // Timed from the moment the limiter lets it go: the wait for a slot is not the server's.
    let started = Number.NaN;
    const after = () => `${path} after ${Math.round(performance.now() - started)} ms`;
    try {
      const result = await limiter.run(() => {
        started = performance.now();
        return run(new URL(path, base));
      });
      if (ok(result.status)) return result;
      errors.record(operation, statusKind(result), `${after()}: ${result.body.toString("utf8", 0, 200)}`);
    } catch (error) {
      errors.record(operation, networkErrorKind(error), `${after()}: ${String(error)}`);
    }
    return undefined;
  };

  return {
    async fetchConfig(mac, etag, announced, token) {
      const path = `/files/configs/${mac}.json`;
      const result = await exchange(
        "config fetch",
        path,
        (url) =>
          sendIdempotent(
            url,
            {
              agent: keepAlive,
              timeoutMs: TIMEOUT_MS,
              headers: { ...bearer(token), ...(etag ? { "If-None-Match": etag } : {}) },
            },
            { fresh: oneShot, onRetry: errors.retried },
          ),
        (status) => status === 200 || status === 304 || (status === 404 && !announced),
      );
      if (!result) return { status: "error" };
      if (result.status === 304 || result.status === 404) return { status: result.status };
      const header = result.headers.etag;
      const marked = marker !== undefined && result.body.includes(marker);
      return { status: 200, etag: typeof header === "string" ? header : undefined, marked };
    },
    async reportStatus(mac, body, token) {
      const result = await exchange(
        "status report",
        `/files/status/${mac}.json`,
        // A PUT of the whole state: sent again after the keep-alive race like a GET.
        (url) =>
          sendIdempotent(
            url,
            {
              method: "PUT",
              agent: keepAlive,
              timeoutMs: TIMEOUT_MS,
              headers: { ...bearer(token), "Content-Type": "application/json" },
              body,
            },
            { fresh: oneShot, onRetry: errors.retried },
          ),
        (status) => status === 204,
      );
      return result !== undefined;
    },
    async readFirmwareHeader(filename, token) {
      const path = `/files/assets/${encodeURIComponent(filename)}`;
      const result = await exchange(
        "firmware read",
        path,
        (url) =>
          send(url, {
            agent: oneShot,
            timeoutMs: TIMEOUT_MS,
            headers: { ...bearer(token), Range: `bytes=0-${HEADER_BYTES - 1}` },
            maxBody: HEADER_BYTES,
          }),
        (status) => status === 206 || status === 200,
      );
      if (!result) return false;
      const expected = Math.min(HEADER_BYTES, imageSize(result) ?? HEADER_BYTES);
      if (result.body.length < expected) {
        errors.record("firmware read", "short read", `${path}: ${result.body.length} of ${expected} bytes`);
        return false;
      }
      return true;
    },
    close() {
      keepAlive.destroy();
      oneShot.destroy();
    },
  };
}

/** A device's own token (DEVICE_AUTH=device), as firmware sends it; nothing in open mode. */
const bearer = (token: string | undefined): Record<string, string> =>
  token ? { Authorization: `Bearer ${token}` } : {};

/** The whole image's size: from Content-Range on a 206, Content-Length on a 200. */
function imageSize(result: HttpResult): number | undefined {
  const range = /\/(\d+)$/.exec(String(result.headers["content-range"] ?? ""));
  const text = range ? range[1] : result.headers["content-length"];
  return text === undefined ? undefined : Number(text);
}
