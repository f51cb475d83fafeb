/**
 * HTTP/1.1 at the connection level, where fetch hides it: a GET on a connection of its
 * own (a device that shares nothing with the uploads under test), and one keep-alive
 * connection driven by hand to see whether it survives an early answer.
 */
import { request } from "node:http";
import { connect } from "node:net";

/** GET over a fresh connection (no agent, no pooling): what a separate client sees. */
export function freshGet(url: string): Promise<{ status: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export interface ReuseOutcome {
  /** The upload's answer: status line, headers and body. */
  first: string;
  /** The head of the answer to the GET sent next on the same connection; empty when none came. */
  second: string;
  /** The server closed the connection without answering the GET. */
  closedUnanswered: boolean;
}

/**
 * Sends an upload whole (Content-Length, then every byte of the body at once) and, as
 * soon as its answer is complete, a GET /api/health on the same connection. Resolves
 * once the GET is answered or the connection ends (or after `timeoutMs`, as "no answer").
 */
export function uploadThenReuse(
  url: string,
  upload: { body: Uint8Array; contentType: string },
  timeoutMs = 60_000,
): Promise<ReuseOutcome> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(
        `POST /api/assets HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: ${upload.contentType}\r\n` +
          `Content-Length: ${upload.body.length}\r\n\r\n`,
      );
      socket.write(upload.body);
    });
    let received = "";
    let first = "";
    let settled = false;
    const settle = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      const rest = received.slice(first.length);
      const second = first && /^HTTP\/1\.1 \d{3}/.test(rest) ? (rest.split("\r\n\r\n")[0] ?? "") : "";
      resolve({ first, second, closedUnanswered: closed && second === "" });
    };
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (!first) {
        // The upload's answer is complete once its Content-Length bytes of body are in.
        const end = received.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/^content-length: (\d+)$/im.exec(received.slice(0, end))?.[1] ?? Number.NaN);
        if (received.length < end + 4 + length) return;
        first = received.slice(0, end + 4 + length);
        socket.write(`GET /api/health HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
      } else if (received.indexOf("\r\n\r\n", first.length) >= 0) {
        settle(false);
      }
    });
    socket.on("close", () => settle(true));
    // A reset after the upload's answer is one way of ending the connection; before it, a failure.
    socket.on("error", (error) => (first ? settle(true) : reject(error)));
    const deadline = setTimeout(() => settle(false), timeoutMs);
  });
}
