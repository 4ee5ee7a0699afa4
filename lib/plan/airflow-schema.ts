/**
 * The plan's `airflow:` section: where the DAG runs (`host`), how its SQL steps reach SQL Server
 * (`sqlAccess`), and one optional sub-section per host. Its cross-field rules (a sub-section for
 * another host, direct SQL where no network reaches SQL Server, the retired Data Factory creation
 * fields) run here, on the section as written, so a plan that asks for something impossible is
 * told why and what to write instead.
 */
import { z } from 'zod';
import { quote } from './field-path';
import { anyCase, armIdPattern, GUID_PATTERN } from './rules';
import { closestMatch, listBriefly } from './suggest';

export const AIRFLOW_HOSTS = ['kubernetes', 'dataFactory', 'fabric', 'external'] as const;
export const SQL_ACCESS_KINDS = ['direct', 'dataFactory'] as const;
export const AIRFLOW_EXECUTORS = ['CeleryExecutor', 'KubernetesExecutor'] as const;
export const FABRIC_COMPUTE_SIZES = ['Small', 'Large'] as const;
/**
 * Capacity SKUs azurerm 4.55 accepts that can run an Apache Airflow job: a Small pool uses 5 CU,
 * so Microsoft recommends F8 at least (MicrosoftDocs/fabric-docs `apache-airflow-compute.md`).
 */
export const FABRIC_AIRFLOW_CAPACITY_SKUS = ['F8', 'F16', 'F32', 'F64', 'F128', 'F256', 'F512', 'F1024', 'F2048'] as const;

type HostKind = (typeof AIRFLOW_HOSTS)[number];
/** How the DAG's SQL steps reach SQL Server. */
export type SqlAccess = (typeof SQL_ACCESS_KINDS)[number];

/**
 * What SQL access each host can use. Fabric Apache Airflow jobs have no VNet (MicrosoftDocs/fabric-docs
 * `apache-airflow-jobs-concepts.md`); Data Factory's Airflow reaches data sources only through public
 * endpoints (MicrosoftDocs/azure-docs `data-factory/concepts-workflow-orchestration-manager.md`,
 * Limitations). The first is the default.
 */
const SQL_ACCESS_BY_HOST: Readonly<Record<HostKind, readonly SqlAccess[]>> = {
  kubernetes: ['direct', 'dataFactory'],
  dataFactory: ['dataFactory'],
  fabric: ['dataFactory'],
  external: ['dataFactory', 'direct'],
};

const NO_NETWORK_REACH: Readonly<Partial<Record<HostKind, string>>> = {
  dataFactory:
    "Data Factory's Airflow reaches data sources only through public endpoints (no VNet integration), so a task cannot open a TDS connection to an on-premises SQL Server or a private target",
  fabric:
    'Fabric Apache Airflow jobs have no private network or VNet support, so a task cannot open a TDS connection to an on-premises SQL Server or a private target',
};

const NAME = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
const SUBNET_ID = {
  pattern: armIdPattern('Microsoft.Network', 'virtualNetworks', `[-\\w.]{2,64}/${anyCase('subnets')}/[-\\w.]{1,80}`),
  example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>',
};
const ENVIRONMENT_ID = {
  pattern: armIdPattern('Microsoft.DataFactory', 'factories', `${NAME}/${anyCase('integrationRuntimes')}/${NAME}`),
  example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.DataFactory/factories/<factory>/integrationRuntimes/<environment>',
};
const CAPACITY_ID = {
  pattern: armIdPattern('Microsoft.Fabric', 'capacities', '[a-z][a-z0-9]{2,62}'),
  example: '/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Fabric/capacities/<name>',
};

function armId({ pattern, example }: { pattern: RegExp; example: string }): z.ZodString {
  return z.string().regex(pattern, { error: `must be an ARM id like ${example}` });
}

function wholeNumber(min: number, max: number): z.ZodNumber {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
}

const guid = () => z.string().regex(GUID_PATTERN, { error: 'must be a GUID' });

const servicePrincipalSchema = z
  .strictObject({
    clientId: guid().meta({ description: 'Application (client) id; not a secret.' }),
    objectId: guid().meta({ description: 'Object id of its service principal: the principal of every role the DAG gets.' }),
  })
  .meta({ description: 'An Entra ID application (service principal). Its secret never goes into the plan or the stack.' }) satisfies z.ZodType<AirflowServicePrincipal>;

