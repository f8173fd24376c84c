// Appends made close together become one appendMany: a sweep's decisions cost a few writes, not one per endpoint.

/**
 * Coalesces the appends made in one turn of the event loop (and those made
 * while a write is running) into one `write` of all of them, in the order
 * they were made. Writes never overlap, so batches land in order too. Each
 * caller's promise settles when its batch is stored, or with the batch's
 * error: whoever publishes after `append` still publishes only what is
 * stored.
 */
export class BatchedAppend<T> {
  private queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private draining = false;

  constructor(private readonly write: (items: readonly T[]) => Promise<void>) {}

  append(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.write(batch.map((entry) => entry.item));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.draining = false;
  }
}
