/** The assets view of a storage driver: streamed writes under checked names, and one-time signature markers. */
import { checkFilename } from "../../core/names.js";
import { rethrowOccupied, type StagedWrite, type StorageDriver } from "../../core/storage.js";

export interface AssetStore {
  /** Starts the streamed write of an asset, stored under the NFC form of `name`. */
  stage(name: string): Promise<StagedWrite>;
  /** One-time use of upload signatures: true when this call recorded `key`. */
  claimSignature(key: string, retainSeconds: number): Promise<boolean>;
  releaseSignature(key: string): Promise<void>;
}

export function createAssetStore(driver: StorageDriver): AssetStore {
  return {
    async stage(name) {
      // Checked here too, not only by the route, so no caller can write outside the area.
      const filename = checkFilename(name);
      const staged = await driver.stage("assets", filename);
      return { ...staged, commit: () => staged.commit().catch((error) => rethrowOccupied(error, { filename })) };
    },
    claimSignature: (key, retainSeconds) => driver.claimOnce(key, retainSeconds),
    releaseSignature: (key) => driver.releaseClaim(key),
  };
}
