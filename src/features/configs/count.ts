import { macOfConfigFile } from "../../core/names.js";
import type { StorageDriver } from "../../core/storage.js";

/** How many config files the driver holds (names only, nothing is read). */
export async function countConfigFiles(driver: StorageDriver): Promise<number> {
  return (await driver.list("configs")).filter((name) => macOfConfigFile(name) !== undefined).length;
}
