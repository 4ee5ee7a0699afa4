/**
 * The exported declarations of a library entry, read with the TypeScript compiler API. Only the
 * TypeScript files under the library's folder are read (no dependencies, no default library):
 * declarations are all the API tests need, in about a second.
 */
import { relative } from 'node:path';
import * as ts from 'typescript';

/** One exported name and the declarations behind it that live in the library. */
export interface ExportedApi {
  /** The exported name. */
  readonly name: string;
  /** The symbol the name stands for (aliases resolved). */
  readonly symbol: ts.Symbol;
  /** Its declarations under the library's folder. */
  readonly declarations: readonly ts.Declaration[];
}

/** What an API test needs: the checker, the exports of the entry, and where a node lives. */
export interface ApiSurface {
  readonly checker: ts.TypeChecker;
  readonly exports: readonly ExportedApi[];
  /** Path of the node's file, relative to the library's folder. */
  readonly fileOf: (node: ts.Node) => string;
  /** 1-based line of a node in its file. */
  readonly lineOf: (node: ts.Node) => number;
}

const surfaces = new Map<string, ApiSurface>();

/** The surface of `entry`, read once per test file (the program is the slow part). */
export function apiSurface(entry: string, libraryRoot: string): ApiSurface {
  const key = `${entry}\0${libraryRoot}`;
  if (!surfaces.has(key)) surfaces.set(key, readSurface(entry, libraryRoot));
  return surfaces.get(key)!;
}

function readSurface(entry: string, libraryRoot: string): ApiSurface {
  const roots = ts.sys.readDirectory(libraryRoot, ['.ts']).filter((file) => !file.endsWith('.d.ts'));
  const program = ts.createProgram(roots, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    noEmit: true,
    noResolve: true,
    noLib: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const entryFile = program.getSourceFile(entry);
  if (entryFile === undefined) throw new Error(`${entry} is not under ${libraryRoot}`);
  const fileOf = (node: ts.Node) => relative(libraryRoot, node.getSourceFile().fileName);
  const underRoot = (node: ts.Node) => !fileOf(node).startsWith('..');
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(entryFile)!).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return { name: exported.name, symbol, declarations: (symbol.declarations ?? []).filter(underRoot) };
  });
  const lineOf = (node: ts.Node) => node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1;
  return { checker, exports, fileOf, lineOf };
}

/** Whether a class member or interface member is public (not `private`, `protected` or `#private`). */
export function isPublicMember(member: ts.Node): boolean {
  if (ts.isClassStaticBlockDeclaration(member) || ts.isIndexSignatureDeclaration(member)) return false;
  const name = (member as { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return false;
  const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
  return !modifiers.some(
    (modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword || modifier.kind === ts.SyntaxKind.ProtectedKeyword,
  );
}

/** The name a member is declared with. */
export function memberName(member: ts.Node): string {
  const name = (member as { name?: ts.PropertyName }).name;
  return name ? name.getText() : ts.SyntaxKind[member.kind];
}

/** The interface or type alias that declares `member`, when it is one. */
export function ownerName(member: ts.Node): string | undefined {
  const parent = member.parent;
  if (ts.isInterfaceDeclaration(parent)) return parent.name.text;
  if (ts.isTypeLiteralNode(parent) && ts.isTypeAliasDeclaration(parent.parent)) return parent.parent.name.text;
  return undefined;
}

/** Every member of an exported interface, inherited ones included (a base need not be exported). */
export function interfaceMembers(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Declaration[] {
  return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)).flatMap((property) => property.declarations ?? []);
}
