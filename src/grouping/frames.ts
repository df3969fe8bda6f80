// Frame components: module, filename, function and (for platforms with trustworthy sources)
// the context line, with per-platform clean-up. Line numbers never contribute.
import { component, update, type GroupingComponent } from './components.js';
import { behaviorFamily } from './platform.js';
import { trimFunctionName } from './functions.js';
import type { Frame } from './event.js';

const RUBY_ERB_FUNC = /__\d{4,}_\d{4,}$/;
// JVM code generators and proxies: keep the marker, drop the generated suffix.
const JAVA_REFLECT = /(sun\.reflect\.Generated(?:Serialization)?ConstructorAccessor)\d+/g;
const JAVA_CGLIB = /(\$\$[\w_]+?CGLIB\$\$)[a-fA-F0-9]+(_[0-9]+)?/g;
const JAVA_ASSIST = /(\$\$_javassist)(?:_seam)?(?:_[0-9]+)?/g;
const CLOJURE_FN = /(\$fn__)\d+/g;
const JAVA_ENHANCER_BY = /(\$\$?EnhancerBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?/g;
const JAVA_FAST_CLASS_BY = /(\$\$?FastClassBy[\w_]+?\$?\$)[a-fA-F0-9]+(_[0-9]+)?/g;
const JAVA_HIBERNATE_PROXY = /(\$\$?HibernateProxy\$?\$)\w+(_[0-9]+)?/g;

/** Platforms whose source lines are good enough to group by. */
const CONTEXT_LINE_PLATFORMS = new Set(['javascript', 'node', 'python', 'php', 'ruby']);

export function hasUrlOrigin(path: string | null, filesCountAsUrls: boolean): boolean {
  if (!path) return false;
  if (/^(?:https?|applewebdata|blob):/.test(path)) return true;
  return path.startsWith('file:') ? filesCountAsUrls : false;
}

function filenameComponent(frame: Frame, platform: string | null): GroupingComponent {
  if (frame.filename === null) return component('filename');
  const f = frame.filename;
  // the part after the last / or \ (what split(/[/\\]/).pop() gives, without the array)
  const name = f.slice(Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\')) + 1).toLowerCase();
  const c = component('filename', [name]);
  if (hasUrlOrigin(frame.absPath, false)) update(c, { contributes: false, hint: 'ignored because frame points to a URL' });
  else if (name === '<anonymous>') update(c, { contributes: false, hint: 'ignored because filename is anonymous' });
  else if (name === '[native code]') update(c, { contributes: false, hint: 'ignored because filename suggests native code' });
  else if (platform === 'java') {
    const cleaned = name.includes('$$_javassist') ? name.replace(JAVA_ASSIST, '$1<auto>') : name;
    if (cleaned !== name) update(c, { values: [cleaned], hint: 'cleaned javassist parts' });
  }
  return c;
}

function moduleComponent(frame: Frame, platform: string | null): GroupingComponent {
  const mod = frame.module;
  if (mod === null) return component('module');
  const c = component('module', [mod]);
  if (platform === 'javascript' && mod.includes('/') && frame.absPath?.endsWith(mod)) {
    update(c, { contributes: false, hint: 'ignored bad javascript module' });
  } else if (platform === 'java') {
    if (mod.includes('$$Lambda$')) update(c, { contributes: false, hint: 'ignored java lambda' });
    if (mod.startsWith('sun.reflect.GeneratedMethodAccessor')) {
      update(c, { values: ['sun.reflect.GeneratedMethodAccessor'], hint: 'removed reflection marker' });
    } else if (mod.startsWith('jdk.internal.reflect.GeneratedMethodAccessor')) {
      update(c, { values: ['jdk.internal.reflect.GeneratedMethodAccessor'], hint: 'removed reflection marker' });
    } else if (mod.includes('$') || mod.includes('sun.reflect.Generated')) {
      // every pattern below needs one of these
      const cleaned = mod
        .replace(JAVA_REFLECT, '$1<auto>')
        .replace(JAVA_CGLIB, '$1<auto>')
        .replace(JAVA_ASSIST, '$1<auto>')
        .replace(CLOJURE_FN, '$1<auto>')
        .replace(JAVA_ENHANCER_BY, '$1<auto>')
        .replace(JAVA_FAST_CLASS_BY, '$1<auto>')
        .replace(JAVA_HIBERNATE_PROXY, '$1<auto>');
      if (cleaned !== mod) update(c, { values: [cleaned], hint: 'removed codegen marker' });
    }
  }
  return c;
}

function contextLineComponent(frame: Frame, platform: string | null): GroupingComponent {
  const raw = frame.contextLine ?? '';
  const line = raw.split(/\s+/).filter(Boolean).join(' ');
  if (!line) return component('context-line');
  const c = component('context-line', [line]);
  if (raw.length > 120) update(c, { contributes: false, hint: 'ignored because line is too long' });
  else if (behaviorFamily(platform) === 'javascript' && !frame.function && hasUrlOrigin(frame.absPath, true)) {
    update(c, { contributes: false, hint: 'ignored because file path is a URL and function name is missing' });
  }
  return c;
}

function functionComponent(
  frame: Frame,
  platform: string | null,
  sourcemapUsed: boolean,
  contextLineAvailable: boolean,
): GroupingComponent {
  const family = behaviorFamily(platform);
  // C# SDKs put a trimmed name in `function` and the full one in `raw_function`; the raw
  // name is what the reference grouping has always used for C#.
  let func: string | null;
  if (platform === 'csharp') func = frame.rawFunction || frame.function;
  else {
    func = frame.function || frame.rawFunction;
    if (!frame.rawFunction && frame.function) func = trimFunctionName(frame.function, platform);
  }
  if (!func) return component('function');
  const c = component('function', [func]);
  if (platform === 'ruby') {
    if (func.startsWith('block ')) update(c, { values: ['block'], hint: 'ruby block' });
    else {
      const cleaned = func.replace(RUBY_ERB_FUNC, '');
      if (cleaned !== func) update(c, { values: [cleaned], hint: 'removed generated erb template suffix' });
    }
  } else if (platform === 'php') {
    if (func.startsWith('[Anonymous') || func.startsWith('class@anonymous\u0000')) {
      update(c, { contributes: false, hint: 'ignored anonymous function' });
    }
    if (func.startsWith('class@anonymous')) {
      const i = func.lastIndexOf('::');
      if (i >= 0) update(c, { values: [func.slice(i + 2)], hint: 'anonymous class method' });
    }
  } else if (platform === 'java') {
    if (func.startsWith('lambda$')) update(c, { contributes: false, hint: 'ignored lambda function' });
  } else if (family === 'native' && (func === '<redacted>' || func === '<unknown>')) {
    update(c, { contributes: false, hint: 'ignored unknown function' });
  } else if (family === 'javascript') {
    const last = func.slice(func.lastIndexOf('.') + 1);
    if (last !== func) update(c, { values: [last], hint: 'trimmed javascript function' });
    if (sourcemapUsed && contextLineAvailable) {
      update(c, { contributes: false, hint: 'ignored because sourcemap used and context line available' });
    }
  }
  return c;
}

export function frameComponent(frame: Frame, eventPlatform: string | null): GroupingComponent {
  const platform = frame.platform || eventPlatform;
  const filename = filenameComponent(frame, platform);
  const mod = moduleComponent(frame, platform);
  if (mod.contributes && filename.contributes) {
    update(filename, { contributes: false, hint: 'ignored because module takes precedence' });
  }
  const contextLine =
    frame.contextLine && platform && CONTEXT_LINE_PLATFORMS.has(platform) ? contextLineComponent(frame, platform) : null;
  const func = functionComponent(frame, platform, frame.sourcemapUsed, !!contextLine?.contributes);
  const values: GroupingComponent[] = [mod, filename, func];
  if (contextLine) values.push(contextLine);
  const rv = component('frame', values);

  if (behaviorFamily(platform) === 'javascript') {
    let name = frame.rawFunction || frame.function;
    if (name) name = name.slice(name.lastIndexOf('.') + 1);
    if (!name) update(func, { contributes: false });
    else if (['?', '<anonymous function>', '<anonymous>', 'Anonymous function'].includes(name) || name.endsWith('/<')) {
      update(func, { contributes: false, hint: 'ignored unknown function name' });
    }
    if (name === 'eval' || ['[native code]', 'native code', 'eval code', '<anonymous>'].includes(frame.absPath ?? '\u0000')) {
      update(rv, { contributes: false, hint: 'ignored low quality javascript frame' });
    }
  }
  return rv;
}
