/**
 * Every override that weakens a secure default warns at synth (override is allowed, silence is not):
 * one row per override, as a user writes it, with the warning it gives; the default stack of every
 * host gives none of them, and docs/security.md names each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { DatabaseMigrationStack, DatabaseMigrationStackProps } from '../../lib/database-migration-stack';
import { ENVIRONMENT_ID, SERVICE_PRINCIPAL } from '../helpers/host-fixtures';
import { AIRFLOW_OF_HOST, examplePlanWith } from '../helpers/migration-stack';
import { warningsOf } from '../helpers/test-stack';
import { kubernetesHostStack } from '../hosts/kubernetes-test-stack';
import { monitoring } from '../monitoring/monitoring-test-stack';

/** The stack with its release stacks, constructed (the warnings are given at construction). */
function stackWarnings(props: Partial<DatabaseMigrationStackProps>): string[] {
  const plan = props.plan ?? examplePlanWith(AIRFLOW_OF_HOST.external);
  const stack = new DatabaseMigrationStack(Testing.app(), plan.name, { ...props, plan });
  return [stack, ...stack.releaseStacks].flatMap((each: TerraformStack) => warningsOf(each));
}

const WEAKENED = /weaker than the secure default|is not protected by prevent_destroy|preventDestroy is false|localAuthenticationEnabled is true/;

const FACTORY_ID = ENVIRONMENT_ID.split('/integrationRuntimes/')[0];

/** The prop's name, the override as a user writes it, the warnings of a stack or construct with it, the warning expected. */
const OVERRIDES: ReadonlyArray<readonly [string, string, () => string[], RegExp]> = [
  ['httpsOnly', 'DatabaseMigrationStack dagStorage.httpsOnly: false', () => stackWarnings({ dagStorage: { httpsOnly: false } }), /DagStorage: httpsOnly is false, weaker than the secure default true/],
  ['publicBlobAccess', 'DatabaseMigrationStack dagStorage.publicBlobAccess: true', () => stackWarnings({ dagStorage: { publicBlobAccess: true } }), /DagStorage: publicBlobAccess is true, weaker/],
  [
    'sharedAccessKeyEnabled',
    'DatabaseMigrationStack dagStorage.sharedAccessKeyEnabled: true',
    () => stackWarnings({ dagStorage: { sharedAccessKeyEnabled: true } }),
    /DagStorage: sharedAccessKeyEnabled is true, weaker/,
  ],
  ['versioningEnabled', 'DatabaseMigrationStack dagStorage.versioningEnabled: false', () => stackWarnings({ dagStorage: { versioningEnabled: false } }), /DagStorage: versioningEnabled is false, weaker/],
  [
    'softDeleteRetentionInDays',
    'DatabaseMigrationStack dagStorage.softDeleteRetentionInDays: 7',
    () => stackWarnings({ dagStorage: { softDeleteRetentionInDays: 7 } }),
    /DagStorage: softDeleteRetentionInDays is 7, weaker/,
  ],
  ['preventDestroy', 'DatabaseMigrationStack preventDestroy: false', () => stackWarnings({ preventDestroy: false }), /MigrationService: migration service is not protected by prevent_destroy/],
  ['localAuthenticationEnabled', 'MigrationMonitoring localAuthenticationEnabled: true', () => warningsOf(monitoring({ localAuthenticationEnabled: true }).stack), /monitoring: localAuthenticationEnabled is true/],
  [
    'servicePrincipal',
    'the plan\'s airflow.external.servicePrincipal (ExternalAirflowHost servicePrincipal)',
    () => stackWarnings({ plan: examplePlanWith({ host: 'external', external: { servicePrincipal: SERVICE_PRINCIPAL } }) }),
    /AirflowHost: servicePrincipal is set \(the plan's airflow\.external\.servicePrincipal\), weaker than the secure default, a managed identity the host creates/,
  ],
  ['runCommandEnabled', 'KubernetesAirflowHost runCommandEnabled: true', () => warningsOf(kubernetesHostStack({ runCommandEnabled: true }).stack), /airflow: runCommandEnabled is true, weaker/],
  [
    'networkPoliciesEnabled',
    'KubernetesAirflowHost networkPoliciesEnabled: false',
    () => warningsOf(kubernetesHostStack({ networkPoliciesEnabled: false }).stack),
    /airflow: networkPoliciesEnabled is false, weaker/,
  ],
  [
    'airflowLogs',
    'MigrationMonitoring.monitorDataFactoryAirflow (and DataFactoryAirflowHost) airflowLogs: false',
    () => {
      const { stack, monitoring: construct } = monitoring();
      construct.monitorDataFactoryAirflow({ factoryId: FACTORY_ID, environmentName: 'airflow-prod' }, { airflowLogs: false });
      return warningsOf(stack);
    },
    /monitoring: airflowLogs is false, weaker than the secure default true/,
  ],
];

describe('an override that weakens a secure default', () => {
  it.each(OVERRIDES)('%s (%s) warns', (_prop, _written, warnings, expected) => {
    expect(warnings()).toContainEqual(expect.stringMatching(expected));
  });

  it.each(Object.keys(AIRFLOW_OF_HOST) as Array<keyof typeof AIRFLOW_OF_HOST>)('is absent from the default stack of host %s, which warns of no weakening', (host) => {
    expect(stackWarnings({ plan: examplePlanWith(AIRFLOW_OF_HOST[host]) }).filter((warning) => WEAKENED.test(warning))).toEqual([]);
  });

  it('is named in docs/security.md', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    const section = page.slice(page.indexOf('**Secure defaults, overridable with a warning.**'), page.indexOf('**Least privilege.**'));
    for (const [prop] of OVERRIDES) expect(section).toContain(`\`${prop}\``);
  });
});
