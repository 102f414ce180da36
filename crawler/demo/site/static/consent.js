// Tagesfenster demo: hides the cookie banner once a button is pressed.
document.querySelectorAll('.cookie-banner button').forEach(function (b) {
  b.addEventListener('click', function () { b.parentElement.hidden = true; });
});
