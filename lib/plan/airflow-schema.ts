/**
 * The plan's `airflow:` section: where the DAG runs (`host`), how its SQL steps reach SQL Server
 * (`sqlAccess`), and one optional sub-section per host. Its cross-field rules (a sub-section for
 * another host, direct SQL where no network reaches SQL Server, what each host needs) run here, on
 * the section as written, so a plan that asks for something impossible is told why and what to
 * write instead.
 */
import { z } from 'zod';
import { quote } from './field-path';
import { anyCase, armId, GUID_PATTERN, integerBetween, matching, ONE_DOCUMENT, SUBNET_ID, VM_SIZE, type Named } from './rules';
import { asArray, asRecord, firstSeen, reportTo, type Loose, type ReportProblem } from './semantic-checks';

const AIRFLOW_HOSTS = ['kubernetes', 'dataFactory', 'fabric', 'external'] as const;
type HostKind = (typeof AIRFLOW_HOSTS)[number];
const isHost = (value: unknown): value is HostKind => AIRFLOW_HOSTS.some((host) => host === value);
const SQL_ACCESS = ['direct', 'dataFactory'] as const;
type SqlAccess = (typeof SQL_ACCESS)[number];
/**
 * Capacity SKUs azurerm 4.55 accepts that can run an Apache Airflow job: a Small pool uses 5 CU,
 * so Microsoft recommends F8 at least (MicrosoftDocs/fabric-docs `apache-airflow-compute.md`).
 */
export const FABRIC_AIRFLOW_CAPACITY_SKUS = ['F8', 'F16', 'F32', 'F64', 'F128', 'F256', 'F512', 'F1024', 'F2048'] as const;

const NAME = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4_RANGE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}(?:/(?:3[0-2]|[12]?[0-9]))?$`);
const ENVIRONMENT_ID = armId(
  'Microsoft.DataFactory',
  'factories',
  `${NAME}/${anyCase('integrationRuntimes')}/${NAME}`,
  '<factory>/integrationRuntimes/<environment>',
);
const CAPACITY_ID = armId('Microsoft.Fabric', 'capacities', '[a-z][a-z0-9]{2,62}');

const armIdLike = ({ pattern, example }: ReturnType<typeof armId>) =>
  matching(pattern, `must be an ARM id like ${example}`);
const guid = () => matching(GUID_PATTERN, 'must be a GUID');
const notEmpty = () => z.string().min(1, { error: 'must not be empty' });

const servicePrincipalSchema = z
  .strictObject({
    clientId: guid().describe('Application (client) id; not a secret.'),
    objectId: guid().describe('Object id of its service principal: the principal of every role the DAG gets.'),
  })
  .describe(
    'An Entra ID application (service principal). Its secret never goes into the plan or the stack.',
  ) satisfies z.ZodType<AirflowServicePrincipal>;

const groupIds = (role: string, what: string) =>
  z
    .array(guid())
    .min(1, { error: `list at least one group, or leave ${role} out` })
    .optional()
    .describe(`Object ids of the Entra ID groups whose members get Airflow's ${role} role: ${what}.`);

const signInSchema = z
  .strictObject({
    clientId: guid().describe('Application (client) id of the app registration people sign in with; not a secret.'),
    tenantId: guid().optional().describe('Tenant of the app registration. Default: the tenant the stack deploys to.'),
    roles: z
      .strictObject({
        Admin: z
          .array(guid())
          .min(1, { error: 'needs at least one group: its members administer Airflow' })
          .describe("Object ids of the Entra ID groups whose members get Airflow's Admin role: everything, users and roles included."),
        Op: groupIds('Op', 'run the DAG and manage connections, pools and variables'),
        User: groupIds('User', "trigger and clear the DAG's tasks and answer a cutover approval (the approvers' groups)"),
        Viewer: groupIds('Viewer', 'read only'),
      })
      .describe(
        "Airflow roles by Entra ID group (the ID token's groups claim, which the app registration must emit), synced at every sign-in. Someone in none of these groups signs in to no access.",
      ),
  })
  .describe('Entra ID sign-in to the Airflow UI.');

