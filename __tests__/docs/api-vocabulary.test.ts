/**
 * One vocabulary across the constructs (issue #13.4), checked on every prop, public attribute and
 * public method of every export of `lib/index.ts`, read with the TypeScript compiler API:
 * - protection is `preventDestroy?: boolean` and `lock?: ResourceLock`, nothing else;
 * - references are `id` and `name`, not `serviceId` here and `id` there;
 * - grants are `grantXxx(grantee: IGrantee, options?: GrantOptions)` returning the role assignment(s).
 */
import { join } from 'node:path';
import * as ts from 'typescript';
import { apiSurface, interfaceMembers, isPublicMember, memberName } from './api-surface';

const LIB = join(__dirname, '..', '..', 'lib');
const FIXTURES = join(__dirname, 'fixtures');

/** Spellings the library used before #13.4, and what replaced them. */
const RETIRED: Readonly<Record<string, string>> = {
  protectStatefulResources: 'preventDestroy',
  lockStatefulResources: 'lock',
  protectWorkspace: 'preventDestroy',
  workspaceLock: 'lock',
  protectKeyVault: 'preventDestroy',
  lockKeyVault: 'lock',
  protectDatabase: 'preventDestroy',
  grantTo: 'grantRunMigrations(grantee, options)',
  grantEventPublisher: 'grantPublishEvents(grantee, options)',
  grantPublisher: 'grantPublish(grantee, options)',
  runnerPrincipalId: 'grantRunPipelines(grantee, options)',
  fromServiceId: 'fromMigrationServiceId',
};
/** Retired as the attributes of a reference; a prop may still name the resource it creates (`serviceName`). */
const RETIRED_ATTRIBUTES: Readonly<Record<string, string>> = { serviceId: 'id', serviceName: 'name' };
/** Other ways of spelling protection: `protectX`, `lockX`, `xLock`, `xProtected`, `xProtection`. */
const PROTECTION_SPELLING = /^(protect|lock)[A-Z]|[a-z](Lock|Protected|Protection)$/;
const GRANT = /^grant[A-Z]/;

/** A prop, public attribute or public method of an export: `Owner.member`. */
interface ApiMember {
  readonly owner: string;
  readonly name: string;
  /** `prop` of an interface or object type, `attribute` or `method` of a class. */
  readonly kind: 'prop' | 'attribute' | 'method';
  readonly node: ts.Node;
}

function apiMembers(entry: string, libraryRoot: string): ApiMember[] {
  const { checker, exports, fileOf } = apiSurface(entry, libraryRoot);
  const members: ApiMember[] = [];
  const inLibrary = (node: ts.Node) => !fileOf(node).startsWith('..');
  for (const { name: owner, symbol, declarations } of exports) {
    for (const declaration of declarations) {
      if (ts.isInterfaceDeclaration(declaration)) {
        for (const node of interfaceMembers(checker, symbol).filter(inLibrary)) {
          members.push({ owner, name: memberName(node), kind: ts.isMethodSignature(node) ? 'method' : 'prop', node });
        }
      } else if (ts.isTypeAliasDeclaration(declaration) && ts.isTypeLiteralNode(declaration.type)) {
        for (const node of declaration.type.members) members.push({ owner, name: memberName(node), kind: 'prop', node });
      } else if (ts.isClassDeclaration(declaration)) {
        for (const node of declaration.members) {
          if (ts.isConstructorDeclaration(node) || !isPublicMember(node)) continue;
          members.push({ owner, name: memberName(node), kind: ts.isMethodDeclaration(node) ? 'method' : 'attribute', node });
        }
      }
    }
  }
  return members;
}

/** What a member's declaration says its type is (`undefined` when it says nothing). */
function declaredType(node: ts.Node): string | undefined {
  return (node as { type?: ts.TypeNode }).type?.getText();
}

function grantShapeProblem(node: ts.Node): string | undefined {
  if (!ts.isMethodDeclaration(node) && !ts.isMethodSignature(node)) return 'a grant is a method';
  const [grantee, options, ...rest] = node.parameters;
  const returns = declaredType(node);
  const fits =
    grantee !== undefined &&
    declaredType(grantee) === 'IGrantee' &&
    (options === undefined || (declaredType(options) === 'GrantOptions' && (options.questionToken !== undefined || options.initializer !== undefined))) &&
    rest.length === 0 &&
    (returns === 'RoleAssignment' || returns === 'RoleAssignment[]');
  return fits ? undefined : 'a grant takes (grantee: IGrantee, options?: GrantOptions) and returns RoleAssignment or RoleAssignment[]';
}

