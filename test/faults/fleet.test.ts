/**
 * The broker killed and restarted in the middle of a 1,000-device storm, with the fleet
 * simulator's devices (tools/fleet): every device ends up holding its latest config, no
 * HTTP request fails, and the server's counts add up (saved = delivered + dropped).
 * Devices use their own topics, as a fleet this size should; after the restart each one
 * subscribes again and checks its config once, which is how it learns of a save whose
 * notification was published while it was away (a clean session keeps nothing).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAdmin } from "../../tools/fleet/admin.js";
import { createDevice, type Device } from "../../tools/fleet/device.js";
import { createDeviceHttp } from "../../tools/fleet/device-http.js";
import { macOf } from "../../tools/fleet/fleet.js";
import { createHttpErrors, describeHttpErrors } from "../../tools/fleet/http-errors.js";
import { forEachLimited } from "../../tools/fleet/limit.js";
import { mosquittoAvailable, startBroker } from "../support/mosquitto.js";
import { health, metrics, sleep, startBundled, waitUntil } from "./support.js";

const DEVICES = 1000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!mosquittoAvailable())("fault suite: a fleet through a broker restart", () => {
  it(`broker kill -9 after 300 of ${DEVICES} saves, back 3 s later: every device converges, delivered + dropped = saved`, async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const server = await startBundled({ MQTT_URL: broker.tcpUrl, MQTT_DEVICE_TOPICS: "true" });
    cleanups.push(() => server.cleanup());
    await waitUntil("the sink to connect", async () => (await health(server)).notifications.ready);

    const errors = createHttpErrors();
    const http = createDeviceHttp(server.url, 64, errors);
    const admin = createAdmin(server.url, undefined, 50, errors);
    cleanups.push(async () => {
      http.close();
      admin.close();
    });
    const devices: Device[] = Array.from({ length: DEVICES }, (_, i) =>
      createDevice({
        mac: macOf(i),
        brokerUrl: broker.tcpUrl,
        mqttVersion: 5,
        perDeviceTopics: true,
        http,
        clientIdPrefix: "fault-fleet",
      }),
    );
    cleanups.push(() => Promise.all(devices.map((d) => d.close())));
    await forEachLimited(devices, 100, (device) => device.connect());

    let saved = 0;
    let restart: Promise<void> | undefined;
    await forEachLimited(
      devices.map((_, i) => i),
      50,
      async (i) => {
        if (await admin.saveConfig(macOf(i), { deviceName: `device ${i}`, interval: 60 })) saved++;
        if (saved === 300 && !restart) {
          await broker.stop("SIGKILL");
          restart = sleep(3000).then(() => broker.start());
        }
      },
    );
    expect(restart, "the broker was restarted during the saves").toBeDefined();
    await restart;

    await waitUntil(
      "the server's queue to drain",
      async () => (await health(server)).notifications.pending === 0,
      60_000,
    );
    // What each device should hold: the ETag of its stored config, as the server reports it now.
    // Through the admin's client, so a failed HEAD is counted by kind with the other phases.
    const expected = new Map<string, string | null | undefined>();
    await forEachLimited(devices, 32, async ({ record }) => {
      expected.set(record.mac, await admin.storedEtag(record.mac));
    });
    const stale = () => devices.filter(({ record }) => record.etag !== expected.get(record.mac));
    await waitUntil("every device to hold its latest config", () => stale().length === 0, 120_000).catch(() => {
      throw new Error(
        `${stale().length} devices did not converge, e.g. ${JSON.stringify(stale()[0]?.record)}; HTTP errors ${describeHttpErrors(errors.count(), errors.byKind())}`,
      );
    });

    const m = await metrics(server);
    const reconnected = devices.filter(({ record }) => record.reconnects > 0).length;
    // Under load the broker is back before every save has been sent: a device whose save is still to
    // come checks after reconnecting, gets 404 (correctly: nothing is stored yet), and fetches on the save's notification.
    const absent = devices.reduce((n, { record }) => n + record.fetches.filter((f) => f.outcome === 404).length, 0);
    const httpErrors = describeHttpErrors(errors.count(), errors.byKind());
    console.log(
      `fleet through a broker restart: ${DEVICES} devices, saved ${saved}, delivered ${m.success}, dropped ${m.dropped}, failed ${m.failure}, devices that reconnected ${reconnected}, checks that found no config yet ${absent}, HTTP errors ${httpErrors}, ${errors.retries()} sent again after the keep-alive race`,
    );
    for (const sample of errors.samples()) console.log(`  error: ${sample.operation} ${sample.kind}: ${sample.detail}`);
    expect(errors.count(), `HTTP errors ${httpErrors}`).toBe(0);
    expect(saved).toBe(DEVICES);
    // The restart was felt: devices lost their connection and came back.
    expect(reconnected).toBeGreaterThan(0);
    expect(m.failure).toBe(0);
    expect(m.success + m.dropped).toBe(saved);
  }, 300_000);
});
