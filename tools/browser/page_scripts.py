"""The JavaScript run inside the page: the init script that instruments every document,
focusing, counting suppressed errors, and the sample that fingerprints the drawing."""

from __future__ import annotations

DRAWN_FRACTION = 0.001  # a canvas "draws" when this share of pixels is not background
GRID_CELLS = 100
RANDOM_SEED = 20261207  # the page's Math.random, the same sequence on every run
REPORTED_ERRORS = 50  # errors thrown in timer callbacks beyond this are only counted in-page

# Runs before the page's own scripts in every document, after the fake clock is in place:
# - a token that tells documents apart;
# - timer callbacks that throw are reported like any uncaught error (pageerror). The fake
#   clock would catch them and rethrow only the first from run_for, so without this a page
#   failing on every frame would look like a single error;
# - a record of each canvas's context type (WebGL gets preserveDrawingBuffer so its pixels
#   can be read back between frames);
# - a count of the key listeners the page adds (KEY_LISTENER_SCRIPT reads it);
# - Math.random seeded: with the clock paused and stepped, the page's own randomness (the
#   next Tetris piece) was what still made one page's verdict differ from machine to machine.
INIT_SCRIPT = """
(() => {
  const cc = { doc: Math.random().toString(36).slice(2), types: new WeakMap(), reported: 0,
              suppressed: 0, keyListeners: 0 };
  const listen = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, ...rest) {
    if (/^key(down|up|press)$/i.test(String(type))) cc.keyListeners++;
    return listen.call(this, type, ...rest);
  };
  Object.defineProperty(window, "__codecrew", { value: cc, enumerable: false });
  let state = RANDOM_SEED;  // mulberry32
  Math.random = function random() {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (const name of ["setTimeout", "setInterval", "requestAnimationFrame", "requestIdleCallback"]) {
    const scheduled = window[name];
    if (typeof scheduled !== "function") continue;
    window[name] = function (callback, ...rest) {
      if (typeof callback !== "function") return scheduled.call(window, callback, ...rest);
      const guarded = function (...args) {
        try {
          return callback.apply(this, args);
        } catch (error) {
          if (cc.reported++ < REPORTED_ERRORS) reportError(error);
          else cc.suppressed++;
        }
      };
      return scheduled.call(window, guarded, ...rest);
    };
  }
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, attributes) {
    if (/webgl/i.test(String(type))) {
      attributes = Object.assign({}, attributes, { preserveDrawingBuffer: true });
    }
    const context = getContext.call(this, type, attributes);
    if (context && !cc.types.has(this)) cc.types.set(this, String(type));
    return context;
  };
})();
""".replace("REPORTED_ERRORS", str(REPORTED_ERRORS)).replace("RANDOM_SEED", str(RANDOM_SEED))

# WebRTC reaches the network past every request route (STUN over UDP, TURN over TCP, to
# loopback too). Before the page's scripts run, in every document, its constructors are
# gone: RTCPeerConnection (and the prefixed name) throw NotSupportedError and say what they
# were asked to reach on the console with BLOCKED_MARK, which the run records as a blocked
# request; the other RTC interfaces are deleted. The launch flags stop UDP as a backstop.
BLOCKED_MARK = "__codecrew_blocked__ "
WEBRTC_SCRIPT = """
(() => {
  const say = console.debug.bind(console);
  const blocked = function RTCPeerConnection(config) {
    const urls = [];
    try {
      for (const server of (config && config.iceServers) || []) {
        const u = server && server.urls;
        for (const url of Array.isArray(u) ? u : [u]) if (url) urls.push(String(url).slice(0, 200));
      }
    } catch (error) {}
    for (const url of urls.length ? urls.slice(0, 10) : ["RTCPeerConnection"]) say("MARKwebrtc: " + url);
    throw new DOMException("WebRTC is disabled for judged pages", "NotSupportedError");
  };
  for (const name of Object.getOwnPropertyNames(window)) {
    if (!/^(webkit)?RTC/.test(name)) continue;
    try {
      if (/PeerConnection$/.test(name)) {
        Object.defineProperty(window, name, { value: blocked, writable: false, configurable: false });
      } else {
        delete window[name];
      }
    } catch (error) {}
  }
})();
""".replace("MARK", BLOCKED_MARK)

SUPPRESSED_SCRIPT = "() => (window.__codecrew ? window.__codecrew.suppressed : 0)"

# Whether the page listens to keys at all: a listener added (counted by INIT_SCRIPT) or an
# onkeydown/onkeyup/onkeypress handler on the window, the document or any element. Without
# one, a change seen after a key press is the page's own doing (or the browser scrolling).
KEY_LISTENER_SCRIPT = """
() => {
  if (window.__codecrew && window.__codecrew.keyListeners > 0) return true;
  const handles = (target) => !!(target && (target.onkeydown || target.onkeyup || target.onkeypress));
  if (handles(window) || handles(document)) return true;
  for (const element of document.querySelectorAll("*")) if (handles(element)) return true;
  return false;
}
"""

