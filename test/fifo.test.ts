/**
 * The sinks' FIFO (src/plugins/sinks/fifo.ts) keeps its items in chunks of 1,024: pushes,
 * shifts and put-backs across chunk edges must keep exactly an array's order. Each case
 * replays a deterministic mix of operations against a plain array as the model.
 */
import { describe, expect, it } from "vitest";
import { Fifo } from "../src/plugins/sinks/fifo.js";

/** A small deterministic generator, so a failure replays the same way. */
const lcg = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe("Fifo", () => {
  it("drains a burst larger than several chunks in push order", () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 5_000; i++) fifo.push(i);
    expect(fifo.length).toBe(5_000);
    const out: number[] = [];
    for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) out.push(item);
    expect(out).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });

  it("puts items back at the front in order, across chunk edges and onto an empty queue", () => {
    const fifo = new Fifo<number>();
    fifo.unshift(1, 2, 3);
    fifo.push(4);
    expect(fifo.drain()).toEqual([1, 2, 3, 4]);
    for (let i = 0; i < 1_030; i++) fifo.push(i);
    for (let i = 0; i < 1_025; i++) fifo.shift();
    fifo.unshift(...Array.from({ length: 2_100 }, (_, i) => -2_100 + i));
    expect(fifo.length).toBe(2_105);
    expect(fifo.drain()).toEqual([
      ...Array.from({ length: 2_100 }, (_, i) => -2_100 + i),
      1_025,
      1_026,
      1_027,
      1_028,
      1_029,
    ]);
  });

  it.each([1, 2, 3, 4])("matches an array under a random mix of push, shift, unshift and drain (seed %i)", (seed) => {
    const random = lcg(seed);
    const fifo = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 500; step++) {
      const roll = random();
      if (roll < 0.5) {
        const n = Math.floor(random() * 700);
        for (let i = 0; i < n; i++) {
          fifo.push(next);
          model.push(next++);
        }
      } else if (roll < 0.85) {
        // Shifting past the end gives undefined, as an array's shift does.
        const n = Math.floor(random() * 900);
        const expected: Array<number | undefined> = model.splice(0, n);
        while (expected.length < n) expected.push(undefined);
        expect(Array.from({ length: n }, () => fifo.shift())).toEqual(expected);
      } else if (roll < 0.99) {
        const back = Array.from({ length: Math.floor(random() * 1_500) }, () => next++);
        fifo.unshift(...back);
        model.unshift(...back);
      } else expect(fifo.drain()).toEqual(model.splice(0));
      expect(fifo.length).toBe(model.length);
    }
    expect(fifo.drain()).toEqual(model);
  });
});
