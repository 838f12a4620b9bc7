// The verdict's arithmetic (www/page/ui/compare.js), in Node: one seed gives values and the
// difference but no claim; several give means ± sample sd and say whether |B − A| exceeds the spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare } from '../../www/page/ui/compare.js';

const rec = (top1Error, nll, ece) => ({ top1Error, nll, ece });

test('one seed: the difference, and no claim about noise', () => {
  const rows = compare([{ seed: 0, values: [rec(0.5, 1.5, 0.10), rec(0.4, 1.2, 0.05)] }]);
  assert.deepEqual(rows.map((r) => r.key), ['top1Error', 'nll', 'ece']);
  assert.ok(Math.abs(rows[0].diff - -0.1) < 1e-12);
  assert.ok(rows.every((r) => r.exceeds === null && r.a.sd === 0));
});

test('several seeds: means, sample sd, and whether the difference exceeds the spread', () => {
  const rows = compare([
    { seed: 1, values: [rec(0.50, 1.5, 0.10), rec(0.40, 1.50, 0.05)] },
    { seed: 2, values: [rec(0.52, 1.6, 0.12), rec(0.42, 1.62, 0.06)] },
    { seed: 3, values: [rec(0.54, 1.7, 0.14), rec(0.44, 1.45, 0.07)] },
  ]);
  const [err, nll] = rows;
  assert.ok(Math.abs(err.a.mean - 0.52) < 1e-12 && Math.abs(err.a.sd - 0.02) < 1e-12);
  assert.ok(Math.abs(err.diff - -0.1) < 1e-12);
  assert.equal(err.exceeds, true, '0.1 apart with sds of 0.02');
  assert.equal(nll.exceeds, false, 'the NLL means differ by less than their spread');
});
