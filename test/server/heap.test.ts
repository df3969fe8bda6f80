import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { binShebang } from '../../bench/procs.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { PREPARE_YOUNG_GENERATION_MB } from '../../src/server/heap.js';

// The prepare thread's young generation is what src/server/heap.ts asks for, in a process started
// with bin/crash-cache's own V8 flags: V8 lets a process-wide --max-semi-space-size override a
// thread's resourceLimits, which left every prepare thread with the main thread's semi-spaces.

const run = promisify(execFile);

// A child with those flags: tuneHeap() (or not), then a thread asking for the prepare thread's young
// generation; both threads make garbage, then report how large V8 let their new space grow (MB).
const script = (tune: boolean) => `
import { Worker } from 'node:worker_threads';
import { tuneHeap, PREPARE_YOUNG_GENERATION_MB } from ${JSON.stringify(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'server', 'heap.js')).href)};
${tune ? 'tuneHeap();' : ''}
function churn() {
  let keep = [];
  for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 5000) keep = []; }
  return process.getBuiltinModule('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20;
}
const w = new Worker(\`process.getBuiltinModule('node:worker_threads').parentPort.postMessage((\${churn})());\`,
  { eval: true, resourceLimits: { maxYoungGenerationSizeMb: PREPARE_YOUNG_GENERATION_MB } });
const thread = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
console.log(JSON.stringify({ thread, main: churn() }));
`;

async function newSpaces(tune: boolean): Promise<{ thread: number; main: number }> {
  const { stdout } = await run(process.execPath, [...binShebang().flags, '--input-type=module', '-e', script(tune)]);
  return JSON.parse(stdout) as { thread: number; main: number };
}

it("a prepare thread gets the young generation it asks for, not the main thread's semi-spaces", async () => {
  expect(binShebang().flags.some((f) => f.startsWith('--max-semi-space-size='))).toBe(true);
  const [untuned, tuned] = [await newSpaces(false), await newSpaces(true)];
  // Without tuneHeap() the process-wide flag wins: the thread's new space is the main thread's.
  expect(untuned.thread).toBeGreaterThan(PREPARE_YOUNG_GENERATION_MB);
  expect(untuned.thread).toBe(untuned.main);
  // With it the thread gets 2 of its 3 semi-spaces as new space; the main thread keeps its own.
  expect(tuned.thread).toBeLessThanOrEqual((PREPARE_YOUNG_GENERATION_MB * 2) / 3 + 1);
  expect(tuned.main).toBe(untuned.main);
});
