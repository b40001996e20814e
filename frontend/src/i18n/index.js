import i18n from 'i18next';
import resourcesToBackend from 'i18next-resources-to-backend';
import { initReactI18next } from 'react-i18next';
import { initialLanguage, LANGUAGES } from '../state/preferences.js';

// One catalog file per language and namespace (a feature, plus common and errors),
// each its own chunk, fetched when a screen first asks for it: a reporter on the
// public form downloads the form's words in one language, nothing else.
export const NAMESPACES = ['common', 'errors', 'auth', 'boards', 'tickets', 'public', 'inboxes'];

export const loadCatalog = (language, namespace) => import(`./locales/${language}/${namespace}.json`);

/** Starts i18next; resolves once `namespaces` of the starting language are loaded. */
export function startI18n(namespaces) {
  return i18n
    .use(resourcesToBackend(loadCatalog))
    .use(initReactI18next)
    .init({
      lng: initialLanguage(),
      fallbackLng: false,
      supportedLngs: LANGUAGES,
      ns: namespaces,
      defaultNS: 'common',
      interpolation: { escapeValue: false },
      returnNull: false,
      react: { useSuspense: true },
      // A key with no translation is a bug: say so where the browser tests look.
      saveMissing: true,
      missingKeyHandler: (languages, namespace, key) => {
        console.error(`Missing translation: ${languages.join(',')} ${namespace}:${key}`);
      },
    });
}

export default i18n;
