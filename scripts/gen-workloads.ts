/** Regenerates workloads/*.json from the built-in builders: `npm run workloads`. */
import { BUILTIN_WORKLOADS } from '../src/ir/builders.ts';
import { writeFileAtomic } from '../src/core/atomic.ts';
for (const [name, build] of Object.entries(BUILTIN_WORKLOADS)) {
  writeFileAtomic(`workloads/${name}.json`, JSON.stringify({ $schema: '../schemas/workload.schema.json', ...build() }, null, 1) + '\n');
  console.log(`workloads/${name}.json`);
}
