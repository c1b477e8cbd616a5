// Runs @cloud-copilot/iam-simulate (a black box from npm) over the cases of gen.py.
// Usage: node run.mjs cases.json out.json [--time ITER]
// Writes per case: overall result, SCP and RCP layer results, errors, ignored context keys.
// With --time, times runSimulation over all cases ITER times after one warm-up pass.
import { readFileSync, writeFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';

const [casesFile, outFile, flag, iterArg] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));

const out = [];
for (const c of cases) {
  const r = await runSimulation(c.sim, {});
  if (r.resultType === 'error') {
    out.push({ id: c.id, error: r.errors });
    continue;
  }
  const a = r.resultType === 'single' ? r.result.analysis : r.results[0]?.analysis;
  const ignored = r.resultType === 'single' ? r.result.ignoredContextKeys : r.results[0]?.ignoredContextKeys;
  out.push({
    id: c.id,
    resultType: r.resultType,
    overall: r.overallResult,
    scp: a?.scpAnalysis?.result,
    rcp: c.sim.resourceControlPolicies.length ? a?.rcpAnalysis?.result : null,
    ignoredContextKeys: ignored ?? [],
  });
}
writeFileSync(outFile, JSON.stringify(out));

if (flag === '--time') {
  const iters = Number(iterArg || 5);
  for (const c of cases) await runSimulation(c.sim, {}); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    for (const c of cases) await runSimulation(c.sim, {});
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const n = iters * cases.length;
  console.log(JSON.stringify({ tool: 'iam-simulate', requests: n, mean_us: ns / n / 1000 }));
}
