// files.js — the Files page: a browser by folder, image previews (the
// thumb variant through a signed URL), upload by drag and drop with
// progress, signed-link copy, delete and the trash.
import { api, upload } from "./api.js";
import { h, act, say, when, errorText } from "./ui.js";

const sameOrigin = (u) => {
  const x = new URL(u, location.href);
  return x.pathname + x.search;
};
const size = (n) => (n > 1048576 ? (n / 1048576).toFixed(1) + " MB" : n > 1024 ? (n / 1024).toFixed(1) + " KB" : n + " B");

export async function render(main, [folderArg]) {
  const folder = folderArg || "";
  main.append(h("h1", {}, "Files"));
  const folders = await api("GET", "/v1/files/folders", undefined, { query: { limit: 200 } });
  const side = h("nav", { class: "side card", "aria-label": "Folders" }, h("h2", {}, "Folders"),
    h("ul", {}, h("li", {}, h("a", { href: "#/files", "aria-current": folder === "" ? "true" : undefined }, "All files")),
      folders.filter((f) => f.folder).map((f) => h("li", {}, h("a", { href: "#/files/" + encodeURIComponent(f.folder),
        "aria-current": f.folder === folder ? "true" : undefined }, f.folder + " (" + f.file_count + ")")))),
    h("p", {}, h("a", { href: "#/files/~trash", "aria-current": folder === "~trash" ? "true" : undefined }, "Trash")));
  const content = h("section");
  main.append(h("div", { class: "cols" }, side, content));
  if (folder === "~trash") return trash(content);
  content.append(dropZone(folder));
  const grid = h("div", { class: "thumbs", id: "file-grid", "aria-label": "Files", role: "list" });
  content.append(grid);
  const q = { limit: 60 };
  if (folder) q.folder = folder;
  const page = await api("POST", "/v1/files/search", q);
  if (!page.results.length) grid.append(h("p", { class: "muted" }, "No files here yet: drop some above."));
  for (const f of page.results) grid.append(card(f));
}

function card(f) {
  const img = f.mime_type && f.mime_type.startsWith("image/") ? h("img", { alt: "Preview of " + f.filename, loading: "lazy" }) : null;
  if (img)
    api("POST", "/v1/files/" + f.id + "/variants/thumb/signed-url", { expires_in: 600 })
      .then((s) => (img.src = sameOrigin(s.url)), () => img.replaceWith(h("span", { class: "muted" }, "no preview")));
  const el = h("div", { class: "thumb", role: "listitem", dataset: { id: f.id } }, img,
    h("strong", {}, f.filename), h("div", { class: "muted" }, (f.mime_type || "") + " · " + size(f.size_bytes || 0)),
    h("div", { class: "muted" }, when(f.created_at)),
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", "aria-label": "Copy a signed link to " + f.filename,
        onclick: (e) => act(e.target, async () => {
          const s = await api("POST", "/v1/files/" + f.id + "/signed-url", { expires_in: 3600 });
          const link = new URL(sameOrigin(s.url), location.href).href;
          try {
            await navigator.clipboard.writeText(link);
            say("Signed link copied (valid one hour)");
          } catch {
            prompt("Signed link (valid one hour):", link);
          }
        }) }, "Copy link"),
      h("button", { type: "button", class: "danger", "aria-label": "Delete " + f.filename,
        onclick: (e) => act(e.target, async () => {
          await api("DELETE", "/v1/files/" + f.id);
          el.remove();
        }, "Moved to the trash") }, "Delete")));
  return el;
}

function dropZone(folder) {
  const input = h("input", { type: "file", id: "file-input", multiple: true, class: "visually-hidden" });
  const list = h("ul", { "aria-live": "polite", id: "upload-list" });
  const target = h("input", { id: "upload-folder", value: folder, placeholder: "the root", autocomplete: "off" });
  const send = async (files) => {
    for (const file of files) {
      const bar = h("progress", { max: 1, value: 0, "aria-label": "Uploading " + file.name });
      const item = h("li", {}, file.name + " ", bar);
      list.append(item);
      const fd = new FormData();
      fd.append("file", file, file.name);
      if (target.value.trim()) fd.append("folder", target.value.trim());
      try {
        const f = await upload("/v1/files/upload", fd, (p) => (bar.value = p));
        bar.value = 1;
        item.append(" done");
        const grid = document.getElementById("file-grid");
        if (grid && (!folder || f.folder === folder)) {
          grid.querySelector("p.muted")?.remove();
          grid.prepend(card(f));
        }
      } catch (e) {
        item.append(h("span", { class: "err", role: "alert" }, " " + errorText(e)));
      }
    }
  };
  input.addEventListener("change", () => send([...input.files]));
  const zone = h("div", { class: "drop", id: "drop-zone", tabindex: "0", role: "button",
    "aria-label": "Upload files" + (folder ? " to " + folder : "") + ": drop them here or press Enter to choose" },
    "Drop files here, or ", h("label", { for: "file-input", class: "inline" }, h("u", {}, "choose files")),
    folder ? " (into " + folder + ")" : "", input);
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      input.click();
    }
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    send([...e.dataTransfer.files]);
  });
  return h("div", { class: "card" }, zone,
    h("div", { class: "field" }, h("label", { for: "upload-folder" }, "Upload into folder"), target), list);
}

async function trash(box) {
  const page = await api("GET", "/v1/files/trash", undefined, { query: { limit: 100 } });
  const rows = page.results || page.files || [];
  box.append(h("h2", {}, "Trash"), rows.length ? h("ul", {}, rows.map((f) => h("li", {}, f.filename + " ",
    h("span", { class: "muted" }, when(f.deleted_at)), " ",
    h("button", { type: "button", class: "secondary", "aria-label": "Restore " + f.filename,
      onclick: (e) => act(e.target, async () => {
        await api("POST", "/v1/files/" + f.id + "/restore");
        e.target.closest("li").remove();
      }, "Restored") }, "Restore")))) : h("p", { class: "muted" }, "The trash is empty."));
}
