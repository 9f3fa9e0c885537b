// An example single-page app for the Auth Gateway, in plain JavaScript (no build step).
//
// The gateway runs with REFRESH_TOKEN_TRANSPORT=cookie and this page's origin in CORS_ORIGINS:
// - the refresh token lives in an HttpOnly cookie that this script can neither read nor leak;
// - the access token lives in a variable, so it is gone when the tab closes, and a reload
//   gets a new one with a silent refreshToken call (the browser sends the cookie);
// - every request sends X-Requested-With, which the gateway requires while the cookie is in use
//   (a cross-site form cannot send it, so no other site can use the cookie);
// - credentials: "include" lets the browser send and store the cookie across origins.
"use strict";

// The gateway to talk to: ?gateway=… (kept for this tab, so that coming back from a sign-in
// provider, at a return URL without it, still talks to the same one), else the default.
const GATEWAY = (() => {
  const given = new URLSearchParams(window.location.search).get("gateway");
  if (given) sessionStorage.setItem("gateway", given);
  return given || sessionStorage.getItem("gateway") || "http://localhost:8000/graphql";
})();
// Where a sign-in provider sends the browser back (via the gateway): this page, without its
// query. It must be one of the gateway's OIDC_RETURN_URLS, exactly.
const RETURN_URL = window.location.origin + window.location.pathname;

const ERROR_FIELDS = "... on Error { message code } ... on RateLimited { retryAfterSeconds }";
const SIGNED_IN_FIELDS = "... on AuthPayload { accessToken expiresIn }";

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) { __typename ${ERROR_FIELDS} ... on InvalidInput { fields { field message } } } }`;
const VERIFY_OTP = `mutation VerifyOtp($input: VerifyOtpInput!) {
  verifyOtp(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS} } }`;
const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS} ... on EmailNotVerified { email }
    ... on MfaRequired { ticket methods webauthnOptions } } }`;
const COMPLETE_SIGN_IN = `mutation CompleteSignIn($input: CompleteSignInInput!) {
  completeSignIn(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS} } }`;
const SECOND_FACTORS = "query SecondFactors { secondFactors { totp recoveryCodesLeft } }";
const PASSKEYS = "query Passkeys { passkeys { id name lastUsedAt } }";
const BEGIN_PASSKEY_REGISTRATION = `mutation BeginPasskeyRegistration($input: BeginPasskeyRegistrationInput!) {
  beginPasskeyRegistration(input: $input) { __typename ${ERROR_FIELDS} ... on PasskeyOptions { optionsJson } } }`;
const FINISH_PASSKEY_REGISTRATION = `mutation FinishPasskeyRegistration($input: FinishPasskeyRegistrationInput!) {
  finishPasskeyRegistration(input: $input) { __typename ... on Error { message code }
    ... on PasskeyAdded { recoveryCodes passkey { id name } } } }`;
const BEGIN_PASSKEY_SIGN_IN = `mutation BeginPasskeySignIn {
  beginPasskeySignIn { __typename ${ERROR_FIELDS} ... on PasskeyOptions { optionsJson } } }`;
const FINISH_PASSKEY_SIGN_IN = `mutation FinishPasskeySignIn($input: FinishPasskeySignInInput!) {
  finishPasskeySignIn(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS} } }`;
// results without RateLimited ask only for the Error interface
const BEGIN_TOTP = `mutation BeginTotp { beginTotpEnrolment { __typename ... on Error { message code }
  ... on TotpEnrolment { secret qrCodeSvg } } }`;
const CONFIRM_TOTP = `mutation ConfirmTotp($input: ConfirmTotpEnrolmentInput!) {
  confirmTotpEnrolment(input: $input) { __typename ... on Error { message code } ... on RecoveryCodes { codes } } }`;
const SIGN_IN_PROVIDERS = "query SignInProviders { signInProviders { id displayName } }";
const BEGIN_PROVIDER_SIGN_IN = `mutation BeginProviderSignIn($input: BeginProviderSignInInput!) {
  beginProviderSignIn(input: $input) { __typename ${ERROR_FIELDS} ... on ProviderSignInStarted { authorizationUrl } } }`;
const FINISH_PROVIDER_SIGN_IN = `mutation FinishProviderSignIn($input: FinishProviderSignInInput!) {
  finishProviderSignIn(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS}
    ... on MfaRequired { ticket methods webauthnOptions } ... on LinkRequired { provider linkToken }
    ... on EmailConfirmationRequired { ticket email } } }`;
