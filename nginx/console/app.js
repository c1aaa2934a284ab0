// app.js — the console shell: sign-in, navigation by location hash, pages.
import { session, call, keepFresh } from "./api.js";
import { h, form, say, errorText } from "./ui.js";

const pages = {
  data: () => import("./data.js"),
  users: () => import("./users.js"),
  files: () => import("./files.js"),
  events: () => import("./events.js"),
  settings: () => import("./settings.js"),
};
let cleanup = null;

// Whether the signed-in end user administers the tenant: the API answers
// a route meant for API keys (the tenant's usage) only for them.
async function isAdmin() {
  try {
    await call("GET", "/v1/usage", undefined, { signIn: true });
    return true;
  } catch (e) {
    if (e.status === 403 && e.code === "INSUFFICIENT_SCOPE") return false;
    throw e;
  }
}

function signIn(main) {
  const keyForm = form({
    label: "Sign in with an API key", submit: "Sign in",
    fields: [{ name: "api_key", label: "API key", type: "password", required: true, autocomplete: "off",
      hint: "Kept in this tab's sessionStorage only; closing the tab signs you out." }],
    onSubmit: async (v) => {
      session.set(v.api_key.trim(), "key", "API key " + v.api_key.trim().slice(0, 12) + "…");
      try {
        await call("GET", "/v1/object-types", undefined, { signIn: true });
      } catch (e) {
        session.clear();
        if (e.status === 401 || e.status === 403) e.field = "api_key";
        throw e;
      }
      location.hash = "#/data";
      route();
    },
  });
  const pwForm = form({
    label: "Sign in with email and password", submit: "Sign in",
    fields: [{ name: "tenant_id", label: "Tenant ID", required: true, placeholder: "tn_…" },
      { name: "email", label: "Email", type: "email", required: true, autocomplete: "username" },
      { name: "password", label: "Password", type: "password", required: true, autocomplete: "current-password" }],
    onSubmit: async (v) => {
      const { data } = await call("POST", "/v1/auth/portal-login",
        { tenant_id: v.tenant_id.trim(), email: v.email, password: v.password }, { signIn: true });
      if (data.mfa_required) throw new Error("This account needs a second factor: sign in with an API key instead.");
      session.set(data.access_token, "user", v.email);
      session.setTokens(data);
      let admin;
      try {
        admin = await isAdmin();
      } catch (e) {
        session.clear();
        throw e;
      }
      session.set(session.token(), "user", v.email + (admin ? " (admin)" : ""));
      keepFresh();
      location.hash = admin ? "#/data" : "#/files";
      route();
    },
  });
  main.replaceChildren(h("h1", {}, "Sign in"),
    h("div", { class: "cols" },
      h("section", { class: "card", "aria-labelledby": "si-key" }, h("h2", { id: "si-key" }, "API key"), keyForm),
      h("section", { class: "card", "aria-labelledby": "si-pw" }, h("h2", { id: "si-pw" }, "Administrator email and password"),
        h("p", { class: "muted" }, "For the tenant's own users. A user whose roles grant the admin permission " +
          "gets the whole console; other users reach only what the API lets end users do (their objects under " +
          "the policies, their files)."), pwForm)));
  keyForm.querySelector("input").focus();
}

async function route() {
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const signedIn = !!session.token();
  nav.hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("who").textContent = signedIn ? session.label() : "";
  if (!signedIn) return signIn(main);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = pages[parts[0]] ? parts[0] : "data";
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === "#/" + name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const mod = await pages[name]();
  main.replaceChildren();
  try {
    cleanup = (await mod.render(main, parts.slice(1))) || null;
  } catch (e) {
    main.append(h("p", { class: "err", role: "alert" }, errorText(e)));
    if (session.kind() === "user" && e.code === "INSUFFICIENT_SCOPE")
      main.append(h("p", {}, "You are signed in as an end user: the API lets end-user tokens reach only the routes " +
        "meant for them (their objects under the policies, their files, their account). To administer the tenant, " +
        "sign in with an API key, or as a user holding a role with the admin permission."));
  }
  document.title = "Tessera console — " + name;
}

window.addEventListener("hashchange", route);
window.addEventListener("tessera:unauthorized", () => {
  say("The credential was refused: sign in again.");
  session.clear();
  route();
});
keepFresh();
document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  location.hash = "";
  route();
});
route();
