"""`letters audit`, a wing of its own: the department's check of the ПОС widget on every site
of the registry.

- `rules`: what was measured → findings, plain functions over plain data (no browser);
- `browser`: Chromium driven by Playwright measures each site (its JavaScript is in `js/`,
  the card of a site that did not open in `card.html`);
- `run`: what the command does — choose the sites, check them, write the table and the
  screenshots — returning the result for the CLI to show.

Each floor imports only the floors below it: run → browser → rules. See docs/audit.md.
"""
