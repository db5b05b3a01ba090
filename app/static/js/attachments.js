// Attachment upload forms: the "Attach to" choice sets where the form posts, and files dropped on the
// drop zone are put into the file input and sent at once (the input alone works without this script).
document.querySelectorAll("[data-attachment-upload]").forEach(function (form) {
  if (form.dataset.ready) { return; }
  form.dataset.ready = "1";
  var target = form.querySelector("[data-attachment-target]");
  if (target) {
    form.action = target.value;
    target.addEventListener("change", function () { form.action = target.value; });
  }
  var zone = form.querySelector("[data-attachment-dropzone]");
  var input = form.querySelector("input[type=file]");
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("is-dragover"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("is-dragover"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
    input.files = event.dataTransfer.files;
    form.submit();
  });
});
