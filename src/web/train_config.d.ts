// Generated from the Rust types by `cskd::cli::typescript` (tests/typescript.rs checks it;
// CSKD_BLESS=1 cargo test --test typescript rewrites it). Do not edit by hand.
/** Training configuration; every field is optional (its default is in brackets). */
export interface TrainConfig {
  /** Random crop + flip [true] */
  augment?: boolean;
  /** Anchors per step [128] */
  batch?: number;
  /** Share of the training pool held out to fit the temperature scaling (0 = off) [0.1] */
  calibrationFraction?: number;
  /** Epochs [30] */
  epochs?: number;
  /** Weight of the KD term (0 = off; > 0 needs a teacher: --teacher, JS teacherBytes) [0] */
  kdLambda?: number;
  /** Temperature of the KD term [4] */
  kdTemperature?: number;
  /** Weight λ of the class-wise term [1] */
  lambda?: number;
  /** Learning rate at the start of the schedule [0.1] */
  lr?: number;
  /** Training method ["cskd"] */
  method?: "ce" | "cskd" | "ls" | "pskd";
  /** Input mixing, with ce or cskd (docs/METHODS.md) ["none"] */
  mix?: "none" | "mixup" | "cutmix";
  /** α of the Beta(α, α) mixing weight [1] */
  mixAlpha?: number;
  /** Network ["smallcnn"] */
  model?: "smallcnn" | "resnet10" | "resnet18";
  /** SGD momentum [0.9] */
  momentum?: number;
  /** Nesterov momentum (PS-KD's official recipe; off for CE and CS-KD, as the CS-KD paper) [false] */
  nesterov?: boolean;
  /** Training images per class (0 = all) [0] */
  perClass?: number;
  /** f32, or mixed: f16 activations with f32 arithmetic, gradients and weights (needs an adapter with SHADER_F16; `cskd info` lists it) ["f32"] */
  precision?: "f32" | "mixed";
  /** PS-KD's final weight α_T of last epoch's prediction (method pskd) [0.8] */
  pskdAlpha?: number;
  /** Learning-rate schedule: step (÷10 after 50 % and 75 % of the epochs) or cosine ["step"] */
  schedule?: "step" | "cosine";
  /** Random seed of the subsets, the initial weights, the sampler and augmentation [0] */
  seed?: number;
  /** Label smoothing ε (method ls) [0.1] */
  smoothing?: number;
  /** Softmax temperature T of CS-KD [4] */
  temperature?: number;
  /** Test images per class (0 = all) [0] */
  testPerClass?: number;
  /** Weight decay on every parameter [0.0001] */
  weightDecay?: number;
  /** Base width (0 = the model's default: 32, 16, 64) [0] */
  width?: number;
}
