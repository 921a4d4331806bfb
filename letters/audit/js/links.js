// The page's links, as (href, text), for the walk through inner pages.
() => [...document.querySelectorAll('a[href]')].slice(0, 2000)
  .map((a) => ({ href: a.getAttribute('href') || '', text: (a.textContent || '').trim().slice(0, 200) }))
