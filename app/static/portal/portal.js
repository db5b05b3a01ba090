// The portal's behaviour, declared with data attributes (the Content-Security-Policy allows no inline
// handlers). Every page works without it; it only saves steps:
// - select[data-submit-on-change] sends its form when the choice changes;
// - a form with data-confirm asks first (the back office asks in a dialog of its own, static/js/orderdesk.js);
// - select[data-shows-fields] shows only the fields of its form marked data-shown-for="<chosen value>"
//   (the server says which field belongs to which choice, and still checks and ignores the others);
// - select[data-device-zone-hint="<id>"] offers the device's own time zone when it differs from the choice.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  function showFieldsFor(select) {
    var fields = select.form ? select.form.querySelectorAll("[data-shown-for]") : [];
    for (var i = 0; i < fields.length; i++) {
      fields[i].hidden = fields[i].getAttribute("data-shown-for") !== select.value;
    }
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.form && select.hasAttribute("data-submit-on-change")) { select.form.submit(); }
    if (select.hasAttribute && select.hasAttribute("data-shows-fields")) { showFieldsFor(select); }
  });

  function offerDeviceZone(select) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    var hint = document.getElementById(select.getAttribute("data-device-zone-hint"));
    var offered = Array.prototype.some.call(select.options, function (option) { return option.value === zone; });
    if (!hint || !zone || !offered || zone === select.value) { return; }
    var use = document.createElement("button");
    use.type = "button";
    use.className = "button small";
    use.textContent = "Use " + zone;
    use.addEventListener("click", function () { select.value = zone; hint.hidden = true; });
    hint.textContent = "This device is set to " + zone + ". ";
    hint.appendChild(use);
    hint.hidden = false;
  }

  var selects = document.querySelectorAll("select[data-shows-fields]");
  for (var i = 0; i < selects.length; i++) { showFieldsFor(selects[i]); }
  var zones = document.querySelectorAll("select[data-device-zone-hint]");
  for (var j = 0; j < zones.length; j++) { offerDeviceZone(zones[j]); }
})();
