// Trains a few steps in a Web Worker through the cskd package's worker helper and shows the metrics.
import { createWorkerTrainer } from 'cskd/worker';

const params = new URLSearchParams(location.search);
const dataUrl = params.get('data') ?? 'data/tiny-cifar10.tar.gz';
const steps = Number(params.get('steps') ?? 3);
const method = params.get('method') ?? 'cskd';
const $ = (id) => document.getElementById(id);

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

// A frame counter: it keeps moving while a step runs, because the step runs in the worker.
let frames = 0;
const tick = () => { $('frames').textContent = String(++frames); requestAnimationFrame(tick); };
requestAnimationFrame(tick);

// Vite's dev and preview servers send a .tar.gz with `Content-Encoding: gzip`, so the browser hands
// over the bare tar; cskd reads gzip-compressed archives, so compress it again.
async function cifarBytes(resp) {
  const bytes = new Uint8Array(await resp.arrayBuffer());
  const isTar = String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';
  if (!isTar) return bytes;
  const gz = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}

async function main() {
  status(`Fetching ${dataUrl}…`);
  const resp = await fetch(dataUrl);
  if (!resp.ok) throw new Error(`could not fetch ${dataUrl}: HTTP ${resp.status}`);
  const bytes = await cifarBytes(resp);

  status('Starting the worker…');
  // Tiny on purpose (software WebGPU in CI): 2 images per class, batch 10, so 2 steps per epoch.
  const trainer = await createWorkerTrainer({
    model: 'smallcnn', width: 4, method, temperature: 4, lambda: 1, batch: 10, epochs: Math.ceil(steps / 2),
    perClass: 2, testPerClass: 1, lr: 0.05, schedule: 'cosine', augment: false, seed: 1,
  }, bytes, dataUrl.split('/').pop());
  try {
    const adapter = await trainer.adapterInfo();
    $('adapter').textContent = `${adapter.name} (${adapter.backend})`;
    const perEpoch = await trainer.stepsPerEpoch();
    for (let i = 0; i < steps; i++) {
      status(`Training step ${i + 1}/${steps}…`);
      const s = await trainer.step();
      const global = s.epoch * perEpoch + s.step;
      const tr = document.createElement('tr');
      tr.dataset.step = String(global);
      tr.dataset.loss = String(s.loss);
      for (const v of [global, s.epoch + 1, s.loss.toFixed(4), s.ce.toFixed(4), s.kl.toFixed(4), s.lr.toPrecision(3)]) {
        tr.append(Object.assign(document.createElement('td'), { textContent: String(v) }));
      }
      $('steps').append(tr);
    }
    const metrics = await trainer.evaluate();
    const checkpoint = await trainer.saveCheckpoint();
    $('result').textContent = JSON.stringify({
      epochsDone: await trainer.epoch(),
      top1Error: metrics.top1Error, ece: metrics.ece, nll: metrics.nll, count: metrics.count,
      checkpointBytes: checkpoint.length,
    }, null, 2);
    document.body.dataset.done = 'true';
    status('Done.');
  } finally {
    trainer.terminate();
  }
}

main().catch((e) => {
  document.body.dataset.done = 'error';
  status(`Error: ${e.message ?? e}`, true);
});
