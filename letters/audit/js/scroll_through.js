// Scroll through the page as a reader would, for widgets loaded when scrolled to; back to the top.
async ({ id, screens }) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const step = Math.max(window.innerHeight * 0.8, 200);
  for (let i = 1; i <= screens && !document.getElementById(id); i++) {
    window.scrollTo({ top: step * i, left: 0, behavior: 'instant' });
    await sleep(150);
    if (window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2) break;
  }
  await sleep(200);
  window.scrollTo({ top: 0, left: 0, behavior: 'instant' });
}
