/**
 * The public API, read from the sources with the TypeScript compiler API (one program over
 * `lib/`, shared by the three checks below: building it and loading the compiler take seconds).
 * - **Deliberate:** `lib/index.ts` names every export (no `export *`, which would publish whatever
 *   a module happens to export), and nothing under `lib/private/` is reachable from it.
 * - **Documented:** every export of `lib/index.ts` has a doc comment, and so has every public
 *   member of the exported classes, interfaces, object types and enum-like constants; every
 *   optional property of an exported interface or object type says its `@default`. `npm run docs`
 *   additionally builds the TypeDoc site with warnings as errors.
 * - **One vocabulary** across the constructs (issue #13.4), on every prop, public attribute and
 *   public method of every export:
 *   - protection is `preventDestroy?: boolean` and `lock?: ResourceLock`, nothing else;
 *   - references are `id` and `name`, not `serviceId` here and `id` there;
 *   - grants are `grantXxx(grantee: IGrantee, options?: GrantOptions)` returning the role assignment(s).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { apiSurface, interfaceMembers, isPublicMember, memberName, ownerName } from './api-surface';

const LIB = join(__dirname, '..', '..', 'lib');
const FIXTURES = join(__dirname, 'fixtures');

// ---- Deliberate: named exports, nothing private

/** The `export *` declarations of an entry: its text is enough, no program needed. */
function exportStars(entry: string): string[] {
  const source = ts.createSourceFile(entry, readFileSync(entry, 'utf8'), ts.ScriptTarget.ES2022);
  return source.statements
    .filter((statement): statement is ts.ExportDeclaration => ts.isExportDeclaration(statement) && statement.exportClause === undefined)
    .map((statement) => statement.getText(source));
}

/** `name (file)` of each export of the entry declared under `private/`. */
function privateExports(entry: string, libraryRoot: string): string[] {
  const { exports, fileOf } = apiSurface(entry, libraryRoot);
  return exports.flatMap(({ name, declarations }) =>
    declarations.filter((declaration) => fileOf(declaration).split(/[\\/]/).includes('private')).map((declaration) => `${name} (${fileOf(declaration)})`),
  );
}

describe('the public surface of lib/index.ts', () => {
  test('names every export: no export *', () => {
    expect(exportStars(join(LIB, 'index.ts'))).toEqual([]);
  });

  test('reaches nothing under lib/private/', () => {
    expect(privateExports(join(LIB, 'index.ts'), LIB)).toEqual([]);
  });

  test('the plan folder names its exports too (lib/index.ts re-exports from it)', () => {
    expect(exportStars(join(LIB, 'plan', 'index.ts'))).toEqual([]);
  });
});

describe('the public-surface check', () => {
  test('reports an export * and a private helper exported by name, and nothing else', () => {
    const fixture = join(FIXTURES, 'surface');
    expect(exportStars(join(fixture, 'index.ts'))).toEqual(["export * from './helpers';"]);
    expect(privateExports(join(fixture, 'index.ts'), fixture)).toEqual([`internalName (${join('private', 'naming.ts')})`]);
  });

  test('reads the members a type takes from another module: a base interface, an intersection', () => {
    const fixture = join(FIXTURES, 'inherited');
    const { checker, exports, fileOf } = apiSurface(join(fixture, 'index.ts'), fixture);
    const membersOf = (name: string) =>
      interfaceMembers(checker, exports.find((exported) => exported.name === name)!.symbol).map((member) => `${fileOf(member)} ${memberName(member)}`);
    expect(exports.map((exported) => exported.name).sort()).toEqual(['Combined', 'Derived', 'describeDerived']);
    expect(membersOf('Derived')).toEqual(['index.ts own', 'base.ts inherited']);
    expect(membersOf('Combined')).toEqual(['base.ts inherited', 'index.ts extra']);
  });
});

// ---- Documented

interface ApiDocs {
  readonly exports: string[];
  /** `file:line name` of each public declaration without a doc comment. */
  readonly undocumented: string[];
  /** `file:line Type.prop` of each optional interface property without `@default`. */
  readonly withoutDefault: string[];
}

