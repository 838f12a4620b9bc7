// Uses every export of the cskd package and of its worker helper, and every Trainer method, so that
// `tsc --noEmit` checks the published .d.ts files against real use (tests/browser/npm-package.test.mjs
// also fails when a new export is not used here). Compiled only, never run.
import init, {
  Trainer, adapterInfo, benchKernels, benchW1, destroyDeviceForTesting, gpuLost, initSync, kernelNames, presets, profileStep,
  resetGpu, setKernels, start, webgpuAvailable,
  type AdapterInfo, type FamilyRow, type KernelBench, type KernelBenchOptions, type KernelCheck, type ProfileOptions, type StepProfile, type Embeddings, type EpochRecord, type Evaluation, type InitInput, type InitOutput, type Metrics,
  type Predictions, type Preset, type Reliability, type StepResult, type SyncInitInput, type TrainConfig, type W1Result,
} from 'cskd';
import {
  WorkerTrainer, createWorkerTrainer, type TrainingData, type WorkerTrainerOptions,
} from 'cskd/worker';

const config: TrainConfig = {
  model: 'smallcnn', width: 8, method: 'cskd', temperature: 4, lambda: 1, smoothing: 0.1,
  mix: 'cutmix', mixAlpha: 1, kdLambda: 0, kdTemperature: 4, pskdAlpha: 0.8, calibrationFraction: 0.1,
  lr: 0.05, momentum: 0.9, weightDecay: 5e-4, batch: 32, epochs: 2, schedule: 'cosine',
  seed: 1, augment: true, perClass: 10, testPerClass: 5, nesterov: false,
};
// The type is generated from the Rust configuration: a field it does not have is an error.
// @ts-expect-error learningRate is not a TrainConfig field (lr is)
const misspelt: TrainConfig = { learningRate: 0.1 };
void misspelt;

function describeAdapter(a: AdapterInfo): string {
  return `${a.name} ${a.backend} ${a.driver} ${a.deviceType} [${a.features.join(',')}] ${a.maxBufferSize} ` +
    `${a.maxStorageBufferBindingSize} ${a.maxComputeInvocationsPerWorkgroup} ${a.maxComputeWorkgroupStorageSize} ` +
    `${a.maxComputeWorkgroupsPerDimension}`;
}

function describeStep(s: StepResult): string {
  return `${s.epoch}/${s.step} ${s.loss} ${s.ce} ${s.kl} ${s.lr} ${s.imagesPerSec} ${s.epochDone}`;
}

function calibration(r: Reliability): number {
  return r.binConfidence.length + r.binAccuracy.length + r.binCount.length;
}

function describeMetrics(m: Metrics): string {
  const recall: number | null = m.recallAt1;
  const share: number | null = m.superclassShare;
  const scaled = m.temperatureScaled;
  return `${m.top1Error} ${m.top5Error} ${m.nll} ${m.ece} ${recall} ${m.perClassAccuracy.length} ` +
    `${m.confusion.length} ${calibration(m.reliability)} ${share} ${m.count} ` +
    (scaled ? `${scaled.temperature} ${scaled.ece} ${scaled.nll} ${calibration(scaled.reliability)}` : '-');
}

function describeEpoch(e: EpochRecord): string {
  const test: Metrics | null = e.test;
  return `${e.epoch} ${e.lr} ${e.trainLoss} ${e.trainCe} ${e.trainKl} ${e.seconds} ${e.imagesPerSec} ${test ? describeMetrics(test) : '-'}`;
}

function featureRows(e: Embeddings): number {
  const data: Float32Array = e.data;
  const labels: Uint32Array = e.labels;
  return data.length / e.dim + labels.length;
}

function topClass(p: Predictions, i: number): number {
  const row: Float32Array = p.probs.subarray(i * p.classes, (i + 1) * p.classes);
  const label: number | undefined = p.labels[i];
  return row.indexOf(Math.max(...row)) + (label ?? 0) * 0;
}

function describeBench(w: W1Result): string {
  return `${w.method} ${w.imagesPerStep} ${w.steps} ${w.medianStepMs} ${w.imagesPerSec} ${w.dispatchesPerStep}`;
}

function describeRow(r: FamilyRow): string {
  return `${r.family} ${r.dispatches} ${r.ms} ${r.share} ${r.gflops ?? '-'} ${r.gbs ?? '-'}`;
}

function describeProfile(p: StepProfile): string {
  const kernels = p.kernels.map((k) => `${k.kernel} ${k.family ?? '?'} ${k.flops} ${k.bytes} ${k.ms}`);
  return `${p.method} ${p.imagesPerStep} ${p.timing} ${p.dispatches} ${p.gpuMs} ${p.wallMs} ${p.loss} ` +
    `${p.families.map(describeRow).join(';')} ${p.unknown.length} ${kernels.length}`;
}

function describeKernel(k: KernelCheck): string {
  const grids = k.grids.map(([x, y, z]) => `${x}x${y}x${z}`).join(' ');
  return `${k.kernel} ${k.checkedShape} ${k.maxErr}/${k.tolerance} ${k.timedShape} ${k.medianMs} ` +
    `${k.gflops ?? '-'} ${k.gbs ?? '-'} ${k.dispatches.join(',')} ${k.flops} ${k.bytes} ${k.intensity} ${k.workgroups} ${grids}`;
}

