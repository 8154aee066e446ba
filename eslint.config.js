// Lint is part of `npm test`: correctness rules from typescript-eslint (layout is prettier's, checked
// by `npm run lint` and applied by `npm run format`), and the layers of the code base:
//   cli/   the entry and the command registry: the only place that knows every job;
//   jobs/  one folder per command, each built on src/ and never on another job;
//   src/   the library and what the jobs share; never imports jobs/ or cli/;
//   src/kube/ the only code that speaks to an API server (client-node, undici).
// Import cycles are caught by test/unit/architecture.test.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const apiClients = {
  paths: [
    { name: '@kubernetes/client-node', message: 'Only src/kube/ talks to the API server: use KubeClient and the shapes of src/kube/types.ts.' },
    { name: 'undici', message: 'Only src/kube/ talks to the API server: use KubeClient.' },
  ],
  patterns: [{ group: ['@kubernetes/client-node/*'], message: 'Only src/kube/ talks to the API server: use KubeClient and the shapes of src/kube/types.ts.' }],
};
const notJobs = { regex: String.raw`(^|/)(jobs|cli)/`, message: 'src/ never imports jobs/ or cli/: move what both need into src/, or hand it in (see cli/commands.ts).' };
const notAnotherJob = { regex: String.raw`^\.\./(?!\.\./)`, message: 'A job never imports another job: move what both need into src/.' };
const notCli = { regex: String.raw`(^|/)cli/`, message: 'jobs/ never import cli/: a command that runs others gets ctx.runCommand.' };
// no-restricted-imports sees static imports only, and commands load their modules with import():
// the same restrictions as no-restricted-syntax selectors on import() expressions (a package name
// matches itself and its subpaths; a pattern's regex is used as it is).
const dynamic = (...restrictions) =>
  restrictions.map(({ regex, message, name }) => ({ selector: `ImportExpression[source.value=/${name ? `^${name.replace(/[/.-]/g, '\\$&')}(\\/|$)` : regex.replace(/\//g, '\\/')}/]`, message }));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'charts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/kube/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: apiClients.paths, patterns: [...apiClients.patterns, notJobs] }],
      'no-restricted-syntax': ['error', ...dynamic(...apiClients.paths, notJobs)],
    },
  },
  {
    files: ['src/kube/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [notJobs] }], 'no-restricted-syntax': ['error', ...dynamic(notJobs)] },
  },
  {
    files: ['jobs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: apiClients.paths, patterns: [...apiClients.patterns, notAnotherJob, notCli] }],
      'no-restricted-syntax': ['error', ...dynamic(...apiClients.paths, notAnotherJob, notCli)],
    },
  },
  {
    files: ['cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', apiClients], 'no-restricted-syntax': ['error', ...dynamic(...apiClients.paths)] },
  },
);
