import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';

type TypeScript = typeof import('typescript');

/** The project's TypeScript (its devDependency), else the one Slipway was installed with; undefined without. */
function loadTypeScript(cwd: string): TypeScript | undefined {
  for (const from of [join(cwd, 'package.json'), import.meta.url]) {
    try {
      return createRequire(from)('typescript') as TypeScript;
    } catch {
      // not installed there: try the next place
    }
  }
  return undefined;
}

/**
 * Type-checks a pipeline module and everything it imports, with the compiler options of the nearest
 * tsconfig.json (strict, bundler resolution without one), and throws `SLIPWAY_TYPECHECK_FAILED` listing the errors.
 * JavaScript modules are not checked. Only the pipeline's own import graph is checked, not the whole project.
 *
 * @example
 * typecheckPipeline('pipeline.ts') // throws when process() emits a string where the schema says number
 */
export function typecheckPipeline(entry: string, cwd: string = process.cwd()): { checked: boolean; files: number } {
  const file = resolve(cwd, entry);
  // JavaScript is not checked; a missing file is the bundler's to report (SLIPWAY_FILE_NOT_FOUND).
  if (!/\.(c|m)?tsx?$/.test(file) || !existsSync(file)) return { checked: false, files: 0 };
  const ts = loadTypeScript(cwd);
  if (ts === undefined)
    throw new SlipwayError(
      'SLIPWAY_TYPECHECK_FAILED',
      `${entry} is TypeScript, and no TypeScript compiler is installed to check it: run \`npm install --save-dev typescript\`.`,
      { details: { entry } },
    );
  const configPath = ts.findConfigFile(dirname(file), (p) => existsSync(p));
  let options: import('typescript').CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    // Without a tsconfig: resolve imports as esbuild bundles them (ESM, `import` conditions), so TypeBox's
    // declarations are the ESM ones Slipway's are, even in a folder without package.json's "type": "module".
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
  };
  if (configPath !== undefined) {
    const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
    if (read.error !== undefined) throw failed(ts, entry, [read.error], cwd);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configPath), undefined, configPath);
    options = parsed.options;
  }
  // Slipway's own checkout resolves `slipway` to its sources with this condition; a pipeline is checked
  // against the declarations a user's project gets (dist/*.d.ts), which is also many times faster.
  const conditions = options.customConditions?.filter((c) => c !== 'slipway-source');
  options = { ...options, customConditions: conditions };
  const program = ts.createProgram([file], { ...options, noEmit: true, incremental: false, composite: false });
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error && d.code !== 5074 && d.code !== 6059);
  if (diagnostics.length > 0) throw failed(ts, entry, diagnostics, cwd);
  return { checked: true, files: program.getSourceFiles().filter((f) => !f.isDeclarationFile).length };
}

function failed(
  ts: TypeScript,
  entry: string,
  diagnostics: readonly import('typescript').Diagnostic[],
  cwd: string,
): SlipwayError {
  const text = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => cwd,
    getNewLine: () => '\n',
  });
  const errors = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(`${cwd}/`, ''));
  return new SlipwayError(
    'SLIPWAY_TYPECHECK_FAILED',
    `${relative(cwd, resolve(cwd, entry)) || entry} does not type-check (${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}); nothing was built. Fix:\n  ${errors.join('\n  ')}`,
    { details: { entry, errors } },
  );
}
