/*
 * A local stand-in for https://pos.gosuslugi.ru/bin/script.min.js, for the tests of
 * `letters audit` only: the tests never reach the real one.
 *
 * Like the real embed code it builds the fluid banner (`pos-banner-fluid bf-2`, button
 * `pos-banner-btn_2`, 293–1422 px wide, laid out by width through CSS variables) inside
 * #js-show-iframe-wrapper, and like the real script it declares a global
 * `function Widget(src, opaId, isFz59)` that makes the banner open the feedback form
 * `src?opaId=…` in a frame when clicked. Nothing here loads anything from the network.
 */

var POS_PREFIX_2 = '--pos-banner-fluid-2__';

var POS_BANNER_CSS =
  '#js-show-iframe-wrapper{position:relative;display:flex;align-items:center;justify-content:center;' +
  'width:100%;min-width:293px;max-width:100%;background:linear-gradient(138.4deg,#38bafe 26.49%,#2d73bc 79.45%);' +
  'color:#fff;cursor:pointer;font-family:"DejaVu Sans",Arial,sans-serif}' +
  '#js-show-iframe-wrapper .pos-banner-fluid *{box-sizing:border-box}' +
  '#js-show-iframe-wrapper .bf-2{position:relative;display:grid;' +
  'grid-template-columns:var(--pos-banner-fluid-2__grid-template-columns);' +
  'grid-template-rows:var(--pos-banner-fluid-2__grid-template-rows);width:100%;max-width:1060px;box-sizing:border-box}' +
  '#js-show-iframe-wrapper .bf-2__decor{grid-column:var(--pos-banner-fluid-2__decor-grid-column);' +
  'grid-row:var(--pos-banner-fluid-2__decor-grid-row);padding:var(--pos-banner-fluid-2__decor-padding);' +
  'display:flex;align-items:flex-end;justify-content:flex-end}' +
  '#js-show-iframe-wrapper .bf-2__logo-wrap{display:flex;flex-direction:column;align-items:flex-end;' +
  'padding:20px 30px;background:#2d73bc;border-radius:var(--pos-banner-fluid-2__logo-wrap-border-radius)}' +
  '#js-show-iframe-wrapper .bf-2__logo{font-weight:bold;font-size:22px;line-height:28px}' +
  '#js-show-iframe-wrapper .bf-2__slogan{font-weight:bold;font-size:var(--pos-banner-fluid-2__slogan-font-size);line-height:32px}' +
  '#js-show-iframe-wrapper .bf-2__content{padding:var(--pos-banner-fluid-2__content-padding)}' +
  '#js-show-iframe-wrapper .bf-2__description{display:flex;flex-direction:column;margin-bottom:24px}' +
  '#js-show-iframe-wrapper .bf-2__text{margin-bottom:12px;font-size:24px;line-height:32px;font-weight:bold}' +
  '#js-show-iframe-wrapper .bf-2__text_small{margin-bottom:0;font-size:16px;line-height:24px;font-weight:normal}' +
  '#js-show-iframe-wrapper .bf-2__btn-wrap{display:flex;align-items:center;justify-content:center}' +
  '#js-show-iframe-wrapper .pos-banner-fluid .pos-banner-btn_2{display:block;width:240px;min-height:56px;' +
  'font-size:18px;line-height:24px;cursor:pointer;background:#0d4cd3;color:#fff;border:none;border-radius:8px;outline:0}';

var POS_BANNER_HTML =
  '<div class="pos-banner-fluid bf-2">' +
  '<div class="bf-2__decor"><div class="bf-2__logo-wrap">' +
  '<div class="bf-2__logo">Госуслуги</div><div class="bf-2__slogan">Решаем вместе</div>' +
  '</div></div>' +
  '<div class="bf-2__content"><div class="bf-2__description">' +
  '<span class="bf-2__text">Не убран мусор, яма на дороге, не горит фонарь?</span>' +
  '<span class="bf-2__text bf-2__text_small">Столкнулись с проблемой — сообщите о ней!</span>' +
  '</div><div class="bf-2__btn-wrap">' +
  '<button class="pos-banner-btn_2" type="button">Сообщить о проблеме</button>' +
  '</div></div></div>';

/* The real embed code re-lays the banner out at these widths (narrow: picture above text). */
function posBannerLayout(wrapper) {
  var banner = wrapper.querySelector('.pos-banner-fluid');
  if (!banner) return;
  var width = wrapper.offsetWidth;
  var wide = width > 500;
  var options = {
    'grid-template-columns': wide ? 'minmax(0,1fr) min-content' : '100%',
    'grid-template-rows': wide ? '100%' : '140px auto',
    'decor-grid-column': wide ? '2' : 'initial',
    'decor-grid-row': wide ? '1' : 'initial',
    'decor-padding': wide ? '30px 30px 30px 0' : '30px 30px 0 30px',
    'content-padding': wide ? '30px' : '0 30px 30px 30px',
    'slogan-font-size': width > 1020 ? '32px' : width > 405 ? '24px' : '20px',
    'logo-wrap-border-radius': wide ? '80px 0 0 0' : '0 0 0 80px'
  };
  Object.keys(options).forEach(function (name) {
    banner.style.setProperty(POS_PREFIX_2 + name, options[name]);
  });
}

function posBuildBanners() {
  var wrapper = document.getElementById('js-show-iframe-wrapper');
  if (!wrapper) return;
  if (!document.getElementById('pos-banner-fluid-css')) {
    var style = document.createElement('style');
    style.id = 'pos-banner-fluid-css';
    style.textContent = POS_BANNER_CSS;
    document.head.appendChild(style);
  }
  if (!wrapper.querySelector('.pos-banner-fluid')) wrapper.innerHTML = POS_BANNER_HTML;
  posBannerLayout(wrapper);
  if (!wrapper.__posObserved && window.ResizeObserver) {
    wrapper.__posObserved = true;
    new ResizeObserver(function () { posBannerLayout(wrapper); }).observe(wrapper);
  }
}

function Widget(src, opaId, isFz59) {
  var ACTION_ID = 'js-show-iframe-wrapper';
  var formUrl = src + '?opaId=' + opaId + '&fz59=' + (isFz59 ? 'true' : 'false');
  posBuildBanners();
  var wrapper = document.getElementById(ACTION_ID);
  // Like the real script: without the container there is nothing to bind, and it fails.
  wrapper.addEventListener('click', function (event) {
    event.preventDefault();
    var frame = document.createElement('iframe');
    frame.id = 'js-iframe-widget';
    frame.style.cssText = 'position:fixed;inset:0;margin:auto;width:100%;max-width:620px;height:100%;max-height:768px;border:0;background:#fff;z-index:999999999';
    frame.src = formUrl;
    document.body.appendChild(frame);
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', posBuildBanners);
} else {
  posBuildBanners();
}
window.addEventListener('resize', function () {
  var wrapper = document.getElementById('js-show-iframe-wrapper');
  if (wrapper) posBannerLayout(wrapper);
});