/** The exports of `entry` and what their docs lack. */
function inspectApi(entry: string, libraryRoot: string): ApiDocs {
  const { checker, exports, fileOf, lineOf } = apiSurface(entry, libraryRoot);
  const undocumented: Located[] = [];
  const withoutDefault: Located[] = [];
  const seen = new Set<ts.Node>();
  const at = (node: ts.Node, name: string): Located => ({ file: fileOf(node), line: lineOf(node), name });
  const underRoot = (node: ts.Node) => !fileOf(node).startsWith('..');
  const requireDoc = (node: ts.Node, name: string) => {
    if (!hasSummary(node)) undocumented.push(at(node, name));
  };

  const checkMembers = (owner: string, members: readonly ts.Node[], optionalNeedsDefault: boolean) => {
    for (const member of members) {
      if (!isPublicMember(member) || seen.has(member) || !underRoot(member)) continue;
      seen.add(member);
      const name = `${ownerName(member) ?? owner}.${memberName(member)}`;
      requireDoc(member, name);
      if (optionalNeedsDefault && ts.isPropertySignature(member) && member.questionToken && !hasTag(member, 'default')) {
        withoutDefault.push(at(member, name));
      }
    }
  };

  for (const { symbol, declarations } of exports) {
    for (const declaration of declarations) {
      // Declarations outside the library (re-exported dependencies) are theirs to document.
      if (seen.has(declaration)) continue;
      seen.add(declaration);
      const name = symbol.name;
      requireDoc(declaration, name);
      if (ts.isInterfaceDeclaration(declaration)) {
        // Inherited members too: a base interface that is not exported is documented only through this one.
        checkMembers(name, interfaceMembers(checker, symbol), true);
      } else if (ts.isTypeAliasDeclaration(declaration) && ts.isTypeLiteralNode(declaration.type)) {
        checkMembers(name, declaration.type.members, true);
      } else if (ts.isClassDeclaration(declaration)) {
        checkMembers(name, declaration.members.filter((member) => !ts.isConstructorDeclaration(member)), false);
      } else if (ts.isEnumDeclaration(declaration)) checkMembers(name, declaration.members, false);
      else if (ts.isVariableDeclaration(declaration)) {
        const literal = objectLiteralOf(declaration.initializer);
        if (literal) checkMembers(name, literal.properties, false);
      }
    }
  }
  return { exports: exports.map((exported) => exported.name), undocumented: formatSorted(undocumented), withoutDefault: formatSorted(withoutDefault) };
}

interface Located {
  readonly file: string;
  readonly line: number;
  readonly name: string;
}

function formatSorted(found: readonly Located[]): string[] {
  return [...found]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
    .map(({ file, line, name }) => `${file}:${line} ${name}`);
}

/** Comment text before any tag, on the node or (for variables) its statement. */
function hasSummary(node: ts.Node): boolean {
  return docsOf(node).some((doc) => ts.getTextOfJSDocComment(doc.comment)?.trim());
}

function hasTag(node: ts.Node, tagName: string): boolean {
  return docsOf(node).some((doc) => doc.tags?.some((tag) => tag.tagName.text === tagName));
}

function docsOf(node: ts.Node): ts.JSDoc[] {
  const target = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  return ts.getJSDocCommentsAndTags(target).filter((doc): doc is ts.JSDoc => ts.isJSDoc(doc));
}

function objectLiteralOf(initializer: ts.Expression | undefined): ts.ObjectLiteralExpression | undefined {
  let expression = initializer;
  while (expression && (ts.isAsExpression(expression) || ts.isSatisfiesExpression(expression) || ts.isParenthesizedExpression(expression))) {
    expression = expression.expression;
  }
  return expression && ts.isObjectLiteralExpression(expression) ? expression : undefined;
}

describe('API documentation', () => {
  let api: ApiDocs;
  beforeAll(() => {
    api = inspectApi(join(LIB, 'index.ts'), LIB);
  });

  test('reads the public API (the constructs, the plan functions and their types)', () => {
    expect(api.exports).toEqual(
      expect.arrayContaining([
        'DatabaseMigrationStack',
        'MigrationService',
        'OrchestrationFactory',
        'MigrationMonitoring',
        'loadMigrationPlan',
        'MigrationPlan',
        'renderMermaidDiagram',
      ]),
    );
  });

  test('every export and every public member has a doc comment', () => {
    expect(api.undocumented).toEqual([]);
  });

  test('every optional property of an exported interface or object type says its @default', () => {
    expect(api.withoutDefault).toEqual([]);
  });
});

describe('the documentation check', () => {
  test('finds each kind of gap in a deliberately incomplete module, and nothing else', () => {
    const api = inspectApi(join(FIXTURES, 'undocumented-api.ts'), FIXTURES);
    expect(api.exports.sort()).toEqual([
      'Bare',
      'Derived',
      'Level',
      'Options',
      'Props',
      'ReExportedProps',
      'Thing',
      'undocumentedFunction',
    ]);
    expect(api.undocumented).toEqual([
      'undocumented-api.ts:7 Props.count',
      'undocumented-api.ts:16 Props.tagOnly',
      'undocumented-api.ts:19 Bare',
      'undocumented-api.ts:28 Thing.size',
      'undocumented-api.ts:36 Thing.grow',
      'undocumented-api.ts:45 Level.LOW',
      'undocumented-api.ts:48 undocumentedFunction',
      'undocumented-api.ts:54 Options.b',
      'undocumented-api.ts:60 HiddenBase.inherited',
    ]);
    expect(api.withoutDefault).toEqual(['undocumented-api.ts:9 Props.label', 'undocumented-api.ts:54 Options.b']);
  });
});

// ---- One vocabulary

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
      'CredentialVault.grantReadSecrets',
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