const kubernetesSchema = z
  .strictObject({
    subnetId: armIdLike(SUBNET_ID)
      .optional()
      .describe(
        'Existing subnet for the AKS nodes (Azure CNI overlay), in a VNet with line of sight to the SQL Servers. Default: the stack creates a VNet and its subnets.',
      ),
    databaseSubnetId: armIdLike(SUBNET_ID)
      .optional()
      .describe(
        "Existing subnet in the same VNet, delegated to Microsoft.DBforPostgreSQL/flexibleServers, for Airflow's metadata database. Required with subnetId.",
      ),
    privateEndpointSubnetId: armIdLike(SUBNET_ID)
      .optional()
      .describe('Existing subnet in the same VNet for the Key Vault private endpoint. Default: subnetId.'),
    nodeVmSize: matching(VM_SIZE.pattern, `must be ${VM_SIZE.rule}`)
      .default('Standard_D4ds_v5')
      .describe('VM size of the autoscaling node pool Airflow runs on.'),
    minNodes: integerBetween(0, 1000).default(1).describe('Fewest nodes of the Airflow node pool.'),
    maxNodes: integerBetween(1, 1000).default(4).describe('Most nodes of the Airflow node pool.'),
    executor: z
      .enum(['CeleryExecutor', 'KubernetesExecutor'])
      .default('CeleryExecutor')
      .describe('CeleryExecutor (workers with Redis) or KubernetesExecutor (one pod per task).'),
    authorizedIpRanges: z
      .array(matching(IPV4_RANGE, 'must be an IPv4 address range in CIDR notation, such as 203.0.113.0/24'))
      .min(1, { error: 'list at least one range, or leave authorizedIpRanges out' })
      .max(200)
      .optional()
      .describe(
        'IPv4 ranges (CIDR) that may reach the AKS API server; include where Terraform and kubectl run (Terraform Cloud agents too). Default: any address (Entra ID and Azure RBAC still decide who gets in).',
      ),
    adminGroupObjectIds: z
      .array(guid())
      .optional()
      .describe('Object ids of Entra ID groups with cluster-admin rights. Default: none (the deployer gets Azure Kubernetes Service RBAC Cluster Admin).'),
    signIn: signInSchema
      .optional()
      .describe(
        'People sign in to the Airflow UI with Entra ID (FAB auth manager): an app registration you create (docs/airflow-sign-in.md), its client secret in the Key Vault as airflow-sign-in-client-credential, never here. Default: none, and the synth warns: nobody can sign in, and no one can answer a cutover approval through hitl.',
      ),
    secretRotation: integerBetween(1, 1_000_000)
      .default(1)
      .describe(
        'Raise it to rotate the generated secrets (metadata database password, signing keys, Redis password) in one apply. The Fernet key is kept: it encrypts the Airflow Variables the DAG keeps its records in.',
      ),
  })
  .describe('Airflow 3 on AKS with the official Apache Airflow Helm chart (host kubernetes). Every field optional.');

const dataFactorySchema = z
  .strictObject({
    environmentId: armIdLike(ENVIRONMENT_ID).describe(
      'ARM id of an EXISTING Workflow Orchestration Manager environment (its integration runtime). The stack imports the DAG into it and never creates one.',
    ),
    servicePrincipal: servicePrincipalSchema.describe(
      'The Entra ID application that environment runs the DAG as (its AZURE_CLIENT_ID); it gets every role the DAG needs.',
    ),
  })
  .describe('An existing Data Factory Airflow environment (host dataFactory): Airflow 2.6.3, Python 3.8.');

