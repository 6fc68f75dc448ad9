// Passkeys (WebAuthn) for the forms marked data-passkey="create" or "get", and the single sign-on
// "Continue" form that submits itself. Each passkey form is a plain POST: this fills its hidden
// "credential" field from the browser's authenticator, then submits it. Without JavaScript the
// forms stay hidden and the page offers the other ways in.
(function () {
  "use strict";
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) { auto.submit(); }
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  function bytes(b64url) {
    var s = atob(b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out.buffer;
  }
  function b64url(buffer) {
    var s = "", view = new Uint8Array(buffer);
    for (var i = 0; i < view.length; i++) { s += String.fromCharCode(view[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function publicKey(options) {
    options.challenge = bytes(options.challenge);
    if (options.user) { options.user.id = bytes(options.user.id); }
    (options.excludeCredentials || []).concat(options.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return options;
  }
  function serialise(credential) {
    var r = credential.response, response = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64url(r.authenticatorData);
      response.signature = b64url(r.signature);
      if (r.userHandle) { response.userHandle = b64url(r.userHandle); }
    }
    return JSON.stringify({ id: credential.id, rawId: b64url(credential.rawId), type: credential.type,
      response: response, clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var error = form.querySelector("[data-passkey-error]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name=credential]");
      if (field.value) { return; }
      event.preventDefault();
      if (error) { error.hidden = true; }
      var csrf = form.querySelector("input[name=csrf_token]").value;
      fetch(form.dataset.options, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
        .then(function (answer) {
          return answer.json().then(function (body) {
            if (!answer.ok) { throw new Error(body.error || "Passkeys are not available just now."); }
            return body;
          });
        })
        .then(function (options) {
          return form.dataset.passkey === "create"
            ? navigator.credentials.create({ publicKey: publicKey(options) })
            : navigator.credentials.get({ publicKey: publicKey(options) });
        })
        .then(function (credential) { field.value = serialise(credential); form.submit(); })
        .catch(function (problem) {
          if (!error) { return; }
          error.textContent = problem && problem.name === "NotAllowedError"
            ? "The passkey request was cancelled or timed out. Try again, or use another way in."
            : (problem && problem.message) || "That did not work. Try again, or use another way in.";
          error.hidden = false;
        });
    });
  });
})();
