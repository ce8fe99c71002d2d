"""Judging a web app (no game): does it show something, do its own controls change it.

An app run is a page run (tools.browser.run: the same loopback server, request blocking,
paused fake clock, error records) with two differences:

- the drawn state also fingerprints the DOM: the visible text (`innerText`, which leaves
  out what is typed into inputs, so typing alone is not a response) and every element's tag,
  class, inline style and `hidden` flag, next to the canvases and board grid of a game;
  `draws` passes when the page shows any text, control or image, or a drawn canvas;
- instead of keys and idle motion, `responds_to_input`: every visible text input (up to
  MAX_CONTROLS controls in all) gets text typed in and then Enter; then every visible
  button-like element is clicked (buttons, checkboxes, [onclick], [role=button], .cell,
  anything styled `cursor: pointer`, then canvases, at their centre; links that navigate
  are left alone). Each action is compared with the state
  just before it: sampled at once (a click handler runs before the clock moves), then after
  ACTION_MS of fake time plus a short real wait (for updates scheduled on a message
  channel, as React does). A page that changes by itself in a control window of the same
  length only counts changes seen at once. A dialog opened by an action counts as a
  response. A form that reloads the page on submit fails: its state is gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from tools.browser.records import PageCheck, PageReport, Sample, truncate
from tools.browser.run import PageRun, StopRun
from tools.browser.verdict import page_report

MAX_CONTROLS = 12
ACTION_MS = 100  # fake time after an action, for updates made in a timer
REAL_WAIT = 0.05  # seconds of real time after an action, for message-channel schedulers
TYPED_TEXT = "codecrew check 42"
NO_CONTROLS = "no button, text input or clickable element to try"
TYPED_NUMBER = "42"

# The DOM part of an app's drawn state; see the module docstring.
_APP_DOM_SCRIPT = """
() => {
  const fnv = (h, x) => Math.imul(h ^ x, 16777619);
  let hash = 2166136261;
  const add = (text) => {
    for (let i = 0; i < text.length; i++) hash = fnv(hash, text.charCodeAt(i));
    hash = fnv(hash, 10);
  };
  const body = document.body;
  if (!body) return { state: "dom:none", text: 0, boxes: 0 };
  const text = body.innerText || "";
  add(text);
  for (const el of body.querySelectorAll("*")) {
    const cls = typeof el.className === "string" ? el.className : "";
    add(`${el.tagName}|${cls}|${el.getAttribute("style") || ""}|${el.hidden ? "h" : ""}`);
  }
  let boxes = 0;
  for (const el of body.querySelectorAll("img, svg, input, button, textarea, select, video")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) boxes++;
  }
  return { state: `dom:${hash >>> 0}`, text: text.trim().length, boxes };
}
"""

# Marks the visible controls with data-codecrew-control="<n>" and lists them, inputs first.
_CONTROLS_SCRIPT = """
(MAX_CONTROLS) => {
  const shown = (el) => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && !el.disabled;
  };
  const describe = (el) => {
    const tag = el.tagName.toLowerCase();
    const cls = typeof el.className === "string" ? el.className.trim().split(/\\s+/)[0] : "";
    const id = el.id ? `#${el.id}` : cls ? `.${cls}` : "";
    const words = (el.innerText || el.value || el.getAttribute("aria-label")
      || el.getAttribute("placeholder") || el.getAttribute("name") || "").trim().replace(/\\s+/g, " ");
    return `${tag}${id}${words ? ` "${words.slice(0, 30)}"` : ""}`;
  };
  const texty = new Set(["", "text", "search", "email", "url", "tel", "number", "password"]);
  const found = [], seen = new Set();
  const mark = (el, kind) => {
    if (seen.has(el) || found.length >= MAX_CONTROLS || !shown(el)) return;
    seen.add(el);
    el.setAttribute("data-codecrew-control", String(found.length));
    const number = el.tagName === "INPUT" && el.type === "number";
    found.push({ index: found.length, kind, label: describe(el), number });
  };
  const typable = "input, textarea, [contenteditable='true'], [contenteditable='']";
  for (const el of document.querySelectorAll(typable)) {
    if (el.tagName === "INPUT" && !texty.has((el.getAttribute("type") || "").toLowerCase())) continue;
    mark(el, "input");
  }
  const clickable = "button, input[type=button], input[type=submit], input[type=checkbox], "
    + "input[type=radio], [role=button], [onclick], a[href='#'], a[href^='javascript:'], "
    + "li, td, .cell, [data-action]";
  for (const el of document.querySelectorAll(clickable)) {
    if ((el.tagName === "LI" || el.tagName === "TD") && !el.onclick && !el.hasAttribute("onclick")) continue;
    mark(el, "click");
  }
  // Elements styled as clickable (cursor: pointer, outermost only), then canvases.
  const pointer = (el) => el && getComputedStyle(el).cursor === "pointer";
  [...document.body.querySelectorAll("*")].slice(0, 3000).forEach((el) => {
    if (el.tagName !== "A" && pointer(el) && !pointer(el.parentElement)) mark(el, "click");
  });
  document.querySelectorAll("canvas").forEach((el) => mark(el, "click"));
  return found;
}
"""


class AppRun(PageRun):
    """A page run whose probe is `responds_to_input` (see the module docstring)."""

    def __init__(self, deadline: float, load_timeout: float, op_timeout: float) -> None:
        super().__init__(deadline, load_timeout, op_timeout)
        self.inputs: tuple[bool, str] | None = None
        self.doing = ""  # the action under way, for the detail when it ends the run

    async def sample(self) -> Sample:
        sample = await super().sample()
        assert self.page is not None
        dom: dict[str, Any] = await self.op(self.page.evaluate(_APP_DOM_SCRIPT), "reading the page")
        drawn = sample.drawn
        if not drawn and (dom["text"] or dom["boxes"]):
            drawn = f"the page shows {dom['text']} characters of text and {dom['boxes']} controls or images"
        combined = Sample(
            doc=sample.doc,
            state=f"{sample.state} {dom['state']}",
            drawn=drawn,
            blank="the page shows no text, no control or image and no drawn canvas",
        )
        if drawn and not self.drawn:
            self.drawn = drawn
        if not self.drawn:
            self.blank = combined.blank
        self.last = combined
        return combined

    async def probe(self) -> None:
        assert self.page is not None
        results: list[str] = []
        responded = False
        try:
            controls = await self.op(self.page.evaluate(_CONTROLS_SCRIPT, MAX_CONTROLS), "finding controls")
            if not controls:
                self.inputs = (False, NO_CONTROLS)
                return
            control = await self.current()
            await self.step(ACTION_MS)
            animating = (await self.current()).state != control.state
            for item in controls:
                actions = ["type", "Enter"] if item["kind"] == "input" else ["click"]
                for action in actions:
                    outcome, changed = await self._try(item, action, animating)
                    results.append(outcome)
                    responded = responded or changed
        except StopRun as stop:
            said = f"then {stop}"
            if self.doing and ("reloaded" in str(stop) or "?" in str(stop)):
                said = f"{self.doing}: {stop} (a form submitted and the page reloaded, losing its state: "
                said += "call event.preventDefault() in the submit handler)"
            self.inputs = (False, truncate("; ".join([*results, said])))
            raise
        self.inputs = (responded, truncate("; ".join(results)))

    async def _try(self, item: dict[str, Any], action: str, animating: bool) -> tuple[str, bool]:
        assert self.page is not None
        label = item["label"]
        doing = {"type": "typing into", "Enter": "Enter in", "click": "clicking"}
        what = f"{doing[action]} {label}"
        self.doing = what
        target = self.page.locator(f'[data-codecrew-control="{item["index"]}"]').first
        before = await self.current()
        dialogs = sum(self.dialogs.values())
        try:
            if action == "type":
                text = TYPED_NUMBER if item["number"] else TYPED_TEXT
                await self.op(target.fill(text, timeout=1000, force=True), what)
            elif action == "Enter":
                await self.op(target.press("Enter", timeout=1000), what)
            else:
                await self.op(target.click(timeout=1000, force=True), what)
        except StopRun:
            raise
        except Exception as error:  # gone, detached or covered: this control cannot be used
            return f"{what}: not possible ({str(error).strip().splitlines()[0][:80]})", False
        self.last = None
        at_once = await self.current()
        if at_once.state != before.state:
            return f"{what}: changed the page", True
        if sum(self.dialogs.values()) > dialogs:
            return f"{what}: showed a dialog", True
        await self.step(ACTION_MS)
        await asyncio.sleep(REAL_WAIT)
        self.last = None
        after = await self.current()
        if after.state == before.state:
            return f"{what}: no change", False
        if animating:
            return f"{what}: changed, but the page also changes by itself", False
        return f"{what}: changed the page within {ACTION_MS} ms", True


def app_report(run: AppRun, duration: float) -> PageReport:
    """loads and draws as for a game, then responds_to_input."""
    base = page_report(run, duration)
    inputs = run.inputs or (False, run.stopped or "not reached")
    checks = [base.check("loads"), base.check("draws"), PageCheck("responds_to_input", *inputs)]
    return dataclasses.replace(base, checks=checks)


def failed_app_report(report: PageReport) -> PageReport:
    """A run that never started, with the app's three checks."""
    why = report.checks[0].detail if report.checks else "not run"
    names = ("loads", "draws", "responds_to_input")
    return dataclasses.replace(report, checks=[PageCheck(name, False, why) for name in names])
