/**
 * HTTP/1.1 spoken byte by byte over raw sockets, for tests of what a server answers
 * before (or instead of) its app: send bytes, collect every byte until the server
 * closes, split them into responses, and check the API's error shape and headers.
 */
import { connect, type Socket } from "node:net";
import { expect } from "vitest";
import { expectErrorShape } from "./http.js";
import { WAIT_TIMEOUT_MS } from "./wait.js";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Exchange {
  /** Called with the socket and all bytes so far on each arrival, until it returns true (done). */
  onData?: (socket: Socket, received: Buffer) => boolean;
}

/**
 * Connects, sends `request` in one write, and resolves with every byte received
 * once the server closes the connection; fails after the default deadline.
 */
export function exchange(port: number, request: string | Buffer, options: Exchange = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let watching = options.onData !== undefined;
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${WAIT_TIMEOUT_MS} ms`));
    }, WAIT_TIMEOUT_MS);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (watching && options.onData?.(socket, Buffer.concat(chunks))) watching = false;
    });
    // A reset after the answer is the server's right; what arrived before it is what counts.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(deadline);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Splits bytes into responses: interim 1xx ones, then finals framed by Content-Length. */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf("\r\n\r\n", offset);
    if (end < 0)
      throw new Error(`incomplete response head: ${bytes.subarray(offset, offset + 200).toString("latin1")}`);
    const [statusLine = "", ...lines] = bytes.subarray(offset, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = status < 200 || status === 204 ? 0 : Number(headers["content-length"] ?? 0);
    responses.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    offset = end + 4 + length;
  }
  return responses;
}

/** The one response to a request the server answers and then closes on. */
export async function only(port: number, request: string): Promise<RawResponse> {
  const responses = parseResponses(await exchange(port, request));
  expect(responses).toHaveLength(1);
  return responses[0] as RawResponse;
}

export interface ErrorBody {
  error: string;
  details: Record<string, unknown>;
  code: string;
  status: number;
  correlationId: string;
}

export const errorBody = (response: RawResponse) => JSON.parse(response.body.toString("utf8")) as ErrorBody;

/**
 * Asserts the API's error shape, the headers every error answer carries (as the app's own:
 * JSON, never sniffed), the X-Request-Id rule and the status; returns the body.
 */
export function expectJsonError(response: RawResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/json/);
  expect(response.headers["x-content-type-options"]).toBe("nosniff");
  const body = errorBody(response);
  expectErrorShape(body, status, code);
  expect(response.headers["x-request-id"]).toBe(body.correlationId);
  return body;
}
