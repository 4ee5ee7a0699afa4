/**
 * The API reference gives, in the `@default` of each alert override (`migrationFailedAlert`, ...),
 * the alert a user gets without it: severity, frequency, window and, for a log alert, what it is
 * split on (one notification per value). Read here against the alerts a facade with every alert
 * synthesizes, so a changed alert cannot leave its reference behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { resourcesOfType, synthObject } from '../helpers/test-stack';
import { FACTORY, PLAN_DATABASES, monitoring } from '../monitoring/monitoring-test-stack';

const MONITORING = join(__dirname, '..', '..', 'lib', 'monitoring');
const PROPS_FILES = ['migration-events-monitoring.ts', 'data-factory-monitoring.ts', 'data-factory-airflow-monitoring.ts', 'kubernetes-airflow-monitoring.ts'];

/** Alert names that are not the option's name in kebab case, less `Alert`. */
const ALERT_NAMES: Readonly<Record<string, string>> = {
  selfHostedRuntimeOfflineAlert: 'shir-offline',
  selfHostedRuntimeCpuAlert: 'shir-cpu',
  selfHostedRuntimeMemoryAlert: 'shir-memory',
  missingPoolAlert: 'airflow-missing-pool',
};

/** The words a `@default` splits on ("per database, step and message") and the columns they stand for. */
const SPLIT_WORDS: Readonly<Record<string, string>> = {
  database: 'Database',
  step: 'Phase',
  status: 'Status',
  message: 'Message',
  run: 'RunId',
  'its databases in flight': 'DatabasesInFlight',
  operation: 'OperationName',
  'input stream': 'InputStreamId',
  pool: 'Pool',
};

interface DocumentedDefault {
  readonly option: string;
  readonly text: string;
}

interface SynthesizedAlert {
  readonly severity: number;
  readonly frequency: string;
  readonly window: string;
  /** Columns a log alert is split on; none for a metric alert (whose dimensions are filters). */
  readonly split?: readonly string[];
}

/** The `@default` text of every `xxxAlert` prop of the facade's props interfaces (`...Props`). */
function documentedDefaults(): DocumentedDefault[] {
  return PROPS_FILES.flatMap((file) => {
    const path = join(MONITORING, file);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
    const found: DocumentedDefault[] = [];
    const visit = (node: ts.Node): void => {
      // Options only: a result interface (`DataFactoryAirflowMonitoring.missingPoolAlert`) holds the alert made.
      const ofProps = (): boolean => ts.isInterfaceDeclaration(node.parent) && /Props$/.test(node.parent.name.text);
      if (ts.isPropertySignature(node) && /Alert$/.test(node.name.getText(source)) && ofProps()) {
        const tag = ts.getJSDocTags(node).find((candidate) => candidate.tagName.text === 'default');
        found.push({ option: node.name.getText(source), text: (ts.getTextOfJSDocComment(tag?.comment) ?? '').replace(/\s+/g, ' ').trim() });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  });
}

/** Every alert a facade makes with all of them on, by the option that overrides it. */
function synthesizedAlerts(): Map<string, SynthesizedAlert> {
  const { stack, monitoring: facade } = monitoring();
  facade
    .monitorMigrationEvents({ databases: PLAN_DATABASES })
    .monitorDataFactory(FACTORY, { selfHostedIntegrationRuntimeName: 'shir-contoso-sql', airflowIntegrationRuntimeName: 'airflow-contoso-sql' });
  const synth = synthObject(stack);
  const alerts = new Map<string, SynthesizedAlert>();
  for (const alert of Object.values(resourcesOfType(synth, 'azurerm_monitor_scheduled_query_rules_alert_v2'))) {
    const criteria = (alert.criteria as { dimension?: { name: string }[] }[])[0];
    alerts.set(String(alert.name), {
      severity: Number(alert.severity),
      frequency: String(alert.evaluation_frequency),
      window: String(alert.window_duration),
      split: (criteria.dimension ?? []).map((dimension) => dimension.name),
    });
  }
  for (const alert of Object.values(resourcesOfType(synth, 'azurerm_monitor_metric_alert'))) {
    alerts.set(String(alert.name), { severity: Number(alert.severity), frequency: String(alert.frequency), window: String(alert.window_size) });
  }
  return alerts;
}

function alertName(option: string): string {
  const short = ALERT_NAMES[option] ?? option.replace(/Alert$/, '').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return `alert-contoso-sql-${short}`;
}

/** What a `@default` says of the alert: each part only where the text gives it as a figure. */
function readDefault(text: string): { severity?: number; frequency?: string; window?: string; split: string[] } {
  const severity = /\bseverity (\d)\b/.exec(text);
  const frequency = /\bevery (\d+) minutes\b/.exec(text);
  const window = /\bover (\d+|two) (minutes|hours|days)\b/.exec(text);
  const amount = window && (window[1] === 'two' ? '2' : window[1]);
  const split = /\bper (.+?)(?:, resolved\b.*)?$/.exec(text);
  return {
    severity: severity ? Number(severity[1]) : undefined,
    frequency: frequency ? `PT${frequency[1]}M` : undefined,
    window: window ? { minutes: `PT${amount}M`, hours: `PT${amount}H`, days: `P${amount}D` }[window[2] as 'minutes' | 'hours' | 'days'] : undefined,
    split: split ? split[1].split(/, | and /).map((word) => SPLIT_WORDS[word] ?? `unknown split "${word}"`) : [],
  };
}

/** `option: what the reference says / what is synthesized` for each part that differs. */
function mismatches(documented: readonly DocumentedDefault[], synthesized: Map<string, SynthesizedAlert>): string[] {
  return documented.flatMap(({ option, text }) => {
    const alert = synthesized.get(alertName(option));
    if (!alert) return [`${option}: no alert ${alertName(option)} was synthesized`];
    const said = readDefault(text);
    const found: string[] = [];
    if (said.severity !== alert.severity) found.push(`${option}: severity ${said.severity} / ${alert.severity}`);
    if (said.frequency !== alert.frequency) found.push(`${option}: frequency ${said.frequency} / ${alert.frequency}`);
    if (said.window !== undefined && said.window !== alert.window) found.push(`${option}: window ${said.window} / ${alert.window}`);
    if (alert.split && [...said.split].sort().join() !== [...alert.split].sort().join()) {
      found.push(`${option}: split on ${said.split.join(', ')} / ${alert.split.join(', ')}`);
    }
    return found;
  });
}

describe("the alert overrides' @default in the API reference", () => {
  const documented = documentedDefaults();
  const synthesized = synthesizedAlerts();

  test('covers every alert option of the facade', () => {
    expect(new Set(documented.map(({ option }) => alertName(option)))).toEqual(new Set(synthesized.keys()));
  });

  test("gives each alert's severity, frequency, window and split as synthesized", () => {
    expect(mismatches(documented, synthesized)).toEqual([]);
  });

  test('a severity, window or split that differs is seen', () => {
    const drifted = documented.map((entry) =>
      entry.option === 'cutoverPostponedAlert' ? { ...entry, text: entry.text.replace('severity 3', 'severity 2').replace('over 15 minutes', 'over 2 hours').replace(/per .*/, 'per database') } : entry,
    );
    expect(mismatches(drifted, synthesized)).toEqual([
      'cutoverPostponedAlert: severity 2 / 3',
      'cutoverPostponedAlert: window PT2H / PT15M',
      'cutoverPostponedAlert: split on Database / Database, Status, Phase, Message',
    ]);
  });
});
