// The verdict under the side-by-side charts when a comparison finishes: for each metric, run A's
// and run B's final values and their difference. The tab keeps every finished comparison; when the
// same two configurations have finished with several seeds, the values are means ± sample standard
// deviations over the seeds and the verdict says whether the difference exceeds the spread (|B − A|
// larger than the two standard deviations added); with one seed it says a single seed cannot tell.
import { RUN_LABELS } from '../charts.js';
import { compare } from './compare.js';
import { $, state, pct, num } from './state.js';

const SHOWN = {
  top1Error: { label: 'Top-1 error', fmt: (v) => pct(v, 2) },
  nll: { label: 'NLL', fmt: (v) => num(v) },
  ece: { label: 'ECE (15 bins)', fmt: (v) => pct(v, 2) },
};

/** Finished comparisons of this tab: both configs without their seed → [{ seed, values: [A, B] }]. */
const finished = new Map();

/** A run's final record (the last evaluated epoch). */
function lastRecord(run) {
  return run.final && (!run.epochs.length || run.final.epoch > run.epochs.at(-1).epoch) ? run.final : run.epochs.at(-1);
}

export function clearVerdict() {
  const box = $('#verdict');
  box.hidden = true;
  box.textContent = '';
  state.verdict = null;
}

/** Records the comparison that just finished and shows the verdict (two runs only). */
export function showVerdict() {
  const ids = state.runIds;
  const records = ids.map((id) => lastRecord(state.runs[id]));
  if (ids.length !== 2 || records.some((r) => !r)) return clearVerdict();
  const configs = ids.map((id) => state.runs[id].info.config);
  const key = JSON.stringify(configs.map(({ seed, ...rest }) => rest));
  const seed = configs[0].seed ?? 0;
  const list = (finished.get(key) ?? []).filter((e) => e.seed !== seed);
  list.push({ seed, values: records });
  finished.set(key, list);

  const seeds = list.map((e) => e.seed);
  const rows = compare(list).map((r) => ({ ...r, metric: SHOWN[r.key].label, fmt: SHOWN[r.key].fmt }));
  state.verdict = { seeds, rows: rows.map(({ fmt, ...r }) => r) };

  const box = $('#verdict');
  box.textContent = '';
  const h = document.createElement('h3');
  h.textContent = list.length > 1 ? `Verdict over ${list.length} seeds (${seeds.join(', ')})` : `Verdict (seed ${seed})`;
  const table = document.createElement('table');
  table.className = 'metrics';
  const [la, lb] = ids.map((id) => RUN_LABELS[id] ?? id);
  table.createTHead().insertRow().innerHTML =
    `<th>Metric</th><th>A: ${la}</th><th>B: ${lb}</th><th>B − A</th>${list.length > 1 ? '<th>vs the seeds\' spread</th>' : ''}`;
  const body = table.createTBody();
  const show = (fmt, s) => (list.length > 1 ? `${fmt(s.mean)} ± ${fmt(s.sd)}` : fmt(s.mean));
  for (const r of rows) {
    const tr = body.insertRow();
    const sign = r.diff > 0 ? '+' : '';
    const cells = [r.metric, show(r.fmt, r.a), show(r.fmt, r.b), `${sign}${r.fmt(r.diff)}`];
    if (r.exceeds !== null) cells.push(r.exceeds ? 'exceeds it' : 'within it');
    for (const c of cells) tr.insertCell().textContent = c;
  }
  const note = document.createElement('p');
  note.className = 'hint';
  note.id = 'verdict-note';
  note.textContent = list.length > 1
    ? 'Means ± sample standard deviations over the seeds this tab finished with these two configurations; '
      + '"exceeds it" means |B − A| is larger than the two standard deviations added.'
    : 'One seed per run: a single seed cannot tell whether this difference is larger than seed-to-seed noise. '
      + 'Run the same comparison again with another seed (Optimisation → Seed): the verdict then compares the means with the spread.';
  box.append(h, table, note);
  box.hidden = false;
}
