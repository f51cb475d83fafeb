/**
 * The shutdown log ("notifications flushed") counts outcomes in the metrics' words: success,
 * failure, dropped, skipped (src/core/sinks/outcome.ts), for the notifications pending at
 * shutdown and since start, and its numbers match iot_notifications_published_total. A real
 * boot on a temporary directory, real config saves over the app, and for the webhook a real
 * receiver on loopback that holds every answer.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Booted, boot, drainNotifications } from "../src/runtimes/boot.js";
import { metricValue } from "./support/http.js";
import { ROOT } from "./support/server.js";
import { waitUntil } from "./support/wait.js";
import { startWebhookReceiver } from "./support/webhook-receiver.js";

const SECRET = "webhook-test-secret-0123456789";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "iot-shutdown-log-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function booted(env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = [];
  const server = await boot({
    env: { DATA_DIR: join(dir, "data"), LOG_LEVEL: "info", ...env },
    runtime: "node",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { server, lines };
}

const save = (server: Booted, n: number) =>
  server.app.request(`/api/configs/aa-bb-cc-dd-ee-${String(n).padStart(2, "0")}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Host: "127.0.0.1" },
    body: JSON.stringify({ content: { deviceName: `d${n}` } }),
  });

const published = async (server: Booted, sink: string, outcome: string) =>
  metricValue(await server.metrics.registry.metrics(), "iot_notifications_published_total", { sink, outcome });

describe("shutdown log", () => {
  it("counts the no-op sink's notifications as skipped, as the metric does, never as delivered", async () => {
    const { server, lines } = await booted({});
    for (const n of [1, 2]) expect((await save(server, n)).status).toBe(200);
    await waitUntil("both notifications settled", () => server.notifier.pending() === 0);
    await drainNotifications(server);
    const flushed = lines.find((l) => l.msg === "notifications flushed");
    expect(flushed).toMatchObject({
      pending_at_shutdown: 0,
      success: 0,
      failure: 0,
      dropped: 0,
      skipped: 0,
      abandoned: 0,
      since_start: { success: 0, failure: 0, dropped: 0, skipped: 2 },
    });
    expect(flushed).not.toHaveProperty("delivered");
    expect(await published(server, "noop", "skipped")).toBe(2);
    // The README's example of this line has exactly its fields.
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const example = JSON.parse(/^(\{.*"msg":"notifications flushed".*\})$/m.exec(readme)?.[1] ?? "{}") as object;
    const shape = (line: object) => JSON.stringify(line, (_, v) => (typeof v === "object" ? v : typeof v));
    expect(shape(example)).toBe(shape(flushed as object));
  });

  it("keeps dropped (full queue) apart from failed (closed before delivery), as the metric does", async () => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    receiver.stall();
    const { server, lines } = await booted({
      NOTIFY_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_QUEUE_LIMIT: "1",
      NOTIFY_FLUSH_TIMEOUT_MS: "200",
    });
    try {
      // Queue limit 1 and a receiver that never answers: the first two are pushed out by the third.
      for (const n of [1, 2, 3]) expect((await save(server, n)).status).toBe(200);
      await waitUntil("two notifications dropped", () => server.notifier.totals().dropped === 2);
      await drainNotifications(server);
      // The third was still held at the deadline (abandoned), then settled by close(): a failure.
      expect(lines.find((l) => l.msg === "notifications flushed")).toMatchObject({
        pending_at_shutdown: 1,
        success: 0,
        failure: 0,
        dropped: 0,
        abandoned: 1,
        since_start: { success: 0, failure: 1, dropped: 2, skipped: 0 },
      });
      expect(await published(server, "webhook", "dropped")).toBe(2);
      expect(await published(server, "webhook", "failure")).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});
