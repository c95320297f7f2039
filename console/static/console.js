// Vigil console: idle logoff, progress polling, and the in-browser
// inclusion proof check. No inline script anywhere: the page's data is in
// data- attributes, and this file is the console's only script.
"use strict";

const background = { headers: { "X-Vigil-Background": "1" }, credentials: "same-origin" };

// Automatic logoff (HIPAA 164.312(a)(2)(iii)): the server ends a session
// after the idle timeout; the page leaves itself then, so nothing stays on
// screen. Only navigation (a user action) starts a new page and timer.
function idleLogoff() {
  const idle = Number(document.body.dataset.idle || 0);
  if (idle > 0) {
    setTimeout(() => location.assign("/console/signin?reason=idle"), (idle + 1) * 1000);
  }
}

// After a provider's sign-in the page moves on by itself (a same-site
// navigation, which carries the SameSite=Strict session cookie).
function autoContinue() {
  const el = document.getElementById("auto-continue");
  if (el) location.replace(el.dataset.href);
}

// Report and export progress, polled in the background.
function pollJobs() {
  for (const el of document.querySelectorAll(".job-status[data-poll]")) {
    const tick = async () => {
      try {
        const r = await fetch(el.dataset.status, background);
        if (!r.ok) return;
        const job = await r.json();
        el.textContent = job.status + (job.status === "completed" ? " (" + job.rows + " rows)" : "");
        if (job.status === "completed" || job.status === "failed") {
          if (job.download) {
            const cell = document.getElementById("file-" + el.dataset.job);
            const a = document.createElement("a");
            a.href = job.download;
            a.textContent = "Download";
            cell.replaceChildren(a);
          }
          if (job.error) el.textContent += ": " + job.error;
          return;
        }
      } catch (e) {
        // try again on the next tick
      }
      setTimeout(tick, 1500);
    };
    setTimeout(tick, 500);
  }
}

// --- The inclusion proof, checked here with WebCrypto --------------------
// RFC 6962 hashing from the event's canonical leaf to the root, and the
// C2SP checkpoint's Ed25519 signature against the ledger's verifier key.

const enc = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
function unhex(s) {
  if (!/^[0-9a-f]{64}$/.test(s)) throw new Error("a proof hash is not 32 bytes of hex");
  return new Uint8Array(s.match(/../g).map((x) => parseInt(x, 16)));
}
function unb64(s) {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest("SHA-256", b));
const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// RFC 9162 section 2.1.3.2.
async function rootFromPath(index, size, hash, path) {
  if (index >= size) throw new Error("the leaf index is beyond the tree size");
  let fn = index, sn = size - 1, r = hash;
  for (const p of path) {
    if (sn === 0) throw new Error("the proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof is too short");
  return r;
}

// parseVerifierKey reads "<name>+<8 hex key hash>+<base64(0x01 || key)>".
// The key's base64 may itself hold "+", so only the first two split.
function parseVerifierKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) throw new Error("the verifier key is malformed");
  const key = unb64(m[3]);
  if (key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  return { name: m[1], hash: m[2], key };
}

// verifyNote checks a signed note's signature by the key and returns its
// body's lines.
async function verifyNote(note, vk) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint is not a signed note");
  const body = note.slice(0, split + 1);
  const want = hex((await sha256(concat(enc.encode(vk.name + "\n"), vk.key))).slice(0, 4));
  if (want !== vk.hash) throw new Error("the verifier key's hash does not match its key");
  const pub = await crypto.subtle.importKey("raw", vk.key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  for (const line of note.slice(split + 2).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== vk.name) continue;
    const sig = unb64(m[2]);
    if (sig.length !== 68 || hex(sig.slice(0, 4)) !== vk.hash) continue;
    if (await crypto.subtle.verify({ name: "Ed25519" }, pub, sig.slice(4), enc.encode(body))) {
      return body.split("\n").slice(0, -1);
    }
    throw new Error("the checkpoint's signature does not verify with the ledger's key");
  }
  throw new Error("the checkpoint carries no signature by the ledger's key");
}

async function checkProof(el) {
  const steps = document.getElementById("proof-steps");
  const step = (text, ok) => {
    const li = document.createElement("li");
    li.textContent = text;
    if (!ok) li.className = "fail";
    steps.append(li);
  };
  const finish = (ok, text) => {
    el.className = ok ? "ok" : "bad";
    el.dataset.result = ok ? "valid" : "invalid";
    el.textContent = text;
  };
  try {
    if (!window.crypto || !crypto.subtle) throw new Error("this browser offers no WebCrypto here (the console needs HTTPS)");
    const r = await fetch(el.dataset.proof, background);
    if (!r.ok) throw new Error("the proof could not be read (" + r.status + ")");
    const p = await r.json();
    if (p.pending) {
      el.textContent = "The event is not under a signed checkpoint yet; checking again shortly…";
      setTimeout(() => checkProof(el), 1500);
      return;
    }
    steps.replaceChildren();
    const leaf = enc.encode(p.leaf);
    const lh = await leafHash(leaf);
    step("Leaf hash of the event as stored now: SHA-256(0x00 ‖ leaf) = " + hex(lh), true);
    const root = await rootFromPath(p.leaf_index, p.tree_size, lh, p.hashes.map(unhex));
    step("Root after " + p.hashes.length + " audit-path hashes (leaf " + p.leaf_index + " of " + p.tree_size + "): " + hex(root), true);
    const vk = parseVerifierKey(p.verifier_key);
    const lines = await verifyNote(p.checkpoint, vk);
    step("Checkpoint signature verified with key " + vk.name + "+" + vk.hash + " (Ed25519)", true);
    if (lines[0] !== p.origin) throw new Error("the checkpoint is of another log (" + lines[0] + ")");
    if (lines[1] !== String(p.tree_size)) throw new Error("the checkpoint's size is not the proof's");
    const signed = unb64(lines[2]);
    if (!equal(signed, root)) {
      step("Signed root: " + hex(signed), false);
      throw new Error("the event does not match the signed log: its content was changed after it was recorded");
    }
    step("Signed root " + hex(signed) + " equals the computed root", true);
    finish(true, "Verified in your browser: this event is leaf " + p.leaf_index + " of the signed log of " + p.tree_size + " events, unchanged.");
  } catch (e) {
    finish(false, "Verification failed: " + e.message + ".");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  idleLogoff();
  autoContinue();
  pollJobs();
  const proof = document.getElementById("proof-status");
  if (proof) checkProof(proof);
});
