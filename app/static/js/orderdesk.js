// Behaviour the pages declare with data attributes (the Content-Security-Policy allows no inline handlers):
//   data-confirm="Question?"    on a form or a submit button: ask before sending
//   data-submit-on-change       on a select: send its form when the choice changes
//   data-refresh-on-change      on a select: set the form's "refresh" field to 1, then send it
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.form) { return; }
    if (select.hasAttribute("data-refresh-on-change")) {
      select.form.elements.refresh.value = "1";
      select.form.submit();
    } else if (select.hasAttribute("data-submit-on-change")) {
      select.form.submit();
    }
  });
})();
