import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { fieldMessage } from '../api/errors.js';

// Shared form pieces are plain Bootstrap markup, not react-bootstrap components:
// the public pages load them, and those pages have a tight JavaScript budget.

/**
 * A labelled form field whose API errors show beneath it, tied to it with
 * aria-describedby so a screen reader reads them with the field. `as` is
 * 'input' (default), 'textarea' or 'select' (options as children).
 */
export default function Field({ label, errors, help, as = 'input', className = 'mb-3', children, ...control }) {
  const { t } = useTranslation();
  const id = useId();
  const invalid = Boolean(errors?.length);
  const describedBy = [help ? `${id}-help` : null, invalid ? `${id}-error` : null].filter(Boolean).join(' ');
  const Control = as;
  const base = as === 'select' ? 'form-select' : 'form-control';
  return (
    <div className={className}>
      <label className="form-label" htmlFor={id}>
        {label}
      </label>
      <Control
        id={id}
        className={`${base}${invalid ? ' is-invalid' : ''}`}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy || undefined}
        {...control}
      >
        {children}
      </Control>
      {help && (
        <div id={`${id}-help`} className="form-text">
          {help}
        </div>
      )}
      {invalid && (
        <div id={`${id}-error`} className="invalid-feedback d-block">
          {errors.map((error) => fieldMessage(t, error)).join(' ')}
        </div>
      )}
    </div>
  );
}
