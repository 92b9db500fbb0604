/**
 * A Map of what an isolate keeps between requests, bounded: it holds the `max` entries set most
 * recently, and setting one more drops the oldest (work left unfinished is forgotten, not kept).
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Set again, an entry counts as the most recent.
    super.delete(key);
    super.set(key, value);
    for (const oldest of this.keys()) {
      if (this.size <= this.max) break;
      super.delete(oldest);
    }
    return this;
  }
}
