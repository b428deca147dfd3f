// Passkeys: the browser's half of adding one (account page) and of signing in with one
// (sign-in page). A button with data-passkey="add" or "sign-in" names the URL that gives
// the options (data-options) and the one that takes the answer (data-finish); the page's
// CSRF token travels in the X-CSRFToken header. Buttons stay hidden where the browser has
// no WebAuthn. Messages go to the element named by data-status, which is a live region.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function encode(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((byte) => { text += String.fromCharCode(byte); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function post(url, body, csrf) {
    const answer = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {}),
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      throw new Error(data.error || "Something went wrong. Try again.");
    }
    return data;
  }

  function descriptors(list) {
    return (list || []).map((item) => Object.assign({}, item, {id: decode(item.id)}));
  }

  function asJSON(credential) {
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {clientDataJSON: encode(response.clientDataJSON)},
    };
    if (credential.authenticatorAttachment) {
      json.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (response.attestationObject) {
      json.response.attestationObject = encode(response.attestationObject);
      if (response.getTransports) {
        json.response.transports = response.getTransports();
      }
    } else {
      json.response.authenticatorData = encode(response.authenticatorData);
      json.response.signature = encode(response.signature);
      if (response.userHandle) {
        json.response.userHandle = encode(response.userHandle);
      }
    }
    return json;
  }

  async function ceremony(button) {
    const csrf = button.dataset.csrf;
    const options = await post(button.dataset.options, {}, csrf);
    options.challenge = decode(options.challenge);
    let credential;
    if (button.dataset.passkey === "add") {
      options.user.id = decode(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
      credential = await navigator.credentials.create({publicKey: options});
    } else {
      options.allowCredentials = descriptors(options.allowCredentials);
      credential = await navigator.credentials.get({publicKey: options});
    }
    const name = document.getElementById(button.dataset.name || "");
    return post(button.dataset.finish, {
      credential: asJSON(credential),
      name: name ? name.value : "",
    }, csrf);
  }

  document.querySelectorAll("[data-passkey]").forEach((button) => {
    const status = document.getElementById(button.dataset.status);
    const block = button.closest("[data-passkey-block]") || button;
    block.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Follow what your device asks you to do.";
      try {
        const done = await ceremony(button);
        window.location.assign(done.redirect);
      } catch (error) {
        status.textContent = error.name === "NotAllowedError"
          ? "The passkey was not used. Try again when you are ready."
          : error.message;
        button.disabled = false;
      }
    });
  });
})();
