// Lint rules for every workspace. The type-aware rules are the ones that catch
// what the compiler cannot: a promise nobody awaits (a store write that fails
// silently) and an async function handed to a callback that ignores its result.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const readonly = (names) => Object.fromEntries(names.map((n) => [n, 'readonly']));
const nodeGlobals = readonly([
  'process',
  'console',
  'URL',
  'Buffer',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
]);
const browserGlobals = readonly([
  'window',
  'document',
  'location',
  'navigator',
  'fetch',
  'URLSearchParams',
  'MediaStream',
  'addEventListener',
  'setTimeout',
  'clearTimeout',
  'console',
]);

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'fleet/public/build/**',
      'fleet/test/api/openapi-client.generated.ts',
      'appliance/test/media/edge-client.generated.ts',
      'appliance/src/media/web/vendor/**',
      'dist/**',
      '**/dist/**',
      'data/**',
      '.tap/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap tracks the promise of every subtest itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'only', 'skip', 'todo'], package: '@tapjs/core' },
            { from: 'package', name: ['test', 'only', 'skip', 'todo'], package: '@tapjs/test' },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // import('x').T stays allowed for optional modules loaded lazily (onoff on a real box).
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      // A default assigned before a try whose catch leaves it is how we write fallbacks.
      'no-useless-assignment': 'off',
      // A handle declared early so that a stop handler can close it once it exists.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
  {
    // The edge's join page runs in the participant's browser.
    files: ['appliance/src/media/web/**/*.js'],
    languageOptions: { globals: browserGlobals },
  },
);
