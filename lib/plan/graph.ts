/**
 * The dependency graph between databases: cycles (for validation) and the waves and order in
 * which the DAG runs them. Everything is linear in databases plus dependencies and iterative,
 * so long chains cannot overflow the stack.
 */
import { MigrationPlanError, type PlanProblem } from './errors';
import { formatFieldPath, quote, showName } from './field-path';
import type { MigrationPlan } from './types';

/** A database as the graph sees it. */
export interface DependencyNode {
  readonly name: string;
  readonly dependsOn: readonly string[];
}

/** A cycle `[a, b, c]` means a depends on b, b on c and c on a. */
export interface DependencyCycle {
  readonly cycle: readonly string[];
  /** Every database in the same strongly connected component, in plan order (a superset of `cycle`). */
  readonly entangled: readonly string[];
}

/** `a -> b -> c -> a` */
export function formatCycle(cycle: readonly string[]): string {
  return [...cycle, cycle[0]].map(showName).join(' -> ');
}

/**
 * One cycle per group of databases that depend on each other in a loop (Tarjan's strongly
 * connected components), starting at the group's first database in plan order, shortest
 * loop through it. Self and unknown dependencies are ignored: they are reported separately.
 */
export function findDependencyCycles(nodes: readonly DependencyNode[]): DependencyCycle[] {
  const graph = indexGraph(nodes);
  return stronglyConnectedComponents(graph.edges)
    .filter((component) => component.length > 1)
    .map((component) => [...component].sort((a, b) => a - b))
    .sort((a, b) => a[0] - b[0])
    .map((members) => ({
      cycle: shortestCycleThrough(members[0], new Set(members), graph.edges).map((i) => graph.names[i]),
      entangled: members.map((i) => graph.names[i]),
    }));
}

/**
 * Databases grouped into waves: wave n holds the databases whose dependencies all lie in
 * earlier waves, each wave in plan order. Throws `MigrationPlanError` for a plan with unknown
 * dependencies or cycles (which `parseMigrationPlan` never returns).
 */
export function migrationWaves(plan: Pick<MigrationPlan, 'databases'>): string[][] {
  return dependencyWaves(plan.databases);
}

/** Every database once, each after all of its dependencies (wave by wave, plan order within a wave). */
export function topologicalOrder(plan: Pick<MigrationPlan, 'databases'>): string[] {
  return migrationWaves(plan).flat();
}

export function dependencyWaves(nodes: readonly DependencyNode[]): string[][] {
  assertAcyclicWithKnownDependencies(nodes);
  const graph = indexGraph(nodes);
  const dependents: number[][] = graph.names.map(() => []);
  const waitingFor = graph.edges.map((deps) => deps.length);
  graph.edges.forEach((deps, node) => deps.forEach((dep) => dependents[dep].push(node)));

  const wave = new Array<number>(graph.names.length).fill(0);
  const ready = graph.names.map((_, i) => i).filter((i) => waitingFor[i] === 0);
  for (let head = 0; head < ready.length; head++) {
    const node = ready[head];
    for (const dependent of dependents[node]) {
      wave[dependent] = Math.max(wave[dependent], wave[node] + 1);
      if (--waitingFor[dependent] === 0) ready.push(dependent);
    }
  }

  const waves: string[][] = [];
  graph.names.forEach((name, i) => (waves[wave[i]] ??= []).push(name));
  return waves;
}

interface IndexedGraph {
  readonly names: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Known, distinct, non-self dependencies by index, in `dependsOn` order. */
  readonly edges: readonly (readonly number[])[];
}

function indexGraph(nodes: readonly DependencyNode[]): IndexedGraph {
  const indexOf = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (!indexOf.has(node.name)) indexOf.set(node.name, i);
  });
  const edges = nodes.map((node, i) => {
    const targets = new Set<number>();
    for (const dep of node.dependsOn) {
      const target = indexOf.get(dep);
      if (target !== undefined && target !== i) targets.add(target);
    }
    return [...targets];
  });
  return { names: nodes.map((node) => node.name), indexOf, edges };
}

/** Tarjan's algorithm with an explicit stack. */
function stronglyConnectedComponents(edges: readonly (readonly number[])[]): number[][] {
  const count = edges.length;
  const index = new Array<number>(count).fill(-1);
  const lowLink = new Array<number>(count).fill(0);
  const onStack = new Array<boolean>(count).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let nextIndex = 0;

  for (let root = 0; root < count; root++) {
    if (index[root] !== -1) continue;
    const work: { node: number; nextEdge: number }[] = [{ node: root, nextEdge: 0 }];
    index[root] = lowLink[root] = nextIndex++;
    stack.push(root);
    onStack[root] = true;

    while (work.length > 0) {
      const frame = work[work.length - 1];
      const { node } = frame;
      if (frame.nextEdge < edges[node].length) {
        const next = edges[node][frame.nextEdge++];
        if (index[next] === -1) {
          index[next] = lowLink[next] = nextIndex++;
          stack.push(next);
          onStack[next] = true;
          work.push({ node: next, nextEdge: 0 });
        } else if (onStack[next]) {
          lowLink[node] = Math.min(lowLink[node], index[next]);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        lowLink[parent] = Math.min(lowLink[parent], lowLink[node]);
      }
      if (lowLink[node] === index[node]) {
        const component: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack[member] = false;
          component.push(member);
        } while (member !== node);
        components.push(component);
      }
    }
  }
  return components;
}

/** Breadth-first search inside one component, so the printed loop is as short as possible. */
function shortestCycleThrough(
  start: number,
  component: ReadonlySet<number>,
  edges: readonly (readonly number[])[],
): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const next of edges[node]) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return path;
      }
      if (!parent.has(next)) {
        parent.set(next, node);
        queue.push(next);
      }
    }
  }
  // Unreachable for a strongly connected component of two or more nodes.
  return [start];
}

function assertAcyclicWithKnownDependencies(nodes: readonly DependencyNode[]): void {
  const known = new Set(nodes.map((node) => node.name));
  const problems: PlanProblem[] = [];
  nodes.forEach((node, i) =>
    node.dependsOn.forEach((dep, j) => {
      if (!known.has(dep)) {
        problems.push({
          path: formatFieldPath(['databases', i, 'dependsOn', j]),
          message: `unknown database ${quote(dep)}`,
        });
      }
    }),
  );
  for (const { cycle } of findDependencyCycles(nodes)) {
    problems.push({ path: 'databases', message: `dependency cycle: ${formatCycle(cycle)}` });
  }
  if (problems.length > 0) throw new MigrationPlanError('<plan>', problems);
}
