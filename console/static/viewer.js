// <vigil-viewer token="..." server="https://vigil.example.org"></vigil-viewer>
// A read-only list of one tenant's recorded accesses, for embedding in a
// SaaS page. The token comes from POST /api/v1/viewer-token (the SDKs'
// createViewerToken) and is sent in the Authorization header, never in a
// cookie; the element shows nothing once it expires.
"use strict";

(() => {
  const origin = (() => {
    try { return new URL(document.currentScript.src).origin; } catch (e) { return ""; }
  })();

  const css = `
    :host { display: block; font: 14px/1.45 system-ui, sans-serif; color: #1a1a1a; }
    table { border-collapse: collapse; width: 100%; }
    th, td { border-bottom: 1px solid #c4c4c4; padding: .3em .5em; text-align: left; }
    thead th { background: #f2f4f7; }
    .error { color: #b3261e; }
    button { font: inherit; padding: .3em .8em; }`;

  class VigilViewer extends HTMLElement {
    connectedCallback() {
      const root = this.shadowRoot || this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = css;
      this.table = document.createElement("table");
      const head = this.table.createTHead().insertRow();
      for (const h of ["When", "Who", "What", "Record", "Outcome"]) {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = h;
        head.append(th);
      }
      this.body = this.table.createTBody();
      this.status = document.createElement("p");
      this.status.setAttribute("role", "status");
      this.more = document.createElement("button");
      this.more.type = "button";
      this.more.textContent = "Older";
      this.more.hidden = true;
      this.more.addEventListener("click", () => this.load());
      root.replaceChildren(style, this.status, this.table, this.more);
      this.cursor = "";
      this.load();
    }

    async load() {
      const server = this.getAttribute("server") || origin;
      const url = new URL("/viewer/events", server);
      if (this.cursor) url.searchParams.set("cursor", this.cursor);
      try {
        const r = await fetch(url, { headers: { Authorization: "Bearer " + (this.getAttribute("token") || "") } });
        const page = await r.json();
        if (!r.ok) throw new Error(page.message || r.statusText);
        for (const e of page.data) {
          const tr = this.body.insertRow();
          for (const v of [e.occurred_at, e.actor_name || e.actor_id, e.action, [e.resource, e.resource_id].filter(Boolean).join(" "), e.outcome]) {
            tr.insertCell().textContent = v || "—";
          }
        }
        this.cursor = page.next_cursor || "";
        this.more.hidden = !this.cursor;
        this.status.className = "";
        this.status.textContent = this.body.rows.length + " accesses shown; read-only until " + new Date(page.expires_at * 1000).toISOString() + ".";
        clearTimeout(this.expiry);
        this.expiry = setTimeout(() => this.expire(), Math.max(0, page.expires_at * 1000 - Date.now()));
      } catch (err) {
        this.expire(err.message);
      }
    }

    expire(message) {
      this.body.replaceChildren();
      this.more.hidden = true;
      this.status.className = "error";
      this.status.textContent = message || "This view has expired.";
    }
  }

  if (!customElements.get("vigil-viewer")) customElements.define("vigil-viewer", VigilViewer);
})();
