/**
 * Headers of every dashboard answer: scripts and styles only from the gateway itself, no
 * inline code, nothing framed, no form posts; the page talks only to its own origin.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
});

/**
 * The one HTML document of the dashboard, for the index and every model's page alike: it holds
 * no data (the script reads the path and asks the API), so nothing a user named ever lands in markup.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>infermesh experiments</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script type="module" src="/dashboard/assets/dashboard.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="/dashboard">infermesh</a><span class="subtitle">experiments</span><span id="connection" class="connection">connecting…</span></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript>The dashboard needs JavaScript; the same data is at /v1/experiments.</noscript>
</body>
</html>
`;
