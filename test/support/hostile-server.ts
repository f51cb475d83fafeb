/**
 * An HTTP server that misbehaves on purpose, for testing clients against it: each
 * answer is written by the test, byte for byte, on the raw socket, so it can be what
 * no well-behaved HTTP library would send (control characters in the reason phrase,
 * obs-text in headers, a body of hundreds of megabytes). It reads each request whole
 * (headers, then Content-Length bytes) before the test answers, so the client is never
 * cut off while still sending.
 */
import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Writes the answer to request number `index` (0 for the first) on `socket`, then ends or destroys it. */
export type Answer = (socket: Socket, request: ReceivedRequest, index: number) => void | Promise<void>;

export interface HostileServer {
  url: string;
  /** The requests received so far, in order. */
  requests: ReceivedRequest[];
  /** Socket errors seen (a client that hangs up mid-answer resets the connection). */
  socketErrors: Error[];
  close(): Promise<void>;
}

const HEAD_END = Buffer.from("\r\n\r\n");

export async function hostileServer(answer: Answer): Promise<HostileServer> {
  const requests: ReceivedRequest[] = [];
  const socketErrors: Error[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Recorded, not thrown: a client that stops reading on purpose resets the connection.
    socket.on("error", (error) => socketErrors.push(error));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const request = parseRequest(received);
      if (!request) return;
      socket.off("data", onData);
      // Anything more the client sends is read and dropped, so it never blocks on a full socket.
      socket.resume();
      const index = requests.push(request) - 1;
      Promise.resolve(answer(socket, request, index)).catch((error: Error) => {
        socketErrors.push(error);
        socket.destroy();
      });
    };
    socket.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    socketErrors,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** A complete request in `bytes`, or undefined while its head or body is still arriving. */
function parseRequest(bytes: Buffer): ReceivedRequest | undefined {
  const end = bytes.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const [line = "", ...fields] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(":");
    headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = bytes.subarray(end + HEAD_END.byteLength);
  if (body.byteLength < length) return undefined;
  const [method = "", path = ""] = line.split(" ");
  return { method, path, headers, body };
}

/** An answer's head: status line and headers, as raw bytes (latin1, so any byte 0x00-0xff can be written). */
export function head(statusLine: string, headers: Record<string, string | number>): Buffer {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`HTTP/1.1 ${statusLine}\r\n${lines.join("")}\r\n`, "latin1");
}

/** A complete JSON answer that closes the connection. */
export function sendJson(socket: Socket, statusLine: string, value: unknown, headers: Record<string, string> = {}) {
  const body = Buffer.from(JSON.stringify(value), "utf8");
  socket.end(
    Buffer.concat([
      head(statusLine, {
        "Content-Type": "application/json",
        "Content-Length": body.byteLength,
        Connection: "close",
        ...headers,
      }),
      body,
    ]),
  );
}