FOCUS_SCRIPT = """
() => {
  const target = document.querySelector('[tabindex]:not([tabindex="-1"])');
  if (target && typeof target.focus === "function") target.focus();
  window.focus();
}
"""

# Returns {doc, state, drawn, blank}. state: FNV-1a hashes of every canvas's pixels plus the
# board grid's cells. drawn: a description of the first canvas with non-background pixels
# or of the grid, else null. A grid is >= 100 leaf elements of one tag under one parent
# (cells) or one grandparent (rows of cells).
SAMPLE_SCRIPT = """
({ GRID_CELLS, DRAWN_FRACTION }) => {
  const cc = window.__codecrew;
  const fnv = (h, x) => Math.imul(h ^ x, 16777619);
  const parts = [], blanks = [];
  let drawn = null;
  const canvases = [...document.querySelectorAll("canvas")];
  canvases.forEach((canvas, index) => {
    const w = canvas.width, h = canvas.height;
    const type = cc && cc.types.get(canvas);
    if (!type || !w || !h) { parts.push(`c${index}:${w}x${h}:empty`); return; }
    let data;
    try {
      if (type === "2d") {
        data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
      } else {
        const scratch = document.createElement("canvas");
        scratch.width = w; scratch.height = h;
        const ctx = scratch.getContext("2d");
        ctx.drawImage(canvas, 0, 0);
        data = ctx.getImageData(0, 0, w, h).data;
      }
    } catch (error) {
      parts.push(`c${index}:${w}x${h}:unreadable`); return;
    }
    const pixels = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
    let hash = 2166136261;
    for (let i = 0; i < pixels.length; i++) hash = fnv(hash, pixels[i]);
    parts.push(`c${index}:${w}x${h}:${hash >>> 0}`);
    const stride = Math.max(1, Math.floor(pixels.length / 20000));
    const counts = new Map();
    let sampled = 0;
    for (let i = 0; i < pixels.length; i += stride) {
      counts.set(pixels[i], (counts.get(pixels[i]) || 0) + 1);
      sampled++;
    }
    let background = 0, most = 0;
    for (const [color, count] of counts) if (count > most) { most = count; background = color; }
    const share = (sampled - most) / sampled;
    const bytes = [0, 8, 16, 24].map((s) => (background >>> s) & 255);
    const colour = "#" + bytes.slice(0, 3).map((b) => b.toString(16).padStart(2, "0")).join("");
    const bg = bytes[3] === 0 ? "transparent" : colour;
    if (share >= DRAWN_FRACTION && !drawn) {
      drawn = `canvas ${index + 1} (${w}x${h}): ${(share * 100).toFixed(1)}% of pixels `
        + `differ from the background ${bg}`;
    } else if (share < DRAWN_FRACTION) {
      blanks.push(`canvas ${index + 1} (${w}x${h}) is all background ${bg}`);
    }
  });

  const byParent = new Map(), byGrand = new Map();
  const bump = (map, el, tag) => {
    if (!el) return;
    let tags = map.get(el);
    if (!tags) map.set(el, (tags = new Map()));
    tags.set(tag, (tags.get(tag) || 0) + 1);
  };
  const skip = new Set(["SCRIPT", "STYLE", "CANVAS", "BR", "OPTION", "svg"]);
  for (const el of document.body ? document.body.querySelectorAll("*") : []) {
    if (el.childElementCount || skip.has(el.tagName)) continue;
    const parent = el.parentElement;
    bump(byParent, parent, el.tagName);
    bump(byGrand, parent && parent.parentElement, el.tagName);
  }
  const best = (map) => {
    let found = null;
    for (const [el, tags] of map) for (const [tag, count] of tags) {
      if (count >= GRID_CELLS && (!found || count > found.count)) found = { el, tag, count };
    }
    return found;
  };
  const grid = best(byParent) || best(byGrand);
  if (grid) {
    let hash = 2166136261;
    const looks = new Set();
    for (const cell of grid.el.querySelectorAll(grid.tag)) {
      if (cell.childElementCount) continue;
      const look = `${cell.className}|${cell.getAttribute("style") || ""}|${cell.textContent}`;
      looks.add(look);
      for (let i = 0; i < look.length; i++) hash = fnv(hash, look.charCodeAt(i));
      hash = fnv(hash, 10);
    }
    const name = grid.el.id ? `#${grid.el.id}` : grid.el.tagName.toLowerCase();
    parts.push(`grid:${grid.count}:${hash >>> 0}`);
    if (!drawn) {
      drawn = `DOM grid of ${grid.count} ${grid.tag.toLowerCase()} cells in ${name} `
        + `(${looks.size} distinct looks)`;
    }
  }
  const blank = canvases.length
    ? blanks.join("; ") || "no canvas has readable pixels"
    : `no canvas and no DOM grid of >= ${GRID_CELLS} cells`;
  return { doc: cc ? cc.doc : null, state: parts.join(" "), drawn, blank };
}
"""
SAMPLE_LIMITS = {"GRID_CELLS": GRID_CELLS, "DRAWN_FRACTION": DRAWN_FRACTION}
