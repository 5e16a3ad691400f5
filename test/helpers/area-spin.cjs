'use strict';
// Pins itself to one CPU, optimises a loop that reads area().cpuId with no
// calls inside, says "ready", and spins until cpu_id changes (the parent moves
// this thread with taskset) or a bound runs out. Prints [before, after, spins].
const { rseq } = require(process.argv[2]);
const [from] = rseq.getAffinity();
rseq.setAffinity([from]);
const view = rseq.area();
function spin(limit) {
  const start = view.cpuId;
  let i = 0;
  while (view.cpuId === start && i < limit) i++;
  return [start, view.cpuId, i];
}
for (let k = 0; k < 200; k++) spin(20_000); // let TurboFan optimise spin()
process.stdout.write('ready\n');
process.stdout.write(JSON.stringify(spin(3e9)) + '\n');
