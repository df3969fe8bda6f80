import { html, type Html } from './html.js';
import { isObj, kvTable, listOf, pairs, text, type Obj } from './values.js';

// Exceptions and stack traces. Frames are shown most recent call first (SDKs send them oldest first),
// in-app frames highlighted and open, runs of system frames folded into one <details> so the code
// that is yours stands out; when no frame is in-app, every frame is shown.

function frameLocation(f: Obj): string {
  const file = text(f.filename) || text(f.abs_path) || text(f.module) || text(f.package);
  let loc = file;
  if (f.lineno !== undefined && f.lineno !== null) loc += `:${text(f.lineno)}`;
  if (f.colno !== undefined && f.colno !== null) loc += `:${text(f.colno)}`;
  return loc;
}

function contextLines(f: Obj): Html {
  const pre = Array.isArray(f.pre_context) ? f.pre_context.map(text) : [];
  const post = Array.isArray(f.post_context) ? f.post_context.map(text) : [];
  const cur = f.context_line;
  if (cur === undefined || cur === null) return html``;
  const line = typeof f.lineno === 'number' ? f.lineno : null;
  const start = line !== null ? line - pre.length : null;
  const row = (t: string, i: number, isCur: boolean) =>
    html`<li${isCur ? html` class="cur"` : ''}><span class="ln">${start !== null ? start + i : ''}</span>${t}</li>`;
  return html`<ol class="context mono">${pre.map((t, i) => row(t, i, false))}${row(text(cur), pre.length, true)}${post.map((t, i) => row(t, pre.length + 1 + i, false))}</ol>`;
}

// Source maps (src/sourcemaps/): a symbolicated frame says which map it came from; the frames as
// sent (minified) are one click away; a processing error about a frame's file is shown on that frame.

/** The processing errors (event `errors`) that name this frame's file. */
function frameErrors(f: Obj, errors: Obj[]): Obj[] {
  const file = text(f.abs_path) || text(f.filename);
  return file ? errors.filter((e) => e.url === file || e.source === file) : [];
}

function errorNote(e: Obj): Html {
  const detail = [text(e.reason), e.debug_id ? `debug id ${text(e.debug_id)}` : '', e.line !== undefined ? `line ${text(e.line)}, column ${text(e.column)}` : ''].filter(Boolean).join(' · ');
  return html`<div class="frame-error"><span class="mono">${text(e.type)}</span>${detail ? html` — ${detail}` : ''}</div>`;
}

function frameView(f: Obj, open: boolean, errors: Obj[] = []): Html {
  const inApp = f.in_app === true;
  const fn = text(f.function) || text(f.raw_function) || text(f.symbol) || '<unknown>';
  const vars = pairs(f.vars);
  const hasBody = f.context_line !== undefined && f.context_line !== null || vars.length > 0;
  const mapped = isObj(f.data) && f.data.symbolicated === true ? text(f.data.sourcemap) : '';
  const notes = frameErrors(f, errors);
  const head = html`<span class="fn mono">${fn}</span> <span class="muted">in</span> <span class="mono">${frameLocation(f)}</span>${inApp ? html`<span class="badge">in app</span>` : ''}${mapped ? html`<span class="badge" title="${mapped}">source map</span>` : ''}${f.instruction_addr ? html` <span class="muted mono">${text(f.instruction_addr)}</span>` : ''}${notes.map(errorNote)}`;
  const cls = inApp ? 'frame in-app' : 'frame';
  if (!hasBody) return html`<div class="${cls}"><div class="head">${head}</div></div>`;
  return html`<details class="${cls}"${open ? html` open` : ''}><summary>${head}</summary>${contextLines(f)}${vars.length ? html`<div class="vars"><h3>Local variables</h3>${kvTable(vars)}</div>` : ''}</details>`;
}

export function stacktraceView(st: unknown, errors: Obj[] = []): Html {
  if (!isObj(st)) return html``;
  const frames = (Array.isArray(st.frames) ? st.frames : []).filter(isObj).slice().reverse();
  if (!frames.length) return html``;
  const anyInApp = frames.some((f) => f.in_app === true);
  if (!anyInApp) return html`<div class="frames">${frames.map((f, i) => frameView(f, i === 0, errors))}</div>`;
  const parts: Html[] = [];
  let firstInAppOpened = false;
  for (let i = 0; i < frames.length; ) {
    if (frames[i]!.in_app === true) {
      parts.push(frameView(frames[i]!, !firstInAppOpened, errors));
      firstInAppOpened = true;
      i++;
      continue;
    }
    const run: Obj[] = [];
    while (i < frames.length && frames[i]!.in_app !== true) run.push(frames[i++]!);
    parts.push(html`<details class="system-group"><summary>${run.length} system frame${run.length === 1 ? '' : 's'}</summary>${run.map((f) => frameView(f, false, errors))}</details>`);
  }
  return html`<div class="frames">${parts}</div>`;
}

function mechanismNote(m: unknown): Html {
  if (!isObj(m)) return html``;
  const handled = m.handled === false ? 'unhandled' : m.handled === true ? 'handled' : '';
  return html`<div class="muted">mechanism: <span class="mono">${text(m.type)}</span>${handled ? html` · ${handled}` : ''}</div>`;
}

/** Chained exceptions, most recent first; the ones after it caused it. */
export function exceptionsView(exception: unknown, errors: Obj[] = []): Html {
  const values = listOf(exception).slice().reverse();
  if (!values.length) return html``;
  return html`<h2>Exception${values.length > 1 ? html` <span class="muted">(${values.length} chained, most recent first)</span>` : ''}</h2>
${values.map(
  (e, i) => html`<section class="exc">
  ${i > 0 ? html`<div class="muted">Caused by</div>` : ''}
  <div><span class="exc-type mono">${text(e.type) || text(e.module) || 'Error'}</span>${e.value !== undefined && e.value !== null ? html`: <span class="exc-value">${text(e.value)}</span>` : ''}</div>
  ${mechanismNote(e.mechanism)}
  ${stacktraceView(e.stacktrace, errors)}
  ${isObj(e.raw_stacktrace) ? html`<details class="raw-stack"><summary>Minified frames, as sent</summary>${stacktraceView(e.raw_stacktrace)}</details>` : ''}
</section>`,
)}`;
}

/** Threads with stack traces (native crashes, ANRs): the crashed or current one first. */
export function threadsView(threads: unknown, hasException: boolean): Html {
  const list = listOf(threads).filter((t) => isObj(t.stacktrace));
  if (!list.length) return html``;
  const sorted = list.slice().sort((a, b) => Number(b.crashed === true) - Number(a.crashed === true) || Number(b.current === true) - Number(a.current === true));
  return html`<h2>Threads</h2>
${sorted.map(
  (t, i) => html`<details class="exc"${!hasException && i === 0 ? html` open` : ''}><summary>Thread ${text(t.name) || text(t.id)}${t.crashed === true ? ' (crashed)' : ''}${t.current === true ? ' (current)' : ''}</summary>${stacktraceView(t.stacktrace)}</details>`,
)}`;
}
