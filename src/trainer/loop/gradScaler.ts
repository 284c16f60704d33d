// torch.cuda.amp.GradScaler's dynamic loss scale, as Hugging Face uses it with fp16: start at
// 2^16; a step whose gradients overflow is skipped and halves the scale; 2,000 steps in a row
// without overflow double it. Its state travels in checkpoints (scaler.json).

export interface GradScalerState {
  scale: number;
  growth_tracker: number;
}

export class GradScaler {
  state: GradScalerState = { scale: 2 ** 16, growth_tracker: 0 };
  constructor(private readonly growthFactor = 2, private readonly backoffFactor = 0.5, private readonly growthInterval = 2000) {}

  get scale(): number {
    return this.state.scale;
  }

  /** After a step: `finite` is whether its (unscaled) gradients had no inf or NaN. */
  update(finite: boolean): void {
    if (!finite) {
      this.state = { scale: this.state.scale * this.backoffFactor, growth_tracker: 0 };
      return;
    }
    const tracker = this.state.growth_tracker + 1;
    this.state = tracker === this.growthInterval
      ? { scale: this.state.scale * this.growthFactor, growth_tracker: 0 }
      : { scale: this.state.scale, growth_tracker: tracker };
  }
}
