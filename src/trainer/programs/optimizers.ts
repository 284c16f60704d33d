// Optimizer updates as ONNX nodes, with PyTorch's exact semantics: AdamW (decoupled weight decay,
// bias correction, torch's operation order), Adam (L2 weight decay added to the gradient) and SGD
// with momentum, dampening and Nesterov. Per-step scalars are computed in JavaScript (double
// precision, as PyTorch computes them in Python) and fed in; constants are baked into the graph.

import { GraphBuilder } from '../onnx/builder';
import { AdamWScalars, f32 } from '../kernels/adamw';

export type OptimizerName = 'adamw_torch' | 'adamw_torch_fused' | 'adam' | 'sgd';

export interface OptimizerConfig {
  name: OptimizerName;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** Names of per-parameter state tensors, as in torch.optim's state_dict. */
export function optimizerSlots(cfg: OptimizerConfig): string[] {
  if (cfg.name === 'sgd') return cfg.momentum !== 0 ? ['momentum_buffer'] : [];
  return ['exp_avg', 'exp_avg_sq'];
}

/** Scalar inputs each step feeds. */
export function hyperParameterNames(cfg: OptimizerConfig): string[] {
  if (cfg.name === 'sgd') return ['lr', 'sgd_grad_weight'];
  return ['lr', 'step_size', 'bias_correction2_sqrt', 'decay_factor'];
}

/** Values of the per-step scalars for optimizer step `step` (1-based) at learning rate `lr`. */
export function hyperParameterValues(cfg: OptimizerConfig, lr: number, step: number): Record<string, number> {
  if (cfg.name === 'sgd') {
    // torch initializes the momentum buffer with the first gradient, undamped.
    return { lr, sgd_grad_weight: step === 1 ? 1 : 1 - cfg.dampening };
  }
  const bc1 = 1 - cfg.beta1 ** step;
  const bc2 = 1 - cfg.beta2 ** step;
  return {
    lr,
    step_size: lr / bc1,
    bias_correction2_sqrt: Math.sqrt(bc2),
    decay_factor: 1 - lr * cfg.weightDecay,
  };
}

/**
 * How weight decay enters an Adam-family update of a parameter in (or out of) the decay group:
 * Adam's L2 term added to the gradient, AdamW's decoupled multiplication of p, or none. The
 * program (addOptimizerUpdate) and the AdamW kernel (adamwKernelScalars) both branch on it.
 */
function adamDecay(cfg: OptimizerConfig, decay: boolean): 'l2' | 'decoupled' | 'none' {
  if (!decay || !cfg.weightDecay) return 'none';
  return cfg.name === 'adam' ? 'l2' : 'decoupled';
}

export interface ParamUpdate {
  param: string;
  state: string[];
}

/**
 * Appends one parameter's update. `hyper` maps hyperParameterNames to graph inputs; `decay` says
 * whether the parameter is in the weight-decay group. The gradient is `grad · gradScale` (the
 * clipping coefficient): the scale is folded into scalar factors instead of costing a pass over
 * the gradient.
 */
export function addOptimizerUpdate(b: GraphBuilder, cfg: OptimizerConfig, param: string, decay: boolean, grad: string,
  gradScale: string, state: string[], hyper: Record<string, string>): ParamUpdate {
  const c = (v: number) => b.scalarLike(v, param);
  const wd = decay ? cfg.weightDecay : 0;
  if (cfg.name === 'sgd') {
    const scaled = b.mul(grad, gradScale);
    let d = wd ? b.add2(scaled, b.mul(param, c(wd))) : scaled;
    const next: string[] = [];
    if (cfg.momentum !== 0) {
      const buf = b.add2(b.mul(state[0], c(cfg.momentum)), b.mul(d, hyper.sgd_grad_weight));
      next.push(buf);
      d = cfg.nesterov ? b.add2(d, b.mul(buf, c(cfg.momentum))) : buf;
    }
    return { param: b.sub(param, b.mul(d, hyper.lr)), state: next };
  }
  const [m, v] = state;
  let p = param;
  let m2: string;
  let v2: string;
  const decayForm = adamDecay(cfg, decay);
  if (decayForm === 'l2') {
    // L2 decay joins the (clipped) gradient before the moments.
    const g = b.add2(b.mul(grad, gradScale), b.mul(param, c(wd)));
    m2 = b.add2(b.mul(m, c(cfg.beta1)), b.mul(g, c(1 - cfg.beta1)));
    v2 = b.add2(b.mul(v, c(cfg.beta2)), b.mul(b.mul(g, g), c(1 - cfg.beta2)));
  } else {
    if (decayForm === 'decoupled') p = b.mul(param, hyper.decay_factor);
    const k1 = b.mul(gradScale, c(1 - cfg.beta1));
    const k2 = b.mul(b.mul(gradScale, gradScale), c(1 - cfg.beta2));
    m2 = b.add2(b.mul(m, c(cfg.beta1)), b.mul(grad, k1));
    v2 = b.add2(b.mul(v, c(cfg.beta2)), b.mul(b.mul(grad, grad), k2));
  }
  const denom = b.add2(b.div(b.op('Sqrt', [v2]), hyper.bias_correction2_sqrt), c(cfg.epsilon));
  const next = b.sub(p, b.mul(b.div(m2, denom), hyper.step_size));
  return { param: next, state: [m2, v2] };
}

/** Whether the AdamW kernel computes this update: an Adam-family one without Adam's L2 term. */
export function adamwKernelComputes(cfg: OptimizerConfig, decay: boolean): boolean {
  return cfg.name !== 'sgd' && adamDecay(cfg, decay) !== 'l2';
}

/**
 * The scalars with which the AdamW kernel (kernels/adamw.ts) computes addOptimizerUpdate's update
 * of a float32 parameter, rounded as the program rounds them (its constants and fed scalars are
 * float32, k1 and k2 products of them); undefined where the update has another form (SGD, Adam's
 * L2 decay). `coef` is the clipping coefficient.
 */
export function adamwKernelScalars(cfg: OptimizerConfig, decay: boolean, coef: number, lr: number, step: number): AdamWScalars | undefined {
  if (!adamwKernelComputes(cfg, decay)) return undefined;
  const h = hyperParameterValues(cfg, lr, step);
  const g = f32(coef);
  return {
    decay: adamDecay(cfg, decay) === 'decoupled' ? f32(h.decay_factor) : 1,
    beta1: f32(cfg.beta1),
    k1: f32(g * f32(1 - cfg.beta1)),
    beta2: f32(cfg.beta2),
    k2: f32(f32(g * g) * f32(1 - cfg.beta2)),
    bc2: f32(h.bias_correction2_sqrt),
    eps: f32(cfg.epsilon),
    step: f32(h.step_size),
  };
}

/**
 * Global L2 norm clipping as torch.nn.utils.clip_grad_norm_: norm = ‖(‖g_i‖)_i‖, and the
 * coefficient min(1, max_norm / (norm + 1e-6)) every gradient is scaled by. `maxNorm` is a scalar
 * input (∞ disables clipping; the norm is still reported).
 */
export function addGlobalNormClip(b: GraphBuilder, grads: string[], maxNorm: string, unscale?: string, creation?: number[]): { coef: string; norm: string } {
  // The squares are summed in `grads`' order whatever order their nodes are created in (see
  // trainStep.ts: creation order steers onnxruntime's schedule).
  const squares: string[] = new Array(grads.length);
  for (const i of creation ?? grads.map((_, k) => k)) squares[i] = b.op('ReduceSumSquare', [grads[i]], { keepdims: 0 });
  const total = squares.length === 1 ? squares[0] : b.op('Sum', squares);
  // With a scaled loss (fp16) the gradients are unscaled first, as GradScaler.unscale_ does:
  // the norm is measured and clipped on true gradients, and the coefficient includes 1/scale.
  const norm = unscale ? b.mul(b.op('Sqrt', [total]), unscale) : b.op('Sqrt', [total]);
  const clip = b.op('Min', [b.scalarLike(1, norm), b.div(maxNorm, b.add2(norm, b.scalarLike(1e-6, norm)))]);
  return { coef: unscale ? b.mul(clip, unscale) : clip, norm };
}
