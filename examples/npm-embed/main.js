// Minimal use of the cskd npm package (built by `wasm-pack build --target web`), straight from node_modules.
import init, { Trainer, adapterInfo, webgpuAvailable } from './node_modules/cskd/cskd.js';

const params = new URLSearchParams(location.search);
const dataUrl = params.get('data') ?? 'data/tiny-cifar10.tar.gz';
const steps = Number(params.get('steps') ?? 10);
const method = params.get('method') ?? 'ce';
const $ = (id) => document.getElementById(id);

function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

async function main() {
  await init();
  if (!webgpuAvailable()) throw new Error('WebGPU is not available in this browser');
  const adapter = await adapterInfo();
  $('adapter').textContent = `${adapter.name} (${adapter.backend})`;

  status(`Fetching ${dataUrl}…`);
  const resp = await fetch(dataUrl);
  if (!resp.ok) throw new Error(`could not fetch ${dataUrl}: HTTP ${resp.status}`);
  const bytes = new Uint8Array(await resp.arrayBuffer());

  // A tiny full-batch problem: 2 images per class, one batch of 20, no augmentation, so every step
  // sees the same images and the loss should go down step after step.
  const trainer = await Trainer.create({
    model: 'smallcnn', width: 8, method, batch: 20, epochs: steps, perClass: 2, testPerClass: 2,
    lr: 0.05, momentum: 0.9, weightDecay: 0, schedule: 'cosine', augment: false, seed: 1,
  }, bytes, dataUrl.split('/').pop());
  try {
    const losses = [];
    for (let i = 0; i < steps; i++) {
      status(`Training step ${i + 1}/${steps}…`);
      const s = await trainer.step();
      losses.push(s.loss);
      const li = document.createElement('li');
      li.dataset.loss = String(s.loss);
      li.textContent = `loss ${s.loss.toFixed(4)} (ce ${s.ce.toFixed(4)}, kl ${s.kl.toFixed(4)}, lr ${s.lr.toPrecision(3)})`;
      $('losses').append(li);
    }
    const metrics = await trainer.evaluate();
    $('result').textContent = JSON.stringify({ losses, top1Error: metrics.top1Error, ece: metrics.ece, count: metrics.count }, null, 2);
    document.body.dataset.done = 'true';
    status(`Done: loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}.`);
  } finally {
    trainer.free();
  }
}

main().catch((e) => {
  document.body.dataset.done = 'error';
  status(`Error: ${e.message ?? e}`, true);
});
