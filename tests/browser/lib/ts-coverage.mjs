// Which exports of a package a TypeScript file leaves unused, by the type checker (not by text):
// every export of each module, and every public member of each exported class, must be referenced.
import path from 'node:path';
import ts from 'typescript';

/** Loads tsconfig.json in `dir` and returns { program, checker }. */
function load(dir) {
  const configPath = path.join(dir, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dir);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return { program, checker: program.getTypeChecker(), options: parsed.options, files: parsed.fileNames };
}

const resolved = (checker, s) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

function isPublic(s) {
  const decl = s.valueDeclaration ?? s.declarations?.[0];
  if (!decl) return true;
  const flags = ts.getCombinedModifierFlags(decl);
  return !(flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !s.name.startsWith('#');
}

/**
 * Returns the names ("module:Export" or "module:Class.member") that `file` (in the project `dir`)
 * never references, for each of the module specifiers `modules` (e.g. ['cskd', 'cskd/worker']).
 */
export function unusedExports(dir, modules) {
  const { program, checker, options, files } = load(dir);
  const used = new Set();
  for (const f of files) {
    const sf = program.getSourceFile(f);
    const visit = (node) => {
      if (ts.isImportDeclaration(node)) return; // naming an export in an import is not using it
      if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
        const s = resolved(checker, checker.getSymbolAtLocation(node));
        if (s) used.add(s);
      }
      // `t[Symbol.dispose]()` and `using t = …` reach the dispose member without naming it.
      if (ts.isElementAccessExpression(node)) {
        const s = checker.getSymbolAtLocation(node.argumentExpression);
        const member = s && checker.getPropertyOfType(checker.getTypeAtLocation(node.expression), s.escapedName);
        if (member) used.add(member);
      }
      if (ts.isVariableDeclarationList(node) && node.flags & ts.NodeFlags.Using) {
        for (const d of node.declarations) {
          for (const p of checker.getTypeAtLocation(d.name).getProperties()) if (p.escapedName.startsWith('__@dispose')) used.add(p);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const missing = [];
  for (const spec of modules) {
    const mod = ts.resolveModuleName(spec, path.join(dir, files[0]), options, ts.sys).resolvedModule;
    if (!mod) throw new Error(`cannot resolve ${spec} from ${dir}`);
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(mod.resolvedFileName));
    for (const e of checker.getExportsOfModule(moduleSymbol)) {
      const target = resolved(checker, e);
      if (!used.has(target) && !used.has(e)) missing.push(`${spec}:${e.name}`);
      if (!(target.flags & ts.SymbolFlags.Class)) continue;
      const instance = checker.getDeclaredTypeOfSymbol(target).getProperties();
      const statics = checker.getTypeOfSymbol(target).getProperties().filter((p) => p.name !== 'prototype');
      for (const m of [...instance, ...statics]) {
        const name = m.name.startsWith('__@') ? `[Symbol.${m.name.split('@')[1]}]` : m.name;
        if (isPublic(m) && !used.has(m)) missing.push(`${spec}:${e.name}.${name}`);
      }
    }
  }
  return missing;
}
