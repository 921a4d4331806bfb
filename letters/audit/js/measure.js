// Everything about every container, with the page scrolled to the top. Coordinates are CSS px
// of the visible area (a phone's visual viewport).
async ({ id }) => {
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
  if (document.fonts && document.fonts.ready) {
    await Promise.race([document.fonts.ready, new Promise((r) => setTimeout(r, 1000))]);
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const vv = window.visualViewport;
  const viewWidth = vv ? vv.width : document.documentElement.clientWidth;
  const viewHeight = vv ? vv.height : window.innerHeight;

  const style = (e) => getComputedStyle(e);
  const chain = (e) => { const out = []; for (; e && e.nodeType === 1; e = e.parentElement) out.push(e); return out; };
  const describe = (e) => {
    if (!e || e.nodeType !== 1) return '';
    let s = e.tagName.toLowerCase();
    if (e.id) return s + '#' + e.id;
    const cls = typeof e.className === 'string' ? e.className.trim().split(/\s+/).filter(Boolean).slice(0, 2) : [];
    return cls.length ? s + '.' + cls.join('.') : s;
  };
  // The element to name when something covers the widget: the outermost positioned block
  // (a cookie banner, a sticky header) rather than the word that happened to be hit.
  const coverName = (hit) => {
    let best = hit;
    for (const e of chain(hit)) {
      if (e === document.body || e === document.documentElement) break;
      if (['fixed', 'sticky', 'absolute'].includes(style(e).position)) best = e;
    }
    return describe(best);
  };

  const visibleRect = (c, r) => {
    let l = r.left, t = r.top, rt = r.right, b = r.bottom, by = '';
    for (const e of chain(c.parentElement)) {
      if (e === document.body || e === document.documentElement) break;
      const s = style(e);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
        const er = e.getBoundingClientRect();
        const before = Math.max(0, rt - l) * Math.max(0, b - t);
        if (s.overflowX !== 'visible') { l = Math.max(l, er.left); rt = Math.min(rt, er.right); }
        if (s.overflowY !== 'visible') { t = Math.max(t, er.top); b = Math.min(b, er.bottom); }
        if (!by && Math.max(0, rt - l) * Math.max(0, b - t) < before - 1) by = describe(e);
      }
      if (s.position === 'fixed') break;
    }
    return { l, t, r: rt, b, by };
  };

  const cover = (c, vis) => {
    const l = Math.max(vis.l, 0), t = Math.max(vis.t, 0);
    const r = Math.min(vis.r, viewWidth), b = Math.min(vis.b, viewHeight);
    const result = { share: 0, by: '', button: false };
    if (r - l < 2 || b - t < 2) return result;
    const isOver = (hit) => hit && !c.contains(hit) && !hit.contains(c);
    const counts = {};
    let covered = 0, total = 0;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 5; j++) {
        const hit = document.elementFromPoint(l + (r - l) * (i + 0.5) / 8, t + (b - t) * (j + 0.5) / 5);
        total++;
        if (isOver(hit)) { covered++; const n = coverName(hit); counts[n] = (counts[n] || 0) + 1; }
      }
    }
    result.share = covered / total;
    result.by = Object.keys(counts).sort((a, z) => counts[z] - counts[a])[0] || '';
    const btn = c.querySelector('.pos-banner-btn_2');
    if (btn) {
      const br = btn.getBoundingClientRect();
      const x = br.left + br.width / 2, y = br.top + br.height / 2;
      // Only where the button can be seen: one cut away by the widget's own frame is a size problem.
      if (br.width > 0 && x >= l && y >= t && x < r && y < b) {
        const hit = document.elementFromPoint(x, y);
        result.button = isOver(hit);
        if (result.button && !result.by) result.by = coverName(hit);
      }
    }
    return result;
  };

  const clipsOwn = (e) => {
    if (!e) return false;
    const s = style(e);
    return (s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 2)
        || (s.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 2);
  };

  // The height the banner takes at this width by its own code: lift the site's height rules
  // (and a flex or grid parent's stretching) for a moment, measure, put everything back.
  const naturalHeight = (c, banner) => {
    const els = [c, banner].filter(Boolean);
    const saved = els.map((e) => e.getAttribute('style'));
    for (const e of els) {
      e.style.setProperty('height', 'auto', 'important');
      e.style.setProperty('min-height', '0px', 'important');
      e.style.setProperty('max-height', 'none', 'important');
    }
    c.style.setProperty('align-self', 'flex-start', 'important');
    const parent = c.parentElement ? style(c.parentElement) : null;
    if (parent && parent.display.includes('flex') && parent.flexDirection.startsWith('column')) {
      c.style.setProperty('flex-grow', '0', 'important');
      c.style.setProperty('flex-basis', 'auto', 'important');
    }
    const h = c.offsetHeight;
    els.forEach((e, i) => (saved[i] === null ? e.removeAttribute('style') : e.setAttribute('style', saved[i])));
    return h;
  };

  const measure = (c) => {
    const hiddenBy = chain(c).find((e) => style(e).display === 'none');
    let opacity = 1, opacityBy = '', lowest = 1;
    for (const e of chain(c)) {
      const o = parseFloat(style(e).opacity);
      if (o < 1) { opacity *= o; if (o < lowest) { lowest = o; opacityBy = describe(e); } }
    }
    const r = c.getBoundingClientRect();
    const banner = c.querySelector('.pos-banner-fluid');
    const vis = visibleRect(c, r);
    const displayed = !hiddenBy && c.getClientRects().length > 0;
    const cov = displayed ? cover(c, vis) : { share: 0, by: '', button: false };
    return {
      displayed,
      hidden_by: hiddenBy ? describe(hiddenBy) : '',
      visibility_hidden: style(c).visibility !== 'visible',
      opacity,
      opacity_by: opacityBy,
      fixed: chain(c).some((e) => style(e).position === 'fixed'),
      x: r.left, y: r.top, width: r.width, height: r.height,
      layout_width: c.offsetWidth, layout_height: c.offsetHeight,
      visible_width: Math.max(0, vis.r - vis.l), visible_height: Math.max(0, vis.b - vis.t),
      clipped_by: vis.by,
      content_clipped: clipsOwn(c) || clipsOwn(banner),
      has_banner: !!banner,
      covered_share: cov.share, covered_by: cov.by, button_covered: cov.button,
      natural_height: displayed ? naturalHeight(c, banner) : 0,
    };
  };

  const boxes = [...document.querySelectorAll('[id="' + id + '"]')].map(measure);
  return { viewWidth, viewHeight, boxes };
}
