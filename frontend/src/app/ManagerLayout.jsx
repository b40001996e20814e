import { Suspense, useEffect, useState } from 'react';
import Button from 'react-bootstrap/Button';
import Container from 'react-bootstrap/Container';
import Nav from 'react-bootstrap/Nav';
import Navbar from 'react-bootstrap/Navbar';
import { useTranslation } from 'react-i18next';
import { useDispatch, useSelector } from 'react-redux';
import { Link, NavLink, Outlet } from 'react-router';
import { useGetMeQuery, useUpdateMeMutation } from '../api/meApi.js';
import LoadingState from '../components/LoadingState.jsx';
import LanguageSwitch from '../components/LanguageSwitch.jsx';
import ThemeSwitch from '../components/ThemeSwitch.jsx';
import { useLogoutMutation } from '../features/auth/authApi.js';
import { languageAdopted } from '../state/preferences.js';
import { sessionEnded } from '../state/session.js';

/** Keeps the interface language and the profile's language the same. */
function useProfileLanguage(me, updateMe) {
  const dispatch = useDispatch();
  const { language, languageChosen } = useSelector((state) => state.preferences);
  useEffect(() => {
    if (!me || me.language === language) return;
    // Picked on this device: the profile follows (mails to the manager use it).
    // Never picked here: take the profile's.
    if (languageChosen) updateMe({ language });
    else dispatch(languageAdopted(me.language));
  }, [me, language, languageChosen, updateMe, dispatch]);
}

export default function ManagerLayout() {
  const { t } = useTranslation();
  const dispatch = useDispatch();
  const { data: me } = useGetMeQuery();
  const [updateMe] = useUpdateMeMutation();
  const [logout, { isLoading: signingOut }] = useLogoutMutation();
  const [menuOpen, setMenuOpen] = useState(false);
  useProfileLanguage(me, updateMe);

  async function signOut() {
    await logout();
    dispatch(sessionEnded('signed_out')); // RequireAuth then shows sign-in
  }

  return (
    <>
      <a href="#main" className="visually-hidden-focusable position-absolute top-0 start-0 p-2 bg-body">
        {t('common:skip_to_content')}
      </a>
      <Navbar
        expand="md"
        className="bg-body border-bottom"
        as="header"
        expanded={menuOpen}
        onToggle={setMenuOpen}
        collapseOnSelect
      >
        <Container>
          <Navbar.Brand as={Link} to="/boards">
            {t('common:product')}
          </Navbar.Brand>
          <Navbar.Toggle aria-controls="main-nav" aria-expanded={menuOpen} label={t('common:menu')} />
          <Navbar.Collapse id="main-nav">
            <Nav as="nav" className="me-auto" aria-label={t('common:main_nav')}>
              <Nav.Link as={NavLink} to="/boards" eventKey="boards">
                {t('common:nav.boards')}
              </Nav.Link>
              <Nav.Link as={NavLink} to="/inboxes" eventKey="inboxes">
                {t('common:nav.inboxes')}
              </Nav.Link>
            </Nav>
            <div className="d-flex flex-column flex-md-row align-items-md-center gap-2 gap-md-3 py-2 py-md-0">
              <LanguageSwitch />
              <ThemeSwitch />
              {me && <span className="small text-body-secondary text-truncate">{me.full_name}</span>}
              <Button size="sm" variant="outline-secondary" onClick={signOut} disabled={signingOut}>
                {t('common:sign_out')}
              </Button>
            </div>
          </Navbar.Collapse>
        </Container>
      </Navbar>
      <main id="main" className="py-4" tabIndex={-1}>
        <Container>
          <Suspense fallback={<LoadingState />}>
            <Outlet />
          </Suspense>
        </Container>
      </main>
    </>
  );
}
