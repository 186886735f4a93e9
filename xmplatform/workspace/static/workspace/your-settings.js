// Your settings: typing or picking a time zone chooses "This time zone".
document.addEventListener("DOMContentLoaded", function () {
  var field = document.getElementById("id_time_zone");
  var chosen = document.querySelector('input[name="follow"][value="chosen"]');
  if (!field || !chosen) { return; }
  field.addEventListener("input", function () { chosen.checked = true; });
});
