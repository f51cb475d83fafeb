/**
 * The Workers notification hub under faults, against `wrangler dev --local` (the hub
 * bound, as wrangler.toml ships) and a real Mosquitto. The Worker reaches the broker
 * through a TCP proxy that can cut its link; the subscriber talks to the broker directly.
 * Each scenario prints its figures and fails when any notification is unaccounted for.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { metricValue } from "../support/http.js";
import { testKeys } from "../support/keys.js";
import { mosquittoAvailable, type Received, startBroker, subscribe } from "../support/mosquitto.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { startWorkerDev, type WorkerDev } from "../support/worker-dev.js";
import { sleep, waitUntil } from "./support.js";

const available = mosquittoAvailable();
const keys = testKeys();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const track = <T extends { cleanup(): Promise<unknown> } | { close(): Promise<unknown> }>(thing: T): T => {
  cleanups.push(() => ("cleanup" in thing ? thing.cleanup() : thing.close()));
  return thing;
};

const macOf = (device: number) => `ad-00-00-00-00-${device.toString(16).padStart(2, "0")}`;
const contentOf = (device: number, save: number) => ({ deviceName: macOf(device), save });
/** What the notification's sha256 user property says: the hash of the config as stored (two-space JSON). */
const storedSha = (device: number, save: number) =>
  createHash("sha256")
    .update(JSON.stringify(contentOf(device, save), null, 2))
    .digest("hex");

