// True once the container is there and the banner is built (or the container takes room).
(id) => {
  const c = document.getElementById(id);
  return !!c && (!!c.querySelector('.pos-banner-fluid') || c.getBoundingClientRect().height > 0);
}
