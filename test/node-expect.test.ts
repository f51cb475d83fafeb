/**
 * The Expect header at the edge of the Node server, over raw sockets against the real entry
 * point: 100-continue is answered before the body (413 when the declared length is over the
 * route's limit), and any other expectation gets the API's 417, with the headers of every
 * other error, instead of Node's bare one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, expectJsonError, only, parseResponses, type RawResponse } from "./support/raw-http.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";

const MAX_UPLOAD_BYTES = 1024 * 1024;
const MAX_CONFIG_BYTES = 1024;

let server: SpawnedServer;
let port: number;

beforeAll(async () => {
  server = await spawnServer({
    MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    MAX_CONFIG_BYTES: String(MAX_CONFIG_BYTES),
  });
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.cleanup();
});

describe("Expect: 100-continue", () => {
  const ask = (line: string, length: number) =>
    `${line} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;

  it.each([
    ["an upload", "POST /api/assets", MAX_UPLOAD_BYTES],
    ["a config", "PUT /api/configs/aa-bb-cc-dd-ee-ff", MAX_CONFIG_BYTES],
  ])("%s declared over its limit: 413 instead of 100 Continue, and the connection closes", async (_, line, max) => {
    // Nothing of the body is sent: a client that asked first waits for the answer.
    const responses = parseResponses(await exchange(port, ask(line, max + 1)));
    expect(responses.map((r) => r.status)).toEqual([413]);
    const response = responses[0] as RawResponse;
    const body = expectJsonError(response, 413, "PAYLOAD_TOO_LARGE");
    expect(body.details).toEqual({ max_bytes: max });
    expect(response.headers.connection).toBe("close");
  });

  it("a config under its limit: 100 Continue, then the body is read and saved", async () => {
    const content = JSON.stringify({ content: { deviceName: "expect-continue" } });
    let sentBody = false;
    const head = ask("PUT /api/configs/aa-bb-cc-dd-ee-01", Buffer.byteLength(content)).replace(
      "\r\n\r\n",
      "\r\nConnection: close\r\n\r\n",
    );
    const received = await exchange(port, head, {
      onData: (socket, soFar) => {
        if (soFar.toString("latin1").startsWith("HTTP/1.1 100 Continue\r\n\r\n")) {
          sentBody = true;
          // Not end(): Node's server closes a connection the client half-closes, answer or not.
          socket.write(content);
        }
        return sentBody;
      },
    });
    const responses = parseResponses(received);
    expect(responses.map((r) => r.status)).toEqual([100, expect.any(Number)]);
    expect(responses[1]?.status).toBeLessThan(300);
    const saved = await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-01`);
    expect(JSON.stringify(await saved.json())).toContain("expect-continue");
  });
});

describe("Expect other than 100-continue", () => {
  it.each([
    ["an unknown expectation on a config PUT", "PUT /api/configs/aa-bb-cc-dd-ee-02", "200-ok"],
    ["an unknown expectation on a read", "GET /api/health", "something-else"],
    ["an unknown expectation on an upload", "POST /api/assets", "102-processing"],
  ])("%s: 417 EXPECTATION_FAILED in the API's shape, and the connection closes", async (_, line, expectation) => {
    const request = `${line} HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-expect-1\r\nExpect: ${expectation}\r\nContent-Length: 2\r\n\r\n{}`;
    const response = await only(port, request);
    const body = expectJsonError(response, 417, "EXPECTATION_FAILED");
    expect(body.error).toBe("The Expect header may only be 100-continue");
    expect(body.details).toEqual({ header: "Expect" });
    expect(body.correlationId).toBe("probe-expect-1");
    expect(response.headers.connection).toBe("close");
    // Nothing was done with the request: the config was not saved.
    expect((await fetch(`${server.url}/api/configs/aa-bb-cc-dd-ee-02`)).status).toBe(404);
  });
});
