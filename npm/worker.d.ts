// Types of the Web Worker helper (worker.js). The result types are those of the Trainer in cskd.js.
import type {
  AdapterInfo, Embeddings, EpochRecord, Evaluation, Metrics, Predictions, StepResult, TrainConfig,
} from './cskd.js';

/** Training data: a CIFAR .tar.gz archive or .bin file, as bytes or a Blob/File (read in the worker). */
export type TrainingData = Uint8Array | ArrayBuffer | Blob;

export interface WorkerTrainerOptions {
  /** A cskd checkpoint to distil from when the config's `kdLambda` > 0 (Trainer.create's `teacherBytes`). */
  teacher?: Uint8Array | ArrayBuffer;
  /** A Worker already running trainer-worker.js, for bundlers that do not handle `new URL(…, import.meta.url)`. */
  worker?: Worker;
  /** URL of cskd_bg.wasm (relative to the page) when it is not served next to cskd.js. */
  wasm?: string | URL;
}

/**
 * A Trainer running in a Web Worker. Every method is the Trainer method of the same name, made
 * asynchronous; calls run in order, one at a time. Rejections are Errors carrying the Trainer's message.
 */
export declare class WorkerTrainer {
  /** Use createWorkerTrainer(). */
  constructor(worker: Worker);
  /** Whether terminate() was called or the worker failed; every later call rejects. */
  readonly terminated: boolean;
  step(): Promise<StepResult>;
  /** Up to `n` pipelined steps in one round trip; stops after the step that ends an epoch. */
  steps(n: number): Promise<StepResult[]>;
  evaluate(): Promise<Metrics>;
  /** Metrics, embeddings and predictions from one pass over the test subset. */
  evaluateAll(): Promise<Evaluation>;
  history(): Promise<EpochRecord[]>;
  embeddings(): Promise<Embeddings>;
  testPredictions(): Promise<Predictions>;
  /** Test image `index` as 32×32 RGBA bytes. */
  testImage(index: number): Promise<Uint8Array>;
  /** Class probabilities for an RGBA image of any size. */
  predict(rgba: Uint8Array, width: number, height: number): Promise<Float32Array>;
  /** A safetensors checkpoint (the CLI's format). */
  saveCheckpoint(): Promise<Uint8Array>;
  /** A cskd checkpoint of the same model (resumes when it carries the same config), or a plain PyTorch state_dict in safetensors. */
  loadCheckpoint(bytes: Uint8Array): Promise<void>;
  /** Continues the run saved in `bytes` exactly where it stopped (same configuration). */
  resume(bytes: Uint8Array): Promise<void>;
  config(): Promise<TrainConfig>;
  classes(): Promise<string[]>;
  stepsPerEpoch(): Promise<number>;
  /** Finished epochs. */
  epoch(): Promise<number>;
  stepInEpoch(): Promise<number>;
  totalSteps(): Promise<number>;
  numTest(): Promise<number>;
  numParameters(): Promise<number>;
  adapterInfo(): Promise<AdapterInfo>;
  /** Calls any Trainer method by name (for methods newer than this helper). */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  /** Stops the worker at once (its GPU memory goes with it); pending and later calls reject. */
  terminate(): void;
}

/**
 * Starts a module worker, loads the wasm module there and creates a Trainer. Rejects with the
 * Trainer's error (invalid configuration, bad data, no WebGPU, …) after stopping the worker.
 */
export declare function createWorkerTrainer(
  config: TrainConfig | undefined,
  data: TrainingData,
  fileName: string,
  options?: WorkerTrainerOptions,
): Promise<WorkerTrainer>;
