/** Rounds of rebuild-and-put before giving up on a value that keeps changing meanwhile. */
const MAX_ROUNDS = 5;

/**
 * Publishes a value rebuilt from the database, then rebuilds it and publishes again until what was put is
 * still what the database says. Another control-plane process may commit a change between the read and the
 * put, and its own put may land first; whichever process puts last then leaves the current value. Each
 * extra round needs a newer commit, so it settles in a round or two. Returns what was published last (null
 * when `build` has nothing to publish).
 */
export async function publishCurrent<T>(
  build: () => Promise<T | null>,
  put: (text: string, value: T) => Promise<void>,
): Promise<T | null> {
  let published: string | null = null;
  let value: T | null = null;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = await build();
    if (next === null) return value;
    const text = JSON.stringify(next);
    if (text === published) return value;
    await put(text, next);
    published = text;
    value = next;
  }
  return value;
}