const kubernetesSchema = z
  .strictObject({
    subnetId: armId(SUBNET_ID).optional().meta({
      description: 'Existing subnet for the AKS nodes (Azure CNI overlay), in a VNet with line of sight to the SQL Servers. Default: the stack creates a VNet and its subnets.',
    }),
    databaseSubnetId: armId(SUBNET_ID).optional().meta({
      description: "Existing subnet in the same VNet, delegated to Microsoft.DBforPostgreSQL/flexibleServers, for Airflow's metadata database. Required with subnetId.",
    }),
    privateEndpointSubnetId: armId(SUBNET_ID).optional().meta({
      description: 'Existing subnet in the same VNet for the Key Vault private endpoint. Default: subnetId.',
    }),
    nodeVmSize: z
      .string()
      .regex(/^Standard_[A-Za-z0-9_]{2,40}$/, { error: 'must be an Azure VM size such as Standard_D4ds_v5' })
      .default('Standard_D4ds_v5')
      .meta({ description: 'VM size of the autoscaling node pool Airflow runs on.' }),
    minNodes: wholeNumber(0, 1000).default(1).meta({ description: 'Fewest nodes of the Airflow node pool.' }),
    maxNodes: wholeNumber(1, 1000).default(4).meta({ description: 'Most nodes of the Airflow node pool.' }),
    executor: z
      .enum(AIRFLOW_EXECUTORS)
      .default('CeleryExecutor')
      .meta({ description: 'CeleryExecutor (workers with Redis) or KubernetesExecutor (one pod per task).' }),
  })
  .meta({ description: 'Airflow 3 on AKS with the official Apache Airflow Helm chart (host kubernetes). Every field optional.' });

const dataFactorySchema = z
  .strictObject({
    environmentId: armId(ENVIRONMENT_ID).meta({
      description: 'ARM id of an EXISTING Workflow Orchestration Manager environment (its integration runtime). The stack imports the DAG into it and never creates one.',
    }),
    servicePrincipal: servicePrincipalSchema.meta({
      description: 'The Entra ID application that environment runs the DAG as (its AZURE_CLIENT_ID); it gets every role the DAG needs.',
    }),
  })
  .meta({ description: 'An existing Data Factory Airflow environment (host dataFactory): Airflow 2.6.3, Python 3.8.' });

const fabricSchema = z
  .strictObject({
    capacityId: armId(CAPACITY_ID).optional().meta({
      description: 'ARM id of an existing Fabric capacity (F8 or larger). Exactly one of capacityId and capacity.',
    }),
    capacity: z
      .strictObject({
        sku: z.enum(FABRIC_AIRFLOW_CAPACITY_SKUS).meta({ description: 'F8 or larger: a Small Airflow pool alone uses 5 CU.' }),
        administrators: z
          .array(z.string().min(1, { error: 'must not be empty' }))
          .min(1, { error: 'needs at least one administrator' })
          .meta({ description: 'User principal names, or object ids of service principals; include whoever runs Terraform.' }),
      })
      .optional()
      .meta({ description: 'A new Fabric capacity the stack creates. Exactly one of capacityId and capacity.' }),
    servicePrincipal: servicePrincipalSchema.meta({
      description: 'The Entra ID application the Apache Airflow job runs the DAG as; an operator sets its secret in Fabric.',
    }),
    computeSize: z.enum(FABRIC_COMPUTE_SIZES).default('Small').meta({ description: 'Node size of the Airflow pool: Small (5 CU) or Large (10 CU).' }),
  })
  .meta({ description: 'An Apache Airflow job in Microsoft Fabric (host fabric): Airflow 2.10.5, Python 3.12.' });

const federatedCredentialSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/, { error: 'must be 3-120 letters, digits, - and _, starting with a letter or digit' })
      .meta({ description: 'Name of the federated credential on the managed identity.' }),
    issuer: z.string().regex(/^https:\/\/[^\s/?#]+[^\s]*$/, { error: 'must be an https URL (the OIDC issuer of your Airflow workers)' }).meta({
      description: "OIDC issuer URL of the team's Airflow workers (for example an AKS cluster's or Astronomer's).",
    }),
    subject: z.string().min(1, { error: 'must not be empty' }).max(600).meta({
      description: 'Subject of the tokens those workers present, e.g. system:serviceaccount:<namespace>:<service account>.',
    }),
  })
  .meta({ description: 'Lets workloads that present this issuer and subject act as the identity, without a secret.' }) satisfies z.ZodType<FederatedCredential>;

const externalSchema = z
  .strictObject({
    servicePrincipal: servicePrincipalSchema.optional().meta({
      description: 'An existing Entra ID application the DAG runs as. Default: the stack creates a user-assigned managed identity.',
    }),
    federatedCredentials: z.array(federatedCredentialSchema).max(20).default([]).meta({
      description: "Federate the created managed identity to the team's Airflow (at most 20). Not with servicePrincipal.",
    }),
  })
  .meta({ description: 'An Airflow the team already runs (host external): the stack deploys everything else and outputs what to configure.' });

