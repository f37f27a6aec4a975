// Moving cases to another version: post the next slice as soon as the page shows this one's progress.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("migration-continue");
  if (form) { form.submit(); }
});
