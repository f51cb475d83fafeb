/** Helpers shared by the benches that lay out a 10,000-device fleet on disk (listing, fleet view). */

/** Files written or read at once: as many as the server reads while listing (LIST_CONCURRENCY). */
const CONCURRENCY = 16;

/** The i-th bench device's MAC (locally administered: 02-…). */
export const macOf = (i: number) =>
  `02-00-00-${[16, 8, 0].map((shift) => ((i >> shift) & 0xff).toString(16).padStart(2, "0")).join("-")}`;

/** Runs `work` over `items`, CONCURRENCY at a time. */
export async function inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}