async function save(worker: WorkerDev, device: number, index: number): Promise<number> {
  const res = await worker.fetch(`/api/configs/${macOf(device)}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ content: contentOf(device, index) }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The sink families, read from the Worker's /metrics (they come from the hub). */
async function sinkMetrics(worker: WorkerDev) {
  const text = await (await worker.fetch("/metrics")).text();
  const outcome = (o: string) =>
    metricValue(text, "iot_notifications_published_total", {
      sink: "mqtt",
      topic: "iotsupport/updates/configs",
      outcome: o,
    });
  return {
    success: outcome("success"),
    dropped: outcome("dropped"),
    failure: outcome("failure"),
    ready: metricValue(text, "iot_notification_sink_ready", { sink: "mqtt" }),
    queued: metricValue(text, "iot_notification_queue_depth", { sink: "mqtt" }),
  };
}

/** Each received message as (device, save), from its sha256 user property. */
function decode(messages: Received[], devices: number, saves: number) {
  const bySha = new Map<string, { device: number; save: number }>();
  for (let d = 0; d < devices; d++) for (let s = 0; s < saves; s++) bySha.set(storedSha(d, s), { device: d, save: s });
  return messages.map((m) => {
    const sha = m.userProperties?.sha256;
    const found = typeof sha === "string" ? bySha.get(sha) : undefined;
    if (!found) throw new Error(`a notification for no save of this test: ${m.payload} ${JSON.stringify(sha)}`);
    return found;
  });
}

describe.skipIf(!available)("fault suite: the Workers notification hub", () => {
  it("the Worker's link to the broker cut for 10 s while 200 saves arrive: all delivered, in order per MAC, delivered + dropped = saved", async () => {
    const devices = 10;
    const rounds = 20;
    const broker = track(await startBroker());
    const link = track(await startTcpProxy(broker.wsPort, "ws"));
    const worker = track(await startWorkerDev({ SIGNING_KEY: keys.pkcs1, MQTT_URL: link.url }));
    const sub = track(await subscribe(broker.wsUrl, ["iotsupport/updates/configs"]));
    const statuses: number[] = [];
    // Each round saves every device once, concurrently; a device's saves are in sequence.
    const round = async (r: number) => {
      statuses.push(...(await Promise.all(Array.from({ length: devices }, (_, d) => save(worker, d, r)))));
    };

    for (let r = 0; r < 5; r++) await round(r);
    link.setBlocked(true);
    const cutAt = performance.now();
    // Ten rounds spread over the 10 s the link is down.
    for (let r = 5; r < 15; r++) {
      await sleep(Math.max(0, cutAt + (r - 5) * 950 - performance.now()));
      await round(r);
    }
    await sleep(Math.max(0, cutAt + 10_000 - performance.now()));
    const whileCut = await sinkMetrics(worker);
    link.setBlocked(false);
    const restoredAt = performance.now();
    // Saved while the backlog is being replayed: they must come after it.
    for (let r = 15; r < rounds; r++) await round(r);

    const saved = statuses.filter((s) => s === 200).length;
    const unique = () => new Set(sub.messages.map((m) => m.userProperties?.sha256)).size;
    await waitUntil("every save's notification", () => unique() >= saved, 60_000);
    const drainedAfterMs = performance.now() - restoredAt;
    const m = await waitUntil(
      "the hub to count every outcome",
      async () => {
        const now = await sinkMetrics(worker);
        return now.success + now.dropped + now.failure >= saved && now.queued === 0 ? now : undefined;
      },
      30_000,
    );
    const received = decode(sub.messages, devices, rounds);
    console.log(
      `hub, link cut 10 s: saved ${saved}, queued while cut ${whileCut.queued} (ready ${whileCut.ready}), ` +
        `received ${received.length} (${unique()} unique) ${(drainedAfterMs / 1000).toFixed(1)} s after the link came back, ` +
        `delivered ${m.success}, dropped ${m.dropped}, failed ${m.failure}, proxy connections ${link.connections()}`,
    );
    expect(statuses).toHaveLength(devices * rounds);
    expect(saved).toBe(devices * rounds);
    // The cut was real: the hub held the outage's saves, and reconnected afterwards.
    expect(whileCut.ready).toBe(0);
    expect(whileCut.queued).toBeGreaterThanOrEqual(devices * 10);
    expect(link.connections()).toBeGreaterThan(1);
    expect(unique()).toBe(saved);
    for (let d = 0; d < devices; d++) {
      // At-least-once: a message in flight at the cut may come twice; its first arrival keeps the order.
      const firsts = [...new Set(received.filter((r) => r.device === d).map((r) => r.save))];
      expect(firsts, `order of ${macOf(d)}`).toEqual(Array.from({ length: rounds }, (_, s) => s));
    }
    expect(m.failure).toBe(0);
    expect(m.success + m.dropped).toBe(saved);
  });

  it("wrangler dev restarted with notifications queued (broker unreachable): delivered once the broker is back, counters cumulative", async () => {
    const state = await mkdtemp(join(tmpdir(), "iot-hub-state-"));
    cleanups.push(() => rm(state, { recursive: true, force: true }));
    const broker = track(await startBroker());
    const link = track(await startTcpProxy(broker.wsPort, "ws"));
    const sub = track(await subscribe(broker.wsUrl, ["iotsupport/updates/configs"]));
    const vars = { SIGNING_KEY: keys.pkcs1, MQTT_URL: link.url };

    const first = await startWorkerDev(vars, { persistTo: state });
    cleanups.push(() => first.cleanup());
    for (let s = 0; s < 5; s++) expect(await save(first, 0, s)).toBe(200);
    await waitUntil("the first five delivered", async () => (await sinkMetrics(first)).success === 5);
    link.setBlocked(true);
    await waitUntil("the hub to see the broker gone", async () => (await sinkMetrics(first)).ready === 0);
    for (let d = 1; d <= 20; d++) expect(await save(first, d, 0)).toBe(200);
    // Handed to the hub (acknowledged once stored), and held there.
    await waitUntil("the hand-offs to be acknowledged", async () => {
      const health = (await (await first.fetch("/api/health")).json()) as { notifications: { pending: number } };
      return health.notifications.pending === 0;
    });
    expect((await sinkMetrics(first)).queued).toBe(20);
    await first.cleanup();

    // No request reaches the second one: its alarm starts the hub, which reloads the queue.
    const second = track(await startWorkerDev({ ...vars, LOG_LEVEL: "debug" }, { persistTo: state }));
    const reloaded = await waitUntil(
      "the hub to reload its queue by itself",
      () => second.lines().find((l) => l.msg === "notification queue reloaded from storage"),
      30_000,
    );
    const before = sub.messages.length;
    link.setBlocked(false);
    const wanted = new Set(Array.from({ length: 20 }, (_, i) => storedSha(i + 1, 0)));
    const got = () => new Set(sub.messages.map((m) => m.userProperties?.sha256).filter((s) => wanted.has(s as string)));
    await waitUntil("the queued notifications after the restart", () => got().size === 20, 30_000);
    const receivedAfterRestart = sub.messages.length - before;
    const m = await waitUntil("the hub to count them", async () => {
      const now = await sinkMetrics(second);
      return now.success >= 25 && now.queued === 0 ? now : undefined;
    });
    // Removed from storage a moment after their PUBACKs (a restart before that would send them again).
    await waitUntil("the hub's stored queue to be empty", () =>
      second.lines().some((l) => l.msg === "settled notifications removed from the hub's queue" && l.queued === 0),
    );
    await second.cleanup();

    // A third start: the queue is empty (delivered ones were deleted), the counters carry on.
    const third = track(await startWorkerDev(vars, { persistTo: state }));
    expect(await save(third, 0, 5)).toBe(200);
    const started = await waitUntil("the hub to start", () =>
      third.lines().find((l) => l.msg === "notification hub started"),
    );
    const after = await waitUntil("the sixth delivery of device 0", async () => {
      const now = await sinkMetrics(third);
      return now.success >= 26 ? now : undefined;
    });
    console.log(
      `hub restart: reloaded ${reloaded.queued}, received ${receivedAfterRestart} after the broker came back, ` +
        `delivered ${m.success} (cumulative over both runs), dropped ${m.dropped}; third start queued ${started.queued}, delivered ${after.success}`,
    );
    expect(reloaded.queued).toBe(20);
    expect(m).toMatchObject({ success: 25, dropped: 0, failure: 0 });
    expect(started.queued).toBe(0);
    expect(after.success).toBe(26);
  });
});
