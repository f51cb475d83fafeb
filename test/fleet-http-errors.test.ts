/**
 * The fleet simulator's HTTP error log says what went wrong, by phase: a status with the
 * API's error code, a socket error, or the client's own deadline. A real node:http server
 * plays a misbehaving server (busy, failing, hanging up, never answering); nothing here
 * asserts a duration.
 */
import { Agent, createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin } from "../tools/fleet/admin.js";
import { createDeviceHttp } from "../tools/fleet/device-http.js";
import { networkErrorKind, send } from "../tools/fleet/http.js";
import { createHttpErrors, describeHttpErrors } from "../tools/fleet/http-errors.js";

const MAC = "02-f1-ee-00-00-01";

let server: Server;
let url: string;
const hanging: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? "";
    if (req.method === "PUT") {
      // What the server answers when a bound is reached: the API's error shape.
      res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "1" });
      res.end(JSON.stringify({ error: "busy", details: {}, code: "SERVER_BUSY", status: 503, correlationId: "x" }));
    } else if (req.method === "HEAD") {
      res.writeHead(500);
      res.end();
    } else if (path.startsWith("/files/configs/")) {
      // Hung up before any answer, on a connection that carried nothing before.
      req.socket.destroy();
    } else if (path.startsWith("/files/assets/")) {
      // Not one of the API's codes: never echoed into a label.
      res.writeHead(502, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ code: "\u001b[31mred" }));
    } else {
      hanging.push(() => res.end());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const release of hanging) release();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("fleet simulator: HTTP errors by phase and kind", () => {
  it("labels a save's status with the API's code, a HEAD's bare status, a fetch's socket error", async () => {
    const errors = createHttpErrors();
    const admin = createAdmin(url, undefined, 2, errors);
    const http = createDeviceHttp(url, 2, errors);
    try {
      expect(await admin.saveConfig(MAC, { deviceName: "x" })).toBe(false);
      expect(await admin.storedEtag(MAC)).toBeUndefined();
      expect(await http.fetchConfig(MAC, undefined, true)).toEqual({ status: "error" });
    } finally {
      admin.close();
      http.close();
    }
    expect(errors.byKind()).toEqual({
      "config save: status 503 SERVER_BUSY": 1,
      "config HEAD: status 500": 1,
      "config fetch: ECONNRESET": 1,
    });
    expect(errors.count()).toBe(3);
    expect(describeHttpErrors(errors.count(), errors.byKind())).toBe(
      "3 (config save: status 503 SERVER_BUSY × 1, config HEAD: status 500 × 1, config fetch: ECONNRESET × 1)",
    );
    // Each sample says which path and how long it took, so a timeout is told from a quick refusal.
    for (const sample of errors.samples()) expect(sample.detail).toMatch(/ after \d+ ms: /);
  });

  it("labels the client's own deadline as a client timeout, not the system's ETIMEDOUT", async () => {
    const agent = new Agent({ keepAlive: false });
    try {
      const error = await send(new URL("/never", url), { agent, timeoutMs: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(networkErrorKind(error)).toBe("client timeout");
    } finally {
      agent.destroy();
    }
  });

  it("keeps a code that is not the API's out of the label", async () => {
    const errors = createHttpErrors();
    const http = createDeviceHttp(url, 1, errors);
    try {
      expect(await http.readFirmwareHeader("fw.bin")).toBe(false);
    } finally {
      http.close();
    }
    expect(Object.keys(errors.byKind())).toEqual(["firmware read: status 502"]);
  });
});
