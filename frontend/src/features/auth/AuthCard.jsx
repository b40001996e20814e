import Card from 'react-bootstrap/Card';
import useDocumentTitle from '../../components/useDocumentTitle.js';

/** The card every sign-in screen sits in, with the screen's name as its heading. */
export default function AuthCard({ title, children, footer }) {
  useDocumentTitle(title);
  return (
    <Card className="shadow-sm">
      <Card.Body className="p-4">
        <h1 className="h3 mb-4">{title}</h1>
        {children}
      </Card.Body>
      {footer && <Card.Footer className="bg-body small">{footer}</Card.Footer>}
    </Card>
  );
}
