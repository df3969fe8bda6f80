// Stack-trace components for the `app` and `system` variants.
//  - app: only in-app frames may contribute; system: every frame may.
//  - a frame identical to the one before it (same path, module, function, line...) is a
//    recursion and is ignored;
//  - stack-trace rules then switch frames on/off (`+group`/`-group`, ranges, max/min-frames).
import { cloneComponent, component, update, type GroupingComponent } from './components.js';
import { frameComponent, hasUrlOrigin } from './frames.js';
import { behaviorFamily } from './platform.js';
import { trimFunctionName } from './functions.js';
import type { ExceptionData, MatchFrame } from './enhancers.js';
import {
  classifyCompiled, contributionHits, stackCandidates,
  type CompiledRules, type RuleHits, type StackCandidates,
} from './compiled-rules.js';
import type { Frame, Stacktrace } from './event.js';

export interface RuleContext {
  rules: CompiledRules;
  platform: string | null;
}

interface Classified { frames: MatchFrame[]; lists: StackCandidates }
const classifiedOf = new WeakMap<Stacktrace, Classified>();

function toMatchFrame(f: Frame, eventPlatform: string | null): MatchFrame {
  const platform = f.platform || eventPlatform;
  let fn: string | null;
  if (f.rawFunction) fn = f.function;
  else fn = f.function ? trimFunctionName(f.function, platform) : null;
  const path = f.absPath || f.filename;
  return {
    category: null,
    family: behaviorFamily(platform),
    function: fn || '<unknown>',
    inApp: f.inApp,
    module: f.module,
    package: f.package ? f.package.toLowerCase() : null,
    path: path ? path.toLowerCase() : null,
  };
}

/** Classification pass: applies in-app / category rules to the frames (once per stack trace). */
export function classifyStacktrace(st: Stacktrace, ctx: RuleContext, ex: ExceptionData | null): Classified {
  let c = classifiedOf.get(st);
  if (c) return c;
  const mf = st.frames.map((f) => toMatchFrame(f, ctx.platform));
  const lists = stackCandidates(ctx.rules, mf);
  classifyCompiled(ctx.rules, mf, lists, ex);
  st.frames.forEach((f, i) => (f.inApp = mf[i]!.inApp));
  classifiedOf.set(st, (c = { frames: mf, lists }));
  return c;
}

const RECURSION_FIELDS = ['absPath', 'package', 'module', 'filename', 'function', 'lineno', 'colno'] as const;
/** Same JSON: identical values, or (line/column numbers of odd types) equal JSON text. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'string' && typeof b === 'string') return false;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
function isRecursion(f: Frame, prev: Frame | undefined): boolean {
  if (!prev) return false;
  for (const k of RECURSION_FIELDS) if (!sameJson(f[k], prev[k])) return false;
  return true;
}

/** The frame components of a stack trace, recursion marked: built once, copied for the second variant. */
function baseFrameComponents(frames: Frame[], platform: string | null): GroupingComponent[] {
  return frames.map((f, i) => {
    const c = frameComponent(f, platform);
    if (isRecursion(f, frames[i - 1])) update(c, { contributes: false, hint: 'ignored due to recursion' });
    return c;
  });
}

