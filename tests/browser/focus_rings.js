// Every focusable element that is shown, focused in turn: its focus ring must be drawn
// (2 CSS px or more) and reach 3:1 against what lies just outside it (WCAG 1.4.11, 2.4.7).
// Returns one line per element that fails.
() => {
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const backgroundAt = (x, y, self) => {
    const under = document.elementsFromPoint(x, y).find((e) => e !== self && !self.contains(e));
    for (let e = under; e; e = e.parentElement) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color.length === 3 || color[3] > 0) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const name = (e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}` +
    ` "${(e.innerText || e.value || e.name || "").trim().slice(0, 30)}"`;
  const failures = [];
  const focusable = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex='0']";
  for (const element of document.querySelectorAll(focusable)) {
    if (!element.getClientRects().length || getComputedStyle(element).visibility === "hidden") continue;
    element.focus();
    if (document.activeElement !== element) continue;
    const style = getComputedStyle(element);
    const width = parseFloat(style.outlineWidth);
    if (style.outlineStyle === "none" || width < 2) {
      failures.push(`${name(element)}: no focus ring`);
      continue;
    }
    const ring = rgb(style.outlineColor).slice(0, 3);
    const box = element.getBoundingClientRect();
    const out = parseFloat(style.outlineOffset) + width / 2;
    const points = [[box.left - out, box.top + box.height / 2], [box.right + out, box.top + box.height / 2],
                    [box.left + box.width / 2, box.top - out], [box.left + box.width / 2, box.bottom + out]]
      .filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight);
    const worst = Math.min(...points.map(([x, y]) => contrast(ring, backgroundAt(x, y, element))));
    if (worst < 3) failures.push(`${name(element)}: focus ring ${worst.toFixed(2)}:1`);
  }
  document.activeElement.blur();
  return failures;
}
