// Keeps what is typed into a task form as a server-side draft, so that a session ending mid-form
// loses nothing: saved a couple of seconds after typing stops and when the page is hidden or left.
// No framework and no inline script (the Content-Security-Policy allows only 'self' scripts).
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) { return; }
  var url = form.getAttribute("data-draft-url");
  var status = document.getElementById("draft-status");
  var signedOut = document.getElementById("draft-signed-out");
  var QUIET_MS = 2000;
  var timer = null;
  var lastSent = null;
  var stopped = false;   // signed out: saving again cannot work until the person signs in
  var submitting = false;

  function snapshot() { return new URLSearchParams(new FormData(form)).toString(); }

  function say(text) { if (status) { status.textContent = text || ""; } }

  function showSignedOut(message) {
    stopped = true;
    say("");
    if (signedOut) {
      signedOut.querySelector("span").textContent = message || "";
      signedOut.hidden = false;
    }
  }

  function save(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stopped || submitting) { return; }
    var body = snapshot();
    if (body === lastSent) { return; }
    var sending = body;
    fetch(url, {
      method: "POST", body: sending, credentials: "same-origin", keepalive: leaving && sending.length < 60000,
      headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        // A gate (a new pledge to accept, say) may redirect the call to a page: that saved nothing.
        if (response.ok && answer.saved_at) {
          lastSent = sending;
          say(answer.message);
        } else if (response.status === 401 || answer.code === "csrf_failed") {
          showSignedOut(answer.message);
        } else {
          say(answer.message || form.getAttribute("data-unsaved"));
        }
      });
    }).catch(function () {
      if (!leaving) { say(form.getAttribute("data-unsaved")); }
    });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { save(false); }, QUIET_MS);
  }

  // What the page was rendered with needs no saving, unless it is a refused submission shown again with
  // its errors: that input is newer than any draft, so it is kept at the next pause or when leaving.
  lastSent = form.querySelector(".field.invalid") ? null : snapshot();
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function (event) {
    if (stopped && signedOut) {
      // The session has ended: the form's security token died with it, so posting would only be refused.
      // What was typed is already kept for this browser; signing in again brings it back.
      event.preventDefault();
      window.location.href = signedOut.querySelector("a").href;
      return;
    }
    submitting = true;
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(true); }
  });
  window.addEventListener("pagehide", function () { save(true); });
}());
