import { describe, expect, it } from 'vitest';
import { localeFor, makeDateTimeFormatter } from './format.js';

describe('times on the screen', () => {
  it('are shown in the given time zone, in the language’s format', () => {
    const utcMorning = '2026-12-02T05:00:00Z';
    expect(makeDateTimeFormatter('pl', 'Europe/Warsaw')(utcMorning)).toBe('2 gru 2026, 06:00');
    expect(makeDateTimeFormatter('en', 'America/New_York')(utcMorning)).toBe('Dec 2, 2026, 12:00 AM');
  });

  it('fall back to the reader’s zone for a zone the browser does not know', () => {
    const format = makeDateTimeFormatter('en', 'Not/AZone');
    expect(format('2026-12-02T05:00:00Z')).toMatch(/2026/);
  });

  it('take the browser’s region when it speaks the language', () => {
    expect(localeFor('en', ['pl-PL', 'en-GB'])).toBe('en-GB');
    expect(localeFor('pl', ['en-US'])).toBe('pl-PL');
  });
});
