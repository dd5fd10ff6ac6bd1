// Asks the site's Go fallback handler (/api/hello has no file) and shows
// its answer.
fetch("/api/hello")
  .then((r) => r.json())
  .then((j) => { document.getElementById("hello").textContent = j.hello; })
  .catch((e) => { document.getElementById("hello").textContent = "error: " + e; });