/** The main-thread API: init, adapter, Trainer and all its methods, checkpoints, the GPU helpers. */
export async function onMainThread(data: Uint8Array, image: Uint8Array): Promise<string[]> {
  const input: InitInput = new URL('cskd_bg.wasm', import.meta.url);
  const output: InitOutput = await init({ module_or_path: input });
  const memory: WebAssembly.Memory = output.memory;
  const log = [`memory ${memory.buffer.byteLength}`];
  if (!webgpuAvailable()) return ['no WebGPU'];
  start();
  log.push(describeAdapter(await adapterInfo()));
  const software: Preset | undefined = presets().find((p) => p.key === 'software');
  if (software) log.push(`${software.label}: ${software.runs.map((r) => `${r.method}+${r.mix}`).join(' vs ')}, width ${software.config.width}`);
  log.push(describeBench(await benchW1(true, 4, 1)));
  setKernels('compact');
  const options: ProfileOptions = { cskd: true, anchors: 4 };
  log.push(describeProfile(await profileStep(options)));
  setKernels(null);
  const kernelOptions: KernelBenchOptions = { family: 'shared', kernels: kernelNames().slice(0, 2), reps: 1, size: 'small', batch: 4 };
  const bench: KernelBench = await benchKernels(kernelOptions);
  log.push(bench.family, ...bench.kernels.map(describeKernel), ...bench.skipped.map((s) => `${s.kernel}: ${s.reason}`));

  const t: Trainer = await Trainer.create(config, data, 'cifar-10-binary.tar.gz');
  const resolved: TrainConfig = t.config();
  const classes: string[] = t.classes();
  log.push(`${resolved.method} ${classes.length} ${t.stepsPerEpoch()} ${t.totalSteps()} ${t.numTest()} ${t.numParameters()}`);
  while (t.epoch() < (resolved.epochs ?? 1)) {
    const s = await t.step();
    log.push(describeStep(s), `${t.stepInEpoch()}`);
    if (s.epochDone) log.push(describeMetrics(await t.evaluate()));
    else log.push(...(await t.steps(4)).map(describeStep)); // pipelined, up to the epoch's end
  }
  log.push(...t.history().map(describeEpoch));
  log.push(`${featureRows(await t.embeddings())} ${topClass(await t.testPredictions(), 0)}`);
  const all: Evaluation = await t.evaluateAll();
  log.push(`${describeMetrics(all.metrics)} ${featureRows(all.embeddings)} ${topClass(all.predictions, 0)}`);
  const probs: Float32Array = await t.predict(t.testImage(0), 32, 32);
  const more: Float32Array = await t.predict(image, 64, 48);
  log.push(`${probs.length} ${more.length}`);
  const checkpoint: Uint8Array = await t.saveCheckpoint();
  await t.loadCheckpoint(checkpoint);
  await t.resume(checkpoint);
  t.free();

  {
    using scoped = await Trainer.create(undefined, data, 'data_batch_1.bin');
    log.push(`${scoped.numParameters()}`);
  } // [Symbol.dispose]() frees it here
  // A student distilled from the trainer above (teacherBytes).
  const other = await Trainer.create({ method: 'pskd', kdLambda: 1, kdTemperature: 4 }, data, 'data_batch_1.bin', checkpoint);
  other[Symbol.dispose]();

  if (gpuLost()) resetGpu();
  log.push(`${destroyDeviceForTesting()}`);
  return log;
}

/** Synchronous instantiation from bytes the caller already has. */
export function instantiateNow(wasm: ArrayBuffer): InitOutput {
  const module: SyncInitInput = wasm;
  return initSync({ module });
}

/** The worker helper: every WorkerTrainer method. */
export async function inAWorker(file: File, bytes: ArrayBuffer): Promise<string[]> {
  const data: TrainingData = file;
  const options: WorkerTrainerOptions = { wasm: new URL('./cskd_bg.wasm', import.meta.url) };
  const t: WorkerTrainer = await createWorkerTrainer(config, data, file.name, options);
  const log: string[] = [describeAdapter(await t.adapterInfo())];
  const resolved: TrainConfig = await t.config();
  log.push(`${resolved.batch} ${(await t.classes()).length} ${await t.stepsPerEpoch()} ${await t.totalSteps()}`);
  log.push(`${await t.numTest()} ${await t.numParameters()} ${t.terminated}`);
  while ((await t.epoch()) < (resolved.epochs ?? 1)) {
    const s = await t.step();
    log.push(describeStep(s), `${await t.stepInEpoch()}`);
    if (!s.epochDone) log.push(...(await t.steps(3)).map(describeStep)); // pipelined, up to the epoch's end
  }
  log.push(describeMetrics(await t.evaluate()), ...(await t.history()).map(describeEpoch));
  log.push(`${featureRows(await t.embeddings())} ${topClass(await t.testPredictions(), 0)}`);
  const all: Evaluation = await t.evaluateAll();
  log.push(`${describeMetrics(all.metrics)} ${featureRows(all.embeddings)} ${topClass(all.predictions, 0)}`);
  const probs: Float32Array = await t.predict(await t.testImage(0), 32, 32);
  const checkpoint: Uint8Array = await t.saveCheckpoint();
  await t.loadCheckpoint(checkpoint);
  await t.resume(checkpoint);
  const extra: unknown = await t.call('numParameters');
  log.push(`${probs.length} ${String(extra)}`);
  t.terminate();

  // Bytes instead of a File, and a Worker the caller made (for bundlers without worker support).
  const own = new WorkerTrainer(new Worker(new URL('./trainer-worker.js', import.meta.url), { type: 'module' }));
  own.terminate();
  const worker = new Worker(new URL('./trainer-worker.js', import.meta.url), { type: 'module' });
  const u = await createWorkerTrainer({ kdLambda: 0.5 }, bytes, 'cifar.tar.gz', { worker, teacher: checkpoint });
  log.push(`${own.terminated} ${await u.numParameters()}`);
  u.terminate();
  return log;
}
