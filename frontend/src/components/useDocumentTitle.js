import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';

/** Names the browser tab after the screen, so screen-reader users hear where they are. */
export default function useDocumentTitle(title) {
  const { t } = useTranslation();
  const product = t('common:product');
  useEffect(() => {
    document.title = title ? `${title} · ${product}` : product;
  }, [title, product]);
}
