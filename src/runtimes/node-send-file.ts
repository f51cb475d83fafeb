/**
 * Node's fast path for large device reads: the open file goes straight into the socket as
 * an fs stream (`pipeline(handle.createReadStream(), res)`), instead of through a Web
 * stream that @hono/node-server then reads chunk by chunk and writes again. Everything
 * else about the answer (status, ETag, Range, HEAD, errors) is decided by the route as
 * on every runtime; this only sends the bytes.
 */
import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Context } from "hono";
import { isOpenFileRange } from "../plugins/storage/open-file-range.js";

/** @hono/node-server's marker: the response was written to the socket by the handler. */
const ALREADY_SENT = "x-hono-already-sent";

export function sendOpenFile(
  c: Context,
  native: unknown,
  status: number,
  headers: Record<string, string>,
): Response | undefined {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing || !isOpenFileRange(native)) return undefined;
  const { handle, start, end } = native;
  outgoing.writeHead(status, headers);
  if (end <= start) {
    outgoing.end();
    void handle.close();
  } else {
    const stream = handle.createReadStream({ start, end: end - 1, autoClose: true, highWaterMark: 256 * 1024 });
    // A client that goes away mid-download ends the pipeline: the stream is destroyed and the file closed.
    pipeline(stream, outgoing).catch((gone: unknown) => {
      void gone;
    });
  }
  // What the middleware and metrics see (status and headers as sent); @hono/node-server writes
  // nothing more for it. Reading `body` turns node-server's lightweight Response into a full
  // one: its fast path for lightweight ones writes the head again, ignoring the marker.
  const sent = new Response(null, { status, headers: { ...headers, [ALREADY_SENT]: "true" } });
  void sent.body;
  return sent;
}
