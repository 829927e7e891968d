// Worker bootstrap for data-parallel training (replicas.ts): registers tsx so the TypeScript worker body
// can be imported (a Worker pointed at a .ts file fails under tsx and vitest on Node 20: stack.md).
import { register } from 'tsx/esm/api';
register();
await import('./replica-worker-main.ts');
