import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';

/** The locale for Intl: the chosen language, in the browser's region where it matches. */
export function localeFor(language, browserLanguages = navigator.languages ?? []) {
  const match = browserLanguages.find((tag) => tag.toLowerCase().startsWith(`${language}-`));
  return match ?? (language === 'pl' ? 'pl-PL' : 'en-US');
}

export function makeDateTimeFormatter(language, timeZone) {
  let format;
  try {
    format = new Intl.DateTimeFormat(localeFor(language), {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: timeZone || undefined,
    });
  } catch {
    // an unknown zone: the reader's own
    format = new Intl.DateTimeFormat(localeFor(language), { dateStyle: 'medium', timeStyle: 'short' });
  }
  return (value) => (value ? format.format(new Date(value)) : '');
}

/** Formats API timestamps in `timeZone` (the reader's own when left out), in the UI language. */
export function useDateTimeFormat(timeZone) {
  const { i18n } = useTranslation();
  return useMemo(() => makeDateTimeFormatter(i18n.language, timeZone), [i18n.language, timeZone]);
}
