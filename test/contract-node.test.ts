/** The HTTP contract suite on Node: in-process (memory and filesystem storage) and as a spawned server with MQTT over ws. */
import { Registry } from "prom-client";
import { afterAll, beforeAll } from "vitest";
import { compose } from "../src/core/compose.js";
import { createMemoryLogger } from "../src/core/logger.js";
import { importVerificationKey } from "../src/features/assets/signing-key.js";
import { adminAuthPlugin } from "../src/plugins/auth/index.js";
import { createApiDocs } from "../src/plugins/docs/index.js";
import { locateSwaggerUi, packageFiles } from "../src/plugins/docs/package-files.js";
import { createMetrics } from "../src/plugins/metrics/index.js";
import { createNoopSink } from "../src/plugins/sinks/noop.js";
import { createMemoryStorage } from "../src/plugins/storage/memory.js";
import { loadSettingsWith } from "../src/runtimes/root.js";
import { createTestApp } from "./support/app.js";
import { httpContractInModes } from "./support/auth-modes.js";
import { closingFetch } from "./support/closing-fetch.js";
import { CONTRACT_MAX_UPLOAD_BYTES, httpContract } from "./support/contract.js";
import { testKeys } from "./support/keys.js";
import { type Broker, mosquittoAvailable, startBroker } from "./support/mosquitto.js";
import { spawnServer } from "./support/server.js";

const env = { MAX_UPLOAD_BYTES: String(CONTRACT_MAX_UPLOAD_BYTES) };

/** The in-process targets have the no-op sink; the server process below carries the round trip. */
const inProcess = { notificationsNotApplicable: "in-process app with the no-op sink" };

httpContractInModes(
  "Node in-process, filesystem storage",
  async (authEnv) => {
    const t = await createTestApp("fs", { ...env, ...authEnv });
    return { fetch: async (path, init) => t.app.request(path, init), sign: t.sign, close: t.cleanup };
  },
  inProcess,
);

httpContract(
  "Node in-process, memory storage",
  async () => {
    const keys = testKeys();
    const metrics = createMetrics(new Registry());
    const { app } = compose({
      settings: loadSettingsWith(env, adminAuthPlugin).settings,
      logger: createMemoryLogger(),
      storage: createMemoryStorage(),
      sink: createNoopSink(),
      observer: metrics.observer,
      verifyKey: await importVerificationKey(keys.spki),
      metrics: metrics.exposition,
      docs: createApiDocs({ version: "test", files: packageFiles((await locateSwaggerUi()) as string) }),
    });
    return { fetch: async (path, init) => app.request(path, init), sign: keys.sign, close: async () => {} };
  },
  inProcess,
);

const withBroker = mosquittoAvailable();
let broker: Broker | undefined;
beforeAll(async () => {
  if (withBroker) broker = await startBroker();
});
afterAll(async () => {
  await broker?.cleanup();
});

httpContractInModes("Node server process (npm start), MQTT over ws", async (authEnv) => {
  const keys = testKeys();
  const server = await spawnServer({
    ...env,
    ...authEnv,
    SIGNING_KEY: keys.pkcs1,
    ...(broker ? { MQTT_URL: broker.wsUrl } : {}),
  });
  return {
    fetch: closingFetch(server.url),
    sign: keys.sign,
    brokerWsUrl: broker?.wsUrl,
    close: server.cleanup,
  };
});
