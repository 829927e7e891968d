/** Writes schemas/workload.schema.json from the op registry: `npm run schemas`. */
import { workloadSchema } from '../src/ir/workload-schema.ts';
import { writeFileAtomic } from '../src/core/atomic.ts';
writeFileAtomic('schemas/workload.schema.json', JSON.stringify(workloadSchema(), null, 2) + '\n');
console.log('schemas/workload.schema.json');
