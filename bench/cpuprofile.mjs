/**
 * Summaries of a V8 .cpuprofile (from `node --cpu-prof`): self time by package, the functions
 * with the most self time, and the inclusive time of named functions (phases of the app).
 */
import { readFileSync } from 'node:fs';

/** Where a frame's code lives: an npm package, a project file, node itself, or a V8 pseudo-frame. */
export function categoryOf(url, functionName) {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle), (root)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  const match = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  if (match) return match[match.length - 1].replace('node_modules/', '');
  const project = url.match(/\/(dist\/.*|bench\/.*)$/);
  return project ? `project ${project[1].replace(/^dist\/lib\/([^/]+)\/.*$/, 'dist/lib/$1/')}` : url;
}

export function summarizeProfile(file, inclusiveNames = []) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const byCategory = new Map();
  const byFunction = new Map();
  const inclusive = new Map(inclusiveNames.map((name) => [name, 0]));
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const category = categoryOf(url, functionName);
    total += us;
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${category.startsWith('project ') || category.includes('/') ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : `[${category}]`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    // Inclusive: every named function on this sample's stack, counted once per sample.
    if (inclusiveNames.length) {
      const seen = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const name = nodes.get(at).callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name) + us);
        }
      }
    }
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([name, us]) => [name, us / 1000]);
  return {
    totalMs: total / 1000,
    byCategory: sorted(byCategory),
    byFunction: sorted(byFunction),
    inclusive: [...inclusive].map(([name, us]) => [name, us / 1000]),
  };
}
