/**
 * A small TCP proxy in front of the broker, so tests can cut a live connection at a
 * chosen moment (e.g. in the middle of replaying the queue) — something a real
 * broker cannot be asked to do. It forwards bytes unchanged.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  url: string;
  port: number;
  /** Destroys every open connection (both sides). */
  cut(): void;
  /** Cuts each new client connection after it has sent this many bytes (undefined: never). */
  cutAfterClientBytes(bytes: number | undefined): void;
  /** While blocked, open connections are cut and new ones closed at once: the broker looks down. */
  setBlocked(blocked: boolean): void;
  /** Holds every chunk from the broker to the client this long (e.g. slow PUBACKs). */
  delayDownstream(ms: number): void;
  /**
   * Holds every chunk from the far end to the client until the returned function is called
   * (what the client sends still goes through: the far end has it, its answers wait). A
   * connection closed meanwhile loses what was held for it.
   */
  holdDownstream(): () => void;
  connections(): number;
  /** Connections closed at once because the proxy was blocked. */
  refused(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, scheme = "mqtt"): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cutAfter: number | undefined;
  let blocked = false;
  let delayMs = 0;
  /** While held, each open connection's flush of what it held back (undefined: not holding). */
  let held: Set<() => void> | undefined;
  let total = 0;
  let refused = 0;
  const server: Server = createServer((client) => {
    if (blocked) {
      refused++;
      client.destroy();
      return;
    }
    total++;
    const upstream = connect(targetPort, "127.0.0.1");
    open.add(client);
    open.add(upstream);
    let sent = 0;
    const limit = cutAfter;
    client.on("data", (chunk) => {
      sent += chunk.length;
      if (limit !== undefined && sent > limit) {
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    let waiting: Buffer[] = [];
    const flush = () => {
      for (const chunk of waiting) if (!client.destroyed) client.write(chunk);
      waiting = [];
    };
    upstream.on("data", (chunk) => {
      if (held) {
        waiting.push(chunk);
        held.add(flush);
      } else if (delayMs > 0) setTimeout(() => client.write(chunk), delayMs);
      else client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    cut() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    cutAfterClientBytes(bytes) {
      cutAfter = bytes;
    },
    setBlocked(value) {
      blocked = value;
      if (value) {
        for (const socket of open) socket.destroy();
        open.clear();
      }
    },
    delayDownstream(ms) {
      delayMs = ms;
    },
    holdDownstream() {
      const flushes = new Set<() => void>();
      held = flushes;
      return () => {
        if (held === flushes) held = undefined;
        for (const flush of flushes) flush();
      };
    },
    connections: () => total,
    refused: () => refused,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