const CONFIRM_PROVIDER_EMAIL = `mutation ConfirmProviderEmail($input: ConfirmProviderEmailInput!) {
  confirmProviderEmail(input: $input) { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS}
    ... on MfaRequired { ticket methods webauthnOptions } ... on LinkRequired { provider linkToken } } }`;
const PROVIDER_IDENTITIES = "query ProviderIdentities { providerIdentities { provider email } }";
const LINK_PROVIDER = `mutation LinkProvider($input: LinkProviderInput!) {
  linkProvider(input: $input) { __typename ${ERROR_FIELDS} ... on ProviderLinked { identity { provider } } } }`;
const UNLINK_PROVIDER = `mutation UnlinkProvider($input: UnlinkProviderInput!) {
  unlinkProvider(input: $input) { __typename ${ERROR_FIELDS} ... on ProviderUnlinked { provider } } }`;
const REFRESH = `mutation Refresh { refreshToken { __typename ${SIGNED_IN_FIELDS} ${ERROR_FIELDS} } }`;
const ME = "query Me { me { id email firstName lastName } }";
const LOGOUT = "mutation Logout { logout { endedSessions } }";

let accessToken = null; // in memory only: never localStorage, never a readable cookie
let refreshTimer = null;
let refreshCount = 0;
let pendingEmail = null;
// The password typed on the sign-up or sign-in form, kept in memory until the code comes
// back with it: the gateway gives the account the password sent with the code.
let pendingPassword = null;
// The ticket of a sign-in waiting for its second step: memory only, single use, 5 minutes.
let pendingTicket = null;
let pendingWebauthnOptions = null; // with it, the account's passkeys may answer the second step
// A provider identity waiting to be linked to the account it matched (LinkRequired): memory
// only, single use, 10 minutes; linked as soon as the person is signed in to that account.
let pendingLinkToken = null;
// The ticket of a provider sign-in waiting for the code mailed to the address the provider did
// not vouch for (EmailConfirmationRequired): memory only, single use.
let pendingConfirmationTicket = null;
let providers = []; // the gateway's sign-in providers: { id, displayName }

const $ = (id) => document.getElementById(id);

