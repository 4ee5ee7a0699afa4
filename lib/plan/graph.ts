/**
 * The dependency graph between databases: its cycles (for validation) and the waves in which the
 * DAG runs them, both from one depth-first search (Tarjan's strongly connected components). Linear
 * in databases plus dependencies and iterative, so long chains cannot overflow the stack.
 */
import { requirePlanDatabases } from '../private/required-fields';
import { MigrationPlanError, type PlanProblem } from './errors';
import { formatFieldPath, quote, showName } from './field-path';
import type { MigrationPlan } from './types';

type DependencyNodes = readonly { readonly name: string; readonly dependsOn: readonly string[] }[];

/** `a -> b -> c -> a` for the cycle `[a, b, c]` (a depends on b, b on c, c on a). */
export function formatCycle(cycle: readonly string[]): string {
  return [...cycle, cycle[0]].map(showName).join(' -> ');
}

/**
 * One cycle per group of databases that depend on each other in a loop (a strongly connected
 * component), starting at the group's first database in plan order, shortest loop through it;
 * `entangled` lists the whole group in plan order. Self and unknown dependencies are ignored:
 * they are reported separately.
 */
export function findDependencyCycles(nodes: DependencyNodes, { edges, component } = searchGraph(nodes)) {
  const groups = new Map<number, number[]>();
  component.forEach((id, node) => (groups.get(id) ?? groups.set(id, []).get(id)!).push(node));
  return [...groups.values()]
    .filter((members) => members.length > 1)
    .map((members) => ({
      cycle: shortestCycleThrough(members[0], new Set(members), edges).map((i) => nodes[i].name),
      entangled: members.map((i) => nodes[i].name),
    }));
}

/**
 * Databases grouped into waves: wave n holds the databases whose dependencies all lie in
 * earlier waves, each wave in plan order. Throws `MigrationPlanError` for a plan with unknown
 * dependencies or cycles (which `parseMigrationPlan` never returns).
 */
export function migrationWaves(plan: Pick<MigrationPlan, 'databases'>): string[][] {
  requirePlanDatabases('migrationWaves', plan);
  const nodes = plan.databases;
  const known = new Set(nodes.map(({ name }) => name));
  const problems: PlanProblem[] = [];
  nodes.forEach(({ dependsOn }, i) =>
    dependsOn.forEach((dependency, j) => {
      const path = formatFieldPath(['databases', i, 'dependsOn', j]);
      if (!known.has(dependency)) problems.push({ path, message: `unknown database ${quote(dependency)}` });
    }),
  );
  const search = searchGraph(nodes);
  for (const { cycle } of findDependencyCycles(nodes, search)) {
    problems.push({ path: 'databases', message: `dependency cycle: ${formatCycle(cycle)}` });
  }
  if (problems.length > 0) throw new MigrationPlanError('<plan>', problems);

  const { edges, finished } = search;
  // Every database finishes after its dependencies, so their waves are known when it does.
  const wave: number[] = [];
  for (const node of finished) wave[node] = edges[node].reduce((latest, dep) => Math.max(latest, wave[dep] + 1), 0);
  const waves: string[][] = [];
  nodes.forEach(({ name }, i) => (waves[wave[i]] ??= []).push(name));
  return waves;
}

/** Every database once, each after all of its dependencies (wave by wave, plan order within a wave). */
export function topologicalOrder(plan: Pick<MigrationPlan, 'databases'>): string[] {
  requirePlanDatabases('topologicalOrder', plan);
  return migrationWaves(plan).flat();
}

/**
 * Tarjan's algorithm with an explicit stack. `edges`: the known, distinct, non-self dependencies
 * of each database by index (a name used twice means its first database); `component`: each
 * database's strongly connected component, named by one of its members; `finished`: databases in
 * the order the search finished them, each after everything it depends on (loops aside).
 */
function searchGraph(nodes: DependencyNodes) {
  const indexOf = new Map<string, number>();
  nodes.forEach(({ name }, i) => indexOf.set(name, indexOf.get(name) ?? i));
  // An unknown or self dependency maps to the database itself, and goes.
  const edges = nodes.map(({ dependsOn }, i) =>
    [...new Set(dependsOn.map((name) => indexOf.get(name) ?? i))].filter((dependency) => dependency !== i),
  );
  const entered: number[] = [];
  const lowest: number[] = [];
  const component: number[] = [];
  const finished: number[] = [];
  const open: number[] = [];
  const work: { node: number; next: number }[] = [];
  let count = 0;
  const enter = (node: number) => {
    entered[node] = lowest[node] = count++;
    open.push(node);
    work.push({ node, next: 0 });
  };
  for (let root = 0; root < nodes.length; root++) {
    if (entered[root] === undefined) enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const { node } = frame;
      if (frame.next < edges[node].length) {
        const dependency = edges[node][frame.next++];
        if (entered[dependency] === undefined) enter(dependency);
        else if (component[dependency] === undefined) lowest[node] = Math.min(lowest[node], entered[dependency]);
        continue;
      }
      work.pop();
      const parent = work.at(-1)?.node;
      if (parent !== undefined) lowest[parent] = Math.min(lowest[parent], lowest[node]);
      if (lowest[node] !== entered[node]) continue;
      let member: number;
      do {
        member = open.pop()!;
        component[member] = node;
        finished.push(member);
      } while (member !== node);
    }
  }
  return { edges, component, finished };
}

/** Breadth-first search inside one component, so the printed loop is as short as possible. */
function shortestCycleThrough(start: number, component: ReadonlySet<number>, edges: readonly number[][]): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (const node of queue) {
    for (const next of edges[node]) {
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return path;
      }
      if (component.has(next) && !parent.has(next)) {
        parent.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start]; // unreachable for a strongly connected component of two or more nodes
}
