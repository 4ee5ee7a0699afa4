/**
 * The public API is documented: every export of `lib/index.ts` has a doc comment, and so has
 * every public member of the exported classes, interfaces, object types and enum-like constants;
 * every optional property of an exported interface or object type says its `@default`. This reads
 * the sources with the TypeScript compiler API (seconds); `npm run docs` additionally builds the
 * TypeDoc site with warnings as errors.
 */
import { join } from 'node:path';
import * as ts from 'typescript';
import { apiSurface, interfaceMembers, isPublicMember, memberName, ownerName } from './api-surface';

const REPO = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'fixtures');

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
    api = inspectApi(join(REPO, 'lib', 'index.ts'), join(REPO, 'lib'));
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
