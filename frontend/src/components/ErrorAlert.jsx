import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError, errorMessage, fieldMessage, unplacedFieldErrors } from '../api/errors.js';
import Alert from './Alert.jsx';

/**
 * A failed request in the reader's language. Field errors the form shows next to
 * its fields are left out (pass their names as `fieldNames`); any others are listed.
 */
export default function ErrorAlert({ error, fieldNames = [], children, className }) {
  const { t } = useTranslation();
  const place = useRef(null);
  const described = describeError(error);
  // After a failed submit the keyboard goes to the first field to fix.
  useEffect(() => {
    if (!error) return;
    const form = place.current?.closest('form') ?? place.current?.parentElement?.querySelector('form');
    form?.querySelector('[aria-invalid="true"]')?.focus();
  }, [error]);
  if (!described) return null;
  const others = unplacedFieldErrors(described, fieldNames);
  const placedOnly =
    described.code === 'validation_error' && Object.keys(described.fields).length > 0 && others.length === 0;
  return (
    <Alert variant="danger" className={className} ref={place}>
      {placedOnly ? t('errors:check_fields') : errorMessage(t, described)}
      {others.length > 0 && (
        <ul className="mb-0 mt-2">
          {others.map((item, index) => (
            <li key={index}>{fieldMessage(t, item)}</li>
          ))}
        </ul>
      )}
      {children}
    </Alert>
  );
}
