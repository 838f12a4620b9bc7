// The arithmetic of the verdict (no DOM, so Node tests import it): per metric, the two runs'
// mean and sample standard deviation over the finished seeds, the difference B − A, and — with
// two or more seeds — whether |B − A| exceeds the spread (the two standard deviations added).

export const VERDICT_METRICS = ['top1Error', 'nll', 'ece'];

function meanSd(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

/** `finished`: [{ seed, values: [recordA, recordB] }], one entry per seed. */
export function compare(finished) {
  return VERDICT_METRICS.map((key) => {
    const [a, b] = [0, 1].map((r) => meanSd(finished.map((e) => e.values[r][key]).filter(Number.isFinite)));
    const diff = b.mean - a.mean;
    return { key, a, b, diff, exceeds: finished.length > 1 ? Math.abs(diff) > a.sd + b.sd : null };
  });
}
