// Draws the API document of /api/v1/docs with Swagger UI (its files are served from the installed package).
(function () {
  var holder = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({url: holder.dataset.url, domNode: holder, deepLinking: true,
                          tryItOutEnabled: false, persistAuthorization: false});
})();
