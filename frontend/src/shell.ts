// The app shell: the sign-in screen, the navigation between the views a role
// may open (Alt+1..3 too), and who is signed in.

import type { Auth, ViewName } from "./auth";
import { h, replaceChildren, setText } from "./dom";
import { t, type StringKey } from "./i18n";

export class LoginScreen {
  readonly element: HTMLElement;
  private readonly title = h("h1", { class: "login-title" });
  private readonly userLabel = h("label", { for: "login-username" });
  private readonly passLabel = h("label", { for: "login-password" });
  private readonly user = h("input", { id: "login-username", name: "username", autocomplete: "username", required: "", class: "control", "data-testid": "login-username" });
  private readonly pass = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: "", class: "control", "data-testid": "login-password" });
  private readonly submit = h("button", { type: "submit", class: "action action-primary", "data-testid": "login-submit" });
  private readonly error = h("p", { class: "form-error", role: "alert", "data-testid": "login-error", hidden: "" });
  private readonly langButton = h("button", { type: "button", class: "lang-toggle" });
  private errorKey: StringKey | null = null;

  constructor(auth: Auth, onLang: () => void) {
    const form = h(
      "form",
      { class: "login-form", "data-testid": "login-form" },
      this.title,
      h("div", { class: "field" }, this.userLabel, this.user),
      h("div", { class: "field" }, this.passLabel, this.pass),
      this.error,
      this.submit,
    );
    this.element = h("main", { class: "login", "data-testid": "login", hidden: "" }, h("div", { class: "login-lang" }, this.langButton), form);
    this.langButton.addEventListener("click", onLang);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit.disabled = true;
      void auth.login(this.user.value.trim(), this.pass.value).then((result) => {
        this.submit.disabled = false;
        this.errorKey = result === "ok" ? null : result === "refused" ? "loginRefused" : "loginUnavailable";
        if (result === "ok") this.pass.value = "";
        this.render();
        if (result !== "ok") this.pass.select();
      });
    });
  }

  show(visible: boolean): void {
    this.element.hidden = !visible;
    if (visible) {
      this.render();
      (this.user.value === "" ? this.user : this.pass).focus();
    }
  }

  render(): void {
    setText(this.title, t("loginTitle"));
    setText(this.userLabel, t("username"));
    setText(this.passLabel, t("password"));
    setText(this.submit, t("signIn"));
    setText(this.langButton, t("langButton"));
    this.langButton.setAttribute("aria-label", t("langButtonLabel"));
    this.error.hidden = this.errorKey === null;
    setText(this.error, this.errorKey === null ? "" : t(this.errorKey));
  }
}

export class Navigation {
  readonly element: HTMLElement;
  private readonly tabs = h("div", { class: "nav-tabs", role: "tablist" });
  private readonly who = h("span", { class: "who", "data-testid": "user" });
  private readonly signOut = h("button", { type: "button", class: "action action-quiet", "data-testid": "sign-out" });
  private views: ViewName[] = [];
  private current: ViewName = "wall";

  constructor(
    private readonly onGo: (view: ViewName) => void,
    onSignOut: () => void,
  ) {
    this.element = h("nav", { class: "nav", "aria-label": "views" }, this.tabs, h("span", { class: "user-box" }, this.who, this.signOut));
    this.tabs.addEventListener("click", (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest<HTMLElement>("[data-view]") : null;
      if (b !== null) this.onGo(b.dataset["view"] as ViewName);
    });
    this.signOut.addEventListener("click", onSignOut);
    document.addEventListener("keydown", (ev) => {
      if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const view = this.views[Number(ev.key) - 1];
      if (view !== undefined) {
        ev.preventDefault();
        this.onGo(view);
      }
    });
  }

  set(views: ViewName[], current: ViewName, user: { username: string; role: string } | null, open: boolean): void {
    this.views = views;
    this.current = current;
    this.element.hidden = views.length === 0;
    replaceChildren(
      this.tabs,
      ...views.map((v, i) =>
        h(
          "button",
          { type: "button", role: "tab", class: "nav-tab", "data-view": v, "data-testid": `nav-${v}`, "aria-selected": v === this.current ? "true" : "false", title: `Alt+${i + 1}` },
          t(`view_${v}` as StringKey),
        ),
      ),
    );
    setText(this.who, open || user === null ? "" : `${user.username} · ${t(`role_${user.role}` as StringKey)}`);
    this.signOut.hidden = open || user === null;
    setText(this.signOut, t("signOut"));
  }
}
