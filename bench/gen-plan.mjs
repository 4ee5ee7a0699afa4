#!/usr/bin/env node
/**
 * Generates migration plans of any size with realistic dependency shapes, for the benchmark.
 *
 *   node bench/gen-plan.mjs <databases> <out.yaml>
 *
 * Deterministic (seeded PRNG): the same size always gives the same plan.
 *
 * Shape, for n databases (n <= 3 gives the example's shape: two independent databases, the third
 * depending on both):
 *   - servers: one source SQL Server per ~40 databases (each with its backup share), managed
 *     instances (one per ~120), logical servers (one per ~150) and SQL VMs (one per ~200);
 *   - targets: ~55% SqlMi, ~30% SqlDb (offline, as DMS requires), ~15% SqlVm; ~70% of the
 *     SqlMi/SqlVm ones online; some with checksums, table lists or longer timeouts;
 *   - dependencies (always to earlier databases, so the plan is acyclic):
 *       * a few hubs in the first wave ("core" databases: identity, reference data) that ~10% of
 *         all later databases also depend on (fan-out);
 *       * waves: the remaining databases split into ~sqrt(n)/2 waves, each database depending
 *         on 1-2 databases of the previous wave (some on none: wave 0, independent stragglers);
 *       * a few long chains (3 chains of up to 40 links: a sharded application migrated shard
 *         after shard);
 *       * a few reporting/warehouse databases at the end depending on 10-40 others each (fan-in).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { stringify } = require('yaml');

const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-prod/providers';
const APPS = ['crm', 'erp', 'hr', 'sales', 'billing', 'payroll', 'inventory', 'shipping', 'web', 'audit', 'claims', 'ledger'];

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (i, width = 2) => String(i).padStart(width, '0');

/** A plain plan document (as a user writes it) with `count` databases. */
export function generatePlan(count) {
  if (!Number.isInteger(count) || count < 1) throw new Error(`database count must be a positive integer, got ${count}`);
  const random = prng(0x5eed + count);
  const pick = (list) => list[Math.floor(random() * list.length)];

  const sourceServers = Array.from({ length: Math.max(1, Math.ceil(count / 40)) }, (_, i) => ({
    name: `sql${pad(i + 1)}`,
    host: `sql${pad(i + 1)}.corp.contoso.com`,
    ...(i % 5 === 4 ? { authentication: 'WindowsAuthentication', port: 14330 } : {}),
    backupFileShare: { path: `\\\\fileserver${pad((i % 3) + 1)}\\sqlbackups\\sql${pad(i + 1)}`, connectionId: `smb_sql${pad(i + 1)}` },
  }));
  const serversOf = (kind, per, prefix, resourcePath) =>
    Array.from({ length: Math.max(1, Math.ceil(count / per)) }, (_, i) => ({
      name: `${prefix}-${pad(i + 1)}`,
      kind,
      resourceId: `${SUBSCRIPTION}/${resourcePath}/${prefix}-contoso-${pad(i + 1)}`,
    }));
  const targets = {
    SqlMi: serversOf('SqlMi', 120, 'mi', 'Microsoft.Sql/managedInstances'),
    SqlDb: serversOf('SqlDb', 150, 'sqldb', 'Microsoft.Sql/servers'),
    SqlVm: serversOf('SqlVm', 200, 'vm', 'Microsoft.SqlVirtualMachine/sqlVirtualMachines'),
  };

  const names = Array.from({ length: count }, (_, i) => `${APPS[i % APPS.length]}_${pad(i, 4)}`);
  const dependsOn = dependencies(count, names, random);

  const databases = names.map((name, i) => {
    const kind = count <= 3 ? ['SqlMi', 'SqlDb', 'SqlVm'][i] : ((r) => (r < 0.55 ? 'SqlMi' : r < 0.85 ? 'SqlDb' : 'SqlVm'))(random());
    const database = {
      name,
      source: { server: sourceServers[i % sourceServers.length].name, database: `${APPS[i % APPS.length].toUpperCase()}_${pad(i, 4)}` },
      target: { server: pick(targets[kind]).name },
      mode: kind === 'SqlDb' ? 'offline' : random() < 0.7 ? 'online' : 'offline',
    };
    if (i % 7 === 3) database.target.database = `${name}_migrated`;
    if (dependsOn[i].length > 0) database.dependsOn = dependsOn[i];
    const r = random();
    if (r < 0.2) database.validation = { rowCounts: true, checksums: true };
    else if (r < 0.3) database.validation = { rowCounts: true, checksums: false, tables: ['dbo.Customers', 'dbo.Orders', 'sales.OrderLines'] };
    if (random() < 0.1) database.timeoutMinutes = 1440;
    return database;
  });

  return {
    name: `bench-${count}`,
    location: 'westeurope',
    tags: { owner: 'platform-team', 'cost-center': '4711', environment: 'bench' },
    notifications: { emails: ['dba-oncall@contoso.com', 'platform@contoso.com'], longRunningMinutes: 90 },
    airflow: { host: 'kubernetes', kubernetes: { maxNodes: count > 200 ? 8 : 4 } },
    sourceServers,
    targetServers: [...targets.SqlMi, ...targets.SqlDb, ...targets.SqlVm],
    backupStorage: {
      storageAccountResourceId: `${SUBSCRIPTION}/Microsoft.Storage/storageAccounts/stcontosobackups`,
      connectionId: 'backup_storage_key',
    },
    databases,
  };
}

