// Fails the build when a screen needs more JavaScript than its budget, gzipped:
// the public form and the status page at most 120 kB, any other screen 200 kB.
// A screen's cost is every chunk the browser fetches to show it, as Vite's
// manifest lists them: the entry, the app (public or router), the layouts and
// the page with all they import, and the catalogs of one language it loads;
// each counted as the .gz file the server sends (see vite.config.js).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const DIST = new URL('../dist/', import.meta.url).pathname;
const PUBLIC_KB = 120;
const MANAGER_KB = 200;
const ROUTER = ['src/app/ManagerApp.jsx'];
const MANAGER = [...ROUTER, 'src/app/ManagerLayout.jsx'];
const BOARD = [...MANAGER, 'src/features/boards/BoardLayout.jsx'];

// [screen, budget, chunks it needs, i18n namespaces beyond common and errors]
const SCREENS = [
  ['public form /b/:id', PUBLIC_KB, ['src/features/public/PublicFormPage.jsx'], ['public']],
  ['status page /t/:uuid', PUBLIC_KB, ['src/features/public/StatusPage.jsx'], ['public']],
  ['sign-in', MANAGER_KB, [...ROUTER, 'src/features/auth/SignInPage.jsx'], ['auth']],
  ['sign-up', MANAGER_KB, [...ROUTER, 'src/features/auth/SignUpPage.jsx'], ['auth']],
  ['check email', MANAGER_KB, [...ROUTER, 'src/features/auth/CheckEmailPage.jsx'], ['auth']],
  ['verify email', MANAGER_KB, [...ROUTER, 'src/features/auth/VerifyEmailPage.jsx'], ['auth']],
  ['forgot password', MANAGER_KB, [...ROUTER, 'src/features/auth/ForgotPasswordPage.jsx'], ['auth']],
  ['reset password', MANAGER_KB, [...ROUTER, 'src/features/auth/ResetPasswordPage.jsx'], ['auth']],
  ['boards', MANAGER_KB, [...MANAGER, 'src/features/boards/BoardsPage.jsx'], ['boards']],
  ['board tickets', MANAGER_KB, [...BOARD, 'src/features/tickets/TicketListPage.jsx'], ['boards', 'tickets']],
  ['ticket', MANAGER_KB, [...BOARD, 'src/features/tickets/TicketDetailPage.jsx'], ['boards', 'tickets']],
  ['board settings', MANAGER_KB, [...BOARD, 'src/features/boards/BoardSettingsPage.jsx'], ['boards', 'tickets']],
];

const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8'));
const sizes = new Map();
// What goes over the wire: the precompressed file, or for a file too small to be
// worth one (the plugin skips those) the file itself gzipped.
const gzipped = (file) => {
  if (!sizes.has(file)) {
    const packed = join(DIST, `${file}.gz`);
    const bytes = existsSync(packed)
      ? readFileSync(packed).length
      : Math.min(readFileSync(join(DIST, file)).length, gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length);
    sizes.set(file, bytes);
  }
  return sizes.get(file);
};

function closure(key, files) {
  const chunk = manifest[key];
  if (!chunk) throw new Error(`${key} is not a chunk of the build: update scripts/check-bundle-budget.js`);
  if (files.has(chunk.file)) return files;
  files.add(chunk.file);
  for (const imported of chunk.imports ?? []) closure(imported, files);
  return files;
}

const entry = Object.keys(manifest).find((key) => manifest[key].isEntry);
let failed = false;
for (const [screen, budgetKb, chunks, namespaces] of SCREENS) {
  let worst = 0;
  for (const language of ['en', 'pl']) {
    const files = closure(entry, new Set());
    for (const key of chunks) closure(key, files);
    for (const ns of ['common', 'errors', ...namespaces]) closure(`src/i18n/locales/${language}/${ns}.json`, files);
    worst = Math.max(worst, [...files].reduce((sum, file) => sum + gzipped(file), 0));
  }
  const over = worst > budgetKb * 1024;
  failed ||= over;
  console.log(`${over ? 'OVER' : 'ok  '} ${(worst / 1024).toFixed(1).padStart(6)} kB of ${budgetKb} kB  ${screen}`);
}
if (failed) {
  console.error('A screen is over its JavaScript budget (gzipped); see above.');
  process.exit(1);
}
