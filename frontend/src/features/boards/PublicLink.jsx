import { useId } from 'react';
import Form from 'react-bootstrap/Form';
import InputGroup from 'react-bootstrap/InputGroup';
import { useTranslation } from 'react-i18next';
import CopyButton from '../../components/CopyButton.jsx';
import { publicFormUrl } from './publicLink.js';

/** The public form's link, selectable, with a copy button. */
export default function PublicLink({ board }) {
  const { t } = useTranslation('boards');
  const id = useId();
  const url = publicFormUrl(board);
  return (
    <Form.Group>
      <Form.Label htmlFor={id} className="small mb-1">
        {t('public_link.label', { name: board.name })}
      </Form.Label>
      <InputGroup size="sm">
        <Form.Control id={id} readOnly value={url} onFocus={(event) => event.target.select()} />
        <CopyButton text={url} />
        <a className="btn btn-outline-secondary" href={url} target="_blank" rel="noreferrer">
          {t('public_link.open')}
        </a>
      </InputGroup>
    </Form.Group>
  );
}