class GatewayError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function graphql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", "X-Requested-With": "fetch" };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(GATEWAY, {
    method: "POST",
    credentials: "include",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) {
    const [first] = body.errors;
    throw new GatewayError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

// Runs a signed-in operation; if the access token has expired meanwhile (a laptop that
// slept through the scheduled refresh), refreshes once and tries again.
async function signedIn(query, variables) {
  try {
    return await graphql(query, variables);
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED" || !(await refresh())) throw error;
    return graphql(query, variables);
  }
}

function show(section) {
  for (const id of ["signed-out", "code-step", "provider-email-step", "second-step", "signed-in"]) $(id).hidden = id !== section;
}

function say(message) {
  $("status").textContent = message || "";
}

function describe(result) {
  if (result.__typename === "RateLimited") return `${result.message} (try again in ${result.retryAfterSeconds} s)`;
  return result.message || result.__typename;
}

async function startSession(payload) {
  accessToken = payload.accessToken;
  scheduleRefresh(payload.expiresIn);
  await loadMe();
  show("signed-in");
  if (pendingLinkToken) await linkPendingIdentity();
}

// Links the provider identity of a LinkRequired to the account just signed in to: a fresh
// sign-in is the recent proof the gateway asks for, so no password is needed here.
async function linkPendingIdentity() {
  const { linkProvider: result } = await signedIn(LINK_PROVIDER, { input: { linkToken: pendingLinkToken } });
  pendingLinkToken = null;
  if (result.__typename === "ProviderLinked") say(`${providerName(result.identity.provider)} is linked: it signs you in now.`);
  else say(describe(result));
  await loadIdentities();
}

function providerName(id) {
  const provider = providers.find((p) => p.id === id);
  return provider ? provider.displayName : id;
}

// Refresh well before the access token expires: halfway through a short lifetime,
// a minute before the end of a long one.
function scheduleRefresh(expiresIn) {
  clearTimeout(refreshTimer);
  const seconds = Math.max(expiresIn / 2, expiresIn - 60);
  refreshTimer = setTimeout(silentRefresh, seconds * 1000);
}

// Trades the cookie for a new access token (and a new cookie). True when it worked.
async function refresh() {
  const { refreshToken: result } = await graphql(REFRESH);
  if (result.__typename !== "AuthPayload") {
    if (result.__typename === "RateLimited") {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(silentRefresh, result.retryAfterSeconds * 1000);
    }
    return false;
  }
  accessToken = result.accessToken;
  scheduleRefresh(result.expiresIn);
  return true;
}

async function silentRefresh() {
  try {
    if (await refresh()) {
      refreshCount += 1;
      $("refresh-count").textContent = String(refreshCount);
    } else if (accessToken) {
      signOutLocally("Your session has ended; please sign in again.");
    }
  } catch (error) {
    say(`Could not refresh: ${error.message}`);
  }
}

async function loadMe() {
  const { me } = await signedIn(ME);
  $("me-email").textContent = me.email;
  $("me-id").textContent = me.id;
  await loadSecondFactors();
  await loadPasskeys();
  await loadIdentities();
}

async function loadIdentities() {
  const { providerIdentities } = await signedIn(PROVIDER_IDENTITIES);
  $("identity-list").replaceChildren(
    ...providerIdentities.map((identity) => {
      const item = document.createElement("li");
      const unlink = Object.assign(document.createElement("button"), { type: "button", textContent: "Unlink" });
      unlink.dataset.provider = identity.provider;
      unlink.addEventListener("click", () => unlinkProvider(identity.provider).catch((error) => say(error.message)));
      item.append(`${providerName(identity.provider)} (${identity.email || "no address"}) `, unlink);
      return item;
    }),
  );
}

async function unlinkProvider(provider) {
  const { unlinkProvider: result } = await signedIn(UNLINK_PROVIDER, { input: { provider } });
  if (result.__typename === "ProviderUnlinked") say(`${providerName(provider)} no longer signs you in.`);
  else say(describe(result));
  await loadIdentities();
}

// Sign-in providers: one button each, to sign in (signed out) or to link one (signed in).
async function loadProviders() {
  ({ signInProviders: providers } = await graphql(SIGN_IN_PROVIDERS));
  for (const [listId, label] of [["provider-sign-in", "Sign in with"], ["provider-link", "Link"]]) {
    $(listId).replaceChildren(
      ...providers.map((provider) => {
        const button = Object.assign(document.createElement("button"), {
          type: "button",
          textContent: `${label} ${provider.displayName}`,
        });
        button.dataset.provider = provider.id;
        button.addEventListener("click", () => goToProvider(provider.id).catch((error) => say(error.message)));
        return button;
      }),
    );
  }
}

// Off to the provider's page; it sends the browser to the gateway, which sends it back here
// with a one-time ?code= (or ?error=). No token ever travels in a URL.
async function goToProvider(provider) {
  const { beginProviderSignIn: result } = await graphql(BEGIN_PROVIDER_SIGN_IN, {
    input: { provider, returnUrl: RETURN_URL },
  });
  if (result.__typename !== "ProviderSignInStarted") return say(describe(result));
  window.location.assign(result.authorizationUrl);
}

const PROVIDER_ERRORS = {
  access_denied: "You cancelled the sign-in at the provider.",
  invalid_state: "That sign-in link is stale or came to another browser: please try again.",
  provider_unavailable: "The provider is not answering right now: please try again later.",
};

// Back from a provider: the one-time code becomes a session (or a second step, a link, or a
// code to enter first).
async function finishProviderSignIn(code) {
  const { finishProviderSignIn: result } = await graphql(FINISH_PROVIDER_SIGN_IN, { input: { code } });
  await continueProviderSignIn(result);
}

// What a provider sign-in answered, from finishProviderSignIn or confirmProviderEmail.
async function continueProviderSignIn(result) {
  if (result.__typename === "AuthPayload") await startSession(result);
  else if (result.__typename === "MfaRequired") askForSecondStep(result);
  else if (result.__typename === "EmailConfirmationRequired") askForProviderEmailCode(result);
  else if (result.__typename === "LinkRequired") {
    pendingLinkToken = result.linkToken;
    if (accessToken) return linkPendingIdentity();
    show("signed-out");
    say(`${result.message} Sign in to it here once, and ${providerName(result.provider)} will be linked to it.`);
  } else {
    if (!accessToken) show("signed-out");
    say(describe(result));
  }
}

// The provider did not vouch for the address: the gateway mailed a code to it.
function askForProviderEmailCode(required) {
  pendingConfirmationTicket = required.ticket;
  $("provider-email").textContent = required.email;
  $("provider-email-form").reset();
  show("provider-email-step");
}

handle("provider-email-form", async ({ code }) => {
  const input = { ticket: pendingConfirmationTicket, code };
  const { confirmProviderEmail: result } = await graphql(CONFIRM_PROVIDER_EMAIL, { input });
  // a wrong code may be tried again (a few times), a rate limit waited out; any other answer
  // ends this ticket
  if (["InvalidOtp", "InvalidInput", "RateLimited"].includes(result.__typename)) return say(describe(result));
  pendingConfirmationTicket = null;
  await continueProviderSignIn(result);
});

async function loadPasskeys() {
  const { passkeys } = await signedIn(PASSKEYS);
  $("passkey-list").replaceChildren(
    ...passkeys.map((passkey) =>
      Object.assign(document.createElement("li"), {
        textContent: `${passkey.name} (${passkey.lastUsedAt ? "last used " + passkey.lastUsedAt : "not used yet"})`,
      }),
    ),
  );
}

async function loadSecondFactors() {
  const { secondFactors } = await signedIn(SECOND_FACTORS);
  $("two-step-status").textContent = secondFactors.totp
    ? `On: an authenticator app, and ${secondFactors.recoveryCodesLeft} recovery codes left.`
    : "Off: signing in asks for your password only.";
  $("totp-begin").hidden = secondFactors.totp;
}

function signOutLocally(message) {
  accessToken = null;
  clearTimeout(refreshTimer);
  $("totp-setup").hidden = true;
  $("totp-secret").textContent = "";
  $("recovery-code-list").replaceChildren();
  $("recovery-codes").hidden = true;
  $("passkey-list").replaceChildren();
  $("identity-list").replaceChildren();
  show("signed-out");
  say(message);
}

function fields(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function handle(formId, action) {
  $(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    say("");
    try {
      await action(fields(event.target));
    } catch (error) {
      say(error.message);
    }
  });
}

function askForCode(email, password) {
  pendingEmail = email;
  pendingPassword = password;
  $("code-email").textContent = email;
  $("code-form").reset();
  show("code-step");
}

handle("register-form", async ({ email, password }) => {
  const { register: result } = await graphql(REGISTER, { input: { email, password } });
  if (result.__typename === "OtpSent") askForCode(email, password);
  else if (result.__typename === "InvalidInput") say(result.fields.map((f) => f.message).join(" "));
  else say(describe(result));
});

handle("code-form", async ({ code }) => {
  const input = { email: pendingEmail, code, password: pendingPassword };
  const { verifyOtp: result } = await graphql(VERIFY_OTP, { input });
  if (result.__typename === "AuthPayload") {
    pendingPassword = null;
    await startSession(result);
  }
  else say(describe(result));
});

handle("login-form", async ({ email, password }) => {
  const { login: result } = await graphql(LOGIN, { input: { email, password } });
  if (result.__typename === "AuthPayload") await startSession(result);
  else if (result.__typename === "MfaRequired") askForSecondStep(result);
  else if (result.__typename === "EmailNotVerified") {
    askForCode(result.email, password);
    say(result.message);
  } else say(describe(result));
});

function askForSecondStep(required) {
  pendingTicket = required.ticket;
  pendingWebauthnOptions = required.webauthnOptions;
  $("second-step-form").reset();
  $("second-step-passkey").hidden = !required.methods.includes("WEBAUTHN");
  show("second-step");
}

handle("second-step-form", async ({ code }) => {
  // six digits come from the app; anything else is a recovery code
  const method = /^\s*\d{6}\s*$/.test(code) ? "TOTP" : "RECOVERY_CODE";
  await completeSignIn(method, code);
});

async function completeSignIn(method, code) {
  const { completeSignIn: result } = await graphql(COMPLETE_SIGN_IN, { input: { ticket: pendingTicket, method, code } });
  if (result.__typename === "AuthPayload") {
    pendingTicket = pendingWebauthnOptions = null;
    await startSession(result);
  } else if (result.__typename === "InvalidTicket") {
    pendingTicket = pendingWebauthnOptions = null;
    show("signed-out");
    say(result.message);
  } else say(describe(result));
}

$("second-step-passkey").addEventListener("click", async () => {
  say("");
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(pendingWebauthnOptions));
    const assertion = await navigator.credentials.get({ publicKey });
    await completeSignIn("WEBAUTHN", JSON.stringify(assertion));
  } catch (error) {
    say(error.message);
  }
});

