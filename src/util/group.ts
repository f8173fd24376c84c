// Grouping a list by a key, once: the control loop groups every instance, container and custom metric by endpoint each interval.

/**
 * Items by key, each group in the order of `items`. Items whose key is
 * undefined are left out. (Map.groupBy does this from Node 21; engines allow 20.)
 */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
