import { nextCronTime } from '../../src/api/cron-schedule.js';

// Micro-benchmark of a cron monitor's next expected check-in (src/api/cron-schedule.ts): µs per
// nextCronTime call, with a distinct last check-in each call (the library runs: what a new check-in
// costs) and with a repeated one (the remembered answer: what every later serialization costs).
// `node dist/bench/micro/cron-next.js [calls]`. The hand-written parser it replaced measured, the
// same way on the same box: 43 µs ('0 3 * * *', Europe/Vienna) and 17 µs ('*/5 * * * *', UTC).

const calls = Number(process.argv[2] ?? 20_000);
const base = Date.parse('2026-06-01T00:00:00Z');
for (const [expr, tz] of [['0 3 * * *', 'Europe/Vienna'], ['*/5 * * * *', 'UTC'], ['0 9 * * mon-fri', 'America/New_York']] as const) {
  for (let i = 0; i < 2000; i++) nextCronTime(expr, base - (i + 1) * 61_000, tz); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < calls; i++) nextCronTime(expr, base + i * 61_000, tz);
  const miss = ((performance.now() - t0) * 1000) / calls;
  t0 = performance.now();
  for (let i = 0; i < calls; i++) nextCronTime(expr, base, tz);
  const hit = ((performance.now() - t0) * 1000) / calls;
  console.log(`${JSON.stringify(expr)} ${tz}: ${miss.toFixed(1)} µs per new check-in, ${hit.toFixed(2)} µs remembered`);
}
