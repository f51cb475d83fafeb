/**
 * GET /files/configs/{mac}.json and GET /files/assets/{name}: the URLs a notified
 * device fetches, on every runtime. The stored bytes exactly as stored, streamed,
 * with a strong ETag (SHA-256), Last-Modified, If-None-Match → 304, and a single
 * Range → 206/416 on assets.
 */
import type { Context } from "hono";
import { addRoute, createApi } from "../../core/api-routes.js";
import type { AppDeps, AppEnv } from "../../core/deps.js";
import { invalidOperation, isAppError, notFound } from "../../core/errors.js";
import { checkFilename, macOfConfigFile } from "../../core/names.js";
import type { Area, StorageDriver, StoredObject } from "../../core/storage.js";
import { fileHeaders } from "./file-headers.js";
import { decideRange, etagOf, matchesIfNoneMatch } from "./http-range.js";
import { readAssetFile, readConfigFile } from "./schemas.js";

/** Frees an object whose body will not be sent (in-memory bytes hold nothing to free). */
const release = async (object: StoredObject) => {
  if (!object.bytes) await object.body.cancel();
};

type SendNative = AppDeps["sendNative"];

/** The bytes of `object` with this status: by the runtime's own fast path when it has one, else as Hono sends them. */
async function send(
  c: Context<AppEnv>,
  sendNative: SendNative,
  object: StoredObject,
  status: 200 | 206,
  headers: Record<string, string>,
): Promise<Response> {
  if (c.req.method === "HEAD") {
    // Hono answers HEAD with the GET route and drops the body, but a native send would write
    // it to the socket; and the file is released now, not at garbage collection.
    await release(object);
    return c.body(null, status, headers);
  }
  if (object.native !== undefined && sendNative) {
    // Written to the socket directly, so the headers middleware would add must be here too.
    const all = { ...headers, "X-Request-Id": c.get("requestId"), "X-Content-Type-Options": "nosniff" };
    const sent = sendNative(c, object.native, status, all);
    if (sent) return sent;
  }
  // Small files come from the driver's memory: a buffer is much cheaper to send than a stream.
  return c.body((object.bytes as Uint8Array<ArrayBuffer> | undefined) ?? object.body, status, headers);
}

/** The answer for a name with nothing behind it; a config another device owns answers exactly the same. */
const absent = (area: Area, name: string) =>
  notFound(`No ${area === "configs" ? "configuration" : "asset"} named ${name}`, { filename: name });

async function serve(
  c: Context<AppEnv>,
  driver: StorageDriver,
  sendNative: SendNative,
  area: Area,
  name: string,
  ranges: boolean,
): Promise<Response> {
  const object = await driver.read(area, name);
  if (!object) throw absent(area, name);
  const etag = etagOf(object.sha256);
  const headers = fileHeaders(area, name, object.sha256, object.lastModified);

  if (matchesIfNoneMatch(c.req.header("if-none-match"), etag)) {
    await release(object);
    return c.body(null, 304, headers);
  }
  const decision = ranges
    ? decideRange(c.req.header("range"), c.req.header("if-range"), object.size, etag)
    : { kind: "full" as const };
  if (decision.kind === "unsatisfiable") {
    await release(object);
    return c.body(null, 416, { ...headers, "Content-Range": `bytes */${object.size}` });
  }
  if (decision.kind === "partial") {
    let part: StoredObject | null;
    if (object.part) part = object.part(decision.range);
    else {
      await release(object);
      part = await driver.read(area, name, { range: decision.range });
      // Replaced between the two reads: send the new version whole rather than splice two.
      if (!part || part.sha256 !== object.sha256) {
        if (part) await release(part);
        return serve(c, driver, sendNative, area, name, false);
      }
    }
    const { offset, length } = decision.range;
    return send(c, sendNative, part, 206, {
      ...headers,
      "Content-Length": String(length),
      "Content-Range": `bytes ${offset}-${offset + length - 1}/${object.size}`,
    });
  }
  return send(c, sendNative, object, 200, { ...headers, "Content-Length": String(object.size) });
}

export function fileRoutes(deps: AppDeps) {
  const app = createApi();
  const { misses } = deps.devices;
  addRoute(app, readConfigFile, async (c) => {
    const client = misses ? (deps.clientAddress?.(c) ?? "unknown") : undefined;
    const limited = client === undefined ? undefined : misses?.refusal(client);
    if (limited) {
      deps.observer.deviceReadLimited();
      throw limited;
    }
    const file = c.req.param("file").toLowerCase();
    if (macOfConfigFile(file) === undefined) {
      throw invalidOperation("Invalid config file name: expected <mac>.json, e.g. aa-bb-cc-dd-ee-ff.json", {
        field: "mac_address",
      });
    }
    // A device token reads its own config only; any other is answered as if it did not exist.
    const own = c.get("deviceMac");
    if (own !== undefined && file !== `${own}.json`) throw absent("configs", file);
    try {
      const answer = await serve(c, deps.storage, deps.sendNative, "configs", file, false);
      // The device now holds this version (200: sent, 304: confirmed); a HEAD fetches nothing.
      if (c.req.method === "GET" && (answer.status === 200 || answer.status === 304)) {
        deps.fleet.records.fetched(macOfConfigFile(file) as string, answer.headers.get("ETag") as string);
      }
      return answer;
    } catch (error) {
      if (client !== undefined && isAppError(error) && error.code === "RECORD_NOT_FOUND") misses?.miss(client);
      throw error;
    }
  });
  addRoute(app, readAssetFile, async (c) =>
    serve(c, deps.storage, deps.sendNative, "assets", checkFilename(c.req.param("name")), true),
  );
  return app;
}
