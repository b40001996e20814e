// Runs before the app: the remembered theme, else the system's (see src/app/effects.js).
(function () {
  var theme;
  try {
    theme = window.localStorage.getItem('sit.theme');
  } catch {
    theme = null;
  }
  if (theme !== 'light' && theme !== 'dark') {
    theme = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  document.documentElement.setAttribute('data-bs-theme', theme);
})();
