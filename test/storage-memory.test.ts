import { createMemoryStorage } from "../src/plugins/storage/memory.js";
import { testStorageDriver } from "./support/storage-conformance.js";

testStorageDriver({
  name: "memory",
  create: async ({ wallClock }) => ({ driver: createMemoryStorage({ wallClock }), cleanup: async () => {} }),
});
