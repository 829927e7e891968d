/**
 * vitest setup file (vitest.config.ts setupFiles): loads the WebAssembly kernels before every test file,
 * as the CLI's entry points do (kernels/wasm.ts loadKernels: the binary comes from the per-user cache after
 * the first assembly).
 */
import { loadKernels } from '../src/kernels/wasm.ts';

await loadKernels();
