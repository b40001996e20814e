// Starts Swagger UI on /api/docs (the page is app/main.py's): a file of its own, not
// an inline script, so the page's Content-Security-Policy needs only 'self'.
/* global SwaggerUIBundle */
window.addEventListener('load', () => {
  const root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
