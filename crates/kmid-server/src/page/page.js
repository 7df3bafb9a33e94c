// The relying party's page: makes a transaction with the verifier's API, shows its request
// as a QR code and a same-device link, polls the result and shows what was verified (the
// photo as an image) or why it was refused. Values are shown with textContent only.
"use strict";

const $ = (id) => document.getElementById(id);
const api = "verifier/transactions";
const labels = {
  family_name_unicode: "Family name",
  given_name_unicode: "Given name",
  birth_date: "Birth date",
  age_over_19: "19 or over",
  age_over_18: "18 or over",
  age_over_14: "14 or over",
  youth_act_adult: "Adult (Youth Protection Act)",
  registration_number: "Registration number",
  nationality: "Nationality",
};
let poller = null;

function show(id, visible) {
  $(id).hidden = !visible;
}

function fail(message) {
  $("error").textContent = message;
  show("error", true);
  show("again", true);
}

$("template").addEventListener("change", () => {
  show("basis", $("template").value === "full-identity");
});

$("start").addEventListener("submit", async (event) => {
  event.preventDefault();
  show("error", false);
  show("result", false);
  const body = {
    template: $("template").value,
    card: $("card").value,
    format: $("format").value,
    include_portrait: true,
    qr_svg: true,
  };
  if (body.template === "full-identity") {
    body.legal_basis = $("legal-basis").value;
  }
  const response = await fetch(api, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const created = await response.json().catch(() => ({}));
  if (response.status !== 201) {
    fail(created.error_description || created.error || `HTTP ${response.status}`);
    return;
  }
  $("qr").innerHTML = created.qr_svg; // the verifier's own SVG
  $("link").href = created.request_url;
  $("link").dataset.requestUrl = created.request_url;
  $("request").dataset.transaction = created.transaction_id;
  show("request", true);
  show("start", false);
  poll(created.transaction_id);
});

function poll(handle) {
  clearInterval(poller);
  poller = setInterval(async () => {
    const response = await fetch(`${api}/${encodeURIComponent(handle)}`).catch(() => null);
    // Busy or rate-limited (503, 429) or the network: ask again at the next tick.
    if (response === null || response.status === 429 || response.status >= 500) {
      return;
    }
    if (response.status !== 200) {
      clearInterval(poller);
      fail(`The transaction is gone (HTTP ${response.status})`);
      return;
    }
    const state = await response.json().catch(() => null);
    if (state === null) {
      return;
    }
    if (state.status === "expired") {
      clearInterval(poller);
      fail("The request expired before the wallet answered.");
      return;
    }
    if (state.result) {
      render(state.result, state.status === "answered");
      if (state.status === "answered") {
        clearInterval(poller);
      }
    }
  }, 1000);
}

function render(result, final) {
  show("result", true);
  show("again", true);
  const claims = $("claims");
  claims.replaceChildren();
  $("portrait").hidden = true;
  if (result.valid) {
    show("request", false);
    $("verdict").textContent = "Verified";
    $("verdict").className = "valid";
    $("reason").textContent = "";
    for (const presentation of result.presentations) {
      if (presentation.portrait_image) {
        $("portrait").src = presentation.portrait_image;
        $("portrait").hidden = false;
      }
      for (const [name, value] of Object.entries(presentation.claims)) {
        if (name === "portrait") continue;
        const dt = document.createElement("dt");
        dt.textContent = labels[name] || name;
        dt.dataset.claim = name;
        const dd = document.createElement("dd");
        dd.textContent = typeof value === "boolean" ? (value ? "yes" : "no") : String(value);
        dd.dataset.claim = name;
        claims.append(dt, dd);
      }
      const status = document.createElement("dt");
      status.textContent = "Status";
      const statusValue = document.createElement("dd");
      statusValue.textContent = presentation.status || "";
      statusValue.dataset.claim = "status";
      claims.append(status, statusValue);
    }
  } else {
    $("verdict").textContent = final ? "Refused" : "Refused (the wallet may try again)";
    $("verdict").className = "invalid";
    $("reason").textContent = `${result.error}: ${result.message}`;
  }
}

$("again").addEventListener("click", () => {
  clearInterval(poller);
  show("result", false);
  show("request", false);
  show("error", false);
  show("again", false);
  show("start", true);
});
