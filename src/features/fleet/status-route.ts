/**
 * PUT /files/status/{mac}.json: a device says what it runs. Device-facing, so it sits under
 * /files behind the same gate as the device reads (features/devices/device-access.ts:
 * open, fleet or device mode). The body is read under the body guard (at most
 * MAX_REPORT_BYTES however it is sent, chunked included), checked by the one check of
 * reports (report-body.ts), and recorded durably before the 204. A refused report records
 * nothing and is counted as `invalid`.
 */
import type { Context } from "hono";
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps, AppEnv } from "../../core/deps.js";
import { AppError, invalidOperation, isAppError, payloadTooLarge, validationFailed } from "../../core/errors.js";
import { macOfConfigFile } from "../../core/names.js";
import { discardRest, readGuardedBytes } from "../request-limits/body-guard.js";
import { MAX_REPORT_BYTES, parseReport } from "./report-body.js";
import { putStatusReport } from "./schemas.js";

/** Reads at most MAX_REPORT_BYTES of the body; more is 413 whether declared or not. */
async function readReport(c: Context<AppEnv>, deps: AppDeps): Promise<Uint8Array> {
  const request = c.req.raw;
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > MAX_REPORT_BYTES) {
    if (request.body) {
      // Read and dropped, so the connection stays usable (see AppDeps.refusedBodies).
      const discarded = discardRest(request.body);
      if (deps.refusedBodies === "before-answer") await discarded;
    }
    throw payloadTooLarge(MAX_REPORT_BYTES);
  }
  if (!request.body) return new Uint8Array(0);
  try {
    return await readGuardedBytes(request.body, {
      maxBytes: MAX_REPORT_BYTES,
      idleMs: deps.limits.idleTimeoutMs,
      // Open mode has proven nothing about the sender: a trickle must not hold a connection.
      minRate: { bytesPerSecond: deps.limits.minBytesPerSecond, exempt: () => deps.devices.access.mode !== "open" },
    });
  } catch (error) {
    if (isAppError(error)) throw error;
    // The client's stream broke (typically: gone mid-body): its failure, not the server's.
    throw new AppError("VALIDATION_FAILED", "Request body could not be read completely", {
      details: { field: "body" },
      cause: error,
    });
  }
}

export function statusRoutes(deps: AppDeps) {
  const { observer } = deps;
  const { records, etags } = deps.fleet;
  const { misses } = deps.devices;
  const app = createApi();
  addRoute(app, putStatusReport, async (c) => {
    try {
      const mac = macOfConfigFile(c.req.param("file").toLowerCase());
      if (mac === undefined) {
        throw invalidOperation("Invalid status file name: expected <mac>.json, e.g. aa-bb-cc-dd-ee-ff.json", {
          field: "mac_address",
        });
      }
      // A device token speaks for its own MAC only. Refused with 403, not the 404 a read of
      // another's config gets: a report may come for any MAC (one without a config is still
      // recorded), so this answer is the same for every other MAC and tells nothing of which exist.
      const own = c.get("deviceMac");
      if (own !== undefined && own !== mac) {
        throw new AppError("FORBIDDEN", "A device token reports for its own MAC address only", {
          details: { mac_address: mac },
        });
      }
      const client = misses ? (deps.clientAddress?.(c) ?? "unknown") : undefined;
      const limited = client === undefined ? undefined : misses?.refusal(client);
      if (limited) {
        deps.observer.deviceReadLimited();
        throw limited;
      }
      const checked = parseReport(await readReport(c, deps));
      if (!checked.ok) throw validationFailed(checked.message, { field: checked.field });
      // Open mode: anyone may report, so inventing MACs costs what guessing them does.
      if (client !== undefined && !records.knows(mac) && (await etags.of(mac)) === null) misses?.miss(client);
      await records.reported(mac, checked.report);
      observer.deviceStatusReport(checked.report.state);
      return c.body(null, 204);
    } catch (error) {
      // Refused (a 4xx, or a new device past the record's bound): nothing was recorded. A
      // storage failure is no verdict on the report, and is logged by the error handler.
      if (isAppError(error) && (error.status < 500 || error.code === "SERVER_BUSY")) {
        observer.deviceStatusReport("invalid");
      }
      throw error;
    }
  });
  return app;
}
