// Per-epoch line charts (uPlot, vendored in vendor/, loaded as the global `uPlot`).
// Colour and name of each run, filled in by registerRun when runs are created (a run is a config:
// method + mix + …, so names are made from it). Slot colours keep run A orange and run B teal.
export const RUN_COLORS = {};
export const RUN_LABELS = {};
const SLOT_COLORS = ['#d9661f', '#13877a', '#6b5bd6', '#b8336a'];
export function registerRun(id, label, slot) {
  RUN_LABELS[id] = label;
  RUN_COLORS[id] = SLOT_COLORS[slot % SLOT_COLORS.length];
}

const fmt = (digits) => (u, v) => (v == null ? '–' : v.toFixed(digits));

export class EpochChart {
  /** el: container; key: metric name in the per-epoch records; title, percent: show ×100 with '%'. */
  constructor(el, { title, key, percent = false, xLabel = 'epoch', points = true, empty = '' }) {
    this.el = el;
    this.xLabel = xLabel;
    this.points = points;
    this.empty = empty;
    this.key = key;
    this.percent = percent;
    this.title = title;
    this.runs = [];
    this.plot = null;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(el);
    this.setRuns([]);
  }

  width() { return Math.max(260, Math.floor(this.el.clientWidth || 320)); }

  setRuns(runIds) {
    this.runs = runIds;
    this.plot?.destroy();
    this.el.textContent = '';
    const series = [
      { label: this.xLabel, value: (u, v) => (v == null ? '–' : String(+v.toFixed(2))) },
      ...runIds.map((id) => ({
        label: RUN_LABELS[id] ?? id,
        stroke: RUN_COLORS[id] ?? '#555',
        width: 2,
        points: { show: this.points, size: 6 },
        spanGaps: true,
        value: this.percent ? (u, v) => (v == null ? '–' : `${v.toFixed(1)}%`) : fmt(4),
      })),
    ];
    const opts = {
      title: this.title,
      width: this.width(),
      height: 220,
      series,
      scales: { x: { time: false } },
      axes: [
        this.points
          ? { label: this.xLabel, incrs: [1, 2, 5, 10, 20, 50, 100], values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) }
          : { label: this.xLabel, values: (u, ticks) => ticks.map((t) => +t.toFixed(2)) },
        { values: (u, ticks) => ticks.map((t) => (this.percent ? `${+t.toFixed(1)}%` : +t.toPrecision(3))) },
      ],
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    this.plot = new uPlot(opts, [[], ...runIds.map(() => [])], this.el);
    // Says what will appear and when, until the first point does.
    this.note = document.createElement('p');
    this.note.className = 'chart-empty';
    this.note.textContent = this.empty;
    this.el.append(this.note);
  }

  /** records: { runId: [{epoch, <key>: number}, ...] } */
  update(records) {
    if (!this.plot) return;
    const epochs = new Set();
    for (const id of this.runs) for (const r of records[id] ?? []) epochs.add(r.epoch);
    const xs = [...epochs].sort((a, b) => a - b);
    const data = [xs];
    for (const id of this.runs) {
      const byEpoch = new Map((records[id] ?? []).map((r) => [r.epoch, r[this.key]]));
      data.push(xs.map((x) => {
        const v = byEpoch.get(x);
        if (v == null || !Number.isFinite(v)) return null;
        return this.percent ? v * 100 : v;
      }));
    }
    this.plot.setData(data);
    this.note.hidden = xs.length > 0;
  }

  /** series: { runId: [[x, y], ...] } with x increasing (per-step points). */
  updatePoints(series) {
    if (!this.plot) return;
    const xs = [...new Set(this.runs.flatMap((id) => (series[id] ?? []).map((p) => p[0])))].sort((a, b) => a - b);
    const data = [xs];
    for (const id of this.runs) {
      const at = new Map((series[id] ?? []).map(([x, y]) => [x, y]));
      data.push(xs.map((x) => (Number.isFinite(at.get(x)) ? at.get(x) : null)));
    }
    this.plot.setData(data);
    this.note.hidden = xs.length > 0;
  }

  resize() {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 2) this.plot.setSize({ width: this.width(), height: 220 });
  }
}
