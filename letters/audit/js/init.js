// Runs before any script of the page (Playwright's add_init_script). The ПОС script declares
// `function Widget(src, id)`; a declaration cannot be trapped, so right after the script has run
// (its `load` event, caught at the document before the page's next script runs) Widget is
// wrapped to note its arguments. __SCRIPT_KEY__ is replaced by the script's host and path.
(() => {
  const KEY = __SCRIPT_KEY__;
  const calls = [];
  Object.defineProperty(window, '__lettersWidgetCalls', { value: calls });
  const norm = (u) => { try { const x = new URL(u, location.href); return (x.hostname + x.pathname).toLowerCase(); } catch (e) { return ''; } };
  const wrap = () => {
    const original = window.Widget;
    if (typeof original !== 'function' || original.__lettersWrapped) return;
    const wrapped = function (...args) {
      calls.push(String(args[1]));
      return original.apply(this, args);
    };
    wrapped.__lettersWrapped = true;
    try { window.Widget = wrapped; } catch (e) { /* not writable: the page's text is read instead */ }
  };
  document.addEventListener('load', (event) => {
    const el = event.target;
    if (el && el.tagName === 'SCRIPT' && norm(el.src) === KEY) wrap();
  }, true);
})();
