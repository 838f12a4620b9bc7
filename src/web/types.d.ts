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
