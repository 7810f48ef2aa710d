// ESLint for infermesh, run by `npm run lint` (scripts/lint.ts) and so by `npm test`.
// Deliberately small: tsc already checks types, so this bans what tsc cannot see — focused
// tests, skipped tests without a reason — plus a few cheap rules that catch real bugs.
// No type-aware rules: each file is linted on its own, which keeps the step to seconds
// and lets ESLint's cache skip unchanged files. Formatting is not linted.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** node:test's test functions, called bare (`test(...)`) or on a context (`t.test(...)`). */
const TEST_FUNCTIONS = new Set(['test', 'it', 'describe', 'suite']);

/** Name of an identifier or string-literal key/property, else undefined. */
function staticName(node) {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  return undefined;
}

/** True for `test`, `describe`, ... and for `t.test`, `context.describe`, .... */
function isTestFunction(node) {
  if (node.type === 'Identifier') return TEST_FUNCTIONS.has(node.name);
  return node.type === 'MemberExpression' && !node.computed && TEST_FUNCTIONS.has(staticName(node.property));
}

/**
 * A rule reporting the test modifiers `names`, both as `test.only(...)` and as node:test's
 * options (`test('x', { only: true }, fn)`); an option set to a literal `false` is fine.
 */
function testModifierRule(names, description, message) {
  return {
    meta: { type: 'problem', docs: { description }, messages: { modifier: message }, schema: [] },
    create(context) {
      return {
        MemberExpression(node) {
          const name = node.computed ? undefined : staticName(node.property);
          if (names.has(name) && isTestFunction(node.object)) context.report({ node: node.property, messageId: 'modifier', data: { name } });
        },
        CallExpression(node) {
          const callee = node.callee;
          const isTestCall = isTestFunction(callee) || (callee.type === 'MemberExpression' && isTestFunction(callee.object));
          if (!isTestCall) return;
          for (const argument of node.arguments) {
            if (argument.type !== 'ObjectExpression') continue;
            for (const property of argument.properties) {
              if (property.type !== 'Property' || property.computed) continue;
              const name = staticName(property.key);
              if (!names.has(name) || (property.value.type === 'Literal' && property.value.value === false)) continue;
              context.report({ node: property, messageId: 'modifier', data: { name } });
            }
          }
        },
      };
    },
  };
}

/**
 * Packages only the CLI may import: the servers are leaves of the dependency graph
 * (cli → {gateway, worker, aggregator} → experiments → shared), so a package reaching for
 * one would pull a whole server (and its I/O clients) into a process that does not run it.
 */
const SERVER_PACKAGES = ['@infermesh/gateway', '@infermesh/worker'];

/** The side-effect-free entries of @infermesh/shared a pure package may load (package.json `exports`). */
const PURE_SHARED_ENTRIES = ['errors', 'contract', 'pools', 'validation'];

/** What the experiments package must not import: I/O clients, servers, and every Node built-in. */
const IMPURE_IMPORTS = {
  paths: [
    { name: '@infermesh/shared', allowTypeImports: true, message: 'import types only from the index (it loads gRPC, Consul and Kafka clients); values from a side-effect-free entry: @infermesh/shared/{' + PURE_SHARED_ENTRIES.join(',') + '}' },
    ...builtinModules.map((name) => ({ name, message: 'the experiments package does no I/O: pass what it needs in' })),
  ],
  patterns: [
    { group: ['node:*'], message: 'the experiments package does no I/O: pass what it needs in' },
    { group: ['express', 'express/*', '@grpc/*', 'kafkajs', 'kafkajs/*', 'consul', 'consul/*', 'prom-client', 'pino', 'pino/*'], message: 'the experiments package does no I/O and keeps no metrics: the gateway and the aggregator wire those' },
    { regex: `^@infermesh/(?!shared(/(${PURE_SHARED_ENTRIES.join('|')}))?$)`, message: 'the experiments package depends on @infermesh/shared alone (its side-effect-free entries)' },
  ],
};

/** The project's own rules. */
const infermeshPlugin = {
  meta: { name: 'infermesh' },
  rules: {
    'no-focused-tests': testModifierRule(
      new Set(['only']),
      'Bans focused tests: with `only`, the rest of the file would silently not run.',
      '`{{name}}` focuses a test and silently drops the others: remove it before committing.',
    ),
    'no-skipped-tests': testModifierRule(
      new Set(['skip', 'todo']),
      'Bans skipped and todo tests unless an eslint-disable comment on the line gives the reason.',
      '`{{name}}` turns a test off: fix it, or keep it off with a reason: `// eslint-disable-next-line infermesh/no-skipped-tests -- <why>`.',
    ),
  },
};

export default [
  {
    ignores: ['**/dist/**', 'packages/*/src/generated/**', 'coverage/**', 'bench-results/**', '.infermesh/**'],
  },
  {
    // A disable comment that no longer suppresses anything is stale: it would hide the next real problem.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-unused-expressions': 'error',
      '@typescript-eslint/no-non-null-asserted-optional-chain': 'error',
      '@typescript-eslint/no-extra-non-null-assertion': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
    },
  },
  {
    files: ['**/*.{ts,js,mjs}'],
    plugins: { infermesh: infermeshPlugin },
    rules: {
      'infermesh/no-focused-tests': 'error',
      'infermesh/no-skipped-tests': 'error',
      // Bugs tsc lets through.
      'no-async-promise-executor': 'error',
      'no-compare-neg-zero': 'error',
      'no-cond-assign': 'error',
      'no-constant-binary-expression': 'error',
      'no-constant-condition': 'error',
      'no-debugger': 'error',
      'no-dupe-else-if': 'error',
      'no-duplicate-case': 'error',
      'no-empty-pattern': 'error',
      'no-loss-of-precision': 'error',
      'no-self-assign': 'error',
      'no-self-compare': 'error',
      'no-sparse-arrays': 'error',
      'no-template-curly-in-string': 'error',
      'no-unreachable': 'error',
      'no-unsafe-finally': 'error',
      'no-unsafe-optional-chaining': 'error',
      'use-isnan': 'error',
    },
  },
  {
    // Only the CLI assembles servers; every other package stays off them.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/cli/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: SERVER_PACKAGES.flatMap((name) => [name, `${name}/*`]), message: 'only the CLI imports the gateway or the worker: move what both need to @infermesh/experiments or @infermesh/shared' }] },
      ],
    },
  },
  {
    // The experiment core is pure: no I/O, no clock, no global randomness. Tests may use Node.
    files: ['packages/experiments/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', IMPURE_IMPORTS],
      // `import { type X }` still loads the module under verbatimModuleSyntax; `import type` does not.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'take a RandomSource as a parameter' },
        { object: 'Date', property: 'now', message: 'take the time (or a clock) as a parameter' },
        { object: 'performance', property: 'now', message: 'take the time (or a clock) as a parameter' },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'].map((name) => ({ name, message: 'the experiments package keeps no timers: its callers schedule' })),
        { name: 'process', message: 'the experiments package reads no environment or process state: pass what it needs in' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'no dynamic imports in the experiments package: what it loads is checked statically' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0], CallExpression[callee.name='Date']", message: 'take the time (or a clock) as a parameter' },
      ],
    },
  },
];