$("totp-begin").addEventListener("click", async () => {
  try {
    const { beginTotpEnrolment: result } = await signedIn(BEGIN_TOTP);
    if (result.__typename !== "TotpEnrolment") return say(describe(result));
    // the SVG is made by the gateway: shown as an image, never inserted as markup
    $("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(result.qrCodeSvg)}`;
    $("totp-secret").textContent = result.secret;
    $("totp-confirm-form").reset();
    $("totp-setup").hidden = false;
    $("totp-begin").hidden = true;
  } catch (error) {
    say(error.message);
  }
});

handle("totp-confirm-form", async ({ code }) => {
  const { confirmTotpEnrolment: result } = await signedIn(CONFIRM_TOTP, { input: { code } });
  if (result.__typename !== "RecoveryCodes") return say(describe(result));
  $("totp-setup").hidden = true;
  $("totp-secret").textContent = "";
  if (result.codes.length) showRecoveryCodes(result.codes);
  await loadSecondFactors();
});

function showRecoveryCodes(codes) {
  const list = $("recovery-code-list");
  list.replaceChildren(...codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })));
  $("recovery-codes").hidden = false;
}

$("recovery-codes-saved").addEventListener("click", () => {
  $("recovery-code-list").replaceChildren();
  $("recovery-codes").hidden = true;
});

