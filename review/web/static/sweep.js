// Keyboard shortcuts for reviewers: j/k move, 1-5 category, y/n decide, u undo, / search, o/Enter open, ? help;
// the listing page's claim.
// No inline scripts anywhere (the CSP forbids them); this file only submits the page's own forms.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // The queue: a selected row moved with j/k and opened with o or Enter.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row[data-href]"));
  var selected = rows.length ? 0 : -1;
  function select(i) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (row, n) {
      row.classList.toggle("selected", n === selected);
      row.setAttribute("aria-selected", n === selected ? "true" : "false");
    });
    rows[selected].scrollIntoView({block: "nearest"});
  }
  select(0);

  function go(url) { if (url) window.location.assign(url); }

  function move(step) {
    if (rows.length) return select(selected + step);
    go(document.body.dataset[step > 0 ? "next" : "prev"]);
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function reject() {
    var reason = document.getElementById("reject-reason");
    if (reason) reason.focus();
  }

  // Listing page: 1–5 choose the category before y; a choice other than the model's label is pointed out.
  var category = document.getElementById("category");
  function showDiffers() {
    var note = document.getElementById("category-differs");
    if (note && category) note.hidden = category.value === category.dataset.model;
  }
  if (category) category.addEventListener("change", showDiffers);
  function choose(n) {
    if (!category || n < 1 || n > category.options.length) return false;
    category.selectedIndex = n - 1;
    showDiffers();
    return true;
  }

  function focusSearch() {
    var box = document.getElementById("queue-search");
    if (!box) return false;
    box.focus();
    box.select();
    return true;
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (help) help.hidden = !help.hidden;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "y": submit("confirm-form"); break;
      case "n": reject(); break;
      case "o": case "Enter":
        if (!rows.length || /^(A|BUTTON)$/.test(event.target.tagName)) return;
        go(rows[selected].dataset.href); break;
      case "u": submit("undo-form"); break;
      case "/": if (!focusSearch()) return; break;
      case "?": toggleHelp(); break;
      default:
        if (!/^[1-9]$/.test(event.key) || !choose(Number(event.key))) return;
    }
    event.preventDefault();       // so "n" does not also type itself into the reason field
  });

  // Listing page: claim it with a POST as it opens (a GET never claims). A decision or a release
  // submitted before the claim is answered waits for it, so a late claim cannot outlive a release.
  var claimForm = document.getElementById("claim-form");
  var claiming = null;
  if (claimForm && window.fetch && window.FormData) {
    claiming = fetch(claimForm.action, {method: "POST", body: new FormData(claimForm), credentials: "same-origin",
                                        headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { window.location.reload(); return; }     // someone else holds it, or it was decided
          document.getElementById("claim-status").textContent = "Yours until " + body.expires_at + " UTC.";
          claimForm.hidden = true;
          document.documentElement.dataset.claim = "held";
        });
      })
      .catch(function () { document.documentElement.dataset.claim = "failed"; })
      .then(function () { claiming = null; });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!claiming || form === claimForm) return;
    event.preventDefault();
    claiming.then(function () { form.submit(); });
  }, true);

  document.documentElement.dataset.keys = "ready";    // tests wait for this before typing

  // Seller page: select every waiting listing at once.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
