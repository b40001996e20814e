import { describe, expect, it } from 'vitest';
import { resources } from '../test/i18n.js';
import { NAMESPACES } from './index.js';

// Every key the English catalog has, Polish has too, with the same placeholders;
// plural keys in the forms each language needs (en: one/other; pl: one/few/many/other).
const PLURAL_FORMS = { en: ['one', 'other'], pl: ['one', 'few', 'many', 'other'] };
const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(tree, prefix = '') {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' ? flatten(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

const placeholders = (text) => [...text.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();

describe('the catalogs', () => {
  it('have every namespace in both languages', () => {
    expect(Object.keys(resources.en).sort()).toEqual([...NAMESPACES].sort());
    expect(Object.keys(resources.pl).sort()).toEqual([...NAMESPACES].sort());
  });

  for (const namespace of NAMESPACES) {
    it(`translate every key of ${namespace} into Polish, with the same placeholders`, () => {
      const en = new Map(flatten(resources.en[namespace]));
      const pl = new Map(flatten(resources.pl[namespace]));
      const problems = [];
      const bases = (map, language) => {
        const found = new Map();
        for (const [key, value] of map) {
          const base = key.replace(PLURAL, '');
          if (!found.has(base)) found.set(base, []);
          found.get(base).push([key, value]);
        }
        for (const [base, entries] of found) {
          if (entries.some(([key]) => PLURAL.test(key))) {
            for (const form of PLURAL_FORMS[language]) {
              if (!map.has(`${base}_${form}`)) problems.push(`${language}: ${namespace}:${base}_${form} missing`);
            }
          }
        }
        return found;
      };
      const enBases = bases(en, 'en');
      const plBases = bases(pl, 'pl');
      for (const [base, entries] of enBases) {
        if (!plBases.has(base)) {
          problems.push(`pl: ${namespace}:${base} missing`);
          continue;
        }
        const want = placeholders(entries[0][1]).filter((p) => p !== 'count');
        for (const [key, value] of plBases.get(base)) {
          if (!value.trim()) problems.push(`pl: ${namespace}:${key} is empty`);
          const got = placeholders(value).filter((p) => p !== 'count');
          if (want.join() !== got.join()) problems.push(`pl: ${namespace}:${key} has {{${got}}}, en has {{${want}}}`);
        }
      }
      for (const base of plBases.keys()) {
        if (!enBases.has(base)) problems.push(`en: ${namespace}:${base} missing (only in pl)`);
      }
      for (const [key, value] of en) if (!value.trim()) problems.push(`en: ${namespace}:${key} is empty`);
      expect(problems).toEqual([]);
    });
  }
});
