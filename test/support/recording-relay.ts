/**
 * A TCP relay that records every byte its clients send before forwarding them unchanged:
 * put between a reverse proxy and the server, it shows exactly what the server received
 * (which headers, which credentials), something the server's own logs never say.
 */
import { connect, createServer, type Socket } from "node:net";

export interface RecordingRelay {
  port: number;
  /** Everything clients sent since the last clear(), across connections, as latin1 text. */
  received(): string;
  clear(): void;
  close(): Promise<void>;
}

export async function startRecordingRelay(targetPort: number): Promise<RecordingRelay> {
  let received = "";
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      // A reset on either side ends both; the bytes recorded so far still count.
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("relay has no TCP address");
  return {
    port: address.port,
    received: () => received,
    clear: () => {
      received = "";
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