const fabricSchema = z
  .strictObject({
    capacityId: armIdLike(CAPACITY_ID)
      .optional()
      .describe('ARM id of an existing Fabric capacity (F8 or larger). Exactly one of capacityId and capacity.'),
    capacity: z
      .strictObject({
        sku: z.enum(FABRIC_AIRFLOW_CAPACITY_SKUS).describe('F8 or larger: a Small Airflow pool alone uses 5 CU.'),
        administrators: z
          .array(notEmpty())
          .min(1, { error: 'needs at least one administrator' })
          .describe('User principal names, or object ids of service principals; include whoever runs Terraform.'),
      })
      .optional()
      .describe('A new Fabric capacity the stack creates. Exactly one of capacityId and capacity.'),
    servicePrincipal: servicePrincipalSchema.describe(
      'The Entra ID application the Apache Airflow job runs the DAG as; an operator sets its secret in Fabric.',
    ),
    computeSize: z
      .enum(['Small', 'Large'])
      .default('Small')
      .describe('Node size of the Airflow pool: Small (5 CU) or Large (10 CU); Large needs a custom computePool.'),
    computePool: notEmpty()
      .default('StarterPool')
      .describe('StarterPool (on demand, stops when idle) or the name of a custom pool created in the workspace settings (always on).'),
  })
  .describe('An Apache Airflow job in Microsoft Fabric (host fabric): Airflow 2.10.5, Python 3.12.');

