// The grouping strategies, strongest first. The first strategy that yields a contributing
// component wins; components of all later strategies are kept for explanation but marked as
// not contributing ("... takes precedence").
import { component, componentHash, update, type GroupingComponent } from './components.js';
import { chainedException, removeNonStacktraceVariants, type ByVariant } from './exceptions.js';
import { stacktraceVariants, type RuleContext } from './stacktrace.js';
import { securityComponent } from './security.js';
import { normalizeMessage } from './parameterize.js';
import { iface, isObj, readStacktrace, str, type Json, type Message, type SingleException, type Stacktrace, type Thread } from './event.js';

export interface PreparedEvent {
  raw: Json;
  platform: string | null;
  exceptions: SingleException[] | null;
  threads: Thread[] | null;
  stacktrace: Stacktrace | null;
  message: Message | null;
}

interface Strategy { name: string; run: (e: PreparedEvent, ctx: RuleContext) => ByVariant | null; stacktraceProcessor: boolean }

function threadsStrategy(e: PreparedEvent, ctx: RuleContext): ByVariant | null {
  const threads = e.threads;
  if (!threads) return null;
  const pick = [threads.filter((t) => t.crashed), threads.filter((t) => t.current), threads].find((l) => l.length === 1);
  if (!pick) {
    return { app: component('threads', [], { contributes: false, hint: 'ignored because it does not contain exactly one crashing, current or single thread' }) };
  }
  const st = pick[0]!.stacktrace;
  if (!st) return { app: component('threads', [], { contributes: false, hint: 'ignored because thread has no stacktrace' }) };
  const out: ByVariant = {};
  for (const [name, c] of Object.entries(stacktraceVariants(st, ctx, null))) out[name] = component('threads', [c]);
  return out;
}

function messageStrategy(e: PreparedEvent): ByVariant | null {
  const raw = e.message?.message || e.message?.formatted;
  if (!raw) return null;
  const normalized = normalizeMessage(raw);
  return { default: component('message', [normalized], { hint: normalized !== raw ? 'stripped event-specific values' : null }) };
}

/** Template errors (e.g. Django): the template file and the offending line. */
function templateStrategy(ev: Json): ByVariant | null {
  const t = iface(ev, 'template', 'sentry.interfaces.Template');
  if (!isObj(t)) return null;
  const filename = str(t.filename);
  const line = str(t.context_line);
  return {
    default: component('template', [
      component('filename', filename !== null ? [filename] : []),
      component('context-line', line !== null ? [line] : []),
    ]),
  };
}

function pythonSdk3(e: PreparedEvent): boolean {
  const sdk = e.raw.sdk;
  return e.platform === 'python' && isObj(sdk) && (str(sdk.version) ?? '').startsWith('3');
}

const STRATEGIES: Strategy[] = [
  {
    name: 'exception',
    stacktraceProcessor: true,
    // Python SDK 3.x started sending exception-group metadata for plain chains; those events
    // keep grouping as before (no exception-group reduction).
    run: (e, ctx) => (e.exceptions ? chainedException(e.exceptions, ctx, { skipGroupFilter: pythonSdk3(e) }) : null),
  },
  { name: 'threads', stacktraceProcessor: true, run: threadsStrategy },
  { name: 'stacktrace', stacktraceProcessor: true, run: (e, ctx) => (e.stacktrace ? stacktraceVariants(e.stacktrace, ctx, null) : null) },
  { name: 'template', stacktraceProcessor: false, run: (e) => templateStrategy(e.raw) },
  {
    name: 'security',
    stacktraceProcessor: false,
    run: (e) => {
      const c = securityComponent(e.raw);
      return c ? { default: c } : null;
    },
  },
  { name: 'message', stacktraceProcessor: false, run: (e) => messageStrategy(e) },
];

/** Strips "!" priority markers; a non-priority variant whose hash equals a priority one stops contributing. */
function resolvePriorities(byVariant: ByVariant): ByVariant {
  const out: ByVariant = {};
  const priorityHashes = new Map<string, string>();
  const others: string[] = [];
  for (const [key, c] of Object.entries(byVariant)) {
    const name = key.replace(/^!+/, '');
    if (c.contributes) {
      if (key.startsWith('!')) priorityHashes.set(componentHash(c)!, name);
      else others.push(name);
    }
    out[name] = c;
  }
  for (const name of others) {
    const match = priorityHashes.get(componentHash(out[name]!)!);
    if (match !== undefined) update(out[name]!, { contributes: false, hint: `ignored because hash matches ${match} variant` });
  }
  return out;
}

/** Runs all strategies and returns the root component of each variant (app/system/default). */
export function strategyVariants(e: PreparedEvent, ctx: RuleContext): Record<string, GroupingComponent> {
  let winner: string | null = null;
  let precedenceHint: string | null = null;
  const all: Record<string, GroupingComponent[]> = {};
  for (const s of STRATEGIES) {
    let byVariant = s.run(e, ctx);
    if (!byVariant) continue;
    byVariant = resolvePriorities(byVariant);
    if (s.stacktraceProcessor) byVariant = removeNonStacktraceVariants(byVariant);
    for (const [name, c] of Object.entries(byVariant)) {
      (all[name] ??= []).push(c);
      if (!c.contributes) continue;
      if (winner === null) {
        winner = s.name;
        precedenceHint = `${s.name} takes precedence`;
      } else if (s.name !== winner) {
        update(c, { contributes: false, hint: precedenceHint });
      }
    }
  }
  const roots: Record<string, GroupingComponent> = {};
  for (const [name, list] of Object.entries(all)) {
    const root = component(name, list);
    if (!root.contributes && precedenceHint) update(root, { hint: precedenceHint });
    roots[name] = root;
  }
  return roots;
}

export function readTopStacktrace(ev: Json): Stacktrace | null {
  return readStacktrace(iface(ev, 'stacktrace', 'sentry.interfaces.Stacktrace'), true);
}
