// Sends the reset link's token with the new password; shows the outcome.
(function () {
  "use strict";
  var q = new URLSearchParams(window.location.search);
  var form = document.getElementById("reset");
  var msg = document.getElementById("msg");
  function say(text, ok) {
    msg.textContent = text;
    msg.className = ok ? "ok" : "err";
  }
  if (!q.get("token") || !q.get("tenant_id")) {
    form.hidden = true;
    say("This link is incomplete. Ask for a new password-reset email.", false);
    return;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var pw = document.getElementById("password").value;
    if (pw !== document.getElementById("again").value) {
      say("The two passwords differ.", false);
      return;
    }
    fetch("/v1/auth/portal-reset-password", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenant_id: q.get("tenant_id"), token: q.get("token"), password: pw })
    }).then(function (res) {
      return res.json();
    }).then(function (body) {
      if (body.success) {
        form.hidden = true;
        say("Your password is set. You can sign in with it now.", true);
      } else {
        say(body.error && body.error.message ? body.error.message : "The password could not be set.", false);
      }
    }).catch(function () {
      say("The server could not be reached; try again.", false);
    });
  });
})();
