// Tells the server the reader's time zone (xmplatform.core.viewer_zone): the admin shows
// dates and times in it from the next page on. Set only when it changed.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var found = document.cookie.match(/(?:^|; )xm_tz=([^;]*)/);
  if (found && decodeURIComponent(found[1]) === zone) { return; }
  document.cookie = "xm_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
})();
