#!/usr/bin/env node
/**
 * Checks what the consumer app synthesized, from the consumer project's directory:
 *   node check-synth.js <package name> <plan file> [cdktf output folder, default cdktf.out]
 * The DAG the stacks deliver (config maps of the Kubernetes host's release stack; blobs of the
 * external host in the consumer's own stack) must be exactly the DAG package installed under
 * node_modules with the consumer's plan, and every stack must hold the resources its constructs
 * promise. Exits 1 on any failure.
 */
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const [packageName, planFile, outdir = 'cdktf.out'] = process.argv.slice(2);
if (!packageName || !planFile) {
  process.stderr.write('usage: node check-synth.js <package name> <plan file> [cdktf output folder]\n');
  process.exit(2);
}
const STANDALONE_STACK = 'shared-tooling';
const failures = [];
let checks = 0;
function check(condition, message) {
  checks += 1;
  if (!condition) failures.push(message);
  return Boolean(condition);
}

// --- The package is a real install inside this project, not a link back to the repository.
const projectDir = realpathSync(process.cwd());
const packageDir = dirname(realpathSync(require.resolve(`${packageName}/package.json`, { paths: [projectDir] })));
check(
  packageDir === join(projectDir, 'node_modules', ...packageName.split('/')),
  `${packageName} resolves to ${packageDir}, not to this project's node_modules`,
);
check(!lstatSync(join(projectDir, 'node_modules', ...packageName.split('/'))).isSymbolicLink(), `${packageName} is a symlink`);
for (const absent of ['__tests__', 'dags/tests', 'dist/main.js', 'dist/app.js', 'scripts', 'cdktf.out']) {
  check(!existsSync(join(packageDir, absent)), `the installed package contains ${absent}`);
}
// lib/ ships only the Fabric host's uploader (plain Node, run by Terraform), never the TypeScript sources.
const shippedLib = existsSync(join(packageDir, 'lib'))
  ? readdirSync(join(packageDir, 'lib'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name)
  : [];
check(shippedLib.every((name) => name.endsWith('.mjs')), `the installed package contains lib/ sources: ${shippedLib.filter((name) => !name.endsWith('.mjs')).join(', ')}`);
const { parse: parseYaml } = require(require.resolve('yaml', { paths: [packageDir] }));

// --- The DAG package as installed: what the blobs must hold.
function installedDagFiles() {
  const dags = join(packageDir, 'dags');
  const library = join(dags, 'migration_orchestration_lib');
  const python = readdirSync(library, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.py'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.split(sep).includes('__pycache__') && !path.split(sep).includes('tests'));
  const files = new Map();
  for (const path of [join(dags, 'migration_orchestration.py'), ...python]) {
    files.set(relative(packageDir, path).split(sep).join('/'), readFileSync(path, 'utf8'));
  }
  return files;
}
const dagFiles = installedDagFiles();
const requirements = readFileSync(join(packageDir, 'dags', 'requirements.txt'), 'utf8');
check(dagFiles.has('dags/migration_orchestration.py'), 'the installed package has no dags/migration_orchestration.py');
check(dagFiles.size >= 2, `the installed DAG package has only ${dagFiles.size} Python files`);

function readStack(name) {
  const path = resolve(projectDir, outdir, 'stacks', name, 'cdk.tf.json');
  if (!check(existsSync(path), `no synthesized stack at ${relative(projectDir, path)}`)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8'));
}
const resources = (stack, type) => Object.values((stack.resource ?? {})[type] ?? {});
const dataSources = (stack, type) => Object.values((stack.data ?? {})[type] ?? {});
const md5 = (text) => createHash('md5').update(text).digest('hex');

/** Every value of `expected` (from the YAML) is at the same place in `actual` (the rendered plan). */
function subsetProblems(expected, actual, path = 'plan') {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [`${path}: expected ${expected.length} items`];
    return expected.flatMap((item, index) => subsetProblems(item, actual[index], `${path}[${index}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return [`${path}: missing`];
    return Object.entries(expected).flatMap(([key, value]) => subsetProblems(value, actual[key], `${path}.${key}`));
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`];
}

/** The blobs of one stack: the DAG package byte for byte, the requirements, the consumer's plan. */
/** The rendered plan holds the consumer's plan, with the defaults the DAG relies on. */
function checkRenderedPlan(text, stackName, plan) {
  const rendered = JSON.parse(text);
  for (const problem of subsetProblems(plan, rendered)) failures.push(`${stackName}: rendered plan: ${problem}`);
  check(
    JSON.stringify(rendered.databases.map((db) => db.name)) === JSON.stringify(plan.databases.map((db) => db.name)),
    `${stackName}: rendered plan databases are not the consumer's`,
  );
  check(
    rendered.databases.every((db) => typeof db.target.kind === 'string' && typeof db.timeoutMinutes === 'number'),
    `${stackName}: rendered plan lacks the defaults the DAG relies on`,
  );
  check(typeof rendered.airflow.host === 'string' && typeof rendered.airflow.sqlAccess === 'string', `${stackName}: rendered plan lacks airflow.host or sqlAccess`);
}

/** The Kubernetes host's DAG folder: config maps whose volume items put each file back at its path. */
function checkDagConfigMaps(stack, stackName, plan) {
  const files = new Map();
  for (const map of resources(stack, 'kubernetes_config_map_v1').filter((m) => String(m.metadata.name).startsWith('airflow-dags-'))) {
    for (const [key, content] of Object.entries(map.data)) files.set(key, content);
  }
  const release = resources(stack, 'helm_release')[0];
  if (!check(release, `${stackName}: no helm_release`)) return;
  const values = JSON.parse(release.values[0]);
  const volume = values.volumes.find((v) => v.name === 'dags');
  const byPath = new Map();
  for (const source of volume.projected.sources) {
    for (const item of source.configMap.items) byPath.set(`dags/${item.path}`, files.get(item.key));
  }
  for (const [name, content] of dagFiles) {
    check(byPath.get(name) === content, `${stackName}: config map file ${name} differs from the installed ${name}`);
  }
  const extraPython = [...byPath.keys()].filter((name) => name.endsWith('.py') && !dagFiles.has(name));
  check(extraPython.length === 0, `${stackName}: DAG files not in the installed package: ${extraPython.join(', ')}`);
  if (check(byPath.has('dags/migration_plan.json'), `${stackName}: no migration_plan.json in the DAG folder`)) {
    checkRenderedPlan(byPath.get('dags/migration_plan.json'), stackName, plan);
  }
}

function checkDagBlobs(stack, stackName, plan) {
  const blobs = new Map(resources(stack, 'azurerm_storage_blob').map((blob) => [blob.name, blob]));
  const containers = Object.entries((stack.resource ?? {}).azurerm_storage_container ?? {});
  const dagContainerId = containers.find(([, container]) => container.name === 'airflow-dags')?.[0];
  check(dagContainerId, `${stackName}: no airflow-dags container`);
  const dagContainer = `\${azurerm_storage_container.${dagContainerId}.name}`;
  for (const [name, content] of dagFiles) {
    const blob = blobs.get(name);
    if (check(blob, `${stackName}: no blob ${name}`)) {
      check(blob.source_content === content, `${stackName}: blob ${name} differs from the installed ${name}`);
      check(blob.content_md5 === md5(blob.source_content), `${stackName}: blob ${name} has a wrong content_md5`);
      check(blob.storage_container_name === dagContainer, `${stackName}: blob ${name} is not in the airflow-dags container`);
    }
  }
  const extraPython = [...blobs.keys()].filter((name) => name.endsWith('.py') && !dagFiles.has(name));
  check(extraPython.length === 0, `${stackName}: blobs not in the installed DAG package: ${extraPython.join(', ')}`);
  const requirementsBlob = blobs.get('requirements.txt');
  check(requirementsBlob && requirementsBlob.source_content === requirements, `${stackName}: requirements.txt blob differs from dags/requirements.txt`);

  const planBlob = blobs.get('dags/migration_plan.json');
  if (!check(planBlob, `${stackName}: no plan blob dags/migration_plan.json`)) return;
  checkRenderedPlan(planBlob.source_content, stackName, plan);
}

const planText = readFileSync(join(projectDir, planFile), 'utf8');
const plan = parseYaml(planText);
check(plan.name !== 'contoso-sql', 'the consumer plan must not be the package example');

// --- The plan's JSON Schema: where the plan's editor modeline points, and through `exports`.
const modeline = /^#\s*yaml-language-server:\s*\$schema=(\S+)/m.exec(planText);
if (check(modeline, `${planFile} has no yaml-language-server $schema line`)) {
  const schemaPath = resolve(dirname(join(projectDir, planFile)), modeline[1]);
  if (check(existsSync(schemaPath), `${planFile} points editors at ${modeline[1]}, which the package does not ship`)) {
    let exported;
    try {
      exported = require.resolve(`${packageName}/schema/migration-plan.schema.json`, { paths: [projectDir] });
    } catch (error) {
      check(false, `${packageName}/schema/migration-plan.schema.json cannot be resolved: ${error.message}`);
    }
    if (exported) check(realpathSync(exported) === realpathSync(schemaPath), 'the exported schema is not the shipped file');
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    check(schema.type === 'object' && schema.properties && schema.properties.databases, 'the shipped schema does not describe a plan');
    const unknown = Object.keys(plan).filter((key) => !(key in schema.properties));
    check(unknown.length === 0, `the schema does not know the plan fields ${unknown.join(', ')}`);
  }
}

// --- The whole stack (DatabaseMigrationStack) and the Kubernetes host's release stack after it.
/**
 * Local state is `terraform.<stack>.tfstate` in the folder the app ran in (here always the one holding
 * the output folder), named relative to the folder of the stack reading it, where Terraform runs.
 */
const isLocalStateOf = (readingStack, statePath, stack) =>
  typeof statePath === 'string' &&
  resolve(projectDir, outdir, 'stacks', readingStack, statePath) === resolve(projectDir, outdir, '..', `terraform.${stack}.tfstate`);
const main = readStack(plan.name);
const releaseName = `${plan.name}-airflow`;
const release = readStack(releaseName);
if (release) {
  checkDagConfigMaps(release, releaseName, plan);
  check(resources(release, 'azurerm_postgresql_flexible_server').length === 1, `${releaseName}: no metadata database`);
  const remote = Object.values((release.data ?? {}).terraform_remote_state ?? {});
  check(remote.length === 1 && isLocalStateOf(releaseName, remote[0].config.path, plan.name), `${releaseName}: does not read ${plan.name}'s state`);
}
if (main) {
  const one = (type) => {
    const all = resources(main, type);
    check(all.length === 1, `${plan.name}: expected one ${type}, found ${all.length}`);
    return all[0] ?? {};
  };
  const apiTypes = resources(main, 'azapi_resource').map((resource) => resource.type);
  check(apiTypes.some((type) => /^Microsoft\.DataMigration\/sqlMigrationServices@/.test(type)), `${plan.name}: no sqlMigrationServices`);
  check(!apiTypes.some((type) => /integrationRuntimes/.test(type)), `${plan.name}: creates a Data Factory Airflow environment`);
  one('azurerm_kubernetes_cluster');
  check(resources(main, 'azurerm_data_factory_pipeline').length > 0, `${plan.name}: no SQL pipelines for sqlAccess dataFactory`);
  check(one('azurerm_resource_group').name === `rg-${plan.name}`, `${plan.name}: resource group name`);
  check(one('azurerm_data_factory').managed_virtual_network_enabled === true, `${plan.name}: factory without managed VNet`);
  one('azurerm_data_factory_integration_runtime_self_hosted');
  one('azurerm_key_vault');
  one('azurerm_log_analytics_workspace');
  check(resources(main, 'azurerm_storage_account').length === 0, `${plan.name}: the Kubernetes host needs no DAG storage`);
  const linked = resources(main, 'azurerm_data_factory_linked_service_sql_server');
  check(linked.length === plan.sourceServers.length, `${plan.name}: ${linked.length} SQL linked services for ${plan.sourceServers.length} servers`);
  check(linked.every((service) => service.connection_string === undefined), `${plan.name}: a linked service has an inline connection string`);
  const emails = (one('azurerm_monitor_action_group').email_receiver ?? []).map((receiver) => receiver.email_address).sort();
  check(JSON.stringify(emails) === JSON.stringify([...plan.notifications.emails].sort()), `${plan.name}: action group emails ${emails}`);
  check(resources(main, 'azurerm_monitor_scheduled_query_rules_alert_v2').length >= 2, `${plan.name}: migration event alerts missing`);
  check(resources(main, 'azurerm_monitor_diagnostic_setting').length >= 1, `${plan.name}: no diagnostic setting`);
  const keyOutputs = Object.entries(main.output ?? {}).filter(([name]) => /auth_key/.test(name));
  check(keyOutputs.length >= 2 && keyOutputs.every(([, output]) => output.sensitive === true), `${plan.name}: auth key outputs missing or not sensitive`);
  check(isLocalStateOf(plan.name, main.terraform?.backend?.local?.path, plan.name), `${plan.name}: not on local state in the folder the app ran in`);
}

// --- The constructs used one by one in the consumer's own stack.
const shared = readStack(STANDALONE_STACK);
if (shared) {
  checkDagBlobs(shared, STANDALONE_STACK, plan);
  check(dataSources(shared, 'azurerm_resource_group').length === 1, `${STANDALONE_STACK}: the existing resource group is not looked up`);
  check(resources(shared, 'azurerm_resource_group').length === 0, `${STANDALONE_STACK}: created a resource group it was handed`);
  check(resources(shared, 'azurerm_log_analytics_workspace').length === 0, `${STANDALONE_STACK}: created a workspace it was handed`);
  const dms = resources(shared, 'azapi_resource').filter((resource) => /^Microsoft\.DataMigration\/sqlMigrationServices@/.test(resource.type));
  check(dms.length === 1 && /data\.azurerm_resource_group\./.test(dms[0].parent_id), `${STANDALONE_STACK}: DMS not in the existing resource group`);
  check(
    !resources(shared, 'azapi_resource').some((resource) => /integrationRuntimes/.test(resource.type)),
    `${STANDALONE_STACK}: creates a Data Factory Airflow environment`,
  );
  check(resources(shared, 'azurerm_user_assigned_identity').length === 1, `${STANDALONE_STACK}: no identity for the team's Airflow`);
  check(shared.output?.airflow_dag_bundle !== undefined, `${STANDALONE_STACK}: no airflow_dag_bundle output`);
  check(
    resources(shared, 'azurerm_monitor_data_collection_rule').some((rule) =>
      /data\.azurerm_log_analytics_workspace\./.test(JSON.stringify(rule.destinations)),
    ),
    `${STANDALONE_STACK}: events do not go to the existing workspace`,
  );
  check(shared.output?.factory_name !== undefined, `${STANDALONE_STACK}: no factory_name output`);
  // plan.yaml's sqlAccess is dataFactory: the DAG's SQL steps run these pipelines, which its identity may run.
  const contract = JSON.parse(readFileSync(join(packageDir, 'dags', 'migration_orchestration_lib', 'contracts', 'sql_pipelines.json'), 'utf8'));
  const expectedPipelines = Object.values(contract.routes).flatMap((route) => [route.query.pipeline, ...(route.statement ? [route.statement.pipeline] : [])]);
  const factoryIds = Object.keys((shared.resource ?? {}).azurerm_data_factory ?? {});
  const pipelines = resources(shared, 'azurerm_data_factory_pipeline');
  check(
    JSON.stringify(pipelines.map((pipeline) => pipeline.name).sort()) === JSON.stringify([...expectedPipelines].sort()) &&
      factoryIds.length === 1 &&
      pipelines.every((pipeline) => pipeline.data_factory_id === `\${azurerm_data_factory.${factoryIds[0]}.id}`),
    `${STANDALONE_STACK}: the SQL pipelines the DAG runs (${expectedPipelines.join(', ')}) are not all on the factory`,
  );
  check(
    resources(shared, 'azurerm_role_assignment').some(
      (assignment) => /azurerm_role_definition\./.test(assignment.role_definition_id) && /azurerm_user_assigned_identity\./.test(assignment.principal_id),
    ),
    `${STANDALONE_STACK}: the team's Airflow identity may not run the SQL pipelines`,
  );
  check(
    resources(shared, 'azurerm_role_assignment').some(
      (assignment) =>
        assignment.role_definition_name === 'Key Vault Secrets User' &&
        /azurerm_key_vault\./.test(assignment.scope) &&
        /azurerm_user_assigned_identity\./.test(assignment.principal_id),
    ),
    `${STANDALONE_STACK}: the team's Airflow identity may not read the vault's secrets (its secrets backend)`,
  );
}

// --- The Fabric host: its upload step runs the installed uploader on the installed DAG files,
// staged beside the stack and named by paths relative to it (Terraform runs in the stack's folder,
// which is all Terraform Cloud receives).
const FABRIC_STACK = 'contoso-fab';
const fabric = readStack(FABRIC_STACK);
if (fabric) {
  const stackDir = resolve(projectDir, outdir, 'stacks', FABRIC_STACK);
  const steps = resources(fabric, 'terraform_data').flatMap((data) => data.provisioner ?? []).map((step) => step['local-exec']);
  if (check(steps.length === 1, `${FABRIC_STACK}: expected one local-exec upload step, found ${steps.length}`)) {
    const match = /^node "([^"]+)\/upload\.mjs" .* --files "([^"]+)"$/.exec(steps[0].command);
    if (check(match, `${FABRIC_STACK}: unexpected upload command ${steps[0].command}`)) {
      const [, assetDir, filesDir] = match;
      check(!assetDir.startsWith('/') && !filesDir.startsWith('/'), `${FABRIC_STACK}: the upload command names absolute paths`);
      const uploader = join(stackDir, assetDir, 'upload.mjs');
      check(
        existsSync(uploader) && readFileSync(uploader, 'utf8') === readFileSync(join(packageDir, 'lib', 'hosts', 'fabric', 'fabric-upload-files.mjs'), 'utf8'),
        `${FABRIC_STACK}: the staged uploader is not the installed lib/hosts/fabric/fabric-upload-files.mjs`,
      );
      for (const [name, content] of dagFiles) {
        const staged = join(stackDir, filesDir, ...name.split('/'));
        check(existsSync(staged) && readFileSync(staged, 'utf8') === content, `${FABRIC_STACK}: staged ${name} differs from the installed ${name}`);
      }
    }
  }
}

// --- Warnings acknowledged by id (docs/warnings.md): infos naming the id and the reason, none left as a warning.
const manifestPath = resolve(projectDir, outdir, 'manifest.json');
if (check(existsSync(manifestPath), `no manifest at ${relative(projectDir, manifestPath)}`)) {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const annotations = (name) => manifest.stacks?.[name]?.annotations ?? [];
  const acknowledged = '[ack: migration:secure-default:preventDestroy]';
  for (const name of [plan.name, releaseName, STANDALONE_STACK]) {
    const ofId = annotations(name).filter((annotation) => String(annotation.message).includes(acknowledged));
    check(ofId.length > 0 && ofId.every((annotation) => annotation.level === '@cdktf/info' && / acknowledged: \S/.test(annotation.message)), `${name}: preventDestroy's warnings are not acknowledged infos with the reason`);
    check(!annotations(name).some((annotation) => String(annotation.message).includes('[ack: migration:acknowledgement:unused]')), `${name}: an acknowledgement is reported unused`);
  }
}

if (failures.length > 0) {
  process.stderr.write(`consumer check: ${failures.length} of ${checks} checks failed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`consumer check: ${checks} checks passed (${dagFiles.size} DAG files, plan ${plan.name}, stacks ${plan.name}, ${releaseName}, ${STANDALONE_STACK} and ${FABRIC_STACK})\n`);
