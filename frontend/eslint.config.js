import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

const FEATURES = ['auth', 'boards', 'tickets', 'public'];

// One-way imports: a feature never imports another feature, and shared code
// (components, api, i18n) never imports a feature; only app/ composes features.
const featureZones = FEATURES.map((feature) => ({
  files: [`src/features/${feature}/**`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            // ../other/x.js from a feature's folder is another feature's file.
            regex: `^\\.\\./(?!\\.\\./)|features/(?!${feature}/)`,
            message: 'Features do not import each other; compose them in app/ or share via components/.',
          },
          { regex: '(^|/)app/', message: 'Features do not import app/: it imports them.' },
        ],
      },
    ],
  },
}));

export default [
  { ignores: ['dist', 'node_modules', 'coverage'] },
  js.configs.recommended,
  {
    files: ['**/*.{js,jsx}'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.browser },
      parserOptions: { ecmaFeatures: { jsx: true } },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  ...featureZones,
  {
    files: ['src/components/**', 'src/api/**', 'src/i18n/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: 'features/', message: 'Shared code does not import features.' },
            { regex: '(^|/)app/', message: 'Shared code does not import app/.' },
          ],
        },
      ],
    },
  },
  { files: ['scripts/**', 'eslint.config.js', 'vite.config.js'], languageOptions: { globals: globals.node } },
  {
    // Tests build a whole store to drive a screen as the app would.
    files: ['**/*.test.{js,jsx}', 'src/test/**'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-restricted-imports': 'off' },
  },
];
