/**
 * A byte-for-byte TCP relay in front of the broker's WebSocket port that counts the
 * connections the Worker opens and how many are still open: what shows that a Worker
 * connects only for requests that notify, and closes each connection once done.
 */
import { connect, createServer, type Socket } from "node:net";

export interface ConnectionCounter {
  url: string;
  opened(): number;
  open(): number;
  close(): Promise<void>;
}

export async function startConnectionCounter(targetPort: number): Promise<ConnectionCounter> {
  const sockets = new Set<Socket>();
  let opened = 0;
  let open = 0;
  const server = createServer((client) => {
    opened++;
    open++;
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    let closed = false;
    const close = () => {
      if (!closed) open--;
      closed = true;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on("close", close);
      socket.on("error", close);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    opened: () => opened,
    open: () => open,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