const sections = {
  kubernetes: kubernetesSchema,
  dataFactory: dataFactorySchema,
  fabric: fabricSchema,
  external: externalSchema,
} as const;

const airflowShape = {
  // Defaulted in the transform: the checks must see whether the plan named a host.
  host: z.enum(AIRFLOW_HOSTS).optional().meta({
    default: 'kubernetes',
    description:
      'Where the DAG runs: kubernetes (AKS created by the stack; the default), dataFactory (an existing Data Factory Airflow environment, adopted), fabric (an Apache Airflow job in Microsoft Fabric) or external (an Airflow the team runs).',
  }),
  sqlAccess: z.enum(SQL_ACCESS_KINDS).optional().meta({
    description:
      "How the DAG's SQL steps reach SQL Server: direct (TDS from the Airflow workers) or dataFactory (pipeline runs on Data Factory's self-hosted integration runtime). Default: direct on kubernetes, dataFactory on every other host; fabric and dataFactory allow only dataFactory.",
  }),
  kubernetes: kubernetesSchema.optional(),
  dataFactory: dataFactorySchema.optional(),
  fabric: fabricSchema.optional(),
  external: externalSchema.optional(),
};

// Mapped types give the zod-derived shapes names of their own (TypeDoc shows the name; the fields
// are described in the JSON Schema and the README).
type Named<T> = { [K in keyof T]: T[K] };

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

type Loose = Readonly<Record<string, unknown>>;
type Report = (path: readonly (string | number)[], message: string) => void;

/**
 * The fields of the retired `airflow:` section, which created a Data Factory Airflow environment.
 * Microsoft stopped the creation of new environments on 2026-01-01
 * (MicrosoftDocs/azure-docs `data-factory/includes/apache-airflow-notification.md`).
 */
const RETIRED_CREATION_FIELDS = ['version', 'computeSize', 'extraNodes'];
const RETIRED_CREATION =
  'the stack no longer creates a Data Factory Airflow environment: Microsoft stopped the creation of new Workflow Orchestration Manager environments on 2026-01-01. ' +
  'Remove version, computeSize and extraNodes. Leave airflow out to run Airflow 3 on AKS (host: kubernetes, the default), ' +
  'or write host: dataFactory with dataFactory: { environmentId: <ARM id of your existing environment>, servicePrincipal: {...} } to keep an environment you already have, ' +
  'or host: fabric / host: external';
const MOVED_SERVICE_PRINCIPAL =
  'moved into the host section: airflow.dataFactory.servicePrincipal (an existing Data Factory environment), airflow.fabric.servicePrincipal or airflow.external.servicePrincipal; ' +
  'host kubernetes (the default) needs none: it creates a managed identity federated to the Airflow pods, with no secret anywhere';

function asRecord(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : undefined;
}

/** Rules across the section's fields, read from the section as written (shape problems are zod's). */
function checkAirflowSection(value: Loose, report: Report): void {
  const known = Object.keys(airflowShape);
  for (const key of Object.keys(value)) {
    if (key in airflowShape) continue;
    if (RETIRED_CREATION_FIELDS.includes(key)) report([key], RETIRED_CREATION);
    else if (key === 'servicePrincipal') report([key], MOVED_SERVICE_PRINCIPAL);
    else {
      const suggestion = closestMatch(key, known);
      report([key], `unknown field${suggestion ? ` (did you mean ${suggestion}?)` : ` (allowed: ${listBriefly(known)})`}`);
    }
  }
  const host = value.host ?? 'kubernetes';
  if (typeof host !== 'string' || !(AIRFLOW_HOSTS as readonly string[]).includes(host)) return;
  const hostKind = host as HostKind;
  const hostText = value.host === undefined ? 'host is kubernetes (the default)' : `host is ${hostKind}`;

  for (const section of Object.keys(sections) as HostKind[]) {
    if (section !== hostKind && value[section] !== undefined) {
      report([section], `applies to host ${section} only, but ${hostText}: set host: ${section} or remove this section`);
    }
  }
  const reach = NO_NETWORK_REACH[hostKind];
  if (value.sqlAccess === 'direct' && reach !== undefined) {
    report(['sqlAccess'], `direct cannot work on host ${hostKind}: ${reach}; use sqlAccess: dataFactory (the default there), which runs the SQL steps as Data Factory pipeline runs on the self-hosted integration runtime`);
  }

  const section = asRecord(value[hostKind]);
  if (hostKind === 'dataFactory' && value.dataFactory === undefined) {
    report(
      ['dataFactory'],
      `missing: host dataFactory adopts an existing Workflow Orchestration Manager environment and never creates one; give its ARM id and identity: dataFactory: { environmentId: ${ENVIRONMENT_ID.example}, servicePrincipal: { clientId, objectId } }`,
    );
  }
  if (hostKind === 'fabric') {
    if (value.fabric === undefined) {
      report(['fabric'], 'missing: host fabric needs servicePrincipal and one of capacityId (an existing capacity) or capacity (a new one, F8 or larger)');
    } else if (section !== undefined && (section.capacityId === undefined) === (section.capacity === undefined)) {
      const both = section.capacityId !== undefined;
      report(
        ['fabric', both ? 'capacity' : 'capacityId'],
        both
          ? 'capacityId and capacity are both set: give capacityId to run on an existing capacity, or capacity to create a new one, not both'
          : 'missing: give capacityId (ARM id of an existing Fabric capacity) or capacity: { sku: F8, administrators: [...] } for a new one',
      );
    }
  }
  if (hostKind === 'kubernetes' && section !== undefined) checkKubernetesSection(section, report);
  if (hostKind === 'external' && section !== undefined) {
    const credentials = section.federatedCredentials;
    if (section.servicePrincipal !== undefined && Array.isArray(credentials) && credentials.length > 0) {
      report(
        ['external', 'federatedCredentials'],
        'federate the managed identity the stack creates, which it does only without servicePrincipal: remove servicePrincipal, or federate that application yourself in Entra ID',
      );
    }
  }
}

