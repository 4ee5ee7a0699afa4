/** The plan as a Mermaid flowchart, a box per wave (databases that can run together): see renderMermaidDiagram. */
import { requirePlanDatabases } from '../private/required-fields';
import { migrationWaves } from './graph';
import type { DatabaseMigration, MigrationMode, MigrationPlan, TargetKind } from './types';

/**
 * Node classes named after the target kinds (fills, with dark text so the nodes read in light and
 * dark themes) and the modes (offline migrations, one copy with downtime, are dashed).
 */
const CLASS_STYLES = {
  SqlMi: 'fill:#dbeafe,stroke:#1d4ed8,color:#0f172a',
  SqlDb: 'fill:#dcfce7,stroke:#15803d,color:#0f172a',
  SqlVm: 'fill:#fef3c7,stroke:#b45309,color:#0f172a',
  online: 'stroke-width:2px',
  offline: 'stroke-width:2px,stroke-dasharray:6 4',
} satisfies Record<TargetKind | MigrationMode, string>;

/** Database names are validated identifiers; anything else cannot become a Mermaid node id. */
const DATABASE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Characters left as they are in labels; everything else becomes a Mermaid entity code. */
const PLAIN_LABEL_CHARACTER = /^[\p{L}\p{N} _.,/()+=@!$*?~'-]$/u;

/**
 * Renders the plan as Mermaid `flowchart` source (put it in a ```` ```mermaid ```` block to show
 * it in Markdown): a subgraph per wave from {@link migrationWaves}, a node per database labelled
 * with its name, source (`server/database`), target (`kind server/database`) and mode, an arrow
 * from each dependency to its dependent, and node styles per target kind (fill) and mode
 * (offline is dashed).
 *
 * @param plan a validated plan, as {@link loadMigrationPlan} and {@link parseMigrationPlan} return it
 * @returns the diagram source, one statement per line, ending with a newline
 * @throws MigrationPlanError if a dependency is unknown or circular (which a validated plan never has)
 */
export function renderMermaidDiagram(plan: Pick<MigrationPlan, 'databases'>): string {
  requirePlanDatabases('renderMermaidDiagram', plan);
  const byName = new Map(plan.databases.map((database) => [database.name, database]));
  const lines = ['flowchart LR'];

  migrationWaves(plan).forEach((wave, index) => {
    lines.push(`  subgraph wave_${index + 1}["Wave ${index + 1}"]`, '    direction TB');
    for (const name of wave) lines.push(`    ${nodeId(name)}["${nodeLabel(byName.get(name)!)}"]`);
    lines.push('  end');
  });

  for (const database of plan.databases) {
    for (const dependency of new Set(database.dependsOn)) {
      lines.push(`  ${nodeId(dependency)} --> ${nodeId(database.name)}`);
    }
  }

  for (const [name, style] of Object.entries(CLASS_STYLES)) {
    const members = plan.databases.filter((database) => database.target.kind === name || database.mode === name);
    if (members.length === 0) continue;
    lines.push(
      `  classDef ${name} ${style}`,
      `  class ${members.map((database) => nodeId(database.name)).join(',')} ${name}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `db_` keeps ids clear of Mermaid keywords (`end`, `graph`, ...) and of edge syntax (`o`, `x`). */
function nodeId(databaseName: string): string {
  if (!DATABASE_NAME.test(databaseName)) {
    throw new Error(`database name "${databaseName}" is not a valid identifier; validate the plan first`);
  }
  return `db_${databaseName}`;
}

function nodeLabel({ name, source, target, mode }: DatabaseMigration): string {
  const from = `from ${source.server}/${source.database}`;
  const to = `to ${target.kind} ${target.server}/${target.database}`;
  return [name, from, to, mode].map(escapeLabel).join('<br/>');
}

/**
 * Mermaid decodes `#code;` entities in labels and has no other escape: quotes would end the
 * label, `#` would start an entity, `<` would start HTML, `:`/`;` can trip its style rewriting.
 * Everything but letters, digits, spaces and harmless punctuation becomes `#<decimal code>;`.
 */
export function escapeLabel(text: string): string {
  return Array.from(text, (character) =>
    PLAIN_LABEL_CHARACTER.test(character) ? character : `#${character.codePointAt(0)};`,
  ).join('');
}
