/**
 * The exported declarations of a library entry, read with the TypeScript compiler API. Only what
 * the entry's exports are made of is read: the entry, the modules its `export ... from` name, and
 * the modules whose names a read file needs to declare its types (a base interface, a type alias, a
 * local `export { }`); an import used only by code is left unresolved, and nothing outside the
 * library's folder (no dependencies, no default library) is read. That is 64 of the library's 138
 * files and gives the same exports, declarations and members as a program over all of them.
 */
import { dirname, relative, resolve } from 'node:path';
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

const OPTIONS: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, noEmit: true, noLib: true, types: [] };

/** The names a file's declared types are made of: in its heritage clauses, type aliases and local `export { }`s. */
function namesOfDeclaredTypes(file: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const collect = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, collect);
  };
  const visit = (node: ts.Node): void => {
    const declaresType = ts.isHeritageClause(node) || ts.isTypeAliasDeclaration(node) || ts.isExportAssignment(node);
    if (declaresType || (ts.isExportDeclaration(node) && node.moduleSpecifier === undefined)) collect(node);
    else ts.forEachChild(node, visit);
  };
  visit(file);
  return names;
}

/** The local names an import declaration binds. */
function importedNames(statement: ts.ImportDeclaration): string[] {
  const clause = statement.importClause;
  const bindings = clause?.namedBindings;
  const names = clause?.name ? [clause.name.text] : [];
  if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
  else if (bindings) names.push(...bindings.elements.map((element) => element.name.text));
  return names;
}

/** A program of `entry` and the library modules its exported types are made of (see the file's comment). */
function declarationProgram(entry: string, libraryRoot: string): ts.Program {
  const host = ts.createCompilerHost(OPTIONS);
  const typeNames = new Map<ts.SourceFile, Set<string>>();
  const needed = (literal: ts.StringLiteralLike, file: ts.SourceFile): boolean => {
    const statement = literal.parent;
    if (ts.isExportDeclaration(statement)) return true;
    if (!ts.isImportDeclaration(statement)) return false;
    if (!typeNames.has(file)) typeNames.set(file, namesOfDeclaredTypes(file));
    return importedNames(statement).some((name) => typeNames.get(file)!.has(name));
  };
  host.resolveModuleNameLiterals = (literals, containingFile, _redirected, _options, containingSourceFile) =>
    literals.map((literal) => {
      if (!literal.text.startsWith('.') || !needed(literal, containingSourceFile)) return { resolvedModule: undefined };
      const base = resolve(dirname(containingFile), literal.text);
      const found = [`${base}.ts`, `${base}/index.ts`].find((file) => !relative(libraryRoot, file).startsWith('..') && ts.sys.fileExists(file));
      return { resolvedModule: found === undefined ? undefined : { resolvedFileName: found, extension: ts.Extension.Ts } };
    });
  return ts.createProgram([entry], OPTIONS, host);
}

function readSurface(entry: string, libraryRoot: string): ApiSurface {
  const fileOf = (node: ts.Node) => relative(libraryRoot, node.getSourceFile().fileName);
  const program = declarationProgram(entry, libraryRoot);
  const checker = program.getTypeChecker();
  const entryFile = program.getSourceFile(entry);
  if (entryFile === undefined || fileOf(entryFile).startsWith('..')) throw new Error(`${entry} is not under ${libraryRoot}`);
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
