// Drawn over the page just before the screenshot, never before measuring.
(o) => {
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
  const add = (css, text) => {
    const d = document.createElement('div');
    d.setAttribute('data-letters-audit', '');
    d.style.cssText = 'position:fixed;z-index:2147483647;pointer-events:none;box-sizing:border-box;' + css;
    if (text) d.textContent = text;
    document.documentElement.appendChild(d);
  };
  // Large enough to read on paper, where the 1366 px screen is printed 170 mm wide.
  const label = 'background:#d00000;color:#fff;font:bold 24px/32px Arial,sans-serif;padding:2px 10px;max-width:calc(100vw - 16px);';
  if (o.frame) {
    add(`left:${o.x - 4}px;top:${o.y - 4}px;width:${o.width + 8}px;height:${o.height + 8}px;border:4px solid #d00000;`);
    const top = o.y >= 38 ? o.y - 40 : o.y + o.height + 6;
    add(`${label}left:${Math.max(o.x, 0)}px;top:${top}px;`, o.label);
  } else {
    add(`${label}left:8px;${o.below ? 'bottom:8px' : 'top:8px'};`, o.label);
  }
}
