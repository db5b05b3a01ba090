// The portal's behaviour, declared with data attributes (the Content-Security-Policy allows no inline
// handlers): select[data-submit-on-change] sends its form when the choice changes, and a form with
// data-confirm asks first (the back office asks in a dialog of its own, static/js/orderdesk.js).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.form && select.hasAttribute("data-submit-on-change")) { select.form.submit(); }
  });
})();