// Passkeys: the gateway's options go to the browser's WebAuthn API as they are (JSON), and
// the browser's answer goes back as JSON; the browser and the authenticator do the rest.
handle("passkey-add-form", async ({ name, password }) => {
  const { beginPasskeyRegistration: begun } = await signedIn(BEGIN_PASSKEY_REGISTRATION, { input: { password } });
  if (begun.__typename !== "PasskeyOptions") return say(describe(begun));
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(begun.optionsJson));
  const credential = await navigator.credentials.create({ publicKey });
  const { finishPasskeyRegistration: added } = await signedIn(FINISH_PASSKEY_REGISTRATION, {
    input: { credential: JSON.stringify(credential), name },
  });
  if (added.__typename !== "PasskeyAdded") return say(describe(added));
  $("passkey-add-form").reset();
  say(`Passkey "${added.passkey.name}" added.`);
  if (added.recoveryCodes.length) showRecoveryCodes(added.recoveryCodes); // the first second factor
  await loadPasskeys();
  await loadSecondFactors();
});

$("passkey-sign-in").addEventListener("click", async () => {
  say("");
  try {
    const { beginPasskeySignIn: begun } = await graphql(BEGIN_PASSKEY_SIGN_IN);
    if (begun.__typename !== "PasskeyOptions") return say(describe(begun));
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(begun.optionsJson));
    const assertion = await navigator.credentials.get({ publicKey });
    const { finishPasskeySignIn: result } = await graphql(FINISH_PASSKEY_SIGN_IN, {
      input: { credential: JSON.stringify(assertion) },
    });
    if (result.__typename === "AuthPayload") await startSession(result);
    else say(describe(result));
  } catch (error) {
    say(error.message);
  }
});

$("reload-me").addEventListener("click", () => loadMe().catch((error) => say(error.message)));

$("logout").addEventListener("click", async () => {
  try {
    await signedIn(LOGOUT); // ends the session and clears the cookie
    signOutLocally("Signed out.");
  } catch (error) {
    say(error.message);
  }
});

// On load: a cookie from an earlier visit signs the person straight back in; a provider's
// one-time code (taken out of the address bar at once) finishes its sign-in.
(async () => {
  $("gateway-url").textContent = GATEWAY;
  const back = new URLSearchParams(window.location.search);
  if (back.has("code") || back.has("error")) window.history.replaceState(null, "", RETURN_URL);
  try {
    await loadProviders();
    if (await refresh()) {
      await loadMe();
      show("signed-in");
    } else show("signed-out");
    if (back.has("code")) await finishProviderSignIn(back.get("code"));
    else if (back.has("error")) say(PROVIDER_ERRORS[back.get("error")] || "The provider did not sign you in.");
  } catch (error) {
    show("signed-out");
    say(`The gateway is not answering: ${error.message}`);
  }
})();
