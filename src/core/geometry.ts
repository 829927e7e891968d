/**
 * Convolution / pooling geometry: the ONLY place output sizes and padding are computed.
 * Output size follows the PyTorch/Caffe floor convention: out = floor((in + 2*pad - kernel) / stride) + 1.
 */
export interface Window { kernel: number; stride: number; pad: number }

export function outSize(inSize: number, win: Window): number {
  return Math.floor((inSize + 2 * win.pad - win.kernel) / win.stride) + 1;
}

/** Checks a window against an input size; returns a reason string, or null when valid. */
export function windowProblem(inSize: number, win: Window): string | null {
  if (!(Number.isInteger(win.kernel) && win.kernel >= 1)) return `kernel must be a positive integer, got ${win.kernel}`;
  if (!(Number.isInteger(win.stride) && win.stride >= 1)) return `stride must be a positive integer, got ${win.stride}`;
  if (!(Number.isInteger(win.pad) && win.pad >= 0)) return `pad must be a non-negative integer, got ${win.pad}`;
  if (win.pad >= win.kernel) return `pad ${win.pad} must be smaller than kernel ${win.kernel}`;
  if (inSize + 2 * win.pad < win.kernel) return `kernel ${win.kernel} larger than padded input ${inSize + 2 * win.pad}`;
  return null;
}

/**
 * Number of in-bounds taps of a window along one axis for output index o: used for the effective K of
 * zero-padded binary convs and for count-exclude-pad average pooling.
 */
export function validTaps(o: number, inSize: number, win: Window): number {
  const start = o * win.stride - win.pad;
  const lo = Math.max(0, start);
  const hi = Math.min(inSize, start + win.kernel);
  return Math.max(0, hi - lo);
}
