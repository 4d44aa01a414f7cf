// Starts Swagger UI on /docs from the self-hosted bundle (static/vendor/swagger-ui/):
// a file, not an inline script, so the page runs under the site's CSP (script-src 'self').
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
