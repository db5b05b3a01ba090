/* The order desk's behaviours on every back-office page, on the jQuery, Bootstrap 3 and select2 that
   Flask-AppBuilder bundles. Every one enhances plain HTML that already works without script:
   - form[data-confirm]: an irreversible action asks first, in a dialog that says what will happen;
   - a[data-dialog]: a picker or a short form opens in a dialog instead of a page of its own;
   - select[data-typeahead]: a relation field searches the server as the user types;
   - [data-depends-on]: fields whose choices depend on another are refreshed in place
     (inline handlers are not allowed by the Content-Security-Policy, app/core/security_headers.py). */
(function ($) {
  "use strict";

  var modalId = 0;

  /* One Bootstrap modal, built on demand; focus returns to what opened it. */
  function openModal(title, body, opener) {
    modalId += 1;
    var titleId = "od-dialog-title-" + modalId;
    var $modal = $(
      '<div class="modal fade od-dialog" tabindex="-1" role="dialog" aria-modal="true">' +
      '<div class="modal-dialog modal-lg" role="document"><div class="modal-content">' +
      '<div class="modal-header"><button type="button" class="close" data-dismiss="modal" aria-label="Close">' +
      '<span aria-hidden="true">&times;</span></button><h2 class="modal-title h4"></h2></div>' +
      '<div class="modal-body"></div></div></div></div>');
    $modal.attr("aria-labelledby", titleId);
    $modal.find(".modal-title").attr("id", titleId).text(title);
    $modal.find(".modal-body").append(body);
    $modal.on("hidden.bs.modal", function () {
      $modal.remove();
      if (opener) { $(opener).trigger("focus"); }
    });
    $modal.on("shown.bs.modal", function () {
      var $first = $modal.find("[autofocus], .modal-body :input:visible:not([type=hidden]):not(:disabled)").first();
      ($first.length ? $first : $modal.find(".close")).trigger("focus");
    });
    $("body").append($modal);
    $modal.modal({ show: true });
    return $modal;
  }

  /* Irreversible actions: the form (or the one button of a form holding several) says what will happen
     in data-confirm; the dialog offers the action (data-confirm-button) and a way out
     (data-confirm-cancel), the safe choice focused first. */
  function confirmFirst(element, proceed) {
    var $body = $('<div class="od-confirm"><p class="od-confirm-message"></p>' +
      '<div class="od-confirm-buttons text-right">' +
      '<button type="button" class="btn btn-default od-confirm-cancel" data-dismiss="modal" autofocus></button> ' +
      '<button type="button" class="btn btn-danger od-confirm-ok"></button></div></div>');
    $body.find(".od-confirm-message").text(element.dataset.confirm);
    $body.find(".od-confirm-cancel").text(element.dataset.confirmCancel || "Go back");
    $body.find(".od-confirm-ok").text(element.dataset.confirmButton || "Continue");
    var $modal = openModal(element.dataset.confirmTitle || "Please confirm", $body, document.activeElement);
    $body.find(".od-confirm-ok").on("click", function () {
      $(this).prop("disabled", true);
      element.dataset.confirmed = "yes";
      $modal.modal("hide");
      proceed();
    });
  }
  $(document).on("submit", "form[data-confirm]", function (event) {
    var form = this;
    if (form.dataset.confirmed === "yes") { return; }
    event.preventDefault();
    confirmFirst(form, function () { form.submit(); });
  });
  $(document).on("click", "button[data-confirm]", function (event) {
    var button = this;
    if (button.dataset.confirmed === "yes") { button.dataset.confirmed = ""; return; }
    event.preventDefault();
    confirmFirst(button, function () { button.click(); });
  });

  /* Pickers and short forms: the page at the link's address is fetched and its [data-dialog-content]
     shown in a dialog; its go-back links ([data-dialog-dismiss]) close the dialog. The form inside
     posts as it would on its own page. When the fetch fails, the link is simply followed. */
  $(document).on("click", "a[data-dialog]", function (event) {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    var link = this;
    fetch(link.href, { credentials: "same-origin", headers: { "X-Requested-With": "dialog" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("not a dialog"); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var content = doc.querySelector("[data-dialog-content]");
        if (!content) { throw new Error("not a dialog"); }
        var title = content.querySelector("[data-dialog-title]");
        var text = title ? title.textContent.trim() : link.textContent.trim();
        if (title) {
          var heading = title.closest(".panel-heading") || title;
          heading.parentNode.removeChild(heading);
        }
        var $modal = openModal(text, $(document.importNode(content, true)), link);
        $modal.on("click", "[data-dialog-dismiss]", function (e) { e.preventDefault(); $modal.modal("hide"); });
        enhance($modal);
      })
      .catch(function () { window.location.href = link.href; });
  });

  function fieldLabel(select) {
    var label = select.id ? $("label[for='" + select.id + "']").first().text().replace("*", "").trim() : "";
    return label || select.getAttribute("aria-label") || select.name;
  }

  /* select2 puts the chosen value in a span of its own: give it the field's label so it is announced. */
  function nameSelect2(select) {
    var label = fieldLabel(select);
    var $container = $(select).nextAll(".select2, .select2-container").first();
    $container.find(".select2-selection, .select2-selection__rendered, .select2-search__field").attr("aria-label", label);
    /* A multiple select2 lists its choices in a <ul> that also holds a <span>: say it is a list. */
    $container.find("ul.select2-selection__rendered").attr("role", "list");
  }

  /* FAB's list widgets tick rows with unlabelled check boxes. */
  function nameRowChecks(root) {
    $(root).find("input.action_check_all, #check_all").attr("aria-label", "Select all rows");
    $(root).find("input.action_check").each(function () {
      var $row = $(this).closest("tr");
      var text = $row.find("td").not(":has(input), :has(.btn)").first().text().trim();
      this.setAttribute("aria-label", "Select " + (text || "row"));
    });
  }

  /* Type-ahead: the select carries the address answering ?q= with {results: [{id, label, detail}]}
     (app/core/view_support.py TypeAheadLookup); data-typeahead-scope names the field whose value
     narrows the look-up (the account of a contact), sent under that field's name. */
  function typeahead(select) {
    var $select = $(select);
    /* Inside a Bootstrap dialog the dropdown must live in the dialog: the modal's focus trap would take its
       search box's focus away, and the backdrop would hide it. */
    var $dialog = $select.closest(".modal-content");
    $select.select2({
      theme: "bootstrap", width: "100%", allowClear: !select.required, placeholder: select.dataset.placeholder || "",
      dropdownParent: $dialog.length ? $dialog : $(document.body),
      minimumInputLength: 0,
      ajax: {
        url: select.dataset.typeahead, dataType: "json", delay: 200,
        data: function (params) {
          var query = { q: params.term || "" };
          var scope = select.dataset.typeaheadScope && document.getElementById(select.dataset.typeaheadScope);
          if (scope) { query[scope.name] = scope.value; }
          return query;
        },
        processResults: function (data) {
          return { results: $.map(data.results, function (r) { return { id: r.id, text: r.label, detail: r.detail }; }) };
        }
      },
      templateResult: function (choice) {
        if (!choice.detail) { return choice.text; }
        return $("<span></span>").text(choice.text).append($('<span class="od-choice-detail"></span>').text(choice.detail));
      }
    });
    /* The search box opens in a dropdown of its own, outside the field's container: name it too, and
       say which list the open combobox controls (select2 4.0 only sets aria-owns). */
    var $combobox = $select.nextAll(".select2").first().find(".select2-selection");
    $select.on("select2:open", function () {
      $(".select2-container--open .select2-search__field").attr("aria-label", "Search: " + fieldLabel(select));
      $combobox.attr("aria-controls", $combobox.attr("aria-owns"));
    });
    $select.on("select2:close", function () { $combobox.removeAttr("aria-controls"); });
    /* Typing on the closed field opens it and searches for what is typed, as a native select jumps to a
       typed name; select2 alone opens only on Enter, Space or Alt+Down and drops the letter. */
    $combobox.on("keydown", function (event) {
      if (event.key.length !== 1 || event.key === " " || event.ctrlKey || event.metaKey || event.altKey ||
          $select.select2("isOpen")) { return; }
      event.preventDefault();
      $select.select2("open");
      $(".select2-container--open .select2-search__field").val(event.key).trigger("input");
    });
    nameSelect2(select);
  }

  /* Dependent fields: when the field named in data-depends-on (of a field, or of the group itself) changes,
     the fragment at data-refresh-url (given the changed field and the group's own values) replaces the
     group holding them, without reloading the page; the form's other values stay as they are. A newer
     change of the same group cancels the fetch of an older one, so the last choice wins. When the changed
     field was inside the group, focus goes to its fresh copy. A fetch that outlasts a blink shows that the
     fields are being updated; one that fails says so in place (the old fields stay, and Save checks them). */
  var pendingRefresh = {};
  var REFRESH_NOTICE_DELAY_MS = 200;
  function refreshNotice(group, text, failed) {
    $(group).children(".od-refreshing").remove();
    $('<p class="od-refreshing"></p>').toggleClass("od-refresh-failed alert alert-danger", failed)
      .attr("role", failed ? "alert" : "status").text(text).prependTo(group);
  }
  function refreshDependents(changed) {
    var form = changed.form;
    if (!form || !changed.name) { return; }
    var groups = $(form).find("[data-depends-on~='" + changed.name + "']").closest("[data-refresh-url]");
    groups.each(function () {
      var group = this;
      var focused = $.contains(group, changed) && changed.id;
      if (pendingRefresh[group.id]) { pendingRefresh[group.id].abort(); }
      $(group).attr("aria-busy", "true");
      var notice = window.setTimeout(function () {
        refreshNotice(group, "Updating the fields that follow " + fieldLabel(changed) + "\u2026", false);
      }, REFRESH_NOTICE_DELAY_MS);
      pendingRefresh[group.id] = $.get($(group).data("refresh-url"), $(group).find(":input").add(changed).serialize())
        .done(function (html) {
          var $fresh = $($.parseHTML(html.trim()));
          $(group).replaceWith($fresh);
          enhance($fresh);
          if (focused) {
            var $again = $(document.getElementById(focused));
            var $select2 = $again.nextAll(".select2").first().find(".select2-selection");
            ($select2.length ? $select2 : $again).trigger("focus");
          }
        })
        .fail(function (request, status) {
          if (status === "abort") { return; }
          refreshNotice(group, "The fields that follow " + fieldLabel(changed) + " could not be updated (" +
            (request.status ? "the server answered " + request.status : "no answer") +
            "). Choose again, or save: the order desk checks every field on Save.", true);
        })
        .always(function () {
          window.clearTimeout(notice);
          $(group).removeAttr("aria-busy").children(".od-refreshing:not(.od-refresh-failed)").remove();
          delete pendingRefresh[group.id];
        });
    });
  }
  $(document).on("change", "select, input", function () { refreshDependents(this); });

  function enhance(root) {
    $(root).find("select[data-typeahead]").each(function () { typeahead(this); });
    $(root).find("select").each(function () { nameSelect2(this); });
    nameRowChecks(root);
  }

  $(function () {
    enhance(document);
    /* FAB initialises its select2 fields on the same ready event: name them once they exist. */
    window.setTimeout(function () { $("select").each(function () { nameSelect2(this); }); }, 0);
  });
})(jQuery);
