import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.flowguard/**',
      'bench/results/**',
      'scratch/**',
      'test-artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config only.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The process boundary: the CLI hands the environment to src/config.
    files: [
      'src/config/**',
      'src/cli/io.ts',
      'test/**',
      '**/*.test.ts',
      'bin/**',
      'vitest.config.ts',
      '.ci/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