const federatedCredentialSchema = z
  .strictObject({
    name: matching(
      /^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/,
      'must be 3-120 letters, digits, - and _, starting with a letter or digit',
    ).describe('Name of the federated credential on the managed identity.'),
    issuer: matching(
      /^https:\/\/[^\s/?#]+[^\s]*$/,
      'must be an https URL (the OIDC issuer of your Airflow workers)',
    ).describe("OIDC issuer URL of the team's Airflow workers (for example an AKS cluster's or Astronomer's)."),
    subject: notEmpty()
      .max(600)
      .describe(
        'Subject of the tokens those workers present, e.g. system:serviceaccount:<namespace>:<service account>.',
      ),
  })
  .describe(
    'Lets workloads that present this issuer and subject act as the identity, without a secret.',
  ) satisfies z.ZodType<FederatedCredential>;

const externalSchema = z
  .strictObject({
    servicePrincipal: servicePrincipalSchema
      .optional()
      .describe(
        'An existing Entra ID application the DAG runs as. Default: the stack creates a user-assigned managed identity.',
      ),
    federatedCredentials: z
      .array(federatedCredentialSchema)
      .max(20)
      .default([])
      .describe("Federate the created managed identity to the team's Airflow (at most 20). Not with servicePrincipal."),
  })
  .describe(
    'An Airflow the team already runs (host external): the stack deploys everything else and outputs what to configure.',
  );

const airflowShape = {
  // Defaulted in the transform: the checks must see whether the plan named a host.
  host: z.enum(AIRFLOW_HOSTS).optional().meta({
    default: 'kubernetes',
    description:
      'Where the DAG runs: kubernetes (AKS created by the stack; the default), dataFactory (an existing Data Factory Airflow environment, adopted), fabric (an Apache Airflow job in Microsoft Fabric) or external (an Airflow the team runs).',
  }),
  sqlAccess: z
    .enum(SQL_ACCESS)
    .optional()
    .describe(
      "How the DAG's SQL steps reach SQL Server: direct (TDS from the Airflow workers) or dataFactory (pipeline runs on Data Factory's self-hosted integration runtime). Default: direct on kubernetes, dataFactory on every other host; fabric and dataFactory allow only dataFactory.",
    ),
  kubernetes: kubernetesSchema.optional(),
  dataFactory: dataFactorySchema.optional(),
  fabric: fabricSchema.optional(),
  external: externalSchema.optional(),
};

/**
 * `airflow.kubernetes` with its defaults.
 * @displayType MigrationPlan["airflow"]["kubernetes"]
 */
export type KubernetesHostSettings = Named<z.output<typeof kubernetesSchema>>;
/**
 * `airflow.dataFactory`: the existing environment and its identity.
 * @displayType MigrationPlan["airflow"]["dataFactory"]
 */
export type DataFactoryHostSettings = Named<z.output<typeof dataFactorySchema>>;
/**
 * `airflow.fabric` with its defaults.
 * @displayType MigrationPlan["airflow"]["fabric"]
 */
export type FabricHostSettings = Named<z.output<typeof fabricSchema>>;
/**
 * `airflow.external` with its defaults.
 * @displayType MigrationPlan["airflow"]["external"]
 */
export type ExternalHostSettings = Named<z.output<typeof externalSchema>>;
// Interfaces, not types derived from the schemas: the hosts' props show them, and TypeDoc needs each field documented.
/** An Entra ID application the DAG runs as (client and object id; never its secret). */
export interface AirflowServicePrincipal {
  /** Application (client) id. */
  readonly clientId: string;
  /** Object id of its service principal. */
  readonly objectId: string;
}

/** A federated credential of the external host's created identity. */
export interface FederatedCredential {
  /** Name of the credential on the managed identity. */
  readonly name: string;
  /** OIDC issuer URL of the Airflow workers. */
  readonly issuer: string;
  /** Subject of the tokens they present. */
  readonly subject: string;
}

/**
 * The `airflow` section with its defaults: one variant per host (`host`), its SQL access
 * (`sqlAccess`) and that host's own settings (under the host's name).
 * @displayType MigrationPlan["airflow"]
 */
export type AirflowSettings =
  | { readonly host: 'kubernetes'; readonly sqlAccess: SqlAccess; readonly kubernetes: KubernetesHostSettings }
  | { readonly host: 'dataFactory'; readonly sqlAccess: 'dataFactory'; readonly dataFactory: DataFactoryHostSettings }
  | { readonly host: 'fabric'; readonly sqlAccess: 'dataFactory'; readonly fabric: FabricHostSettings }
  | { readonly host: 'external'; readonly sqlAccess: SqlAccess; readonly external: ExternalHostSettings };

const NO_TDS = 'so a task cannot open a TDS connection to an on-premises SQL Server or a private target';

/** What a host allows and needs. */
interface HostRules {
  readonly section: z.ZodType;
  /** The SQL access the host can use, its default first. */
  readonly sqlAccess: readonly SqlAccess[];
  /** Why direct SQL access cannot work there. */
  readonly noNetwork?: string;
  /** The problem when the host's section is left out. */
  readonly missing?: string;
  /** Rules across the fields of the host's section as written (its shape is zod's). */
  readonly check?: (section: Loose, report: ReportProblem) => void;
}

const HOSTS: Readonly<Record<HostKind, HostRules>> = {
  kubernetes: { section: kubernetesSchema, sqlAccess: ['direct', 'dataFactory'], check: checkKubernetesSection },
  // Data Factory's Airflow reaches data sources only through public endpoints (MicrosoftDocs/azure-docs
  // `data-factory/concepts-workflow-orchestration-manager.md`, Limitations).
  dataFactory: {
    section: dataFactorySchema,
    sqlAccess: ['dataFactory'],
    noNetwork: `Data Factory's Airflow reaches data sources only through public endpoints (no VNet integration), ${NO_TDS}`,
    missing: `missing: host dataFactory adopts an existing Workflow Orchestration Manager environment and never creates one; give its ARM id and identity: dataFactory: { environmentId: ${ENVIRONMENT_ID.example}, servicePrincipal: { clientId, objectId } }`,
  },
  // Fabric Apache Airflow jobs have no VNet (MicrosoftDocs/fabric-docs `apache-airflow-jobs-concepts.md`).
  fabric: {
    section: fabricSchema,
    sqlAccess: ['dataFactory'],
    noNetwork: `Fabric Apache Airflow jobs have no private network or VNet support, ${NO_TDS}`,
    missing:
      'missing: host fabric needs servicePrincipal and one of capacityId (an existing capacity) or capacity (a new one, F8 or larger)',
    check: (section, report) => {
      if ((section.capacityId === undefined) !== (section.capacity === undefined)) return;
      if (section.capacityId !== undefined) {
        report(
          ['capacity'],
          'capacityId and capacity are both set: give capacityId to run on an existing capacity, or capacity to create a new one, not both',
        );
      } else {
        report(
          ['capacityId'],
          'missing: give capacityId (ARM id of an existing Fabric capacity) or capacity: { sku: F8, administrators: [...] } for a new one',
        );
      }
    },
  },
  external: {
    section: externalSchema,
    sqlAccess: ['dataFactory', 'direct'],
    check: ({ servicePrincipal, federatedCredentials }, report) => {
      if (servicePrincipal !== undefined && Array.isArray(federatedCredentials) && federatedCredentials.length > 0) {
        report(
          ['federatedCredentials'],
          'federate the managed identity the stack creates, which it does only without servicePrincipal: remove servicePrincipal, or federate that application yourself in Entra ID',
        );
      }
      // One identity's credentials: Azure compares their names without letter case, Entra ID takes an issuer and subject once.
      const repeats = firstSeen<number>();
      asArray(federatedCredentials).forEach((item, index) => {
        const { name, issuer, subject } = asRecord(item) ?? {};
        const sameName = typeof name === 'string' ? repeats(`name:${name.toLowerCase()}`, index) : undefined;
        if (sameName !== undefined) {
          report(['federatedCredentials', index, 'name'], `duplicate name ${quote(String(name))} (also federatedCredentials[${sameName}]): give each credential its own name`);
        }
        const sameSubject = typeof issuer === 'string' && typeof subject === 'string' ? repeats(`subject:${issuer} ${subject}`, index) : undefined;
        if (sameSubject !== undefined) {
          report(['federatedCredentials', index, 'subject'], `issuer and subject are those of federatedCredentials[${sameSubject}]: Entra ID takes each pair once per identity`);
        }
      });
    },
  },
};

/**
 * The fields of the retired `airflow:` section, which created a Data Factory Airflow environment:
 * what to write instead. Microsoft stopped the creation of new environments on 2026-01-01
 * (MicrosoftDocs/azure-docs `data-factory/includes/apache-airflow-notification.md`).
 */
const RETIRED_CREATION =
  'the stack no longer creates a Data Factory Airflow environment: Microsoft stopped the creation of new Workflow Orchestration Manager environments on 2026-01-01. ' +
  'Remove version, computeSize and extraNodes. Leave airflow out to run Airflow 3 on AKS (host: kubernetes, the default), ' +
  'or write host: dataFactory with dataFactory: { environmentId: <ARM id of your existing environment>, servicePrincipal: {...} } to keep an environment you already have, ' +
  'or host: fabric / host: external';
/** Field paths that are no longer in the plan, and what to write instead (for the "unknown field" problem). */
export const RETIRED_FIELDS: ReadonlyMap<string, string> = new Map([
  ['airflow.version', RETIRED_CREATION],
  ['airflow.computeSize', RETIRED_CREATION],
  ['airflow.extraNodes', RETIRED_CREATION],
  [
    'airflow.servicePrincipal',
    'moved into the host section: airflow.dataFactory.servicePrincipal (an existing Data Factory environment), airflow.fabric.servicePrincipal or airflow.external.servicePrincipal; ' +
      'host kubernetes (the default) needs none: it creates a managed identity federated to the Airflow pods, with no secret anywhere',
  ],
]);

/** The SQL access a host allows, its default first. */
export const supportedSqlAccess = (host: HostKind): readonly SqlAccess[] => HOSTS[host].sqlAccess;

function checkAirflowSection(value: Loose, report: ReportProblem): void {
  // `host:` left empty (null) is reported as not a host; it is not the default kubernetes.
  const host = value.host === undefined ? 'kubernetes' : value.host;
  if (!isHost(host)) return;
  const { sqlAccess, noNetwork, missing, check } = HOSTS[host];
  const hostText = value.host === undefined ? 'host is kubernetes (the default)' : `host is ${host}`;
  for (const other of AIRFLOW_HOSTS) {
    if (other !== host && value[other] !== undefined) {
      report([other], `applies to host ${other} only, but ${hostText}: set host: ${other} or remove this section`);
    }
  }
  if (value.sqlAccess === 'direct' && !sqlAccess.includes('direct')) {
    report(
      ['sqlAccess'],
      `direct cannot work on host ${host}: ${noNetwork}; use sqlAccess: dataFactory (the default there), which runs the SQL steps as Data Factory pipeline runs on the self-hosted integration runtime`,
    );
  }
  const section = asRecord(value[host]);
  if (value[host] === undefined && missing !== undefined) report([host], missing);
  else if (section !== undefined) check?.(section, (path, message) => report([host, ...path], message));
}

function checkKubernetesSection(section: Loose, report: ReportProblem): void {
  if (section.subnetId !== undefined && section.databaseSubnetId === undefined) {
    report(
      ['databaseSubnetId'],
      'missing: with subnetId, the metadata database needs its own subnet in the same VNet, delegated to Microsoft.DBforPostgreSQL/flexibleServers (a delegated subnet cannot hold the nodes); or leave subnetId out and the stack creates a VNet',
    );
  }
  const vnetOf = (id: unknown) =>
    typeof id === 'string' && SUBNET_ID.pattern.test(id) ? id.toLowerCase().split('/subnets/')[0] : undefined;
  const nodesVnet = vnetOf(section.subnetId);
  for (const field of ['databaseSubnetId', 'privateEndpointSubnetId']) {
    if (section[field] !== undefined && section.subnetId === undefined) {
      report(
        [field],
        'needs subnetId (the node subnet of the same VNet); without subnetId the stack creates the VNet and all its subnets',
      );
    }
    const vnet = vnetOf(section[field]);
    if (vnet !== undefined && nodesVnet !== undefined && vnet !== nodesVnet) {
      report(
        [field],
        `must be a subnet of the VNet of subnetId (${quote(nodesVnet)}): private DNS zones are linked to that one VNet`,
      );
    }
  }
  for (const field of ['subnetId', 'privateEndpointSubnetId']) {
    const [subnet, database] = [section[field], section.databaseSubnetId];
    if (typeof subnet === 'string' && typeof database === 'string' && subnet.toLowerCase() === database.toLowerCase()) {
      report(
        ['databaseSubnetId'],
        `is also ${field}: the metadata database's subnet is delegated to Microsoft.DBforPostgreSQL/flexibleServers and can hold nothing else; give it a subnet of its own`,
      );
    }
  }
  const { minNodes, maxNodes } = section;
  if (typeof minNodes === 'number' && typeof maxNodes === 'number' && minNodes > maxNodes) {
    report(['minNodes'], `${minNodes} is more than maxNodes (${maxNodes})`);
  }
}

/** The section as people write it; the host's default SQL access and section are filled in after the checks. */
export const airflowSchema = z
  .strictObject(airflowShape)
  .describe(
    'Where the migration DAG runs and how it reaches SQL Server. Default: Airflow 3 on AKS created by the stack.',
  )
  .superRefine((value, context) => checkAirflowSection(value, reportTo(context)), {
    when: (payload) => asRecord(payload.value) !== undefined,
  })
  // After the checks, which guarantee the section of a host that needs one and the access each host allows.
  .transform(({ host = 'kubernetes', sqlAccess, ...sections }) => {
    const section = sections[host] ?? HOSTS[host].section.parse({}, ONE_DOCUMENT);
    return { host, sqlAccess: sqlAccess ?? HOSTS[host].sqlAccess[0], [host]: section } as AirflowSettings;
  })
  .prefault({});
