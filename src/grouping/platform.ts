// Platform families: rules and frame normalization treat all JavaScript runtimes alike and
// all native (C/C++/Objective-C/Swift/Rust) platforms alike.
const FAMILIES: Record<string, string> = {
  javascript: 'javascript',
  node: 'javascript',
  objc: 'native',
  cocoa: 'native',
  swift: 'native',
  native: 'native',
  c: 'native',
};

export function behaviorFamily(platform: string | null | undefined): string {
  return (platform && FAMILIES[platform]) || 'other';
}
