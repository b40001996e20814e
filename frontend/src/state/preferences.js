import { createSlice } from '@reduxjs/toolkit';

// Client state every page shares: the language and the colour theme. Both are
// remembered in local storage; a theme of null follows the system setting.
export const LANGUAGES = ['en', 'pl'];
const LANGUAGE_KEY = 'sit.language';
const THEME_KEY = 'sit.theme';

function read(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value == null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // unavailable storage: the choice lasts this page only
  }
}

/** The remembered language, else the browser's first supported one, else English. */
export function initialLanguage(storedValue = read(LANGUAGE_KEY), browser = navigator.languages) {
  if (LANGUAGES.includes(storedValue)) return storedValue;
  for (const tag of browser ?? []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

export function initialTheme(storedValue = read(THEME_KEY)) {
  return storedValue === 'light' || storedValue === 'dark' ? storedValue : null;
}

const preferencesSlice = createSlice({
  name: 'preferences',
  initialState: () => ({
    language: initialLanguage(),
    languageChosen: LANGUAGES.includes(read(LANGUAGE_KEY)),
    theme: initialTheme(),
  }),
  reducers: {
    languageChosen(state, action) {
      if (!LANGUAGES.includes(action.payload)) return;
      state.language = action.payload;
      state.languageChosen = true;
      write(LANGUAGE_KEY, action.payload);
    },
    // The profile's language, taken when the person has not picked one on this device.
    languageAdopted(state, action) {
      if (!LANGUAGES.includes(action.payload)) return;
      state.language = action.payload;
    },
    themeChosen(state, action) {
      state.theme = action.payload === 'light' || action.payload === 'dark' ? action.payload : null;
      write(THEME_KEY, state.theme);
    },
  },
});

export const { languageChosen, languageAdopted, themeChosen } = preferencesSlice.actions;
export default preferencesSlice.reducer;

export const selectLanguage = (state) => state.preferences.language;
export const selectTheme = (state) => state.preferences.theme;
