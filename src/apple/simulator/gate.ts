/** At most `limit` holders at once; the others wait their turn in order. */
export function createGate(limit: number) {
  let held = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else held--;
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (held < limit) held++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
