import { createMemoryStorage } from "../src/plugins/storage/memory.js";
import { testStateStore } from "./support/state-conformance.js";
import { type DriverContext, testStorageDriver } from "./support/storage-conformance.js";

const memoryDriver = async ({ wallClock }: DriverContext) => ({
  driver: createMemoryStorage({ wallClock }),
  cleanup: async () => {},
});
testStorageDriver({ name: "memory", create: memoryDriver });
testStateStore({ name: "memory", create: memoryDriver });
