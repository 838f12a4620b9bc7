// The JS API's result types (what its functions resolve to). The configuration type is generated
// from the Rust types: train_config.d.ts.
export interface AdapterInfo {
  name: string; backend: string; driver: string; deviceType: string; features: string[];
  maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number; maxComputeWorkgroupsPerDimension: number;
}
export interface StepResult {
  epoch: number; step: number; loss: number; ce: number; kl: number; lr: number;
  imagesPerSec: number; epochDone: boolean;
}
export interface Reliability { binConfidence: number[]; binAccuracy: number[]; binCount: number[] }
export interface Metrics {
  top1Error: number; top5Error: number; nll: number; ece: number; recallAt1: number | null;
  perClassAccuracy: number[]; confusion: number[][]; reliability: Reliability;
  superclassShare: number | null; count: number;
  /** The metrics after dividing the logits by the temperature fitted on the held-out set. */
  temperatureScaled: { temperature: number; ece: number; nll: number; reliability: Reliability } | null;
}
export interface EpochRecord {
  epoch: number; lr: number; trainLoss: number; trainCe: number; trainKl: number;
  seconds: number; imagesPerSec: number; test: Metrics | null;
}
export interface Embeddings { dim: number; data: Float32Array; labels: Uint32Array }
export interface Predictions { classes: number; probs: Float32Array; labels: Uint32Array }
/** One pass over the test subset: `Trainer.evaluateAll()`. */
export interface Evaluation { metrics: Metrics; embeddings: Embeddings; predictions: Predictions }
export interface W1Result {
  method: string; imagesPerStep: number; steps: number; medianStepMs: number;
  imagesPerSec: number; dispatchesPerStep: number;
}
/** Options of `profileStep`: CS-KD (else CE) and its anchors per step (CE takes twice as many). */
export interface ProfileOptions { cskd?: boolean; anchors?: number } // [true, 16]
export interface FamilyRow {
  family: string; dispatches: number; ms: number; share: number;
  gflops: number | null; gbs: number | null;
}
export interface StepProfile {
  method: string; imagesPerStep: number; timing: "timestamps" | "isolated"; dispatches: number;
  gpuMs: number; wallMs: number; loss: number; families: FamilyRow[]; unknown: string[];
  kernels: {
    kernel: string; family: string | null; flops: number; bytes: number; ms: number;
    groups: [number, number, number]; constants: [string, number][];
  }[];
  /** What a real trainer step asked of the GPU, summed over `countedSteps` warm steps. */
  counters: {
    submits: number; hostWaits: number; overlappedWaits: number; dispatches: number;
    bindGroupsCreated: number; bytesWritten: number;
  };
  countedSteps: number;
}
/** A named configuration of the preset menu (src/train/presets.json), resolved: `config` holds every
 *  field; `runs` are the one or two compared runs (`methods` spelt as `cskd experiment --methods`). */
export interface Preset {
  key: string; label: string; note: string; methods: string[];
  runs: { method: NonNullable<TrainConfig["method"]>; mix: NonNullable<TrainConfig["mix"]> }[];
  config: Required<TrainConfig>;
}
/** Options of `benchKernels`; every field optional. */
export interface KernelBenchOptions {
  /** The kernel family to run (default: the device's, as `setKernels` chose). */
  family?: "tiled" | "compact" | "shared";
  /** Exact names from `kernelNames()` (default: all), reported in this order. */
  kernels?: string[];
  /** Timed launches per kernel, 1..=1000 (the median is reported). */
  reps?: number; // 3
  /** Timed at the small odd shape checked, or at W1's shapes (slow on a software adapter). */
  size?: "small" | "w1"; // "small"
  /** W1's images per conv (its CS-KD anchors), 1..=1024; with size "w1". */
  batch?: number; // 16
}
/** One kernel checked against its CPU reference at its small odd and aligned shapes, then timed. */
export interface KernelCheck {
  kernel: string; checkedShape: string;
  /** Largest error relative to max(|reference|, 1) over every output element, ≤ `tolerance`. */
  maxErr: number; tolerance: number;
  timedShape: string; medianMs: number;
  /** Conv and matmul kernels: GFLOP/s; the others: GB/s over the bytes moved. */
  gflops: number | null; gbs: number | null;
  /** The shader entry points (`shader::entry`) the timed launch dispatched, all of them checked. */
  dispatches: string[];
  /** FLOPs and bytes moved (read + written) by the timed launch, and FLOP per byte. */
  flops: number; bytes: number; intensity: number;
  workgroups: number; grids: [number, number, number][];
}
/** `benchKernels`: the family run, one row per kernel run, and the kernels this adapter cannot run
 *  (the tiled family's 3×3 stride-1 convolutions on SwiftShader) with the reason. */
export interface KernelBench {
  family: "tiled" | "compact" | "shared"; kernels: KernelCheck[]; skipped: { kernel: string; reason: string }[];
}
