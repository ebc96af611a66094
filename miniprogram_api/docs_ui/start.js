// Starts Swagger UI on /api/docs. It is a file served from our own origin, not an inline
// script, so the page's Content-Security-Policy can allow scripts from 'self' only.
"use strict";

window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root });
});
