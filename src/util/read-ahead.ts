// One item of look-ahead over an async iterable: the next item is asked for as soon as the
// current one is handed out, so the consumer's work on a page overlaps the wait for the next
// (a list request). At most two items are alive at once: the one in hand and the one coming.

export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let coming = iterator.next();
  let settled = false;
  try {
    for (;;) {
      const item = await coming.catch((err: unknown) => {
        settled = true;
        throw err;
      });
      if (item.done) {
        settled = true;
        return;
      }
      coming = iterator.next();
      yield item.value;
    }
  } finally {
    if (!settled) {
      // The consumer stopped early with a request on its way: its failure no longer matters to
      // anyone, and the source is closed once it has answered.
      coming.catch(() => undefined);
      await iterator.return?.();
    }
  }
}
