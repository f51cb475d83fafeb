/**
 * A real webhook receiver for tests: a node:http server on a free loopback port that
 * records every request and checks its `X-IoT-Signature` itself, with node:crypto and
 * independently of the sink's code (a bad or stale signature is answered 401, as a real
 * receiver would). It can be told to answer given statuses in turn, to stall (hold the
 * answer), or to refuse everything.
 *
 * For tests running inside workerd, which cannot reach this object, the same is offered
 * over HTTP: `GET /__requests` lists what was recorded, `POST /__answers` (a JSON array
 * of statuses) queues answers.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { waitUntil } from "./wait.js";

/** A status to answer with, or "stall": hold the answer until `resume()` (or forever). */
export type Answer = number | "stall";

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** The signature verified with the receiver's own secret, and `t` within the tolerance of its clock. */
  signature: { valid: boolean; fresh: boolean; t?: number };
  /** What it was answered (undefined while held, or when the sender was gone before the answer). */
  status?: number;
}

export interface WebhookReceiver {
  /** Where the sink should POST: `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** The receiver's root, for the control endpoints. */
  origin: string;
  requests: ReceivedRequest[];
  /** Answers for the next requests, in order; after them, the fallback (200, or what `refuse` set). */
  answer(...answers: Answer[]): void;
  /** Answers every request with this status from now on (403 by default). */
  refuse(status?: number): void;
  /** Holds every answer from now on; the returned function answers the held ones 200 and stops holding. */
  stall(): () => Promise<void>;
  /** Notifications answered with a 2xx, as the sink's conformance suite observes them. */
  delivered(): Array<{ topic: string; payload: unknown; metadata: unknown }>;
  waitForRequests(n: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  secret: string;
  /** Allowed distance between the signature's `t` and the receiver's clock. */
  toleranceSeconds?: number;
}

const SIGNATURE = /^t=(\d+),v1=([0-9a-f]{64})$/;

function verify(secret: string, header: string | undefined, body: string, toleranceSeconds: number) {
  const match = SIGNATURE.exec(header ?? "");
  if (!match) return { valid: false, fresh: false };
  const t = Number(match[1]);
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(match[2] as string, "hex");
  const valid = given.length === expected.length && timingSafeEqual(given, expected);
  return { valid, fresh: Math.abs(Date.now() / 1000 - t) <= toleranceSeconds, t };
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

export async function startWebhookReceiver(options: ReceiverOptions): Promise<WebhookReceiver> {
  const tolerance = options.toleranceSeconds ?? 300;
  const requests: ReceivedRequest[] = [];
  const script: Answer[] = [];
  let fallback: Answer = 200;
  let held: Array<{ record: ReceivedRequest; res: ServerResponse }> = [];

  const reply = (record: ReceivedRequest, res: ServerResponse, status: number) => {
    // The sink may have given up (timeout, close, a cut connection) and gone: then there is no
    // one to answer, and the request stays unanswered (not delivered).
    if (res.destroyed) return;
    record.status = status;
    res.writeHead(status, { "Content-Type": "text/plain" }).end(`${status}\n`);
  };

  const control = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST" && req.url === "/__answers") {
      script.push(...(JSON.parse(await readBody(req)) as Answer[]));
      res.writeHead(204).end();
    } else {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(requests));
    }
  };

  const server = createServer(async (req, res) => {
    if (req.url?.startsWith("/__")) return control(req, res);
    const body = await readBody(req);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = String(value);
    const record: ReceivedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers,
      body,
      signature: verify(options.secret, headers["x-iot-signature"], body, tolerance),
    };
    requests.push(record);
    if (!record.signature.valid || !record.signature.fresh) return reply(record, res, 401);
    const answer = script.shift() ?? fallback;
    if (answer === "stall") held.push({ record, res });
    else reply(record, res, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/hook`,
    origin,
    requests,
    answer: (...answers) => {
      script.push(...answers);
    },
    refuse: (status = 403) => {
      fallback = status;
    },
    stall() {
      fallback = "stall";
      return async () => {
        fallback = 200;
        for (const { record, res } of held) reply(record, res, 200);
        held = [];
      };
    },
    delivered: () =>
      requests
        .filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
        .map((r) => JSON.parse(r.body) as { topic: string; payload: unknown; metadata: unknown }),
    async waitForRequests(n) {
      await waitUntil(`${n} webhook requests`, () => requests.length >= n);
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
