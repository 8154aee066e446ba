// Bounded concurrency over a stream of work: at most `concurrency` items in flight, items pulled
// lazily (so a paged observe never buffers everything), and a stop signal that lets the running
// items finish but starts no new ones (SIGTERM).

export interface BoundedRunResult {
  started: number;
  /** True when the signal stopped the run before the input was exhausted. */
  interrupted: boolean;
}

export async function runBounded<T>(items: Iterable<T> | AsyncIterable<T>, concurrency: number, worker: (item: T) => Promise<void>, signal?: AbortSignal): Promise<BoundedRunResult> {
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be >= 1, got ${concurrency}`);
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : toAsync(items as Iterable<T>);
  let started = 0;
  let interrupted = false;
  let exhausted = false;
  // One puller at a time: async iterators must not be advanced concurrently.
  let pulling: Promise<void> = Promise.resolve();
  const next = (): Promise<IteratorResult<T>> => {
    const result = pulling.then(() => iterator.next());
    pulling = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };
  const lane = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted) {
        interrupted = !exhausted;
        return;
      }
      const item = await next();
      if (item.done) {
        exhausted = true;
        return;
      }
      if (signal?.aborted) {
        interrupted = true;
        return;
      }
      started++;
      await worker(item.value);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    if (!exhausted) await iterator.return?.();
  }
  return { started, interrupted };
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}
