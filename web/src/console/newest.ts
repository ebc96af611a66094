/**
 * Only the newest of a page's overlapping requests may show its answer: an older one that
 * arrives late (the list reloaded after a write, then a search typed at once) must not
 * overwrite it. Call the returned function as a request starts; what it gives back says,
 * once the answer is in, whether that request is still the newest.
 */
export function newestOnly(): () => () => boolean {
  let started = 0
  return () => {
    const mine = ++started
    return () => mine === started
  }
}
