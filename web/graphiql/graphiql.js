// Starts GraphiQL on the page the gateway serves at its GraphQL endpoint (GET /graphql).
// A file rather than an inline script, so the page's Content-Security-Policy allows
// scripts from the gateway only ('self') and needs no hashes.
"use strict";

(function () {
  var DEFAULT_QUERY = [
    "# Auth Gateway: GraphiQL (development only)",
    "#",
    "# To act as someone, sign in (login or verifyOtp)",
    "# and paste its accessToken into Headers below:",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "# Run with Ctrl-Enter; Docs lists every operation.",
    "",
    "query Me {",
    "  me {",
    "    id",
    "    email",
    "    firstName",
    "    emailVerified",
    "  }",
    "}",
    "",
  ].join("\n");

  // The page is served by the endpoint it queries; its own URL (without a query string) is the endpoint.
  var endpoint = window.location.origin + window.location.pathname;

  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    // The gateway asks every POST for X-Requested-With when refresh tokens travel in a
    // cookie (CSRF): no HTML form can send it. Headers typed in the editor are added to it.
    headers: { "X-Requested-With": "GraphiQL" },
  });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      // A bearer token pasted into Headers stays in this tab: it is not written to localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    }),
  );
})();
