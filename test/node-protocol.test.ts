/**
 * HTTP/1.1 at the edge of the Node server, spoken byte by byte over raw sockets
 * against the real entry point: what Node's parser refuses, what it lets through
 * that RFC 9112 says to refuse, pipelining, the headers of every answer given before
 * the app, and the timeouts of the server the factory builds (Expect: node-expect.test.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBody, exchange, expectJsonError, only, parseResponses, type RawResponse } from "./support/raw-http.js";
import { type SpawnedServer, spawnServer } from "./support/server.js";

const MAX_UPLOAD_BYTES = 1024 * 1024;
const MAX_CONFIG_BYTES = 1024;
const BIG_FILE_BYTES = 16 * 1024 * 1024;

describe("Node server: HTTP/1.1 at the edge", () => {
  let server: SpawnedServer;
  let port: number;
  let bigFile: Buffer;

  beforeAll(async () => {
    server = await spawnServer({
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      MAX_CONFIG_BYTES: String(MAX_CONFIG_BYTES),
    });
    port = Number(new URL(server.url).port);
    bigFile = randomBytes(BIG_FILE_BYTES);
    // Inside the server's own temporary DATA_DIR, removed by cleanup().
    await writeFile(join(server.dataDir, "assets", "big.bin"), bigFile);
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  const GARBAGE = "GARBAGE / HTTP/9.9\r\n\r\n";
  const DOWNLOAD = "GET /files/assets/big.bin HTTP/1.1\r\nHost: device.local\r\n\r\n";

  /** Whatever came back must be an unspliced prefix of the file's 200, and nothing may follow a partial body. */
  function expectUnsplicedDownload(received: Buffer) {
    const head = received.indexOf("\r\n\r\n");
    expect(received.subarray(0, 15).toString("latin1")).toBe("HTTP/1.1 200 OK");
    expect(head).toBeGreaterThan(0);
    const declared = Number(/\r\ncontent-length: (\d+)/i.exec(received.subarray(0, head).toString("latin1"))?.[1]);
    expect(declared).toBe(BIG_FILE_BYTES);
    const body = received.subarray(head + 4, head + 4 + declared);
    expect(body.includes("HTTP/1.1")).toBe(false);
    expect(body.equals(bigFile.subarray(0, body.length))).toBe(true);
    // Only after a complete body may an answer to the garbage follow, and then it is the contract's 400.
    const after = received.subarray(head + 4 + declared);
    if (after.length > 0) {
      expect(body.length).toBe(declared);
      const [answer] = parseResponses(after);
      expectJsonError(answer as RawResponse, 400, "VALIDATION_FAILED");
    }
  }

  it("a malformed request in the same write as a large download never lands in, or before, the 200", async () => {
    const received = await exchange(port, DOWNLOAD + GARBAGE);
    // Cutting the connection before the response started is allowed: the client sees no 200 at all.
    if (received.length > 0) expectUnsplicedDownload(received);
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it("a malformed request arriving while a large download streams is never spliced into its body", async () => {
    let sent = false;
    const received = await exchange(port, DOWNLOAD, {
      onData: (socket, soFar) => {
        // Once the 200 has started flowing, the garbage goes in behind it.
        if (soFar.indexOf("\r\n\r\n") > 0) {
          sent = true;
          socket.write(GARBAGE);
        }
        return sent;
      },
    });
    expect(sent).toBe(true);
    expectUnsplicedDownload(received);
  });

  it("a malformed request alone gets the contract's 400 naming what is wrong", async () => {
    const response = await only(port, GARBAGE);
    const body = errorBody(response);
    expect(body.error).toBe(
      "Malformed HTTP request: the request line does not start with a known HTTP method (methods are case-sensitive)",
    );
    expect(body.details).toEqual({ parser_code: "HPE_INVALID_METHOD", parser_reason: "Invalid method encountered" });
    expectJsonError(response, 400, "VALIDATION_FAILED");
  });

  const post = (headers: string) => `POST /api/configs/aa-bb-cc-dd-ee-ff HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\n`;
  const CL_WITH_TE = "Malformed HTTP request: Content-Length and Transfer-Encoding must not be sent together";
  it.each([
    [
      "two Content-Length headers",
      post("Content-Length: 5\r\nContent-Length: 5"),
      "Malformed HTTP request: Content-Length must be sent only once",
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    ],
    [
      "Content-Length, then Transfer-Encoding",
      post("Content-Length: 5\r\nTransfer-Encoding: chunked"),
      CL_WITH_TE,
      "HPE_INVALID_TRANSFER_ENCODING",
    ],
    [
      "Transfer-Encoding, then Content-Length",
      post("Transfer-Encoding: chunked\r\nContent-Length: 5"),
      CL_WITH_TE,
      "HPE_INVALID_CONTENT_LENGTH",
    ],
    [
      "a Content-Length that is not a number",
      post("Content-Length: -1"),
      "Malformed HTTP request: Content-Length must be a decimal number of bytes",
      "HPE_INVALID_CONTENT_LENGTH",
    ],
    [
      "Transfer-Encoding that does not end with chunked",
      post("Transfer-Encoding: chunked, gzip"),
      "Malformed HTTP request: Transfer-Encoding must name chunked once, as the last coding",
      "HPE_INVALID_TRANSFER_ENCODING",
    ],
    [
      "a space in a header name",
      "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
      "Malformed HTTP request: a header name is not a valid token (no spaces, nothing between the name and the colon)",
      "HPE_INVALID_HEADER_TOKEN",
    ],
    [
      "an unencoded space in the target",
      "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
      "Malformed HTTP request: the request line must be METHOD, a space, the target, a space, HTTP/1.1 (is a space unencoded?)",
      "HPE_INVALID_CONSTANT",
    ],
    [
      "an unsupported HTTP version",
      "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
      "Malformed HTTP request: the HTTP version is not valid (use HTTP/1.1 or HTTP/1.0)",
      "HPE_INVALID_VERSION",
    ],
  ])("%s: the contract's 400 with its own accurate message", async (_, request, message, parserCode) => {
    const response = await only(port, request);
    // The message first: it is what a developer reading the answer relies on.
    expect(errorBody(response).error).toBe(message);
    expect(errorBody(response).details.parser_code).toBe(parserCode);
    expectJsonError(response, 400, "VALIDATION_FAILED");
  });

  it("duplicate Content-Length and Content-Length with Transfer-Encoding are told apart", async () => {
    const duplicate = await only(port, post("Content-Length: 5\r\nContent-Length: 6"));
    const smuggling = await Promise.all([
      only(port, post("Content-Length: 5\r\nTransfer-Encoding: chunked")),
      only(port, post("Transfer-Encoding: chunked\r\nContent-Length: 5")),
    ]);
    expect(errorBody(duplicate).error).not.toMatch(/Transfer-Encoding/);
    for (const response of smuggling) {
      expect(errorBody(response).error).toMatch(/Content-Length.*Transfer-Encoding/);
      expect(errorBody(response).error).not.toBe(errorBody(duplicate).error);
    }
    for (const response of [duplicate, ...smuggling]) expectJsonError(response, 400, "VALIDATION_FAILED");
  });

  it("headers over Node's limit: 431 HEADERS_TOO_LARGE with the limit", async () => {
    const response = await only(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    const body = expectJsonError(response, 431, "HEADERS_TOO_LARGE");
    expect(body.details).toMatchObject({ parser_code: "HPE_HEADER_OVERFLOW", max_bytes: 16_384 });
  });

  it("HTTP/1.1 without Host: the contract's 400, with the client's X-Request-Id", async () => {
    const response = await only(port, "GET /api/health HTTP/1.1\r\nX-Request-Id: probe-no-host-1\r\n\r\n");
    const body = expectJsonError(response, 400, "VALIDATION_FAILED");
    expect(body.error).toBe("Host header is required");
    expect(body.correlationId).toBe("probe-no-host-1");
    expect(response.headers.connection).toBe("close");
  });

  it("HTTP/1.1 with two Host headers: the contract's 400", async () => {
    const response = await only(port, "GET /api/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    expect(expectJsonError(response, 400, "VALIDATION_FAILED").error).toBe("Host header must be sent only once");
  });

  it("HTTP/1.0 without Host keeps working", async () => {
    const response = await only(port, "GET /api/health HTTP/1.0\r\n\r\n");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString("utf8"))).toMatchObject({ status: expect.any(String) });
  });

  it("an absolute-form target keeps working", async () => {
    const response = await only(
      port,
      "GET http://device.local/api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(response.status).toBe(200);
  });

  it("OPTIONS * is a server-wide OPTIONS: 204 with Allow", async () => {
    const response = await only(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe("GET, HEAD, PUT, POST, DELETE, OPTIONS");
    expect(response.body.length).toBe(0);
  });

  it.each([
    ["* with another method", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", "The request target * is only allowed with OPTIONS"],
    [
      "a target that is neither a path nor an http(s) URL",
      "GET ftp://device.local/api/health HTTP/1.1\r\nHost: x\r\n\r\n",
      "The request target must be a path starting with / or an absolute http(s) URL",
    ],
    [
      "a Host that is not a host name",
      "GET /api/health HTTP/1.1\r\nHost: device local\r\n\r\n",
      "Host header must be a host name or address, optionally with :port",
    ],
    [
      "CONNECT (an authority-form target)",
      "CONNECT device.local:443 HTTP/1.1\r\nHost: device.local:443\r\n\r\n",
      "CONNECT is not supported: this server is not a proxy",
    ],
    // Refused by @hono/node-server itself while it builds the Request; the wording is the adapter's.
    ["a backslash in the path", "GET /api\\health HTTP/1.1\r\nHost: x\r\n\r\n", /^Invalid request: .*backslash/i],
  ])("%s: the contract's 400", async (_, request, message) => {
    const body = expectJsonError(await only(port, request), 400, "VALIDATION_FAILED");
    expect(body.error).toMatch(message);
  });

  it("answers before the app with the headers of the app's own errors: JSON, nosniff, X-Request-Id", async () => {
    const app = await only(port, "GET /api/configs/not-a-mac HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expectJsonError(app, 400, "INVALID_OPERATION");
    for (const before of [await only(port, GARBAGE), await only(port, "GET /api/health HTTP/1.1\r\n\r\n")]) {
      expectJsonError(before, 400, "VALIDATION_FAILED");
      expect(before.headers["content-type"]).toBe(app.headers["content-type"]);
      expect(before.headers["x-content-type-options"]).toBe(app.headers["x-content-type-options"]);
    }
    const options = await only(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(options.headers["x-content-type-options"]).toBe("nosniff");
  });
});

describe("createNodeServer", () => {
  const settings = { host: "127.0.0.1", maxUploadBytes: MAX_UPLOAD_BYTES, maxConfigBytes: MAX_CONFIG_BYTES };
  const app = { fetch: () => new Response("ok") };

  it("has no total request deadline, a headers deadline, and Node's keep-alive", async () => {
    // Imported here so the protocol tests above still run against an entry point without the factory.
    const { createNodeServer, HEADERS_TIMEOUT_MS } = await import("../src/runtimes/node-http.js");
    const server = createNodeServer(app, settings);
    expect(server.requestTimeout).toBe(0);
    expect(HEADERS_TIMEOUT_MS).toBe(60_000);
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(server.keepAliveTimeout).toBe(5_000);
  });

  it("answers a client that never finishes its headers with the contract's 408", async () => {
    const { createNodeServer } = await import("../src/runtimes/node-http.js");
    // Short deadlines so the test need not wait a minute; the answer is what is checked, not when.
    const server = createNodeServer(app, settings, { timeouts: { headersMs: 200, checkIntervalMs: 50 } });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await only(port, "GET / HTTP/1.1\r\nHost: x\r\n");
      const body = expectJsonError(response, 408, "REQUEST_TIMEOUT");
      expect(body.error).toBe("Request headers were not received within 200 ms");
      expect(body.details).toEqual({ timeout_ms: 200 });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