/** What is wrong with a member's spelling or shape, if anything; `references` are the exported `IXxx` reference types. */
function problemOf(member: ApiMember, references: ReadonlySet<string>): string | undefined {
  const { name, node } = member;
  const isAttribute = member.kind !== 'prop' || member.owner.startsWith('I');
  const referenced = /^(\w+)Id$/.exec(name)?.[1];
  const reference = referenced && `I${referenced[0].toUpperCase()}${referenced.slice(1)}`;
  if (!isAttribute && reference && references.has(reference)) return `refer by object: say ${referenced}: ${reference}`;
  const retired = RETIRED[name] ?? (isAttribute ? RETIRED_ATTRIBUTES[name] : undefined);
  if (retired !== undefined) return `retired spelling; say ${retired}`;
  if (name === 'lock') return declaredType(node) === 'ResourceLock' ? undefined : `a lock is a ResourceLock ({ kind, name? }), not ${declaredType(node)}`;
  if (name === 'preventDestroy') return declaredType(node) === 'boolean' ? undefined : 'preventDestroy is a boolean';
  if (PROTECTION_SPELLING.test(name)) return 'protection is spelled preventDestroy and lock';
  return GRANT.test(name) ? grantShapeProblem(node) : undefined;
}

/** `Owner.member: problem` for every member that does not speak the vocabulary. */
function vocabularyProblems(members: readonly ApiMember[]): string[] {
  const references = new Set(members.map((member) => member.owner).filter((owner) => /^I[A-Z]/.test(owner)));
  return members
    .flatMap((member) => {
      const problem = problemOf(member, references);
      return problem === undefined ? [] : [`${member.owner}.${member.name}: ${problem}`];
    })
    .sort();
}

const qualified = (members: readonly ApiMember[]) => members.map((member) => `${member.owner}.${member.name}`);

describe('the vocabulary of the public API', () => {
  const members = apiMembers(join(LIB, 'index.ts'), LIB);

  test('lists the props, attributes and methods of every construct', () => {
    expect(members.length).toBeGreaterThan(300);
    expect(qualified(members)).toEqual(
      expect.arrayContaining(['DatabaseMigrationStackProps.plan', 'MigrationService.id', 'MigrationMonitoring.grantPublishEvents', 'ResourceLock.kind']),
    );
  });

  test('no construct uses a retired or other spelling of protection, references or grants', () => {
    expect(vocabularyProblems(members)).toEqual([]);
  });

  test.each([
    'DatabaseMigrationStackProps',
    'MigrationMonitoringProps',
    'OrchestrationFactoryProps',
    'CredentialVaultProps',
    'DagStorageProps',
    'KubernetesAirflowHostProps',
  ])('%s, of a construct that creates a stateful resource, takes preventDestroy and lock', (props) => {
    expect(qualified(members)).toEqual(expect.arrayContaining([`${props}.preventDestroy`, `${props}.lock`]));
  });

  test('every grant returns what it assigned', () => {
    const grants = members.filter((member) => member.kind === 'method' && GRANT.test(member.name));
    expect(qualified(grants).sort()).toEqual([
      'HostDagStorage.grantRead',
      'MigrationEventIngestion.grantPublish',
      'MigrationMonitoring.grantPublishEvents',
      'MigrationOperatorRole.grantRunMigrations',
      'SqlPipelines.grantRunPipelines',
    ]);
  });
});

describe('the vocabulary check', () => {
  test('reports each retired or other spelling planted in a module, and nothing else', () => {
    expect(vocabularyProblems(apiMembers(join(FIXTURES, 'retired-vocabulary.ts'), FIXTURES))).toEqual([
      'IPlantedService.serviceId: retired spelling; say id',
      'Planted.grantList: a grant takes (grantee: IGrantee, options?: GrantOptions) and returns RoleAssignment or RoleAssignment[]',
      'Planted.grantTo: retired spelling; say grantRunMigrations(grantee, options)',
      'Planted.grantWrite: a grant takes (grantee: IGrantee, options?: GrantOptions) and returns RoleAssignment or RoleAssignment[]',
      'Planted.serviceId: retired spelling; say id',
      'PlantedProps.keyVaultProtected: protection is spelled preventDestroy and lock',
      'PlantedProps.lock: a lock is a ResourceLock ({ kind, name? }), not boolean',
      'PlantedProps.protectStatefulResources: retired spelling; say preventDestroy',
      'PlantedProps.workspaceLock: retired spelling; say lock',
    ]);
  });
});