function singleVariant(
  st: Stacktrace,
  variant: 'app' | 'system',
  ctx: RuleContext,
  ruleHits: RuleHits[],
  base: GroupingComponent[],
): GroupingComponent {
  const frames = st.frames;
  const comps = base.map((c, i) => {
    if (variant === 'app' && !frames[i]!.inApp) update(c, { contributes: false, hint: 'non app frame' });
    return c;
  });
  const f0 = frames[0];
  if (
    frames.length === 1 && f0 && comps[0]!.contributes &&
    behaviorFamily(f0.platform || ctx.platform) === 'javascript' && !f0.function &&
    hasUrlOrigin(f0.absPath, true)
  ) {
    update(comps[0]!, { contributes: false, hint: 'ignored single non-URL JavaScript frame' });
  }

  // Contribution pass of the stack-trace rules (matched once for both variants).
  const contributes = comps.map((c) => c.contributes);
  const hints: Array<string | null> = comps.map(() => null);
  let maxFrames = 0;
  let minFrames = 0;
  for (const { rule, hits } of ruleHits) {
    for (const idx of hits) {
      for (const a of rule.actions) {
        if (a.kind === 'flag' && a.key === 'group') {
          const [from, to] = a.range === null ? [idx, idx + 1] : a.range === 'down' ? [0, idx] : [idx + 1, comps.length];
          for (let i = from; i < to; i++) {
            if (contributes[i] !== a.flag) {
              contributes[i] = a.flag;
              hints[i] = `${a.flag ? 'un-ignored' : 'ignored'} by stack trace rule (${rule.text})`;
            }
          }
        } else if (a.kind === 'var') {
          const n = Number.parseInt(a.value, 10);
          if (a.name === 'max-frames' && Number.isFinite(n)) maxFrames = n;
          if (a.name === 'min-frames' && Number.isFinite(n)) minFrames = n;
        }
      }
    }
  }
  if (maxFrames > 0) {
    let seen = 0;
    for (let i = comps.length - 1; i >= 0; i--) {
      if (!contributes[i]) continue;
      if (++seen > maxFrames) {
        contributes[i] = false;
        hints[i] = `ignored because only ${maxFrames} ${maxFrames === 1 ? 'frame is' : 'frames are'} considered`;
      }
    }
  }
  let inAppContributing = 0;
  comps.forEach((c, i) => {
    // In the app variant a system frame never contributes, whatever the rules say.
    if (variant === 'app' && !frames[i]!.inApp) update(c, { contributes: false });
    else update(c, { contributes: contributes[i]!, hint: hints[i] });
    if (c.contributes && frames[i]!.inApp) inAppContributing++;
  });
  let stContributes: boolean | undefined;
  let hint: string | null = null;
  const total = comps.filter((c) => c.contributes).length;
  if (minFrames > 0 && total > 0 && total < minFrames) {
    stContributes = false;
    hint = `discarded because stack trace only contains ${total} frame${total === 1 ? '' : 's'} which is under the configured threshold`;
  }
  if (variant === 'app' && inAppContributing === 0) stContributes = false;
  return component('stacktrace', comps, { contributes: stContributes, hint });
}

/** Returns the stack-trace component per variant; keys starting with "!" have priority. */
export function stacktraceVariants(
  st: Stacktrace,
  ctx: RuleContext,
  ex: ExceptionData | null,
): Record<string, GroupingComponent> {
  const c = classifyStacktrace(st, ctx, ex);
  const ruleHits = contributionHits(ctx.rules, c.frames, c.lists, ex);
  const base = baseFrameComponents(st.frames, ctx.platform);
  const app = singleVariant(st, 'app', ctx, ruleHits, base.map(cloneComponent));
  const system = singleVariant(st, 'system', ctx, ruleHits, base);
  let inApp = 0;
  let contributing = 0;
  let inAppContributing = 0;
  system.values.forEach((c, i) => {
    const f = st.frames[i]!;
    const contributes = (c as GroupingComponent).contributes;
    if (f.inApp) inApp++;
    if (contributes) contributing++;
    if (f.inApp && contributes) inAppContributing++;
  });
  if (!system.values.length) {
    update(system, { contributes: false, hint: 'ignored because it contains no frames' });
    update(app, { contributes: false, hint: 'ignored because it contains no frames' });
  } else {
    if (contributing === 0) update(system, { contributes: false, hint: 'ignored because it contains no contributing frames' });
    if (inApp === 0) update(app, { contributes: false, hint: 'ignored because it contains no in-app frames' });
    else if (inAppContributing === 0) update(app, { contributes: false, hint: 'ignored because it contains no contributing frames' });
  }
  return { '!app': app, system };
}
