// Whether the page has the ПОС script and the container, and the Widget(…) calls it made.
({ id, key }) => {
  const norm = (u) => { try { const x = new URL(u, location.href); return (x.hostname + x.pathname).toLowerCase(); } catch (e) { return ''; } };
  const scripts = [...document.scripts];
  const loaded = performance.getEntriesByType('resource').some((e) => norm(e.name) === key);
  return {
    hasScript: loaded || scripts.some((s) => s.src && norm(s.src) === key),
    hasContainer: !!document.getElementById(id),
    inline: scripts.filter((s) => !s.src && s.textContent.includes('Widget')).map((s) => s.textContent.slice(0, 50000)),
    calls: window.__lettersWidgetCalls || [],
    widgetDefined: typeof window.Widget === 'function',
  };
}
