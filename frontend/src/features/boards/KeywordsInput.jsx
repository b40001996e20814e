import { useId, useRef, useState } from 'react';
import Badge from 'react-bootstrap/Badge';
import CloseButton from 'react-bootstrap/CloseButton';
import Form from 'react-bootstrap/Form';
import { useTranslation } from 'react-i18next';
import { fieldMessage } from '../../api/errors.js';

export const KEYWORD_MAX = 100;

/** Adds `text` (comma-separated words allowed) to `keywords`, skipping repeats ignoring case. */
export function addKeywords(keywords, text) {
  const next = [...keywords];
  for (const raw of text.split(',')) {
    const word = raw.trim().slice(0, KEYWORD_MAX);
    if (word && !next.some((k) => k.toLowerCase() === word.toLowerCase())) next.push(word);
  }
  return next;
}

/**
 * Keywords as tags: type a word and press Enter or a comma to add it; each tag has
 * a remove button, after which the focus returns to the box.
 */
export default function KeywordsInput({ value, onChange, errors, label }) {
  const { t } = useTranslation('boards');
  const id = useId();
  const [draft, setDraft] = useState('');
  const box = useRef(null);
  const invalid = Boolean(errors?.length);

  function commit() {
    if (draft.trim()) onChange(addKeywords(value, draft));
    setDraft('');
  }

  function onKeyDown(event) {
    if (event.key === 'Enter' || event.key === ',') {
      event.preventDefault();
      commit();
    }
  }

  return (
    <Form.Group className="mb-3">
      <Form.Label htmlFor={id}>{label ?? t('fields.keywords')}</Form.Label>
      {value.length > 0 && (
        <ul className="list-unstyled d-flex flex-wrap gap-2 mb-2" aria-label={t('keywords.list')}>
          {value.map((keyword) => (
            <li key={keyword}>
              <Badge bg="" className="text-bg-secondary d-inline-flex align-items-center gap-1 fs-6 fw-normal">
                {keyword}
                <CloseButton
                  variant="white"
                  className="ms-1"
                  style={{ fontSize: '0.6rem' }}
                  aria-label={t('keywords.remove', { keyword })}
                  onClick={() => {
                    onChange(value.filter((k) => k !== keyword));
                    box.current?.focus();
                  }}
                />
              </Badge>
            </li>
          ))}
        </ul>
      )}
      <Form.Control
        ref={box}
        id={id}
        value={draft}
        maxLength={KEYWORD_MAX}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={onKeyDown}
        onBlur={commit}
        isInvalid={invalid}
        aria-describedby={`${id}-help${invalid ? ` ${id}-error` : ''}`}
      />
      <Form.Text id={`${id}-help`} className="d-block">
        {t('keywords.help')}
      </Form.Text>
      {invalid && (
        <Form.Control.Feedback type="invalid" id={`${id}-error`} className="d-block">
          {errors.map((error) => fieldMessage(t, error)).join(' ')}
        </Form.Control.Feedback>
      )}
    </Form.Group>
  );
}
