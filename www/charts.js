// Per-epoch line charts (uPlot, vendored in vendor/, loaded as the global `uPlot`).
export const RUN_COLORS = { ce: '#d9661f', cskd: '#13877a', ls: '#6b5bd6' };
export const RUN_LABELS = { ce: 'Cross-entropy', cskd: 'CS-KD', ls: 'Label smoothing' };

const fmt = (digits) => (u, v) => (v == null ? '–' : v.toFixed(digits));

export class EpochChart {
  /** el: container; key: metric name in the per-epoch records; title, percent: show ×100 with '%'. */
  constructor(el, { title, key, percent = false }) {
    this.el = el;
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
      { label: 'epoch', value: (u, v) => (v == null ? '–' : String(v)) },
      ...runIds.map((id) => ({
        label: RUN_LABELS[id] ?? id,
        stroke: RUN_COLORS[id] ?? '#555',
        width: 2,
        points: { show: true, size: 6 },
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
        { label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100], values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) },
        { values: (u, ticks) => ticks.map((t) => (this.percent ? `${+t.toFixed(1)}%` : +t.toPrecision(3))) },
      ],
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
    };
    this.plot = new uPlot(opts, [[], ...runIds.map(() => [])], this.el);
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
  }

  resize() {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 2) this.plot.setSize({ width: this.width(), height: 220 });
  }
}
