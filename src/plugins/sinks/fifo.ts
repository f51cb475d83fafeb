/**
 * A FIFO with O(1) push and shift, and cheap put-back at the front. A plain array's
 * `shift()` is O(n) once the array is large (V8 cannot trim big arrays in place),
 * which made a queue of thousands of notifications quadratic to drain.
 *
 * Items live in a chain of fixed-size chunks rather than one growing array: a burst of
 * thousands then never copies the whole queue to grow or compact it, and each chunk is
 * filled while it is still young, so storing a new item in it costs the garbage collector
 * nothing (one big array is soon old, and every young item stored in an old array is a
 * slot each scavenge has to visit).
 */
const CHUNK = 1024;

interface Chunk<T> {
  items: Array<T | undefined>;
  next: Chunk<T> | undefined;
}

const chunk = <T>(next?: Chunk<T>): Chunk<T> => ({ items: new Array<T | undefined>(CHUNK), next });

export class Fifo<T> {
  /** The oldest item is `#first.items[#read]`; the next push goes to `#last.items[#write]`. */
  #first: Chunk<T> = chunk();
  #last: Chunk<T> = this.#first;
  #read = 0;
  #write = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#write === CHUNK) {
      const next = chunk<T>();
      this.#last.next = next;
      this.#last = next;
      this.#write = 0;
    }
    this.#last.items[this.#write++] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const first = this.#first;
    const item = first.items[this.#read];
    first.items[this.#read++] = undefined;
    this.#length--;
    if (this.#length === 0) {
      // Empty: start again at the front of one chunk (the rest of the chain is garbage).
      this.#first = this.#last = first.next === undefined ? first : chunk();
      this.#read = this.#write = 0;
    } else if (this.#read === CHUNK) {
      this.#first = first.next as Chunk<T>;
      this.#read = 0;
    }
    return item as T;
  }

  /** Puts items back at the front, keeping their order (they are the oldest). */
  unshift(...items: T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.#read === 0) {
        this.#first = chunk(this.#first);
        this.#read = CHUNK;
      }
      this.#first.items[--this.#read] = items[i];
      this.#length++;
    }
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all: T[] = [];
    while (this.#length > 0) all.push(this.shift() as T);
    return all;
  }
}