function checkKubernetesSection(section: Loose, report: Report): void {
  const at = (field: string) => ['kubernetes', field];
  if (section.subnetId !== undefined && section.databaseSubnetId === undefined) {
    report(
      at('databaseSubnetId'),
      'missing: with subnetId, the metadata database needs its own subnet in the same VNet, delegated to Microsoft.DBforPostgreSQL/flexibleServers (a delegated subnet cannot hold the nodes); or leave subnetId out and the stack creates a VNet',
    );
  }
  for (const field of ['databaseSubnetId', 'privateEndpointSubnetId']) {
    if (section[field] !== undefined && section.subnetId === undefined) {
      report(at(field), 'needs subnetId (the node subnet of the same VNet); without subnetId the stack creates the VNet and all its subnets');
    }
  }
  const vnetOf = (id: unknown) => (typeof id === 'string' && SUBNET_ID.pattern.test(id) ? id.toLowerCase().split('/subnets/')[0] : undefined);
  for (const field of ['databaseSubnetId', 'privateEndpointSubnetId']) {
    const vnet = vnetOf(section[field]);
    const nodesVnet = vnetOf(section.subnetId);
    if (vnet !== undefined && nodesVnet !== undefined && vnet !== nodesVnet) {
      report(at(field), `must be a subnet of the VNet of subnetId (${quote(nodesVnet)}): private DNS zones are linked to that one VNet`);
    }
  }
  const { minNodes, maxNodes } = section;
  if (typeof minNodes === 'number' && typeof maxNodes === 'number' && minNodes > maxNodes) {
    report(at('minNodes'), `${minNodes} is more than maxNodes (${maxNodes})`);
  }
}

/** Fills what depends on the host: the default SQL access and the host's own section with its defaults. */
function withHostDefaults(value: z.output<z.ZodObject<typeof airflowShape>>): AirflowSettings {
  const host = value.host ?? 'kubernetes';
  const sqlAccess = value.sqlAccess ?? SQL_ACCESS_BY_HOST[host][0];
  switch (host) {
    case 'kubernetes':
      return { host: 'kubernetes', sqlAccess, kubernetes: value.kubernetes ?? kubernetesSchema.parse({}) };
    case 'external':
      return { host: 'external', sqlAccess, external: value.external ?? externalSchema.parse({}) };
    // The checks above guarantee the section and the only access these hosts have.
    case 'dataFactory':
      return { host: 'dataFactory', sqlAccess: 'dataFactory', dataFactory: value.dataFactory! };
    case 'fabric':
      return { host: 'fabric', sqlAccess: 'dataFactory', fabric: value.fabric! };
  }
}

/**
 * The section as people write it. Loose, so the retired fields reach the checks above and get an
 * explanation instead of "unknown field"; editors still see a closed object (`additionalProperties`).
 */
export const airflowSchema = z
  .looseObject(airflowShape)
  .meta({
    description: 'Where the migration DAG runs and how it reaches SQL Server. Default: Airflow 3 on AKS created by the stack.',
    additionalProperties: false,
  })
  .superRefine(
    (value, context) =>
      checkAirflowSection(value, (path, message) => context.addIssue({ code: 'custom', path: [...path], message })),
    { when: (payload) => asRecord(payload.value) !== undefined },
  )
  .transform(withHostDefaults)
  .prefault({});
