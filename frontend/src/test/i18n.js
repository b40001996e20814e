import i18n from '../i18n/index.js';

// Tests start i18next as the app does, but with every catalog already at hand,
// so that nothing renders before its words are there.
const catalogs = import.meta.glob('../i18n/locales/*/*.json', { eager: true, import: 'default' });

export const resources = {};
for (const [path, catalog] of Object.entries(catalogs)) {
  const [, language, namespace] = path.match(/locales\/(\w+)\/(\w+)\.json$/);
  (resources[language] ??= {})[namespace] = catalog;
}

export async function startTestI18n(language = 'en') {
  if (!i18n.isInitialized) {
    const { initReactI18next } = await import('react-i18next');
    await i18n.use(initReactI18next).init({
      lng: language,
      resources,
      fallbackLng: false,
      defaultNS: 'common',
      interpolation: { escapeValue: false },
      react: { useSuspense: false },
    });
  }
  await i18n.changeLanguage(language);
  return i18n;
}