/** dependsOn lists (names) for each index; every dependency points to an earlier index. */
function dependencies(count, names, random) {
  const deps = Array.from({ length: count }, () => new Set());
  if (count <= 3) {
    if (count === 3) deps[2] = new Set([0, 1]);
    return deps.map((set) => [...set].map((j) => names[j]));
  }
  const hubs = Math.min(5, Math.max(1, Math.floor(count / 50)));
  const chains = count >= 60 ? 3 : 0;
  const chainLength = Math.min(40, Math.floor(count / 20));
  const sinks = count >= 20 ? Math.min(5, Math.max(1, Math.floor(count / 100))) : 0;
  // Layout: [hubs][waves][chains][sinks]
  const waveStart = hubs;
  const chainStart = count - sinks - chains * chainLength;
  const waveCount = Math.max(2, Math.round(Math.sqrt(chainStart - waveStart) / 2));
  const waveOf = (i) => Math.floor(((i - waveStart) * waveCount) / (chainStart - waveStart));
  const waveMembers = Array.from({ length: waveCount }, () => []);
  for (let i = waveStart; i < chainStart; i++) waveMembers[waveOf(i)].push(i);

  for (let i = waveStart; i < chainStart; i++) {
    const wave = waveOf(i);
    if (wave > 0 && random() < 0.9) {
      const previous = waveMembers[wave - 1];
      const links = random() < 0.3 ? 2 : 1;
      for (let k = 0; k < links; k++) deps[i].add(previous[Math.floor(random() * previous.length)]);
    }
    if (random() < 0.1) deps[i].add(Math.floor(random() * hubs)); // fan-out from a hub
  }
  for (let c = 0; c < chains; c++) {
    const first = chainStart + c * chainLength;
    deps[first].add(c % hubs);
    for (let k = 1; k < chainLength; k++) deps[first + k].add(first + k - 1);
  }
  for (let s = 0; s < sinks; s++) {
    const i = count - sinks + s;
    const fanIn = Math.min(i, 10 + Math.floor(random() * 31));
    while (deps[i].size < fanIn) deps[i].add(Math.floor(random() * i));
  }
  return deps.map((set) => [...set].sort((a, b) => a - b).map((j) => names[j]));
}

/** Dependency-shape summary, for the results file. */
export function describeShape(plan) {
  const byName = new Map(plan.databases.map((d, i) => [d.name, i]));
  const depth = new Array(plan.databases.length).fill(1);
  let edges = 0;
  let maxFanIn = 0;
  const fanOut = new Map();
  plan.databases.forEach((d, i) => {
    const list = d.dependsOn ?? [];
    edges += list.length;
    maxFanIn = Math.max(maxFanIn, list.length);
    for (const dep of list) {
      depth[i] = Math.max(depth[i], depth[byName.get(dep)] + 1);
      fanOut.set(dep, (fanOut.get(dep) ?? 0) + 1);
    }
  });
  const kinds = {};
  const targetKind = new Map(plan.targetServers.map((t) => [t.name, t.kind]));
  for (const d of plan.databases) kinds[targetKind.get(d.target.server)] = (kinds[targetKind.get(d.target.server)] ?? 0) + 1;
  return {
    databases: plan.databases.length,
    dependencies: edges,
    longestPath: Math.max(...depth),
    maxFanIn,
    maxFanOut: Math.max(0, ...fanOut.values()),
    kinds,
    online: plan.databases.filter((d) => d.mode === 'online').length,
  };
}

export function writePlan(count, path) {
  const plan = generatePlan(count);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `# Generated by bench/gen-plan.mjs (${count} databases); do not edit.\n${stringify(plan, { lineWidth: 0 })}`);
  return plan;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [count, out] = process.argv.slice(2);
  if (!count || !out) {
    process.stderr.write('usage: node bench/gen-plan.mjs <databases> <out.yaml>\n');
    process.exit(2);
  }
  const plan = writePlan(Number(count), resolve(out));
  process.stdout.write(`${JSON.stringify(describeShape(plan))}\n`);
}
